"""Timeline (Perfetto) and time-series probes: the written trace, parsed with Perfetto's own protobuf
schema (the ``perfetto`` package's bindings), matches the run's own counts, in both link fidelities.

Perfetto's trace processor cannot run here: the ``perfetto`` package downloads its ``trace_processor_shell``
binary on first use, and this machine reaches no host but the package registries. The test that uses it
runs when ``SNAPSIM_TRACE_PROCESSOR`` names a local binary and is skipped otherwise, saying so.
"""

from __future__ import annotations

import collections
import json
import os
from pathlib import Path

import numpy as np
import pytest

from snapsim.cli import main
from snapsim.config.load import load_hardware, load_workload
from snapsim.probe import LinkEvents, RecordingProbe, TeeProbe
from snapsim.resources import HWCONFIGS, WORKLOADS
from snapsim.runner import simulate
from snapsim.timeline import TimelineProbe, timeline_path
from snapsim.timeseries import Bins, TimeSeriesProbe

pb = pytest.importorskip("perfetto.protos.perfetto.trace.perfetto_trace_pb2")

HW = HWCONFIGS / "packages" / "ucie-a-2x2.yaml"
POWER = {"link.sleep_after_idle_ns": 2, "link.wake_latency_ns": 1.5, "link.sleep_power_mw": 5}


def _run(tmp_path, fidelity="fast", mode="snap", hw_over=None, name="t.perfetto-trace", **probe_kw):
    hw = load_hardware(HW, {"link.flit_bytes": 64, "link.rx_buffer_flits": 2, **POWER, **(hw_over or {})})
    wl = load_workload(WORKLOADS / "digits_snap.yaml", {"stream.inferences": 12, "stream.max_in_flight": 3,
                                                      "boundary.encoding": "bitmap", "boundaries": {}})
    rec = RecordingProbe()
    probe = TimelineProbe(tmp_path / name, **probe_kw)
    result = simulate(hw, wl, mode, fidelity=fidelity, probe=TeeProbe(probe, TimeSeriesProbe(), rec))
    return result, rec, tmp_path / name


def _slices(path: Path):
    """Parse a trace with Perfetto's schema: tracks by uuid, and per track its slices (name, begin, end,
    args, flow ids), checking that BEGIN/END pairs nest properly on every track."""
    trace = pb.Trace()
    trace.ParseFromString(path.read_bytes())
    tracks, parent, slices = {}, {}, collections.defaultdict(list)
    open_ = collections.defaultdict(list)
    for p in trace.packet:
        assert p.trusted_packet_sequence_id == 1
        if p.HasField("track_descriptor"):
            d = p.track_descriptor
            tracks[d.uuid] = d.name
            parent[d.uuid] = d.parent_uuid if d.HasField("parent_uuid") else None
        elif p.HasField("track_event"):
            ev = p.track_event
            assert ev.track_uuid in tracks, "a track is described before its first event"
            if ev.type == pb.TrackEvent.TYPE_SLICE_BEGIN:
                if open_[ev.track_uuid]:
                    assert p.timestamp >= open_[ev.track_uuid][-1][1]
                args = {a.name: (a.string_value if a.HasField("string_value") else a.int_value)
                        for a in ev.debug_annotations}
                open_[ev.track_uuid].append((ev.name, p.timestamp, args, list(ev.flow_ids)))
            else:
                assert ev.type == pb.TrackEvent.TYPE_SLICE_END
                name, begin, args, flows = open_[ev.track_uuid].pop()
                assert p.timestamp >= begin
                depth = len(open_[ev.track_uuid])
                slices[tracks[ev.track_uuid]].append((name, begin, p.timestamp, args, flows, depth))
    assert not any(open_.values()), "every slice is closed"
    return tracks, parent, slices


