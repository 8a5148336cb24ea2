"""render: the summary workbook, the tidy CSV/JSON, the files of a run, and `budget aggregate`.

The store holds synthetic accepted plans (``budget.demo.sample_plan`` values), one rejected
submission and two prefectures missing. Expected figures are summed here from those plan
values with plain Python; the workbook is read back with openpyxl.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import random
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from budget import __version__
from budget.analysis.summary import MONEY_LABELS, load_summary
from budget.cli import cli
from budget.demo import sample_plan, synthetic_submission
from budget.findings import FileReport, make
from budget.forms import plan as layout
from budget.menu import load_menu, menu_fingerprint
from budget.prefectures import all_prefectures
from budget.render import summary_workbook as report
from budget.reports import write_reports
from budget.store import open_store
from tests.conftest import expected_money
from tests.libreoffice import convert, pdf_page_count, requires_libreoffice

YEAR = 2023
MISSING = ("30", "46")
REJECTED = "05"
HOSTILE = "13"  # Tokyo's texts are hostile
HYPERLINK = '=HYPERLINK("http://evil","x")'
HARMLESS = {"remarks": "-", "implementer": "+81-3-0000-0000 窓口"}  # formula-like, harmless
JOINT = "共管: 老健局認知症施策・地域介護推進課／老健局老人保健課"
MONEY = layout.MONEY_KEYS
NOW = dt.datetime(2024, 3, 1, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=9)))
H = report.TABLE_HEADER_ROW


# --- the data and the independent expectations -----------------------------------------


@pytest.fixture(scope="module")
def menu():
    return load_menu(YEAR)


@pytest.fixture(scope="module")
def plans(menu):
    rng = random.Random(11)
    out = {}
    for p in all_prefectures():
        if p.code in MISSING or p.code == REJECTED:
            continue
        out[p.code] = sample_plan(menu, p.code, rng)
    tokyo = out[HOSTILE]
    first, second = sorted(tokyo.rows)[:2]
    tokyo.rows[first]["output"] = HYPERLINK
    tokyo.rows[second].update(HARMLESS)
    tokyo.header["department"] = "=cmd|' /C calc'!A0"
    return out


@pytest.fixture(scope="module")
def db(tmp_path_factory, menu, plans):
    path = tmp_path_factory.mktemp("report") / "budget.db"
    with open_store(path) as store:
        for code, values in plans.items():
            rep, content = synthetic_submission(menu, code, values)
            store.save(rep, content, received_at="2023-06-01T00:00:00+00:00")
        content = b"rejected file"
        bad = FileReport(file="05_秋田県_R5_計画.xlsx", sha256=hashlib.sha256(content).hexdigest(),
                         size=len(content), fiscal_year=YEAR, prefecture_code=REJECTED,
                         findings=[make("negative-amount", file="05.xlsx", sheet="計画",
                                        cell="I8", leaf_code="R5-01", leaf_name="x",
                                        value="-500")])
        store.save(bad, content, received_at="2023-06-02T00:00:00+00:00")
    return path


@pytest.fixture(scope="module")
def expected(menu, plans):
    """Sums by hand: by category, (category, mid), leaf, owner, prefecture, and grand."""
    info = {r.leaf_code: r for r in menu.itertuples(index=False)}

    def owner(leaf):
        names = info[leaf].bureaus.split(";")
        return names[0] if len(names) == 1 else "共管: " + "／".join(names)

    sums = defaultdict(lambda: defaultdict(int))
    seen = defaultdict(lambda: defaultdict(bool))
    prefs = defaultdict(set)
    for code, values in plans.items():
        for leaf, row in values.rows.items():
            if not any(row.get(k) is not None for k in layout.AMOUNT_KEYS):
                continue
            m = info[leaf]
            groups = [("grand", None), ("category", m.category),
                      ("mid", (m.category, m.mid_category)), ("leaf", leaf),
                      ("owner", owner(leaf)), ("pref", code), ("cell", (code, leaf)),
                      ("pcat", (code, m.category))]
            for group in groups:
                prefs[group].add(code)
                for key in MONEY:
                    v = expected_money(row, key)
                    if v is not None:
                        sums[group][key] += v
                        seen[group][key] = True

    def get(group, key):
        return sums[group][key] if seen[group][key] else None

    get.n = lambda group: len(prefs[group])
    return get


@pytest.fixture(scope="module")
def summary(db, menu):
    with open_store(db) as store:
        return load_summary(store, YEAR, menu)


@pytest.fixture(scope="module")
def workbook(tmp_path_factory, summary, db):
    path = tmp_path_factory.mktemp("wb") / "summary.xlsx"
    written = report.write_summary_workbook(summary, path, command_line="budget aggregate --x",
                                            now=NOW, db_path=db)
    assert written.path == path and not written.fallback
    return path


@pytest.fixture(scope="module")
def wb(workbook):
    return openpyxl.load_workbook(workbook)


def table(ws, first_header: str):
    """(headers, {value of the first column: {header: value}}, the total row)."""
    headers = next(ws.iter_rows(min_row=H, max_row=H, values_only=True))
    assert headers[0] == first_header, headers
    rows, total = {}, None
    for cells in ws.iter_rows(min_row=H + 1, values_only=True):
        record = dict(zip(headers, cells))
        if cells[0] == report.TOTAL_LABEL:
            total = record
            break
        rows[cells[0]] = record
    return headers, rows, total


# --- the summary workbook --------------------------------------------------------------


def test_sheets_in_order(wb):
    assert wb.sheetnames == list(report.SHEETS)


def test_headline_figures(wb, expected, summary):
    ws = wb["総括"]
    values = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(H + 1, H + 9)}
    for key in MONEY:
        assert values[MONEY_LABELS[key]] == expected(("grand", None), key), key
    text = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(1, ws.max_row + 1)}
    assert text["集計対象の都道府県数"] == "44 / 47"
    assert text["未提出の都道府県"] == "和歌山県、鹿児島県"
    assert text["差戻しの都道府県"] == "秋田県"
    assert text["作成日時"] == "2024-03-01 10:30:00 (+09:00)"
    assert text["budget の版"] == __version__
    assert ws["A2"].value == "（単位：千円）"


def test_category_sheet(wb, expected):
    _, rows, total = table(wb["大項目別"], "区分（大項目）")
    assert list(rows) == ["基盤整備", "参入促進", "資質の向上", "労働環境・処遇の改善"]
    for cat, rec in rows.items():
        for key in MONEY:
            assert rec[MONEY_LABELS[key]] == expected(("category", cat), key), (cat, key)
        assert rec[report.N_PREF_HEADER] == expected.n(("category", cat))
        fund = expected(("category", cat), "fund")
        assert rec[report.SHARE_HEADER] == pytest.approx(fund / expected(("grand", None), "fund"))
    for key in MONEY:
        assert total[MONEY_LABELS[key]] == expected(("grand", None), key)
    assert sum(r[MONEY_LABELS["fund"]] for r in rows.values()) == total[MONEY_LABELS["fund"]]
    assert total[report.N_PREF_HEADER] == 44


def _planned_leaves(menu, plans, key):
    """Independent recount: the menu's leaves per ``key`` value, and those any included
    prefecture planned (an amount entered, 0 included)."""
    info = {r.leaf_code: getattr(r, key) for r in menu.itertuples(index=False)}
    in_menu, planned = defaultdict(set), defaultdict(set)
    for leaf, value in info.items():
        in_menu[value].add(leaf)
    for values in plans.values():
        for leaf, row in values.rows.items():
            if any(row.get(k) is not None for k in layout.AMOUNT_KEYS):
                planned[info[leaf]].add(leaf)
    return in_menu, planned


def test_category_sheet_counts_menu_and_planned_leaves(wb, menu, plans, tmp_path):
    """大項目別 shows both counts, labelled: the menu's leaves and the planned ones (issue
    12, item 18: 事業数 counted menu items only, under a label that read as planned).
    One prefecture's plan, so that the planned leaves are fewer than the menu's."""
    db = tmp_path / "one.db"
    one = {"01": plans["01"]}
    with open_store(db) as store:
        store.save(*synthetic_submission(menu, "01", one["01"]))
        summ = load_summary(store, YEAR, menu)
    path = report.write_summary_workbook(summ, tmp_path / "one.xlsx", now=NOW).path
    small = openpyxl.load_workbook(path)
    headers, rows, total = table(small["大項目別"], "区分（大項目）")
    assert headers[1:3] == (report.N_LEAVES_HEADER, report.N_PLANNED_HEADER)
    in_menu, planned = _planned_leaves(menu, one, "category")
    assert any(len(planned[c]) < len(in_menu[c]) for c in in_menu)  # the two differ
    for cat, rec in rows.items():
        assert rec[report.N_LEAVES_HEADER] == len(in_menu[cat]), cat
        assert rec[report.N_PLANNED_HEADER] == len(planned[cat]), cat
    assert total[report.N_LEAVES_HEADER] == len(menu)
    assert total[report.N_PLANNED_HEADER] == sum(len(v) for v in planned.values())
    notes = " ".join(str(small["大項目別"].cell(r, 1).value) for r in range(1, H))
    assert report.N_PLANNED_HEADER in notes and report.N_LEAVES_HEADER in notes
    # the same two counts on 中項目別 and 担当課別; with every prefecture, as many planned
    # leaves in total as any prefecture planned
    _, planned_all = _planned_leaves(menu, plans, "category")
    assert table(wb["大項目別"], "区分（大項目）")[2][report.N_PLANNED_HEADER] == sum(
        len(v) for v in planned_all.values())
    for name in ("中項目別", "担当課別"):
        headers = [c.value for c in wb[name][H]]
        assert report.N_LEAVES_HEADER in headers and report.N_PLANNED_HEADER in headers, name


def test_mid_category_sheet(wb, expected):
    ws = wb["中項目別"]
    headers = [c.value for c in ws[H]]
    seen = 0
    for cells in ws.iter_rows(min_row=H + 1, values_only=True):
        rec = dict(zip(headers, cells))
        if cells[0] == report.TOTAL_LABEL:
            assert rec[MONEY_LABELS["fund"]] == expected(("grand", None), "fund")
            break
        mid = "" if rec["中項目"] == "（中項目なし）" else rec["中項目"]
        assert rec[MONEY_LABELS["fund"]] == expected(("mid", (rec["区分（大項目）"], mid)), "fund")
        seen += 1
    assert seen == 13


def test_leaf_sheet(wb, expected, menu):
    _, rows, total = table(wb["事業別"], "事業コード")
    assert list(rows) == menu["leaf_code"].tolist()
    for leaf, rec in rows.items():
        for key in MONEY:
            assert rec[MONEY_LABELS[key]] == expected(("leaf", leaf), key), (leaf, key)
        assert rec[report.N_PREF_HEADER] == expected.n(("leaf", leaf))
    assert rows["R5-26"]["担当課"] == JOINT
    assert rows["R5-06-イ"]["細目"] == "イ 助け合いによる生活支援の担い手の養成事業"
    assert total[MONEY_LABELS["total"]] == expected(("grand", None), "total")


def test_bureau_sheet_adds_up_and_counts_item_26_once(wb, expected):
    _, rows, total = table(wb["担当課別"], "担当課")
    assert list(rows) == ["社会・援護局福祉基盤課", "老健局認知症施策・地域介護推進課",
                          "老健局高齢者支援課", "老健局老人保健課", JOINT]
    for owner, rec in rows.items():
        for key in MONEY:
            assert rec[MONEY_LABELS[key]] == expected(("owner", owner), key), (owner, key)
    fund = MONEY_LABELS["fund"]
    assert sum(r[fund] for r in rows.values()) == expected(("grand", None), "fund")
    assert total[fund] == expected(("grand", None), "fund")
    assert rows[JOINT][fund] == expected(("leaf", "R5-26"), "fund")
    assert rows[JOINT][report.N_LEAVES_HEADER] == 1
    notes = " ".join(str(wb["担当課別"].cell(r, 1).value) for r in range(1, H))
    assert "共管: 課名／課名" in notes and "二重計上" in notes


def test_prefecture_sheet_shows_missing_as_blank(wb, expected):
    _, rows, total = table(wb["都道府県別"], "コード")
    assert len(rows) == 47
    fund = MONEY_LABELS["fund"]
    for code, rec in rows.items():
        if code in MISSING:
            assert rec["提出状況"] == "未提出" and rec[fund] is None
        elif code == REJECTED:
            assert rec["提出状況"] == "差戻し" and rec[fund] is None
        else:
            assert rec["提出状況"] == "受理"
            for key in MONEY:
                assert rec[MONEY_LABELS[key]] == expected(("pref", code), key), (code, key)
    assert total[fund] == expected(("grand", None), "fund")


def test_prefecture_leaf_matrix(wb, expected, menu):
    ws = wb["都道府県×事業"]
    leaves = menu["leaf_code"].tolist()
    assert ws.cell(H, 4).value.startswith("1 介護人材確保対策連携強化事業")
    assert ws.cell(H, 3 + leaves.index("R5-26") + 1).value.endswith("（共管）")
    codes = [p.code for p in all_prefectures()]
    for i, code in enumerate(codes):
        r = H + 1 + i
        assert ws.cell(r, 1).value == code
        for j, leaf in enumerate(leaves):
            assert ws.cell(r, 4 + j).value == expected(("cell", (code, leaf)), "fund"), (code, leaf)
        assert ws.cell(r, 4 + len(leaves)).value == expected(("pref", code), "fund")
    total_row = H + 1 + 47
    assert ws.cell(total_row, 1).value == report.TOTAL_LABEL
    assert ws.cell(total_row, 4 + len(leaves)).value == expected(("grand", None), "fund")
    # one colour scale per item column, over the 47 rows only (not the totals)
    letters = [openpyxl.utils.get_column_letter(4 + j) for j in range(len(leaves))]
    rules = list(ws.conditional_formatting)
    assert [str(cf.sqref) for cf in rules] == [f"{c}{H + 1}:{c}{H + 47}" for c in letters]
    for cf in rules:
        (rule,) = cf.rules
        assert rule.type == "colorScale"
        assert [v.type for v in rule.colorScale.cfvo] == ["min", "percentile", "max"]
    # printed on A3 landscape: the 47 rows on one page height, 3 pages across, the
    # prefecture columns and the header row on every page
    assert ws.page_setup.paperSize == report.A3 and ws.page_setup.orientation == "landscape"
    assert ws.page_setup.fitToWidth == 3 and ws.page_setup.fitToHeight in (None, 1)
    assert ws.print_title_cols == "$A:$C" and ws.print_title_rows == f"${H}:${H}"


def test_prefecture_category_matrix(wb, expected):
    ws = wb["都道府県×大項目"]
    cats = ["基盤整備", "参入促進", "資質の向上", "労働環境・処遇の改善"]
    assert [ws.cell(H, 4 + j).value for j in range(4)] == cats
    for i, p in enumerate(all_prefectures()):
        for j, cat in enumerate(cats):
            assert ws.cell(H + 1 + i, 4 + j).value == expected(("pcat", (p.code, cat)), "fund")
    assert [str(cf.sqref) for cf in ws.conditional_formatting] == [
        f"{c}{H + 1}:{c}{H + 47}" for c in "DEFG"]
    # four columns: one A4 portrait page
    assert ws.page_setup.paperSize == report.A4 and ws.page_setup.orientation == "portrait"
    assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight in (None, 1)


def test_submission_sheet(wb, db):
    _, rows, _ = table(wb["提出状況"], "コード")
    assert len(rows) == 47
    assert rows["30"]["状況"] == "未提出" and rows["30"]["ファイル名"] is None
    assert rows["05"]["状況"] == "差戻し"
    assert rows["05"]["SHA-256"] == hashlib.sha256(b"rejected file").hexdigest()
    assert rows["01"]["状況"] == "受理" and rows["01"]["ファイル名"] == "01_北海道_R5_計画.xlsx"
    with open_store(db) as store:
        sha = store.submissions(YEAR).set_index("prefecture_code").loc["01", "sha256"]
    assert rows["01"]["SHA-256"] == sha
    # a hostile contact text arrives as inert text, shown exactly as typed
    cell = next(c for c in wb["提出状況"]["K"] if c.value and "cmd" in str(c.value))
    assert cell.data_type == "s" and cell.value == "=cmd|' /C calc'!A0" and cell.quotePrefix


def key_values(ws) -> dict:
    """The 出典 sheet's label (A) → value (D) rows."""
    return {r[0]: r[3] for r in ws.iter_rows(max_col=4, values_only=True) if r[0]}


