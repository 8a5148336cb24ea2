"""What changed between two submissions, cell by cell (``budget diff``, and the ingest run
report's list of what each resubmission changed).

Over ``Store.submissions`` and the values read long (``Store.submission_cells``; a run's
resubmissions a part of the pairs at a time). A change is one
(leaf, field) whose value differs: entered → blank and blank → entered count (blank is not
zero), a formula column (総事業費, 基金計, 執行額の計) does not (it follows its inputs).
Two submissions are comparable when they are of one prefecture, fund year and stage family
(計画 and 変更 are one family; a 実績 also of one execution year; a 内示 of one round).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from budget.errors import BudgetError, UsageError

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pandas as pd

    from budget.store import Store

class NothingToCompare(BudgetError):
    """Two submissions to compare are not there (fewer than two accepted, or one of them
    rejected: its values were never stored)."""


#: Field → how a person names it (the forms' headers on one line).
FIELD_LABELS: dict[str, str] = {
    "total": "総事業費(A+B+C)", "national": "国(A)", "prefectural": "都道府県(B)",
    "fund": "基金計(A+B)", "other": "その他(C)", "public": "公", "private": "民",
    "commissioned": "うち受託事業等", "implementer": "事業の実施主体",
    "output": "事業量・アウトプット指標", "remarks": "備考", "reason": "理由",
    "actual_national": "執行額 国(A)", "actual_prefectural": "執行額 都道府県(B)",
    "actual_other": "執行額 その他(C)", "actual_fund": "執行額 計(A+B)",
    "actual_total": "執行額 総額(A+B+C)", "output_result": "アウトプット実績",
    "achievement": "達成状況",
}
#: Labels that differ by stage.
STAGE_FIELD_LABELS: dict[str, dict[str, str]] = {
    "allocation": {"fund": "基金規模(A+B)", "national": "国費(A)"},
    "revision": {"reason": "変更理由"},
}
#: Formula columns per stage: not compared (they follow their inputs).
DERIVED: dict[str, frozenset[str]] = {
    "allocation": frozenset(),
    "actual": frozenset({"actual_fund", "actual_total", "total", "fund"}),
}
_DEFAULT_DERIVED = frozenset({"total", "fund", "actual_fund", "actual_total"})
_KEYS = ("prefecture_code", "submission_id", "leaf_code", "seq")
BLANK_JA = "（空欄）"
CHANGE_COLUMNS = ["leaf_code", "label", "field", "field_label", "before", "after", "kind"]
KIND_JA = {"changed": "変更", "added": "追加", "removed": "削除"}


@dataclass
class SubmissionDiff:
    """Two submissions and the cells that differ (``changes``: ``CHANGE_COLUMNS``; kind
    changed / added (blank before) / removed (blank after); rows in the workbook's order)."""

    before: dict[str, Any]  # the earlier submission (a row of ``Store.submissions``)
    after: dict[str, Any]
    changes: "pd.DataFrame"


def field_label(field: str, stage: str | None = None) -> str:
    """How a person names ``field`` (a registered form's header when this module has none)."""
    if stage in STAGE_FIELD_LABELS and field in STAGE_FIELD_LABELS[stage]:
        return STAGE_FIELD_LABELS[stage][field]
    if field in FIELD_LABELS:
        return FIELD_LABELS[field]
    from budget.forms import registered

    for f in registered():
        column = f.column.get(field)
        if column is not None:
            return str(column.header).replace("\n", "")
    return field


def _plain(value: Any) -> Any:
    if value is None:
        return None
    try:
        if value != value:
            return None
    except TypeError:
        return None
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _row(subs: "pd.DataFrame", sid: int) -> dict[str, Any]:
    found = subs[subs["id"] == sid]
    if found.empty:
        raise UsageError(f"提出ID {sid} はデータベースにありません。budget status で提出IDを"
                         "確認してください。")
    return {k: _plain(v) for k, v in found.iloc[0].to_dict().items()}


@lru_cache(maxsize=8)  # a run compares hundreds of pairs of one year: read its menu once
def _leaf_labels(fiscal_year: Any, stage: str | None) -> dict[str, str]:
    """leaf code → 「R5-02 市区町村介護人材確保プラットフォーム構築事業」 (内示: 「13 東京都」)."""
    from budget.prefectures import all_prefectures

    if stage == "allocation":
        return {p.code: p.label for p in all_prefectures()}
    try:
        from budget.menu import load_menu

        menu = load_menu(int(fiscal_year))
    except Exception:  # noqa: BLE001 - no menu for the year: codes alone still say it
        return {}
    return {r.leaf_code: f"{r.leaf_code} {r.item_name}" + (f"／{r.sub_item_name}"
                                                           if r.sub_item_name else "")
            for r in menu.itertuples(index=False)}


#: What ``_by_cells`` reads of one submission: each leaf's values (a tuple in the order of
#: the fields compared, blank as None; a leaf given twice: its later values over the earlier
#: ones, blanks excepted) and each leaf's place (its ``seq``).
Values = tuple[dict[str, tuple[Any, ...]], dict[str, float]]

#: What ``Store.submission_cells`` gives: the fields, (submission_id, leaf_code, seq) of each
#: leaf, (submission_id, leaf_code, field, value) of each non-blank value.
Cells = tuple[list[str], list[tuple[int, str, int]], list[tuple[int, str, str, Any]]]


def compare(before: dict[str, Any], after: dict[str, Any], cells: Cells) -> SubmissionDiff:
    """The ``SubmissionDiff`` of two submissions (rows of ``Store.submissions``) from
    ``cells`` (``Store.submission_cells`` of both)."""
    import pandas as pd

    stage = str(after.get("stage") or "plan")
    fields, parts = _by_cells(cells, DERIVED.get(stage, _DEFAULT_DERIVED))
    rows = _changes(before, after, fields, parts)
    return SubmissionDiff(before, after, pd.DataFrame(rows, columns=CHANGE_COLUMNS, dtype=object))


def _changes(before: dict[str, Any], after: dict[str, Any], fields: list[str],
             parts: dict[int, Values]) -> list[dict[str, Any]]:
    """The rows of ``SubmissionDiff.changes`` (``CHANGE_COLUMNS``), from ``_by_cells``:
    each (leaf, field) whose value differs, ordered by the leaf's place (the later
    submission's first), leaf code, then field."""
    stage = str(after.get("stage") or "plan")
    empty: Values = ({}, {})
    a, before_order = parts.get(int(before["id"]), empty)
    b, after_order = parts.get(int(after["id"]), empty)
    blank = (None,) * len(fields)
    found: list[tuple[str, int, Any, Any]] = []
    for leaf in a.keys() | b.keys():
        old_row, new_row = a.get(leaf, blank), b.get(leaf, blank)
        if old_row == new_row:  # the same values (a blank is None on both sides)
            continue
        for i, (old, new) in enumerate(zip(old_row, new_row)):
            old, new = _plain(old), _plain(new)
            if old != new:
                found.append((leaf, i, old, new))
    if not found:
        return []
    order = {**before_order, **after_order}  # the later submission's places first
    found.sort(key=lambda k: (order.get(k[0], 1e9), k[0], k[1]))
    labels = _leaf_labels(after.get("fiscal_year"), stage)
    return [{"leaf_code": leaf, "label": labels.get(leaf, leaf), "field": fields[i],
             "field_label": field_label(fields[i], stage), "before": old, "after": new,
             "kind": "added" if old is None else "removed" if new is None else "changed"}
            for leaf, i, old, new in found]


def _accepted_values(row: dict[str, Any]) -> None:
    if row.get("status") != "accepted":
        raise NothingToCompare(f"提出ID {row['id']}（{row['file_name']}）は差戻しのため、値が保存されて"
                         "いません。受理した提出を指定してください。")


def diff_submissions(store: "Store", from_id: int, to_id: int) -> SubmissionDiff:
    """What changed from submission ``from_id`` to ``to_id`` (both accepted; else
    ``UsageError`` saying which)."""
    subs = store.submissions()
    before, after = _row(subs, int(from_id)), _row(subs, int(to_id))
    for row in (before, after):
        _accepted_values(row)
    return compare(before, after, store.submission_cells([int(from_id), int(to_id)]))


def _family_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """What makes two submissions comparable (see the module docstring)."""
    stage = str(row.get("stage") or "plan")
    family = "plan" if stage in ("plan", "revision") else stage
    extra = row.get("exec_year") if stage == "actual" else row.get("round") \
        if stage == "allocation" else None
    return (row.get("prefecture_code"), row.get("fiscal_year"), family,
            None if extra is None else str(extra).strip())


def latest_pair(store: "Store", prefecture_code: str, fiscal_year: int) -> tuple[int, int]:
    """(earlier id, later id): the prefecture's newest accepted submission of the year that
    has an earlier accepted one of the same stage family, and that one; ``UsageError`` when
    there is none."""
    from budget.prefectures import prefecture_by_code

    subs = store.submissions(fiscal_year)
    mine = subs[(subs["prefecture_code"] == prefecture_code) & (subs["status"] == "accepted")]
    rows = [{k: _plain(v) for k, v in r.items()} for r in mine.to_dict("records")]
    pref = prefecture_by_code(prefecture_code)
    name = pref.label if pref else prefecture_code
    for i, newest in enumerate(rows):  # newest first: the newest that has an earlier one
        key = _family_key(newest)
        earlier = next((r for r in rows[i + 1:] if _family_key(r) == key), None)
        if earlier is not None:
            return int(earlier["id"]), int(newest["id"])
    raise NothingToCompare(f"{name} の受理した提出が 2 件ないため比べられません（受理 {len(rows)} 件）。"
                     "--from と --to で提出IDを指定することもできます。")


RESUBMISSION_COLUMNS = ["submission_id", "previous_id", "previous_file_name", "prefecture_code",
                        *CHANGE_COLUMNS]


class ChangeList:
    """What a run's resubmissions changed (``resubmission_changes``): rows (dicts of
    ``RESUBMISSION_COLUMNS``) kept in a temporary file, not in memory, so that a run holds
    none of them whatever their number (a run of 1,410 files has ~30,000; the run report
    reads them twice, for its column widths and to write them). Iterating gives the rows in
    the order they were added; ``frame`` gives them as a DataFrame."""

    def __init__(self) -> None:
        import tempfile

        self._file = tempfile.TemporaryFile()  # removed when closed (on Windows too)
        self._count = 0

    def extend(self, rows: list[dict[str, Any]]) -> None:
        """Add ``rows`` after those already there."""
        import pickle

        if rows:
            self._file.seek(0, 2)
            pickle.dump(rows, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self._count += len(rows)

    def __len__(self) -> int:
        return self._count

    @property
    def empty(self) -> bool:
        """True when no resubmission was compared."""
        return self._count == 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        import pickle

        if not self._count:
            return
        self._file.seek(0)
        end = self._file.seek(0, 2)
        pos = 0
        while pos < end:  # read a part, remember where the next one starts
            self._file.seek(pos)
            part = pickle.load(self._file)  # written by ``extend`` only: our own data
            pos = self._file.tell()
            yield from part

    def frame(self) -> "pd.DataFrame":
        """The rows as a DataFrame (``RESUBMISSION_COLUMNS``, values as stored)."""
        import pandas as pd

        return pd.DataFrame(list(self), columns=RESUBMISSION_COLUMNS, dtype=object)

    def close(self) -> None:
        """Remove the temporary file (also done when the list is let go)."""
        self._file.close()


def resubmission_changes(store: "Store", ids: list[int]) -> ChangeList:
    """For each accepted submission of ``ids`` that has an earlier accepted one of the same
    prefecture, year and stage family: what changed against the newest such one. Rows
    (``RESUBMISSION_COLUMNS``): submission_id, previous_id, previous_file_name,
    prefecture_code, then ``CHANGE_COLUMNS``; a resubmission that changed nothing has one
    row with kind "same". Computed ``PAIRS_AT_ONCE`` pairs at a time and kept on disk
    (``ChangeList``): memory stays flat in the number of files."""
    changes = ChangeList()
    wanted = {int(i) for i in ids}
    if not wanted:
        return changes
    subs = store.submissions()
    subs = subs[subs["status"] == "accepted"]
    rows = [{k: _plain(v) for k, v in r.items()} for r in subs.to_dict("records")]
    del subs
    rows.sort(key=lambda r: (str(r["received_at"]), int(r["id"])))
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    last: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        key = _family_key(r)
        if int(r["id"]) in wanted and key in last:
            pairs.append((last[key], r))
        last[key] = r
    out: list[dict[str, Any]] = []
    values_now: Any = None
    for before, after, values in _with_values(store, pairs):
        if values is not values_now:  # a new part: the last one's rows to disk
            changes.extend(out)
            out, values_now = [], values
        skip = DERIVED.get(str(after.get("stage") or "plan"), _DEFAULT_DERIVED)
        if skip not in values:
            values[skip] = _by_cells(values["cells"], skip)
        found = _changes(before, after, *values[skip])
        head = {"submission_id": int(after["id"]), "previous_id": int(before["id"]),
                "previous_file_name": before["file_name"],
                "prefecture_code": after.get("prefecture_code")}
        if not found:
            out.append({**head, **{c: None for c in CHANGE_COLUMNS}, "kind": "same"})
        out += [{**head, **rec} for rec in found]
    changes.extend(out)
    return changes


#: Pairs whose values are read at once (``resubmission_changes``): memory stays flat in the
#: number of files (a run of 1,410 read all at once peaked at ~350 MB). A part of 100 pairs
#: peaks at ~28 MB of Python objects, of 50 at ~15 MB, for the same CPU (±2 %).
PAIRS_AT_ONCE = 50


def _with_values(store: "Store", pairs: list[tuple[dict[str, Any], dict[str, Any]]]
                 ) -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[Any, Any]]]:
    """Each pair with the values of its part of ``pairs`` (``PAIRS_AT_ONCE`` at a time):
    {"cells": ``Store.submission_cells`` of the fields the part's pairs compare (a formula
    column none of them compares is not read), and what ``_by_cells`` read of it}."""
    known: list[str] | None = None  # every field: the first part reads them all
    for start in range(0, len(pairs), PAIRS_AT_ONCE):
        part = pairs[start:start + PAIRS_AT_ONCE]
        skipped = frozenset.intersection(*(DERIVED.get(str(after.get("stage") or "plan"),
                                                       _DEFAULT_DERIVED)
                                           for _before, after in part))
        read = store.submission_cells([int(x["id"]) for p in part for x in p],
                                      None if known is None
                                      else [f for f in known if f not in skipped])
        if known is None:
            known = read[0]
        values: dict[Any, Any] = {"cells": read}
        for before, after in part:
            yield before, after, values


