"""``zhuizong kpi --segment tenure``: every metric split by tenure month (M0, M1-3, M4-6, M7-12,
M13+), built as facts through the import path and read back through ``--format json``.

Tenure month of a count on day d (docs/kpi-engine.md, "Tenure segment"): the number of basis months
from the hire month of the agent's current spell to d's month (M0 = the month of hire, M1 the
next, ...), on the day the fact is attributed — the snapshot day for headcounts, the transaction
(attribution) day for production, the hire day for new hires, the last in-force day for leavers
and active agents, the conversion day for conversions.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.kpi_cli.builders import ROOT, U1, U2, A, Agency, D, config_set, kpi, row, run_cli

BUCKETS = ("M0", "M1-3", "M4-6", "M7-12", "M13+")
#: metrics where every counted fact falls in exactly one segment, so segments add up to the total
ADDITIVE = ("fyp", "fyc", "std_premium", "cases", "headcount_open", "headcount_close",
            "headcount_avg", "active", "active_probationary", "active_formal", "active_director",
            "new_hires", "leavers", "conversions")


def d(y: int, m: int, day: int) -> dt.date:
    return dt.date(y, m, day)


class RehireAgency(Agency):
    """The builder, plus agents with an earlier spell (hire, leave, then a rehire)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.earlier: dict[str, tuple[dt.date, dt.date]] = {}

    def rehired(self, code: str, first_hire: dt.date, left: dt.date, rehire: dt.date, *,
                org: str, rank: str) -> None:
        # the agents row describes the current spell (data-contract.md); events add the history
        self.agents[code] = [code, f"代理人{code}", rehire.isoformat(), org, rank, rank, "", org]
        self.earlier[code] = (first_hire, left)

    def _lines(self, kind: str) -> list[str]:
        if kind != "agent_events":
            return super()._lines(kind)
        lines = super()._lines(kind)
        for code, (first, left) in self.earlier.items():
            a = self.agents[code]
            lines += [f"{code},{first.isoformat()},hire,{a[4]},{a[3]}",
                      f"{code},{left.isoformat()},leave,,",
                      f"{code},{a[2]},rehire,{a[4]},{a[3]}"]
        return lines


@pytest.fixture
def agency(home: Path, tmp_path: Path) -> RehireAgency:
    """The hand agency of this file (natural months; May 2026 is the month under test)."""
    ag = RehireAgency(tmp_path / "facts")
    n0 = ag.hire("N0", 1, d(2026, 5, 10))                        # M0 all May
    n1 = ag.hire("N1", 1, d(2026, 4, 30))                        # M0 on Apr 30, M1-3 in May
    n2 = ag.hire("N2", 1, d(2026, 2, 1))                         # M3 in May
    ag.hire("N3", 1, d(2026, 1, 15))                             # M3 on Apr 30, M4 in May
    n4 = ag.hire("N4", 1, d(2025, 10, 20), rank=A)               # M6 on Apr 30, M7 in May
    n5 = ag.hire("N5", 1, d(2025, 4, 5), rank=D)                 # M12 on Apr 30, M13 in May
    n6 = ag.hire("N6", 1, d(2020, 1, 1), org=U2, rank=A, leave=d(2026, 5, 20))  # leaver, M13+
    ag.rehired("N7", d(2024, 1, 1), d(2025, 1, 1), d(2026, 3, 10), org=U2, rank="T")
    ag.hire("N8", 1, d(2026, 5, 25), leave=d(2026, 5, 28))       # hired and left in May: M0
    ag.hire("N9", 1, d(2026, 4, 5), org=U2)                      # M0 on Apr 30, M1 in May
    ag.convert(n2, d(2026, 5, 15))                               # conversion at M3
    ag.premium(n0[0], "new", 100, d(2026, 5, 12))
    ag.premium(n1[0], "new", 200, d(2026, 5, 3))
    ag.premium(n2[0], "new", 300, d(2026, 5, 20))
    ag.premium(n4[0], "new", 400, d(2026, 5, 5))
    ag.premium(n5[0], "new", 500, d(2026, 5, 31))
    ag.premium(n6[0], "new", 600, d(2026, 5, 2))
    ag.premium("N7", "new", 700, d(2026, 5, 8))
    # other months, for the quarter / year sums
    ag.premium(n2[0], "new", 50, d(2026, 4, 10))                 # M2
    ag.premium(n5[0], "new", 70, d(2026, 6, 1))                  # M14
    ag.load()
    return ag


def by_segment(res: dict[str, Any], metric: str, org: str | None = None) -> dict[str, Any]:
    return {b: row(res, metric, org, b)["value"] for b in BUCKETS}