def test_sources_sheet(wb, db, menu):
    ws = wb["出典"]
    kv = key_values(ws)
    assert kv["作成コマンド"] == "budget aggregate --x"
    assert kv["メニュー識別子"] == menu_fingerprint(menu)
    assert kv["様式の版"] == layout.TEMPLATE_VERSION
    assert kv["budget の版"] == __version__
    assert kv["データベース"] == str(db)
    assert kv["この年度の提出"] == ("45 件（使用 44 件、不使用 1 件 = 差戻し 1 件 + "
                                "新しい提出に置き換え済み 0 件）")
    # every submission of the year with its hash, and whether and why it is used
    start = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 5).value == "SHA-256")
    headers = [c.value for c in ws[start]]
    assert headers[-3:] == ["判定", "集計での扱い", "理由"]
    listed = {}
    for cells in ws.iter_rows(min_row=start + 1, values_only=True):
        if cells[4] is None:
            break
        listed[cells[4]] = dict(zip(headers, cells))
    with open_store(db) as store:
        subs = store.submissions(YEAR)
    assert set(listed) == set(subs["sha256"]) and len(listed) == 45
    for sha, status, name in zip(subs["sha256"], subs["status"], subs["file_name"]):
        rec = listed[sha]
        assert rec["ファイル名"] == name
        if status == "accepted":
            assert (rec["判定"], rec["集計での扱い"]) == ("受理", "使用"), name
        else:
            assert (rec["判定"], rec["集計での扱い"]) == ("差戻し", "不使用"), name
    bad = listed[hashlib.sha256(b"rejected file").hexdigest()]
    assert bad["理由"].startswith("差戻し（エラー 1 件）: ") and "負の値" in bad["理由"]


