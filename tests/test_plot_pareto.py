"""Pareto plots and the ``snapsim pareto`` command: what is drawn, what is written, and user errors."""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Annotation

from snapsim.commands import pareto as cmd_pareto
from snapsim.errors import SnapsimError
from snapsim.plot import axis_label, plot_pareto

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def front_ids(df: pd.DataFrame, objectives: dict[str, str]) -> set:
    """Independent all-pairs front over ``point_id`` (NaN rows excluded)."""
    cols = list(objectives)
    sign = np.array([1.0 if objectives[c] == "min" else -1.0 for c in cols])
    v = df[cols].to_numpy(dtype=float) * sign
    ok = ~np.isnan(v).any(axis=1)
    v, ids = v[ok], df["point_id"].to_numpy()[ok]
    dominated = ((v[:, None, :] <= v[None, :, :]).all(2) & (v[:, None, :] < v[None, :, :]).any(2)).any(0)
    return set(ids[~dominated].tolist())


def results_table(n: int = 150, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mode = rng.choice(["ann", "snn", "snap"], n)
    rate = rng.choice([8, 16, 32, 64], n)
    base = pd.Series(mode).map({"ann": 1.0, "snn": 3.0, "snap": 1.4}).to_numpy()
    lat = np.round(base * 1e3 * np.sqrt(64 / rate) * (1 + rng.random(n)), 1)
    energy = np.round(1e5 * (4.0 / base) * (rate / 8) ** 0.3 * (1 + rng.random(n)), -2)  # coarse: ties
    status = np.where(rng.random(n) < 0.1, "failed", "ok")
    lat[status == "failed"] = 1.0  # failed runs would dominate everything if they were not dropped
    energy[status == "failed"] = 1.0
    lat[5] = np.nan  # an ok run without a latency
    return pd.DataFrame(
        {
            "point_id": np.arange(n),
            "mode": mode,
            "link.rate_gtps": rate,
            "latency_ns_p50": lat,
            "energy_pj_per_inf": energy,
            "accuracy_pct": rng.choice([90.0, 93.0, 95.0], n),
            "power_mw": rng.random(n) * 100,
            "status": status,
        }
    )


# ------------------------------------------------------------------------------------ axis labels


@pytest.mark.parametrize(
    ("column", "label"),
    [
        ("latency_ns_p50", "latency p50 [ns]"),
        ("latency_ns", "latency [ns]"),
        ("energy_pj_per_inf", "energy per inference [pJ]"),
        ("energy_pj", "energy [pJ]"),
        ("energy_pj_per_bit", "energy [pJ/bit]"),
        ("link.rate_gtps", "link rate [GT/s]"),
        ("spikes_per_s", "spikes [1/s]"),
        ("throughput_inf_per_s", "throughput [inf/s]"),
        ("accuracy_pct", "accuracy [%]"),
        ("area_mm2", "area [mm²]"),
        ("n_chiplets", "number of chiplets"),
        ("makespan_us_max", "makespan max [µs]"),
        ("mode", "mode"),
    ],
)
def test_axis_label(column, label):
    assert axis_label(column) == label


# ------------------------------------------------------------------------------------ plot_pareto


def _step_lines(ax):
    return [ln for ln in ax.lines if ln.get_drawstyle().startswith("steps")]


def test_plot_draws_points_front_and_legend():
    df = results_table()
    df = df[df["status"] == "ok"].reset_index(drop=True)
    fig = plot_pareto(df, "latency_ns_p50", "energy_pj_per_inf", color="mode", label="link.rate_gtps")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.collections[0].get_offsets()) == len(df)  # every point drawn
    (line,) = _step_lines(ax)
    assert line.get_drawstyle() == "steps-post"
    expected = df[df["point_id"].isin(front_ids(df, {"latency_ns_p50": "min", "energy_pj_per_inf": "min"}))]
    expected = expected.sort_values(["latency_ns_p50", "energy_pj_per_inf"])
    np.testing.assert_array_equal(line.get_xdata(), expected["latency_ns_p50"].to_numpy())
    np.testing.assert_array_equal(line.get_ydata(), expected["energy_pj_per_inf"].to_numpy())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"mode=ann", "mode=snap", "mode=snn"} <= set(legend)
    assert f"Pareto front ({len(expected)})" in legend
    notes = [c for c in ax.get_children() if isinstance(c, Annotation)]
    assert notes, "front points are labelled"
    allowed = {f"link.rate_gtps={r}" for r in expected["link.rate_gtps"]}
    assert {a.get_text() for a in notes} <= allowed
    assert ax.get_xlabel() == "latency p50 [ns]" and ax.get_ylabel() == "energy per inference [pJ]"


