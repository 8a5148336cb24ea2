"""The types a form is made of: ``Form`` and its parts (``Column``, ``HeaderInput``, ``RowRule``).

A form is one workbook kind (the 計画 of a year, later 要望, 実績 …) as a frozen value:
``generate`` writes a workbook from it, ``budget.xlsx.reader`` and ``budget.intake.check`` read
and check one against it. Nothing here knows a particular form; ``budget.forms.plan`` builds
the plan's.

Coordinates: ``row`` is the 1-based Excel row number and ``letter`` the Excel column letter,
as a clerk reads them (``計画!J18``). xlsxwriter wants 0-based indices: use ``row - 1`` and
``col_index``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:

    from budget.menu import MenuLeaf

#: The hidden sheet that names a workbook's form (the same in every form: a workbook is
#: identified by it before its form is known).
META_SHEET = "_meta"

Kind = Literal["label", "formula", "amount", "text", "code", "reference"]

#: The ``_meta`` key listing the stored submissions a workbook's reference columns were filled
#: from (comma-separated ids): the check at ingest recomputes them from exactly those.
REFERENCE_IDS = "reference_ids"


def col_index(letter: str) -> int:
    """0-based column index of a column letter (``"A"`` → 0)."""
    n = 0
    for ch in letter:
        n = n * 26 + ord(ch) - 64
    return n - 1


@dataclass(frozen=True)
class Column:
    """One column of a form's table."""

    key: str  # internal name, also the store's field name for amounts and texts
    header: str  # Japanese header (the lower header row)
    group: str  # upper header row (merged across a group), "" where none
    letter: str
    kind: Kind
    width: float
    max_length: int | None = None  # text inputs: longest accepted text
    #: formula columns: the input amounts the row formula adds up (``=SUM(H8,I8)``)
    parts: tuple[str, ...] = ()

    @property
    def col_index(self) -> int:
        """0-based column index (xlsxwriter's)."""
        return col_index(self.letter)

    def ref(self, row: int) -> str:
        """``"H8"``."""
        return f"{self.letter}{row}"


@dataclass(frozen=True)
class HeaderInput:
    """A header cell the sender fills in (担当部署 …): its label cell and its input cell."""

    key: str
    label_cell: str
    input_cell: str
    label: str
    max_length: int


@dataclass(frozen=True)
class MetaCell:
    """A locked header cell showing a ``_meta`` value (the 内示's round, the 実績's execution
    year): its label cell and text, and the cell showing the value (``Form.meta_cell_text``)."""

    key: str
    label_cell: str
    value_cell: str
    label: str


@dataclass(frozen=True)
class RowRule:
    """A row check of the form's schema: the cell its finding points at and the cells it
    reads (a rule reading a cell that has an error of its own stays quiet). ``choose``,
    when given, decides the cell from the row's amounts and the share tolerance (the cell
    that is most likely wrong); ``target`` is then its default."""

    target: str
    reads: tuple[str, ...]
    choose: Callable[[Mapping[str, int | None], int], str] | None = None

    def target_of(self, amounts: Mapping[str, int | None], share_tolerance: int) -> str:
        """The key of the cell this rule's finding points at, for a row's ``amounts``."""
        return self.target if self.choose is None else self.choose(amounts, share_tolerance)


