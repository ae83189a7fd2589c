"""Per-link and per-stage time series of a run: utilisation, queue depth and bits per window.

:class:`TimeSeriesProbe` is a probe (:mod:`snapsim.probe`): it bins what the engine reports into windows
of ``window_ns`` and adds a ``timeseries`` entry to the run's result:

* per used link direction: ``utilization`` (serializing time / window), ``queue_depth`` (messages whose
  head has arrived but whose first flit has not started, averaged over the window: they wait for the
  lanes, a wake-up or a credit) and ``wire_bits`` (bits of the flits that start in the window);
* per FIFO server (``c<chiplet>.compute|encoder|decoder``, the pipeline's stages): ``utilization`` and
  ``queue_depth`` (jobs ready but not started).

Intervals are split exactly across windows, so a link's utilisations times the window add up to its busy
time and its ``wire_bits`` to its wire bits (tests check both). Without a window the probe picks one from
the run's closed-form length (inferences / throughput bound, :func:`snapsim.modes.pipeline_bounds`) so the
run spans about ``bins`` windows; a longer run just gets more windows. ``snapsim plot timeline`` draws it.
"""

from __future__ import annotations

import math

import numpy as np

from .probe import BaseProbe, LinkEvents
from .units import TICKS_PER_S, ns_to_ticks, ticks_to_ns

__all__ = ["TimeSeriesProbe", "Bins"]


class Bins:
    """Sums over windows of ``width`` ticks, growing as needed: interval lengths split exactly across
    windows (``add_interval``/``add_intervals``) and point values (``add_point``/``add_points``). Plain
    Python lists: the probe adds a few values per event, where numpy's per-call cost would dominate."""

    def __init__(self, width: int):
        self.width = int(width)
        self.values: list[float] = []
        self._full: list[float] = []  # difference array: whole windows inside long intervals

    def _grow(self, top: int) -> None:
        if top >= len(self.values):
            extra = top + 1 - len(self.values)
            self.values.extend([0.0] * extra)
            self._full.extend([0.0] * extra)

    def add_interval(self, a: int, b: int) -> None:
        """Add the length of ``[a, b)`` (ticks) to the windows it covers."""
        if b <= a:
            return
        w = self.width
        ia, ib = a // w, (b - 1) // w
        self._grow(ib + 1)
        if ia == ib:
            self.values[ia] += b - a
            return
        self.values[ia] += (ia + 1) * w - a
        self.values[ib] += b - ib * w
        self._full[ia + 1] += w
        self._full[ib] -= w

    def add_intervals(self, a, b) -> None:
        for x, y in zip(np.atleast_1d(a).tolist(), np.atleast_1d(b).tolist()):
            self.add_interval(int(x), int(y))

    def add_point(self, t: int, v: float) -> None:
        """Add ``v`` to the window holding tick ``t``."""
        i = t // self.width
        self._grow(i)
        self.values[i] += v

    def add_points(self, t, v) -> None:
        for x in np.atleast_1d(t).tolist():
            self.add_point(int(x), v)

    def totals(self, n: int) -> np.ndarray:
        """Sums of the first ``n`` windows."""
        self._grow(n)
        return (np.asarray(self.values) + np.cumsum(self._full))[:n]


class _Series:
    __slots__ = ("busy", "wait", "bits")

    def __init__(self, width: int, with_bits: bool):
        self.busy = Bins(width)
        self.wait = Bins(width)
        self.bits = Bins(width) if with_bits else None