def test_sources_names_the_menu_not_where_it_is_installed(wb, menu):
    value = key_values(wb["出典"])["メニュー（事業一覧）"]
    assert value == (f"令和5年度（2023年度） R5.csv（budget {__version__} 同梱のメニュー、"
                     f"メニュー識別子 {menu_fingerprint(menu)}）")
    source = str(menu.attrs["source"])
    assert source not in value and "/" not in value and "\\" not in value


def test_bureau_chart_is_sorted_by_amount(wb, expected):
    ws = wb["グラフ"]
    col = report.CHART_COLUMNS + 2  # L: labels, M: amounts (1-based)
    head = next(r for r in range(1, ws.max_row + 1)
                if str(ws.cell(r, col).value or "").startswith("担当課"))
    labels, amounts = [], []
    for r in range(head + 1, ws.max_row + 1):
        if ws.cell(r, col).value is None:
            break
        labels.append(ws.cell(r, col).value)
        amounts.append(ws.cell(r, col + 1).value)
    assert len(labels) == 5 and amounts == sorted(amounts, reverse=True)
    assert amounts == [expected(("owner", o), "fund") for o in labels]


def test_charts_without_an_accepted_plan_say_no_data(tmp_path, menu):
    """No accepted plan (only a rejected one): no empty chart frames, each chart's place
    says データなし."""
    db = tmp_path / "empty.db"
    with open_store(db) as store:
        content = b"rejected file"
        store.save(FileReport(file="05_秋田県_R5_計画.xlsx",
                              sha256=hashlib.sha256(content).hexdigest(), size=len(content),
                              fiscal_year=YEAR, prefecture_code=REJECTED,
                              findings=[make("negative-amount", file="05.xlsx", sheet="計画",
                                             cell="I8", leaf_code="R5-01", leaf_name="x",
                                             value="-500")]), content)
        summ = load_summary(store, YEAR, menu)
    path = report.write_summary_workbook(summ, tmp_path / "s.xlsx", now=NOW).path
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        assert not [n for n in names if n.startswith("xl/charts/")]
        drawing = z.read("xl/drawings/drawing1.xml").decode()
    assert drawing.count(report.NO_DATA) == 3
    for title in ("大項目別 基金計 (A+B)", "担当課別 基金計 (A+B)", "都道府県別 基金計 (A+B)"):
        assert title in drawing


