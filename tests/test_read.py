"""budget.xlsx.reader: the raw cells of a returned workbook, whoever saved it.

Real workbooks from ``budget.generate`` (xlsxwriter: shared strings), re-saved by openpyxl
(inline strings, no cached values) and by LibreOffice, plus SpreadsheetML that Excel writes
but no library call produces (shared formulas, phonetic runs, cells without references),
made by rewriting the XML of a generated file.
"""

from __future__ import annotations

import re
import time
import zipfile

import pytest

from budget.forms import plan as layout
from budget.intake.check import check_bytes, check_file
from budget.xlsx.container import inspect_container
from budget.xlsx.reader import (
    ReadError,
    column_letter,
    date_styles,
    is_date_format,
    locate_rows,
    normalise_formula,
    number_text,
    parse_shared_strings,
    parse_sheet,
    read_workbook,
    shift_formula,
    split_ref,
    unescape,
)
from tests.conftest import CONTACT, edit_workbook, rewrite_parts, write_filled_workbook

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHEET = "xl/worksheets/sheet2.xml"  # 計画 in a generated workbook
STRINGS = "xl/sharedStrings.xml"


def read(path):
    content = path.read_bytes()
    container, findings = inspect_container(content, path.name)
    assert findings == [] and container is not None
    return read_workbook(container)


def sheet_xml(body: str, extra: str = "", ns: str = NS) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<worksheet xmlns="{ns}"><sheetData>{body}</sheetData>{extra}</worksheet>').encode()


def inputs(wb) -> dict[str, tuple[str, str | None]]:
    """Every input cell of the leaf rows and the header: ref → (type family, value)."""
    out = {}
    refs = [ref for _, ref, _, _ in layout.HEADER_INPUTS.values()]
    refs += [layout.COLUMN[k].ref(r) for r in layout.leaf_rows(58) for k in layout.INPUT_KEYS]
    for ref in refs:
        cell = wb.plan.cell(ref)
        if cell is not None and not cell.is_empty:
            value = number_text(cell.value) if cell.type == "n" else cell.value
            out[ref] = ("text" if cell.is_text else cell.type, value)
    return out


# --- a generated workbook ------------------------------------------------------------------


def test_reads_meta_and_plan_of_a_generated_workbook(clean_workbook, menu):
    from budget.menu import menu_fingerprint

    wb = read(clean_workbook)
    assert wb.sheet_names == [layout.GUIDE_SHEET, layout.PLAN_SHEET, layout.META_SHEET]
    assert wb.sheet_states[layout.META_SHEET] == "veryHidden"
    assert list(wb.meta) == list(layout.META_KEYS)
    assert {k: wb.meta[k] for k in ("template_version", "fiscal_year", "prefecture_code",
                                    "menu_fingerprint", "menu_leaf_count")} == {
        "template_version": layout.TEMPLATE_VERSION, "fiscal_year": "2023",
        "prefecture_code": "13", "menu_fingerprint": menu_fingerprint(menu),
        "menu_leaf_count": "58"}
    plan = wb.plan
    assert plan.protected
    assert plan.cell("E2").value == "13 東京都"
    assert plan.cell("H8")[2:] == ("n", "14316", None)
    assert plan.cell("O8")[2:] == ("s", "県社会福祉協議会", None)
    assert plan.cell("G8").formula == "SUM(H8,I8,K8)"
    assert plan.cell("R8").value == "R5-01"
    assert plan.cell("H10") is None  # blank input: no cell
    assert plan.cell(8, 7) == plan.cell("H8") and plan.cell("H8").ref == "H8"
    assert inputs(wb)["B3"] == ("text", CONTACT["department"])


