"""The reference implementation alone: kpi-spec.md §7 worked examples E1–E14 and hand-checked cases.

Facts are built in memory (the form ``tests.kpi.reference`` reads); no database is involved.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from tests.kpi.reference import World, reference_kpis

Y = 2026


def d(month: int, day: int, year: int = Y) -> dt.date:
    return dt.date(year, month, day)


class Facts:
    """A tiny agency: root ``R`` (branch) with units ``U1``, ``U2`` (team); ranks ``T``
    (probationary), ``A`` (formal), ``D`` (director); products ``MAIN`` (main, fyc 0.3, std 0.5)
    and ``RIDER`` (rider, fyc 0.2, no factor)."""

    def __init__(self) -> None:
        self.f: dict[str, list[dict[str, Any]]] = {
            "org_units": [
                {"org_code": "R", "org_name": "总部", "parent_code": None, "level": "branch"},
                {"org_code": "U1", "org_name": "一部", "parent_code": "R", "level": "team"},
                {"org_code": "U2", "org_name": "二部", "parent_code": "R", "level": "team"},
            ],
            "ranks": [
                {"rank_code": "T", "rank_name": "试用", "category": "probationary", "level": 1},
                {"rank_code": "A", "rank_name": "正式", "category": "formal", "level": 2},
                {"rank_code": "D", "rank_name": "主任", "category": "director", "level": 3},
            ],
            "products": [
                {"product_code": "MAIN", "product_name": "主险", "is_main": True,
                 "pay_mode": "regular", "fyc_rate": Decimal("0.3"), "std_factor": Decimal("0.5")},
                {"product_code": "RIDER", "product_name": "附加险", "is_main": False,
                 "pay_mode": "regular", "fyc_rate": Decimal("0.2"), "std_factor": None},
            ],
            "agents": [], "agent_events": [], "premiums": [], "plans": [], "attendance": [],
            "work_logs": [],
        }
        self._n = 0
        self._txn = 0

    def hire(self, n: int, hire: dt.date, *, org: str = "U1", rank: str = "T",
             leave: dt.date | None = None) -> list[str]:
        codes = []
        for _ in range(n):
            self._n += 1
            code = f"X{self._n:05d}"
            self.f["agents"].append({"agent_code": code, "agent_name": code, "hire_date": hire,
                                     "org_code": org, "rank_code": rank, "leave_date": leave})
            codes.append(code)
        return codes

    def event(self, code: str, date: dt.date, kind: str, *, rank: str | None = None,
              org: str | None = None) -> None:
        evs = self.f["agent_events"]
        if not any(e["agent_code"] == code for e in evs):
            a = next(a for a in self.f["agents"] if a["agent_code"] == code)
            evs.append({"agent_code": code, "event_date": a["hire_date"], "event_type": "hire",
                        "rank_code": a["rank_code"], "org_code": a["org_code"]})
        evs.append({"agent_code": code, "event_date": date, "event_type": kind,
                    "rank_code": rank, "org_code": org})

    def premium(self, agent: str, ttype: str, amount: Any, date: dt.date, *,
                product: str = "MAIN", policy: str | None = None,
                issue: dt.date | None = None, fyc: Any = None) -> str:
        self._txn += 1
        policy = policy or f"P{self._txn:07d}"
        self.f["premiums"].append({
            "txn_id": f"T{self._txn:07d}", "policy_no": policy, "agent_code": agent,
            "product_code": product, "txn_date": date, "txn_type": ttype,
            "amount": Decimal(str(amount)), "issue_date": issue, "policy_year": None,
            "fyc": None if fyc is None else Decimal(str(fyc))})
        return policy

    def plan(self, org: str, period: str, target: Any, metric: str = "fyp") -> None:
        self.f["plans"].append({"org_code": org, "period": period, "metric": metric,
                                "target": Decimal(str(target))})

    def kpis(self, period: str, **kw: Any) -> dict:
        return reference_kpis(self.world(), period, **kw)

    def world(self) -> World:
        return World(self.f)


def val(res: dict, metric: str, org: str = "R", seg: str = "all") -> Any:
    return res[(org, None, seg, metric)]


def count(res: dict, metric: str, org: str = "R", seg: str = "all") -> Fraction:
    v, n, den = val(res, metric, org, seg)
    assert n is None and den is None
    return v


def split(total: int, n: int) -> list[int]:
    each, rest = divmod(total, n)
    return [each + (1 if i < rest else 0) for i in range(n)]


# --- §7 worked examples -------------------------------------------------------------------------


def test_E01_fyp() -> None:
    f = Facts()
    a = f.hire(3, d(6, 1, 2025))
    f.premium(a[0], "new", 6_000_000, d(1, 1))
    f.premium(a[1], "new", 3_000_000, d(1, 31))
    f.premium(a[2], "new", 1_000_000, d(1, 15), product="RIDER")
    p = f.premium(a[0], "new", 80_000, d(12, 20, 2025))
    f.premium(a[0], "fy_renewal", 500_000, d(1, 20), policy=p)
    f.premium(a[1], "renewal", 777_000, d(1, 5))  # policy year 2+: not FYP
    f.premium(a[1], "new", 1, d(2, 1))  # February
    assert count(f.kpis("2026-01"), "fyp") == 10_500_000


def test_E02_fyp_mom() -> None:
    f = Facts()
    a = f.hire(2, d(6, 1, 2025))
    f.premium(a[0], "new", 20_000_000, d(2, 10))
    f.premium(a[1], "new", 30_000_000, d(3, 10))
    assert val(f.kpis("2026-03"), "fyp_mom") == (Fraction(1, 2), 10_000_000, 20_000_000)
    # no FYP in the previous period: null
    assert val(f.kpis("2026-02"), "fyp_mom")[0] is None


def test_E03_fyp_plan_rate() -> None:
    f = Facts()
    a = f.hire(1, d(6, 1, 2025))
    f.premium(a[0], "new", 19_000_000, d(2, 10))
    f.plan("R", "2026-02", 20_000_000)
    assert val(f.kpis("2026-02"), "fyp_plan_rate") == (Fraction(95, 100), 19_000_000, 20_000_000)
    assert val(f.kpis("2026-03"), "fyp_plan_rate") == (None, 0, None)  # no plan: null


def test_E04_fyp_year_progress() -> None:
    f = Facts()
    a = f.hire(7, d(6, 1, 2025))
    for m, amount in zip(range(1, 8), split(56_000_000, 7), strict=True):
        f.premium(a[m - 1], "new", amount, d(m, 28))
    f.premium(a[0], "new", 1_000, d(8, 1))  # after July
    f.plan("R", "2026", 80_000_000)
    assert val(f.kpis("2026-07"), "fyp_year_progress") == \
        (Fraction(7, 10), 56_000_000, 80_000_000)


def test_E05_headcount() -> None:
    f = Facts()
    f.hire(1_000, d(6, 1, 2025))
    f.hire(200, d(1, 20))
    jan = f.kpis("2026-01")
    assert count(jan, "headcount_open") == 1_000
    assert count(jan, "headcount_close") == 1_200
    assert count(jan, "headcount_avg") == 1_100
    assert count(f.kpis("2026-02"), "headcount_open") == 1_200


def test_E06_activity_rate() -> None:
    f = Facts()
    a = f.hire(2_000, d(6, 1, 2025))
    for code in a[:1_800]:
        f.premium(code, "new", 100, d(5, 10))
    assert val(f.kpis("2026-05"), "activity_rate") == (Fraction(9, 10), 1_800, 2_000)


def test_E07_E08_per_capita_and_per_active() -> None:
    f = Facts()
    a = f.hire(1_000, d(6, 1, 2025))
    for code, amount in zip(a[:800], split(5_000_000, 800), strict=True):
        f.premium(code, "new", amount, d(10, 3))
    res = f.kpis("2026-10")
    assert val(res, "fyp_per_capita") == (5_000, 5_000_000, 1_000)
    assert val(res, "fyp_per_active") == (6_250, 5_000_000, 800)


def test_E09_premium_per_case() -> None:
    f = Facts()
    a = f.hire(100, d(6, 1, 2025))
    amounts = split(8_000_000, 2_850)
    for i, amount in enumerate(amounts):
        f.premium(a[i % 100], "new", amount, d(1, 1 + i % 31))
    v, n, den = val(f.kpis("2026-01"), "premium_per_case")
    assert (n, den) == (8_000_000, 2_850)
    assert round(float(v), 2) == 2807.02


def test_E10_E11_cases_per_capita_and_per_active() -> None:
    f = Facts()
    a = f.hire(1_500, d(6, 1, 2025))
    for code in a[:1_400]:
        f.premium(code, "new", 1_000, d(2, 3))
        f.premium(code, "new", 1_000, d(2, 25))
    res = f.kpis("2026-02")
    v, n, den = val(res, "cases_per_capita")
    assert (n, den) == (2_800, 1_500) and round(float(v), 2) == 1.87
    assert val(res, "cases_per_active") == (2, 2_800, 1_400)


def test_E12_recruitment_rates() -> None:
    f = Facts()
    f.hire(1_200, d(6, 1, 2025))
    new = f.hire(300, d(2, 10))
    for code in new[:120]:
        f.event(code, d(2, 20), "convert", rank="A")
    res = f.kpis("2026-02")
    assert val(res, "recruitment_rate") == (Fraction(1, 4), 300, 1_200)
    assert val(res, "effective_recruitment_rate") == (Fraction(120, 1_350), 120, 1_350)
    assert count(res, "leavers") == 0


def test_E13_attrition_rate() -> None:
    f = Facts()
    f.hire(900, d(6, 1, 2025))
    f.hire(300, d(6, 1, 2025), leave=d(2, 14))
    assert val(f.kpis("2026-02"), "attrition_rate") == (Fraction(1, 4), 300, 1_200)


def test_E14_retention_3m() -> None:
    f = Facts()
    f.hire(80, d(1, 5))
    f.hire(20, d(1, 20), leave=d(3, 1))
    f.hire(170, d(2, 1))
    f.hire(30, d(2, 28), leave=d(5, 31))  # leave on May 31: not in force at the end of May
    f.hire(40, d(3, 31))
    f.hire(10, d(3, 2), leave=d(4, 1))
    res = {m: val(f.kpis(f"2026-{m:02d}"), "retention_3m") for m in (4, 5, 6)}
    assert res[4] == (Fraction(4, 5), 80, 100)
    assert res[5] == (Fraction(85, 100), 170, 200)
    assert res[6] == (Fraction(4, 5), 40, 50)
    # a quarter pools the months: Σ numerators / Σ denominators
    assert val(f.kpis("2026Q2"), "retention_3m")[1:] == (290, 350)


# --- hand-checked cases ---------------------------------------------------------------------


def test_transfer_mid_month_is_one_active_agent_at_the_parent() -> None:
    f = Facts()
    (a,) = f.hire(1, d(1, 1))
    f.event(a, d(3, 15), "transfer", org="U2")
    f.premium(a, "new", 100, d(3, 5))
    f.premium(a, "new", 200, d(3, 20))
    root = f.kpis("2026-03")
    assert count(root, "active") == 1 and count(root, "fyp") == 300
    kids = f.kpis("2026-03", by="children")
    assert count(kids, "active", "U1") == 1 and count(kids, "active", "U2") == 1
    assert count(kids, "fyp", "U1") == 100 and count(kids, "fyp", "U2") == 200
    # headcount follows the agent; the org-unit identity holds with transfers
    assert count(kids, "headcount_open", "U1") == 1 and count(kids, "headcount_close", "U1") == 0
    assert count(kids, "headcount_open", "U2") == 0 and count(kids, "headcount_close", "U2") == 1
    # history does not move: February production stays in U1
    f.premium(a, "new", 50, d(2, 10))
    assert count(f.kpis("2026-02", by="children"), "fyp", "U1") == 50


def test_rehire_is_a_new_hire_and_the_leave_a_leaver() -> None:
    f = Facts()
    (a,) = f.hire(1, d(2, 1), rank="A")  # agents row: the current spell
    f.f["agent_events"] += [
        {"agent_code": a, "event_date": d(3, 1, 2025), "event_type": "hire", "rank_code": "T",
         "org_code": "U1"},
        {"agent_code": a, "event_date": d(1, 10), "event_type": "leave"},
        {"agent_code": a, "event_date": d(2, 1), "event_type": "rehire", "rank_code": "A",
         "org_code": "U2"},
    ]
    w = f.world()
    assert w.spells[a] == [(d(3, 1, 2025), d(1, 10)), (d(2, 1), None)]
    jan = reference_kpis(w, "2026-01", by="children")
    assert count(jan, "leavers", "U1") == 1 and count(jan, "headcount_close", "U1") == 0
    feb = reference_kpis(w, "2026-02", by="children")
    assert count(feb, "new_hires", "U2") == 1 and count(feb, "new_hires", "U1") == 0
    assert count(feb, "headcount_close", "U2") == 1
    # the rehire as formal after a probationary spell is a change of category (point 8)
    assert count(feb, "conversions", "U2") == 1
    year = reference_kpis(w, "2026")
    assert count(year, "new_hires") == 1 and count(year, "leavers") == 1
    assert count(reference_kpis(w, "2025"), "new_hires") == 1


def test_leaver_is_placed_on_the_last_in_force_day() -> None:
    f = Facts()
    (a,) = f.hire(1, d(1, 5), leave=d(3, 11))
    f.event(a, d(3, 11), "transfer", org="U2")  # effective on the leave day: too late
    (b,) = f.hire(1, d(1, 5), leave=d(3, 11))
    f.event(b, d(3, 10), "transfer", org="U2")  # in force in U2 on March 10
    f.event(b, d(3, 10), "promote", rank="D")
    res = f.kpis("2026-03", by="children", segment="rank_category")
    assert count(res, "leavers", "U1", "probationary") == 1
    assert count(res, "leavers", "U2", "director") == 1
    assert count(res, "leavers", "U2", "probationary") == 0
    # an agent who leaves the day after the hire is in force for one day
    (c,) = f.hire(1, d(4, 7), leave=d(4, 8))
    apr = f.kpis("2026-04")
    assert count(apr, "new_hires") == 1 and count(apr, "leavers") == 1


def test_work_month_basis() -> None:
    f = Facts()
    (a,) = f.hire(1, d(6, 1, 2025))
    f.premium(a, "new", 100, d(1, 25))  # work January (Jan 1..25)
    f.premium(a, "new", 200, d(1, 26))  # work February (Jan 26..Feb 25)
    f.premium(a, "new", 400, d(2, 25))
    f.premium(a, "new", 800, d(12, 28))  # December ends on Dec 31
    f.premium(a, "new", 1600, d(12, 28, 2025))
    work = {"calendar.month_basis": "work", "calendar.cutoff_day": 25}
    assert count(f.kpis("2026-01", settings=work), "fyp") == 100
    assert count(f.kpis("2026-02", settings=work), "fyp") == 600
    assert count(f.kpis("2026-12", settings=work), "fyp") == 800
    assert count(f.kpis("2026-02"), "fyp") == 400
    # a hire on Jan 26 is a February hire on the work basis
    f.hire(1, d(1, 26))
    assert count(f.kpis("2026-02", settings=work), "new_hires") == 1
    assert count(f.kpis("2026-01", settings=work), "headcount_close") == 1
    # 环比 of work February is work January (Jan 1..25)
    assert val(f.kpis("2026-02", settings=work), "fyp_mom")[1:] == (500, 100)


def test_issued_basis() -> None:
    f = Facts()
    (a,) = f.hire(1, d(6, 1, 2025))
    p = f.premium(a, "new", 1_000, d(1, 30), issue=d(2, 2))
    f.premium(a, "free_look_cancel", 1_000, d(2, 10), policy=p)
    f.premium(a, "new", 10, d(1, 15))  # no issue date: the transaction date
    f.premium(a, "fy_renewal", 7, d(1, 20), issue=d(3, 1), policy=p)  # not new: txn date
    issued = {"kpi.premium_basis": "issued"}
    assert count(f.kpis("2026-01"), "fyp") == 1_017
    assert count(f.kpis("2026-02"), "fyp") == -1_000
    assert count(f.kpis("2026-01", settings=issued), "fyp") == 17
    assert count(f.kpis("2026-02", settings=issued), "fyp") == 0
    assert count(f.kpis("2026-02", settings=issued), "cases") == 0  # 1 new − 1 cancelled


def test_net_and_gross_cases() -> None:
    f = Facts()
    (a,) = f.hire(1, d(6, 1, 2025))
    old = f.premium(a, "new", 100, d(2, 20))
    for day in (3, 4, 5):
        f.premium(a, "new", 100, d(3, day))
    f.premium(a, "new", 100, d(3, 6), product="RIDER")  # riders never count
    f.premium(a, "free_look_cancel", 100, d(3, 7), policy=old)
    rider = f.premium(a, "new", 100, d(2, 7), product="RIDER")
    f.premium(a, "free_look_cancel", 100, d(3, 8), policy=rider, product="RIDER")
    assert count(f.kpis("2026-03"), "cases") == 2
    assert count(f.kpis("2026-03", settings={"kpi.cases": "gross"}), "cases") == 3
    assert count(f.kpis("2026-03"), "fyp") == 400 - 200


def test_the_three_active_rules() -> None:
    f = Facts()
    a, b, c, dd = f.hire(4, d(6, 1, 2025))
    f.premium(a, "new", 1_000, d(4, 2))  # fyp 1000, 1 case, fyc 300
    f.premium(b, "new", 5_000, d(4, 2), product="RIDER")  # fyp 5000, 0 cases, fyc 1000
    pc = f.premium(c, "new", 100, d(4, 3))
    f.premium(c, "free_look_cancel", 100, d(4, 9), policy=pc)  # fyp 0, 0 cases
    f.premium(dd, "new", 100, d(4, 3), fyc=600)  # explicit FYC
    f.premium(dd, "surrender", 200, d(4, 20))  # fyp −100, fyc 600 − 60, still 1 case

    def active(rule: str) -> Fraction:
        return count(f.kpis("2026-04", settings={"kpi.active_rule": rule}), "active")
    assert active("fyp_positive") == 2  # a, b
    assert active("cases_positive") == 2  # a, dd
    assert active("fyc_at_least:540") == 2  # b (1000), dd (540)
    assert active("fyc_at_least:540.01") == 1


def test_active_includes_leavers_split_by_last_in_force_category() -> None:
    f = Facts()
    (a,) = f.hire(1, d(1, 5), leave=d(5, 12))
    f.event(a, d(5, 3), "convert", rank="A")
    f.premium(a, "new", 100, d(5, 2))  # while probationary
    (b,) = f.hire(1, d(1, 5))
    f.premium(b, "new", 100, d(5, 2))
    f.event(b, d(5, 31), "promote", rank="D")
    res = f.kpis("2026-05", segment="rank_category")
    assert count(res, "active", seg="formal") == 1  # a: formal on May 11
    assert count(res, "active", seg="director") == 1  # b: director on May 31
    assert count(res, "active_formal", seg="formal") == 1
    assert count(res, "active_formal", seg="director") == 0
    assert count(f.kpis("2026-05"), "active_probationary") == 0


def test_average_headcount_of_a_quarter() -> None:
    f = Facts()
    f.hire(10, d(6, 1, 2025))
    f.hire(6, d(1, 15))  # Jan: 10 -> 16
    f.hire(4, d(3, 1), leave=d(3, 20))  # March: 16 -> 16, 4 leavers
    q = f.kpis("2026Q1")
    jan, feb, mar = Fraction(26, 2), Fraction(32, 2), Fraction(32, 2)
    assert count(q, "headcount_avg") == (jan + feb + mar) / 3
    ends = f.kpis("2026Q1", settings={"kpi.average_headcount": "endpoints"})
    assert count(ends, "headcount_avg") == 13
    assert val(q, "attrition_rate")[1:] == (4, jan + feb + mar)
    assert val(q, "recruitment_rate")[1:] == (10, 10 + 16 + 16)
    # a single month: leavers / opening
    assert val(f.kpis("2026-03"), "attrition_rate")[1:] == (4, 16)
    # a to-date month: the partial month's own endpoints
    mtd = f.kpis("2026-01", as_of=d(1, 20))
    assert count(mtd, "headcount_avg") == 13
    # a range inside one month uses its own endpoints
    assert count(f.kpis("2026-03-05..2026-03-25"), "headcount_avg") == Fraction(20 + 16, 2)


def test_plans_from_months_and_children() -> None:
    f = Facts()
    (a,) = f.hire(1, d(6, 1, 2025))
    f.premium(a, "new", 300, d(4, 10))
    for m in (4, 5, 6):
        f.plan("R", f"2026-{m:02d}", 100)
    f.plan("U1", "2026Q3", 10)
    f.plan("U2", "2026Q3", 30)
    f.plan("U1", "2026", 1000, metric="cases")  # another metric: ignored
    assert val(f.kpis("2026Q2"), "fyp_plan_rate") == (1, 300, 300)
    assert val(f.kpis("2026Q3"), "fyp_plan_rate") == (0, 0, 40)
    assert val(f.kpis("2026-04"), "fyp_plan_rate") == (3, 300, 100)
    assert val(f.kpis("2026-04", as_of=d(4, 12)), "fyp_plan_rate") == (3, 300, 100)
    assert val(f.kpis("2026Q1"), "fyp_plan_rate") == (None, 0, None)
    assert val(f.kpis("2026"), "fyp_year_progress")[2] is None
    assert val(f.kpis("2026Q2", segment="rank_category"), "fyp_plan_rate", seg="formal")[0] is None


def test_attendance_and_tool_usage() -> None:
    f = Facts()
    a, b = f.hire(2, d(1, 1))
    (c,) = f.hire(1, d(1, 1), org="U2", leave=d(6, 3))
    att = f.f["attendance"]
    att += [
        {"agent_code": a, "date": d(6, 1), "meeting": "morning", "status": "present"},
        {"agent_code": b, "date": d(6, 1), "meeting": "morning", "status": "late"},
        {"agent_code": a, "date": d(6, 1), "meeting": "evening", "status": "absent"},
        {"agent_code": c, "date": d(6, 2), "meeting": "morning", "status": "leave"},
        {"agent_code": c, "date": d(6, 4), "meeting": "morning", "status": "present"},  # left
    ]
    f.f["work_logs"] += [{"agent_code": a, "date": d(6, 1)}, {"agent_code": c, "date": d(6, 2)},
                         {"agent_code": b, "date": d(6, 5)}]
    res = f.kpis("2026-06")
    assert val(res, "attendance_rate")[1:] == (2, 4)
    # working days at R: Jun 1 (3 in force), Jun 2 (3), Jun 4 (2) ; filled: a on 1, c on 2
    assert val(res, "tool_usage_rate")[1:] == (2, 8)
    kids = f.kpis("2026-06", by="children")
    assert val(kids, "tool_usage_rate", "U1")[1:] == (1, 2)  # U1 works on Jun 1 only
    assert val(kids, "tool_usage_rate", "U2")[1:] == (1, 1)  # Jun 2 (c); Jun 4: nobody in force


def test_by_level_and_agent() -> None:
    f = Facts()
    f.f["org_units"].append({"org_code": "U1a", "org_name": "组", "parent_code": "U1",
                             "level": "group"})
    (a,) = f.hire(1, d(1, 1), org="U1a")
    (b,) = f.hire(1, d(1, 1), org="U2")
    f.premium(a, "new", 10, d(2, 1))
    f.premium(b, "new", 20, d(2, 1))
    lv = f.kpis("2026-02", by="level:team")
    assert count(lv, "fyp", "U1") == 10 and count(lv, "fyp", "U2") == 20
    assert count(f.kpis("2026-02", by="level:group"), "fyp", "U1a") == 10
    sub = f.kpis("2026-02", by="subtree")
    assert [count(sub, "fyp", u) for u in ("R", "U1", "U1a", "U2")] == [30, 10, 10, 20]
    ag = f.kpis("2026-02", by="agent")
    assert ag[("U1a", a, "all", "fyp")] == (10, None, None)
    assert ag[("U2", b, "all", "active")] == (1, None, None)


def test_tenure_segment() -> None:
    f = Facts()
    f.hire(1, d(5, 20))
    f.hire(1, d(2, 1))
    f.hire(1, d(1, 1, 2025))
    res = f.kpis("2026-05", segment="tenure")
    assert count(res, "headcount_close", seg="M0") == 1
    assert count(res, "headcount_close", seg="M1-3") == 1
    assert count(res, "headcount_close", seg="M13+") == 1
    assert count(res, "new_hires", seg="M0") == 1


@pytest.mark.parametrize("period", ["2026-05", "2026Q2", "2026", "2026-02-10..2026-04-20"])
def test_org_identity_closing_is_opening_plus_flows(period: str) -> None:
    f = Facts()
    x = f.hire(5, d(1, 10))
    f.hire(3, d(4, 1), org="U2", leave=d(5, 20))
    f.event(x[0], d(4, 15), "transfer", org="U2")
    f.event(x[1], d(2, 15), "leave")
    res = f.kpis(period)
    assert count(res, "headcount_close") == count(res, "headcount_open") + \
        count(res, "new_hires") - count(res, "leavers")