def test_hostile_text_is_inert_in_detail_sheet(wb):
    ws = wb["明細"]
    cells = [c for row in ws.iter_rows() for c in row if c.value and "HYPERLINK" in str(c.value)]
    assert len(cells) == 1
    # a text cell shown as typed (no apostrophe), kept text on edit by the quote prefix
    assert cells[0].data_type == "s" and cells[0].value == HYPERLINK
    assert cells[0].quotePrefix
    # harmless formula-like texts are unchanged too; ordinary text has no quote prefix
    for text in HARMLESS.values():
        (cell,) = [c for row in ws.iter_rows() for c in row if c.value == text]
        assert cell.data_type == "s" and cell.quotePrefix, text
    plain = next(c for c in ws[H + 1] if c.value == "北海道")
    assert not plain.quotePrefix


def test_no_formulas_or_links_anywhere(workbook):
    with zipfile.ZipFile(workbook) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        for name in sheets:
            xml = z.read(name).decode()
            assert "<f>" not in xml and "<hyperlink" not in xml, name


def test_charts_present(workbook):
    with zipfile.ZipFile(workbook) as z:
        charts = sorted(n for n in z.namelist() if n.startswith("xl/charts/chart"))
        assert charts == ["xl/charts/chart1.xml", "xl/charts/chart2.xml", "xl/charts/chart3.xml"]
        kinds = [z.read(n).decode() for n in charts]
    assert "<c:barDir val=\"col\"/>" in kinds[0]
    assert all("<c:barDir val=\"bar\"/>" in k for k in kinds[1:])
    # every category labelled (LibreOffice skips every other label otherwise)
    assert all('<c:tickLblSkip val="1"/>' in k for k in kinds)
    with zipfile.ZipFile(workbook) as z:
        drawing = z.read("xl/drawings/drawing1.xml").decode()
        sheet = z.read("xl/worksheets/sheet2.xml").decode()  # グラフ
    # each chart within the printed columns A:J and one A4 portrait page height (rows of
    # 20 px), the 都道府県 chart starting the second page
    anchors = [tuple(map(int, m)) for m in re.findall(
        r"<xdr:from><xdr:col>(\d+)</xdr:col>.*?<xdr:row>(\d+)</xdr:row>.*?"
        r"<xdr:to><xdr:col>(\d+)</xdr:col>.*?<xdr:row>(\d+)</xdr:row>", drawing)]
    assert len(anchors) == 3
    (page_break,) = map(int, re.findall(r'<brk id="(\d+)"', sheet))
    for from_col, from_row, to_col, to_row in anchors:
        assert from_col == 0 and to_col < report.CHART_COLUMNS
        assert (to_row - from_row + 1) * report.CHART_ROW_PX <= report.PAGE_PX
    assert anchors[1][3] < page_break == anchors[2][1]