def test_locates_rows_by_their_codes(clean_workbook, menu):
    wb = read(clean_workbook)
    rows = locate_rows(wb.plan, menu["leaf_code"], layout.PLAN)
    assert rows.header_row == layout.HEADER_ROW
    assert {c: r for c, r in rows.leaf_rows.items()} == {
        c: [r] for c, r in zip(menu["leaf_code"], layout.leaf_rows(58))}
    categories = list(dict.fromkeys(menu["category"]))
    assert {c: r[0] for c, r in rows.summary_rows.items()} == layout.summary_rows(58, categories)
    assert rows.inserted == []


def test_openpyxl_saved_copy_reads_the_same(clean_workbook, tmp_path):
    saved = edit_workbook(clean_workbook, lambda ws: None, out=tmp_path / "saved.xlsx")
    with zipfile.ZipFile(saved) as z:
        xml = z.read(SHEET).decode()
    assert 't="inlineStr"' in xml and STRINGS not in z.namelist()  # openpyxl writes inline
    original, copy = read(clean_workbook), read(saved)
    assert inputs(copy) == inputs(original)
    assert copy.meta == original.meta and copy.plan.protected
    assert copy.plan.cell("G8").formula == "SUM(H8,I8,K8)" and copy.plan.cell("G8").value == ""


@pytest.mark.libreoffice
def test_libreoffice_saved_copy_reads_the_same_cells(clean_workbook, libreoffice_clean_workbook):
    original, copy = read(clean_workbook), read(libreoffice_clean_workbook)
    assert inputs(copy) == inputs(original)
    assert copy.meta == original.meta and copy.plan.protected
    formulas = {ref: c.formula for ref, c in ((c.ref, c) for c in original.plan.cells.values())
                if c.formula}
    assert {c.ref: c.formula for c in copy.plan.cells.values() if c.formula} == formulas


# --- SpreadsheetML that Excel writes --------------------------------------------------------


def test_shared_formulas_are_expanded(clean_workbook, tmp_path, menu):
    """Excel stores a filled-down formula once (``t="shared"``) and refers to it below."""
    def share(xml: str) -> str:
        def leaf(m: re.Match) -> str:
            start, col, row, formula = m.group(1), m.group(2), int(m.group(3)), m.group(4)
            if row > 65:  # subtotal rows keep their own formulas
                return m.group(0)
            if row == 8:
                return f'{start}<f t="shared" ref="{col}8:{col}65" si="{ord(col)}">{formula}</f>'
            return f'{start}<f t="shared" si="{ord(col)}"/>'

        out, n = re.subn(r'(<c r="([GJ])(\d+)" s="\d+">)<f>([^<]*)</f>', leaf, xml)
        assert n == 2 * 58 + 2 * 5
        return out

    path = rewrite_parts(clean_workbook, tmp_path / clean_workbook.name, {SHEET: share})
    with zipfile.ZipFile(path) as z:
        assert z.read(SHEET).count(b't="shared"') == 2 * 58
    wb = read(path)
    assert wb.plan.cell("G40").formula == "SUM(H40,I40,K40)"
    assert wb.plan.cell("J65").formula == "SUM(H65,I65)"
    report = check_file(path)
    assert report.flatten() == [] and report.accepted


def test_phonetic_readings_are_not_part_of_the_text(clean_workbook, tmp_path):
    """Japanese Excel stores furigana beside typed text (``<rPh>``); they are not the value."""
    def furigana(xml: str) -> str:
        old = "<si><t>県社会福祉協議会</t></si>"
        assert old in xml
        return xml.replace(old, '<si><r><t>県社会</t></r><r><rPr><b/></rPr><t>福祉協議会</t></r>'
                                '<rPh sb="0" eb="1"><t>ケン</t></rPh><phoneticPr fontId="1"/></si>')

    path = rewrite_parts(clean_workbook, tmp_path / clean_workbook.name, {STRINGS: furigana})
    assert read(path).plan.cell("O8").value == "県社会福祉協議会"
    report = check_file(path)
    assert report.flatten() == []
    assert report.plan.loc[0, "implementer"] == "県社会福祉協議会"


