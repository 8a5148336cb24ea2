"""Check a returned workbook against its form: its bytes → trusted rows + findings.

``check_bytes`` never raises for what is in the file: every problem becomes a
``budget.findings.Finding`` pointing at the workbook cell, and ``FileReport.plan`` holds the
normalised rows when the file could be read far enough. The steps:

1. triage (``budget.xlsx.container``) and reading (``budget.xlsx.reader``), sheets found by name;
2. identity, from the hidden ``_meta`` sheet: the form and stage (``budget.forms.identify``;
   a version-1 file, made before ``_meta`` named them, is the plan), template version,
   fiscal year (against ``Settings.fiscal_year``), the menu of that year and its fingerprint, the prefecture
   (against the visible header cell and every prefecture the file name names: a leading
   code, a full or short Japanese name). A wrong year, version or menu stops here: the rows
   of another template cannot be matched, so the clerk is told to refill the right one;
3. structure: rows matched by the hidden leaf code (missing, duplicate, reordered, inserted
   rows), the locked cells (leaf labels, the header block's texts, summary labels), nothing
   typed outside the form, the formulas of the formula columns and summary rows (checked as
   text, never as values), sheet protection;
4. inputs normalised cell by cell, each change a warning (full-width digits, numbers typed as
   text, surrounding spaces), blank kept apart from 0; a number shown as a date (``3/1``
   typed) is never read as an amount or a text;
5. the form's rules (the plan: domain.md §2) by its pandera schema (lazily, one pass over a
   batch), its failure cases turned into findings on the cells its row rules name.

Nothing here knows one form's shape: every cell, column and rule comes from the ``Form``.

Findings are ordered by sheet, row and column; a cell with an error shows only its errors.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from budget.attribution import file_name_prefectures
from budget.findings import CATALOG, ERROR, FileReport, Finding, make
from budget.forms import PLAN, Form
from budget.forms.base import Column, int_or_none
from budget.xlsx.reader import (
    TEXT_TYPES,
    Cell,
    ReadError,
    Sheet,
    locate_rows,
    normalise_formula,
    number_text,
)

if TYPE_CHECKING:
    import pandas as pd

#: Beyond this a typed number is not even held (its sums stay exact in Int64).
_NOT_HELD = 10**15

#: At most this many ``unexpected-cell`` findings per file (the last one counts the rest).
MAX_UNEXPECTED_CELLS = 20

#: Keys of ``_meta`` a workbook cannot be identified without.
REQUIRED_META = ("template_version", "fiscal_year", "prefecture_code", "menu_fingerprint")


@dataclass(frozen=True)
class Settings:
    #: 千円, A vs 2/3 of (A+B): a warning past it
    share_tolerance: int = PLAN.default_share_tolerance
    fiscal_year: int | None = None  # expected year (--year); None: the file's, which needs a menu
    menu_path: Path | None = None  # --menu override
    #: the form every file must be; None: the form each file's ``_meta`` names
    form: Form | None = None
    #: a received file above this many bytes is not read (stored as rejected without its
    #: bytes); None: the ``BUDGET_MAX_FILE_MB`` setting (``budget.intake.receive``), 50 MB
    max_file_bytes: int | None = None

    def file_limit(self) -> int:
        """The size limit of a received file in bytes (``UsageError`` when the environment
        setting is not a positive number)."""
        from budget.intake.receive import max_file_bytes_setting

        return self.max_file_bytes if self.max_file_bytes is not None \
            else max_file_bytes_setting()


# --- entry points ------------------------------------------------------------------------


def check_file(path: Path, settings: Settings = Settings()) -> FileReport:
    """Read ``path`` once and check it (see ``check_bytes``)."""
    return check_files([path], settings)[0]


def check_bytes(content: bytes, file_name: str, settings: Settings = Settings()) -> FileReport:
    """Check one received workbook. Never raises for what is in the file.

    Raises only for wrong *settings* (``UnknownFiscalYear``/``MenuError`` when
    ``settings.fiscal_year`` has no menu or ``settings.menu_path`` is not a valid menu).
    """
    return check_many([(content, file_name)], settings)[0]


def check_files(paths: Iterable[str | Path], settings: Settings = Settings()) -> list[FileReport]:
    """``check_file`` for several files at once (faster: see ``check_many``). Each file is
    read by ``budget.intake.receive.read_received`` (no link followed, regular files only,
    the size limit checked first): a file not read gets an ``unreadable-file`` report, one
    above the limit an ``oversized-workbook`` report with its streamed SHA-256."""
    from budget.intake.receive import read_received

    limit = settings.file_limit()
    items = [read_received(path, limit) for path in paths]
    reports = iter(check_many([(i.content, i.name) for i in items if i.content is not None],
                              settings))
    return [next(reports) if i.content is not None else unread_report(i, limit)
            for i in items]


def unread_report(item: Any, limit: int) -> FileReport:
    """The report of a received file that was not read (``receive.Received``): refused
    (``unreadable-file``), or too large (``oversized-workbook``, with its hash and size)."""
    from budget.intake.receive import too_large_detail

    report = FileReport(item.name, item.sha256 or "", item.size or 0)
    if item.too_large:
        report.findings.append(make("oversized-workbook", file=item.name,
                                    detail=too_large_detail(item.size or 0, limit)))
    elif item.special:
        report.findings.append(make("not-a-regular-file", file=item.name, detail=item.refused))
    else:
        report.findings.append(make("unreadable-file", file=item.name, detail=item.refused))
    return report


def check_many(files: Iterable[tuple[bytes, str]],
               settings: Settings = Settings()) -> list[FileReport]:
    """Check several received workbooks (``(content, file name)`` pairs), one report each,
    exactly as ``check_bytes`` would. The plan rules run in one pandera pass over every
    file's rows: pandera's cost is per call, not per row (≈10 ms a call), so a batch of 47
    pays it once.

    Raises ``UnsafeEnvironment`` before reading anything if defusedxml does not refuse XML
    entity expansion in this process."""
    from budget.xlsx.container import ensure_defused

    ensure_defused(openpyxl=False)  # once per process; ~0.1 ms
    expected_menu = _settings_menu(settings)
    checks: list[_Check] = []
    menus: dict[int, MenuInfo] = {}  # the shipped menus the batch's files named, by year
    with _collector_paused():
        for content, file_name in files:
            report = FileReport(file_name, hashlib.sha256(content).hexdigest(), len(content))
            check = _Check(report, settings, expected_menu, menus)
            check.guarded(check.run, content)
            checks.append(check)
        _apply_rules([c for c in checks if c.pending is not None], settings)
        for check in checks:
            check.finish()
    return [c.report for c in checks]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a batch is checked, back as it was after. Reading
    a workbook makes ~1,000 cells and ~3,000 XML elements, none in a cycle (reference
    counting frees them), yet each ~700 allocations start a collection: ~15 % of a check's
    CPU. What cycles a batch makes are collected once it is on again."""
    import gc

    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _apply_rules(checks: list[_Check], settings: Settings) -> None:
    """Run each form's schema once over the rows of the ``checks`` of that form and hand each
    check its failure cases (a form without a schema has no rules beyond the cells'). The
    rows of a form's checks become one frame (``plan_frame`` once: building a frame costs
    ~1 ms whatever its rows), each check's plan a slice of it."""
    by_form: dict[Form, list[_Check]] = {}
    for check in checks:
        by_form.setdefault(check.form, []).append(check)
    for form, group in by_form.items():
        try:
            combined = _batch_frame(form, group)
        except Exception as exc:  # noqa: BLE001 - a bug here must not lose a batch
            if len(group) > 1:  # one file's rows: each file alone, the failure stays with it
                for check in group:
                    _apply_rules([check], settings)
            else:
                group[0].guarded(_raise, exc)
            continue
        if form.schema is None:
            for check in group:
                check.guarded(check.rule_findings, None)
        else:
            _apply_schema(form.schema(settings.share_tolerance), group, combined)


