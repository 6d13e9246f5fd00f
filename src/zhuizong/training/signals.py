"""Training signals for the tracking engine (培训追踪): required sessions missed.

:func:`training_signals` has the signature of a tracking signal provider
(``zhuizong.tracking.signals.PROVIDERS``: ``(ws, date, base frame) -> frame keyed by agent_code``).
For the sessions held in the :data:`LOOKBACK_DAYS` days up to ``d`` it takes every roster
(:func:`zhuizong.training.service.roster`: audience rule ∪ listed agents) and, per agent, counts
the sessions *missed* (``absent``, or no mark once the session day is over) and *excused*
(``leave``) that were not made up — an agent who attends a later session of the same course kind
(on or after the missed one, up to ``d``) has made it up (补训).

The work is per session day, never per agent: one query per (day, tenure limit) for the
audience rules, one per 500 sessions for the listed agents, then a pandas join.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from zhuizong.store.models import table
from zhuizong.training import service
from zhuizong.workspace import Workspace

#: sessions older than this many days no longer count as missed
LOOKBACK_DAYS = 60

SIGNALS: dict[str, tuple[str, str]] = {
    "training_missed": (f"近 {LOOKBACK_DAYS} 天缺训且未补训的必修培训班次数 (缺席或当天未签到)",
                        f"required training sessions of the last {LOOKBACK_DAYS} days missed (absent, "
                        "or no mark after the day) and not made up by a later session of the same kind"),
    "training_excused": (f"近 {LOOKBACK_DAYS} 天请假且未补训的必修培训班次数",
                         f"required training sessions of the last {LOOKBACK_DAYS} days on leave (请假) "
                         "and not made up"),
    "training_missed_session": ("最近一次缺训的班次代码", "code of the latest missed session"),
    "training_missed_title": ("最近一次缺训的班次名称", "title of the latest missed session"),
    "training_missed_date": ("最近一次缺训的日期", "date of the latest missed session (YYYY-MM-DD)"),
}
COLUMNS = ["agent_code", *SIGNALS]


def roster_outcomes(ws: Workspace, d: dt.date) -> pd.DataFrame:
    """(session_code, title, course_kind, session_date, agent_code, outcome) for every roster
    entry of the sessions held in ``[d - LOOKBACK_DAYS, d]``, outcome as of ``d``."""
    s = table("training_sessions")
    rows: list[tuple[object, ...]] = []
    with ws.require_ready().connect() as conn:
        _s, _o, base = service._session_cols()
        sessions = [service._session(r) for r in conn.execute(base.where(
            s.c.session_date >= d - dt.timedelta(days=LOOKBACK_DAYS), s.c.session_date <= d))]
        trees = service.org_subtrees(conn) if sessions else {}
        ros = service.rosters(conn, sessions, trees)  # batched: per session day, not per agent
        for sess in sessions:
            for e in ros[sess.session_code]:
                rows.append((sess.session_code, sess.title, sess.course_kind, sess.session_date,
                             e.agent_code, service.outcome(e.status, sess.session_date, d)))
    return pd.DataFrame(rows, columns=["session_code", "title", "course_kind", "session_date",
                                       "agent_code", "outcome"])


def training_signals(ws: Workspace, d: dt.date, base: pd.DataFrame) -> pd.DataFrame:
    """One row per agent of ``base`` (column ``agent_code``) with the training signals."""
    out = pd.DataFrame({"agent_code": base["agent_code"].astype(object).to_numpy()})
    out["training_missed"] = 0
    out["training_excused"] = 0
    for c in ("training_missed_session", "training_missed_title", "training_missed_date"):
        out[c] = None
    df = roster_outcomes(ws, d)
    if df.empty:
        return out
    att = df[df.outcome == "attended"][["agent_code", "course_kind", "session_date", "session_code"]]
    open_ = df[df.outcome.isin(["missed", "excused"])].reset_index(drop=True)
    if open_.empty:
        return out
    open_["row"] = np.arange(len(open_))
    j = open_.merge(att, on=["agent_code", "course_kind"], suffixes=("", "_att"))
    made_up = j[(j.session_date_att >= j.session_date) & (j.session_code_att != j.session_code)].row
    open_ = open_[~open_.row.isin(set(made_up))]
    counts = open_.groupby(["agent_code", "outcome"]).size().unstack(fill_value=0)
    missed = open_[open_.outcome == "missed"].sort_values(["session_date", "session_code"])
    latest = missed.groupby("agent_code").tail(1).set_index("agent_code")
    idx = out.agent_code
    if "missed" in counts:
        out["training_missed"] = idx.map(counts["missed"]).fillna(0).astype(int).to_numpy()
    if "excused" in counts:
        out["training_excused"] = idx.map(counts["excused"]).fillna(0).astype(int).to_numpy()
    out["training_missed_session"] = idx.map(latest.session_code).to_numpy()
    out["training_missed_title"] = idx.map(latest.title).to_numpy()
    out["training_missed_date"] = idx.map(latest.session_date.map(
        lambda x: x.isoformat() if x is not None else None)).to_numpy()
    return out
