"""A plain-Python reference implementation of the KPI spec (deliberately simple and slow).

This is the oracle the property tests hold the engine (``zhuizong.kpi.engine``) against. It reads
the facts *as imported* (plain lists of dicts with the column codes of data-contract.md, dates as
``datetime.date``, money as ``Decimal`` 元) and computes every metric of kpi-spec.md §5 following
the 17 points of docs/kpi-engine.md "Exact semantics", by looping over agents and days. It shares
nothing with the engine except the calendar module (``zhuizong.analytics.calendar``, tested on
its own): spells and dated placements are derived here from ``agents`` + ``agent_events``.

All numbers are exact :class:`fractions.Fraction` values. A ratio is returned as
``(value, numerator, denominator)`` with ``value`` None when the denominator is 0 or missing;
other metrics as ``(value, None, None)``.

Decisions where even docs/kpi-engine.md leaves room (each noted where it is implemented):

* Plans exist for ``segment="none"`` and unit grains only (a plan is entered per org unit, not per
  rank category or agent); a to-date period uses the plan of its whole period; a date range made
  of whole basis months (it starts on a basis month's first day and ends on one's last day, not
  cut at an as-of date) takes the sum of its months' plans (then the children rule); any other
  date range has no plan (partial months are not prorated).
* A date range *shorter than a month* is one that contains no whole basis month (checked here
  day by day, see ``_short_range``): it is one piece with its own endpoints, also across a month
  boundary — average (opening + closing) / 2, recruitment and attrition rates over its own
  opening, its cohorts those of the basis month containing its end, evaluated at its end. Every
  other period is split into its basis months (``Period.month_periods()``).
* Cohort metrics: the months of the period are ``Period.months()`` (a short range: the month of
  its end); "the end of m" is the end of the basis month m cut at the period's end (to-date
  periods evaluate the as-of month at the as-of date).
* A working day for tool usage is a day with a morning-meeting row of an agent *placed* in the
  unit's subtree on that day (in force or not); the counted agents are those in force that day.
* Tenure of a count on day d: the current spell is the latest spell that started on or before d
  (or the first spell when d is before every hire).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from typing import Any

from zhuizong.analytics.calendar import Basis, Period, parse_period

CATEGORIES = ("probationary", "formal", "director")
FORMAL_OR_ABOVE = ("formal", "director")
TENURE_BUCKETS = ("M0", "M1-3", "M4-6", "M7-12", "M13+")
FYP_SIGN = {"new": 1, "fy_renewal": 1, "free_look_cancel": -1, "surrender": -1, "renewal": 0}
#: order of events that share a date (only matters for hand-made facts; the generator avoids it)
EVENT_ORDER = {t: i for i, t in enumerate(
    ("hire", "rehire", "convert", "promote", "demote", "transfer", "leave"))}

DEFAULT_SETTINGS: dict[str, Any] = {
    "calendar.month_basis": "natural",
    "calendar.cutoff_day": 25,
    "kpi.premium_basis": "received",
    "kpi.active_rule": "fyp_positive",
    "kpi.cases": "net",
    "kpi.average_headcount": "mean_of_months",
    "kpi.persistency_grace_days": 60,
}

METRIC_CODES = (
    "fyp", "fyp_mom", "fyp_yoy", "fyp_plan_rate", "fyp_year_progress", "fyc", "std_premium",
    "cases", "headcount_open", "headcount_close", "headcount_avg", "active",
    "active_probationary", "active_formal", "active_director", "activity_rate",
    "fyp_per_capita", "fyp_per_active", "premium_per_case", "cases_per_capita",
    "cases_per_active", "fyc_per_capita", "new_hires", "recruitment_rate", "conversions",
    "effective_recruitment_rate", "leavers", "attrition_rate", "net_growth_rate",
    "retention_3m", "retention_6m", "retention_12m", "conversion_3m", "conversion_6m",
    "attendance_rate", "tool_usage_rate",
    "persistency_13m", "persistency_13m_cases", "persistency_25m", "persistency_25m_cases",
)

ONE_DAY = dt.timedelta(days=1)
Key = tuple[str, str | None, str, str]  # (org_code, agent_code | None, segment, metric)
Triple = tuple[Fraction | None, Fraction | None, Fraction | None]


# --- input normalisation ------------------------------------------------------------------------


def _date(v: Any) -> dt.date | None:
    if v is None or v == "":
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v))


def _frac(v: Any) -> Fraction | None:
    if v is None or v == "":
        return None
    if isinstance(v, Fraction):
        return v
    if isinstance(v, float):
        raise TypeError(f"floats are not exact: {v!r}")
    return Fraction(Decimal(str(v)))


def _text(v: Any) -> str | None:
    return None if v is None or v == "" else str(v)


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() in ("1", "true", "y", "yes", "是")


def _days(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    d = start
    while d <= end:
        yield d
        d += ONE_DAY


def tenure_bucket(months: int) -> str:
    if months <= 0:
        return "M0"
    if months <= 3:
        return "M1-3"
    if months <= 6:
        return "M4-6"
    if months <= 12:
        return "M7-12"
    return "M13+"


# --- the world: orgs, ranks, spells, placements --------------------------------------------------


class World:
    """The facts, with the derived history (spells and dated rank / org unit per agent)."""

    def __init__(self, facts: dict[str, list[dict[str, Any]]]) -> None:
        self.orgs: dict[str, dict[str, Any]] = {}
        for o in facts.get("org_units", []):
            self.orgs[str(o["org_code"])] = {
                "name": o.get("org_name") or "",
                "parent": _text(o.get("parent_code")),
                "level": _text(o.get("level")),
            }
        self.children: dict[str, list[str]] = {c: [] for c in self.orgs}
        for c, o in self.orgs.items():
            if o["parent"] is not None:
                self.children[o["parent"]].append(c)
        for kids in self.children.values():
            kids.sort()
        self.category = {str(r["rank_code"]): str(r["category"]) for r in facts.get("ranks", [])}
        self.products: dict[str, dict[str, Any]] = {}
        for p in facts.get("products", []):
            self.products[str(p["product_code"])] = {
                "is_main": _bool(p["is_main"]),
                "fyc_rate": _frac(p.get("fyc_rate")),
                "std_factor": _frac(p.get("std_factor")),
                "regular": _text(p.get("pay_mode")) == "regular",
            }
        self.agents: dict[str, dict[str, Any]] = {}
        for a in facts.get("agents", []):
            self.agents[str(a["agent_code"])] = {
                "hire": _date(a["hire_date"]),
                "leave": _date(a.get("leave_date")),
                "org": str(a["org_code"]),
                "rank": str(a["rank_code"]),
            }
        self.events: dict[str, list[dict[str, Any]]] = {c: [] for c in self.agents}
        for e in facts.get("agent_events", []):
            self.events[str(e["agent_code"])].append({
                "date": _date(e["event_date"]),
                "type": str(e["event_type"]),
                "rank": _text(e.get("rank_code")),
                "org": _text(e.get("org_code")),
            })
        for evs in self.events.values():
            evs.sort(key=lambda e: (e["date"], EVENT_ORDER[e["type"]]))
        self.spells: dict[str, list[tuple[dt.date, dt.date | None]]] = {
            c: self._derive_spells(c) for c in self.agents
        }
        self.premiums = []
        for r in facts.get("premiums", []):
            self.premiums.append({
                "txn_id": str(r["txn_id"]),
                "policy_no": str(r["policy_no"]),
                "agent": str(r["agent_code"]),
                "product": str(r["product_code"]),
                "txn_date": _date(r["txn_date"]),
                "type": str(r["txn_type"]),
                "amount": _frac(r["amount"]),
                "issue_date": _date(r.get("issue_date")),
                "fyc": _frac(r.get("fyc")),
                "policy_year": None if r.get("policy_year") is None else int(r["policy_year"]),
            })
        self.plans: dict[tuple[str, str, str], Fraction] = {}
        for p in facts.get("plans", []):
            self.plans[(str(p["org_code"]), str(p["period"]), str(p["metric"]))] = _frac(p["target"])  # type: ignore[assignment]
        self.attendance = [
            {"agent": str(r["agent_code"]), "date": _date(r["date"]), "meeting": str(r["meeting"]),
             "status": str(r["status"])}
            for r in facts.get("attendance", [])
        ]
        self.work_logs = {(str(r["agent_code"]), _date(r["date"])) for r in facts.get("work_logs", [])}
        self._placement_cache: dict[tuple[str, dt.date], tuple[str, str]] = {}

    # spells: starts = agents.hire_date + hire/rehire events; ends = agents.leave_date + leave
    # events (the same date twice is one fact); sorted, ends before starts on the same date.
    def _derive_spells(self, code: str) -> list[tuple[dt.date, dt.date | None]]:
        a = self.agents[code]
        marks: set[tuple[dt.date, int]] = {(a["hire"], 1)}
        if a["leave"] is not None:
            marks.add((a["leave"], 0))
        for e in self.events[code]:
            if e["type"] in ("hire", "rehire"):
                marks.add((e["date"], 1))
            elif e["type"] == "leave":
                marks.add((e["date"], 0))
        spells: list[tuple[dt.date, dt.date | None]] = []
        open_hire: dt.date | None = None
        for date, kind in sorted(marks):
            if kind == 1:
                assert open_hire is None, f"{code}: second hire on {date} without a leave"
                open_hire = date
            else:
                assert open_hire is not None, f"{code}: leave on {date} without being in force"
                spells.append((open_hire, date))
                open_hire = None
        if open_hire is not None:
            spells.append((open_hire, None))
        return spells

    # -- orgs --
    def ancestors(self, org: str) -> list[str]:
        out = []
        cur: str | None = org
        while cur is not None:
            out.append(cur)
            cur = self.orgs[cur]["parent"]
        return out

    def in_subtree(self, org: str, unit: str) -> bool:
        return unit in self.ancestors(org)

    def subtree(self, unit: str) -> list[str]:
        return sorted(o for o in self.orgs if self.in_subtree(o, unit))

    def roots(self) -> list[str]:
        return sorted(c for c, o in self.orgs.items() if o["parent"] is None)

    # -- people --
    def first_hire(self, code: str) -> dt.date:
        return self.spells[code][0][0]

    def placement(self, code: str, d: dt.date) -> tuple[str, str]:
        """(org_code, rank_code) of the agent on day d (point 1): the latest event on or before d
        naming each attribute, else the agents row; before the first hire, as on the first hire."""
        key = (code, d)
        hit = self._placement_cache.get(key)
        if hit is not None:
            return hit
        day = max(d, self.first_hire(code))
        a = self.agents[code]
        org, rank = a["org"], a["rank"]
        for e in self.events[code]:
            if e["date"] > day:
                break
            if e["org"] is not None:
                org = e["org"]
            if e["rank"] is not None:
                rank = e["rank"]
        self._placement_cache[key] = (org, rank)
        return org, rank

    def in_force_spell(self, code: str, d: dt.date) -> tuple[dt.date, dt.date | None] | None:
        """The spell in force at the end of day d (hire <= d < leave), if any."""
        for hire, leave in self.spells[code]:
            if hire <= d and (leave is None or d < leave):
                return hire, leave
        return None

    def current_spell_hire(self, code: str, d: dt.date) -> dt.date:
        started = [h for h, _ in self.spells[code] if h <= d]
        return max(started) if started else self.first_hire(code)

    def segment_of(self, segment: str, code: str, d: dt.date, basis: Basis | None = None) -> str:
        if segment == "none":
            return "all"
        org, rank = self.placement(code, d)
        if segment == "rank_category":
            return self.category[rank]
        if segment == "rank":
            return rank
        if segment == "tenure":
            # basis months from the current spell's hire month to d's month
            h = self.current_spell_hire(code, d)
            b = basis or Basis()
            (dy, dm), (hy, hm) = b.month_of(d), b.month_of(h)
            return tenure_bucket((dy * 12 + dm) - (hy * 12 + hm))
        raise ValueError(f"unknown segment {segment}")

    def category_on(self, code: str, d: dt.date) -> str:
        return self.category[self.placement(code, d)[1]]


# --- the computation ----------------------------------------------------------------------------


class _Calc:
    def __init__(self, world: World, period: Period, *, org: str | None, by: str | None,
                 segment: str, settings: dict[str, Any]) -> None:
        self.w = world
        self.p = period
        self.S, self.E = period.start, period.end
        self.segment = segment
        self.settings = settings
        if org is None:
            roots = world.roots()
            assert len(roots) == 1, f"several roots {roots}: give org"
            org = roots[0]
        self.org = org
        self.by = by
        if by is None or by == "agent":
            self.units = [org]
        elif by == "children":
            self.units = list(world.children[org])
        elif by == "subtree":  # the unit and every unit below it
            self.units = world.subtree(org)
        elif by.startswith("level:"):
            level = by.split(":", 1)[1]
            self.units = [u for u in world.subtree(org) if world.orgs[u]["level"] == level]
        else:
            raise ValueError(f"unknown by {by}")
        if by == "agent":
            self._agent_org_at_end = {c: world.placement(c, self.E)[0] for c in world.agents}

    # grain keys (org_code, agent_code | None) a fact placed in ``org`` by ``agent`` counts in
    def keys(self, org: str, agent: str) -> list[tuple[str, str | None]]:
        if self.by == "agent":
            if self.w.in_subtree(org, self.org):
                return [(self._agent_org_at_end[agent], agent)]
            return []
        return [(u, None) for u in self.units if self.w.in_subtree(org, u)]

    def segments(self) -> list[str]:
        if self.segment == "none":
            return ["all"]
        if self.segment == "rank_category":
            return list(CATEGORIES)
        if self.segment == "rank":
            return sorted(self.w.category)
        return list(TENURE_BUCKETS)

    # -- production (points 2-4) --
    def attribution_day(self, r: dict[str, Any]) -> dt.date:
        if self.settings["kpi.premium_basis"] == "issued" and r["type"] == "new" \
                and r["issue_date"] is not None:
            return r["issue_date"]
        return r["txn_date"]

    def fyc_of(self, r: dict[str, Any]) -> Fraction:
        if r["fyc"] is not None:
            return r["fyc"]
        rate = self.w.products[r["product"]]["fyc_rate"]
        return r["amount"] * (rate if rate is not None else 0)

    def std_of(self, r: dict[str, Any]) -> Fraction:
        factor = self.w.products[r["product"]]["std_factor"]
        return r["amount"] * (factor if factor is not None else 1)

    def production(self, start: dt.date, end: dt.date) -> dict[str, dict[Any, Fraction]]:
        fyp: dict[Any, Fraction] = defaultdict(Fraction)
        fyc: dict[Any, Fraction] = defaultdict(Fraction)
        std: dict[Any, Fraction] = defaultdict(Fraction)
        new: dict[Any, set[str]] = defaultdict(set)
        cancelled: dict[Any, set[str]] = defaultdict(set)
        for r in self.w.premiums:
            day = self.attribution_day(r)
            if not start <= day <= end:
                continue
            org, _ = self.w.placement(r["agent"], day)
            seg = self.w.segment_of(self.segment, r["agent"], day, self.p.basis)
            sign = FYP_SIGN[r["type"]]
            main = self.w.products[r["product"]]["is_main"]
            for g in self.keys(org, r["agent"]):
                k = (g, seg)
                fyp[k] += sign * r["amount"]
                fyc[k] += sign * self.fyc_of(r)
                std[k] += sign * self.std_of(r)
                if main and r["type"] == "new":
                    new[k].add(r["policy_no"])
                if main and r["type"] == "free_look_cancel":
                    cancelled[k].add(r["policy_no"])
        cases: dict[Any, Fraction] = defaultdict(Fraction)
        for k in set(new) | set(cancelled):
            n = len(new[k])
            if self.settings["kpi.cases"] == "net":
                n -= len(cancelled[k])
            cases[k] = Fraction(n)
        return {"fyp": fyp, "fyc": fyc, "std_premium": std, "cases": cases}

    # -- active (point 5) --
    def last_in_force_day(self, code: str) -> dt.date:
        started = [(h, lv) for h, lv in self.w.spells[code] if h <= self.E]
        if started:
            h, lv = started[-1]
            last = self.E if lv is None else min(self.E, lv - ONE_DAY)
            if last >= self.S:
                return last
        return self.E

    def active(self) -> tuple[dict[Any, Fraction], dict[Any, Fraction]]:
        """(active per (g, seg), active per (g, seg, category))."""
        per: dict[tuple[Any, str], dict[str, Any]] = {}
        for r in self.w.premiums:
            day = self.attribution_day(r)
            if not self.S <= day <= self.E:
                continue
            org, _ = self.w.placement(r["agent"], day)
            main = self.w.products[r["product"]]["is_main"]
            sign = FYP_SIGN[r["type"]]
            for g in self.keys(org, r["agent"]):
                m = per.setdefault((g, r["agent"]), {"fyp": Fraction(0), "fyc": Fraction(0),
                                                     "new": set(), "cancelled": set()})
                m["fyp"] += sign * r["amount"]
                m["fyc"] += sign * self.fyc_of(r)
                if main and r["type"] == "new":
                    m["new"].add(r["policy_no"])
                if main and r["type"] == "free_look_cancel":
                    m["cancelled"].add(r["policy_no"])
        rule = self.settings["kpi.active_rule"]
        act: dict[Any, Fraction] = defaultdict(Fraction)
        act_cat: dict[Any, Fraction] = defaultdict(Fraction)
        for (g, agent), m in per.items():
            if rule == "fyp_positive":
                ok = m["fyp"] > 0
            elif rule == "cases_positive":
                ok = len(m["new"]) - len(m["cancelled"]) >= 1
            elif rule.startswith("fyc_at_least:"):
                ok = m["fyc"] >= Fraction(Decimal(rule.split(":", 1)[1]))
            else:
                raise ValueError(rule)
            if not ok:
                continue
            d = self.last_in_force_day(agent)
            seg = self.w.segment_of(self.segment, agent, d, self.p.basis)
            act[(g, seg)] += 1
            act_cat[(g, seg, self.w.category_on(agent, d))] += 1
        return act, act_cat

    # -- people (points 6-9) --
    def headcount(self, d: dt.date) -> dict[Any, Fraction]:
        out: dict[Any, Fraction] = defaultdict(Fraction)
        for code in self.w.agents:
            if self.w.in_force_spell(code, d) is None:
                continue
            org, _ = self.w.placement(code, d)
            seg = self.w.segment_of(self.segment, code, d, self.p.basis)
            for g in self.keys(org, code):
                out[(g, seg)] += 1
        return out

    def people(self) -> dict[str, dict[Any, Fraction]]:
        hc: dict[dt.date, dict[Any, Fraction]] = {}

        def at(d: dt.date) -> dict[Any, Fraction]:
            if d not in hc:
                hc[d] = self.headcount(d)
            return hc[d]

        opening, closing = at(self.S - ONE_DAY), at(self.E)
        pieces = [self.p] if _short_range(self.p) else self.p.month_periods()
        multi = len(pieces) > 1
        keys = set(opening) | set(closing)
        for pc in pieces:
            keys |= set(at(pc.start - ONE_DAY)) | set(at(pc.end))
        avg, sum_open, sum_avg = {}, {}, {}
        for k in keys:
            piece_avgs = [(at(pc.start - ONE_DAY).get(k, 0) + at(pc.end).get(k, 0)) / Fraction(2)
                          for pc in pieces]
            endpoints = (opening.get(k, 0) + closing.get(k, 0)) / Fraction(2)
            if multi and self.settings["kpi.average_headcount"] == "mean_of_months":
                avg[k] = sum(piece_avgs, Fraction(0)) / len(pieces)
            else:
                avg[k] = endpoints
            sum_open[k] = (sum((at(pc.start - ONE_DAY).get(k, Fraction(0)) for pc in pieces),
                               Fraction(0)) if multi else opening.get(k, Fraction(0)))
            sum_avg[k] = sum(piece_avgs, Fraction(0)) if multi else opening.get(k, Fraction(0))

        hires: dict[Any, Fraction] = defaultdict(Fraction)
        leavers: dict[Any, Fraction] = defaultdict(Fraction)
        conversions: dict[Any, Fraction] = defaultdict(Fraction)
        for code, spells in self.w.spells.items():
            for hire, leave in spells:
                if self.S <= hire <= self.E:
                    org, _ = self.w.placement(code, hire)
                    seg = self.w.segment_of(self.segment, code, hire, self.p.basis)
                    for g in self.keys(org, code):
                        hires[(g, seg)] += 1
                if leave is not None and self.S <= leave <= self.E:
                    last = max(hire, leave - ONE_DAY)
                    org, _ = self.w.placement(code, last)
                    seg = self.w.segment_of(self.segment, code, last, self.p.basis)
                    for g in self.keys(org, code):
                        leavers[(g, seg)] += 1
            # point 8: the category changes from probationary to formal/director on day t
            first = self.w.first_hire(code)
            for t in _days(max(self.S, first + ONE_DAY), self.E):
                if self.w.category_on(code, t - ONE_DAY) == "probationary" \
                        and self.w.category_on(code, t) in FORMAL_OR_ABOVE:
                    org, _ = self.w.placement(code, t)
                    seg = self.w.segment_of(self.segment, code, t, self.p.basis)
                    for g in self.keys(org, code):
                        conversions[(g, seg)] += 1
        return {
            "headcount_open": opening, "headcount_close": closing, "headcount_avg": avg,
            "sum_monthly_open": sum_open, "sum_monthly_avg": sum_avg,
            "new_hires": hires, "leavers": leavers, "conversions": conversions,
        }

    # -- cohorts (point 13) --
    def cohort(self, t: int) -> dict[str, dict[Any, Fraction]]:
        size: dict[Any, Fraction] = defaultdict(Fraction)
        retained: dict[Any, Fraction] = defaultdict(Fraction)
        converted: dict[Any, Fraction] = defaultdict(Fraction)
        basis = self.p.basis
        for y, m in _report_months(self.p):
            idx = y * 12 + (m - 1) - t
            cs, ce = basis.month_bounds(idx // 12, idx % 12 + 1)
            end_of_m = min(basis.month_bounds(y, m)[1], self.E)
            for code, spells in self.w.spells.items():
                for hire, leave in spells:
                    if not cs <= hire <= ce:
                        continue
                    org, _ = self.w.placement(code, hire)
                    seg = self.w.segment_of(self.segment, code, hire, self.p.basis)
                    still = leave is None or leave > end_of_m
                    conv = still and self.w.category_on(code, end_of_m) in FORMAL_OR_ABOVE
                    for g in self.keys(org, code):
                        size[(g, seg)] += 1
                        retained[(g, seg)] += 1 if still else 0
                        converted[(g, seg)] += 1 if conv else 0
        return {"size": size, "retained": retained, "converted": converted}

    # -- persistency (point 17) --
    def persistency(self, n: int) -> dict[str, dict[Any, Fraction]]:
        """Regular-pay policies issued in month m − (n + 1) for each month m of the period: their
        first-year premium, their year-(n // 12 + 1) renewal premium received by the anniversary +
        grace and by the end of m, and the policy counts."""
        years = n // 12
        grace = dt.timedelta(days=int(self.settings["kpi.persistency_grace_days"]))
        basis = self.p.basis
        cohorts = []
        for y, m in _report_months(self.p):
            idx = y * 12 + (m - 1) - (n + 1)
            cs, ce = basis.month_bounds(idx // 12, idx % 12 + 1)
            cohorts.append((cs, ce, min(basis.month_bounds(y, m)[1], self.E)))
        rows_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in self.w.premiums:
            rows_of[r["policy_no"]].append(r)
        out: dict[str, dict[Any, Fraction]] = {
            k: defaultdict(Fraction) for k in ("due", "paid", "policies", "paid_policies")}
        for rows in rows_of.values():
            if any(r["type"] == "free_look_cancel" for r in rows):
                continue
            regular = [r for r in rows if self.w.products[r["product"]]["regular"]]
            issues = [r for r in regular if r["type"] == "new"]
            if not issues:
                continue
            first = min(issues, key=lambda r: (r["issue_date"] or r["txn_date"], r["txn_id"]))
            issued = first["issue_date"] or first["txn_date"]
            for cs, ce, end_of_m in cohorts:
                if not cs <= issued <= ce:
                    continue
                limit = min(_anniversary(issued, years) + grace, end_of_m)
                due = sum((r["amount"] for r in regular if r["type"] in ("new", "fy_renewal")),
                          Fraction(0))
                paid = sum((r["amount"] for r in regular
                            if r["type"] == "renewal" and r["policy_year"] == years + 1
                            and r["txn_date"] <= limit), Fraction(0))
                org, _ = self.w.placement(first["agent"], issued)
                seg = self.w.segment_of(self.segment, first["agent"], issued, self.p.basis)
                for g in self.keys(org, first["agent"]):
                    out["due"][(g, seg)] += due
                    out["paid"][(g, seg)] += paid
                    out["policies"][(g, seg)] += 1
                    out["paid_policies"][(g, seg)] += 1 if paid > 0 else 0
        return out

    # -- attendance and tool usage (points 14, 15) --
    def meetings(self) -> tuple[dict[Any, Fraction], dict[Any, Fraction]]:
        attended: dict[Any, Fraction] = defaultdict(Fraction)
        scheduled: dict[Any, Fraction] = defaultdict(Fraction)
        for r in self.w.attendance:
            d = r["date"]
            if not self.S <= d <= self.E or self.w.in_force_spell(r["agent"], d) is None:
                continue
            org, _ = self.w.placement(r["agent"], d)
            seg = self.w.segment_of(self.segment, r["agent"], d, self.p.basis)
            for g in self.keys(org, r["agent"]):
                scheduled[(g, seg)] += 1
                if r["status"] in ("present", "late"):
                    attended[(g, seg)] += 1
        return attended, scheduled

    def tool_use(self) -> tuple[dict[Any, Fraction], dict[Any, Fraction]]:
        workdays: dict[Any, set[dt.date]] = defaultdict(set)
        for r in self.w.attendance:
            d = r["date"]
            if r["meeting"] != "morning" or not self.S <= d <= self.E:
                continue
            org, _ = self.w.placement(r["agent"], d)
            for g in self.keys(org, r["agent"]):
                workdays[g].add(d)
        filled: dict[Any, Fraction] = defaultdict(Fraction)
        in_force: dict[Any, Fraction] = defaultdict(Fraction)
        for g, days in workdays.items():
            for d in sorted(days):
                for code in self.w.agents:
                    if self.w.in_force_spell(code, d) is None:
                        continue
                    org, _ = self.w.placement(code, d)
                    if g not in self.keys(org, code):
                        continue
                    seg = self.w.segment_of(self.segment, code, d, self.p.basis)
                    in_force[(g, seg)] += 1
                    if (code, d) in self.w.work_logs:
                        filled[(g, seg)] += 1
        return filled, in_force

    # -- plans (point 12) --
    def plan_of(self, unit: str, label: str, month_labels: list[str]) -> Fraction | None:
        exact = self.w.plans.get((unit, label, "fyp"))
        if exact is not None:
            return exact
        if month_labels and month_labels != [label]:
            vals = [self.w.plans.get((unit, m, "fyp")) for m in month_labels]
            if all(v is not None for v in vals):
                return sum(vals, Fraction(0))  # type: ignore[arg-type]
        kids = self.w.children[unit]
        if kids:
            vals = [self.plan_of(k, label, month_labels) for k in kids]
            if all(v is not None for v in vals):
                return sum(vals, Fraction(0))  # type: ignore[arg-type]
        return None

    def plans(self, g: tuple[str, str | None], seg: str) -> tuple[Fraction | None, Fraction | None]:
        """(plan of the period, plan of the calendar year containing E)."""
        if self.segment != "none" or self.by == "agent":
            return None, None
        unit = g[0]
        year = self.E.year
        year_plan = self.plan_of(unit, f"{year:04d}", [f"{year:04d}-{m:02d}" for m in range(1, 13)])
        whole = self.p.uncut()
        if whole.kind == "range" and not (whole.as_of is None and _whole_months_range(whole)):
            return None, year_plan
        months = [f"{y:04d}-{m:02d}" for y, m in whole.months()]
        return self.plan_of(unit, whole.label, months), year_plan

    # -- everything --
    def run(self) -> dict[Key, Triple]:
        prod = self.production(self.S, self.E)
        prev = self.p.previous()
        last_year = self.p.same_last_year()
        prod_prev = self.production(prev.start, prev.end)["fyp"]
        prod_ly = self.production(last_year.start, last_year.end)["fyp"]
        prod_ytd = self.production(dt.date(self.E.year, 1, 1), self.E)["fyp"]
        act, act_cat = self.active()
        ppl = self.people()
        coh = {t: self.cohort(t) for t in (3, 6, 12)}
        pers = {n: self.persistency(n) for n in (13, 25)}
        attended, scheduled = self.meetings()
        filled, in_force = self.tool_use()

        if self.by == "agent":
            seen: set[Any] = set()
            for d in (*prod.values(), prod_prev, prod_ly, prod_ytd, act, *ppl.values(),
                      *(x for c in coh.values() for x in c.values()),
                      *(x for c in pers.values() for x in c.values()), attended, scheduled,
                      filled, in_force):
                seen |= {k[0] for k in d}
            grain = sorted(seen, key=lambda g: (g[1], g[0]))
        else:
            grain = [(u, None) for u in self.units]

        out: dict[Key, Triple] = {}
        zero = Fraction(0)
        for g in grain:
            for s in self.segments():
                k = (g, s)

                def v(d: dict[Any, Fraction], k: Any = k) -> Fraction:
                    return d.get(k, zero)

                fyp, fyc, std, cases = (v(prod[m]) for m in ("fyp", "fyc", "std_premium", "cases"))
                active_n = v(act)
                avg = v(ppl["headcount_avg"])
                opening, closing = v(ppl["headcount_open"]), v(ppl["headcount_close"])
                plan, year_plan = self.plans(g, s)
                vals: dict[str, Triple] = {
                    "fyp": (fyp, None, None),
                    "fyc": (fyc, None, None),
                    "std_premium": (std, None, None),
                    "cases": (cases, None, None),
                    "headcount_open": (opening, None, None),
                    "headcount_close": (closing, None, None),
                    "headcount_avg": (avg, None, None),
                    "active": (active_n, None, None),
                    "new_hires": (v(ppl["new_hires"]), None, None),
                    "conversions": (v(ppl["conversions"]), None, None),
                    "leavers": (v(ppl["leavers"]), None, None),
                    "activity_rate": ratio(active_n, avg),
                    "fyp_per_capita": ratio(fyp, avg),
                    "fyp_per_active": ratio(fyp, active_n),
                    "premium_per_case": ratio(fyp, cases),
                    "cases_per_capita": ratio(cases, avg),
                    "cases_per_active": ratio(cases, active_n),
                    "fyc_per_capita": ratio(fyc, avg),
                    "recruitment_rate": ratio(v(ppl["new_hires"]), v(ppl["sum_monthly_open"])),
                    "effective_recruitment_rate": ratio(v(ppl["conversions"]), avg),
                    "attrition_rate": ratio(v(ppl["leavers"]), v(ppl["sum_monthly_avg"])),
                    "net_growth_rate": ratio(closing - opening, opening),
                    "attendance_rate": ratio(v(attended), v(scheduled)),
                    "tool_usage_rate": ratio(v(filled), v(in_force)),
                    "fyp_mom": ratio(fyp - v(prod_prev), v(prod_prev)),
                    "fyp_yoy": ratio(fyp - v(prod_ly), v(prod_ly)),
                    "fyp_plan_rate": ratio(fyp, plan),
                    "fyp_year_progress": ratio(v(prod_ytd), year_plan),
                }
                for cat in CATEGORIES:
                    vals[f"active_{cat}"] = (act_cat.get((g, s, cat), zero), None, None)
                for t in (3, 6, 12):
                    vals[f"retention_{t}m"] = ratio(v(coh[t]["retained"]), v(coh[t]["size"]))
                for t in (3, 6):
                    vals[f"conversion_{t}m"] = ratio(v(coh[t]["converted"]), v(coh[t]["size"]))
                for n in (13, 25):
                    vals[f"persistency_{n}m"] = ratio(v(pers[n]["paid"]), v(pers[n]["due"]))
                    vals[f"persistency_{n}m_cases"] = ratio(v(pers[n]["paid_policies"]),
                                                            v(pers[n]["policies"]))
                for metric in METRIC_CODES:
                    out[(g[0], g[1], s, metric)] = vals[metric]
        return out


def _short_range(p: Period) -> bool:
    """A date range that contains no whole basis month: no basis month touched by the range has
    both its first day (the day before is in another month, or the month is not the start's)
    and its last day (the day after is in another month, or the month is not the end's) inside
    the range."""
    if p.kind != "range":
        return False
    b = p.basis
    first, last = b.month_of(p.start), b.month_of(p.end)
    touched = {b.month_of(d) for d in _days(p.start, p.end)}
    for m in touched:
        starts_inside = m != first or b.month_of(p.start - ONE_DAY) != m
        ends_inside = m != last or b.month_of(p.end + ONE_DAY) != m
        if starts_inside and ends_inside:
            return False
    return True


def _report_months(p: Period) -> list[tuple[int, int]]:
    """The months whose cohorts the period reports: a short range reports its end's month."""
    return [p.basis.month_of(p.end)] if _short_range(p) else p.months()


def _whole_months_range(p: Period) -> bool:
    """The range starts where a basis month starts and ends where one ends."""
    b = p.basis
    return (b.month_of(p.start - ONE_DAY) != b.month_of(p.start)
            and b.month_of(p.end + ONE_DAY) != b.month_of(p.end))


def _anniversary(issued: dt.date, years: int) -> dt.date:
    """29 February's anniversary in a common year is 28 February."""
    if issued.month == 2 and issued.day == 29 and not _leap(issued.year + years):
        return dt.date(issued.year + years, 2, 28)
    return dt.date(issued.year + years, issued.month, issued.day)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def ratio(numerator: Fraction | None, denominator: Fraction | None) -> Triple:
    if numerator is None or denominator is None or denominator == 0:
        return None, numerator, denominator
    return numerator / denominator, numerator, denominator


def basis_of(settings: dict[str, Any]) -> Basis:
    return Basis(settings["calendar.month_basis"], int(settings["calendar.cutoff_day"]))


def reference_kpis(facts: dict[str, list[dict[str, Any]]] | World, period: str, *,
                   org: str | None = None,
                   by: str | None = None, segment: str = "none",
                   settings: dict[str, Any] | None = None,
                   as_of: dt.date | None = None) -> dict[Key, Triple]:
    """Every metric for ``period`` at the requested grain:
    ``{(org_code, agent_code | None, segment, metric): (value, numerator, denominator)}``.

    ``by``: None (the unit itself), ``"children"``, ``"level:NAME"`` (units of that level in the
    unit's subtree), ``"subtree"`` (the unit and every unit below), ``"agent"``. ``segment``:
    ``"none"``, ``"rank_category"``, ``"rank"``, ``"tenure"``. ``settings`` uses the keys of
    data-contract.md (missing keys take their defaults). ``facts`` may be a :class:`World` built
    once and reused across calls."""
    s = {**DEFAULT_SETTINGS, **(settings or {})}
    world = facts if isinstance(facts, World) else World(facts)
    p = parse_period(period, basis_of(s), as_of)
    return _Calc(world, p, org=org, by=by, segment=segment, settings=s).run()


def reference_value(result: dict[Key, Triple], metric: str, org: str, segment: str = "all",
                    agent: str | None = None) -> Triple:
    return result[(org, agent, segment, metric)]


__all__ = ["CATEGORIES", "DEFAULT_SETTINGS", "METRIC_CODES", "TENURE_BUCKETS", "World",
           "reference_kpis", "reference_value", "tenure_bucket"]
