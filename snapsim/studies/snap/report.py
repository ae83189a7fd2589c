"""The SNAP study's report: ``summary.md``. Its conclusions are the statements of ``claims.csv`` (every number
in them computed from named runs, each saying the axis values it holds for); the rest is the scenarios'
assumptions, facts read from the loaded configs, and the study's tables.

Facts about the hardware and the workloads (chiplet count and preset, MACs, clock, SRAM, topology, link
presets, stream settings) are read from the loaded configs and the runs, never typed into the sentences, so
the text stays true when a preset or a zoo file changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ...config import load_hardware, load_workload
from ...config.hardware import HardwareConfig
from ...topology import Topology
from .. import paths
from ..report import md_table
from .analysis import GAIN_COLUMNS, WIN_MARGIN, model_settings
from .claims import SHARE_ENERGY, SHARE_LATENCY, fmt
from .paper import PAPER_ENERGY_GAIN, PAPER_LATENCY_GAIN
from .plan import BASE_SPLIT, SEED, StudySize, full_command
from .scenarios import PAPER_LINK

__all__ = ["Facts", "summary"]

NOT_OBTAINED = ("The paper's evaluation details (per-operation energies, link parameters, SNN timesteps, batch) "
                "could not be obtained, so this study does not try to match them: it brackets them with two "
                "scenarios side by side in every part, `realistic` (snapsim's cited defaults) and `paper` (stated "
                "assumptions under which figures of the paper's size arise), and shows how far apart they are.")


@dataclass(frozen=True)
class Facts:
    """What the prose says about the inputs, read from the configs the study ran."""

    package: HardwareConfig
    streams: tuple[tuple[str, int, int], ...]  # distinct (injection, max_in_flight, batch) of the models

    @classmethod
    def load(cls, cfg: StudySize) -> "Facts":
        package = load_hardware(paths.package(cfg.package))
        streams = []
        for model in cfg.models:
            s = load_workload(paths.zoo(model, BASE_SPLIT)).stream
            streams.append((s.injection, s.max_in_flight, s.batch))
        return cls(package, tuple(sorted(set(streams))))


def _topology_words(hw: HardwareConfig) -> str:
    t = hw.topology
    if t.kind in ("mesh2d", "torus2d"):
        return f"a {t.rows}x{t.cols} {'mesh' if t.kind == 'mesh2d' else 'torus'}"
    return {"ring": "a ring", "fully_connected": "a fully connected package"}.get(t.kind, "custom edges")


def _chiplet_words(hw: HardwareConfig) -> str:
    """How many chiplets of which preset, with their MACs, clock, SRAM and DRAM, as the config says."""
    c = hw.chiplet
    return (f"{hw.topology.n_chiplets} `{c.name}` chiplets ({c.compute.mac_units} MACs at {c.compute.clock_ghz:g} GHz, "
            f"{c.sram.capacity_mib:g} MiB SRAM, {c.dram.capacity_gib:g} GiB DRAM at {c.dram.bandwidth_gbytes_per_s:g} "
            "GB/s each)")


def _neighbour_chain(hw: HardwareConfig) -> bool:
    mapping = hw.mapping or list(range(hw.topology.n_chiplets))
    adj = Topology(hw.topology).adj
    return all(b in adj[a] for a, b in zip(mapping, mapping[1:]))


def _statements(claims: pd.DataFrame, part: str) -> list[str]:
    """The distinct statements of a part's claims, in order, as bullets."""
    c = claims[claims["part"] == part]
    return [f"- {s}" for s in dict.fromkeys(c["statement"])]


