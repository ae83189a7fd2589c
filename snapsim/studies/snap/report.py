"""The SNAP study's report: ``summary.md`` (assumptions, headline, one section per part, conclusion) and the
sentences in it, every figure counted from the study's tables.

Facts about the hardware and the workloads (chiplet count and preset, MACs, clock, SRAM, topology, link
preset and its idle power, stream settings, firing rates) are read from the loaded configs and the runs,
never typed into the sentences, so the text stays true when a preset or a zoo file changes.
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
from .analysis import GROWTH_TOLERANCE, model_settings
from .paper import PAPER_ENERGY_GAIN, PAPER_LATENCY_GAIN, PAPER_TARGETS
from .plan import SEED, WEIGHTS_ON_DIE_SRAM_MIB, StudySize, full_command
from .targets import LINK_POWER, POWER_MANAGED_SOURCE, SNN_TARGETS, idle_fraction

__all__ = ["Facts", "chiplets_sentence", "conclusion", "summary", "targets_conclusion", "targets_sentences",
           "trend_sentence"]


# ----------------------------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class Facts:
    """What the prose says about the inputs, read from the configs the study ran."""

    package: HardwareConfig  # the package of parts size, regime, accuracy and targets
    chiplet_package: HardwareConfig | None  # the package of part chiplets
    streams: tuple[tuple[str, int, int], ...]  # distinct (injection, max_in_flight, batch) of the size models

    @classmethod
    def load(cls, cfg: StudySize) -> "Facts":
        package = load_hardware(paths.package(cfg.package))
        chiplet_package = load_hardware(paths.package(cfg.chiplet_package)) if cfg.chiplet_models else None
        streams = []
        for model in cfg.models:
            s = load_workload(paths.zoo(model, cfg.partitions)).stream
            streams.append((s.injection, s.max_in_flight, s.batch))
        return cls(package, chiplet_package, tuple(sorted(set(streams))))


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
    """Whether consecutive partitions sit on neighbouring dies (mapping[p], mapping[p + 1] share a link)."""
    mapping = hw.mapping or list(range(hw.topology.n_chiplets))
    adj = Topology(hw.topology).adj
    return all(b in adj[a] for a, b in zip(mapping, mapping[1:]))


def _span(values: pd.Series, fmt: str = "g") -> str:
    """``a`` or ``a-b`` (min-max) of the values, in ``fmt``."""
    v = values.dropna()
    if not len(v):
        return "n/a"
    lo, hi = v.min(), v.max()
    return format(lo, fmt) if lo == hi else f"{format(lo, fmt)}-{format(hi, fmt)}"


# ---------------------------------------------------------------------------------------------- summary


def _assumptions(cfg: StudySize, facts: Facts, runs: pd.DataFrame, gains: pd.DataFrame) -> list[str]:
    hw = facts.package
    ok = runs[runs["status"] == "ok"]
    size_shipped = gains[(gains["part"] == "size") & (gains["scenario"] == "shipped")]
    lang = size_shipped[size_shipped["domain"] == "language"]["ann_dram_energy_share"]
    dram = (f" (DRAM is {_span(lang, '.0%')} of the language models' ANN-only energy in these runs)"
            if len(lang) else "")
    streams = "; ".join(f"{inj} loop, max_in_flight={mif}, batch {b}" for inj, mif, b in facts.streams)
    regime = ok[ok["part"] == "regime"]
    idle = ("Link idle power is kept at the preset value "
            f"({_span(regime['link_idle_power_mw'], '.6g')} mW) when lanes or pJ/bit change."
            if regime["link_idle_power_mw"].nunique() <= 1 else
            f"Link idle power follows the runs' links ({_span(regime['link_idle_power_mw'], '.6g')} mW) as lanes "
            "and pJ/bit change.")
    acc = ok[ok["part"] == "accuracy"]
    acc_t = ", ".join(f"{m}: T={_span(g['timesteps'])}" for m, g in acc.groupby("model", sort=False))
    acc_wl = " and ".join(f"`{p}`" for p in dict.fromkeys(acc["wl_file"].map(paths.relative)))
    acc_tr = ", ".join(f"`{paths.relative(t)}`" for t in dict.fromkeys(acc["trace"]))
    lines = [
        f"- Hardware: `{hw.name}`: {_chiplet_words(hw)} in {_topology_words(hw)}, one model partition per "
        f"chiplet (zoo `_p{cfg.partitions}` workloads). The link preset is swapped with `link.preset` "
        f"({', '.join(cfg.links)}); topology, mapping and chiplet stay the package's.",
        f"- Memory scenarios: `shipped` = the preset's {hw.chiplet.sram.capacity_mib:g} MiB SRAM per die; weights "
        f"of a partition that do not fit stream from DRAM every inference{dram}. `weights-on-die` = "
        f"`chiplet.sram.capacity_mib` overridden to {WEIGHTS_ON_DIE_SRAM_MIB} MiB so every partition's weights "
        "stay in SRAM: an idealisation (no real die has that), with the preset's SRAM energy per bit and "
        "bandwidth, that isolates compute and communication.",
        "- Modes as implemented by snapsim (docs/design.md): ANN-only = dense compute, dense boundary "
        "activations at the workload precision; SNN-only = every stage spiking for `snn.timesteps` steps at "
        "`snn.firing_rate`, accumulates = MACs x rate, weights fetched event-driven; SNAP = dense compute on "
        "each die, spike encoder/decoder only at the boundaries.",
        "- Per-model settings, as shipped in the zoo files (assumptions of those files: no trace exists for "
        f"these models); SNAP spike counts are drawn Binomial(neurons, rate) with seed {SEED}:", "",
        md_table(model_settings(runs)), "",
        f"- Streams: `stream.inferences` = {cfg.inferences} per run (the zoo's {streams}); latency is the p50 "
        "per inference, energy per inference includes link idle power for the run's duration.",
        f"- Regime map: {', '.join(f'`{m}_p{cfg.partitions}`' for m in cfg.regime_models)}, scenario "
        f"`{cfg.regime_scenario}`, on the package's own link preset (`{hw.link.name}`) with `link.lanes` in "
        f"{list(cfg.regime_lanes)} (bandwidth) x `link.energy_pj_per_bit` in {list(cfg.regime_energy_pj_per_bit)}, "
        f"and boundary firing rate in {list(cfg.regime_firing_rates)} x timesteps in {list(cfg.regime_timesteps)} "
        f"(full grid). {idle} SNN-only runs keep the zoo's snn settings (the regime only varies SNAP's boundary).",
        f"- Accuracy axis: the shipped traces {acc_tr} (sparsity levels {list(cfg.levels)}) replayed in snap "
        f"mode ({cfg.trace_inferences} inferences each) with {acc_wl} ({acc_t}), each with the "
        f"{' and '.join(e.upper() if e == 'aer' else e for e in cfg.trace_encodings)} wire encodings, on links "
        f"{', '.join(cfg.trace_links)}; accuracy is the manifest's `metrics.accuracy` of the trained model at "
        "that sparsity level. The three-objective front (min energy, min p50 latency, max accuracy) is per task.",
        *_chiplets_assumption(cfg, facts),
        "- Nothing is tuned toward the paper: presets and zoo values are used as shipped.", ""]
    return lines


def _chiplets_assumption(cfg: StudySize, facts: Facts) -> list[str]:
    hw4 = facts.chiplet_package
    if hw4 is None or not (cfg.chiplet_models and cfg.chiplet_links and cfg.chiplet_scenarios):
        return []
    hw = facts.package
    same = [what for what, a, b in (("chiplet", hw4.chiplet, hw.chiplet), ("link", hw4.link, hw.link)) if a == b]
    same_words = (f", same {' and '.join(same)} preset{'s' if len(same) > 1 else ''} as `{hw.name}`" if same else "")
    mapping = hw4.mapping or list(range(hw4.topology.n_chiplets))
    chain = ("so the first P dies are a chain of neighbours for every P" if _neighbour_chain(hw4) else
             "(consecutive partitions are not all on neighbouring dies)")
    return [f"- Chiplet count: `{hw4.name}`: {_chiplet_words(hw4)} in {_topology_words(hw4)}{same_words}; "
            f"partition p runs on die mapping[p] with mapping = {mapping}, {chain}; "
            f"{', '.join(cfg.chiplet_models)} are run as zoo "
            f"`_p{{{','.join(str(p) for p in cfg.chiplet_partitions)}}}` (the same model split over P "
            "partitions; P-1 boundaries, P dies used, the other dies and their links idle and not charged). In "
            f"the `shipped` scenario more dies also mean more total SRAM ({hw4.chiplet.sram.capacity_mib:g} MiB "
            "each), so fewer weights stream from DRAM."]


def _targets_section(cfg: StudySize, facts: Facts, runs: pd.DataFrame, targets: pd.DataFrame, ranges) -> list[str]:
    t = cfg.targets
    link = facts.package.link
    snap = runs[(runs["part"] == "targets") & (runs["mode"] == "snap")]
    encodings = ", ".join(e.upper() if e == "aer" else e for e in dict.fromkeys(snap["encoding"].dropna()))
    return [
        "## Where do the gains reach the paper's figures? (part `targets`)", "",
        f"Per model (`_p{t.partitions}`, `weights-on-die`, the `{facts.package.name}` package's link "
        f"`{link.name}`; SNAP at firing rate {t.firing_rate:g}, T={t.timesteps}, the zoo's {encodings} encoding), three "
        "searches of the D2D link, each point a pair of runs (`run_ids` in `targets.csv`, rows in `runs.csv`, "
        "part `targets`):", "",
        f"- energy per bit: energy per inference is affine in the link's pJ/bit (bits and timing do "
        f"not depend on it), so two runs per design ({t.energy_points_pj_per_bit[0]:g} and "
        f"{t.energy_points_pj_per_bit[1]:g} pJ/bit) give the pJ/bit where energy(ANN)/energy(SNAP) = "
        f"{PAPER_ENERGY_GAIN} in closed form, and a run at that value checks it (`gain_at_threshold`). "
        "Idle and sleep power scale with pJ/bit as the presets derive them. Three link power models: "
        f"`always-on` (as `{link.name}`: idle at {idle_fraction(link):.0%} of active power), `power-managed` (a "
        f"low-power state entered after {t.sleep_after_idle_ns:g} ns idle, {t.wake_latency_ns:g} ns wake, "
        f"{t.sleep_power_frac:g} of active power: {POWER_MANAGED_SOURCE}), `gated-ideal` (zero idle power, free "
        "wake: an upper bound). `limit` = the gain as pJ/bit grows without bound; `inf` threshold = never reached.",
        f"- bandwidth: one lane, `rate_gtps` over {list(t.rates_gtps)} GT/s ({link.bits_per_transfer} bits per "
        f"transfer, as `{link.name}`), idle power scaled with bandwidth, always-on; bisection "
        f"({t.bisection_steps} steps) between the fastest grid link that reaches the figure and the next "
        "one; `threshold` = the highest bandwidth found that still reaches it, `limit` = the best "
        "gain on the grid.",
        f"- SNN-only timesteps: the SNN-only design (the zoo's `snn.firing_rate`) run with `snn.timesteps` "
        f"over {list(t.snn_timesteps)}, then integer bisection: `threshold` = the fewest timesteps at "
        "which SNAP's gain over SNN-only reaches break-even (1x) or the paper's figure; a run at one "
        "timestep fewer does not (`snn_timesteps_below`, `gain_below`). How many timesteps an SNN needs "
        "for the accuracy of the ANN is a property of the trained network that snapsim does not model; "
        "this converts the SNN-only comparison into that one number.", "",
        *targets_sentences(targets, *(ranges or ((math.nan, math.nan), (math.nan, math.nan)))), "",
        md_table(targets.drop(columns=["run_ids"], errors="ignore")[
            [c for c in ("model", "search", "link_power", "metric", "target", "threshold", "threshold_unit",
                         "limit", "gain_at_threshold", "reached") if c in targets]]), ""]


def summary(size: str, cfg: StudySize, facts: Facts, tables: dict[str, pd.DataFrame], elapsed: float, where: str,
            ranges=None) -> str:
    """``summary.md``: ``where`` says what ran the study (e.g. ``2 worker(s)``)."""
    runs, gains, trend, regime = tables["runs"], tables["gains"], tables["size_trend"], tables["regime"]
    acc, front, chiplets, targets = tables["accuracy"], tables["accuracy_front"], tables["chiplets"], tables.get("targets")
    ok = runs["status"] == "ok"
    g = gains[gains["part"] == "size"]
    lines = [f"# SNAP reproduction study ({size} size)", "",
             f"{len(runs)} snapsim runs ({int((~ok).sum())} failed), {len(gains)} gain cases, "
             f"{elapsed:.1f} s on {where}. Every number below comes from those runs "
             "(`runs.csv`); every gain is a ratio of two rows of it, named in `gains.csv` by run_id.", "",
             f"Full-size command: `{full_command()}`", "",
             "## Assumptions", "",
             *_assumptions(cfg, facts, runs, gains)]

    # headline numbers
    lines += ["## Headline", ""]
    for col, paper in (("energy_gain_vs_ann", PAPER_ENERGY_GAIN), ("energy_gain_vs_snn", PAPER_ENERGY_GAIN),
                       ("latency_gain_vs_ann", PAPER_LATENCY_GAIN), ("latency_gain_vs_snn", PAPER_LATENCY_GAIN)):
        for part, sub in (("size", g), ("regime", gains[gains["part"] == "regime"]),
                          ("chiplets", gains[gains["part"] == "chiplets"])):
            v = sub[col].dropna()
            if not len(v):
                continue
            best = sub.loc[v.idxmax()]
            where = f"{best['partitions']:g} chiplets, " if part == "chiplets" else ""
            lines.append(
                f"- {col} [{part}]: min {v.min():.3g}, median {v.median():.3g}, max {v.max():.3g} "
                f"(at {best['model']}, {where}{best['scenario']}, {best['link']}, lanes {best['link_lanes']}, "
                f"{best['link_energy_pj_per_bit']:g} pJ/bit, rate {best['firing_rate']:g}, T {best['timesteps']:g}); paper {paper}x reached in "
                f"{int((v >= paper).sum())}/{len(v)} cases; SNAP loses (gain < 1) in {int((v < 1).sum())}/{len(v)}")
    lines.append("")
    if targets is not None and len(targets):
        lines += _targets_section(cfg, facts, runs, targets, ranges)
    lines += ["## Does the margin grow with model size?", "", trend_sentence(trend), "",
              md_table(trend[["scenario", "link", "domain", "smallest", "largest",
                              "energy_gain_vs_ann_smallest", "energy_gain_vs_ann_largest", "energy_gain_vs_ann_spearman",
                              "latency_gain_vs_ann_smallest", "latency_gain_vs_ann_largest",
                              "latency_gain_vs_ann_spearman", "energy_gain_vs_snn_spearman"]]), ""]
    if len(chiplets):
        counts = [c[len("energy_gain_vs_ann_p"):] for c in chiplets.columns if c.startswith("energy_gain_vs_ann_p")]
        lines += ["## Does the margin grow with the number of chiplets?", "",
                  f"Part `chiplets`: {', '.join(cfg.chiplet_models)}, each split over {', '.join(counts)} "
                  f"partitions (zoo `_p<P>` files), partition p on die mapping[p] of `{cfg.chiplet_package}` "
                  f"(a neighbour chain, P-1 boundaries, P dies used), links {', '.join(cfg.chiplet_links)}, "
                  f"scenarios {', '.join(cfg.chiplet_scenarios)}; {cfg.inferences} inferences per run. `_p<P>` "
                  "columns: SNAP's gain over ANN-only and the ANN design's D2D (`ann_d2d_energy_share`; its "
                  "per-bit part `ann_d2d_dynamic_share`, the rest is link idle power) and DRAM "
                  "(`ann_dram_energy_share`) shares of its energy at P chiplets; `_spearman` = rank correlation "
                  "with P (empty when the gain is constant); `_grows` = >1% larger at the largest P than at the "
                  "smallest.", "",
                  chiplets_sentence(chiplets), "",
                  md_table(chiplets.drop(columns=["domain", "partitions"])), ""]
    lines += ["## Gains per model and link (part `size`)", "",
              md_table(g[["scenario", "link", "model", "params", "energy_gain_vs_ann", "energy_gain_vs_snn",
                          "latency_gain_vs_ann", "latency_gain_vs_snn", "d2d_bits_reduction_vs_ann",
                          "ann_d2d_energy_share", "ann_d2d_dynamic_share", "ann_dram_energy_share"]]), ""]
    if len(regime):
        lines += ["## Regime map (part `regime`)", "",
                  "Where SNAP reaches the paper's figures and where it loses, per model; `energy/ann` = energy(ANN)/energy(SNAP) etc., min/max over the (firing rate, timesteps) grid, and how many grid points reach the paper's figure or lose:", "",
                  md_table(regime), ""]
    lines += ["## Accuracy axis (SNAP trace replay)", "",
              md_table(acc[["task", "level", "link", "encoding", "trace_accuracy", "firing_rate", "d2d_bits_per_inf",
                            "energy_pj_per_inf", "latency_ns_p50"]]), "",
              "Three-objective Pareto front (per task):", "",
              md_table(front[["task", "level", "link", "encoding", "trace_accuracy", "d2d_bits_per_inf", "energy_pj_per_inf",
                              "latency_ns_p50"]]), ""]
    if len(acc):
        wire = acc.groupby(["task", "link", "encoding"])["d2d_bits_per_inf"].nunique()
        payload = acc.groupby(["task", "link", "encoding"])["d2d_payload_bits_per_inf"].nunique()
        lines += [f"Wire bits per inference vary with the sparsity level in {int((wire > 1).sum())}/{len(wire)} "
                  f"(task, link, encoding) groups, payload bits in {int((payload > 1).sum())}/{len(payload)}: "
                  "a spike frame smaller than one flit still costs a whole flit on the wire (framing), so a "
                  "sparser boundary saves wire bits and link energy only once frames exceed a flit.", ""]
    snn_rates = _span(runs[(runs["mode"] == "snn") & (runs["part"] == "size")]["firing_rate"])
    lines += ["## Conclusion", "", conclusion(gains, trend, chiplets, snn_rates) + targets_conclusion(targets, ranges), ""]
    if (~ok).any():
        lines += ["## Failed runs", "", md_table(runs.loc[~ok, ["run_id", "model", "link", "mode", "error"]]), ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- sentences


def trend_sentence(trend: pd.DataFrame) -> str:
    if not len(trend):
        return "No size data."
    parts = []
    for col in ("energy_gain_vs_ann", "latency_gain_vs_ann", "energy_gain_vs_snn", "latency_gain_vs_snn"):
        rho = trend[f"{col}_spearman"].dropna()
        grow = trend[f"{col}_largest"] > trend[f"{col}_smallest"] * GROWTH_TOLERANCE
        parts.append(f"{col}: larger at the largest than at the smallest model in {int(grow.sum())}/{len(trend)} "
                     f"(scenario, link, domain) groups; median Spearman rho vs parameters "
                     f"{rho.median() if len(rho) else float('nan'):.2f}")
    grow_e = (trend["energy_gain_vs_ann_largest"] > trend["energy_gain_vs_ann_smallest"] * GROWTH_TOLERANCE).mean()
    grow_l = (trend["latency_gain_vs_ann_largest"] > trend["latency_gain_vs_ann_smallest"] * GROWTH_TOLERANCE).mean()
    verdict = ("Yes, in most groups" if min(grow_e, grow_l) > 0.5 else
               "Not in general" if max(grow_e, grow_l) > 0 else "No")
    return (f"**{verdict}**: the paper's claim that the margin over ANN-only grows with model size is "
            f"{'supported' if verdict.startswith('Yes') else 'not reproduced'} by these runs. Measured, not "
            f"assumed (a margin 'grows' only if the gain at the largest model exceeds the smallest's by >{GROWTH_TOLERANCE - 1:.0%}): "
            + "; ".join(parts) + ".")


def chiplets_sentence(ch: pd.DataFrame) -> str:
    """What the chiplets table says, counted from it: in how many groups each margin over ANN-only grows."""
    if not len(ch):
        return "No chiplet-count data."
    counts = [c[len("energy_gain_vs_ann_p"):] for c in ch.columns if c.startswith("energy_gain_vs_ann_p")]
    lo, hi, n = counts[0], counts[-1], len(ch)
    grow_e, grow_l = int(ch["energy_gain_vs_ann_grows"].sum()), int(ch["latency_gain_vs_ann_grows"].sum())
    verdict = ("Yes, in most groups" if min(grow_e, grow_l) > n / 2 else
               "Only in some groups" if max(grow_e, grow_l) > 0 else "No")
    rhos = []
    for col, what in (("energy_gain_vs_ann", "energy"), ("latency_gain_vs_ann", "latency")):
        rho = ch[f"{col}_spearman"].dropna()
        rhos.append(f"{what} rho > 0 in {int((rho > 0).sum())}/{n}, < 0 in {int((rho < 0).sum())}/{n}, undefined "
                    f"(constant gain) in {n - len(rho)}/{n}, median {rho.median() if len(rho) else float('nan'):.2f}")

    def span(col: str, p: str, fmt: str) -> str:
        v = ch[f"{col}_p{p}"]
        return f"{format(v.min(), fmt)}-{format(v.max(), fmt)}"

    change = {col: ch[f"{col}_p{hi}"] / ch[f"{col}_p{lo}"] - 1
              for col in ("energy_gain_vs_ann", "latency_gain_vs_ann")}
    return (f"**{verdict}**: SNAP's margin over ANN-only is >{GROWTH_TOLERANCE - 1:.0%} larger at {hi} than at {lo} chiplets in "
            f"{grow_e}/{n} (scenario, link, model) groups for energy and {grow_l}/{n} for latency (measured from "
            f"the table, not assumed; from {lo} to {hi} chiplets the energy gain changes by "
            f"{change['energy_gain_vs_ann'].min():+.2%} to {change['energy_gain_vs_ann'].max():+.2%} and the latency "
            f"gain by {change['latency_gain_vs_ann'].min():+.2%} to {change['latency_gain_vs_ann'].max():+.2%}; "
            f"Spearman rho vs partitions: " + "; ".join(rhos) + "). The energy gain over "
            f"ANN-only spans {span('energy_gain_vs_ann', lo, '.4f')}x at {lo} and "
            f"{span('energy_gain_vs_ann', hi, '.4f')}x at {hi} chiplets; from {lo} to {hi} chiplets the ANN "
            f"design's D2D energy share goes from {span('ann_d2d_energy_share', lo, '.1%')} to "
            f"{span('ann_d2d_energy_share', hi, '.1%')} (its per-bit part from "
            f"{span('ann_d2d_dynamic_share', lo, '.2%')} to {span('ann_d2d_dynamic_share', hi, '.2%')}; the rest "
            f"is link idle power) and its DRAM share from {span('ann_dram_energy_share', lo, '.1%')} to "
            f"{span('ann_dram_energy_share', hi, '.1%')}.")


def targets_conclusion(targets: pd.DataFrame | None, ranges) -> str:
    """One sentence on where the paper's figures are reached at all, from the ``targets`` table."""
    if targets is None or not len(targets) or ranges is None:
        return ""
    (lo_g, hi_g), (lo_e, hi_e) = ranges
    lat = targets[(targets["search"] == "bandwidth") & (targets["metric"] == "latency_gain_vs_ann")]
    lat_ok = lat[lat["reached"]]
    parts = [f" Searching the link itself (part `targets`): SNAP's {PAPER_LATENCY_GAIN}x latency gain over ANN-only "
             f"is reached by {len(lat_ok)} of {len(lat)} models, at link bandwidths up to "
             f"{lat_ok['threshold'].min():.3g}-{lat_ok['threshold'].max():.3g} Gb/s per direction" if len(lat_ok) else
             f" Searching the link itself (part `targets`): no model reaches {PAPER_LATENCY_GAIN}x latency on any grid link"]
    parts[0] += f" (the presets offer {lo_g:g}-{hi_g:g} Gb/s)."
    snn = targets[targets["search"] == "snn_timesteps"]
    for metric, target, reaches, never in (
            ("energy", 1.0, "costs as much as SNAP", "costs as much as SNAP"),
            ("energy", PAPER_ENERGY_GAIN, f"is {PAPER_ENERGY_GAIN}x SNAP's energy",
             f"reaches {PAPER_ENERGY_GAIN}x SNAP's energy"),
            ("latency", PAPER_LATENCY_GAIN, f"is {PAPER_LATENCY_GAIN}x SNAP's latency",
             f"reaches {PAPER_LATENCY_GAIN}x SNAP's latency")):
        rows = snn[(snn["metric"] == f"{metric}_gain_vs_snn") & (snn["target"] == target)]
        t = rows[rows["reached"]]
        if len(t):
            parts.append(f" SNN-only {reaches} once it needs {t['threshold'].min():.0f}-{t['threshold'].max():.0f} "
                         f"timesteps ({len(t)} of {len(rows)} models within the grid).")
        elif len(rows):
            parts.append(f" SNN-only never {never} within the timesteps grid.")
    for pw in LINK_POWER:
        e = targets[(targets["search"] == "energy_per_bit") & (targets["link_power"] == pw)]
        ok = e[e["reached"]]
        parts.append(f" {PAPER_ENERGY_GAIN}x energy with {pw} links: {len(ok)} of {len(e)} models"
                     + (f", from {ok['threshold'].min():.3g} pJ/bit (presets {lo_e:g}-{hi_e:g})" if len(ok) else "")
                     + ".")
    return "".join(parts)