def test_layout_print_and_font(wb):
    special = {"グラフ": ("portrait", report.A4), "都道府県×事業": ("landscape", report.A3),
               "都道府県×大項目": ("portrait", report.A4), "出典": ("landscape", report.A3)}
    for name in report.SHEETS:
        ws = wb[name]
        orientation, paper = special.get(name, ("landscape", report.A4))
        assert ws.page_setup.orientation == orientation, name
        assert ws.page_setup.paperSize == paper, name
        assert ws.sheet_properties.pageSetUpPr.fitToPage, name
        if name not in ("都道府県×事業", "都道府県×大項目"):
            assert ws.page_setup.fitToWidth in (None, 1), name  # 1 is the default, omitted
            assert ws.page_setup.fitToHeight == 0, name  # as many pages down as needed
        assert "&P" in ws.oddFooter.center.text, name
        assert ws.oddHeader.left.text.startswith("令和5年度（2023年度）"), name
        assert ws.oddHeader.right.text.startswith(name), name
    for name in ("大項目別", "事業別", "都道府県別", "都道府県×事業", "明細", "提出状況"):
        ws = wb[name]
        assert ws.print_title_rows == f"${H}:${H}", name
        assert ws.freeze_panes.endswith(str(H + 1)), name
    # グラフ: prints the charts' columns only (A:J), the 都道府県 chart on a page of its own
    ws = wb["グラフ"]
    assert ws.print_area == "'グラフ'!$A$1:$J$" + str(ws.print_area.rsplit("$", 1)[1])
    assert len(ws.row_breaks.brk) == 1
    # the wide matrix: a short title block in the columns repeated on every page (A:C,
    # rows 1-5), the full title right of it; rotated headers at a readable size
    ws = wb["都道府県×事業"]
    assert f"A1:C{H - 1}" in [str(r) for r in ws.merged_cells.ranges]
    assert ws["A1"].value == "都道府県×事業\n基金計 (A+B)\n（単位：千円）"
    assert ws["A1"].alignment.wrap_text
    assert ws["D1"].value.endswith("都道府県×事業 基金計 (A+B)")
    assert ws.print_title_cols == "$A:$C"
    assert all(ws.cell(H, c).font.size >= 10 for c in range(4, 4 + len(wb["事業別"]["A"]) - H - 1))
    # the narrow one prints on one page: its title and notes wrap inside the printed columns
    ws = wb["都道府県×大項目"]
    assert "A1:H1" in [str(r) for r in ws.merged_cells.ranges]  # 3 + 4 大項目 + 合計
    assert ws["A1"].alignment.wrap_text and ws.row_dimensions[1].height > 22
    ws = wb["大項目別"]
    assert ws.cell(H + 1, 4).font.name == "游ゴシック"
    assert ws.cell(H + 1, 4).number_format == "#,##0"
    assert "（単位：千円）" in ws["A2"].value


