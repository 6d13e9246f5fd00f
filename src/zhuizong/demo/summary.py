"""What ``zhuizong demo`` prints, in one language (``--lang``; zh-CN by default): the agency built,
the data imported, what to try next, and — last — the logins. The CLI prints these texts and
tables; this module only words them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zhuizong.basiclaw.config import BENEFIT_KINDS
from zhuizong.basiclaw.service import OUTCOME_ZH as BL_OUTCOME_ZH
from zhuizong.demo.service import DEMO_PASSWORD
from zhuizong.importing.kinds import KINDS
from zhuizong.tracking.service import LINK_ZH
from zhuizong.workspace import Workspace

STATUS_ZH = {"committed": "已导入", "empty": "无数据", "already_imported": "已导入过", "dry_run": "试导入",
             "rejected": "被拒绝", "skipped": "未导入 (未建用户)"}
#: logins printed at most; the other staff users are summed up in one row
MAX_LOGIN_ROWS = 16


@dataclass
class DemoLines:
    headline: str
    data_title: str
    data_columns: list[str]
    data_rows: list[list[str]]
    kpi_title: str
    next_steps: list[str]


def demo_lines(ws: Workspace, summary: Any, show: Any, lang: str) -> DemoLines:
    """The demo's summary after building: headline, data table, KPI table title, next steps."""
    zh = lang != "en"
    p = summary.params
    size = f" · {summary.db_bytes / 1e6:,.0f} MB" if summary.db_bytes else ""
    if zh:
        headline = (f"演示机构: {p.agents:,} 人 · {p.years} 年 · 随机种子 {p.seed} · {p.start_date} 至 "
                    f"{p.end_date}\n工作区: {ws.home} ({ws.db_display}) · 用时 {summary.seconds:.1f} 秒{size}")
        data_rows = [[KINDS[k].zh if k in KINDS else k, f"{v:,}", STATUS_ZH.get(summary.statuses.get(k, ""),
                                                                               summary.statuses.get(k, ""))]
                     for k, v in summary.counts.items()]
        cols = ["数据", "行数", "导入"]
    else:
        headline = (f"demo agency: {p.agents:,} agents · {p.years} years · seed {p.seed} · {p.start_date} "
                    f"to {p.end_date}\nworkspace: {ws.home} ({ws.db_display}) · took {summary.seconds:.1f} s{size}")
        data_rows = [[k, f"{v:,}", summary.statuses.get(k, "").replace("_", " ")]
                     for k, v in summary.counts.items()]
        cols = ["data", "rows", "import"]
    steps: list[str] = [(f"月报 Excel: {show.report_path}" if zh else f"monthly report (Excel): {show.report_path}")]
    if show.assessment is not None:
        a = show.assessment
        totals: dict[str, int] = {}
        for per_rule in a.counts.values():
            for outcome, n in per_rule.items():
                totals[outcome] = totals.get(outcome, 0) + n
        parts = ", ".join(f"{BL_OUTCOME_ZH.get(k, k) if zh else k.replace('_', ' ')} {v}"
                          for k, v in sorted(totals.items()))
        cmd = f"zhuizong assess list --period {a.period} --outcome at-risk"
        steps.append(f"基本法考核 {a.period}: {parts}  →  {cmd}" if zh
                     else f"basic law {a.period}: {parts}  →  {cmd}")
    if show.income:
        kinds = [k for k in BENEFIT_KINDS if k in show.income]
        parts = ", ".join(f"{BENEFIT_KINDS[k][0]} {show.income[k]:,.0f} 元"
                          if zh else f"{BENEFIT_KINDS[k][1]} {show.income[k]:,.0f} 元" for k in kinds)
        cmd = f"zhuizong assess income --period {show.income_period}"
        steps.append(f"本月利益 {show.income_period} (按当前进度预计): {parts}  →  {cmd}" if zh
                     else f"benefits {show.income_period} (at the current pace): {parts}  →  {cmd}")
    if show.campaigns:
        cmd = f"zhuizong campaign standings {show.campaigns[-1]}"
        steps.append(f"竞赛方案: {', '.join(show.campaigns)}  →  {cmd}" if zh
                     else f"campaigns: {', '.join(show.campaigns)}  →  {cmd}")
    t = show.tracking
    links = ", ".join(f"{LINK_ZH.get(k, k) if zh else k} {v}" for k, v in sorted(t.by_link.items()))
    cmd = "zhuizong track list --as supervisor"
    steps.append(f"今日追踪 {show.track_date}: 待跟进 {t.live} 项; 本次新增 {t.opened}, 延续 {t.carried}, "
                 f"自动关闭 {t.auto_closed}, 升级 {t.escalated} ({links})  →  {cmd}" if zh else
                 f"tracking {show.track_date}: {t.live} live; this run opened {t.opened}, carried "
                 f"{t.carried}, auto-closed {t.auto_closed}, escalated {t.escalated} ({links})  →  {cmd}")
    kpi_title = f"{show.period} 月度 KPI (各下级机构)" if zh else f"{show.period} monthly KPIs by unit"
    return DemoLines(headline, "导入的数据" if zh else "data imported", cols, data_rows, kpi_title, steps)


def login_rows(summary: Any, lang: str, label: Callable[[str], str]) -> tuple[str, list[str], list[list[str]]]:
    """(title, columns, rows) of the demo logins, one per role; ``label`` words a role or scope
    key (``role.supervisor``, ``scope.reporting_line``) in the output language."""
    zh = lang != "en"
    title = f"登录 (密码均为 {DEMO_PASSWORD})" if zh else f"logins (password {DEMO_PASSWORD})"
    cols = ["用户名", "姓名", "角色", "工号", "数据范围"] if zh else ["user", "name", "roles", "agent", "scope"]
    shown = summary.users if len(summary.users) <= MAX_LOGIN_ROWS else summary.users[:MAX_LOGIN_ROWS - 1]
    rows = [[u["username"], u["display_name"], "、".join(label(f"role.{r}") for r in u["roles"]) if zh
             else ", ".join(label(f"role.{r}") for r in u["roles"]), u.get("agent_code") or "",
             ", ".join(f"{label(f'scope.{t}')} {o or a}" for t, o, a in u.get("scopes", []))]
            for u in shown]
    more = len(summary.users) - len(shown)
    if more:
        rows.append(["…", f"另有 {more} 个员工账号" if zh else f"{more} more staff users", "", "",
                     "zhuizong track assignments"])
    return title, cols, rows


__all__ = ["DemoLines", "demo_lines", "login_rows"]