@pytest.mark.parametrize("mode", ["snap", "snn", "ann"])
def test_timeline_matches_the_runs_counts(tmp_path, mode):
    r, rec, path = _run(tmp_path, mode=mode)
    tracks, parent, slices = _slices(path)
    assert r.data["timeline"]["events"] == 2 * sum(len(v) for v in slices.values())
    assert r.data["timeline"]["dropped_events"] == 0
    start, end = 0, int(round(r.data["makespan_ns"] * 1000))  # the closed stream starts at tick 0
    for link in r.data["links"]:
        track = f"{link['name']} ({link['preset']})"
        got = slices[track]
        messages = [s for s in got if s[5] == 0 and s[0].startswith("b")]
        assert len(messages) == link["messages"]
        assert sum(s[3]["flits"] for s in messages) == link["flits"]
        assert sum(s[3]["wire_bits"] for s in messages) == link["bits"]
        assert sum(s[3]["payload_bits"] for s in messages) == link["payload_bits"]
        groups = [s for s in got if s[0].startswith("flits")]
        assert all(g[5] == 1 for g in groups)  # nested in their message
        assert sum(g[2] - g[1] for g in groups) == round(link["busy_ns"] * 1000)
        assert len([s for s in got if s[0] == "wake"]) == link["wakes"]
        asleep = sum(min(s[2], end) - max(s[1], start) for s in got if s[0] == "asleep" and s[2] > start)
        assert asleep == round(link["asleep_ns"] * 1000)
    # one slice per server job, on the server's track under its chiplet
    jobs = collections.Counter(j[0] for j in rec.server_jobs)
    for server, n in jobs.items():
        c, kind = server.split(".")
        assert len(slices[f"{c} {kind}"]) == n
    # flows: every inference's slices carry its flow id, from partition 0's compute to the last one's
    plan_chiplets = r.data["chiplets_used"]
    first, last = f"c{plan_chiplets[0]} compute", f"c{plan_chiplets[-1]} compute"
    for i in range(r.data["inferences"]):
        mine = sorted((s[1], track) for track, v in slices.items() for s in v if s[4] == [i + 1])
        assert mine[0][1] == first and mine[-1][1] == last


def test_credit_stalls_and_identical_fidelities(tmp_path):
    """One receive-buffer credit: every flit after a message's head waits for the credit of the one
    before, (rtt - t_flit) each at zero load; both link fidelities give the same slices on every track
    (the fast model reports a message when its head arrives, the reference one at its last flit, so only
    the interleaving of tracks in the file differs)."""
    fast, _, fpath = _run(tmp_path, "fast", hw_over={"link.rx_buffer_flits": 1}, name="f.pftrace")
    ref, _, rpath = _run(tmp_path, "reference", hw_over={"link.rx_buffer_flits": 1}, name="r.pftrace")
    _, _, slices = _slices(fpath)
    assert _slices(rpath)[2] == slices
    link = fast.data["links"][0]
    got = slices[f"{link['name']} ({link['preset']})"]
    stalls = [s for s in got if s[0] == "credit stall"]
    assert stalls
    from snapsim.package import Package

    tm = Package(load_hardware(HW, {"link.flit_bytes": 64, "link.rx_buffer_flits": 1, **POWER})).timing[(0, 1)]
    first = sorted(s for s in got if s[0].startswith("b"))[0]
    inside = [s for s in stalls if first[1] <= s[1] < first[2]]
    assert len(inside) == first[3]["flits"] - 1
    assert all(b - a == tm.credit_rtt - tm.t_flit for _, a, b, *_ in inside)


def test_link_events_rule():
    """Stalls, groups, sleep and wake from flit times (the rule both probes use), on a hand example."""
    from types import SimpleNamespace

    power = SimpleNamespace(wakes=0, sleep_after=10, wake=4, sleeps=True)
    link = SimpleNamespace(name="c0->c1", timing=SimpleNamespace(t_flit=2), power=power)
    ev = LinkEvents(SimpleNamespace(net=SimpleNamespace(links={(0, 1): link})))
    power.wakes = 1  # the first head found the link asleep since tick 0
    a = ev.activity("c0->c1", 0, np.array([5, 5, 5, 9]), np.array([9, 11, 16, 18]))
    assert a.asleep == (0, 5) and a.wake == (5, 9)
    assert a.stalls == ((13, 16),)  # flit 2: ready and lanes free at 13, started at 16: a credit stall
    assert a.groups == ((9, 13, 2), (16, 20, 2)) and a.end == 20
    b = ev.activity("c0->c1", 1, np.array([25]), np.array([25]))  # awake still (20 + 10 > 25)
    assert b.asleep is None and b.stalls == () and ev.final_sleep("c0->c1", 100) == (37, 100)


def test_window_and_cap_bound_the_file(tmp_path):
    full, _, fpath = _run(tmp_path, name="full.pftrace")
    mid = full.data["makespan_ns"] / 2
    part, _, wpath = _run(tmp_path, name="w.pftrace", window_ns=(mid, mid + 20))
    _, _, slices = _slices(wpath)
    lo, hi = round(mid * 1000), round((mid + 20) * 1000)
    tops = [s for v in slices.values() for s in v if s[5] == 0]
    assert tops and all(b > lo and a < hi for _, a, b, *_ in tops)
    assert 0 < part.data["timeline"]["events"] < full.data["timeline"]["events"]
    capped, _, cpath = _run(tmp_path, name="c.pftrace", max_events=300)
    assert capped.data["timeline"]["events"] <= 300 and capped.data["timeline"]["dropped_events"] > 0
    _slices(cpath)  # still a well-formed trace
    assert capped.data["latency_ns_p50"] == full.data["latency_ns_p50"]  # a probe never changes the run


