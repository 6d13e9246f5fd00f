"""``zhuizong campaign …``: sales campaigns (方案) — define, list, standings, close, honors.

Thin adapter: every rule lives in :mod:`zhuizong.campaigns.service`; ``--as USER`` applies that
user's roles and scope like everywhere else.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from zhuizong.cli import output
from zhuizong.cli.state import _actor, _ws
from zhuizong.errors import ZhuizongError

campaign_app = typer.Typer(help="Sales campaigns (方案): standings, close, honor rolls. 方案.", no_args_is_help=True)

FormatOpt = Annotated[str, output.format_option("table", "json")]
#: a campaign's phase in English (Chinese: ``phase_zh`` of the service, STATUS_ZH)
PHASE_EN = {"upcoming": "upcoming", "running": "running", "grace": "free-look grace period",
            "closable": "ready to close", "closed": "closed"}
#: what ``campaign define`` did to each campaign
DEFINED = {"created": ("已新建", "created"), "updated": ("已更新", "updated"),
           "unchanged": ("未变", "unchanged")}


def _ctx() -> tuple[Any, Any]:
    ws = _ws()
    return ws, _actor(ws)


def _date(text: str | None, opt: str = "--date") -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ZhuizongError(f"{opt} 日期格式应为 YYYY-MM-DD: {text!r}", f"{opt} must be YYYY-MM-DD: {text!r}") from None


def _num(v: Any, money: bool) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "—"
    return f"{v:,.2f}" if money else (f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}")


@campaign_app.command("define")
def campaign_define(
    file: Annotated[Path | None, typer.Argument(help="TOML file with [[campaign]] tables")] = None,
    id_: Annotated[str | None, typer.Option("--id", help="campaign id (without FILE)")] = None,
    name: Annotated[str | None, typer.Option("--name", help="name 方案名称")] = None,
    period: Annotated[str | None, typer.Option("--period", help="2026-11, 2026Q4, 2026-08..2026-10 or 2026-11-01..2026-11-30")] = None,
    measure: Annotated[str | None, typer.Option("--measure", help="fyp | std_premium | fyc | cases | new_recruits | active_months")] = None,
    tier: Annotated[list[str] | None, typer.Option("--tier", help="NAME:THRESHOLD[:REWARD[:HONOR]] (repeat, lowest first)")] = None,
    grace_days: Annotated[int | None, typer.Option("--grace-days", help="days after the end in which free-look cancellations still count")] = None,
    ranks: Annotated[str | None, typer.Option("--ranks", help="eligible rank codes, comma separated")] = None,
    categories: Annotated[str | None, typer.Option("--categories", help="probationary,formal,director")] = None,
    orgs: Annotated[str | None, typer.Option("--orgs", help="eligible org subtrees, comma separated")] = None,
    min_tenure: Annotated[int | None, typer.Option("--min-tenure-months")] = None,
    max_tenure: Annotated[int | None, typer.Option("--max-tenure-months")] = None,
    visibility: Annotated[str | None, typer.Option("--visibility", help="scope | campaign")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Store campaign definitions from a TOML file or from options (validated). 定义方案."""
    from zhuizong.campaigns import config, service

    ws, actor = _ctx()
    if file is not None:
        if id_ is not None:
            raise ZhuizongError("FILE 与 --id 不能同时给出", "give FILE or --id options, not both")
        res = service.define_file(ws, actor, file)
    else:
        if id_ is None:
            raise ZhuizongError("请给出方案文件, 或用 --id/--name/--period/--measure/--tier 定义",
                                "give a campaign FILE, or define one with --id/--name/--period/--measure/--tier")
        raw: dict[str, Any] = {"id": id_}
        for k, v in (("name", name), ("period", period), ("measure", measure), ("grace_days", grace_days),
                     ("visibility", visibility)):
            if v is not None:
                raw[k] = v
        raw["tiers"] = [config.parse_tier_option(t) for t in (tier or [])]
        el: dict[str, Any] = {}
        for k, v in (("ranks", ranks), ("categories", categories), ("orgs", orgs)):
            if v:
                el[k] = [x.strip() for x in v.split(",") if x.strip()]
        if min_tenure is not None:
            el["min_tenure_months"] = min_tenure
        if max_tenure is not None:
            el["max_tenure_months"] = max_tenure
        if el:
            raw["eligibility"] = el
        res = service.define(ws, actor, [config.parse_campaign(raw, "--options")], "--options")
    if fmt == "json":
        output.print_json({"campaigns": res})
        return
    for r in res:
        said = DEFINED.get(r["status"])
        output.console.print(f"{r['id']}: {output.tr(*said) if said else r['status']}", highlight=False)