def _assumptions(cfg: StudySize, facts: Facts, tables: dict) -> list[str]:
    hw = facts.package
    c = hw.chiplet
    streams = "; ".join(f"{inj} loop, max_in_flight={mif}, batch {b}" for inj, mif, b in facts.streams)
    chain = "consecutive partitions sit on neighbouring dies" if _neighbour_chain(hw) else "custom mapping"
    paper_gbps = PAPER_LINK["link.lanes"] * PAPER_LINK["link.rate_gtps"]
    return [
        f"- Hardware: `{hw.name}`: {_chiplet_words(hw)} in {_topology_words(hw)}, mapping {hw.mapping} ({chain}); "
        f"partition p runs on die mapping[p] (tensor parallel: k consecutive dies). SRAM per-bit energy "
        f"{c.sram.read_energy_pj_per_bit:g} pJ/bit read for an array of {c.sram.energy_reference_kib:g} KiB, scaled "
        f"by (array size / that)^{c.sram.energy_size_exponent:g} (the preset's {c.sram.arrays} arrays of "
        f"{c.sram.capacity_mib * 1024 / c.sram.arrays:g} KiB); weights resident up to the SRAM, the rest streamed "
        "from DRAM.",
        f"- Workloads: zoo `MODEL_p{BASE_SPLIT}.yaml` files (their stages; the scenario decides the split), "
        f"seed {SEED}; streams as the zoo ships them ({streams}), `stream.inferences` = {cfg.inferences} per run "
        f"(traces: {cfg.trace_inferences}). The paper link is {PAPER_LINK['link.lanes']} lane x "
        f"{PAPER_LINK['link.rate_gtps']:g} GT/s = {paper_gbps:g} Gb/s per direction at "
        f"{PAPER_LINK['link.energy_pj_per_bit']:g} pJ/bit with no idle power.", "",
        md_table(model_settings(tables["runs"])), "",
        "- Modes (docs/design.md): ANN-only = dense compute, dense boundaries at the workload precision; SNN-only = "
        "every stage spiking for `snn.timesteps` at `snn.firing_rate` (accumulates = MACs x rate at the precision's "
        "accumulate cost, one update per layer-level neuron with its membrane state in SRAM, weights fetched by "
        "`snn.weight_fetch`); SNAP = dense compute, a spike encoder/decoder at each pipeline boundary.",
        f"- Latency: p50 at the case's load (`stream.max_in_flight` inferences in flight, the same for the three "
        "designs of a case) and zero-load (the first inference, exact to the tick); energy per inference counts link "
        "idle power over the run; per sample = per inference / batch. A design *wins* a metric only by more than "
        f"{WIN_MARGIN - 1:.0%}; otherwise the designs within it tie (`ann~snap`).",
        "", "Both scenarios, every assumption (`scenarios.csv`):", "",
        md_table(tables["scenarios"][["scenario", "key", "assumption", "source"]]), ""]


def summary(size: str, cfg: StudySize, facts: Facts, tables: dict[str, pd.DataFrame], elapsed: float, where: str,
            ranges=None) -> str:
    """``summary.md``: ``where`` says what ran the study (e.g. ``2 worker(s)``)."""
    runs, gains, claims = tables["runs"], tables["gains"], tables["claims"]
    ok = runs["status"] == "ok"
    lines = [f"# SNAP reproduction study ({size} size)", "",
             f"{len(runs)} snapsim runs ({int((~ok).sum())} failed), {len(gains)} gain cases, {elapsed:.1f} s on "
             f"{where}. Every number below comes from those runs (`runs.csv`); every gain is a ratio of two rows of "
             "it, named in `gains.csv` by run_id, and every number a conclusion states is a row of `claims.csv` with "
             "the runs it is computed from.", "", f"Full-size command: `{full_command()}`", "", NOT_OBTAINED, "",
             "## Assumptions", "", *_assumptions(cfg, facts, tables)]

    pvr = tables["paper_vs_realistic"]
    lines += ["## Paper scenario vs realistic (parts ladder, size)", "",
              f"The ceilings: SNAP's energy gain over ANN-only is at most 1/(1-s), s = the share of the ANN design's "
              f"energy on its D2D links (the most SNAP can remove; {PAPER_ENERGY_GAIN}x needs s >= "
              f"{SHARE_ENERGY:.1%}); its zero-load latency gain at most 1/(1-s_t), s_t = the share of the ANN "
              f"design's zero-load latency above compute plus one flit per boundary ({PAPER_LATENCY_GAIN}x needs "
              f"s_t >= {SHARE_LATENCY:.1%}). Both are computed from each case's ANN run. `short_of_paper` = the "
              "paper's figure / the gain.", ""]
    if len(pvr):
        lines += [md_table(pvr[[c for c in pvr.columns if not c.startswith("run_id")]]), "",
                  "![gains as the paper's assumptions are applied one by one](paper_vs_realistic.png)", ""]
    lines += ["## Conclusions (each with the axis values it holds for; `claims.csv` names the runs)", ""]
    for part, title in (("ladder", "Assumption ladder"), ("size", "Model size"), ("chiplets", "Die count"),
                        ("axes", "One choice at a time"), ("accuracy", "Accuracy"), ("targets", "Link thresholds")):
        st = _statements(claims, part)
        if st:
            lines += [f"### {title}", "", *st, ""]
    regime = claims[claims["part"] == "regime"]
    if len(regime):
        lines += ["### Regime map (batch x weight fetch x SNN timesteps x link)", "",
                  *[f"- {s}" for s in dict.fromkeys(regime.loc[regime["kind"] == "wins", "statement"])], "",
                  "Where SNAP starts to beat SNN-only as SNN-only needs more timesteps, per (scenario, model, link, "
                  "batch, fetch):", "",
                  *[f"- {s}" for s in dict.fromkeys(regime.loc[regime["kind"] != "wins", "statement"])], ""]

    lines += _tables(tables, ranges)
    lines += ["## What is not covered", "",
              "- The zoo models have no trained SNAP boundaries; their firing rates are the zoo's assumptions. Only "
              "the two small trained examples (digits, charlm) carry measured rates and accuracies, and only they "
              "have ANN-only and SNN-only accuracy references (`workloads/references.json`).",
              "- Tensor-parallel traffic stays dense in SNAP: its encoders sit at pipeline boundaries only. The "
              "all-gather half of a collective carries activations a per-stage encoder could spike (not modelled); "
              "the reduce-scatter half carries partial sums, which spikes cannot encode.",
              "- SNN-only timesteps are a cost axis here; how many timesteps a network needs for a given accuracy is "
              "measured only for the two trained examples.", ""]
    if (~ok).any():
        lines += ["## Failed runs", "", md_table(runs.loc[~ok, ["run_id", "model", "link", "mode", "error"]]), ""]
    return "\n".join(lines)