def _batch_frame(form: Form, checks: list[_Check]) -> pd.DataFrame:
    """Every check's rows as one frame (``plan_frame``); each check's ``pending.plan`` is its
    part, indexed from 0 (the frame itself when there is one check)."""
    pendings = [c.pending for c in checks if c.pending is not None]
    combined = plan_frame([r for p in pendings for r in p.records], form)
    if len(pendings) == 1:
        pendings[0].plan = combined
        return combined
    start = 0
    for pending in pendings:
        end = start + len(pending.records)
        pending.plan = combined.iloc[start:end].reset_index(drop=True)
        start = end
    return combined


def _apply_schema(schema: Any, checks: list[_Check], combined: pd.DataFrame) -> None:
    """Validate ``combined`` (the rows of ``checks``, in order) in one pandera pass and hand
    each check its own failure cases, indexed like its plan (None when it has none)."""
    import numpy as np
    import pandas as pd
    import pandera.errors

    offsets = [0]
    for check in checks:
        offsets.append(offsets[-1] + (len(check.pending.records) if check.pending else 0))
    try:
        schema.validate(combined, lazy=True)
        cases = None
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    except Exception as exc:  # noqa: BLE001 - a bug here must not lose a batch
        for check in checks:
            check.guarded(_raise, exc)
        return
    parts: dict[int, pd.DataFrame] = {}
    if cases is not None:
        index = pd.to_numeric(cases["index"], errors="coerce")
        if index.isna().any():  # a bug
            first = cases[index.isna()].iloc[0].to_dict()
            bug = RuntimeError(f"schema failure without a row: {first}")
            for check in checks:
                check.guarded(_raise, bug)
            return
        owner = np.searchsorted(np.asarray(offsets), index.to_numpy(), side="right") - 1
        for i, part in cases.groupby(owner, sort=False):
            part = part.copy()
            part["index"] = (index[part.index] - offsets[int(i)]).astype(int)
            parts[int(i)] = part
    for i, check in enumerate(checks):
        check.guarded(check.rule_findings, parts.get(i))


def _raise(exc: BaseException) -> None:
    raise exc


# --- the menu a file is checked against ----------------------------------------------------


@dataclass(frozen=True)
class MenuInfo:
    """What validation needs of a menu, computed once per menu file."""

    fiscal_year: int
    codes: tuple[str, ...]  # leaf codes in menu order
    names: dict[str, str]  # leaf code → "事業名 イ 細目名"
    labels: dict[str, dict[str, str]]  # leaf code → label key → text a locked cell shows
    fingerprint: str
    categories: tuple[str, ...]  # 大項目 in order (one subtotal row each)
    #: earlier editions still read: fingerprint → their ``labels`` (``menu.earlier_editions``)
    earlier: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)


def _settings_menu(settings: Settings) -> MenuInfo | None:
    """The menu the settings name (--menu, or --year's shipped one), else None."""
    if settings.menu_path is not None:
        info = _menu_info(None, str(settings.menu_path), _mtime(settings.menu_path))
        if settings.fiscal_year is not None and info.fiscal_year != settings.fiscal_year:
            from budget.errors import MenuError

            raise MenuError(f"メニューファイル {Path(settings.menu_path).name} は "
                            f"{info.fiscal_year} 年度のものです"
                            f"（指定は {settings.fiscal_year} 年度）。")
        return info
    if settings.fiscal_year is not None:
        return shipped_menu(settings.fiscal_year)
    return None


def shipped_menu(year: int) -> MenuInfo:
    """The shipped menu of ``year`` (raises ``UnknownFiscalYear`` when there is none)."""
    from budget.menu import menu_path

    path = menu_path(year)
    return _menu_info(year, str(path), _mtime(path))


def _mtime(path: str | Path) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


@lru_cache(maxsize=16)
def _menu_info(year: int | None, path: str, mtime: int) -> MenuInfo:
    from budget.menu import earlier_editions, load_menu, menu_fingerprint, menu_leaves

    menu = load_menu(year, path)
    leaves = menu_leaves(menu)
    earlier = {fp: {leaf.leaf_code: {k: _label_text(v) for k, v in leaf.displayed().items()}
                    for leaf in menu_leaves(edition)}
               for fp, edition in earlier_editions(menu).items()}
    return MenuInfo(
        fiscal_year=int(menu["fiscal_year"].iloc[0]),
        codes=tuple(leaf.leaf_code for leaf in leaves),
        names={leaf.leaf_code: f"{leaf.item_name} {leaf.sub_item_label}".strip()
               for leaf in leaves},
        labels={leaf.leaf_code: {k: _label_text(v) for k, v in leaf.displayed().items()}
                for leaf in leaves},
        fingerprint=menu_fingerprint(menu),
        categories=tuple(dict.fromkeys(leaf.category for leaf in leaves)),
        earlier=earlier,
    )


def _label_text(value: object) -> str:
    return "" if value is None else str(value)


@lru_cache(maxsize=8)
def prefecture_menu(year: int) -> MenuInfo:
    """The rows of a form whose rows are the 47 prefectures (the 内示), as a ``MenuInfo``:
    codes "01"…"47", each labelled 「01 北海道」, a grand total only."""
    from budget.forms.allocation import prefecture_fingerprint, prefecture_rows

    rows = prefecture_rows()
    return MenuInfo(
        fiscal_year=year,
        codes=tuple(r.leaf_code for r in rows),
        names={r.leaf_code: r.label.split(" ", 1)[-1] for r in rows},
        labels={r.leaf_code: {"prefecture": r.label} for r in rows},
        fingerprint=prefecture_fingerprint(),
        categories=(),
    )




@lru_cache(maxsize=32)
def form_texts(form: Form, year: int) -> dict[str, str]:
    """Every fixed text above the form's table (cell → text), except the year and prefecture
    cells (``identify`` checks those): ``Form.fixed_texts``, the one definition ``generate``
    writes from."""
    from budget.fiscal import full_label

    return form.fixed_texts(full_label(year))


# --- normalising what people type ----------------------------------------------------------
Issue = tuple[str, dict[str, Any]]  # (finding code, message params)

_FULLWIDTH = str.maketrans("０１２３４５６７８９，．", "0123456789,.")
_NEGATIVE = re.compile(r"^[▲△\-−－ー‐‑–—―﹣]\s*(.*)$", re.DOTALL)
_NUMBER = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")


def cell_text(cell: Cell | None) -> str | None:
    """The value of a cell as the sender sees it (a formula as ``=…``), None when empty."""
    if cell is None:
        return None
    if cell.formula is not None:
        return "=" + cell.formula
    if cell.value is None:
        return None
    if cell.type == "n":
        return number_text(cell.value)
    if cell.type == "b":
        return "TRUE" if cell.value.strip() in ("1", "true") else "FALSE"
    return cell.value


