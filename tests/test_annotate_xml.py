"""Return copies made by editing the sender's package (``budget.xlsx.patch``/``sheetedit``):
every part we do not change is the sender's byte for byte (a picture, printer settings,
their own sheet); problem cells keep their own format with our fill; comments merge with the
sender's; a copy opens in openpyxl and in LibreOffice; copies made by the older openpyxl
code are still recognised and stripped."""

from __future__ import annotations

import io
import json
import posixpath
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from budget.findings import FileReport, make
from budget.intake import annotate
from budget.intake.annotate import (
    COMMENT_AUTHOR,
    ERROR_FILL,
    ERRORS_SHEET,
    WARNING_FILL,
    annotated_bytes,
)
from budget.intake.check import check_bytes
from budget.intake.returned import MARK
from tests.conftest import edit_workbook
from tests.libreoffice import convert, requires_libreoffice
from tests.test_ingest import BAD_FINDINGS, SETTINGS, bad_rows, file_name, plan_bytes
from tests.xlsxparts import sheet_parts, with_part

NAME = file_name("13")
DATA = Path(__file__).parent / "data"
OLD_COPY = DATA / "openpyxl_copy_13_東京都_R5_計画_要修正.xlsx"  # made by the openpyxl code
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff"
       b"\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")
PRINTER = bytes(range(256)) * 4  # a binary printer-settings blob


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def with_extras(content: bytes) -> bytes:
    """The sender's plan as a real file carries more: a sheet of their own (メモ), a picture
    and printer settings (stored, not referenced: the copy must not even look at them)."""
    buf = io.BytesIO(content)
    wb = openpyxl.load_workbook(buf)
    memo = wb.create_sheet("メモ")
    memo["A1"], memo["B2"] = "担当者メモ", 12345
    out = io.BytesIO()
    wb.save(out)
    extra = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as src, \
            zipfile.ZipFile(extra, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"<Default ", b'<Default Extension="png" ContentType="image/'
                                    b'png"/><Default Extension="bin" ContentType="application/'
                                    b'vnd.openxmlformats-officedocument.spreadsheetml.'
                                    b'printerSettings"/><Default ', 1)
            dst.writestr(info, data)
        dst.writestr("xl/media/image1.png", PNG, zipfile.ZIP_STORED)
        dst.writestr("xl/printerSettings/printerSettings1.bin", PRINTER)
    return extra.getvalue()


@pytest.fixture(scope="module")
def sent() -> tuple[bytes, FileReport]:
    content = with_extras(plan_bytes("13", bad_rows()))
    report = check_bytes(content, NAME, SETTINGS)
    assert report.flatten() == BAD_FINDINGS
    return content, report


@pytest.fixture(scope="module")
def copy(sent) -> bytes:
    before = sum(annotate.FALLBACKS.values())
    data, why = annotated_bytes(*sent)
    assert why is None and data is not None
    assert sum(annotate.FALLBACKS.values()) == before  # the XML edit made it, not openpyxl
    return data


def test_every_part_we_do_not_change_is_the_senders_byte_for_byte(sent, copy):
    old, new = members(sent[0]), members(copy)
    parts = sheet_parts(copy)
    assert new["xl/media/image1.png"] == PNG
    assert new["xl/printerSettings/printerSettings1.bin"] == PRINTER
    assert new[parts["メモ"]] == old[sheet_parts(sent[0])["メモ"]]  # their own sheet
    changed = {n for n in old if old[n] != new.get(n)}
    # what a copy must change: the workbook (a sheet first), its relationships and content
    # types, styles (our fills), the marked sheet, its comments and their drawing
    with zipfile.ZipFile(io.BytesIO(copy)) as z:
        rels = z.read(f"xl/worksheets/_rels/{parts['計画'].rsplit('/', 1)[1]}.rels").decode()
    comments = [n for n in old if "comments" in n and n.endswith(".xml")]
    drawings = [n for n in old if n.endswith(".vml")]
    assert changed <= {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml",
                       "xl/styles.xml", parts["計画"], *comments, *drawings}
    assert all(n in rels for n in ("comments", "vmlDrawing"))
    assert set(new) - set(old) == {parts[ERRORS_SHEET]}  # one new part: the list
    # the copy's zip: no member stored twice, every CRC right
    with zipfile.ZipFile(io.BytesIO(copy)) as z:
        assert z.testzip() is None and len(z.namelist()) == len(set(z.namelist()))


