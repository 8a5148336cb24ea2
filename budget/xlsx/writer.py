"""The one cell writer: how every workbook the tool writes puts a value in a cell.

xlsxwriter (templates, summary workbook, ingest run report) through ``CellWriter``:

* missing (None, NaN, pandas NA/NaT) → a blank cell (blank is not zero);
* a number → a number cell;
* every text → a text cell, never a formula or a link (the workbook is opened with
  ``WORKBOOK_OPTIONS``). A text that starts like a formula (``textsafe.is_formula_like``:
  = + - @ tab …) gets a ``quote_prefix`` twin of its format: Excel and LibreOffice show it
  exactly as typed (no added apostrophe) and keep it text when the cell is edited;
* control characters are stored with SpreadsheetML's ``_xHHHH_`` escape (xlsxwriter does
  this), so the text is kept as sent and the XML stays valid; a lone surrogate, which no
  file can hold, becomes U+FFFD;
* every xlsxwriter return code is checked (``check_xlsx``): xlsxwriter reports a failed
  write (a text over 32,767 characters, a row out of range…) by return code, not exception;
* a whole row (``CellWriter.row``) of a ``constant_memory`` worksheet (the run report) is
  made here as the SpreadsheetML xlsxwriter would write for it, byte for byte, without its
  per-cell bookkeeping (``_RowXml``); what it does not make (an odd type, a rich-text-like
  text, a failing write) is left to xlsxwriter, so the rules above hold either way.

The return copies edit the sender's XML parts instead (``budget.intake.annotate`` with
``budget.xlsx.sheetedit``): every text they add is an inline-string cell (never a formula),
XML-escaped, control characters → U+FFFD, formula-like text with ``quotePrefix``. Their
openpyxl fallback (a shape the XML edit does not handle) writes through ``write_text_cell``
with the same rules.

The CSV has no cell types: there formula-like text is apostrophe-prefixed instead
(``textsafe.neutralise``, in ``budget.render.tidy``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from budget.textsafe import FORMULA_LEADS, encodable, is_formula_like, xml_safe

#: Options of every xlsxwriter workbook the tool writes: a string is always a string.
WORKBOOK_OPTIONS: dict[str, Any] = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "in_memory": True,
}


def check_xlsx(code: int | None) -> None:
    """Raise ``RuntimeError`` on an xlsxwriter write's failure code (0 and None are success):
    it reports cell-level failures (a string too long, a row out of range…) by return code,
    not by exception."""
    if code not in (0, None):
        raise RuntimeError(f"xlsxwriter write failed with code {code}")


def is_missing(value: Any) -> bool:
    """True for None, a float NaN, pandas NA or NaT: what is written as a blank cell."""
    if value is None:
        return True
    if isinstance(value, (str, int)):
        return False
    try:
        return bool(value != value) or type(value).__name__ in ("NAType", "NaTType")
    except TypeError:  # pd.NA != pd.NA is ambiguous
        return True


class CellWriter:
    """Writes the cells of one xlsxwriter workbook by the rules of this module.

    Make every cell format with ``add_format`` (it remembers the properties, so a
    formula-like text can get the same format with ``quote_prefix``); a format made
    elsewhere still gets a quote-prefixed format, with the workbook's default properties.
    """

    def __init__(self, workbook: Any, *, fast_rows: bool = True,
                 any_release: bool = False) -> None:
        self.workbook = workbook
        #: the row writer even under an xlsxwriter release it was not checked against (tests)
        self.any_release = any_release
        #: ``row`` may write a ``constant_memory`` worksheet's rows itself (``_RowXml``)
        self.fast_rows = fast_rows
        self._props: dict[int, dict[str, Any]] = {}
        self._quoted: dict[int | None, Any] = {}
        self._fast: dict[int, _RowXml | bool] = {}  # worksheet → its row writer, or False

    def add_format(self, props: Mapping[str, Any] | None = None) -> Any:
        """A new cell format of the workbook with ``props`` (xlsxwriter ``add_format``)."""
        full = dict(props or {})
        fmt = self.workbook.add_format(full)
        self._props[id(fmt)] = full
        return fmt

    def quoted(self, fmt: Any) -> Any:
        """``fmt`` with ``quote_prefix`` (made once per format): the cell shows its text as
        typed, even ``=…``, and keeps it text when edited."""
        key = None if fmt is None else id(fmt)
        if key not in self._quoted:
            props = self._props.get(key, {}) if key is not None else {}
            self._quoted[key] = self.workbook.add_format({**props, "quote_prefix": True})
        return self._quoted[key]

    def blank(self, ws: Any, row: int, col: int, fmt: Any = None) -> None:
        check_xlsx(ws.write_blank(row, col, None, fmt))

    def text(self, ws: Any, row: int, col: int, value: Any, fmt: Any = None) -> None:
        """``value`` as a text cell (``str(value)``); missing or empty → blank."""
        if is_missing(value) or value == "":
            self.blank(ws, row, col, fmt)
            return
        text = encodable(str(value))
        check_xlsx(write_plain_string(ws, row, col, text,
                                self.quoted(fmt) if is_formula_like(text) else fmt))


    def number(self, ws: Any, row: int, col: int, value: Any, fmt: Any = None) -> None:
        """``value`` as a number cell; missing → blank."""
        if is_missing(value):
            self.blank(ws, row, col, fmt)
        else:
            check_xlsx(ws.write_number(row, col, value, fmt))

    def value(self, ws: Any, row: int, col: int, value: Any, fmt: Any = None) -> None:
        """``value`` as typed: an int or float → a number, missing or "" → blank, anything
        else (a bool included) → text (``str(value)``)."""
        if isinstance(value, (int, float)) and not isinstance(value, bool) \
                and not is_missing(value):
            self.number(ws, row, col, value, fmt)
        else:
            self.text(ws, row, col, value, fmt)

    def row(self, ws: Any, row: int, cells: "list[tuple[Any, Any]]",
            height: float | None = None) -> None:
        """Each (value, format) of ``cells`` into ``row`` from column 0, as ``value`` writes
        it, the row ``height`` points tall (None: the default height), rows in order.

        The same cells with less work a cell: in a ``constant_memory`` worksheet the row's
        SpreadsheetML is made here (``_RowXml``: the bytes xlsxwriter writes, tested
        against it), else each cell is written with less work for the common types (a plain
        ``str``, ``int``, ``float`` or None), any other type through ``value``."""
        fast = self._fast.get(id(ws))
        if fast is None:
            fast = self._fast[id(ws)] = self.fast_rows and _RowXml.of(
                ws, any_release=self.any_release)
        if isinstance(fast, _RowXml) and fast.write(self, row, cells, height):
            return
        if height is not None:
            check_xlsx(ws.set_row(row, height))
        write_number = ws.write_number
        for col, (value, fmt) in enumerate(cells):
            kind = type(value)
            if kind is str:
                if not value:
                    code = ws.write_blank(row, col, None, fmt)
                else:
                    if not value.isascii():  # only non-ASCII text can hold a surrogate
                        value = encodable(value)
                    code = write_plain_string(ws, row, col, value, self.quoted(fmt)
                                              if value.startswith(FORMULA_LEADS) else fmt)
            elif kind is int or (kind is float and value == value):
                code = write_number(row, col, value, fmt)
            elif value is None:
                code = ws.write_blank(row, col, None, fmt)
            else:
                self.value(ws, row, col, value, fmt)
                continue
            if code:
                check_xlsx(code)

    def formula(self, ws: Any, row: int, col: int, formula: str, fmt: Any,
                cached: Any) -> None:
        """A formula the tool made (never sender text), with its correct ``cached`` value:
        LibreOffice shows the cached value without recalculating."""
        check_xlsx(ws.write_formula(row, col, formula, fmt, cached))

    def merge(self, ws: Any, first_row: int, first_col: int, last_row: int, last_col: int,
              value: Any, fmt: Any) -> None:
        """Merge the range and write ``value`` into it as text (``text``'s rules)."""
        check_xlsx(ws.merge_range(first_row, first_col, last_row, last_col, "", fmt))
        self.text(ws, first_row, first_col, value, fmt)


#: xlsxwriter's escapes of a text cell (``Worksheet._write_cell`` in ``constant_memory``):
#: a literal ``_xHHHH_`` gets its underscore escaped, control characters (tab and LF
#: excepted) become ``_xHHHH_``, and so do U+FFFE and U+FFFF; then &, < and > as entities.
_LITERAL_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f]")
_XML_SPECIAL = re.compile("[&<>]")
_EDGE_SPACE = re.compile(r"^\s|\s$")
#: The longest text a cell holds, in UTF-16 units.
_MAX_TEXT = 32_767
#: Text cells remembered at most (emptied when full: ~6 MB at most, memory stays flat).
_MAX_CACHED = 20_000
#: ... each of at most this many characters
_MAX_CACHED_CHARS = 256


