"""NIR interop: model structure and partitions from NIR graphs, and NIRData <-> snapsim traces.

* Structure: :func:`read_structure` reads a NIR graph (``nir.read``) and assigns each node to a
  partition, from ``node.metadata["snapsim_partition"]`` or a user map (the map wins). Input and
  Output nodes are the host side and belong to no partition. A *boundary* is a node whose output
  feeds nodes in other partitions; it is reported once, with every destination partition (multicast),
  and with its per-sample feature shape. :func:`assign_partitions` writes a map into the metadata so
  the partitioning travels with the graph (``nir.write``).
* Data: NIR's recorded-data form (``nir.read_data``/``nir.write_data``; ``NIRGraphData`` ->
  ``NIRNodeData`` -> observables) stores ``TimeGriddedData`` batch-first ``(n_samples, n_time_steps,
  n_neurons)`` or ``EventData`` (per-sample padded event lists). snapsim traces are time-major
  ``[T, B, *features]``: :func:`read_nir_data` and :func:`write_nir_data` transpose and flatten/reshape,
  :func:`nir_to_trace` builds a trace from a graph plus its NIRData, and :func:`trace_to_nir_data`
  writes a trace's spike boundaries as NIRData.

NIR is not used to regenerate spikes (re-simulating an exported graph is not bit-faithful, see the
trace-format notes); it carries structure and recorded data only. This module needs ``nir`` and numpy,
not torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from snapsim.errors import SnapsimError, TraceError

__all__ = [
    "PARTITION_KEY",
    "NirNode",
    "NirBoundary",
    "NirStructure",
    "load_graph",
    "read_structure",
    "assign_partitions",
    "write_graph",
    "read_nir_data",
    "write_nir_data",
    "nir_to_trace",
    "trace_to_nir_data",
]

PARTITION_KEY = "snapsim_partition"
"""Node metadata key naming the partition (chiplet) a NIR node runs on."""

DEFAULT_DT_S = 1e-4
"""Time step written to NIRData when none is given (what the snnTorch/SpikingJelly exporters use)."""


def _nir() -> Any:
    try:
        import nir
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SnapsimError("NIR support needs the nir package: pip install -c constraints.txt nir") from exc
    return nir


@dataclass(frozen=True)
class NirNode:
    name: str
    type: str
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    partition: str | None
    """None for Input/Output nodes (the host)."""


@dataclass(frozen=True)
class NirBoundary:
    """The output of ``src_node`` crossing from ``src_partition`` to one or more other partitions."""

    name: str
    src_node: str
    dst_nodes: tuple[str, ...]
    src_partition: str
    dst_partitions: tuple[str, ...]
    features: tuple[int, ...]


@dataclass(frozen=True)
class NirStructure:
    nodes: dict[str, NirNode]
    edges: tuple[tuple[str, str], ...]
    order: tuple[str, ...]
    """Node names in a topological order (ties broken by the graph's node order)."""
    partitions: tuple[str, ...]
    """Partitions in order of first appearance along ``order``."""
    boundaries: tuple[NirBoundary, ...]

    def partition_nodes(self, partition: str) -> list[str]:
        return [n for n in self.order if self.nodes[n].partition == partition]


def load_graph(source: Any, type_check: bool = True) -> Any:
    """A ``nir.NIRGraph``: the object itself, or read from a ``.nir`` (HDF5) file."""
    nir = _nir()
    if isinstance(source, nir.NIRGraph):
        return source
    path = Path(source)
    if not path.is_file():
        raise SnapsimError(f"{path}: no such NIR file")
    try:
        return nir.read(path, type_check=type_check)
    except Exception as exc:  # nir raises OSError, KeyError, ValueError, ... for bad files
        raise SnapsimError(f"{path}: cannot read as a NIR graph ({type(exc).__name__}: {exc})") from None


def _shape(types: Any, preferred: str) -> tuple[int, ...] | None:
    if not isinstance(types, dict) or not types:
        return None
    value = types.get(preferred, next(iter(types.values())))
    if value is None:
        return None
    arr = np.asarray(value).reshape(-1)
    if arr.size == 0 or not np.issubdtype(arr.dtype, np.number):
        return None
    return tuple(int(v) for v in arr)


def _endpoint(name: str, nodes: Mapping[str, Any]) -> str:
    """Edge endpoints may name a port of a subgraph (``"sub.output"``): map to the node."""
    if name in nodes:
        return name
    head = name.split(".", 1)[0]
    if head in nodes:
        return head
    raise SnapsimError(f"NIR edge endpoint {name!r} is not a node of the graph")


def _topological(names: Sequence[str], edges: Sequence[tuple[str, str]]) -> list[str]:
    rank = {n: i for i, n in enumerate(names)}
    indeg = {n: 0 for n in names}
    succ: dict[str, list[str]] = {n: [] for n in names}
    for a, b in edges:
        if a != b:
            succ[a].append(b)
            indeg[b] += 1
    ready = sorted((n for n in names if indeg[n] == 0), key=rank.__getitem__)
    order: list[str] = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for m in succ[n]:
            indeg[m] -= 1
            if indeg[m] == 0:
                ready.append(m)
                ready.sort(key=rank.__getitem__)
    # nodes on cycles (recurrent NIR graphs) follow in graph order
    order += [n for n in names if n not in order]
    return order


def read_structure(
    source: Any,
    partition_map: Mapping[str, str] | None = None,
    *,
    key: str = PARTITION_KEY,
    type_check: bool = True,
) -> NirStructure:
    """Nodes, partitions and partition-crossing boundaries of a NIR graph (object or file)."""
    nir = _nir()
    graph = load_graph(source, type_check=type_check)
    nodes_in = dict(graph.nodes)
    partition_map = dict(partition_map or {})
    unknown = sorted(set(partition_map) - set(nodes_in))
    if unknown:
        raise SnapsimError(f"partition map names nodes the graph does not have: {', '.join(unknown)}")
    host_types = (nir.Input, nir.Output)
    nodes: dict[str, NirNode] = {}
    missing = []
    for name, node in nodes_in.items():
        is_host = isinstance(node, host_types)
        part = partition_map.get(name)
        if part is None:
            meta = getattr(node, "metadata", None) or {}
            raw = meta.get(key) if isinstance(meta, dict) else None
            part = None if raw is None else (raw.decode() if isinstance(raw, bytes) else str(raw))
        if is_host:
            part = None
        elif part is None:
            missing.append(name)
        nodes[name] = NirNode(name, type(node).__name__, _shape(getattr(node, "input_type", None), "input"),
                              _shape(getattr(node, "output_type", None), "output"), part)
    if missing:
        raise SnapsimError(f"NIR nodes without a partition (set metadata[{key!r}] or pass a partition map): "
                           + ", ".join(missing))
    edges = tuple((_endpoint(str(a), nodes_in), _endpoint(str(b), nodes_in)) for a, b in graph.edges)
    order = _topological(list(nodes_in), edges)
    partitions: list[str] = []
    for n in order:
        p = nodes[n].partition
        if p is not None and p not in partitions:
            partitions.append(p)
    boundaries = []
    for n in order:
        src = nodes[n]
        if src.partition is None:
            continue
        dst_nodes = [b for a, b in edges if a == n and nodes[b].partition not in (None, src.partition)]
        if not dst_nodes:
            continue
        dst_parts = tuple(dict.fromkeys(nodes[b].partition for b in dst_nodes))  # type: ignore[misc]
        if src.output_shape is None:
            raise SnapsimError(f"NIR node {n!r} crosses partitions but has no output shape (run type inference)")
        boundaries.append(NirBoundary(
            name=f"{n}->{','.join(dst_nodes)}", src_node=n, dst_nodes=tuple(dst_nodes),
            src_partition=src.partition, dst_partitions=dst_parts,  # type: ignore[arg-type]
            features=src.output_shape,
        ))
    return NirStructure(nodes, edges, tuple(order), tuple(partitions), tuple(boundaries))


def assign_partitions(graph: Any, partition_map: Mapping[str, str], *, key: str = PARTITION_KEY) -> Any:
    """Write ``partition_map`` into the nodes' metadata (in place) and return the graph."""
    unknown = sorted(set(partition_map) - set(graph.nodes))
    if unknown:
        raise SnapsimError(f"partition map names nodes the graph does not have: {', '.join(unknown)}")
    for name, part in partition_map.items():
        node = graph.nodes[name]
        meta = getattr(node, "metadata", None)
        if not isinstance(meta, dict):
            meta = {}
        node.metadata = {**meta, key: str(part)}
    return graph


def write_graph(path: str | Path, graph: Any, partition_map: Mapping[str, str] | None = None) -> Path:
    """``nir.write`` the graph, after writing ``partition_map`` (if given) into node metadata."""
    nir = _nir()
    if partition_map:
        assign_partitions(graph, partition_map)
    nir.write(str(path), graph)
    return Path(path)


# -- recorded data ---------------------------------------------------------------------------------


def read_nir_data(path: str | Path, dt_s: float | None = None) -> dict[str, dict[str, np.ndarray]]:
    """NIRData file -> ``{node: {observable: array [T, B, n_neurons]}}``, time-major.

    ``TimeGriddedData`` is transposed from ``(B, T, N)``; ``EventData`` is gridded with ``dt_s``
    (required for event data) into bool spikes, ``ValuedEventData`` into float values. Nested
    ``NIRGraphData`` nodes are flattened to ``"outer.inner"`` names.
    """
    nir = _nir()
    path = Path(path)
    if not path.is_file():
        raise TraceError(f"{path}: no such NIRData file")
    try:
        data = nir.read_data(str(path))
    except Exception as exc:
        raise TraceError(f"{path}: cannot read as NIRData ({type(exc).__name__}: {exc})") from None
    out: dict[str, dict[str, np.ndarray]] = {}

    def walk(prefix: str, graph_data: Any) -> None:
        for name, node in graph_data.nodes.items():
            full = f"{prefix}{name}"
            if isinstance(node, nir.NIRGraphData):
                walk(full + ".", node)
                continue
            obs: dict[str, np.ndarray] = {}
            for oname, o in node.observables.items():
                if isinstance(o, nir.TimeGriddedData):
                    gridded = o.data
                elif isinstance(o, nir.EventData):
                    if dt_s is None:
                        raise TraceError(f"{path}: node {full!r} observable {oname!r} is event data; "
                                         "give dt_s to grid it into timesteps")
                    gridded = o.to_time_gridded(dt_s).data
                else:  # pragma: no cover - nir.read_data only builds the two kinds above
                    raise TraceError(f"{path}: node {full!r}: unsupported observable {type(o).__name__}")
                obs[oname] = np.ascontiguousarray(np.swapaxes(gridded, 0, 1))
            out[full] = obs

    walk("", data)
    return out


def write_nir_data(
    path: str | Path,
    observables: Mapping[str, Mapping[str, np.ndarray] | np.ndarray],
    *,
    dt_s: float = DEFAULT_DT_S,
    observable: str = "spikes",
) -> Path:
    """Write ``{node: [T, B, *features]}`` (or ``{node: {observable: array}}``) as NIRData
    ``TimeGriddedData`` (batch-first, features flattened). Spikes should be bool."""
    nir = _nir()
    if not (math.isfinite(dt_s) and dt_s > 0):
        raise SnapsimError(f"dt_s must be a positive number of seconds, not {dt_s!r}")
    nodes = {}
    for node, value in observables.items():
        per_obs = value if isinstance(value, Mapping) else {observable: value}
        obs = {}
        for oname, arr in per_obs.items():
            a = np.asarray(arr)
            if a.ndim < 3:
                raise SnapsimError(f"node {node!r} observable {oname!r}: need [T, B, *features], got {list(a.shape)}")
            flat = a.reshape(a.shape[0], a.shape[1], -1)
            obs[oname] = nir.TimeGriddedData(np.ascontiguousarray(np.swapaxes(flat, 0, 1)), float(dt_s))
        nodes[str(node)] = nir.NIRNodeData(obs)
    nir.write_data(str(path), nir.NIRGraphData(nodes))
    return Path(path)


def nir_to_trace(
    graph: Any,
    data_path: str | Path,
    out_path: str | Path,
    *,
    partition_map: Mapping[str, str] | None = None,
    observable: str = "spikes",
    dt_s: float | None = None,
    model: str | None = None,
    framework: str = "nir",
    framework_version: str | None = None,
    metrics: Mapping[str, float] | None = None,
    container: str = "safetensors",
    **writer_options: Any,
) -> Path:
    """Build a trace from a NIR graph (structure, partitions) and NIRData recorded for it.

    Each boundary of :func:`read_structure` takes observable ``observable`` of its source node: bool
    (or 0/1) data becomes a spike boundary ``[T, B, *features]``; other values are refused.
    """
    from snapsim.trace import TraceWriter

    nir = _nir()
    graph = load_graph(graph)
    structure = read_structure(graph, partition_map)
    if not structure.boundaries:
        raise SnapsimError("the NIR graph has no partition-crossing edges: nothing to trace")
    recorded = read_nir_data(data_path, dt_s)
    arrays: dict[str, np.ndarray] = {}
    timesteps: set[int] = set()
    samples: set[int] = set()
    for b in structure.boundaries:
        node_obs = recorded.get(b.src_node)
        if node_obs is None or observable not in node_obs:
            have = ", ".join(f"{n}: {sorted(o)}" for n, o in recorded.items()) or "nothing"
            raise TraceError(f"{data_path}: no {observable!r} data for boundary node {b.src_node!r} (file has {have})")
        a = node_obs[observable]
        n = math.prod(b.features)
        if a.shape[2] != n:
            raise TraceError(f"{data_path}: node {b.src_node!r} records {a.shape[2]} neurons, the graph says "
                             f"{list(b.features)} ({n})")
        if a.dtype != np.bool_:
            if not np.isin(a, (0, 1)).all():
                raise TraceError(f"{data_path}: node {b.src_node!r} {observable!r} is not binary; only spike data "
                                 "becomes a trace boundary")
            a = a.astype(bool)
        arrays[b.name] = a.reshape(a.shape[:2] + b.features)
        timesteps.add(a.shape[0])
        samples.add(a.shape[1])
    if len(timesteps) != 1 or len(samples) != 1:
        raise TraceError(f"{data_path}: boundary nodes disagree on timesteps {sorted(timesteps)} or samples "
                         f"{sorted(samples)}")
    meta = graph.metadata if isinstance(graph.metadata, dict) else {}
    name = model or str(meta.get("name", "nir-model"))
    with TraceWriter(out_path, model=name, framework=framework,
                     framework_version=framework_version or f"nir {nir.version}",
                     partitions=list(structure.partitions), timesteps=timesteps.pop(), container=container,
                     metrics=dict(metrics or {}),
                     metadata={"nir_nodes": {b.name: b.src_node for b in structure.boundaries},
                               "source": f"NIRData {Path(data_path).name}, observable {observable!r}"},
                     **writer_options) as writer:
        for b in structure.boundaries:
            writer.add_boundary(b.name, src=b.src_partition, dst=list(b.dst_partitions), kind="spike",
                                features=list(b.features), layout=_layout(len(b.features)))
        for b in structure.boundaries:
            writer.append(b.name, arrays[b.name])
    return Path(out_path)


def trace_to_nir_data(
    trace_path: str | Path,
    out_path: str | Path,
    node_of: Mapping[str, str] | None = None,
    *,
    dt_s: float = DEFAULT_DT_S,
    observable: str = "spikes",
) -> Path:
    """Write a trace's spike boundaries as NIRData keyed by NIR node name.

    ``node_of`` maps boundary -> node; by default the trace's ``metadata.nir_nodes`` (set by
    :func:`nir_to_trace`), else the boundary name itself.
    """
    from snapsim.trace import open_trace

    trace = open_trace(trace_path)
    default = trace.manifest.get("metadata", {}).get("nir_nodes", {})
    mapping = dict(node_of) if node_of is not None else {}
    out: dict[str, dict[str, np.ndarray]] = {}
    for b in trace.boundaries:
        if b.kind != "spike":
            continue
        node = mapping.get(b.name) or default.get(b.name) or b.name
        if node in out:
            raise SnapsimError(f"two boundaries map to NIR node {node!r}; pass node_of")
        out[node] = {observable: trace.read(b.name)}
    if not out:
        raise TraceError(f"{trace_path}: no spike boundaries to export")
    return write_nir_data(out_path, out, dt_s=dt_s)


def _layout(rank: int) -> list[str]:
    names = {1: ["N"], 2: ["S", "C"], 3: ["C", "H", "W"]}.get(rank, [f"F{i}" for i in range(rank)])
    return ["T", "B", *names]
