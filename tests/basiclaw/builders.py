"""A hand-built agency for the basic-law tests, loaded through the import path (``import_frame``).

Org tree: ``HQ`` (root, level ``head``) → branches ``BJ`` and ``SH`` (level ``branch``) → groups
``BJ1`` and ``SH1`` (level ``group``). Ranks: the demo ladder T, A1–A3, D1–D3 (the examples' rank
codes). One product ``MAIN``; FYC is given per premium row, so it is exact.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from zhuizong.importing.service import import_frame
from zhuizong.workspace import Workspace

RANKS = [("T", "试用", "probationary", 1), ("A1", "正式", "formal", 2), ("A2", "高级", "formal", 3),
         ("A3", "资深", "formal", 4), ("D1", "主任", "director", 5), ("D2", "经理", "director", 6),
         ("D3", "总监", "director", 7)]
ORGS = [("HQ", "总公司", None, "head"), ("BJ", "北京分公司", "HQ", "branch"),
        ("SH", "上海分公司", "HQ", "branch"), ("BJ1", "北京一组", "BJ", "group"),
        ("SH1", "上海一组", "SH", "group")]


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@dataclass
class Agency:
    agents: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    premiums: list[dict] = field(default_factory=list)
    attendance: list[dict] = field(default_factory=list)
    _n: int = 0

    def agent(self, code: str, *, rank: str, hire: str = "2025-01-05", org: str = "BJ1",
              sup: str | None = None, rec: str | None = None, leave: str | None = None,
              rank_since: str | None = None) -> str:
        """An agent; ``rank_since``: the rank is reached by an event on that date (from the rank
        below), else held since hire."""
        self.agents.append({"agent_code": code, "agent_name": f"人{code}", "hire_date": hire,
                            "org_code": org, "rank_code": rank, "supervisor_code": sup,
                            "recruiter_code": rec, "leave_date": leave})
        if rank_since:
            below = RANKS[[r[0] for r in RANKS].index(rank) - 1][0]
            self.events.append({"agent_code": code, "event_date": hire, "event_type": "hire",
                                "rank_code": below, "org_code": org, "supervisor_code": sup})
            self.events.append({"agent_code": code, "event_date": rank_since,
                                "event_type": "promote", "rank_code": rank, "org_code": None,
                                "supervisor_code": None})
        return code

    def event(self, code: str, date: str, etype: str, *, rank: str | None = None,
              org: str | None = None, sup: str | None = None) -> None:
        self.events.append({"agent_code": code, "event_date": date, "event_type": etype,
                            "rank_code": rank, "org_code": org, "supervisor_code": sup})

    def sale(self, code: str, date: str, fyc: float, *, cases: int = 1, txn: str = "new") -> None:
        """``cases`` new main policies on ``date`` whose FYC adds up to ``fyc`` 元."""
        each = round(fyc / cases, 2) if cases else 0
        for i in range(max(cases, 1)):
            self._n += 1
            f = each if i < cases - 1 else round(fyc - each * (cases - 1), 2)
            self.premiums.append({"txn_id": f"X{self._n:06d}", "policy_no": f"P{self._n:06d}",
                                  "agent_code": code, "product_code": "MAIN", "txn_date": date,
                                  "txn_type": txn, "amount": max(f * 4, 1), "fyc": f})

    def meetings(self, code: str, start: str, present: int, absent: int) -> None:
        day = d(start)
        for i in range(present + absent):
            self.attendance.append({"agent_code": code, "date": (day + dt.timedelta(days=i)).isoformat(),
                                    "meeting": "morning",
                                    "status": "present" if i < present else "absent"})

    def load(self, ws: Workspace) -> None:
        def imp(kind: str, rows: list[dict] | pd.DataFrame) -> None:
            frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
            if len(frame) == 0:
                return
            r = import_frame(ws, kind, frame, source_name=f"{kind}.test")
            assert r.ok, (kind, [(e.row, e.column, e.value, e.reason_en) for e in r.errors])

        imp("org_units", pd.DataFrame(ORGS, columns=["org_code", "org_name", "parent_code", "level"]))
        imp("ranks", pd.DataFrame(RANKS, columns=["rank_code", "rank_name", "category", "level"]))
        imp("products", [{"product_code": "MAIN", "product_name": "主险", "is_main": 1,
                          "pay_mode": "regular", "term_years": 10, "fyc_rate": 0.3,
                          "std_factor": 1}])
        imp("agents", self.agents)
        imp("agent_events", self.events)
        imp("premiums", self.premiums)
        imp("attendance", self.attendance)

    def add_sales(self, ws: Workspace, rows: list[dict]) -> None:
        r = import_frame(ws, "premiums", pd.DataFrame(rows), source_name="more.test")
        assert r.ok, r.errors
