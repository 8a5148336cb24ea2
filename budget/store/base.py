"""The Store interface: what the rest of the package asks of a store, whatever database holds
it. Every method returns plain data (tuples, dicts, ``Finding`` s) or pandas DataFrames;
nothing above this package sees SQL, a connection or a driver's exception (a database error
becomes a ``StoreError`` with a Japanese message that says what to do).

Who sent a submission is decided once, by the caller, when it is saved (``Attribution``);
the store records the decision and every reader uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from budget.findings import FileReport, Finding

from budget.errors import StoreError

PLAN_STAGE = "plan"  # 計画; later stages (要望, 内示, 変更, 実績) get their own names


class MissingStore(StoreError):
    """``open_store(..., create=False)`` of a store that does not exist (or has nothing in
    it yet)."""


@dataclass(frozen=True)
class Saved:
    """What ``Store.save`` did."""

    submission_id: int
    created: bool  # False: the same file (bytes and name) was stored before; nothing changed


@dataclass(frozen=True)
class Attribution:
    """Whose submission a file is and which year it counts for, decided at ingest.

    ``prefecture_code``: the prefecture the submission counts for (None: nobody can tell);
    ``fiscal_year``: the year it counts for; ``note``: a short Japanese reason when this is
    not simply what the workbook itself says (e.g. a prefecture's file name on another
    prefecture's form), else None.
    """

    prefecture_code: str | None
    fiscal_year: int | None
    note: str | None = None

    @classmethod
    def of_form(cls, report: "FileReport") -> "Attribution":
        """The workbook's own prefecture and year, no note."""
        return cls(report.prefecture_code, report.fiscal_year)


class Store(Protocol):
    """An open store of submissions. Use as a context manager, or call ``close``.

    A *submission* is one received file (its bytes and name), its verdict and findings, the
    contact inputs and, when accepted, its values in long form (leaf, field, value). The
    newest accepted submission per (fiscal year, stage, prefecture) is *current*.
    """

    @property
    def location(self) -> str:
        """Where the store is, as a person may be shown it (a path; for a server, its URL
        with any password masked)."""
        ...

    def close(self) -> None:
        """Close the connection; the store is not used after."""
        ...

    def __enter__(self) -> "Store": ...

    def __exit__(self, *exc: object) -> None: ...

    # --- writing -----------------------------------------------------------------------

    def save(self, report: "FileReport", content: bytes | None, *,
             attribution: Attribution | None = None, received_at: str | None = None,
             stage: str = PLAN_STAGE) -> Saved:
        """Store one received file, its findings, its contact inputs and (if accepted) its
        values, in one transaction; ``attribution`` (default: the form's own prefecture and
        year) says whose it is. Returns ``Saved``; the same file (the same bytes under the
        same name) stored before changes nothing (``created`` False). ``content`` None:
        a file too large to keep, recorded without its bytes (``file_bytes`` raises)."""
        ...

    # --- reading -----------------------------------------------------------------------

    def submissions(self, fiscal_year: int | None = None) -> "pd.DataFrame":
        """Every submission (newest first), optionally of one fiscal year: one row each with
        id, sha256, file_name, size, received_at, fiscal_year, prefecture_code (whose it is),
        form_prefecture_code (the form's), attribution_note, stage, status,
        template_version, menu_fingerprint, n_errors, n_warnings and the contact inputs
        (one column per input stored)."""
        ...

    def current_submissions(self, fiscal_year: int, stage: str = PLAN_STAGE) -> "pd.DataFrame":
        """One row per prefecture that sent anything for the year and stage: its current
        (newest accepted) submission if any, else its newest rejected one, with counts.
        Columns: prefecture_code, submission_id, status, file_name, sha256, received_at,
        form_prefecture_code, attribution_note, n_submissions, n_rejected, latest_status,
        latest_file_name, latest_received_at, n_errors, n_warnings, the contact inputs."""
        ...

    def current_amounts(self, fiscal_year: int, stage: str = PLAN_STAGE) -> "pd.DataFrame":
        """The values of each prefecture's current accepted submission of the stage, wide:
        one row per leaf the form had, with prefecture_code, submission_id, leaf_code, then
        the fields that stage's forms have (recorded as they are saved; another stage's
        fields never appear): money as a nullable integer (Int64: blank stays blank, 0
        stays 0), text as text (blank missing)."""
        ...

    def submission_amounts(self, ids: list[int], fields: list[str] | None = None
                           ) -> "pd.DataFrame":
        """The values of the given submissions (any stage, current or not), wide as in
        ``current_amounts``: one row per leaf stored, with prefecture_code (NA for a
        submission of no prefecture, e.g. a 内示 of all 47), submission_id, leaf_code, seq
        (the row's place in its workbook), then every field the store knows (only those of
        ``fields`` that it knows, when given)."""
        ...

    def submission_cells(self, ids: list[int], fields: list[str] | None = None
                         ) -> tuple[list[str], list[tuple[int, str, int]],
                                    list[tuple[int, str, str, int | str]]]:
        """The values of ``submission_amounts`` long, as stored: the fields (those of
        ``fields`` the store knows, else all; in ``submission_amounts``' column order), then
        (submission_id, leaf_code, seq) of every leaf stored, then (submission_id, leaf_code,
        field, value) of every non-blank value (a number field's number, a text field's
        text)."""
        ...

    def checked_files(self) -> dict[str, str]:
        """Key → checks version of every file ``record_checked`` recorded."""
        ...

    def record_checked(self, marks: dict[str, str]) -> bool:
        """Record that the files of ``marks`` (key: what names their bytes; value: the
        version of the checks they passed) passed their checks; False, recording nothing,
        when the store may only be read."""
        ...

    def number_cells(self, ids: list[int], fields: list[str]) -> "pd.DataFrame":
        """The non-blank numbers of ``fields`` of the given submissions, long: one row per
        stored number (submission_id, leaf_code, field, number as int64); a blank cell has
        no row. The cheapest read of a few money fields of many submissions."""
        ...

    def amounts_of(self, ids: list[int]) -> "pd.DataFrame":
        """The values of the given accepted submissions, wide, as ``current_amounts`` gives
        them (prefecture_code, submission_id, leaf_code, stage, fiscal_year, every known
        field), whatever their
        stage or prefecture (a 内示 has none): what a later stage's workbook was pre-filled
        from."""
        ...

    def stored_files(self) -> set[tuple[str, str]]:
        """(SHA-256, file name) of every stored submission: what counts as "the same file"."""
        ...

    def submission_for(self, sha256: str, file_name: str) -> dict[str, object] | None:
        """The stored submission of this file (these bytes under this name) as a dict of the
        columns of ``submissions``, or None."""
        ...

    def submission_details(self, ids: list[int]) -> "pd.DataFrame":
        """submission_id, template_version, menu_fingerprint and size of the given
        submissions."""
        ...

    def first_errors(self, ids: list[int]) -> dict[int, str]:
        """The message of the first error finding of each given submission; submissions
        without an error are absent."""
        ...

    def findings(self, submission_id: int) -> list["Finding"]:
        """The findings of one submission, in the order they were stored."""
        ...

    def file_bytes(self, submission_id: int) -> bytes:
        """The original bytes of one submission's file (``StoreError`` when absent)."""
        ...
