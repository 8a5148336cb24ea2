"""The annual summary workbook (xlsxwriter): ``analysis.summary`` frames → one workbook of
the sheets in ``SHEETS`` (総括, グラフ, the tables and matrices, 明細, 提出状況, 出典),
amounts in the chosen display unit (``UNITS``), native charts, print layout.

* ``render_summary_workbook(summary, …)`` — the workbook's bytes.
* ``write_summary_workbook(summary, path, …)`` — written atomically
  (``budget.render.outputs.write_bytes_atomically``), returns a ``Written``.
* ``summary_file_name(fiscal_year, unit, bureau)`` — ``R5_集計.xlsx`` and its variants.

Every cell goes through ``budget.xlsx.writer.CellWriter``: no text becomes a formula or a
link, a formula-like text is shown as typed and kept inert by ``quote_prefix``, missing is
blank (never 0). Column widths and wrapped-line estimates use ``budget.textwidth``.
The tidy CSV/JSON is ``budget.render.tidy``; all files of one run, ``budget.render.outputs``.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from budget import __version__
from budget.analysis.summary import (
    JOINT_RULE,
    MISSING_RULE,
    MONEY_KEYS,
    MONEY_LABELS,
    PLANNED_RULE,
    Summary,
)
from budget.errors import UsageError
from budget.findings import STATUS_JA
from budget.fiscal import short_time
from budget.forms import plan as layout
from budget.paths import safe_file_name
from budget.render.outputs import DEFAULT_UNIT, Written, write_bytes_atomically
from budget.textwidth import wrapped_lines
from budget.xlsx.writer import WORKBOOK_OPTIONS, CellWriter, check_xlsx, is_missing

if TYPE_CHECKING:
    import pandas as pd

FONT = "游ゴシック"
HEADER_FILL = "#DDEBF7"
TOTAL_FILL = "#E2EFDA"
MISSING_FILL = "#EDEDED"
SUBTITLE = "地域医療介護総合確保基金（介護従事者の確保分）"

#: Display units: name → (千円 per unit, number format).
UNITS: dict[str, tuple[int, str]] = {
    "千円": (1, "#,##0"),
    "百万円": (1_000, "#,##0.0"),
    "億円": (100_000, "#,##0.00"),
}

#: Sheet names in workbook order.
SHEETS = ("総括", "グラフ", "大項目別", "中項目別", "事業別", "担当課別", "都道府県別",
          "都道府県×事業", "都道府県×大項目", "明細", "提出状況", "出典")
#: 1-based Excel row of the header row of every table sheet (title, unit and notes above).
TABLE_HEADER_ROW = 6
TOTAL_LABEL = "合計"
N_LEAVES_HEADER = "事業数（メニュー）"
N_PLANNED_HEADER = "計画された事業数"
NO_DATA = "データなし"
SHARE_HEADER = "構成比（基金 A+B）"
N_PREF_HEADER = "計画都道府県数"

#: Font size of the matrices' rotated headers (printed at about 75 %: 7.5 pt on paper).
ROTATED_PT = 10

#: Colour scale of the matrices, one per column: pale green (small) → yellow → red (large)
#: within the column; blank cells get no colour.
SCALE = {"type": "3_color_scale", "min_color": "#E2F0D9", "mid_color": "#FFEB84",
         "max_color": "#F8696B"}


# --- The file name ------------------------------------------------------------------------


def summary_file_name(fiscal_year: int, unit: str = DEFAULT_UNIT, bureau: str | None = None,
                      ) -> str:
    """``R5_集計.xlsx``; ``R5_集計_福祉基盤課.xlsx``; ``R5_集計（億円）.xlsx``."""
    from budget.fiscal import era_code
    from budget.menu import known_bureaus

    name = f"{era_code(fiscal_year)}_集計"
    if bureau:
        name += "_" + known_bureaus().get(bureau, bureau)
    if unit != DEFAULT_UNIT:
        name += f"（{unit}）"
    return safe_file_name(name + ".xlsx")


# --- The summary workbook --------------------------------------------------------------


class _Styles:
    """The workbook's cell formats, made through its ``CellWriter``."""

    def __init__(self, cells: CellWriter, num_format: str) -> None:
        border = {"border": 1, "border_color": "#A6A6A6"}

        def add(**props: Any) -> Any:
            return cells.add_format({"font_name": FONT, "font_size": 10, "valign": "top",
                                     **props})

        self.title = add(bold=True, font_size=14, valign="vcenter")
        self.title_wrap = add(bold=True, font_size=14, valign="vcenter", text_wrap=True)
        self.subtitle = add(font_color="#404040")
        self.subtitle_wrap = add(font_color="#404040", text_wrap=True)
        self.note = add(font_color="#595959")
        self.note_wrap = add(font_color="#595959", text_wrap=True)
        self.corner = add(bold=True, font_size=11, text_wrap=True, valign="top")
        self.warn = add(font_color="#9C0006", bold=True)
        self.header = add(bold=True, bg_color=HEADER_FILL, align="center", valign="vcenter",
                          text_wrap=True, **border)
        self.header_rot = add(bold=True, bg_color=HEADER_FILL, align="center", valign="bottom",
                              text_wrap=True, rotation=90, font_size=ROTATED_PT, **border)
        self.text = add(**border)
        self.wrap = add(text_wrap=True, **border)
        self.center = add(align="center", **border)
        self.money = add(num_format=num_format, **border)
        self.money_plain = add(num_format="#,##0", **border)
        self.count = add(num_format="#,##0", **border)
        self.share = add(num_format="0.0%", **border)
        self.total_text = add(bold=True, bg_color=TOTAL_FILL, **border)
        self.total_money = add(bold=True, bg_color=TOTAL_FILL, num_format=num_format, **border)
        self.total_money_plain = add(bold=True, bg_color=TOTAL_FILL, num_format="#,##0", **border)
        self.total_count = add(bold=True, bg_color=TOTAL_FILL, num_format="#,##0", **border)
        self.total_share = add(bold=True, bg_color=TOTAL_FILL, num_format="0.0%", **border)
        self.missing_text = add(bg_color=MISSING_FILL, font_color="#7F7F7F", **border)
        self.missing_wrap = add(bg_color=MISSING_FILL, font_color="#7F7F7F", text_wrap=True,
                                **border)
        self.missing_blank = add(bg_color=MISSING_FILL, **border)
        self.status_missing = add(align="center", bg_color=MISSING_FILL, font_color="#595959",
                                  **border)
        self.status_rejected = add(align="center", bold=True, bg_color="#FFC7CE",
                                   font_color="#9C0006", **border)
        self.hash = add(font_size=7, font_name="Consolas", **border)
        self.status = {"accepted": self.center, "rejected": self.status_rejected,
                       "missing": self.status_missing}  # submission status → its cell format
        self.key = add(bold=True, bg_color="#F2F2F2", **border)
        self.key_wrap = add(bold=True, bg_color="#F2F2F2", text_wrap=True, **border)
        self.big_money = add(num_format=num_format, font_size=12, bold=True, **border)
        self.big_money_plain = add(num_format="#,##0", font_size=12, **border)


