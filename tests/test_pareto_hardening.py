"""``snapsim pareto`` under hostile tables and options (issue 14): one-line errors, never a traceback."""

from __future__ import annotations

import pandas as pd
import pytest

from snapsim.cli import main


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "r.parquet"
    pd.DataFrame({
        "latency_ns_p50": [1.0, 2.0, 3.0], "energy_pj_per_inf": [3.0, 2.0, 1.0], "mode": ["ann", "snn", "snap"],
        "link.lanes": [[16], [32], [64]], "tags": [["a", "b"], ["c"], []], "status": ["ok"] * 3,
    }).to_parquet(path)
    return path


def pareto(capsys, *args) -> tuple[int, str, str]:
    try:
        rc = main(["pareto", *map(str, args)])
    except SystemExit as exc:
        rc = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return rc, out, err


def test_list_columns_are_compared_labelled_and_coloured(table, tmp_path, capsys):
    rc, out, _err = pareto(capsys, table, "-o", tmp_path / "f.png")
    assert rc == 0 and "3 on the Pareto front" in out
    rc, _out, _err = pareto(capsys, table, "-o", tmp_path / "f.png", "--color", "tags", "--label", "link.lanes")
    assert rc == 0
    assert "link.lanes" in (tmp_path / "f.csv").read_text()


def test_extreme_values_are_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "big.parquet"
    pd.DataFrame({"latency_ns_p50": [1.0, 1e308, -1e308], "energy_pj_per_inf": [1.0, -1e308, 1e308]}).to_parquet(path)
    rc, _out, err = pareto(capsys, path, "-o", tmp_path / "f.png")
    assert rc == 2 and err.strip() == ("snapsim pareto: error: column 'latency_ns_p50' spans [-1e+308, 1e+308]: wider "
                                       "than a plot axis can show; drop the extreme rows (--where) or use a log axis")
    rc, out, _err = pareto(capsys, path, "-o", tmp_path / "f.png", "--where", "latency_ns_p50 > -1e300")
    assert rc == 0, out


@pytest.mark.parametrize("dpi", ["0", "-3", "100000"])
def test_dpi_out_of_range(table, tmp_path, capsys, dpi):
    rc, _out, err = pareto(capsys, table, "-o", tmp_path / "f.png", "--dpi", dpi)
    assert rc == 2 and err.strip() == f"snapsim pareto: error: --dpi: must be from 10 to 1200; got {dpi}"


def test_a_3000_term_where_is_one_line(table, tmp_path, capsys):
    expr = "|".join(["latency_ns_p50>0"] * 1000)  # deep enough to exhaust pandas' recursion, short enough to try
    rc, _out, err = pareto(capsys, table, "-o", tmp_path / "f.png", "--where", expr)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "too deeply nested for pandas" in err
    rc, _out, err = pareto(capsys, table, "-o", tmp_path / "f.png", "--where", " or ".join(["x > 0"] * 3000))
    assert rc == 2 and "--where: the expression has" in err


@pytest.mark.parametrize("title", ["$x^$", "$\\frac{1}$", "$\\nosuchmacro$", "$$"])
def test_bad_title_math_is_one_line(table, tmp_path, capsys, title):
    rc, _out, err = pareto(capsys, table, "-o", tmp_path / "f.png", "--title", title)
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith(f"snapsim pareto: error: --title {title!r}: matplotlib cannot draw it")
    assert not (tmp_path / "f.png").exists()


def test_math_in_a_column_name_is_one_line(tmp_path, capsys):
    path = tmp_path / "m.parquet"
    pd.DataFrame({"$x^$": [1.0, 2.0], "y": [2.0, 1.0]}).to_parquet(path)
    rc, _out, err = pareto(capsys, path, "--x", "$x^$", "--y", "y", "-o", tmp_path / "f.png")
    assert rc == 2 and "matplotlib cannot draw the plot" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.glob("*.tmp")) == [] and not (tmp_path / "f.png").exists()