def conclusion(gains: pd.DataFrame, trend: pd.DataFrame, chiplets: pd.DataFrame | None, snn_rates: str) -> str:
    """The study's conclusion, every figure counted from the tables; ``snn_rates``: the SNN-only firing rates run."""
    chiplets = chiplets if chiplets is not None else pd.DataFrame()
    g = gains[gains["part"] == "size"]
    r = gains[gains["part"] == "regime"]
    out = []
    c = gains[gains["part"] == "chiplets"]
    for name, sub in (("model/link grid", g), ("regime map", r), ("chiplet-count grid", c)):
        if not len(sub):
            continue
        out.append(
            f"On the {name}, SNAP's energy gain over ANN-only spans {sub['energy_gain_vs_ann'].min():.4g}x to "
            f"{sub['energy_gain_vs_ann'].max():.4g}x and its latency gain {sub['latency_gain_vs_ann'].min():.4g}x to "
            f"{sub['latency_gain_vs_ann'].max():.4g}x; over SNN-only {sub['energy_gain_vs_snn'].min():.4g}x to "
            f"{sub['energy_gain_vs_snn'].max():.4g}x (energy) and {sub['latency_gain_vs_snn'].min():.4g}x to "
            f"{sub['latency_gain_vs_snn'].max():.4g}x (latency).")
    if len(g):
        share, dyn = g["ann_d2d_energy_share"], g["ann_d2d_dynamic_share"]
        out.append(
            f"The D2D link is {share.min():.1%}-{share.max():.1%} of the ANN design's energy on the model/link grid "
            f"(the rest is compute, SRAM and, in the `shipped` scenario, DRAM weight streaming), but only "
            f"{dyn.min():.2%}-{dyn.max():.2%} is per-bit (dynamic) energy; the rest is link idle power over the "
            "run, which fewer bits do not remove unless the run gets shorter. SNAP can only save on the dynamic "
            "share (and on idle time when the link bounds latency), and pays spike encode/decode and T frames of link latency; where the share is small "
            "the gain over ANN-only is ~1x.")
        loses = (g["energy_gain_vs_snn"] < 1).mean()
        loses_l = (g["latency_gain_vs_snn"] < 1).mean()
        out.append(
            f"Against SNN-only, SNAP uses more energy in {loses:.0%} and has a higher latency in {loses_l:.0%} of "
            "the model/link cases: snapsim's SNN-only design replaces MACs by accumulates at the firing rate "
            f"(zoo: {snn_rates} for every stage) and reads weights event-driven, which on these presets costs less than SNAP's dense "
            "compute. snapsim does not model the accuracy an SNN-only network would lose, which is part of the "
            "paper's case for SNAP over SNN-only.")
    r = gains[gains["part"] == "regime"]
    for model, sub in r.groupby("model", sort=True):
        best = sub.loc[sub["energy_gain_vs_ann"].idxmax()]
        worst = sub.loc[sub["energy_gain_vs_ann"].idxmin()]
        out.append(
            f"Regime map, {model}: the best energy gain over ANN-only, {best['energy_gain_vs_ann']:.4g}x, is at "
            f"{best['link_lanes']:g} lanes, {best['link_energy_pj_per_bit']:g} pJ/bit, firing rate "
            f"{best['firing_rate']:g}, T={best['timesteps']:g}; the worst, {worst['energy_gain_vs_ann']:.4g}x "
            f"{'(SNAP loses) ' if worst['energy_gain_vs_ann'] < 1 else ''}at {worst['link_lanes']:g} lanes, "
            f"{worst['link_energy_pj_per_bit']:g} pJ/bit, rate {worst['firing_rate']:g}, T={worst['timesteps']:g}.")
    if len(chiplets):
        out.append("Chiplet count: " + chiplets_sentence(chiplets).replace("**", ""))
    paper_e = int((gains["energy_gain_vs_ann"] >= PAPER_ENERGY_GAIN).sum())
    paper_l = int((gains["latency_gain_vs_ann"] >= PAPER_LATENCY_GAIN).sum())
    per_part = ", ".join(
        f"{part} {int((sub['energy_gain_vs_ann'] >= PAPER_ENERGY_GAIN).sum())}/"
        f"{int((sub['latency_gain_vs_ann'] >= PAPER_LATENCY_GAIN).sum())} of {len(sub)}"
        for part, sub in gains.groupby("part", sort=False))
    out.append(f"The paper's {PAPER_ENERGY_GAIN}x energy gain over ANN-only is reached in {paper_e} of {len(gains)} "
               f"cases and its {PAPER_LATENCY_GAIN}x latency gain in {paper_l} (energy/latency per part: {per_part})"
               + ("; see the regime map for which link bandwidth, pJ/bit, firing "
               "rate and timesteps those are." if paper_e or paper_l else ".")
               + " These are snapsim's numbers under the stated assumptions, not a confirmation or refutation "
               "of the paper's hardware.")
    return " ".join(out)


