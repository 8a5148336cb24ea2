"""Return copies: the sender's workbook with every problem cell marked and an エラー一覧 sheet."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from budget.findings import FileReport, make
from budget.intake.annotate import (
    ERROR_FILL,
    ERRORS_SHEET,
    WARNING_FILL,
    annotate_workbook,
    annotated_bytes,
    return_copy_name,
    try_annotate,
)
from budget.intake.check import check_bytes
from tests import hostile
from tests.test_ingest import BAD_FINDINGS, HYPERLINK, SETTINGS, bad_rows, file_name, plan_bytes
from tests.xlsxparts import sheet_xml

NAME = file_name("13")


@pytest.fixture(scope="module")
def bad() -> tuple[bytes, FileReport]:
    content = plan_bytes("13", bad_rows())
    report = check_bytes(content, NAME, SETTINGS)
    assert report.flatten() == BAD_FINDINGS
    return content, report


@pytest.fixture(scope="module")
def copy(bad, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ret") / "13_要修正.xlsx"
    assert annotate_workbook(*bad, out) == out
    return out


@pytest.fixture(scope="module")
def wb(copy):
    return openpyxl.load_workbook(copy)


def test_first_sheet_lists_every_finding_with_a_link_to_its_cell(wb, bad):
    assert wb.sheetnames == [ERRORS_SHEET, "記入要領", "計画", "_meta"]
    assert wb.active.title == ERRORS_SHEET
    assert [bool(ws.sheet_view.tabSelected) for ws in wb.worksheets] == [True, False, False, False]
    ws = wb[ERRORS_SHEET]
    assert ws["A1"].value == f"{NAME} の確認結果: エラー 1 件、警告 1 件"
    # columns A–E: what the clerk reads (G and H, hidden, make the copy recognisable)
    rows = list(ws.iter_rows(min_row=5, max_col=5, values_only=True))
    leaf0, leaf1 = bad[1].findings[0].leaf_name, bad[1].findings[1].leaf_name
    assert rows == [
        ("場所", "重要度", "事業", "入力値", "内容"),
        ("計画!H8", "エラー", f"R5-01 {leaf0}", "-5", bad[1].findings[0].message),
        ("計画!Q9", "警告", f"R5-02 {leaf1}", HYPERLINK, bad[1].findings[1].message),
    ]
    assert [ws[f"A{r}"].hyperlink.location for r in (6, 7)] == ["'計画'!H8", "'計画'!Q9"]
    assert ws["A6"].hyperlink.target is None  # internal: no external relationship
    assert [ws[f"B{r}"].fill.fgColor.rgb for r in (6, 7)] == ["00" + ERROR_FILL,
                                                              "00" + WARNING_FILL]


def test_problem_cells_are_filled_and_commented(wb, bad):
    plan = wb["計画"]
    assert plan["H8"].fill.fgColor.rgb == "00" + ERROR_FILL
    assert plan["Q9"].fill.fgColor.rgb == "00" + WARNING_FILL
    assert plan["H8"].comment.text == f"【エラー】{bad[1].findings[0].message}"
    assert plan["Q9"].comment.text == f"【警告】{bad[1].findings[1].message}"
    assert plan["I8"].comment is None
    assert plan["I8"].fill.fgColor.rgb != "00" + ERROR_FILL


def test_the_senders_workbook_is_kept(wb):
    plan = wb["計画"]
    assert plan.protection.sheet is True  # still protected
    assert wb["記入要領"].protection.sheet is True
    assert wb["_meta"].sheet_state == "veryHidden"
    assert plan["H8"].value == -5 and plan["H9"].value == 400
    assert plan["G9"].value == "=SUM(H9,I9,K9)"  # formulas stay formulas
    assert plan["D8"].comment is not None  # the template's own comments stay
    assert "【事業内容】" in plan["D8"].comment.text
    assert len(plan.data_validations.dataValidation) == 6
    assert plan.freeze_panes == "F8"  # as generated (labels through 細目 frozen)


def test_formula_looking_text_stays_inert(wb, copy):
    ws = wb[ERRORS_SHEET]
    assert (ws["D7"].value, ws["D7"].data_type) == (HYPERLINK, "s")
    assert HYPERLINK in ws["E7"].value and ws["E7"].data_type == "s"
    assert (wb["計画"]["Q9"].value, wb["計画"]["Q9"].data_type) == (HYPERLINK, "s")
    assert HYPERLINK in wb["計画"]["Q9"].comment.text
    # nothing in the written sheet XML is a formula: no <f> element at all
    errors_part = sheet_xml(copy.read_bytes(), ERRORS_SHEET)
    assert "<f>" not in errors_part and "<f " not in errors_part
    assert 'HYPERLINK(' not in errors_part.replace("&quot;", '"').split("<sheetData>")[0]


def test_a_fixed_return_copy_is_accepted(copy):
    wb = openpyxl.load_workbook(copy)
    wb["計画"]["H8"].value = None  # the clerk clears the negative amount
    buf = io.BytesIO()
    wb.save(buf)
    report = check_bytes(buf.getvalue(), NAME, SETTINGS)
    assert report.flatten() == [["leading-formula-character", "warning", "Q9"]]
    assert report.accepted


def test_annotating_a_returned_copy_again_replaces_its_list(copy, bad, tmp_path):
    again = copy.read_bytes()
    report = check_bytes(again, NAME, SETTINGS)
    out = annotate_workbook(again, report, tmp_path / "again.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [ERRORS_SHEET, "記入要領", "計画", "_meta"]
    assert wb[ERRORS_SHEET].max_row == 7


def test_warnings_only_copy_is_named_for_checking(tmp_path):
    content = plan_bytes("13", header={})
    report = check_bytes(content, NAME, SETTINGS)
    assert report.accepted and report.flatten() == [
        ["missing-contact", "warning", c] for c in ("B3", "E3", "B4", "E4")]
    assert return_copy_name(NAME, bool(report.errors)) == "13_東京都_R5_計画_要確認.xlsx"
    out = annotate_workbook(content, report, tmp_path / "c.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb[ERRORS_SHEET]["A2"].value.startswith("受理しましたが")
    assert {wb["計画"][c].fill.fgColor.rgb for c in ("B3", "E3", "B4", "E4")} == {
        "00" + WARNING_FILL}


def test_finding_without_a_cell_is_listed_and_linked_to_its_sheet(tmp_path):
    content = plan_bytes("13", rows={})
    report = check_bytes(content, NAME, SETTINGS)
    assert report.flatten(("code", "sheet", "cell")) == [["empty-plan", "計画", None]]
    wb = openpyxl.load_workbook(annotate_workbook(content, report, tmp_path / "c.xlsx"))
    ws = wb[ERRORS_SHEET]
    assert (ws["A6"].value, ws["A6"].hyperlink.location) == ("計画", "'計画'!A1")


def test_merged_cell_is_marked_at_its_top_left(tmp_path):
    content = plan_bytes("13")
    finding = make("locked-cell-changed", file=NAME, sheet="計画", cell="C1", value="x",
                   expected="y")
    report = FileReport(NAME, "", len(content), [finding])
    wb = openpyxl.load_workbook(annotate_workbook(content, report, tmp_path / "m.xlsx"))
    assert wb["計画"]["A1"].comment.text.startswith("【エラー】")
    assert wb[ERRORS_SHEET]["A6"].hyperlink.location == "'計画'!A1"


@pytest.mark.parametrize("kind, reason", [
    ("truncated", "ファイルが壊れているため、返送用の注記ファイルは作成できません。"),
    ("billion_laughs", "安全でない XML を含むため、返送用の注記ファイルは作成できません。"),
    ("encrypted", "パスワードで暗号化されているため、返送用の注記ファイルは作成できません。"),
    ("random_bytes", "Excel ブックではないため、返送用の注記ファイルは作成できません。"),
])
def test_no_copy_of_a_file_that_cannot_be_loaded(kind, reason, bad, tmp_path):
    base = tmp_path / "base.xlsx"
    base.write_bytes(bad[0])
    path = hostile.BUILDERS[kind](tmp_path / f"{kind}.xlsx", base)
    content = path.read_bytes()
    report = check_bytes(content, path.name, SETTINGS)
    out = tmp_path / "out.xlsx"
    assert try_annotate(content, report, out) == (None, reason)
    assert not out.exists()
    # even with a report that does not say so, the bytes are triaged before openpyxl sees them
    innocent = FileReport(path.name, "", len(content))
    assert try_annotate(content, innocent, out) == (None, reason)
    assert not out.exists()


def test_macro_workbook_copy_is_a_plain_xlsx(bad, tmp_path):
    base = tmp_path / "base.xlsx"
    base.write_bytes(bad[0])
    path = hostile.BUILDERS["xlsm"](tmp_path / "13_東京都_R5_計画.xlsm", base)
    content = path.read_bytes()
    report = check_bytes(content, path.name, SETTINGS)
    assert "macro-workbook" in [f.code for f in report.findings]
    name = return_copy_name(path.name)
    assert name == "13_東京都_R5_計画_要修正.xlsx"
    out = annotate_workbook(content, report, tmp_path / name)
    with zipfile.ZipFile(out) as z:
        assert not [n for n in z.namelist() if "vbaProject" in n]
    assert openpyxl.load_workbook(out).sheetnames[0] == ERRORS_SHEET


def test_a_caller_with_the_triage_does_not_triage_again(bad, monkeypatch):
    """The check's container is reused: annotate makes the same copy without triaging the
    file a second time."""
    from budget.xlsx import container as container_module

    content, report = bad
    container, _ = container_module.inspect_container(content, report.file)

    def no_second_triage(*args, **kwargs):
        raise AssertionError("triaged twice")

    monkeypatch.setattr(container_module, "inspect_container", no_second_triage)
    data, why = annotated_bytes(content, report, container)
    assert why is None and data is not None
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames[0] == ERRORS_SHEET and wb["計画"]["H8"].fill.fgColor.rgb.endswith(ERROR_FILL)
    with pytest.raises(AssertionError, match="triaged twice"):
        annotated_bytes(content, report)  # without the container it would triage


def test_annotated_bytes_are_the_same_copy_without_writing_anything(bad, copy, tmp_path):
    """What the ingest's workers make (the parent writes it where the run decides)."""
    data, why = annotated_bytes(*bad)
    assert why is None
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == openpyxl.load_workbook(copy).sheetnames
    assert wb["計画"]["H8"].fill.fgColor.rgb.endswith(ERROR_FILL)
    empty = hostile.make_empty(tmp_path / "empty.xlsx")
    report = check_bytes(empty.read_bytes(), empty.name, SETTINGS)
    assert annotated_bytes(empty.read_bytes(), report) == (
        None, "ファイルが空のため、返送用の注記ファイルは作成できません。")
    assert list(tmp_path.iterdir()) == [empty]


def test_a_copy_that_cannot_be_written_says_why(bad, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    path, why = try_annotate(*bad, blocker / "13_要修正.xlsx")  # its folder is a file
    assert path is None
    assert why.startswith("返送用の注記ファイルを書き込めませんでした（")