def normalise_amount(cell: Cell | None, is_date: bool = False) -> tuple[int | None, list[Issue]]:
    """An amount input cell → (whole number or None, issues).

    None is blank (or unusable, with an error issue). Negative numbers and numbers past
    ``MAX_AMOUNT`` are returned as they are: the plan rules reject them. Conversions are
    warnings: text that reads as a number (``text-number``, ``fullwidth-number``), spaces
    around it (``surrounding-space``). ``is_date`` (``Sheet.is_date``): the cell holds a date
    (``3/1`` typed, stored as the serial number 46082 shown as a date), an error.
    """
    if cell is None or cell.is_empty:
        return None, []
    if cell.formula is not None:
        return None, [("formula-in-input", {})]
    if is_date:
        return None, [("date-in-amount", {})]
    if cell.type == "n":
        return _whole(cell.value or "")
    if not cell.is_text:  # boolean, error value, date
        return None, [("not-a-number", {})]
    issues: list[Issue] = []
    text = cell.value or ""
    stripped = text.strip()
    if stripped != text:
        issues.append(("surrounding-space", {}))
    if not stripped:
        return None, issues
    half = stripped.translate(_FULLWIDTH)
    kind = "fullwidth-number" if half != stripped else "text-number"
    sign = ""
    m = _NEGATIVE.match(half)
    if m:
        sign, half = "-", m.group(1).strip()
    if not _NUMBER.match(half):
        return None, [("not-a-number", {})]
    value, errors = _whole(sign + half.replace(",", ""))
    if errors or value is None:
        return value, errors
    if value >= 0:  # a negative is an error of the plan rules: nothing to warn about
        issues.append((kind, {"normalised": value}))
    return value, issues


def reference_value(cell: Cell | None) -> tuple[int | None, bool]:
    """A reference cell's value as the workbook was generated with it: (whole number or
    None when empty, True), or (None, False) when it holds anything else (text, a formula,
    a fraction): such a cell was edited."""
    if cell is None or cell.is_empty:
        return None, True
    if cell.formula is None and cell.type == "n":
        value, errors = _whole(cell.value or "")
        if not errors:
            return value, True
    return None, False


def _whole(text: str) -> tuple[int | None, list[Issue]]:
    """A number's text → (whole number, []) or (None, [error])."""
    if len(text) < 16 and text.isascii() and text.isdigit():  # most cells: "29117"
        return int(text), []
    try:
        d = Decimal(text.strip())
    except InvalidOperation:
        return None, [("not-a-number", {})]
    if not d.is_finite():
        return None, [("not-a-number", {})]
    if abs(d) >= _NOT_HELD:
        return None, [("amount-too-large", {})]
    if d != d.to_integral_value():
        return None, [("fractional-amount", {})]
    return int(d), []


#: Control characters a text input must not hold: C0 but tab, newline and carriage return,
#: DEL, C1 (also what SpreadsheetML's ``_x0000_``-style escapes decode to: the reader
#: unescapes them). They would reach CSV, JSON and terminals raw.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_characters(text: str) -> list[str]:
    """The distinct control characters of ``text`` (``_CONTROL``), as ``U+001B``."""
    return list(dict.fromkeys(f"U+{ord(ch):04X}" for ch in _CONTROL.findall(text)))


def visible(text: str | None) -> str | None:
    """``text`` with every control character written ``\\x1b``: safe to show and store."""
    if text is None or not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def normalise_text(cell: Cell | None, is_date: bool = False) -> tuple[str | None, list[Issue]]:
    """A text input cell → (text or None, issues). A number becomes its text; surrounding
    spaces are removed (warning); text that a spreadsheet would run as a formula is kept as
    text (warning); a control character (``_CONTROL``) makes the cell unusable (error).
    ``is_date`` (``Sheet.is_date``): the spreadsheet turned what was typed into a date (a
    phone number or ``3-1`` stored as the serial 46082): not read, a warning."""
    from budget.textsafe import is_formula_like

    if cell is None or cell.is_empty:
        return None, []
    if cell.formula is not None:
        return None, [("formula-in-input", {})]
    if is_date:
        return None, [("date-in-text", {})]
    text = cell_text(cell) or ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    controls = control_characters(text)
    if controls:
        return None, [("control-character", {"characters": "、".join(controls[:5])})]
    issues: list[Issue] = []
    stripped = text.strip()
    if stripped != text:
        issues.append(("surrounding-space", {}))
    if not stripped:
        return None, issues
    if is_formula_like(stripped):
        issues.append(("leading-formula-character", {}))
    return stripped, issues


# --- one file ---------------------------------------------------------------------------


class _Where(TypedDict):
    """Where a finding points: a sheet and a cell."""

    sheet: str
    cell: str


