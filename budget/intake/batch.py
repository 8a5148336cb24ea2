"""The batch: validate a folder of returned workbooks, store every one, report the run.

Functions a notebook can call as well as the CLI:

* ``annotate_reports(paths, reports, out_dir)`` writes the return copies of checked files.
* ``ingest_folder(folder, db_path, settings, reports_dir, progress)`` → ``IngestRun``: every
  workbook of the folder checked (by forked workers when there are enough files), saved in
  folder order with one transaction per file, a return copy per rejected file, the run's Excel
  report.
* ``attribution(file_name, form_prefecture, fiscal_year, accepted=…)`` → whose submission a
  file is (decided here, once, and stored with it; the store's migration uses it for old rows).

Which entries of a folder are tried: files named like a spreadsheet (``.xlsx``, ``.xlsm``,
``.xls``, ``.xlsb``, ``.ods``, any case), so that a sender who saved in the wrong format gets a
rejection that says so. Everything else (lock files ``~$…`` and ``.~lock…#``, hidden entries,
folders, a cover letter ``.pdf``, ``readme.txt``, a ``.csv``…) is skipped with a note, and
so is a symbolic link or anything that is not a regular file (a FIFO, a device): never
opened (``budget.intake.receive``, the one way a received file is read).

A file that cannot be parsed never stops the batch and is never lost: its bytes are stored
with status rejected and the finding that says why. A file above the size limit
(``Settings.max_file_bytes``, ``BUDGET_MAX_FILE_MB``) is not read: it is stored as rejected
with its streamed SHA-256 and size, without its bytes. A name that is not valid UTF-8 is
stored and shown with ``\\xNN`` escapes (lossless; ``receive.received_name``). Files of one
prefecture and year in one run are stored in the order of the workbooks' last-saved times
(``budget.intake.order``), so the newer becomes current whatever the names say; a return
copy of ours sent back is stored under the plan's own name (``budget.intake.returned``).

Only a file the operating system will not let us read, or one whose check failed inside the
validator itself (an ``internal-error`` finding: a bug, not the sender's mistake), is
reported without being stored, so that a re-run checks it again. The same file twice (the same bytes under the same name) is one submission;
the second time is reported 「登録済み（変更なし）」 with the verdict stored the first time. The
same bytes under another name are checked and stored as a submission of their own: the verdict
depends on the name (the prefecture in it must match the file's).
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import hashlib
import itertools
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from budget.attribution import attribution, attribution_of
from budget.findings import ERROR, FileReport, Finding
from budget.intake.receive import received_name
from budget.intake.results import (
    FileResult,
    IngestRun,
    Returned,
    Skipped,
    add_note,
)
from budget.intake.workers import _Checked

if TYPE_CHECKING:

    from budget.intake.check import Settings
    from budget.intake.order import RunOrder
    from budget.stages import StageReads
    from budget.store import Store

RETURNS_PREFIX = "返送_"
REPORT_PREFIX = "取込結果_"


# --- which files of a folder are tried -------------------------------------------------

#: Names of the files tried as submissions (compared lower-case). Besides the template's own
#: .xlsx: formats a sender may have saved in by mistake, which the check rejects with a
#: message that says what to do (macro workbook, legacy .xls, .xlsb, LibreOffice's .ods).
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")


def skip_reason(path: Path) -> str | None:
    """Why ``path`` is not tried as a submission (a Japanese note), or None to try it. Looks
    at the entry itself (``lstat``): a link is never followed, only a regular file is tried."""
    from budget.intake.receive import LINK_JA, NOT_REGULAR_JA

    name = received_name(path)
    try:
        st = os.lstat(path)
    except OSError as exc:
        return f"ファイルの情報を読み取れないため読み飛ばしました（{exc.strerror or exc}）。"
    if stat.S_ISLNK(st.st_mode):
        return (f"{LINK_JA}。読み飛ばしました。提出ファイルであれば、ファイルそのものを"
                "フォルダに置いてください。")
    is_dir = stat.S_ISDIR(st.st_mode)
    if name.startswith("~$"):
        return "Excel の作業中ファイル（~$…）のため読み飛ばしました。"
    if name.startswith(".~lock.") and name.endswith("#"):
        return "LibreOffice のロックファイル（.~lock…#）のため読み飛ばしました。"
    if name.startswith("."):
        kind = "隠しフォルダ" if is_dir else "隠しファイル"
        return f"{kind}のため読み飛ばしました。"
    if is_dir:
        return "フォルダのため読み飛ばしました（フォルダの中は読みません）。"
    if not stat.S_ISREG(st.st_mode):
        return f"{NOT_REGULAR_JA}。読み飛ばしました。"
    if path.suffix.lower() not in WORKBOOK_SUFFIXES:
        return ("Excel ブック（.xlsx など）ではないため読み飛ばしました（登録していません）。"
                "提出ファイルであれば、Excel ブック形式で送り直してもらってください。")
    return None


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


# --- the batch -------------------------------------------------------------------------


Progress = Callable[[Path], None]


def ingest_folder(
    folder: str | Path,
    db_path: str | Path,
    settings: "Settings | None" = None,
    reports_dir: str | Path | None = "reports",
    progress: Progress | None = None,
    workers: int | None = None,
) -> IngestRun:
    """Validate and store every workbook of ``folder`` (in name order; the versions of one
    plan in the order of their last-saved times: ``budget.intake.order``), write a return copy
    of each rejected file and the run's report into ``reports_dir`` (None: no files written
    besides the store). ``progress`` is called with each file's path once it is done.

    Files are checked by ``workers`` forked processes (None: one per core, at most 4, when
    there are enough files; 0: in this process); each file is then saved here, in folder
    order, in its own transaction, and its return copy written here too: the folder of the
    copies is made on the first one (``RunOutputs``).
    """
    from budget.intake.check import Settings, check_bytes
    from budget.store import open_store

    settings = settings or Settings()
    check_bytes(b"", "", settings)  # wrong settings raise here; warms the menu cache
    settings.file_limit()  # (the size limit's setting too)
    folder = Path(folder)
    run = IngestRun(folder, str(db_path), dt.datetime.now().astimezone())
    files, run.skipped = folder_entries(folder)
    if not files:
        run.finished_at = dt.datetime.now().astimezone()
        return run
    with open_store(db_path) as store:
        run.db_path = store.location
        known = store.stored_files()  # closed again before any fork: children never inherit it
    outputs = None if reports_dir is None else RunOutputs(Path(reports_dir), run.stamp)
    if outputs is not None:
        outputs.check_writable()
    copy_names = _copy_names(files)

    from budget.intake.order import RunOrder
    from budget.intake.workers import checked_files
    from budget.stages import StageReads

    order = RunOrder(run.started_at.astimezone(dt.timezone.utc).isoformat(
        timespec="microseconds"))
    with checked_files(files, settings, known, outputs is not None, workers) as checked, \
            open_store(db_path) as store:
        reads = StageReads(store)
        for item in checked:
            result = _save(store, item, order, reads)
            if outputs is not None:
                name = copy_names[item.path]
                _deliver_copy(result, item, functools.partial(outputs.write_copy, name))
                run.returns_dir = outputs.returns_dir
            # The rows are in the store now: let them go, so that a run of any size holds
            # no file's rows (nor bytes: ``item`` goes with this iteration).
            result.report.plan = None
            run.results.append(result)
            if progress is not None:
                progress(item.path)
        from budget.analysis.diff import resubmission_changes

        run.changes = resubmission_changes(store, [r.submission_id for r in run.results
                                                   if r.created and r.submission_id is not None])
    # No garbage collection while the report is made: what is alive now (modules, the menu,
    # the run's results) is frozen, as during the batch (``checked_files``), and the report's
    # cells, which are not cycles, would otherwise make the collector scan the whole heap
    # again and again (10 full passes at 1,410 files, ≈0.7 ms a file; the peak memory is
    # the same). Collection is as the caller had it once the run is over.
    gc.freeze()
    enabled = gc.isenabled()
    gc.disable()
    try:
        order.explain()
        run.finished_at = dt.datetime.now().astimezone()
        if outputs is not None:
            try:
                run.report_path = outputs.write_report(run)
            except OSError as exc:
                from budget.errors import OutputError

                raise OutputError(f"登録は完了しましたが、取込結果を {outputs.reports_dir} に書き込めません"
                                  f"（{exc.strerror or exc}）。") from exc
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()
    return run


def _save(store: "Store", item: _Checked, order: "RunOrder | None" = None,
          reads: "StageReads | None" = None) -> FileResult:
    """Store a checked file (unless it must not be, or the same file was stored before) and
    say what happened (a name that is not UTF-8 is said in a note). ``order``: the run's
    files of one prefecture and year are stored in the order of their last-saved times
    (``budget.intake.order``); a file stored before that is not current says which is."""
    from budget.intake.order import RunOrder
    from budget.intake.receive import name_note

    order = order or RunOrder(dt.datetime.now(dt.timezone.utc).isoformat())
    result = _save_one(store, item, order, reads)
    add_note(result, name_note(item.path))
    if item.report is not None and item.report.received_as:
        add_note(result, f"返送用の注記ファイル（{item.report.received_as}）として送り返された"
                 f"ファイルです。元の計画のファイル名 {item.report.file} で登録しました"
                 "（受け取ったファイルの中身はそのまま保存しています）。")
    if result.created is False and result.status == "accepted":
        add_note(result, order.not_current_note(store, result))
    return result


def _save_one(store: "Store", item: _Checked, order: "RunOrder",
              reads: "StageReads | None" = None) -> FileResult:
    path = item.path
    if item.note is not None:  # unreadable, or its check failed: not stored
        report = item.report or FileReport(item.name, item.sha256 or "",
                                           0 if item.content is None else len(item.content))
        who = attribution(item.name, report.prefecture_code, report.fiscal_year,
                          accepted=False)
        return FileResult(path, report, "rejected", who.prefecture_code, note=item.note)
    if item.report is None:  # the same file was ingested before: nothing changes
        known = _known(store, item)
        return FileResult(path, _stored_report(store, known, item.name), str(known["status"]),
                          _code(known["prefecture_code"]), int(str(known["id"])), False)
    from budget.intake.order import Member

    add_stage_findings(store, item, reads)
    report = item.report
    stage = report.stage or "plan"
    who = attribution_of(report)
    key = None if who.prefecture_code is None or who.fiscal_year is None else (
        who.prefecture_code, who.fiscal_year, stage)
    received_at = order.received_at(key, report.saved_at, item.mtime)
    # A file above the size limit is stored without its bytes (its hash was streamed).
    saved = store.save(_as_stored(report), None if item.too_large else item.content or b"",
                       attribution=who, received_at=received_at, stage=stage)
    if reads is not None:
        reads.saved(report, received_at)
    status, code = report.status, who.prefecture_code
    if not saved.created:  # another ingest stored the same file a moment ago
        known = _known(store, item)
        status, code = str(known["status"]), _code(known["prefecture_code"])
    result = FileResult(path, report, status, code, saved.submission_id, saved.created)
    if saved.created:
        order.add(key, Member(result, report.saved_at, item.mtime, received_at))
    return result


def add_stage_findings(store: "Store", item: _Checked,
                       reads: "StageReads | None" = None) -> None:
    """Add to a checked file's report what the store says against it (``budget.stages``: its
    reference columns, a 計画 above its 内示, a 実績 without a plan), in the parent, just
    before it is saved, so that it sees every file saved before it. A cell that has an error
    of its own gets no second one; a return copy made before is made again."""
    from budget.intake.check import _ordered
    from budget.stages import stage_findings

    report = item.report
    assert report is not None
    found = stage_findings(store, report, reads)
    if not found:
        return
    taken = {(f.sheet, f.cell) for f in report.findings if f.cell and f.severity == ERROR}
    new = [f for f in found if (f.sheet, f.cell) not in taken]
    order = {name: i for i, name in enumerate(dict.fromkeys(
        f.sheet for f in report.findings + new if f.sheet))}
    report.findings = _ordered(report.findings + new, order)
    item.copy = item.copy_note = None


def _as_stored(report: FileReport) -> FileReport:
    """The report as stored: a form's reference columns are not values of the submission
    (its ``reference_ids`` input says where they came from); a 内示 keeps only the rows of
    the prefectures in that round (a blank row is not in it)."""
    import dataclasses

    from budget.forms import form as form_of

    plan: Any = report.plan
    if plan is None or report.form is None:
        return report
    form = form_of(report.form)
    refs = [k for k in form.reference_keys if k in plan.columns]
    if not refs and form.rows_from != "prefectures":
        return report
    plan = plan.drop(columns=refs)
    if form.rows_from == "prefectures":
        plan = plan[plan[list(form.amount_keys)].notna().any(axis=1)].reset_index(drop=True)
    return dataclasses.replace(report, plan=plan)


def _known(store: "Store", item: _Checked) -> dict[str, object]:
    # a return copy sent back is stored under the plan's name
    name = item.report.file if item.report is not None else item.name
    known = store.submission_for(item.sha256 or "", name)
    if known is None:  # pragma: no cover - submissions are never deleted
        raise RuntimeError(f"submission {item.sha256} {name!r} vanished")
    return known


def _code(value: object) -> str | None:
    return None if value is None else str(value)


def _deliver_copy(result: FileResult, item: _Checked, write: Callable[[bytes], Path]) -> None:
    """Write the return copy of a stored rejected file with ``write``; a file stored before
    (not checked again) is annotated here from its stored findings. Sets ``returned`` or,
    when there is no copy, says why in ``note``."""
    if result.status != "rejected" or result.submission_id is None:
        return
    data, why = item.copy, item.copy_note
    if data is None and why is None:
        from budget.intake.annotate import annotated_bytes

        data, why = annotated_bytes(item.content or b"", result.report)
    if data is not None:
        try:
            result.returned = write(data)
        except OSError as exc:
            why = f"返送用の注記ファイルを書き込めませんでした（{exc.strerror or exc}）。"
    if why and not result.note:
        result.note = why


def _stored_report(store: "Store", row: dict[str, object], file_name: str) -> FileReport:
    """The report of a file stored before, rebuilt from the store: its findings, the form's
    prefecture and the workbook's year (no plan)."""
    findings = [Finding(f.code, f.severity, f.message, file_name, f.sheet, f.cell,
                        f.leaf_code, f.leaf_name, f.value)
                for f in store.findings(int(str(row["id"])))]
    year = row["fiscal_year"] if row["form_prefecture_code"] is not None or \
        row["status"] == "accepted" else None
    return FileReport(file_name, str(row["sha256"]), int(str(row["size"])), findings,
                      None if year is None else int(str(year)),
                      _code(row["form_prefecture_code"]), _code(row["template_version"]),
                      _code(row["menu_fingerprint"]))


