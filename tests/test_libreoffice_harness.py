"""Tests of the LibreOffice harness itself (tests/libreoffice.py)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from tests import libreoffice as lo
from tests.libreoffice import (
    LibreOfficeError,
    ProtectedCellError,
    cell_details,
    cell_values,
    convert,
    edit_and_save,
    pdf_page_count,
    requires_libreoffice,
    requires_uno,
)

pytestmark = pytest.mark.libreoffice

SHEET = "入力"
INPUTS = ["B2", "B3", "B4"]  # unlocked input cells
TOTAL = "B5"  # =SUM(B2:B4), cached value deliberately wrong
WRONG_CACHE = 999


@pytest.fixture(scope="module")
def workbook(tmp_path_factory) -> Path:
    """Protected sheet: locked labels, unlocked inputs B2:B4 (10, 20, empty),
    B5 = SUM(B2:B4) whose cached value in the file is a wrong 999."""
    path = tmp_path_factory.mktemp("wb") / "budget.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(SHEET)
    unlocked = wb.add_format({"locked": False})
    ws.write("A1", "予算入力")
    for row, label in enumerate(["人件費", "物件費", "その他"], start=2):
        ws.write(f"A{row}", label)
    ws.write_number("B2", 10, unlocked)
    ws.write_number("B3", 20, unlocked)
    ws.write_blank("B4", None, unlocked)
    ws.write("A5", "合計")
    ws.write_formula(TOTAL, "=SUM(B2:B4)", None, WRONG_CACHE)
    ws.protect()  # no password
    wb.close()
    # Premise of the tests: the file really carries the wrong cached value.
    cached = openpyxl.load_workbook(path, data_only=True)[SHEET][TOTAL].value
    assert cached == WRONG_CACHE
    return path


# (1) ------------------------------------------------------------------------


@requires_uno
def test_cell_values_shows_cached_value_without_recalc(workbook):
    got = cell_values(workbook, SHEET, ["A1", "B2", "B3", "B4", TOTAL, "C9"])
    assert got == {
        "A1": "予算入力",
        "B2": 10,
        "B3": 20,
        "B4": None,
        TOTAL: WRONG_CACHE,  # what a user sees on open: LO did not recalc
        "C9": None,
    }


@requires_uno
def test_cell_values_with_recalc_gives_true_sum(workbook):
    got = cell_values(workbook, SHEET, [TOTAL, "B2"], recalc=True)
    assert got == {TOTAL: 30, "B2": 10}


@requires_uno
def test_cell_details_reports_type_formula_and_protection(workbook):
    d = cell_details(workbook, SHEET, [TOTAL, "B2", "A1"])
    assert d[TOTAL]["type"] == "FORMULA"
    assert d[TOTAL]["formula"] == "=SUM(B2:B4)"
    assert d[TOTAL]["text"] == "999"
    assert d["B2"]["locked"] is False
    assert d["A1"]["locked"] is True
    assert d["A1"]["sheet_protected"] is True


# (2) ------------------------------------------------------------------------


@requires_uno
def test_edit_unlocked_cells_of_protected_sheet_and_save(workbook, tmp_path):
    dst = tmp_path / "edited.xlsx"
    typed = edit_and_save(
        workbook,
        dst,
        [(SHEET, "B2", "1,234"), (SHEET, "B3", "１２３"), (SHEET, "B4", "5")],
    )
    # Right after typing (ja-JP): all three became numbers.
    assert {k: (v["type"], v["value"]) for k, v in typed.items()} == {
        f"{SHEET}!B2": ("VALUE", 1234),
        f"{SHEET}!B3": ("VALUE", 123),  # full-width digits parsed in ja-JP
        f"{SHEET}!B4": ("VALUE", 5),
    }

    # What LibreOffice shows when the saved file is opened (no recalc): the
    # edits made B5 dirty, LO recalculated it before saving, so the cached
    # value in the saved file is the right sum, not 999.
    expected = {"B2": 1234, "B3": 123, "B4": 5, TOTAL: 1234 + 123 + 5}
    assert cell_values(dst, SHEET, [*INPUTS, TOTAL]) == expected

    # Excel/openpyxl view of the saved file.
    ws = openpyxl.load_workbook(dst, data_only=True)[SHEET]
    assert {c: ws[c].value for c in expected} == expected
    assert all(isinstance(ws[c].value, (int, float)) for c in expected)
    # Layout survived the round trip: formula kept, sheet still protected,
    # inputs still unlocked, labels still locked.
    wsf = openpyxl.load_workbook(dst)[SHEET]
    assert wsf[TOTAL].value == "=SUM(B2:B4)"
    assert wsf.protection.sheet is True
    assert wsf["B2"].protection.locked is False
    assert wsf["A1"].protection.locked is True


@requires_uno
def test_typing_semantics_follow_locale_and_apostrophe(workbook, tmp_path):
    edits = [(SHEET, "B2", "'1,234"), (SHEET, "B3", "１２３"), (SHEET, "B4", "12%")]
    ja = edit_and_save(workbook, tmp_path / "ja.xlsx", edits, locale="ja-JP")
    en = edit_and_save(workbook, tmp_path / "en.xlsx", edits, locale="en-US")
    # Apostrophe prefix forces text, in any locale (the apostrophe is dropped).
    assert ja[f"{SHEET}!B2"]["value"] == "1,234"
    assert en[f"{SHEET}!B2"]["value"] == "1,234"
    # Full-width digits are a number only in a Japanese locale.
    assert ja[f"{SHEET}!B3"]["value"] == 123
    assert en[f"{SHEET}!B3"]["type"] == "TEXT"
    assert en[f"{SHEET}!B3"]["value"] == "１２３"
    # "12%" is typed like in the UI: 0.12 shown with a percent format.
    assert ja[f"{SHEET}!B4"]["value"] == pytest.approx(0.12)
    assert ja[f"{SHEET}!B4"]["text"] == "12%"


@requires_uno
def test_locked_cell_refused_unless_unprotected(workbook, tmp_path):
    dst = tmp_path / "forced.xlsx"
    with pytest.raises(ProtectedCellError, match="locked on a protected sheet"):
        edit_and_save(workbook, dst, [(SHEET, "A1", "改ざん")])
    assert not dst.exists()

    edit_and_save(workbook, dst, [(SHEET, "A1", "改ざん")], unprotect=True)
    assert cell_values(dst, SHEET, ["A1"]) == {"A1": "改ざん"}
    ws = openpyxl.load_workbook(dst)[SHEET]
    assert ws["A1"].value == "改ざん"
    assert not ws.protection.sheet  # saved unprotected, like the user left it


@requires_uno
def test_edit_with_recalc_and_bad_sheet_name(workbook, tmp_path):
    dst = tmp_path / "recalc.xlsx"
    edit_and_save(workbook, dst, [(SHEET, "B4", "7")], recalc=True)
    assert cell_values(dst, SHEET, [TOTAL]) == {TOTAL: 37}
    with pytest.raises(LibreOfficeError, match="no sheet 'Nope'"):
        cell_values(workbook, "Nope", ["A1"])


# (3) ------------------------------------------------------------------------


@requires_libreoffice
def test_convert_to_pdf(workbook, tmp_path):
    pdf = convert(workbook, "pdf", tmp_path / "out")
    assert pdf == (tmp_path / "out" / "budget.pdf").resolve()
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert pdf_page_count(pdf) >= 1


@requires_libreoffice
def test_pdf_embeds_a_cjk_font(workbook, tmp_path):
    """Japanese labels must be rendered with a real CJK font (fonts-noto-cjk)."""
    pdf = convert(workbook, "pdf", tmp_path)
    fonts = set(re.findall(rb"/BaseFont\s*/([A-Za-z0-9+_-]+)", pdf.read_bytes()))
    assert any(b"CJK" in f for f in fonts), fonts


@requires_libreoffice
def test_convert_failure_raises(tmp_path):
    bogus = tmp_path / "broken.xlsx"
    bogus.write_bytes(b"this is not a zip")
    with pytest.raises(LibreOfficeError):
        convert(bogus, "pdf", tmp_path / "out")


def test_pdf_page_count_regex_fallback(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)  # force the regex
    pdf = tmp_path / "x.pdf"
    pdf.write_bytes(
        b"%PDF-1.4\n1 0 obj<</Type /Pages /Kids[2 0 R 3 0 R 4 0 R]/Count 3>>endobj\n"
        b"2 0 obj<</Type /Page /Parent 1 0 R>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 1 0 R>>endobj\n"
        b"4 0 obj<</Type\n/Page\n/Parent 1 0 R>>endobj\n%%EOF\n"
    )
    assert pdf_page_count(pdf) == 3
    not_pdf = tmp_path / "y.pdf"
    not_pdf.write_bytes(b"hello")
    with pytest.raises(ValueError):
        pdf_page_count(not_pdf)


# (4) ------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


@requires_uno
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
def test_no_soffice_process_left_behind(workbook, tmp_path):
    before = lo.soffice_processes()
    start = len(lo.SPAWNED_PIDS)

    cell_values(workbook, SHEET, [TOTAL])
    edit_and_save(workbook, tmp_path / "e.xlsx", [(SHEET, "B4", "1")])
    convert(workbook, "pdf", tmp_path)
    with pytest.raises(LibreOfficeError, match="timed out"):  # kill path
        cell_values(workbook, SHEET, [TOTAL], timeout=0.5)

    spawned = set(lo.SPAWNED_PIDS[start:])
    after = lo.soffice_processes()
    # The harness did observe the soffice processes it started (so the check
    # below is not vacuous) ...
    assert spawned, "no soffice process was observed during the runs"
    assert not spawned & set(before)
    # ... and none of them survives.
    assert not spawned & set(after), {p: after[p] for p in spawned & set(after)}
    assert not [p for p in spawned if _alive(p)]
    # Nothing still runs with one of the harness' private profiles.
    assert not [c for c in after.values() if f"budgetlo_{os.getpid()}_" in c]
