"""The track workbook of a fund year (xlsxwriter): ``analysis.track`` frames → 執行管理.

Sheets (``SHEETS``): 総括 (national figures per stage, 執行率, prefectures missing per stage),
都道府県別 (47 rows 「01 北海道」…: 要望, 内示 per round and total, 計画 first and current,
変更回数, 実績, 執行率 both ways, flags), グラフ (native charts: 執行率 by prefecture, 計画
against 実績 by 大項目), 大項目別 / 中項目別 / 事業別 / 担当課別 (計画 against 実績, 執行率,
達成状況 counts), 出典 (how it was made and the submissions used).

Units (``TRACK_UNITS``): 千円 writes 基金 (A+B) as numbers; 億円 writes every amount as the
ministry publishes it, 基金規模 with 国費 in brackets 「21.2 (14.2)」, each rounded to one
decimal from the unrounded 千円 figures (``oku_pair``). 執行率 is always a number (0.0%).

``render_track_tidy`` / ``write_track_tidy``: the tidy long table (``analysis.track.tidy_track``,
one row per stage, prefecture and leaf) as CSV (UTF-8 with BOM, Japanese headers, text
neutralised) or JSON (English keys, text as sent), money always in 千円.

Every cell goes through ``budget.xlsx.writer.CellWriter`` (no text becomes a formula or a
link; missing is blank, never 0; a stage not received says 未提出 / 差戻し); the page setup,
header and footer are the summary workbook's (``budget.render.summary_workbook``).
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from budget import __version__
from budget.errors import UsageError
from budget.findings import STATUS_JA
from budget.render.outputs import Written, write_bytes_atomically
from budget.render.summary_workbook import (
    A4,
    FONT,
    SUBTITLE,
    TABLE_HEADER_ROW,
    TOTAL_LABEL,
    _Context,
    _head,
    _header_footer,
    _page_setup,
    _Styles,
    _Writer,
)
from budget.textwidth import wrapped_lines
from budget.xlsx.writer import WORKBOOK_OPTIONS, CellWriter, is_missing

if TYPE_CHECKING:
    import pandas as pd

    from budget.analysis.summary import Summary
    from budget.analysis.track import Track

#: Display units: name → (千円 per unit, number format of the chart data).
TRACK_UNITS: dict[str, tuple[int, str]] = {"千円": (1, "#,##0"), "億円": (100_000, "#,##0.0")}
DEFAULT_UNIT = "千円"
SHEETS = ("総括", "都道府県別", "グラフ", "大項目別", "中項目別", "事業別", "担当課別", "出典")
RATE_FORMAT = "0.0%"
WARN_FILL = "#FFC7CE"
PAIR_NOTE = "億円表示: 基金規模 (A+B) と括弧内に国費 (A)。各金額を千円単位の値から小数第1位に四捨五入。"
#: Column headers of the stages' amounts.
STAGE_HEADERS = {"request": "要望", "plan_first": "計画（当初）", "plan": "計画（現在）",
                 "actual": "実績"}
RATE_HEADERS = {"rate_plan": "執行率（実績÷計画）", "rate_allocation": "執行率（実績÷内示）"}


def track_file_name(fiscal_year: int, unit: str = DEFAULT_UNIT) -> str:
    """``R5_執行管理.xlsx``; ``R5_執行管理（億円）.xlsx``."""
    from budget.fiscal import era_code

    name = f"{era_code(fiscal_year)}_執行管理"
    return name + ("" if unit == DEFAULT_UNIT else f"（{unit}）") + ".xlsx"


def oku(value: Any) -> str:
    """An amount in 千円 as 億円 to one decimal, rounded half up from the exact figure
    (``2_125_000`` → ``"21.3"``)."""
    exact = Decimal(int(value)) / Decimal(100_000)
    return f"{exact.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):,}"


def oku_pair(fund: Any, national: Any) -> str | None:
    """「21.2 (14.2)」: 基金規模 and 国費 in 億円 (see ``oku``); None when the fund is missing;
    the fund alone when the national share is."""
    if is_missing(fund):
        return None
    text = oku(fund)
    return text if is_missing(national) else f"{text} ({oku(national)})"


def _records(df: "pd.DataFrame") -> list[dict[str, Any]]:
    """Rows as dicts of plain values, None where missing."""
    return [{k: None if is_missing(v) else v for k, v in rec.items()}
            for rec in df.to_dict("records")]


class _Cells:
    """The track workbook's cell kinds on one sheet: amounts in the unit, stage states,
    rates."""

    def __init__(self, ws: Any, ctx: _Context, extra: dict[str, Any]) -> None:
        self.w = _Writer(ws, ctx)
        self.s = ctx.styles
        self.x = extra
        self.pairs = ctx.unit != DEFAULT_UNIT

    def amount(self, r: int, c: int, fund: Any, national: Any, *, total: bool = False,
               warn: bool = False) -> None:
        """基金 (A+B) in 千円 as a number, or the 億円 pair as text; blank when missing."""
        if self.pairs:
            fmt = self.x["pair_total" if total else "pair_warn" if warn else "pair"]
            self.w.text(r, c, oku_pair(fund, national), fmt)
        else:
            fmt = self.s.total_money if total else self.x["money_warn"] if warn else self.s.money
            self.w.number(r, c, None if is_missing(fund) else int(fund), fmt)

    def state(self, r: int, c: int, status: str) -> None:
        """A stage not received: 未提出 / 差戻し, grey (rejected in red)."""
        fmt = self.s.status_rejected if status == "rejected" else self.s.status_missing
        self.w.text(r, c, STATUS_JA.get(status, status), fmt)

    def rate(self, r: int, c: int, value: Any, *, total: bool = False, warn: bool = False
             ) -> None:
        fmt = self.x["rate_total" if total else "rate_warn" if warn else "rate"]
        self.w.number(r, c, None if is_missing(value) else float(value), fmt)

    def count(self, r: int, c: int, value: Any, *, total: bool = False) -> None:
        self.w.number(r, c, value, self.s.total_count if total else self.s.count)

    def text(self, r: int, c: int, value: Any, fmt: Any = None) -> None:
        self.w.text(r, c, value, self.s.text if fmt is None else fmt)


def _extra_formats(cells: CellWriter) -> dict[str, Any]:
    border = {"border": 1, "border_color": "#A6A6A6"}

    def add(**props: Any) -> Any:
        return cells.add_format({"font_name": FONT, "font_size": 10, "valign": "top",
                                 **border, **props})

    return {
        "pair": add(align="right"),
        "pair_warn": add(align="right", bg_color=WARN_FILL),
        "pair_total": add(align="right", bold=True, bg_color="#E2EFDA"),
        "money_warn": add(num_format="#,##0", bg_color=WARN_FILL),
        "rate": add(num_format=RATE_FORMAT),
        "rate_warn": add(num_format=RATE_FORMAT, bg_color=WARN_FILL, font_color="#9C0006"),
        "rate_total": add(num_format=RATE_FORMAT, bold=True, bg_color="#E2EFDA"),
        "flag": add(text_wrap=True, font_color="#9C0006"),
    }


def render_track_workbook(track: "Track", *, unit: str = DEFAULT_UNIT, command_line: str = "",
                          now: dt.datetime | None = None, db_path: str | Path = "") -> bytes:
    """The track workbook's bytes (see ``SHEETS``)."""
    import xlsxwriter

    from budget.analysis import track as tr
    from budget.fiscal import full_label

    if unit not in TRACK_UNITS:
        raise UsageError(f"単位「{unit}」は使えません（{'、'.join(TRACK_UNITS)} のいずれか）。")
    factor, num_format = TRACK_UNITS[unit]
    now = now or dt.datetime.now().astimezone()
    prefix = f"{full_label(track.fiscal_year)} {SUBTITLE}"
    # The summary workbook's context: its page-setup helpers read the unit, the title and
    # the styles, never the summary (the track workbook has none).
    ctx = _Context(cast("Summary", None), unit, factor, num_format, command_line, now,
                   str(db_path), prefix, "")
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {
        **WORKBOOK_OPTIONS, "default_format_properties": {"font_name": FONT, "font_size": 10},
    })
    wb.set_properties({"title": f"{prefix} 執行管理", "subject": SUBTITLE, "author": "budget",
                       "comments": f"budget {__version__}; {command_line}",
                       "created": now.replace(tzinfo=None)})
    ctx.cells = CellWriter(wb)
    ctx.styles = _Styles(ctx.cells, num_format)
    extra = _extra_formats(ctx.cells)
    sheets = {name: wb.add_worksheet(name) for name in SHEETS}
    prefs = tr.by_prefecture(track)
    by_category = tr.by_category(track)
    n_planning = int(track.leaves.loc[track.leaves["plan_fund"].notna(),
                                      "prefecture_code"].nunique())
    _sheet_overview(sheets["総括"], ctx, extra, track, prefs)
    _sheet_prefectures(sheets["都道府県別"], ctx, extra, track, prefs)
    _sheet_charts(wb, sheets["グラフ"], ctx, prefs, by_category)
    _group_sheet(sheets["大項目別"], ctx, extra, "大項目別 計画と実績", by_category,
                 [("区分（大項目）", "category", 16), ("事業数", "n_leaves", 7)], n_planning)
    _group_sheet(sheets["中項目別"], ctx, extra, "中項目別 計画と実績", tr.by_mid_category(track),
                 [("区分（大項目）", "category", 14), ("中項目", "mid_category", 28),
                  ("事業数", "n_leaves", 7)], n_planning)
    leaf = tr.by_leaf(track)
    leaf = leaf.assign(label=[
        f"{n}{s} {name}" + (f"／{sn}" if sn else "") + ("（共管）" if joint else "")
        for n, s, name, sn, joint in zip(leaf["item_no"], leaf["sub_item"], leaf["item_name"],
                                         leaf["sub_item_name"], leaf["joint"])])
    _group_sheet(sheets["事業別"], ctx, extra, "事業別 計画と実績（メニュー順）", leaf,
                 [("事業コード", "leaf_code", 10), ("事業名／細目", "label", 44),
                  ("担当課", "owner", 24)], n_planning)
    _group_sheet(sheets["担当課別"], ctx, extra, "担当課別 計画と実績", tr.by_bureau(track),
                 [("担当課", "owner", 40), ("事業数", "n_leaves", 7)], n_planning,
                 notes=["複数の課が所管する事業（共管）は「共管: 課名／課名」の1行にまとめ、"
                        "各課の行には含めません（担当課別の合計は総計と一致します）。"])
    _sheet_sources(sheets["出典"], ctx, track)
    sheets["総括"].activate()
    wb.close()
    return buf.getvalue()


