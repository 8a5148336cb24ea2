"""The batch: validate a folder of returned workbooks, store every one, report the run.

Functions a notebook can call as well as the CLI:

* ``validate_files(paths, settings)`` → one ``FileReport`` per file; stores nothing.
* ``ingest_folder(folder, db_path, settings, reports_dir)`` → ``IngestRun``: every workbook of
  the folder validated and saved (one transaction per file), a return copy per rejected file,
  and the run's Excel report.
* ``submission_status(store, year)`` → the 47 prefectures' state for the year.

A file that cannot be read or parsed never stops the batch and is never lost: its bytes are
stored with status rejected and the finding that says why. The same bytes twice are one
submission; the second time is reported 「登録済み（変更なし）」.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from budget.findings import ERROR, WARNING, FileReport, Finding

if TYPE_CHECKING:
    import pandas as pd

    from budget.store import Store
    from budget.validate import Settings

STATUS_JA = {"accepted": "受理", "rejected": "差戻し"}
NEW_JA = "新規"
DUPLICATE_JA = "登録済み（変更なし）"
NOT_SUBMITTED_JA = "未提出"
RESUBMISSION_REJECTED_JA = "再提出差戻しあり"
RETURNS_PREFIX = "返送_"
REPORT_PREFIX = "取込結果_"


# --- which files of a folder are tried -------------------------------------------------


def skip_reason(path: Path) -> str | None:
    """Why ``path`` is not tried as a submission (a Japanese note), or None to try it."""
    name = path.name
    if name.startswith("~$"):
        return "Excel の作業中ファイル（~$…）のため読み飛ばしました。"
    if name.startswith(".~lock.") and name.endswith("#"):
        return "LibreOffice のロックファイル（.~lock…#）のため読み飛ばしました。"
    if name.startswith("."):
        kind = "隠しフォルダ" if path.is_dir() else "隠しファイル"
        return f"{kind}のため読み飛ばしました。"
    if path.is_dir():
        return "フォルダのため読み飛ばしました（フォルダの中は読みません）。"
    if not path.is_file():
        return "通常のファイルではないため読み飛ばしました。"
    return None


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str  # Japanese


def folder_entries(folder: str | Path) -> tuple[list[Path], list[Skipped]]:
    """(files to try, sorted by name; entries skipped with the reason)."""
    tried: list[Path] = []
    skipped: list[Skipped] = []
    for path in sorted(Path(folder).iterdir(), key=lambda p: p.name):
        reason = skip_reason(path)
        if reason is None:
            tried.append(path)
        else:
            skipped.append(Skipped(path, reason))
    return tried, skipped


# --- validation only -------------------------------------------------------------------


def validate_files(paths: Iterable[str | Path],
                   settings: "Settings | None" = None) -> list[FileReport]:
    """Check each file (as ``budget validate`` does); nothing is stored."""
    from budget.validate import Settings, check_file

    settings = settings or Settings()
    return [check_file(Path(p), settings) for p in paths]


# --- the batch -------------------------------------------------------------------------


@dataclass
class FileResult:
    """What happened to one file of a run."""

    path: Path
    report: FileReport  # for a file stored before: rebuilt from the store (no plan)
    status: str  # "accepted" | "rejected" (for a duplicate: as stored the first time)
    submission_id: int | None = None  # None: not stored (the file could not be read at all)
    created: bool | None = None  # True: new submission; False: the same bytes were stored
    returned: Path | None = None  # the annotated return copy
    note: str | None = None  # Japanese: why no return copy, why not stored, …

    @property
    def file(self) -> str:
        return self.path.name

    @property
    def status_ja(self) -> str:
        return STATUS_JA[self.status]

    @property
    def stored_ja(self) -> str:
        return {True: NEW_JA, False: DUPLICATE_JA}.get(self.created, "未登録")

    @property
    def n_errors(self) -> int:
        return sum(f.severity == ERROR for f in self.report.findings)

    @property
    def n_warnings(self) -> int:
        return sum(f.severity == WARNING for f in self.report.findings)


@dataclass
class IngestRun:
    folder: Path
    db_path: Path
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    results: list[FileResult] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    report_path: Path | None = None  # the run's Excel report
    returns_dir: Path | None = None  # folder of the return copies

    @property
    def accepted(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "accepted"]

    @property
    def rejected(self) -> list[FileResult]:
        return [r for r in self.results if r.status != "accepted"]

    @property
    def all_accepted(self) -> bool:
        """True when every tried file was accepted (skipped lock files do not count)."""
        return not self.rejected

    @property
    def stamp(self) -> str:
        return self.started_at.strftime("%Y%m%d-%H%M%S")


Progress = Callable[[Path], None]


def ingest_folder(
    folder: str | Path,
    db_path: str | Path,
    settings: "Settings | None" = None,
    reports_dir: str | Path | None = "reports",
    progress: Progress | None = None,
) -> IngestRun:
    """Validate and store every workbook of ``folder`` (sorted by name), write a return copy
    of each rejected file and the run's report into ``reports_dir`` (None: no files written
    besides the store). ``progress`` is called with each file's path once it is done."""
    from budget.store import Store
    from budget.validate import Settings

    settings = settings or Settings()
    folder = Path(folder)
    run = IngestRun(folder, Path(db_path), dt.datetime.now().astimezone())
    files, run.skipped = folder_entries(folder)
    if not files:
        run.finished_at = dt.datetime.now().astimezone()
        return run
    report_path = None
    if reports_dir is not None:
        report_path = reserve_report_path(Path(reports_dir), run.stamp)
        run.returns_dir = report_path.with_name(
            RETURNS_PREFIX + report_path.stem.removeprefix(REPORT_PREFIX))

    used_names: set[str] = set()
    with Store(db_path) as store, _store_errors(db_path):
        for path in files:
            result = ingest_file(store, path, settings)
            if run.returns_dir is not None and result.status == "rejected":
                _return_copy(result, path, run.returns_dir, used_names)
            run.results.append(result)
            if progress is not None:
                progress(path)
    run.finished_at = dt.datetime.now().astimezone()
    if report_path is not None:
        from budget.run_report import write_run_report

        write_run_report(run, report_path)
        run.report_path = report_path
    return run


