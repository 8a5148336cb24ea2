"""Shared fixtures and helpers: real workbooks made by ``budget.generate``, filled as a
prefecture would fill them.

Fixtures
    ``menu`` (session)            the FY2023 menu DataFrame (``load_menu(2023)``).
    ``filled_workbook``           the factory ``write_filled_workbook`` below, as a fixture:
                                  ``filled_workbook(tmp_path, prefecture="13", rows={...},
                                  header={...}) -> Path``.
    ``clean_workbook`` (session)  one clean filled workbook (Tokyo, ``CLEAN_ROWS``, ``CONTACT``)
                                  in a session temp folder: read it, copy it, never modify it.
    ``libreoffice_clean_workbook`` (session)  the same saved by LibreOffice (skips without it).

Helpers (import them: ``from tests.conftest import edit_workbook, CLEAN_ROWS``)
    ``CONTACT``                    a complete contact header (no missing-contact warnings).
    ``CLEAN_ROWS``                 a few valid plan rows that pass every rule (see
                                   ``CLEAN_EXPECTED`` for what ``FileReport.plan`` holds).
    ``write_filled_workbook``      generate one prefecture's workbook with values pre-filled;
                                   any value is written as typed (``"１，２３４"``, ``"▲5"``).
    ``edit_workbook``              change a workbook with openpyxl as a user would (the 計画
                                   sheet unprotected for the edit and protected again unless
                                   asked not to); openpyxl-saved files lose cached formula
                                   values, which is realistic.
    ``rewrite_parts``              copy a workbook with some of its XML parts rewritten (what
                                   Excel writes but no library call produces: shared formulas,
                                   phonetic runs, forged cached values, …).
    ``copy_to``                    a (renamed) copy of a file in another folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from budget.fiscal import era_code
from budget.forms import plan as layout

#: A complete 担当者 header: a file with it has no missing-contact warnings.
CONTACT: dict[str, str] = {
    "department": "福祉局 高齢者施策推進部 介護保険課",
    "contact_name": "厚労 花子",
    "phone": "03-5320-4111",
    "email": "kaigo@example.lg.jp",
}

#: Plan rows that pass every rule of domain.md §2 (A ≈ 2/3 of A+B, 公+民 = A, 受託 ≤ 民),
#: including a planned 0 (R5-02) beside blank leaves.
CLEAN_ROWS: dict[str, dict[str, Any]] = {
    "R5-01": {"national": 14316, "prefectural": 7160, "other": 500, "public": 10000,
              "private": 4316, "commissioned": 2000, "implementer": "県社会福祉協議会",
              "output": "研修受講者数 200人", "remarks": "委託"},
    "R5-02": {"national": 0, "prefectural": 0},
    "R5-06-イ": {"national": 2000, "prefectural": 1000, "private": 2000,
                "implementer": "県"},
}

#: What ``FileReport.plan`` holds for ``CLEAN_ROWS`` (other leaves: every amount <NA>, texts
#: None): total = A+B+C and fund = A+B recomputed.
CLEAN_EXPECTED: dict[str, dict[str, Any]] = {
    "R5-01": {"total": 21976, "national": 14316, "prefectural": 7160, "fund": 21476,
              "other": 500, "public": 10000, "private": 4316, "commissioned": 2000,
              "implementer": "県社会福祉協議会", "output": "研修受講者数 200人",
              "remarks": "委託"},
    "R5-02": {"total": 0, "national": 0, "prefectural": 0, "fund": 0, "other": None,
              "public": None, "private": None, "commissioned": None, "implementer": None,
              "output": None, "remarks": None},
    "R5-06-イ": {"total": 3000, "national": 2000, "prefectural": 1000, "fund": 3000,
                "other": None, "public": None, "private": 2000, "commissioned": None,
                "implementer": "県", "output": None, "remarks": None},
}


@cache
def _menu(year: int = 2023):
    from budget.menu import load_menu

    return load_menu(year)


@pytest.fixture(scope="session")
def menu():
    """The FY2023 menu (a DataFrame, one row per leaf; do not modify it)."""
    return _menu(2023)


def write_filled_workbook(tmp_path: Path, prefecture: str = "13",
                          rows: dict[str, dict[str, Any]] | None = None,
                          header: dict[str, str] | None = None, *, name: str | None = None,
                          menu=None) -> Path:
    """Write ``prefecture``'s planning workbook into ``tmp_path`` with values pre-filled.

    ``rows`` maps a leaf code to ``{column key: value}`` (None: ``CLEAN_ROWS``; ``{}``: an
    empty plan); ``header`` the contact inputs (None: ``CONTACT``; ``{}``: none). ``name`` is
    the file name (default: the generated one, ``13_東京都_R5_計画.xlsx``); ``menu`` the menu
    DataFrame (default FY2023). Returns the path.
    """
    from budget.generate import PlanValues, write_plan_workbook
    from budget.prefectures import find_prefecture

    menu = _menu(2023) if menu is None else menu
    pref = find_prefecture(prefecture)
    year = int(menu["fiscal_year"].iloc[0])
    name = name or layout.template_file_name(pref.code, pref.name_ja, era_code(year))
    Path(tmp_path).mkdir(parents=True, exist_ok=True)
    path = Path(tmp_path) / name
    rows = CLEAN_ROWS if rows is None else rows
    values = PlanValues(header=dict(CONTACT if header is None else header),
                        rows={k: dict(v) for k, v in rows.items()})
    write_plan_workbook(path, menu, pref, values=values)
    return path


@pytest.fixture
def filled_workbook() -> Callable[..., Path]:
    """``write_filled_workbook`` as a fixture (a factory: call it with ``tmp_path``)."""
    return write_filled_workbook


@pytest.fixture(scope="session")
def clean_workbook(tmp_path_factory) -> Path:
    """A clean filled workbook (Tokyo, ``CLEAN_ROWS``, ``CONTACT``). Do not modify it: copy
    it (``shutil.copy``) or use ``edit_workbook(..., out=...)``."""
    return write_filled_workbook(tmp_path_factory.mktemp("clean"))


@pytest.fixture(scope="session")
def libreoffice_clean_workbook(clean_workbook, tmp_path_factory) -> Path:
    """``clean_workbook`` saved by LibreOffice Calc (``soffice --convert-to xlsx``), made once;
    skips the test where LibreOffice is not installed."""
    from tests.libreoffice import SOFFICE, convert

    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is not installed: "
                    "apt-get install libreoffice-calc-nogui")
    return convert(clean_workbook, "xlsx:Calc MS Excel 2007 XML", tmp_path_factory.mktemp("lo"))


def edit_workbook(path: Path, edit: Callable[[Any], None], *, out: Path | None = None,
                  sheet: str | None = layout.PLAN_SHEET, protect: bool = True) -> Path:
    """Open ``path`` with openpyxl, call ``edit`` and save to ``out`` (default: in place).

    With ``sheet`` (default 計画) ``edit`` gets that worksheet, unprotected as a user must
    unprotect it to change locked cells, and protected again afterwards unless ``protect`` is
    False; with ``sheet=None`` it gets the whole openpyxl workbook.
    """
    import openpyxl

    wb = openpyxl.load_workbook(path)
    if sheet is None:
        edit(wb)
    else:
        ws = wb[sheet]
        ws.protection.sheet = False
        edit(ws)
        ws.protection.sheet = protect
    target = Path(out) if out is not None else Path(path)
    wb.save(target)
    return target


def copy_to(path: Path, folder: Path, name: str | None = None) -> Path:
    """A copy of ``path`` in ``folder`` (under ``name``: a renamed file)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (name or path.name)
    shutil.copyfile(path, target)
    return target


def rewrite_parts(path: Path, out: Path, edits: dict[str, Callable[[str], str]]) -> Path:
    """Copy the .xlsx ``path`` to ``out`` with some zip members' XML text changed:
    ``edits`` maps a member name (``"xl/worksheets/sheet2.xml"``) to a function of its text.
    Writes what Excel or a hostile sender could write that no library call produces."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        parts = {info.filename: z.read(info) for info in z.infolist()}
    missing = set(edits) - set(parts)
    if missing:
        raise KeyError(f"no such member: {sorted(missing)}")
    for name, edit in edits.items():
        parts[name] = edit(parts[name].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return Path(out)


def expected_money(row: dict, key: str) -> int | None:
    """A money column of a plan row as the workbook's formulas compute it (blanks count 0),
    written here independently of ``budget.forms.plan.row_formula_value``."""
    if key == "total":
        return sum(row.get(k) or 0 for k in ("national", "prefectural", "other"))
    if key == "fund":
        return sum(row.get(k) or 0 for k in ("national", "prefectural"))
    return row.get(key)
