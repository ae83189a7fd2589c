"""Malformed inputs give one readable message per problem naming file, line and field, exit code 2,
and no traceback."""

from __future__ import annotations

import textwrap

import pytest

from snapsim.cli import main

LINK_OK = """\
kind: link
name: l
lanes: 16
rate_gtps: 16
energy_pj_per_bit: 0.5
phy_latency_ns: 2
flit_bytes: 64
flit_overhead_bytes: 4
rx_buffer_flits: 8
idle_power_mw: 1
"""

CASES = {
    # name: (file text, expected fragments of stderr)
    "duplicate_key": (LINK_OK + "lanes: 8\n", ["bad.yaml:11:", "lanes", "duplicate key"]),
    "unknown_key": (LINK_OK + "lane_count: 8\n", ["bad.yaml:11:", "lane_count", "unknown key"]),
    "zero_lanes": (LINK_OK.replace("lanes: 16", "lanes: 0"), ["bad.yaml:3:", "lanes", "greater than 0"]),
    "negative_energy": (
        LINK_OK.replace("energy_pj_per_bit: 0.5", "energy_pj_per_bit: -1"),
        ["bad.yaml:5:", "energy_pj_per_bit", "greater than or equal to 0"],
    ),
    "wrong_type": (LINK_OK.replace("rate_gtps: 16", "rate_gtps: fast"), ["bad.yaml:4:", "rate_gtps", "valid number"]),
    "missing_field": (LINK_OK.replace("flit_bytes: 64\n", ""), ["flit_bytes", "required field is missing"]),
    "overhead_too_big": (
        LINK_OK.replace("flit_overhead_bytes: 4", "flit_overhead_bytes: 64"),
        ["bad.yaml:8:", "flit_overhead_bytes: must be smaller than flit_bytes (64); got 64"],
    ),
    "bad_yaml": ("kind: link\nlanes: [1, 2\n", ["bad.yaml:", "invalid YAML"]),
    "unknown_kind": ("kind: gizmo\n", ["bad.yaml:1:", "kind", "must be one of"]),
    "unknown_preset": (
        "kind: hardware\nname: x\nchiplet: simba-like-16nm\nlink: no-such-link\ntopology: {kind: ring, chiplets: 2}\n",
        ["bad.yaml:4:", "link.preset", "unknown link preset 'no-such-link'"],
    ),
    "bad_override_in_package": (
        "kind: hardware\nname: x\nchiplet: simba-like-16nm\nlink: {preset: ucie-advanced-32g, lanes: -2}\n"
        "topology: {kind: mesh2d, rows: 2}\n",
        ["bad.yaml:4:", "link.lanes", "bad.yaml:5:", "topology", "needs rows and cols"],
    ),
    "bad_workload": (
        "kind: workload\nname: w\ninput_shape: [4]\nstages:\n  - {name: a, macs: -5, output_shape: [4]}\n"
        "partition: {count: 3}\n",
        ["bad.yaml:5:", "stages.0.macs", "greater than or equal to 0"],
    ),
    "workload_partition": (
        "kind: workload\nname: w\ninput_shape: [4]\nstages:\n  - {name: a, macs: 5, output_shape: [4]}\n"
        "partition: {count: 3}\n",
        ["bad.yaml:6:", "partition.count: 3 exceeds the 1 stages"],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_reports_problem(tmp_path, capsys, name):
    text, fragments = CASES[name]
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    rc = main(["validate", str(f)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "Traceback" not in err
    for frag in fragments:
        assert frag in err, (frag, err)


def test_all_problems_reported_at_once(tmp_path, capsys):
    f = tmp_path / "bad.yaml"
    f.write_text(LINK_OK.replace("lanes: 16", "lanes: 0").replace("rate_gtps: 16", "rate_gtps: -3") + "colour: red\n")
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert "lanes" in err and "rate_gtps" in err and "colour" in err


def test_run_with_bad_input_exits_2_without_traceback(tmp_path, capsys, root):
    rc = main(["run", "--hw", str(tmp_path / "missing.yaml"), "--workload", str(root / "workloads" / "lm_32x4096.yaml")])
    err = capsys.readouterr().err
    assert rc == 2 and "missing.yaml" in err and "file not found" in err and "Traceback" not in err
    rc = main(["run", "--hw", str(root / "hwconfigs/packages/ucie-a-2x2.yaml"),
               "--workload", str(root / "workloads/lm_32x4096.yaml"), "--mode", "quantum"])
    assert rc == 2 and "unknown mode" in capsys.readouterr().err


def test_too_many_partitions_is_a_clear_error(tmp_path, capsys, root):
    wl = tmp_path / "w.yaml"
    wl.write_text(textwrap.dedent("""\
        kind: workload
        name: w
        input_shape: [8]
        stages: [{name: s, repeat: 6, macs: 10, output_shape: [8]}]
        partition: {count: 6}
        """))
    rc = main(["run", "--hw", str(root / "hwconfigs/packages/ucie-a-2x2.yaml"), "--workload", str(wl)])
    err = capsys.readouterr().err
    assert rc == 2 and "6 partitions" in err and "Traceback" not in err