def _copy_names(files: list[Path]) -> dict[Path, str]:
    """A distinct return-copy name per file of the run (``a.xlsx`` and ``a.xlsm`` differ)."""
    from budget.intake.annotate import return_copy_name

    used: set[str] = set()
    return {p: _unique(return_copy_name(received_name(p)), used) for p in files}


class RunOutputs:
    """Where one run writes into ``reports_dir``: its report ``取込結果_<stamp>.xlsx`` and the
    folder of its return copies ``返送_<stamp>/``, both with the suffix ``_2``, ``_3``… when
    another run took the name (two runs started in the same second).

    Nothing is made before it is needed: the folder on the first return copy (so a run
    killed before, or one that rejects nothing, leaves none behind), the report at the end.
    Each name is taken atomically (``mkdir``; the report by a hard link), so two runs never
    share one; the report takes the suffix of the run's folder.
    """

    def __init__(self, reports_dir: Path, stamp: str) -> None:
        self.reports_dir = reports_dir
        self.stamp = stamp
        self.returns_dir: Path | None = None
        self._suffix: str | None = None

    def check_writable(self) -> None:
        """Make ``reports_dir`` if needed; raise ``OutputError`` before anything is stored
        when it cannot be written."""
        from budget.errors import OutputError

        try:
            self.reports_dir.mkdir(parents=True, exist_ok=True)
            if not os.access(self.reports_dir, os.W_OK | os.X_OK):
                raise PermissionError(13, "書き込み権限がありません")
        except OSError as exc:
            raise OutputError(f"取込結果のフォルダ {self.reports_dir} に書き込めません"
                              f"（{exc.strerror or exc}）。") from exc

    def _names(self) -> Iterator[tuple[str, Path, Path]]:
        for n in itertools.count(1):
            suffix = "" if n == 1 else f"_{n}"
            yield (suffix, self.reports_dir / f"{REPORT_PREFIX}{self.stamp}{suffix}.xlsx",
                   self.reports_dir / f"{RETURNS_PREFIX}{self.stamp}{suffix}")

    def write_copy(self, name: str, data: bytes) -> Path:
        """Write one return copy (making the run's folder on the first)."""
        if self.returns_dir is None:
            for suffix, report, returns in self._names():
                if report.exists():
                    continue
                try:
                    returns.mkdir()
                except FileExistsError:
                    continue
                self._suffix, self.returns_dir = suffix, returns
                break
        from budget.files import write_atomically

        if self.returns_dir is None:  # pragma: no cover - _names never ends
            raise AssertionError("no folder for the return copies")
        return write_atomically(self.returns_dir / name, data)

    def write_report(self, run: IngestRun) -> Path:
        """Write the run's report under a name no other run has; returns its path."""
        from budget.render.run_report import write_run_report

        if self._suffix is not None:
            try:
                return write_run_report(run, self.reports_dir / (
                    f"{REPORT_PREFIX}{self.stamp}{self._suffix}.xlsx"), exclusive=True)
            except FileExistsError:  # pragma: no cover - another run took it in that instant
                pass
        for _suffix, report, returns in self._names():
            if returns.exists() and returns != self.returns_dir:
                continue  # another run's folder: its report will take this name
            try:
                return write_run_report(run, report, exclusive=True)
            except FileExistsError:
                continue
        raise AssertionError("unreachable")  # pragma: no cover




