"""budget.xlsx.writer: the one cell writer, and sender text through every workbook we write.

A sender's text that looks like a formula, starts with a tab or holds a control character
goes through the summary workbook and the ingest run report; read back with openpyxl it is
a string cell, exactly as sent (control characters in SpreadsheetML's ``_xHHHH_`` escape),
with ``quote_prefix`` when formula-like, and no workbook holds a formula or a link.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import io
import json
import math
import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import xlsxwriter

from budget.demo import sample_plan, synthetic_submission
from budget.findings import FileReport, make
from budget.generate import PlanValues
from budget.intake.results import FileResult, IngestRun, Skipped
from budget.menu import load_menu
from budget.render.run_report import FINDINGS_SHEET, RESULT_SHEET, write_run_report
from budget.render.summary_workbook import write_summary_workbook
from budget.reports import write_reports
from budget.store import open_store
from budget.xlsx.writer import WORKBOOK_OPTIONS, CellWriter, _RowXml, check_xlsx, write_text_cell
from tests.libreoffice import cell_details, edit_and_save, requires_uno

YEAR = 2023
NOW = dt.datetime(2024, 3, 1, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=9)))

#: What a sender may type: formula-like texts, a tab lead, a control character inside.
HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "@SUM(A1)", "\t=1+1 タブ始まり",
           "実施\x01主体\x1f（制御文字）"]
#: What xlsxwriter's ``write_string`` would write unescaped, as rich text's XML: a sender's
#: text that breaks the file or slips a formula in.
RICH_LIKE = ['<r><t>a</t></r></is><f>HYPERLINK("http://x","y")</f><is><r><t>b</t></r>',
             "<r>x</r>", "<r></r>", '<r><t>a</t></r></si><si><t>b</t></si><si><r><t>c</t></r>']
def formula_like(text: str) -> bool:
    """What Excel would read as a formula (OWASP's leads, full-width ones included)."""
    return text[:1] in ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def shown(text: str) -> str:
    """``text`` as openpyxl reads it back: control characters (tab, LF excepted) in
    SpreadsheetML's ``_xHHHH_`` escape, everything else exactly as sent."""
    return re.sub(r"[\x00-\x08\x0b-\x1f]", lambda m: f"_x{ord(m.group()):04X}_", text)


def cells_by_value(path: Path) -> dict[str, list]:
    """Every string cell of the workbook, by its value."""
    wb = openpyxl.load_workbook(path)
    out: dict[str, list] = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str):
                    out.setdefault(c.value, []).append(c)
    return out


def assert_no_formula_or_link(path: Path) -> None:
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                xml = z.read(name).decode()
                assert "<f>" not in xml and "<f " not in xml and "<hyperlink" not in xml, name


def assert_inert_and_as_sent(path: Path, texts: list[str]) -> None:
    cells = cells_by_value(path)
    for text in texts:
        found = cells.get(shown(text))
        assert found, (text, path.name)
        for cell in found:
            assert cell.data_type == "s", text
            assert bool(cell.quotePrefix) == formula_like(text), text
    assert not any(v.startswith("'") for v in cells), "no apostrophe added to any text"
    assert_no_formula_or_link(path)


# --- the writer itself -------------------------------------------------------------------


def write_book(fill) -> openpyxl.Workbook:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, WORKBOOK_OPTIONS)
    cells = CellWriter(wb)
    fill(cells, wb.add_worksheet("s"))
    wb.close()
    return openpyxl.load_workbook(io.BytesIO(buf.getvalue()))


def test_missing_is_blank_numbers_are_numbers_text_is_text():
    def fill(cells, ws):
        bold = cells.add_format({"bold": True, "bg_color": "#FFC7CE"})
        for r, v in enumerate([None, math.nan, pd.NA, pd.NaT, "", 0, 12, 1.5, True, "01",
                               "ふつう", "=1+1"]):
            cells.value(ws, r, 0, v, bold)
            cells.text(ws, r, 1, v, bold)
        for r, v in enumerate([None, math.nan, pd.NA, 0, 7, 2.25]):
            cells.number(ws, r, 2, v)

    ws = write_book(fill).active
    as_typed = [c.value for c in ws["A"]]
    assert as_typed == [None, None, None, None, None, 0, 12, 1.5, "True", "01", "ふつう", "=1+1"]
    assert [c.data_type for c in ws["A"]][5:] == ["n", "n", "n", "s", "s", "s", "s"]
    as_text = [c.value for c in ws["B"]]
    assert as_text == [None, None, None, None, None, "0", "12", "1.5", "True", "01", "ふつう",
                       "=1+1"]
    assert [c.value for c in ws["C"]][:6] == [None, None, None, 0, 7, 2.25]
    # blanks keep their format; the quote-prefixed twin keeps the format's properties
    assert ws["A1"].fill.fgColor.rgb.endswith("FFC7CE")
    formula_like = ws["A12"]
    assert formula_like.quotePrefix and formula_like.font.b
    assert formula_like.fill.fgColor.rgb.endswith("FFC7CE")
    assert not ws["A11"].quotePrefix and not ws["A10"].quotePrefix


