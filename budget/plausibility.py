"""Plausibility of amounts: figures typed in 円 where the form asks for 千円 (issue 12, 14).

A clerk who types 3,000,000 (円) into a 千円 cell asks for 30億円 on a small item; every rule
of domain.md §2 may still hold. These checks are **warnings**, never errors: a real large
figure is accepted as it is, the clerk is only asked to look again.

What is compared: a leaf row's 総事業費 (A+B+C, the form's row total, recomputed from the
inputs, never read). The rules of §2 tie every other money cell of a row to A, B and C
(公 + 民 = A, うち受託 ≤ 民, A ≈ ⅔ of A+B): a 公, 民 or 受託 typed in 円 alone already breaks
one of them (an error or a warning of its own); what passes them all is a row typed in 円
throughout, or C, or A and B together, and each shows in 総事業費. The warning points at the
row's largest input among the total's parts (A, B or C): where the figure was typed.

The rules (``Plausibility``, the one place of the numbers; README「金額の妥当性の確認」):

* **per leaf**: 総事業費 above ``leaf_ceiling`` (fixed: needs no history, so ``budget
  validate`` and the first file of a year are checked too); and, once at least
  ``min_history`` other prefectures' current plans (計画 or 変更) of the year in the store
  plan the leaf, above ``leaf_factor`` × the largest 総事業費 among them, never below
  ``leaf_floor`` (an ordinary large project is never questioned);
* **whole plan**: the sum of the rows' 総事業費 above ``plan_ceiling`` (fixed); and, once at
  least ``min_history`` other prefectures have a current plan, above ``plan_factor`` × the
  median of their sums.

The history only lowers the bar: the fixed ceilings always apply, and a figure above them
gets the fixed warning alone (one warning per row, per plan). The fixed part runs in the
per-file check (``budget.intake.check``: no store); the history part at save time with the
checks across stages (``budget.stages``), from ``PlanHistory``, which an ingest run builds
once from the store and keeps up to date as it saves each accepted plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from budget.findings import Finding, make

if TYPE_CHECKING:
    import pandas as pd

    from budget.forms import Form


@dataclass(frozen=True)
class Plausibility:
    """The plausibility rules' numbers, in 千円 (domain.md §8: national 国費 137億円 in R5,
    a prefecture's 内示 at most a few tens of 億円, projects ~6,000–90,000 千円, one
    prefecture-wide line past 1,000,000 千円)."""

    #: 20億円 on one row: twice the largest single line domain.md reports (1,000,000 千円
    #: and a little more), two thirds of 東京's whole R6 内示 (29.93億円 国費). A real
    #: project of 2,000 千円 or more typed in 円 reads as 2,000,000 or more.
    leaf_ceiling: int = 2_000_000
    #: a row above this many times the largest the other prefectures plan for the leaf (√1000
    #: ≈ 32: between a real spread, 東京 ~25 times a small prefecture, and a figure in 円)
    leaf_factor: int = 30
    #: ... but never below 1億円: more than the largest ordinary project (~90,000 千円)
    leaf_floor: int = 100_000
    #: 300億円 for one prefecture's plan: more than the whole country's 公費 of the year
    #: (206億円 in R5), almost seven times 東京's 基金 (~45億円 in R6)
    plan_ceiling: int = 30_000_000
    #: a plan above this many times the median of the other prefectures' plans (a plan
    #: typed in 円 is ~1,000 times one in 千円)
    plan_factor: int = 100
    #: the history is used once this many other prefectures give a figure
    min_history: int = 5


DEFAULT = Plausibility()


# --- the figures of one file -------------------------------------------------------------


def total_key(form: "Form") -> str | None:
    """The form's row total (``total`` of a plan: 総事業費 (A+B+C)): the formula column with
    the most parts; None for a form without one, or whose rows are not menu leaves."""
    if form.rows_from != "menu":
        return None
    totals = [c for c in form.columns if c.kind == "formula" and c.parts]
    return max(totals, key=lambda c: len(c.parts)).key if totals else None


@dataclass(frozen=True)
class Row:
    """One leaf row's total and where to point a warning about it."""

    leaf_code: str
    excel_row: int
    total: int
    cell_key: str  # the largest input among the total's parts


