"""Progress of long runs on a terminal (quiet when not a TTY).

:class:`ProgressProbe` is a probe (:mod:`snapsim.probe`) that only listens to finished inferences and
moves a tqdm bar on stderr; ``snapsim run`` attaches it when stdout and stderr are terminals and the run's
estimate (:mod:`snapsim.estimate`) says it takes more than :data:`PROGRESS_AFTER_S`.
"""

from __future__ import annotations

import os
import sys
from typing import Mapping

__all__ = ["PROGRESS_AFTER_S", "ProgressProbe", "progress_enabled"]

PROGRESS_AFTER_S = 2.0
"""Runs estimated to take longer than this show a progress bar (on a terminal)."""


def progress_enabled(environ: Mapping[str, str] | None = None, streams: tuple = ()) -> bool:
    """A progress bar only on an interactive terminal: both stdout and stderr TTYs and no ``CI`` set."""
    environ = os.environ if environ is None else environ
    streams = streams or (sys.stdout, sys.stderr)
    if environ.get("CI"):
        return False
    return all(getattr(s, "isatty", lambda: False)() for s in streams)


class ProgressProbe:
    """Counts finished inferences on a tqdm bar; the other probe hooks do nothing."""

    enabled = True
    optional = True  # the stream engine (no per-event hooks) may run without it: the bar then just closes

    def __init__(self, total: int, desc: str = "run"):
        from tqdm import tqdm

        self._bar = tqdm(total=total, desc=desc, unit="inf", dynamic_ncols=True, leave=False, file=sys.stderr,
                         mininterval=0.5)

    def server_job(self, server, inference, start, end):
        pass

    def link_message(self, link, seq, first_start, last_end, flits, payload_bits):
        pass

    def inference(self, inference, inject, done):
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()