@pytest.mark.skipif(not os.environ.get("SNAPSIM_TRACE_PROCESSOR"),
                    reason="Perfetto's trace processor is a binary the perfetto package downloads on first use; "
                           "offline here. Set SNAPSIM_TRACE_PROCESSOR to a local trace_processor_shell to run it")
def test_trace_processor_reads_the_timeline(tmp_path):  # pragma: no cover - needs the binary
    from perfetto.trace_processor import TraceProcessor, TraceProcessorConfig

    r, _, path = _run(tmp_path)
    tp = TraceProcessor(trace=str(path), config=TraceProcessorConfig(bin_path=os.environ["SNAPSIM_TRACE_PROCESSOR"]))
    link = r.data["links"][0]
    q = tp.query(f"select count(*) as n from slice join track on slice.track_id = track.id "
                 f"where track.name = '{link['name']} ({link['preset']})' and slice.name like 'b%' and depth = 0")
    assert next(iter(q)).n == link["messages"]
    tp.close()


def test_time_series_add_up_to_the_totals(tmp_path):
    r, rec, _ = _run(tmp_path)
    ts = r.data["timeseries"]
    w = ts["window_ns"]
    assert ts["bins"] * w >= r.data["makespan_ns"]
    for link in r.data["links"]:
        s = ts["links"][link["name"]]
        assert len(s["utilization"]) == ts["bins"] and max(s["utilization"]) <= 1 + 1e-12
        assert sum(s["utilization"]) * w == pytest.approx(link["busy_ns"])
        assert sum(s["wire_bits"]) == link["bits"]
    busy = collections.Counter()
    waits = collections.Counter()
    for server, _i, a, b in rec.server_jobs:
        busy[server] += b - a
    for server, _i, ready, start in rec.server_waits:
        waits[server] += start - ready
    for server, s in ts["servers"].items():
        assert sum(s["utilization"]) * w * 1000 == pytest.approx(busy[server])
        assert sum(s["queue_depth"]) * w * 1000 == pytest.approx(waits[server])


def test_bins_split_intervals_exactly():
    b = Bins(10)
    b.add_intervals([3, 5, 0], [27, 9, 10])
    assert b.totals(3).tolist() == [7 + 4 + 10, 10, 7]
    b.add_points([0, 29, 29], 8)
    assert b.totals(3).tolist() == [29, 10, 23]


def test_cli_timeline_timeseries_and_plot(tmp_path, capsys):
    args = ["run", "--hw", str(HW), "--workload", str(WORKLOADS / "digits_snap.yaml"), "--set",
            "workload.stream.inferences=8", "--timeline", str(tmp_path / "run.perfetto-trace")]
    assert main([*args, "--mode", "ann,snap"]) == 0
    out = capsys.readouterr().out
    for mode in ("ann", "snap"):
        path = timeline_path(tmp_path / "run.perfetto-trace", mode, True)
        assert path.name == f"run.{mode}.perfetto-trace" and path.exists()
        assert f"timeline: wrote {path}" in out
    assert main([*args, "--mode", "snap", "--json", "--timeseries-window-ns", "5"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["snap"]["timeseries"]["window_ns"] == 5.0
    (tmp_path / "r.json").write_text(json.dumps(data))
    assert main(["plot", "timeline", str(tmp_path / "r.json"), "-o", str(tmp_path / "r.png")]) == 0
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG" and "wrote" in capsys.readouterr().out
    plain = ["run", "--hw", str(HW), "--workload", str(WORKLOADS / "digits_snap.yaml"), "--set",
             "workload.stream.inferences=2", "--mode", "snap", "--json"]
    assert main(plain) == 0
    bare = json.loads(capsys.readouterr().out)
    assert "timeseries" not in bare["snap"] and "timeline" not in bare["snap"]  # off unless asked
    (tmp_path / "bare.json").write_text(json.dumps(bare))
    assert main(["plot", "timeline", str(tmp_path / "bare.json")]) == 2
    assert "run it with --timeseries" in capsys.readouterr().err
    assert main([*plain, "--timeline-window", "5:1"]) == 2
    assert "--timeline-window needs --timeline" in capsys.readouterr().err
