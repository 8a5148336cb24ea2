"""Read a returned workbook: the raw cells of its form's main sheet and its ``_meta`` keys.

Reading happens after ``budget.xlsx.container`` has triaged the file (a zip of bounded size whose
XML parts carry no DTD) and works on the parts triage inflated and checked: the file is unzipped
once. The sheets are found by *name* through the workbook's relationships (triage's map), never
by position, so an unhidden ``_meta``, an added sheet or a new sheet order change nothing. The
reader knows no form's shape: the form (``budget.forms``) says which sheet holds the table and
which column holds the row codes.

Each worksheet is read in one pass, any DTD refused (``_NoDTD``: ``defusedxml``'s
``forbid_dtd`` policy at C speed) and anything not well-formed refused as ElementTree's C
parser refuses it: each cell's type (``t``), its value text, its formula (shared formulas
expanded) and the sheet's ``<sheetProtection>``. Excel, LibreOffice and openpyxl write the
same SpreadsheetML (shared, inline or rich strings, phonetic runs, with or without cell
references); all read alike. The shape they write (every cell ``<c r="H8" s="1" t="s">``,
children ``<f>``, ``<v>``) is read without building the element tree (``_fast_sheet``,
which proves the part well-formed itself or has expat check it), anything else from the
tree (``_tree_sheet``); the two give the same ``Sheet`` or the same ``ReadError``
(``tests/test_read_fast.py``). Shared strings likewise. A formula's stored result is never
read as a value: ``Cell.value`` of a formula cell is kept only to be reported.

Cost per returned workbook (470 filled copies of one template read in one process, 2 busy
cores): ≈ 1.5 ms for ``read_workbook``, where the element tree alone took ≈ 4.5 ms; openpyxl
read-only takes ≈ 16 ms and a full openpyxl load ≈ 34 ms (python-calamine reads values only,
without formulas or protection). What the copies of a template repeat is worked out once per
process (bounded): cell pieces, the sheet around its cells, the styles part's dates.

Which number cells hold dates comes from their style (``s``) and the styles part triage found
(``date_styles``, parsed once per distinct styles part, only for the styles the main
sheet's numbers use).

Nothing here judges the data: ``locate_rows`` says where each leaf code sits, and
``budget.intake.check`` decides what is right.
"""

from __future__ import annotations

import pyexpat
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from budget.forms.base import META_SHEET, Column, Form, col_index

if TYPE_CHECKING:
    from budget.xlsx.container import Container

#: ``t`` attributes of a cell that hold text.
TEXT_TYPES = frozenset({"s", "str", "inlineStr"})

_COLUMN_INDEX: dict[str, int] = {}  # column letter → 0-based index (``Sheet.column``)