@contextlib.contextmanager
def _store_errors(db_path: str | Path) -> Iterator[None]:
    import sqlite3

    from budget.errors import StoreError

    try:
        yield
    except sqlite3.Error as exc:
        raise StoreError(f"データベース {db_path} に書き込めません（{exc}）。"
                         "登録済みの提出は失われていません。原因を取り除いて再実行してください。"
                         ) from exc


def ingest_file(store: "Store", path: Path, settings: "Settings") -> FileResult:
    """Validate and store one file; never raises for what is inside the file."""
    from budget.validate import check_bytes

    try:
        content = path.read_bytes()
    except OSError as exc:
        report = FileReport(path.name, "", 0)
        return FileResult(path, report, "rejected",
                          note=f"ファイルを読み取れないため登録できませんでした（{exc.strerror or exc}）。")
    sha = hashlib.sha256(content).hexdigest()
    known = store.submission_by_sha256(sha)
    if known is not None:  # the same bytes were ingested before: nothing changes
        report = _stored_report(store, known, path.name)
        return FileResult(path, report, str(known["status"]), int(known["id"]), False)
    try:
        report = check_bytes(content, path.name, settings)
        if report.sha256 != sha:  # the validator hashes what it read: it must be these bytes
            raise RuntimeError(f"sha256 {report.sha256!r} != {sha!r}")
    except Exception as exc:  # noqa: BLE001 - a bug must not stop the batch or store a verdict
        report = FileReport(path.name, sha, len(content))
        return FileResult(path, report, "rejected", note=(
            "内部エラーのため確認できず、登録しませんでした（"
            f"{type(exc).__name__}: {str(exc)[:200]}）。開発担当に連絡してください。"))
    saved = store.save(report, content)
    if not saved.created:  # another ingest stored the same bytes a moment ago
        known = store.submission_by_sha256(sha)
        return FileResult(path, report, str(known["status"]), saved.submission_id, False)
    return FileResult(path, report, report.status, saved.submission_id, True)


