"""Strings of the web pages in Chinese (default) and English. ``t(key)`` in templates."""

from __future__ import annotations

LANGS = ("zh", "en")

STRINGS: dict[str, tuple[str, str]] = {
    "app": ("追踪 · 代理人渠道管理", "zhuizong · agency management"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "bad_login": ("用户名或密码错误", "Wrong username or password"),
    "locked": ("登录失败次数过多, 请稍后再试", "Too many failed attempts; try again later"),
    "dashboard": ("驾驶舱", "Dashboard"),
    "inbox": ("追踪清单", "Tracking"),
    "team": ("团队看板", "Team board"),
    "report": ("KPI 报表", "KPI report"),
    "tools": ("工具", "Tools"),
    "worklog": ("工作日志", "Work log"),
    "attendance": ("早会考勤", "Meeting attendance"),
    "imports": ("数据导入", "Imports"),
    "admin": ("管理", "Administration"),
    "account": ("账户", "Account"),
    "language": ("English", "中文"),
    "change_password": ("修改密码", "Change password"),
    "old_password": ("原密码", "Current password"),
    "new_password": ("新密码", "New password"),
    "save": ("保存", "Save"),
    "saved": ("已保存", "Saved"),
    "not_found": ("找不到该页面或无权查看", "Not found (or not in your scope)"),
    "forbidden": ("无权执行该操作", "You may not do this"),
    "period": ("期间", "Period"),
    "org": ("机构", "Org unit"),
    "agent": ("人员", "Agent"),
    "today": ("今日", "Today"),
    "overdue": ("逾期", "Overdue"),
    "done": ("已完成", "Done"),
    "mine": ("我的", "Mine"),
    "my_team": ("我的团队", "My team"),
    "all_links": ("全部环节", "All links"),
    "priority": ("优先级", "Priority"),
    "due": ("期限", "Due"),
    "status": ("状态", "Status"),
    "reasons": ("原因", "Reasons"),
    "owner": ("负责人", "Owner"),
    "tracked_by": ("正在由 {name} 追踪", "being tracked by {name}"),
    "record": ("记录追踪", "Record follow-up"),
    "method": ("方式", "Method"),
    "outcome": ("结果", "Outcome"),
    "finding": ("发现的情况", "Finding"),
    "next_date": ("下次跟进日期", "Next follow-up"),
    "note": ("备注", "Note"),
    "history": ("追踪记录", "History"),
    "escalated": ("已升级", "Escalated"),
    "no_items": ("暂无事项", "Nothing here"),
    "home": ("首页", "Home"),
}


def t(key: str, lang: str = "zh", **kw: object) -> str:
    pair = STRINGS.get(key)
    text = key if pair is None else pair[1 if lang == "en" else 0]
    return text.format(**kw) if kw else text
