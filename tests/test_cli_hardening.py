"""Command-line inputs and outputs under abuse (issue 14): every refusal is one line with exit code 2, no
traceback; ``--out`` is checked before the run, written atomically and never silently replaces a file;
JSON output is strict."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from snapsim.cli import main

ROOT = Path(__file__).resolve().parents[1]
HW = str(ROOT / "hwconfigs" / "packages" / "ucie-a-2x2.yaml")
LM = str(ROOT / "workloads" / "lm_32x4096.yaml")
SMALL = ["--set", "workload.stream.inferences=4"]


def run(capsys, *args: str) -> tuple[int, str, str]:
    rc = main(["run", "--hw", HW, "--workload", LM, *args])
    out, err = capsys.readouterr()
    return rc, out, err


CASES = [
    (["--set", "link.rate_gtps=["], "snapsim run: error: --set link.rate_gtps=[: invalid YAML: "),
    (["--seed", "-1"], "snapsim run: error: --seed: must be an integer from 0 to 2^63-1; got -1"),
    (["--seed", str(2**64)], "snapsim run: error: --seed: must be an integer from 0 to 2^63-1"),
    (["--set", "link.phy_latency_ns=.inf"], "snapsim run: error: --set link.phy_latency_ns: input should be a finite number; got inf"),
    (["--set", "chiplet.compute.clock_ghz=1e-300"], f"snapsim run: error: {HW}: mode snap, with {LM}: "),
    (["--set", "link.rate_gtps='32'"], "snapsim run: error: --set link.rate_gtps: input should be a valid number; got '32'"),
    (["--set", "link.lanes=true"], "snapsim run: error: --set link.lanes: input should be a valid integer; got True"),
    (["--set", "link.lanes=!!python/object:os.system x"], "snapsim run: error: --set link.lanes=!!python/object:os.system x: tag"),
    (["--set", "=3"], "snapsim run: error: --set '=3': expected a dotted PATH"),
    (["--max-wall-s", "nan"], "snapsim run: error: --max-wall-s: must be a positive number"),
    (["--seed", "x"], "snapsim run: error: argument --seed: invalid int value: 'x' (see snapsim run --help)"),
]


@pytest.mark.parametrize("args,first", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_command_line_values_are_one_line(capsys, args, first):
    try:
        rc, _out, err = run(capsys, *args)
    except SystemExit as exc:  # argparse's own usage errors
        rc, err = exc.code, capsys.readouterr().err
    assert rc == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(first), lines[0]


def test_out_to_a_missing_directory_is_refused_before_the_simulation(capsys, monkeypatch):
    import snapsim.runner

    def boom(*a, **k):
        raise AssertionError("the simulation ran before --out was checked")

    monkeypatch.setattr(snapsim.runner, "simulate", boom)
    rc, _out, err = run(capsys, "--out", "/nonexistent-dir/r.parquet")
    assert rc == 2
    assert err.strip() == "snapsim run: error: --out /nonexistent-dir/r.parquet: directory /nonexistent-dir does not exist"


def test_out_never_replaces_a_file_without_overwrite(tmp_path, capsys):
    """A sweep's table of 48 rows once became 1 row: --out silently overwrote it."""
    table = tmp_path / "sweep.parquet"
    pd.DataFrame({"point_index": range(48)}).to_parquet(table)
    before = table.read_bytes()
    rc, _out, err = run(capsys, *SMALL, "--out", str(table))
    assert rc == 2 and f"--out {table}: the file exists (pass --overwrite to replace it)" in err
    assert table.read_bytes() == before
    rc, _out, _err = run(capsys, *SMALL, "--out", str(table), "--overwrite")
    assert rc == 0 and len(pd.read_parquet(table)) == 1


def test_out_is_written_atomically(tmp_path, capsys, monkeypatch):
    """A write that fails half way leaves neither a partial file nor a temporary one."""
    out = tmp_path / "r.parquet"

    def half(self, path, **kw):
        Path(path).write_bytes(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half)
    rc, _out, err = run(capsys, *SMALL, "--out", str(out))
    assert rc == 2 and err.strip() == f"snapsim run: error: {out}: cannot write: No space left on device"
    assert list(tmp_path.iterdir()) == []


def test_json_is_strict_with_non_finite_numbers_named(capsys):
    """Energy that overflows a float (a pJ/bit near the largest float) was printed as Infinity (not JSON)."""
    rc, out, _err = run(capsys, *SMALL, "--mode", "ann", "--json", "--set", "link.energy_pj_per_bit=1e308")
    assert rc == 0
    assert "Infinity" not in out and "NaN" not in out
    data = json.loads(out)  # strict: the json module would accept Infinity, so check the text above too
    assert data["ann"]["energy_pj_per_inf"] is None  # keyed by mode, for one mode as for several
    assert data["non_finite"]["ann.energy_pj_per_inf"] == "inf"
    rc, out, _err = run(capsys, *SMALL, "--mode", "ann,snap", "--json", "--set", "link.energy_pj_per_bit=1e308")
    assert "Infinity" not in out and json.loads(out)["non_finite"]["ann.energy_pj_per_inf"] == "inf"


@pytest.mark.parametrize("argv", [
    ["zoo", "rwkv-0.17b", "--parts", "2", "-o", "/proc/snapsim-nope/x.yaml"],
    ["trace", "convert", str(ROOT / "workloads" / "traces" / "digits_snap_l0.snaptrace"), "/proc/snapsim-nope/t",
     "--to", "npz"],
    ["study", "snap", "--size", "small", "--out", "/proc/snapsim-nope"],
], ids=["zoo", "trace convert", "study"])
def test_outputs_where_nothing_can_be_written_are_one_line(capsys, argv):
    """A destination the file system refuses gave a FileNotFoundError traceback."""
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "/proc/snapsim-nope" in err


def test_outputs_never_replace_a_device_or_a_symlink(tmp_path, capsys):
    """Written atomically by rename, an output over /dev/null would have replaced the device (as root)."""
    import stat

    rc, _out, err = run(capsys, *SMALL, "--out", "/dev/full", "--overwrite")
    assert rc == 2 and "--out /dev/full: not a regular file" in err
    table = tmp_path / "r.parquet"
    pd.DataFrame({"latency_ns_p50": [1.0, 2.0], "energy_pj_per_inf": [2.0, 1.0]}).to_parquet(table)
    link = tmp_path / "plot.png"
    link.symlink_to("/dev/null")
    assert main(["pareto", str(table), "-o", str(link)]) == 2
    assert "not a regular file (a device, FIFO, socket or symbolic link)" in capsys.readouterr().err
    assert link.is_symlink() and stat.S_ISCHR(Path("/dev/null").stat().st_mode)