def _stored_report(store: "Store", row: dict, file_name: str) -> FileReport:
    findings = [Finding(f.code, f.severity, f.message, file_name, f.sheet, f.cell,
                        f.leaf_code, f.leaf_name, f.value)
                for f in store.findings(int(row["id"]))]
    return FileReport(file_name, str(row["sha256"]), int(row["size"]), findings,
                      row["fiscal_year"], row["prefecture_code"], row["template_version"],
                      row["menu_fingerprint"])


def _return_copy(result: FileResult, path: Path, returns_dir: Path, used: set[str]) -> None:
    from budget.annotate import return_copy_name, try_annotate

    if result.submission_id is None:
        return
    name = return_copy_name(path.name, result.report)
    stem, n = name.removesuffix(".xlsx"), 2
    while name in used:
        name, n = f"{stem}_{n}.xlsx", n + 1
    used.add(name)
    try:
        content = path.read_bytes()
    except OSError as exc:
        result.note = f"返送用ファイルを作成できませんでした（{exc.strerror or exc}）。"
        return
    written, reason = try_annotate(content, result.report, returns_dir / name)
    result.returned = written
    if reason:
        result.note = reason


def reserve_report_path(reports_dir: Path, stamp: str) -> Path:
    """A new ``取込結果_<stamp>.xlsx`` in ``reports_dir`` (``_2``… if two runs share a second),
    created empty so that two runs never pick the same name."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        suffix = "" if n == 1 else f"_{n}"
        path = reports_dir / f"{REPORT_PREFIX}{stamp}{suffix}.xlsx"
        try:
            with open(path, "xb"):
                return path
        except FileExistsError:
            n += 1


# --- status of the year ----------------------------------------------------------------


STATUS_COLUMNS = ["prefecture_code", "prefecture", "status", "note", "file_name",
                  "received_at", "n_submissions", "fund_total", "submission_id"]


def submission_status(store: "Store", year: int) -> "pd.DataFrame":
    """One row per prefecture (47, code order): its state for the fiscal year.

    status: 未提出 / 受理 / 差戻し (差戻し: nothing accepted and the newest was rejected);
    note: 再提出差戻しあり when an accepted plan has a newer rejected resubmission;
    file_name / received_at (local time) / submission_id: the current submission (the newest
    accepted, else the newest rejected); n_submissions; fund_total: 基金計 (A+B) of the current
    accepted plan in 千円 (Int64, missing when nothing is accepted).
    """
    import pandas as pd

    from budget.prefectures import all_prefectures

    cur = store.current_submissions(year).set_index("prefecture_code")
    amounts = store.current_amounts(year)
    fund = amounts.groupby("prefecture_code")["fund"].sum() if len(amounts) else pd.Series()
    rows = []
    for p in all_prefectures():
        row = {"prefecture_code": p.code, "prefecture": p.name_ja, "status": NOT_SUBMITTED_JA,
               "note": "", "file_name": "", "received_at": "", "n_submissions": 0,
               "fund_total": None, "submission_id": None}
        if p.code in cur.index:
            c = cur.loc[p.code]
            row.update(status=STATUS_JA[c["status"]], file_name=c["file_name"],
                       received_at=local_time(c["received_at"]),
                       n_submissions=int(c["n_submissions"]),
                       submission_id=int(c["submission_id"]))
            if c["status"] == "accepted":
                row["fund_total"] = int(fund.get(p.code, 0))
                if c["latest_status"] == "rejected":
                    row["note"] = RESUBMISSION_REJECTED_JA
        rows.append(row)
    df = pd.DataFrame(rows, columns=STATUS_COLUMNS)
    df["n_submissions"] = df["n_submissions"].astype("int64")
    df["fund_total"] = df["fund_total"].astype("Int64")
    df["submission_id"] = df["submission_id"].astype("Int64")
    return df


def local_time(iso: str) -> str:
    """A stored UTC timestamp as local ``YYYY-MM-DD HH:MM:SS``."""
    try:
        return dt.datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return str(iso or "")


def is_db_missing(db_path: str | Path) -> bool:
    return not os.path.exists(db_path)
