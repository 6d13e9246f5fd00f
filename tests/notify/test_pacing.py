"""The sliding-window limiter never lets more than N events into any window, and never drops."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.notify.fakes import FakeClock
from zhuizong.notify.pacing import SlidingWindowLimiter


def _max_in_window(times: list[float], window: float) -> int:
    best = 0
    for i, t in enumerate(times):
        best = max(best, sum(1 for u in times[i:] if u < t + window))
    return best


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 25), st.lists(st.floats(0, 90), max_size=80))
def test_never_more_than_limit_in_any_window(limit: int, gaps: list[float]) -> None:
    clock = FakeClock()
    lim = SlidingWindowLimiter(limit, 60.0, clock=clock, sleep=clock.sleep)
    times = []
    for gap in gaps:
        clock.t += gap  # the caller does other work between sends
        times.append(lim.acquire())
    assert len(times) == len(gaps)
    assert times == sorted(times)
    assert all(times[k + limit] - times[k] >= 60.0 for k in range(len(times) - limit))
    assert _max_in_window(times, 60.0) <= limit


def test_burst_is_paced_not_dropped() -> None:
    clock = FakeClock(0.0)
    lim = SlidingWindowLimiter(20, 60.0, clock=clock, sleep=clock.sleep)
    times = [lim.acquire() for _ in range(45)]
    assert times[:20] == [0.0] * 20
    assert times[20:40] == [60.0] * 20
    assert times[40:] == [120.0] * 5