class _Check:
    """The checks of one file; collects findings and fills the report."""

    def __init__(self, report: FileReport, settings: Settings, menu: MenuInfo | None,
                 menus: dict[int, MenuInfo] | None = None) -> None:
        self.report = report
        self.settings = settings
        self.expected_menu = menu
        #: the shipped menus found so far, by year (shared by a batch: looked up once)
        self.menus: dict[int, MenuInfo] = {} if menus is None else menus
        self.findings: list[Finding] = []
        #: the form the file is checked against (``settings.form``, else what ``_meta`` names)
        self.form: Form = settings.form or PLAN
        self.sheet_order: dict[str, int] = {self.form.main_sheet: 0}
        self.pending: _Pending | None = None  # the plan, waiting for the rules
        self.has_plan = False  # the workbook has a 計画 sheet
        self.meta_rows: dict[str, int] = {}  # _meta key → its row
        self.failed = False

    def guarded(self, step, *args) -> None:
        """Run one step; what the file makes it raise becomes a finding, never an exception."""
        if self.failed:
            return
        try:
            step(*args)
        except ReadError as exc:
            self.failed = True
            self.add("corrupt-workbook", detail=exc.detail)
        except Exception as exc:  # noqa: BLE001 - a file must never stop a batch
            self.failed = True
            self.add("internal-error", detail=f"{type(exc).__name__}: {str(exc)[:120]}")

    def finish(self) -> None:
        """Set the plan (when every leaf was matched and the rules ran) and order findings."""
        pending = self.pending
        if pending is not None and pending.complete and pending.ruled:  # amounts in 円?
            self.guarded(self.plausibility, pending)
        ok = pending is not None and pending.complete and pending.ruled and not self.failed
        self.report.plan = pending.plan if ok and pending is not None else None
        self.report.findings = _ordered(self.findings, self.sheet_order)

    def add(self, code: str, *, sheet: str | None = None, cell: str | None = None,
            leaf: str | None = None, value: object = None, menu: MenuInfo | None = None,
            **params: object) -> None:
        name = menu.names.get(leaf) if (menu and leaf) else None
        self.findings.append(make(code, file=self.report.file, sheet=sheet, cell=cell,
                                  leaf_code=leaf, leaf_name=name, value=value, **params))

    def header_cell(self, ref: str, meta_key: str) -> _Where:
        """Where a finding about the 計画 sheet's header points: the cell, when the sheet is
        there, else the value of ``meta_key`` in ``_meta``."""
        if self.has_plan:
            return {"sheet": self.form.main_sheet, "cell": ref}
        return self.meta_cell(meta_key)

    def meta_cell(self, key: str) -> _Where:
        """The ``_meta`` cell holding ``key``'s value (column B of the key's row)."""
        row = self.meta_rows.get(key) or self.form.meta_keys.index(key) + 1
        return {"sheet": self.form.meta_sheet, "cell": f"B{row}"}

    # -- the steps ------------------------------------------------------------------------

    def run(self, content: bytes) -> None:
        from budget.xlsx.container import inspect_container
        from budget.xlsx.reader import read_workbook

        report = self.report
        container, found = inspect_container(content, report.file)
        self.findings.extend(found)
        if container is None:
            return
        report.saved_at = container.last_saved()
        self.recognise_return_copy(container)
        self.sheet_order = {name: i for i, name in enumerate(container.sheets)}
        if self.form.meta_sheet not in container.sheets:
            self.add("not-a-budget-workbook",
                     detail=f"様式の識別情報（「{self.form.meta_sheet}」シート）がありません")
            return
        wb = read_workbook(container)  # the main sheet of the form _meta names
        if not self.identify_form(wb.meta or {}, wb.form or self.form):
            return
        self.has_plan = wb.plan is not None
        self.meta_rows = wb.meta_rows
        menu = self.identify(wb.meta or {}, wb.plan)
        if menu is None:
            return
        if wb.plan is None:
            self.add("missing-sheet", sheet_name=self.form.main_sheet)
            return
        self.check_plan(wb.plan, menu)

    def recognise_return_copy(self, container: Any) -> None:
        """A return copy of ours sent back (``budget.intake.returned``): the report takes the
        plan's own name (``received_as`` keeps the name it came under). Its additions (the
        list sheet, fills, comments) are never read by the checks."""
        from dataclasses import replace

        from budget.intake.returned import origin_name

        report = self.report
        origin = origin_name(container, report.file)
        if origin is None or origin == report.file:
            return
        old, report.received_as, report.file = report.file, report.file, origin
        self.findings = [replace(f, file=origin, message=(
            origin + f.message[len(old):] if f.message.startswith(f"{old}: ") else f.message))
            for f in self.findings]

    def identify_form(self, meta: dict[str, str], found: Form) -> bool:
        """Whether the file can be checked as ``found``, the form its ``_meta`` names (a
        version-1 file names none: the plan), which must be ``settings.form`` when that is
        set. Sets the report's form and stage."""
        from budget.forms import registered

        kind = (meta.get("form") or "").strip()
        if kind and kind not in {f.kind for f in registered()}:
            self.add("not-a-budget-workbook", sheet=self.form.meta_sheet, value=kind,
                     detail=f"様式の種類「{kind[:20]}」を認識できません")
            return False
        expected = self.settings.form
        if expected is not None and found is not expected:
            self.add("wrong-form", sheet=self.form.meta_sheet, value=kind or found.kind,
                     found=found.stage_label, expected=expected.stage_label)
            return False
        self.form = found
        self.sheet_order.setdefault(found.main_sheet, len(self.sheet_order))
        self.report.form, self.report.stage = found.kind, found.stage
        return True

    def identify(self, meta: dict[str, str], plan: Sheet | None) -> MenuInfo | None:
        """Who sent what: set the report's identity; the menu to check against, or None
        when the file cannot be checked further."""
        report, settings = self.report, self.settings
        P = self.form.main_sheet
        missing = [k for k in REQUIRED_META if not meta.get(k)
                   and (k != "prefecture_code" or self.form.per_prefecture)]
        if missing:
            self.add("not-a-budget-workbook", sheet=self.form.meta_sheet,
                     detail=f"様式の識別情報（{', '.join(missing)}）がありません")
            return None
        try:
            year = int(meta["fiscal_year"])
        except ValueError:
            self.add("not-a-budget-workbook", sheet=self.form.meta_sheet, value=meta["fiscal_year"],
                     detail=f"年度「{meta['fiscal_year'][:20]}」を読み取れません")
            return None
        report.fiscal_year = year
        report.template_version = meta["template_version"]
        report.menu_fingerprint = meta["menu_fingerprint"]
        if self.form.per_prefecture:
            self.identify_prefecture(meta["prefecture_code"], plan)

        from budget.fiscal import full_label

        versions = (self.form.template_version, *self.form.older_versions) if meta.get("form") \
            else self.form.accepted_versions
        if report.template_version not in versions:
            self.add("old-template-version", **self.meta_cell("template_version"),
                     value=report.template_version, found=report.template_version,
                     expected=self.form.template_version)
            return None
        menu = self.expected_menu
        expected_year = settings.fiscal_year or (menu.fiscal_year if menu else None)
        if expected_year is not None and year != expected_year:
            self.add("wrong-fiscal-year", **self.header_cell(self.form.year_cell, "fiscal_year"),
                     value=year, expected=_year_label(expected_year), found=_year_label(year))
            return None
        if self.form.rows_from == "prefectures":
            menu = prefecture_menu(year)
        if menu is None:
            from budget.errors import UnknownFiscalYear
            from budget.fiscal import era_code
            from budget.menu import shipped_menu_years

            try:
                menu = self.menus.get(year) or self.menus.setdefault(year, shipped_menu(year))
            except UnknownFiscalYear:
                known = "、".join(full_label(y) for y in shipped_menu_years()) or "なし"
                self.add("no-menu-for-year", **self.header_cell(self.form.year_cell, "fiscal_year"),
                         value=era_code(year), found=_year_label(year), known=known)
                return None
        if report.menu_fingerprint not in (menu.fingerprint, *menu.earlier):
            self.add("menu-mismatch", **self.meta_cell("menu_fingerprint"),
                     value=report.menu_fingerprint)
            return None
        if plan is not None:
            seen = cell_text(plan.cell(self.form.year_cell)) or ""
            if seen != full_label(year):
                self.add("locked-cell-changed", sheet=P, cell=self.form.year_cell, value=seen,
                         expected=full_label(year))
        if not self.identify_stage(meta, plan, year):
            return None
        return menu

    def identify_stage(self, meta: dict[str, str], plan: Sheet | None, year: int) -> bool:
        """The stage's own ``_meta`` values (the 内示's round, the 実績's execution year, the
        reference columns' sources) into ``report.header``, and the locked cells showing
        them; False when one cannot be read."""
        for key in self.form.header_meta:
            value = (meta.get(key) or "").strip()
            if key in ("round", "exec_year"):
                number = int(value) if value.isdigit() else None
                if number is None or number < 1 or (key == "exec_year" and number < year):
                    self.add("not-a-budget-workbook", **self.meta_cell(key), value=value,
                             detail=f"様式の識別情報（{key}）「{value[:20]}」を読み取れません")
                    return False
            if value:
                self.report.header[key] = value
        if plan is not None:
            for m in self.form.meta_cells:
                expected = self.form.meta_cell_text(m.key, (meta.get(m.key) or "").strip())
                seen = cell_text(plan.cell(m.value_cell)) or ""
                if seen != expected:
                    self.add("locked-cell-changed", sheet=self.form.main_sheet,
                             cell=m.value_cell, value=seen, expected=expected)
        return True

    def identify_prefecture(self, code: str, plan: Sheet | None) -> None:
        from budget.prefectures import prefecture_by_code

        P = self.form.main_sheet
        code = code.strip()
        if code.isdigit() and len(code) == 1:  # a retyped "01" that became the number 1
            code = "0" + code
        pref = prefecture_by_code(code)
        if pref is None:
            self.add("unknown-prefecture",
                     **self.header_cell(self.form.prefecture_cell, "prefecture_code"), value=code)
            return
        self.report.prefecture_code = pref.code
        if plan is not None:
            seen = cell_text(plan.cell(self.form.prefecture_cell)) or ""
            m = re.match(r"^\s*(\d{1,2})(?!\d)", _halfwidth(seen))
            if m and m.group(1).zfill(2) != pref.code:
                shown = prefecture_by_code(m.group(1).zfill(2))
                self.add("prefecture-mismatch", sheet=P, cell=self.form.prefecture_cell, value=seen,
                         detail=f"シートの表示は「{seen}」ですが、様式は {pref.label} のものです"
                         + ("" if shown else "（表示のコードは不明）"))
            elif seen != pref.label:
                self.add("locked-cell-changed", sheet=P, cell=self.form.prefecture_cell, value=seen,
                         expected=pref.label)
        other = None
        for name in filter(None, (self.report.file, self.report.received_as)):
            named = file_name_prefectures(name)
            if pref.code in named:  # its own name: a short name beside it is rather a surname
                named = file_name_prefectures(name, short_names=False)  # (山口修正)
            other = other or next((c for c in named if c != pref.code), None)
        if other is not None:
            shown = prefecture_by_code(other)
            self.add("prefecture-mismatch",
                     **self.header_cell(self.form.prefecture_cell, "prefecture_code"),
                     value=self.report.file,
                     detail=f"ファイル名は {shown.label if shown else other} を示していますが、"
                     f"様式は {pref.label} のものです")

    def check_plan(self, sheet: Sheet, menu: MenuInfo) -> None:
        P = self.form.main_sheet
        if not sheet.protected:
            self.add("sheet-unprotected", sheet=P, sheet_name=P)
        self.check_header(sheet)
        rows = locate_rows(sheet, menu.codes, self.form)
        structure_ok = self.check_rows(rows, menu)
        self.check_form(sheet, menu, rows)
        self.check_merges(sheet, menu, rows)
        self.check_labels(sheet, menu, rows)
        if structure_ok:
            self.check_formulas(sheet, menu, rows)
        self.check_inputs(sheet, menu, rows, complete=structure_ok or self._matchable(rows, menu))

    def check_header(self, sheet: Sheet) -> None:
        P = self.form.main_sheet
        for h in self.form.header_inputs:
            key, ref, max_length = h.key, h.input_cell, h.max_length
            cell = sheet.cell(ref)
            text, issues = normalise_text(cell, sheet.is_date(cell))
            for code, params in issues:
                self.add(code, sheet=P, cell=ref, value=visible(cell_text(cell)), **params)
            if text is None:
                if not any(code in _UNREAD for code, _ in issues):
                    self.add("missing-contact", sheet=P, cell=ref)
                continue
            if len(text) > max_length:
                self.add("text-too-long", sheet=P, cell=ref, value=text, length=len(text),
                         max_length=max_length)
            self.report.header[key] = text

    def check_rows(self, rows, menu: MenuInfo) -> bool:
        """Missing, duplicate, reordered and inserted rows; True when there are none."""
        P = self.form.main_sheet
        A = self.form.columns[0].letter
        ok = True
        if rows.header_row is not None and rows.header_row != self.form.header_row:
            ok = False
            self.add("rows-shifted", sheet=P, cell=f"{A}{rows.header_row}",
                     found=rows.header_row, expected=self.form.header_row)
        present = [c for c in menu.codes if rows.leaf_rows.get(c)]
        for code, template_row in zip(menu.codes, self.form.leaf_rows(len(menu.codes))):
            found = rows.leaf_rows.get(code, [])
            if not found:  # pointed at where the template has it
                ok = False
                self.add("missing-row", sheet=P, cell=f"{A}{template_row}", leaf=code,
                         menu=menu)
            for row in found[1:]:
                ok = False
                self.add("duplicate-row", sheet=P, cell=f"{A}{row}", leaf=code, menu=menu,
                         value=code)
        by_row = sorted(present, key=lambda c: rows.leaf_rows[c][0])
        for want, got in zip(present, by_row):
            if want != got:
                ok = False
                self.add("reordered-rows", sheet=P, cell=f"{A}{rows.leaf_rows[got][0]}",
                         leaf=got, menu=menu, value=got)
        for row, code in rows.inserted:
            ok = False
            self.add("inserted-row", sheet=P, cell=f"{A}{row}", value=code)
        return ok

    @staticmethod
    def _matchable(rows, menu: MenuInfo) -> bool:
        """Every leaf on exactly one row (the plan can be built, even if rows moved)."""
        return all(len(rows.leaf_rows.get(c, ())) == 1 for c in menu.codes)

    def check_form(self, sheet: Sheet, menu: MenuInfo, rows) -> None:
        """The locked cells outside the leaf rows: the header block's texts (title, labels,
        the two header rows), the summary rows' labels, and nothing typed outside the form
        (beside or below the table, right of the code column).

        Leaf rows' labels, formulas and inputs, the year and prefecture cells and the rows
        the template does not have are checked elsewhere. A merged range's hidden cells hold
        nothing (Excel, LibreOffice and openpyxl write them empty), so they count as blank.
        """
        P = self.form.main_sheet
        code_col = self.form.code_column.col_index
        in_place = rows.header_row in (None, self.form.header_row)
        # Rows inserted above the table (rows-shifted) move the whole header block: its
        # cells are not compared where they no longer are.
        top = self.form.header_row if in_place else rows.header_row
        texts = _header_layout(self.form, menu.fiscal_year)
        cells, fast = sheet.cells, _FAST_PATHS
        if in_place:
            for ref, place, text in texts.expected:
                if not (fast and _shows(cells.get(place), text)):
                    self._locked_text(sheet, ref, text)
        expected = texts.places if in_place else frozenset()
        summary = {r: code for code, found in rows.summary_rows.items() for r in found}
        label_col = self.form.column[self.form.label_keys[0]]
        for row, code in summary.items():
            text = self.form.summary_label(code)
            if not (fast and _shows(cells.get((row, label_col.col_index)), text)):
                self._locked_text(sheet, label_col.ref(row), text)
        summary_cols = {label_col.col_index, code_col,
                        *(self.form.column[k].col_index for k in self.form.summed_keys)}
        leaf_rows = {r for found in rows.leaf_rows.values() for r in found}
        inserted = {r for r, _ in rows.inserted}
        outside: list[Cell] = []
        for (row, col), cell in sheet.cells.items():
            if row in leaf_rows:
                if col <= code_col:
                    continue  # labels, formulas, inputs and code: checked cell by cell
            elif row in summary:
                if col in summary_cols:
                    continue
            elif row <= top:
                if not in_place or (row, col) in expected or (row, col) in texts.elsewhere:
                    continue
            elif row in inserted:
                continue  # the row itself is the finding
            # else: the blank row above the totals, rows below them
            if not cell.is_empty:
                outside.append(cell)
        outside.sort(key=lambda c: (c.row, c.col))
        for i, cell in enumerate(outside[:MAX_UNEXPECTED_CELLS]):
            rest = len(outside) - MAX_UNEXPECTED_CELLS
            more = (f"（ほかに様式の外の {rest} セルにも入力があります）"
                    if i == MAX_UNEXPECTED_CELLS - 1 and rest > 0 else "")
            self.add("unexpected-cell", sheet=P, cell=cell.ref, value=cell_text(cell), more=more)

    def check_merges(self, sheet: Sheet, menu: MenuInfo, rows) -> None:
        """A merged range touching the form's cells (the header block's texts and inputs,
        every cell of the header, leaf and summary rows up to the code column) is an error
        naming the range, unless the template has it (title, header, summary labels): a
        merge hides all but its first cell (Excel drops what the others held, or keeps a
        value nobody sees)."""
        if not sheet.merged:
            return
        from budget.xlsx.reader import range_ref

        form = self.form
        P = form.main_sheet
        code_col = form.code_column.col_index
        label_col = form.column[form.label_keys[-1]].col_index
        shift = (rows.header_row or form.header_row) - form.header_row
        allowed = _template_merges(form, shift)  # the title, the header's, the inputs'
        summary_merges = {(r, form.columns[0].col_index, r, label_col)
                          for found in rows.summary_rows.values() for r in found}
        odd = [m for m in sheet.merged if m not in allowed and m not in summary_merges]
        if not odd:  # the template's merges only (every returned copy)
            return
        table_rows = {r for found in rows.leaf_rows.values() for r in found}
        table_rows |= {r for found in rows.summary_rows.values() for r in found}
        table_rows |= {form.group_header_row + shift, form.header_row + shift}
        cells = _form_cell_places(form, menu.fiscal_year)
        bad = []
        for merged in odd:
            r1, c1, r2, c2 = merged
            touches = any(r1 <= r <= r2 and c1 <= c <= c2 for r, c in cells) or (
                c1 <= code_col and any(r1 <= r <= r2 for r in table_rows))
            if touches:
                bad.append(merged)
        for merged in bad[:MAX_UNEXPECTED_CELLS]:
            ref = range_ref(merged)
            self.add("merged-cells", sheet=P, cell=ref.split(":")[0], value=ref,
                     range=f"{P}!{ref}")

    def _locked_text(self, sheet: Sheet, ref: str, expected: str) -> None:
        seen = (cell_text(sheet.cell(ref)) or "").replace("\r\n", "\n")
        if seen != expected:
            self.add("locked-cell-changed", sheet=self.form.main_sheet, cell=ref, value=seen,
                     expected=expected)

    def check_labels(self, sheet: Sheet, menu: MenuInfo, rows) -> None:
        """The locked label cells of every leaf row, as the menu edition the workbook was
        made from shows them."""
        labels = menu.earlier.get(self.report.menu_fingerprint or "", menu.labels)
        expected_by_code = _label_layout(self.form, labels)
        cells, fast = sheet.cells, _FAST_PATHS
        for code in menu.codes:
            row = rows.first_row(code)
            if row is None:
                continue
            for col, column, expected, as_text, as_number in expected_by_code[code]:
                cell = cells.get((row, col))
                if fast:  # shown as the template has it: a text, or a number (No.)
                    if cell is None:
                        if expected == "":
                            continue
                    elif cell.formula is None and (
                            cell.value == as_text and cell.type not in _NOT_AS_STORED
                            or cell.value == as_number and cell.type == "n"):
                        continue
                seen = (cell_text(cell) or "").replace("\r\n", "\n")
                if seen != expected:
                    self.add("locked-cell-changed", sheet=self.form.main_sheet,
                             cell=column.ref(row), leaf=code, menu=menu, value=seen,
                             expected=expected)

    def check_formulas(self, sheet: Sheet, menu: MenuInfo, rows) -> None:
        """Formula cells must hold the template's formula (as text; results are never read)."""
        form = self.form
        n = len(menu.codes)
        cells, fast = sheet.cells, _FAST_PATHS
        for code in menu.codes:
            row = rows.leaf_rows[code][0]
            for col, col_index, expected, stored in _row_formulas(form, row):
                if fast:
                    cell = cells.get((row, col_index))
                    if cell is not None and cell.formula == stored:
                        continue  # as written (normalising it changes nothing)
                self._formula(sheet, col, row, expected, code, menu)
        template_rows = _summary_rows(form, n, menu.categories)
        for code, formulas in _summary_formulas(form, n, menu.categories):
            found = rows.summary_rows.get(code)
            if not found:  # pointed at where the template has it
                self.findings.append(make(
                    "missing-row", file=self.report.file, sheet=form.main_sheet,
                    cell=f"{form.columns[0].letter}{template_rows[code]}",
                    leaf_name=form.summary_label(code)))
                continue
            for col, col_index, expected, stored in formulas:
                if fast:
                    cell = cells.get((found[0], col_index))
                    if cell is not None and cell.formula == stored:
                        continue
                self._formula(sheet, col, found[0], expected, None, menu)

    def _formula(self, sheet: Sheet, col: Column, row: int, expected: str,
                 leaf: str | None, menu: MenuInfo) -> None:
        cell = sheet.column(col, row)
        seen = None if cell is None else cell.formula
        if normalise_formula(seen) != normalise_formula(expected):
            self.add("formula-changed", sheet=self.form.main_sheet, cell=col.ref(row), leaf=leaf,
                     menu=menu, value=cell_text(cell) or "（空欄）", expected=expected)

    def check_inputs(self, sheet: Sheet, menu: MenuInfo, rows, complete: bool) -> None:
        """Normalise every input cell of the leaf rows, build the plan, run the rules.

        A blank cell, a whole number typed as one, a text without anything to change pass
        the fast path; any other cell the general one (``normalise_amount``,
        ``normalise_text``), which says what it changed or could not read."""
        from budget.textsafe import FORMULA_LEADS

        P = self.form.main_sheet
        layout = _input_layout(self.form)
        cells, styles, dates = sheet.cells, sheet.number_styles, sheet.date_styles
        fast = _FAST_PATHS
        records: list[dict[str, Any]] = []
        #: (plan index, key) → text seen, of the cells the general path read (the fast path's
        #: text is its value's: ``_Pending.seen``)
        raw: dict[tuple[int, str], str | None] = {}
        bad: set[tuple[int, str]] = set()  # cells with an error (rules involving them skip)
        any_amount = False
        for code in menu.codes:
            row = rows.first_row(code)
            if row is None:
                continue
            i = len(records)
            rec: dict[str, Any] = {"leaf_code": code, "excel_row": row}
            for key, col, column in layout.amounts:
                cell = cells.get((row, col))
                if fast:
                    if cell is None:
                        rec[key] = None
                        continue
                    text = cell.value
                    if (cell.formula is None and cell.type == "n" and text
                            and len(text) < 16 and text.isascii() and text.isdigit()
                            and (not dates or styles.get((row, col)) not in dates)):  # "29117"
                        rec[key] = int(text)
                        any_amount = True
                        continue
                value, issues = normalise_amount(cell, sheet.is_date(cell))
                raw[(i, key)] = text = cell_text(cell)
                any_amount = any_amount or value is not None or any(
                    _severity(issue) == ERROR for issue, _ in issues)
                for issue, params in issues:
                    if _severity(issue) == ERROR:
                        bad.add((i, key))
                    self.add(issue, sheet=P, cell=column.ref(row), leaf=code, menu=menu,
                             value=text, **params)
                rec[key] = value
            for key, col, column in layout.texts:
                cell = cells.get((row, col))
                if fast:
                    if cell is None:
                        rec[key] = None
                        continue
                    text = cell.value
                    if (cell.formula is None and cell.type in TEXT_TYPES and text
                            and text.strip() == text and "\r" not in text
                            and not text.startswith(FORMULA_LEADS)
                            and not _CONTROL.search(text)):
                        rec[key] = text
                        continue
                text_value, issues = normalise_text(cell, sheet.is_date(cell))
                raw[(i, key)] = visible(cell_text(cell))
                for issue, params in issues:
                    if _severity(issue) == ERROR:
                        bad.add((i, key))
                    self.add(issue, sheet=P, cell=column.ref(row), leaf=code, menu=menu,
                             value=visible(cell_text(cell)), **params)
                rec[key] = text_value
            for key, col, column in layout.references:  # verified against the store at ingest
                cell = cells.get((row, col))
                rec[key], readable = reference_value(cell)
                if not readable:
                    bad.add((i, key))
                    self.add("reference-changed", sheet=P, cell=column.ref(row), leaf=code,
                             menu=menu, value=cell_text(cell), expected="登録済みの値",
                             column=column.header.replace("\n", " "))
            for key, parts in layout.formulas:  # recomputed, never read
                if fast:  # the amounts are whole numbers or None (blank)
                    numbers = [rec[k] for k in parts if rec[k] is not None]
                    rec[key] = sum(numbers) if numbers else None
                else:
                    rec[key] = self.form.row_formula_value(key, rec)
            records.append(rec)
        if not any_amount:
            self.add("empty-plan", sheet=P)
        # the frame is built for the whole batch (``_apply_rules``)
        self.pending = _Pending(records, menu, raw, bad, complete, layout.inputs)

    def rule_findings(self, cases: pd.DataFrame | None) -> None:
        """Turn this file's failure cases of ``PlanSchema`` (indexed like its plan) into
        findings on cells."""
        pending = self.pending
        assert pending is not None  # rules run only on files that got this far
        plan, menu, bad = pending.plan, pending.menu, pending.bad
        assert plan is not None  # made with the batch's frame, before the rules
        pending.ruled = True
        if cases is None or cases.empty:
            return
        P = self.form.main_sheet
        C = self.form.column
        cell_cases: list[tuple[int, str, str]] = []  # (plan index, column, check)
        row_cases: dict[tuple[str, int], None] = {}  # (check, plan index), in order
        for case in cases.itertuples(index=False):
            check = str(case.check)
            if case.schema_context == "Column" and check in self.form.cell_rules:
                cell_cases.append((int(case.index), str(case.column), check))
            elif case.schema_context == "DataFrameSchema" and check in self.form.row_rules:
                row_cases.setdefault((check, int(case.index)))
            else:  # a dtype or column failure: the frame built here is wrong, a bug
                raise RuntimeError(f"unexpected plan schema failure: {check} {case.column}")
        for i, key, check in cell_cases:
            bad.add((i, key))
            code, row = plan.at[i, "leaf_code"], int(plan.at[i, "excel_row"])
            params: dict[str, object] = {}
            if check == "text-too-long":
                params = {"length": len(plan.at[i, key]), "max_length": C[key].max_length}
            elif check == "invalid-choice":
                params = {"choices": "・".join(self.form.choices.get(key, ()))}
            self.add(check, sheet=P, cell=C[key].ref(row), leaf=code, menu=menu,
                     value=pending.seen(i, key), **params)
        for check, i in row_cases:
            rule = self.form.row_rules[check]
            involved = rule.reads
            if any((i, k) in bad for k in involved):
                continue  # the cell's own error says it; a sum of unusable cells says nothing
            amounts = {k: int_or_none(plan.at[i, k]) for k in self.form.amount_keys}
            target = rule.target_of(amounts, self.settings.share_tolerance)
            code, row = plan.at[i, "leaf_code"], int(plan.at[i, "excel_row"])
            self.add(check, sheet=P, cell=C[target].ref(row), leaf=code, menu=menu,
                     value=pending.seen(i, target), **self._row_params(check, plan, i))

    def plausibility(self, pending: _Pending) -> None:
        """The fixed ceilings of ``budget.plausibility`` (no store: the history part runs at
        ingest with the checks across stages)."""
        from budget.plausibility import ceiling_findings, unusable_cells

        menu = pending.menu
        self.findings += ceiling_findings(
            self.report.file, self.form, pending.plan, menu.names, len(menu.codes),
            list(menu.categories), unusable_cells(self.findings, self.form))

    def _row_params(self, check: str, plan: pd.DataFrame, i: int) -> dict[str, object]:
        v = {k: int_or_none(plan.at[i, k]) for k in self.form.numeric_keys}
        return self.form.rule_params(check, v, self.settings.share_tolerance)