class ReadError(Exception):
    """The package passed triage but a part of it is not the SpreadsheetML it claims to be
    (``detail`` is Japanese, for a ``corrupt-workbook`` finding)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Cell(NamedTuple):
    """One stored cell of a worksheet.

    ``type`` is the SpreadsheetML ``t`` attribute: ``n`` (number, the default), ``s``,
    ``str``, ``inlineStr`` (text), ``b`` (boolean), ``e`` (error), ``d`` (ISO date).
    ``value`` is the text of the value (a shared string already looked up), None when the
    cell has none; ``formula`` the formula text without the leading ``=``, or None.
    """

    row: int
    col: int  # 0-based column index
    type: str
    value: str | None
    formula: str | None

    @property
    def ref(self) -> str:
        return f"{column_letter(self.col)}{self.row}"

    @property
    def is_text(self) -> bool:
        return self.type in TEXT_TYPES

    @property
    def is_empty(self) -> bool:
        """No formula and no value (an empty string counts as no value)."""
        return self.formula is None and (self.value is None or self.value == "")


@dataclass
class Sheet:
    """The stored cells of one worksheet (cells with a value or a formula only)."""

    name: str
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)  # (row, col) → cell
    protected: bool = False  # <sheetProtection sheet="1">
    rows: dict[int, list[Cell]] = field(default_factory=dict)  # row → its cells, by column
    #: (row, col) → style index (``s``) of the number cells that have one
    number_styles: dict[tuple[int, int], int] = field(default_factory=dict)
    #: style indices whose number format shows a date or a time (``read_workbook`` sets it
    #: from ``xl/styles.xml``)
    date_styles: frozenset[int] = frozenset()
    #: merged ranges (``<mergeCells>``), in sheet order: (first row, first col, last row,
    #: last col), 0-based columns; ``range_ref`` gives ``"H9:I9"``
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)

    def cell(self, ref_or_row: str | int, col: int | None = None) -> Cell | None:
        """``sheet.cell("H8")`` or ``sheet.cell(8, 7)``."""
        if col is None:
            row, col = split_ref(str(ref_or_row))
        else:
            row = int(ref_or_row)
        return self.cells.get((row, col))

    def column(self, column: Column, row: int) -> Cell | None:
        col = _COLUMN_INDEX.get(column.letter)
        if col is None:  # a form's few letters, worked out once (checks ask ~1,000× a file)
            col = _COLUMN_INDEX[column.letter] = column.col_index
        return self.cells.get((row, col))

    def is_date(self, cell: Cell | None) -> bool:
        """Whether ``cell`` holds a date: a number shown with a date or time format (what
        Excel and LibreOffice store when ``3/1`` is typed), or an ISO date cell (``t="d"``)."""
        if cell is None or cell.formula is not None:
            return False
        if cell.type == "d":
            return True
        return cell.type == "n" and self.number_styles.get((cell.row, cell.col)) in self.date_styles

    @property
    def max_row(self) -> int:
        return max(self.rows, default=0)


@dataclass
class Workbook:
    """What ``read_workbook`` found: sheet names, the ``_meta`` keys and the form's main
    sheet (the 計画 sheet of a plan)."""

    sheet_names: list[str]  # worksheets in workbook order
    sheet_states: dict[str, str]
    meta: dict[str, str] | None  # None: no ``_meta`` sheet
    plan: Sheet | None  # the main sheet; None: the workbook has none
    meta_rows: dict[str, int] = field(default_factory=dict)  # ``_meta`` key → its row
    form: Form | None = None  # the form read with


# --- cell references ---------------------------------------------------------------------
_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")
_PLACES: dict[str, tuple[int, int]] = {}  # "H8" → (8, 7), for the references files repeat
_MAX_PLACES = 20_000


def _place(ref: str) -> tuple[int, int] | None:
    """``"H8"`` → (8, 7); None when ``ref`` is not a cell reference."""
    place = _PLACES.get(ref)
    if place is None:
        m = _REF.match(ref)
        if not m:
            return None
        place = int(m.group(2)), col_index(m.group(1).upper())
        if len(_PLACES) < _MAX_PLACES:
            _PLACES[ref] = place
    return place


def column_letter(col: int) -> str:
    """0-based column index → ``"A"``."""
    letters = ""
    col += 1
    while col > 0:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def range_ref(merged: tuple[int, int, int, int]) -> str:
    """(first row, first col, last row, last col) → ``"H9:I9"``."""
    r1, c1, r2, c2 = merged
    return f"{column_letter(c1)}{r1}:{column_letter(c2)}{r2}"


def _merged_range(ref: str) -> tuple[int, int, int, int] | None:
    """``"H9:I9"`` (or one cell) → (first row, first col, last row, last col); None when it
    is not a range of cells (whole rows or columns are beyond any sheet triage lets by)."""
    first, _, last = ref.strip().partition(":")
    a, b = _place(first), _place(last or first)
    if a is None or b is None:
        return None
    return min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1])


def split_ref(ref: str) -> tuple[int, int]:
    """``"H8"`` → (8, 7)."""
    place = _place(ref)
    if place is None:
        raise ValueError(f"not a cell reference: {ref!r}")
    return place


# --- reading -----------------------------------------------------------------------------


def read_workbook(container: Container, form: Form | None = None) -> Workbook:
    """The ``_meta`` keys and the form's main sheet of a triaged workbook (other sheets are
    not read), from the parts triage inflated and checked (the file is not unzipped again).

    ``form`` is the form to read; None: the one ``_meta`` names (``budget.forms.identify``),
    else the plan form. Raises ``ReadError`` when a part is not well-formed SpreadsheetML.
    """
    from budget.forms import identify

    sheets = container.sheets
    shared: list[str] | None = None

    def sheet(name: str) -> Sheet | None:
        nonlocal shared
        if name not in sheets:
            return None
        if shared is None:
            shared = parse_shared_strings(_member(container, container.shared_strings)) \
                if container.shared_strings else []
        return parse_sheet(_member(container, sheets[name]), shared, name)

    meta_sheet = sheet(META_SHEET)
    meta = None if meta_sheet is None else meta_values(meta_sheet)
    if form is None:
        form = identify(meta or {})
    main = sheet(form.main_sheet)
    if main is not None and main.number_styles and container.styles is not None:
        main.date_styles = date_styles(_member(container, container.styles),
                                       set(main.number_styles.values()))
    return Workbook(
        sheet_names=list(sheets),
        sheet_states=dict(container.sheet_states),
        meta=meta,
        plan=main,
        meta_rows={} if meta_sheet is None else meta_rows(meta_sheet),
        form=form,
    )


def _member(container: Container, name: str) -> bytes:
    try:
        return container.part(name)
    except KeyError:
        raise ReadError(f"{name} を展開できません") from None


def meta_values(sheet: Sheet) -> dict[str, str]:
    """``_meta`` as key → value: column A holds the key, column B its value.

    A number (a value retyped by hand) is given as its plain text: ``2023.0`` → ``"2023"``.
    """
    out: dict[str, str] = {}
    for row in sorted(sheet.rows):
        key, value = sheet.cells.get((row, 0)), sheet.cells.get((row, 1))
        if key is None or key.value is None:
            continue
        text = "" if value is None or value.value is None else value.value
        if value is not None and value.type == "n":
            text = number_text(text)
        out.setdefault(key.value.strip(), text.strip())
    return out


def meta_rows(sheet: Sheet) -> dict[str, int]:
    """``_meta`` key → the row holding it (the first, as ``meta_values`` reads it)."""
    out: dict[str, int] = {}
    for row in sorted(sheet.rows):
        key = sheet.cells.get((row, 0))
        if key is not None and key.value is not None:
            out.setdefault(key.value.strip(), row)
    return out


def number_text(text: str) -> str:
    """A stored number as a person reads it: ``"2023"``, ``"1.5"`` (never ``1E+3``)."""
    if len(text) < 20 and text.isascii() and text.isdigit():  # most: "2023" ("007": "7")
        return str(int(text))
    try:
        d = Decimal(text.strip())
    except InvalidOperation:
        return text
    if not d.is_finite():
        return text
    if d == d.to_integral_value():
        return str(int(d))
    return format(d.normalize(), "f")


# --- SpreadsheetML -----------------------------------------------------------------------
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def unescape(text: str) -> str:
    """Undo SpreadsheetML's ``_xHHHH_`` escaping (Excel writes a CR as ``_x000D_``)."""
    if "_x" not in text:
        return text
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)


class _NoDTD(ET.TreeBuilder):
    """ElementTree's C tree builder, refusing any document type declaration: it is where
    entity declarations (billion laughs) and external references would start. This is
    ``defusedxml``'s ``forbid_dtd`` policy at C speed (``budget.xlsx.container`` has already
    rejected every part that mentions ``<!DOCTYPE``/``<!ENTITY``)."""

    def doctype(self, name: str, pubid: str, system: str) -> None:
        raise ReadError("XML に DTD（文書型宣言）があります")


