"""Text from a submission must never become a formula or a link in anything we write.

xlsxwriter workbooks are written with ``strings_to_formulas`` and ``strings_to_urls`` off,
openpyxl cells are written with an explicit string type, and every text a sender typed
also goes through ``neutralise`` so that a CSV opened in Excel cannot run it either.
"""

from __future__ import annotations

import re

#: Characters that make a spreadsheet treat a cell's text as a formula (OWASP CSV injection).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_LEADS)


#: Control characters XML 1.0 forbids (a workbook with one does not open).
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def xml_safe(text: object) -> str:
    """``text`` as a string a workbook's XML can hold: forbidden control characters → U+FFFD."""
    return _XML_ILLEGAL.sub("\ufffd", str(text))


def neutralise(value: object) -> object:
    """Prefix formula-like text with an apostrophe; other values pass unchanged."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value
