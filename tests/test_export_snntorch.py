"""snnTorch adapter against the real snnTorch: init_hidden and explicit-state networks, tuple outputs,
graded spikes, reset between batches, bit-identical read-back, unchanged model outputs."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
snn = pytest.importorskip("snntorch")

from snntorch import utils  # noqa: E402

from snapsim.errors import SnapsimError  # noqa: E402
from snapsim.export.snntorch import SnnTorchRecorder, spike_value_of, spiking_modules  # noqa: E402
from snapsim.trace import open_trace  # noqa: E402

T, B = 8, 4


def _hidden_net(graded: float = 1.0):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(16, 32),
        snn.Leaky(beta=0.9, init_hidden=True, graded_spikes_factor=graded),
        torch.nn.Linear(32, 10),
        snn.Leaky(beta=0.8, init_hidden=True, output=True),  # returns (spk, mem)
    ).eval()


def _inputs(seed: int = 1, batch: int = B):
    return torch.rand(T, batch, 16, generator=torch.Generator().manual_seed(seed)) * 1.5


def _plain_run(net, x):
    utils.reset(net)
    with torch.no_grad():
        return torch.stack([net(x[t])[0] for t in range(x.shape[0])])


def test_init_hidden_net_record_write_read(tmp_path):
    net = _hidden_net()
    x1, x2 = _inputs(1), _inputs(2, batch=3)
    plain = [_plain_run(net, x1), _plain_run(net, x2)]

    assert list(spiking_modules(net)) == ["1", "3"]
    rec = SnnTorchRecorder(net)  # every spiking neuron, boundary name = module path
    outs = [rec.record_batch(x1), rec.record_batch(x2)]
    rec.remove()
    assert torch.equal(torch.stack([o[0] for o in outs[0]]), plain[0])
    assert torch.equal(torch.stack([o[0] for o in outs[1]]), plain[1])
    assert rec.n_samples == B + 3
    s1, s3 = rec["1"], rec["3"]
    assert s1.shape == (T, B + 3, 32) and s3.shape == (T, B + 3, 10)
    assert torch.equal(s3[:, :B], plain[0].bool())
    assert 0 < s1.float().mean() < 1

    path = rec.write(tmp_path / "snn.snaptrace", model="tiny", partitions=["die0", "die1", "die2"],
                     metrics={"accuracy": 0.1})
    tr = open_trace(path)
    tr.validate()
    assert tr.manifest["model"]["framework"] == "snntorch"
    assert tr.manifest["model"]["framework_version"] == snn.__version__
    assert [(b.src, b.dst) for b in tr.boundaries] == [("die0", ("die1",)), ("die1", ("die2",))]
    for name in ("1", "3"):
        assert np.array_equal(tr.read(name), rec[name].numpy())


def test_explicit_state_loop_matches_init_hidden_and_input_tap():
    """The tutorial idiom (mem passed by hand, (spk, mem) tuples) gives the same spikes as the
    init_hidden network, and the output tap equals the forward-pre-hook input of the next layer."""
    hidden = _hidden_net()
    fc1, fc2 = torch.nn.Linear(16, 32), torch.nn.Linear(32, 10)
    fc1.load_state_dict(hidden[0].state_dict())
    fc2.load_state_dict(hidden[2].state_dict())
    lif1 = snn.Leaky(beta=0.9)

    class Tutorial(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.lif1, self.fc2 = fc1, lif1, fc2

        def forward(self, x):
            mem = self.lif1.reset_mem()
            outs = []
            for t in range(x.shape[0]):
                spk, mem = self.lif1(self.fc1(x[t]), mem)
                outs.append(self.fc2(spk))
            return torch.stack(outs)

    tut = Tutorial().eval()
    x = _inputs(5)
    rec = SnnTorchRecorder(tut, {"lif1": "lif1"}, timesteps=T)
    rec.add_tap("fc2_in", "fc2", port="input")
    with torch.no_grad():
        out_rec = tut(x)
    rec.remove()
    with torch.no_grad():
        out_plain = tut(x)
    assert torch.equal(out_rec, out_plain)
    assert torch.equal(rec["lif1"], rec["fc2_in"])

    ref = SnnTorchRecorder(hidden, ["1"])
    ref.record_batch(x)
    ref.remove()
    assert torch.equal(rec["lif1"], ref["1"])


def test_graded_spikes_recorded_as_spike_value(tmp_path):
    net = _hidden_net(graded=0.5)
    assert spike_value_of(net[1]) == 0.5
    rec = SnnTorchRecorder(net, {"hidden": "1"})
    out = rec.record_batch(_inputs(3))
    rec.remove()
    assert rec.taps["hidden"].spike_value == 0.5
    tr = open_trace(rec.write(tmp_path / "g.snaptrace", model="graded"))
    b = tr.boundary("hidden")
    assert b.spike_value == 0.5
    assert np.array_equal(tr.read("hidden"), rec["hidden"].numpy())
    assert len(out) == T


def test_errors():
    with pytest.raises(SnapsimError, match="no snnTorch spiking neurons"):
        SnnTorchRecorder(torch.nn.Linear(3, 3))
    lif = snn.Leaky(beta=0.5, init_hidden=True, graded_spikes_factor=torch.ones(4),
                    learn_graded_spikes_factor=True)
    with pytest.raises(SnapsimError, match="per-neuron graded_spikes_factor"):
        spike_value_of(lif)


class _TutorialNet(torch.nn.Module):
    """The snnTorch tutorial style: the time loop inside forward(), explicit membrane state,
    ``forward(x)`` on ``[T, B, 16]`` returns the stacked output spikes and membranes."""

    def __init__(self, steps: int = T):
        super().__init__()
        torch.manual_seed(3)
        self.steps = steps
        self.fc1 = torch.nn.Linear(16, 32)
        self.lif1 = snn.Leaky(beta=0.9)
        self.fc2 = torch.nn.Linear(32, 10)
        self.lif2 = snn.Leaky(beta=0.8)

    def forward(self, x):
        mem1, mem2 = self.lif1.init_leaky(), self.lif2.init_leaky()
        spk2_rec, mem2_rec = [], []
        for step in range(self.steps):
            spk1, mem1 = self.lif1(self.fc1(x[step]), mem1)
            spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
            spk2_rec.append(spk2)
            mem2_rec.append(mem2)
        return torch.stack(spk2_rec, dim=0), torch.stack(mem2_rec, dim=0)


@pytest.mark.parametrize("batch", [4, 16])  # 4 < T: the mis-run fails part-way; 16 > T: it runs silently
def test_whole_sequence_forward_is_detected(tmp_path, batch):
    """Defect 1: record_batch(xs) on a tutorial-style net (time loop in forward) gives net(xs)'s outputs
    and [T, B, N] tensors, and the trace writes, instead of mis-running it one 'timestep' per call."""
    net = _TutorialNet().eval()
    xs = [_inputs(1, batch), _inputs(2, batch)]
    with torch.no_grad():
        plain = [net(x) for x in xs]
    rec = SnnTorchRecorder(net, {"fc1->fc2": "lif1", "out": "lif2"})
    with pytest.warns(UserWarning, match=r"fired .* times during the single call .*stepwise=False"):
        out0 = rec.record_batch(xs[0])
    out1 = rec.record_batch(xs[1])  # decided once: no second warning needed, same result
    rec.remove()
    assert torch.equal(out0[0], plain[0][0]) and torch.equal(out1[1], plain[1][1])
    assert rec["fc1->fc2"].shape == (T, 2 * batch, 32) and rec["out"].shape == (T, 2 * batch, 10)
    assert torch.equal(rec["out"][:, :batch], plain[0][0].bool())
    path = rec.write(tmp_path / "t", model="tutorial", partitions=["die0", "die1", "die2"])
    assert open_trace(path).boundary("fc1->fc2").features == (32,)


def test_explicit_stepwise_false_needs_no_detection():
    net = _TutorialNet().eval()
    rec = SnnTorchRecorder(net, {"fc1->fc2": "lif1"})
    import warnings as _w

    with _w.catch_warnings():
        _w.simplefilter("error")
        rec.record_batch(_inputs(1, 3), stepwise=False)
    assert rec["fc1->fc2"].shape == (T, 3, 32)


def test_stepwise_model_is_not_misdetected():
    """A model stepped by its caller (one call per timestep) keeps the per-step default, no warning."""
    import warnings as _w

    net = _hidden_net()
    rec = SnnTorchRecorder(net)
    with _w.catch_warnings():
        _w.simplefilter("error")
        out = rec.record_batch(_inputs(1))
    assert torch.equal(torch.stack([o[0] for o in out]), _plain_run(net, _inputs(1)))


def test_both_views_of_a_boundary_replay_in_every_mode(tmp_path):
    """Defect 5: one tap records the dense activation entering the neuron (the encoder's input) and the
    spikes leaving it; with a static input (the tutorial's direct coding) the dense view is the same at
    every step and is written once per sample, so the one trace replays in ann, snn and snap modes."""
    from snapsim.config.load import load_hardware
    from snapsim.resources import HWCONFIGS
    from snapsim.config.workload import WorkloadConfig
    from snapsim.runner import simulate

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(16, 32), snn.Leaky(beta=0.9, init_hidden=True),
                              torch.nn.Linear(32, 10), snn.Leaky(beta=0.9, init_hidden=True)).eval()
    rec = SnnTorchRecorder(net, {"fc1->fc2": "1"}, dense="input")
    x = torch.relu(torch.randn(6, 16))  # a static input, repeated at every step
    rec.record_batch(x.expand(T, 6, 16))
    rec.remove()
    path = rec.write(tmp_path / "t", model="m", partitions=["die0", "die1"])
    tr = open_trace(path)
    dense = tr.boundary("fc1->fc2:dense")
    assert dense.kind == "activation" and dense.layout == ("B", "N") and (dense.src, dense.dst) == ("die0", ("die1",))
    assert np.allclose(tr.read("fc1->fc2:dense"), net[0](x).detach().numpy())
    assert tr.read("fc1->fc2").shape == (T, 6, 32)

    hw = load_hardware(HWCONFIGS / "packages" / "ucie-a-2x2.yaml")
    wl = WorkloadConfig.model_validate({
        "kind": "workload", "name": "m", "input_shape": [16], "partition": {"after": ["fc1"]},
        "stages": [{"name": "fc1", "macs": 512, "output_shape": [32]}, {"name": "fc2", "macs": 320, "output_shape": [10]}],
        "boundary": {"timesteps": T, "encoding": "aer", "ann_encoding": "zvc"}, "snn": {"timesteps": T},
        "stream": {"inferences": 6, "batch": 1}})
    runs = {m: simulate(hw, wl, m, trace=str(path)) for m in ("ann", "snn", "snap")}
    acts = tr.read("fc1->fc2:dense")
    zvc = [32 + 32 * int(np.count_nonzero(acts[i])) for i in range(6)]  # mask + F32 values
    assert runs["ann"].data["d2d_payload_bits_per_inf"] == pytest.approx(np.mean(zvc))
    spikes = tr.read("fc1->fc2")
    assert runs["snap"].data["d2d_payload_bits_per_inf"] == pytest.approx(spikes.sum() * 5 / 6)
