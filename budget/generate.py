"""Write planning workbooks: layout + menu + prefecture → .xlsx (xlsxwriter). No reading.

Every formula is written with its cached result, so LibreOffice (which by default does not
recalculate an .xlsx on load) shows the same figures as Excel (which does).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from budget import __version__
from budget.files import write_atomically
from budget.fiscal import era_code, full_label
from budget.forms import plan as layout
from budget.menu import menu_fingerprint
from budget.prefectures import Prefecture
from budget.xlsx.writer import check_xlsx as _check

if TYPE_CHECKING:
    import pandas as pd

FONT = "游ゴシック"
INPUT_FILL = "#FFF9C4"  # pale yellow: "type here"
LABEL_FILL = "#F2F2F2"
HEADER_FILL = "#DDEBF7"
TOTAL_FILL = "#E2EFDA"
AMOUNT_FORMAT = "#,##0"


@dataclass(frozen=True)
class GuideInfo:
    """What the 記入要領 sheet says about sending the file back."""

    submit_to: str = "厚生労働省 社会・援護局 福祉基盤課 福祉人材確保対策室"
    how: str = "このファイルを保存し、ファイル名を変えずに電子メールに添付して提出してください。"
    deadline: str = "別途通知する期日まで"


@dataclass
class PlanValues:
    """Values to pre-fill into a workbook (the demo's sample plans, tests).

    ``rows`` maps a leaf code to ``{column key: value}``; a value is written as it is (an int
    as a number, a str as text, as if typed), so tests can also write what users mistype.
    """

    header: dict[str, str] = field(default_factory=dict)
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)


def _lines(text: str, width: float) -> int:
    """Rough number of wrapped lines of ``text`` in a column ``width`` characters wide
    (a full-width character takes two widths)."""
    def units(part: str) -> int:
        return sum(2 if ord(ch) > 0x2E7F else 1 for ch in part)

    return sum(max(1, math.ceil(units(part) / (width - 1))) for part in text.split("\n"))


def _number(value: Any) -> int | float | None:
    """What a spreadsheet's SUM counts of a cell: numbers only (text is ignored)."""
    if isinstance(value, bool):
        return None
    return value if isinstance(value, (int, float)) else None


class _Formats:
    """The cell formats of one workbook (xlsxwriter formats belong to a workbook)."""

    def __init__(self, wb: Any) -> None:
        base = {"font_name": FONT, "font_size": 10, "valign": "top"}
        border = {"border": 1, "border_color": "#A6A6A6"}

        def add(**props: Any) -> Any:
            return wb.add_format({**base, **props})

        self.title = add(bold=True, font_size=14, valign="vcenter")
        self.label = add(bold=True, bg_color=LABEL_FILL, **border)
        self.value = add(**border)
        self.note = add(font_color="#595959")
        # Text inputs are text-formatted ("@"), so that a phone number such as 03-1234 or an
        # indicator such as 3/1 stays as typed instead of becoming a date.
        self.input_text = add(locked=False, bg_color=INPUT_FILL, num_format="@", **border)
        self.header = add(bold=True, bg_color=HEADER_FILL, align="center", valign="vcenter",
                          text_wrap=True, **border)
        self.cell = add(text_wrap=True, **border)
        self.cell_center = add(text_wrap=True, align="center", **border)
        self.amount_in = add(locked=False, bg_color=INPUT_FILL, num_format=AMOUNT_FORMAT, **border)
        # A leaf row nobody planned shows blank totals rather than a column of zeros.
        self.amount_formula = add(num_format=AMOUNT_FORMAT + ';-' + AMOUNT_FORMAT + ';""',
                                  bg_color=LABEL_FILL, **border)
        self.text_in = add(locked=False, bg_color=INPUT_FILL, text_wrap=True, num_format="@",
                           **border)
        self.code = add(font_color="#808080", font_size=8)
        self.total_label = add(bold=True, bg_color=TOTAL_FILL, **border)
        self.total_amount = add(bold=True, bg_color=TOTAL_FILL, num_format=AMOUNT_FORMAT, **border)
        self.guide_title = add(bold=True, font_size=14)
        self.guide_head = add(bold=True, font_size=11, bg_color=HEADER_FILL)
        self.guide_text = add(text_wrap=True, valign="top")
        self.bad = wb.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
        self.warn = wb.add_format({"bg_color": "#FFEB9C", "font_color": "#9C5700"})


def write_plan_workbook(
    target: str | Path | IO[bytes],
    menu: "pd.DataFrame",
    prefecture: Prefecture,
    *,
    values: PlanValues | None = None,
    share_tolerance: int = layout.DEFAULT_SHARE_TOLERANCE,
    guide: GuideInfo = GuideInfo(),
) -> None:
    """Write one prefecture's planning workbook for the menu's fiscal year."""
    import xlsxwriter

    leaves = layout.menu_leaves(menu)
    year = int(menu["fiscal_year"].iloc[0])
    values = values or PlanValues()
    fingerprint = menu_fingerprint(menu)

    wb = xlsxwriter.Workbook(target, {"strings_to_formulas": False, "strings_to_urls": False,
                                      "strings_to_numbers": False, "in_memory": True})
    # A fixed creation date: the same inputs give a byte-identical file.
    wb.set_properties({
        "title": f"{full_label(year)} 都道府県計画 {prefecture.label}",
        "subject": "地域医療介護総合確保基金（介護従事者の確保分）",
        "author": "budget",
        "created": dt.datetime(year, 4, 1),
        "comments": f"budget {__version__}; template {layout.TEMPLATE_VERSION}",
    })
    fmt = _Formats(wb)
    guide_ws = wb.add_worksheet(layout.GUIDE_SHEET)
    plan_ws = wb.add_worksheet(layout.PLAN_SHEET)
    meta_ws = wb.add_worksheet(layout.META_SHEET)
    _write_guide(guide_ws, fmt, year, prefecture, share_tolerance, guide)
    _write_plan(plan_ws, fmt, leaves, year, prefecture, values, share_tolerance)
    meta = {
        "template_version": layout.TEMPLATE_VERSION,
        "fiscal_year": str(year),
        "fiscal_year_label": era_code(year),
        "prefecture_code": prefecture.code,
        "prefecture_name": prefecture.name_ja,
        "menu_fingerprint": fingerprint,
        "menu_leaf_count": str(len(leaves)),
        "first_data_row": str(layout.FIRST_DATA_ROW),
        "tool_version": __version__,
        "generated_at": dt.date(year, 4, 1).isoformat(),
    }
    for i, key in enumerate(layout.META_KEYS):
        _check(meta_ws.write_string(i, 0, key))
        _check(meta_ws.write_string(i, 1, meta[key]))
    meta_ws.protect()
    meta_ws.very_hidden()
    plan_ws.activate()
    guide_ws.set_first_sheet()
    wb.close()


def _write_plan(ws: Any, fmt: _Formats, leaves: list[layout.MenuLeaf], year: int,
                prefecture: Prefecture, values: PlanValues, share_tolerance: int) -> None:
    C = layout.COLUMN
    n = len(leaves)
    for col in layout.COLUMNS:
        ws.set_column(col.col_index, col.col_index, col.width,
                      None, {"hidden": col.kind == "code"})

    # Header block
    last = layout.LAST_VISIBLE.col_index
    ws.merge_range(0, 0, 0, last, layout.PLAN_TITLE.format(year_label=full_label(year)),
                   fmt.title)
    ws.set_row(0, 24)
    ws.write_string(layout.YEAR_LABEL_CELL, layout.YEAR_LABEL, fmt.label)
    ws.write_string(layout.YEAR_CELL, full_label(year), fmt.value)
    ws.write_string(layout.PREFECTURE_LABEL_CELL, layout.PREFECTURE_LABEL, fmt.label)
    ws.write_string(layout.PREFECTURE_CELL, prefecture.label, fmt.value)
    for key, (label_cell, input_cell, label, _max) in layout.HEADER_INPUTS.items():
        ws.write_string(label_cell, label, fmt.label)
        _write_value(ws, *_cell(input_cell), values.header.get(key), fmt.input_text)
    ws.write_string(layout.UNIT_CELL, layout.UNIT_TEXT, fmt.note)
    ws.write_string(layout.NOTE_CELL, layout.NOTE_TEXT, fmt.note)

    # Two header rows: groups merged across their columns, single headers merged down.
    g, h = layout.GROUP_HEADER_ROW - 1, layout.HEADER_ROW - 1
    groups: dict[str, list[int]] = {}
    for col in layout.COLUMNS:
        if col.kind == "code":
            ws.write_string(h, col.col_index, layout.HEADER_CODE, fmt.code)
        elif col.group:
            groups.setdefault(col.group, []).append(col.col_index)
            ws.write_string(h, col.col_index, col.header, fmt.header)
        else:
            ws.merge_range(g, col.col_index, h, col.col_index, col.header, fmt.header)
    for name, idx in groups.items():
        ws.merge_range(g, min(idx), g, max(idx), name, fmt.header)
    ws.set_row(h, 30)

    # Leaf rows
    for leaf, row in zip(leaves, layout.leaf_rows(n)):
        r = row - 1
        labels = layout.displayed_labels(leaf)
        for key in layout.LABEL_KEYS:
            value = labels[key]
            f = fmt.cell_center if key == "item_no" else fmt.cell
            (ws.write_number if isinstance(value, int) else ws.write_string)(
                r, C[key].col_index, value, f)
        if leaf.description:
            ws.write_comment(r, C["item_name"].col_index, f"【事業内容】\n{leaf.description}",
                             {"x_scale": 4, "y_scale": 4, "font_name": FONT, "font_size": 9})
        given = values.rows.get(leaf.leaf_code, {})
        for key in layout.AMOUNT_KEYS:
            _write_value(ws, r, C[key].col_index, given.get(key), fmt.amount_in)
        for key in layout.TEXT_KEYS:
            _write_value(ws, r, C[key].col_index, given.get(key), fmt.text_in)
        numbers = {k: _number(given.get(k)) for k in layout.AMOUNT_KEYS}
        for key in layout.FORMULA_KEYS:
            _check(ws.write_formula(r, C[key].col_index, layout.row_formula(key, row),
                                    fmt.amount_formula,
                                    layout.row_formula_value(key, numbers) or 0))
        ws.write_string(r, layout.CODE_COLUMN.col_index, leaf.leaf_code, fmt.code)
        height = max(_lines(str(labels[k]), C[k].width) for k in ("item_name", "sub_item",
                                                                     "bureaus", "mid_category"))
        ws.set_row(r, max(15, 13.5 * height + 2))

    # Subtotals per 大項目 and the grand total, as formulas with their cached values.
    categories = list(dict.fromkeys(leaf.category for leaf in leaves))
    rows = layout.summary_rows(n, categories)
    col_values: dict[str, list[tuple[str, int]]] = {k: [] for k in layout.MONEY_KEYS}
    for leaf in leaves:
        given = values.rows.get(leaf.leaf_code, {})
        numbers = {k: _number(given.get(k)) for k in layout.AMOUNT_KEYS}
        for key in layout.MONEY_KEYS:
            v = (layout.row_formula_value(key, numbers) if key in layout.FORMULA_KEYS
                 else numbers[key]) or 0
            col_values[key].append((leaf.category, v))
    label_span = (C["category"].col_index, C["bureaus"].col_index)
    for code, row in rows.items():
        r = row - 1
        ws.merge_range(r, label_span[0], r, label_span[1], layout.summary_label(code),
                       fmt.total_label)
        for key in layout.MONEY_KEYS:
            if code == layout.TOTAL_CODE:
                formula = layout.total_formula(key, n)
                cached = sum(v for _, v in col_values[key])
            else:
                cat = code.removeprefix(layout.SUBTOTAL_PREFIX)
                formula = layout.subtotal_formula(key, cat, n)
                cached = sum(v for c, v in col_values[key] if c == cat)
            _check(ws.write_formula(r, C[key].col_index, formula, fmt.total_amount, cached))
        ws.write_string(r, layout.CODE_COLUMN.col_index, code, fmt.code)
    last_row = rows[layout.TOTAL_CODE]

    # Data validation: whole numbers >= 0 on exactly the amount input cells.
    first, end = layout.FIRST_DATA_ROW - 1, layout.FIRST_DATA_ROW + n - 2
    for key in layout.AMOUNT_KEYS:
        ci = C[key].col_index
        ws.data_validation(first, ci, end, ci, {
            "validate": "integer", "criteria": ">=", "value": 0,
            "input_title": "金額（千円）",
            "input_message": "千円単位の0以上の整数で入力してください。計画しない場合は空欄のままにします。",
            "error_title": "入力できない値です",
            "error_message": "金額は千円単位の0以上の整数で入力してください（例: 1234）。"
                             "マイナスや小数、文字は入力できません。",
            "error_type": "stop",
        })
    # Conditional formatting: rows that break the §2 rules light up while the user types.
    rules = layout.live_rules(layout.FIRST_DATA_ROW, share_tolerance)
    for name, (k_first, k_last) in layout.LIVE_RULE_COLUMNS.items():
        ws.conditional_format(first, C[k_first].col_index, end, C[k_last].col_index, {
            "type": "formula", "criteria": rules[name],
            "format": fmt.warn if name in layout.LIVE_WARNING_RULES else fmt.bad,
        })

    # Protection: only the input cells are unlocked; no password.
    ws.protect("", {"format_columns": True, "format_rows": True,
                    "select_locked_cells": True, "select_unlocked_cells": True})

    # View and print
    ws.freeze_panes(layout.FIRST_DATA_ROW - 1, 0)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(layout.GROUP_HEADER_ROW - 1, layout.HEADER_ROW - 1)
    ws.print_area(0, 0, last_row - 1, layout.LAST_VISIBLE.col_index)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    ws.set_footer(_footer(prefecture, year))
    ws.set_header(f"&R{layout.PLAN_SHEET}")


def _footer(prefecture: Prefecture, year: int) -> str:
    """Prefecture, page x / n and the fiscal year at the foot of every printed page."""
    return f"&L{prefecture.label.replace('&', '&&')}&C&P / &N ページ&R{full_label(year)}"


def _cell(ref: str) -> tuple[int, int]:
    from xlsxwriter.utility import xl_cell_to_rowcol

    return xl_cell_to_rowcol(ref)


def _write_value(ws: Any, r: int, c: int, value: Any, cell_format: Any) -> None:
    if value is None or value == "":
        _check(ws.write_blank(r, c, None, cell_format))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _check(ws.write_number(r, c, value, cell_format))
    else:
        _check(ws.write_string(r, c, str(value), cell_format))


def _write_guide(ws: Any, fmt: _Formats, year: int, prefecture: Prefecture,
                 share_tolerance: int, guide: GuideInfo) -> None:
    ws.set_column(0, 0, 110)
    ws.hide_gridlines(2)
    lines: list[tuple[str, str]] = [
        ("title", f"{full_label(year)} 地域医療介護総合確保基金（介護従事者の確保分） 都道府県計画 記入要領"),
        ("text", f"対象: {prefecture.label}"),
        ("head", "1. 記入するところ"),
        ("text", "「計画」シートの黄色のセルだけに入力します。灰色のセル（総事業費、計、小計、合計）は"
                 "自動で計算されます。メニューの行（区分・事業名など）は変更できません。"),
        ("text", "最初に、シート上部の担当部署・担当者名・電話番号・メールアドレスを入力してください。"),
        ("text", "実施する事業の行に金額を入力します。実施しない事業は空欄のままにしてください"
                 "（空欄は「計画なし」、0 は「計画はあるが金額は0」の意味になります）。"),
        ("text", "行の挿入・削除、シートの追加・削除、ファイル名の変更はしないでください。"),
        ("head", "2. 金額の単位と書き方"),
        ("text", "金額はすべて千円単位の整数（0以上）で入力します。円単位で入力しないでください"
                 "（例: 1,234,000円 → 1234）。マイナス（▲・△）や小数は入力できません。"),
        ("head", "3. 金額のきまり"),
        ("text", "総事業費 (A+B+C) = 基金 国 (A) + 基金 都道府県 (B) + その他 (C)（自動計算）"),
        ("text", "基金 計 (A+B) = 国 (A) + 都道府県 (B)（自動計算）"),
        ("text", f"国 (A) は 計 (A+B) のおおむね 3分の2、都道府県 (B) はおおむね 3分の1 です。"
                 f"千円未満の端数のため完全には一致しませんが、差が {share_tolerance} 千円を超えると"
                 "セルが黄色で表示されます（確認をお願いします）。"),
        ("text", "公 + 民 = 国 (A) となるよう、国 (A) を公的主体・民間主体向けに分けて入力します。"),
        ("text", "うち受託事業等（再掲）は 民 のうち委託等で実施する額を再掲します（民 を超えることはできません）。"
                 "合計には加算されません。"),
        ("text", "その他 (C) は事業者負担など基金以外の財源です。"),
        ("text", "きまりに合わない入力は、入力中にセルが赤色（誤り）または黄色（確認）で表示されます。"),
        ("head", "4. 金額以外の入力"),
        ("text", "事業の実施主体（例: 県社会福祉協議会、委託先）、事業量・アウトプット指標"
                 "（例: 研修受講者数 200人）、備考を入力します。"),
        ("head", "5. 提出"),
        ("text", f"提出先: {guide.submit_to}"),
        ("text", f"提出方法: {guide.how}"),
        ("text", f"提出期限: {guide.deadline}"),
        ("text", "提出されたファイルは自動で確認されます。誤りがあると、誤りのあるセルに色とコメントを付けた"
                 "ファイルが「エラー一覧」シート付きで返送されますので、修正して再提出してください。"),
    ]
    row = 0
    for kind, text in lines:
        if kind == "title":
            ws.write_string(row, 0, text, fmt.guide_title)
            ws.set_row(row, 24)
        elif kind == "head":
            row += 1
            ws.write_string(row, 0, text, fmt.guide_head)
        else:
            ws.write_string(row, 0, text, fmt.guide_text)
            ws.set_row(row, 15 * _lines(text, 110) + 2)
        row += 1
    ws.protect()
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_footer(_footer(prefecture, year))


# --- Many prefectures: render once, stamp each -------------------------------------------
# The blank templates of one menu differ only in the prefecture's code and name. Rendering
# one with placeholder tokens and replacing the tokens in its zip members is ~10× faster than
# rendering 47 times, and gives byte-identical files (tests compare against direct rendering).

_CODE_TOKEN = "PREFCODE9f3a"
_NAME_TOKEN = "PREFNAME9f3a"
_EN_TOKEN = "PREFENGLISH9f3a"
_PLACEHOLDER = Prefecture(_CODE_TOKEN, _NAME_TOKEN, _EN_TOKEN)


def render_blank_master(menu: "pd.DataFrame", *, share_tolerance: int = layout.DEFAULT_SHARE_TOLERANCE,
                        guide: GuideInfo = GuideInfo()) -> bytes:
    """A blank workbook of the menu with placeholder tokens where the prefecture goes."""
    buf = io.BytesIO()
    write_plan_workbook(buf, menu, _PLACEHOLDER, share_tolerance=share_tolerance, guide=guide)
    return buf.getvalue()


def stamp_prefecture(master: bytes, prefecture: Prefecture) -> bytes:
    """``master`` with the placeholder tokens replaced by the prefecture's code and names."""
    replacements = [(_CODE_TOKEN, prefecture.code), (_NAME_TOKEN, prefecture.name_ja),
                    (_EN_TOKEN, prefecture.name_en)]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(master)) as src, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith((".xml", ".rels", ".vml")):
                for token, value in replacements:
                    data = data.replace(token.encode(), escape(value).encode("utf-8"))
            # The same member header xlsxwriter writes (in_memory mode).
            member = zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(member, data)
    return out.getvalue()


def generate_templates(
    menu: "pd.DataFrame",
    prefectures: Iterable[Prefecture],
    out_dir: str | Path,
    *,
    values: Mapping[str, PlanValues] | None = None,
    share_tolerance: int = layout.DEFAULT_SHARE_TOLERANCE,
    guide: GuideInfo = GuideInfo(),
) -> list[Path]:
    """Write one workbook per prefecture into ``out_dir``; returns their paths.

    ``values`` optionally maps a prefecture code to the values to pre-fill; prefectures
    without values get the blank template. Each file is written atomically.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    era = era_code(int(menu["fiscal_year"].iloc[0]))
    values = values or {}
    master: bytes | None = None
    paths = []
    for pref in prefectures:
        path = out / layout.template_file_name(pref.code, pref.name_ja, era)
        if pref.code in values:
            buf = io.BytesIO()
            write_plan_workbook(buf, menu, pref, values=values[pref.code],
                                share_tolerance=share_tolerance, guide=guide)
            data = buf.getvalue()
        else:
            if master is None:
                master = render_blank_master(menu, share_tolerance=share_tolerance, guide=guide)
            data = stamp_prefecture(master, pref)
        paths.append(write_atomically(path, data))
    return paths