#: Columns of ``submission_status``; ``status`` is English (accepted / rejected / missing),
#: ``status_ja`` what people read.
# --- validate: return copies and output ------------------------------------------------




def annotate_reports(paths: Iterable[str | Path], reports: list[FileReport],
                     out_dir: str | Path) -> dict[int, Returned]:
    """A return copy in ``out_dir`` for each report with findings, keyed by report index."""
    from budget.intake.annotate import blocked_reason, return_copy_name, try_annotate
    from budget.intake.receive import read_received

    out = Path(out_dir)
    used: set[str] = set()
    done: dict[int, Returned] = {}
    for i, (path, report) in enumerate(zip(paths, reports)):
        if not report.findings:
            continue
        name = _unique(return_copy_name(report.file, bool(report.errors)), used)
        why = blocked_reason(report)  # never read again what could not be read the first time
        if why is not None:
            done[i] = (None, why)
            continue
        got = read_received(path, max(report.size, 1))
        if got.content is None and got.too_large:
            done[i] = (None, "確認の後にファイルが変更されたため、返送用ファイルは作成しませんでした。")
            continue
        if got.content is None:
            done[i] = (None, f"ファイルを読み取れません（{got.refused}）。")
            continue
        content = got.content
        if hashlib.sha256(content).hexdigest() != report.sha256:
            done[i] = (None, "確認の後にファイルが変更されたため、返送用ファイルは作成しませんでした。")
            continue
        done[i] = try_annotate(content, report, out / name)
    return done


def _unique(name: str, used: set[str]) -> str:
    stem, n, candidate = name.removesuffix(".xlsx"), 2, name
    while candidate in used:
        candidate, n = f"{stem}_{n}.xlsx", n + 1
    used.add(candidate)
    return candidate