def write_track_workbook(track: "Track", path: str | Path, *, unit: str = DEFAULT_UNIT,
                         command_line: str = "", now: dt.datetime | None = None,
                         db_path: str | Path = "") -> Written:
    """Write the track workbook to ``path`` atomically; returns the ``Written``."""
    data = render_track_workbook(track, unit=unit, command_line=command_line, now=now,
                                 db_path=db_path)
    path = Path(path)
    return Written("執行管理表", write_bytes_atomically(path, data), path)


def _unit_notes(ctx: _Context) -> list[str]:
    return [PAIR_NOTE] if ctx.unit != DEFAULT_UNIT else [
        "金額は 基金 (A+B)、千円。国費 (A) は --unit 億円 の表示と CSV・JSON にあります。"]


def _sheet_overview(ws: Any, ctx: _Context, extra: dict[str, Any], track: "Track",
                    prefs: "pd.DataFrame") -> None:
    """総括: the national figure of each stage, 執行率, who is missing per stage."""
    from budget.analysis import track as tr

    s = ctx.styles
    c = _Cells(ws, ctx, extra)
    w = c.w
    w.text(0, 0, f"{ctx.title_prefix} 執行管理 総括", s.title)
    ws.set_row(0, 22)
    w.text(1, 0, f"（単位：{ctx.unit}）　作成: {ctx.now:%Y-%m-%d %H:%M}　budget {__version__}",
           s.subtitle)
    for i, note in enumerate(_unit_notes(ctx)[:1]):
        w.text(2 + i, 0, note, s.note)
    ws.set_column(0, 0, 34)
    ws.set_column(1, 1, 20)
    ws.set_column(2, 2, 14)
    ws.set_column(3, 3, 70)
    h = TABLE_HEADER_ROW - 1
    for col, text in enumerate(["項目", f"金額（{ctx.unit}）", "都道府県数", "備考"]):
        w.text(h, col, text, s.header)
    r = h
    for r, row in enumerate(_records(tr.headline(track)), start=h + 1):
        w.text(r, 0, row["label"], s.key)
        if row["key"].startswith("rate"):
            c.rate(r, 1, row["rate"])
            note = "実績を受理した都道府県のみで計算"
        else:
            c.amount(r, 1, row["fund"], row["national"])
            note = ""
        c.count(r, 2, row["n"])
        w.text(r, 3, note, s.text)
    r += 2
    w.text(r, 0, "段階ごとの未提出（受理した提出のない都道府県）", s.key)
    r += 1
    for stage, labels in tr.missing_by_stage(track).items():
        name = tr.STAGE_JA[stage] + ("（どの回にもない）" if stage == "allocation"
                                     else "（未提出・差戻し）")
        w.text(r, 0, name, s.key)
        c.count(r, 2, len(labels))
        text = "、".join(labels) if labels else "なし"
        w.text(r, 3, text, s.wrap)
        lines = wrapped_lines(text, 70)
        if lines > 1:
            ws.set_row(r, 14 * lines + 3)
        w.text(r, 1, f"{len(labels)} / 47", s.text)
        r += 1
    flagged = prefs[prefs["over_allocation"]]
    low = prefs[prefs["low_rate"]]
    for label, frame in (("計画が内示を超える都道府県", flagged),
                         (f"執行率が {track.low_rate:g}% 未満の都道府県", low)):
        w.text(r, 0, label, s.key)
        c.count(r, 2, len(frame))
        w.text(r, 1, f"{len(frame)} / 47", s.text)
        w.text(r, 3, "、".join(frame["label"]) or "なし", s.wrap)
        r += 1
    r += 1
    w.text(r, 0, "注記", s.key)
    for note in [tr.CURRENT_RULE, tr.RATE_RULE, tr.MISSING_RULE, *_unit_notes(ctx),
                 *track.notes]:
        w.text(r, 3, note, s.wrap)
        ws.set_row(r, 14 * wrapped_lines(note, 70) + 3)
        r += 1
    ws.set_landscape()
    ws.set_paper(A4)
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    _header_footer(ws, ctx, "総括")


