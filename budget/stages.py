"""What the store knows of a year's stages (要望 → 内示 → 計画 → 変更 → 実績), read through the
``Store`` interface: for pre-filling a later stage's workbook and for checking one at ingest.

* ``current_plan_ids``: a prefecture's current plan is its newest accepted submission of
  stage 計画 or 変更 (by received time); ``first_plan_ids`` its oldest accepted 計画.
* ``allocation_round_ids``: the newest accepted 内示 workbook of each round.
* ``allocation_totals``: each prefecture's 内示 summed over the rounds so far (a prefecture in
  no round has none: missing, never 0).
* ``sources``: the stored values of given submissions, with their stage, from which a form's
  reference columns are computed (``budget.forms.base.reference_values``).
* ``stage_findings``: the checks across stages of one checked file at ingest (the reference
  columns against the store, a 計画 above its 内示, a 実績 without a plan, a 計画 or 変更 whose
  amounts are far above the other prefectures' current plans: ``budget.plausibility``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from budget.findings import ERROR, FileReport, Finding, make
from budget.forms.base import REFERENCE_IDS, int_or_none, parse_reference_ids

if TYPE_CHECKING:
    import pandas as pd

    from budget.plausibility import PlanHistory, Row
    from budget.store import Store

#: Stages whose accepted submissions are a prefecture's plan (the newest is current).
PLAN_STAGES = ("plan", "revision")


def _accepted(store: "Store | pd.DataFrame", fiscal_year: int, stages: tuple[str, ...]
              ) -> "pd.DataFrame":
    """The accepted submissions of the year and stages; ``store`` may be the year's
    ``Store.submissions`` already read (one read serves every question of one file)."""
    import pandas as pd

    df = store if isinstance(store, pd.DataFrame) else store.submissions(fiscal_year)
    return df[(df["status"] == "accepted") & df["stage"].isin(stages)
              & (df["fiscal_year"] == fiscal_year)]


def _newest(df: "pd.DataFrame", by: str) -> dict[Any, int]:
    df = df.sort_values(["received_at", "id"], kind="stable")
    return {key: int(group["id"].iloc[-1]) for key, group in df.groupby(by)}


def current_plan_ids(store: "Store | pd.DataFrame", fiscal_year: int) -> dict[str, int]:
    """Prefecture code → the id of its current plan (newest accepted 計画 or 変更)."""
    df = _accepted(store, fiscal_year, PLAN_STAGES)
    return _newest(df[df["prefecture_code"].notna()], "prefecture_code")


def first_plan_ids(store: "Store | pd.DataFrame", fiscal_year: int) -> dict[str, int]:
    """Prefecture code → the id of its first plan (oldest accepted 計画)."""
    df = _accepted(store, fiscal_year, ("plan",))
    df = df[df["prefecture_code"].notna()].sort_values(["received_at", "id"], kind="stable")
    return {code: int(group["id"].iloc[0]) for code, group in df.groupby("prefecture_code")}


def current_request_ids(store: "Store | pd.DataFrame", fiscal_year: int) -> dict[str, int]:
    """Prefecture code → the id of its current 要望."""
    df = _accepted(store, fiscal_year, ("request",))
    return _newest(df[df["prefecture_code"].notna()], "prefecture_code")


def allocation_round_ids(store: "Store | pd.DataFrame", fiscal_year: int) -> dict[int, int]:
    """Round → the id of its current 内示 workbook (newest accepted of that round)."""
    df = _accepted(store, fiscal_year, ("allocation",))
    if df.empty or "round" not in df.columns:
        return {}
    df = df.assign(round_no=[int_or_none(v) for v in df["round"]])
    df = df[df["round_no"].notna()]
    return {int(k): v for k, v in _newest(df, "round_no").items()}


def sources(store: "Store", ids: list[int]) -> "pd.DataFrame":
    """The stored values of the submissions ``ids`` (``Store.amounts_of``: with their
    ``stage``, ``fiscal_year`` and (whose) ``prefecture_code``)."""
    return store.amounts_of(sorted(set(ids)))


def allocation_totals(store: "Store", fiscal_year: int, before_round: int | None = None, *,
                      subs: "pd.DataFrame | None" = None
                      ) -> dict[str, tuple[int | None, int | None]]:
    """Prefecture code → (基金規模, 国費) summed over the year's 内示 rounds (those before
    ``before_round`` when given); a prefecture in no round is absent. ``subs``: the year's
    submissions, when already read."""
    rounds = allocation_round_ids(store if subs is None else subs, fiscal_year)
    ids = [i for r, i in rounds.items() if before_round is None or r < before_round]
    if not ids:
        return {}
    values = store.amounts_of(ids)
    out: dict[str, tuple[int | None, int | None]] = {}
    for code, group in values.groupby("leaf_code"):
        fund = group["fund"].sum(min_count=1) if "fund" in group else None
        national = group["national"].sum(min_count=1) if "national" in group else None
        out[str(code)] = (int_or_none(fund), int_or_none(national))
    return out


# --- checks across stages at ingest ---------------------------------------------------------


class StageReads:
    """What the checks across stages read of the store during one ingest run: each read
    once, and again only after a saved file changed it (``saved``). A batch of 47 実績 reads
    the current plans once, not 47 times."""

    def __init__(self, store: "Store") -> None:
        self.store = store
        self._subs: dict[int, "pd.DataFrame"] = {}
        self._plans: dict[int, tuple[dict[str, int], "pd.DataFrame"]] = {}
        self._allocation: dict[int, tuple[dict[str, tuple[int | None, int | None]], int]] = {}
        self._history: dict[int, "PlanHistory"] = {}
        self._menus: dict[int, Any] = {}
        #: (plan, its ``leaf_totals``) of the file checked last, for ``saved`` of that file
        self._rows: tuple[Any, list[Row]] | None = None

    def submissions(self, fiscal_year: int) -> "pd.DataFrame":
        if fiscal_year not in self._subs:
            self._subs[fiscal_year] = self.store.submissions(fiscal_year)
        return self._subs[fiscal_year]

    def plans(self, fiscal_year: int) -> tuple[dict[str, int], "pd.DataFrame"]:
        """(prefecture → its current plan's id, the values of those plans)."""
        if fiscal_year not in self._plans:
            ids = current_plan_ids(self.submissions(fiscal_year), fiscal_year)
            self._plans[fiscal_year] = (ids, sources(self.store, list(ids.values())))
        return self._plans[fiscal_year]

    def values(self, fiscal_year: int, ids: list[int]) -> "pd.DataFrame":
        """``sources`` of ``ids``, from the current plans when they are all among them."""
        plan_ids, values = self.plans(fiscal_year)
        if ids and set(ids) <= set(plan_ids.values()):
            return values[values["submission_id"].isin(ids)]
        return sources(self.store, ids)

    def allocation(self, fiscal_year: int) -> tuple[dict[str, tuple[int | None, int | None]], int]:
        """(``allocation_totals``, the number of rounds so far)."""
        if fiscal_year not in self._allocation:
            subs = self.submissions(fiscal_year)
            self._allocation[fiscal_year] = (
                allocation_totals(self.store, fiscal_year, subs=subs),
                len(allocation_round_ids(subs, fiscal_year)))
        return self._allocation[fiscal_year]

    def history(self, fiscal_year: int) -> "PlanHistory":
        """The current plans of the year as the plausibility rules read them, read from the
        store once per run and then kept up to date by ``saved`` (never read again)."""
        if fiscal_year not in self._history:
            from budget.plausibility import PlanHistory

            subs = self.submissions(fiscal_year)
            received = {int(i): _iso(t) for i, t in zip(subs["id"], subs["received_at"])}
            self._history[fiscal_year] = PlanHistory.from_values(
                self.plans(fiscal_year)[1], received)
        return self._history[fiscal_year]

    def menu(self, fiscal_year: int) -> Any:
        """The year's shipped menu (``check.shipped_menu``; None when there is none), looked
        up once per run (it stats the menu's file)."""
        if fiscal_year not in self._menus:
            self._menus[fiscal_year] = _shipped_menu(fiscal_year)
        return self._menus[fiscal_year]

    def saved(self, report: FileReport, received_at: str | None = None) -> None:
        """Forget what a saved file changed: an accepted 計画 or 変更 the current plans, a 内示
        the allocations, any accepted file of a stage the list of submissions. An accepted
        計画 or 変更 stored with ``received_at`` (None: now, the newest) updates the history
        of the plausibility rules in place."""
        checked, self._rows = self._rows, None
        year = report.fiscal_year
        if year is None or not report.accepted or report.stage == "actual":
            return
        self._subs.pop(year, None)
        if report.stage in PLAN_STAGES:
            self._plans.pop(year, None)
            if year in self._history and report.prefecture_code and report.form:
                from budget.forms import form as form_of
                from budget.intake.order import now_utc
                from budget.plausibility import leaf_totals

                plan: Any = report.plan
                rows = (checked[1] if checked is not None and checked[0] is plan
                        else leaf_totals(form_of(report.form), plan))
                self._history[year].update(report.prefecture_code, received_at or now_utc(),
                                           rows)
        if report.stage == "allocation":
            self._allocation.pop(year, None)


def stage_findings(store: "Store", report: FileReport, reads: StageReads | None = None
                   ) -> list[Finding]:
    """The findings of the checks across stages of one checked file (none for a file that
    could not be read into rows): what the store says against what the file says. ``reads``:
    the run's reads of the store (``StageReads``), None to read afresh."""
    from budget.forms import form as form_of

    if report.plan is None or report.form is None or report.fiscal_year is None:
        return []
    form = form_of(report.form)
    if form.stage not in ("actual", *PLAN_STAGES) and form.references is None:
        return []  # a 要望: nothing to compare with
    reads = reads or StageReads(store)
    found: list[Finding] = []
    if form.stage == "actual":
        found += _actual_without_plan(reads, report, form)
    if form.references is not None:
        found += reference_findings(store, report, form, reads)
    if form.stage in PLAN_STAGES and not report.errors:  # a rejected plan counts for nothing
        found += _plan_over_allocation(reads, report, form)
    if form.stage in PLAN_STAGES:
        found += _implausible_amounts(reads, report, form)
    return found


def _where(report: FileReport, form: Any, cell: str | None = None) -> dict[str, Any]:
    return {"file": report.file, "sheet": form.main_sheet, "cell": cell}


def _actual_without_plan(reads: StageReads, report: FileReport, form: Any) -> list[Finding]:
    code = report.prefecture_code
    if code is None or code in reads.plans(int(report.fiscal_year or 0))[0]:
        return []
    from budget.fiscal import full_label
    from budget.prefectures import prefecture_by_code

    pref = prefecture_by_code(code)
    return [make("actual-without-plan", **_where(report, form, form.prefecture_cell),
                 prefecture=pref.label if pref else code,
                 year=full_label(int(report.fiscal_year or 0)))]


def reference_findings(store: "Store", report: FileReport, form: Any,
                       reads: StageReads | None = None) -> list[Finding]:
    """Each reference cell whose value is not what the store says of the submissions the
    workbook was filled from (``_meta`` ``reference_ids``): an error naming the cell. The
    sources must be accepted submissions of the file's year (and, for a prefecture's
    workbook, of that prefecture)."""
    from budget.forms.base import reference_values

    ids = parse_reference_ids(report.header.get(REFERENCE_IDS, ""))  # none: a blank form
    where = {"file": report.file, "sheet": form.meta_sheet,
             "cell": f"B{form.meta_keys.index(REFERENCE_IDS) + 1}"}
    if ids is None:
        return [make("reference-source-missing", **where,
                     value=report.header.get(REFERENCE_IDS), detail="参照元の記録を読み取れません")]
    year = int(report.fiscal_year or 0) + form.reference_year_offset  # 前年度計画: the year before
    src = (reads or StageReads(store)).values(year, ids)
    got = set(int(i) for i in src["submission_id"].unique()) if len(src) else set()
    missing = sorted(set(ids) - got)
    if missing:
        # an accepted source with no rows at all (a 内示 of nobody) cannot be told apart here
        every = store.submissions()
        known = every[every["id"].isin(missing) & (every["status"] == "accepted")]
        missing = sorted(set(missing) - set(int(i) for i in known["id"]))
    wrong = src[(src["fiscal_year"] != year)] if len(src) else src
    if form.per_prefecture and len(src):
        wrong = src[(src["fiscal_year"] != year)
                    | (src["prefecture_code"] != report.prefecture_code)]
    if missing or len(wrong):
        bad = missing or sorted(set(int(i) for i in wrong["submission_id"]))
        return [make("reference-source-missing", **where, value=report.header.get(REFERENCE_IDS),
                     detail=f"参照元の提出 {', '.join(map(str, bad))} がこの様式の年度・都道府県の"
                            "受理済みの提出ではありません")]
    expected = reference_values(form, src, report.header)
    names = _row_names(form, int(report.fiscal_year or 0), reads)
    plan: Any = report.plan
    out: list[Finding] = []
    for rec in plan.to_dict("records"):
        want = expected.get(str(rec["leaf_code"]), {})
        for key in form.reference_keys:
            seen, should = int_or_none(rec.get(key)), want.get(key)
            if seen != should:
                col = form.column[key]
                out.append(make(
                    "reference-changed", file=report.file, sheet=form.main_sheet,
                    cell=col.ref(int(rec["excel_row"])), leaf_code=str(rec["leaf_code"]),
                    leaf_name=names.get(str(rec["leaf_code"])),
                    value="空欄" if seen is None else f"{seen:,}",
                    expected="空欄" if should is None else f"{should:,}",
                    column=col.header.replace("\n", " ")))
    return out


def _row_names(form: Any, fiscal_year: int, reads: StageReads | None = None
               ) -> dict[str, str]:
    """Row code → the name findings show beside it (a menu item's, a prefecture's)."""
    from budget.intake.check import prefecture_menu

    if form.rows_from == "prefectures":
        return prefecture_menu(fiscal_year).names
    menu = reads.menu(fiscal_year) if reads is not None else _shipped_menu(fiscal_year)
    return {} if menu is None else menu.names  # no shipped menu: the code alone


def _shipped_menu(fiscal_year: int) -> Any:
    """``check.shipped_menu`` of the year, or None when there is none."""
    from budget.intake.check import shipped_menu

    try:
        return shipped_menu(fiscal_year)
    except Exception:  # noqa: BLE001 - no shipped menu for the year
        return None


def _plan_over_allocation(reads: StageReads, report: FileReport, form: Any) -> list[Finding]:
    """A plan whose 基金 (A+B) total exceeds the prefecture's 内示 so far: a warning at its
    total cell. No 内示 for the prefecture yet: nothing to compare (missing, not 0)."""
    code = report.prefecture_code
    if code is None:
        return []
    totals, rounds = reads.allocation(int(report.fiscal_year or 0))
    allocated = totals.get(code, (None, None))[0]
    if allocated is None:  # nothing to compare with: the plan's total is not needed
        return []
    fund = column_sum(report.plan, "fund")
    if fund is None or fund <= allocated:
        return []
    codes, categories = _menu_shape(report, reads)
    total_row = (form.summary_rows(codes, categories)[form.total_code] if codes else None)
    cell = None if total_row is None else form.column["fund"].ref(total_row)
    return [make("plan-over-allocation", **_where(report, form, cell), value=f"{fund:,}",
                 fund=f"{fund:,}", allocated=f"{allocated:,}", rounds=rounds,
                 over=f"{fund - allocated:,}")]


def column_sum(frame: Any, key: str) -> int | None:
    """The sum of a column of a form's frame; None when every cell is blank (blank is not
    0). As ``int_or_none(frame[key].sum(min_count=1))``: an integer column is summed as
    Python ints, any other by pandas."""
    import pandas as pd

    column = frame[key]
    if not pd.api.types.is_integer_dtype(column.dtype):
        return int_or_none(column.sum(min_count=1))
    values = [v for v in column.tolist() if v is not pd.NA]
    return sum(values) if values else None


def _implausible_amounts(reads: StageReads, report: FileReport, form: Any) -> list[Finding]:
    """Amounts far above the other prefectures' current plans of the year (the history part
    of ``budget.plausibility``; its fixed ceilings ran in the per-file check)."""
    from budget.plausibility import history_findings, leaf_totals, unusable_cells

    year = int(report.fiscal_year or 0)
    history = reads.history(year)
    if not history.plans:
        return []
    codes, categories = _menu_shape(report, reads)
    plan: Any = report.plan
    unusable = unusable_cells(report.findings, form)
    rows = leaf_totals(form, plan, unusable)
    if not unusable:  # the rows ``saved`` reads when the file is accepted: read once
        reads._rows = (plan, rows)
    return history_findings(history, report.file, report.prefecture_code, form, plan,
                            _row_names(form, year, reads), codes, categories, unusable,
                            rows=rows)


def _iso(time: object) -> str:
    """A receipt time as ``RunOrder`` writes one (a server store may give a datetime)."""
    iso = getattr(time, "isoformat", None)
    return str(iso(timespec="microseconds")) if callable(iso) else str(time)


def _menu_shape(report: FileReport, reads: StageReads | None = None) -> tuple[int, list[str]]:
    """(number of leaves, 大項目) of the menu ``report``'s workbook was made from, when it is
    the year's shipped menu or one of its earlier editions (same fingerprint: the same rows,
    so the same 合計 row); (0, []) otherwise — a menu given with --menu, whose rows this
    module does not know: a finding then points at the sheet, never at a wrong cell."""
    year = int(report.fiscal_year or 0)
    menu = reads.menu(year) if reads is not None else _shipped_menu(year)
    if menu is None:
        return 0, []
    known = report.menu_fingerprint == menu.fingerprint or report.menu_fingerprint in menu.earlier
    if not known:
        return 0, []
    return len(menu.codes), list(menu.categories)


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == ERROR for f in findings)