def leaf_totals(form: "Form", plan: "pd.DataFrame",
                unusable: Iterable[tuple[str, int]] = ()) -> list[Row]:
    """The rows of ``plan`` with a total, except those with an unusable part (``unusable``:
    (column key, excel row) of cells with an error: their own finding says it)."""
    key = total_key(form)
    if key is None or plan is None or key not in plan.columns:
        return []
    parts = form.column[key].parts
    # column arrays, not rows: ~60 leaves per file, 1,410 files per run
    totals = plan[key]
    where = totals.notna().to_numpy().nonzero()[0]
    if not len(where):
        return []
    leaves = plan["leaf_code"].to_numpy()[where].tolist()
    excel_rows = plan["excel_row"].to_numpy()[where].tolist()
    sums = totals.to_numpy(dtype="int64", na_value=0)[where].tolist()
    # each row's parts side by side; ``index(max(…))``: the first largest, as ``max`` by key
    values = zip(*[plan[p].to_numpy(dtype="int64", na_value=0)[where].tolist() for p in parts])
    skip = set(unusable)
    rows: list[Row] = []
    for leaf, excel_row, total, row_parts in zip(leaves, excel_rows, sums, values):
        excel_row = int(excel_row)
        if skip and any((p, excel_row) in skip for p in parts):
            continue
        rows.append(Row(str(leaf), excel_row, int(total),
                        parts[row_parts.index(max(row_parts))]))
    return rows


def _oku(value: int) -> str:
    """千円 → 「30億円」 / 「3.5億円」 / 「1,200万円」 (for a reader who thinks in 億円)."""
    if value >= 100_000:
        oku = value / 100_000
        return f"{oku:,.1f}".removesuffix(".0") + "億円"
    return f"{value * 1000 // 10_000:,}万円"


def _money(value: int) -> str:
    return f"{value:,} 千円（{_oku(value)}）"


def _total_header(form: "Form", key: str) -> str:
    return form.column[key].header.replace("\n", " ")


def total_cell(form: "Form", n_leaves: int, categories: list[str], key: str) -> str | None:
    """The cell of the form's grand total of ``key`` (合計 row), or None."""
    if n_leaves <= 0:
        return None
    try:
        row = form.summary_rows(n_leaves, categories)[form.total_code]
    except Exception:  # noqa: BLE001 - no summary rows: point at the sheet
        return None
    return form.column[key].ref(row)


def ceiling_findings(file: str, form: "Form", plan: "pd.DataFrame", names: Mapping[str, str],
                     n_leaves: int, categories: list[str],
                     unusable: Iterable[tuple[str, int]] = (),
                     rules: Plausibility = DEFAULT) -> list[Finding]:
    """The fixed part (no store): a row whose total is above ``leaf_ceiling``, a plan whose
    total is above ``plan_ceiling``."""
    key = total_key(form)
    if key is None:
        return []
    rows = leaf_totals(form, plan, unusable)
    out = [_leaf_finding(file, form, key, r, names, rules.leaf_ceiling,
                         f"1行の金額の目安の上限 {_money(rules.leaf_ceiling)}")
           for r in rows if r.total > rules.leaf_ceiling]
    total = sum(r.total for r in rows)
    if rows and total > rules.plan_ceiling:
        out.append(_plan_finding(file, form, key, total_cell(form, n_leaves, categories, key),
                                 total, f"1都道府県の計画の目安の上限 {_money(rules.plan_ceiling)}"))
    return out


def _leaf_finding(file: str, form: "Form", key: str, row: Row, names: Mapping[str, str],
                  limit: int, basis: str) -> Finding:
    return make("amount-implausible", file=file, sheet=form.main_sheet,
                cell=form.column[row.cell_key].ref(row.excel_row), leaf_code=row.leaf_code,
                leaf_name=names.get(row.leaf_code), value=f"{row.total:,}",
                column=_total_header(form, key), total=_money(row.total), basis=basis,
                limit=f"{limit:,}")


def _plan_finding(file: str, form: "Form", key: str, cell: str | None, total: int,
                  basis: str) -> Finding:
    return make("plan-total-implausible", file=file, sheet=form.main_sheet, cell=cell,
                value=f"{total:,}", column=_total_header(form, key), total=_money(total),
                basis=basis, stage=form.stage_label)


# --- the history: the other prefectures' current plans of the year ----------------------