def write_plain_string(ws: Any, row: int, col: int, text: str, fmt: Any = None) -> int | None:
    """xlsxwriter's ``write_string``, returning its code, for any text: a text xlsxwriter
    would take for rich text's XML (``<r>…</r>``, which it writes unescaped: a sender could
    break the file or slip a formula in) is written as three plain runs of the cell's format
    instead, the same text, escaped. Every text that may come from a sender goes through
    here (the cell writer, and the values ``generate`` pre-fills from the store)."""
    if text.startswith("<r>") and text.endswith("</r>"):
        if fmt is None:
            return ws.write_rich_string(row, col, text[:1], text[1:2], text[2:])
        return ws.write_rich_string(row, col, fmt, text[:1], fmt, text[1:2], fmt,
                                    text[2:], fmt)
    return ws.write_string(row, col, text, fmt)


def xlsxwriter_release() -> tuple[int, ...]:
    """The installed xlsxwriter's (major, minor); () when it cannot be told."""
    import xlsxwriter

    found = re.match(r"(\d+)\.(\d+)", getattr(xlsxwriter, "__version__", ""))
    return (int(found.group(1)), int(found.group(2))) if found else ()


class _RowXml:
    """The rows of one xlsxwriter ``constant_memory`` worksheet as SpreadsheetML made here:
    xlsxwriter spends most of a large report's time on its per-cell bookkeeping. What is
    written is the bytes xlsxwriter writes for the same cells (``tests/test_xlsx_writer.py``
    compares them on odd values). A row holding anything else than plain text, integers,
    finite floats and None, a text xlsxwriter would read as rich text (``<r>…</r>``), or a
    worksheet of an xlsxwriter that lacks what this relies on, is left to xlsxwriter
    (``write`` returns False)."""

    #: What this relies on in an xlsxwriter worksheet.
    NEEDS = ("_write_single_row", "_check_dimensions", "previous_row", "fh", "row_info",
             "comments", "col_info",
             "row_sizes", "dim_colmin", "xls_rowmax", "xls_colmax", "default_row_height",
             "original_row_height", "excel_version")

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.texts: dict[str, str] = {}  # text → its cell's XML after the style
        self.refs: list[str] = []  # column → its letters
        self.styles: dict[int, str] = {}  # format's id → its cell's style attribute
        self.formats: list[Any] = []  # the formats of ``styles``

    #: The xlsxwriter releases (major, minor) whose internals this was checked against byte
    #: for byte (``tests/test_xlsx_writer.py``); under any other, xlsxwriter writes the rows
    #: (slower, never wrong). A new release is added here once those tests pass with it
    #: (they force this writer on whatever release is installed).
    TESTED = frozenset({(3, 3)})

    @classmethod
    def of(cls, ws: Any, *, any_release: bool = False) -> "_RowXml | bool":
        """The row writer of ``ws``, or False when its rows are left to xlsxwriter (a
        worksheet not in ``constant_memory`` mode, or an xlsxwriter release not in
        ``TESTED`` unless ``any_release``)."""
        if not getattr(ws, "constant_memory", False) \
                or not all(hasattr(ws, name) for name in cls.NEEDS) \
                or ws.excel_version != 2007 \
                or not (any_release or xlsxwriter_release() in cls.TESTED):
            return False
        return cls(ws)

    def _refs(self, n: int) -> list[str]:
        """The letters of the first ``n`` columns (A, B, …)."""
        from xlsxwriter.utility import xl_col_to_name

        while len(self.refs) < n:
            self.refs.append(xl_col_to_name(len(self.refs)))
        return self.refs

    def _text(self, value: str) -> str | None:
        """The XML of the text cell of ``value`` after its style (lone surrogates → U+FFFD:
        ``encodable``), remembered; None: leave it to xlsxwriter."""
        xml = self.texts.get(value)
        if xml is not None:
            return xml
        text = value if value.isascii() else encodable(value)
        if text.startswith("<r>") and text.endswith("</r>"):
            return None  # xlsxwriter takes it for rich text
        if len(text) > _MAX_TEXT // 2 and len(text.encode("utf-16-le")) // 2 > _MAX_TEXT:
            return None  # too long: xlsxwriter's failure code
        escaped = _LITERAL_ESCAPE.sub(r"_x005F\1", text)
        escaped = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", escaped)
        escaped = escaped.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
        if _XML_SPECIAL.search(escaped):
            escaped = escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        space = ' xml:space="preserve"' if _EDGE_SPACE.search(escaped) else ""
        xml = f' t="inlineStr"><is><t{space}>{escaped}</t></is></c>'
        if len(value) <= _MAX_CACHED_CHARS:  # a sender's long text is made, not kept
            if len(self.texts) >= _MAX_CACHED:
                self.texts.clear()
            self.texts[value] = xml
        return xml

    def write(self, cells: CellWriter, row: int, values: "list[tuple[Any, Any]]",
              height: float | None) -> bool:
        """Write ``values`` as ``row`` (``CellWriter.row``); False, writing nothing, when the
        row is left to xlsxwriter."""
        ws = self.ws
        if not ws.previous_row < row < ws.xls_rowmax or len(values) > ws.xls_colmax \
                or row in ws.row_info or ws.default_row_height != ws.original_row_height \
                or row in ws.comments:
            return False  # a row xlsxwriter has begun or knows of, or out of bounds
        col_info = ws.col_info
        if height is None:
            tall = ""
        else:
            pixels = int(height * 4.0 / 3.0 + 0.5)  # as ``set_row`` takes it
            if pixels <= 0:
                return False  # a hidden row: not ours
            tall = "" if pixels == ws.default_row_height \
                else f' ht="{pixels * 0.75:.16g}" customHeight="1"'
        # First what each cell is, changing nothing: a row left to xlsxwriter is left whole.
        made: list[tuple[int, Any, str]] = []  # (column, format, XML after the style)
        text_of = self._text
        for col, (value, fmt) in enumerate(values):
            kind = type(value)
            if kind is str and value:
                # a lone surrogate (made U+FFFD) is never a formula's lead
                if value.startswith(FORMULA_LEADS):
                    fmt = cells.quoted(fmt)
                xml = text_of(value)
                if xml is None:
                    return False
            elif kind is int or kind is float and value == value:
                if kind is float and value in (math.inf, -math.inf):
                    return False  # xlsxwriter refuses it
                xml = f"><v>{value:.16G}</v></c>"
            elif value is None or kind is str:  # blank: a cell only when formatted
                if fmt is None:
                    continue
                xml = "/>"
            else:
                return False
            if fmt is None and col in col_info and col_info[col].column_format is not None:
                return False  # xlsxwriter gives it the column's format
            made.append((col, fmt, xml))
        if not made:
            return False  # a row without a cell: xlsxwriter's
        # The row before goes out first (it may be xlsxwriter's), as xlsxwriter would: a
        # format's number is given when its first cell is written.
        ws._write_single_row(row)
        if height is not None:  # what ``set_row`` keeps of the row
            ws._check_dimensions(row, 0 if ws.dim_colmin is None else ws.dim_colmin)
            ws.row_sizes[row] = [pixels, False]
        r = str(row + 1)
        refs, styles = self._refs(len(values)), self.styles
        parts = []
        for col, fmt, xml in made:
            style = "" if fmt is None else styles.get(id(fmt))
            if style is None:  # a format's number is given at its first cell
                style = styles[id(fmt)] = f' s="{fmt._get_xf_index()}"'
                self.formats.append(fmt)  # alive while its id is a key
            parts.append(f'<c r="{refs[col]}{r}"{style}{xml}')
        ws._check_dimensions(row, made[0][0])
        ws._check_dimensions(row, made[-1][0])
        ws.fh.write(f'<row r="{r}"{tall}>{"".join(parts)}</row>')
        return True


def write_text_cell(ws: Any, row: int, col: int, value: str | None) -> Any:
    """openpyxl: write ``value`` into the 1-based cell (``row``, ``col``) as a plain string
    cell, never a formula whatever it starts with (formula-like text with ``quotePrefix``),
    control characters → U+FFFD; empty or None leaves the cell as it is. Returns the cell
    (to style it)."""
    cell = ws.cell(row=row, column=col)
    if value:
        text = xml_safe(value)
        cell.value = text
        cell.data_type = "s"
        if is_formula_like(text):
            cell.quotePrefix = True
    return cell
