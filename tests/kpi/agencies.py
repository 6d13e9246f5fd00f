"""Small random agencies for the property tests (a Hypothesis strategy) and their import.

``agencies()`` draws facts that are CONSISTENT with the import contract (data-contract.md): unique
keys, references that resolve, every agent history starting with a ``hire`` event carrying rank,
org unit (and sometimes supervisor), events strictly inside the agent's timeline (changes only while
in force, a ``leave`` after the hire, a ``rehire`` only after a leave), money with two decimals.
The facts are plain lists of dicts keyed by the column codes of ``zhuizong.importing.kinds``, with
``datetime.date`` dates, ``Decimal`` money and ``None`` for empty cells — the form
``tests.kpi.reference`` reads. ``load_agency`` imports them through
``zhuizong.importing.service.import_frame`` in ``IMPORT_ORDER``.

Time window: hires from 2024-12 to 2026-11, facts up to 2026-12-31; the tests look at 2026.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pandas as pd
from hypothesis import strategies as st

from zhuizong.importing.kinds import IMPORT_ORDER, KINDS

FIRST_DAY = dt.date(2024, 12, 1)
LAST_DAY = dt.date(2026, 12, 31)
LEVELS = ("branch", "dept", "team")
CENT = Decimal("0.01")

Facts = dict[str, list[dict[str, Any]]]


def _day(draw: st.DrawFn, lo: dt.date, hi: dt.date) -> dt.date:
    return lo + dt.timedelta(days=draw(st.integers(0, max(0, (hi - lo).days))))


def _money(draw: st.DrawFn, lo: int = 1, hi: int = 5_000_000) -> Decimal:
    """An amount in 元 with two decimals (drawn in 分); round numbers are likely too."""
    fen = draw(st.one_of(st.integers(lo, hi), st.sampled_from([100_000, 1_000_000, 50, 1])))
    return (Decimal(fen) / 100).quantize(CENT)


@st.composite
def _orgs(draw: st.DrawFn) -> list[dict[str, Any]]:
    depth = draw(st.integers(1, 3))
    orgs = [{"org_code": "R", "org_name": "总部", "parent_code": None, "level": LEVELS[0]}]
    if depth >= 2:
        for i in range(draw(st.integers(1, 3))):
            code = f"R{i + 1}"
            orgs.append({"org_code": code, "org_name": f"部{i + 1}", "parent_code": "R",
                         "level": LEVELS[1]})
            if depth >= 3:
                for j in range(draw(st.integers(0, 2))):
                    orgs.append({"org_code": f"{code}{'AB'[j]}", "org_name": f"组{i + 1}{j}",
                                 "parent_code": code, "level": LEVELS[2]})
    return orgs


@st.composite
def _ranks(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(2, 4))
    cats = ["probationary", draw(st.sampled_from(["formal", "director"]))]
    cats += [draw(st.sampled_from(["probationary", "formal", "director"])) for _ in range(n - 2)]
    order = {"probationary": 0, "formal": 1, "director": 2}
    cats.sort(key=order.__getitem__)
    ranks = []
    for i, c in enumerate(cats):
        ranks.append({"rank_code": f"{c[0].upper()}{i + 1}", "rank_name": f"职级{i + 1}",
                      "category": c, "level": i + 1})
    return ranks


@st.composite
def _products(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 4))
    out = []
    for i in range(n):
        out.append({
            "product_code": f"PR{i + 1}",
            "product_name": f"产品{i + 1}",
            "is_main": True if i == 0 else draw(st.booleans()),
            "pay_mode": draw(st.sampled_from(["single", "regular"])),
            "term_years": draw(st.sampled_from([None, 1, 10, 20])),
            "fyc_rate": draw(st.sampled_from([None, Decimal("0.3"), Decimal("0.125"),
                                              Decimal("0.333333"), Decimal("0")])),
            "std_factor": draw(st.sampled_from([None, Decimal("1"), Decimal("0.5"),
                                                Decimal("0.1234"), Decimal("1.2")])),
        })
    return out


def _agent(draw: st.DrawFn, code: str, orgs: list[str], ranks: list[dict[str, Any]],
           earlier: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]],
                                        list[tuple[dt.date, dt.date | None]]]:
    """One agent: the agents row, their events and their spells."""
    prob = [r["rank_code"] for r in ranks if r["category"] == "probationary"]
    level = {r["rank_code"]: r["level"] for r in ranks}
    cat = {r["rank_code"]: r["category"] for r in ranks}
    hire = _day(draw, FIRST_DAY, dt.date(2026, 11, 30))
    org = draw(st.sampled_from(orgs))
    rank = draw(st.sampled_from(prob)) if draw(st.integers(0, 3)) else \
        draw(st.sampled_from([r["rank_code"] for r in ranks]))
    supervisor = draw(st.sampled_from([None, *earlier])) if earlier else None
    events = [{"agent_code": code, "event_date": hire, "event_type": "hire", "rank_code": rank,
               "org_code": org, "supervisor_code": supervisor}]
    spells: list[tuple[dt.date, dt.date | None]] = []
    spell_start = hire
    in_force = True
    day = hire
    for _ in range(draw(st.integers(0, 5))):
        gap = draw(st.one_of(st.integers(1, 40), st.integers(1, 300)))
        day = day + dt.timedelta(days=gap)
        if day > LAST_DAY:
            break
        if not in_force:
            new_rank = draw(st.sampled_from([None, *level]))
            new_org = draw(st.sampled_from([None, *orgs]))
            events.append({"agent_code": code, "event_date": day, "event_type": "rehire",
                           "rank_code": new_rank, "org_code": new_org, "supervisor_code": None})
            rank = new_rank or rank
            org = new_org or org
            spell_start, in_force = day, True
            continue
        kind = draw(st.sampled_from(["convert", "promote", "demote", "transfer", "leave",
                                     "leave"]))
        if kind == "convert":
            targets = [r for r in level if cat[r] in ("formal", "director")]
            if cat[rank] != "probationary" or not targets:
                continue
            rank = draw(st.sampled_from(targets))
            events.append({"agent_code": code, "event_date": day, "event_type": "convert",
                           "rank_code": rank, "org_code": None, "supervisor_code": None})
        elif kind in ("promote", "demote"):
            targets = [r for r in level
                       if (level[r] > level[rank] if kind == "promote" else level[r] < level[rank])]
            if not targets:
                continue
            rank = draw(st.sampled_from(targets))
            moved = draw(st.sampled_from([None, *orgs])) if draw(st.booleans()) else None
            events.append({"agent_code": code, "event_date": day, "event_type": kind,
                           "rank_code": rank, "org_code": moved, "supervisor_code": None})
            org = moved or org
        elif kind == "transfer":
            org = draw(st.sampled_from(orgs))
            events.append({"agent_code": code, "event_date": day, "event_type": "transfer",
                           "rank_code": None, "org_code": org,
                           "supervisor_code": draw(st.sampled_from([None, *earlier]))
                           if earlier else None})
        else:
            events.append({"agent_code": code, "event_date": day, "event_type": "leave",
                           "rank_code": None, "org_code": None, "supervisor_code": None})
            spells.append((spell_start, day))
            in_force = False
    if in_force:
        spells.append((spell_start, None))
    current_hire, current_leave = spells[-1]
    row = {"agent_code": code, "agent_name": f"代理人{code}", "hire_date": current_hire,
           "org_code": org, "rank_code": rank, "supervisor_code": events[0]["supervisor_code"],
           "recruiter_code": draw(st.sampled_from([None, *earlier])) if earlier else None,
           "leave_date": None}
    if current_leave is not None:
        # the current spell's leave: as an event, on the agents row, or both (one fact)
        how = draw(st.sampled_from(["event", "row", "both"]))
        if how != "event":
            row["leave_date"] = current_leave
        if how == "row":
            events = [e for e in events
                      if not (e["event_type"] == "leave" and e["event_date"] == current_leave)]
    if len(events) == 1 and draw(st.booleans()):
        # no history: the agents row alone (its rank and unit hold from the hire date)
        row["org_code"], row["rank_code"] = events[0]["org_code"], events[0]["rank_code"]
        events = []
    return row, events, spells


def _in_spells(d: dt.date, spells: list[tuple[dt.date, dt.date | None]]) -> bool:
    return any(h <= d and (lv is None or d < lv) for h, lv in spells)


@st.composite
def agencies(draw: st.DrawFn, max_agents: int = 25) -> Facts:
    orgs = draw(_orgs())
    org_codes = [o["org_code"] for o in orgs]
    ranks = draw(_ranks())
    products = draw(_products())
    agents, events, spells = [], [], {}
    n_agents = draw(st.one_of(st.integers(0, max_agents), st.integers(min(8, max_agents),
                                                                        max_agents)))
    for i in range(n_agents):
        code = f"A{i + 1:03d}"
        row, evs, sp = _agent(draw, code, org_codes, ranks, [a["agent_code"] for a in agents])
        agents.append(row)
        events += evs
        spells[code] = sp

    # --- premiums ---
    premiums: list[dict[str, Any]] = []
    n_txn = 0
    n_pol = 0

    def txn(agent: str, product: dict[str, Any], policy: str, ttype: str, day: dt.date,
            amount: Decimal, issue: dt.date | None = None, year: int | None = 1) -> None:
        nonlocal n_txn
        n_txn += 1
        premiums.append({
            "txn_id": f"T{n_txn:05d}", "policy_no": policy, "agent_code": agent,
            "product_code": product["product_code"], "txn_date": day, "txn_type": ttype,
            "amount": amount, "issue_date": issue, "policy_year": year,
            "fyc": _money(draw, 0, 500_000) if draw(st.integers(0, 4)) == 0 else None,
        })

    for a in agents:
        sp = spells[a["agent_code"]]
        for _ in range(draw(st.integers(0, 6))):
            n_pol += 1
            policy = f"P{n_pol:05d}"
            product = draw(st.sampled_from(products))
            h, lv = draw(st.sampled_from(sp))
            odd = draw(st.integers(0, 19))
            if odd == 0:  # production after leaving, or before the first hire
                day = _day(draw, dt.date(2024, 11, 1), LAST_DAY)
            else:
                day = _day(draw, h, min(lv - dt.timedelta(days=1), LAST_DAY) if lv else LAST_DAY)
            amount = _money(draw)
            issue = day + dt.timedelta(days=draw(st.integers(0, 20))) if draw(st.booleans()) else None
            txn(a["agent_code"], product, policy, "new", day, amount, issue,
                draw(st.sampled_from([1, None])))
            follow = draw(st.integers(0, 9))
            if follow == 0:  # free-look cancellation, usually in a later month
                txn(a["agent_code"], product, policy, "free_look_cancel",
                    day + dt.timedelta(days=draw(st.integers(1, 40))), amount)
            elif follow == 1:
                txn(a["agent_code"], product, policy, "surrender",
                    day + dt.timedelta(days=draw(st.integers(30, 300))), _money(draw, 1, 1_000_000))
            elif follow in (2, 3) and product["pay_mode"] == "regular":
                for k in range(draw(st.integers(1, 3))):
                    txn(a["agent_code"], product, policy, "fy_renewal",
                        day + dt.timedelta(days=30 * (k + 1) + draw(st.integers(0, 9))),
                        _money(draw))
            elif follow == 4:
                txn(a["agent_code"], product, policy, "renewal", day + dt.timedelta(days=366),
                    amount, None, 2)
            if follow in (4, 5, 6) and product["pay_mode"] == "regular":
                # renewals around the anniversaries: early, on time, at and just past the grace
                # limit (60 days by default), late; some without a policy year
                base = issue or day
                for year in range(2, draw(st.integers(2, 4)) + 1):
                    try:
                        anniversary = base.replace(year=base.year + year - 1)
                    except ValueError:  # 29 February
                        anniversary = base.replace(year=base.year + year - 1, day=28)
                    paid = anniversary + dt.timedelta(days=draw(st.sampled_from(
                        [-20, 0, 29, 30, 59, 60, 61, 120])))
                    if paid <= LAST_DAY:
                        txn(a["agent_code"], product, policy, "renewal", paid, _money(draw),
                            None, draw(st.sampled_from([year, year, year, None])))

    # --- plans (fyp, and a few of another metric that must be ignored) ---
    plans: list[dict[str, Any]] = []
    seen_plans: set[tuple[str, str, str]] = set()
    for _ in range(draw(st.integers(0, 12))):
        org = draw(st.sampled_from(org_codes))
        year = draw(st.sampled_from([2025, 2026]))
        period = draw(st.one_of(
            st.integers(1, 12).map(lambda m, y=year: f"{y}-{m:02d}"),
            st.integers(1, 4).map(lambda q, y=year: f"{y}Q{q}"),
            st.just(str(year)),
        ))
        metric = draw(st.sampled_from(["fyp", "fyp", "fyp", "cases"]))
        if (org, period, metric) in seen_plans:
            continue
        seen_plans.add((org, period, metric))
        target = draw(st.sampled_from([Decimal(0), Decimal("1000000.00")])) \
            if draw(st.integers(0, 5)) == 0 else _money(draw, 100, 100_000_000)
        plans.append({"org_code": org, "period": period, "metric": metric, "target": target})
    for org in org_codes:
        # complete sets for 2026 (the month-sum and children rules need them): every month,
        # every quarter, the year — each for some units
        for periods in ([f"2026-{m:02d}" for m in range(1, 13)], [f"2026Q{q}" for q in range(1, 5)],
                        ["2026"]):
            if draw(st.integers(0, 2)):
                continue
            for period in periods:
                if (org, period, "fyp") not in seen_plans:
                    seen_plans.add((org, period, "fyp"))
                    plans.append({"org_code": org, "period": period, "metric": "fyp",
                                  "target": _money(draw, 100, 10_000_000)})

    # --- attendance and work logs, on a shared pool of meeting days ---
    pool = sorted({_day(draw, dt.date(2025, 11, 1), LAST_DAY) for _ in range(draw(st.integers(0, 20)))})
    attendance: list[dict[str, Any]] = []
    work_logs: list[dict[str, Any]] = []
    for a in agents:
        sp = spells[a["agent_code"]]
        if not pool:
            break
        days = sorted(set(draw(st.lists(st.sampled_from(pool), max_size=10))))
        for d in days:
            if not _in_spells(d, sp) and draw(st.integers(0, 3)):
                continue  # mostly only while in force (sometimes a row out of force)
            for meeting in draw(st.sampled_from([("morning",), ("evening",),
                                                 ("morning", "evening")])):
                attendance.append({"agent_code": a["agent_code"], "date": d, "meeting": meeting,
                                   "status": draw(st.sampled_from(["present", "late", "leave",
                                                                   "absent"]))})
        log_days = sorted(set(draw(st.lists(st.sampled_from(pool), max_size=10))))
        for d in log_days:
            work_logs.append({"agent_code": a["agent_code"], "date": d,
                              "calls": draw(st.integers(0, 9)), "visits": None,
                              "interviews": None, "proposals": None, "closes": None,
                              "referrals": None, "recruit_talks": None, "note": None})

    return {"org_units": orgs, "ranks": ranks, "products": products, "agents": agents,
            "agent_events": events, "premiums": premiums, "plans": plans,
            "attendance": attendance, "work_logs": work_logs}


# --- import -------------------------------------------------------------------------------------


def _cell(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return format(v, "f")
    return str(v)


def frame(kind: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The rows as a DataFrame with the column codes of ``kind``, every cell text (like a CSV)."""
    codes = [c.code for c in KINDS[kind].columns]
    return pd.DataFrame([[_cell(r.get(c)) for c in codes] for r in rows], columns=codes,
                        dtype=object)


def load_agency(ws: Any, facts: Facts, *, tag: str = "agency") -> None:
    """Import every non-empty kind of ``facts`` in IMPORT_ORDER; every import must commit."""
    from zhuizong.importing.service import import_frame

    for kind in IMPORT_ORDER:
        rows = facts.get(kind) or []
        if not rows:
            continue
        res = import_frame(ws, kind, frame(kind, rows), source_name=f"{tag}-{kind}")
        assert res.status == "committed", (
            f"import of {kind} was {res.status}: "
            + "; ".join(f"row {e.row} {e.column}={e.value!r}: {getattr(e, 'reason_en', e)}"
                        for e in res.errors[:10])
            + "\n" + describe(facts))


def describe(facts: Facts) -> str:
    """A readable dump of an agency (for failure messages): one JSON line per row."""
    lines = []
    for kind in IMPORT_ORDER:
        rows = facts.get(kind) or []
        lines.append(f"== {kind} ({len(rows)})")
        for r in rows:
            lines.append(json.dumps({k: _cell(v) for k, v in r.items() if v is not None},
                                    ensure_ascii=False))
    return "\n".join(lines)


__all__ = ["FIRST_DAY", "LAST_DAY", "Facts", "agencies", "describe", "frame", "load_agency"]
