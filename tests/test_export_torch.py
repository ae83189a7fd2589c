"""BoundaryRecorder on plain PyTorch models: hooks record without changing outputs, and traces read back
bit-identical."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from snapsim.errors import SnapsimError, TraceError  # noqa: E402
from snapsim.export import BoundaryRecorder, Tap  # noqa: E402
from snapsim.trace import open_trace  # noqa: E402


class StepSpiker(torch.nn.Module):
    """A per-step threshold unit with state (like an snnTorch init_hidden neuron) returning (spk, mem)."""

    def __init__(self):
        super().__init__()
        self.mem = None

    def forward(self, x):
        mem = x if self.mem is None else 0.8 * self.mem + x
        spk = (mem > 0.5).float()
        self.mem = mem - spk * 0.5
        return spk, mem


class StepNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(6, 12)
        self.sp1 = StepSpiker()
        self.fc2 = torch.nn.Linear(12, 4)

    def forward(self, x):
        spk, _ = self.sp1(self.fc1(x))
        return self.fc2(spk)


def _mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16), torch.nn.GELU(),
                               torch.nn.Linear(16, 3))


def test_activation_taps_leave_outputs_unchanged_and_round_trip(tmp_path):
    net = _mlp().eval()
    x = torch.randn(2, 5, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        plain = [net(b) for b in x]
    with BoundaryRecorder(net, {"a": "1", "b": "3"}, kind="activation", time_mode="native") as rec:
        rec.add_tap(Tap("b_in", "4", port="input", kind="activation", time_mode="native", src="die1", dst=("die2",)))
        with torch.no_grad():
            recorded = [net(b) for b in x]
    assert all(torch.equal(p, r) for p, r in zip(plain, recorded))
    # hooks are gone after the with block: nothing more is recorded
    with torch.no_grad():
        net(x[0])
    assert rec.n_samples == 10
    with torch.no_grad():
        ref1 = torch.cat([torch.relu(net[0](b)) for b in x])
    assert torch.equal(rec["a"], ref1)
    assert torch.equal(rec["b"], rec["b_in"])

    with pytest.raises(SnapsimError, match="src and dst for every tap"):
        rec.write(tmp_path / "bad.snaptrace", model="mlp")
    rec.route("a", "die0", "die1")
    rec.route("b", "die1", ["die2"])
    out = rec.write(tmp_path / "mlp.snaptrace", model="mlp", metrics={"accuracy": 0.5})
    tr = open_trace(out)
    tr.validate()
    assert [b.name for b in tr.boundaries] == ["a", "b", "b_in"]
    assert tr.n_samples == 10
    assert tr.manifest["model"]["framework"] == "torch"
    assert tr.manifest["run"]["taps"]["b_in"] == {"module": "4", "port": "input"}
    for name in ("a", "b", "b_in"):
        back = tr.read(name)
        assert back.dtype == np.float32
        assert np.array_equal(back, rec[name].numpy())


def test_bf16_activation_is_bit_exact(tmp_path):
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Linear(4, 9), torch.nn.Tanh()).to(torch.bfloat16)
    with BoundaryRecorder(net, {"h": "1"}, kind="activation", time_mode="native") as rec:
        with torch.no_grad():
            net(torch.randn(7, 4).to(torch.bfloat16))
    tr = open_trace(rec.write(tmp_path / "bf16.snaptrace", model="bf16", partitions=["p0", "p1"]))
    b = tr.boundary("h")
    assert (b.logical_dtype, b.precision_bits) == ("BF16", 16)
    stored = tr.read_stored("h")
    assert np.array_equal(stored, rec["h"].view(torch.int16).numpy().view(np.uint16))


def test_stack_mode_with_state_reset_and_tuple_outputs(tmp_path):
    torch.manual_seed(0)
    net = StepNet().eval()
    x = torch.rand(6, 3, 6, generator=torch.Generator().manual_seed(2)) * 2  # [T, B, F]

    def run(batches):
        outs = []
        for b in batches:
            net.sp1.mem = None
            with torch.no_grad():
                outs.append(torch.stack([net(b[t]) for t in range(b.shape[0])]))
        return outs

    plain = run([x, x[:, :2]])
    rec = BoundaryRecorder(net, {"fc1->fc2": "sp1"}, timesteps=6)
    recorded = run([x, x[:, :2]])
    rec.remove()
    assert all(torch.equal(p, r) for p, r in zip(plain, recorded))
    spikes = rec["fc1->fc2"]
    assert spikes.shape == (6, 5, 12) and spikes.dtype == torch.bool
    # reference: the same dynamics computed by hand
    net.sp1.mem = None
    ref = torch.stack([net.sp1(net.fc1(x[t]))[0] for t in range(6)]).bool()
    assert torch.equal(spikes[:, :3], ref)
    assert 0 < spikes.float().mean() < 1

    tr = open_trace(rec.write(tmp_path / "step.snaptrace", model="step", partitions=["die0", "die1"]))
    tr.validate()
    assert tr.timesteps == 6
    assert tr.boundary("fc1->fc2").layout == ("T", "B", "N")
    assert np.array_equal(tr.read("fc1->fc2"), spikes.numpy())
    assert tr.boundary("fc1->fc2").stats["nnz"] == int(spikes.sum())


def test_end_batch_closes_stack_taps_and_record_batch_resets():
    torch.manual_seed(0)
    net = StepNet().eval()

    class Rec(BoundaryRecorder):
        resets = 0

        def reset_state(self):
            Rec.resets += 1
            net.sp1.mem = None

    rec = Rec(net, {"s": "sp1"})  # no timesteps: batches close at end_batch
    x = torch.rand(4, 2, 6) * 2
    out = rec.record_batch(x)
    assert out.shape == (4, 2, 4)
    rec.record_batch(x)
    assert Rec.resets == 2
    assert rec["s"].shape == (4, 4, 12)
    assert torch.equal(rec["s"][:, :2], rec["s"][:, 2:])  # reset => identical batches
    net(x[0])
    with pytest.raises(TraceError, match="not yet closed"):
        rec.tensor("s")
    net.sp1.mem = None
    with pytest.raises(TraceError, match="without end_batch"):
        net(x[1, :1])
    rec.remove()


def test_non_binary_spikes_and_bad_taps_raise():
    net = _mlp()
    with pytest.raises(SnapsimError, match="no module 'nope'"):
        BoundaryRecorder(net, {"x": "nope"})
    with pytest.raises(SnapsimError, match="port must be"):
        Tap("a", "1", port="inside")
    rec = BoundaryRecorder(net, {"relu": "1"}, time_mode="native")  # a ReLU is not a spike source
    with pytest.raises(TraceError, match="values other than 0 and spike_value"):
        net(torch.randn(1, 3, 8))
    rec.remove()
    rec = BoundaryRecorder(net, {"lin": "0"}, kind="activation", time_mode="native")
    with pytest.raises(TraceError, match="recorded nothing"):
        rec.tensor("lin")
    rec.remove()


def test_graded_spike_value_and_custom_selector():
    class Graded(torch.nn.Module):
        def forward(self, x):
            return {"spikes": (x > 0).float() * 0.25, "v": x}

    net = torch.nn.Sequential(torch.nn.Identity(), Graded())
    x = torch.randn(3, 2, 5)
    with BoundaryRecorder(net, {"g": "1"}, time_mode="native", spike_value=0.25,
                          selector=lambda out: out["spikes"]) as rec:
        out = net(x)
    assert isinstance(out, dict)
    assert torch.equal(rec["g"], x > 0)
    assert rec.taps["g"].spike_value == 0.25
    assert rec.boundary_specs()[0]["spike_value"] == 0.25


def test_stacked_activation_keeps_time_axis(tmp_path):
    """A per-step float stream (the membrane of StepSpiker, element 1 of its tuple) is recorded [T, B, N]."""
    torch.manual_seed(0)
    net = StepNet().eval()
    x = torch.rand(5, 3, 6) * 2
    rec = BoundaryRecorder(net, [Tap("spk", "sp1", src="die0", dst=("die1",)),
                                 Tap("mem", "sp1", kind="activation", selector=lambda out: out[1], src="die0",
                                     dst=("die1",))], timesteps=5)
    net.sp1.mem = None
    with torch.no_grad():
        for t in range(5):
            net(x[t])
    rec.remove()
    assert rec["mem"].shape == (5, 3, 12) and rec["mem"].dtype == torch.float32
    assert torch.equal(rec["spk"], rec["mem"] > 0.5)
    tr = open_trace(rec.write(tmp_path / "mem.snaptrace", model="step"))
    assert tr.boundary("mem").layout == ("T", "B", "N") and tr.boundary("mem").timesteps == 5
    assert np.array_equal(tr.read("mem"), rec["mem"].numpy())
