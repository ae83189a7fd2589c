"""What the SNAP study runs: its sizes and its plan (pure: no file read, no simulation).

Every part runs in both scenarios (:mod:`.scenarios`: ``realistic`` and ``paper``), every case is an ANN-only,
an SNN-only and a SNAP run of one model on one hardware (one gain row), all three at the same stream (batch,
inferences in flight):

* ``size``: the zoo models on the 16-die package, realistic on several D2D link presets with the die count
  each model's weights need (capacity rule), paper on the paper link with every model over 16 dies;
* ``regime``: a few models over batch x SNN weight-fetch policy x SNN timesteps x link: where each design
  wins;
* ``axes``: one choice at a time around each scenario (sparse-dataflow efficiency, load, tensor parallelism,
  SNAP boundary rate and timesteps, SNN weight reuse window, SNN firing rate, precision);
* ``ladder``: the realistic defaults with the paper's assumptions applied one by one;
* ``accuracy``: the shipped SNAP traces (four sparsity levels each of a digits MLP and a char-LM) replayed in
  snap mode, beside ANN-only and SNN-only runs of the same models at the timesteps their trained
  references used;
* ``chiplets``: a few models split over 2, 4, 8 and 16 dies.

Part ``targets`` (:mod:`.targets`) is a search: its runs are chosen from earlier results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import paths
from ..plan import Plan
from .references import reference_snn
from .scenarios import PAPER, PAPER_ASSUMPTIONS, REALISTIC, Scenario, ladder_step
from .targets import TargetSearch

__all__ = ["AXES", "MODES", "SEED", "SIZES", "StudySize", "add_case", "build_plan", "full_command"]

MODES = ("ann", "snn", "snap")
SEED = 0
#: zoo split whose stages every run starts from (the finest the zoo ships: the partition rule then decides)
BASE_SPLIT = 16


@dataclass(frozen=True)
class StudySize:
    """One size of the study: what each part runs. Packages are shipped package names, models zoo names,
    links named link setups (:data:`.scenarios.LINKS`)."""

    package: str
    models: tuple[str, ...]
    links: tuple[str, ...]
    inferences: int
    regime_models: tuple[str, ...]
    regime_links: tuple[str, ...]
    regime_batches: tuple[int, ...]
    regime_fetch: tuple[tuple[str, int], ...]  # (snn.weight_fetch, snn.weight_reuse_steps)
    regime_timesteps: tuple[int, ...]
    regime_inferences: int
    axes_models: tuple[str, ...]
    axes: tuple[tuple[str, tuple[Any, ...]], ...]
    ladder_models: tuple[str, ...]
    trace_links: tuple[str, ...]
    trace_inferences: int
    traces: tuple[str, ...] = ("digits", "charlm")
    trace_encodings: tuple[str, ...] = ("bitmap", "aer")
    levels: tuple[int, ...] = (0, 1, 2, 3)
    chiplet_models: tuple[str, ...] = ()
    chiplet_partitions: tuple[int, ...] = (2, 4, 8, 16)
    chiplet_links: tuple[str, ...] = ()
    #: part ``targets``: the link energy per bit, bandwidth and SNN timesteps at which SNAP reaches the paper's figures
    targets: TargetSearch | None = None
    #: worker processes when the caller gives none (None: the CPUs available, at most 8)
    workers: int | None = None


#: part ``axes``: one choice at a time, every other at the scenario's value. name -> values
AXES: dict[str, tuple[Any, ...]] = {
    "sparse_efficiency": (0.25, 0.5, 0.9, 1.0),
    "load": (1, 4, 16),
    "tensor_parallel": (1, 2, 4),
    "snap_rate": (0.01, 0.05, 0.1, 0.2),
    "snap_timesteps": (1, 4, 16),
    "weight_reuse": (1, 4, 16),
    "snn_rate": (0.02, 0.1, 0.2),
    "precision": ("int8", "bf16"),
}

_RWKV = ("rwkv-0.17b", "rwkv-0.43b", "rwkv-1.5b", "rwkv-3b", "rwkv-7b", "rwkv-14b")
_VISION = ("resnet18", "resnet50", "vgg16", "vit-b16")

SIZES: dict[str, StudySize] = {
    "small": StudySize(
        package="xsr-serdes-4x4",
        models=("rwkv-0.17b", "rwkv-1.5b", "resnet18", "vgg16"),
        links=("ucie-advanced-32g", "lr-serdes-board-112g"),
        inferences=4,
        regime_models=("vit-b16",),
        regime_links=("xsr-serdes-112g", "paper-link"),
        regime_batches=(1, 16),
        regime_fetch=(("event_driven", 1), ("per_inference", 1)),
        regime_timesteps=(4, 32),
        regime_inferences=4,
        axes_models=("vit-b16",),
        axes=tuple((k, v) for k, v in AXES.items() if k in ("load", "tensor_parallel", "snap_rate", "precision")),
        ladder_models=("resnet18",),
        trace_links=("ucie-advanced-32g", "lr-serdes-board-112g"),
        trace_inferences=8,
        chiplet_models=("resnet18",),
        chiplet_partitions=(2, 16),
        chiplet_links=("lr-serdes-board-112g",),
        targets=TargetSearch(models=("resnet18", "rwkv-0.17b"), rates_gtps=(0.25, 1.0, 4.0, 16.0, 64.0),
                             bisection_steps=4, snn_timesteps=(4, 32, 256), inferences=4),
        workers=1,
    ),
    "default": StudySize(
        package="xsr-serdes-4x4",
        models=_RWKV + _VISION,
        links=REALISTIC.links,
        inferences=16,
        regime_models=("vit-b16", "rwkv-0.43b"),
        regime_links=("ucie-advanced-32g", "xsr-serdes-112g", "lr-serdes-board-112g", "paper-link"),
        regime_batches=(1, 4, 16),
        regime_fetch=(("event_driven", 1), ("per_timestep", 1), ("per_inference", 1)),
        regime_timesteps=(1, 4, 16, 64),
        regime_inferences=8,
        axes_models=("vit-b16", "rwkv-0.43b"),
        axes=tuple(AXES.items()),
        ladder_models=_VISION + ("rwkv-0.17b", "rwkv-1.5b"),
        trace_links=("ucie-advanced-32g", "xsr-serdes-112g", "lr-serdes-board-112g"),
        trace_inferences=32,
        chiplet_models=("rwkv-0.43b", "resnet50", "vit-b16"),
        chiplet_partitions=(2, 4, 8, 16),
        chiplet_links=("ucie-advanced-32g", "lr-serdes-board-112g"),
        targets=TargetSearch(models=_RWKV + _VISION),
    ),
}


def full_command(out_dir: str = "study_out") -> str:
    return f".venv/bin/python -m snapsim study snap --size default --out {out_dir}"


def scenario_links(scenario: Scenario, wanted: tuple[str, ...]) -> tuple[str, ...]:
    """The links a grid part runs in ``scenario``: realistic the part's presets, paper its own link."""
    return wanted if scenario is REALISTIC else scenario.links