def test_shared_strings_rich_runs_and_escapes():
    xml = (f'<sst xmlns="{NS}" count="4" uniqueCount="4">'
           '<si><t>一</t></si><si><r><t>二</t></r><r><t xml:space="preserve"> 三</t></r></si>'
           '<si><t>行1_x000D_\n行2</t><rPh sb="0" eb="1"><t>ギョウ</t></rPh></si>'
           '<si><t/></si></sst>')
    assert parse_shared_strings(xml.encode()) == ["一", "二 三", "行1\r\n行2", ""]


def test_cells_of_every_type_and_without_references():
    body = ('<row r="3"><c r="B3" t="inlineStr"><is><r><t>担当</t></r><r><t>部署</t></r></is></c>'
            '<c t="n"><v>12</v></c><c/><c t="b"><v>1</v></c></row>'
            '<row><c r="A4" t="e"><v>#VALUE!</v></c>'
            '<c r="B4" t="str"><f>"a"&amp;"b"</f><v>ab</v></c>'
            '<c r="C4" t="s"><v>1</v></c><c r="D4" s="3"/><c><v>7</v></c></row>')
    sheet = parse_sheet(sheet_xml(body), ["x", "y"], "計画")
    assert {c.ref: (c.type, c.value, c.formula) for c in sheet.cells.values()} == {
        "B3": ("inlineStr", "担当部署", None), "C3": ("n", "12", None), "E3": ("b", "1", None),
        "A4": ("e", "#VALUE!", None), "B4": ("str", "ab", '"a"&"b"'), "C4": ("s", "y", None),
        "E4": ("n", "7", None)}
    assert not sheet.protected and sheet.max_row == 4


@pytest.mark.parametrize("attrs, protected", [
    ('sheet="1" objects="1"', True), ('sheet="true"', True), ('sheet="0"', False), ("", False)])
def test_sheet_protection(attrs, protected):
    sheet = parse_sheet(sheet_xml("", f"<sheetProtection {attrs}/>"), [])
    assert sheet.protected is protected


def test_strict_open_xml_namespace_reads_too():
    xml = sheet_xml('<row r="1"><c r="A1"><v>5</v></c></row>',
                    ns="http://purl.oclc.org/ooxml/spreadsheetml/main")
    assert parse_sheet(xml, []).cell("A1").value == "5"


@pytest.mark.parametrize("xml", [
    b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
    b'<worksheet xmlns="' + NS.encode() + b'"><sheetData><row r="1"><c r="A1" t="str"><v>&b;</v>'
    b"</c></row></sheetData></worksheet>",
    b'<?xml version="1.0"?><!DOCTYPE w SYSTEM "file:///etc/passwd"><worksheet/>',
])
def test_any_dtd_is_refused(xml):
    with pytest.raises(ReadError, match="DTD"):
        parse_sheet(xml, [])
    with pytest.raises(ReadError, match="DTD"):
        parse_shared_strings(xml)


def test_billion_laughs_is_refused_at_once():
    levels = '<!ENTITY a0 "' + "x" * 100 + '">' + "".join(
        f'<!ENTITY a{i} "' + f"&a{i - 1};" * 10 + '">' for i in range(1, 9))
    xml = f'<?xml version="1.0"?><!DOCTYPE w [{levels}]><w>&a8;</w>'.encode()
    start = time.process_time()
    with pytest.raises(ReadError):
        parse_sheet(xml, [])
    assert time.process_time() - start < 1  # nothing was expanded (10**10 bytes if it were)


