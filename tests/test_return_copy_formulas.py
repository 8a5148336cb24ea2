"""Item 10: a sender's own formula (a live ``=HYPERLINK(...)`` typed into an input cell, or
any formula where the form has none) is inert text in the return copy we send back."""

from __future__ import annotations

import io
import re

import openpyxl
from click.testing import CliRunner

from budget.cli import cli
from budget.forms import plan as layout
from budget.intake.annotate import annotated_bytes
from budget.intake.check import check_file
from tests.conftest import edit_workbook
from tests.xlsxparts import sheet_xml

LINK = '=HYPERLINK("http://attacker.example/x","クリック")'


def _sheet_xml(data: bytes, sheet: str) -> str:
    """The XML of worksheet ``sheet`` in the .xlsx ``data`` (found through the workbook)."""
    return sheet_xml(data, sheet)


def _cell_xml(xml: str, ref: str) -> str:
    match = re.search(rf'<c r="{ref}"[^>]*?(/>|>.*?</c>)', xml, re.S)
    assert match, ref
    return match.group(0)


def test_a_senders_formulas_are_inert_text_in_the_return_copy(clean_workbook, tmp_path):
    remarks, other = layout.COLUMN["remarks"].ref(9), layout.COLUMN["other"].ref(8)

    def edit(ws):
        ws[remarks] = LINK
        ws[other] = "=1000+234"
        ws["Z3"] = "=HYPERLINK(\"file:///etc/passwd\")"  # outside the form

    path = edit_workbook(clean_workbook, edit, out=tmp_path / clean_workbook.name)
    report = check_file(path)
    assert {(f.code, f.cell) for f in report.errors} >= {
        ("formula-in-input", remarks), ("formula-in-input", other)}
    data, why = annotated_bytes(path.read_bytes(), report)
    assert data is not None, why

    copy = openpyxl.load_workbook(io.BytesIO(data))[layout.PLAN_SHEET]
    for ref, text in ((remarks, LINK), (other, "=1000+234")):
        cell = copy[ref]
        assert (cell.data_type, cell.value) == ("s", text)  # shown as typed, never calculated
        assert cell.quotePrefix
        assert cell.comment is not None  # still marked
    xml = _sheet_xml(data, layout.PLAN_SHEET)
    for ref in (remarks, other):
        assert "<f>" not in _cell_xml(xml, ref) and "<f " not in _cell_xml(xml, ref)
    assert "HYPERLINK" not in "".join(re.findall(r"<f[ >].*?</f>", xml, re.S))
    # the form's own formulas stay live
    total = layout.COLUMN["total"].ref(8) if "total" in layout.COLUMN else None
    if total:
        assert copy[total].data_type == "f"


def test_validate_annotate_writes_no_live_sender_formula(clean_workbook, tmp_path):
    remarks = layout.COLUMN["remarks"].ref(10)
    path = edit_workbook(clean_workbook, lambda ws: ws.__setitem__(remarks, LINK),
                         out=tmp_path / clean_workbook.name)
    result = CliRunner().invoke(cli, ["validate", str(path), "--annotate", str(tmp_path / "r")])
    assert result.exit_code == 1, result.output
    copy = next((tmp_path / "r").glob("*_要修正.xlsx"))
    cell = openpyxl.load_workbook(copy)[layout.PLAN_SHEET][remarks]
    assert (cell.data_type, cell.value) == ("s", LINK)
