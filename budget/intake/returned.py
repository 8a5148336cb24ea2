"""Our own return copies, sent back after fixing.

A return copy (``13_東京都_R5_計画_要修正.xlsx``, ``budget.intake.annotate``) is the
sender's workbook with what we added: a first sheet 「エラー一覧」, fills and comments on the
problem cells. Its hidden column ``G`` holds what makes it recognisable and reversible:

* ``G1``: ``MARK`` (the copy is ours);
* ``G2``: the name of the file the copy was made from (the prefecture's plan name);
* ``G3``…: each cell we filled (``計画!H8``) and, in ``H``, its fill before we filled it.

A clerk who fixes the copy and sends it back keeps all of it. The check reads only the form's
own sheets and cells (never the list, a comment or a fill), so the workbook is checked as if
our additions were not there; ``origin_name`` gives the plan's name to show and store the
submission under (the bytes are stored as received), and ``annotate`` takes its old marks
off before marking a copy again.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from budget.xlsx.container import Container

ERRORS_SHEET = "エラー一覧"
MARK = "budget:return-copy:1"
MARK_COLUMN = "G"  # hidden: the mark, the original name, the cells we filled
FILL_COLUMN = "H"  # their fills before
FIRST_FILL_ROW = 3
_SUFFIX = re.compile(r"_(?:要修正|要確認)(?:_\d+)?$")
_NAME_SUFFIXES = (".xlsx", ".xlsm")


def plan_name_of(copy_name: str) -> str:
    """``13_東京都_R5_計画_要修正.xlsx`` → ``13_東京都_R5_計画.xlsx`` (a name without our
    suffix is returned as it is)."""
    stem, dot, ext = copy_name.rpartition(".")
    if not dot:
        return copy_name
    plain = _SUFFIX.sub("", stem)
    return f"{plain}.{ext}" if plain else copy_name


def origin_name(container: "Container", received: str) -> str | None:
    """The plan name a return copy of ours was made from, or None when ``container`` is not
    one. The name recorded in the copy is used when it is a plain workbook file name (no
    folder, no control character, not too long); else ``plan_name_of(received)``."""
    sheet = _marked_sheet(container)
    if sheet is None:
        return None
    name = sheet.cell(f"{MARK_COLUMN}2")
    recorded = "" if name is None else (name.value or "").strip()
    if _plain_file_name(recorded):
        return recorded
    return plan_name_of(received)


def recorded_fills(container: "Container") -> list[tuple[str, str]] | None:
    """The cells a return copy of ours filled (``計画!H8``) with each one's fill before, as
    recorded in its hidden columns; None when ``container`` is not one of our copies."""
    sheet = _marked_sheet(container)
    if sheet is None:
        return None
    out: list[tuple[str, str]] = []
    row = FIRST_FILL_ROW
    while True:
        where, fill = sheet.cell(f"{MARK_COLUMN}{row}"), sheet.cell(f"{FILL_COLUMN}{row}")
        if where is None or not (where.value or "").strip():
            return out
        out.append((str(where.value).strip(), "" if fill is None else str(fill.value or "")))
        row += 1


def _marked_sheet(container: "Container"):  # -> budget.xlsx.reader.Sheet | None
    """The 「エラー一覧」 sheet of ``container`` when it carries our mark, else None."""
    from budget.xlsx.reader import ReadError, parse_shared_strings, parse_sheet

    member = container.sheets.get(ERRORS_SHEET)
    if member is None:
        return None
    try:
        shared = parse_shared_strings(container.part(container.shared_strings)) \
            if container.shared_strings else []
        sheet = parse_sheet(container.part(member), shared, ERRORS_SHEET)
    except (ReadError, KeyError):
        return None
    mark = sheet.cell(f"{MARK_COLUMN}1")
    if mark is None or (mark.value or "").strip() != MARK:
        return None
    return sheet


def _plain_file_name(name: str) -> bool:
    return (0 < len(name) <= 200 and name.isprintable() and not re.search(r"[\\/:]", name)
            and name.lower().endswith(_NAME_SUFFIXES) and not name.startswith("."))