@pytest.mark.parametrize("text", HOSTILE + ["－全角マイナス", "＝全角", "-", "\n改行"])
def test_sender_text_stays_text_as_sent(text):
    def fill(cells, ws):
        foreign = cells.workbook.add_format({"italic": True})  # made without the writer
        cells.text(ws, 0, 0, text, cells.add_format({"border": 1}))
        cells.value(ws, 1, 0, text)  # no format at all
        cells.text(ws, 2, 0, text, foreign)

    ws = write_book(fill).active
    for row in (1, 2, 3):
        cell = ws.cell(row, 1)
        assert cell.data_type == "s" and cell.value == shown(text)
        assert cell.quotePrefix == formula_like(text)


def test_a_lone_surrogate_becomes_a_replacement_character():
    """The reader turns ``_xD800_`` into a lone surrogate; UTF-8 cannot hold it."""
    ws = write_book(lambda cells, ws: cells.text(ws, 0, 0, "a\ud800b")).active
    assert ws["A1"].value == "a\ufffdb"


def test_every_failed_write_raises():
    assert check_xlsx(0) is None and check_xlsx(None) is None
    with pytest.raises(RuntimeError, match="-2"):
        check_xlsx(-2)
    with pytest.raises(RuntimeError):
        write_book(lambda cells, ws: cells.text(ws, 0, 0, "x" * 40_000))
    with pytest.raises(RuntimeError):
        write_book(lambda cells, ws: cells.number(ws, 2_000_000, 0, 1))
    with pytest.raises(RuntimeError), pytest.warns(UserWarning, match="single cell"):
        write_book(lambda cells, ws: cells.merge(ws, 0, 0, 0, 0, "one cell", None))


class Text(str):
    """A str of another type: ``CellWriter.row`` hands it to ``value``."""


#: Every kind of value a row may hold, odd ones included.
ODD_VALUES = [None, math.nan, pd.NA, pd.NaT, "", " ", 0, -1, 12, 2**40, 1.5, -0.0, 1e-300,
              True, False, pd.Series([3], dtype="int64")[0], pd.Series([2.5])[0],
              dt.date(2024, 3, 1), b"bytes", Text("=型の違う文字列"), Text(""),
              "ふつう", "01", "=1+1", "+1", "-", "@SUM(A1)", "\t=1", "\n改行", "＝全角", "－全角",
              "a\ud800b", "実施\x01主体\x1f", "_x0041_ そのまま", " 前後の空白 ", "a&b<c>\"d\"",
              "\ufffe\uffff", "x" * 32_767, *HOSTILE]


#: The values a run report's rows hold (plain types), odd texts included.
PLAIN_VALUES = [None, "", " ", 0, -1, 12, 2**40, 2**70, 1.5, -0.0, 1e-300, 1e20, math.nan,
                "ふつう", "01", "=1+1", "+1", "-", "＝全角", "a\ud800b", "実施\x01主体\x1f",
                "_x0041_ そのまま", "_X00FF_", " 前後の空白 ", "　全角空白", "末尾改行\n",
                "a&b<c>\"d\"'", "\ufffe\uffff", "x" * 32_767, "東" * 20_000, "<r>そのまま</r>",
                "<r><t>x</t></r>", *HOSTILE]