def test_problem_cells_keep_their_own_format_with_our_fill(sent, copy):
    old = openpyxl.load_workbook(io.BytesIO(sent[0]))["計画"]
    wb = openpyxl.load_workbook(io.BytesIO(copy))
    plan = wb["計画"]
    assert wb.sheetnames == [ERRORS_SHEET, "記入要領", "計画", "_meta", "メモ"]
    for ref, rgb in (("H8", ERROR_FILL), ("Q9", WARNING_FILL)):
        assert plan[ref].fill.fgColor.rgb == "00" + rgb
        assert plan[ref].number_format == old[ref].number_format
        assert [getattr(plan[ref].border, side) == getattr(old[ref].border, side)
                for side in ("left", "right", "top", "bottom")] == [True] * 4
        assert plan[ref].protection.locked is False  # still an input cell
    assert plan.protection.sheet is True
    assert plan.protection.password == old.protection.password
    assert plan["I8"].fill.fgColor.rgb == old["I8"].fill.fgColor.rgb  # a cell without a finding: untouched
    assert plan["H8"].value == -5


def test_comments_merge_with_the_senders(sent, copy):
    plan = openpyxl.load_workbook(io.BytesIO(copy))["計画"]
    old = openpyxl.load_workbook(io.BytesIO(sent[0]))["計画"]
    kept = [c.coordinate for row in old.iter_rows() for c in row if c.comment is not None]
    assert len(kept) > 50  # the template's own notes on the items
    for ref in kept:
        assert plan[ref].comment is not None and plan[ref].comment.text == old[ref].comment.text
    assert plan["H8"].comment.author == COMMENT_AUTHOR
    assert plan["H8"].comment.text.startswith("【エラー】計画!H8")


def test_a_sheet_without_comments_gets_them_and_an_empty_cell_is_inserted(tmp_path):
    content = plan_bytes("13")
    guide = make("locked-cell-changed", file=NAME, sheet="記入要領", cell="Z40", value="x",
                 expected="y")
    meta = make("unexpected-cell", file=NAME, sheet="_meta", cell="C2", value="x", more="")
    report = FileReport(NAME, "", len(content), [guide, meta])
    before = sum(annotate.FALLBACKS.values())
    data, why = annotated_bytes(content, report)
    assert why is None and sum(annotate.FALLBACKS.values()) == before
    path = tmp_path / "c.xlsx"
    path.write_bytes(data)
    wb = openpyxl.load_workbook(path)
    for sheet, ref in (("記入要領", "Z40"), ("_meta", "C2")):
        cell = wb[sheet][ref]
        assert cell.fill.fgColor.rgb == "00" + ERROR_FILL
        assert cell.comment is not None and cell.comment.text.startswith("【エラー】")
    assert wb["_meta"]["B2"].value == "plan"  # the row's own cells stay
    assert wb[ERRORS_SHEET]["A6"].hyperlink.location == "'記入要領'!Z40"


def test_a_senders_formula_and_its_link_become_inert(clean_workbook, tmp_path):
    from budget.forms import plan as layout
    from budget.intake.check import check_file
    from tests.xlsxparts import sheet_xml

    remarks = layout.COLUMN["remarks"].ref(9)

    def edit(ws):
        ws[remarks] = '=HYPERLINK("http://attacker.example/x","y")'
        ws[remarks].hyperlink = "http://attacker.example/cell"

    path = edit_workbook(clean_workbook, edit, out=tmp_path / clean_workbook.name)
    report = check_file(path)
    before = sum(annotate.FALLBACKS.values())
    data, why = annotated_bytes(path.read_bytes(), report)
    assert why is None and sum(annotate.FALLBACKS.values()) == before
    xml = sheet_xml(data, layout.PLAN_SHEET)
    assert "attacker.example" not in xml.split("<hyperlinks")[-1] if "<hyperlinks" in xml \
        else True
    cell = openpyxl.load_workbook(io.BytesIO(data))[layout.PLAN_SHEET][remarks]
    assert (cell.data_type, cell.value, cell.hyperlink) == (
        "s", '=HYPERLINK("http://attacker.example/x","y")', None)
    assert cell.quotePrefix
    parts = members(data)
    rels = [v for n, v in parts.items() if n.startswith("xl/worksheets/_rels/")]
    assert not any(b"attacker.example/cell" in r for r in rels)


