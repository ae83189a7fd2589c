"""Link power policies: which state a link direction is in when it does not send, and for how long.

A policy is injected into each link direction (both fidelities use the same object) and answers two
questions: when can a message whose head flit arrives at ``now`` start (:meth:`head_arrives`), and how
was the run's time split between states (:meth:`residency`). Energy is priced from that residency
afterwards (:mod:`snapsim.energy`), so the policy itself knows no powers.

* :class:`AlwaysOn`: the lanes idle at ``idle_power_mw`` whenever they do not send;
* :class:`IdleTimer`: the lanes fall asleep ``sleep_after`` ticks after they last became free (and are
  asleep from tick 0 until first used); a head flit that finds them asleep waits ``wake`` ticks.
  A link does not sleep while it carries a message.
"""

from __future__ import annotations

from .timing import LinkTiming

__all__ = ["AlwaysOn", "IdleTimer", "power_policy", "POLICIES"]


class AlwaysOn:
    """Never sleeps: every tick the lanes do not send is awake idle time."""

    name = "always_on"
    sleeps = False  # whether head_arrives can delay a head flit (links skip the call when not)
    __slots__ = ("last_free", "wakes")

    def __init__(self, timing: LinkTiming | None = None):
        self.last_free: int | None = None
        self.wakes = 0

    def head_arrives(self, now: int) -> int:
        return now

    def asleep_total(self, end: int) -> int:
        return 0

    def residency(self, start: int, end: int, busy: int) -> dict[str, int]:
        """Ticks per state over ``[start, end)``: ``busy`` (sending), ``idle`` (awake), ``asleep``."""
        span = max(1, end - start)
        return {"busy": busy, "idle": max(0, span - busy), "asleep": 0}


class IdleTimer(AlwaysOn):
    """Sleeps after ``sleep_after`` idle ticks; waking takes ``wake`` ticks."""

    name = "idle_timer"
    sleeps = True
    __slots__ = ("sleep_after", "wake", "asleep_ticks")

    def __init__(self, timing: LinkTiming):
        super().__init__(timing)
        if timing.sleep_after is None:
            raise ValueError("IdleTimer needs a link with sleep_after_idle_ns")
        self.sleep_after = timing.sleep_after
        self.wake = timing.wake
        self.asleep_ticks = 0  # completed sleep intervals

    def head_arrives(self, now: int) -> int:
        """The head of the next message is at the link at ``now``: the earliest tick the link can send."""
        slept_from = 0 if self.last_free is None else self.last_free + self.sleep_after
        if self.last_free is not None and now <= slept_from:
            return now  # awake (or still busy: last_free >= now)
        self.asleep_ticks += now - slept_from
        self.wakes += 1
        return now + self.wake

    def asleep_total(self, end: int) -> int:
        """Ticks asleep up to ``end``, including a sleep still running at ``end``."""
        slept_from = 0 if self.last_free is None else self.last_free + self.sleep_after
        return self.asleep_ticks + max(0, end - slept_from)

    def residency(self, start: int, end: int, busy: int) -> dict[str, int]:
        span = max(1, end - start)
        # asleep from tick 0 until the first message, so [0, start) is sleep too: count only [start, end)
        asleep = min(max(0, self.asleep_total(end) - start), max(0, span - busy))
        return {"busy": busy, "idle": max(0, span - busy - asleep), "asleep": asleep}


POLICIES = {AlwaysOn.name: AlwaysOn, IdleTimer.name: IdleTimer}


def power_policy(timing: LinkTiming) -> AlwaysOn:
    """The policy a link's config asks for: an idle timer when ``sleep_after_idle_ns`` is set, else always on."""
    return AlwaysOn(timing) if timing.sleep_after is None else IdleTimer(timing)
