"""Norse adapter against the real Norse: (spikes, state) tuples inside SequentialState, time-lifted
LIF (native [T, B, N]) and LIFCell loops (stacked) agree, bit-identical read-back, unchanged outputs."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("norse")

from norse.torch import LIF, LIFCell, LIFParameters, SequentialState  # noqa: E402

from snapsim.errors import SnapsimError  # noqa: E402
from snapsim.export.norse import NorseRecorder, spiking_modules  # noqa: E402
from snapsim.trace import open_trace  # noqa: E402

T, B = 8, 4
P = LIFParameters(v_th=torch.as_tensor(0.3))


def _lifted(hidden: bool = False):
    torch.manual_seed(0)
    return SequentialState(torch.nn.Linear(16, 32), LIF(P), torch.nn.Linear(32, 10), LIF(P),
                           return_hidden=hidden).eval()


def _inputs(seed: int, batch: int = B):
    return torch.rand(T, batch, 16, generator=torch.Generator().manual_seed(seed)) * 4


def test_sequential_state_record_write_read(tmp_path):
    net = _lifted()
    x1, x2 = _inputs(1), _inputs(2, batch=3)
    with torch.no_grad():
        plain = [net(x1)[0], net(x2)[0]]
    assert spiking_modules(net)["1"][1] == "native"
    rec = NorseRecorder(net)  # taps "1" and "3"
    outs = [rec.record_batch(x1), rec.record_batch(x2)]
    rec.remove()
    assert torch.equal(outs[0][0], plain[0]) and torch.equal(outs[1][0], plain[1])
    assert isinstance(outs[0][1], list)  # the (output, state) tuple reached the caller untouched

    # Norse's own per-layer recorder (return_hidden) sees the same spikes
    hidden_net = _lifted(hidden=True)
    with torch.no_grad():
        hidden, _ = hidden_net(x1)
    spikes = rec["1"]
    assert spikes.shape == (T, B + 3, 32)
    assert torch.equal(spikes[:, :B], hidden[1].bool())
    assert torch.equal(rec["3"][:, :B], hidden[3].bool())
    assert 0 < spikes.float().mean() < 1

    tr = open_trace(rec.write(tmp_path / "norse.snaptrace", model="norse-tiny",
                              partitions=["die0", "die1", "die2"]))
    tr.validate()
    assert tr.manifest["model"]["framework"] == "norse"
    for name in ("1", "3"):
        assert np.array_equal(tr.read(name), rec[name].numpy())


def test_cell_loop_is_stacked_and_matches_lifted():
    lifted = _lifted()
    torch.manual_seed(0)
    cells = SequentialState(torch.nn.Linear(16, 32), LIFCell(P), torch.nn.Linear(32, 10), LIFCell(P)).eval()
    cells.load_state_dict(lifted.state_dict())
    x = _inputs(7)
    rec_cells = NorseRecorder(cells, {"hidden": "1"})
    assert rec_cells.taps["hidden"].time_mode == "stack"
    out_cells = rec_cells.record_batch(x)  # threads the state through the steps
    rec_cells.remove()
    rec_lifted = NorseRecorder(lifted, {"hidden": "1"})
    out_lifted = rec_lifted.record_batch(x)
    rec_lifted.remove()
    assert torch.equal(out_cells, out_lifted[0])
    assert torch.equal(rec_cells["hidden"], rec_lifted["hidden"])


def test_hook_never_replaces_tuple_output():
    """The pitfall from the reference notes: a hook returning a value would replace (spikes, state)."""
    net = _lifted()
    rec = NorseRecorder(net, ["1"])
    with torch.no_grad():
        out, state = net(_inputs(3))
    rec.remove()
    assert out.shape == (T, B, 10) and len(state) == 4


def test_errors():
    with pytest.raises(SnapsimError, match="no Norse neuron modules"):
        NorseRecorder(torch.nn.Linear(2, 2))