def add_case(plan: Plan, labels: dict, cfg: StudySize, scenario: Scenario, link: str | None, *,
             wl_file: Any = None, model: str | None = None, hw: dict | None = None, wl: dict | None = None,
             snap: dict | None = None, snn: dict | None = None) -> None:
    """One gain case: the ANN-only, SNN-only and SNAP runs of a model in ``scenario`` (on named link setup
    ``link``; None: the scenario's), with extra overrides for every design (``hw``, ``wl``) and per design
    (``snap``, ``snn``); recorded as ``run_id_<mode>`` beside ``labels`` and the scenario's accounting."""
    ids = {}
    model = model or labels["model"]
    wl_file = wl_file or paths.zoo(model, BASE_SPLIT)
    for mode in MODES:
        s_hw, s_wl = scenario.overrides(mode, link)
        per_mode = (snap if mode == "snap" else snn if mode == "snn" else None) or {}
        wl_ov = {"stream.inferences": cfg.inferences, **s_wl, **(wl or {}), **per_mode}
        ids[mode] = plan.run(**labels, mode=mode, hw_file=paths.package(cfg.package), wl_file=wl_file,
                             hw_overrides={**s_hw, **(hw or {})}, wl_overrides=wl_ov, trace=None)
    plan.case(**labels, accounting=" ".join(scenario.accounting), **{f"run_id_{m}": ids[m] for m in MODES})


