"""A return copy of ours sent back after fixing (issue 12, item 15): recognised by what
``annotate`` writes, checked without our additions, shown and stored under the plan's name,
its bytes stored as received; a copy annotated again carries no stale marks. Real
workbooks, a real SQLite store, openpyxl and LibreOffice as the clerk's applications."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import openpyxl
import pytest

from budget.intake.annotate import COMMENT_AUTHOR, ERROR_FILL, return_copy_name
from budget.intake.batch import ingest_folder
from budget.intake.check import Settings, check_file
from budget.intake.returned import ERRORS_SHEET, MARK, plan_name_of
from tests.conftest import edit_workbook
from tests.libreoffice import edit_and_save, requires_uno
from tests.test_ingest import BAD_FINDINGS, bad_rows, file_name, plan_bytes, write

SETTINGS = Settings(fiscal_year=2023)
TOKYO = file_name("13")
COPY = "13_東京都_R5_計画_要修正.xlsx"


@pytest.fixture()
def returned(tmp_path) -> Path:
    """The return copy ``ingest`` made of Tokyo's rejected plan (H8 negative, Q9 a warning)."""
    write(tmp_path / "r1", "13", plan_bytes("13", bad_rows()))
    run = ingest_folder(tmp_path / "r1", tmp_path / "b.db", SETTINGS, tmp_path / "reports",
                        workers=0)
    (result,) = run.results
    assert result.returned is not None and result.returned.name == COPY
    return result.returned


def fixed(copy: Path, out: Path) -> Path:
    """The clerk's fix in Excel: H8 (国 (A) of R5-01) corrected, nothing else touched."""
    def edit(ws):
        ws["H8"], ws["I8"] = 200, 100

    return edit_workbook(copy, edit, out=out)


def stored(db: Path) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT s.id, s.file_name, s.status, f.content FROM submissions s "
                           "JOIN files f ON f.submission_id = s.id ORDER BY s.id").fetchall()
    finally:
        con.close()


def test_names():
    assert plan_name_of(COPY) == TOKYO
    assert plan_name_of("13_東京都_R5_計画_要確認_2.xlsx") == TOKYO
    assert plan_name_of(TOKYO) == TOKYO
    assert return_copy_name(COPY) == COPY  # never 「_要修正_要修正」


def test_the_copy_carries_its_mark_and_the_plan_name(returned):
    ws = openpyxl.load_workbook(returned)[ERRORS_SHEET]
    assert (ws["G1"].value, ws["G2"].value) == (MARK, TOKYO)
    assert ws.column_dimensions["G"].hidden and ws.column_dimensions["H"].hidden
    assert ws["G3"].value == "計画!H8"  # the cells we filled, with their fills before


def test_a_fixed_return_copy_is_accepted_under_the_plans_name_and_stored_as_received(
        returned, tmp_path):
    inbox = tmp_path / "r2"
    inbox.mkdir()
    sent = fixed(returned, inbox / COPY)
    run = ingest_folder(inbox, tmp_path / "b.db", SETTINGS, tmp_path / "reports", workers=0)
    (result,) = run.results
    assert result.status == "accepted" and result.created
    assert result.file == TOKYO and result.report.received_as == COPY
    assert [f.code for f in result.report.findings] == ["leading-formula-character"]
    assert all(f.file == TOKYO for f in result.report.findings)
    assert result.note is not None and f"返送用の注記ファイル（{COPY}）として送り返された" in result.note
    rows = stored(tmp_path / "b.db")
    assert [(name, status) for _, name, status, _ in rows] == [(TOKYO, "rejected"),
                                                                (TOKYO, "accepted")]
    assert bytes(rows[1][3]) == sent.read_bytes()  # the bytes as received, list and all
    # the same copy again: recognised as the same submission, nothing new
    again = ingest_folder(inbox, tmp_path / "b.db", SETTINGS, None, workers=0)
    assert [(r.file, r.created) for r in again.results] == [(TOKYO, False)]


def test_validate_shows_the_plans_name_and_checks_without_our_additions(returned, tmp_path):
    report = check_file(returned, SETTINGS)  # sent back unfixed: the same findings as before
    assert report.file == TOKYO and report.received_as == COPY
    assert report.flatten() == BAD_FINDINGS
    renamed = shutil.copy(returned, tmp_path / "東京都の計画_修正済.xlsx")  # renamed by the clerk
    assert check_file(Path(renamed), SETTINGS).file == TOKYO  # the name the copy records


def test_a_copy_made_again_from_a_return_copy_has_no_stale_marks(returned, tmp_path):
    """Sent back with H8 fixed but a new error in K8: the new copy marks K8 only; H8's fill
    and comment are gone, one list sheet, the plan's name."""
    inbox = tmp_path / "r2"
    inbox.mkdir()

    def edit(ws):
        ws["H8"], ws["I8"], ws["K8"] = 200, 100, -1

    before = openpyxl.load_workbook(plan_bytes_path(tmp_path))["計画"]["H8"].fill
    edit_workbook(returned, edit, out=inbox / COPY)
    run = ingest_folder(inbox, tmp_path / "b.db", SETTINGS, tmp_path / "reports", workers=0)
    (result,) = run.results
    assert result.status == "rejected" and result.returned is not None
    assert result.returned.name == COPY
    wb = openpyxl.load_workbook(result.returned)
    assert wb.sheetnames.count(ERRORS_SHEET) == 1 and wb.sheetnames[0] == ERRORS_SHEET
    ws = wb["計画"]
    assert ws["H8"].comment is None
    assert ws["H8"].fill.fgColor.rgb == before.fgColor.rgb  # the template's own fill again
    assert ws["K8"].comment is not None and ws["K8"].comment.author == COMMENT_AUTHOR
    assert ws["K8"].fill.fgColor.rgb.endswith(ERROR_FILL)
    assert ws["K8"].comment.text.count("【エラー】") == 1 and "元のコメント" not in \
        ws["K8"].comment.text
    assert wb[ERRORS_SHEET]["G2"].value == TOKYO


def plan_bytes_path(tmp_path: Path) -> Path:
    path = tmp_path / "orig.xlsx"
    path.write_bytes(plan_bytes("13", bad_rows()))
    return path


@requires_uno
def test_a_copy_fixed_in_libreoffice_is_recognised(returned, tmp_path):
    inbox = tmp_path / "r2"
    inbox.mkdir()
    edit_and_save(returned, inbox / COPY, [("計画", "H8", "200"), ("計画", "I8", "100")])
    run = ingest_folder(inbox, tmp_path / "b.db", SETTINGS, None, workers=0)
    (result,) = run.results
    assert (result.file, result.status) == (TOKYO, "accepted")