def rows_both_ways(rows, heights, *, constant_memory: bool = True, fast: bool = True
                   ) -> dict[str, bytes]:
    """The parts of a workbook whose rows ``CellWriter.row`` wrote (``fast``: rows made by
    the writer where it can), every part but the properties."""
    import itertools

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {**WORKBOOK_OPTIONS, "constant_memory": constant_memory,
                                   "in_memory": not constant_memory})
    cells = CellWriter(wb, fast_rows=fast, any_release=True)
    fmts = [None, cells.add_format({"valign": "top"}),
            cells.add_format({"bold": True, "bg_color": "#FFC7CE", "text_wrap": True})]
    ws = wb.add_worksheet("s")
    cells.text(ws, 0, 0, "見出し", fmts[2])  # xlsxwriter's own row first
    for r, (row, height) in enumerate(zip(rows, heights), start=1):
        cells.row(ws, r, list(zip(row, itertools.cycle(fmts[r % 3:] + fmts[:r % 3]))),
                  height)
    cells.row(ws, len(rows) + 1, [("最後", None)])
    made = cells._fast[id(ws)]
    # the writer made rows itself exactly when it may
    assert isinstance(made, _RowXml) == (fast and constant_memory)
    assert not isinstance(made, _RowXml) or "最後" in made.texts
    wb.close()
    with zipfile.ZipFile(buf) as z:
        return {n: z.read(n) for n in z.namelist() if not n.startswith("docProps/")}


@pytest.mark.parametrize("constant_memory", [False, True])
def test_a_row_is_written_as_xlsxwriter_writes_each_cell(constant_memory):
    """``CellWriter.row`` (the run report's rows) writes exactly the bytes that ``value``
    cell by cell and ``set_row`` write, for every kind of value and height: the rows it
    makes itself (plain values in a ``constant_memory`` sheet), and those it leaves to
    xlsxwriter (any other value, a rich-text-like text, a hidden row), in any order."""
    rows = [PLAIN_VALUES, ODD_VALUES, PLAIN_VALUES[::-1], [None] * 5, PLAIN_VALUES[5:],
            ["<r>x</r>", 1], [1, 2, 3], [None, None, "c"], ["", "", 5.0]]
    rows += [PLAIN_VALUES[i:i + 7] for i in range(0, len(PLAIN_VALUES), 7)]
    heights = [None, 32.0, 15.0, 47.0, 0, 15.2, 16, None, 11.0 * 3 + 2] + \
        [None, 60.5, None, 17.0, 33.3, None, 409.0][:len(rows) - 9]
    ours = rows_both_ways(rows, heights, constant_memory=constant_memory, fast=True)
    xlsxwriters = rows_both_ways(rows, heights, constant_memory=constant_memory, fast=False)
    assert ours == xlsxwriters


@pytest.mark.parametrize("first_row", [1, 5])
def test_rows_whose_first_cells_are_empty_give_the_same_sheet(first_row):
    """A sheet without a header, rows starting with unformatted blanks, tall or not: the
    sheet's dimension, heights and cells are xlsxwriter's."""
    def book(fast: bool) -> dict[str, bytes]:
        buf = io.BytesIO()
        wb = xlsxwriter.Workbook(buf, {**WORKBOOK_OPTIONS, "constant_memory": True,
                                       "in_memory": False})
        cells = CellWriter(wb, fast_rows=fast, any_release=True)
        fmt = cells.add_format({"valign": "top"})
        ws = wb.add_worksheet("s")
        cells.row(ws, first_row, [(None, None), ("", None), ("c", fmt), (None, fmt)], 40.0)
        cells.row(ws, first_row + 1, [(None, None), (None, None), (None, None), (4, None)])
        cells.row(ws, first_row + 3, [(None, None), ("x", None)], 20.0)
        cells.row(ws, first_row + 4, [(None, None)] * 3, 25.0)  # a tall empty row
        cells.row(ws, first_row + 5, [(1.5, None)])
        cells.row(ws, first_row + 6, [(math.nan, None)], 30.0)  # xlsxwriter's: no cell
        cells.row(ws, first_row + 7, [("a", None), (pd.NA, fmt)], 30.0)  # xlsxwriter's
        cells.row(ws, first_row + 8, [("b", fmt)], 30.0)
        wb.close()
        with zipfile.ZipFile(buf) as z:
            return {n: z.read(n) for n in z.namelist() if not n.startswith("docProps/")}

    ours = book(fast=True)
    assert ours == book(fast=False)
    assert b'<dimension ref="A' in ours["xl/worksheets/sheet1.xml"]