@pytest.mark.parametrize("body, message", [
    ('<row r="1"><c r="A1" t="s"><v>5</v></c></row>', "存在しない共有文字列"),
    # Python's int() would take these (-1: the table's last string)
    ('<row r="1"><c r="A1" t="s"><v>-1</v></c></row>', "存在しない共有文字列"),
    ('<row r="1"><c r="A1" t="s"><v> 0</v></c></row>', "存在しない共有文字列"),
    ('<row r="1"><c r="A1" t="s"><v>\u0660</v></c></row>', "存在しない共有文字列"),
    ('<row r="1"><c r="1A"><v>5</v></c></row>', "セル参照"),
    ('<row r="1"><c r="A1"><v>5</v></row>', "XML として読めません"),
])
def test_malformed_sheets_raise_read_errors(body, message):
    with pytest.raises(ReadError, match=message):
        parse_sheet(sheet_xml(body), ["only"], "計画")


def test_malformed_sheet_in_a_file_is_a_corrupt_workbook(clean_workbook, tmp_path):
    path = rewrite_parts(clean_workbook, tmp_path / "x.xlsx",
                         {SHEET: lambda x: re.sub(r'(<c r="O8" s="\d+" t="s"><v>)', r"\g<1>9",
                                                  x, count=1)})
    report = check_bytes(path.read_bytes(), path.name)
    assert report.flatten() == [["corrupt-workbook", "error", None]]
    assert "存在しない共有文字列" in report.findings[0].message and report.plan is None


# --- number formats: dates ---------------------------------------------------------------------


def styles_xml(num_fmts: dict[int, str], xf_ids: list[int]) -> bytes:
    fmts = "".join(f'<numFmt numFmtId="{i}" formatCode="{c}"/>' for i, c in num_fmts.items())
    xfs = "".join(f'<xf numFmtId="{i}" fontId="0"/>' for i in xf_ids)
    return (f'<?xml version="1.0"?><styleSheet xmlns="{NS}"><numFmts>{fmts}</numFmts>'
            f'<cellStyleXfs><xf numFmtId="14"/></cellStyleXfs>'
            f'<cellXfs count="{len(xf_ids)}">{xfs}</cellXfs></styleSheet>').encode()


def test_date_styles_from_builtin_and_custom_formats():
    custom = {164: "#,##0", 165: "m\\月d\\日", 166: "@", 167: "[$-411]ggge&quot;年&quot;m&quot;月&quot;d&quot;日&quot;",
              168: "#,##0&quot;千円&quot;", 14: "0"}  # a file may redefine a built-in id
    ids = [0, 164, 165, 166, 167, 168, 14, 22, 27, 31, 45, 49, 57, 3, 176]
    assert date_styles(styles_xml(custom, ids)) == {2, 4, 7, 8, 9, 10, 12}
    # only the styles asked about (the cells' ones); out-of-range indices are ignored
    assert date_styles(styles_xml(custom, ids), {0, 2, 3, 99}) == {2}


@pytest.mark.parametrize("code, is_date", [
    ("yyyy/m/d", True), ("m\\月d\\日", True), ('[$-411]ggge"年"m"月"d"日"', True), ("h:mm", True),
    ("[h]:mm:ss", True), ("mm:ss.0", True), ("AM/PM h", True), ("General", False), ("@", False),
    ("#,##0", False), ('#,##0;\\-#,##0;""', False), ('#,##0"千円"', False), ("[Red]#,##0", False),
    ("0.00E+00", False), ("#,##0_);[Red](#,##0)", False), ('"day" 0', False), ("\\d0", False),
    ("* #,##0", False)])
def test_date_format_codes(code, is_date):
    assert is_date_format(code) is is_date


def test_styles_refuse_a_dtd():
    xml = b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "x">]><styleSheet/>'
    with pytest.raises(ReadError, match="DTD"):
        date_styles(xml)


def test_styles_part_is_found_through_the_workbook_relationships(clean_workbook, tmp_path):
    def styles(path):
        container, findings = inspect_container(path.read_bytes(), path.name)
        assert findings == [] and container is not None
        return container.styles

    rels = "xl/_rels/workbook.xml.rels"
    assert styles(clean_workbook) == "xl/styles.xml"
    path = rewrite_parts(clean_workbook, tmp_path / "x.xlsx",
                         {rels: lambda x: x.replace('Target="styles.xml"', 'Target="/xl/Styles.xml"')})
    assert styles(path) == "xl/styles.xml"  # case-insensitive, absolute
    path = rewrite_parts(clean_workbook, tmp_path / "y.xlsx",
                         {rels: lambda x: x.replace('Target="styles.xml"', 'Target="other.xml"')})
    assert styles(path) is None  # the relationship names a part that is not there


