"""The fuzz and fault suite (tests/fuzz/, issue 14) at its bounded size: at least 600 mutated configs, 150
hostile traces, 30 resource-abuse values and 10 sweep faults, with 0 tracebacks, 0 hangs, 0 orphaned
processes, 0 silently changed results, and every refusal one line naming its file with exit code 2.

It runs as its own process (a clean, single-threaded parent that forks a child per case) and prints its
figures into the test log; ``make fuzz`` runs it ten times larger with a random seed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_fuzz_suite_meets_the_bar(tmp_path, capsys):
    report = tmp_path / "fuzz.json"
    res = subprocess.run([sys.executable, str(ROOT / "tests" / "fuzz" / "run.py"), "--size", "ci", "--json", str(report)],
                         capture_output=True, text=True, timeout=1800)
    with capsys.disabled():
        print("\n" + res.stdout[-6000:])
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    rows = {r["family"]: r for r in json.loads(report.read_text())["rows"]}
    assert rows["configs"]["cases"] >= 600 and rows["traces"]["cases"] >= 150
    assert rows["abuse"]["cases"] >= 30 and rows["faults"]["cases"] >= 10
    for r in rows.values():
        assert all(r[k] == 0 for k in ("traceback", "hang", "crash", "orphan", "changed", "accepted", "bad_refusal")), r
        assert r["refusals"] == r["refusals_clean"]
