"""What an ingest run did, file by file: the values ``budget.intake.batch`` returns and
``budget.render`` shows (``IngestRun``, ``FileResult``, ``Skipped``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from budget.findings import ERROR, STATUS_JA, WARNING, FileReport
from budget.intake.receive import received_name

if TYPE_CHECKING:
    pass

NEW_JA = "新規"
DUPLICATE_JA = "登録済み（変更なし）"
NOT_STORED_JA = "未登録"

Returned = tuple["Path | None", "str | None"]  # a return copy: (the copy written, why not)


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str  # Japanese

    @property
    def name(self) -> str:
        """The entry's name as shown (``receive.received_name``)."""
        return received_name(self.path)


@dataclass
class FileResult:
    """What happened to one file of a run."""

    path: Path
    #: findings and identity; no plan (its rows are in the store, let go once stored, so a
    #: run of any size holds none): ``status`` is the verdict. For a file stored before:
    #: rebuilt from the store.
    report: FileReport
    status: str  # "accepted" | "rejected" (for a duplicate: as stored the first time)
    prefecture_code: str | None = None  # whose submission it is (``attribution``)
    submission_id: int | None = None  # None: not stored (unreadable, or its check failed)
    created: bool | None = None  # True: new submission; False: the same file was stored
    returned: Path | None = None  # the annotated return copy
    note: str | None = None  # Japanese: why no return copy, why not stored, …

    @property
    def file(self) -> str:
        """The file's name as stored and shown (``receive.received_name``; for a return copy
        sent back, the plan's own name)."""
        return self.report.file or received_name(self.path)

    @property
    def status_ja(self) -> str:
        return STATUS_JA[self.status]

    @property
    def stored_ja(self) -> str:
        if self.created is None:
            return NOT_STORED_JA
        return NEW_JA if self.created else DUPLICATE_JA

    @property
    def n_errors(self) -> int:
        return sum(f.severity == ERROR for f in self.report.findings)

    @property
    def n_warnings(self) -> int:
        return sum(f.severity == WARNING for f in self.report.findings)


@dataclass
class IngestRun:
    folder: Path
    db_path: str  # the store's location as it may be shown (``Store.location``)
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    results: list[FileResult] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    report_path: Path | None = None  # the run's Excel report
    returns_dir: Path | None = None  # folder of the return copies (None: no copy was made)
    #: what each resubmission changed (``analysis.diff.resubmission_changes``: a ``ChangeList``,
    #: kept on disk, so a run of any size holds none of its rows)
    changes: Any = None

    @property
    def accepted(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "accepted"]

    @property
    def rejected(self) -> list[FileResult]:
        return [r for r in self.results if r.status != "accepted"]

    @property
    def all_accepted(self) -> bool:
        """True when every tried file was accepted (skipped files do not count)."""
        return not self.rejected

    @property
    def stamp(self) -> str:
        return self.started_at.strftime("%Y%m%d-%H%M%S")



def add_note(result: FileResult, note: str | None) -> None:
    """Add a Japanese note to a file's result (after any it has)."""
    if note:
        result.note = f"{result.note}\n{note}" if result.note else note
