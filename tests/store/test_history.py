"""Derived history: spells and dated placement from agents + agent_events (data-contract.md)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from zhuizong.store.history import derive

D = dt.date


def _frames(agents: list[dict], events: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    a = pd.DataFrame(agents, columns=["agent_code", "hire_date", "leave_date", "rank_code",
                                      "org_code", "supervisor_code"])
    e = pd.DataFrame(events, columns=["agent_code", "event_date", "event_type", "rank_code",
                                      "org_code", "supervisor_code"])
    for c in ("hire_date", "leave_date"):
        a[c] = pd.to_datetime(a[c])
    e["event_date"] = pd.to_datetime(e["event_date"])
    return a, e


def _placement(hist: pd.DataFrame, code: str, on: dt.date) -> tuple[str, str, str | None]:
    h = hist[hist.agent_code == code]
    ts = pd.Timestamp(on)
    row = h[(h.valid_from <= ts) & (h.valid_to.isna() | (h.valid_to > ts))]
    assert len(row) == 1, row
    r = row.iloc[0]
    return r.rank_code, r.org_code, None if pd.isna(r.supervisor_code) else r.supervisor_code


def test_agents_row_alone_holds_from_hire() -> None:
    a, e = _frames([dict(agent_code="A", hire_date="2025-03-10", leave_date=None, rank_code="T",
                         org_code="G1", supervisor_code="S")], [])
    spells, hist, problems = derive(a, e)
    assert problems == []
    assert spells.hire_date.tolist() == [pd.Timestamp("2025-03-10")]
    assert spells.leave_date.isna().all()
    assert _placement(hist, "A", D(2025, 3, 10)) == ("T", "G1", "S")


def test_events_win_for_the_dates_they_cover_and_rehire_starts_a_new_spell() -> None:
    a, e = _frames(
        [dict(agent_code="A", hire_date="2025-09-01", leave_date=None, rank_code="T",
              org_code="G2", supervisor_code="S2")],
        [
            dict(agent_code="A", event_date="2024-01-01", event_type="hire", rank_code="T",
                 org_code="G1", supervisor_code="S1"),
            dict(agent_code="A", event_date="2024-05-01", event_type="convert", rank_code="F"),
            dict(agent_code="A", event_date="2024-08-01", event_type="transfer", org_code="G3",
                 supervisor_code="S3"),
            dict(agent_code="A", event_date="2025-03-01", event_type="leave"),
            dict(agent_code="A", event_date="2025-09-01", event_type="rehire", rank_code="T",
                 org_code="G2", supervisor_code="S2"),
        ],
    )
    spells, hist, problems = derive(a, e)
    assert problems == []
    got = [(r.hire_date.date(), None if pd.isna(r.leave_date) else r.leave_date.date())
           for r in spells.itertuples()]
    assert got == [(D(2024, 1, 1), D(2025, 3, 1)), (D(2025, 9, 1), None)]
    assert _placement(hist, "A", D(2024, 4, 30)) == ("T", "G1", "S1")
    assert _placement(hist, "A", D(2024, 5, 1)) == ("F", "G1", "S1")  # rank only; org kept
    assert _placement(hist, "A", D(2024, 8, 1)) == ("F", "G3", "S3")
    assert _placement(hist, "A", D(2025, 9, 1)) == ("T", "G2", "S2")


def test_inconsistent_histories_are_reported() -> None:
    a, e = _frames(
        [dict(agent_code="A", hire_date="2025-01-01", leave_date="2025-06-01", rank_code="T",
              org_code="G", supervisor_code=None),
         dict(agent_code="B", hire_date="2025-05-01", leave_date=None, rank_code="T",
              org_code="G", supervisor_code=None)],
        [dict(agent_code="A", event_date="2025-07-01", event_type="leave"),  # second leave
         dict(agent_code="B", event_date="2025-01-01", event_type="hire")],  # rehire w/o leave
    )
    _spells, _hist, problems = derive(a, e)
    assert {(p.agent_code, p.event_date) for p in problems} == {
        ("A", D(2025, 7, 1)), ("B", D(2025, 5, 1))}
    assert all(p.reason_zh and p.reason_en for p in problems)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 60), st.integers(1, 60)), min_size=1, max_size=4))
def test_spells_match_alternating_hires_and_leaves(gaps: list[tuple[int, int]]) -> None:
    """Random hire/leave sequences: in force on a day iff inside some generated spell."""
    day = D(2024, 1, 1)
    events, truth = [], []
    for i, (stay, away) in enumerate(gaps):
        start = day
        end = start + dt.timedelta(days=stay)
        events.append(dict(agent_code="A", event_date=start, event_type="hire" if i == 0 else "rehire"))
        events.append(dict(agent_code="A", event_date=end, event_type="leave"))
        truth.append((start, end))
        day = end + dt.timedelta(days=away)
    last_start, last_end = truth[-1]
    a, e = _frames([dict(agent_code="A", hire_date=last_start, leave_date=last_end, rank_code="T",
                         org_code="G", supervisor_code=None)], events)
    spells, hist, problems = derive(a, e)
    assert problems == []
    got = [(r.hire_date.date(), r.leave_date.date()) for r in spells.itertuples()]
    assert got == truth
