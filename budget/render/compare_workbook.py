"""The year-over-year workbook (xlsxwriter): ``analysis.compare`` frames → 年度比較.

Sheets (``SHEETS``): 総括 (national totals per year, change, %, the rules), 大項目別, 都道府県別
(47 rows 「01 北海道」…), 事業別 (the newest menu's items, how each came from the year
before: 統合 / 分割 / 新規…, then the items removed), グラフ (native charts: national by 大項目
per year; prefectures by change), 出典 (the menus and crosswalks used).

Amounts are 基金 (A+B) in 千円; a prefecture or year without data is blank (未提出), never 0.
Every cell goes through ``budget.xlsx.writer.CellWriter``; the page setup, header and footer
are the summary workbook's (``budget.render.summary_workbook``).

``render_compare_tidy`` / ``write_compare_tidy``: ``analysis.compare.tidy_compare`` as CSV
(UTF-8 with BOM, Japanese headers, text neutralised) or JSON (English keys, text as sent).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from budget import __version__
from budget.errors import UsageError
from budget.render.outputs import Written, write_bytes_atomically
from budget.render.summary_workbook import (
    A4,
    FONT,
    SUBTITLE,
    TABLE_HEADER_ROW,
    _Context,
    _head,
    _header_footer,
    _page_setup,
    _Styles,
    _Writer,
)
from budget.xlsx.writer import WORKBOOK_OPTIONS, CellWriter, is_missing

if TYPE_CHECKING:
    import pandas as pd

    from budget.analysis.compare import Compare
    from budget.analysis.summary import Summary

SHEETS = ("総括", "大項目別", "都道府県別", "事業別", "グラフ", "出典")
PCT_FORMAT = '0.0"%"'
#: The tidy table's Japanese headers (CSV) by key (JSON).
TIDY_HEADERS = {"level": "表", "key": "コード", "label": "名称", "relation": "年度間の関係",
                "fiscal_year": "年度", "amount": "基金 (A+B)（千円）", "change": "増減（千円）",
                "change_pct": "増減率（%）"}
LEVEL_JA = {"national": "全国", "category": "大項目", "prefecture": "都道府県", "item": "事業"}


def compare_file_name(years: list[int], fmt: str = "xlsx") -> str:
    """``R5-R6_年度比較.xlsx`` (``_明細.csv`` / ``.json`` for the tidy table)."""
    from budget.fiscal import era_code

    span = f"{era_code(min(years))}-{era_code(max(years))}"
    return f"{span}_年度比較.xlsx" if fmt == "xlsx" else f"{span}_年度比較_明細.{fmt}"


def _era(year: int) -> str:
    from budget.fiscal import era_code

    return era_code(year)


def is_sample_menu(menu: "pd.DataFrame") -> bool:
    """True for a menu every row of which says in its provenance that it is a sample (the
    test menus), not the ministry's."""
    prov = menu["provenance"].astype(str).str.lower() if "provenance" in menu else None
    return prov is not None and len(prov) > 0 and bool(prov.str.contains("sample").all())


def _records(df: "pd.DataFrame") -> list[dict[str, Any]]:
    return [{k: None if is_missing(v) else v for k, v in rec.items()}
            for rec in df.to_dict("records")]


def _year_columns(years: list[int]) -> list[tuple[str, str, str]]:
    """(header, column, kind) of the per-year block: each year's amount, then for each year
    after the first its change and %."""
    cols = [(f"{_era(y)}（千円）", f"y{y}", "money") for y in years]
    for prev, y in zip(years, years[1:]):
        cols.append((f"増減 {_era(prev)}→{_era(y)}", f"change_{y}", "money"))
        cols.append((f"増減率 {_era(prev)}→{_era(y)}", f"pct_{y}", "pct"))
    return cols


