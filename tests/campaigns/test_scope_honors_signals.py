"""Scope of campaigns and standings, the honor roll in three formats (Chinese text checked by
rasterising), the tracking signals, the demo campaigns and CLI errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from tests.campaigns.builders import build, campaign_file
from tests.kpi_cli.builders import cli_ok, run_cli
from zhuizong.access.actor import SYSTEM, Actor
from zhuizong.campaigns import service
from zhuizong.campaigns.honors import build_honors, find_cjk_font
from zhuizong.campaigns.signals import SIGNALS, campaign_signals, install_demo_campaigns
from zhuizong.errors import NotFound, PermissionDenied
from zhuizong.workspace import Workspace

D = dt.date
REQUIRE_TOOLS = os.environ.get("ZHUIZONG_REQUIRE_PG") == "1"


def _pixels(path: Path) -> tuple[int, int, int]:
    """(width, height, golden pixels in the top 12%) of a PNG — the title is gold on red."""
    from PIL import Image

    im = Image.open(path).convert("RGB")
    w, h = im.size
    top = im.crop((0, 0, w, int(h * 0.12)))
    raw = top.tobytes()
    gold = sum(1 for i in range(0, len(raw), 3)
               if raw[i] > 180 and 120 < raw[i + 1] < 200 and raw[i + 2] < 100)
    return w, h, gold


def test_scope_honors_signals(workspace: Workspace, tmp_path: Path) -> None:
    ws = workspace
    build(tmp_path / "files")
    # --- define through the CLI; errors name the file, campaign and key ---------------------
    f = campaign_file(tmp_path)
    assert json.loads(cli_ok("campaign", "define", str(f), "--format", "json"))["campaigns"] == [
        {"id": "nov", "status": "created"}]
    assert "未变" in cli_ok("campaign", "define", str(f))  # unchanged, in the output language
    bad = campaign_file(tmp_path, 'eligibility = { orgs = ["NOPE"] }', "bad.toml")
    code, _out, err = run_cli("campaign", "define", str(bad))
    assert code == 2 and "bad.toml" in err and "eligibility.orgs" in err and "NOPE" in err
    code, _out, err = run_cli("campaign", "define", "--id", "x", "--name", "X", "--period", "2026-11",
                              "--measure", "fyp")
    assert code == 2 and "tiers" in err
    cli_ok("campaign", "define", "--id", "u2only", "--name", "二部方案", "--period", "2026-11",
           "--measure", "cases", "--tier", "一档:1", "--tier", "二档:2:奖品:之星", "--orgs", "U2")
    # --- scope ------------------------------------------------------------------------------
    cli_ok("users", "add", "u1boss", "--name", "一部经理", "--role", "supervisor")
    cli_ok("users", "grant", "u1boss", "--org", "U1")
    cli_ok("users", "add", "nobody", "--name", "无权限", "--role", "executive")
    cli_ok("users", "add", "agent7", "--name", "代理人", "--role", "agent", "--agent", "A00007")
    cli_ok("users", "grant", "agent7", "--self", "A00007")
    boss = Actor("u1boss", frozenset({"supervisor"}))
    st = service.standings(ws, boss, "nov", D(2026, 12, 31), team="team")
    assert set(st.rows.agent_code) == {"A00001", "A00002", "A00006", "A00007", "T00001", "N00001"}
    assert st.eligible > len(st.rows)  # positions stay campaign-wide
    assert st.rows.set_index("agent_code").loc["T00001", "position"] == 2
    assert set(st.teams["team"].org_code) == {"U1"}
    me = json.loads(cli_ok("campaign", "standings", "nov", "--as", "agent7", "--as-of", "2026-12-31",
                           "--format", "json"))
    assert [r["agent_code"] for r in me["rows"]] == ["A00007"]
    assert [c["id"] for c in service.list_campaigns(ws, boss, D(2026, 11, 20))] == ["nov"]
    with pytest.raises(NotFound):  # U2 only: nothing of it in the actor's scope
        service.standings(ws, boss, "u2only")
    with pytest.raises(NotFound):
        service.standings(ws, Actor("nobody", frozenset({"executive"})), "nov")
    code, _o, err = run_cli("campaign", "standings", "nope")
    assert code == 4
    with pytest.raises(PermissionDenied):
        service.close(ws, boss, "nov", D(2026, 12, 20))
    assert service.list_campaigns(ws, Actor("nobody", frozenset({"executive"}))) == []
    # --- signals: agents close to the next tier, in bulk --------------------------------------
    base = pd.DataFrame({"agent_code": ["A00001", "A00003", "D00001", "ZZZ"]})
    sig = campaign_signals(ws, D(2026, 11, 25), base).set_index("agent_code")
    assert set(SIGNALS) <= set(sig.columns)
    assert sig.loc["A00001", "campaign_id"] == "nov" and sig.loc["A00001", "campaign_gap_to_tier"] == 3000
    assert sig.loc["A00001", "campaign_gap_share"] == pytest.approx(0.2)
    assert sig.loc["A00001", "campaign_days_left"] == 5
    assert sig.loc["A00003", "campaign_next_tier"] == "金奖"  # 17,000 vs 40,000
    # D00001 is above the top tier of "nov" but 1 case short of 二档 in "u2only": that one wins
    assert sig.loc["D00001", "campaign_id"] == "u2only"
    assert sig.loc["D00001", "campaign_gap_share"] == pytest.approx(0.5)
    assert pd.isna(sig.loc["ZZZ", "campaign_id"])
    # --- close, then honors ---------------------------------------------------------------------
    service.close(ws, SYSTEM, "nov", D(2026, 12, 11))
    pdf = build_honors(ws, SYSTEM, "nov", "pdf", tmp_path / "h.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext") or REQUIRE_TOOLS:
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "光荣榜" in text and "十一月 FYP 冲刺方案" in text
        assert "金奖" in text and "铜奖" in text and "D00001" not in text
    if shutil.which("pdftoppm") or REQUIRE_TOOLS:
        subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf),
                        str(tmp_path / "page")], check=True)
        page = next(tmp_path.glob("page*.png"))
        w, h, gold = _pixels(page)
        assert h > w and gold > 300, gold  # the golden title was drawn
    try:
        find_cjk_font()
        has_font = True
    except Exception:
        has_font = False
    if has_font:
        png = build_honors(ws, SYSTEM, "nov", "png", tmp_path / "h.png")
        w, h, gold = _pixels(png)
        assert w == 1080 and gold > 1000, gold
    xlsx = build_honors(ws, SYSTEM, "nov", "xlsx", tmp_path / "h.xlsx")
    sh = openpyxl.load_workbook(xlsx)["光荣榜"]
    cells = [c.value for row in sh.iter_rows() for c in row if c.value is not None]
    assert cells[0] == "光荣榜" and "十一月 FYP 冲刺方案" in cells
    assert "'=1+1" in cells and "=1+1" not in cells  # formula injection defused
    # the scoped honor roll shows only what the actor may see
    roll = service.standings(ws, boss, "nov")
    assert "D00001" not in set(roll.rows.agent_code)
    # xlsx standings
    out = tmp_path / "s.xlsx"
    cli_ok("campaign", "standings", "nov", "--team", "all", "--format", "xlsx", "--out", str(out))
    wb = openpyxl.load_workbook(out)
    assert "个人排名" in wb.sheetnames and "团队-team" in wb.sheetnames
    # --- the demo installer is idempotent -----------------------------------------------------------
    ids = install_demo_campaigns(ws, D(2026, 11, 27))
    assert ids == ["demo-fyp-2026-10", "demo-fyp-2026-11", "demo-recruit-2026Q4"]
    assert install_demo_campaigns(ws, D(2026, 11, 27)) == ids
    phases = {c["id"]: c["phase"] for c in service.list_campaigns(ws, SYSTEM, D(2026, 11, 27))}
    assert phases["demo-fyp-2026-10"] == "closed" and phases["demo-fyp-2026-11"] == "running"
