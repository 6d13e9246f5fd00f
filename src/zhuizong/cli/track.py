"""``zhuizong track …``: generate, list, show, record, close, digest and effectiveness."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from zhuizong.cli import output
from zhuizong.cli.state import _actor, _ws
from zhuizong.errors import NotFound, ZhuizongError

track_app = typer.Typer(help="Daily tracking (追踪): items, records, digests. 每日追踪.", no_args_is_help=True)

DateOpt = Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: today)")]
FormatOpt = Annotated[str, output.format_option("table", "json")]
#: ids are 64-bit in both databases: a larger number names nothing (SQLite refused it with an
#: OverflowError traceback)
MAX_ID = 2**62


def _item_id(value: int) -> int:
    if not 0 < value < MAX_ID:
        raise NotFound(f"找不到追踪事项 {value}", f"tracking item {value} not found")
    return value


def _raise_id(value: int) -> int:
    if not 0 < value < MAX_ID:
        raise NotFound(f"找不到上报 {value}", f"raise {value} not found")
    return value


ItemId = Annotated[int, typer.Argument(callback=_item_id)]
RaiseId = Annotated[int, typer.Argument(callback=_raise_id)]
#: items per page of `track list` as a table (issue 16: a list never prints 1,115 rows at once)
LIST_LIMIT = 50
STATUS_ZH = {"open": "待跟进", "recorded": "已记录", "escalated": "已升级", "done": "已完成", "closed": "已关闭"}
STATUS_EN = {"open": "open", "recorded": "recorded", "escalated": "escalated", "done": "done", "closed": "closed"}


def _ctx() -> tuple[Any, Any]:
    ws = _ws()
    return ws, _actor(ws)


def _date(text: str | None) -> dt.date:
    if text is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ZhuizongError(f"无法识别的日期 {text!r} (应为 YYYY-MM-DD)", f"bad date {text!r}; use YYYY-MM-DD") from None


@track_app.command("run")
def track_run(date: DateOpt = None, fmt: FormatOpt = "table") -> None:
    """Generate the day's tracking items from the rules (idempotent). 生成当日追踪事项."""
    from zhuizong.tracking.generate import run

    ws, actor = _ctx()
    s = run(ws, _date(date), actor)
    if fmt == "json":
        output.print_json(s.as_dict())
        return
    output.console.print(output.tr(
        f"追踪事项 {s.date}: 待跟进 {s.live}; 新增 {s.opened}, 延续 {s.carried}, 自动关闭 {s.auto_closed}, "
        f"升级 {s.escalated} (触发对象 {s.subjects_fired}, 触发原因 {s.reasons_fired}; {s.seconds:.1f} 秒)",
        f"tracking {s.date}: live {s.live}; opened {s.opened}, carried {s.carried}, auto-closed {s.auto_closed}, "
        f"escalated {s.escalated} (subjects {s.subjects_fired}, reasons {s.reasons_fired}; {s.seconds:.1f} s)"),
        highlight=False)