def _table(ws: Any, ctx: _Context, pct: Any, title: str, df: "pd.DataFrame",
           keys: list[tuple[str, str, float]], years: list[int], notes: list[str],
           missing: str = "未提出") -> None:
    """One table sheet: ``keys`` (header, column, width) then the per-year block; a
    prefecture's blank year says ``missing``."""
    s = ctx.styles
    w = _Writer(ws, ctx)
    _head(ws, ctx, title, notes)
    h = TABLE_HEADER_ROW - 1
    block = _year_columns(years)
    for c, (header, _, width) in enumerate(keys):
        w.text(h, c, header, s.header)
        ws.set_column(c, c, width)
    for j, (header, _, _kind) in enumerate(block, start=len(keys)):
        w.text(h, j, header, s.header)
        ws.set_column(j, j, 13)
    for i, row in enumerate(_records(df), start=h + 1):
        for c, (_, key, _) in enumerate(keys):
            w.text(i, c, row[key], s.text)
        for j, (_, key, kind) in enumerate(block, start=len(keys)):
            value = row.get(key)
            if kind == "pct":
                w.number(i, j, None if value is None else float(value), pct)
            elif value is None and key.startswith("y"):
                w.text(i, j, missing if "prefecture_code" in row else "", s.status_missing)
            else:
                w.money(i, j, value, s.money)
    _page_setup(ws, ctx, h, h, freeze_col=len(keys))


def render_compare_workbook(comp: "Compare", *, menus: dict[int, "pd.DataFrame"] | None = None,
                            command_line: str = "", now: dt.datetime | None = None,
                            db_path: str | Path = "") -> bytes:
    """The compare workbook's bytes (see ``SHEETS``)."""
    import xlsxwriter

    from budget.analysis.compare import MAPPING_RULE, MISSING_RULE, STAGE_LABEL

    now = now or dt.datetime.now().astimezone()
    years = comp.years
    prefix = f"{_era(years[0])}～{_era(years[-1])} {SUBTITLE}"
    samples = [_era(y) for y, m in sorted((menus or {}).items()) if is_sample_menu(m)]
    scope = f"比較する段階: {STAGE_LABEL.get(comp.stage, comp.stage)}　金額は 基金 (A+B)、千円。"
    if samples:
        scope += f"　{'・'.join(samples)} のメニューはテスト用の見本です（厚生労働省のメニューではありません）。"
    ctx = _Context(cast("Summary", None), "千円", 1, "#,##0", command_line, now, str(db_path),
                   prefix, scope)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {
        **WORKBOOK_OPTIONS, "default_format_properties": {"font_name": FONT, "font_size": 10},
    })
    wb.set_properties({"title": f"{prefix} 年度比較", "subject": SUBTITLE, "author": "budget",
                       "comments": f"budget {__version__}; {command_line}",
                       "created": now.replace(tzinfo=None)})
    ctx.cells = CellWriter(wb)
    ctx.styles = _Styles(ctx.cells, "#,##0")
    pct = ctx.cells.add_format({"font_name": FONT, "font_size": 10, "border": 1,
                                "border_color": "#A6A6A6", "num_format": PCT_FORMAT})
    sheets = {name: wb.add_worksheet(name) for name in SHEETS}
    by_item = comp.stage != "allocation"  # a 内示 has no items: its rule says so instead
    mapping = [MAPPING_RULE] if by_item else comp.notes[:1]
    rules = [*(mapping if by_item else []), MISSING_RULE, *comp.notes]
    missing = "未提出" if by_item else "内示なし"
    national = comp.national.assign(n=comp.national["n_prefectures"])
    _table(sheets["総括"], ctx, pct, "年度比較 全国計", national,
           [("", "label", 12),
            ("受理した都道府県数" if by_item else "内示のある都道府県数", "n", 14)], years, rules)
    _table(sheets["大項目別"], ctx, pct, "年度比較 大項目別", comp.categories,
           [("区分（大項目）", "category", 22)], years, mapping)
    _table(sheets["都道府県別"], ctx, pct, "年度比較 都道府県別", comp.prefectures,
           [("都道府県", "prefecture_label", 12)], years, [MISSING_RULE], missing)
    items = comp.items.assign(label=[n if not s else f"{n}／{s}" for n, s in
                                     zip(comp.items["item_name"], comp.items["sub_item_name"])])
    _table(sheets["事業別"], ctx, pct, "年度比較 事業別（最新年度のメニュー順、廃止は末尾）", items,
           [("事業コード", "leaf_code", 11), ("事業名／細目", "label", 44),
            ("年度間の関係", "relation_ja", 30)], years, mapping)
    _sheet_charts(wb, sheets["グラフ"], ctx, comp)
    _sheet_sources(sheets["出典"], ctx, comp, menus or {})
    sheets["総括"].activate()
    wb.close()
    return buf.getvalue()