@dataclass
class _Pending:
    """A file's plan rows waiting for the plan rules (run over a whole batch at once)."""

    records: list[dict[str, Any]]  # the rows as ``plan_frame`` takes them
    menu: MenuInfo
    #: (plan index, key) → text seen, of the input cells the general path read
    raw: dict[tuple[int, str], str | None]
    bad: set[tuple[int, str]]  # cells with an error: the rules reading them stay quiet
    complete: bool  # every leaf on exactly one row: the plan can be reported
    inputs: frozenset[str]  # the keys of the input cells (amounts and texts)
    ruled: bool = False
    plan: pd.DataFrame | None = None  # the rows as a frame (``_apply_rules`` makes it)

    def seen(self, i: int, key: str) -> str | None:
        """The text the sender's cell ``key`` of plan row ``i`` holds (None: blank, or not an
        input cell): as the general path read it, else (the fast path: blank, a whole
        number, a plain text) its value's text."""
        if (i, key) in self.raw:
            return self.raw[(i, key)]
        if key not in self.inputs:
            return None
        value = self.records[i][key]
        return None if value is None else str(value)


#: Issues of a cell whose content was there but could not be read (not "missing").
_UNREAD = {code for code, kind in CATALOG.items() if kind.severity == ERROR} | {"date-in-text"}


