"""KPI report page: the monthly table on screen, xlsx/PDF downloads (audited), scope."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from tests.web.conftest import DEMO_PERIOD, DemoWeb
from zhuizong.store.models import table


def test_report_table(demo_web: DemoWeb) -> None:
    r = demo_web.client("admin").get(f"/report?period={DEMO_PERIOD}")
    assert r.status_code == 200
    assert 'id="report-table"' in r.text
    for word in ("达成率", "同比", "环比", "首年保费"):
        assert word in r.text, word
    assert 'class="total"' in r.text
    assert "format=xlsx" in r.text and "format=pdf" in r.text
    # money in 万元 as on the dashboard and in the PDF; units by name, their codes not shown
    assert "金额单位 万元" in r.text and "首年保费 FYP (万元)" in r.text
    codes = re.findall(r'data-org="([^"]+)"', r.text)
    assert len(codes) >= 2
    shown = re.sub(r"<[^>]+>", " ", r.text)
    assert not [c for c in codes if re.search(rf"(?<![\w=/]){re.escape(c)}(?!\w)", shown)]


def test_downloads_are_valid_and_audited(demo_web: DemoWeb) -> None:
    import openpyxl

    c = demo_web.client("executive")
    x = c.get(f"/report/download?period={DEMO_PERIOD}&format=xlsx")
    assert x.status_code == 200
    assert "attachment" in x.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(x.content))
    assert "月报" in wb.sheetnames and "定义" in wb.sheetnames
    p = c.get(f"/report/download?period={DEMO_PERIOD}&format=pdf")
    assert p.status_code == 200
    assert p.content.startswith(b"%PDF")
    a = table("audit_log")
    with demo_web.ws.engine.connect() as conn:
        rows = conn.execute(select(a.c.actor, a.c.detail).where(a.c.action == "export",
                                                                a.c.actor == "executive")).all()
    formats = {re.search(r'"format": "(\w+)"', d).group(1) for _u, d in rows}  # type: ignore[union-attr]
    assert {"xlsx", "pdf"} <= formats


def test_report_scope(demo_web: DemoWeb) -> None:
    root = next(s[1] for s in demo_web.users["executive"]["scopes"])  # type: ignore[index]
    trainer = demo_web.client("trainer")
    assert trainer.get(f"/report?org={root}&period={DEMO_PERIOD}").status_code == 404
    assert trainer.get(f"/report/download?org={root}&period={DEMO_PERIOD}&format=xlsx").status_code == 404
    assert trainer.get(f"/report/download?period={DEMO_PERIOD}&format=exe").status_code == 400
