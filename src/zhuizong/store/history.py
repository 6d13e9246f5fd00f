"""Derived history: employment spells and dated rank / org unit / supervisor per agent.

Sources (data-contract.md): the ``agents`` row describes the current spell; ``agent_events`` add
dated history. Rules implemented here, for every agent given:

* **Spells.** Starts are ``hire``/``rehire`` events and the ``agents.hire_date``; ends are ``leave``
  events and ``agents.leave_date`` (the first day no longer in force). Equal dates of the same kind
  are one fact. Sorted by date (an end before a start on the same day), starts and ends must
  alternate beginning with a start; anything else is reported as a :class:`HistoryProblem` and the
  import that caused it is rejected.
* **Attributes.** Rank, org unit and supervisor on a date are those of the latest event on or
  before that date that names them; where no event names one, the ``agents`` row's value holds.
  Stored as intervals ``[valid_from, valid_to)`` starting at the first hire.

The rebuild is set-based (pandas), for the affected agents only, inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, insert, select

from zhuizong.store.models import table

_START_TYPES = ("hire", "rehire")
_EVENT_ORDER = {t: i for i, t in enumerate(
    ("hire", "rehire", "convert", "promote", "demote", "transfer", "leave"))}
_CHUNK = 900  # codes per IN (...) list, well under every database's parameter limit
_ATTRS = ("rank_code", "org_code", "supervisor_code")


@dataclass(frozen=True)
class HistoryProblem:
    agent_code: str
    event_date: dt.date | None
    reason_zh: str
    reason_en: str


def _chunks(codes: Sequence[str]) -> list[Sequence[str]]:
    return [codes[i : i + _CHUNK] for i in range(0, len(codes), _CHUNK)]


def _load(conn: Connection, codes: Sequence[str] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    agents, events = table("agents"), table("agent_events")
    a_cols = [agents.c.agent_code, agents.c.hire_date, agents.c.leave_date,
              agents.c.rank_code, agents.c.org_code, agents.c.supervisor_code]
    e_cols = [events.c.agent_code, events.c.event_date, events.c.event_type,
              events.c.rank_code, events.c.org_code, events.c.supervisor_code]
    if codes is None:
        a_rows = conn.execute(select(*a_cols)).all()
        e_rows = conn.execute(select(*e_cols)).all()
    else:
        a_rows, e_rows = [], []
        for part in _chunks(list(codes)):
            a_rows += conn.execute(select(*a_cols).where(agents.c.agent_code.in_(part))).all()
            e_rows += conn.execute(select(*e_cols).where(events.c.agent_code.in_(part))).all()
    a = pd.DataFrame(a_rows, columns=[c.name for c in a_cols])
    e = pd.DataFrame(e_rows, columns=[c.name for c in e_cols])
    for df, cols in ((a, ("hire_date", "leave_date")), (e, ("event_date",))):
        for c in cols:
            df[c] = pd.to_datetime(df[c])
    return a, e


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """pd.concat that ignores empty frames (they would otherwise decide dtypes)."""
    non_empty = [f for f in frames if len(f)]
    return pd.concat(non_empty) if non_empty else frames[0].iloc[0:0]


def derive(agents: pd.DataFrame, events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[HistoryProblem]]:
    """Pure derivation: (spells, history, problems) from agents and events frames."""
    problems: list[HistoryProblem] = []
    # --- spells -----------------------------------------------------------------------------
    starts = _concat([
        agents[["agent_code", "hire_date"]].rename(columns={"hire_date": "date"}),
        events.loc[events.event_type.isin(_START_TYPES), ["agent_code", "event_date"]]
        .rename(columns={"event_date": "date"}),
    ]).assign(kind=1)
    ends = _concat([
        agents.loc[agents.leave_date.notna(), ["agent_code", "leave_date"]]
        .rename(columns={"leave_date": "date"}),
        events.loc[events.event_type == "leave", ["agent_code", "event_date"]]
        .rename(columns={"event_date": "date"}),
    ]).assign(kind=0)
    marks = (
        _concat([starts, ends])
        .drop_duplicates()
        .sort_values(["agent_code", "date", "kind"], kind="stable")
        .reset_index(drop=True)
    )
    prev_kind = marks.groupby("agent_code").kind.shift(1)
    bad = (marks.kind == prev_kind) | (prev_kind.isna() & (marks.kind == 0))
    for row in marks[bad].itertuples(index=False):
        d = row.date.date()
        if row.kind == 1:
            problems.append(HistoryProblem(
                row.agent_code, d,
                f"工号 {row.agent_code} 在 {d} 再次入司, 但此前在职期间没有离司记录",
                f"agent {row.agent_code} is hired again on {d} without leaving the previous spell",
            ))
        else:
            problems.append(HistoryProblem(
                row.agent_code, d,
                f"工号 {row.agent_code} 在 {d} 离司, 但当时不在职 (缺少入司或重复离司)",
                f"agent {row.agent_code} leaves on {d} without being in force "
                "(missing hire, or a second leave)",
            ))
    marks["spell_no"] = marks.kind.groupby(marks.agent_code).cumsum()
    s = marks[marks.kind == 1][["agent_code", "spell_no", "date"]].rename(columns={"date": "hire_date"})
    e = marks[marks.kind == 0][["agent_code", "spell_no", "date"]].rename(columns={"date": "leave_date"})
    spells = s.merge(e, on=["agent_code", "spell_no"], how="left")

    # --- dated attributes ----------------------------------------------------------------------
    first_start = spells.groupby("agent_code").hire_date.min()
    base = agents[["agent_code", *_ATTRS]].copy()
    base["date"] = pd.Timestamp("1900-01-01")
    base["order"] = -1
    ev = events[["agent_code", "event_date", "event_type", *_ATTRS]].rename(columns={"event_date": "date"})
    ev["order"] = ev.event_type.map(_EVENT_ORDER)
    ev = ev.drop(columns="event_type")
    # Events override the agents row only for the attributes they name.
    steps = _concat([base, ev]).sort_values(["agent_code", "date", "order"], kind="stable")
    steps[list(_ATTRS)] = steps.groupby("agent_code")[list(_ATTRS)].ffill()
    steps = steps.drop_duplicates(["agent_code", "date"], keep="last")
    steps["date"] = np.maximum(steps.date, steps.agent_code.map(first_start))
    steps = steps.dropna(subset=["date"]).drop_duplicates(["agent_code", "date"], keep="last")
    same = (
        (steps.agent_code == steps.agent_code.shift())
        & (steps.rank_code.fillna("") == steps.rank_code.shift().fillna(""))
        & (steps.org_code.fillna("") == steps.org_code.shift().fillna(""))
        & (steps.supervisor_code.fillna("") == steps.supervisor_code.shift().fillna(""))
    )
    hist = steps[~same].copy()
    nxt = hist.groupby("agent_code").date.shift(-1)
    hist = hist.assign(valid_from=hist.date, valid_to=nxt)[
        ["agent_code", "valid_from", "valid_to", *_ATTRS]
    ]
    return spells, hist, problems


def _records(df: pd.DataFrame, date_cols: Sequence[str]) -> list[dict[str, object]]:
    out = df.astype(object).where(df.notna(), None)
    for c in date_cols:
        out[c] = [v.date() if v is not None else None for v in out[c]]
    return out.to_dict("records")


def rebuild_history(conn: Connection, agent_codes: Sequence[str] | None = None) -> list[HistoryProblem]:
    """Recompute spells and history for ``agent_codes`` (all agents when None).

    Returns the problems found; on problems nothing is written and the caller rolls back.
    """
    if agent_codes is not None and len(agent_codes) > 20_000:
        agent_codes = None  # one full scan beats thousands of IN lists
    agents, events = _load(conn, agent_codes)
    spells, hist, problems = derive(agents, events)
    if problems:
        return problems
    sp_t, hi_t = table("employment_spells"), table("agent_history")
    if agent_codes is None:
        conn.execute(delete(sp_t))
        conn.execute(delete(hi_t))
    else:
        for part in _chunks(list(agent_codes)):
            conn.execute(delete(sp_t).where(sp_t.c.agent_code.in_(part)))
            conn.execute(delete(hi_t).where(hi_t.c.agent_code.in_(part)))
    spells["spell_no"] = spells.spell_no.astype(int)
    if len(spells):
        conn.execute(insert(sp_t), _records(spells, ("hire_date", "leave_date")))
    if len(hist):
        conn.execute(insert(hi_t), _records(hist, ("valid_from", "valid_to")))
    return []
