"""budget.xlsx.reader's two ways to read a worksheet give the same ``Sheet``.

``parse_sheet`` reads the cells of a part with the shape every mainstream writer gives it
without building its element tree (``_fast_sheet``) and takes the tree (``_tree_sheet``)
for anything else. Here both run over real workbooks (generated, filled, re-saved by
openpyxl and by LibreOffice, the test data, the hostile files triage lets through) and over
SpreadsheetML written by hand to sit on every edge of the fast path's shape: each time the
fast path either declines (None) or gives exactly the tree's ``Sheet`` (same cells in the
same order, rows, styles, merged ranges, protection), and it declines whenever the tree
raises a ``ReadError``.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from budget.xlsx import reader
from budget.xlsx.container import inspect_container
from budget.xlsx.reader import Cell, ReadError, Sheet, parse_shared_strings, parse_sheet
from tests import hostile

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DATA = Path(__file__).parent / "data"
SHARED = ["zero", "one", "two & three", "改行\nあり"]


def same(a: Sheet, b: Sheet) -> bool:
    """Equal, the cells and rows in the same order, and every cell a ``Cell`` (a plain tuple
    would compare equal)."""
    return a == b and list(a.cells) == list(b.cells) and list(a.rows) == list(b.rows) \
        and all(type(cell) is Cell for sheet in (a, b) for cell in sheet.cells.values()) \
        and all(type(cell) is Cell for sheet in (a, b) for row in sheet.rows.values()
                for cell in row)


def both(data: bytes, shared: list[str], name: str = "計画") -> Sheet | None:
    """The fast path's sheet after checking it against the tree's (None: it declined)."""
    try:
        tree: Sheet | ReadError = reader._tree_sheet(data, shared, name)
    except ReadError as exc:
        tree = exc
    fast = reader._fast_sheet(data, shared, name)
    if isinstance(tree, ReadError):
        assert fast is None, "the fast path read a part the tree refuses"
        with pytest.raises(ReadError) as raised:
            parse_sheet(data, shared, name)
        assert raised.value.detail == tree.detail
        return None
    if fast is not None:
        assert same(fast, tree)
        again = reader._fast_sheet(data, shared, name)  # what it keeps between files
        assert again is not None and same(again, tree)
    assert same(parse_sheet(data, shared, name), tree)
    return fast


def workbook_sheets(content: bytes, label: str) -> list[tuple[str, bytes, list[str]]]:
    container, _ = inspect_container(content, label)
    if container is None:
        return []
    try:
        shared = parse_shared_strings(container.part(container.shared_strings)) \
            if container.shared_strings else []
    except ReadError:
        shared = []
    return [(name, container.part(member), shared) for name, member in container.sheets.items()]


def check_workbook(path: Path, *, fast: bool) -> int:
    """Both ways over every sheet of ``path``; how many the fast path read (all, when
    ``fast``)."""
    read = 0
    sheets = workbook_sheets(path.read_bytes(), path.name)
    assert sheets
    for name, data, shared in sheets:
        got = both(data, shared, name)
        if fast:
            assert got is not None, f"{path.name} {name}: the fast path declined"
        read += got is not None
    return read


def test_generated_and_filled_workbooks_take_the_fast_path(clean_workbook, filled_workbook,
                                                           tmp_path):
    check_workbook(clean_workbook, fast=True)
    blank = filled_workbook(tmp_path / "blank", rows={})
    check_workbook(blank, fast=True)


def test_libreoffice_saved_workbook_takes_the_fast_path(libreoffice_clean_workbook):
    check_workbook(libreoffice_clean_workbook, fast=True)


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.xlsx")))
def test_test_data_reads_the_same_both_ways(name):
    read = check_workbook(DATA / name, fast=False)
    if not name.startswith("openpyxl"):  # inline strings with several runs take the tree
        assert read


@pytest.mark.parametrize("kind", sorted(hostile.BUILDERS))
def test_hostile_files_read_the_same_both_ways(kind, tmp_path):
    path = hostile.BUILDERS[kind](tmp_path)
    for name, data, shared in workbook_sheets(path.read_bytes(), path.name):
        both(data, shared, name)


ROOT = f'xmlns="{NS}" xmlns:x14ac="urn:x14ac"'


def sheet(body: str, *, head: str = "", tail: str = "", root: str = ROOT,
          decl: str = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
          encoding: str = "utf-8") -> bytes:
    return (f"{decl}<worksheet {root}>{head}<sheetData>{body}</sheetData>{tail}"
            "</worksheet>").encode(encoding)


ROW = ('<row r="8" spans="1:18" ht="29.25" customHeight="1">'
       '<c r="A8" s="12" t="s"><v>1</v></c><c r="B8" s="3"/>'
       '<c r="G8" s="14"><f>SUM(H8,I8,K8)</f><v>0</v></c><c r="H8" s="15"><v>5231</v></c>'
       '</row>')

#: Bodies the fast path must read (and read as the tree does).
FAST = {
    "plain": ROW,
    "empty": "",
    "rows without cells": '<row r="1"/><row r="2"></row><row r="3"><c r="A3" s="1"/></row>',
    "whitespace between rows and cells": f"\n  {ROW}\n  <row r=\"9\">\n    "
                                         '<c r="A9"><v>2</v></c>\n  </row>\n',
    "entities": '<row r="1"><c r="A1" t="str"><f>"a&amp;b"&amp;"&lt;&gt;&quot;&apos;"</f>'
                '<v>a&amp;b&#60;&#x3E;</v></c></row>',
    "line ends": '<row r="1"><c r="A1" t="str"><f>"a"\r\n&amp;"b"\r</f><v>x\r\ny&#13;z</v>'
                 "</c></row>",
    "escapes": '<row r="1"><c r="A1" t="str"><f>A2</f><v>a_x000D_b</v></c></row>',
    "every type": '<row r="1"><c r="A1" t="b"><v>1</v></c><c r="B1" t="e"><v>#DIV/0!</v></c>'
                  '<c r="C1" t="d"><v>2024-03-01</v></c><c r="D1" t="n"><v>1.5</v></c>'
                  '<c r="E1" s="7"><v>45000</v></c><c r="F1" s="0"><v>3</v></c>'
                  '<c r="G1" t="s"><v>3</v></c><c r="H1" t="s"><v>2</v></c></row>',
    "empty children": '<row r="1"><c r="A1"><v/></c><c r="B1"><f/></c><c r="C1"><f></f><v></v>'
                      '</c><c r="D1" s="2"></c><c r="E1" t="s"><f>A1</f></c></row>',
    "inline strings": '<row r="1"><c r="A1" t="inlineStr"><is><t>abc</t></is></c>'
                      '<c r="B1" s="3" t="inlineStr"><is><t xml:space="preserve"> a_x000A_b '
                      "</t></is></c></row>",
    "shared formulas": '<row r="8"><c r="G8"><f t="shared" ref="G8:G10" si="0">SUM(H8:I8)</f>'
                       '<v>1</v></c><c r="J8"><f t="shared" si="1"/><v>0</v></c></row>'
                       '<row r="9"><c r="G9"><f t="shared" si="0"/><v>2</v></c></row>'
                       '<row r="10"><c r="G10"><f t="shared" si="0"></f></c></row>',
    "formula attributes": '<row r="1"><c r="A1"><f aca="false">B1*2</f><v>2</v></c>'
                          '<c r="B1"><f t="array" ref="B1:B1">C1</f><v>1</v></c></row>',
    "cells out of row order": '<row r="5"><c r="B5"><v>1</v></c><c r="A6"><v>2</v></c>'
                              '<c r="C5"><v>3</v></c></row><row r="6"><c r="B6"><v>4</v></c>'
                              "</row>",
    "a cell repeated": '<row r="1"><c r="A1"><v>1</v></c><c r="A1"><v>2</v></c></row>',
    "row attributes the tree ignores": '<row r="1" spans="1:2" x14ac:dyDescent="0.25" '
                                       'hidden="1"><c r="A1"><v>1</v></c></row>',
    "wide and deep references": '<row r="9999"><c r="GR9999"><v>1</v></c>'
                                '<c r="XFD1048576"><v>2</v></c></row>',
}

#: Parts (body or whole) the fast path must leave to the tree, or read exactly as it does.
ODD = {
    "lower-case reference": '<row r="1"><c r="a1"><v>1</v></c></row>',
    "absolute reference": '<row r="1"><c r="$A$1"><v>1</v></c></row>',
    "cells without references": '<row r="3"><c><v>1</v></c><c t="s"><v>1</v></c>'
                                '<c r="E3" s="1"/><c><v>2</v></c></row>',
    "attributes in another order": '<row r="1"><c s="1" r="A1"><v>1</v></c></row>',
    "single quotes": "<row r='1'><c r='A1'><v>1</v></c></row>",
    "whitespace in a cell": '<row r="1"><c r="A1">\n  <v>1</v>\n</c></row>',
    "whitespace in a tag": '<row r="1"><c  r="A1" ><v>1</v></c></row>',
    "an attribute the fast path does not know": '<row r="1"><c r="A1" cm="1"><v>1</v></c>'
                                                "</row>",
    "CDATA": '<row r="1"><c r="A1" t="str"><v><![CDATA[<b>&]]></v></c></row>',
    "comment": '<row r="1"><!-- x --><c r="A1"><v>1</v></c></row>',
    "processing instruction": '<row r="1"><?x y?><c r="A1"><v>1</v></c></row>',
    "text in a row": '<row r="1">x<c r="A1"><v>1</v></c></row>',
    "cell outside a row": '<c r="A1"><v>1</v></c><row r="2"><c r="A2"><v>2</v></c></row>',
    "cell after the rows": '<row r="2"><c r="A2"><v>2</v></c></row><c r="A3"><v>3</v></c>',
    "row in a row": '<row r="1"><row r="2"><c r="A2"><v>2</v></c></row></row>',
    "row in a row after a cell": '<row r="1"><c r="A1"><v>1</v></c><row r="2"><c r="A2">'
                                 "<v>2</v></c></row></row>",
    "a cell in a cell": '<row r="1"><c r="A1"><v>1</v><c r="B1"><v>2</v></c></c></row>',
    "another element in a row": '<row r="1"><x/><c r="A1"><v>1</v></c></row>',
    "another element in a cell": '<row r="1"><c r="A1"><v>1</v><extLst/></c></row>',
    "children out of order": '<row r="1"><c r="A1"><v>1</v><f>B1</f></c></row>',
    "rich inline string": '<row r="1"><c r="A1" t="inlineStr"><is><r><t>a</t></r><r><t>b</t>'
                          "</r></is></c></row>",
    "inline string with a value": '<row r="1"><c r="A1" t="inlineStr"><v>x</v><is><t>y</t>'
                                  "</is></c></row>",
    "default namespace on a row": '<row r="1" xmlns="urn:x"><c r="A1"><v>1</v></c></row>',
    "default namespace on a cell": '<row r="1"><c r="A1" xmlns="urn:x"><v>1</v></c></row>',
    "prefixed cell": f'<row r="1"><x:c r="A1" xmlns:x="{NS}"><x:v>1</x:v></x:c></row>',
    "bad shared string": '<row r="1"><c r="A1" t="s"><v>99</v></c></row>',
    "shared string index not a number": '<row r="1"><c r="A1" t="s"><v>x</v></c></row>',
    "dependent before its master": '<row r="1"><c r="A1"><f t="shared" si="5"/><v>1</v></c>'
                                   "</row>",
    "not well-formed": '<row r="1"><c r="A1"><v>1</v></row>',
    "undefined entity": '<row r="1"><c r="A1"><v>&nbsp;</v></c></row>',
    "control character": '<row r="1"><c r="A1"><v>&#1;</v></c></row>',
    "CDATA end in text": '<row r="1"><c r="A1"><v>a]]>b</v></c></row>',
    "unbound prefix": '<row r="1" x:y="1"><c r="A1"><v>1</v></c></row>',
    "unbound prefix on a cell": '<row r="1"><c r="A1" x:y="1"><v>1</v></c></row>',
    "duplicate attribute": '<row r="1" r="2"><c r="A1"><v>1</v></c></row>',
    "sheetData text in a value": '<row r="1"><c r="A1" t="str"><v>sheetData</v></c></row>',
}


@pytest.mark.parametrize("body", list(FAST.values()), ids=list(FAST))
def test_shapes_the_fast_path_reads(body):
    assert both(sheet(body), SHARED) is not None
    framed = sheet(body, head='<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
                              '<dimension ref="A1:R71"/>',
                   tail='<sheetProtection sheet="1"/><mergeCells count="2">'
                        '<mergeCell ref="A1:Q1"/><mergeCell ref="B3:C3"/></mergeCells>')
    fast = both(framed, SHARED)
    assert fast is not None and fast.protected and len(fast.merged) == 2


@pytest.mark.parametrize("body", list(ODD.values()), ids=list(ODD))
def test_odd_shapes_read_as_the_tree_reads_them(body):
    both(sheet(body), SHARED)


ROW_1 = '<row r="1"><c r="A1"><v>1</v></c></row>'

#: Whole parts on the edges of the cut at <sheetData>.
PARTS = {
    "no declaration": sheet(ROW_1, decl=""),
    "byte order mark": b"\xef\xbb\xbf" + sheet(ROW_1),
    "declared latin-1": sheet(ROW_1, decl='<?xml version="1.0" encoding="ISO-8859-1"?>',
                              encoding="latin-1"),
    "utf-16": sheet(ROW_1, decl='<?xml version="1.0" encoding="UTF-16"?>',
                    encoding="utf-16"),
    "not UTF-8": sheet('<row r="1"><c r="A1" t="str"><v>\u00e9</v></c></row>',
                       decl="", encoding="latin-1"),
    "doctype": sheet(ROW_1, decl='<?xml version="1.0"?><!DOCTYPE worksheet []>'),
    "sheetData in a comment": f'<worksheet xmlns="{NS}"><!-- <sheetData>{ROW_1}'
                              "</sheetData> --></worksheet>".encode(),
    "sheetData in another element": f'<worksheet xmlns="{NS}"><x><sheetData>{ROW_1}'
                                    "</sheetData></x></worksheet>".encode(),
    "sheetData in another namespace": f'<worksheet xmlns="{NS}"><sheetData xmlns="urn:x">'
                                      f"{ROW_1}</sheetData></worksheet>".encode(),
    "root in another namespace": sheet(ROW_1, root='xmlns="urn:x"'),
    "root without a namespace": sheet(ROW_1, root=""),
    "prefixed root": f'<x:worksheet xmlns:x="{NS}"><sheetData>{ROW_1}</sheetData>'
                     "</x:worksheet>".encode(),
    "prefixed root, sheetData elsewhere": f'<x:worksheet xmlns:x="{NS}" xmlns="urn:y">'
                                          f"<sheetData>{ROW_1}</sheetData></x:worksheet>"
                                          .encode(),
    "self-closing sheetData": f'<worksheet xmlns="{NS}"><sheetData/></worksheet>'.encode(),
    "two sheetData": f'<worksheet xmlns="{NS}"><sheetData>{ROW_1}</sheetData><sheetData>'
                     "</sheetData></worksheet>".encode(),
    "sheetData with attributes": f'<worksheet xmlns="{NS}"><sheetData a="1">{ROW_1}'
                                 "</sheetData></worksheet>".encode(),
    "truncated": sheet(ROW_1)[:-5],
}


@pytest.mark.parametrize("data", list(PARTS.values()), ids=list(PARTS))
def test_whole_parts_on_the_edges_read_as_the_tree_reads_them(data):
    both(data, SHARED)


def test_declined_parts_are_declined():
    """The cases above that must not take the fast path indeed do not (so the comparisons
    above are not all of the fast path against itself)."""
    for key in ("cell outside a row", "row in a row", "row in a row after a cell",
                "default namespace on a row", "CDATA", "comment", "cells without references"):
        assert reader._fast_sheet(sheet(ODD[key]), SHARED, "x") is None, key
    for key in ("sheetData in a comment", "sheetData in another element", "doctype",
                "declared latin-1", "utf-16", "two sheetData"):
        assert reader._fast_sheet(PARTS[key], SHARED, "x") is None, key


def test_what_is_kept_between_files_never_carries_a_value_across():
    """The same cell pieces in two files with different shared strings and different
    shared-formula masters give each file its own values."""
    body = ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><f t="shared" ref="B1:B2" '
            'si="0">{}</f></c></row><row r="2"><c r="B2"><f t="shared" si="0"/></c></row>')
    first = both(sheet(body.format("C1*2")), ["first"])
    second = both(sheet(body.format("D1+1")), ["second"])
    assert first is not None and second is not None
    assert first.cells[(1, 0)].value == "first" and second.cells[(1, 0)].value == "second"
    assert first.cells[(2, 1)].formula == "C2*2" and second.cells[(2, 1)].formula == "D2+1"


def test_a_sheet_in_a_workbook_is_read_by_the_fast_path(clean_workbook):
    """``read_workbook`` goes through ``parse_sheet``: a broken fast path would show here
    as well as in the comparisons."""
    with zipfile.ZipFile(io.BytesIO(clean_workbook.read_bytes())) as z:
        data = z.read(hostile.PLAN_SHEET_MEMBER)
        shared = parse_shared_strings(z.read(hostile.SHARED_STRINGS_MEMBER))
    fast = reader._fast_sheet(data, shared, "計画")
    assert fast is not None and len(fast.cells) > 500
    assert same(fast, reader._tree_sheet(data, shared, "計画"))


def sst(items: str, *, decl: str = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
        root: str = f'<sst xmlns="{NS}" count="3" uniqueCount="3">', end: str = "</sst>") -> bytes:
    return f"{decl}{root}{items}{end}".encode()


#: Shared string tables the fast path must read.
SST_FAST = {
    "plain": "<si><t>a</t></si><si><t>令和5年度</t></si>",
    "none": "",
    "preserved spaces, escapes, references": '<si><t xml:space="preserve"> a_x000D_b </t></si>'
                                             "<si><t>R&amp;D &#x4E00;&#12354;\r\nx</t></si>",
    "empty text": '<si><t></t></si><si><t/></si><si><t xml:space="preserve"/></si>',
    "rich runs": '<si><r><rPr><b val="true"/><sz val="14"/><rFont val="游ゴシック"/></rPr>'
                 '<t xml:space="preserve">令和</t></r><r><t>5</t></r><t>年</t>'
                 '<r><rPr></rPr><t/></r></si>',
    "runs with phonetic runs": '<si><r><t>北</t></r><r><rPr><b/></rPr><t>海道</t></r>'
                               '<rPh sb="0" eb="3"><t>ホッカイドウ</t></rPh></si>',
    "phonetic runs": '<si><t>北海道</t><rPh sb="0" eb="3"><t>ホッカイドウ</t></rPh>'
                     '<phoneticPr fontId="1"/></si><si><t>x</t><phoneticPr fontId="1" '
                     'type="noConversion"/></si>',
    "whitespace between items": "\n  <si><t>a</t></si>\n  <si><t>b</t></si>\n",
    "line feeds in a reading and its format": '<si><r><rPr><rFont val="a\nb"/></rPr><t>東</t>'
                                              '</r><t>京</t><rPh sb="0" eb="2"><t>トウ\nキョウ'
                                              '</t></rPh></si>',
}

#: Tables the fast path must leave to the tree, or read exactly as it does.
SST_ODD = {
    "run with two texts": "<si><r><t>a</t><t>b</t></r></si>",
    "run with a formatted element": "<si><r><rPr><b><x/></b></rPr><t>b</t></r></si>",
    "run formatting with a text": '<si><r><rPr><t xml:space="preserve"/></rPr><t>b</t></r></si>',
    "phonetic run with a run": '<si><t>a</t><rPh sb="0" eb="1"><r><t>b</t></r></rPh></si>',
    "empty item": "<si/><si></si>",
    "two texts": "<si><t>a</t><t>b</t></si>",
    "whitespace in an item": "<si> <t>a</t></si>",
    "CDATA": "<si><t><![CDATA[<a>]]></t></si>",
    "comment": "<si><t>a</t><!-- x --></si>",
    "other element": "<si><t>a</t></si><x/>",
    "namespace redeclared": '<si xmlns="urn:x"><t>a</t></si>',
    "prefixed": f'<x:si xmlns:x="{NS}"><x:t>a</x:t></x:si>',
    "not well-formed": "<si><t>a</si>",
    "undefined entity": "<si><t>&nbsp;</t></si>",
}


@pytest.mark.parametrize("items", list(SST_FAST.values()), ids=list(SST_FAST))
def test_shared_strings_the_fast_path_reads(items):
    data = sst(items)
    fast = reader._fast_shared_strings(data)
    assert fast is not None and fast == reader._tree_shared_strings(data)
    assert parse_shared_strings(data) == fast


def shared_both(data: bytes) -> None:
    try:
        tree: list[str] | ReadError = reader._tree_shared_strings(data)
    except ReadError as exc:
        tree = exc
    fast = reader._fast_shared_strings(data)
    if isinstance(tree, ReadError):
        assert fast is None
        with pytest.raises(ReadError):
            parse_shared_strings(data)
    else:
        assert fast is None or fast == tree
        assert parse_shared_strings(data) == tree


@pytest.mark.parametrize("items", list(SST_ODD.values()), ids=list(SST_ODD))
def test_odd_shared_strings_read_as_the_tree_reads_them(items):
    shared_both(sst(items))


@pytest.mark.parametrize("data", [
    sst("<si><t>a</t></si>", decl=""),
    b"\xef\xbb\xbf" + sst("<si><t>a</t></si>"),
    sst("<si><t>a</t></si>", decl='<?xml version="1.0" encoding="UTF-16"?>'),
    sst("<si><t>a</t></si>", decl='<?xml version="1.0"?><!DOCTYPE sst []>'),
    sst("<si><t>a</t></si>", root=f'<!-- c --><sst xmlns="{NS}">'),
    sst("<si><t>a</t></si>", end="</sst><!-- c -->"),
    sst("<si><t>a</t></si>", root='<sst xmlns="urn:x">'),
    sst("<si><t>a</t></si>", root="<sst>"),
    sst("<si><t>a</t></si>", root=f'<x:sst xmlns:x="{NS}">', end="</x:sst>"),
    sst("<si><t>a</t></si>", root=f'<other xmlns="{NS}">', end="</other>"),
    sst("<si><t>a</t></si>", end=""),
], ids=["no declaration", "byte order mark", "utf-16 declared", "doctype", "comment first",
        "comment last", "other namespace", "no namespace", "prefixed root", "other root",
        "truncated"])
def test_shared_string_parts_on_the_edges(data):
    shared_both(data)


def test_shared_strings_of_real_workbooks_take_the_fast_path(clean_workbook,
                                                             libreoffice_clean_workbook):
    for path in (clean_workbook, libreoffice_clean_workbook, DATA / "v1_13_東京都_R5_計画.xlsx"):
        container, _ = inspect_container(path.read_bytes(), path.name)
        assert container is not None and container.shared_strings
        data = container.part(container.shared_strings)
        fast = reader._fast_shared_strings(data)
        assert fast is not None and fast == reader._tree_shared_strings(data)


def styles(num_fmts: dict[int, str], xf_ids: list[int]) -> bytes:
    fmts = "".join(f'<numFmt numFmtId="{i}" formatCode="{code}"/>' for i, code in num_fmts.items())
    xfs = "".join(f'<xf numFmtId="{i}"/>' for i in xf_ids)
    return (f'<styleSheet xmlns="{NS}"><numFmts>{fmts}</numFmts><cellXfs>{xfs}</cellXfs>'
            "</styleSheet>").encode()


def test_date_styles_kept_per_part_and_wanted_styles():
    data = styles({164: "yyyy/m/d", 165: "#,##0"}, [0, 164, 165, 14, 3])
    assert reader.date_styles(data) == {1, 3}
    assert reader.date_styles(bytes(data), {2, 3, 4}) == {3}  # equal bytes, other styles
    assert reader.date_styles(data, [1]) == {1}
    assert reader.date_styles(data) == {1, 3}
    other = styles({164: "#,##0"}, [0, 164, 165, 14, 3])  # the same ids, other formats
    assert reader.date_styles(other) == {3}
    for _ in range(2):  # not well-formed: refused every time, nothing kept
        with pytest.raises(ReadError):
            reader.date_styles(b"<styleSheet><cellXfs></styleSheet>", [1])
    for i in range(reader._MAX_KEPT + 5):  # many parts: what is kept stays bounded
        assert reader.date_styles(styles({164: "yyyy"}, [0] * i + [164])) == {i}
    assert len(reader._DATE_STYLES) <= reader._MAX_KEPT


def test_what_is_kept_of_a_sheet_without_its_cells_is_not_shared():
    """Two sheets alike but for their cells: each gets its own merged ranges list, and the
    protection and ranges of the part it came from."""
    tail = '<sheetProtection sheet="1"/><mergeCells><mergeCell ref="A1:B1"/></mergeCells>'
    first = both(sheet(ROW_1, tail=tail), SHARED)
    assert first is not None and first.protected and first.merged == [(1, 0, 1, 1)]
    first.merged.append((9, 9, 9, 9))
    second = both(sheet(ROW, tail=tail), SHARED)
    assert second is not None and second.merged == [(1, 0, 1, 1)] and len(second.cells) == 3
    third = both(sheet(ROW, tail='<sheetProtection sheet="0"/>'), SHARED)
    assert third is not None and not third.protected and third.merged == []


#: Bodies on the edges of what the fast path checks itself (characters, references, the rows'
#: attributes) when it does not run expat: it must refuse exactly what expat refuses.
PLAIN_EDGES = {
    "reference to NUL": '<row r="1"><c r="A1"><v>&#0;</v></c></row>',
    "reference to a surrogate": '<row r="1"><c r="A1"><v>&#xD800;</v></c></row>',
    "reference to FFFE": '<row r="1"><c r="A1"><v>&#xFFFE;</v></c></row>',
    "reference beyond Unicode": '<row r="1"><c r="A1"><v>&#x110000;</v></c></row>',
    "reference with a capital X": '<row r="1"><c r="A1"><v>&#X41;</v></c></row>',
    "ampersand alone": '<row r="1"><c r="A1"><v>a & b</v></c></row>',
    "reference without semicolon": '<row r="1"><c r="A1"><v>&amp</v></c></row>',
    "empty references": '<row r="1"><c r="A1"><v>&#;&#x;</v></c></row>',
    "legal references": '<row r="1"><c r="A1" t="str"><v>&#x9;&#10;&#xD;&#x20;&#xD7FF;'
                        "&#xE000;&#xFFFD;&#x10000;&#x10FFFF;</v></c></row>",
    "raw FFFE": '<row r="1"><c r="A1" t="str"><v>a\ufffeb</v></c></row>',
    "raw FFFF": '<row r="1"><c r="A1" t="str"><v>a\uffffb</v></c></row>',
    "raw control": '<row r="1"><c r="A1" t="str"><v>a\x01b</v></c></row>',
    "raw vertical tab in an attribute": '<row r="1" x="\x0b"><c r="A1"><v>1</v></c></row>',
    "raw tab, newline, return": '<row r="1" x="\t\n\r"><c r="A1" t="str"><v>\t\n\r</v></c>'
                                "</row>",
    "DEL and C1 controls": '<row r="1"><c r="A1" t="str"><v>\x7f\x85\x9f</v></c></row>',
    "noncharacters expat allows": '<row r="1"><c r="A1" t="str"><v>\ufdd0\U0001fffe</v></c></row>',
    "CDATA end in an attribute": '<row r="1" x="]]>"><c r="A1"><v>1</v></c></row>',
    "greater-than in text": '<row r="1"><c r="A1" t="str"><f>A1>0</f><v>a>b</v></c></row>',
    "reference in an attribute": '<row r="1" x="a&amp;b&#1;"><c r="A1"><v>1</v></c></row>',
    "duplicate attribute on a later row": '<row r="1"><c r="A1"><v>1</v></c></row>'
                                          '<row r="2" ht="1" ht="2"><c r="A2"><v>1</v></c>'
                                          "</row>",
    "duplicate attribute on a row without cells": '<row r="1" r="1"/>',
    "duplicate attribute after the last cell": '<row r="1"><c r="A1"><v>1</v></c></row>'
                                               '<row r="2" r="2"/>',
    "same prefix twice": '<row r="1" x14ac:a="1" x14ac:a="2"><c r="A1"><v>1</v></c></row>',
    "two prefixes, one namespace": '<row r="1" x14ac:a="1" same:a="2"><c r="A1"><v>1</v></c>'
                                   "</row>",
    "two prefixes, two namespaces": '<row r="1" x14ac:a="1" other:a="2"><c r="A1"><v>1</v>'
                                    "</c></row>",
    "undeclared prefix on a later row": '<row r="1"><c r="A1"><v>1</v></c></row><row r="2" '
                                        'q:a="1"><c r="A2"><v>1</v></c></row>',
    "prefix declared on a sibling only": '<row r="1" sib:a="1"><c r="A1"><v>1</v></c></row>',
    "xml prefix": '<row r="1" xml:lang="ja"><c r="A1"><v>1</v></c></row>',
    "two colons": '<row r="1" x14ac:a:b="1"><c r="A1"><v>1</v></c></row>',
    "trailing colon": '<row r="1" x14ac:="1"><c r="A1"><v>1</v></c></row>',
    "formula attribute twice": '<row r="1"><c r="A1"><f t="shared" t="shared" si="0">B1</f>'
                               "</c></row>",
}
EDGE_ROOT = (f'xmlns="{NS}" xmlns:x14ac="urn:x14ac" xmlns:same="urn:x14ac" '
             "xmlns:other=\"urn:other\" decoy=' xmlns:q=\"urn:q\" '")


@pytest.mark.parametrize("body", list(PLAIN_EDGES.values()), ids=list(PLAIN_EDGES))
def test_bodies_on_the_edges_of_the_checks_read_as_the_tree_reads_them(body):
    both(sheet(body, root=EDGE_ROOT, head='<sheetPr xmlns:sib="urn:sib"/>'), SHARED)
    both(sheet(body, root=EDGE_ROOT, decl="<!-- before -->"), SHARED)  # expat checks it


@pytest.mark.parametrize("items", [
    '<si><t>&#1;</t></si>', "<si><t>a\x01</t></si>", "<si><t>a]]>b</t></si>",
    '<si><t>a</t><rPh sb="0" sb="1"><t>b</t></rPh></si>',
    '<si><t>a</t><phoneticPr fontId="1" fontId="1"/></si>',
    '<si><r><rPr><b val="1" val="1"/></rPr><t>a</t></r></si>',
    "<si><t>&amp;&#x41;&lt;</t></si>", "<si><t>a & b</t></si>",
], ids=["bad reference", "control", "CDATA end", "rPh attribute twice",
        "phoneticPr attribute twice", "formatting attribute twice", "references", "ampersand"])
def test_shared_strings_on_the_edges_of_the_checks(items):
    shared_both(sst(items))


SNIPPETS = ["&", "&#1;", "&#x41;", "&amp;", "<", ">", "]]>", '"', "'", "\x01", "\ufffe", " ",
            ' r="2"', ' x14ac:y="1"', ' q:y="1"', "</c>", '<c r="A1">', '<c r="B2"/>', "<row>",
            "</row>", '<row r="99">', "/", "xmlns", "<!--", "-->", "<v>", "</v>", "<f>",
            "</f>", '<f t="shared" si="0"/>', "\r\n", "=", '="', "é", "令", "sheetData"]


def test_mutated_sheets_read_as_the_tree_reads_them(clean_workbook):
    """A few hundred random edits of a real plan sheet, each read both ways."""
    import random

    with zipfile.ZipFile(clean_workbook) as z:
        data = z.read(hostile.PLAN_SHEET_MEMBER).decode()
        shared = parse_shared_strings(z.read(hostile.SHARED_STRINGS_MEMBER))
    start, end = data.index("<sheetData>") + 11, data.index("</sheetData>")
    rng = random.Random(12)
    read = 0
    for _ in range(300):
        text = data
        for _ in range(rng.choice((1, 1, 2, 3))):
            at = rng.randrange(start, end)
            cut = rng.choice((0, 0, 1, 3))
            text = text[:at] + rng.choice(SNIPPETS) + text[at + cut:]
        read += both(text.encode(), shared) is not None
    assert read > 0  # some edits keep the shape: the fast path read those


def test_long_pieces_are_read_but_not_kept(monkeypatch):
    """Only short cells and strings are kept between files (a template's are): a sender's
    long text is read as the tree reads it, and what is kept stays small."""
    monkeypatch.setattr(reader, "_PIECES", {})
    monkeypatch.setattr(reader, "_SI_TEXTS", {})
    long_text = "長" * 5_000
    data = sheet(f'<row r="1"><c r="A1" t="inlineStr"><is><t>{long_text}</t></is></c>'
                 '<c r="B1"><v>7</v></c></row>')
    fast = both(data, SHARED)
    assert fast is not None and fast.cell("A1").value == long_text
    assert all(len(k) <= reader._MAX_PIECE_CHARS for k in reader._PIECES)
    assert any("B1" in k for k in reader._PIECES)  # the short one is kept
    table = sst(f"<si><t>{long_text}</t></si><si><t>短</t></si>")
    assert reader._fast_shared_strings(table) == [long_text, "短"]
    assert list(reader._SI_TEXTS.values()) == ["短"]
