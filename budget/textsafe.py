"""Text from a submission must never become a formula or a link in anything we write.

Workbooks: every cell goes through ``budget.xlsx.writer`` (xlsxwriter workbooks opened with
``strings_to_formulas`` and ``strings_to_urls`` off, openpyxl cells given an explicit string
type); a formula-like text is kept exactly as sent and made inert by a ``quote_prefix``
format. CSV has no cell types: there a formula-like text gets a leading apostrophe
(``neutralise``) so that Excel opening the file cannot run it. JSON is data: text as sent.
"""

from __future__ import annotations

import re

#: Characters that make a spreadsheet treat a cell's text as a formula (OWASP CSV injection).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def is_formula_like(text: str) -> bool:
    """True when ``text`` starts with a character that makes a spreadsheet read a formula."""
    return text.startswith(FORMULA_LEADS)


#: Characters XML 1.0 forbids (a workbook with one does not open): control characters,
#: U+FFFE/U+FFFF, and lone surrogates (which cannot even be encoded as UTF-8).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def xml_safe(text: object) -> str:
    """``text`` as a string a workbook's XML can hold: forbidden characters → U+FFFD."""
    return _XML_ILLEGAL.sub("\ufffd", str(text))


def encodable(text: str) -> str:
    """``text`` with every lone surrogate (which UTF-8 cannot encode) → U+FFFD; for a writer
    that escapes control characters itself (xlsxwriter's ``_xHHHH_``)."""
    return _SURROGATE.sub("\ufffd", text)


def neutralise(value: object) -> object:
    """Prefix formula-like text with an apostrophe (for CSV); other values pass unchanged."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value
