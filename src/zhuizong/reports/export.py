"""The monthly report written to a file: XLSX (:func:`zhuizong.reports.monthly.write_xlsx`) or
PDF (:func:`zhuizong.reports.pdf.write_monthly_pdf`, which builds on :mod:`zhuizong.reports.monthly`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from zhuizong.access.actor import Actor
from zhuizong.errors import ZhuizongError
from zhuizong.reports.monthly import Money, monthly_report, write_xlsx
from zhuizong.reports.pdf import write_monthly_pdf
from zhuizong.workspace import Workspace


def build_monthly(ws: Workspace, actor: Actor, period: str, org: str | None, out: Path,
                  fmt: Literal["xlsx", "pdf"] = "xlsx", *, as_of: dt.date | None = None,
                  money: Money | None = None, pdf_font: Path | None = None) -> Path:
    """Write the monthly KPI report of ``org`` (default: the root) for ``period`` to ``out``.

    ``fmt``: ``xlsx`` (XlsxWriter, with the 定义 sheet and a chart) or ``pdf`` (ReportLab, landscape
    A4 or A3, Chinese glyphs from the built-in CID font STSong-Light). ``money``: ``yuan`` or
    ``wan`` (万元) for FYP, FYC and standard premium; default 元 for XLSX, 万元 for PDF (narrower
    columns). ``pdf_font``: a TrueType font file to embed in the PDF instead of STSong-Light
    (optional; for PDF viewers without Chinese fallback fonts). Raises :class:`~zhuizong.errors.NotFound` when the org unit is outside the actor's scope.
    """
    if fmt not in ("xlsx", "pdf"):
        raise ZhuizongError(f"报表格式应为 xlsx 或 pdf: {fmt}", f"report format must be xlsx or pdf: {fmt}")
    out = Path(out)
    report = monthly_report(ws, actor, period, org, as_of=as_of,
                            money=money or ("wan" if fmt == "pdf" else "yuan"))
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "pdf":
        return write_monthly_pdf(report, out, pdf_font)
    return write_xlsx(report, out)


__all__ = ["build_monthly"]