def notes_and_shapes(data: bytes) -> list[tuple[int, int]]:
    """Per comments part: (comments, note shapes in the drawing beside it)."""
    parts = members(data)
    out = []
    for name, body in parts.items():
        if name.startswith("xl/worksheets/_rels/"):
            rels = body.decode()
            targets = [t for t in re.findall(r'Target="([^"]+)"', rels)]
            comments = [t for t in targets if "comment" in t.lower() and t.endswith(".xml")]
            drawings = [t for t in targets if t.endswith(".vml")]
            if not comments and not drawings:
                continue
            folder = "xl/worksheets"
            resolve = (lambda t: t.lstrip("/") if t.startswith("/") else
                       posixpath.normpath(posixpath.join(folder, t)))
            n_comments = sum(parts[resolve(t)].count(b"<comment ") for t in comments)
            n_shapes = sum(parts[resolve(t)].count(b'ObjectType="Note"') for t in drawings)
            out.append((n_comments, n_shapes))
    return out


def test_a_copy_made_by_the_openpyxl_code_is_recognised_and_stripped(tmp_path):
    content = OLD_COPY.read_bytes()
    report = check_bytes(content, OLD_COPY.name, SETTINGS)
    assert report.file == NAME and report.received_as == OLD_COPY.name
    assert report.flatten() == BAD_FINDINGS
    before = sum(annotate.FALLBACKS.values())
    data, why = annotated_bytes(content, report)
    assert why is None and sum(annotate.FALLBACKS.values()) == before
    assert notes_and_shapes(data) == [(60, 60)]  # the template's 58 notes and our 2
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames.count(ERRORS_SHEET) == 1 and wb.sheetnames[0] == ERRORS_SHEET
    assert wb[ERRORS_SHEET]["G1"].value == MARK and wb[ERRORS_SHEET]["G2"].value == NAME
    assert wb["計画"]["H8"].comment.text.count("【エラー】") == 1


def test_a_new_copy_is_recognised_when_sent_back(copy):
    sent_back = check_bytes(copy, "13_東京都_R5_計画_要修正.xlsx", SETTINGS)
    assert sent_back.file == NAME and sent_back.flatten() == BAD_FINDINGS


def test_a_copy_marked_again_loses_its_old_marks(sent, copy):
    """Sent back with other problems: the old list, fills and comments come off (H8 gets the
    template's fill back, its note goes with its shape), the new ones go on; the sender's
    picture and sheet are still theirs."""
    old = openpyxl.load_workbook(io.BytesIO(sent[0]))["計画"]
    finding = make("negative-amount", file=NAME, sheet="計画", cell="K8", value="-1",
                   leaf_code="R5-01", leaf_name="x")
    report = FileReport(NAME, "", len(copy), [finding])
    before = sum(annotate.FALLBACKS.values())
    data, why = annotated_bytes(copy, report)
    assert why is None and sum(annotate.FALLBACKS.values()) == before
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == [ERRORS_SHEET, "記入要領", "計画", "_meta", "メモ"]
    plan = wb["計画"]
    assert plan["H8"].comment is None and plan["Q9"].comment is None
    assert plan["H8"].fill.fgColor.rgb == old["H8"].fill.fgColor.rgb  # the template's again
    assert plan["Q9"].fill.fgColor.rgb == old["Q9"].fill.fgColor.rgb
    assert plan["K8"].fill.fgColor.rgb == "00" + ERROR_FILL
    assert plan["K8"].comment.text == f"【エラー】{finding.message}"
    ws = wb[ERRORS_SHEET]
    assert ws.max_row == 6 and ws["A6"].value == "計画!K8" and ws["G2"].value == NAME
    assert ws["G3"].value == "計画!K8" and ws["G4"].value is None
    assert notes_and_shapes(data) == [(59, 59)]  # the template's 58 and K8
    parts = members(data)
    assert parts["xl/media/image1.png"] == PNG
    assert len([n for n in parts if n.startswith("xl/worksheets/sheet")]) == 5
    defined = parts["xl/workbook.xml"].decode()
    assert defined.count("'エラー一覧'!$5:$5") == 1 and "localSheetId=\"2\"" in defined


