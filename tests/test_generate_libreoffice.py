"""A generated workbook in a real LibreOffice Calc (headless): what a user sees and types.

Skipped where LibreOffice is absent; `.ci/run` installs it.
"""

from __future__ import annotations

import shutil
import subprocess

import openpyxl
import pytest

from budget.generate import PlanValues, generate_templates, write_plan_workbook
from budget.menu import load_menu
from budget.prefectures import find_prefecture
from tests.libreoffice import (
    ProtectedCellError,
    cell_values,
    convert,
    edit_and_save,
    pdf_page_count,
    requires_libreoffice,
    requires_uno,
)

pytestmark = pytest.mark.libreoffice

FIRST, LAST = 8, 65  # leaf rows of the R5 menu (58 leaves)
SUBTOTALS = {"基盤整備": 67, "参入促進": 68, "資質の向上": 69, "労働環境・処遇の改善": 70}
TOTAL = 71


@pytest.fixture(scope="module")
def menu():
    return load_menu(2023)


@requires_uno
def test_prefilled_totals_show_without_recalculation(tmp_path, menu):
    """LibreOffice does not recalculate on load: the cached results must already be right."""
    rows = {"R5-01": {"national": 14316, "prefectural": 7160, "other": 500},
            "R5-04": {"national": 200, "prefectural": 100},
            "R5-41": {"national": 66, "prefectural": 33, "other": 7}}
    path = tmp_path / "prefilled.xlsx"
    write_plan_workbook(path, menu, find_prefecture("13"), values=PlanValues(rows=rows))
    cells = ["G8", "J8", "G11", "J11", "G65", "J65", f"G{SUBTOTALS['基盤整備']}",
             f"J{SUBTOTALS['参入促進']}", f"G{SUBTOTALS['労働環境・処遇の改善']}",
             f"G{TOTAL}", f"J{TOTAL}", f"H{TOTAL}"]
    shown = cell_values(path, "計画", cells)
    recalculated = cell_values(path, "計画", cells, recalc=True)
    assert shown == recalculated
    assert shown == {
        "G8": 21976, "J8": 21476, "G11": 300, "J11": 300, "G65": 106, "J65": 99,
        "G67": 21976, "J68": 300, "G70": 106,
        "G71": 21976 + 300 + 106, "J71": 21476 + 300 + 99, "H71": 14316 + 200 + 66,
    }


@requires_uno
def test_typed_amounts_give_matching_totals_after_save(tmp_path, menu):
    """A user types into the protected sheet's input cells in LibreOffice and saves as .xlsx:
    the totals LibreOffice computed equal the sums of what was typed."""
    template = generate_templates(menu, [find_prefecture("27")], tmp_path / "t")[0]
    saved = tmp_path / "27_filled.xlsx"
    typed = [
        ("計画", "E3", "大阪 花子"),
        ("計画", "H8", "14316"), ("計画", "I8", "7160"), ("計画", "K8", "500"),
        ("計画", "H12", "1,234"), ("計画", "I12", "617"),  # comma-grouped, as typed in ja-JP
        ("計画", "H40", "2000"), ("計画", "I40", "1000"), ("計画", "L40", "2000"),
        ("計画", "O40", "府社会福祉協議会"),
    ]
    edit_and_save(template, saved, typed)
    ws = openpyxl.load_workbook(saved, data_only=True)["計画"]
    assert ws["H12"].value == 1234  # LibreOffice parsed 1,234 as a number
    assert (ws["G8"].value, ws["J8"].value) == (21976, 21476)
    assert (ws["G12"].value, ws["J12"].value) == (1851, 1851)
    assert ws[f"J{SUBTOTALS['基盤整備']}"].value == 21476
    assert ws[f"J{SUBTOTALS['参入促進']}"].value == 1851
    assert ws[f"J{SUBTOTALS['資質の向上']}"].value == 3000
    assert ws[f"G{TOTAL}"].value == 21976 + 1851 + 3000
    assert ws[f"L{TOTAL}"].value == 2000
    assert ws["O40"].value == "府社会福祉協議会"
    # ... and the file still opens with those figures in LibreOffice without recalculation.
    assert cell_values(saved, "計画", [f"G{TOTAL}", f"J{TOTAL}"]) == {
        f"G{TOTAL}": 21976 + 1851 + 3000, f"J{TOTAL}": 21476 + 1851 + 3000}
    # protection survives a LibreOffice save
    assert openpyxl.load_workbook(saved)["計画"].protection.sheet


@requires_uno
def test_locked_cells_refuse_edits_in_a_real_client(tmp_path, menu):
    template = generate_templates(menu, [find_prefecture("01")], tmp_path)[0]
    with pytest.raises(ProtectedCellError):
        edit_and_save(template, tmp_path / "x.xlsx", [("計画", "D8", "書き換え")])
    with pytest.raises(ProtectedCellError):
        edit_and_save(template, tmp_path / "y.xlsx", [("計画", "G8", "999")])


@requires_libreoffice
def test_prints_to_a_sane_number_of_pages(tmp_path, menu):
    template = generate_templates(menu, [find_prefecture("47")], tmp_path)[0]
    pdf = convert(template, "pdf", tmp_path / "pdf")
    # 記入要領 (1 page) + 計画 fitted one page wide (58 rows: 2–3 pages)
    assert 2 <= pdf_page_count(pdf) <= 5
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed: page contents not checked")
    first, second = (subprocess.run(["pdftotext", "-f", str(p), "-l", str(p), "-layout",
                                     str(pdf), "-"], capture_output=True, text=True,
                                    check=True).stdout for p in (1, 2))
    # the whole guide on page 1, its last section included; page 2 is the plan
    assert "記入要領" in first and "5. 提出" in first and "提出期限" in first
    assert "5. 提出" not in second and "都道府県計画" in second


@requires_uno
def test_text_inputs_keep_what_was_typed(tmp_path, menu):
    """Header and text inputs are text cells: a phone number or an indicator like 3/1 typed
    in LibreOffice (ja-JP) stays as typed instead of becoming a date or losing a zero."""
    template = generate_templates(menu, [find_prefecture("13")], tmp_path / "t")[0]
    saved = tmp_path / "typed.xlsx"
    edit_and_save(template, saved, [("計画", "B4", "03-1234"), ("計画", "B3", "0120"),
                                    ("計画", "P8", "3/1"), ("計画", "H8", "3000")])
    ws = openpyxl.load_workbook(saved)["計画"]
    assert (ws["B4"].value, ws["B3"].value, ws["P8"].value) == ("03-1234", "0120", "3/1")
    assert ws["H8"].value == 3000  # amounts stay numbers
