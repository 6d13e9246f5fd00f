"""The monthly report as PDF (ReportLab), with correct Chinese glyphs and no font file.

Chinese text uses ReportLab's built-in CID font ``STSong-Light`` (Adobe-GB1; the PDF names the
font and every PDF reader supplies the glyphs), so nothing is downloaded or shipped. The table is
the same as the XLSX one; the page is landscape A4 when the columns fit at 7 pt, else landscape
A3, with the font scaled down to fit the width when even A3 is too narrow. Page 2 onwards carries
the definitions: report information, settings used and every formula.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from zhuizong.reports.monthly import (
    GROUP_COLORS,
    MonthlyReport,
    cell_text,
    definition_rows,
    info_rows,
    settings_rows,
)

FONT = "STSong-Light"
BASE_SIZE = 7.0
MIN_SIZE = 4.0
MARGIN = 24.0  # points (≈ 8.5 mm)


def _register_font(font_file: Path | None = None) -> str:
    """Register and return the font name: STSong-Light, or an embedded TrueType font file."""
    from reportlab.pdfbase import pdfmetrics

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
    for size in (A4, A3):
        page = landscape(size)
        if total <= page[0] - 2 * MARGIN:
            return page, BASE_SIZE, widths
    page = landscape(A3)
    avail = page[0] - 2 * MARGIN
    font_size = max(MIN_SIZE, BASE_SIZE * avail / total)
    widths = _column_widths(report, body, font_size, font)
    scale = avail / sum(widths)
    if scale < 1:
        widths = [w * scale for w in widths]
    return page, font_size, widths


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
    cols = report.columns
    body = [[cell_text(c, row.get(c.key), report.money) for c in cols] for row in report.rows]
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

    story: list[Any] = [
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
        canvas.drawString(MARGIN, MARGIN / 2, f"{report.title} · 第 {doc.page} 页")
        canvas.drawRightString(page[0] - MARGIN, MARGIN / 2,
                               f"生成于 {report.generated_at.isoformat(sep=' ')}")
        canvas.restoreState()

    doc = SimpleDocTemplate(str(out), pagesize=page, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=MARGIN, title=report.title,
                            author="zhuizong", subject=f"{report.org_code} {report.period.label}")
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out


__all__ = ["write_monthly_pdf"]