def test_the_reader_works_on_the_parts_triage_kept_and_never_unzips_again(clean_workbook):
    """One unzip: the reader reads the parts triage inflated and checked. A container whose
    kept 計画 part says something else than the zip shows that part, not the zip's."""
    import dataclasses

    content = clean_workbook.read_bytes()
    container, _ = inspect_container(content, clean_workbook.name)
    member = container.sheets[layout.PLAN_SHEET]
    assert member in container.parts and container.shared_strings in container.parts
    edited = container.parts[member].replace(b'<c r="R8" ', b'<c r="S8" ', 1)
    assert edited != container.parts[member]
    other = dataclasses.replace(container, parts={**container.parts, member: edited})
    assert read_workbook(container).plan.cell("R8") is not None
    assert read_workbook(other).plan.cell("R8") is None
    assert read_workbook(other).plan.cell("S8").value == "R5-01"
    with pytest.raises(ReadError, match="展開できません"):
        read_workbook(dataclasses.replace(container, parts={}))


def test_number_cells_with_a_date_format_are_dates(clean_workbook, tmp_path):
    def edit(ws):
        ws["H8"].number_format = "yyyy/m/d"
        ws["B4"] = 46082
        ws["B4"].number_format = "m/d"

    plan = read(edit_workbook(clean_workbook, edit, out=tmp_path / "x.xlsx")).plan
    assert [ref for ref in ("H8", "I8", "B4", "O8", "G8", "R8") if plan.is_date(plan.cell(ref))] \
        == ["H8", "B4"]
    assert plan.is_date(None) is False
    assert all(plan.cell(ref).type == "n" for ref in plan_refs(plan.number_styles))


def plan_refs(places) -> list[str]:
    return [f"{column_letter(c)}{r}" for r, c in places]


def test_a_generated_workbook_has_no_dates(clean_workbook):
    plan = read(clean_workbook).plan
    assert plan.number_styles and plan.date_styles == frozenset()


@pytest.mark.libreoffice
def test_libreoffice_saved_numbers_are_not_dates(libreoffice_clean_workbook):
    """LibreOffice renumbers the formats (#,##0 becomes a custom id): still no date."""
    plan = read(libreoffice_clean_workbook).plan
    assert len(plan.number_styles) > 20  # a style on every number it wrote
    assert not any(plan.is_date(c) for c in plan.cells.values())


def test_an_iso_date_cell_is_a_date():
    sheet = parse_sheet(sheet_xml('<row r="1"><c r="A1" t="d"><v>2026-03-01</v></c></row>'), [])
    assert sheet.is_date(sheet.cell("A1"))


def test_meta_rows_follow_the_keys(clean_workbook, tmp_path):
    wb = read(clean_workbook)
    assert wb.meta_rows == {k: i + 1 for i, k in enumerate(layout.META_KEYS)}
    moved = edit_workbook(clean_workbook, lambda wb: wb[layout.META_SHEET].insert_rows(1, 3),
                          out=tmp_path / "x.xlsx", sheet=None)
    assert read(moved).meta_rows["fiscal_year"] == 7  # row 4 of version 2, after 3 inserted


def test_content_below_the_table_is_not_a_row(clean_workbook, tmp_path, menu):
    """Typed-in cells under the totals are cells outside the form (validate reports them),
    not inserted rows; a row without a code among the leaves is one."""
    def edit(ws):
        ws["H66"], ws["H75"] = 1, 2
        ws.insert_rows(12)

    rows = locate_rows(read(edit_workbook(clean_workbook, edit, out=tmp_path / "x.xlsx")).plan,
                       menu["leaf_code"], layout.PLAN)
    assert rows.inserted == [(12, None)]


