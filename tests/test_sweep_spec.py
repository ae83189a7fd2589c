"""Sweep files: strict validation (every problem with file:line: path) and deterministic expansion."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from snapsim.errors import ConfigError
from snapsim.sweep.spec import base_digest, load_sweep, point_hash, split_point, validate_sweep_file

DATA = Path(__file__).parent / "data" / "sweeps"
HW = (Path(__file__).parents[1] / "hwconfigs" / "packages" / "ucie-a-2x2.yaml").resolve()
WL = (DATA / "tiny_workload.yaml").resolve()


def write_sweep(tmp_path: Path, body: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"kind: sweep\nname: t\nhardware: {HW}\nworkload: {WL}\n{body}", encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_sweep(path)
    return [str(p) for p in info.value.problems]


# ------------------------------------------------------------------------------------------ validation


def test_all_problems_reported_at_once_with_line_and_path():
    f = str(DATA / "bad_many.yaml")
    msgs = problems_of(DATA / "bad_many.yaml")
    assert len(msgs) == 5, msgs
    assert msgs[0].startswith(f"{f}:5: seed: ") and "integer" in msgs[0]
    assert msgs[1].startswith(f"{f}:6: combin: unknown key")
    assert msgs[2].startswith(f"{f}:8: axes.mode.2: ") and "'bogus'" in msgs[2]
    assert msgs[3].startswith(f"{f}:9: axes.link.rate_gtps: a range axis needs combine: random")
    assert msgs[4].startswith(f"{f}:10: axes.link.energy_pj_per_bit: an axis is a list of values")


def test_duplicate_key_is_an_error_with_its_line():
    msgs = problems_of(DATA / "bad_duplicate.yaml")
    assert msgs == [f"{DATA / 'bad_duplicate.yaml'}:7: axes.link.rate_gtps: duplicate key (each key may appear once)"]


def test_zip_length_mismatch_names_the_axes():
    (msg,) = problems_of(DATA / "bad_zip.yaml")
    assert msg.startswith(f"{DATA / 'bad_zip.yaml'}:6: axes: combine: zip needs axes of equal length")
    assert "link.rate_gtps has 3" in msg and "link.energy_pj_per_bit has 2" in msg


@pytest.mark.parametrize(
    "body, expected",
    [
        ("combine: random\naxes:\n  mode: [ann]\n", ":5: samples: combine: random needs samples"),
        ("samples: 3\naxes:\n  mode: [ann]\n", ":5: samples: samples only applies to combine: random"),
        ("combine: random\nsamples: 2\naxes:\n  link.rate_gtps: {range: [0, 8], scale: log}\n",
         ":8: axes.link.rate_gtps.range: a log-scale range must be positive"),
        ("combine: random\nsamples: 2\naxes:\n  link.rate_gtps: {range: [8, 4]}\n",
         ":8: axes.link.rate_gtps.range: range must be [lo, hi] with lo < hi"),
        ("combine: random\nsamples: 2\naxes:\n  link.rate_gtps: {range: [1, 8], scael: log}\n",
         ":8: axes.link.rate_gtps.scael: unknown key"),
        ("axes:\n  link.rate_gtps: [8, '16']\n", ":6: axes.link.rate_gtps: axis values must all be of one kind"),
        ("axes:\n  link.rate_gtps: [8, 8]\n", ":6: axes.link.rate_gtps: axis values repeat"),
        ("axes:\n  link.rate_gtps: [8, [16]]\n", ":6: axes.link.rate_gtps.1: axis values must be numbers"),
        ("axes:\n  seed: [0, -1]\n", ":6: axes.seed.1: seed must be a non-negative integer"),
        ("axes:\n  link..rate: [1]\n", ":6: axes.link..rate: axis name must be a dotted path"),
        ("axes: {}\n", ":5: axes: "),
        ("fidelity: exact\naxes:\n  mode: [ann]\n", ":5: fidelity: must be one of fast, reference; got 'exact'"),
        ("axes:\n  fidelity: [fast, rough]\n", ":6: axes.fidelity.1: fidelity must be one of fast, reference"),
        ("trace: missing.snaptrace\naxes:\n  mode: [ann]\n", ":5: trace: path not found"),
        ("axes:\n  a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n  b: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
         "  c: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n  d: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
         "  e: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n  f: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n  g: [1, 2]\n",
         ":5: axes: the sweep has 2,000,000 points"),
    ],
)
def test_semantic_problems(tmp_path, body, expected):
    path = write_sweep(tmp_path, body)
    msgs = problems_of(path)
    assert any(m.startswith(str(path) + expected) for m in msgs), msgs


def test_missing_base_file_and_wrong_kind(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("kind: sweeep\nname: t\nhardware: nope.yaml\nworkload: nope.yaml\naxes: {mode: [ann]}\n")
    msgs = problems_of(path)
    assert any(m.startswith(f"{path}:1: kind: input should be 'sweep'") for m in msgs), msgs
    path.write_text("kind: sweep\nname: t\nhardware: nope.yaml\nworkload: nope.yaml\naxes: {mode: [ann]}\n")
    msgs = problems_of(path)
    assert msgs[0].startswith(f"{path}:3: hardware: file not found: {tmp_path / 'nope.yaml'}")
    assert msgs[1].startswith(f"{path}:4: workload: file not found")


def test_validate_checks_axis_paths_against_the_models():
    with pytest.raises(ConfigError) as info:
        validate_sweep_file(DATA / "bad_axis_path.yaml")
    msgs = [str(p) for p in info.value.problems]
    f = DATA / "bad_axis_path.yaml"
    assert msgs[0].startswith(f"{f}:6: axes.link.rate_gbps: value 8: unknown key")
    assert msgs[1].startswith(f"{f}:7: axes.link.lanes: value -4: ") and "greater than 0" in msgs[1]
    validate_sweep_file(DATA / "fake_grid.yaml")  # a good sweep passes, including workload.* axes


# ------------------------------------------------------------------------------------------- expansion


def test_grid_is_the_cartesian_product_last_axis_fastest():
    spec = load_sweep(DATA / "fake_grid.yaml")
    pts = spec.points()
    assert spec.size() == len(pts) == 24
    assert pts[0] == {"mode": "ann", "link.rate_gtps": 8, "workload.boundary.firing_rate": 0.05}
    assert pts[1] == {"mode": "ann", "link.rate_gtps": 8, "workload.boundary.firing_rate": 0.1}
    assert pts[2]["link.rate_gtps"] == 13 and pts[8]["mode"] == "snn" and pts[-1]["mode"] == "snap"
    assert len({tuple(p.values()) for p in pts}) == 24
    runs = spec.run_points()
    assert all(r["seed"] == 7 and r["fidelity"] == "fast" for r in runs)
    assert split_point(runs[0]) == ("ann", 7, "fast", {"link.rate_gtps": 8}, {"boundary.firing_rate": 0.05})


def test_zip_takes_values_together_and_fills_fixed_mode():
    spec = load_sweep(DATA / "fake_zip.yaml")
    assert spec.points() == [
        {"link.rate_gtps": 8, "link.energy_pj_per_bit": 0.5},
        {"link.rate_gtps": 16, "link.energy_pj_per_bit": 0.3},
        {"link.rate_gtps": 32, "link.energy_pj_per_bit": 0.25},
    ]
    assert {r["mode"] for r in spec.run_points()} == {"ann"}


def test_random_is_deterministic_within_bounds_and_typed():
    a = load_sweep(DATA / "fake_random.yaml").points()
    b = load_sweep(DATA / "fake_random.yaml").points()
    assert a == b and len(a) == 40
    for p in a:
        assert p["mode"] in ("ann", "snn", "snap")
        assert isinstance(p["link.rate_gtps"], int) and 4 <= p["link.rate_gtps"] <= 32
        assert isinstance(p["link.energy_pj_per_bit"], float) and 0.1 <= p["link.energy_pj_per_bit"] <= 2.0
        assert isinstance(p["link.lanes"], int) and 8 <= p["link.lanes"] <= 64
        assert p["workload.boundary.firing_rate"] in (0.05, 0.1, 0.2)
    assert len({p["link.energy_pj_per_bit"] for p in a}) == 40


def test_random_seed_changes_draws_and_scales_behave(tmp_path):
    body = ("seed: {seed}\ncombine: random\nsamples: 2000\naxes:\n"
            "  link.energy_pj_per_bit: {{range: [0.01, 100.0], scale: log}}\n"
            "  link.rate_gtps: {{range: [0.0, 10.0]}}\n"
            "  link.lanes: {{range: [1, 4], integer: true}}\n")
    p1 = load_sweep(write_sweep(tmp_path, body.format(seed=1), "a.yaml")).points()
    p2 = load_sweep(write_sweep(tmp_path, body.format(seed=2), "b.yaml")).points()
    assert p1 != p2
    log_vals = [p["link.energy_pj_per_bit"] for p in p1]
    below_1 = sum(v < 1.0 for v in log_vals) / len(log_vals)  # log-uniform: half below the geometric mean
    assert 0.45 < below_1 < 0.55
    lin = [p["link.rate_gtps"] for p in p1]
    assert 0.45 < sum(v < 5.0 for v in lin) / len(lin) < 0.55
    counts = {k: sum(p["link.lanes"] == k for p in p1) for k in (1, 2, 3, 4)}
    assert set(counts) == {1, 2, 3, 4} and min(counts.values()) > 400  # inclusive upper bound
    assert math.isclose(sum(counts.values()), 2000)


def test_seed_axis_overrides_the_base_seed(tmp_path):
    spec = load_sweep(write_sweep(tmp_path, "seed: 5\naxes:\n  seed: [1, 2]\n"))
    assert [r["seed"] for r in spec.run_points()] == [1, 2]


def test_point_hash_depends_on_base_content_and_values(tmp_path):
    wl = tmp_path / "wl.yaml"
    wl.write_text(WL.read_text())
    path = tmp_path / "s.yaml"
    path.write_text(f"kind: sweep\nname: t\nhardware: {HW}\nworkload: wl.yaml\naxes:\n  mode: [ann, snn]\n")
    spec = load_sweep(path)
    d1 = base_digest(spec)
    h = [point_hash(d1, p) for p in spec.run_points()]
    assert h[0] != h[1] and h == [point_hash(base_digest(load_sweep(path)), p) for p in spec.run_points()]
    wl.write_text(WL.read_text().replace("inferences: 4", "inferences: 5"))
    assert base_digest(load_sweep(path)) != d1
