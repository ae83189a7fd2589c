"""What the SNAP study runs: its sizes and its plan (pure: no file read, no simulation).

Four grid parts, each a list of *cases* (one gain row each, naming an ANN-only, an SNN-only and a SNAP
run) or of single runs:

* ``size``: language and vision zoo models, each split over 4 chiplets, on several D2D link presets, in
  two memory scenarios (``shipped``: the chiplet preset's SRAM, weights that do not fit stream from DRAM
  every inference; ``weights-on-die``: an idealised SRAM large enough for every partition's weights);
* ``regime``: one mid-size model, sweeping link lanes (bandwidth) x link pJ/bit, and boundary firing
  rate x timesteps, to map where SNAP wins and where it loses;
* ``accuracy``: the shipped SNAP traces (four sparsity levels each of a digits MLP and a char-LM)
  replayed in snap mode on a few link presets;
* ``chiplets``: a few models each split over 2, 4, 8 and 16 partitions (zoo ``_p2`` ... ``_p16``), one
  partition per die of a 16-die package (the first P dies of a neighbour chain), on a few link presets in
  both memory scenarios.

The fifth part, ``targets`` (:mod:`.targets`), is a search: its runs are chosen from earlier results.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import paths
from ..plan import Plan
from .targets import TargetSearch

__all__ = ["MODES", "SCENARIOS", "SEED", "SIZES", "StudySize", "WEIGHTS_ON_DIE_SRAM_MIB", "build_plan",
           "full_command"]

MODES = ("ann", "snn", "snap")
SEED = 0
#: "weights-on-die": SRAM per chiplet (MiB) large enough for every partition of every zoo model (RWKV-14B
#: over 4 dies needs ~7 GiB per die). An idealisation, not a real die: SRAM energy and bandwidth per
#: bit are the preset's.
WEIGHTS_ON_DIE_SRAM_MIB = 1_048_576
SCENARIOS = {"shipped": {}, "weights-on-die": {"chiplet.sram.capacity_mib": WEIGHTS_ON_DIE_SRAM_MIB}}


@dataclass(frozen=True)
class StudySize:
    """One size of the study: what each part runs. Packages are shipped package names, models zoo names."""

    package: str
    models: tuple[str, ...]
    links: tuple[str, ...]
    scenarios: tuple[str, ...]
    inferences: int
    regime_models: tuple[str, ...]
    regime_scenario: str
    regime_lanes: tuple[int, ...]
    regime_energy_pj_per_bit: tuple[float, ...]
    regime_firing_rates: tuple[float, ...]
    regime_timesteps: tuple[int, ...]
    trace_links: tuple[str, ...]
    trace_inferences: int
    traces: tuple[str, ...] = ("digits", "charlm")
    trace_encodings: tuple[str, ...] = ("bitmap", "aer")
    levels: tuple[int, ...] = (0, 1, 2, 3)
    partitions: int = 4
    #: part ``chiplets``: each model over every partition count (zoo ``MODEL_p{P}.yaml``), partition p on
    #: die mapping[p] of this package (mapping[:P] is a neighbour chain for every P), per link x scenario
    chiplet_package: str = "xsr-serdes-4x4"
    chiplet_models: tuple[str, ...] = ()
    chiplet_partitions: tuple[int, ...] = (2, 4, 8, 16)
    chiplet_links: tuple[str, ...] = ()
    chiplet_scenarios: tuple[str, ...] = ("shipped", "weights-on-die")
    #: part ``targets``: the link energy per bit and bandwidth at which SNAP reaches the paper's figures
    targets: TargetSearch | None = None
    #: worker processes when the caller gives none (None: the CPUs available, at most 8)
    workers: int | None = None


_RWKV = ("rwkv-0.17b", "rwkv-0.43b", "rwkv-1.5b", "rwkv-3b", "rwkv-7b", "rwkv-14b")
_VISION = ("resnet18", "resnet50", "vgg16", "vit-b16")

SIZES: dict[str, StudySize] = {
    "small": StudySize(
        package="xsr-serdes-1x4",
        models=("rwkv-0.17b", "rwkv-1.5b", "resnet18"),
        links=("ucie-advanced-32g", "lr-serdes-board-112g"),
        scenarios=("shipped", "weights-on-die"),
        inferences=4,
        regime_models=("rwkv-1.5b",),
        regime_scenario="weights-on-die",
        regime_lanes=(1, 16),
        regime_energy_pj_per_bit=(1.2, 20.0),
        regime_firing_rates=(0.05, 0.2),
        regime_timesteps=(4, 16),
        trace_links=("ucie-advanced-32g", "lr-serdes-board-112g"),
        trace_inferences=8,
        chiplet_models=("rwkv-0.17b", "resnet18"),
        chiplet_partitions=(2, 16),
        chiplet_links=("lr-serdes-board-112g",),
        chiplet_scenarios=("shipped", "weights-on-die"),
        targets=TargetSearch(models=("resnet18", "rwkv-0.17b"), rates_gtps=(0.25, 1.0, 4.0, 16.0, 64.0),
                             bisection_steps=4, snn_timesteps=(4, 32, 256)),
        workers=1,
    ),
    "default": StudySize(
        package="xsr-serdes-1x4",
        models=_RWKV + _VISION,
        links=("ucie-advanced-32g", "ucie-standard-16g", "bow-256", "xsr-serdes-112g", "lr-serdes-board-112g"),
        scenarios=("shipped", "weights-on-die"),
        inferences=16,
        regime_models=("rwkv-1.5b", "resnet50"),
        regime_scenario="weights-on-die",
        regime_lanes=(1, 2, 4, 16, 64),
        regime_energy_pj_per_bit=(0.1, 0.3, 1.2, 5.5, 20.0),
        regime_firing_rates=(0.01, 0.05, 0.1, 0.2, 0.5),
        regime_timesteps=(1, 2, 4, 8, 16),
        trace_links=("ucie-advanced-32g", "xsr-serdes-112g", "lr-serdes-board-112g"),
        trace_inferences=32,
        chiplet_models=("rwkv-0.43b", "rwkv-7b", "resnet50", "vit-b16"),
        chiplet_partitions=(2, 4, 8, 16),
        chiplet_links=("ucie-advanced-32g", "lr-serdes-board-112g"),
        chiplet_scenarios=("shipped", "weights-on-die"),
        targets=TargetSearch(models=_RWKV + _VISION),
    ),
}


def full_command(out_dir: str = "study_out") -> str:
    return f".venv/bin/python -m snapsim study snap --size default --out {out_dir}"


def add_case(plan: Plan, labels: dict, hw_file, wl_file, hw_ov: dict, wl_common: dict, wl_snap: dict) -> None:
    """One gain case: the ANN-only, SNN-only and SNAP runs of one model on one hardware (SNAP with
    ``wl_snap`` on top of ``wl_common``), recorded as ``run_id_<mode>`` beside ``labels``."""
    ids = {}
    for mode in MODES:
        wl_ov = {**wl_common, **(wl_snap if mode == "snap" else {})}
        ids[mode] = plan.run(**labels, mode=mode, hw_file=hw_file, wl_file=wl_file, hw_overrides=hw_ov,
                             wl_overrides=wl_ov, trace=None)
    plan.case(**labels, **{f"run_id_{m}": ids[m] for m in MODES})


def build_plan(cfg: StudySize) -> Plan:
    """The grid parts (size, regime, accuracy, chiplets) of one study size, in a fixed order."""
    plan = Plan(seed=SEED, fidelity="fast")
    hw_file = paths.package(cfg.package)
    stream = {"stream.inferences": cfg.inferences}
    # part 1: model size x link x memory scenario
    for scenario in cfg.scenarios:
        for link in cfg.links:
            for model in cfg.models:
                labels = {"part": "size", "model": model, "scenario": scenario, "link": link}
                hw_ov = {"link.preset": link, **SCENARIOS[scenario]}
                add_case(plan, labels, hw_file, paths.zoo(model, cfg.partitions), hw_ov, stream, {})
    # part 2: regime map, per model: lanes x pJ/bit at every (firing rate, timesteps)
    for model in cfg.regime_models:
        wl = paths.zoo(model, cfg.partitions)
        for lanes in cfg.regime_lanes:
            for epb in cfg.regime_energy_pj_per_bit:
                hw_ov = {"link.lanes": lanes, "link.energy_pj_per_bit": epb, **SCENARIOS[cfg.regime_scenario]}
                for fr in cfg.regime_firing_rates:
                    for ts in cfg.regime_timesteps:
                        labels = {"part": "regime", "model": model, "scenario": cfg.regime_scenario, "link": "package"}
                        add_case(plan, labels, hw_file, wl, hw_ov, stream,
                                 {"boundary.firing_rate": fr, "boundary.timesteps": ts})
    # part 3: accuracy, the shipped traces replayed in snap mode
    for task in cfg.traces:
        wl = paths.workload(f"{task}_snap")
        for link in cfg.trace_links:
            for enc in cfg.trace_encodings:
                for level in cfg.levels:
                    wl_ov = {"stream.inferences": cfg.trace_inferences, "boundary.encoding": enc}
                    if task == "digits":  # its per-boundary specs repeat the encoding
                        wl_ov.update({"boundaries.0.encoding": enc, "boundaries.1.encoding": enc})
                    plan.run(part="accuracy", model=f"{task}-snap", scenario="shipped", link=link, mode="snap",
                             hw_file=hw_file, wl_file=wl, hw_overrides={"link.preset": link}, wl_overrides=wl_ov,
                             trace=paths.trace(f"{task}_snap_l{level}"))
    # part 4: number of chiplets, each model split over P partitions on the first P dies of the 16-die package
    chiplet_hw = paths.package(cfg.chiplet_package)
    for scenario in cfg.chiplet_scenarios:
        for link in cfg.chiplet_links:
            for model in cfg.chiplet_models:
                for parts in cfg.chiplet_partitions:
                    labels = {"part": "chiplets", "model": model, "scenario": scenario, "link": link}
                    hw_ov = {"link.preset": link, **SCENARIOS[scenario]}
                    add_case(plan, labels, chiplet_hw, paths.zoo(model, parts), hw_ov, stream, {})
    return plan
