"""Replay payload model: message sizes equal a brute-force encoding of the same tensor slice."""

from __future__ import annotations

import numpy as np
import pytest

from snapsim.encoding import parse_encoding
from snapsim.errors import TraceError
from snapsim.trace import TracePayload, TraceWriter, check_compatible, open_trace

T, N, S, SHARD = 4, 37, 23, 5


def Encoding(kind, **fields):  # noqa: N802
    return parse_encoding({"kind": kind, **fields})


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    rng = np.random.default_rng(7)
    spikes = rng.random((T, S, N)) < rng.uniform(0.02, 0.5, size=(1, S, 1))  # varied per-sample rates
    acts = rng.standard_normal((S, 3, 4)).astype(np.float32)
    acts[acts < 0.3] = 0
    path = tmp_path_factory.mktemp("replay") / "r.snaptrace"
    with TraceWriter(path, model="m", partitions=["d0", "d1", "d2"], timesteps=T, shard_samples=SHARD) as w:
        w.add_boundary("s01", src="d0", dst=["d1"], kind="spike", features=[N])
        w.add_boundary("a12", src="d1", dst=["d2"], kind="activation", features=[3, 4], logical_dtype="F32")
        w.append("s01", spikes)
        w.append("a12", acts)
    return open_trace(path), spikes, acts


SPIKE_ENCODINGS = [
    Encoding("aer"),
    Encoding("aer", timestamp_bits=2, multicast_destinations=3),
    Encoding("rle", count_bits=3),
    Encoding("bitmap"),
    Encoding("csr"),
    Encoding("zvc", precision_bits=1),
    Encoding("dense", precision_bits=8),
    Encoding("rate", window_steps=3),
]


