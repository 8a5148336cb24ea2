"""Checking a batch's files, in this process or in worker processes, in folder order.

``_check_batch`` reads, hashes and checks a few files (``_Checked``, one each); the pool
runs it in workers.

The batch (``budget.intake.batch``) hands the files here and stores what comes back, one
file at a time, in order; a worker that dies never hangs or stops the batch.

Workers start by ``fork`` or by ``spawn`` (a fresh interpreter: Windows' only way, macOS's
default): everything a worker needs travels as initializer arguments, never as state
inherited through a fork, and a worker watches its parent through the parent's sentinel,
so both work. Which one a platform uses by default (``start_method``) was chosen from
``benchmarks/bench_start_methods.py``: fork on Linux (a forked worker shares the parent's
imported modules and starts at once); one process on Windows and macOS, where each
spawned worker first imports pandas and pandera again (about 1 s of CPU each), which costs
more than it saves on a batch of 47. ``BUDGET_START_METHOD`` (``fork``, ``spawn``,
``forkserver`` or ``serial``) overrides the choice.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import sys
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from budget.errors import BudgetError
from budget.findings import FileReport, Finding
from budget.intake.receive import received_name

if TYPE_CHECKING:
    from budget.intake.check import Settings


INTERNAL_ERROR = "internal-error"  # the finding of a check that failed inside the validator

#: Below this many files to check, a worker pool costs more than it saves.
MIN_FILES_FOR_WORKERS = 6

MAX_WORKERS = 4

#: Files a worker checks in one pandera pass (``chunk_size``): big enough to pay pandera's
#: fixed cost (~14 ms a pass) rarely, small enough that results stream back in folder order,
#: every worker gets several chunks and a crash re-runs little. At most 48: the pandera
#: passes of a large batch cost ≈0.9 ms a file (≈1.3 ms at 24; 96 would save ≈0.2 ms more
#: but hold twice the files waiting to be stored, and leave one worker alone on the last
#: chunk of a batch of 470).
MIN_CHUNK_SIZE = 6
MAX_CHUNK_SIZE = 48

#: Chunks submitted ahead per worker: enough that a worker never waits for its next chunk,
#: few enough that the results waiting to be stored (each file's bytes, report and return
#: copy) stay bounded whatever the number of files.
CHUNKS_AHEAD = 2

#: The environment variable that chooses how workers start (see ``start_method``).
START_METHOD_ENV = "BUDGET_START_METHOD"
SERIAL = "serial"
START_METHODS = ("fork", "spawn", "forkserver", SERIAL)

#: The default per platform (``sys.platform`` prefix → start method), from the figures of
#: ``benchmarks/bench_start_methods.py`` (README, "Windows"): fork where it is safe (Linux);
#: elsewhere one process, since spawned workers cost more than they save on 47 files (and
#: fork is missing on Windows, unsafe with macOS's system libraries).
DEFAULT_START_METHODS = {"linux": "fork", "win32": SERIAL, "darwin": SERIAL}

# A worker's settings: set in each worker by ``_init_worker`` (the pool's initializer).
_WORKER: dict[str, object] = {}


def start_method() -> str:
    """How this platform starts workers: ``BUDGET_START_METHOD`` when set, else the
    platform's default (``DEFAULT_START_METHODS``; ``serial`` elsewhere); ``serial`` (no
    worker processes) also where the chosen method is not available. Raises ``UsageError``
    for a value that is not a start method."""
    import multiprocessing

    chosen = os.environ.get(START_METHOD_ENV, "").strip().lower()
    if chosen and chosen not in START_METHODS:
        from budget.errors import UsageError

        raise UsageError(f"環境変数 {START_METHOD_ENV} の値「{chosen}」は使えません。"
                         f"{'、'.join(START_METHODS)} のいずれかを指定するか、削除してください。")
    if not chosen:
        chosen = next((m for p, m in DEFAULT_START_METHODS.items()
                       if sys.platform.startswith(p)), SERIAL)
    if chosen != SERIAL and chosen not in multiprocessing.get_all_start_methods():
        return SERIAL
    return chosen


def _available_cores() -> int:
    """The cores this process may run on (its affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):  # Linux; elsewhere every core counts
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _init_worker(settings: "Settings", known: frozenset, annotate: bool) -> None:
    """The pool's initializer, in each worker: keep what a check needs, and watch the
    parent."""
    _WORKER.update(settings=settings, known=known, annotate=annotate)
    _watch_parent()