def is_na(value: object) -> bool:
    """None, NaN or pandas NA."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pandas NA: NA != NA is NA
        return True


def int_or_none(value: object) -> int | None:
    """An integer from a cell or store value; None for None, NaN, pandas NA or a value that
    is not a number."""
    if is_na(value):
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _no_rules(row: int, share_tolerance: int) -> dict[str, str]:
    return {}


def _no_guide(**_: Any) -> list[tuple[str, str]]:
    return []


def _no_params(check: str, amounts: Mapping[str, int | None], share_tolerance: int
               ) -> dict[str, object]:
    return {}


@dataclass(frozen=True, eq=False)
class Form:
    """The whole shape of one workbook kind. Frozen; compared and hashed by identity (one
    value per registered form), so it can key caches."""

    kind: str  # registry key and ``_meta`` ``form``: "plan"
    stage: str  # the stage of the year (domain.md §3): "plan"
    stage_label: str  # Japanese: "計画" (file names, messages)
    template_version: str  # bump on any change of shape (the golden test says when)
    main_sheet: str  # the sheet of the table: "計画"
    guide_sheet: str  # the guide: "記入要領"
    columns: tuple[Column, ...]
    title: str  # A1 of the main sheet, ``{year_label}`` filled in
    year_label_cell: str
    year_label: str
    year_cell: str  # 令和5年度（2023年度）
    prefecture_label_cell: str
    prefecture_label: str
    prefecture_cell: str  # 13 東京都
    header_inputs: tuple[HeaderInput, ...]
    #: other fixed texts above the table: (cell, text)
    notes: tuple[tuple[str, str], ...]
    group_header_row: int
    header_row: int
    first_data_row: int  # the first leaf row; leaves follow in menu order, one row each
    #: the code column's text on the header row (finds the table however rows moved)
    header_code: str = "leaf_code"
    subtotal_prefix: str = "#subtotal:"  # code of a 大項目 subtotal row: "#subtotal:基盤整備"
    total_code: str = "#total"
    total_label: str = "合計"
    subtotal_label: str = "小計（{category}）"
    #: conditional-format formulas for leaf row ``row``: rule name → formula
    live_rules: Callable[[int, int], dict[str, str]] = _no_rules
    #: columns each live rule colours: rule name → (first key, last key)
    live_rule_columns: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    live_warning_rules: frozenset[str] = frozenset()  # yellow (check) rather than red (error)
    default_share_tolerance: int = 2
    #: the amount cells' input validation: prompt title, prompt, error title, error message
    amount_messages: tuple[str, str, str, str] = (
        "金額（千円）", "千円単位の0以上の整数で入力してください。",
        "入力できない値です", "金額は千円単位の0以上の整数で入力してください（例: 1234）。")
    #: the pandera schema of the form's rows at a share tolerance (imported lazily); None:
    #: no rules beyond the cell normalisation
    schema: Callable[[int], Any] | None = None
    cell_rules: frozenset[str] = frozenset()  # column checks of the schema (finding codes)
    row_rules: Mapping[str, RowRule] = field(default_factory=dict)  # row checks
    #: message parameters of a row rule's finding: (check, the row's amounts, tolerance)
    rule_params: Callable[[str, Mapping[str, int | None], int], dict[str, object]] = _no_params
    #: the guide sheet's lines, (kind, text), kind "title" | "head" | "text"; called with
    #: year_label, prefecture_label, share_tolerance, submit_to, how, deadline
    guide: Callable[..., list[tuple[str, str]]] = _no_guide
    #: keys of the ``_meta`` sheet (column A key, column B value), in order
    meta_keys: tuple[str, ...] = (
        "template_version", "form", "stage", "fiscal_year", "fiscal_year_label",
        "prefecture_code", "prefecture_name", "menu_fingerprint", "menu_leaf_count",
        "first_data_row", "tool_version", "generated_at",
    )
    #: older template versions still read as this form (their ``_meta`` has no ``form``)
    accepted_versions: tuple[str, ...] = ()
    #: earlier versions that name the form, still read: the same cells, drawn differently
    older_versions: tuple[str, ...] = ()
    #: header input cells drawn merged with their empty neighbours, (first, last): wider
    input_merges: tuple[tuple[str, str], ...] = ()
    meta_sheet: str = META_SHEET
    #: a prefecture's workbook (True) or the ministry's own, covering every prefecture (the
    #: 内示: no prefecture in ``_meta``, its subject cell shows the round)
    per_prefecture: bool = True
    #: where the table's rows come from: "menu" (one per menu leaf, subtotals per 大項目) or
    #: "prefectures" (one per prefecture, 「01 北海道」…, a grand total only)
    rows_from: Literal["menu", "prefectures"] = "menu"
    #: ``_meta`` keys copied into ``FileReport.header`` at ingest (``round``, ``exec_year``,
    #: ``reference_ids``): what the stage needs to know beside the contact inputs
    header_meta: tuple[str, ...] = ()
    #: text columns whose input is chosen from a list (key → the allowed texts)
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: the reference columns' values from their sources (see ``reference_values``)
    references: Callable[..., dict[str, dict[str, int | None]]] | None = None
    #: locked header cells showing ``_meta`` values
    meta_cells: tuple[MetaCell, ...] = ()
    #: the fiscal year of the reference sources relative to the form's (-1: the year
    #: before, next year's 前年度計画)
    reference_year_offset: int = 0
    #: ``references`` also takes the workbook's ``header_meta`` values (a mapping): the
    #: 前年度計画's crosswalk travels in ``_meta``
    references_use_meta: bool = False

    # --- columns --------------------------------------------------------------------------

    @functools.cached_property
    def column(self) -> dict[str, Column]:
        """key → column."""
        return {c.key: c for c in self.columns}

    def keys(self, *kinds: Kind) -> tuple[str, ...]:
        """Keys of the columns of the given kinds, in column order."""
        return tuple(c.key for c in self.columns if c.kind in kinds)

    @property
    def amount_keys(self) -> tuple[str, ...]:
        return self.keys("amount")

    @property
    def formula_keys(self) -> tuple[str, ...]:
        return self.keys("formula")

    @property
    def money_keys(self) -> tuple[str, ...]:
        return self.keys("amount", "formula")

    @property
    def text_keys(self) -> tuple[str, ...]:
        return self.keys("text")

    @property
    def input_keys(self) -> tuple[str, ...]:
        return self.amount_keys + self.text_keys

    @property
    def label_keys(self) -> tuple[str, ...]:
        return self.keys("label")

    @property
    def reference_keys(self) -> tuple[str, ...]:
        """Keys of the locked reference columns (see ``reference_columns``)."""
        return self.keys("reference")

    @property
    def summed_keys(self) -> tuple[str, ...]:
        """Columns the subtotal and total rows add up: money and reference columns."""
        return self.keys("amount", "formula", "reference")

    @property
    def numeric_keys(self) -> tuple[str, ...]:
        """Every integer column of the checked rows: money, then references."""
        return self.money_keys + self.reference_keys

    @functools.cached_property
    def code_column(self) -> Column:
        """The hidden column holding each row's code."""
        return next(c for c in self.columns if c.kind == "code")

    @functools.cached_property
    def last_visible(self) -> Column:
        """The last column a person sees (the title and the print area end there)."""
        return [c for c in self.columns if c.kind != "code"][-1]

    @property
    def row_columns(self) -> tuple[str, ...]:
        """Columns of the checked rows (``FileReport.plan``): code, row, money, texts."""
        return ("leaf_code", "excel_row", *self.money_keys, *self.text_keys,
                *self.reference_keys)

    # --- the texts of the sheet: one definition, written by generate, checked by intake ----

    def header_row_texts(self) -> dict[str, str]:
        """The two header rows (cell → text): a column without a group has its header in the
        upper row (merged down), a group's name is in its first column's upper row (merged
        across), the grouped headers and the code column's ``header_code`` are in the lower
        row."""
        out: dict[str, str] = {}
        for col in self.columns:
            if col.kind == "code":
                out[col.ref(self.header_row)] = self.header_code
            elif col.group:
                group_ref = next(c for c in self.columns if c.group == col.group).ref(
                    self.group_header_row)
                out.setdefault(group_ref, col.group)
                out[col.ref(self.header_row)] = col.header
            else:
                out[col.ref(self.group_header_row)] = col.header
        return out

    def header_merges(self) -> list[tuple[str, str, str]]:
        """Merged ranges of the header rows: (first cell, last cell, text)."""
        merges: list[tuple[str, str, str]] = []
        groups: dict[str, list[Column]] = {}
        for col in self.columns:
            if col.kind == "code":
                continue
            if col.group:
                groups.setdefault(col.group, []).append(col)
            else:
                merges.append((col.ref(self.group_header_row), col.ref(self.header_row),
                               col.header))
        for name, cols in groups.items():
            merges.append((cols[0].ref(self.group_header_row),
                           cols[-1].ref(self.group_header_row), name))
        return merges

    def title_text(self, year_label: str) -> str:
        return self.title.format(year_label=year_label)

    @property
    def title_cell(self) -> str:
        return f"{self.columns[0].letter}1"

    def fixed_texts(self, year_label: str) -> dict[str, str]:
        """Every fixed text above the table (cell → text): title, labels, notes and the two
        header rows; not the year and prefecture cells (identification checks those)."""
        texts = {self.title_cell: self.title_text(year_label),
                 self.year_label_cell: self.year_label,
                 self.prefecture_label_cell: self.prefecture_label}
        for h in self.header_inputs:
            texts[h.label_cell] = h.label
        for m in self.meta_cells:
            texts[m.label_cell] = m.label
        texts.update(dict(self.notes))
        texts.update(self.header_row_texts())
        return texts

    @staticmethod
    def meta_cell_text(key: str, value: str) -> str:
        """What a ``MetaCell`` shows of a ``_meta`` value: 「第1回」, 「令和6年度（2024年度）」."""
        if key == "round":
            return f"第{value}回"
        if key == "exec_year":
            from budget.fiscal import full_label

            try:
                return full_label(int(value))
            except Exception:  # noqa: BLE001 - a hand-edited _meta: shown as it is
                return value
        return value

    # --- rows ------------------------------------------------------------------------------

    def leaf_rows(self, n_leaves: int) -> range:
        """Excel rows of the leaves of a menu with ``n_leaves`` leaves."""
        return range(self.first_data_row, self.first_data_row + n_leaves)

    def summary_rows(self, n_leaves: int, categories: list[str]) -> dict[str, int]:
        """Excel rows of the subtotal rows (by code) and of the grand total, after one blank
        row."""
        first = self.first_data_row + n_leaves + 1
        rows = {self.subtotal_prefix + cat: first + i for i, cat in enumerate(categories)}
        rows[self.total_code] = first + len(categories)
        return rows

    def summary_label(self, code: str) -> str:
        """The visible label of a subtotal or total row, from its code."""
        if code == self.total_code:
            return self.total_label
        return self.subtotal_label.format(category=code.removeprefix(self.subtotal_prefix))

    def displayed_labels(self, leaf: MenuLeaf) -> dict[str, object]:
        """The locked label cells of a leaf row, as the workbook shows them."""
        shown = leaf.displayed()
        return {k: shown[k] for k in self.label_keys}

    # --- formulas: each written with its cached value ----------------------------------------

    def row_formula(self, key: str, row: int) -> str:
        """The formula of a formula column on a leaf row."""
        return f"=SUM({','.join(self.column[k].ref(row) for k in self.column[key].parts)})"

    def row_formula_value(self, key: str, amounts: Mapping[str, object]) -> int | None:
        """The value of ``row_formula`` for the given input amounts: None when every part is
        blank (None, NaN or pandas NA: a sum of blanks stays blank), else the sum with blanks
        as 0. The one rule of the workbook's row arithmetic (generate's cached values, the
        check's recomputation, the summary, the demo)."""
        values = [amounts.get(k) for k in self.column[key].parts]
        numbers = [v for v in values if not is_na(v)]
        return sum(numbers) if numbers else None  # type: ignore[arg-type]

    def _span(self, key: str, n_leaves: int) -> str:
        letter = self.column[key].letter
        first, last = self.first_data_row, self.first_data_row + n_leaves - 1
        return f"{letter}${first}:{letter}${last}"

    def subtotal_formula(self, key: str, category: str, n_leaves: int) -> str:
        """Subtotal of a money column over the leaves of one 大項目."""
        cat = self.columns[0]
        first, last = self.first_data_row, self.first_data_row + n_leaves - 1
        cats = f"${cat.letter}${first}:${cat.letter}${last}"
        return f'=SUMIF({cats},"{category}",{self._span(key, n_leaves)})'

    def total_formula(self, key: str, n_leaves: int) -> str:
        """Grand total of a money column over every leaf."""
        return f"=SUM({self._span(key, n_leaves)})"

    def summary_formula(self, key: str, code: str, n_leaves: int) -> str:
        """The formula of a summary row's money column (``code`` a subtotal or total code)."""
        if code == self.total_code:
            return self.total_formula(key, n_leaves)
        return self.subtotal_formula(key, code.removeprefix(self.subtotal_prefix), n_leaves)

    # --- files and _meta ------------------------------------------------------------------

    def file_name(self, prefecture_code: str, prefecture_name: str, era: str) -> str:
        """``"13_東京都_R5_計画.xlsx"``: a person finds theirs by code and name."""
        return f"{prefecture_code}_{prefecture_name}_{era}_{self.stage_label}.xlsx"

    def meta(self, **values: str) -> dict[str, str]:
        """The ``_meta`` rows in order: this form's identity and ``values`` for the rest."""
        given = {"template_version": self.template_version, "form": self.kind,
                 "stage": self.stage, **values}
        return {k: given[k] for k in self.meta_keys}