@campaign_app.command("list")
def campaign_list(
    date: Annotated[str | None, typer.Option("--date", help="phase on this date (default today)")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Campaigns you may see, with their phase. 方案列表."""
    from zhuizong.campaigns.config import MEASURES
    from zhuizong.campaigns.service import list_campaigns

    ws, actor = _ctx()
    items = list_campaigns(ws, actor, _date(date))
    if fmt == "json":
        output.print_json({"campaigns": items})
        return
    tr, en = output.tr, output.LANG == "en"
    rows = [[x["id"], x["name"],
             MEASURES[x["measure"]].en if en and x["measure"] in MEASURES else x["measure_zh"].split(" ")[0],
             f"{x['start']} ~ {x['end']}", str(x["grace_days"]),
             PHASE_EN.get(x["phase"], x["phase"]) if en else x["phase_zh"], str(x["days_left"]),
             " / ".join(f"{t['name']} {t['threshold']:,g}" for t in x["tiers"])]
            for x in items]
    output.console.print(output.table(
        tr(f"方案 ({len(items)})", f"campaigns ({len(items)})"),
        ["ID", tr("名称", "name"), tr("指标", "measure"), tr("期间", "period"), tr("观察天数", "grace days"),
         tr("状态", "phase"), tr("剩余天数", "days left"), tr("档位", "tiers")], rows))


@campaign_app.command("standings")
def campaign_standings(
    campaign_id: Annotated[str, typer.Argument(help="campaign id")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (default today; capped at the end of the grace period)")] = None,
    team: Annotated[str | None, typer.Option("--team", help="add a team ranking at this org level (e.g. group, department; 'all')")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="rows to print (table); all rows for json/xlsx")] = None,
    fmt: Annotated[str, output.format_option("table", "json", "xlsx")] = "table",
    out: Annotated[Path | None, typer.Option("--out", help="file for --format xlsx")] = None,
) -> None:
    """Ranks, tier reached, gap to the next tier and pace. 方案排名."""
    from zhuizong.campaigns.config import MEASURES
    from zhuizong.campaigns.service import standings, standings_json, write_xlsx

    ws, actor = _ctx()
    st = standings(ws, actor, campaign_id, _date(as_of, "--as-of"), team)
    if fmt == "json":
        output.print_json(standings_json(st, limit))
        return
    if fmt == "xlsx":
        path = out or Path(f"campaign-{campaign_id}.xlsx")
        write_xlsx(st, path)
        output.console.print(output.tr(f"已写入: {path}", f"written: {path}"), highlight=False)
        return
    if fmt != "table":
        raise ZhuizongError(f"无法识别的格式 {fmt}", f"unknown format {fmt}: use table, json or xlsx")
    c, tr = st.campaign, output.tr
    money = MEASURES[c.measure].money
    w = st.window
    if output.LANG == "en":
        head = (f"{c.name} ({c.id}) · {MEASURES[c.measure].en} · {c.start} ~ {c.end} · as of {w.as_of}"
                f"{' · closed (frozen)' if st.frozen else f' · {w.days_left} days left'}"
                f" · {st.eligible:,} eligible")
    else:
        head = (f"{c.name} ({c.id}) · {MEASURES[c.measure].zh} · {c.start} ~ {c.end} · 截至 {w.as_of}"
                f"{' · 已结案 (冻结)' if st.frozen else f' · 剩余 {w.days_left} 天'} · 参与 {st.eligible:,} 人")
    rows = [[str(x.position), x.agent_code, x.agent_name, x.org_name or x.org_code, _num(x.value, money),
             str(x.cases), x.tier or "—", x.next_tier or "—", _num(x.gap, money),
             _num(x.projection, money), x.projected_tier or "—"]
            for x in st.rows.head(limit or 30).itertuples(index=False)]
    output.console.print(output.table(head, [
        tr("名次", "rank"), tr("工号", "code"), tr("姓名", "name"), tr("机构", "org"), tr("业绩", "result"),
        tr("件数", "cases"), tr("已达档位", "tier reached"), tr("下一档", "next tier"), tr("差距", "gap"),
        tr("预计", "projection"), tr("预计档位", "projected tier")], rows))
    for lv, tdf in st.teams.items():
        trows = [[str(x.position), x.org_code, x.org_name, _num(x.value, money), str(x.members),
                  str(x.achievers), _num(x.value_per_member, money)]
                 for x in tdf.head(limit or 30).itertuples(index=False)]
        output.console.print(output.table(
            tr(f"团队排名 ({lv})", f"team ranking ({lv})"),
            [tr("名次", "rank"), tr("代码", "code"), tr("机构", "org"), tr("业绩", "result"),
             tr("人数", "members"), tr("达档人数", "achievers"), tr("人均", "per member")], trows))


@campaign_app.command("close")
def campaign_close(
    campaign_id: Annotated[str, typer.Argument(help="campaign id")],
    date: Annotated[str | None, typer.Option("--date", help="close-out date (default today); must be after end + grace days")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Freeze the results after the grace period (idempotent) and list the winners. 方案结案."""
    from zhuizong.campaigns.config import MEASURES
    from zhuizong.campaigns.engine import as_records
    from zhuizong.campaigns.service import campaign_json, close, winners

    ws, actor = _ctx()
    changed, st = close(ws, actor, campaign_id, _date(date))
    win = winners(st)
    if fmt == "json":
        output.print_json({"campaign": campaign_json(st.campaign), "changed": changed,
                           "results_as_of": st.window.as_of.isoformat(), "eligible": st.eligible,
                           "winners": as_records(win[["position", "agent_code", "agent_name", "org_code",
                                                      "org_name", "value", "tier"]])})
        return
    money, tr = MEASURES[st.campaign.measure].money, output.tr
    cid, as_of = st.campaign.id, st.window.as_of
    output.console.print(tr(
        f"{'已结案' if changed else '此前已结案, 结果未变'}: {cid} "
        f"(结果截至 {as_of}, 参与 {st.eligible:,} 人, 达档 {len(win):,} 人)",
        f"{'closed' if changed else 'already closed, unchanged'}: {cid} "
        f"(results as of {as_of}, {st.eligible:,} eligible, {len(win):,} reached a tier)"), highlight=False)
    rows = [[x.tier, str(x.position), x.agent_code, x.agent_name, x.org_name or x.org_code, _num(x.value, money)]
            for x in win.itertuples(index=False)]
    output.console.print(output.table(tr("获奖名单", "winners"), [
        tr("档位", "tier"), tr("名次", "rank"), tr("工号", "code"), tr("姓名", "name"), tr("机构", "org"),
        tr("业绩", "result")], rows))


@campaign_app.command("honors")
def campaign_honors(
    campaign_id: Annotated[str, typer.Argument(help="campaign id")],
    fmt: Annotated[str, output.format_option("pdf", "png", "xlsx")] = "pdf",
    out: Annotated[Path | None, typer.Option("--out", help="output file")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="for a campaign not closed yet (default today)")] = None,
    level: Annotated[str | None, typer.Option("--org-level", help="org level whose names are shown beside each winner (default: the agent's own unit)")] = None,
    font: Annotated[Path | None, typer.Option("--font", help="a CJK TrueType/OpenType font file to use (png; embedded in pdf)")] = None,
) -> None:
    """The honor roll (光荣榜) poster, in Chinese: pdf, png or xlsx. 光荣榜."""
    from zhuizong.campaigns.honors import build_honors

    ws, actor = _ctx()
    if fmt not in ("pdf", "png", "xlsx"):
        raise ZhuizongError(f"无法识别的格式 {fmt}", f"unknown format {fmt}: use pdf, png or xlsx")
    path = out or Path(f"honors-{campaign_id}.{fmt}")
    build_honors(ws, actor, campaign_id, fmt, path, as_of=_date(as_of, "--as-of"), org_level=level,
                 font_file=font)
    output.console.print(output.tr(f"已写入: {path}", f"written: {path}"), highlight=False)