def _expected_spike_bits(spikes, enc, batch, inference, m):
    """Message m of an inference, brute force: each sample's frame encoded alone, one message per
    timestep; rate: one message per window of window_steps, n count fields of ceil(log2(W+1)) bits per sample."""
    idx = (inference * batch + np.arange(batch)) % spikes.shape[1]
    if enc.kind == "rate":
        assert m < -(-T // enc.window_steps)
        return batch * N * int(np.ceil(np.log2(enc.window_steps + 1)))
    return int(enc.frame_bits(spikes[m, idx]).sum())


def _messages(enc):
    return -(-T // enc.window_steps) if enc.kind == "rate" else T


@pytest.mark.parametrize("batch", [1, 4, 7, 50])
@pytest.mark.parametrize("enc", SPIKE_ENCODINGS, ids=lambda e: e.kind)
def test_spike_sizes_match_brute_force(recorded, enc, batch):
    tr, spikes, _ = recorded
    payload = TracePayload(tr, ["s01"], [enc], batch=batch)
    for i in range(12):  # wraps around the 23 samples
        for m in range(_messages(enc)):
            assert payload.message_bits(0, i, m) == _expected_spike_bits(spikes, enc, batch, i, m), (i, m)
        with pytest.raises(ValueError, match="outside"):
            payload.message_bits(0, i, _messages(enc))


def test_spike_counts_and_random_access(recorded):
    tr, spikes, _ = recorded
    payload = TracePayload(tr, ["s01", "s01"], [Encoding("aer"), Encoding("rle", count_bits=2)], batch=3)
    order = [9, 0, 14, 3, 3, 22, 1]  # earlier inferences after later ones re-read the shards
    for i in order:
        idx = (i * 3 + np.arange(3)) % S
        for t in range(T):
            assert payload.message_spikes(0, i, t) == int(spikes[t, idx].sum())
            assert payload.message_bits(0, i, t) == 6 * int(spikes[t, idx].sum())
            assert payload.message_bits(1, i, t) == _expected_spike_bits(
                spikes, Encoding("rle", count_bits=2), 3, i, t
            )
    assert len(payload._tables[0]) <= 2 * payload._cache_shards  # bounded cache


def test_activation_sizes(recorded):
    tr, _, acts = recorded
    encs = [Encoding("zvc", precision_bits=16), Encoding("csr", value_bits=8), Encoding("dense", precision_bits=16)]
    payload = TracePayload(tr, ["a12"] * 3, encs, batch=4)
    for i in range(8):
        idx = (i * 4 + np.arange(4)) % S
        frames = acts[idx].reshape(4, 12)
        nnz = int(np.count_nonzero(frames))
        assert payload.message_bits(0, i, 0) == 4 * 12 + 16 * nnz
        assert payload.message_bits(1, i, 0) == 4 * 4 + nnz * (4 + 8)
        assert payload.message_bits(2, i, 0) == 4 * 12 * 16
        assert payload.message_spikes(0, i, 0) == nnz
    with pytest.raises(ValueError, match="message 1 outside"):
        payload.message_bits(0, 0, 1)


def test_payload_argument_errors(recorded):
    tr = recorded[0]
    with pytest.raises(TraceError, match="boundary 'nope' not in the trace"):
        TracePayload(tr, ["nope"], [Encoding("aer")], batch=1)
    with pytest.raises(TraceError, match="encoding rate needs spikes"):
        TracePayload(tr, ["a12"], [Encoding("rate")], batch=1)
    with pytest.raises(TraceError, match="1 boundary names but 2 encodings"):
        TracePayload(tr, ["s01"], [Encoding("aer"), Encoding("aer")], batch=1)
    with pytest.raises(TraceError, match="batch must be a positive integer"):
        TracePayload(tr, ["s01"], [Encoding("aer")], batch=0)
    payload = TracePayload(tr, ["s01"], [Encoding("aer")], batch=1)
    with pytest.raises(ValueError):
        payload.message_bits(1, 0, 0)
    with pytest.raises(ValueError):
        payload.message_bits(0, -1, 0)


def test_check_compatible(recorded):
    tr = recorded[0]
    ok = [{"name": "s01", "features": N, "kind": "spike", "timesteps": T},
          {"name": "a12", "features": 12, "kind": "activation", "timesteps": 1}]
    check_compatible(tr, ok)
    cases = [
        ({"name": "s01", "features": 36}, "boundary 's01': features: the trace has 37, the workload expects 36"),
        ({"name": "s01", "kind": "activation"}, "boundary 's01': kind: the trace has 'spike'"),
        ({"name": "s01", "timesteps": 8}, "boundary 's01': timesteps: the trace has 4, the workload expects 8"),
        ({"name": "a12", "dst": ["d0"]}, "boundary 'a12': dst:"),
        ({"name": "fc9"}, "boundary 'fc9' not in the trace (boundaries: s01, a12)"),
    ]
    for exp, fragment in cases:
        with pytest.raises(TraceError) as info:
            check_compatible(tr, [exp])
        assert fragment in str(info.value)
        assert "manifest.json" in str(info.value)


def test_engine_replays_a_trace(tmp_path):
    """The lead's engine and runner accept the replay model: bitmap timing equals the statistical
    model's, and aer payload bits per inference equal the trace's spike counts times the address width."""
    from snapsim.config.load import load_hardware, load_workload
    from snapsim.engine import Simulation
    from snapsim.resources import HWCONFIGS, WORKLOADS
    from snapsim.runner import simulate
    from snapsim.trace.replay import trace_payload_for

    hw = load_hardware(HWCONFIGS / "packages" / "ucie-a-2x2.yaml")
    wl_file = WORKLOADS / "lm_32x4096.yaml"
    overrides = {"stream.inferences": 6, "stream.batch": 2}
    wl = load_workload(wl_file, {**overrides, "boundary.encoding": "bitmap"})
    sim = Simulation.build(hw, wl, "snap", seed=0)
    n_cuts = len(sim.plan.boundaries)
    n, steps = sim.plan.boundaries[0].neurons, sim.plan.boundaries[0].timesteps
    rng = np.random.default_rng(0)
    spikes = rng.random((steps, 5, n)) < 0.03
    parts = [f"die{k}" for k in range(n_cuts + 1)]  # the workload's default partition names
    with TraceWriter(tmp_path / "lm", model="lm", partitions=parts, timesteps=steps, shard_samples=2) as w:
        for k in range(n_cuts):
            w.add_boundary(f"b{k}", src=parts[k], dst=[parts[k + 1]], kind="spike", features=[n])
        for k in range(n_cuts):
            w.append(f"b{k}", spikes)
    base = sim.run()
    replay = Simulation(sim.plan, trace_payload_for(tmp_path / "lm", sim.plan), seed=0)
    assert (base.latencies_ns == replay.run().latencies_ns).all()

    wl_aer = load_workload(wl_file, {**overrides, "boundary.encoding": "aer"})
    result = simulate(hw, wl_aer, "snap", seed=0, trace=str(tmp_path / "lm"))
    per_inf = [int(spikes[:, (2 * i + np.arange(2)) % 5].sum()) * 12 * n_cuts for i in range(6)]
    assert result.data["d2d_payload_bits_per_inf"] == pytest.approx(np.mean(per_inf))

def _cut_trace(path, with_dense=True, partitions=("die0", "die1", "die2"), dense_steps=False):
    """Like the shipped digits traces: spikes and, optionally, the dense activation of each cut
    (``dense_steps``: the activation recorded per timestep, equal at every step)."""
    rng = np.random.default_rng(2)
    with TraceWriter(path, model="m", partitions=list(partitions), timesteps=T, shard_samples=4) as w:
        for k in range(2):
            src, dst = partitions[k], partitions[k + 1]
            w.add_boundary(f"c{k}", src=src, dst=[dst], kind="spike", features=[N])
            if with_dense:
                w.add_boundary(f"c{k}:dense", src=src, dst=[dst], kind="activation", features=[N],
                               layout=["T", "B", "N"] if dense_steps else None)
        for k in range(2):
            w.append(f"c{k}", rng.random((T, 6, N)) < 0.2)
            if with_dense:
                act = np.maximum(rng.standard_normal((6, N)), 0).astype(np.float32)
                w.append(f"c{k}:dense", np.broadcast_to(act, (T, 6, N)) if dense_steps else act)
    return open_trace(path)


def _plan(mode, encoding="aer", ann_encoding="dense", timesteps=T, neurons=N, batch=2, names=None, precision="bf16"):
    """A real plan of a 3-partition chain cutting ``neurons`` elements twice."""
    from snapsim.config.load import load_hardware
    from snapsim.config.workload import WorkloadConfig
    from snapsim.plan import Plan
    from snapsim.resources import HWCONFIGS

    hw = load_hardware(HWCONFIGS / "packages" / "ucie-a-2x2.yaml")
    partition = {"count": 3} if names is None else {"count": 3, "names": list(names)}
    wl = WorkloadConfig.model_validate({
        "kind": "workload", "name": "t", "input_shape": [neurons], "precision": precision, "partition": partition,
        "stages": [{"name": f"s{k}", "macs": 100.0, "output_shape": [neurons]} for k in range(3)],
        "boundary": {"timesteps": timesteps, "encoding": encoding,
                     **({} if ann_encoding == "dense" else {"ann_encoding": ann_encoding})},
        "snn": {"timesteps": timesteps}, "stream": {"inferences": 4, "batch": batch}})
    return Plan.build(hw, wl, mode)


def test_boundaries_matched_by_partition_name_and_kind(tmp_path):
    from snapsim.trace.replay import match_boundaries, trace_payload_for

    tr = _cut_trace(tmp_path / "t")
    parts = ["die0", "die1", "die2"]
    assert match_boundaries(tr, ["spike", "spike"], parts) == ["c0", "c1"]
    assert match_boundaries(tr, ["activation", "activation"], parts) == ["c0:dense", "c1:dense"]
    snap = trace_payload_for(tr, _plan("snap"))
    assert snap.infos[1].name == "c1" and snap.batch == 2
    spikes = tr.read("c1", 2, 4)
    assert snap.message_bits(1, 1, 3) == 6 * int(spikes[3].sum())
    with pytest.raises(TraceError, match="boundary 'c0': timesteps: the trace has 4, the workload expects 8"):
        trace_payload_for(tr, _plan("snap", timesteps=8))
    with pytest.raises(TraceError, match="features: the trace has 37, the workload expects 36"):
        trace_payload_for(tr, _plan("snap", neurons=36))


def test_ann_replay_uses_the_recorded_dtype_and_the_ann_encoding(tmp_path):
    """Defect 4: ANN mode sizes the recorded activations with the workload's ann_encoding (here zvc and
    csr) at the trace's recorded precision (F32: 32 bits), so the ANN baseline uses its own sparsity."""
    from snapsim.trace.replay import trace_payload_for

    tr = _cut_trace(tmp_path / "t")
    dense0 = tr.read("c0:dense", 0, 2)
    nnz = int(np.count_nonzero(dense0))
    zvc = trace_payload_for(tr, _plan("ann", ann_encoding="zvc"))
    assert zvc.message_bits(0, 0, 0) == 2 * N + 32 * nnz
    csr = trace_payload_for(tr, _plan("ann", ann_encoding="csr"))
    assert csr.message_bits(0, 0, 0) == 2 * 6 + nnz * (6 + 32)  # row length ceil(log2 38), index 6 + 32-bit value
    dense = trace_payload_for(tr, _plan("ann"))
    assert dense.message_bits(0, 0, 0) == 2 * N * 32
    fixed = trace_payload_for(tr, _plan("ann", ann_encoding={"kind": "zvc", "precision_bits": 8}))
    assert fixed.message_bits(0, 0, 0) == 2 * N + 8 * nnz  # a precision given in the workload wins


def test_ann_replay_of_an_activation_recorded_per_timestep(tmp_path):
    """Defect 5: an activation stacked per timestep replays in ANN mode (one frame per sample) when it is
    the same at every step, and is refused with the reason and the remedy when it is not."""
    from snapsim.trace.replay import trace_payload_for

    tr = _cut_trace(tmp_path / "t", dense_steps=True)
    payload = trace_payload_for(tr, _plan("ann", ann_encoding="zvc"))
    frame = tr.read("c0:dense", 0, 2)[0]
    assert payload.message_bits(0, 0, 0) == 2 * N + 32 * int(np.count_nonzero(frame))
    with TraceWriter(tmp_path / "v", model="m", partitions=["die0", "die1", "die2"], timesteps=T) as w:
        for k in range(2):
            w.add_boundary(f"m{k}", src=f"die{k}", dst=[f"die{k + 1}"], kind="activation", features=[N],
                           layout=["T", "B", "N"])
        for k in range(2):
            w.append(f"m{k}", np.random.default_rng(k).standard_normal((T, 3, N)).astype(np.float32))
    varying = trace_payload_for(open_trace(tmp_path / "v"), _plan("ann", ann_encoding="zvc"))
    with pytest.raises(TraceError, match=r"differs between timestep 0 and 1 .*one activation per sample"):
        varying.message_bits(0, 0, 0)


def test_ann_mode_without_dense_activations_is_explained(tmp_path):
    from snapsim.trace.replay import trace_payload_for

    tr = _cut_trace(tmp_path / "t", with_dense=False)
    with pytest.raises(TraceError) as info:
        trace_payload_for(tr, _plan("ann"))
    msg = str(info.value)
    assert "workload boundary 0 (die0 -> die1): the trace has no activation boundary at this cut, only c0" in msg
    assert "or run in snn/snap mode" in msg


@pytest.mark.parametrize("parts, fragment", [
    (("die1", "die2", "die3"), "no trace boundary goes die0 -> die1"),
    (("die1", "die0", "die2"), "the trace has c0 going the other way (die1 -> die0)"),
])
def test_a_trace_for_another_partition_pair_is_refused(tmp_path, parts, fragment):
    """Defect 2: boundaries are matched by partition name, never by position: a trace recorded for
    another pair (or reversed) is refused with both sides named."""
    from snapsim.trace.replay import trace_payload_for

    tr = _cut_trace(tmp_path / "t", partitions=parts)
    with pytest.raises(TraceError) as info:
        trace_payload_for(tr, _plan("snap"))
    msg = str(info.value)
    assert fragment in msg and "Workload partitions: die0, die1, die2" in msg
    assert f"trace partitions: {', '.join(parts)}" in msg and "partition.names" in msg
    # naming the workload's partitions as the trace does makes it match
    if parts[1] != "die0":
        assert trace_payload_for(tr, _plan("snap", names=parts)).infos[0].name == "c0"


def test_cli_run_all_modes_from_one_trace(tmp_path, capsys):
    """Defect 5: one trace with both views replays with --mode all; --json is keyed by mode (defect 9)
    even for one mode."""
    import json

    from snapsim.cli import main
    from snapsim.resources import HWCONFIGS, WORKLOADS

    args = ["run", "--hw", str(HWCONFIGS / "packages" / "ucie-a-2x2.yaml"), "--workload",
            str(WORKLOADS / "digits_snap.yaml"), "--trace", str(WORKLOADS / "traces" / "digits_snap_l1.snaptrace"),
            "--set", "workload.stream.inferences=4", "--json"]
    assert main([*args, "--mode", "all"]) == 0
    assert sorted(json.loads(capsys.readouterr().out)) == ["ann", "snap", "snn"]
    assert main([*args, "--mode", "snap"]) == 0
    assert list(json.loads(capsys.readouterr().out)) == ["snap"]