def test_the_reference_writes_each_cell_as_value_writes_it():
    """With the writer's own rows off, ``row`` is ``set_row`` and ``value`` cell by cell."""
    def by_value(cells, ws):
        fmt = cells.add_format({"valign": "top"})
        check_xlsx(ws.set_row(1, 32.0))
        for c, v in enumerate(ODD_VALUES):
            cells.value(ws, 1, c, v, fmt if c % 2 else None)

    def by_row(cells, ws):
        fmt = cells.add_format({"valign": "top"})
        cells.row(ws, 1, [(v, fmt if c % 2 else None) for c, v in enumerate(ODD_VALUES)],
                  32.0)

    def book(fill):
        buf = io.BytesIO()
        wb = xlsxwriter.Workbook(buf, {**WORKBOOK_OPTIONS, "constant_memory": True,
                                       "in_memory": False})
        fill(CellWriter(wb, fast_rows=False), wb.add_worksheet("s"))
        wb.close()
        with zipfile.ZipFile(buf) as z:
            return {n: z.read(n) for n in z.namelist() if not n.startswith("docProps/")}

    assert book(by_row) == book(by_value)


def test_the_writers_rows_read_back_as_sent():
    """Read back with openpyxl, the rows the writer made hold every text as sent (control
    characters in ``_xHHHH_``), numbers as numbers, formula-like text quote-prefixed."""
    texts = [t for t in PLAIN_VALUES if isinstance(t, str) and t and "<r>" not in t]
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {**WORKBOOK_OPTIONS, "constant_memory": True,
                                   "in_memory": False})
    cells = CellWriter(wb)
    ws = wb.add_worksheet("s")
    for r, t in enumerate(texts, start=1):
        cells.row(ws, r, [(t, None), (r, None), (None, None)])
    wb.close()
    read = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))["s"]
    for r, t in enumerate(texts, start=2):
        a, b = read.cell(r, 1), read.cell(r, 2)
        # as openpyxl reads xlsxwriter's escapes: a literal _xHHHH_ with its underscore
        # escaped, control characters and U+FFFE/FFFF as _xHHHH_
        sent = shown(re.sub("(_x[0-9a-fA-F]{4}_)", r"_x005F\1", t.replace("\ud800", "\ufffd")))
        assert a.data_type == "s" and a.value == sent.replace("\ufffe", "_xFFFE_").replace(
            "\uffff", "_xFFFF_")
        assert a.quotePrefix == formula_like(t) and (b.value, b.data_type) == (r - 1, "n")


def test_a_row_fails_as_its_cells_would():
    for bad, error in ((["x" * 40_000], RuntimeError), ([1, "y" * 32_768], RuntimeError),
                       ([math.inf], TypeError)):  # xlsxwriter refuses an infinity
        for how in ("row", "value"):
            def fill(cells, ws, bad=bad, how=how):
                if how == "row":
                    cells.row(ws, 0, [(v, None) for v in bad])
                else:
                    for c, v in enumerate(bad):
                        cells.value(ws, 0, c, v)

            with pytest.raises(error):
                write_book(fill)
    with pytest.raises(RuntimeError):
        write_book(lambda cells, ws: cells.row(ws, 2_000_000, [("a", None)]))


@pytest.mark.parametrize("constant_memory", [False, True])
def test_a_text_like_rich_text_xml_is_written_as_sent_and_inert(constant_memory):
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {**WORKBOOK_OPTIONS, "constant_memory": constant_memory,
                                   "in_memory": not constant_memory})
    cells = CellWriter(wb)
    bold = cells.add_format({"bold": True})
    ws = wb.add_worksheet("s")
    for r, text in enumerate(RICH_LIKE):
        cells.text(ws, 4 * r, 0, text)
        cells.value(ws, 4 * r + 1, 1, text, bold)
        cells.row(ws, 4 * r + 2, [(text, None), (text, bold), (7, bold)], 33.0)
    wb.close()
    with zipfile.ZipFile(buf) as z:
        xml = b"".join(z.read(n) for n in z.namelist())
    assert b"<f>" not in xml and b"HYPERLINK" in xml  # escaped, as text
    read = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))["s"]
    for r, text in enumerate(RICH_LIKE):
        got = [read.cell(4 * r + 1, 1), read.cell(4 * r + 2, 2), read.cell(4 * r + 3, 1),
               read.cell(4 * r + 3, 2)]
        assert [(c.value, c.data_type) for c in got] == [(text, "s")] * 4
        assert got[1].font.b and got[3].font.b and not got[0].font.b
        assert read.cell(4 * r + 3, 3).value == 7
        assert read.row_dimensions[4 * r + 3].height == 33.0