def _sheet_charts(wb: Any, ws: Any, ctx: _Context, comp: "Compare") -> None:
    """Two native charts: national by 大項目 per year (columns), prefectures by the change
    from the year before the last (bars); their data beside them, outside the print area."""
    s = ctx.styles
    w = _Writer(ws, ctx)
    years = comp.years
    last = years[-1]
    _head(ws, ctx, "グラフ", ["グラフの元データは右側の表（L 列から、印刷範囲外）。",
                            f"都道府県別の増減は {_era(years[-2])}→{_era(last)}、両年度に提出のある都道府県のみ。"])
    ws.set_column(0, 9, 9.0)
    tab = 11
    ws.set_column(tab, tab, 24)
    ws.set_column(tab + 1, tab + len(years), 14)
    font = {"name": FONT, "size": 9}
    h = TABLE_HEADER_ROW - 1
    w.text(h, tab, "区分（大項目）", s.header)
    for k, y in enumerate(years):
        w.text(h, tab + 1 + k, _era(y), s.header)
    cats = _records(comp.categories)
    for i, row in enumerate(cats, start=h + 1):
        w.text(i, tab, row["category"], s.text)
        for k, y in enumerate(years):
            w.money(i, tab + 1 + k, row[f"y{y}"], s.money)
    first, end = h + 1, h + len(cats)
    if not cats:  # a 内示: nothing by 大項目
        w.text(first, tab, "大項目別の内訳はありません。", s.warn)
    ch = wb.add_chart({"type": "column"}) if cats else None
    if ch is not None:
        for k, y in enumerate(years):
            ch.add_series({"name": _era(y), "categories": [ws.name, first, tab, end, tab],
                           "values": [ws.name, first, tab + 1 + k, end, tab + 1 + k],
                           "gap": 80})
        ch.set_title({"name": "大項目別 全国計 基金 (A+B)（千円）",
                      "name_font": {"name": FONT, "size": 12, "bold": True}})
        ch.set_legend({"position": "bottom", "font": font})
        ch.set_x_axis({"num_font": font})
        ch.set_y_axis({"num_font": font, "num_format": "#,##0"})
        ch.set_size({"width": 700, "height": 360})
        ws.insert_chart(h, 0, ch, {"x_offset": 4, "object_position": 3})

    start = end + 3
    change = comp.prefectures[comp.prefectures[f"change_{last}"].notna()]
    change = change.sort_values([f"change_{last}", "prefecture_code"], ascending=[False, True],
                                kind="stable")
    w.text(start, tab, "都道府県（増減の大きい順）", s.header)
    w.text(start, tab + 1, f"増減 {_era(years[-2])}→{_era(last)}", s.header)
    for i, row in enumerate(_records(change), start=start + 1):
        w.text(i, tab, row["prefecture_label"], s.text)
        w.money(i, tab + 1, row[f"change_{last}"], s.money)
    row2 = h + 20
    if len(change):
        ch2 = wb.add_chart({"type": "bar"})
        ch2.add_series({"name": "増減", "categories": [ws.name, start + 1, tab,
                                                     start + len(change), tab],
                        "values": [ws.name, start + 1, tab + 1, start + len(change), tab + 1],
                        "gap": 60})
        ch2.set_title({"name": f"都道府県別 増減（{_era(years[-2])}→{_era(last)}、千円）",
                       "name_font": {"name": FONT, "size": 12, "bold": True}})
        ch2.set_legend({"none": True})
        ch2.set_y_axis({"num_font": {"name": FONT, "size": 8}, "reverse": True,
                        "interval_unit": 1})
        ch2.set_x_axis({"num_font": font, "num_format": "#,##0"})
        ch2.set_size({"width": 700, "height": min(960, 120 + 19 * len(change))})
        ws.insert_chart(row2, 0, ch2, {"x_offset": 4, "object_position": 3})
    else:
        w.text(start + 1, tab, "両年度に提出のある都道府県がありません。", s.warn)
    ws.print_area(0, 0, row2 + 50, 9)
    ws.set_portrait()
    ws.set_paper(A4)
    ws.fit_to_pages(1, 0)
    _header_footer(ws, ctx, "グラフ")