def _watch_parent() -> None:
    """In a worker: exit as soon as the ingest that started it is gone (killed, even with
    a kill signal or from the task manager), instead of waiting forever for work that will never
    come. Waits on the parent's sentinel (a pipe on POSIX, the process handle on Windows),
    which works whatever the start method."""
    import multiprocessing
    import threading
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:  # pragma: no cover - not a pool worker
        return
    sentinel = parent.sentinel

    def watch() -> None:
        wait([sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _check_in_worker(chunk: list[Path]) -> list[_Checked]:
    return _check_batch(chunk, _WORKER["settings"], _WORKER["known"],  # type: ignore[arg-type]
                        bool(_WORKER["annotate"]))


def _chunks(tasks: list, size: int) -> list[list]:
    return [tasks[i:i + size] for i in range(0, len(tasks), size)]


def chunk_size(n_files: int, n_workers: int) -> int:
    """Files per chunk for ``n_files`` checked by ``n_workers`` processes (0: here): about
    ``CHUNKS_AHEAD`` chunks per worker on a small batch, within ``MIN_CHUNK_SIZE`` …
    ``MAX_CHUNK_SIZE``."""
    per = -(-n_files // (max(n_workers, 1) * CHUNKS_AHEAD))
    return max(MIN_CHUNK_SIZE, min(MAX_CHUNK_SIZE, per))


def worker_count(n_files: int, workers: int | None = None, method: str | None = None) -> int:
    """How many processes check ``n_files`` files (0: this process alone), the workers
    starting by ``method`` (None: ``start_method()``)."""
    import threading

    method = start_method() if method is None else method
    if workers is None:
        # Forking a process that runs other threads (a notebook kernel) can deadlock a child:
        # check in this process then. Spawned workers start clean.
        if n_files < MIN_FILES_FOR_WORKERS or (method == "fork"
                                                and threading.active_count() > 1):
            return 0
        workers = min(_available_cores(), MAX_WORKERS)
    if workers <= 1 or method == SERIAL:
        return 0
    return min(workers, n_files)


@contextlib.contextmanager
def checked_files(paths: list[Path], settings: "Settings", known: set[tuple[str, str]],
                  annotate: bool, workers: int | None,
                  method: str | None = None) -> Iterator[Iterator[_Checked]]:
    """The files checked, in order: by worker processes started by ``method`` (None:
    ``start_method()``), or here.

    The first file is always checked here. With ``fork``, first: that imports and caches
    everything a check needs (pandera, the schemas, the menu) once, before the fork, so
    that every worker starts warm and shares those pages. With ``spawn``, while the workers
    start: each imports what it needs itself, and this process has nothing else to do.
    """
    method = start_method() if method is None else method
    n = worker_count(len(paths), workers, method)
    if n == 0:
        yield (item for chunk in _chunks(paths, chunk_size(len(paths), 0))
               for item in _check_batch(chunk, settings, known, annotate))
        return
    first = None
    if method == "fork":
        first = _check_one(paths[0], settings, known, annotate)
    # Objects alive now (modules, the menu, the schemas) are left out of garbage collection
    # while the batch runs: a forked worker's collector then never touches (and so never
    # copies) the pages it shares with this process, and neither process scans them again.
    gc.freeze()
    rest = _in_workers(paths[1:], min(n, len(paths) - 1), method,
                       (settings, frozenset(known), annotate))
    try:
        next(rest)  # the marker: the workers are starting, every chunk submitted
        if first is None:
            first = _check_one(paths[0], settings, known, annotate)
        yield itertools.chain([first], cast("Iterator[_Checked]", rest))
    finally:
        rest.close()  # shuts the pool down (cancelling what has not started)
        gc.unfreeze()


def _in_workers(paths: list[Path], n: int, method: str,
                initargs: tuple) -> Generator[_Checked | None, None, None]:
    """``_check_in_worker`` of each file, in order, by ``n`` processes started by
    ``method``, each set up by ``_init_worker(*initargs)``. The first item yielded is None,
    a marker (the pool is up and its first chunks submitted), which ``checked_files`` drops.

    Each worker checks ``chunk_size`` files at a time (one pandera pass per chunk). At most
    ``CHUNKS_AHEAD`` chunks per worker are submitted ahead of the one being stored, and a
    chunk's results are let go once handed on: memory stays flat in the number of files. A
    worker that dies (killed for memory, a crash in a C library) never hangs or stops the
    batch: the files not yet returned are run again by a single worker one file at a time,
    so that the file that kills it is the one it was checking; that file is reported, not
    stored, and the rest go on.
    """
    import multiprocessing
    from collections import deque
    from concurrent.futures import Future, ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context(method)
    pending = list(paths)
    size = chunk_size(len(pending), n)
    started = False
    while pending:
        pool = ProcessPoolExecutor(n, mp_context=context, initializer=_init_worker,
                                   initargs=initargs)
        done = 0
        try:
            chunks = iter(_chunks(pending, size))
            ahead: deque[Future[list[_Checked]]] = deque(
                pool.submit(_check_in_worker, chunk)
                for chunk in itertools.islice(chunks, n * CHUNKS_AHEAD))
            if not started:
                started = True
                yield None
            while ahead:
                items = ahead.popleft().result()
                following = next(chunks, None)
                if following is not None:  # keep the workers busy while this one is stored
                    ahead.append(pool.submit(_check_in_worker, following))
                while items:
                    item = items.pop(0)  # the file's bytes are let go once stored
                    done += 1
                    yield item
            pending = []
        except BrokenProcessPool:
            if n == 1 and size == 1:  # the worker died on the file it was checking: that one
                yield _Checked(pending[done], note=(
                    "確認中に処理が異常終了したため登録しませんでした（メモリ不足などの可能性が"
                    "あります）。開発担当に連絡してください。"))
                done += 1
            pending, n, size = pending[done:], 1, 1
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    if not started:  # no file to send (only one file in the batch)
        yield None


# --- checking files (here or in a worker) ----------------------------------------------

@dataclass
class _Checked:
    """One file after checking (in a worker or here), before saving."""

    path: Path
    content: bytes | None = None  # None: unreadable, or too large to read
    sha256: str | None = None
    report: FileReport | None = None  # None: a known file (not checked again) or a failure
    note: str | None = None  # set: not to be stored, and why (unreadable, check failed)
    copy: bytes | None = None  # the annotated return copy of a rejected file
    copy_note: str | None = None  # why there is no return copy
    name: str = ""  # as stored and shown (``receive.received_name``)
    mtime: float | None = None  # the file's modification time
    too_large: bool = False  # above the size limit: stored as rejected without its bytes
    size: int | None = None  # of a file too large to read

    def __post_init__(self) -> None:
        self.name = self.name or received_name(self.path)


def internal_error(report: FileReport) -> Finding | None:
    """The ``internal-error`` finding of a report (the validator itself failed), or None."""
    return next((f for f in report.findings if f.code == INTERNAL_ERROR), None)


def _internal_note(detail: str) -> str:
    return (f"内部エラーのため確認できず、登録しませんでした（{detail}）。開発担当に連絡して"
            "ください。不具合の修正後に再実行すると、改めて確認して登録します。")


def _finding_detail(f: Finding) -> str:
    """The ``{detail}`` of a finding's message: the text in its outermost （）, if any."""
    start, end = f.message.find("（"), f.message.rfind("）")
    return f.message[start + 1:end] if 0 <= start < end else f.message


def _check_one(path: Path, settings: "Settings", known: frozenset | set,
               annotate: bool) -> _Checked:
    """Read, hash and (unless stored before) check one file; see ``_check_batch``."""
    return _check_batch([path], settings, known, annotate)[0]


def _check_batch(paths: list[Path], settings: "Settings", known: frozenset | set,
                 annotate: bool) -> list[_Checked]:
    """Read, hash and (unless the same file was stored before) check a few files in one
    pandera pass (``check_many``: pandera costs ~10 ms a call, whatever the rows); with
    ``annotate``, the return copy of a rejected one is made here too (as bytes: the caller
    writes it). Never raises for what is in the files: if the batch check fails unexpectedly,
    or reports an ``internal-error`` (which the shared rule pass may have caused), each such
    file is checked alone so the failure stays with its file; a file whose check failed is
    marked not to be stored.
    """
    from budget.intake.check import check_many

    limit = settings.file_limit()
    items = [_read_item(path, limit) for path in paths]
    for item in items:
        if item.too_large and (item.sha256, item.name) not in known:
            item.report = _too_large_report(item, limit)
    todo = [i for i in items if i.content is not None and (i.sha256, i.name) not in known]
    if not todo:
        return items
    try:
        reports = check_many([(i.content or b"", i.name) for i in todo], settings)
        for item, report in zip(todo, reports, strict=True):
            if report.sha256 != item.sha256:  # the validator hashes what it read: these bytes
                raise RuntimeError(f"sha256 {report.sha256!r} != {item.sha256!r}")
    except BudgetError:  # wrong settings: stop the run
        raise
    except Exception as exc:  # noqa: BLE001 - a bug must not stop the batch or store a verdict
        if len(paths) > 1:
            return [_check_one(path, settings, known, annotate) for path in paths]
        todo[0].note = _internal_note(f"{type(exc).__name__}: {str(exc)[:200]}")
        return items
    by_item = {id(item): report for item, report in zip(todo, reports)}
    out = []
    for item in items:
        checked = by_item.get(id(item))
        if checked is not None and len(todo) > 1 and internal_error(checked) is not None:
            out.append(_check_one(item.path, settings, known, annotate))
            continue
        if checked is not None:
            _finish(item, checked, annotate)
        out.append(item)
    return out


def _finish(item: _Checked, report: FileReport, annotate: bool) -> None:
    item.report = report
    failure = internal_error(report)
    if failure is not None:  # a bug, not the sender's mistake: no verdict, no return copy
        item.note = _internal_note(_finding_detail(failure))
    elif annotate and not report.accepted:
        from budget.intake.annotate import annotated_bytes

        item.copy, item.copy_note = annotated_bytes(item.content or b"", report)


def _read_item(path: Path, limit: int) -> _Checked:
    """Read one file of the batch (``receive.read_received``): its bytes, or the note of why
    it cannot be stored (a link or a special file swapped in since the listing, an error of
    the operating system); a file above ``limit`` keeps only its streamed hash and size."""
    from budget.intake.receive import read_received

    got = read_received(path, limit)
    item = _Checked(path, got.content, got.sha256, name=got.name, mtime=got.mtime,
                    too_large=got.too_large)
    if got.refused is not None:
        item.note = f"{got.refused.rstrip('。')}。読み取れないため登録できませんでした。"
    elif got.too_large:
        item.size = got.size
    return item


def _too_large_report(item: _Checked, limit: int) -> FileReport:
    """The report of a file above the size limit: rejected, its bytes not read or stored."""
    from budget.findings import make
    from budget.intake.receive import too_large_detail

    size = item.size or 0
    report = FileReport(item.name, item.sha256 or "", size)
    report.findings.append(make("oversized-workbook", file=item.name,
                                detail=too_large_detail(size, limit)))
    return report