def prefecture_columns(track: "Track") -> list[tuple[str, str]]:
    """(header, key) of the 都道府県別 sheet's columns after 都道府県, in order."""
    from budget.analysis.track import round_label

    cols = [("要望", "request")]
    cols += [(f"内示 {round_label(r)}", f"alloc_{r}") for r in track.rounds]
    cols += [("内示 計", "alloc"), ("計画（当初）", "plan_first"), ("計画（現在）", "plan"),
             ("変更回数", "n_revisions"), ("実績", "actual"),
             (RATE_HEADERS["rate_plan"], "rate_plan"),
             (RATE_HEADERS["rate_allocation"], "rate_allocation"), ("注意", "flags")]
    return cols


def _sheet_prefectures(ws: Any, ctx: _Context, extra: dict[str, Any], track: "Track",
                       prefs: "pd.DataFrame") -> None:
    """都道府県別: 47 rows, one column per stage (内示 per round), 執行率, flags; a total."""
    from budget.analysis import track as tr

    s = ctx.styles
    c = _Cells(ws, ctx, extra)
    w = c.w
    _head(ws, ctx, "都道府県別 執行管理", [
        *_unit_notes(ctx),
        "未提出・差戻し = その段階の受理した提出なし（0 ではありません）。内示の空欄 = その回の内示なし。",
        f"赤 = 計画（現在）が内示の計を超える／執行率（実績÷計画）が {track.low_rate:g}% 未満。",
    ])
    h = TABLE_HEADER_ROW - 1
    cols = prefecture_columns(track)
    w.text(h, 0, "都道府県", s.header)
    ws.set_column(0, 0, 11)
    for i, (label, key) in enumerate(cols, start=1):
        w.text(h, i, label, s.header)
        width = 8 if key == "n_revisions" else 34 if key == "flags" else 11 if \
            key.startswith("rate") else (15 if ctx.unit != DEFAULT_UNIT else 12)
        ws.set_column(i, i, width)
    ws.set_row(h, 30)
    status_of = {"request": "request_status", "plan_first": "plan_status",
                 "plan": "plan_status", "actual": "actual_status"}
    r = h
    for r, row in enumerate(_records(prefs), start=h + 1):
        c.text(r, 0, row["label"])
        for i, (_, key) in enumerate(cols, start=1):
            if key in status_of and row[status_of[key]] != "accepted":
                c.state(r, i, row[status_of[key]])
            elif key in status_of:
                c.amount(r, i, row[f"{key}_fund"], row[f"{key}_national"],
                         warn=key == "plan" and bool(row["over_allocation"]))
            elif key.startswith("alloc_"):
                c.amount(r, i, row[f"{key}_fund"], row[f"{key}_national"])
            elif key == "alloc":
                if row["in_rounds"] == 0:
                    w.text(r, i, "なし", s.status_missing)
                else:
                    c.amount(r, i, row["alloc_fund"], row["alloc_national"])
            elif key == "n_revisions":
                if row["plan_status"] == "accepted":
                    c.count(r, i, row["n_revisions"])
                else:
                    w.text(r, i, None, s.missing_blank)
            elif key.startswith("rate"):
                c.rate(r, i, row[key], warn=key == "rate_plan" and bool(row["low_rate"]))
            else:
                w.text(r, i, row["flags"], extra["flag"])
    t = r + 1
    head = {row["key"]: row for row in _records(tr.headline(track))}
    w.text(t, 0, TOTAL_LABEL, s.total_text)
    for i, (_, key) in enumerate(cols, start=1):
        if key in head and not key.startswith("rate"):
            c.amount(t, i, head[key]["fund"], head[key]["national"], total=True)
        elif key == "n_revisions":
            c.count(t, i, int(prefs.loc[prefs["plan_status"] == "accepted",
                                        "n_revisions"].sum()), total=True)
        elif key.startswith("rate"):
            c.rate(t, i, head[key]["rate"], total=True)
        else:
            w.text(t, i, "", s.total_text)
    # the 47 prefectures and the total on one landscape page, as the ministry prints them
    _page_setup(ws, ctx, h, h, freeze_col=1, repeat_cols=(0, 0), fit=(1, 1))
    ws.autofilter(h, 0, t - 1, len(cols))