def test_plot_one_front_per_level_and_max_direction():
    df = results_table(seed=3)
    df = df[df["status"] == "ok"].reset_index(drop=True)
    fig = plot_pareto(df, "accuracy_pct", "energy_pj_per_inf", directions=("max", "min"), by="mode", color="mode")
    lines = _step_lines(fig.axes[0])
    assert len(lines) == 3
    assert all(ln.get_drawstyle() == "steps-pre" for ln in lines)  # attainment step for a maximised x
    for ln, mode in zip(lines, ["ann", "snap", "snn"]):
        sub = df[df["mode"] == mode]
        ids = front_ids(sub, {"accuracy_pct": "max", "energy_pj_per_inf": "min"})
        expected = sorted(sub.loc[sub["point_id"].isin(ids), "accuracy_pct"])
        assert sorted(ln.get_xdata()) == expected
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(t.startswith("front, mode=snap") for t in legend)


def test_plot_highlight_is_drawn_unconnected():
    df = results_table(n=40)
    chosen = df.index[[1, 4, 9]]
    fig = plot_pareto(df, "latency_ns_p50", "energy_pj_per_inf", highlight=chosen)
    ax = fig.axes[0]
    assert not _step_lines(ax)
    offsets = np.asarray(ax.collections[1].get_offsets())
    assert sorted(map(tuple, offsets)) == sorted(
        map(tuple, df.loc[chosen, ["latency_ns_p50", "energy_pj_per_inf"]].to_numpy())
    )


def test_plot_continuous_color_adds_colorbar_and_logs(tmp_path):
    df = results_table(n=60)
    fig = plot_pareto(df, "latency_ns_p50", "energy_pj_per_inf", color="power_mw", logx=True, logy=True, title="T")
    assert len(fig.axes) == 2  # the plot and its colour bar
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_title() == "T"
    out = tmp_path / "p.png"
    fig.savefig(out)
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_plot_into_given_axes():
    df = results_table(n=30)
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_pareto(df, "latency_ns_p50", "energy_pj_per_inf", ax=ax) is fig
    assert _step_lines(ax)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"x": "mode"}, "'mode' is not numeric"),
        ({"x": "nope"}, "'nope'"),
        ({"color": "colour"}, "'colour'"),
        ({"by": "level"}, "'level'"),
        ({"label": ["mode", "nope"]}, "'nope'"),
        ({"directions": ("min", "up")}, "directions"),
        ({"y": "power_mw", "logy": True, "_negate": "power_mw"}, "log axis"),
    ],
)
def test_plot_rejects_bad_input(kwargs, match):
    df = results_table(n=30)
    kwargs = dict(kwargs)
    if "_negate" in kwargs:
        df[kwargs.pop("_negate")] -= 50.0
    args = {"x": "latency_ns_p50", "y": "energy_pj_per_inf"}
    args.update({k: kwargs.pop(k) for k in ("x", "y") if k in kwargs})
    with pytest.raises(SnapsimError, match=match):
        plot_pareto(df, args["x"], args["y"], **kwargs)


def test_plot_rejects_all_nan():
    df = pd.DataFrame({"a_ns": [np.nan, 1.0], "b_pj": [1.0, np.nan]})
    with pytest.raises(SnapsimError, match="nothing to plot"):
        plot_pareto(df, "a_ns", "b_pj")


# ------------------------------------------------------------------------------------ the CLI


def run_cli(argv: list[str]) -> int:
    """``snapsim.cli.main``; if sibling commands break the CLI import, the pareto command alone."""
    try:
        from snapsim.cli import main
    except ImportError:  # pragma: no cover - only while other commands are mid-work
        from snapsim.commands import pareto as cmd

        parser = argparse.ArgumentParser(prog="snapsim")
        cmd.add_parser(parser.add_subparsers(dest="command"))
        args = parser.parse_args(argv)
        try:
            return args.func(args)
        except SnapsimError as exc:
            print(f"snapsim {args.command}: error: {exc}", file=sys.stderr)
            return 2
    return main(argv)


@pytest.fixture
def results(tmp_path):
    df = results_table()
    path = tmp_path / "results.parquet"
    df.to_parquet(path)
    return df, path


def _check_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 20_000


def test_cli_writes_plot_and_front_csv(results, tmp_path, capsys):
    df, path = results
    png = tmp_path / "out" / "front.png"
    assert run_cli(["pareto", str(path), "-o", str(png)]) == 0
    _check_png(png)
    front = pd.read_csv(png.with_suffix(".csv"))
    ok = df[df["status"] == "ok"]
    assert set(front["point_id"]) == front_ids(ok, {"latency_ns_p50": "min", "energy_pj_per_inf": "min"})
    assert len(front) == front["point_id"].nunique()
    assert list(front.columns) == list(df.columns)
    pd.testing.assert_frame_equal(
        front.set_index("point_id").sort_index(),
        df.set_index("point_id").loc[sorted(front["point_id"])],
        check_dtype=False,
    )
    assert front["latency_ns_p50"].is_monotonic_increasing
    out = capsys.readouterr().out
    assert f"{len(ok)} points" in out and f"{len(front)} on the Pareto front" in out
    assert str(png) in out and str(png.with_suffix(".csv")) in out
    assert "with status != 'ok'" in out
    assert "1 of them lack a value" in out  # row 5 has no latency