@track_app.command("list")
def track_list(
    date: Annotated[str | None, typer.Option("--date", help="items live on this date")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="owner code (工号/username) or 'me'")] = None,
    status: Annotated[str, typer.Option("--status", help="open | done | escalated | all")] = "open",
    link: Annotated[str | None, typer.Option("--link", help="campaign, supervisor, executive, training, coaching, assessment")] = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", help=f"items per page (table: default {LIST_LIMIT}; json: all unless given)")] = None,
    offset: Annotated[int, typer.Option("--offset", help="skip this many items (the next page)")] = 0,
    fmt: FormatOpt = "table",
) -> None:
    """Tracking items within your scope, a page at a time. 追踪清单."""
    from zhuizong.tracking.service import LINK_EN, LINK_ZH, ListQuery, count_items, list_items

    if limit is not None and limit < 1:
        raise ZhuizongError("--limit 须为正整数", "--limit must be a positive number")
    if offset < 0:
        raise ZhuizongError("--offset 不能为负数", "--offset cannot be negative")
    ws, actor = _ctx()
    if limit is None and fmt != "json":
        limit = LIST_LIMIT
    q = ListQuery(date=None if date is None else _date(date), owner=owner, status=status, link=link,
                  limit=limit, offset=offset)
    items = list_items(ws, actor, q)
    total = count_items(ws, actor, q)
    if fmt == "json":
        output.print_json({"items": items, "total": total, "offset": offset, "limit": limit})
        return
    tr = output.tr
    links = LINK_EN if output.LANG == "en" else LINK_ZH
    status_of = STATUS_EN if output.LANG == "en" else STATUS_ZH
    rows = [[str(x["id"]), f"{x['subject_name']} {x['subject_code']}", links.get(x["link"], x["link"]),
             x["tracked_by"] or "—", status_of.get(x["status"], x["status"]),
             x["due_date"] + (" ⚠" if x["overdue"] else ""),
             "; ".join(r["message_en" if output.LANG == "en" else "message"] for r in x["reasons"])]
            for x in items]
    output.console.print(output.table(tr("追踪清单", "Tracking items"),
                                      ["ID", tr("对象", "Subject"), tr("环节", "Link"), tr("负责人", "Owner"),
                                       tr("状态", "Status"), tr("期限", "Due"), tr("原因", "Reasons")], rows))
    output.console.print(_page_footer(offset, len(items), total), highlight=False)


def _page_footer(offset: int, shown: int, total: int) -> str:
    """"显示 1–50 / 共 1,115 条" (and how to see the next page)."""
    if shown == 0:
        return output.tr(f"显示 0 / 共 {total:,} 条", f"showing 0 of {total:,}")
    first, last = offset + 1, offset + shown
    text = output.tr(f"显示 {first:,}–{last:,} / 共 {total:,} 条", f"showing {first:,}–{last:,} of {total:,}")
    if last < total:
        text += output.tr(f" (下一页: --offset {last})", f" (next page: --offset {last})")
    return text


@track_app.command("show")
def track_show(item_id: ItemId, fmt: FormatOpt = "table") -> None:
    """One item with its reasons, records and history. 追踪事项详情."""
    from rich.markup import escape

    from zhuizong.tracking.service import (
        LINK_EN,
        LINK_ZH,
        METHOD_EN,
        METHOD_ZH,
        OUTCOME_EN,
        OUTCOME_ZH,
        show_item,
    )
    from zhuizong.web.i18n import t

    ws, actor = _ctx()
    x = show_item(ws, actor, item_id)
    if fmt == "json":
        output.print_json(x)
        return
    c, tr, en = output.console, output.tr, output.LANG == "en"
    links, status_of = (LINK_EN, STATUS_EN) if en else (LINK_ZH, STATUS_ZH)
    methods, outcomes = (METHOD_EN, OUTCOME_EN) if en else (METHOD_ZH, OUTCOME_ZH)
    c.print(f"[bold]#{x['id']} {escape(x['subject_name'] or '')} ({x['subject_code']})[/] · "
            f"{links.get(x['link'], x['link'])} · {status_of.get(x['status'], x['status'])} · "
            f"{tr('负责人', 'owner')} {escape(x['tracked_by'] or '—')} · {tr('期限', 'due')} {x['due_date']}",
            highlight=False)
    # the rule code stays (it names the rule in tracking_rules.toml); the facts are in --format json
    for r in x["reasons"]:
        mark = "•" if r["active"] else "✓"
        c.print(f"  {mark} {r['message_en'] if en else r['message']}  "
                f"({r['rule']}, {r['first_seen']}–{r['last_seen']})", highlight=False, markup=False)
    for r in x["records"]:
        nxt = tr(f"下次 {r['next_date']}", f"next {r['next_date']}") if r["next_date"] else ""
        c.print(f"  ✎ {r['date']} {r['author_name'] or r['author']}: {methods.get(r['method'], r['method'])} → "
                f"{outcomes.get(r['outcome'], r['outcome'])} {r['finding'] or ''} {nxt}", highlight=False,
                markup=False)
    for e in x["events"]:  # an event's detail (codes) is in --format json
        c.print(f"  · {e['date']} {t('track_event.' + e['event'], output.LANG)}", highlight=False, markup=False)


