"""SpikingJelly adapter against the real SpikingJelly (activation_based): single-step and multi-step
networks give the same spikes, reset_net between batches, bit-identical read-back, unchanged outputs."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("spikingjelly")

from spikingjelly.activation_based import functional, layer, neuron  # noqa: E402

from snapsim.errors import SnapsimError  # noqa: E402
from snapsim.export.spikingjelly import SpikingJellyRecorder, spiking_modules  # noqa: E402
from snapsim.trace import open_trace  # noqa: E402

T, B = 8, 4


def _net(step_mode: str):
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        layer.Linear(16, 32), neuron.LIFNode(tau=2.0), layer.Linear(32, 10), neuron.IFNode(),
    )
    functional.set_step_mode(net, step_mode)
    return net.eval()


def _inputs(seed: int, batch: int = B):
    return torch.rand(T, batch, 16, generator=torch.Generator().manual_seed(seed)) * 3


def _plain(net, x, step_mode):
    functional.reset_net(net)
    with torch.no_grad():
        if step_mode == "m":
            return net(x)
        return torch.stack([net(x[t]) for t in range(x.shape[0])])


@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_record_write_read_and_outputs_unchanged(tmp_path, step_mode):
    net = _net(step_mode)
    x1, x2 = _inputs(1), _inputs(2, batch=2)
    plain = [_plain(net, x1, step_mode), _plain(net, x2, step_mode)]

    assert list(spiking_modules(net)) == ["1", "3"]
    rec = SpikingJellyRecorder(net, {"l1->l2": "1"})
    rec.add_tap("l2_in", "2", port="input", time_mode=rec.taps["l1->l2"].time_mode, src="d0", dst="d1")
    assert rec.taps["l1->l2"].time_mode == ("native" if step_mode == "m" else "stack")
    rec.route("l1->l2", "d0", "d1")
    outs = [rec.record_batch(x1), rec.record_batch(x2)]
    rec.remove()
    assert torch.equal(outs[0], plain[0]) and torch.equal(outs[1], plain[1])
    spikes = rec["l1->l2"]
    assert spikes.shape == (T, B + 2, 32) and spikes.dtype == torch.bool
    assert torch.equal(spikes, rec["l2_in"])  # output tap == input of the receiving layer
    assert 0 < spikes.float().mean() < 1

    rec_meta = rec.write(tmp_path / f"sj_{step_mode}.snaptrace", model="sj", partitions=["d0", "d1"])
    tr = open_trace(rec_meta)
    tr.validate()
    assert tr.manifest["model"]["framework"] == "spikingjelly"
    assert tr.n_samples == B + 2 and tr.timesteps == T
    for name in ("l1->l2", "l2_in"):
        assert np.array_equal(tr.read(name), rec[name].numpy())


def test_single_and_multi_step_agree_and_reset_matters():
    single, multi = _net("s"), _net("m")
    multi.load_state_dict(copy.deepcopy(single.state_dict()))
    x = _inputs(4)
    rs, rm = SpikingJellyRecorder(single), SpikingJellyRecorder(multi)
    rs.record_batch(x)
    rm.record_batch(x)
    rm.record_batch(x)
    assert torch.equal(rs["1"], rm["1"][:, :B]) and torch.equal(rs["3"], rm["3"][:, :B])
    assert torch.equal(rm["1"][:, :B], rm["1"][:, B:])  # reset_net before each batch
    # without a reset the second batch starts from the first batch's membrane state and differs
    with torch.no_grad():
        multi(x)
    rm.clear()
    with torch.no_grad():
        multi(x)
    rm.remove()
    rs.remove()
    assert not torch.equal(rm["1"], rs["1"])


def test_errors():
    with pytest.raises(SnapsimError, match="no SpikingJelly spiking neurons"):
        SpikingJellyRecorder(torch.nn.Linear(2, 2))


@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_dense_view_keeps_the_time_axis_until_it_is_constant(tmp_path, step_mode):
    """The dense view of a spike tap (dense='input') has the spikes' time axis in both step modes; a
    static input makes it constant over T and it is written once per sample, a varying one keeps T."""
    net = _net(step_mode)
    rec = SpikingJellyRecorder(net, {"l1->l2": "1"}, dense="input")
    static = torch.rand(B, 16, generator=torch.Generator().manual_seed(5)).expand(T, B, 16).contiguous()
    rec.record_batch(static)
    rec.remove()
    assert rec["l1->l2:dense"].shape == (T, B, 32)
    tr = open_trace(rec.write(tmp_path / "s", model="m", partitions=["d0", "d1"]))
    dense = tr.boundary("l1->l2:dense")
    assert dense.layout == ("B", "N") and (dense.src, dense.dst) == ("d0", ("d1",))
    assert np.allclose(tr.read("l1->l2:dense"), net[0](static[0]).detach().numpy(), atol=1e-6)
    varying = SpikingJellyRecorder(_net(step_mode), {"l1->l2": "1"}, dense="input")
    varying.record_batch(_inputs(3))
    varying.remove()
    tr = open_trace(varying.write(tmp_path / "v", model="m", partitions=["d0", "d1"]))
    assert tr.boundary("l1->l2:dense").layout == ("T", "B", "N")
