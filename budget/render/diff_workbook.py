"""The sheet of ``budget diff``: what changed between two submissions, one row per cell
(xlsxwriter, every cell through ``budget.xlsx.writer.CellWriter``: sender text as sent and
inert, blank shown as （空欄）, amounts as numbers)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from budget import __version__
from budget.render.outputs import Written, write_bytes_atomically
from budget.xlsx.writer import WORKBOOK_OPTIONS, CellWriter, check_xlsx

if TYPE_CHECKING:
    from budget.analysis.diff import SubmissionDiff

SHEET = "差分"
HEADERS = ["事業", "項目", "前", "後", "増減", "区分"]


def diff_file_name(diff: "SubmissionDiff") -> str:
    """``R5_13_東京都_差分_4-5.xlsx``."""
    from budget.fiscal import era_code
    from budget.prefectures import prefecture_by_code

    year = diff.after.get("fiscal_year")
    pref = prefecture_by_code(str(diff.after.get("prefecture_code") or ""))
    parts = [era_code(int(year)) if year else "年度不明", pref.file_stem if pref else "全国"]
    return "_".join(parts) + f"_差分_{diff.before['id']}-{diff.after['id']}.xlsx"


def render_diff_workbook(diff: "SubmissionDiff", *, now: dt.datetime | None = None) -> bytes:
    """The workbook's bytes: the two submissions above, then one row per change."""
    import xlsxwriter

    from budget.analysis.diff import BLANK_JA, KIND_JA
    from budget.fiscal import local_time, short_time

    now = now or dt.datetime.now().astimezone()
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, WORKBOOK_OPTIONS)
    wb.set_properties({"title": "提出の差分", "author": "budget",
                       "comments": f"budget {__version__}", "created": now.replace(tzinfo=None)})
    cells = CellWriter(wb)
    head = cells.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "valign": "top"})
    cell = cells.add_format({"valign": "top", "border": 1})
    wrap = cells.add_format({"valign": "top", "border": 1, "text_wrap": True})
    money = cells.add_format({"valign": "top", "border": 1, "num_format": "#,##0"})
    ws = wb.add_worksheet(SHEET)
    for c, width in enumerate([50, 22, 20, 20, 12, 8]):
        check_xlsx(ws.set_column(c, c, width))
    r = 0
    for label, sub in (("前の提出", diff.before), ("後の提出", diff.after)):
        cells.text(ws, r, 0, label, head)
        cells.text(ws, r, 1, f"提出ID {sub['id']}", cell)
        cells.text(ws, r, 2, sub.get("file_name"), cell)
        cells.text(ws, r, 4, short_time(local_time(sub.get("received_at"))), cell)
        r += 1
    cells.text(ws, r, 0, f"変更 {len(diff.changes)} 件", head)
    r += 2
    h = r
    for c, text in enumerate(HEADERS):
        cells.text(ws, h, c, text, head)
    for r, row in enumerate(diff.changes.to_dict("records"), start=h + 1):
        before, after = row["before"], row["after"]
        cells.text(ws, r, 0, row["label"], wrap)
        cells.text(ws, r, 1, row["field_label"], cell)
        for c, value in ((2, before), (3, after)):
            if value is None:
                cells.text(ws, r, c, BLANK_JA, cell)
            else:
                cells.value(ws, r, c, value, money if isinstance(value, int) else wrap)
        delta: Any = None
        if isinstance(before, int) or isinstance(after, int):
            if isinstance(before, (int, type(None))) and isinstance(after, (int, type(None))):
                delta = (after or 0) - (before or 0)
        cells.number(ws, r, 4, delta, money)
        cells.text(ws, r, 5, KIND_JA.get(row["kind"], row["kind"]), cell)
    ws.freeze_panes(h + 1, 0)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(h, h)
    wb.close()
    return buf.getvalue()


def write_diff_workbook(diff: "SubmissionDiff", path: str | Path, *,
                        now: dt.datetime | None = None) -> Written:
    """Write the diff workbook to ``path`` atomically."""
    path = Path(path)
    return Written("差分", write_bytes_atomically(path, render_diff_workbook(diff, now=now)),
                   path)