def _severity(code: str) -> str:
    return CATALOG[code].severity


def plan_frame(records: list[dict[str, Any]], form: Form = PLAN) -> pd.DataFrame:
    """The checked rows as a DataFrame (``form.row_columns``): Int64 amounts (<NA> = blank),
    text or None."""
    import pandas as pd

    text, whole, amount = _frame_dtypes()
    data: dict[str, Any] = {
        "leaf_code": pd.Series([r["leaf_code"] for r in records], dtype=text),
        "excel_row": pd.Series([r["excel_row"] for r in records], dtype=whole),
    }
    for key in form.money_keys:
        data[key] = pd.array([r[key] for r in records], dtype=amount)
    for key in form.text_keys:
        data[key] = pd.Series([r[key] for r in records], dtype=object)
    for key in form.reference_keys:
        data[key] = pd.array([r[key] for r in records], dtype="Int64")
    return pd.DataFrame(data, columns=list(form.row_columns))


@lru_cache(maxsize=1)
def _frame_dtypes() -> tuple[Any, Any, Any]:
    """The dtypes of ``plan_frame`` ("str", "int64", "Int64"), parsed once, not per file."""
    from pandas.api.types import pandas_dtype

    return pandas_dtype("str"), pandas_dtype("int64"), pandas_dtype("Int64")