def _group_sheet(ws: Any, ctx: _Context, extra: dict[str, Any], title: str,
                 df: "pd.DataFrame", keys: list[tuple[str, str, float]], n_planning: int, *,
                 notes: list[str] | None = None) -> None:
    """Key columns, then 要望, 計画（当初）, 計画（現在）, 実績, 執行率, 達成状況 counts and
    the prefectures planning; a total row."""
    from budget.analysis import track as tr

    s = ctx.styles
    c = _Cells(ws, ctx, extra)
    w = c.w
    _head(ws, ctx, title, [*_unit_notes(ctx), *(notes or []),
                           "執行率 = 実績 ÷ 計画（現在）、実績を受理した都道府県のみ。達成状況は事業（都道府県×細目）の件数。"])
    h = TABLE_HEADER_ROW - 1
    stages = list(tr.MONEY_STAGES)
    headers = ([k[0] for k in keys] + [STAGE_HEADERS[st] for st in stages]
               + ["執行率（実績÷計画）"] + [f"達成状況: {a}" for a in tr.ACHIEVEMENTS]
               + ["計画都道府県数"])
    for col, text in enumerate(headers):
        w.text(h, col, text, s.header)
    ws.set_row(h, 42)
    for col, (_, _, width) in enumerate(keys):
        ws.set_column(col, col, width)
    first = len(keys)
    ws.set_column(first, first + len(stages) - 1, 15 if ctx.unit != DEFAULT_UNIT else 12)
    ws.set_column(first + len(stages), first + len(stages) + 5, 9)
    r = h
    for r, row in enumerate(_records(df), start=h + 1):
        for col, (_, key, width) in enumerate(keys):
            value = row[key]
            if key == "n_leaves":
                c.count(r, col, value)
            else:
                if key == "mid_category" and not value:
                    value = "（中項目なし）"
                text = "" if value is None else str(value)
                if wrapped_lines(text, width) > 1:
                    ws.set_row(r, 13.5 * min(wrapped_lines(text, width), 3) + 2)
                w.text(r, col, value, s.wrap)
        for i, st in enumerate(stages):
            c.amount(r, first + i, row[f"{st}_fund"], row[f"{st}_national"])
        c.rate(r, first + len(stages), row["rate_plan"])
        for i, a in enumerate(tr.ACHIEVEMENTS):
            c.count(r, first + len(stages) + 1 + i, row[f"n_{a}"])
        c.count(r, first + len(stages) + 5, row["n_prefectures"])
    t = r + 1
    w.text(t, 0, TOTAL_LABEL, s.total_text)
    for col in range(1, len(keys)):
        if keys[col][1] == "n_leaves":
            c.count(t, col, int(df["n_leaves"].sum()), total=True)
        else:
            w.text(t, col, "", s.total_text)
    for i, st in enumerate(stages):
        c.amount(t, first + i, df[f"{st}_fund"].sum(min_count=1),
                 df[f"{st}_national"].sum(min_count=1), total=True)
    num = df["actual_fund"].sum(min_count=1)
    den = df["plan_fund_reporting"].sum(min_count=1)
    c.rate(t, first + len(stages), float(num) / float(den)
           if not is_missing(num) and not is_missing(den) and den else None, total=True)
    for i, a in enumerate(tr.ACHIEVEMENTS):
        c.count(t, first + len(stages) + 1 + i, int(df[f"n_{a}"].sum()), total=True)
    c.count(t, first + len(stages) + 5, n_planning, total=True)
    _page_setup(ws, ctx, h, h, freeze_col=min(len(keys), 2))
    ws.autofilter(h, 0, t - 1, len(headers) - 1)