def test_cli_three_objectives_one_front_per_level(results, tmp_path, capsys):
    df, path = results
    png = tmp_path / "front3.png"
    argv = ["pareto", str(path), "--z", "accuracy_pct", "--z-dir", "max", "--logx", "--label", "link.rate_gtps", "mode"]
    assert run_cli(argv + ["-o", str(png)]) == 0
    _check_png(png)
    front = pd.read_csv(png.with_suffix(".csv"))
    ok = df[df["status"] == "ok"]
    objectives = {"latency_ns_p50": "min", "energy_pj_per_inf": "min", "accuracy_pct": "max"}
    assert set(front["point_id"]) == front_ids(ok, objectives)
    assert set(front["point_id"]) != front_ids(ok, {"latency_ns_p50": "min", "energy_pj_per_inf": "min"})
    assert "one front per accuracy_pct level" in capsys.readouterr().out


def test_cli_third_objective_with_many_levels(results, tmp_path):
    df, path = results
    png = tmp_path / "front_power.png"
    assert run_cli(["pareto", str(path), "--z", "power_mw", "-o", str(png)]) == 0
    _check_png(png)
    ok = df[df["status"] == "ok"]
    front = pd.read_csv(png.with_suffix(".csv"))
    expected = front_ids(ok, {"latency_ns_p50": "min", "energy_pj_per_inf": "min", "power_mw": "min"})
    assert set(front["point_id"]) == expected


def test_cli_where_and_csv_input(results, tmp_path):
    df, _ = results
    csv_in = tmp_path / "results.csv"
    df.to_csv(csv_in, index=False)
    png = tmp_path / "f.png"
    argv = ["pareto", str(csv_in), "--where", "mode != 'ann' and `link.rate_gtps` >= 16", "--y-dir", "max"]
    assert run_cli(argv + ["--color", "link.rate_gtps", "--no-labels", "-o", str(png)]) == 0
    front = pd.read_csv(png.with_suffix(".csv"))
    kept = df[(df["status"] == "ok") & (df["mode"] != "ann") & (df["link.rate_gtps"] >= 16)]
    assert set(front["point_id"]) == front_ids(kept, {"latency_ns_p50": "min", "energy_pj_per_inf": "max"})
    assert "ann" not in set(front["mode"])


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        (["--x", "latency_ns_p99"], ["'latency_ns_p99'", "--x", "results.parquet"]),
        (["--z", "accuracy"], ["'accuracy'", "--z"]),
        (["--label", "link.lanes"], ["'link.lanes'", "--label"]),
        (["--x", "mode"], ["'mode'", "not numeric"]),
        (["--where", "mode =="], ["--where"]),
        (["--where", "mode == 'none'"], ["no rows left"]),
    ],
)
def test_cli_user_errors_exit_2(results, tmp_path, capsys, extra, needles):
    _, path = results
    png = tmp_path / "e.png"
    assert run_cli(["pareto", str(path), *extra, "-o", str(png)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("snapsim pareto: error: ")
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err
    assert not png.exists() and not png.with_suffix(".csv").exists()


def test_cli_missing_or_unreadable_file(tmp_path, capsys):
    missing = tmp_path / "nope.parquet"
    assert run_cli(["pareto", str(missing), "-o", str(tmp_path / "x.png")]) == 2
    assert str(missing) in capsys.readouterr().err
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    assert run_cli(["pareto", str(bad), "-o", str(tmp_path / "x.png")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert run_cli(["pareto", str(bad), "-o", str(tmp_path / "x.csv")]) == 2
    assert "must end in" in capsys.readouterr().err


def test_run_from_demo(results, tmp_path, capsys):
    df, path = results
    png = tmp_path / "demo_front.png"
    assert cmd_pareto.run_from_demo(str(path), str(png), ["--logy"]) == 0
    _check_png(png)
    ok = df[df["status"] == "ok"]
    front = pd.read_csv(png.with_suffix(".csv"))
    assert set(front["point_id"]) == front_ids(ok, {"latency_ns_p50": "min", "energy_pj_per_inf": "min"})
    with pytest.raises(SnapsimError, match="'nope'"):
        cmd_pareto.run_from_demo(str(path), str(png), ["--x", "nope"])