def test_a_text_like_rich_text_xml_through_the_run_report(tmp_path):
    import dataclasses

    run = hostile_run(tmp_path)
    findings = run.results[0].report.findings
    findings[0] = dataclasses.replace(findings[0], value=RICH_LIKE[0])
    run.results[0].note = RICH_LIKE[3]
    path = write_run_report(run, tmp_path / "取込結果.xlsx")
    with zipfile.ZipFile(path) as z:
        assert b"<f>" not in b"".join(z.read(n) for n in z.namelist())
    wb = openpyxl.load_workbook(path)
    assert next(wb[FINDINGS_SHEET].iter_rows(min_row=2, values_only=True))[6] == RICH_LIKE[0]
    assert next(wb[RESULT_SHEET].iter_rows(min_row=2, values_only=True))[10] == RICH_LIKE[3]


def test_formula_is_written_with_its_cached_value():
    ws = write_book(lambda cells, ws: (cells.number(ws, 0, 0, 2),
                                       cells.formula(ws, 1, 0, "=A1*3", None, 6))).active
    assert ws["A2"].value == "=A1*3" and ws["A2"].data_type == "f"


def test_openpyxl_text_cell_is_never_a_formula(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    for r, text in enumerate(HOSTILE + ["ふつう", ""], start=1):
        write_text_cell(ws, r, 1, text)
    path = tmp_path / "copy.xlsx"
    wb.save(path)
    back = openpyxl.load_workbook(path).active
    for r, text in enumerate(HOSTILE, start=1):
        cell = back.cell(r, 1)
        assert cell.data_type == "s"
        assert cell.value == re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "\ufffd", text)
        assert bool(cell.quotePrefix) == formula_like(text)
    assert back.cell(6, 1).value == "ふつう" and not back.cell(6, 1).quotePrefix
    assert back.cell(7, 1).value is None
    assert_no_formula_or_link(path)


# --- through the summary workbook and the tidy JSON -------------------------------------


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory):
    import random

    menu = load_menu(YEAR)
    rng = random.Random(3)
    base = sample_plan(menu, "13", rng)
    leaves = sorted(base.rows)
    rows = {leaf: dict(base.rows[leaf]) for leaf in leaves}
    for i, text in enumerate(HOSTILE):
        rows[leaves[i]].update(implementer=text, output=f"出力 {i}", remarks=None)
    rows[leaves[len(HOSTILE)]].update(output=HOSTILE[0], remarks=HOSTILE[4])
    values = PlanValues(header={"department": HOSTILE[2], "contact_name": HOSTILE[3]},
                        rows=rows)
    path = tmp_path_factory.mktemp("hostile") / "budget.db"
    with open_store(path) as store:
        rep, content = synthetic_submission(menu, "13", values)
        store.save(rep, content, received_at="2023-06-01T00:00:00+00:00")
    return path, menu


def test_sender_text_through_the_summary_workbook(tmp_path, hostile_store):
    from budget.analysis.summary import load_summary

    assert [formula_like(t) for t in HOSTILE] == [True, True, True, True, False]
    db, menu = hostile_store
    with open_store(db) as store:
        summary = load_summary(store, YEAR, menu)
    written = write_summary_workbook(summary, tmp_path / "R5_集計.xlsx", now=NOW, db_path=db)
    assert_inert_and_as_sent(written.path, HOSTILE)
    wb = openpyxl.load_workbook(written.path)
    detail = [c.value for row in wb["明細"].iter_rows() for c in row]
    for text in HOSTILE:
        assert shown(text) in detail, text
    contact = [c.value for c in wb["提出状況"]["K"]] + [c.value for c in wb["提出状況"]["L"]]
    assert shown(HOSTILE[2]) in contact and shown(HOSTILE[3]) in contact