def _records(df: "pd.DataFrame") -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values, None where missing."""
    plain = df.astype(object)
    return plain.where(df.notna(), None).to_dict("records")


class _Writer:
    """One sheet's cells through the workbook's ``CellWriter``; ``money`` in the display
    unit."""

    def __init__(self, ws: Any, ctx: _Context) -> None:
        self.ws = ws
        self.cells = ctx.cells
        self.factor = ctx.factor

    def text(self, r: int, c: int, value: Any, fmt: Any = None) -> None:
        self.cells.text(self.ws, r, c, value, fmt)

    def number(self, r: int, c: int, value: Any, fmt: Any = None) -> None:
        self.cells.number(self.ws, r, c, value, fmt)

    def merge(self, r: int, first_col: int, last_col: int, value: Any, fmt: Any) -> None:
        """``value`` in the cells ``first_col``..``last_col`` of row ``r``, merged."""
        self.cells.merge(self.ws, r, first_col, r, last_col, value, fmt)

    def money(self, r: int, c: int, value: Any, fmt: Any = None) -> None:
        """An amount in 千円, written in the display unit (unrounded, so figures reconcile)."""
        if is_missing(value):
            self.cells.blank(self.ws, r, c, fmt)
        else:
            v = int(value)
            self.cells.number(self.ws, r, c, v if self.factor == 1 else v / self.factor, fmt)


@dataclass
class _Context:
    summary: Summary
    unit: str
    factor: int
    num_format: str
    command_line: str
    now: dt.datetime
    db_path: str
    title_prefix: str
    scope_note: str
    cells: CellWriter = field(init=False)
    styles: _Styles = field(init=False)


def render_summary_workbook(summary: Summary, *, unit: str = DEFAULT_UNIT,
                            command_line: str = "", now: dt.datetime | None = None,
                            db_path: str | Path = "") -> bytes:
    """The summary workbook's bytes (see ``SHEETS``)."""
    import xlsxwriter

    from budget.analysis import summary as ag
    from budget.fiscal import full_label

    if unit not in UNITS:
        raise UsageError(f"単位「{unit}」は使えません（{'、'.join(UNITS)} のいずれか）。")
    factor, num_format = UNITS[unit]
    now = now or dt.datetime.now().astimezone()
    scope = ""
    prefix = f"{full_label(summary.fiscal_year)} {SUBTITLE}"
    if summary.bureau:
        prefix += f" 【{summary.bureau}】"
        scope = (f"この集計表は担当課「{summary.bureau}」の所管事業だけを集計しています。"
                 "共管事業は全額を関係する各課の集計表に載せ「共管」と表示しているため、"
                 "課ごとの集計表を足し合わせると共管事業が重複します。")
    ctx = _Context(summary, unit, factor, num_format, command_line, now, str(db_path), prefix,
                   scope)

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {
        **WORKBOOK_OPTIONS, "default_format_properties": {"font_name": FONT, "font_size": 10},
    })
    wb.set_properties({
        "title": f"{prefix} 集計",
        "subject": SUBTITLE,
        "author": "budget",
        "comments": f"budget {__version__}; {command_line}",
        "created": now.replace(tzinfo=None),
    })
    ctx.cells = CellWriter(wb)
    ctx.styles = _Styles(ctx.cells, num_format)
    sheets = {name: wb.add_worksheet(name) for name in SHEETS}

    by_category = ag.totals_by_category(summary)
    by_bureau = ag.totals_by_bureau(summary)
    by_prefecture = ag.totals_by_prefecture(summary)
    _sheet_overview(sheets["総括"], ctx)
    _sheet_charts(wb, sheets["グラフ"], ctx, by_category, by_bureau, by_prefecture)
    leaf_counts = [(N_LEAVES_HEADER, "n_leaves", "count", 9),
                   (N_PLANNED_HEADER, "n_planned", "count", 9)]
    _table_sheet(sheets["大項目別"], ctx, "大項目別集計",
                 _with_planned(by_category, summary.detail, ["category"]),
                 [("区分（大項目）", "category", "text", 16), *leaf_counts],
                 notes=[LEAF_COUNT_RULE])
    _table_sheet(sheets["中項目別"], ctx, "中項目別集計",
                 _with_planned(ag.totals_by_mid_category(summary), summary.detail,
                               ["category", "mid_category"]),
                 [("区分（大項目）", "category", "text", 16), ("中項目", "mid_category", "text", 30),
                  *leaf_counts],
                 notes=["中項目が空欄の事業（メニューで中項目の記載がないもの）は「（中項目なし）」と表示しています。",
                        LEAF_COUNT_RULE],
                 blank_label={"mid_category": "（中項目なし）"})
    leaf = ag.totals_by_leaf(summary)
    leaf = leaf.assign(sub_label=(leaf["sub_item"] + " " + leaf["sub_item_name"]).str.strip())
    _table_sheet(sheets["事業別"], ctx, "事業別集計（事業・細目ごと、メニュー順）", leaf,
                 [("事業コード", "leaf_code", "text", 10), ("区分（大項目）", "category", "text", 12),
                  ("中項目", "mid_category", "wrap", 16), ("No.", "item_no", "count", 5),
                  ("事業名", "item_name", "wrap", 34), ("細目", "sub_label", "wrap", 30),
                  ("担当課", "owner", "wrap", 22)],
                 notes=["担当課が「共管: …」の行は複数の課が所管する事業です（1回だけ計上）。"])
    _table_sheet(sheets["担当課別"], ctx, "担当課別集計",
                 _with_planned(by_bureau, summary.detail, ["owner"]),
                 [("担当課", "owner", "wrap", 40), *leaf_counts],
                 notes=[JOINT_RULE, LEAF_COUNT_RULE])
    _table_sheet(sheets["都道府県別"], ctx, "都道府県別集計", by_prefecture,
                 [("コード", "prefecture_code", "center", 6), ("都道府県", "prefecture_name", "text", 10),
                  ("提出状況", "status_ja", "center", 9)],
                 count=("計画事業数", "n_leaves"), missing_rows=True,
                 notes=[MISSING_RULE])
    _matrix_sheet(sheets["都道府県×事業"], ctx, "都道府県×事業 基金計 (A+B)",
                  ag.prefecture_leaf_matrix(summary), _leaf_headers(summary.menu), width=10)
    cats = list(dict.fromkeys(summary.menu["category"]))
    _matrix_sheet(sheets["都道府県×大項目"], ctx, "都道府県×大項目 基金計 (A+B)",
                  ag.prefecture_category_matrix(summary), [(c, c) for c in cats], width=14,
                  kind="大項目")
    _sheet_detail(sheets["明細"], ctx)
    _sheet_submissions(sheets["提出状況"], ctx)
    _sheet_sources(sheets["出典"], ctx)
    sheets["総括"].activate()
    wb.close()
    return buf.getvalue()