# --- units, bureau workbooks, tidy table ---------------------------------------------


def test_unit_oku_converts_and_labels_every_sheet(tmp_path, summary, expected):
    path = tmp_path / "oku.xlsx"
    report.write_summary_workbook(summary, path, unit="億円", now=NOW)
    wb = openpyxl.load_workbook(path, read_only=True)
    for name in report.SHEETS:
        if name == "都道府県×事業":  # the title block in A:C, the full title from D
            assert wb[name]["A1"].value.endswith("（単位：億円）")
            assert "（単位：億円）" in wb[name]["D2"].value
        elif name != "出典":
            assert "（単位：億円）" in wb[name]["A2"].value, name
    grand = expected(("grand", None), "fund")
    row = next(r for r in wb["総括"].iter_rows(min_row=H + 1, max_row=H + 8)
               if r[0].value == MONEY_LABELS["fund"])
    assert row[1].value == pytest.approx(grand / 100_000)
    assert row[1].number_format == "#,##0.00"
    assert row[2].value == grand  # the 千円 figure beside it
    _, rows, total = table(wb["大項目別"], "区分（大項目）")
    fund = MONEY_LABELS["fund"]
    assert sum(r[fund] for r in rows.values()) == pytest.approx(total[fund])
    assert total[fund] * 100_000 == pytest.approx(grand)


def test_tidy_csv_and_json(tmp_path, summary, plans):
    written = write_reports(summary, tmp_path, formats=("csv", "json"), now=NOW)
    csv_path, json_path = written[1].path, written[2].path
    assert csv_path.name == "R5_集計_明細.csv" and json_path.name == "R5_集計_明細.json"
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    n_planned = sum(len(v.rows) for v in plans.values())
    assert len(rows) == n_planned
    assert list(rows[0])[:5] == ["年度", "都道府県コード", "都道府県", "都道府県（コード 名称）",
                                 "事業コード"]
    # the bare code "01" would open in Excel as the number 1; the label column keeps it
    hokkaido = next(r for r in rows if r["都道府県コード"] == "01")
    assert hokkaido["都道府県（コード 名称）"] == "01 北海道"
    assert not re.fullmatch(r"[-+]?[\d.,]+", hokkaido["都道府県（コード 名称）"])
    # formula-like texts get a leading apostrophe in the CSV (it has no cell types)
    hostile = [r for r in rows if "HYPERLINK" in r["事業量・アウトプット指標"]]
    assert [r["事業量・アウトプット指標"] for r in hostile] == ["'" + HYPERLINK]
    assert sum(r["備考"] == "'-" for r in rows) == 1
    fund_col = f"{MONEY_LABELS['fund']}（千円）"
    tokyo = sum(expected_money(row, "fund") for row in plans["13"].rows.values())
    assert sum(int(r[fund_col]) for r in rows if r["都道府県コード"] == "13") == tokyo
    doc = json.loads(json_path.read_text("utf-8"))
    assert doc["unit"] == "千円" and doc["missing_prefectures"] == list(MISSING)
    assert doc["rejected_prefectures"] == [REJECTED]
    assert len(doc["rows"]) == n_planned
    assert sum(r["fund"] for r in doc["rows"] if r["prefecture_code"] == "13") == tokyo
    # blank stays null, an entered 0 stays 0 (a known cell of each, from the plans)
    blank = next((c, leaf) for c, v in sorted(plans.items()) for leaf, r in sorted(v.rows.items())
                 if r.get("other") is None)
    zero = next((c, leaf) for c, v in sorted(plans.items()) for leaf, r in sorted(v.rows.items())
                if r.get("public") == 0)
    by_cell = {(r["prefecture_code"], r["leaf_code"]): r for r in doc["rows"]}
    assert by_cell[blank]["other"] is None and "other" in by_cell[blank]
    assert by_cell[zero]["public"] == 0
    assert by_cell[blank]["prefecture"] == f"{blank[0]} " + next(
        p.name_ja for p in all_prefectures() if p.code == blank[0])
    csv_cell = {(r["都道府県コード"], r["事業コード"]): r for r in rows}
    assert csv_cell[blank][f"{MONEY_LABELS['other']}（千円）"] == ""
    assert csv_cell[zero][f"{MONEY_LABELS['public']}（千円）"] == "0"