def test_coded_rows_below_the_last_leaf_are_inserted_rows(clean_workbook, tmp_path, menu):
    """Issue 12 #20: the scan for rows the template does not have runs past the last leaf
    (row 65) to the sheet's last row: a row with a code of its own just after the last leaf
    and one below the total (row 71) are rows, not stray cells."""
    def edit(ws):
        ws.insert_rows(66)
        ws["D66"], ws["H66"], ws["R66"] = "独自事業", 500, "R5-98"
        ws["D74"], ws["H74"], ws["R74"] = "独自事業", 700, "R5-99"  # the total is now row 72

    rows = locate_rows(read(edit_workbook(clean_workbook, edit, out=tmp_path / "x.xlsx")).plan,
                       menu["leaf_code"], layout.PLAN)
    assert rows.inserted == [(66, "R5-98"), (74, "R5-99")]
    assert rows.summary_rows["#total"] == [72]


def test_merged_ranges_are_read(clean_workbook):
    """Issue 12 #6: ``<mergeCells>`` as (first row, first col, last row, last col); a single
    cell or reversed corners are normalised, what is not a range is left out."""
    from budget.xlsx.reader import range_ref

    extra = ('<mergeCells count="4"><mergeCell ref="H9:I9"/><mergeCell ref="C3"/>'
             '<mergeCell ref="B5:A4"/><mergeCell ref="A:A"/></mergeCells>')
    sheet = parse_sheet(sheet_xml("", extra), [])
    assert sheet.merged == [(9, 7, 9, 8), (3, 2, 3, 2), (4, 0, 5, 1)]
    assert [range_ref(m) for m in sheet.merged] == ["H9:I9", "C3:C3", "A4:B5"]
    plan = read(clean_workbook).plan
    assert plan is not None and (1, 0, 1, 16) in plan.merged  # the template's title A1:Q1


# --- small helpers ----------------------------------------------------------------------------


def test_formula_text_helpers():
    assert shift_formula('SUMIF($A$8:$A$65,"B8",G$8:G$65)+LOG10(H8)', 2, 1) == \
        'SUMIF($A$8:$A$65,"B8",H$8:H$65)+LOG10(I10)'
    assert normalise_formula("=sum( H8 , I8 )") == normalise_formula("SUM(H8,I8)") == "SUM(H8,I8)"
    assert normalise_formula('=SUMIF(A1,"基盤 整備",B1)') == 'SUMIF(A1,"基盤 整備",B1)'
    assert normalise_formula("_xlfn.SUM(A1)") == "SUM(A1)" and normalise_formula(None) is None


def test_reference_and_number_helpers():
    assert [column_letter(i) for i in (0, 7, 17, 25, 26, 701)] == ["A", "H", "R", "Z", "AA", "ZZ"]
    assert split_ref("H8") == (8, 7) and split_ref("$AA$10") == (10, 26)
    with pytest.raises(ValueError):
        split_ref("8H")
    assert [number_text(t) for t in ("2023", "2023.0", "1.50", "1E+3", "x")] == [
        "2023", "2023", "1.5", "1000", "x"]
    assert unescape("a_x000D_b_x005F_x0041_") == "a\rb_x0041_"


def test_filled_workbook_factory_writes_what_it_is_given(tmp_path, filled_workbook):
    path = filled_workbook(tmp_path, prefecture="大阪府", rows={"R5-02": {"other": "１，２"}},
                           header={})
    assert path.name == "27_大阪府_R5_計画.xlsx"
    wb = read(path)
    assert inputs(wb) == {"K9": ("text", "１，２")}
    assert wb.meta["prefecture_code"] == "27"
    assert write_filled_workbook(tmp_path, name="x.xlsx").name == "x.xlsx"
