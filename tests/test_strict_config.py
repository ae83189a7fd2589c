"""Config models are strict for scalars (defect 6): a string is never read as a number, a bool is never a
number, a number is never a name; an int is still a valid float, and lists still fill tuple fields.
Each refusal is a Problem with file:line: path, from hardware, workload and sweep files alike."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from snapsim.cli import main
from snapsim.config import load_hardware, load_workload
from snapsim.config.load import validate_file, validate_sweep_file
from snapsim.errors import ConfigError
from test_bad_input import LINK_OK as LINK

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "hwconfigs" / "packages" / "ucie-a-2x2.yaml"
TINY = ROOT / "tests" / "data" / "sweeps" / "tiny_workload.yaml"

WORKLOAD = """\
kind: workload
name: w
input_shape: [4]
stages:
  - {name: a, macs: 5, output_shape: [4]}
  - {name: b, macs: 5, output_shape: [4]}
partition: {count: 2}
stream: {inferences: 8}
"""


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        validate_file(path)
    return [str(p) for p in info.value.problems]


def test_hardware_file_with_both_defects_reports_both_with_lines(tmp_path, capsys):
    f = tmp_path / "hw.yaml"
    f.write_text(textwrap.dedent("""\
        kind: hardware
        name: x
        chiplet: simba-like-16nm
        link:
          preset: ucie-advanced-32g
          rate_gtps: "16"
          lanes: true
        topology: {kind: ring, chiplets: 2}
        """))
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"{f}:6: link.rate_gtps: input should be a valid number; got '16'" in err
    assert f"{f}:7: link.lanes: input should be a valid integer; got True" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "text, old, new, expected",
    [
        (LINK, "rate_gtps: 16", 'rate_gtps: "16"', ":4: rate_gtps: input should be a valid number; got '16'"),
        (LINK, "lanes: 16", "lanes: true", ":3: lanes: input should be a valid integer; got True"),
        (LINK, "lanes: 16", "lanes: '16'", ":3: lanes: input should be a valid integer; got '16'"),
        (LINK, "name: l", "name: 7", ":2: name: input should be a valid string; got 7"),
        (LINK, "flit_bytes: 64", "flit_bytes: 64.0", ":7: flit_bytes: input should be a valid integer; got 64.0"),
        (WORKLOAD, "stream: {inferences: 8}", 'stream: {inferences: "8"}',
         ":8: stream.inferences: input should be a valid integer; got '8'"),
        (WORKLOAD, "macs: 5, output", 'macs: "5", output', ":5: stages.0.macs: input should be a valid number; got '5'"),
        (WORKLOAD, "partition: {count: 2}", "partition: {count: true}",
         ":7: partition.count: input should be a valid integer; got True"),
        (WORKLOAD, "name: w", "name: w\nprecision: 8",
         ":3: precision: input should be 'fp32', 'fp16', 'bf16', 'fp8', 'int8' or 'int4'; got 8"),
        (WORKLOAD, "input_shape: [4]", "input_shape: ['4']", ":3: input_shape.0: input should be a valid integer; got '4'"),
    ],
)
def test_scalars_are_not_coerced(tmp_path, text, old, new, expected):
    f = tmp_path / "bad.yaml"
    f.write_text(text.replace(old, new))
    assert any(m == f"{f}{expected}" for m in problems(f)), problems(f)


def test_overrides_are_strict_too():
    with pytest.raises(ConfigError) as info:
        load_hardware(PKG, {"link.rate_gtps": "16"})
    assert [(p.path, p.message) for p in info.value.problems] == [
        ("link.rate_gtps", "input should be a valid number; got '16'")]
    with pytest.raises(ConfigError, match="boundary.firing_rate: input should be a valid number; got '0.1'"):
        load_workload(TINY, {"boundary.firing_rate": "0.1"})


def test_sweep_axis_value_of_the_wrong_type_is_refused_with_its_line(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(f"kind: sweep\nname: t\nhardware: {PKG}\nworkload: {TINY}\naxes:\n"
                 "  link.rate_gtps: ['8', '16']\n  link.lanes: [true, false]\n  workload.stream.batch: ['2']\n")
    with pytest.raises(ConfigError) as info:
        validate_sweep_file(f)
    msgs = [str(p) for p in info.value.problems]
    assert msgs == [
        f"{f}:6: axes.link.rate_gtps: value '8': input should be a valid number; got '8'",
        f"{f}:7: axes.link.lanes: value True: input should be a valid integer; got True",
        f"{f}:8: axes.workload.stream.batch: value '2': input should be a valid integer; got '2'",
    ]


@pytest.mark.parametrize(
    "line, expected",
    [
        ("seed: '3'", ":5: seed: input should be a valid integer; got '3'"),
        ("seed: true", ":5: seed: input should be a valid integer; got True"),
        ("name: 5", ":2: name: input should be a valid string; got 5"),
        ("fidelity: 1", ":5: fidelity: input should be a valid string; got 1"),
    ],
)
def test_sweep_file_fields_are_strict(tmp_path, line, expected):
    f = tmp_path / "s.yaml"
    body = f"kind: sweep\nname: t\nhardware: {PKG}\nworkload: {TINY}\naxes: {{mode: [ann]}}\n"
    key = line.split(":")[0]
    body = body.replace("name: t\n", "") if key == "name" else body
    lines = body.splitlines()
    lines.insert(4 if key != "name" else 1, line)
    f.write_text("\n".join(lines) + "\n")
    msgs = problems(f)
    assert any(m == f"{f}{expected}" for m in msgs), msgs


def test_what_must_keep_working(tmp_path):
    """Ints for floats, lists for tuples (edges, between), integer keys named as text by an override."""
    hw = load_hardware(PKG, {"link.phy_latency_ns": 3})
    assert hw.link.phy_latency_ns == 3.0
    f = tmp_path / "hw.yaml"
    f.write_text(textwrap.dedent("""\
        kind: hardware
        name: x
        chiplet: simba-like-16nm
        chiplets: {1: simba-like-16nm}
        link: ucie-advanced-32g
        links:
          - {between: [0, 1], link: {preset: ucie-advanced-32g, lanes: 32}}
        topology: {kind: edges, chiplets: 3, edges: [[0, 1], [1, 2]]}
        """))
    hw = load_hardware(f)
    assert hw.topology.edges == [(0, 1), (1, 2)] and hw.links[0].between == (0, 1) and set(hw.chiplets) == {1}
    hw = load_hardware(f, {"chiplets.2.preset": "simba-like-16nm"})
    assert set(hw.chiplets) == {1, 2}
    wl = load_workload(TINY, {"boundaries.0.precision": "fp8"})
    assert wl.boundaries == {0: wl.boundaries[0]} and wl.boundaries[0].precision == "fp8"


def test_bad_keys_and_tuples_are_still_refused(tmp_path):
    f = tmp_path / "hw.yaml"
    f.write_text(textwrap.dedent("""\
        kind: hardware
        name: x
        chiplet: simba-like-16nm
        chiplets: {one: simba-like-16nm}
        link: ucie-advanced-32g
        links:
          - {between: [0, '1'], link: ucie-advanced-32g}
        topology: {kind: edges, chiplets: 3, edges: [[0, 1], [1, 2.5]]}
        """))
    msgs = problems(f)
    assert f"{f}:4: chiplets.one: invalid key: input should be a valid integer; got 'one'" in msgs
    assert f"{f}:7: links.0.between.1: input should be a valid integer; got '1'" in msgs
    assert f"{f}:8: topology.edges.1.1: input should be a valid integer; got 2.5" in msgs


def test_cli_set_parses_numbers_as_yaml(capsys):
    rc = main(["run", "--hw", str(PKG), "--workload", str(TINY), "--mode", "snap",
               "--set", "link.rate_gtps=16", "--set", "workload.stream.inferences=2", "--json"])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)["snap"]
    assert data["config"]["hardware"]["link"]["rate_gtps"] == 16.0  # the preset has 32
    rc = main(["run", "--hw", str(PKG), "--workload", str(TINY), "--set", "link.rate_gtps='16'"])
    err = capsys.readouterr().err
    assert rc == 2 and "link.rate_gtps: input should be a valid number; got '16'" in err
