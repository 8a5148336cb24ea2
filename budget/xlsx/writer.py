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
  write (a text over 32,767 characters, a row out of range…) by return code, not exception.

The return copies edit the sender's XML parts instead (``budget.intake.annotate`` with
``budget.xlsx.sheetedit``): every text they add is an inline-string cell (never a formula),
XML-escaped, control characters → U+FFFD, formula-like text with ``quotePrefix``. Their
openpyxl fallback (a shape the XML edit does not handle) writes through ``write_text_cell``
with the same rules.

The CSV has no cell types: there formula-like text is apostrophe-prefixed instead
(``textsafe.neutralise``, in ``budget.render.tidy``).
"""

from __future__ import annotations

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

    def __init__(self, workbook: Any) -> None:
        self.workbook = workbook
        self._props: dict[int, dict[str, Any]] = {}
        self._quoted: dict[int | None, Any] = {}

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
        check_xlsx(ws.write_string(row, col, text,
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

    def row(self, ws: Any, row: int, cells: "list[tuple[Any, Any]]") -> None:
        """Each (value, format) of ``cells`` into ``row`` from column 0, as ``value`` writes
        it: the same cells, with less work a cell for the common types (a plain ``str``,
        ``int``, ``float`` or None); any other type goes through ``value``."""
        write_string, write_number = ws.write_string, ws.write_number
        for col, (value, fmt) in enumerate(cells):
            kind = type(value)
            if kind is str:
                if not value:
                    code = ws.write_blank(row, col, None, fmt)
                else:
                    if not value.isascii():  # only non-ASCII text can hold a surrogate
                        value = encodable(value)
                    code = write_string(row, col, value, self.quoted(fmt)
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