#: What the two counts of leaves are (a 事業 is a leaf of the menu: an item or a sub-item).
LEAF_COUNT_RULE = (f"{N_LEAVES_HEADER} = メニューの事業（細目単位）の数、{N_PLANNED_HEADER} = "
                   "集計対象の都道府県のいずれかが計画した事業の数（合計行はそれぞれの合計）。")


def _with_planned(frame: "pd.DataFrame", detail: "pd.DataFrame", keys: list[str],
                  ) -> "pd.DataFrame":
    """``frame`` with ``n_planned``: the leaves of each group that any included prefecture
    planned (``detail`` holds the planned rows of the included prefectures only)."""
    planned = (detail.groupby(keys, sort=False, dropna=False)["leaf_code"].nunique()
               .rename("n_planned").reset_index())
    out = frame.merge(planned, on=keys, how="left")
    out["n_planned"] = out["n_planned"].fillna(0).astype("Int64")
    return out


def write_summary_workbook(summary: Summary, path: str | Path, *, unit: str = DEFAULT_UNIT,
                           command_line: str = "", now: dt.datetime | None = None,
                           db_path: str | Path = "", kind: str = "集計表") -> Written:
    """Write the summary workbook to ``path`` atomically (see ``write_bytes_atomically``)."""
    data = render_summary_workbook(summary, unit=unit, command_line=command_line, now=now,
                                   db_path=db_path)
    path = Path(path)
    return Written(kind, write_bytes_atomically(path, data), path)


def _head(ws: Any, ctx: _Context, title: str, notes: Iterable[str] = (), *, col: int = 0,
          span: tuple[int, float] | None = None) -> None:
    """Title (row 1), unit (row 2), scope and notes (rows 3–5): the rows above a table,
    from column ``col``. ``span`` (last column, its width in characters from ``col``): each
    line merged across and wrapped inside it, rows as tall as the wrapped lines (a narrow
    sheet whose title would otherwise run past the printed page)."""
    s = ctx.styles
    w = _Writer(ws, ctx)
    lines = [ctx.scope_note, *notes] if ctx.scope_note else list(notes)
    rows = [(f"{ctx.title_prefix} {title}", s.title_wrap if span else s.title, 22.0, 1.45),
            (f"（単位：{ctx.unit}）　作成: {ctx.now:%Y-%m-%d %H:%M}　budget {__version__}",
             s.subtitle_wrap if span else s.subtitle, 15.0, 1.0)]
    rows += [(line, s.note_wrap if span else s.note, 15.0, 1.0)
             for line in lines[:TABLE_HEADER_ROW - 3]]
    for r, (text, fmt, height, scale) in enumerate(rows):
        if span is None:
            w.text(r, col, text, fmt)
            if r == 0:
                ws.set_row(0, height)
            continue
        w.cells.merge(ws, r, col, r, span[0], text, fmt)
        n = wrapped_lines(text, span[1] / scale)
        ws.set_row(r, height + (n - 1) * 13.5 * scale)


#: Paper sizes (xlsxwriter / Excel codes) and their printable area in points with the
#: margins of ``_page_setup`` (0.4 in left/right, 0.6 in top/bottom), landscape.
A4, A3 = 9, 8
_PAPER_PT = {A4: (841.9, 595.3), A3: (1190.6, 841.9)}  # long side, short side
_MARGINS_PT = (57.6, 86.4)  # left + right, top + bottom


def _printable_pt(paper: int, landscape: bool) -> tuple[float, float]:
    """(width, height) in points inside the margins of ``_page_setup``."""
    long, short = _PAPER_PT[paper]
    width, height = (long, short) if landscape else (short, long)
    return width - _MARGINS_PT[0], height - _MARGINS_PT[1]


def _header_footer(ws: Any, ctx: _Context, label: str | None = None) -> None:
    """The page header (title left; right: ``label``, by default the sheet and the unit) and
    the footer (page / pages)."""
    right = label if label is not None else f"{ws.name}（単位：{ctx.unit}）"
    ws.set_header(f"&L{_amp(ctx.title_prefix)}&R{_amp(right)}")
    ws.set_footer("&C&P / &N ページ&Rbudget " + __version__)


def _page_setup(ws: Any, ctx: _Context, header_first: int, header_last: int, *,
                freeze_col: int = 0, paper: int = A4, landscape: bool = True,
                fit: tuple[int, int] = (1, 0), repeat_cols: tuple[int, int] | None = None,
                money: bool = True) -> None:
    """Frozen headers and the print layout: ``fit`` = (pages wide, pages tall; 0 = as many
    as needed), header rows (and ``repeat_cols``) repeated on every page."""
    ws.freeze_panes(header_last + 1, freeze_col)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.set_paper(paper)
    ws.fit_to_pages(*fit)
    ws.repeat_rows(header_first, header_last)
    if repeat_cols is not None:
        ws.repeat_columns(*repeat_cols)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    _header_footer(ws, ctx, None if money else ws.name)