def _xml(data: bytes, part: str) -> ET.Element:
    parser = ET.XMLParser(target=_NoDTD())
    try:
        parser.feed(data)
        return parser.close()
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else "?"
        raise ReadError(f"{part} が XML として読めません（{line} 行目）") from None


def parse_xml(data: bytes, part: str) -> ET.Element:
    """An XML part triage kept, parsed by ElementTree's C parser with any DTD refused
    (``ReadError`` when it is not well-formed)."""
    return _xml(data, part)


def _namespace(root: ET.Element) -> str:
    """``"{uri}"`` of the root element (transitional or strict SpreadsheetML)."""
    return root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""


def _rich_text(el: ET.Element, ns: str) -> str:
    """The text of an ``<si>`` or ``<is>``: its ``<t>`` and the ``<t>`` of its runs ``<r>``;
    phonetic readings (``<rPh>``, furigana Japanese Excel adds) are left out."""
    t_tag, r_tag = ns + "t", ns + "r"
    parts: list[str] = []
    for child in el:
        if child.tag == t_tag:
            parts.append(child.text or "")
        elif child.tag == r_tag:
            parts.extend(t.text or "" for t in child if t.tag == t_tag)
    return unescape("".join(parts))


def parse_shared_strings(data: bytes) -> list[str]:
    """The shared string table: each ``<si>``'s text (plain or rich runs)."""
    fast = _fast_shared_strings(data)
    return fast if fast is not None else _tree_shared_strings(data)


def _tree_shared_strings(data: bytes) -> list[str]:
    root = _xml(data, "共有文字列")
    ns = _namespace(root)
    si = ns + "si"
    return [_rich_text(el, ns) for el in root if el.tag == si]


def _ref_col(ref: str, sheet: str) -> int:
    place = _place(ref)
    if place is None:
        raise ReadError(f"シート「{sheet}」のセル参照「{ref[:20]}」が不正です")
    return place[1]


def parse_sheet(data: bytes, shared: list[str], name: str = "") -> Sheet:
    """Every cell of a worksheet that has a value or a formula, its protection and its merged
    ranges.

    The cells are read by one regular expression when the part has the shape every mainstream
    writer gives it (``_fast_sheet``), else from the element tree (``_tree_sheet``); both give
    the same ``Sheet`` and the same ``ReadError``."""
    sheet = _fast_sheet(data, shared, name)
    return sheet if sheet is not None else _tree_sheet(data, shared, name)


def _sheet_parts(root: ET.Element, ns: str, sheet: Sheet) -> ET.Element | None:
    """Protection and merged ranges into ``sheet``; returns ``<sheetData>`` (the last, as
    SpreadsheetML has one), None when there is none."""
    sheet_data = None
    for el in root:
        if el.tag == ns + "sheetData":
            sheet_data = el
        elif el.tag == ns + "sheetProtection":
            sheet.protected = el.get("sheet", "0").lower() in ("1", "true")
        elif el.tag == ns + "mergeCells":
            for merge in el:
                found = _merged_range(merge.get("ref", "")) if merge.tag == ns + "mergeCell" \
                    else None
                if found is not None:
                    sheet.merged.append(found)
    return sheet_data


def _shared_string(shared: list[str], index: str) -> str:
    """The shared string a cell's ``<v>`` names; ``IndexError`` unless it is a plain index
    into the table (``-1`` or ``١`` is not one, though Python's ``int`` would take it)."""
    if not (index.isascii() and index.isdigit()):
        raise IndexError(index)
    return shared[int(index)]


def _tree_sheet(data: bytes, shared: list[str], name: str) -> Sheet:
    """``parse_sheet`` from ElementTree's element tree: any SpreadsheetML (prefixed tags,
    cells without references, comments, CDATA ...)."""
    root = _xml(data, f"シート「{name}」")
    ns = _namespace(root)
    sheet = Sheet(name)
    cells, rows, number_styles = sheet.cells, sheet.rows, sheet.number_styles
    c_tag, v_tag, f_tag, is_tag = ns + "c", ns + "v", ns + "f", ns + "is"
    masters: dict[str, tuple[str, int, int]] = {}  # shared formula si → (text, row, col)
    sheet_data = _sheet_parts(root, ns, sheet)
    row = 0
    for row_el in (sheet_data if sheet_data is not None else ()):
        r = row_el.get("r")
        row = int(r) if r and r.isdigit() else row + 1
        col: int | None = -1  # column of the previous cell; None: see last_ref
        last_ref = ""
        for c in row_el:
            if c.tag != c_tag:
                continue
            ref = c.get("r")
            if len(c) == 0:  # style only: nothing to read (most cells of a template)
                if ref is not None:
                    col, last_ref = None, ref  # worked out only if a later cell needs it
                elif col is not None:
                    col += 1
                else:
                    col = _ref_col(last_ref, name) + 1
                continue
            if ref is not None:
                place = _place(ref)
                if place is None:
                    raise ReadError(f"シート「{name}」のセル参照「{ref[:20]}」が不正です")
                cell_row, col = place
            else:  # no reference: the cell after the previous one
                col = (col if col is not None else _ref_col(last_ref, name)) + 1
                cell_row = row
            kind = c.get("t", "n")
            value: str | None = None
            formula: str | None = None
            f_el = None
            for child in c:
                tag = child.tag
                if tag == v_tag:
                    value = child.text or ""
                elif tag == f_tag:
                    f_el = child
                elif tag == is_tag:
                    value = _rich_text(child, ns)
            if f_el is not None:
                formula = _formula(f_el.text or "", f_el.attrib, cell_row, col, masters)
            if kind == "s" and value is not None:
                try:
                    value = _shared_string(shared, value)
                except (ValueError, IndexError):
                    raise ReadError(f"シート「{name}」のセル {column_letter(col)}{cell_row} が"
                                    "存在しない共有文字列を指しています") from None
            elif kind == "str" and value is not None:
                value = unescape(value)
            if value is None and formula is None and f_el is None:
                continue
            cell = Cell(cell_row, col, kind, value, formula)
            cells[(cell_row, col)] = cell
            rows.setdefault(cell_row, []).append(cell)
            if kind == "n":
                style = c.get("s")
                if style and style != "0" and style.isdigit():
                    number_styles[(cell_row, col)] = int(style)
    return sheet


