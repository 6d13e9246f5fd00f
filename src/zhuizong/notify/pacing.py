"""Pacing: at most N sends in any rolling window (企业微信/钉钉 robots: 20 messages per minute).

A sliding window rather than a token bucket, because the robots' limit is stated as a count per
minute and a bucket that starts full allows a burst the robot would refuse. The limiter never
drops anything: it only says how long to wait. Clock and sleep are injected so a test can
simulate an hour of sending in milliseconds and check the invariant on the simulated times.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class SlidingWindowLimiter:
    """At most ``limit`` events in any half-open window ``(t - window, t]``.

    Invariant: for the times ``t_1 <= t_2 <= ...`` at which :meth:`record` was called,
    ``t_{k+limit} - t_k >= window`` for every k — so no window of ``window`` seconds holds more
    than ``limit`` of them.
    """

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.window = window
        self.clock = clock
        self.sleep = sleep
        self._times: deque[float] = deque()

    def next_free(self, now: float | None = None) -> float:
        """The earliest time at which one more event is allowed."""
        now = self.clock() if now is None else now
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        if len(self._times) < self.limit:
            return now
        oldest = self._times[-self.limit]
        ready = oldest + self.window
        while ready - oldest < self.window:  # keep the invariant exact in floating point
            ready = math.nextafter(ready, math.inf)
        return ready

    def record(self, at: float | None = None) -> float:
        """Note an event at ``at`` (default: now). Returns the time recorded."""
        at = self.clock() if at is None else at
        self._times.append(at)
        return at

    def acquire(self) -> float:
        """Wait until an event is allowed, record it, and return its time."""
        while True:
            now = self.clock()
            ready = self.next_free(now)
            if ready <= now:
                return self.record(now)
            self.sleep(ready - now)