def test_tidy_json_keeps_text_as_sent_and_csv_neutralises(tmp_path, hostile_store):
    import csv

    from budget.analysis.summary import load_summary

    db, menu = hostile_store
    with open_store(db) as store:
        summary = load_summary(store, YEAR, menu)
    written = write_reports(summary, tmp_path, formats=("csv", "json"), now=NOW)
    doc = json.loads(written[2].path.read_text("utf-8"))
    implementers = {r["implementer"] for r in doc["rows"]}
    assert set(HOSTILE) <= implementers  # JSON is data: exactly as sent
    rows = list(csv.DictReader(io.StringIO(written[1].path.read_text("utf-8-sig"))))
    in_csv = {r["事業の実施主体"] for r in rows}
    for text in HOSTILE:
        assert (("'" + text) if formula_like(text) else text) in in_csv, text


# --- through the run report ----------------------------------------------------------------


def hostile_run(tmp_path: Path) -> IngestRun:
    content = b"x"
    findings = [make("leading-formula-character", file="13.xlsx", sheet="計画", cell=f"Q{8 + i}",
                     leaf_code="R5-01", leaf_name=text, value=text)
                for i, text in enumerate(HOSTILE)]
    report = FileReport(file="13_東京都_R5_計画.xlsx", sha256=hashlib.sha256(content).hexdigest(),
                        size=1, fiscal_year=YEAR, prefecture_code="13", findings=findings)
    run = IngestRun(tmp_path / "inbox", tmp_path / "budget.db", NOW, finished_at=NOW)
    run.results.append(FileResult(tmp_path / "inbox" / report.file, report, "accepted",
                                  submission_id=1, created=True, note=HOSTILE[1],
                                  prefecture_code="13"))
    run.skipped.append(Skipped(tmp_path / "inbox" / "=notes.txt", HOSTILE[2]))
    return run


def test_sender_text_through_the_run_report(tmp_path):
    path = write_run_report(hostile_run(tmp_path), tmp_path / "取込結果.xlsx")
    assert_inert_and_as_sent(path, HOSTILE + ["=notes.txt"])
    wb = openpyxl.load_workbook(path)
    entered = [r[6] for r in wb[FINDINGS_SHEET].iter_rows(min_row=2, values_only=True)]
    assert entered == [shown(t) for t in HOSTILE]
    first = next(wb[RESULT_SHEET].iter_rows(min_row=2, values_only=True))
    assert first[:8] == ("13_東京都_R5_計画.xlsx", "13 東京都", "R5", "受理", "新規", 0, 5, 1)
    assert first[10] == HOSTILE[1]


# --- the house: one writer, one width helper, each output in its module -------------------


RENDER = Path(__file__).resolve().parents[1] / "budget" / "render"
_RAW_WRITES = {"write", "write_string", "write_number", "write_blank", "write_formula",
               "write_url", "write_rich_string", "write_row", "write_column"}


@pytest.mark.parametrize("module", sorted(p.name for p in RENDER.glob("*.py")))
def test_render_writes_cells_only_through_the_cell_writer(module):
    tree = ast.parse((RENDER / module).read_text("utf-8"))
    calls = {n.func.attr for n in ast.walk(tree)
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    assert not calls & _RAW_WRITES, module
    # widths come from budget.textwidth: no module measures text itself
    assert "unicodedata" not in (RENDER / module).read_text("utf-8"), module
    assert not [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)
                and n.name.strip("_") in ("width", "lines", "display_width")], module