def _sheet_sources(ws: Any, ctx: _Context, comp: "Compare",
                   menus: dict[int, "pd.DataFrame"]) -> None:
    s = ctx.styles
    w = _Writer(ws, ctx)
    _head(ws, ctx, "出典", [f"作成コマンド: {ctx.command_line}", f"データベース: {ctx.db_path}"])
    h = TABLE_HEADER_ROW - 1
    for c, (header, width) in enumerate((("年度", 8), ("メニュー", 60),
                                         ("受理した都道府県数", 14))):
        w.text(h, c, header, s.header)
        ws.set_column(c, c, width)
    for i, y in enumerate(comp.years, start=h + 1):
        w.text(i, 0, _era(y), s.text)
        menu = menus.get(y)
        w.text(i, 1, "" if menu is None else str(menu.attrs.get("source", "")), s.text)
        w.number(i, 2, len(comp.submitted.get(y, [])), s.count)
    _page_setup(ws, ctx, h, h, money=False)


def write_compare_workbook(comp: "Compare", path: str | Path, *,
                           menus: dict[int, "pd.DataFrame"] | None = None,
                           command_line: str = "", now: dt.datetime | None = None,
                           db_path: str | Path = "") -> Written:
    """Write the compare workbook to ``path`` atomically; returns the ``Written``."""
    data = render_compare_workbook(comp, menus=menus, command_line=command_line, now=now,
                                   db_path=db_path)
    path = Path(path)
    return Written("年度比較表", write_bytes_atomically(path, data), path)


def render_compare_tidy(comp: "Compare", fmt: str, *, now: dt.datetime | None = None) -> bytes:
    """The tidy table as ``fmt`` ("csv": Japanese headers, BOM, text neutralised; "json":
    English keys, text as sent, blank → null). Anything else: ``UsageError``."""
    import json

    from budget.analysis.compare import tidy_compare
    from budget.textsafe import neutralise

    df = tidy_compare(comp)
    df["level"] = df["level"].map(LEVEL_JA).fillna(df["level"]) if fmt == "csv" else df["level"]
    if fmt == "csv":
        out = df.copy()
        for col in ("key", "label", "relation", "level"):
            out[col] = out[col].map(lambda v: v if is_missing(v) else neutralise(str(v)))
        out = out.rename(columns=TIDY_HEADERS)
        return out.to_csv(index=False).encode("utf-8-sig")
    if fmt == "json":
        now = now or dt.datetime.now().astimezone()
        rows = [{k: (None if is_missing(v) else int(v) if k in ("fiscal_year", "amount", "change")
                     else float(v) if k == "change_pct" else v) for k, v in rec.items()}
                for rec in df.to_dict("records")]
        doc = {"years": comp.years, "stage": comp.stage, "unit": "千円",
               "created": now.isoformat(timespec="seconds"), "version": __version__,
               "columns": TIDY_HEADERS, "rows": rows}
        return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
    raise UsageError(f"形式「{fmt}」は使えません（csv、json のいずれか）。")


def write_compare_tidy(comp: "Compare", path: str | Path, fmt: str, *,
                       now: dt.datetime | None = None) -> Written:
    data = render_compare_tidy(comp, fmt, now=now)
    path = Path(path)
    return Written(f"年度比較の明細（{fmt.upper()}）", write_bytes_atomically(path, data), path)