def _tables(tables: dict, ranges) -> list[str]:
    gains, out = tables["gains"], []
    size = gains[gains["part"] == "size"]
    if len(size):
        out += ["## Part size: model size, each scenario", "",
                md_table(size[["scenario", "link", "model", "params", "dies_used", *GAIN_COLUMNS,
                               "ann_d2d_energy_share", "energy_ceiling_vs_ann", "latency_zl_ceiling_vs_ann",
                               "ann_dram_energy_share"]]), "",
                "Does the margin grow with model size (`size_trend.csv`; `_grows`: >1% larger at the largest "
                "model; Spearman rho vs parameters):", "",
                md_table(tables["size_trend"][["scenario", "link", "domain", "smallest", "largest", "dies",
                                               "energy_gain_vs_ann_smallest", "energy_gain_vs_ann_largest",
                                               "energy_gain_vs_ann_spearman", "energy_gain_vs_ann_grows",
                                               "latency_zl_gain_vs_ann_grows", "energy_gain_vs_snn_grows"]]), "",
                "![gains vs model size](gains_vs_size.png)", ""]
    lad = tables["ladder"]
    if len(lad):
        out += ["## Part ladder: the paper's assumptions one by one", "",
                md_table(lad[[c for c in lad.columns if not c.startswith("run_id")]]), ""]
    reg = tables["regime"]
    if len(reg):
        out += ["## Part regime: who wins (energy per sample, p50 latency at load, zero-load latency)", "",
                md_table(reg[[c for c in reg.columns if not c.startswith(("run_id", "latency_gain", "energy_gain"))]]),
                "", *[f"![regime map {s} {m}](regime_map_{s}_{m}.png)" for s, m in
                      dict.fromkeys(zip(reg["scenario"], reg["model"]))], ""]
    ax = tables["axes"]
    if len(ax):
        out += ["## Part axes: one choice at a time", "",
                md_table(ax[[c for c in ax.columns if not c.startswith("run_id")]]), ""]
    acc, front = tables["accuracy"], tables["accuracy_front"]
    if len(acc):
        out += ["## Part accuracy: SNAP levels beside the ANN-only and SNN-only references", "",
                md_table(acc[["scenario", "task", "design", "level", "link", "encoding", "timesteps", "accuracy",
                              "firing_rate", "d2d_bits_per_inf", "energy", "latency_ns_p50"]]), "",
                "Three-objective Pareto front per (scenario, task): min energy, min p50 latency, max accuracy:", "",
                md_table(front[["scenario", "task", "design", "level", "link", "encoding", "timesteps", "accuracy",
                                "energy", "latency_ns_p50"]]), "", "![accuracy front](accuracy_pareto.png)", ""]
    ch = tables["chiplets"]
    if len(ch):
        out += ["## Part chiplets: a fixed split over P dies", "",
                md_table(ch[[c for c in ch.columns if c.startswith(("scenario", "link", "model", "energy_gain_vs_ann",
                                                                    "latency_gain_vs_ann", "ann_"))]]), "",
                "![gains vs die count](gains_vs_chiplets.png)", ""]
    t = tables.get("targets")
    if t is not None and len(t):
        (lo_g, hi_g), (lo_e, hi_e) = ranges or ((math.nan, math.nan), (math.nan, math.nan))
        out += ["## Part targets: where SNAP reaches the paper's figures, searching the link", "",
                f"Each scenario's assumptions with the package's own link searched: energy per bit (closed form, "
                f"checked by runs), bandwidth (one lane, grid then bisection) and SNN-only timesteps (grid then "
                f"bisection). The presets span {fmt(lo_g)}-{fmt(hi_g)} Gb/s per direction and {fmt(lo_e)}-{fmt(hi_e)} "
                "pJ/bit.", "",
                md_table(t[[c for c in ("scenario", "model", "search", "link_power", "metric", "target", "threshold",
                                        "threshold_unit", "limit", "gain_at_threshold", "reached") if c in t]]), "",
                "![gains vs link](gains_vs_link.png)", ""]
    return out
