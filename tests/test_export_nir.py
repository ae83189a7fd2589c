"""NIR interop: partitions and boundaries from a NIR graph, NIRData <-> trace round trips (batch-first
NIRData vs time-major traces), and a real snnTorch network exported to NIR."""

from __future__ import annotations

import numpy as np
import pytest

nir = pytest.importorskip("nir")

from snapsim.errors import SnapsimError, TraceError  # noqa: E402
from snapsim.export.nir_io import (  # noqa: E402
    PARTITION_KEY,
    assign_partitions,
    nir_to_trace,
    read_nir_data,
    read_structure,
    trace_to_nir_data,
    write_graph,
    write_nir_data,
)
from snapsim.trace import open_trace  # noqa: E402

T, B = 6, 5


def _lif(n):
    return nir.LIF(tau=np.full(n, 0.01), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n))


def _affine(n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    return nir.Affine(rng.standard_normal((n_out, n_in)).astype(np.float32), np.zeros(n_out, np.float32))


def _graph():
    """input -> fc1 -> lif1 -> {fc2 -> lif2 (die1), fc3 -> lif3 (die2)} -> outputs: lif1 fans out to two dies."""
    nodes = {
        "input": nir.Input(np.array([8])),
        "fc1": _affine(8, 12, 0), "lif1": _lif(12),
        "fc2": _affine(12, 4, 1), "lif2": _lif(4),
        "fc3": _affine(12, 3, 2), "lif3": _lif(3),
        "out2": nir.Output(np.array([4])), "out3": nir.Output(np.array([3])),
    }
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "out2"),
             ("lif1", "fc3"), ("fc3", "lif3"), ("lif3", "out3")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"name": "fanout"})


PARTS = {"fc1": "die0", "lif1": "die0", "fc2": "die1", "lif2": "die1", "fc3": "die2", "lif3": "die2"}


def test_structure_from_metadata_after_write_read(tmp_path):
    path = write_graph(tmp_path / "g.nir", _graph(), PARTS)
    st = read_structure(path)  # partitions come back from node metadata
    assert st.partitions == ("die0", "die1", "die2")
    assert st.nodes["input"].partition is None and st.nodes["lif1"].partition == "die0"
    assert [(b.src_node, b.dst_nodes, b.src_partition, b.dst_partitions, b.features) for b in st.boundaries] == [
        ("lif1", ("fc2", "fc3"), "die0", ("die1", "die2"), (12,))]  # one multicast boundary
    assert st.boundaries[0].name == "lif1->fc2,fc3"
    assert st.partition_nodes("die1") == ["fc2", "lif2"]

    # a user map overrides the metadata: move fc3/lif3 onto die1 -> a single destination
    st2 = read_structure(path, {"fc3": "die1", "lif3": "die1"})
    assert st2.partitions == ("die0", "die1")
    assert st2.boundaries[0].dst_partitions == ("die1",)
    # cutting between fc2 and lif2 as well gives a second boundary, in topological order
    st3 = read_structure(path, {"lif2": "die3"})
    assert [b.src_node for b in st3.boundaries] == ["lif1", "fc2"]
    assert st3.boundaries[1].features == (4,)


def test_structure_errors(tmp_path):
    g = _graph()
    with pytest.raises(SnapsimError, match="without a partition.*fc2"):
        read_structure(g, {"fc1": "die0", "lif1": "die0"})
    with pytest.raises(SnapsimError, match="does not have: nope"):
        read_structure(g, {"nope": "die0"})
    with pytest.raises(SnapsimError, match="cannot read as a NIR graph"):
        bad = tmp_path / "bad.nir"
        bad.write_bytes(b"not hdf5")
        read_structure(bad)
    assign_partitions(g, PARTS)
    assert g.nodes["fc2"].metadata[PARTITION_KEY] == "die1"


