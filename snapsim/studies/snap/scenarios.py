"""The SNAP study's two scenarios, side by side in every part: ``realistic`` (the cited defaults) and ``paper``
(assumptions under which figures of the paper's size can arise), each assumption stated with its source.

The paper's evaluation details (per-operation energies, link parameters, SNN timesteps, batch) could not
be obtained, so the study brackets them: ``realistic`` uses snapsim's cited defaults, ``paper`` a list of
:class:`Assumption` s (communication-dominated accounting, a fixed split over every die, a slow, costly,
power-gated link, a trained-sparse SNAP boundary, many SNN timesteps). Part ``ladder`` applies the paper's
assumptions one at a time, in :data:`PAPER` order, so a reader sees what each contributes.

A scenario is data: workload and hardware overrides per design, the link setup and the energy parts it
counts (:func:`accounted_energy`); the runs themselves are ordinary snapsim runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ...energy import ENERGY_PARTS

__all__ = ["scenarios_table", "ALL_PARTS", "Assumption", "COMM_PARTS", "LINKS", "PAPER", "PAPER_ASSUMPTIONS", "PAPER_LINK", "REALISTIC",
           "SCENARIOS", "Scenario", "accounted_energy", "ladder_step", "link_overrides"]

#: energy parts each accounting counts
ALL_PARTS = tuple(ENERGY_PARTS)
COMM_PARTS = ("compute", "d2d_dynamic", "d2d_static", "spike_codec")

#: The paper scenario's link: one lane of the UCIe-S PHY (2 ns adapter + PHY latency, 256 B flits) slowed to
#: 2 GT/s, at 50 pJ/bit, power-gated whenever idle (no idle power, free wake-up).
PAPER_LINK = {"link.preset": "ucie-standard-16g", "link.lanes": 1, "link.rate_gtps": 2.0,
              "link.energy_pj_per_bit": 50.0, "link.idle_power_fraction": 0.0}

#: Link setups a part may run: the shipped presets as they are, and the paper scenario's link.
LINKS: dict[str, dict[str, Any]] = {
    **{name: {"link.preset": name} for name in ("ucie-advanced-32g", "ucie-standard-16g", "bow-256",
                                                 "xsr-serdes-112g", "lr-serdes-board-112g")},
    "paper-link": PAPER_LINK,
}


def link_overrides(link: str) -> dict[str, Any]:
    """Hardware overrides of a named link setup (:data:`LINKS`)."""
    return dict(LINKS[link])


@dataclass(frozen=True)
class Assumption:
    """One stated assumption: what it sets (overrides for every design, for SNAP only, for SNN-only only;
    the energy parts counted) and where it comes from."""

    key: str
    text: str
    source: str
    hw: Mapping[str, Any] = field(default_factory=dict)
    wl: Mapping[str, Any] = field(default_factory=dict)
    snap: Mapping[str, Any] = field(default_factory=dict)
    snn: Mapping[str, Any] = field(default_factory=dict)
    accounting: tuple[str, ...] | None = None
    link: bool = False  # an assumption about the link: replaced when a part sets the link itself


@dataclass(frozen=True)
class Scenario:
    """A named list of assumptions (applied in order: a later one wins) and the links its grids use."""

    name: str
    assumptions: tuple[Assumption, ...]
    links: tuple[str, ...]

    def overrides(self, mode: str, link: str | None = None) -> tuple[dict, dict]:
        """(hardware, workload) overrides for a run of ``mode``. ``link``: a named link setup (:data:`LINKS`)
        replacing the scenario's link assumptions, ``"package"`` for the package's own link, None to keep them."""
        hw: dict = {}
        wl: dict = {}
        for a in self.assumptions:
            if not (a.link and link is not None):
                hw.update(a.hw)
            wl.update(a.wl)
            wl.update(a.snap if mode == "snap" else a.snn if mode == "snn" else {})
        if link is not None and link != "package":
            hw.update(link_overrides(link))
        return hw, wl

    @property
    def accounting(self) -> tuple[str, ...]:
        parts = ALL_PARTS
        for a in self.assumptions:
            if a.accounting is not None:
                parts = a.accounting
        return parts


def accounted_energy(row: Mapping[str, Any], parts: tuple[str, ...]) -> float:
    """Energy per inference of a run (a ``runs.csv`` row) counting only ``parts``."""
    return float(sum(row[f"energy_{p}_pj_per_inf"] for p in parts))


#: the realistic scenario: snapsim's cited defaults (every value below is the shipped one; what it is and
#: where it comes from is listed so the paper scenario can be read against it)
REALISTIC = Scenario("realistic", (
    Assumption("split", "each model split over the fewest dies whose SRAM holds its weights (at most the "
               "package's 16; beyond that the rest streams from HBM): model size drives die count",
               "snapsim.partition capacity rule on the chiplet preset's SRAM",
               wl={"partition": {"capacity": {"max_count": 16}}}),
    Assumption("accounting", "every energy part counted: compute, SRAM, DRAM, on-die network, D2D links (dynamic "
               "and idle), spike codec", "snapsim's energy model (docs/design.md, Energy)", accounting=ALL_PARTS),
    Assumption("links", "the shipped D2D presets as they are: always on, idling at their cited fraction of active "
               "power", "hwconfigs/link/*.yaml sources (hw-parameters.md sections 1 and 4)", link=True),
    Assumption("snap-boundary", "SNAP boundaries at the zoo's settings: firing rate 0.1 (vision) / 0.05 (language), "
               "T=4, AER", "zoo assumptions (L); the trained examples measure 0.003-0.36 (digits) and 0.003-0.27 "
               "(charlm)"),
    Assumption("snn", "SNN-only at T=4 timesteps, firing rate 0.1, event-driven weight fetch (each addressed "
               "weight once per timestep), accumulates at 90% of the spiking units' peak",
               "T=4: SEW-ResNet on ImageNet (Fang et al., NeurIPS 2021) and Hao et al. (ICLR 2023, 4-6 steps); "
               "fetch: time-sequential processing of conventional SNN accelerators (Lee et al., HPCA 2022); "
               "efficiency: Skydiver (Chen et al. 2022)"),
    Assumption("stream", "batch 1, 4 inferences in flight (closed loop); latency compared at that load (p50) and "
               "at zero load (the first inference)", "zoo stream settings (assumption L); both latencies reported"),
), links=("ucie-advanced-32g", "ucie-standard-16g", "bow-256", "xsr-serdes-112g", "lr-serdes-board-112g"))

#: the paper scenario's own assumptions, in the order part ``ladder`` applies them
PAPER_ASSUMPTIONS = (
    Assumption("split-16", "every model split over all 16 dies (16 pipeline partitions) whatever its size: more "
               "die boundaries, no HBM streaming", "assumption: the paper's split is not published; 16 = the "
               "package's dies", wl={"partition": {"count": 16}}),
    Assumption("accounting", "communication-dominated accounting: only compute, D2D links and the spike codec are "
               "counted (no SRAM, DRAM or on-die network energy)", "operation-count energy models of SNN papers "
               "count MACs/ACs and communication only (e.g. arXiv:2110.07742 Tab. IV, hw-parameters.md 3.2)",
               accounting=COMM_PARTS),
    Assumption("link-slow", "a slow link: one lane at 2 GT/s NRZ (2 Gb/s per direction, 128x below UCIe-S x16 "
               "at 16 GT/s)", "assumption: UCIe's lowest rate is 4 GT/s per lane (hw-parameters.md 1.1)",
               hw={k: v for k, v in PAPER_LINK.items() if k in ("link.preset", "link.lanes", "link.rate_gtps")},
               link=True),
    Assumption("link-costly", "a costly link: 50 pJ/bit (9x the board-level 112G LR SerDes at 5.5 pJ/bit)",
               "assumption: above every D2D preset (0.05-5.5 pJ/bit, hw-parameters.md section 5)",
               hw={"link.energy_pj_per_bit": PAPER_LINK["link.energy_pj_per_bit"]}, link=True),
    Assumption("link-gated", "a power-gated link: no idle power, wake-up free", "idealisation: UCIe's clock-gated "
               "idle saves >= 85% with a 0.5-1 ns exit (hw-parameters.md section 4)",
               hw={"link.idle_power_fraction": 0.0}, link=True),
    Assumption("snap-sparse", "SNAP boundaries trained to firing rate 0.01 (T=4, AER)", "the trained digits example "
               "reaches 0.0097 at 97.2% accuracy (workloads/traces/digits_snap_l2)",
               snap={"boundary.firing_rate": 0.01}),
    Assumption("snn-timesteps", "SNN-only needs T=32 timesteps for the ANN's accuracy", "ANN-to-SNN conversion "
               "needs hundreds to thousands (Sengupta et al. 2019); direct training 4-6 (Fang et al. 2021; Hao et "
               "al. 2023): 32 sits between", snn={"snn.timesteps": 32}),
)
#: the paper scenario as it runs: the realistic defaults with every paper assumption on top (a later one wins)
PAPER = Scenario("paper", REALISTIC.assumptions + PAPER_ASSUMPTIONS, links=("paper-link",))


def ladder_step(n: int) -> Scenario:
    """Step ``n`` of part ``ladder``: the realistic defaults with the first ``n`` paper assumptions applied."""
    return Scenario(f"ladder-{n}", REALISTIC.assumptions + PAPER_ASSUMPTIONS[:n], REALISTIC.links)

SCENARIOS = {s.name: s for s in (REALISTIC, PAPER)}


def scenarios_table() -> "pd.DataFrame":
    """Every assumption of both scenarios, in order: what it says, its source, and what it sets."""
    import json

    import pandas as pd

    rows = []
    for sc, own in ((REALISTIC, REALISTIC.assumptions), (PAPER, PAPER_ASSUMPTIONS)):
        for i, a in enumerate(own):
            sets = {**{f"hw {k}": v for k, v in a.hw.items()}, **{f"workload {k}": v for k, v in a.wl.items()},
                    **{f"snap {k}": v for k, v in a.snap.items()}, **{f"snn {k}": v for k, v in a.snn.items()}}
            if a.accounting is not None:
                sets["energy parts counted"] = " ".join(a.accounting)
            rows.append({"scenario": sc.name, "order": i, "key": a.key, "assumption": a.text, "source": a.source,
                         "sets": json.dumps(sets, sort_keys=True) if sets else ""})
    return pd.DataFrame(rows)