#: The fast paths of the cell checks: a cell that is exactly as the template (or a clean
#: input) has it is passed without the general path's normalising. False runs every cell
#: through the general path (the tests compare the two on odd workbooks).
_FAST_PATHS = True

#: Cell types ``cell_text`` does not show as stored (a number's text is normalised, a
#: boolean shown as TRUE/FALSE).
_NOT_AS_STORED = frozenset({"n", "b"})


@dataclass(frozen=True)
class _InputLayout:
    """A form's input columns as the cell checks walk them, worked out once per form:
    (key, 0-based column, column) of the amount, text and reference columns, (key, parts)
    of the formula columns, and the keys of the amounts and texts."""

    amounts: tuple[tuple[str, int, Column], ...]
    texts: tuple[tuple[str, int, Column], ...]
    references: tuple[tuple[str, int, Column], ...]
    formulas: tuple[tuple[str, tuple[str, ...]], ...]
    inputs: frozenset[str]


@lru_cache(maxsize=32)
def _input_layout(form: Form) -> _InputLayout:
    def cols(keys: tuple[str, ...]) -> tuple[tuple[str, int, Column], ...]:
        return tuple((k, form.column[k].col_index, form.column[k]) for k in keys)

    return _InputLayout(cols(form.amount_keys), cols(form.text_keys), cols(form.reference_keys),
                        tuple((k, form.column[k].parts) for k in form.formula_keys),
                        frozenset(form.amount_keys + form.text_keys))