#: グラフ sheet geometry, as the summary workbook's: charts in A:J (printed, A4 portrait),
#: their data tables from column L (not printed).
CHART_COLUMNS = 10
CHART_WIDTH = 660
CHART_ROW_PX = 20


def _sheet_charts(wb: Any, ws: Any, ctx: _Context, prefs: "pd.DataFrame",
                  by_category: "pd.DataFrame") -> None:
    """Two native charts: 執行率 by prefecture (highest first; prefectures with a rate) and
    計画（現在） against 実績 by 大項目; their data beside them, outside the print area."""
    s = ctx.styles
    w = _Writer(ws, ctx)
    _head(ws, ctx, "グラフ", ["執行率は実績 ÷ 計画（現在）、実績を受理した都道府県のみ、高い順。",
                            "グラフの元データは右側の表（L 列から、印刷範囲外）。"])
    ws.set_column(0, CHART_COLUMNS - 1, 9.0)
    tab = CHART_COLUMNS + 1
    ws.set_column(tab, tab, 30)
    ws.set_column(tab + 1, tab + 2, 16)
    font = {"name": FONT, "size": 9}
    title_font = {"name": FONT, "size": 12, "bold": True}
    h = TABLE_HEADER_ROW - 1

    # 計画 against 実績 by 大項目 (values in the display unit, from unrounded figures)
    w.text(h, tab, "区分（大項目）", s.header)
    w.text(h, tab + 1, f"計画（現在）（{ctx.unit}）", s.header)
    w.text(h, tab + 2, f"実績（{ctx.unit}）", s.header)
    cats = _records(by_category)
    for i, row in enumerate(cats, start=h + 1):
        w.text(i, tab, row["category"], s.text)
        w.money(i, tab + 1, row["plan_fund"], s.money)
        w.money(i, tab + 2, row["actual_fund"], s.money)
    first, last = h + 1, h + len(cats)
    ch = wb.add_chart({"type": "column"})
    for k, (name, colour) in enumerate((("計画（現在）", "#5B9BD5"), ("実績", "#ED7D31"))):
        ch.add_series({"name": name, "categories": [ws.name, first, tab, last, tab],
                       "values": [ws.name, first, tab + 1 + k, last, tab + 1 + k],
                       "fill": {"color": colour}, "gap": 80,
                       "data_labels": {"value": True, "num_format": ctx.num_format,
                                       "font": font}})
    ch.set_title({"name": f"大項目別 計画（現在）と実績 基金 (A+B)（{ctx.unit}）",
                  "name_font": title_font})
    ch.set_legend({"position": "bottom", "font": font})
    ch.set_x_axis({"num_font": font, "interval_unit": 1})
    ch.set_y_axis({"num_font": font, "num_format": ctx.num_format,
                   "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    height1 = 360
    ch.set_size({"width": CHART_WIDTH, "height": height1})
    ch.set_chartarea({"border": {"none": True}})
    ws.insert_chart(h, 0, ch, {"x_offset": 4, "y_offset": 0, "object_position": 3})

    # 執行率 by prefecture, highest first
    start = last + 3
    rated = prefs[prefs["rate_plan"].notna()].copy()
    rated = rated.sort_values(["rate_plan", "prefecture_code"], ascending=[False, True],
                              kind="stable")
    w.text(start, tab, "都道府県（執行率の高い順）", s.header)
    w.text(start, tab + 1, "執行率（実績÷計画）", s.header)
    rate_fmt = ctx.cells.add_format({"font_name": FONT, "font_size": 10, "border": 1,
                                     "border_color": "#A6A6A6", "num_format": RATE_FORMAT})
    for i, row in enumerate(_records(rated), start=start + 1):
        w.text(i, tab, row["label"], s.text)
        w.number(i, tab + 1, float(row["rate_plan"]), rate_fmt)
    row2 = h + -(-(height1 + 20) // CHART_ROW_PX)
    last_row = row2
    if len(rated):
        ch2 = wb.add_chart({"type": "bar"})
        ch2.add_series({"name": "執行率", "categories": [ws.name, start + 1, tab,
                                                       start + len(rated), tab],
                        "values": [ws.name, start + 1, tab + 1, start + len(rated), tab + 1],
                        "fill": {"color": "#5B9BD5"}, "gap": 60,
                        "data_labels": {"value": True, "num_format": RATE_FORMAT,
                                        "font": {"name": FONT, "size": 8}}})
        ch2.set_title({"name": "都道府県別 執行率（実績 ÷ 計画（現在））", "name_font": title_font})
        ch2.set_legend({"none": True})
        ch2.set_y_axis({"num_font": {"name": FONT, "size": 8}, "interval_unit": 1,
                        "reverse": True, "crossing": "max"})
        ch2.set_x_axis({"num_font": font, "num_format": "0%",
                        "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
        height2 = min(960, 120 + 19 * len(rated))
        ch2.set_size({"width": CHART_WIDTH, "height": height2})
        ch2.set_chartarea({"border": {"none": True}})
        ws.set_h_pagebreaks([row2])
        ws.insert_chart(row2, 0, ch2, {"x_offset": 4, "y_offset": 0, "object_position": 3})
        last_row = row2 + -(-height2 // CHART_ROW_PX)
    else:
        w.text(start + 1, tab, "実績を受理した都道府県がありません。", s.warn)
    ws.print_area(0, 0, last_row, CHART_COLUMNS - 1)
    ws.set_portrait()
    ws.set_paper(A4)
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    _header_footer(ws, ctx, "グラフ")


#: 出典's names of the roles a submission plays.
ROLE_JA = {"request": "要望", "allocation": "内示", "plan_first": "計画（当初）",
           "plan": "計画（現在）", "actual": "実績"}


def _sheet_sources(ws: Any, ctx: _Context, track: "Track") -> None:
    """出典: how the workbook was made and every submission it uses."""
    from budget.analysis.track import STAGE_JA, round_label
    from budget.fiscal import full_label, local_time, short_time
    from budget.prefectures import prefecture_by_code

    s = ctx.styles
    w = _Writer(ws, ctx)
    w.text(0, 0, f"{ctx.title_prefix} 出典（この執行管理表の作り方と使った提出）", s.title)
    ws.set_row(0, 22)
    rows = [("作成日時", f"{ctx.now:%Y-%m-%d %H:%M:%S %z}"),
            ("作成コマンド", ctx.command_line or "（ライブラリから作成）"),
            ("budget の版", __version__), ("基金の年度", full_label(track.fiscal_year)),
            ("データベース", ctx.db_path), ("表示単位", ctx.unit),
            ("執行率の注意の基準", f"{track.low_rate:g}% 未満")]
    cols = [("段階", 12), ("提出の段階", 8), ("都道府県", 12), ("内示の回", 8), ("執行年度", 8),
            ("提出ID", 7), ("ファイル名", 36), ("受信日時", 18), ("SHA-256", 50)]
    for c, (_, width) in enumerate(cols):
        ws.set_column(c, c, width)
    r = 2
    for label, value in rows:
        w.merge(r, 0, 1, label, s.key)
        w.merge(r, 2, 6, value, s.wrap)
        r += 1
    r += 1
    h = r
    for c, (label, _) in enumerate(cols):
        w.text(h, c, label, s.header)
    used = _records(track.used)
    for r, row in enumerate(used, start=h + 1):
        pref = prefecture_by_code(str(row["prefecture_code"] or ""))
        w.text(r, 0, ROLE_JA.get(str(row["role"]), row["role"]), s.text)
        w.text(r, 1, STAGE_JA.get(str(row["stage"]), row["stage"]), s.text)
        w.text(r, 2, pref.label if pref else "（全都道府県）", s.text)
        w.text(r, 3, round_label(str(row["round"])) if row["round"] is not None else None,
               s.text)
        w.number(r, 4, row["exec_year"], s.count)
        w.number(r, 5, row["submission_id"], s.count)
        w.text(r, 6, row["file_name"], s.text)
        w.text(r, 7, short_time(local_time(row["received_at"])), s.text)
        w.text(r, 8, row["sha256"], s.hash)
    if used:
        ws.autofilter(h, 0, h + len(used), len(cols) - 1)
    _page_setup(ws, ctx, h, h, money=False)


#: The tidy table's formats (``budget track --format``).
TIDY_FORMATS = ("csv", "json")
_INTEGER_KEYS = frozenset(("fiscal_year", "exec_year", "item_no", "submission_id", "fund",
                           "national", "prefectural", "other", "total"))


def track_tidy_file_name(fiscal_year: int, fmt: str) -> str:
    """``R5_執行管理_明細.csv`` / ``.json``."""
    from budget.fiscal import era_code

    return f"{era_code(fiscal_year)}_執行管理_明細.{fmt}"


def render_track_tidy(track: "Track", fmt: str, *, now: dt.datetime | None = None) -> bytes:
    """The tidy table's bytes as ``fmt`` ("csv" or "json"; else ``UsageError``): money in
    千円, blank stays blank / null; texts as sent in the JSON, neutralised in the CSV."""
    import json

    from budget.analysis import track as tr
    from budget.fiscal import era_label
    from budget.textsafe import neutralise

    df = tr.tidy_track(track)
    if fmt == "csv":
        out = df.copy()
        for col in out.columns:
            if out[col].dtype == object:
                out[col] = out[col].map(lambda v: v if is_missing(v) else neutralise(str(v)))
        text = out.rename(columns=tr.TIDY_COLUMNS).to_csv(index=False, lineterminator="\r\n")
        return text.encode("utf-8-sig")
    if fmt == "json":
        now = now or dt.datetime.now().astimezone()
        records = [{k: (None if is_missing(v) else int(v) if k in _INTEGER_KEYS else v)
                    for k, v in row.items()} for row in df.to_dict("records")]
        doc = {
            "fiscal_year": track.fiscal_year,
            "fiscal_year_label": era_label(track.fiscal_year),
            "unit": "千円",
            "generated_at": now.isoformat(timespec="seconds"),
            "tool_version": __version__,
            "rounds": track.rounds,
            "missing": {s: labels for s, labels in tr.missing_by_stage(track).items()},
            "stages": tr.TIDY_STAGES,
            "columns": tr.TIDY_COLUMNS,
            "rows": records,
        }
        return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    raise UsageError(f"形式「{fmt}」は使えません（csv または json）。")


def write_track_tidy(track: "Track", path: str | Path, fmt: str, *,
                     now: dt.datetime | None = None) -> Written:
    """Write the tidy table as ``fmt`` to ``path`` atomically."""
    path = Path(path)
    data = render_track_tidy(track, fmt, now=now)
    return Written(f"執行管理 明細 {fmt.upper()}", write_bytes_atomically(path, data), path)