def _col_px(width: float) -> int:
    """Pixel width of an Excel column ``width`` characters wide (Calibri-11 metrics)."""
    return int(width * 7 + 5) if width >= 1 else int(width * 12 + 0.5)


def _amp(text: str) -> str:
    return text.replace("&", "&&")


def _table_sheet(ws: Any, ctx: _Context, title: str, df: "pd.DataFrame",
                 keys: list[tuple[str, str, str, float]], *, notes: Iterable[str] = (),
                 count: tuple[str, str] = (N_PREF_HEADER, "n_prefectures"),
                 missing_rows: bool = False, blank_label: dict[str, str] | None = None) -> None:
    """A table: key columns, the money columns, share, a count; then a total row."""
    s = ctx.styles
    w = _Writer(ws, ctx)
    notes = [*notes, PLANNED_RULE] if count[1] == "n_prefectures" else list(notes)
    _head(ws, ctx, title, notes)
    h = TABLE_HEADER_ROW - 1
    headers = ([k[0] for k in keys] + [MONEY_LABELS[k] for k in MONEY_KEYS]
               + [SHARE_HEADER, count[0]])
    for c, text in enumerate(headers):
        w.text(h, c, text, s.header)
    ws.set_row(h, 42)
    for c, (_, _, kind, width) in enumerate(keys):
        ws.set_column(c, c, width)
    first_money = len(keys)
    ws.set_column(first_money, first_money + len(MONEY_KEYS) - 1, 13)
    ws.set_column(first_money + len(MONEY_KEYS), first_money + len(MONEY_KEYS) + 1, 10)

    blank_label = blank_label or {}
    r = h
    for r, row in enumerate(_records(df), start=h + 1):
        missing = missing_rows and row.get("status") != "accepted"
        lines = max([wrapped_lines(str(row[k] or ""), wd) for _, k, kd, wd in keys
                     if kd == "wrap"], default=1)
        if lines > 1:
            ws.set_row(r, 13.5 * lines + 2)
        for c, (_, key, kind, _) in enumerate(keys):
            value = row[key]
            if key in blank_label and (value == "" or is_missing(value)):
                value = blank_label[key]
            if key == "status_ja":
                w.text(r, c, value, s.status[row["status"]])
            elif missing:
                w.text(r, c, value, s.missing_text)
            elif kind == "count":
                w.number(r, c, value, s.count)
            else:
                w.text(r, c, value, {"text": s.text, "wrap": s.wrap, "center": s.center}[kind])
        for i, key in enumerate(MONEY_KEYS):
            w.money(r, first_money + i, row[key], s.missing_blank if missing else s.money)
        c = first_money + len(MONEY_KEYS)
        w.number(r, c, row["share"], s.missing_blank if missing else s.share)
        w.number(r, c + 1, row[count[1]], s.missing_blank if missing else s.count)
    # Total row: the sum of the rows (groups partition the planned rows, so this is the
    # grand total), the share 100 %, the prefectures planning anything.
    t = r + 1
    w.text(t, 0, TOTAL_LABEL, s.total_text)
    for c in range(1, len(keys)):
        key, kind = keys[c][1], keys[c][2]
        if kind == "count" and key in ("n_leaves", "n_planned"):
            w.number(t, c, df[key].sum(), s.total_count)
        else:
            w.text(t, c, "", s.total_text)
    for i, key in enumerate(MONEY_KEYS):
        w.money(t, first_money + i, df[key].sum(min_count=1), s.total_money)
    c = first_money + len(MONEY_KEYS)
    fund = df["fund"].sum(min_count=1)
    w.number(t, c, 1.0 if not is_missing(fund) and fund else None, s.total_share)
    if count[1] == "n_prefectures":
        total_count = ctx.summary.detail["prefecture_code"].nunique()
    else:
        total_count = df[count[1]].sum(min_count=1)
    w.number(t, c + 1, total_count, s.total_count)
    _page_setup(ws, ctx, h, h, freeze_col=min(len(keys), 2))
    ws.autofilter(h, 0, t - 1, len(headers) - 1)


def _leaf_headers(menu: "pd.DataFrame") -> list[tuple[str, str]]:
    """(column header, leaf code) per leaf: ``"6イ 地域の支え合い… / 助け合いによる…"``."""
    out = []
    for r in menu.itertuples(index=False):
        name = r.item_name + (f"／{r.sub_item_name}" if r.sub_item_name else "")
        label = f"{r.item_no}{r.sub_item} {name}"
        if r.joint:
            label += "（共管）"
        out.append((label, r.leaf_code))
    return out