def test_each_output_lives_in_the_module_named_for_it():
    from budget.render import outputs, run_report, summary_workbook, text, tidy

    where = {
        "budget.render.tidy": [tidy.tidy_for_output, tidy.render_tidy, tidy.write_tidy,
                               tidy.tidy_file_name],
        "budget.render.outputs": [outputs.Written, outputs.write_bytes_atomically],
        "budget.reports": [write_reports],
        "budget.render.summary_workbook": [summary_workbook.render_summary_workbook,
                                           summary_workbook.write_summary_workbook,
                                           summary_workbook.summary_file_name],
        "budget.render.run_report": [run_report.write_run_report],
        "budget.render.text": [text.table],
    }
    for module, objects in where.items():
        assert {o.__module__ for o in objects} == {module}
    own = {n.name for n in ast.parse(Path(summary_workbook.__file__).read_text("utf-8")).body
           if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert not own & {"render_tidy", "write_tidy", "tidy_for_output", "tidy_file_name",
                      "write_reports", "write_bytes_atomically", "Written"}


# --- in LibreOffice ------------------------------------------------------------------------


@pytest.mark.libreoffice
@requires_uno
def test_libreoffice_shows_sender_text_as_sent_and_keeps_it_text(tmp_path):
    """What a clerk's application does with the run report: every 入力値 is a text cell
    showing the text as sent (no apostrophe, no formula, even after a full recalculation),
    and a file saved again by LibreOffice still holds it as text, no formula or link."""
    path = write_run_report(hostile_run(tmp_path), tmp_path / "取込結果.xlsx")
    refs = [f"G{r}" for r in range(2, 2 + len(HOSTILE))]
    for recalc in (False, True):
        got = cell_details(path, FINDINGS_SHEET, refs, recalc=recalc)
        for ref, text in zip(refs, HOSTILE):
            assert got[ref]["type"] == "TEXT", (ref, got[ref])
            if formula_like(text):
                assert got[ref]["text"] == text, (ref, got[ref])
    saved = tmp_path / "saved.xlsx"
    edit_and_save(path, saved, [(FINDINGS_SHEET, "A10", "追記")])
    back = openpyxl.load_workbook(saved)[FINDINGS_SHEET]
    for ref, text in zip(refs, HOSTILE):
        if formula_like(text):
            assert back[ref].data_type == "s" and back[ref].value == text, ref
    assert_no_formula_or_link(saved)


def test_the_row_writer_is_used_only_under_a_checked_xlsxwriter_release(monkeypatch):
    """Under a release its bytes were not checked against, xlsxwriter writes the rows (the
    same workbook, slower); under a checked one, the writer's own rows."""
    from budget.xlsx.writer import xlsxwriter_release

    def writer_of(wb) -> object:
        cells = CellWriter(wb)
        ws = wb.add_worksheet("s")
        cells.row(ws, 0, [("a", None), (1, None)])
        return cells._fast[id(ws)]

    def book() -> tuple[object, dict[str, bytes]]:
        buf = io.BytesIO()
        wb = xlsxwriter.Workbook(buf, {**WORKBOOK_OPTIONS, "constant_memory": True,
                                       "in_memory": False})
        made = writer_of(wb)
        wb.close()
        with zipfile.ZipFile(buf) as z:
            return made, {n: z.read(n) for n in z.namelist() if not n.startswith("docProps/")}

    monkeypatch.setattr(_RowXml, "TESTED", frozenset({xlsxwriter_release()}))
    checked, checked_parts = book()
    assert isinstance(checked, _RowXml)
    monkeypatch.setattr(_RowXml, "TESTED", frozenset({(0, 1)}))
    unchecked, unchecked_parts = book()
    assert unchecked is False
    assert checked_parts == unchecked_parts


def test_rows_xlsxwriter_must_write_are_left_to_it():
    """A row with a note, a cell without a format in a column that has one, and long texts:
    the same workbook as xlsxwriter's cell by cell, and long texts are not kept."""
    def book(fast: bool) -> tuple[object, dict[str, bytes]]:
        buf = io.BytesIO()
        wb = xlsxwriter.Workbook(buf, {**WORKBOOK_OPTIONS, "constant_memory": True,
                                       "in_memory": False})
        cells = CellWriter(wb, fast_rows=fast, any_release=True)
        ws = wb.add_worksheet("s")
        ws.set_column(2, 2, 20, cells.add_format({"bold": True}))
        ws.write_comment(3, 0, "メモ")
        cells.row(ws, 1, [("a", None), (1, None)])  # ours
        cells.row(ws, 2, [("a", None), (1, None), ("列の書式", None)])  # column C's format
        cells.row(ws, 3, [("注記の行", None)])  # the row with the note
        cells.row(ws, 4, [("長" * 300, None), ("短", None)])
        made = cells._fast[id(ws)]
        wb.close()
        with zipfile.ZipFile(buf) as z:
            return made, {n: z.read(n) for n in z.namelist() if not n.startswith("docProps/")}

    made, ours = book(True)
    assert isinstance(made, _RowXml)
    assert "a" in made.texts and "短" in made.texts and "長" * 300 not in made.texts
    assert ours == book(False)[1]
    sheet = ours["xl/worksheets/sheet1.xml"].decode()
    assert sheet.count('<row r="4"') == 1  # the noted row written once
    assert re.search(r'<c r="C3" s="\d+"', sheet)  # the column's format
