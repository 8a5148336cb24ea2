"""Whose submission a received file is, and which fiscal year it counts for: from the
prefecture its form names and the prefecture its file name names. Decided once, at ingest
(``budget.intake.batch``), and stored with the submission; ``status``, the run report and the
summary read that decision, and a store migration decides it the same way for old rows.
"""

from __future__ import annotations

import re
from functools import lru_cache

from budget.errors import BudgetError
from budget.findings import FileReport
from budget.forms.base import parse_template_file_name
from budget.store.base import Attribution


def _base_name(file_name: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKC", re.split(r"[\\/]", file_name)[-1])


def file_name_prefecture(file_name: str) -> str | None:
    """The two-digit prefecture code a file name starts with (``13_東京都…``), or None."""
    parsed = parse_template_file_name(file_name)
    return None if parsed is None else parsed[0]


@lru_cache(maxsize=1)
def _prefecture_names() -> tuple[tuple[str, str, bool], ...]:
    """(name, code, is short) to look for in a file name: longest first, a full name before a
    short one of the same length (東京都 before 京都, 京都府 before 神奈川)."""
    from budget.prefectures import all_prefectures

    names = []
    for p in all_prefectures():
        names.append((p.name_ja, p.code, False))
        if p.short_name:  # 東京, 京都, 大阪, 神奈川 …; 北海道 has none
            names.append((p.short_name, p.code, True))
    names.sort(key=lambda n: (-len(n[0]), n[2]))
    return tuple(names)


def file_name_prefectures(file_name: str, *, short_names: bool = True) -> list[str]:
    """Codes of the prefectures a file name names, in order of appearance: its leading code
    (``13_…``) and every Japanese name, full (``東京都``) or, with ``short_names``, short
    (``東京``).

    Names are matched longest first and a matched name is used up, so ``東京都`` names Tokyo
    only (not also the 京都 inside it) and ``京都府`` names Kyoto.
    """
    base = _base_name(file_name)
    found: list[tuple[int, str]] = []
    code = file_name_prefecture(base)
    if code is not None:
        found.append((-1, code))
    for name, code, short in _prefecture_names():
        if short and not short_names:
            continue
        start = base.find(name)
        while start >= 0:
            found.append((start, code))
            base = base[:start] + "\0" * len(name) + base[start + len(name):]
            start = base.find(name, start + len(name))
    return list(dict.fromkeys(code for _, code in sorted(found)))


def attribution(file_name: str, form_prefecture: str | None, fiscal_year: int | None, *,
                accepted: bool) -> Attribution:
    """Whose submission a file is and which fiscal year it counts for: decided once, at
    ingest, and stored with the submission (``status``, the run report and the summary read
    it).

    An accepted file is its form's (the check rejects a file name that names another
    prefecture). A rejected file whose name is a prefecture's (``13_東京都_R5_計画.xlsx``:
    ``parse_template_file_name``; else the first full prefecture name in it,
    ``file_name_prefectures``) is that prefecture's when its form is another's or cannot be
    read, with a note saying so; its year, when the workbook has none, is the one its name
    carries (``_R5_``). Otherwise the form's prefecture and year.
    """
    from budget.fiscal import parse_fiscal_year
    from budget.prefectures import prefecture_by_code

    if accepted:
        return Attribution(form_prefecture, fiscal_year)
    parsed = parse_template_file_name(file_name)
    if parsed is not None:
        named: str | None = parsed[0]
    else:
        names = file_name_prefectures(file_name, short_names=False)
        named = names[0] if names else None
    year = fiscal_year
    if year is None and parsed is not None and parsed[1] is not None:
        try:
            year = parse_fiscal_year(parsed[1])
        except BudgetError:
            year = None
    if named is None or named == form_prefecture:
        return Attribution(form_prefecture, year)
    if form_prefecture is None:
        return Attribution(named, year, "ファイル名は本県のものですが、ファイルを読み取れませんでした")
    form = prefecture_by_code(form_prefecture)
    label = form.label if form is not None else form_prefecture
    return Attribution(named, year, f"ファイル名は本県のものですが、様式は {label} のものでした")


def attribution_of(report: FileReport) -> Attribution:
    """``attribution`` of a checked file."""
    return attribution(report.file, report.prefecture_code, report.fiscal_year,
                       accepted=report.accepted)
