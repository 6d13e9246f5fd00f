"""`zhuizong demo` through the public CLI, and the stored history's headcount identity.

The identity is checked on what the database holds (employment spells + dated placement), computed
two independent ways: headcount snapshots at month ends, and flows (hires, leavers, transfers).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from zhuizong.store.models import table
from zhuizong.workspace import Workspace


def _exe() -> str:
    return str(Path(sys.executable).with_name("zhuizong"))


def _frames(ws: Workspace) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    with ws.engine.connect() as conn:
        spells = pd.DataFrame(conn.execute(select(table("employment_spells"))).mappings().all())
        hist = pd.DataFrame(conn.execute(select(table("agent_history"))).mappings().all())
        orgs = pd.DataFrame(conn.execute(select(table("org_units"))).mappings().all())
    for df, cols in ((spells, ("hire_date", "leave_date")), (hist, ("valid_from", "valid_to"))):
        for c in cols:
            df[c] = pd.to_datetime(df[c])
    return spells, hist, orgs


def _org_on(hist: pd.DataFrame, codes: pd.Series, days: pd.Series) -> pd.Series:
    """Org unit of each (agent, day): the history row with valid_from <= day (vectorised)."""
    q = pd.DataFrame({"agent_code": codes.to_numpy(), "day": pd.to_datetime(days.to_numpy()),
                      "i": range(len(codes))}).sort_values("day")
    h = hist.sort_values("valid_from")[["agent_code", "valid_from", "org_code"]]
    m = pd.merge_asof(q, h, left_on="day", right_on="valid_from", by="agent_code")
    return pd.Series(m.sort_values("i").org_code.to_numpy(), dtype=object)


def _in_force(spells: pd.DataFrame, codes: pd.Series, days: pd.Series) -> pd.Series:
    q = pd.DataFrame({"agent_code": codes.to_numpy(), "day": pd.to_datetime(days.to_numpy()),
                      "i": range(len(codes))})
    m = q.merge(spells, on="agent_code")
    ok = (m.hire_date <= m.day) & (m.leave_date.isna() | (m.leave_date > m.day))
    hit = set(m.loc[ok, "i"])
    return pd.Series([i in hit for i in range(len(codes))])


def check_identity(ws: Workspace) -> int:
    """closing = opening + hires − leavers + transfers in − transfers out, every unit and month.

    Two independent computations from what the database holds: headcount snapshots at month
    ends, and flows (hires placed on the hire date, leavers on their last in-force day, transfers
    as placement changes between two in-force days), both rolled up the org tree.
    """
    spells, hist, orgs = _frames(ws)
    parent = dict(zip(orgs.org_code, orgs.parent_code, strict=True))
    anc: dict[str, list[str]] = {}
    for c in orgs.org_code:
        chain, x = [], c
        while isinstance(x, str):
            chain.append(x)
            x = parent.get(x)
        anc[c] = chain

    def roll(frame: pd.DataFrame) -> pd.Series:
        """(org, month, n) at leaf level -> summed over every ancestor."""
        f = frame.assign(unit=frame.org.map(anc)).explode("unit")
        return f.groupby(["unit", "month"]).n.sum()

    first = spells.hire_date.min().to_period("M")
    last = max(spells.hire_date.max(), spells.leave_date.max()).to_period("M")
    months = pd.period_range(first, last, freq="M")
    # snapshots at every month end and the day before the first month
    ends = [months[0].start_time.normalize() - pd.Timedelta(days=1)]
    ends += [m.end_time.normalize() for m in months]
    pairs = spells.merge(pd.DataFrame({"day": ends}), how="cross")
    pairs = pairs[(pairs.hire_date <= pairs.day)
                  & (pairs.leave_date.isna() | (pairs.leave_date > pairs.day))]
    pairs = pairs.assign(org=_org_on(hist, pairs.agent_code, pairs.day).to_numpy(),
                         month=pairs.day.dt.to_period("M"), n=1)
    heads = roll(pairs[["org", "month", "n"]])
    # flows
    hires = spells.assign(org=_org_on(hist, spells.agent_code, spells.hire_date).to_numpy(),
                          month=spells.hire_date.dt.to_period("M"), n=1)
    left = spells[spells.leave_date.notna()]
    last_day = left.leave_date - pd.Timedelta(days=1)
    last_day = last_day.where(last_day >= left.hire_date, left.hire_date)
    leavers = left.assign(org=_org_on(hist, left.agent_code, last_day).to_numpy(),
                          month=left.leave_date.dt.to_period("M"), n=-1)
    h = hist.sort_values(["agent_code", "valid_from"])
    prev_org = h.groupby("agent_code").org_code.shift()
    moved = h[prev_org.notna() & (prev_org != h.org_code)].assign(prev=prev_org)
    day_before = moved.valid_from - pd.Timedelta(days=1)
    moved = moved[_in_force(spells, moved.agent_code, moved.valid_from).to_numpy()
                  & _in_force(spells, moved.agent_code, day_before).to_numpy()]
    month = moved.valid_from.dt.to_period("M")
    t_in = pd.DataFrame({"org": moved.org_code, "month": month, "n": 1})
    t_out = pd.DataFrame({"org": moved.prev, "month": month, "n": -1})
    flows = roll(pd.concat([hires[["org", "month", "n"]], leavers[["org", "month", "n"]],
                            t_in, t_out]))
    assert len(moved) > 0 or len(spells) < 500  # a real demo has transfers to check
    checked = 0
    for code in orgs.org_code:
        for i, m in enumerate(months):
            opening = heads.get((code, months[i - 1] if i else ends[0].to_period("M")), 0)
            closing = heads.get((code, m), 0)
            assert closing == opening + flows.get((code, m), 0), (code, str(m))
            checked += 1
    return checked


def test_demo_cli_small_on_both_databases(home: Path) -> None:
    r = subprocess.run([_exe(), "demo", "--agents", "150", "--years", "1", "--no-serve", "--lang", "en"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, env=os.environ.copy())
    assert r.returncode == 0, r.stderr
    assert "committed" in r.stdout and "Traceback" not in r.stderr
    # English throughout (Chinese only in data: names of units and people), logins printed last
    head = r.stdout.split("logins (password", 1)
    assert len(head) == 2 and "tracking " in head[0] and "tracking " not in head[1]
    for word in ("演示机构", "导入", "今日追踪", "登录", "月报"):
        assert word not in r.stdout, word
    ws = Workspace.open(home)
    assert check_identity(ws) > 0
    # running it again is harmless: everything is recognised as already imported; Chinese by default
    r = subprocess.run([_exe(), "demo", "--agents", "150", "--years", "1", "--no-serve"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert r.returncode == 0 and "已导入过" in r.stdout
    for word in ("already_imported", "committed", "logins", "tracking", "workspace", "agents"):
        assert word not in r.stdout, word
    tail = r.stdout.split("登录 (密码均为", 1)
    assert len(tail) == 2 and "今日追踪" in tail[0] and "今日追踪" not in tail[1]
    assert "主管" in tail[1] and "supervisor" in tail[1]  # role by name; the username itself
    # the running month's benefits of the demo's basic law, every kind, in 元
    flat = tail[0].replace("\n", "")  # the console wraps long lines
    benefits = flat[flat.index("本月利益"):flat.index("--period", flat.index("本月利益"))]
    for word in ("新人津贴", "底薪", "管理津贴", "育成奖", " 元", "zhuizong assess income"):
        assert word in benefits, (word, benefits)
    st = json.loads(subprocess.run([_exe(), "status", "--format", "json"], capture_output=True,
                                   text=True, stdin=subprocess.DEVNULL).stdout)
    assert st["row_counts"]["import_batches"] == 13  # one per import kind (goals and assignments too)


@pytest.mark.slow
def test_demo_3000_agents_3_years(tmp_path: Path) -> None:
    """The issue's acceptance run: 3,000 agents × 3 years in a fresh SQLite workspace."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHUIZONG_")}
    home = tmp_path / "demo"
    r = subprocess.run([_exe(), "demo", "--agents", "3000", "--years", "3", "--no-serve",
                        "--home", str(home)], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    ws = Workspace.open(home)
    with ws.engine.connect() as conn:
        n = conn.execute(select(table("agents").c.agent_code)).all()
    assert len(n) > 3000
    assert check_identity(ws) > 1000
