"""The training examples (snapsim.examples) run as modules from any directory, without sys.path edits, with
the real trainers (PyTorch, scikit-learn); a short run writes a trace and a workload that snapsim replays.
Importing snapsim itself never imports torch or scikit-learn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import snapsim.examples
from snapsim.cli import main
from snapsim.config import load_workload
from snapsim.resources import HWCONFIGS
from snapsim.trace import open_trace

EXAMPLES = Path(snapsim.examples.__file__).parent


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)} | {"MPLBACKEND": "Agg"}


def test_importing_snapsim_never_imports_the_trainers(tmp_path):
    code = ("import sys, snapsim, snapsim.cli, snapsim.zoo, snapsim.resources, snapsim.examples\n"
            "snapsim.cli.build_parser()  # imports every sub-command module\n"
            "print(sorted(m for m in ('torch', 'sklearn', 'snntorch') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"


def test_examples_import_each_other_as_a_package():
    for path in sorted(EXAMPLES.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "sys.path" not in text, f"{path.name} edits sys.path"
    assert {p.name for p in EXAMPLES.glob("*.py")} >= {"__init__.py", "digits_snap.py", "charlm_snap.py",
                                                         "snap_layers.py"}


@pytest.mark.slow  # ~6 s each: torch start-up, a short training, recording
@pytest.mark.parametrize("example,args,spikes", [
    ("digits_snap", ["--epochs", "2"], ["fc1->fc2", "fc2->fc3"]),
    ("charlm_snap", ["--epochs", "1", "--samples-per-epoch", "512"], ["fc1->fc2"]),
])
def test_example_runs_as_a_module_and_writes_a_replayable_trace(tmp_path, capsys, example, args, spikes):
    work = tmp_path / "elsewhere"  # not the checkout: the module is found as part of the installed package
    work.mkdir()
    p = subprocess.run([sys.executable, "-m", f"snapsim.examples.{example}", *args, "--penalties", "0", "4",
                        "--workload-level", "1", "--out-dir", "traces", "--workload", "w.yaml"],
                       cwd=work, env=_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout[p.stdout.index("\n[") + 1:])
    assert [r["penalty"] for r in rows] == [0, 4]
    trace_dir = work / "traces" / f"{example}_l1.snaptrace"
    tr = open_trace(trace_dir)
    assert [b.name for b in tr.boundaries if b.kind == "spike"] == spikes
    assert tr.manifest["metadata"]["script"] == f"python -m snapsim.examples.{example}"
    assert tr.manifest["metrics"]["penalty"] == 4
    wl = load_workload(work / "w.yaml")
    assert wl.n_partitions == len(spikes) + 1 and wl.sources["trace"] == f"workloads/traces/{example}_l1.snaptrace"
    rc = main(["run", "--hw", str(HWCONFIGS / "packages" / "ucie-a-2x2.yaml"), "--workload", str(work / "w.yaml"),
               "--trace", str(trace_dir), "--mode", "snap", "--set", "workload.stream.inferences=8", "--json"])
    assert rc == 0
    got = json.loads(capsys.readouterr().out)["snap"]
    assert got["trace_metrics"]["penalty"] == 4 and got["d2d_payload_bits_per_inf"] > 0


@pytest.mark.slow  # ~10 s: torch start-up and six tiny trainings
def test_references_example_writes_ann_and_snn_accuracies(tmp_path):
    out = tmp_path / "refs.json"
    p = subprocess.run([sys.executable, "-m", "snapsim.examples.references", "--out", str(out), "--digits-epochs", "1",
                        "--digits-timesteps", "2", "4", "--charlm-epochs", "1", "--charlm-samples-per-epoch", "512",
                        "--charlm-timesteps", "2"], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    refs = json.loads(out.read_text())
    assert refs["script"] == "python -m snapsim.examples.references"
    assert set(refs["digits"]["snn"]) == {"2", "4"} and set(refs["charlm"]["snn"]) == {"2"}
    for task in ("digits", "charlm"):
        assert 0 < refs[task]["ann"]["accuracy"] <= 1 and refs[task]["ann"]["firing_rate"] == 0
        assert all(0 < m["accuracy"] <= 1 and 0 < m["firing_rate"] < 1 for m in refs[task]["snn"].values())


def test_shipped_references_cover_the_timesteps_the_examples_assume():
    """The SNAP study puts the ANN-only and SNN-only accuracies beside the SNAP levels: every shipped example has
    an ANN reference and an SNN-only reference at the timesteps its workload assumes for SNN-only."""
    from snapsim.resources import WORKLOADS

    refs = json.loads((WORKLOADS / "references.json").read_text())
    for task in ("digits", "charlm"):
        wl = load_workload(WORKLOADS / f"{task}_snap.yaml")
        assert str(wl.snn.timesteps) in refs[task]["snn"], task
        assert "accuracy" in refs[task]["ann"]