# --- atomic writing (the helper itself: tests/test_files.py) ----------------------------


def test_reports_of_a_run_are_readable_by_others(tmp_path, summary):
    old = os.umask(0o022)
    try:
        written = write_reports(summary, tmp_path, formats=("csv", "json"), now=NOW)
    finally:
        os.umask(old)
    assert [oct(stat.S_IMODE(w.path.stat().st_mode)) for w in written] == [oct(0o644)] * 3


def test_cli_reports_the_fallback(tmp_path, monkeypatch, db):
    out = tmp_path / "out"
    out.mkdir()
    (out / "R5_集計.xlsx").write_bytes(b"open")
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda s, d: (_ for _ in ()).throw(
        PermissionError(13, "denied")) if Path(d).name == "R5_集計.xlsx" else real(s, d))
    result = CliRunner().invoke(cli, ["aggregate", "--db", str(db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"集計表: {out / 'R5_集計(2).xlsx'}" in result.stdout
    assert "開かれているため置き換えられません" in result.stderr
    assert str(out / "R5_集計(2).xlsx") in result.stderr


# --- the command -----------------------------------------------------------------------


def test_cli_writes_and_lists_missing(tmp_path, db):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["aggregate", "--db", str(db), "--out", str(out),
                                      "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "令和5年度の集計: 集計対象 44 / 47 都道府県",
        "  未提出 2: 和歌山県、鹿児島県（集計に含みません）",
        "  差戻し（受理できる提出なし） 1: 秋田県（集計に含みません）",
        f"集計表: {out / 'R5_集計.xlsx'}",
        f"明細 CSV: {out / 'R5_集計_明細.csv'}",
    ]


def test_cli_strict_writes_then_exits_1(tmp_path, db):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["aggregate", "--db", str(db), "--out", str(out),
                                      "--strict"])
    assert result.exit_code == 1
    assert (out / "R5_集計.xlsx").is_file()
    assert "--strict: 未提出または差戻しの都道府県がある" in result.stderr


def test_cli_strict_passes_when_all_47_accepted(tmp_path, menu):
    db = tmp_path / "all.db"
    rng = random.Random(3)
    with open_store(db) as store:
        for p in all_prefectures():
            rep, content = synthetic_submission(menu, p.code, sample_plan(menu, p.code, rng))
            store.save(rep, content)
    result = CliRunner().invoke(cli, ["aggregate", "--db", str(db), "--out",
                                      str(tmp_path / "o"), "--strict"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("令和5年度の集計: 集計対象 47 / 47 都道府県\n集計表: ")


def test_cli_missing_db_is_an_error_not_a_new_store(tmp_path):
    db = tmp_path / "nope.db"
    result = CliRunner().invoke(cli, ["aggregate", "--db", str(db), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "データベース" in result.stderr and "budget ingest" in result.stderr
    assert not db.exists()


def test_cli_bad_unit_is_a_usage_error(tmp_path, db):
    result = CliRunner().invoke(cli, ["aggregate", "--db", str(db), "--unit", "円"])
    assert result.exit_code == 2


def test_cli_subprocess_by_bureau_and_unit(tmp_path, db, expected):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "budget", "aggregate", "--db", str(db), "--out", str(out),
         "--by-bureau", "--unit", "百万円"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    names = ["R5_集計（百万円）.xlsx", "R5_集計_福祉基盤課（百万円）.xlsx",
             "R5_集計_認知症施策・地域介護推進課（百万円）.xlsx", "R5_集計_高齢者支援課（百万円）.xlsx",
             "R5_集計_老人保健課（百万円）.xlsx"]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    assert proc.stdout.splitlines()[-5:] == [f"集計表: {out / names[0]}"] + [
        f"担当課別集計表: {out / n}" for n in names[1:]]
    wb = openpyxl.load_workbook(out / names[0], read_only=True)
    kv = key_values(wb["出典"])
    assert kv["作成コマンド"].startswith("budget aggregate --db")
    assert kv["表示単位"] == "百万円"
    fund = MONEY_LABELS["fund"]
    r26 = expected(("leaf", "R5-26"), "fund")
    # the joint item 26 is in both of its bureaus' workbooks, flagged 共管, in 百万円
    for name in names[2], names[4]:
        wb = openpyxl.load_workbook(out / name, read_only=True)
        _, rows, total = table(wb["事業別"], "事業コード")
        assert rows["R5-26"]["担当課"] == JOINT, name
        assert rows["R5-26"][fund] == pytest.approx(r26 / 1000)
        scope = {r[0]: r[1] for r in wb["総括"].iter_rows(max_col=2, values_only=True)}
        assert scope["集計範囲"].endswith("の所管事業（共管事業を含む）"), name
    assert list(rows) == ["R5-26", "R5-28"]  # 老人保健課
    # its two-item matrix prints on one A4 portrait page, one colour scale per item
    ws = openpyxl.load_workbook(out / names[4])["都道府県×事業"]
    assert ws.page_setup.paperSize == report.A4 and ws.page_setup.orientation == "portrait"
    assert [str(cf.sqref) for cf in ws.conditional_formatting] == [f"D{H + 1}:D{H + 47}",
                                                                   f"E{H + 1}:E{H + 47}"]
    assert total[fund] == pytest.approx((r26 + expected(("leaf", "R5-28"), "fund")) / 1000)
    wb = openpyxl.load_workbook(out / names[1], read_only=True)
    _, rows, _ = table(wb["事業別"], "事業コード")
    assert "R5-26" not in rows and "R5-01" in rows


# --- LibreOffice ---------------------------------------------------------------------


@pytest.mark.libreoffice
@requires_libreoffice
def test_summary_opens_in_libreoffice(tmp_path, workbook):
    pdf = convert(workbook, "pdf", tmp_path)
    assert pdf.is_file()
    pages = pdf_page_count(pdf)
    # 12 sheets; 明細 (about 1,100 rows) takes most pages. A broken print layout (no
    # fit-to-width, a matrix spread over dozens of pages) goes far past this.
    assert 20 <= pages <= 70, pages
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed: page contents not checked")
    texts = []
    for page in range(1, pages + 1):
        out = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout",
                              str(pdf), "-"], capture_output=True, text=True, check=True)
        texts.append(out.stdout)
    # every page carries the page header: the workbook title left, the sheet right
    right = []
    for text in texts:
        first = next(line for line in text.splitlines() if line.strip())
        assert first.strip().startswith("令和5年度（2023年度） 地域医療介護総合確保基金"), first
        right.append(first.split()[-1])
    per_sheet = {name: sum(r.startswith(name) for r in right) for name in report.SHEETS}
    assert all(n >= 1 for n in per_sheet.values()), per_sheet
    assert per_sheet["総括"] == 1 and per_sheet["グラフ"] == 2, per_sheet
    assert per_sheet["都道府県×事業"] == 3 and per_sheet["都道府県×大項目"] == 1, per_sheet
    # each page of the wide matrix carries its title inside the columns printed on every
    # page (issue 12, item 18: after page 1 it was cut at column C; a clipped text is still
    # in the PDF's text, so its place is checked: left of the 提出状況 header's right edge)
    for page, sheet in enumerate(right, start=1):
        if not sheet.startswith("都道府県×事業"):
            continue
        words = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-bbox",
                                str(pdf), "-"], capture_output=True, text=True,
                               check=True).stdout
        found: dict[str, float] = {}
        for _, x_max, word in re.findall(
                r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]+)<',
                words):
            found[word] = min(found.get(word, 1e9), float(x_max))
        assert found["都道府県×事業"] <= found["提出状況"] + 2, (page, found.get("都道府県×事業"))
    assert sum(per_sheet.values()) == pages
    # the sheets' titles are printed (in sheet order)
    text = "\n".join(texts)
    titles = ["集計 総括", "グラフ（基金計 A+B）", "大項目別集計", "中項目別集計",
              "事業別集計（事業・細目ごと、メニュー順）", "担当課別集計", "都道府県別集計",
              "都道府県×事業 基金計 (A+B)", "都道府県×大項目 基金計 (A+B)",
              "明細（都道府県・事業ごと、計画ありの行のみ）", "提出状況（47都道府県）",
              "出典（この集計表の作り方と入力ファイル）"]
    flat = re.sub(r"\s+", "", text)
    places = [flat.find(re.sub(r"\s+", "", t)) for t in titles]
    assert all(p >= 0 for p in places), dict(zip(titles, places))
    assert places == sorted(places)
    # every prefecture's chart label is printed (none skipped) on the グラフ pages
    charts = "".join(texts[right.index("グラフ"):right.index("グラフ") + 2])
    for p in all_prefectures():
        if p.code not in MISSING and p.code != REJECTED:
            assert f"{p.code} {p.name_ja}" in charts, p.code