@requires_libreoffice
def test_libreoffice_opens_the_copy_with_its_list_fills_and_comments(copy, tmp_path):
    src = tmp_path / "13_要修正.xlsx"
    src.write_bytes(copy)
    out = convert(src, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == ERRORS_SHEET
    ws = wb[ERRORS_SHEET]
    assert [ws.cell(5, c).value for c in range(1, 6)] == ["場所", "重要度", "事業", "入力値", "内容"]
    assert ws["A6"].value == "計画!H8" and ws["A6"].hyperlink is not None
    assert "計画" in (ws["A6"].hyperlink.location or ws["A6"].hyperlink.target or "")
    assert ws["D7"].value == '=HYPERLINK("http://x","y")'  # text, never a formula
    plan = wb["計画"]
    assert plan["H8"].fill.fgColor.rgb.endswith(ERROR_FILL)
    assert plan["Q9"].fill.fgColor.rgb.endswith(WARNING_FILL)
    assert plan["H8"].comment is not None and "【エラー】" in plan["H8"].comment.text
    assert plan["D8"].comment is not None and "【事業内容】" in plan["D8"].comment.text
    assert plan.protection.sheet


def test_a_cell_with_the_senders_comment_keeps_it_below_ours():
    content = plan_bytes("13")
    old = openpyxl.load_workbook(io.BytesIO(content))["計画"]["D8"].comment.text
    finding = make("locked-cell-changed", file=NAME, sheet="計画", cell="D8", value="x",
                   expected="y")
    data, why = annotated_bytes(content, FileReport(NAME, "", len(content), [finding]))
    assert why is None
    comment = openpyxl.load_workbook(io.BytesIO(data))["計画"]["D8"].comment
    assert comment.author == COMMENT_AUTHOR
    assert comment.text == f"【エラー】{finding.message}{annotate.KEPT_COMMENT}{old}"


def test_a_macro_workbooks_copy_is_a_plain_xlsx_made_by_the_edit(sent, tmp_path):
    from tests import hostile

    base = tmp_path / "base.xlsx"
    base.write_bytes(plan_bytes("13", bad_rows()))
    path = hostile.BUILDERS["xlsm"](tmp_path / "13_東京都_R5_計画.xlsm", base)
    content = path.read_bytes()
    report = check_bytes(content, path.name, SETTINGS)
    assert "macro-workbook" in [f.code for f in report.findings]
    before = sum(annotate.FALLBACKS.values())
    data, why = annotated_bytes(content, report)
    assert why is None and sum(annotate.FALLBACKS.values()) == before
    parts = members(data)
    assert not [n for n in parts if "vba" in n.lower()]
    assert b"vbaProject" not in parts["xl/_rels/workbook.xml.rels"]
    assert b"macroEnabled" not in parts["[Content_Types].xml"]
    assert openpyxl.load_workbook(io.BytesIO(data)).sheetnames[0] == ERRORS_SHEET


@requires_libreoffice
def test_a_workbook_saved_by_libreoffice_is_marked_by_the_edit(libreoffice_clean_workbook,
                                                                 tmp_path):
    """LibreOffice writes its own shapes of the parts (an XML declaration before the VML, its
    own shape ids): the copy is still the edit, and LibreOffice opens it with our marks."""
    content = libreoffice_clean_workbook.read_bytes()
    on_input = make("negative-amount", file=NAME, sheet="計画", cell="H8", value="-1",
                    leaf_code="R5-01", leaf_name="x")
    on_note = make("negative-amount", file=NAME, sheet="計画", cell="D8", value="-1",
                   leaf_code="R5-01", leaf_name="x")
    report = FileReport(NAME, "", len(content), [on_input, on_note])
    own = openpyxl.load_workbook(libreoffice_clean_workbook)["計画"]["D8"].comment.text
    before = sum(annotate.FALLBACKS.values())
    data, why = annotated_bytes(content, report)
    assert why is None and sum(annotate.FALLBACKS.values()) == before
    src = tmp_path / "13_要修正.xlsx"
    src.write_bytes(data)
    wb = openpyxl.load_workbook(convert(src, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo"))
    plan = wb["計画"]
    assert wb.sheetnames[0] == ERRORS_SHEET
    assert plan["H8"].fill.fgColor.rgb.endswith(ERROR_FILL)
    assert plan["H8"].comment.text == f"【エラー】{on_input.message}"
    assert plan["D8"].comment.text == f"【エラー】{on_note.message}{annotate.KEPT_COMMENT}{own}"


@requires_libreoffice
def test_libreoffice_opens_a_copy_marked_again(copy, tmp_path):
    finding = make("negative-amount", file=NAME, sheet="計画", cell="K8", value="-1",
                   leaf_code="R5-01", leaf_name="x")
    data, why = annotated_bytes(copy, FileReport(NAME, "", len(copy), [finding]))
    assert why is None
    src = tmp_path / "again.xlsx"
    src.write_bytes(data)
    wb = openpyxl.load_workbook(convert(src, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo"))
    assert wb.sheetnames == [ERRORS_SHEET, "記入要領", "計画", "_meta", "メモ"]
    plan = wb["計画"]
    assert plan["H8"].comment is None and plan["K8"].comment.text == f"【エラー】{finding.message}"
    assert plan["K8"].fill.fgColor.rgb.endswith(ERROR_FILL)
    assert not plan["H8"].fill.fgColor.rgb.endswith(ERROR_FILL)
    assert wb[ERRORS_SHEET]["A6"].value == "計画!K8"


def test_a_shape_the_edit_does_not_handle_falls_back_to_openpyxl_and_is_counted():
    """A shared formula in a marked cell (its dependants need the master's text): the copy
    is made the old way, counted under its reason, and looks the same to the clerk."""
    content = plan_bytes("13")

    def shared_formula_in_q9(data: bytes) -> bytes:
        data = re.sub(rb'<c r="Q9"([^>]*?)(?:/>|>.*?</c>)',
                      rb'<c r="Q9"\1><f t="shared" ref="Q9:Q10" si="0">1+1</f><v>2</v></c>',
                      data, count=1, flags=re.S)
        assert b'si="0"' in data
        return data

    content = with_part(content, sheet_parts(content)["計画"], shared_formula_in_q9)
    finding = make("formula-in-input", file=NAME, sheet="計画", cell="Q9", value="=1+1")
    before = annotate.FALLBACKS["shared formula"]
    data, why = annotated_bytes(content, FileReport(NAME, "", len(content), [finding]))
    assert why is None and annotate.FALLBACKS["shared formula"] == before + 1
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames[0] == ERRORS_SHEET
    assert (wb["計画"]["Q9"].data_type, wb["計画"]["Q9"].value) == ("s", "=1+1")
    assert wb["計画"]["Q9"].fill.fgColor.rgb == "00" + ERROR_FILL


CT_CALC_CHAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"
REL_CALC_CHAIN = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain"


def with_calc_chain(content: bytes) -> bytes:
    """``content`` as Excel saves a workbook with formulas: a calculation chain listing each
    formula cell (here 計画!H8, sheet 2), related from the workbook, with its content type."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", f'<Override PartName="/xl/calcChain.xml" '
                                    f'ContentType="{CT_CALC_CHAIN}"/></Types>'.encode())
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", f'<Relationship Id="rId99" Type='
                                    f'"{REL_CALC_CHAIN}" Target="calcChain.xml"/>'
                                    f"</Relationships>".encode())
            dst.writestr(info, data)
        dst.writestr("xl/calcChain.xml", b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                     b'\n<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                     b'main"><c r="H8" i="2"/></calcChain>')
    return out.getvalue()


def test_the_calculation_chain_goes_when_a_formula_becomes_text(tmp_path):
    """Excel opens a copy whose calculation chain lists a cell that no longer has a formula
    with its repair prompt (「一部の内容に問題が見つかりました」): the chain goes, always, with
    its relationship and content type (Excel rebuilds it)."""
    from budget.forms import plan as layout

    path = edit_workbook(plan_path(tmp_path), lambda ws: ws.__setitem__("H8", "=1200+300"))
    content = with_calc_chain(path.read_bytes())
    assert "xl/calcChain.xml" in members(content)
    report = check_bytes(content, NAME, SETTINGS)
    assert [(f.code, f.sheet, f.cell) for f in report.findings] == [
        ("formula-in-input", layout.PLAN_SHEET, "H8")]
    before = sum(annotate.FALLBACKS.values())
    data, why = annotated_bytes(content, report)
    assert why is None and data is not None
    assert sum(annotate.FALLBACKS.values()) == before  # the XML edit made it
    parts = members(data)
    assert not [n for n in parts if "calcchain" in n.lower()]
    assert b"calcChain" not in parts["xl/_rels/workbook.xml.rels"]
    assert b"calcChain" not in parts["[Content_Types].xml"]
    assert b"rId99" not in parts["xl/_rels/workbook.xml.rels"]
    wb = openpyxl.load_workbook(io.BytesIO(data))
    cell = wb[layout.PLAN_SHEET]["H8"]
    assert (cell.data_type, cell.value) == ("s", "=1200+300")
    assert cell.fill.fgColor.rgb == "00" + ERROR_FILL
    sent_back = check_bytes(data, "13_東京都_R5_計画_要修正.xlsx", SETTINGS)
    assert sent_back.file == NAME  # still recognised as our copy


def test_a_copy_without_a_calculation_chain_gets_none(copy):
    parts = members(copy)
    assert not [n for n in parts if "calcchain" in n.lower()]
    assert b"calcChain" not in parts["[Content_Types].xml"]


def plan_path(tmp_path: Path) -> Path:
    path = tmp_path / NAME
    path.write_bytes(plan_bytes("13"))
    return path


def with_fill_record(copy: bytes, record: str) -> bytes:
    """Our return copy with the fill recorded for its first marked cell (hidden H3 of the
    list) replaced by ``record``, as a sender could type it."""
    from budget.xlsx.patch import text

    def recorded(data: bytes) -> bytes:
        data, n = re.subn(rb'(<c r="H3"[^>]*><is><t xml:space="preserve">).*?(</t>)',
                          lambda m: m.group(1) + text(record).encode() + m.group(2),
                          data, count=1, flags=re.S)
        assert n == 1
        return data

    return with_part(copy, sheet_parts(copy)[ERRORS_SHEET], recorded)


HOSTILE_FILLS = [
    '{"pattern":"solid\\u0001","fg":{"type":"rgb","value":"zz\\u0002"}}',
    '{"pattern":"solid","fg":{"type":"rgb","value":"FFFF0000","tint":"nan"}}',
    '{"pattern":"solid","fg":{"type":"rgb","value":"FFFF0000","tint":NaN}}',
    '{"pattern":"solid","fg":{"type":"rgb","value":"FFFF0000","tint":1e999}}',
    '{"pattern":"solid","fg":{"type":"theme","value":100000000000000000000000}}',
    '{"pattern":"solid","fg":{"type":"indexed","value":-1}}',
    '{"pattern":"solid","fg":{"type":"theme","value":true}}',
    '{"pattern":"solid\\" x=\\"<","fg":null}',
    '{"pattern":"solid","fg":{"type":"rgb","value":"FF\\"/><x a=\\"<"}}',
    '{"pattern":"solid","fg":{"type":"auto","value":"<\\u0003"}}',
    '{"pattern":"solid","bg":{"type":"ugly","value":"FFFF0000"}}',
    '{"pattern":"solid","fg":["rgb"]}',
    '["solid"]',
    '{"pattern":',
    "null",
]


@pytest.mark.parametrize("record", HOSTILE_FILLS)
def test_a_hostile_fill_record_is_not_restored_and_the_copy_stays_well_formed(sent, copy,
                                                                               record):
    """The fill recorded in a copy's hidden column H comes back from the sender, who may
    have edited it: a record that is not a fill (a pattern or colour SpreadsheetML does not
    know, a control character, a quote or ``<``, a tint that is not a number in [-1, 1], a
    huge theme) is not restored: that cell is left unfilled. The copy made again is still the
    XML edit, its styles part is well-formed and openpyxl loads it."""
    import defusedxml.ElementTree as DET

    sent_back = with_fill_record(copy, record)
    recorded = openpyxl.load_workbook(io.BytesIO(sent_back))[ERRORS_SHEET]
    assert recorded["G3"].value == "計画!H8"
    finding = make("negative-amount", file=NAME, sheet="計画", cell="K8", value="-1",
                   leaf_code="R5-01", leaf_name="x")
    report = FileReport(NAME, "", len(sent_back), [finding])
    before = sum(annotate.FALLBACKS.values())
    data, why = annotated_bytes(sent_back, report)
    assert why is None and data is not None
    assert sum(annotate.FALLBACKS.values()) == before  # the edit made it, no exception
    DET.fromstring(members(data)["xl/styles.xml"])
    plan = openpyxl.load_workbook(io.BytesIO(data))["計画"]
    h8 = plan["H8"]
    assert h8.fill.patternType is None  # left unfilled: not ours, not the record's
    assert plan["Q9"].fill.fgColor.rgb == openpyxl.load_workbook(
        io.BytesIO(sent[0]))["計画"]["Q9"].fill.fgColor.rgb  # a sound record is restored
    assert plan["K8"].fill.fgColor.rgb == "00" + ERROR_FILL


def test_a_hostile_fill_record_of_a_cell_marked_again_is_not_kept(copy):
    """H8 marked again: its fill before is recorded as 'unfilled', not the hostile record,
    and a third round leaves it unfilled."""
    sent_back = with_fill_record(copy, HOSTILE_FILLS[0])
    finding = make("negative-amount", file=NAME, sheet="計画", cell="H8", value="-1",
                   leaf_code="R5-01", leaf_name="x")
    data, why = annotated_bytes(sent_back, FileReport(NAME, "", len(sent_back), [finding]))
    assert why is None and data is not None
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb[ERRORS_SHEET]["G3"].value == "計画!H8"
    assert json.loads(wb[ERRORS_SHEET]["H3"].value) == {"pattern": None, "fg": None,
                                                         "bg": None}
    assert wb["計画"]["H8"].fill.fgColor.rgb == "00" + ERROR_FILL
    other = make("negative-amount", file=NAME, sheet="計画", cell="K8", value="-1",
                 leaf_code="R5-01", leaf_name="x")
    again, why = annotated_bytes(data, FileReport(NAME, "", len(data), [other]))
    assert why is None and again is not None
    assert openpyxl.load_workbook(io.BytesIO(again))["計画"]["H8"].fill.patternType is None


@pytest.mark.parametrize("record", [HOSTILE_FILLS[0], HOSTILE_FILLS[11], HOSTILE_FILLS[12], ""])
def test_the_openpyxl_way_leaves_a_hostile_fill_record_unfilled_too(copy, record):
    """A copy of a shape the edit does not handle is made with openpyxl: the same check, the
    same result (a copy is made; the cell is left unfilled, not kept red)."""
    sent_back = with_fill_record(copy, record)
    finding = make("negative-amount", file=NAME, sheet="計画", cell="K8", value="-1",
                   leaf_code="R5-01", leaf_name="x")
    data, why = annotate._openpyxl_copy(sent_back, FileReport(NAME, "", len(sent_back),
                                                              [finding]))
    assert why is None and data is not None
    plan = openpyxl.load_workbook(io.BytesIO(data))["計画"]
    assert plan["H8"].fill.patternType is None
    assert plan["K8"].fill.fgColor.rgb == "00" + ERROR_FILL


def test_a_sound_fill_record_makes_the_fill_it_describes():
    """Every pattern SpreadsheetML knows, and each kind of colour with its tint, as the
    styles part of a workbook openpyxl reads back."""
    from budget.xlsx.sheetedit import NO_FILL, PATTERNS, UNFILLED, fill_xml

    assert fill_xml(NO_FILL) == UNFILLED
    for pattern in sorted(PATTERNS):
        record = json.dumps({"pattern": pattern, "fg": {"type": "theme", "value": 4,
                                                        "tint": 0.3999755851924192},
                             "bg": {"type": "indexed", "value": 64, "tint": 0.0}})
        assert fill_xml(record) == (
            f'<fill><patternFill patternType="{pattern}"><fgColor theme="4" '
            f'tint="0.3999755851924192"/><bgColor indexed="64"/></patternFill></fill>').encode()
    record = json.dumps({"pattern": "solid", "fg": {"type": "rgb", "value": "FFc7CE00",
                                                    "tint": -1},
                         "bg": {"type": "auto", "value": True, "tint": 0}})
    assert fill_xml(record) == (b'<fill><patternFill patternType="solid"><fgColor rgb="FFc7CE00"'
                                b' tint="-1.0"/><bgColor auto="1"/></patternFill></fill>')
    for bad in HOSTILE_FILLS + ["", "[" * 100_000, '{"pattern":"solid","fg":{"type":"rgb",'
                                '"value":"FFFF0000\\n"}}', '{"pattern":["solid"]}']:
        assert fill_xml(bad) is None, bad
