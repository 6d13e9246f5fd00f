"""`zhuizong demo` through the public CLI, and the stored history's headcount identity.

The identity is checked on what the database holds (employment spells + dated placement), computed
two independent ways: headcount snapshots at month ends, and flows (hires, leavers, transfers).
"""

from __future__ import annotations

import datetime as dt
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


def _org_on(hist: pd.DataFrame, codes: pd.Series, day: pd.Timestamp) -> pd.Series:
    h = hist[(hist.valid_from <= day) & (hist.valid_to.isna() | (hist.valid_to > day))]
    return codes.map(h.set_index("agent_code").org_code)


def check_identity(ws: Workspace) -> int:
    """closing = opening + hires − leavers + transfers in − transfers out, every unit and month."""
    spells, hist, orgs = _frames(ws)
    parent = dict(zip(orgs.org_code, orgs.parent_code, strict=True))

    def ancestors(code: str) -> list[str]:
        out = []
        while code is not None and code == code:
            out.append(code)
            code = parent.get(code)
        return out

    anc = {c: ancestors(c) for c in orgs.org_code}
    first, last = spells.hire_date.min(), max(spells.hire_date.max(), spells.leave_date.max())
    months = pd.period_range(first, last, freq="M")
    checked = 0
    leave_day = spells.leave_date - pd.Timedelta(days=1)
    for m in months:
        s, e = m.start_time.normalize(), m.end_time.normalize()
        flows: dict[str, int] = {}

        def add(org_codes: pd.Series, sign: int, flows: dict[str, int] = flows) -> None:
            for code, n in org_codes.value_counts().items():
                for a in anc[code]:
                    flows[a] = flows.get(a, 0) + sign * int(n)

        def headcount(day: pd.Timestamp) -> dict[str, int]:
            inf = spells[(spells.hire_date <= day) & (spells.leave_date.isna() | (spells.leave_date > day))]
            out: dict[str, int] = {}
            for code, n in _org_on(hist, inf.agent_code, day).value_counts().items():
                for a in anc[code]:
                    out[a] = out.get(a, 0) + int(n)
            return out

        opening, closing = headcount(s - pd.Timedelta(days=1)), headcount(e)
        hired = spells[(spells.hire_date >= s) & (spells.hire_date <= e)]
        add(pd.Series([_org_on(hist, pd.Series([r.agent_code]), r.hire_date).iloc[0]
                       for r in hired.itertuples()], dtype=object), +1)
        left = spells[(spells.leave_date >= s) & (spells.leave_date <= e)]
        add(pd.Series([_org_on(hist, pd.Series([r.agent_code]), leave_day[i]).iloc[0]
                       for i, r in zip(left.index, left.itertuples(), strict=True)], dtype=object), -1)
        # transfers: a placement change on day d while in force on d-1 and d
        moves = hist[(hist.valid_from >= s) & (hist.valid_from <= e)]
        for r in moves.itertuples():
            d = r.valid_from
            sp = spells[spells.agent_code == r.agent_code]
            was = ((sp.hire_date <= d - pd.Timedelta(days=1)) & (sp.leave_date.isna() | (sp.leave_date > d - pd.Timedelta(days=1)))).any()
            now = ((sp.hire_date <= d) & (sp.leave_date.isna() | (sp.leave_date > d))).any()
            if not (was and now):
                continue
            prev = _org_on(hist, pd.Series([r.agent_code]), d - pd.Timedelta(days=1)).iloc[0]
            if prev != r.org_code:
                add(pd.Series([r.org_code]), +1)
                add(pd.Series([prev]), -1)
        for code in orgs.org_code:
            assert closing.get(code, 0) == opening.get(code, 0) + flows.get(code, 0), (code, str(m))
            checked += 1
    roots = [c for c in orgs.org_code if parent.get(c) is None or parent.get(c) != parent.get(c)]
    assert roots
    return checked


def test_demo_cli_small_on_both_databases(home: Path) -> None:
    r = subprocess.run([_exe(), "demo", "--agents", "150", "--years", "1", "--no-serve"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, env=os.environ.copy())
    assert r.returncode == 0, r.stderr
    assert "committed" in r.stdout and "Traceback" not in r.stderr
    ws = Workspace.open(home)
    assert check_identity(ws) > 0
    # running it again is harmless: everything is recognised as already imported
    r = subprocess.run([_exe(), "demo", "--agents", "150", "--years", "1", "--no-serve"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert r.returncode == 0 and "already_imported" in r.stdout
    st = json.loads(subprocess.run([_exe(), "status", "--format", "json"], capture_output=True,
                                   text=True, stdin=subprocess.DEVNULL).stdout)
    assert st["row_counts"]["import_batches"] == 9


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
    assert dt.date.today()  # keep the import used
