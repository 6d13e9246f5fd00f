"""Persistency (继续率) base measures, kpi-spec §6 — semantics in docs/kpi-engine.md point 17.

For each basis month m of the period, the cohort is the regular-pay (期交) policies *issued* in
month m − 14 (13-month persistency) or m − 26 (25-month), on the configured month basis:

- a policy is its ``new`` rows of regular-pay products; its issue day is the earliest issue date of
  those rows (the transaction date where the issue date is empty), its issuing agent the agent of
  that row (ties: the smallest transaction id);
- a policy with a free-look cancellation (犹豫期撤单) is not in the cohort; single-premium
  products (趸交) never are;
- due (应收) = the policy's first-year premium: its ``new`` and ``fy_renewal`` rows of regular-pay
  products;
- paid (实收) = its ``renewal`` rows of policy year 2 (25-month: 3) of regular-pay products
  received on or before the first (second) policy anniversary + ``kpi.persistency_grace_days``,
  and on or before the evaluation day (end of month m, or the period's end if earlier): what was
  known at the end of m;
- the policy counts at the org unit and in the segment of its issuing agent on the issue day (a
  later transfer does not move it), like production.

Premium-based persistency = Σ paid / Σ due; case-based = policies with paid > 0 / policies.
Several months pool their sums; a date range shorter than a month is one piece and reports the
cohort of the month containing its end (``Period.report_months``). An anniversary of 29 February falls on 28 February.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import ibis
import ibis.expr.types as ir
import pandas as pd

from zhuizong.analytics.calendar import day_num
from zhuizong.kpi import compiler
from zhuizong.kpi.ir import Leaf, Persistency

__all__ = ["anniversary", "persistency"]


def anniversary(issue: dt.date, years: int) -> dt.date:
    """The ``years``-th policy anniversary of ``issue`` (29 February → 28 February)."""
    try:
        return issue.replace(year=issue.year + years)
    except ValueError:
        return issue.replace(year=issue.year + years, day=28)


def _issue_days(ctx: compiler.Context, months: int) -> pd.DataFrame:
    """One row per possible issue day of the period's cohorts: the day, the evaluation day of its
    cohort and the last day a renewal premium counts (anniversary + grace)."""
    p = ctx.period
    basis = p.basis
    years = (months - 1) // 12
    grace = dt.timedelta(days=ctx.settings.kpi.persistency_grace_days)
    rows = []
    for y, m in p.report_months():
        idx = y * 12 + m - 1 - (months + 1)
        cs, ce = basis.month_bounds(idx // 12, idx % 12 + 1)
        eval_day = day_num(min(basis.month_bounds(y, m)[1], p.end))
        d = cs
        while d <= ce:
            rows.append((day_num(d), eval_day, day_num(anniversary(d, years) + grace)))
            d += dt.timedelta(days=1)
    return pd.DataFrame(rows, columns=["c_issue", "c_eval", "c_limit"]).astype("int32")


def _cohort_rows(ctx: compiler.Context, lo: int, hi: int, name: str) -> ir.Table:
    """Every premium row of the policies with a regular-pay ``new`` row dated (issue day, else
    transaction day) in ``lo``..``hi`` — a policy issued in the range has one. Two scans of the
    premiums; the rest of the computation reads this small table (kept by the backend for the
    snapshot under ``name``)."""
    prem = ctx.snap.t["premiums"]
    iss = prem.issue_day.fill_null(prem.txn_day)
    cand = prem.filter((prem.pay_mode == "regular") & (prem.txn_type == "new")
                       & (iss >= lo) & (iss <= hi)).select(cand=prem.policy_no).distinct()
    rows = prem.semi_join(cand, prem.policy_no == cand.cand)
    rows = rows.select("txn_id", "policy_no", "agent_code", "txn_type", "txn_day", "issue_day",
                       "amount_fen", "pay_mode", "policy_year")
    if ctx.collected is None:
        rows = ctx.snap.cached(name, rows)
    return rows


def _cohort(rows: ir.Table, lo: int, hi: int) -> ir.Table:
    """Regular-pay policies of ``rows`` whose issue day falls in ``lo``..``hi``: issuing agent,
    issue day and first-year premium (fen); free-look-cancelled policies left out."""
    regular = rows.filter(rows.pay_mode == "regular")
    new = regular.filter(regular.txn_type == "new")
    new = new.mutate(iss=new.issue_day.fill_null(new.txn_day))
    w = ibis.window(group_by=new.policy_no, order_by=[new.iss, new.txn_id])
    first = new.mutate(rn=ibis.row_number().over(w))
    first = first.filter((first.rn == 0) & (first.iss >= lo) & (first.iss <= hi))
    first = first.select("policy_no", "agent_code", "iss")
    cancelled = rows.filter(rows.txn_type == "free_look_cancel").select(c_policy=rows.policy_no)
    first = first.anti_join(cancelled, first.policy_no == cancelled.c_policy)
    fy = regular.filter(regular.txn_type.isin(["new", "fy_renewal"]))
    fy = fy.group_by(fy.policy_no.name("f_policy")).aggregate(due=fy.amount_fen.sum())
    return first.join(fy, first.policy_no == fy.f_policy).drop("f_policy")


def persistency(ctx: compiler.Context, leaves_: list[Persistency]
                ) -> dict[Leaf, dict[tuple[str, str], Decimal]]:
    out: dict[Leaf, dict[tuple[str, str], Decimal]] = {}
    for months in sorted({leaf.months for leaf in leaves_}):
        key = ("persistency_days", months, ctx.period)
        if key not in ctx._cache:
            ctx._cache[key] = _issue_days(ctx, months)
        frame = ctx._cache[key]
        lo, hi = int(frame.c_issue.min()), int(frame.c_issue.max())
        rows = _cohort_rows(ctx, lo, hi, f"persistency_{lo}_{hi}")
        days = ibis.memtable(frame)
        cohort = _cohort(rows, lo, hi)
        pol = cohort.join(days, cohort.iss == days.c_issue)
        ren = rows.filter((rows.pay_mode == "regular") & (rows.txn_type == "renewal")
                          & (rows.policy_year == (months - 1) // 12 + 1))
        ren = ren.select(r_policy=ren.policy_no, r_day=ren.txn_day, r_amount=ren.amount_fen)
        paid = pol.join(ren, [pol.policy_no == ren.r_policy, ren.r_day <= pol.c_limit,
                              ren.r_day <= pol.c_eval])
        paid = paid.group_by(p_policy=paid.policy_no).aggregate(paid=paid.r_amount.sum())
        pol = pol.left_join(paid, pol.policy_no == paid.p_policy).drop("p_policy")
        pol = pol.mutate(paid=pol.paid.fill_null(0))
        placed = compiler._to_units(ctx, compiler._place(ctx, pol, "iss"))
        agg = placed.group_by(["unit", "seg"]).aggregate(
            due=placed.due.sum(), paid=placed.paid.sum(), policies=placed.policy_no.count(),
            paid_policies=(placed.paid > 0).cast("int64").sum())
        df = ctx.run(agg)
        if ctx.with_all and ctx.segment != "none" and len(df):
            # each policy sits in one segment: the totals are the segments' sums (exact: the
            # columns hold Decimals and integers)
            g = df.groupby("unit", sort=False)
            tot = pd.DataFrame({  # decimal columns: exact Decimal addition
                c: g[c].agg(lambda s: sum(s, Decimal(0))) if df[c].dtype == object
                else g[c].sum() for c in ("due", "paid", "policies", "paid_policies")})
            df = pd.concat([df, tot.reset_index().assign(seg="all")], ignore_index=True)
        for leaf in leaves_:
            if leaf.months != months:
                continue
            scale = compiler.FEN if leaf.kind in ("due", "paid") else Decimal(1)
            out[leaf] = compiler._collect(df, leaf.kind, scale)
    return out
