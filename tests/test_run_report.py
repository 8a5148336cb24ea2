"""The run report 取込結果_….xlsx as a manager prints it (issue 12, item 16): every sheet
landscape, fitted to the page width, the header row on every page, the run's title and the
sheet's name in the page header, page numbers in the footer, columns as wide as their
contents (up to a cap beyond which the text wraps). Checked in the file (openpyxl) and in
the PDF LibreOffice prints."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from budget.findings import FileReport, make
from budget.intake.results import FileResult, IngestRun, Skipped
from budget.prefectures import all_prefectures
from budget.render.run_report import (
    FINDINGS_SHEET,
    INFO_SHEET,
    RESULT_SHEET,
    write_run_report,
)
from budget.textwidth import display_width
from tests.libreoffice import convert, pdf_page_count, requires_libreoffice

NOW = dt.datetime(2024, 3, 1, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=9)))
MAX_WIDTH = 60  # the widest a column gets before its text wraps
LONG_NOTE = ("ファイル名は本県のものですが、様式は 42 長崎県 のものでした。"
             "自団体の様式に入力し直して再提出してください。") * 2


def a_run(tmp_path: Path) -> IngestRun:
    """47 files (every fifth rejected with two findings and a long note) and two skipped."""
    run = IngestRun(tmp_path / "受信フォルダ", "budget.db", NOW, finished_at=NOW)
    for i, p in enumerate(all_prefectures(), start=1):
        name = f"{p.code}_{p.name_ja}_R5_計画.xlsx"
        bad = i % 5 == 0
        findings = [make("negative-amount", file=name, sheet="計画", cell=f"H{8 + i}",
                         leaf_code="R5-34-イ", leaf_name="管理者等に対する雇用管理改善方策普及・促進事業",
                         value="▲500", amount="▲500"),
                    make("national-share", file=name, sheet="計画", cell="H15",
                         leaf_code="R5-06-ハ", leaf_name="介護人材確保のためのボランティアポイント活用推進事業",
                         value="4378", national="4,378", fund="6,552", expected="4,368",
                         diff="10", tolerance=2)] if bad else []
        content = name.encode()
        report = FileReport(file=name, sha256=hashlib.sha256(content).hexdigest(), size=1,
                            fiscal_year=2023, prefecture_code=p.code, findings=findings)
        run.results.append(FileResult(run.folder / name, report,
                                      "rejected" if bad else "accepted", prefecture_code=p.code,
                                      submission_id=i, created=True,
                                      returned=(tmp_path / "返送" / f"{name[:-5]}_要修正.xlsx"
                                                if bad else None),
                                      note=LONG_NOTE if bad else None))
    run.skipped += [Skipped(run.folder / "送付状.pdf", "Excel ファイル（.xlsx）ではありません"),
                    Skipped(run.folder / "notes.txt", "Excel ファイル（.xlsx）ではありません")]
    return run


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("run_report")
    return write_run_report(a_run(tmp), tmp / "取込結果.xlsx")


def test_every_sheet_has_a_print_layout(report):
    wb = openpyxl.load_workbook(report)
    for name in (RESULT_SHEET, FINDINGS_SHEET, INFO_SHEET):
        ws = wb[name]
        setup = ws.page_setup
        assert setup.orientation == "landscape", name
        assert setup.paperSize in (8, 9), name  # A3 or A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage, name
        assert (setup.fitToWidth or 1, setup.fitToHeight) == (1, 0), name  # 1: the default
        header = ws.oddHeader
        assert "取込結果 2024-03-01 10:30" in header.left.text and "受信フォルダ" in header.left.text
        assert "（47 ファイル）" in header.left.text
        assert header.right.text == name
        assert ws.oddFooter.center.text == "&P / &N ページ"
    for name in (RESULT_SHEET, FINDINGS_SHEET):  # the tables: header row on every page
        assert wb[name].print_title_rows == "$1:$1", name
        assert wb[name].freeze_panes == "B2", name


def test_columns_fit_their_contents(report):
    """Every column is at least as wide as its widest text (header included, each line of a
    multi-line text), up to the cap; a text wider than its column wraps."""
    wb = openpyxl.load_workbook(report)
    for name in (RESULT_SHEET, FINDINGS_SHEET):
        ws = wb[name]
        for col in ws.iter_cols():
            letter = col[0].column_letter
            texts = [str(c.value) for c in col if c.value is not None and c.column != 9]
            if not texts:
                continue
            width = ws.column_dimensions[letter].width
            widest = max(display_width(line) for t in texts for line in t.split("\n"))
            if widest <= MAX_WIDTH - 2 and all(not c.alignment.wrap_text for c in col[1:]):
                assert width >= widest, (name, letter, width, widest)
            else:
                assert all(c.alignment.wrap_text for c in col[1:] if c.value), (name, letter)
        # the file names and the prefectures are never cut
        assert ws.column_dimensions["A"].width >= display_width("14_神奈川県_R5_計画.xlsx")
    results = wb[RESULT_SHEET]
    # a long note wraps: its row is tall enough for its lines
    row = next(r for r in results.iter_rows(min_row=2) if r[10].value == LONG_NOTE)
    assert results.row_dimensions[row[0].row].height >= 30


@pytest.mark.libreoffice
@requires_libreoffice
def test_printed_in_libreoffice(report, tmp_path):
    """47 files print on a few landscape pages, each with the title, the sheet and its page
    number, every column on the page (the last header of each table is printed)."""
    pdf = convert(report, "pdf", tmp_path)
    pages = pdf_page_count(pdf)
    assert pages <= 6, pages  # before: 10 A4 portrait pages, columns split
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed: page contents not checked")
    texts = [subprocess.run(["pdftotext", "-f", str(p), "-l", str(p), "-layout", str(pdf), "-"],
                            capture_output=True, text=True, check=True).stdout
             for p in range(1, pages + 1)]
    sheets = []
    for n, text in enumerate(texts, start=1):
        lines = [line for line in text.splitlines() if line.strip()]
        assert lines[0].strip().startswith("取込結果 2024-03-01 10:30"), lines[0]
        sheets.append(lines[0].split()[-1])
        assert f"{n} / {pages} ページ" in text
    assert sheets[0] == RESULT_SHEET and sheets[-1] == INFO_SHEET
    for text, sheet in zip(texts, sheets):
        if sheet == RESULT_SHEET:  # the header row on every page, its last column included
            assert "ファイル" in text and "返送ファイル" in text and "備考" in text
        if sheet == FINDINGS_SHEET:
            assert "場所" in text and "内容" in text
    # every file's row is printed
    flat = "".join(texts)
    for p in all_prefectures():
        assert f"{p.code}_{p.name_ja}_R5_計画.xlsx" in flat, p.code