# --- reference columns -------------------------------------------------------------------
#
# A reference column shows, beside the inputs, a value the store already holds (the 変更's
# plan before the change, the 実績's plan, the 内示's 要望 and earlier rounds; next year's
# 前年度計画): filled at generation from given stored submissions, locked, and verified
# unchanged at ingest against what the store says of the same submissions. One mechanism:
#   * the form's columns of kind "reference" and its ``references`` function, which computes
#     every row's reference values from the source submissions' stored values (a wide frame
#     as ``Store.current_amounts`` gives, with a ``stage`` column);
#   * ``generate`` writes them (``reference_values`` of the sources it read), their ids in
#     ``_meta`` ``reference_ids``;
#   * ``budget.intake.check`` reads the cells as they are (a cell that is not a whole number
#     is an error on its own) and ``budget.stages.reference_findings`` compares them, at
#     ingest, with ``reference_values`` of the same ids read from the store again.


def reference_ids_text(ids: list[int]) -> str:
    """The ``_meta`` ``reference_ids`` value of the given submission ids (sorted, unique)."""
    return ",".join(str(i) for i in sorted(set(ids)))


def parse_reference_ids(text: str | None) -> list[int] | None:
    """The ids of a ``reference_ids`` value; None when it is not a list of ids."""
    if text is None:
        return None
    text = text.strip()
    if not text:
        return []
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        return None