@track_app.command("record")
def track_record(
    item_id: ItemId,
    method: Annotated[str, typer.Option("--method", help="phone | wechat | face_to_face | accompany | other")],
    outcome: Annotated[str, typer.Option("--outcome", help="contacted | committed | resolved | no_answer | refused | other")],
    finding: Annotated[str | None, typer.Option("--finding", help="what was found 发现的情况")] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
    next_date: Annotated[str | None, typer.Option("--next", help="next follow-up date YYYY-MM-DD")] = None,
    date: DateOpt = None,
    corrects: Annotated[int | None, typer.Option("--corrects", help="id of the record this one corrects")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Record a follow-up (append-only). 记录追踪."""
    from zhuizong.tracking.service import RecordInput, record

    ws, actor = _ctx()
    x = record(ws, actor, item_id, RecordInput(
        method=method, outcome=outcome, finding=finding, note=note,
        next_date=None if next_date is None else _date(next_date),
        on_date=None if date is None else _date(date), corrects=corrects))
    if fmt == "json":
        output.print_json(x)
        return
    status = (STATUS_EN if output.LANG == "en" else STATUS_ZH).get(x["status"], x["status"])
    output.console.print(output.tr(f"已记录: #{x['id']} → {status}", f"recorded: #{x['id']} → {status}"),
                         highlight=False)


@track_app.command("close")
def track_close(
    item_id: ItemId,
    reason: Annotated[str, typer.Option("--reason", help="why it is closed")],
    date: DateOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Close an item with a reason. 关闭追踪事项."""
    from zhuizong.tracking.service import close

    ws, actor = _ctx()
    x = close(ws, actor, item_id, reason, None if date is None else _date(date))
    if fmt == "json":
        output.print_json(x)
        return
    output.console.print(output.tr(f"已关闭: #{x['id']}", f"closed: #{x['id']}"), highlight=False)


@track_app.command("reassign")
def track_reassign(
    item_id: ItemId,
    to: Annotated[str, typer.Option("--to", help="username of the new owner (in your scope) 转派给")],
    date: DateOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Reassign an item to another user in your scope who may own tracking. 转派."""
    from zhuizong.tracking.day import reassign

    ws, actor = _ctx()
    x = reassign(ws, actor, item_id, to, None if date is None else _date(date))
    if fmt == "json":
        output.print_json(x)
        return
    output.console.print(output.tr(f"已转派: #{x['id']} → {x['tracked_by']}",
                                   f"reassigned: #{x['id']} → {x['tracked_by']}"), highlight=False)


@track_app.command("snooze")
def track_snooze(
    item_id: ItemId,
    until: Annotated[str, typer.Option("--until", help="YYYY-MM-DD: out of the inbox until this day 暂缓到")],
    date: DateOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Snooze an item until a later date (it leaves the inbox until then). 暂缓."""
    from zhuizong.tracking.day import snooze

    ws, actor = _ctx()
    x = snooze(ws, actor, item_id, _date(until), None if date is None else _date(date))
    if fmt == "json":
        output.print_json(x)
        return
    output.console.print(output.tr(f"已暂缓: #{x['id']} 至 {until}", f"snoozed: #{x['id']} until {until}"),
                         highlight=False)


@track_app.command("digest")
def track_digest(
    date: DateOpt = None,
    send: Annotated[bool, typer.Option("--send", help="deliver through the channels in notify.toml")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="write the digests into this folder as .md")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """One digest per recipient of their open and overdue items. 追踪日报."""
    from zhuizong.tracking.service import digests

    ws, actor = _ctx()
    d = _date(date)
    ds = digests(ws, actor, d)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for x in ds:
            safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in x.recipient)
            (out / f"{d.isoformat()}_{safe}.md").write_text(x.markdown, encoding="utf-8")
    report: dict[str, Any] | None = None
    if send:
        from zhuizong.tracking.delivery import send_digests

        report = send_digests(ws, actor, d, ds)
    if fmt == "json":
        output.print_json({"date": d.isoformat(), "digests": [
            {"recipient": x.recipient, "recipient_name": x.recipient_name, "title": x.title,
             "open": x.open_count, "overdue": x.overdue_count, "markdown": x.markdown} for x in ds],
            "delivery": report})
        return
    if not send and out is None:
        for x in ds:
            output.console.print(x.markdown, highlight=False, markup=False)
    # the digests above are the messages as they are sent (tracking.service.digests), not this screen
    output.console.print(output.tr(f"{len(ds)} 份日报", f"{len(ds)} digests"), highlight=False)
    if report is not None:
        output.print_json(report)


#: the groups of `track effectiveness --by`
EFFECT_BY = {"owner": ("负责人", "owner"), "rule": ("规则", "rule"), "org": ("机构", "org unit"),
             "link": ("环节", "link")}


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


@track_app.command("effectiveness")
def track_effectiveness(
    period: Annotated[str | None, typer.Option("--period", help="2026-05, 2026Q2, 2026 or a date range")] = None,
    by: Annotated[str, typer.Option("--by", help="owner | rule | org | link (--coverage: owner | org)")] = "owner",
    fmt: Annotated[str, output.format_option("table", "json", "xlsx")] = "table",
    out: Annotated[Path | None, typer.Option("--out", help="file for --format xlsx")] = None,
    coverage_: Annotated[bool, typer.Option(
        "--coverage", help="care coverage: share of agents in force contacted in the last 7 and 30 days")] = False,
    date: Annotated[str | None, typer.Option("--date", help="--coverage: as of YYYY-MM-DD (default: today)")] = None,
) -> None:
    """Coverage, timeliness, resolution and outcome lift of tracking; report-up (上报) answers;
    care coverage with --coverage. 追踪效果."""
    from zhuizong.tracking.effectiveness import coverage, effectiveness, write_xlsx
    from zhuizong.tracking.service import RAISE_CATEGORY_EN, RAISE_CATEGORY_ZH

    ws, actor = _ctx()
    tr = output.tr

    def group(x: dict[str, Any]) -> list[str]:
        # the service's own words, in the output language: the total (合计), agents without a
        # supervisor (key "—", 无主管)
        if x["key"] == "total":
            return [tr("合计", "total"), ""]
        if x["key"] == "—" and x["name"] == "无主管":
            return ["—", tr("无主管", "no supervisor")]
        return [x["key"], x["name"]]

    if coverage_:
        cov = coverage(ws, actor, _date(date), by)
        if fmt == "json":
            output.print_json(cov)
            return
        if fmt != "table":
            raise ZhuizongError("--coverage 只支持 table 或 json", "--coverage supports table or json only")
        rows_c = [[*group(x), str(x["agents"]),
                   f"{x['contacted_7']} ({_pct(x['share_7'])})", f"{x['contacted_30']} ({_pct(x['share_30'])})"]
                  for x in [*cov["rows"], cov["total"]]]
        output.console.print(output.table(
            tr(f"关怀覆盖率 {cov['date']} (按{'主管' if by == 'owner' else '机构'})",
               f"care coverage {cov['date']} (by {'supervisor' if by == 'owner' else 'org unit'})"),
            [tr("分组", "group"), tr("名称", "name"), tr("在职人数", "agents in force"),
             tr("近 7 天已联系", "contacted in 7 days"), tr("近 30 天已联系", "contacted in 30 days")], rows_c))
        return
    if period is None:
        raise ZhuizongError("请给出 --period (或 --coverage)", "give --period (or --coverage)")
    res = effectiveness(ws, actor, period, by)
    if fmt == "json":
        output.print_json(res)
        return
    if fmt == "xlsx":
        path = out or Path(f"tracking-effectiveness-{res['period']['label']}.xlsx")
        write_xlsx(res, path)
        output.console.print(tr(f"已写入: {path}", f"written: {path}"), highlight=False)
        return
    pct = _pct
    rz = res["raises"]
    med = rz["median_hours_to_answer"]
    raise_line = tr(f"上报 {rz['raised']} 项, 已回复 {rz['answered']} 项, 待回复 {rz['open']} 项, "
                    f"回复用时中位数 {'—' if med is None else f'{med:.1f} 小时'}",
                    f"raised {rz['raised']}, answered {rz['answered']}, waiting {rz['open']}, "
                    f"median time to answer {'—' if med is None else f'{med:.1f} hours'}")
    categories = RAISE_CATEGORY_EN if output.LANG == "en" else RAISE_CATEGORY_ZH
    if rz["by_category"]:
        raise_line += " (" + ", ".join(f"{categories.get(c, c)} {v['raised']}"
                                       for c, v in rz["by_category"].items()) + ")"

    rows = [[*group(x), str(x["items"]), pct(x["coverage"]), pct(x["timeliness"]),
             pct(x["resolution"]), f"{x['tracked_moved']}/{x['tracked']}", f"{x['untracked_moved']}/{x['untracked']}",
             "—" if x["lift_points"] is None else f"{x['lift_points']:+.1f}"]
            for x in [*res["rows"], res["total"]]]
    by_zh, by_en = EFFECT_BY.get(res["by"], (res["by"], res["by"]))
    label, days = res["period"]["label"], res["window_days"]
    output.console.print(output.table(
        tr(f"追踪效果 {label} (按{by_zh}, {days} 天)", f"tracking effectiveness {label} (by {by_en}, {days} days)"),
        [tr("分组", "group"), tr("名称", "name"), tr("事项", "items"), tr("覆盖率", "coverage"),
         tr("及时率", "timeliness"), tr("解决率", "resolution"), tr("追踪后改善", "tracked, improved"),
         tr("未追踪改善", "untracked, improved"), tr("提升(点)", "lift (points)")], rows))
    output.console.print(raise_line, highlight=False)


@track_app.command("raise")
def track_raise(
    item_id: ItemId,
    category: Annotated[str, typer.Option(
        "--category", help="attitude 心态 | family 家庭 | complaint 客户投诉 | health 健康 | resource 需要支持 | other 其他")],
    note: Annotated[str, typer.Option("--note", help="what was found and what is needed 情况说明")],
    date: DateOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Report an item up to your superior (上报). 上报上级."""
    from zhuizong.tracking.raises import raise_item

    ws, actor = _ctx()
    x = raise_item(ws, actor, item_id, category, note, None if date is None else _date(date))
    if fmt == "json":
        output.print_json(x)
        return
    to = f"{x['raised_to_name'] or x['raised_to']} ({x['raised_to']})"
    output.console.print(output.tr(f"已上报: 上报 {x['id']} · #{x['item_id']} → {to}",
                                   f"raised: raise {x['id']} · #{x['item_id']} → {to}"), highlight=False)


@track_app.command("raises")
def track_raises(
    open_: Annotated[bool, typer.Option("--open", help="only those not answered yet")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """Raises by you or to you (an admin: all in scope). 上报清单."""
    from zhuizong.tracking.raises import list_raises
    from zhuizong.tracking.service import RAISE_CATEGORY_EN

    ws, actor = _ctx()
    xs = list_raises(ws, actor, open_only=open_)
    if fmt == "json":
        output.print_json({"raises": xs})
        return
    tr, en = output.tr, output.LANG == "en"
    rows = [[str(x["id"]), f"#{x['item_id']} {x['subject_name']} {x['subject_code'] or ''}",
             RAISE_CATEGORY_EN.get(x["category"], x["category"]) if en else x["category_zh"],
             x["note"], f"{x['raised_by_name'] or x['raised_by']} → {x['raised_to_name'] or x['raised_to']}",
             x["raised_on"], tr("待回复", "waiting") if x["open"]
             else f"{x['answer']} ({x['hours_to_answer']:.1f} {tr('小时', 'hours')})"]
            for x in xs]
    output.console.print(output.table(tr(f"上报 ({len(xs)})", f"raises ({len(xs)})"), [
        "ID", tr("事项", "item"), tr("类别", "category"), tr("说明", "note"), tr("上报 → 上级", "by → to"),
        tr("日期", "date"), tr("回复", "answer")], rows))


@track_app.command("answer")
def track_answer(
    raise_id: RaiseId,
    note: Annotated[str, typer.Option("--note", help="the answer 回复")],
    date: DateOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Answer a raise made to you (回复上报). 回复上报."""
    from zhuizong.tracking.raises import answer

    ws, actor = _ctx()
    x = answer(ws, actor, raise_id, note, None if date is None else _date(date))
    if fmt == "json":
        output.print_json(x)
        return
    h = x["hours_to_answer"]
    output.console.print(output.tr(f"已回复: 上报 {x['id']} ({h:.1f} 小时)",
                                   f"answered: raise {x['id']} ({h:.1f} hours)"), highlight=False)


@track_app.command("assign")
def track_assign(
    role: Annotated[str, typer.Argument(help="trainer (组训) | training (培训) | assessment (考核) | campaign (方案) | executive (营销干部)")],
    org: Annotated[str, typer.Argument(help="org unit code: the unit and everything below it")],
    username: Annotated[str | None, typer.Argument(help="staff user; omit with --remove")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="remove the unit's assignment of ROLE")] = False,
) -> None:
    """Assign a staff user to a tracking link for an org unit. 追踪分工."""
    from zhuizong.tracking.assign import assign, unassign

    ws, actor = _ctx()
    if remove:
        done = unassign(ws, actor, role, org)
        said = output.tr("已取消", "removed") if done else output.tr("无此分工", "no such assignment")
        output.console.print(f"{said}: {_role_name(role)} {org}", highlight=False)
        return
    if username is None:
        raise ZhuizongError("请给出用户名 (或 --remove)", "give a USERNAME (or --remove)")
    a = assign(ws, actor, role, org, username)
    output.console.print(output.tr(f"已分配: {_role_name(a['role'])} {a['org_code']} → {a['username']}",
                                   f"assigned: {_role_name(a['role'])} {a['org_code']} → {a['username']}"),
                         highlight=False)


def _role_name(role: str) -> str:
    """A staff role in the output language (the web's words)."""
    from zhuizong.web.i18n import t

    return t(f"role.{role}", output.LANG)


@track_app.command("assignments")
def track_assignments(fmt: FormatOpt = "table") -> None:
    """Explicit staff assignments of tracking links. 追踪分工清单."""
    from zhuizong.tracking.assign import assignments

    ws, actor = _ctx()
    rows = assignments(ws, actor)
    if fmt == "json":
        output.print_json({"assignments": rows})
        return
    tr = output.tr
    output.console.print(output.table(tr(f"追踪分工 ({len(rows)})", f"assignments ({len(rows)})"),
                                      [tr("角色", "role"), tr("机构", "org"), tr("用户", "user")],
                                      [[_role_name(r["role"]), f"{r['org_name']} {r['org_code']}",
                                        f"{r['display_name']} {r['username']}"] for r in rows]))