@dataclass
class PlanHistory:
    """Each prefecture's current plan of one year, as the plausibility rules read it:
    prefecture → (receipt time, leaf → 総事業費, the plan's sum); and by leaf, prefecture →
    総事業費 (kept beside it, so that a file's leaves are looked up, not every plan's)."""

    plans: dict[str, tuple[str, dict[str, int], int]] = field(default_factory=dict)
    by_leaf: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def from_values(cls, values: "pd.DataFrame", received: Mapping[int, str]) -> "PlanHistory":
        """From the stored values of the current plans (``Store.amounts_of``, with
        ``total``) and each submission's receipt time."""
        from budget.forms.base import int_or_none

        history = cls()
        if values is None or values.empty or "total" not in values.columns:
            return history
        for (code, sid), group in values.groupby(["prefecture_code", "submission_id"]):
            totals = {str(leaf): t for leaf, v in zip(group["leaf_code"], group["total"])
                      if (t := int_or_none(v)) is not None}
            history._set(str(code), received.get(int(sid), ""), totals)
        return history

    def _set(self, code: str, received_at: str, totals: dict[str, int]) -> None:
        known = self.plans.get(code)
        for leaf in (known[1] if known else ()):
            self.by_leaf.get(leaf, {}).pop(code, None)
        for leaf, total in totals.items():
            self.by_leaf.setdefault(leaf, {})[code] = total
        self.plans[code] = (received_at, totals, sum(totals.values()))

    def update(self, code: str, received_at: str, rows: list[Row]) -> None:
        """A plan of ``code`` stored with ``received_at``: it is the current one unless a
        newer one is known."""
        known = self.plans.get(code)
        if known is not None and known[0] > received_at:
            return
        self._set(code, received_at, {r.leaf_code: r.total for r in rows})

    def leaf_max(self, leaf: str, exclude: str | None) -> tuple[int, int]:
        """(the largest 総事業費 of the leaf among the prefectures but ``exclude``, how many
        plan it)."""
        seen = self.by_leaf.get(leaf)
        if not seen:
            return 0, 0
        own = seen.get(exclude) if exclude is not None else None
        if own is None:
            return max(seen.values()), len(seen)
        top = max(seen.values())
        if own < top:  # the largest is another prefecture's: no list of the others needed
            return top, len(seen) - 1
        others = [v for c, v in seen.items() if c != exclude]
        return max(others, default=0), len(others)

    def plan_sums(self, exclude: str | None) -> list[int]:
        """The sums of the other prefectures' plans (those with a figure)."""
        return [s for code, (_, totals, s) in self.plans.items()
                if code != exclude and totals]


def history_findings(history: PlanHistory, file: str, prefecture: str | None, form: "Form",
                     plan: "pd.DataFrame", names: Mapping[str, str], n_leaves: int,
                     categories: list[str], unusable: Iterable[tuple[str, int]] = (),
                     rules: Plausibility = DEFAULT, rows: list[Row] | None = None
                     ) -> list[Finding]:
    """The history part: a row above ``leaf_factor`` × the leaf's largest among the other
    prefectures (not below ``leaf_floor``), a plan above ``plan_factor`` × their median; only
    figures within the fixed ceilings (above them the fixed warning says it)."""
    import statistics

    key = total_key(form)
    if key is None:
        return []
    rows = leaf_totals(form, plan, unusable) if rows is None else rows  # given: already read
    out: list[Finding] = []
    for r in rows:
        top, n = history.leaf_max(r.leaf_code, prefecture)
        if n < rules.min_history or r.total > rules.leaf_ceiling:
            continue
        limit = max(rules.leaf_factor * top, rules.leaf_floor)
        if r.total > limit:
            out.append(_leaf_finding(
                file, form, key, r, names, limit,
                f"他の都道府県（{n} 都道府県）の現在の計画でのこの事業の最大額 {top:,} 千円の "
                f"{rules.leaf_factor} 倍（{limit:,} 千円）"))
    sums = history.plan_sums(prefecture)
    total = sum(r.total for r in rows)
    if rows and len(sums) >= rules.min_history and total <= rules.plan_ceiling:
        median = statistics.median(sums)
        limit = int(rules.plan_factor * median)
        if total > limit:
            out.append(_plan_finding(
                file, form, key, total_cell(form, n_leaves, categories, key), total,
                f"他の都道府県（{len(sums)} 都道府県）の現在の計画の合計の中央値 "
                f"{int(median):,} 千円の {rules.plan_factor} 倍（{limit:,} 千円）"))
    return out


def unusable_cells(findings: Iterable[Finding], form: "Form") -> set[tuple[str, int]]:
    """(column key, excel row) of the main sheet's cells that have an error."""
    from budget.xlsx.reader import split_ref

    keys = {c.col_index: c.key for c in form.columns}
    out: set[tuple[str, int]] = set()
    for f in findings:
        if f.severity != "error" or f.sheet != form.main_sheet or not f.cell:
            continue
        try:
            row, col = split_ref(f.cell)
        except ValueError:
            continue
        if col in keys:
            out.add((keys[col], row))
    return out
