"""Golden results: a handful of shipped runs pinned to the number, with provenance.

Each case of ``tests/golden/cases.py`` is run through the CLI (``snapsim run ... --json``) and compared
with ``tests/golden/<case>.json``. Integers (messages, flits, bits, wakes) must match exactly; floats to a
relative 1e-9 (the simulator is deterministic; the tolerance only absorbs summation order). Run
``pytest tests/test_golden.py --update-golden`` to rewrite the files after a deliberate model change:
the change then shows as a reviewed diff, and ``_meta`` records the command, version, commit and date.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import subprocess
from pathlib import Path

import pytest

from snapsim import __version__
from snapsim.cli import main

from golden.cases import CASES

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
REL = 1e-9
# what a run's identity records rather than what it measures: compared nowhere, kept in _meta; which
# engine computed a run (stream or event, and why) does not change what it measures
_VOLATILE = {"config_hash", "snapsim_version", "engine", "engine_reason"}


def pinned(data: dict) -> dict:
    """The measured part of one ``--json`` run: flat metrics, energy parts, bounds and per-link traffic."""
    keep = {}
    for k, v in sorted(data.items()):
        if k in _VOLATILE or k in ("config", "counts", "cost_table"):
            continue
        keep[k] = v
    return keep


def _run(argv: list[str], capsys) -> dict:
    code = main(["run", *argv, "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    data = json.loads(out)  # keyed by mode
    return {mode: pinned(d) for mode, d in sorted(data.items())}


def _compare(got, want, path: str, diffs: list[str]) -> None:
    if isinstance(want, dict) and isinstance(got, dict):
        for k in sorted(set(want) | set(got)):
            if k not in got:
                diffs.append(f"{path}.{k}: missing (golden {want[k]!r})")
            elif k not in want:
                diffs.append(f"{path}.{k}: new (now {got[k]!r})")
            else:
                _compare(got[k], want[k], f"{path}.{k}", diffs)
    elif isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            diffs.append(f"{path}: {len(got)} items, golden {len(want)}")
        for i, (g, w) in enumerate(zip(got, want)):
            _compare(g, w, f"{path}.{i}", diffs)
    elif isinstance(want, float) or isinstance(got, float):
        if not (isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=REL, abs_tol=1e-12)):
            diffs.append(f"{path}: {got!r}, golden {want!r}")
    elif got != want:
        diffs.append(f"{path}: {got!r}, golden {want!r}")


def _git_sha() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case, capsys, monkeypatch, update_golden):
    monkeypatch.chdir(ROOT)
    argv = CASES[case]
    got = _run(argv, capsys)
    path = GOLDEN / f"{case}.json"
    if update_golden:
        meta = {
            "command": "snapsim run " + " ".join(argv) + " --json",
            "snapsim_version": __version__,
            "git_commit": _git_sha(),
            "date": _dt.date.today().isoformat(),
            "compared": f"every field below; floats to rel {REL:g}, integers exactly",
        }
        path.write_text(json.dumps({"_meta": meta, "results": got}, indent=1, sort_keys=True) + "\n")
        return
    assert path.is_file(), f"no golden file {path.name}: run pytest {__file__} --update-golden"
    want = json.loads(path.read_text())["results"]
    diffs: list[str] = []
    _compare(got, want, case, diffs)
    assert not diffs, f"{len(diffs)} pinned values changed (first 20):\n" + "\n".join(diffs[:20])


def test_every_golden_file_has_a_case():
    files = {p.stem for p in GOLDEN.glob("*.json")}
    assert files == set(CASES), f"stale or missing golden files: {sorted(files ^ set(CASES))}"
