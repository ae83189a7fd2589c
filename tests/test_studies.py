"""Studies as plans on the sweep machinery: the registry and its CLI, pure plans, run identities, the
evaluation of one study run."""

from __future__ import annotations

import builtins
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from snapsim import studies
from snapsim.cli import main
from snapsim.studies import paths
from snapsim.studies.evaluate import RunEvaluator
from snapsim.studies.execute import RunIdentity
from snapsim.studies.plan import Plan
from snapsim.studies.snap.plan import MODES, SIZES, build_plan


# ------------------------------------------------------------------------------------------- registry


def test_list_names_every_study_with_its_sizes(capsys):
    assert main(["study", "--list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("snap: ") and "sizes: small, default (default)" in out
    assert studies.names() == ["snap"] and studies.get("snap").sizes is SIZES


@pytest.mark.parametrize("argv, message", [
    (["study", "nope"], "snapsim study: error: unknown study 'nope'; studies: snap (snapsim study --list)"),
    (["study", "snap", "--size", "huge"], "snapsim study: error: study snap: unknown size 'huge'; sizes: small, default"),
    (["study"], "snapsim study: error: name a study (one of snap) or use --list"),
    (["study", "snap", "--size", "small", "--workers", "0"], "snapsim study: error: --workers must be at least 1; got 0"),
])
def test_registry_and_option_errors_exit_2_with_one_line(argv, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err == message + "\n" and captured.out == ""
    assert not out.exists()  # nothing was started


def test_a_registered_study_is_found_by_name():
    class Tiny(studies.Study):
        name = "tiny-test"
        title = "a study of no runs"
        sizes = {"one": None}
        default_size = "one"

    study = Tiny()
    studies.register(study)
    try:
        assert studies.get("tiny-test") is study and "tiny-test" in studies.names()
    finally:
        studies.unregister("tiny-test")
    assert "tiny-test" not in studies.names()


# ----------------------------------------------------------------------------------------------- plan


def test_plan_is_pure_and_deterministic(monkeypatch):
    """Building the plan runs nothing and opens no file but the shipped accuracy references; twice gives the same
    runs, ids and cases."""
    from snapsim.studies.snap.references import REFERENCES_FILE

    def refuse(*_a, **_k):
        raise AssertionError("the plan must not read or run anything")

    references = REFERENCES_FILE.read_text(encoding="utf-8")

    def references_only(self, *a, **k):
        if self != REFERENCES_FILE:
            raise AssertionError(f"the plan must not read {self}")
        return references

    monkeypatch.setattr("snapsim.runner.simulate", refuse)  # (imports snapsim.runner before files are refused)
    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(io, "open", refuse)
    monkeypatch.setattr(Path, "read_text", references_only)
    monkeypatch.setattr(Path, "read_bytes", refuse)
    for size in SIZES.values():
        a, b = build_plan(size), build_plan(size)
        assert a.runs == b.runs and a.cases == b.cases
        assert [r["run_id"] for r in a.runs] == [f"r{i:05d}" for i in range(len(a.runs))]
    monkeypatch.undo()

    plan = build_plan(SIZES["small"])
    by_id = {r["run_id"]: r for r in plan.runs}
    for case in plan.cases:  # every case names one run of each mode, of its model and part
        for m in MODES:
            run = by_id[case[f"run_id_{m}"]]
            assert run["mode"] == m and run["model"] == case["model"]
    # a run shared by several cases is planned once: the regime's ANN-only and SNAP runs do not depend on the SNN's
    # weight fetch or timesteps
    cfg = SIZES["small"]
    regime = [c for c in plan.cases if c["part"] == "regime"]
    per_design = 2 * len(cfg.regime_models) * len(cfg.regime_links) * len(cfg.regime_batches)  # 2 scenarios
    assert len({c["run_id_ann"] for c in regime}) == len({c["run_id_snap"] for c in regime}) == per_design
    assert len({c["run_id_snn"] for c in regime}) == len(regime) == per_design * len(cfg.regime_fetch) * len(
        cfg.regime_timesteps)


def test_plan_registers_a_run_once_and_keeps_its_first_labels():
    plan = Plan(seed=3)
    a = plan.run(hw_file="h.yaml", wl_file="w.yaml", mode="ann", hw_overrides={"b": 1, "a": 2}, part="x")
    b = plan.run(hw_file="h.yaml", wl_file="w.yaml", mode="ann", hw_overrides={"a": 2, "b": 1}, part="y")
    c = plan.run(hw_file="h.yaml", wl_file="w.yaml", mode="snap", hw_overrides={"a": 2, "b": 1}, part="y")
    assert a == b == "r00000" and c == "r00001"
    assert plan.runs[0]["part"] == "x" and plan.runs[0]["seed"] == 3
    assert plan.runs[0]["hw_overrides"] == '{"a": 2, "b": 1}'


# ------------------------------------------------------------------------------------------ identity


def _run(hw_file, wl_file, **kw) -> dict:
    plan = Plan()
    plan.run(hw_file=hw_file, wl_file=wl_file, mode=kw.pop("mode", "ann"), **kw)
    return plan.runs[0]


def test_run_identity_is_content_plus_values_not_paths_or_labels(tmp_path, monkeypatch):
    hw, wl = paths.package("xsr-serdes-1x4"), paths.zoo("resnet18", 4)
    (tmp_path / "packages").mkdir()
    (tmp_path / "link").mkdir()
    hw2, wl2 = tmp_path / "packages" / hw.name, tmp_path / wl.name
    shutil.copy(hw, hw2)
    shutil.copy(wl, wl2)
    ident = RunIdentity()
    base = ident(_run(hw, wl, hw_overrides={"link.lanes": 4}, part="size", model="resnet18"))
    # moved files, other labels: the same run
    assert ident(_run(hw2, wl2, hw_overrides={"link.lanes": 4}, part="regime", model="other")) == base
    # another value, mode or seed: another run
    assert ident(_run(hw, wl, hw_overrides={"link.lanes": 8})) != base
    assert ident(_run(hw, wl, hw_overrides={"link.lanes": 4}, mode="snap")) != base
    # an edited workload: another run
    wl2.write_text(re.sub(r"^name: (.*)$", r"name: \1-edited", wl2.read_text(), count=1, flags=re.M))
    assert RunIdentity()(_run(hw2, wl2, hw_overrides={"link.lanes": 4})) != base
    # other simulator code: another run (results of an older snapsim are not reused)
    monkeypatch.setattr("snapsim.studies.execute.code_digest", lambda: "another snapsim")
    assert RunIdentity()(_run(hw, wl, hw_overrides={"link.lanes": 4})) != base


def test_run_identity_follows_the_content_of_a_preset_named_by_an_override(tmp_path):
    """A ``link.preset`` override names a file the hardware file does not: editing that preset must make the
    run run again, not reuse a stale result."""
    hw = tmp_path / "pkg.yaml"
    shutil.copy(paths.package("xsr-serdes-1x4"), hw)
    preset = tmp_path / "mylink.yaml"
    preset.write_text(paths.HWCONFIGS.joinpath("link", "xsr-serdes-112g.yaml").read_text()
                      .replace("name: xsr-serdes-112g", "name: mylink"))
    run = _run(hw, paths.zoo("resnet18", 4), hw_overrides={"link.preset": str(preset)})
    before = RunIdentity()(run)
    preset.write_text(preset.read_text().replace("energy_pj_per_bit: 1.2", "energy_pj_per_bit: 1.3"))
    assert RunIdentity()(run) != before


# ---------------------------------------------------------------------------------------- evaluation


def test_a_runs_domain_is_its_workloads_domain_field(tmp_path):
    """The domain comes from ``domain:`` in the workload, not from the model's name."""
    src = paths.zoo("rwkv-0.17b", 4)
    renamed = tmp_path / src.name
    renamed.write_text(re.sub(r"^domain: language$", "domain: vision", src.read_text(), flags=re.M))
    point = {"hw_file": str(paths.package("xsr-serdes-1x4")), "trace": None, "mode": "ann", "seed": 0,
             "fidelity": "fast", "hw_overrides": "{}", "wl_overrides": json.dumps({"stream.inferences": 1})}
    evaluate = RunEvaluator()
    assert evaluate({**point, "wl_file": str(src)})["domain"] == "language"
    assert evaluate({**point, "wl_file": str(renamed)})["domain"] == "vision"


def test_the_evaluator_travels_without_its_caches():
    import pickle

    evaluate = RunEvaluator()
    evaluate._prepared[("a", "b")] = object()  # noqa: SLF001 - a filled cache must not be shipped to workers
    assert pickle.loads(pickle.dumps(evaluate))._prepared == {}  # noqa: SLF001