def _matrix_sheet(ws: Any, ctx: _Context, title: str, matrix: "pd.DataFrame",
                  columns: list[tuple[str, str]], *, width: float = 7.5, kind: str = "事業",
                  ) -> None:
    """47 rows × columns of 基金 (A+B), row and column totals, a 3-colour scale on each
    column of the body (``kind`` names what a column is, for the note)."""
    from budget.textwidth import display_width

    s = ctx.styles
    w = _Writer(ws, ctx)
    notes = [
        f"色は列（{kind}）ごと: その列の中で金額が小さいほど緑、大きいほど赤"
        f"（{kind}ごとに比べるので、金額の小さい{kind}の中の飛び抜けた値も目立ちます）。",
        "空欄 = 計画なし（色なし）。灰色の行は未提出・差戻しで集計外。行・列の合計は右端の列と最下行。",
    ]
    h = TABLE_HEADER_ROW - 1
    rotated = width <= 10
    last = 3 + len(columns)
    # The rotated header row is as tall as the longest label in about four lines of
    # ROTATED_PT (a column ``width`` wide holds four), within 110–330 pt.
    longest = max((display_width(label) for label, _ in columns), default=0)
    header_pt = (min(330, max(110, -(-longest // 8) * ROTATED_PT * 1.05 + 12)) if rotated
                 else 36)
    # Print: the 47 rows on one page height; as many pages across as the columns need, with
    # the prefecture columns and the header row on every page. A3 for the wide matrix
    # (readable at about 75 %), A4 portrait for the narrow one.
    fixed_px = _col_px(6) + _col_px(10) + _col_px(8)
    body_px = len(columns) * _col_px(width) + _col_px(13)
    height_pt = 22 + 15 * (TABLE_HEADER_ROW - 2) + header_pt + 15 * (len(matrix) + 1)
    page_w, page_h = _printable_pt(A4, False)
    scale = min(1.0, page_h / height_pt)
    one_page = (fixed_px + body_px) * 0.75 * scale <= page_w
    if one_page:
        # the title and notes wrap inside the printed columns
        _head(ws, ctx, title, notes, span=(last, 6 + 10 + 8 + len(columns) * width + 13))
    else:
        # Continuation pages repeat columns A:C, rows 1–5 included: they hold a short title
        # block that fits them (a longer text there would be cut at C on every page after
        # the first); the full title and the notes start right of them, on page 1.
        w.cells.merge(ws, 0, 0, TABLE_HEADER_ROW - 2, 2,
                      f"{title.replace(' ', chr(10), 1)}\n（単位：{ctx.unit}）", s.corner)
        _head(ws, ctx, title, notes, col=3)
    ov = ctx.summary.overview.set_index("prefecture_code")
    fixed = ["コード", "都道府県", "提出状況"]
    for c, text in enumerate(fixed):
        w.text(h, c, text, s.header)
    for i, (label, _) in enumerate(columns):
        w.text(h, 3 + i, label, s.header_rot if rotated else s.header)
    w.text(h, last, TOTAL_LABEL, s.header)
    ws.set_row(h, header_pt)
    ws.set_column(0, 0, 6)
    ws.set_column(1, 1, 10)
    ws.set_column(2, 2, 8)
    ws.set_column(3, last - 1, width)
    ws.set_column(last, last, 13)
    codes = matrix.index.tolist()
    keys = [key for _, key in columns]
    row_totals = matrix[keys].sum(axis=1, min_count=1)
    body = _records(matrix[keys].assign(_total=row_totals))
    for j, (code, values) in enumerate(zip(codes, body)):
        r = h + 1 + j
        missing = ov.at[code, "status"] != "accepted"
        w.text(r, 0, code, s.missing_text if missing else s.center)
        w.text(r, 1, ov.at[code, "prefecture_name"], s.missing_text if missing else s.text)
        w.text(r, 2, ov.at[code, "status_ja"], s.status[ov.at[code, "status"]])
        for i, key in enumerate(keys):
            w.money(r, 3 + i, values[key], s.missing_blank if missing else s.money)
        w.money(r, last, values["_total"], s.missing_blank if missing else s.total_money)
    t = h + 1 + len(codes)
    w.text(t, 0, TOTAL_LABEL, s.total_text)
    w.text(t, 1, "", s.total_text)
    w.text(t, 2, "", s.total_text)
    for i, key in enumerate(keys):
        w.money(t, 3 + i, matrix[key].sum(min_count=1), s.total_money)
    w.money(t, last, row_totals.sum(min_count=1), s.total_money)
    if codes:
        # One scale per column: each item is compared with itself across the prefectures,
        # so an unusual figure in a small item shows as clearly as one in a big item.
        for i in range(len(columns)):
            check_xlsx(ws.conditional_format(h + 1, 3 + i, t - 1, 3 + i, dict(SCALE)))
    if one_page:  # one A4 portrait page will do
        _page_setup(ws, ctx, h, h, freeze_col=3, paper=A4, landscape=False, fit=(1, 1),
                    repeat_cols=(0, 2))
        return
    page_w, page_h = _printable_pt(A3, True)
    scale = min(1.0, page_h / height_pt)
    across_px = page_w / scale / 0.75 - fixed_px
    pages = max(1, -(-body_px // max(1, int(across_px))))
    _page_setup(ws, ctx, h, h, freeze_col=3, paper=A3, fit=(pages, 1), repeat_cols=(0, 2))


def _sheet_overview(ws: Any, ctx: _Context) -> None:
    """総括: headline figures, who is included and who is missing, how it was made."""
    from budget.analysis import summary as ag
    from budget.fiscal import full_label

    s = ctx.styles
    w = _Writer(ws, ctx)
    summ = ctx.summary
    w.text(0, 0, f"{ctx.title_prefix} 集計 総括", s.title)
    ws.set_row(0, 22)
    w.text(1, 0, f"（単位：{ctx.unit}）", s.subtitle)
    ws.set_column(0, 0, 42)
    ws.set_column(1, 2, 18)
    ws.set_column(3, 3, 60)
    h = TABLE_HEADER_ROW - 1
    both = ctx.unit != DEFAULT_UNIT
    w.text(h, 0, "項目", s.header)
    w.text(h, 1, f"金額（{ctx.unit}）", s.header)
    if both:
        w.text(h, 2, "金額（千円）", s.header)
    r = h
    for r, row in enumerate(_records(ag.headline_figures(summ)), start=h + 1):
        w.text(r, 0, row["label"], s.key)
        w.money(r, 1, row["value"], s.big_money)
        if both:
            w.number(r, 2, row["value"], s.big_money_plain)
    r += 2
    ov = summ.overview
    n_acc = int((ov["status"] == "accepted").sum())
    rows: list[tuple[str, str]] = [
        ("集計対象の都道府県数", f"{n_acc} / 47"),
        ("未提出の都道府県数", f"{len(summ.names_with_status('missing'))}"),
        ("未提出の都道府県", "、".join(summ.names_with_status("missing")) or "なし"),
        ("差戻し（受理できる提出なし）の都道府県数", f"{len(summ.names_with_status('rejected'))}"),
        ("差戻しの都道府県", "、".join(summ.names_with_status("rejected")) or "なし"),
    ]
    later = ov[(ov["status"] == "accepted") & (ov["latest_status"] == "rejected")]
    if len(later):
        rows.append(("最新の提出が差戻し（受理済みの前回提出を集計）",
                     "、".join(later["prefecture_name"])))
    rows += [
        ("年度", full_label(summ.fiscal_year)),
        ("作成日時", short_time(ctx.now)),
        ("budget の版", __version__),
        ("様式の版", layout.TEMPLATE_VERSION),
        ("メニュー識別子", summ.menu_fingerprint),
    ]
    if summ.bureau:
        rows.insert(0, ("集計範囲", f"担当課「{summ.bureau}」の所管事業（共管事業を含む）"))
    for label, value in rows:
        w.text(r, 0, label, s.key)
        bad = label.startswith(("未提出の都道府県", "差戻しの都道府県")) and value != "なし"
        w.merge(r, 1, 3, value, s.wrap)
        if wrapped_lines(value, 96) > 1:
            ws.set_row(r, 14 * wrapped_lines(value, 96) + 3)
        if bad:
            w.text(r, 4, "← 集計に含まれていません", s.warn)
        r += 1
    r += 1
    notes = [ctx.scope_note] if ctx.scope_note else []
    notes += [PLANNED_RULE, JOINT_RULE, MISSING_RULE,
              "国費 (A) のうち公・民は国費の内訳、うち受託事業等は民の再掲で、総事業費には加算しません。",
              f"金額は各都道府県が千円単位で入力した値の合計です（表示単位：{ctx.unit}）。"]
    notes += summ.notes
    w.text(r, 0, "注記", s.key)
    for note in notes:
        w.merge(r, 1, 3, note, s.wrap)
        ws.set_row(r, 14 * wrapped_lines(note, 96) + 3)
        r += 1
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    ws.set_footer("&C&P / &N ページ&Rbudget " + __version__)
    ws.set_header(f"&L{_amp(ctx.title_prefix)}&R総括")


#: グラフ sheet geometry (pixels): the charts sit in columns A:J (printed, A4 portrait), their
#: data tables to the right (not printed). Page 1: 大項目 and 担当課; page 2: 都道府県.
CHART_COLUMNS = 10
CHART_COLUMN_WIDTH = 9.0  # characters: 68 px, A:J = 680 px, inside A4 portrait at 100 %
CHART_WIDTH = 660
CHART_ROW_PX = 20  # the default row height, 15 pt: charts are anchored to rows
PAGE_PX = 1000  # printable height of an A4 portrait page at 100 % (756 pt ≈ 1008 px)


def _sheet_charts(wb: Any, ws: Any, ctx: _Context, by_category: "pd.DataFrame",
                  by_bureau: "pd.DataFrame", by_prefecture: "pd.DataFrame") -> None:
    """Three native charts of 基金 (A+B), each sized to print whole on an A4 portrait page,
    every category labelled; their data tables beside them, outside the print area."""
    s = ctx.styles
    w = _Writer(ws, ctx)
    _head(ws, ctx, "グラフ（基金計 A+B）", [
        "都道府県別のグラフは集計対象（受理）の都道府県のみ、金額の大きい順。",
        "グラフの元データは右側の表（L 列から、印刷範囲外）。",
    ])
    # The title wraps inside the printed columns A:J instead of running past them.
    w.merge(0, 0, CHART_COLUMNS - 1, f"{ctx.title_prefix} グラフ（基金計 A+B）", s.title_wrap)
    ws.set_row(0, 40)
    ws.set_column(0, CHART_COLUMNS - 1, CHART_COLUMN_WIDTH)
    ws.set_column(CHART_COLUMNS, CHART_COLUMNS, 3)
    tab = CHART_COLUMNS + 1  # the tables' first column (L)
    ws.set_column(tab, tab, 44)
    ws.set_column(tab + 1, tab + 1, 24)
    font = {"name": FONT, "size": 9}
    title_font = {"name": FONT, "size": 12, "bold": True}
    fund_label = f"{MONEY_LABELS['fund']}（{ctx.unit}）"

    def table(first: int, head: str, labels: list[str], values: list[Any]) -> tuple[int, int]:
        w.text(first, tab, head, s.header)
        w.text(first, tab + 1, fund_label, s.header)
        for i, (lab, val) in enumerate(zip(labels, values), start=first + 1):
            w.text(i, tab, lab, s.text)
            w.money(i, tab + 1, val, s.money)
        return first + 1, first + len(labels)

    def chart(kind: str, title: str, rng: tuple[int, int], *, height: int,
              label_size: int = 9) -> Any:
        labels = {"name": FONT, "size": label_size}
        ch = wb.add_chart({"type": kind})
        ch.add_series({
            "name": title,
            "categories": [ws.name, rng[0], tab, rng[1], tab],
            "values": [ws.name, rng[0], tab + 1, rng[1], tab + 1],
            "fill": {"color": "#5B9BD5"},
            "gap": 60,
            "data_labels": {"value": True, "num_format": ctx.num_format, "font": labels},
        })
        ch.set_title({"name": f"{title}（{ctx.unit}）", "name_font": title_font})
        ch.set_legend({"none": True})
        # Label every category (LibreOffice otherwise skips every other one when crowded).
        cat_axis: dict[str, Any] = {"num_font": labels, "interval_unit": 1}
        val_axis = {"num_font": font, "num_format": ctx.num_format,
                    "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}}
        if kind == "bar":  # horizontal bars: xlsxwriter's y axis is the category axis;
            # a bar chart draws its first category at the bottom: reverse to read top-down,
            # and keep the value axis at the bottom
            cat_axis.update(reverse=True, crossing="max")
            ch.set_y_axis(cat_axis)
            ch.set_x_axis(val_axis)
        else:
            ch.set_x_axis(cat_axis)
            ch.set_y_axis(val_axis)
        ch.set_size({"width": CHART_WIDTH, "height": height})
        ch.set_chartarea({"border": {"none": True}})
        return ch

    def place(row: int, kind: str, title: str, rng: tuple[int, int], height: int,
              values: "pd.Series") -> None:
        """The chart at ``row``; with no amount to draw, a box of the same size that says
        so (an empty chart frame would look like a drawing error)."""
        if values.notna().any():
            ws.insert_chart(row, 0, chart(kind, title, rng, height=height),
                            {"x_offset": 4, "y_offset": 0, "object_position": 3})
            return
        ws.insert_textbox(row, 0, f"{title}（{ctx.unit}）\n\n{NO_DATA}"
                          "（集計対象の都道府県に、計画された金額がありません）", {
                              "width": CHART_WIDTH, "height": height,
                              "x_offset": 4, "object_position": 3,
                              "font": {"name": FONT, "size": 12, "color": "#595959"},
                              "align": {"vertical": "middle", "horizontal": "center"},
                              "line": {"color": "#BFBFBF"}})

    h = TABLE_HEADER_ROW - 1
    # Page 1: the title rows, then the 大項目 and 担当課 charts.
    cats = by_category
    r1 = table(h, "区分（大項目）", cats["category"].tolist(), cats["fund"].tolist())
    top_px = 54 + CHART_ROW_PX * (h - 1)  # row 1 is 40 pt
    h1 = min(380, 120 + 60 * len(cats))
    place(h, "column", "大項目別 基金計 (A+B)", r1, h1, cats["fund"])
    row2 = h + -(-(h1 + 20) // CHART_ROW_PX)
    start = r1[1] + 3
    bureaus = by_bureau.sort_values("fund", ascending=False, na_position="last", kind="stable")
    r2 = table(start, "担当課（金額の大きい順）", bureaus["owner"].tolist(), bureaus["fund"].tolist())
    h2 = min(PAGE_PX - top_px - h1 - 40, 120 + 48 * len(by_bureau))
    place(row2, "bar", "担当課別 基金計 (A+B)", r2, h2, bureaus["fund"])
    # Page 2: the prefectures, sorted, on a page of their own.
    page2 = row2 + -(-(h2 + 20) // CHART_ROW_PX)
    start = r2[1] + 3
    inc = by_prefecture[by_prefecture["status"] == "accepted"]
    inc = inc.sort_values(["fund", "prefecture_code"], ascending=[False, True],
                          na_position="last", kind="stable")
    labels = [f"{c} {n}" for c, n in zip(inc["prefecture_code"], inc["prefecture_name"])]
    last_row = page2
    ws.set_h_pagebreaks([page2])
    if labels and inc["fund"].notna().any():
        r3 = table(start, "都道府県（金額の大きい順）", labels, inc["fund"].tolist())
        h3 = min(PAGE_PX - 40, 120 + 19 * len(labels))
        ws.insert_chart(page2, 0, chart("bar", "都道府県別 基金計 (A+B)", r3, height=h3,
                                        label_size=8),
                        {"x_offset": 4, "y_offset": 0, "object_position": 3})
        last_row = max(page2 + -(-h3 // CHART_ROW_PX), r3[1])
    else:
        w.text(start, tab, "集計対象の都道府県がありません。" if not labels
               else "集計対象の都道府県に、計画された金額がありません。", s.warn)
        place(page2, "bar", "都道府県別 基金計 (A+B)", (start, start), 300, inc["fund"])
        last_row = page2 + -(-300 // CHART_ROW_PX)
    ws.print_area(0, 0, last_row, CHART_COLUMNS - 1)
    ws.set_portrait()
    ws.set_paper(A4)
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    _header_footer(ws, ctx, "グラフ")


def _sheet_detail(ws: Any, ctx: _Context) -> None:
    """明細: every planned row of the included prefectures with the texts they typed (who
    runs it, planned output, remarks) beside its 基金 (A+B) and 総事業費. Every amount column
    is in the tidy CSV/JSON (``--format``); this sheet is for reading the plans."""
    from budget.analysis import summary as ag

    s = ctx.styles
    w = _Writer(ws, ctx)
    _head(ws, ctx, "明細（都道府県・事業ごと、計画ありの行のみ）", [
        "事業の実施主体・事業量・備考は都道府県の入力のままです（計算式やリンクとしては扱いません）。",
        "すべての金額欄の明細は budget aggregate --format csv（または json）で書き出せます。",
    ])
    df = ag.tidy_table(ctx.summary)
    df["label"] = (df["item_no"].astype("string") + df["sub_item"] + " " + df["item_name"]
                   + df["sub_item_name"].map(lambda t: f"／{t}" if t else ""))
    cols: list[tuple[str, str, Any, float]] = [
        ("コード", "prefecture_code", s.center, 6), ("都道府県", "prefecture_name", s.text, 10),
        ("事業コード", "leaf_code", s.text, 10), ("事業名／細目", "label", s.text, 44),
        (MONEY_LABELS["fund"], "fund", s.money, 13), (MONEY_LABELS["total"], "total", s.money, 13),
        ("事業の実施主体", "implementer", s.text, 24),
        ("事業量・アウトプット指標", "output", s.text, 30), ("備考", "remarks", s.text, 24),
    ]
    h = TABLE_HEADER_ROW - 1
    for c, (label, _, _, width) in enumerate(cols):
        w.text(h, c, label, s.header)
        ws.set_column(c, c, width)
    ws.set_row(h, 30)
    for r, row in enumerate(_records(df[[k for _, k, _, _ in cols]]), start=h + 1):
        for c, (_, key, fmt, _) in enumerate(cols):
            if fmt is s.money:
                w.money(r, c, row[key], fmt)
            else:
                w.text(r, c, row[key], fmt)
    if len(df):
        ws.autofilter(h, 0, h + len(df), len(cols) - 1)
    _page_setup(ws, ctx, h, h, freeze_col=2)


def _sheet_submissions(ws: Any, ctx: _Context) -> None:
    """提出状況: the 47 prefectures and the submission each is counted by."""
    s = ctx.styles
    w = _Writer(ws, ctx)
    _head(ws, ctx, "提出状況（47都道府県）",
          [("受理 = 集計に含む提出。差戻し・未提出は集計に含みません。"
            "ファイル・SHA-256・受信日時は集計に使った提出（差戻しの場合は最新の差戻し）のものです。")])
    cols: list[tuple[str, str, Any, float]] = [
        ("コード", "prefecture_code", s.center, 6), ("都道府県", "prefecture_name", s.text, 10),
        ("状況", "status_ja", s.center, 8), ("ファイル名", "file_name", s.text, 30),
        ("SHA-256", "sha256", s.hash, 50), ("受信日時", "received_at", s.text, 18),
        ("提出回数", "n_submissions", s.count, 8), ("うち差戻し", "n_rejected", s.count, 8),
        ("エラー数", "n_errors", s.count, 8), ("警告数", "n_warnings", s.count, 8),
        ("担当部署", "department", s.text, 24), ("担当者", "contact_name", s.text, 12),
        ("備考", "note", s.text, 44),
    ]
    h = TABLE_HEADER_ROW - 1
    for c, (label, _, _, width) in enumerate(cols):
        w.text(h, c, label, s.header)
        ws.set_column(c, c, width)
    ws.set_row(h, 30)
    for r, row in enumerate(_records(ctx.summary.overview), start=h + 1):
        for c, (_, key, fmt, _) in enumerate(cols):
            value = row[key]
            if key == "received_at" and value is not None:
                value = _local_time(str(value))
            if key == "status_ja":
                w.text(r, c, value, s.status[row["status"]])
            elif fmt is s.count:
                w.number(r, c, value, fmt)
            else:
                w.text(r, c, value, fmt)
    _page_setup(ws, ctx, h, h, freeze_col=2, money=False)


def _local_time(iso: str) -> str:
    """ISO time from the store (UTC) → local ``YYYY-MM-DD HH:MM:SS``."""
    from budget.fiscal import local_time, short_time

    return short_time(local_time(iso))


def _inputs(summ: Summary) -> "pd.DataFrame":
    """The submissions the 出典 sheet lists: ``summary.inputs``, or (a summary built without
    a store) the ones counted."""
    from budget.analysis import summary as ag

    if summ.inputs is not None:
        return summ.inputs
    df = summ.sources.reindex(columns=list(ag.INPUT_COLUMNS)).copy()
    df["status"], df["status_ja"] = "accepted", STATUS_JA["accepted"]
    df["used"], df["use_ja"] = True, ag.USE_LABELS[True]
    df["reason"] = ag.USED_REASON
    return df


def _menu_name(summ: Summary) -> str:
    """The menu as 出典 names it: its file's name (never the folder it was read from: a
    local install path means nothing to a reader of the workbook), whether it is the one
    shipped with budget, and its fingerprint."""
    from budget.errors import UnknownFiscalYear
    from budget.fiscal import full_label
    from budget.menu import menu_path

    source = Path(summ.menu_source) if summ.menu_source else None
    try:
        shipped = source is not None and source.resolve() == menu_path(summ.fiscal_year).resolve()
    except UnknownFiscalYear:  # no shipped menu for the year
        shipped = False
    name = source.name if source is not None else "（不明）"
    where = f"budget {__version__} 同梱のメニュー" if shipped else "指定されたメニューファイル"
    return (f"{full_label(summ.fiscal_year)} {name}（{where}、メニュー識別子 "
            f"{summ.menu_fingerprint}）")


def _sheet_sources(ws: Any, ctx: _Context) -> None:
    """出典: how the workbook was made, and every submission of the year that was considered
    (used or not, and why)."""
    from budget.fiscal import full_label

    s = ctx.styles
    w = _Writer(ws, ctx)
    summ = ctx.summary
    inputs = _inputs(summ)
    n_used = int(inputs["used"].sum())
    n_rejected = int((inputs["status"] == "rejected").sum())
    n_superseded = len(inputs) - n_used - n_rejected
    w.text(0, 0, f"{ctx.title_prefix} 出典（この集計表の作り方と入力ファイル）", s.title)
    ws.set_row(0, 22)
    cols: list[tuple[str, str, Any, float]] = [
        ("都道府県コード", "prefecture_code", s.center, 7),
        ("都道府県（様式）", "prefecture_name", s.text, 10),
        ("提出ID", "submission_id", s.count, 6), ("ファイル名", "file_name", s.wrap, 26),
        ("SHA-256", "sha256", s.hash, 48), ("受信日時", "received_at", s.text, 17),
        ("サイズ（バイト）", "size", s.count, 9), ("様式の版", "template_version", s.center, 6),
        ("メニュー識別子", "menu_fingerprint", s.text, 17), ("判定", "status_ja", s.center, 7),
        ("集計での扱い", "use_ja", s.center, 11), ("理由", "reason", s.wrap, 56),
    ]
    for c, (_, _, _, width) in enumerate(cols):
        ws.set_column(c, c, width)
    rows = [
        ("作成日時", short_time(ctx.now)),
        ("作成コマンド", ctx.command_line or "（ライブラリから作成）"),
        ("budget の版", __version__),
        ("年度", full_label(summ.fiscal_year)),
        ("メニュー（事業一覧）", _menu_name(summ)),
        ("メニュー識別子", summ.menu_fingerprint),
        ("メニューの事業数（細目単位）", str(len(summ.menu))),
        ("様式の版", layout.TEMPLATE_VERSION),
        ("データベース", ctx.db_path),
        ("表示単位", ctx.unit),
        ("集計範囲", f"担当課「{summ.bureau}」の所管事業（共管事業を含む）" if summ.bureau
         else "全事業"),
        ("集計に使った提出", f"{len(summ.sources)} 件（各都道府県の受理済みの最新の提出）"),
        ("この年度の提出", f"{len(inputs)} 件（使用 {n_used} 件、不使用 {len(inputs) - n_used} 件"
                       f" = 差戻し {n_rejected} 件 + 新しい提出に置き換え済み {n_superseded} 件）"),
    ]
    r = 2
    # Label in A:C, value in D:I (the table's columns below set the widths).
    for label, value in [*rows, *(("注意", note) for note in summ.notes)]:
        w.merge(r, 0, 2, label, s.key_wrap)
        w.merge(r, 3, 8, value, s.warn if label == "注意" else s.wrap)
        lines = max(wrapped_lines(label, 23), wrapped_lines(str(value), 120))
        if lines > 1:
            ws.set_row(r, 13.5 * lines + 2)
        r += 1
    r += 1
    w.text(r, 0, ("下の表はこの年度に受け付けたすべての提出です（年度を読み取れなかったファイルは、"
                  "ファイル名にこの年度の元号コードがあるもの）。集計に使ったのは「使用」の行だけです。"),
           s.note)
    r += 1
    h = r
    for c, (label, _, _, _) in enumerate(cols):
        w.text(h, c, label, s.header)
    ws.set_row(h, 30)
    unused = {s.text: s.missing_text, s.wrap: s.missing_wrap, s.center: s.status_missing,
              s.count: s.missing_blank, s.hash: s.hash}
    for r, row in enumerate(_records(inputs), start=h + 1):
        lines = max(wrapped_lines(str(row["reason"] or ""), 56),
                    wrapped_lines(str(row["file_name"] or ""), 26))
        if lines > 1:
            ws.set_row(r, 13.5 * lines + 2)
        for c, (_, key, fmt, _) in enumerate(cols):
            cell: Any = row.get(key)
            if key == "received_at" and not is_missing(cell):
                cell = _local_time(str(cell))
            if not row["used"]:
                fmt = unused[fmt] if key != "status_ja" or row["status"] != "rejected" \
                    else s.status_rejected
            (w.number if key in ("submission_id", "size") else w.text)(r, c, cell, fmt)
    if len(inputs):
        ws.autofilter(h, 0, h + len(inputs), len(cols) - 1)
    _page_setup(ws, ctx, h, h, freeze_col=0, paper=A3, money=False)
    ws.freeze_panes(h + 1, 0)
