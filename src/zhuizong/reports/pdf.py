"""The monthly report as PDF (ReportLab), with the Chinese font embedded.

Font (issue 16): a TrueType CJK font is embedded (subset: only the glyphs used), so the PDF
prints the same on every reader and printer: ``font_file`` when given (``--pdf-font``), else the
first of :data:`CJK_FONTS` present on the machine (Debian ``fonts-wqy-zenhei``, which
``.ci/run`` installs, or WenQuanYi Micro Hei / Droid Sans Fallback). Only when none is found
does it fall back to ReportLab's built-in CID font ``STSong-Light`` (named, not embedded: the
reader supplies the glyphs). Characters the font lacks are written with a look-alike it has
(:data:`FALLBACK_CHARS`: the minus sign of the 定义 formulas becomes "-", never nothing).

Layout: page 1 is a cover (title, period and its dates, scope: the org unit by name, data basis,
who and when). The table is the XLSX one; the page is landscape A4 when the columns fit at 7 pt,
else landscape A3; the table always fills the page width (a narrow table is set in a larger
font, up to 10 pt, then widened; a wide one is set smaller, down to 4 pt), and its three header
rows repeat on every page. Then the definitions: report information, settings and formulas.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as _xml_escape

from zhuizong.reports.monthly import (
    GROUP_COLORS,
    MonthlyReport,
    cell_text,
    definition_rows,
    info_rows,
    money_unit,
    settings_rows,
)

FONT = "STSong-Light"
BASE_SIZE = 7.0
MIN_SIZE = 4.0
MAX_SIZE = 10.0
#: TrueType CJK fonts looked for when no font file is given (embedded, in this order)
CJK_FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
)
#: look-alikes for characters a font may lack (U+2212 minus sign: not in WenQuanYi nor STSong)
FALLBACK_CHARS = {"\u2212": "-", "\u2264": "<=", "\u2265": ">=", "\u2026": "..."}
MARGIN = 24.0  # points (≈ 8.5 mm)


def cjk_font_file() -> Path | None:
    """The first TrueType CJK font of :data:`CJK_FONTS` on this machine, or None."""
    return next((f for f in CJK_FONTS if f.is_file()), None)


def _register_font(font_file: Path | None = None) -> str:
    """Register and return the font name: an embedded TrueType font (``font_file``, else one of
    :data:`CJK_FONTS`), or STSong-Light when there is none."""
    from reportlab.pdfbase import pdfmetrics

    font_file = font_file or cjk_font_file()
    if font_file is not None:
        from reportlab.pdfbase.ttfonts import TTFont

        name = f"ZZ-{Path(font_file).stem}"
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(font_file), subfontIndex=0))
        return name
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _printable(font: str) -> Any:
    """A function that replaces the characters ``font`` lacks by :data:`FALLBACK_CHARS`."""
    from reportlab.pdfbase import pdfmetrics

    f = pdfmetrics.getFont(font)
    face = getattr(f, "face", None)
    glyphs = getattr(face, "charToGlyph", None)
    missing = {c: r for c, r in FALLBACK_CHARS.items() if glyphs is None or ord(c) not in glyphs}
    table = str.maketrans(missing)  # type: ignore[arg-type]
    return lambda text: text.translate(table)


def _width(text: str, size: float, font: str = FONT) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return stringWidth(text, font, size)


def _column_widths(report: MonthlyReport, body: list[list[str]], size: float,
                   font: str = FONT) -> list[float]:
    """Natural column widths at ``size``: the widest value, headers wrapped to ≥ 4 CJK glyphs."""
    pad = size * 0.9
    out = []
    for i, c in enumerate(report.columns):
        data = max((_width(row[i], size, font) for row in body), default=0.0)
        if c.key == "org_name":
            data = min(data, size * 11)  # long names wrap
        head = c.sub if c.sub is not None else c.block
        head_w = max(min(_width(part, size, font), size * 5.6) for part in re.split(r"\s*(?=\()", head))
        out.append(max(data, head_w, size * 2.2) + 2 * pad)
    return out


def _layout(report: MonthlyReport, body: list[list[str]],
            font: str = FONT) -> tuple[tuple[float, float], float, list[float]]:
    """(page size, font size, column widths) so that the table fits the page width."""
    from reportlab.lib.pagesizes import A3, A4, landscape

    widths = _column_widths(report, body, BASE_SIZE, font)
    total = sum(widths)
    page = landscape(A3)
    for size in (A4, A3):
        if total <= landscape(size)[0] - 2 * MARGIN:
            page = landscape(size)
            break
    avail = page[0] - 2 * MARGIN
    # fill the width: a larger font for a narrow table (≤ MAX_SIZE), smaller for a wide one
    font_size = min(MAX_SIZE, max(MIN_SIZE, BASE_SIZE * avail / total))
    widths = _column_widths(report, body, font_size, font)
    scale = avail / sum(widths)
    return page, font_size, [w * scale for w in widths]


def write_monthly_pdf(report: MonthlyReport, out: Path, font_file: Path | None = None) -> Path:
    """Write ``report`` as PDF; ``font_file``: a TrueType font (.ttf/.ttc) to embed instead of
    the built-in STSong-Light (for viewers without CJK fallback fonts)."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import (
        LongTable,
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    font = _register_font(font_file)
    fix = _printable(font)

    def escape(text: str) -> str:  # every text of the PDF: XML-escaped, missing glyphs replaced
        return _xml_escape(fix(text))

    cols = report.columns
    body = [[fix(cell_text(c, row.get(c.key), report.money)) for c in cols] for row in report.rows]
    page, size, widths = _layout(report, body, font)
    lead = size * 1.25

    st_title = ParagraphStyle("t", fontName=font, fontSize=14, leading=18, spaceAfter=4)
    st_sub = ParagraphStyle("s", fontName=font, fontSize=7.5, leading=10, spaceAfter=6,
                            textColor=colors.HexColor("#404040"))
    st_head = ParagraphStyle("h", fontName=font, fontSize=size, leading=lead, alignment=TA_CENTER)
    st_cell = ParagraphStyle("c", fontName=font, fontSize=size, leading=lead)
    st_def = ParagraphStyle("d", fontName=font, fontSize=7.5, leading=9.5)
    st_h2 = ParagraphStyle("h2", fontName=font, fontSize=11, leading=14, spaceBefore=8, spaceAfter=4)

    def p(text: str, style: ParagraphStyle = st_head) -> Paragraph:
        # a unit in parentheses goes on its own line: "人均FYP<br/>(元/人)"
        return Paragraph(re.sub(r"\s*\(", "<br/>(", escape(text)), style)

    # header rows: group, metric, sub-header
    n = len(cols)
    r_group: list[Any] = [""] * n
    r_block: list[Any] = [""] * n
    r_sub: list[Any] = [""] * n
    spans: list[tuple[Any, ...]] = []
    for g, a, b in report.groups:
        if g == "机构":
            continue
        r_group[a] = p(g)
        if b > a:
            spans.append(("SPAN", (a, 0), (b, 0)))
    for label, a, b, has_sub in report.blocks:
        if cols[a].group == "机构":
            r_group[a] = p(label)
            spans.append(("SPAN", (a, 0), (a, 2)))
        elif has_sub:
            r_block[a] = p(label)
            if b > a:
                spans.append(("SPAN", (a, 1), (b, 1)))
            for i in range(a, b + 1):
                r_sub[i] = p(cols[i].sub or "")
        else:
            r_block[a] = p(label)
            spans.append(("SPAN", (a, 1), (a, 2)))
    data: list[list[Any]] = [r_group, r_block, r_sub]
    name_idx = [c.key for c in cols].index("org_name")
    for row in body:
        cells: list[Any] = list(row)
        cells[name_idx] = Paragraph(escape(row[name_idx]), st_cell)
        data.append(cells)

    style: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), font, size, lead),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#A6A6A6")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (0, 3), (-1, -1), "RIGHT"),
        ("ALIGN", (0, 3), (1, -1), "LEFT"),
        ("LEFTPADDING", (0, 0), (-1, -1), size * 0.45),
        ("RIGHTPADDING", (0, 0), (-1, -1), size * 0.45),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        *spans,
    ]
    for g, a, b in report.groups:
        color = colors.HexColor(GROUP_COLORS.get(g, "#D9D9D9"))
        style.append(("BACKGROUND", (a, 0), (b, 2), color))
    for k, values in enumerate(report.rows):
        if values.get("_total"):
            style.append(("BACKGROUND", (0, 3 + k), (-1, 3 + k), colors.HexColor("#E7E6E6")))
            style.append(("LINEABOVE", (0, 3 + k), (-1, 3 + k), 1.0, colors.black))
        elif k % 2 == 1:
            style.append(("BACKGROUND", (0, 3 + k), (-1, 3 + k), colors.HexColor("#F7F7F7")))
    table = LongTable(data, colWidths=widths, repeatRows=3)
    table.setStyle(TableStyle(style))

    st_cover = ParagraphStyle("cover", fontName=font, fontSize=26, leading=34, spaceAfter=18)
    st_cover_line = ParagraphStyle("cl", fontName=font, fontSize=13, leading=20)
    p_ = report.period
    cover = [
        Spacer(1, page[1] * 0.22),
        Paragraph(escape(report.title), st_cover),
        Paragraph(escape(f"统计期间: {p_.label} ({p_.start.isoformat()} 至 {p_.end.isoformat()})"), st_cover_line),
        Paragraph(escape(f"范围: {report.org_name} 及下属机构"), st_cover_line),
        Paragraph(escape(f"金额单位: {money_unit(report.money)}"), st_cover_line),
        Paragraph(escape(f"生成: {report.actor} · {report.generated_at.isoformat(sep=' ')}"), st_cover_line),
        PageBreak(),
    ]
    story: list[Any] = [
        *cover,
        Paragraph(escape(report.title), st_title),
        Paragraph(escape(report.subtitle), st_sub),
        table,
        Spacer(1, 6),
        Paragraph(escape("注: 合计行按本机构全部事实直接计算 (去重), 不是上面各行之和; — 表示分母为 0 或无计划。"
                         "同比/环比: FYP 与期末人力为增长率, 活动率为增减百分点。"), st_sub),
        PageBreak(),
        Paragraph(escape("定义与口径 Definitions"), st_title),
        Paragraph(escape("报表 Report"), st_h2),
    ]
    avail = page[0] - 2 * MARGIN

    def simple_table(rows: list[list[str]], fractions: list[float], header: bool) -> Table:
        t = Table([[Paragraph(escape(v), st_def) for v in r] for r in rows],
                  colWidths=[avail * f for f in fractions], repeatRows=1 if header else 0)
        s: list[tuple[Any, ...]] = [
            ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#A6A6A6")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
        if header:
            s.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#D9D9D9")))
        t.setStyle(TableStyle(s))
        return t

    story.append(simple_table([[k, v] for k, v in info_rows(report)], [0.22, 0.78], False))
    story.append(Paragraph(escape("口径设置 Settings used"), st_h2))
    story.append(simple_table(
        [["设置 setting", "值 value", "说明", "description"],
         *[list(r) for r in settings_rows(report)]], [0.2, 0.14, 0.28, 0.38], True))
    story.append(Paragraph(escape("指标 Metrics"), st_h2))
    story.append(simple_table(
        [["代码 code", "指标", "metric", "单位", "公式", "formula"],
         *[list(r) for r in definition_rows(report)]], [0.15, 0.11, 0.14, 0.05, 0.25, 0.30], True))

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 7)
        canvas.setFillColor(colors.HexColor("#595959"))
        canvas.drawString(MARGIN, MARGIN / 2, fix(f"{report.title} · 第 {doc.page} 页"))
        canvas.drawRightString(page[0] - MARGIN, MARGIN / 2,
                               fix(f"生成于 {report.generated_at.isoformat(sep=' ')}"))
        canvas.restoreState()

    doc = SimpleDocTemplate(str(out), pagesize=page, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=MARGIN, title=report.title,
                            author="zhuizong", subject=f"{report.org_code} {report.period.label}")
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out


__all__ = ["write_monthly_pdf"]
