"""The resources of one run: state, depth, time and memory bounds, and the clock that enforces them.

Time and memory are watched on a clock, not every N transitions: while a `Budget` is active, an interval timer
(SIGALRM) looks at the elapsed time and the peak resident memory every few milliseconds and raises `BoundHit`
in whatever is running, compilation and trace building included. So one expensive step (a value that doubles
every step, a huge constant expanded while compiling) cannot outrun `--timeout` or `--max-memory`. Code that
runs outside the main thread, where signals cannot be delivered, calls `check()` instead.

The exception surfaces wherever the run happens to be; the explorer turns it into "stopped at a bound" with
partial statistics, and checker/analysis.py into an inconclusive analysis (exit code 3), never a verdict.
After the first `BoundHit` the clock keeps ticking: the work that follows (judging the properties, confirming
a violation found in time, a second search such as `executable`'s) gets `AFTERMATH` seconds, then the bound
strikes again, and again every `AFTERMATH` seconds, so nothing after a bound can run unbounded either; and a
search started after the bound (`active_budget()` tells it which budget it runs under) stops before its first
state.
"""
from __future__ import annotations

import resource
import signal
import sys
import threading
import time
from types import FrameType, TracebackType
from typing import Any

from checker.records import record

TICK = 0.005  # seconds between two looks at the clock and the memory
AFTERMATH = 0.2  # seconds granted to the work after a bound struck, before it strikes again

_ACTIVE: list[Budget] = []  # the budgets entered and not yet left, innermost last


def active_budget() -> Budget | None:
    """The innermost budget in force, if any: a search started inside it (a property's own search, the
    honest system of `executable`) honours it without being handed it."""
    return _ACTIVE[-1] if _ACTIVE else None


class BoundHit(Exception):
    """A resource bound was reached; `reason` says which, in words ("time bound 5 s reached")."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@record
class Bounds:
    """The user's bounds; None means unbounded. `max_memory` is in bytes of resident memory."""

    max_states: int | None = None
    max_depth: int | None = None
    timeout: float | None = None
    max_memory: int | None = None


def peak_memory() -> int:
    """The peak resident memory of this process so far, in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


class Budget:
    """Enforces `bounds.timeout` and `bounds.max_memory` for everything run inside `with Budget(bounds):`."""

    def __init__(self, bounds: Bounds):
        self.bounds = bounds
        self.started = time.perf_counter()
        self._previous: Any = None
        self._armed = False
        self._tripped: str | None = None
        self._struck_at = 0.0  # elapsed seconds when the bound last struck

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def __enter__(self) -> Budget:
        _ACTIVE.append(self)
        self.started = time.perf_counter()
        watched = self.bounds.timeout is not None or self.bounds.max_memory is not None
        if watched and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGALRM, self._on_tick)
            signal.setitimer(signal.ITIMER_REAL, TICK, TICK)
            self._armed = True
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.disarm()
        _ACTIVE.remove(self)

    def disarm(self) -> None:
        """Stop watching (idempotent): the run is over."""
        if self._armed:
            signal.setitimer(signal.ITIMER_REAL, 0, 0)
            signal.signal(signal.SIGALRM, self._previous)
            self._armed = False

    def exceeded(self) -> str | None:
        """Which bound is exceeded now, in words, or None."""
        timeout, memory = self.bounds.timeout, self.bounds.max_memory
        if timeout is not None and self.elapsed > timeout:
            return f"time bound {timeout:g} s reached"
        if memory is not None and peak_memory() > memory:
            return f"memory bound {memory / 2 ** 20:,.0f} MB reached"
        return None

    def check(self) -> None:
        """Raise `BoundHit` if a bound is exceeded (for loops that may run outside the main thread)."""
        reason = self._tripped or self.exceeded()
        if reason is not None:
            self._tripped = reason
            raise BoundHit(reason)

    def _on_tick(self, signum: int, frame: FrameType | None) -> None:
        now = self.elapsed
        if self._tripped is not None:
            if now - self._struck_at < AFTERMATH:
                return  # whoever caught the last strike is winding up
        else:
            self._tripped = self.exceeded()
            if self._tripped is None:
                return
        self._struck_at = now
        raise BoundHit(self._tripped)