def reference_values(form: Form, sources: Any, meta: Mapping[str, str] | None = None
                     ) -> dict[str, dict[str, int | None]]:
    """Row code → reference key → value of ``form`` from the source submissions' values
    (``sources``: a wide frame with ``stage``); rows without a source value are absent, a
    key without one is None (blank: never 0). ``meta``: the workbook's ``_meta`` values,
    for a form whose references need them (``references_use_meta``)."""
    if form.references is None or sources is None or len(sources) == 0:
        return {}
    if form.references_use_meta:
        return form.references(sources, dict(meta or {}))
    return form.references(sources)


_TEMPLATE_NAME = re.compile(r"^(\d{1,2})(?!\d)(?:_[^_]*_([RH]\d+)_)?")


def parse_template_file_name(name: str) -> tuple[str, str | None] | None:
    """(two-digit prefecture code, era code or None) of a name written by
    ``Form.file_name`` (``13_東京都_R5_計画.xlsx`` → ``("13", "R5")``), read leniently as
    people rename files: full-width digits (NFKC), a folder before it, a one-digit code
    (``1_北海道…``), no era (``13_東京都.xlsx`` → ``("13", None)``). None when the name does
    not start with a code 1–47.
    """
    import unicodedata

    base = unicodedata.normalize("NFKC", re.split(r"[\\/]", name)[-1])
    m = _TEMPLATE_NAME.match(base)
    if not m or not 1 <= int(m.group(1)) <= 47:
        return None
    return m.group(1).zfill(2), m.group(2)


