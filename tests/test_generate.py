"""Generated planning workbooks, read back with openpyxl (issue: the menu as data, generate)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import range_boundaries

from budget.generate import (
    PlanValues,
    generate_templates,
    render_blank_master,
    stamp_prefecture,
    write_plan_workbook,
)
from budget.menu import load_menu
from budget.prefectures import all_prefectures, find_prefecture
from budget.textwidth import display_width

N_LEAVES = 58
FIRST = 8  # first leaf row, written out here on purpose rather than taken from layout
LAST = FIRST + N_LEAVES - 1
AMOUNT_LETTERS = ["H", "I", "K", "L", "M", "N"]
TEXT_LETTERS = ["O", "P", "Q"]
HEADER_INPUT_CELLS = {"B3", "E3", "B4", "E4"}


@pytest.fixture(scope="module")
def menu():
    return load_menu(2023)


@pytest.fixture(scope="module")
def tokyo_path(tmp_path_factory, menu) -> Path:
    out = tmp_path_factory.mktemp("gen")
    return generate_templates(menu, [find_prefecture("13")], out)[0]


@pytest.fixture(scope="module")
def wb(tokyo_path):
    return openpyxl.load_workbook(tokyo_path)


@pytest.fixture(scope="module")
def plan(wb):
    return wb["計画"]


def test_file_name_has_code_and_japanese_name(tokyo_path):
    assert tokyo_path.name == "13_東京都_R5_計画.xlsx"


def test_sheets_in_order_and_metadata_very_hidden(wb):
    assert wb.sheetnames == ["記入要領", "計画", "_meta"]
    assert wb["_meta"].sheet_state == "veryHidden"
    assert wb["記入要領"].sheet_state == "visible"
    assert wb.active.title == "計画"


def test_every_leaf_in_menu_order_with_its_code(plan, menu):
    codes = [plan[f"R{r}"].value for r in range(FIRST, LAST + 1)]
    assert codes == list(menu["leaf_code"])
    assert codes[0] == "R5-01" and codes[-1] == "R5-41" and "R5-13-ハ" in codes
    assert plan.column_dimensions["R"].hidden
    # the visible labels of a sub-item row
    row = FIRST + codes.index("R5-13-ハ")
    assert plan[f"C{row}"].value == 13
    assert plan[f"D{row}"].value == "介護に関する入門的研修、生活援助従事者研修の受講等支援事業"
    assert plan[f"E{row}"].value.startswith("ハ 介護の周辺業務等の体験支援")
    assert plan[f"A{row}"].value == "参入促進"
    # item 26 shows both bureaus
    row26 = FIRST + codes.index("R5-26")
    assert plan[f"F{row26}"].value == "老健局認知症施策・地域介護推進課\n老健局老人保健課"
    # the description is a note on the name
    assert "認証評価制度" in plan[f"D{FIRST + 2}"].comment.text


def test_header_shows_year_and_prefecture(plan):
    assert plan["B2"].value == "令和5年度（2023年度）"
    assert plan["E2"].value == "13 東京都"
    assert "令和5年度" in plan["A1"].value
    assert plan["G4"].value == "（単位：千円）"
    assert [plan[c].value for c in ("A3", "D3", "A4", "D4")] == [
        "担当部署", "担当者名", "電話番号", "メールアドレス"]


def test_department_input_is_wide_enough_for_a_department_name(plan):
    """担当部署 (B3) spans B3:C3, wraps, two lines high: room for a whole department's name
    (issue 12, item 17: a normal name was cut). Its cell stays B3 (what ingest reads)."""
    assert "B3:C3" in [str(r) for r in plan.merged_cells.ranges]
    assert plan["B3"].alignment.wrap_text and plan["B3"].protection.locked is False
    width = plan.column_dimensions["B"].width + plan.column_dimensions["C"].width
    lines = plan.row_dimensions[3].height // 15
    name = "東京都 福祉局 高齢者施策推進部 介護保険課"  # 42 columns wide
    assert lines >= 2 and (width - 1) * lines >= display_width(name)


def test_freeze_keeps_the_item_names_in_view(plan):
    """Frozen: the header rows and the label columns through 細目 (E), so the item's name
    stays beside 公/民 while typing (issue 12, item 17)."""
    assert plan.freeze_panes == "F8"
    assert plan["E6"].value == "細目" and plan["D6"].value == "事業名"


def test_only_input_cells_are_unlocked_and_sheet_protected(plan):
    expected = set(HEADER_INPUT_CELLS) | {"C3"}  # C3: merged into 担当部署 (B3:C3)
    for r in range(FIRST, LAST + 1):
        expected |= {f"{c}{r}" for c in AMOUNT_LETTERS + TEXT_LETTERS}
    unlocked = {
        cell.coordinate
        for row in plan.iter_rows(min_row=1, max_row=plan.max_row, max_col=18)
        for cell in row
        if cell.protection.locked is False
    }
    assert unlocked == expected
    assert plan.protection.sheet is True
    assert not plan.protection.password
    assert plan.protection.insertRows is True  # True means "not allowed" in openpyxl's model
    assert plan.protection.deleteRows is True


def _cells_of(sqref) -> set[str]:
    cells = set()
    for rng in str(sqref).split():
        min_col, min_row, max_col, max_row = range_boundaries(rng)
        for r in range(min_row, max_row + 1):
            for c in range(min_col, max_col + 1):
                cells.add(f"{openpyxl.utils.get_column_letter(c)}{r}")
    return cells


def test_validation_covers_exactly_the_amount_cells(plan):
    dvs = plan.data_validations.dataValidation
    covered = set()
    for dv in dvs:
        assert dv.type == "whole"
        assert dv.operator == "greaterThanOrEqual"
        assert dv.formula1 == "0"
        assert dv.showErrorMessage and dv.errorStyle in (None, "stop")
        assert "千円" in dv.prompt and "千円" in dv.error
        covered |= _cells_of(dv.sqref)
    expected = {f"{c}{r}" for c in AMOUNT_LETTERS for r in range(FIRST, LAST + 1)}
    assert covered == expected


def test_row_formulas_refer_to_their_own_row(plan):
    for r in range(FIRST, LAST + 1):
        assert plan[f"G{r}"].value == f"=SUM(H{r},I{r},K{r})"
        assert plan[f"J{r}"].value == f"=SUM(H{r},I{r})"


def test_subtotal_and_total_formulas(plan, menu):
    categories = list(dict.fromkeys(menu["category"]))
    assert categories == ["基盤整備", "参入促進", "資質の向上", "労働環境・処遇の改善"]
    first_summary = LAST + 2  # one blank row after the leaves
    for i, cat in enumerate(categories):
        r = first_summary + i
        assert plan[f"R{r}"].value == f"#subtotal:{cat}"
        assert plan[f"A{r}"].value == f"小計（{cat}）"
        for col in "GHIJKLMN":
            assert plan[f"{col}{r}"].value == (
                f'=SUMIF($A${FIRST}:$A${LAST},"{cat}",{col}${FIRST}:{col}${LAST})')
    total = first_summary + len(categories)
    assert plan[f"A{total}"].value == "合計" and plan[f"R{total}"].value == "#total"
    for col in "GHIJKLMN":
        assert plan[f"{col}{total}"].value == f"=SUM({col}${FIRST}:{col}${LAST})"


def test_formulas_carry_correct_cached_results(tmp_path, menu):
    """A spreadsheet that does not recalculate on load must show the right figures."""
    rows = {
        "R5-01": {"national": 14316, "prefectural": 7160, "other": 500, "public": 14316},
        "R5-13-ハ": {"national": 2000, "prefectural": 1000, "private": 2000, "commissioned": 300},
        "R5-41": {"national": 10, "prefectural": "５", "other": 1},  # text: SUM ignores it
    }
    path = tmp_path / "filled.xlsx"
    write_plan_workbook(path, menu, find_prefecture("01"), values=PlanValues(rows=rows))
    ws = openpyxl.load_workbook(path, data_only=True)["計画"]
    codes = list(menu["leaf_code"])
    r1, r13, r41 = (FIRST + codes.index(c) for c in ("R5-01", "R5-13-ハ", "R5-41"))
    assert (ws[f"G{r1}"].value, ws[f"J{r1}"].value) == (21976, 21476)
    assert (ws[f"G{r13}"].value, ws[f"J{r13}"].value) == (3000, 3000)
    assert (ws[f"G{r41}"].value, ws[f"J{r41}"].value) == (11, 10)
    assert ws[f"I{r41}"].value == "５"  # written as typed
    assert ws[f"G{FIRST + 5}"].value == 0  # an empty row
    first_summary = LAST + 2
    assert ws[f"J{first_summary}"].value == 21476  # 基盤整備
    assert ws[f"J{first_summary + 1}"].value == 3000  # 参入促進
    assert ws[f"J{first_summary + 3}"].value == 10  # 労働環境・処遇の改善
    assert ws[f"G{first_summary + 4}"].value == 21976 + 3000 + 11
    assert ws[f"N{first_summary + 4}"].value == 300


def test_metadata_sheet(wb, menu):
    from budget.menu import menu_fingerprint

    meta = {r[0].value: r[1].value for r in wb["_meta"].iter_rows()}
    assert meta == {
        "template_version": "3",
        "form": "plan",
        "stage": "plan",
        "fiscal_year": "2023",
        "fiscal_year_label": "R5",
        "prefecture_code": "13",
        "prefecture_name": "東京都",
        "menu_fingerprint": menu_fingerprint(menu),
        "menu_leaf_count": "58",
        "first_data_row": "8",
        "tool_version": __import__("budget").__version__,
        "generated_at": "2023-04-01",
    }
    assert wb["_meta"].protection.sheet


def test_print_and_view_settings(plan, tokyo_path):
    ps = plan.page_setup
    assert ps.orientation == "landscape"
    assert str(ps.paperSize) == "9"  # A4
    assert plan.sheet_properties.pageSetUpPr.fitToPage
    assert (ps.fitToWidth or 1, ps.fitToHeight) == (1, 0)  # OOXML default width is 1
    assert plan.print_title_rows == "$6:$7"
    assert plan.freeze_panes == "F8"
    assert "13 東京都" in plan.oddFooter.left.text
    assert "&P" in plan.oddFooter.center.text and "&N" in plan.oddFooter.center.text
    assert plan.print_area == [f"'計画'!$A$1:$Q${LAST + 6}"] or plan.print_area.endswith(
        f"$A$1:$Q${LAST + 6}")
    with zipfile.ZipFile(tokyo_path) as z:
        styles = z.read("xl/styles.xml").decode()
    assert "游ゴシック" in styles


def _referenced_columns(formula: str) -> set[str]:
    return set(re.findall(r"\$?([A-Z]{1,2})\$?\d+", formula))


def test_conditional_formats_test_the_right_cells_everywhere_in_their_range(plan):
    """Excel and LibreOffice shift a rule's relative references to each cell of its range
    (as openpyxl's Translator does): every cell must test the intended columns of its own row."""
    from openpyxl.formula.translate import Translator

    rules = {}
    for cf in plan.conditional_formatting:
        assert len(cf.rules) == 1
        rules[str(cf.sqref)] = cf.rules[0].formula[0]
    assert set(rules) == {f"H{FIRST}:N{LAST}", f"H{FIRST}:I{LAST}", f"L{FIRST}:M{LAST}",
                          f"N{FIRST}:N{LAST}", f"A{FIRST}:F{LAST}"}
    intended = {  # range → columns each of its cells must read (None: the cell itself)
        f"H{FIRST}:N{LAST}": None,
        f"H{FIRST}:I{LAST}": {"H", "I"},
        f"L{FIRST}:M{LAST}": {"H", "L", "M"},
        f"N{FIRST}:N{LAST}": {"M", "N"},
        f"A{FIRST}:F{LAST}": {"H", "L", "M", "N"},  # and the H:N span
    }
    for sqref, formula in rules.items():
        first, last = sqref.split(":")
        for col in range(ord(first[0]), ord(last[0]) + 1):
            for row in (FIRST, FIRST + 20, LAST):
                cell = f"{chr(col)}{row}"
                moved = Translator("=" + formula, origin=first).translate_formula(cell)
                assert set(re.findall(r"\d+", moved)) <= {str(row), "0", "2", "3"}, moved
                columns = _referenced_columns(moved)
                expected = intended[sqref] or {chr(col)}
                assert expected <= columns <= expected | {"H", "N"}, (sqref, cell, moved)


def test_conditional_format_rules(plan):
    rules = {str(cf.sqref): cf.rules[0].formula[0] for cf in plan.conditional_formatting}
    assert rules[f"H{FIRST}:I{LAST}"] == (
        "AND(OR(ISNUMBER($H8),ISNUMBER($I8)),ABS(N($H8)*3-(N($H8)+N($I8))*2)>2*3)")
    assert rules[f"L{FIRST}:M{LAST}"] == (
        "AND(OR(ISNUMBER($L8),ISNUMBER($M8)),N($L8)+N($M8)<>N($H8))")
    assert rules[f"N{FIRST}:N{LAST}"] == "AND(ISNUMBER($N8),$N8>N($M8))"
    assert rules[f"H{FIRST}:N{LAST}"].startswith('AND(H8<>"",OR(ISTEXT(H8)')
    assert rules[f"A{FIRST}:F{LAST}"].startswith('OR(COUNTIF($H8:$N8,"<0")>0')


def test_guide_prints_on_one_page(wb):
    """記入要領 fits one A4 landscape page (its last section was left alone on page 2)."""
    ws = wb["記入要領"]
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == "9"
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert (ws.page_setup.fitToWidth or 1, ws.page_setup.fitToHeight or 1) == (1, 1)
    assert ws.page_setup.fitToHeight in (None, 1)


def test_guide_sheet_explains_unit_rules_and_where_to_send(wb):
    text = "\n".join(str(c.value) for c in wb["記入要領"]["A"] if c.value)
    for phrase in ("千円", "3分の2", "公 + 民 = 国 (A)", "民 を超える", "提出先", "空欄"):
        assert phrase in text, phrase


def test_same_inputs_give_byte_identical_files(tmp_path, menu):
    a = generate_templates(menu, [find_prefecture("27")], tmp_path / "a")[0].read_bytes()
    b = generate_templates(menu, [find_prefecture("27")], tmp_path / "b")[0].read_bytes()
    assert a == b


def test_stamped_templates_equal_direct_rendering_for_all_47(menu):
    master = render_blank_master(menu)
    for pref in all_prefectures():
        direct = io.BytesIO()
        write_plan_workbook(direct, menu, pref)
        assert stamp_prefecture(master, pref) == direct.getvalue(), pref.label


def test_prefilled_values_are_written_as_typed(tmp_path, menu):
    path = tmp_path / "typed.xlsx"
    rows = {"R5-02": {"national": "１，２３４", "prefectural": -5, "implementer": "=1+1"}}
    header = {"contact_name": "山田太郎"}
    write_plan_workbook(path, menu, find_prefecture("13"), values=PlanValues(header, rows))
    ws = openpyxl.load_workbook(path)["計画"]
    assert ws["H9"].value == "１，２３４" and ws["H9"].data_type == "s"
    assert ws["I9"].value == -5
    assert ws["O9"].value == "=1+1" and ws["O9"].data_type == "s"  # text, not a formula
    assert ws["E3"].value == "山田太郎"


@pytest.mark.parametrize("text", ["<r><t>=1+1</t></r>", "<r>x</r>",
                                  '<r><t>a</t></r><r><f>HYPERLINK("http://x")</f></r>'])
def test_prefilled_text_shaped_like_rich_text_stays_that_text(tmp_path, menu, text):
    """Text from the store that xlsxwriter would take for rich text's XML (``<r>…</r>``,
    written unescaped) is written as that very text: the file opens, the cell reads back as
    typed, and no formula or markup of the sender's reaches the workbook."""
    from budget.xlsx.container import inspect_container
    from budget.xlsx.reader import read_workbook

    path = tmp_path / "rich.xlsx"
    rows = {"R5-02": {"implementer": text}}
    write_plan_workbook(path, menu, find_prefecture("13"),
                        values=PlanValues({"contact_name": text}, rows))
    ws = openpyxl.load_workbook(path)["計画"]
    assert ws["O9"].value == text and ws["O9"].data_type == "s"
    assert ws["E3"].value == text
    container, found = inspect_container(path.read_bytes(), path.name)
    assert container is not None and not found
    sheet = read_workbook(container).plan
    assert sheet is not None
    assert sheet.cell("O9").value == text and sheet.cell("O9").formula is None
    with zipfile.ZipFile(path) as z:
        assert b"<f>" not in z.read("xl/sharedStrings.xml")


def test_no_xml_declares_an_entity_or_external_link(tokyo_path):
    with zipfile.ZipFile(tokyo_path) as z:
        names = z.namelist()
        assert not any(n.startswith("xl/externalLinks") for n in names)
        assert "xl/vbaProject.bin" not in names
        for n in names:
            assert not re.search(rb"<!(DOCTYPE|ENTITY)", z.read(n)), n