def test_exact_values_per_bucket(agency: RehireAgency) -> None:
    res = kpi("2026-05", list(ADDITIVE) + ["activity_rate", "fyp_per_capita"], segment="tenure")
    assert {r["segment"] for r in res["rows"]} == set(BUCKETS)
    assert by_segment(res, "fyp") == {"M0": 100, "M1-3": 1_200, "M4-6": 0, "M7-12": 400,
                                      "M13+": 1_100}
    assert by_segment(res, "cases") == {"M0": 1, "M1-3": 3, "M4-6": 0, "M7-12": 1, "M13+": 2}
    # opening at the end of Apr 30: N1 and N9 are M0 then, N3 M3, N4 M6, N5 M12
    assert by_segment(res, "headcount_open") == {"M0": 2, "M1-3": 3, "M4-6": 1, "M7-12": 1,
                                                 "M13+": 1}
    # closing at the end of May 31: N6 and N8 left; everyone else one tenure month older
    assert by_segment(res, "headcount_close") == {"M0": 1, "M1-3": 4, "M4-6": 1, "M7-12": 1,
                                                  "M13+": 1}
    assert by_segment(res, "headcount_avg") == {"M0": 1.5, "M1-3": 3.5, "M4-6": 1, "M7-12": 1,
                                                "M13+": 1}
    assert by_segment(res, "new_hires") == {"M0": 2, "M1-3": 0, "M4-6": 0, "M7-12": 0, "M13+": 0}
    assert by_segment(res, "leavers") == {"M0": 1, "M1-3": 0, "M4-6": 0, "M7-12": 0, "M13+": 1}
    assert by_segment(res, "conversions") == {"M0": 0, "M1-3": 1, "M4-6": 0, "M7-12": 0,
                                              "M13+": 0}
    # active at the last in-force day of May (N6: May 19, still M13+)
    assert by_segment(res, "active") == {"M0": 1, "M1-3": 3, "M4-6": 0, "M7-12": 1, "M13+": 2}
    assert by_segment(res, "active_probationary") == {"M0": 1, "M1-3": 2, "M4-6": 0,
                                                      "M7-12": 0, "M13+": 0}
    assert by_segment(res, "active_formal") == {"M0": 0, "M1-3": 1, "M4-6": 0, "M7-12": 1,
                                                "M13+": 1}
    assert by_segment(res, "active_director") == {"M0": 0, "M1-3": 0, "M4-6": 0, "M7-12": 0,
                                                  "M13+": 1}
    # a ratio uses the numerator and the denominator of its own segment
    r = row(res, "activity_rate", segment="M1-3")
    assert (r["numerator"], r["denominator"]) == (3, 3.5)
    assert r["value"] == pytest.approx(3 / 3.5)
    r = row(res, "fyp_per_capita", segment="M4-6")
    assert (r["value"], r["numerator"], r["denominator"]) == (0, 0, 1)
    # the rehired agent N7 counts from the rehire (March 2026), not from the first hire (2024)
    u2 = kpi("2026-05", ["fyp", "headcount_close"], org=U2, segment="tenure")
    assert by_segment(u2, "fyp") == {"M0": 0, "M1-3": 700, "M4-6": 0, "M7-12": 0, "M13+": 600}
    assert by_segment(u2, "headcount_close") == {"M0": 0, "M1-3": 2, "M4-6": 0, "M7-12": 0,
                                                 "M13+": 0}


def _check_adds_up(period: str, by: str | None = None) -> None:
    seg = kpi(period, ADDITIVE, by=by, segment="tenure")
    tot = kpi(period, ADDITIVE, by=by)
    orgs = sorted({r["org_code"] for r in tot["rows"]})
    for org in orgs:
        for m in ADDITIVE:
            parts = [Decimal(str(row(seg, m, org, b)["value"])) for b in BUCKETS]
            total = Decimal(str(row(tot, m, org)["value"]))
            # JSON carries floats: a quarter's mean of monthly averages (thirds) is not exact
            assert float(sum(parts)) == pytest.approx(float(total), rel=1e-12, abs=0), \
                (period, by, org, m)
            if total == total.to_integral_value():
                assert sum(parts) == total, (period, by, org, m)


@pytest.mark.parametrize(("period", "by"), [
    ("2026-05", None), ("2026-05", "children"), ("2026Q2", None), ("2026Q2", "children"),
    ("2026", None), ("2026-04-15..2026-05-20", "children"),
])
def test_segments_add_up_to_the_total(agency: RehireAgency, period: str, by: str | None) -> None:
    _check_adds_up(period, by)


def test_quarter_splits_each_month_by_its_own_tenure(agency: RehireAgency) -> None:
    # N2's April premium is at M2, N5's June premium at M14: Q2 sums the months' buckets
    res = kpi("2026Q2", ["fyp"], segment="tenure")
    assert by_segment(res, "fyp") == {"M0": 100, "M1-3": 1_250, "M4-6": 0, "M7-12": 400,
                                      "M13+": 1_170}


def test_work_month_basis(agency: RehireAgency) -> None:
    """With work months (cut-off 25), tenure counts work months: N1, hired Apr 30, is in work-month
    May, so a premium on May 3 is M0; N5's May 31 premium is in work-month June."""
    config_set("calendar.month_basis", "work")
    res = kpi("2026-05", ["fyp", "headcount_close"], segment="tenure")
    assert by_segment(res, "fyp") == {"M0": 300, "M1-3": 1_000, "M4-6": 0, "M7-12": 400,
                                      "M13+": 600}
    _check_adds_up("2026-05", "children")


def test_unknown_segment_is_refused(agency: RehireAgency) -> None:
    code, _out, err = run_cli("kpi", "--period", "2026-05", "--segment", "tenure_months",
                              "--format", "json")
    assert code != 0
    assert "tenure" in err


def test_root_total_sanity(agency: RehireAgency) -> None:
    tot = kpi("2026-05", ["fyp", "headcount_open", "headcount_close"], org=ROOT)
    assert row(tot, "fyp")["value"] == 2_800
    assert row(tot, "headcount_open")["value"] == 8
    assert row(tot, "headcount_close")["value"] == 8
    assert U1 in {r["org_code"] for r in kpi("2026-05", ["fyp"], by="children")["rows"]}
