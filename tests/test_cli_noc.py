"""``snapsim noc``: the JSON points, rates syntax, the preset's size from --set, the plot, bad input."""

from __future__ import annotations

import json

import pytest

from snapsim.cli import main
from snapsim.commands.noc import parse_rates
from snapsim.resources import HWCONFIGS

NOC = str(HWCONFIGS / "noc" / "reference-mesh4.yaml")
FAST = ["--sample-period", "300"]


def run(capsys, *argv):
    code = main(["noc", *argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_json_points_have_the_promised_keys(capsys):
    code, out, _ = run(capsys, "--hw", NOC, "--rates", "0.1,0.3", "--json", *FAST)
    assert code == 0
    data = json.loads(out)
    assert len(data["points"]) == 2
    for p in data["points"]:
        for key in ("offered_flits_per_node_cycle", "packet_latency_cycles_mean", "network_latency_cycles_mean",
                    "accepted_flits_per_node_cycle", "stable"):
            assert key in p
        assert p["stable"] and p["packet_latency_cycles_mean"] >= data["analytical"]["zero_load_latency_cycles"] - 1
    assert data["points"][0]["offered_flits_per_node_cycle"] == pytest.approx(0.1)
    assert data["analytical"]["throughput_bound_flits_per_node_cycle"] == pytest.approx(1.0)


def test_set_changes_the_mesh_size(capsys):
    code, out, _ = run(capsys, "--hw", NOC, "--set", "topology.rows=2", "--set", "topology.cols=3", "--rates", "0.05",
                       "--json", *FAST)
    assert code == 0
    data = json.loads(out)
    assert data["hardware"] == "reference-mesh4" and data["terminals"] == 6
    # 2 x 3 mesh, XY: the busiest channels carry 2/3 of a terminal's rate (bound 1.5), so the terminals' own
    # injection and ejection ports (1 flit/cycle) set the bound
    assert data["analytical"]["throughput_bound_flits_per_node_cycle"] == pytest.approx(1.0)
    assert data["analytical"]["throughput_bound_from"] in ("injection port", "ejection port")


def test_plot_both_levels_and_table(capsys, tmp_path):
    png = tmp_path / "c.png"
    code, out, _ = run(capsys, "--hw", NOC, "--rates", "0.2:0.4:0.2", "--packet-flits", "1:0.5,4:0.5",
                       "--level", "both", "-o", str(png), *FAST)
    assert code == 0 and png.stat().st_size > 1000
    assert out.count("router ") == 2 and out.count("ideal ") == 2


def test_parse_rates():
    assert parse_rates("0.1,0.3,0.5") == [0.1, 0.3, 0.5]
    assert parse_rates("0.1:0.5:0.2") == [0.1, 0.3, 0.5]


@pytest.mark.parametrize("argv,msg", [
    (["--rates", "0.1,x"], "--rates"),
    (["--rates", "1.5"], "--rates"),
    (["--rates", "0.5:0.1:0.1"], "--rates"),
    (["--traffic", "bogus", "--rates", "0.1"], "--traffic"),
    (["--injection", "poisson", "--rates", "0.1"], "--injection"),
    (["--packet-flits", "0", "--rates", "0.1"], "--packet-flits"),
    (["--level", "fancy", "--rates", "0.1"], "--level"),
    (["--set", "topology.rows=x", "--rates", "0.1"], "topology.rows"),
    (["--injection", "trace"], "--trace"),
    (["--traffic", "transpose", "--set", "topology.rows=2", "--rates", "0.1"], "square"),
])
def test_bad_input_one_line_exit_2(capsys, argv, msg):
    code, out, err = run(capsys, "--hw", NOC, *argv, *FAST)
    assert code == 2, (out, err)
    assert msg in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_trace_injection(capsys, tmp_path):
    trace = tmp_path / "t.txt"
    trace.write_text("# cycle src dst flits\n0 0 5 2\n3 1 1 1\n10, 15, 0, 4\n")
    code, out, _ = run(capsys, "--hw", NOC, "--injection", "trace", "--trace", str(trace), "--json",
                       "--sample-period", "100")
    assert code == 0
    bad = tmp_path / "bad.txt"
    bad.write_text("0 0 99 1\n")
    code, out, err = run(capsys, "--hw", NOC, "--injection", "trace", "--trace", str(bad), "--sample-period", "100")
    assert code == 2 and "terminal" in err