def test_nir_data_is_batch_first_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    spikes = rng.random((T, B, 12)) < 0.2
    membrane = rng.standard_normal((T, B, 2, 3)).astype(np.float32)
    path = write_nir_data(tmp_path / "d.h5", {"lif1": {"spikes": spikes, "v": membrane}}, dt_s=1e-3)
    raw = nir.read_data(str(path))
    grid = raw.nodes["lif1"].observables["spikes"]
    assert grid.data.shape == (B, T, 12) and grid.data.dtype == bool and grid.dt == 1e-3
    assert np.array_equal(grid.data[2, 4], spikes[4, 2])
    back = read_nir_data(path)
    assert np.array_equal(back["lif1"]["spikes"], spikes)
    assert np.array_equal(back["lif1"]["v"], membrane.reshape(T, B, 6))

    # event data (padded index/time lists) is gridded back with dt
    events = nir.TimeGriddedData(np.swapaxes(spikes, 0, 1).copy(), 1e-3).to_event(n_events=T * 12)
    nir.write_data(str(tmp_path / "e.h5"), nir.NIRGraphData({"lif1": nir.NIRNodeData({"spikes": events})}))
    with pytest.raises(TraceError, match="give dt_s"):
        read_nir_data(tmp_path / "e.h5")
    assert np.array_equal(read_nir_data(tmp_path / "e.h5", dt_s=1e-3)["lif1"]["spikes"], spikes)


def test_nir_to_trace_and_back(tmp_path):
    rng = np.random.default_rng(1)
    spikes = rng.random((T, B, 12)) < 0.3
    graph_path = write_graph(tmp_path / "g.nir", _graph(), PARTS)
    data_path = write_nir_data(tmp_path / "d.h5", {"lif1": spikes, "lif2": rng.random((T, B, 4)) < 0.5})
    trace_path = nir_to_trace(graph_path, data_path, tmp_path / "t.snaptrace", metrics={"accuracy": 0.5})
    tr = open_trace(trace_path)
    tr.validate()
    (b,) = tr.boundaries
    assert (b.name, b.src, b.dst, b.features) == ("lif1->fc2,fc3", "die0", ("die1", "die2"), (12,))
    assert tr.manifest["model"]["name"] == "fanout"
    assert np.array_equal(tr.read(b.name), spikes)

    out = trace_to_nir_data(trace_path, tmp_path / "back.h5")
    assert np.array_equal(read_nir_data(out)["lif1"]["spikes"], spikes)  # keyed by the NIR node again

    with pytest.raises(TraceError, match="no 'spikes' data for boundary node 'lif1'"):
        nir_to_trace(graph_path, write_nir_data(tmp_path / "x.h5", {"lif2": spikes[..., :4]}),
                     tmp_path / "x.snaptrace")
    with pytest.raises(TraceError, match="not binary"):
        nir_to_trace(graph_path, write_nir_data(tmp_path / "f.h5", {"lif1": spikes * 0.5}), tmp_path / "f.snaptrace")


@pytest.mark.filterwarnings("ignore:nirtorch.extract_nir_graph is being deprecated:DeprecationWarning")
def test_snntorch_network_exported_to_nir(tmp_path):
    """A real snnTorch network -> NIR (node names are module paths) -> partitions -> trace whose
    spikes come from the recorder on the trained model itself."""
    torch = pytest.importorskip("torch")
    snn = pytest.importorskip("snntorch")
    from snntorch.export_nir import export_to_nir

    from snapsim.export.snntorch import SnnTorchRecorder

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(16, 32), snn.Leaky(beta=torch.full((32,), 0.9), threshold=torch.ones(32), init_hidden=True),
        torch.nn.Linear(32, 10),
        snn.Leaky(beta=torch.full((10,), 0.9), threshold=torch.ones(10), init_hidden=True, output=True),
    ).eval()
    graph = export_to_nir(net, torch.rand(16))  # vector beta/threshold and a batch-less sample (see notes)
    path = write_graph(tmp_path / "snn.nir", graph, {"0": "die0", "1": "die0", "2": "die1", "3": "die1"})
    st = read_structure(path)
    assert [(b.src_node, b.dst_nodes, b.features) for b in st.boundaries] == [("1", ("2",), (32,))]

    x = torch.rand(T, B, 16, generator=torch.Generator().manual_seed(3)) * 2
    rec = SnnTorchRecorder(net, ["1"])
    rec.record_batch(x)
    rec.remove()
    data = write_nir_data(tmp_path / "rec.h5", {"1": rec["1"].numpy()})
    tr = open_trace(nir_to_trace(path, data, tmp_path / "snn.snaptrace", framework="snntorch",
                                 framework_version=snn.__version__))
    assert np.array_equal(tr.read("1->2"), rec["1"].numpy())
    assert tr.boundary("1->2").stats["nnz"] == int(rec["1"].sum()) > 0