def _axis_overrides(name: str, value: Any, scenario: Scenario) -> dict:
    """Overrides of one ``axes`` point: {'hw': ..., 'wl': ..., 'snap': ..., 'snn': ...}."""
    if name == "sparse_efficiency":
        return {"hw": {"chiplet.spiking.sparse_efficiency": value}}
    if name == "load":
        return {"wl": {"stream.max_in_flight": value}}
    if name == "tensor_parallel":
        partition = dict(scenario.overrides("ann")[1]["partition"])
        if "count" in partition:  # a fixed split keeps its die count: fewer, wider partitions
            partition["count"] = max(1, partition["count"] // value)
        return {"wl": {"partition": {**partition, "tensor_parallel": value}}}
    if name == "snap_rate":
        return {"snap": {"boundary.firing_rate": value}}
    if name == "snap_timesteps":
        return {"snap": {"boundary.timesteps": value}}
    if name == "weight_reuse":
        return {"snn": {"snn.weight_fetch": "event_driven", "snn.weight_reuse_steps": value}}
    if name == "snn_rate":
        return {"snn": {"snn.firing_rate": value}}
    if name == "precision":
        return {"wl": {"precision": value, "boundary.precision": value}}
    raise ValueError(f"unknown axis {name!r}")


def build_plan(cfg: StudySize) -> Plan:
    """The grid parts of one study size, in a fixed order."""
    plan = Plan(seed=SEED, fidelity="fast")
    scenarios = (REALISTIC, PAPER)
    # part size: model size x link, both scenarios
    for sc in scenarios:
        for link in scenario_links(sc, cfg.links):
            for model in cfg.models:
                add_case(plan, {"part": "size", "model": model, "scenario": sc.name, "link": link}, cfg, sc, link)
    # part regime: batch x weight fetch x SNN timesteps x link
    for sc in scenarios:
        for model in cfg.regime_models:
            for link in cfg.regime_links:
                for batch in cfg.regime_batches:
                    for fetch, reuse in cfg.regime_fetch:
                        for T in cfg.regime_timesteps:
                            labels = {"part": "regime", "model": model, "scenario": sc.name, "link": link,
                                      "batch": batch, "weight_fetch": fetch, "weight_reuse_steps": reuse,
                                      "snn_timesteps": T}
                            add_case(plan, labels, cfg, sc, link,
                                     wl={"stream.batch": batch, "stream.inferences": cfg.regime_inferences},
                                     snn={"snn.weight_fetch": fetch, "snn.weight_reuse_steps": reuse,
                                          "snn.timesteps": T})
    # part axes: one choice at a time around each scenario
    for sc in scenarios:
        for model in cfg.axes_models:
            for axis, values in cfg.axes:
                for v in values:
                    labels = {"part": "axes", "model": model, "scenario": sc.name, "link": sc.links[0] if sc is PAPER
                              else "package", "axis": axis, "value": str(v)}
                    add_case(plan, labels, cfg, sc, None, **_axis_overrides(axis, v, sc))
    # part ladder: the paper's assumptions one by one on top of the realistic defaults
    for model in cfg.ladder_models:
        for n in range(len(PAPER_ASSUMPTIONS) + 1):
            step = ladder_step(n)
            labels = {"part": "ladder", "model": model, "scenario": step.name, "link": "package", "step": n,
                      "assumption": PAPER_ASSUMPTIONS[n - 1].key if n else "realistic"}
            add_case(plan, labels, cfg, step, None)
    _accuracy(plan, cfg)
    # part chiplets: a fixed split over P dies
    for sc in scenarios:
        for link in scenario_links(sc, cfg.chiplet_links):
            for model in cfg.chiplet_models:
                for P in cfg.chiplet_partitions:
                    labels = {"part": "chiplets", "model": model, "scenario": sc.name, "link": link, "dies": P}
                    add_case(plan, labels, cfg, sc, link, wl={"partition": {"count": P}})
    return plan


def _accuracy(plan: Plan, cfg: StudySize) -> None:
    """Part accuracy: the shipped traces replayed in snap mode; ANN-only and SNN-only runs of the same workloads
    (the SNN-only ones at every timestep count a trained reference exists for, at the firing rate it measured:
    the one file the plan reads, the shipped references), each with its reference accuracy in the analysis."""
    hw_file = paths.package(cfg.package)
    for sc in (REALISTIC, PAPER):
        for link in scenario_links(sc, cfg.trace_links):
            s_hw, _ = sc.overrides("snap", link)
            common = {"part": "accuracy", "scenario": sc.name, "link": link}
            for task in cfg.traces:
                wl = paths.workload(f"{task}_snap")
                base = {"stream.inferences": cfg.trace_inferences}
                for enc in cfg.trace_encodings:
                    for level in cfg.levels:
                        wl_ov = {**base, "boundary.encoding": enc}
                        if task == "digits":  # its per-boundary specs repeat the encoding
                            wl_ov.update({"boundaries.0.encoding": enc, "boundaries.1.encoding": enc})
                        plan.run(**common, model=f"{task}-snap", mode="snap", hw_file=hw_file, wl_file=wl,
                                 hw_overrides=s_hw, wl_overrides=wl_ov, trace=paths.trace(f"{task}_snap_l{level}"))
                plan.run(**common, model=f"{task}-snap", mode="ann", hw_file=hw_file, wl_file=wl, hw_overrides=s_hw,
                         wl_overrides=base, trace=None)
                for T, rate in reference_snn(task):  # at the timesteps and firing rate each reference measured
                    plan.run(**common, model=f"{task}-snap", mode="snn", hw_file=hw_file, wl_file=wl,
                             hw_overrides=s_hw, wl_overrides={**base, "snn.timesteps": T, "snn.firing_rate": rate},
                             trace=None)