# --- the fast path: <sheetData> cut at its cells' end tags ---------------------------------
# ``_fast_sheet`` reads a worksheet without building its ~2,500 elements, when it can prove it
# reads exactly what ``_tree_sheet`` would, the same cells or the same refusal. The proof:
# 1. the part is UTF-8 (no declaration, or one that says so);
# 2. ``sheetData`` occurs exactly twice, as ``<sheetData>`` and ``</sheetData>``, and the part
#    without what lies between them, parsed by ElementTree (any DTD refused; protection,
#    merged ranges), is well-formed and has that element as a child of its root in the
#    root's namespace: the two tags are that element's (what precedes a tag decides whether
#    it is one: no comment, CDATA or nesting hides them) and the unprefixed tags inside it
#    are in the root's namespace;
# 3. what lies between them declares no namespace and is, in full, rows (any attributes)
#    holding only cells written ``<c r="H8" s="1" t="s">`` (reference first, only these
#    attributes, in this order) whose children are ``<f>``, ``<v>`` and a one-run ``<is>``,
#    in that order. It is checked piece by piece: cut at every ``</c>``, each piece is what
#    comes between two cells with children (``_BETWEEN``: empty cells, row tags) followed by a
#    cell's start and children (``_CELL``). Cells outside a row, rows in rows, whitespace in a
#    cell, comments, CDATA, prefixed tags, cells without references: all take the tree;
# 4. that content is well-formed: either it holds only characters XML allows, no ``]]>``,
#    only the predefined entities and legal character references (``_plain_text``), no
#    attribute twice and only prefixes the root's start tag declares (``_prefixes``), so
#    the patterns above admit nothing expat would refuse; or, when any of that is not plain,
#    expat parses the whole part.
# Text is decoded as expat does (line ends, the predefined entities, character references).
# A cell's piece fully decides what it holds (but for a shared formula's dependent and a
# shared string, looked up for each file), so what a piece means is kept (``_PIECES``): the
# template's cells repeat in every returned copy, and most are read once per process.
_CELL_START = '<c r="'
_CELL_OPEN = r'([A-Z]{1,3}[0-9]{1,7})"(?: s="([0-9]{1,9})")?(?: t="([A-Za-z]{1,9})")?'
_F_ATTRS = r'((?: [A-Za-z]{1,16}="[^"<&\t\n\r]*")*)'
#: A cell with children after ``<c r="``, to its ``</c>``: reference, s, t, <f, its
#: attributes, its text, <v, its text, <is>, its text.
_CELL = re.compile(_CELL_OPEN + r'>(?:(<f)' + _F_ATTRS + r'(?:/>|>([^<]*)</f>))?'
                   r'(?:(<v)(?:/>|>([^<]*)</v>))?'
                   r'(?:(<is>)<t(?: xml:space="preserve")?>([^<]*)</t></is>)?')
_SPACE = r"[ \t\n\r]"
_EMPTY_CELL = r'<c r="[A-Z]{1,3}[0-9]{1,7}"(?: s="[0-9]{1,9}")?(?: t="[A-Za-z]{1,9}")?/>'
_ROW_OPEN = r'<row(?: [A-Za-z_][A-Za-z0-9_.:-]{0,40}="[^"<]*")*'
_IN_ROW = "(?:" + _EMPTY_CELL + "|" + _SPACE + ")*"
_ROWS = "(?:" + _SPACE + "|" + _ROW_OPEN + "/>|" + _ROW_OPEN + ">" + _IN_ROW + "</row>)*"
#: Between the start of <sheetData> and its first cell with children; between two cells with
#: children; after the last one; a <sheetData> without cells with children.
_FIRST = re.compile(_ROWS + _ROW_OPEN + ">" + _IN_ROW)
_BETWEEN = re.compile(_IN_ROW + "(?:</row>" + _ROWS + _ROW_OPEN + ">" + _IN_ROW + ")?")
_LAST = re.compile(_IN_ROW + "</row>" + _ROWS)
_NO_CELLS = re.compile(_ROWS)
_MAX_KEPT = 32  # parts kept whole (a sheet without its cells, a styles part) ...
_MAX_KEPT_SIZE = 256 * 1024  # ... of at most this size
#: a sheet without its cells → (it has the root's <sheetData>, protected, merged ranges): the
#: copies of a template repeat it
_AROUND: dict[bytes, tuple[bool, tuple[tuple[int, int, int, int], ...], frozenset[str] | None]] \
    = {}
#: piece → its cell (``_piece``); piece between cells known to match ``_BETWEEN`` → the
#: prefixes its row tags use
_NO_PREFIXES: frozenset[str] = frozenset()
_PIECES: dict[str, tuple] = {}
_BETWEENS: dict[str, frozenset[str]] = {"": _NO_PREFIXES}
_ROW_TAG = re.compile(r'<row((?: [A-Za-z_][A-Za-z0-9_.:-]{0,40}="[^"<]*")*)/?>')
_ATTR_NAME = re.compile(r' ([^ =]+)="')
_QNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*(?::[A-Za-z_][A-Za-z0-9_.-]*)?")
#: The root's start tag, when nothing but a declaration and spaces precede it.
_ROOT_START = re.compile(
    rb"(?:\xef\xbb\xbf)?(?:<\?xml[^>]*\?>)?[ \t\r\n]*<[A-Za-z_][\w.:-]*((?:[ \t\r\n]+"
    rb"[A-Za-z_][\w.:-]*[ \t\r\n]*=[ \t\r\n]*(?:\"[^\"<]*\"|'[^'<]*'))*)[ \t\r\n]*/?>")
