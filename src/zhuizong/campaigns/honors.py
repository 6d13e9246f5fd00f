"""The honor roll (光荣榜) poster of a campaign: PDF (ReportLab), PNG (matplotlib) or XLSX.

One layout in three renderings: a red and gold frame, the title (``honor_title``, default 光荣榜),
the campaign name and period, then every tier from the highest down — its name, honour and
reward on a ribbon, and its winners (name, org unit, result) in a grid. The PDF is A4 portrait
and prints as it is; the PNG is 1080 px wide, the width group chats display without scaling.

Chinese glyphs: the PDF uses ReportLab's built-in CID font ``STSong-Light`` (nothing shipped or
downloaded, every PDF reader supplies the glyphs) unless a font file is given to embed. The PNG
needs a real CJK font: ``--font FILE``, else the first installed one matplotlib knows among
common CJK families (Noto/Source Han, WenQuanYi, SimHei, Microsoft YaHei, PingFang …); without
one the command stops with an error saying what to install, rather than drawing empty boxes.

A tier with many winners shows the first :data:`MAX_NAMES` (by position) and "等 N 人"; the XLSX
lists everyone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from zhuizong.access.actor import Actor
from zhuizong.campaigns import service
from zhuizong.campaigns.config import MEASURES
from zhuizong.campaigns.engine import Facts
from zhuizong.common.cells import safe_cell
from zhuizong.errors import ZhuizongError
from zhuizong.reports.pdf import _register_font
from zhuizong.workspace import Workspace

MAX_NAMES = 48
RED = "#B3171D"
DARK_RED = "#7F0E12"
GOLD = "#D9A520"
CREAM = "#FFF8EC"
INK = "#3A2A1A"
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC", "Source Han Sans CN",
                "Source Han Serif SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei",
                "Microsoft YaHei", "PingFang SC", "Heiti SC", "STHeiti", "Hiragino Sans GB",
                "Droid Sans Fallback", "AR PL UMing CN", "AR PL UKai CN", "Noto Sans CJK JP")


@dataclass
class Winner:
    position: int
    name: str
    code: str
    org: str
    value: float


@dataclass
class TierBlock:
    name: str
    threshold: float
    reward: str
    honor: str
    winners: list[Winner]
    total: int


@dataclass
class HonorRoll:
    title: str
    campaign_name: str
    campaign_id: str
    period: str
    note: str
    unit: str
    money: bool
    tiers: list[TierBlock] = field(default_factory=list)
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now().replace(microsecond=0))


def _fmt(v: float, money: bool, unit: str) -> str:
    return f"{v:,.0f} {unit}" if money or float(v).is_integer() else f"{v:,.2f} {unit}"


def honor_roll(ws: Workspace, actor: Actor, campaign_id: str, as_of: dt.date | None = None,
               org_level: str | None = None, max_names: int | None = MAX_NAMES) -> HonorRoll:
    """The honor roll's content within the actor's view (frozen results once closed)."""
    st = service.standings(ws, actor, campaign_id, as_of)
    c = st.campaign
    m = MEASURES[c.measure]
    rows = st.rows
    orgs = rows.org_name.fillna(rows.org_code)
    if org_level:
        orgs = _org_at_level(ws, rows, org_level).fillna(orgs)
    rows = rows.assign(org_label=orgs)
    note = (f"已结案 · 结果截至 {st.window.as_of} (含犹豫期撤单观察期), 已冻结" if st.frozen
            else f"截至 {st.window.as_of} · 实时排名, 以结案为准")
    roll = HonorRoll(title=c.honor_title, campaign_name=c.name, campaign_id=c.id,
                     period=f"{c.start:%Y年%m月%d日} — {c.end:%Y年%m月%d日}", note=note,
                     unit=m.unit_zh, money=m.money)
    for i in range(len(c.tiers) - 1, -1, -1):
        t = c.tiers[i]
        got = rows[rows.tier_index == i].sort_values("position")
        shown = got if max_names is None else got.head(max_names)
        roll.tiers.append(TierBlock(
            name=t.name, threshold=float(t.threshold), reward=t.reward, honor=t.honor, total=len(got),
            winners=[Winner(int(x.position), x.agent_name or x.agent_code, x.agent_code, str(x.org_label),
                            float(x.value)) for x in shown.itertuples(index=False)]))
    return roll


def _org_at_level(ws: Workspace, rows: pd.DataFrame, level: str) -> pd.Series:
    f = Facts.open(ws)
    units = f.orgs_df[f.orgs_df.level == level][["org_code", "org_name"]]
    if units.empty:
        known = ", ".join(sorted(f.orgs_df.level.dropna().unique()))
        raise ZhuizongError(f"未知层级 {level}; 可用: {known}", f"unknown level {level}; known: {known}")
    a = f.anc_df[f.anc_df.ancestor_code.isin(units.org_code)]
    name = a.merge(units, left_on="ancestor_code", right_on="org_code", suffixes=("", "_u"))
    mapping = dict(zip(name.org_code, name.org_name, strict=True))
    return rows.org_code.map(mapping)


def build_honors(ws: Workspace, actor: Actor, campaign_id: str, fmt: str, out: Path, *,
                 as_of: dt.date | None = None, org_level: str | None = None,
                 font_file: Path | None = None) -> Path:
    actor.require("view_campaigns")
    roll = honor_roll(ws, actor, campaign_id, as_of, org_level, None if fmt == "xlsx" else MAX_NAMES)
    out = Path(out)
    if fmt == "pdf":
        return write_pdf(roll, out, font_file)
    if fmt == "png":
        return write_png(roll, out, font_file)
    if fmt == "xlsx":
        return write_xlsx(roll, out)
    raise ZhuizongError(f"无法识别的格式 {fmt}", f"unknown format {fmt}: use pdf, png or xlsx")


# --- layout shared by PDF and PNG (units: points of an A4-wide page, y downwards) ----------------

PAGE_W = 595.0
COLS = 4


def _tier_caption(t: TierBlock, roll: HonorRoll) -> str:
    parts = [f"达成 {_fmt(t.threshold, roll.money, roll.unit)}"]
    if t.honor:
        parts.append(f"荣誉: {t.honor}")
    if t.reward:
        parts.append(f"奖励: {t.reward}")
    parts.append(f"共 {t.total} 人")
    return " · ".join(parts)


# --- PDF -------------------------------------------------------------------------------------------


def write_pdf(roll: HonorRoll, out: Path, font_file: Path | None = None) -> Path:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    font = _register_font(font_file)
    w, h = A4
    c = canvas.Canvas(str(out), pagesize=A4)
    c.setTitle(f"{roll.title} · {roll.campaign_name}")
    c.setAuthor("zhuizong")
    c.setSubject(roll.campaign_id)
    red, dark, gold, cream, ink = (colors.HexColor(x) for x in (RED, DARK_RED, GOLD, CREAM, INK))
    margin = 22.0

    def frame(first: bool) -> float:
        c.setFillColor(red)
        c.rect(0, 0, w, h, stroke=0, fill=1)
        c.setFillColor(cream)
        c.rect(margin, margin, w - 2 * margin, h - 2 * margin, stroke=0, fill=1)
        c.setStrokeColor(gold)
        c.setLineWidth(2.5)
        c.rect(margin + 6, margin + 6, w - 2 * margin - 12, h - 2 * margin - 12, stroke=1, fill=0)
        c.setLineWidth(0.8)
        c.rect(margin + 10, margin + 10, w - 2 * margin - 20, h - 2 * margin - 20, stroke=1, fill=0)
        if not first:
            c.setFillColor(dark)
            c.setFont(font, 12)
            c.drawCentredString(w / 2, h - margin - 34, _p(f"{roll.title} · {roll.campaign_name} (续)"))
            return h - margin - 56
        # header band
        band_top, band_h = h - margin - 16, 118
        c.setFillColor(red)
        c.rect(margin + 16, band_top - band_h, w - 2 * margin - 32, band_h, stroke=0, fill=1)
        c.setFillColor(gold)
        c.setFont(font, 54)
        c.drawCentredString(w / 2, band_top - 62, _p(roll.title))
        c.setFont(font, 10)
        c.drawCentredString(w / 2, band_top - 84, _p("★ ★ ★  热烈祝贺  ★ ★ ★"))
        c.setFillColor(colors.white)
        c.setFont(font, 11)
        c.drawCentredString(w / 2, band_top - 104, _p(roll.period))
        y = band_top - band_h - 30
        c.setFillColor(dark)
        c.setFont(font, 20)
        c.drawCentredString(w / 2, y, _p(roll.campaign_name))
        c.setFont(font, 9)
        c.setFillColor(ink)
        c.drawCentredString(w / 2, y - 16, _p(roll.note))
        return y - 34

    def footer() -> None:
        c.setFont(font, 8)
        c.setFillColor(colors.HexColor("#8A6D3B"))
        c.drawCentredString(w / 2, margin + 18,
                            _p(f"恭喜以上伙伴! 再接再厉 · {roll.campaign_id} · 生成于 {roll.generated_at:%Y-%m-%d %H:%M}"))

    y = frame(True)
    bottom = margin + 34
    left, right = margin + 28, w - margin - 28
    col_w = (right - left) / COLS
    cell_h = 40.0
    for t in roll.tiers:
        if y - 44 - cell_h < bottom:
            footer()
            c.showPage()
            y = frame(False)
        # ribbon
        c.setFillColor(red)
        c.roundRect(left, y - 30, right - left, 30, 6, stroke=0, fill=1)
        c.setFillColor(gold)
        c.setFont(font, 16)
        c.drawString(left + 12, y - 21, _p(f"◆ {t.name}"))
        c.setFillColor(colors.white)
        c.setFont(font, 8.5)
        c.drawRightString(right - 10, y - 19, _p(_tier_caption(t, roll)))
        y -= 40
        if not t.winners:
            c.setFillColor(ink)
            c.setFont(font, 10)
            c.drawString(left + 12, y - 12, _p("虚位以待"))
            y -= 26
            continue
        for k, win in enumerate(t.winners):
            col = k % COLS
            if col == 0 and k > 0:
                y -= cell_h
            if col == 0 and y - cell_h < bottom:
                footer()
                c.showPage()
                y = frame(False)
            x = left + col * col_w
            c.setFillColor(dark)
            c.setFont(font, 13)
            c.drawString(x + 8, y - 14, _p(_clip(win.name, 8)))
            c.setFillColor(ink)
            c.setFont(font, 7.5)
            c.drawString(x + 8, y - 26, _p(_clip(win.org, 14)))
            c.drawString(x + 8, y - 36, _p(_fmt(win.value, roll.money, roll.unit)))
        y -= cell_h
        if t.total > len(t.winners):
            c.setFont(font, 9)
            c.setFillColor(ink)
            c.drawString(left + 8, y - 8, _p(f"…… 等 {t.total} 人"))
            y -= 18
        y -= 10
    footer()
    c.showPage()
    c.save()
    return out


def _p(text: str) -> str:
    """Text for the STSong-Light CID font, which has no glyph for the middle dot."""
    return text.replace("·", "|")


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# --- PNG -------------------------------------------------------------------------------------------


def find_cjk_font(font_file: Path | None = None) -> Path:
    """A font file with Chinese glyphs: ``font_file``, else an installed CJK font."""
    if font_file is not None:
        if not Path(font_file).is_file():
            raise ZhuizongError(f"找不到字体文件 {font_file}", f"font file {font_file} not found")
        return Path(font_file)
    from matplotlib import font_manager

    by_name = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    for fam in CJK_FAMILIES:
        if fam in by_name:
            return Path(by_name[fam])
    for f in font_manager.fontManager.ttflist:  # any CJK-looking family
        if any(k in f.name for k in ("CJK", "Hei", "Song", "Ming", "Kai", "YaHei", "Han")):
            return Path(f.fname)
    # matplotlib's font cache may predate the fonts (or skip .ttc collections): look at the files
    files = sorted(font_manager.findSystemFonts(), key=lambda x: (("Sans" not in x), ("Bold" in x), x))
    for fname in files:
        base = Path(fname).name.lower()
        if any(k in base for k in ("cjk", "sourcehan", "wqy", "simhei", "msyh", "pingfang",
                                   "droidsansfallback", "uming", "ukai")):
            return Path(fname)
    raise ZhuizongError(
        "没有找到中文字体, 无法生成 PNG: 请安装中文字体 (如 apt-get install fonts-noto-cjk) 或用 --font 指定字体文件; "
        "PDF 格式无需字体",
        "no CJK font found for the PNG: install one (e.g. apt-get install fonts-noto-cjk) or pass --font FILE; "
        "the PDF format needs no font")


def write_png(roll: HonorRoll, out: Path, font_file: Path | None = None, dpi: int = 100) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import FancyBboxPatch, Rectangle

    fp = FontProperties(fname=str(find_cjk_font(font_file)))
    W = 1080.0
    cols, cell_h = 4, 92.0
    # height: header + per tier ribbon + rows
    h = 430.0
    for t in roll.tiers:
        rows = max(1, -(-len(t.winners) // cols))
        h += 80 + rows * cell_h + (34 if t.total > len(t.winners) else 0) + 16
    h += 90
    fig = plt.figure(figsize=(W / dpi, h / dpi), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, W)
    ax.set_ylim(h, 0)
    ax.axis("off")

    def text(x: float, y: float, s: str, size: float, color: str, ha: str = "left",
             weight: str = "normal") -> None:
        ax.text(x, y, s, fontproperties=fp, fontsize=size, color=color, ha=ha, va="center",
                fontweight=weight)

    ax.add_patch(Rectangle((0, 0), W, h, color=RED))
    m = 36.0
    ax.add_patch(Rectangle((m, m), W - 2 * m, h - 2 * m, color=CREAM))
    ax.add_patch(Rectangle((m + 10, m + 10), W - 2 * m - 20, h - 2 * m - 20, fill=False, ec=GOLD, lw=4))
    ax.add_patch(Rectangle((m + 17, m + 17), W - 2 * m - 34, h - 2 * m - 34, fill=False, ec=GOLD, lw=1.2))
    ax.add_patch(Rectangle((m + 26, m + 26), W - 2 * m - 52, 222, color=RED))
    text(W / 2, m + 118, roll.title, 66, GOLD, "center", "bold")
    text(W / 2, m + 182, "★ ★ ★  热烈祝贺  ★ ★ ★", 15, GOLD, "center")
    text(W / 2, m + 222, roll.period, 15, "white", "center")
    text(W / 2, m + 295, roll.campaign_name, 30, DARK_RED, "center", "bold")
    text(W / 2, m + 338, roll.note, 13, INK, "center")
    y = 430.0
    left, right = m + 50, W - m - 50
    col_w = (right - left) / cols
    for t in roll.tiers:
        ax.add_patch(FancyBboxPatch((left, y), right - left, 54, boxstyle="round,pad=0,rounding_size=10",
                                    color=RED))
        text(left + 20, y + 27, f"◆ {t.name}", 24, GOLD, weight="bold")
        text(right - 16, y + 27, _tier_caption(t, roll), 12, "white", "right")
        y += 72
        if not t.winners:
            text(left + 20, y + 20, "虚位以待", 15, INK)
            y += cell_h
        for k, win in enumerate(t.winners):
            col, row = k % cols, k // cols
            x, yy = left + col * col_w, y + row * cell_h
            text(x + 14, yy + 20, _clip(win.name, 8), 21, DARK_RED, weight="bold")
            text(x + 14, yy + 50, _clip(win.org, 14), 11, INK)
            text(x + 14, yy + 72, _fmt(win.value, roll.money, roll.unit), 11, INK)
        if t.winners:
            y += -(-len(t.winners) // cols) * cell_h
        if t.total > len(t.winners):
            text(left + 14, y + 12, f"…… 等 {t.total} 人", 13, INK)
            y += 34
        y += 16
    text(W / 2, h - m - 40, f"恭喜以上伙伴! 再接再厉 · {roll.campaign_id} · 生成于 {roll.generated_at:%Y-%m-%d %H:%M}",
         11, "#8A6D3B", "center")
    fig.savefig(str(out), dpi=dpi, format="png", facecolor=RED)
    plt.close(fig)
    return out


# --- XLSX ------------------------------------------------------------------------------------------


def write_xlsx(roll: HonorRoll, out: Path) -> Path:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(out), {"strings_to_formulas": False, "strings_to_urls": False})
    sh = wb.add_worksheet("光荣榜")
    base = {"font_name": "等线", "font_size": 11}
    f_title = wb.add_format({**base, "bold": True, "font_size": 28, "font_color": GOLD, "bg_color": RED,
                             "align": "center", "valign": "vcenter"})
    f_name = wb.add_format({**base, "bold": True, "font_size": 16, "font_color": DARK_RED, "align": "center"})
    f_sub = wb.add_format({**base, "font_color": "#595959", "align": "center"})
    f_tier = wb.add_format({**base, "bold": True, "font_size": 14, "font_color": GOLD, "bg_color": RED})
    f_cap = wb.add_format({**base, "font_color": "#FFFFFF", "bg_color": RED})
    f_head = wb.add_format({**base, "bold": True, "bg_color": "#F6E7C1", "border": 1})
    f_text = wb.add_format({**base, "border": 1})
    f_num = wb.add_format({**base, "border": 1, "num_format": "#,##0.00" if roll.money else "#,##0"})
    f_int = wb.add_format({**base, "border": 1, "num_format": "0"})
    sh.set_column(0, 0, 8)
    sh.set_column(1, 1, 14)
    sh.set_column(2, 2, 16)
    sh.set_column(3, 3, 30)
    sh.set_column(4, 4, 16)
    sh.merge_range(0, 0, 0, 4, safe_cell(roll.title), f_title)
    sh.set_row(0, 48)
    sh.merge_range(1, 0, 1, 4, safe_cell(roll.campaign_name), f_name)
    sh.merge_range(2, 0, 2, 4, safe_cell(f"{roll.period} · {roll.note}"), f_sub)
    r = 4
    for t in roll.tiers:
        sh.merge_range(r, 0, r, 1, safe_cell(t.name), f_tier)
        sh.merge_range(r, 2, r, 4, safe_cell(_tier_caption(t, roll)), f_cap)
        r += 1
        sh.write_row(r, 0, ["名次", "工号", "姓名", "机构", f"业绩 ({roll.unit})"], f_head)
        r += 1
        for win in t.winners:
            sh.write_number(r, 0, win.position, f_int)
            sh.write_string(r, 1, safe_cell(win.code), f_text)
            sh.write_string(r, 2, safe_cell(win.name), f_text)
            sh.write_string(r, 3, safe_cell(win.org), f_text)
            sh.write_number(r, 4, win.value, f_num)
            r += 1
        if not t.winners:
            sh.write_string(r, 0, "虚位以待", f_text)
            r += 1
        r += 1
    sh.write_string(r, 0, safe_cell(f"生成于 {roll.generated_at:%Y-%m-%d %H:%M} · {roll.campaign_id}"), f_sub)
    wb.close()
    return out


__all__ = ["HonorRoll", "TierBlock", "Winner", "build_honors", "find_cjk_font", "honor_roll",
           "write_pdf", "write_png", "write_xlsx"]

