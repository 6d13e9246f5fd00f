"""A hand-built agency for the campaign tests, loaded through the real import path (CLI).

Campaign month: November 2026 (``2026-11-01..2026-11-30``), grace 10 days (cancellations dated up
to 2026-12-10 still count). Units: ``BR`` (branch) with teams ``U1`` and ``U2``; ranks ``T``
(probationary), ``A`` (formal), ``D`` (director); product ``MAIN`` (main; fyc 0.3, std 0.5).

| agent | unit | rank | what happens | FYP result (as of 12-31) |
|---|---|---|---|---|
| A00001 | U1 | A | 12,000 on 11-05 (1 policy) | 12,000 |
| A00002 | U1 | A | 12,000 on 11-05; 5,000 on 11-10 cancelled (free look) on 12-08, inside the grace | 12,000 |
| A00003 | U2 | A | 12,000 on 11-03; 5,000 on 11-10 cancelled on 12-15, after the grace | 17,000 |
| A00004 | U2 | A | 2 policies of 6,000 on 11-20 (2 cases) | 12,000 |
| A00005 | U2 | A | 12,000 on 11-02 (reached earliest) | 12,000 |
| A00006 | U1 | A | 12,000 on 11-05 (ties with A00001 on everything but the code) | 12,000 |
| A00007 | U1 | A | 8,000 on 10-20 cancelled on 11-05 (written before the period); 3,000 on 11-06 | 3,000 |
| D00001 | U2 | D | 50,000 on 11-15; recruiter of N00001, N00002 (Nov) and N00003 (Oct) | 50,000 |
| T00001 | U1 | T | hired 2026-09-01 (tenure month 2 on 11-01); 20,000 on 11-08 | 20,000 |
| N00001 | U1 | T | hired 2026-11-10; 1,000 on 11-12 | 1,000 |
| N00002 | U2 | T | hired 2026-11-20 | 0 |
| N00003 | U2 | T | hired 2026-10-15 | 0 |
| L00001 | U1 | A | 30,000 on 11-03; left on 2026-11-15 | 30,000 (excluded as a leaver) |
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.kpi_cli.builders import U1, U2, A, Agency, D, T, cli_ok

D_ = dt.date
CAMPAIGN_TOML = """
[[campaign]]
id = "nov"
name = "十一月 FYP 冲刺方案"
period = "2026-11"
measure = "fyp"
grace_days = 10
{extra}

[[campaign.tiers]]
name = "铜奖"
threshold = 10000
reward = "价值 500 元礼品"
honor = "铜牌"

[[campaign.tiers]]
name = "银奖"
threshold = 15000

[[campaign.tiers]]
name = "金奖"
threshold = 40000
reward = "旅游"
"""


def build(folder: Path) -> Agency:
    ag = Agency(folder)
    old = D_(2024, 1, 1)
    a = ag.hire("A", 7, old, org=U1, rank=A)
    for code, org in (("A00003", U2), ("A00004", U2), ("A00005", U2)):
        ag.agents[code][3] = ag.agents[code][7] = org
    ag.hire("D", 1, old, org=U2, rank=D)
    ag.hire("T", 1, D_(2026, 9, 1), org=U1, rank=T)
    ag.hire("N", 1, D_(2026, 11, 10), org=U1, rank=T)
    ag.hire("N", 1, D_(2026, 11, 20), org=U2, rank=T, start=2)
    ag.hire("N", 1, D_(2026, 10, 15), org=U2, rank=T, start=3)
    ag.hire("L", 1, old, org=U1, rank=A, leave=D_(2026, 11, 15))
    ag.agents["A00006"][1] = "=1+1"  # a formula-looking name: exported as text
    p = ag.premium
    p(a[0], "new", 12000, D_(2026, 11, 5))
    p(a[1], "new", 12000, D_(2026, 11, 5))
    pol = p(a[1], "new", 5000, D_(2026, 11, 10))
    p(a[1], "free_look_cancel", 5000, D_(2026, 12, 8), policy=pol)
    p(a[2], "new", 12000, D_(2026, 11, 3))
    pol = p(a[2], "new", 5000, D_(2026, 11, 10))
    p(a[2], "free_look_cancel", 5000, D_(2026, 12, 15), policy=pol)
    p(a[3], "new", 6000, D_(2026, 11, 20))
    p(a[3], "new", 6000, D_(2026, 11, 20))
    p(a[4], "new", 12000, D_(2026, 11, 2))
    p(a[5], "new", 12000, D_(2026, 11, 5))
    pol = p(a[6], "new", 8000, D_(2026, 10, 20))
    p(a[6], "free_look_cancel", 8000, D_(2026, 11, 5), policy=pol)
    p(a[6], "new", 3000, D_(2026, 11, 6))
    p("D00001", "new", 50000, D_(2026, 11, 15))
    p("T00001", "new", 20000, D_(2026, 11, 8))
    p("N00001", "new", 1000, D_(2026, 11, 12))
    p("L00001", "new", 30000, D_(2026, 11, 3))
    ag.load()
    # recruiters (the shared builder has no recruiter column): upsert those agents' rows
    rows = ["agent_code,agent_name,hire_date,org_code,rank_code,recruiter_code"]
    for code in ("N00001", "N00002", "N00003"):
        r = ag.agents[code]
        rows.append(f"{code},{r[1]},{r[2]},{r[7]},{r[5]},D00001")
    f = folder / "recruiters.csv"
    f.write_text("\n".join(rows) + "\n", encoding="utf-8")
    cli_ok("import", "agents", str(f))
    return ag


def campaign_file(folder: Path, extra: str = "", name: str = "nov.toml") -> Path:
    path = folder / name
    path.write_text(CAMPAIGN_TOML.format(extra=extra), encoding="utf-8")
    return path