def _by_cells(read: Cells, skip: frozenset[str]) -> tuple[list[str], dict[int, Values]]:
    """The fields compared (those of ``read`` but ``skip``), and each submission's
    ``Values``, read in one pass over ``Store.submission_cells``."""
    known, leaves, cells = read
    fields = [f for f in known if f not in skip]
    at = {f: i for i, f in enumerate(fields)}
    out: dict[int, Values] = {}
    rows: dict[tuple[int, str], list[Any]] = {}
    width = len(fields)
    for sid, leaf, seq in leaves:  # keys as the store gives them (the cells' too)
        out.setdefault(int(sid), ({}, {}))[1].setdefault(str(leaf), float(seq))
        rows.setdefault((sid, leaf), [None] * width)
    for sid, leaf, field, value in cells:
        i = at.get(field)
        if i is not None:
            row = rows.get((sid, leaf))
            if row is not None:  # (a value of no leaf stored has none)
                row[i] = value
    for (sid, leaf), row in rows.items():
        out[int(sid)][0][str(leaf)] = tuple(row)
    return fields, out


def format_value(value: Any) -> str:
    """A value as a change line shows it: amounts with thousands separators, blank as
    （空欄）, control characters as U+FFFD (safe on a terminal)."""
    import re

    if value is None:
        return BLANK_JA
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"
    return re.sub("[\x00-\x1f\x7f]", "\ufffd", str(value))


def change_line(row: dict[str, Any]) -> str:
    """「R5-02 市区町村… 国(A) 1,200 → 1,500」."""
    return (f"{row['label']} {row['field_label']} {format_value(row['before'])} → "
            f"{format_value(row['after'])}")