class TimeSeriesProbe(BaseProbe):
    """Bins link and server activity into windows (see the module docstring).

    ``window_ns``: window width (default: about ``bins`` windows over the run's closed-form length).
    """

    def __init__(self, window_ns: float | None = None, bins: int = 200):
        if window_ns is not None and not window_ns > 0:
            raise ValueError(f"window_ns must be > 0; got {window_ns}")
        if bins < 1:
            raise ValueError(f"bins must be >= 1; got {bins}")
        self.window_ns = window_ns
        self.bins = int(bins)

    def begin(self, sim) -> None:
        if self.window_ns is not None:
            self.width = max(1, ns_to_ticks(self.window_ns))
        else:
            from .modes import pipeline_bounds

            rate = pipeline_bounds(sim.plan, sim.payload)["throughput_bound_inf_per_s"]
            length = sim.plan.inferences * TICKS_PER_S / rate if rate > 0 else 1.0
            self.width = max(1, math.ceil(length / self.bins))
        self.links = LinkEvents(sim)
        self.flit_bits = {name: link.timing.flit_bits for name, link in self.links.links.items()}
        self.link_series: dict[str, _Series] = {}
        self.server_series: dict[str, _Series] = {}

    def _server(self, name: str) -> _Series:
        s = self.server_series.get(name)
        if s is None:
            s = self.server_series[name] = _Series(self.width, False)
        return s

    def server_queued(self, server, inference, ready, start):
        if start > ready:
            self._server(server).wait.add_interval(ready, start)

    def server_job(self, server, inference, start, end):
        self._server(server).busy.add_interval(start, end)

    def link_flits(self, link, seq, ready, starts):
        act = self.links.activity(link, seq, ready, starts)
        s = self.link_series.get(link)
        if s is None:
            s = self.link_series[link] = _Series(self.width, True)
        for a, b, _n in act.groups:
            s.busy.add_interval(a, b)
        bits = self.flit_bits[link]
        for t in act.flit_starts():
            s.bits.add_point(t, bits)
        if act.start > act.ready:
            s.wait.add_interval(act.ready, act.start)

    def end(self, sim, start, end) -> dict:
        n = max(1, -(-end // self.width))
        w = float(self.width)

        def series(s: _Series) -> dict:
            out = {"utilization": (s.busy.totals(n) / w).tolist(), "queue_depth": (s.wait.totals(n) / w).tolist()}
            if s.bits is not None:
                out["wire_bits"] = [int(round(v)) for v in s.bits.totals(n)]
            return out

        links = {link.name: series(self.link_series[link.name]) for link in sim.net.used_links()
                 if link.name in self.link_series}
        servers = {name: series(s) for name, s in sorted(self.server_series.items())}
        return {"timeseries": {"window_ns": ticks_to_ns(self.width), "start_ns": 0.0, "bins": n, "links": links,
                               "servers": servers}}


def plot_timeseries(ts: dict, path, title: str = "") -> None:
    """Draw a result's ``timeseries`` (see :class:`TimeSeriesProbe`) to ``path`` (.png, .pdf or .svg): link
    utilisation, link queue depth and link bits per window, then server utilisation and queue depth,
    against simulated time (matplotlib's Agg canvas: no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    w = ts["window_ns"]
    n = ts["bins"]
    scale, unit = (1e-3, "us") if n * w >= 1e4 else (1.0, "ns")
    if n * w >= 1e7:
        scale, unit = 1e-6, "ms"
    x = (ts["start_ns"] + (np.arange(n) + 0.5) * w) * scale
    panels = [
        ("links", "utilization", "link utilisation"),
        ("links", "queue_depth", "messages waiting\nfor the link"),
        ("links", "wire_bits", f"wire bits per\n{w:,.3g} ns window"),
        ("servers", "utilization", "server utilisation"),
        ("servers", "queue_depth", "jobs waiting\nfor the server"),
    ]
    fig = Figure(figsize=(10, 11), constrained_layout=True)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(panels), 1, sharex=True)
    for ax, (group, key, label) in zip(axes, panels):
        for name, series in ts[group].items():
            ax.step(x, series[key], where="mid", label=name, linewidth=1.0)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        if key == "utilization":
            ax.set_ylim(-0.02, 1.02)
        if ts[group]:
            ax.legend(loc="upper right", fontsize=7, ncol=min(4, len(ts[group])))
    axes[-1].set_xlabel(f"simulated time ({unit})")
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=120)