#: Leaf code → (0-based column, column, expected text, the value a text cell may hold to
#: pass the fast path, the value a number cell may hold to) of its label cells.
_LabelLayout = dict[str, tuple[tuple[int, Column, str, object, object], ...]]

#: (form, id of a menu's labels) → (the labels, their layout): worked out once per form and
#: menu edition (the labels are kept so that their id stays theirs).
_LABEL_LAYOUTS: dict[tuple[Form, int], tuple[object, _LabelLayout]] = {}

#: Equal to no cell's value: an expected text with a CR LF never passes the fast path.
_NO_FAST_PATH = object()


def _label_layout(form: Form, labels: dict[str, dict[str, str]]) -> _LabelLayout:
    """The label cells of each leaf row (``_LabelLayout``), for ``labels`` (``MenuInfo``)."""
    key = (form, id(labels))
    cached = _LABEL_LAYOUTS.get(key)
    if cached is not None and cached[0] is labels:
        return cached[1]
    columns = [form.column[k] for k in form.label_keys]
    layout = {code: tuple((c.col_index, c, shown[c.key], _as_text(shown[c.key]),
                           _as_number(shown[c.key]))
                          for c in columns)
              for code, shown in labels.items()}
    if len(_LABEL_LAYOUTS) > 64:
        _LABEL_LAYOUTS.clear()
    _LABEL_LAYOUTS[key] = (labels, layout)
    return layout


def _as_text(expected: str) -> object:
    """The value a text cell shows as ``expected`` holds (``_NO_FAST_PATH``: the general
    path compares it, as a CR LF is read as LF)."""
    return _NO_FAST_PATH if "\r\n" in expected else expected


def _as_number(expected: str) -> object:
    """The value a number cell shows as ``expected`` holds, when ``expected`` is a whole
    number written as ``number_text`` writes it (``"12"``, not ``"012"``); else
    ``_NO_FAST_PATH``."""
    if len(expected) < 16 and expected.isascii() and expected.isdigit() \
            and str(int(expected)) == expected:
        return expected
    return _NO_FAST_PATH


#: A formula cell of a row: (column, 0-based column, the formula, the text a workbook
#: stores for it: no ``=``).
_FormulaCell = tuple[Column, int, str, str]

#: form → leaf row → its formula cells (``_row_formulas``)
_ROW_FORMULAS: dict[Form, dict[int, tuple[_FormulaCell, ...]]] = {}


def _row_formulas(form: Form, row: int) -> tuple[_FormulaCell, ...]:
    """The formula cells of leaf row ``row`` of ``form`` (worked out once per form and row)."""
    by_row = _ROW_FORMULAS.setdefault(form, {})
    found = by_row.get(row)
    if found is None:
        if len(by_row) > 10_000:  # rows of odd files: keep it bounded
            by_row.clear()
        found = by_row[row] = tuple(
            (form.column[k], form.column[k].col_index, f, f.removeprefix("="))
            for k in form.formula_keys for f in [form.row_formula(k, row)])
    return found


@lru_cache(maxsize=64)
def _summary_formulas(form: Form, n: int, categories: tuple[str, ...]
                      ) -> tuple[tuple[str, tuple[_FormulaCell, ...]], ...]:
    """Each summary row's code (subtotals in category order, then the total) and its
    formula cells, for a menu of ``n`` leaves."""
    codes = [*(form.subtotal_prefix + c for c in categories), form.total_code]
    return tuple((code, tuple((form.column[k], form.column[k].col_index, f, f.removeprefix("="))
                              for k in form.summed_keys
                              for f in [form.summary_formula(k, code, n)]))
                 for code in codes)


@lru_cache(maxsize=64)
def _summary_rows(form: Form, n: int, categories: tuple[str, ...]) -> dict[str, int]:
    return form.summary_rows(n, list(categories))


@dataclass(frozen=True)
class _HeaderLayout:
    """The header block of a form's main sheet for a year, worked out once: each fixed
    text (``form_texts``) as (cell, (row, 0-based column), text), the places of those texts
    and of the cells checked elsewhere (the year, prefecture, contact and ``_meta`` cells)."""

    expected: tuple[tuple[str, tuple[int, int], str], ...]
    places: frozenset[tuple[int, int]]
    elsewhere: frozenset[tuple[int, int]]


@lru_cache(maxsize=64)
def _header_layout(form: Form, year: int) -> _HeaderLayout:
    from budget.xlsx.reader import split_ref

    expected = tuple((ref, split_ref(ref), text) for ref, text in form_texts(form, year).items())
    elsewhere = {form.year_cell, form.prefecture_cell,
                 *(h.input_cell for h in form.header_inputs),
                 *(m.value_cell for m in form.meta_cells)}
    return _HeaderLayout(expected, frozenset(place for _, place, _ in expected),
                         frozenset(split_ref(ref) for ref in elsewhere))


@lru_cache(maxsize=64)
def _template_merges(form: Form, shift: int) -> frozenset[tuple[int, int, int, int]]:
    """The merged ranges a returned copy of ``form`` may have, its header ``shift`` rows
    down (rows inserted above it): the title, the header's (where the template has them,
    or moved with the header) and the header inputs spanning cells (担当部署)."""
    from budget.xlsx.reader import split_ref

    allowed = {(1, 0, 1, form.last_visible.col_index)}  # the title
    for first, last, _text in form.header_merges():
        (r1, c1), (r2, c2) = split_ref(first), split_ref(last)
        allowed.update({(r1, c1, r2, c2), (r1 + shift, c1, r2 + shift, c2)})
    for first, last in form.input_merges:
        (r1, c1), (r2, c2) = split_ref(first), split_ref(last)
        allowed.add((r1, c1, r2, c2))
    return frozenset(allowed)


@lru_cache(maxsize=64)
def _form_cell_places(form: Form, year: int) -> frozenset[tuple[int, int]]:
    """(row, 0-based column) of the header block's texts, the year, prefecture and contact
    input cells: a merge touching one hides it."""
    from budget.xlsx.reader import split_ref

    return frozenset(split_ref(ref) for ref in (
        *form_texts(form, year), form.year_cell, form.prefecture_cell,
        *(h.input_cell for h in form.header_inputs)))


def _shows(cell: Cell | None, expected: str) -> bool:
    """True when ``cell`` surely shows ``expected`` as ``check_form`` reads it (its text
    stored as it is); False when the general comparison must say."""
    if cell is None:
        return expected == ""
    return (cell.value == expected and cell.formula is None
            and cell.type not in _NOT_AS_STORED and "\r\n" not in expected)


def _year_label(year: int) -> str:
    from budget.fiscal import full_label

    try:
        return full_label(year)
    except Exception:  # noqa: BLE001 - an absurd year in a hand-edited file
        return f"{year}年度"


def _halfwidth(text: str) -> str:
    return text.translate(_FULLWIDTH)


def _ordered(findings: list[Finding], sheet_order: dict[str, int]) -> list[Finding]:
    """By sheet (file-level first), row, column; a cell with an error keeps only errors."""
    from budget.xlsx.reader import split_ref

    errors = {(f.sheet, f.cell) for f in findings if f.cell and f.severity == ERROR}
    kept = [f for f in findings
            if not (f.cell and f.severity != ERROR and (f.sheet, f.cell) in errors)]

    def key(f: Finding) -> tuple[int, int, int]:
        sheet = -1 if f.sheet is None else sheet_order.get(f.sheet, len(sheet_order))
        try:
            row, col = split_ref(f.cell) if f.cell else (0, -1)
        except ValueError:
            row, col = 0, -1
        return sheet, row, col

    return sorted(kept, key=key)