_ATTR_NAMES = re.compile(rb"([A-Za-z_][\w.:-]*)[ \t\r\n]*=[ \t\r\n]*(?:\"[^\"<]*\"|'[^'<]*')")
#: Bytes XML never allows (controls but tab, line feed, carriage return).
_NOT_XML_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))
_MAX_PIECES = 20_000  # ~400 bytes each: ≤ ~8 MB a process (the template's take ~1,000)
#: Only pieces this short are kept (a template's cells are; a sender's 30,000-character cell
#: is read, not kept): what is kept stays within ``_MAX_PIECES`` × this.
_MAX_PIECE_CHARS = 1_024
_F_ATTR = re.compile(r' ([A-Za-z]+)="([^"]*)"')
_XML_DECL = re.compile(
    rb"<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*[\"']1\.0[\"']"
    rb"(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*[\"']([A-Za-z0-9._-]+)[\"'])?")
_ENTITY = re.compile(r"&(?:#x([0-9A-Fa-f]+)|#([0-9]+)|(amp|lt|gt|quot|apos));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_FAST_LIMIT = 4 * 1024 * 1024  # larger sheets (none of ours) take the tree


class _Fallback(Exception):
    """The fast path cannot vouch for this part: read it from the tree."""


def _doctype(*_: object) -> None:
    raise _Fallback


def _utf8(data: bytes) -> bool:
    """Whether an XML part is UTF-8: no declaration, or one that says so (a BOM allowed)."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    if data.startswith(b"<?xml", start):
        decl = _XML_DECL.match(data, start)
        return decl is not None and (decl.group(1) is None or decl.group(1).lower() == b"utf-8")
    return data.startswith(b"<", start)


def _well_formed(data: bytes) -> bool:
    """Whether expat, as ElementTree's parser uses it, parses ``data`` without error or DTD."""
    parser = pyexpat.ParserCreate(None, "}")
    parser.StartDoctypeDeclHandler = _doctype
    try:
        parser.Parse(data, True)
    except (pyexpat.ExpatError, _Fallback):
        return False
    return True


def _entity(m: re.Match) -> str:
    hex_code, code, name = m.groups()
    if name:
        return _NAMED[name]
    return chr(int(hex_code, 16) if hex_code else int(code))


def _xml_text(raw: str) -> str:
    """Character data as expat gives it: line ends normalised, then references replaced
    (in a well-formed part without DTD these are the only ones there can be)."""
    if "\r" in raw:
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in raw:
        references = raw.count("&")
        raw, count = _ENTITY.subn(_entity, raw)
        if count != references:  # not well-formed after all: let the tree say so
            raise _Fallback
    return raw


def _fast_sheet(data: bytes, shared: list[str], name: str) -> Sheet | None:
    """``parse_sheet`` from ``<sheetData>`` cut at its cells' end tags; None when the part
    is not of the shape that proves it right (see above), or anything is wrong with it (the
    tree then gives the error)."""
    if len(data) > _FAST_LIMIT or data.count(b"sheetData") != 2:
        return None
    open_at = data.find(b"<sheetData>")
    close_at = data.find(b"</sheetData>")
    if open_at < 0 or close_at < open_at or not _utf8(data):
        return None
    body_start = open_at + len(b"<sheetData>")
    kept = _around(data[:body_start] + data[close_at:], name)
    if kept is None:
        return None  # no root's <sheetData> in it, or not well-formed: the tree sorts it out
    raw = data[body_start:close_at]
    if b"xmlns" in raw:
        return None
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    declared = kept[2]
    if declared is None or not _plain_text(raw, body):
        if not _well_formed(data):  # expat vouches for what the pieces cannot
            return None
        declared = None
    sheet = Sheet(name, protected=kept[0], merged=list(kept[1]))
    try:
        _fast_cells(body, shared, sheet, declared)
    except (_Fallback, ValueError, IndexError):
        return None
    return sheet


def _around(around: bytes, name: str) -> tuple[bool, tuple[tuple[int, int, int, int], ...],
                                                frozenset[str] | None] | None:
    """What a sheet without its cells says (``_AROUND``): (protected, merged ranges, the
    prefixes its root declares, None when its start tag is not plain); None when it is not
    well-formed or has no root's ``<sheetData>``."""
    kept = _AROUND.get(around)
    if kept is None:
        try:
            root = _xml(around, name)
        except ReadError:
            return None
        probe = Sheet(name)
        if _sheet_parts(root, _namespace(root), probe) is None:
            return None
        start = _ROOT_START.match(around)
        declared = None if start is None else frozenset(
            ["xml"] + [attr[6:].decode() for attr in _ATTR_NAMES.findall(start.group(1))
                       if attr.startswith(b"xmlns:")])
        kept = probe.protected, tuple(probe.merged), declared
        if len(around) <= _MAX_KEPT_SIZE:
            if len(_AROUND) >= _MAX_KEPT:
                _AROUND.clear()
            _AROUND[around] = kept
    return kept


def _legal_char(code: int) -> bool:
    """XML 1.0's ``Char``: what a character reference may stand for."""
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD \
        or 0x10000 <= code <= 0x10FFFF


def _plain_text(raw: bytes, text: str) -> bool:
    """Whether the UTF-8 ``raw`` (decoded: ``text``) holds only characters XML allows, no
    ``]]>`` and no ``&`` but the predefined entities and legal character references: then
    text matched by the fast path's patterns is well-formed character data as it stands."""
    if len(raw.translate(None, _NOT_XML_BYTES)) != len(raw) or b"\xef\xbf\xbe" in raw \
            or b"\xef\xbf\xbf" in raw or b"]]>" in raw:
        return False
    if b"&" in raw:
        references = _ENTITY.findall(text)
        if len(references) != text.count("&"):
            return False
        for hex_code, code, _ in references:
            if (hex_code or code) and not _legal_char(int(hex_code, 16) if hex_code
                                                      else int(code)):
                return False
    return True


_SKIP = ()  # a piece whose cell holds nothing (no value, no formula)


def _piece(text: str) -> tuple:
    """What a cell's piece (after ``<c r="``, before ``</c>``) holds: ``(fields, place, kind,
    value, formula, style)``; ``fields`` (a ``Cell``'s) is None when they depend on the file
    (a shared string: ``value`` is its index text; a shared formula: ``formula`` is ``(text,
    attributes)``). ``_SKIP`` when the cell holds nothing. Raises ``_Fallback`` when it is
    not a cell."""
    m = _CELL.fullmatch(text)
    if m is None:
        raise _Fallback
    ref, style, kind, f, f_attrs, f_text, v, v_text, is_, is_text = m.groups()
    place = _place(ref)
    if place is None:  # pragma: no cover - the pattern admits cell references only
        raise _Fallback
    kind = kind or "n"
    value: str | None = None
    if v is not None:
        value = _xml_text(v_text or "")
    if is_ is not None:
        value = unescape(_xml_text(is_text or ""))
    if kind == "str" and value is not None:
        value = unescape(value)
    number_style = int(style) if kind == "n" and style and style != "0" else None
    formula: str | tuple[str, dict[str, str]] | None = None
    if f is not None:
        pairs = _F_ATTR.findall(f_attrs) if f_attrs else []
        attrs = dict(pairs)
        if len(attrs) != len(pairs):
            raise _Fallback  # an attribute twice: not well-formed
        text = _xml_text(f_text or "")
        formula = (text, attrs) if attrs.get("t") == "shared" else text or None
    elif value is None:
        return _SKIP
    if kind == "s" and value is not None or isinstance(formula, tuple):
        return None, place, kind, value, formula, number_style
    # the cell's fields as a plain tuple, not a Cell: the collector stops tracking a tuple of
    # strings and numbers, so what is kept costs no garbage collection
    return (place[0], place[1], kind, value, formula), place, kind, value, formula, \
        number_style


def _prefixes(between: str) -> frozenset[str]:
    """The prefixes the row tags of a piece use; ``_Fallback`` when a tag repeats an
    attribute (or two prefixed ones share a local name: expat might see one name twice) or
    a name is not a qualified name."""
    used: set[str] = set()
    for attrs in _ROW_TAG.findall(between):
        names = _ATTR_NAME.findall(attrs)
        local = [n.partition(":")[2] for n in names if ":" in n]
        if len(set(names)) != len(names) or len(set(local)) != len(local):
            raise _Fallback
        for n in names:
            if ":" in n:
                if _QNAME.fullmatch(n) is None:
                    raise _Fallback
                used.add(n.partition(":")[0])
    return frozenset(used) if used else _NO_PREFIXES


def _check_prefixes(used: frozenset[str], declared: frozenset[str] | None) -> None:
    if used and declared is not None and not used <= declared:
        raise _Fallback  # an unbound prefix: expat refuses the part


def _fast_cells(body: str, shared: list[str], sheet: Sheet,
                declared: frozenset[str] | None) -> None:
    """The cells of a ``<sheetData>`` body into ``sheet``; ``_Fallback`` when the body is
    not of the fast path's shape. ``declared``: the prefixes the root declares, which the
    rows' attributes may use (None: expat has checked the part)."""
    cells, rows, number_styles = sheet.cells, sheet.rows, sheet.number_styles
    masters: dict[str, tuple[str, int, int]] = {}
    pieces = body.split("</c>")
    last = pieces.pop()
    if not pieces:
        if _NO_CELLS.fullmatch(last) is None:
            raise _Fallback
        _check_prefixes(_prefixes(last), declared)
        return
    if _LAST.fullmatch(last) is None:
        raise _Fallback
    _check_prefixes(_prefixes(last), declared)
    known, betweens = _PIECES, _BETWEENS
    if len(known) > _MAX_PIECES or len(betweens) > _MAX_PIECES:
        known.clear()
        betweens.clear()
        betweens[""] = _NO_PREFIXES
    new_cell = tuple.__new__
    row_cells: list[Cell] = []
    last_row = -1
    first = True
    for piece in pieces:
        between, start, text = piece.rpartition(_CELL_START)
        if not start:
            raise _Fallback
        if first:
            if _FIRST.fullmatch(between) is None:
                raise _Fallback
            _check_prefixes(_prefixes(between), declared)
            first = False
        else:
            used = betweens.get(between)
            if used is None:
                if _BETWEEN.fullmatch(between) is None:
                    raise _Fallback
                used = _prefixes(between)
                if len(between) <= _MAX_PIECE_CHARS:
                    betweens[between] = used
            if used and declared is not None and not used <= declared:
                raise _Fallback
        entry = known.get(text)
        if entry is None:
            entry = _piece(text)
            if len(text) <= _MAX_PIECE_CHARS:
                known[text] = entry
        if entry is _SKIP:
            continue
        fields, place, kind, value, formula, style = entry
        if fields is None:
            if kind == "s" and value is not None:
                value = _shared_string(shared, value)  # a bad index: the tree says where
            if isinstance(formula, tuple):
                formula = _formula(formula[0], formula[1], place[0], place[1], masters)
            fields = (place[0], place[1], kind, value, formula)
        cell = new_cell(Cell, fields)
        cells[place] = cell
        if place[0] != last_row:
            last_row = place[0]
            row_cells = rows.setdefault(last_row, [])
        row_cells.append(cell)
        if style is not None:
            number_styles[place] = style


# The shared string table the same way: the root is ``<sst>`` (its start tag, checked by
# ElementTree, and ``</sst>`` are the first and last things after the declaration), its
# content is plain (or expat checks the part) and, cut at every ``</si>``, is one ``<si>``
# per piece (no attribute twice) holding texts ``<t>``, runs
# ``<r>`` (formatting ``<rPr>`` of empty elements, then one ``<t>``: LibreOffice writes
# these) and Japanese Excel's phonetic runs and settings (``<rPh>``, ``<phoneticPr>``, which
# the text leaves out). Anything else takes the tree.
_SST_HEAD = re.compile(rb'(?:\xef\xbb\xbf)?(?:<\?xml[^>]*\?>)?[ \t\r\n]*'
                       rb'<sst(?: [A-Za-z][A-Za-z0-9:]{0,20}="[^"<>&]*")*>')
_SST_TAIL = re.compile(rb"</sst>[ \t\r\n]*")
_T = r'<t(?: xml:space="preserve")?(?:/>|>[^<]*</t>)'
_EMPTY_ELEMENT = r'<[A-Za-z]{1,12}(?: [A-Za-z]{1,12}="[^"<>&]*")*/>'
_SI = re.compile(r"[ \t\r\n]*<si>(?:" + _T + "|<r>(?:<rPr>(?:" + _EMPTY_ELEMENT + ")*</rPr>)?"
                 + _T + '</r>|<rPh(?: [a-z]{1,4}="[0-9]{1,9}")*>' + _T + "</rPh>|"
                 r'<phoneticPr(?: [A-Za-z]{1,12}="[^"<>&]*")*/>)*')
#: Run formatting and phonetic readings, left out of a string's text (DOTALL: a reading's
#: text may hold a line feed, as the tree reads it)
_NOT_TEXT = re.compile(r"<rPr>.*?</rPr>|<rPh[^>]*>.*?</rPh>", re.DOTALL)
_T_TEXT = re.compile(r'<t(?: xml:space="preserve")?(?:/>|>([^<]*)</t>)')
_SI_TEXTS: dict[str, str] = {}  # piece → its text, for the strings every copy repeats
_SST_ROOTS: dict[bytes, bool] = {}  # <sst> start tag → it is one (the root, namespaced)
_TAG_ATTRS = re.compile(r'<[A-Za-z]+((?: [A-Za-z:]+="[^"]*")+)/?>')


def _fast_shared_strings(data: bytes) -> list[str] | None:
    """``parse_shared_strings`` without the element tree; None when the part is not of the
    shape above (the tree then reads it, or says what is wrong)."""
    head = _SST_HEAD.match(data)
    tail_at = data.rfind(b"</sst>")
    if head is None or tail_at < head.end() or _SST_TAIL.fullmatch(data, tail_at) is None \
            or len(data) > _FAST_LIMIT or not _utf8(data):
        return None
    start = data[:head.end()] + b"</sst>"
    plain = _SST_ROOTS.get(start)
    if plain is None:
        try:
            root = _xml(start, "共有文字列")
        except ReadError:
            return None
        plain = root.tag == _namespace(root) + "sst"
        if len(_SST_ROOTS) >= _MAX_KEPT:
            _SST_ROOTS.clear()
        _SST_ROOTS[start] = plain
    raw = data[head.end():tail_at]
    if not plain or b"xmlns" in raw:
        return None
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not _plain_text(raw, body) and not _well_formed(data):
        return None
    pieces = body.split("</si>")
    if pieces.pop().strip(" \t\r\n"):
        return None
    known = _SI_TEXTS
    if len(known) > _MAX_PIECES:
        known.clear()
    out: list[str] = []
    for piece in pieces:
        text = known.get(piece)
        if text is None:
            if _SI.fullmatch(piece) is None:
                return None
            for attrs in _TAG_ATTRS.findall(piece):
                names = _ATTR_NAME.findall(attrs)
                if len(set(names)) != len(names):
                    return None  # an attribute twice: not well-formed
            try:
                text = unescape(_xml_text("".join(_T_TEXT.findall(_NOT_TEXT.sub("", piece)))))
            except _Fallback:  # pragma: no cover - checked by _plain_text or expat
                return None
            if len(piece) <= _MAX_PIECE_CHARS:
                known[piece] = text
        out.append(text)
    return out

def _formula(text: str, attrs: dict, row: int, col: int,
             masters: dict[str, tuple[str, int, int]]) -> str | None:
    """A cell's formula text; a shared formula's dependent gets the master's, shifted."""
    if attrs.get("t") == "shared":
        si = attrs.get("si", "")
        if text:
            masters[si] = (text, row, col)
            return text
        master = masters.get(si)
        if master is None:
            return None  # a dependent before its master: not well-formed, nothing to show
        m_text, m_row, m_col = master
        return shift_formula(m_text, row - m_row, col - m_col)
    return text or None


_FORMULA_TOKEN = re.compile(
    r'"(?:[^"]|"")*"'  # a string literal (left alone)
    r"|'(?:[^']|'')*'!"  # a quoted sheet name
    r"|(?<![A-Za-z0-9_.])(\$?)([A-Za-z]{1,3})(\$?)(\d{1,7})(?![A-Za-z0-9_(])"  # an A1 reference
)


def shift_formula(text: str, d_row: int, d_col: int) -> str:
    """A formula moved by (d_row, d_col): relative references shift, ``$`` ones stay."""
    def sub(m: re.Match) -> str:
        if m.group(2) is None:
            return m.group(0)
        c_abs, letters, r_abs, digits = m.groups()
        col = col_index(letters.upper()) + (0 if c_abs else d_col)
        row = int(digits) + (0 if r_abs else d_row)
        return f"{c_abs}{column_letter(col)}{r_abs}{row}"

    return _FORMULA_TOKEN.sub(sub, text)


@lru_cache(maxsize=4096)
def normalise_formula(text: str | None) -> str | None:
    """Formula text in a canonical form to compare with a form's: no leading ``=``, no
    ``_xlfn.`` prefixes, no spaces and upper case outside string literals."""
    if text is None:
        return None
    text = text.strip().removeprefix("=")
    out = []
    for i, part in enumerate(re.split(r'("(?:[^"]|"")*")', text)):
        out.append(part if i % 2 else re.sub(r"\s+", "", part).upper().replace("_XLFN.", ""))
    return "".join(out)


# --- number formats: which cells hold dates -----------------------------------------------
#: Built-in number formats that show a date or a time (ECMA-376 §18.8.30, with the East Asian
#: ids 27–36 and 50–58 that Japanese Excel uses for 和暦 and 年月日 formats).
BUILTIN_DATE_FORMATS = frozenset(
    [*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])

# What a number format shows literally: "quoted text", [colour/locale/elapsed], \x escapes,
# _x (the width of x) and *x (x repeated).
_LITERAL = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.', re.DOTALL)
_DATE_CODE = re.compile(r"[ymdhsYMDHS]")


@lru_cache(maxsize=256)
def is_date_format(code: str) -> bool:
    """Whether a number format code shows a date or a time: a y, m, d, h or s outside quoted
    text, brackets and escapes (``yyyy/m/d``, ``m\\月d\\日``, ``[$-411]ggge"年"m"月"d"日"``,
    ``h:mm``), not ``#,##0``, ``General`` or ``#,##0"千円"``."""
    return bool(_DATE_CODE.search(_LITERAL.sub("", code)))


#: (styles part, wanted) → ``date_styles``: the copies of one template share their styles part
_DATE_STYLES: dict[tuple[bytes, frozenset[int] | None], frozenset[int]] = {}


def date_styles(data: bytes, wanted: Iterable[int] | None = None) -> frozenset[int]:
    """The cell style indices (``<cellXfs>`` positions, a cell's ``s``) of ``xl/styles.xml``
    whose number format shows a date or a time; only ``wanted`` ones when given.

    The answer for a part (bytes) and ``wanted`` already seen is the one given then; a part
    that is not well-formed raises ``ReadError`` each time."""
    key = (data, None if wanted is None else frozenset(wanted))
    found = _DATE_STYLES.get(key)
    if found is None:
        found = _date_styles(data, key[1])
        if len(data) <= _MAX_KEPT_SIZE:
            if len(_DATE_STYLES) >= _MAX_KEPT:
                _DATE_STYLES.clear()
            _DATE_STYLES[key] = found
    return found


def _date_styles(data: bytes, wanted: Iterable[int] | None) -> frozenset[int]:
    root = _xml(data, "スタイル")
    ns = _namespace(root)
    custom: dict[int, str] = {}
    xfs: list[ET.Element] = []
    for el in root:
        if el.tag == ns + "numFmts":
            for fmt in el:
                fid = fmt.get("numFmtId", "")
                if fmt.tag == ns + "numFmt" and fid.isdigit():
                    custom[int(fid)] = fmt.get("formatCode", "")
        elif el.tag == ns + "cellXfs":
            xfs = [xf for xf in el if xf.tag == ns + "xf"]
    indices = range(len(xfs)) if wanted is None else [i for i in wanted if 0 <= i < len(xfs)]
    found = set()
    for i in indices:
        fid = xfs[i].get("numFmtId", "0")
        if not fid.isdigit():
            continue
        n = int(fid)
        if n in custom:
            if is_date_format(custom[n]):
                found.add(i)
        elif n in BUILTIN_DATE_FORMATS:
            found.add(i)
    return frozenset(found)


# --- where the rows are ------------------------------------------------------------------


@dataclass
class RowMap:
    """Where each row of a form's table is, found by the hidden code column.

    ``header_row`` is the row holding the form's ``header_code`` (None when not found); the leaf
    area runs from the row after it to the last row holding a known leaf code.
    """

    header_row: int | None
    leaf_rows: dict[str, list[int]]  # known leaf code → its rows, top to bottom
    summary_rows: dict[str, list[int]]  # "#subtotal:…"/"#total" → rows
    #: rows the template does not have: (row, code), a row with a code of its own or one
    #: inside the leaf area. Typed-in content below the leaves (the blank separator row, beside
    #: the totals, under the grand total) is not a row: ``budget.intake.check`` reports its cells.
    inserted: list[tuple[int, str | None]]

    def first_row(self, leaf_code: str) -> int | None:
        rows = self.leaf_rows.get(leaf_code)
        return rows[0] if rows else None


def row_code(sheet: Sheet, row: int, form: Form) -> str | None:
    """The text of the form's hidden code column on ``row`` (None when empty)."""
    cell = sheet.column(form.code_column, row)
    if cell is None or cell.value is None:
        return None
    text = cell.value.strip()
    if cell.type == "n":
        text = number_text(text)
    return text or None


def locate_rows(sheet: Sheet, leaf_codes: Iterable[str], form: Form) -> RowMap:
    """Find every leaf's row by its code, and the rows the template does not have."""
    known = set(leaf_codes)
    codes = {row: row_code(sheet, row, form) for row in sheet.rows}
    header = next((r for r in sorted(codes) if codes[r] == form.header_code), None)
    leaf_rows: dict[str, list[int]] = {}
    summary: dict[str, list[int]] = {}
    first = (header or form.header_row) + 1
    for row in sorted(codes):
        code = codes[row]
        if row < first or code is None:
            continue
        if code in known:
            leaf_rows.setdefault(code, []).append(row)
        elif code == form.total_code or code.startswith(form.subtotal_prefix):
            summary.setdefault(code, []).append(row)
    last_leaf = max((r for rows in leaf_rows.values() for r in rows), default=first - 1)
    inserted: list[tuple[int, str | None]] = []
    summary_set = {r for rows in summary.values() for r in rows}
    for row in range(first, max(sheet.max_row, last_leaf) + 1):
        code = codes.get(row)
        if code in known or row in summary_set:
            continue
        if code is not None:  # a code the template never had
            inserted.append((row, code))
        elif row <= last_leaf:  # no code inside the leaf area: an inserted row, even empty
            inserted.append((row, None))
    return RowMap(header, leaf_rows, summary, inserted)