def _fmt(x: float, unit: str) -> str:
    if not math.isfinite(x):
        return "unreachable"
    return f"{x:.3g} {unit}"


def targets_sentences(table: pd.DataFrame, gbps_range: tuple[float, float], pj_range: tuple[float, float]) -> list[str]:
    """What the table says, one bullet per search, measured (no claim without a row behind it)."""
    out = []
    lo_g, hi_g = gbps_range
    lo_e, hi_e = pj_range
    for pw in LINK_POWER:
        e = table[(table["search"] == "energy_per_bit") & (table["link_power"] == pw)]
        if not len(e):
            continue
        inside = e[e["threshold"] <= hi_e]
        per = ", ".join(f"{r.model} {_fmt(r.threshold, 'pJ/bit')} (limit {r.limit:.3g}x)" for r in e.itertuples())
        out.append(f"- Energy {PAPER_TARGETS['energy']}x vs ANN-only by link energy per bit, {pw} links: {per}; "
                   f"within the presets' {lo_e:g}-{hi_e:g} pJ/bit in {len(inside)}/{len(e)} models.")
    for metric in ("latency", "energy"):
        b = table[(table["search"] == "bandwidth") & (table["metric"] == f"{metric}_gain_vs_ann")]
        if not len(b):
            continue
        per = ", ".join(
            f"{r.model} {'<= ' + _fmt(r.threshold, 'Gb/s') if r.reached else 'not reached'} (max {r.limit:.3g}x)"
            for r in b.itertuples())
        inside = b[b["reached"] & (b["threshold"] >= lo_g)]
        out.append(f"- {metric.capitalize()} {PAPER_TARGETS[metric]}x vs ANN-only by link bandwidth (one lane, "
                   f"always-on): {per}; at a bandwidth the presets offer ({lo_g:g}-{hi_g:g} Gb/s per direction) in "
                   f"{len(inside)}/{len(b)} models.")
    for metric, target in SNN_TARGETS:
        t = table[(table["search"] == "snn_timesteps") & (table["metric"] == f"{metric}_gain_vs_snn")
                  & (table["target"] == target)]
        if not len(t):
            continue
        what = "break-even (gain 1)" if target == 1.0 else f"{target}x"
        per = ", ".join(f"{r.model} {int(r.threshold) if r.reached else 'not within the grid'}" for r in t.itertuples())
        out.append(f"- {metric.capitalize()} {what} vs SNN-only: SNN-only needs at least this many timesteps for SNAP "
                   f"to get there: {per}.")
    return out
