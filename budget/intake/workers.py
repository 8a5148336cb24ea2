"""Checking a batch's files in worker processes, in folder order.

The batch (``budget.intake.batch``) hands the files here and stores what comes back, one
file at a time, in order; a worker that dies never hangs or stops the batch.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from budget.intake.batch import _check_batch, _check_one, _Checked

if TYPE_CHECKING:
    from budget.intake.check import Settings


#: Below this many files to check, a worker pool costs more than it saves.
MIN_FILES_FOR_WORKERS = 6


MAX_WORKERS = 4
#: Files a worker checks in one pandera pass: big enough to pay pandera's fixed cost rarely,
#: small enough that results stream back in folder order and a crash re-runs little.


CHUNK_SIZE = 6


# State of a forked worker: set in the parent just before the pool forks.
_WORKER: dict[str, object] = {}


def _watch_parent(parent: int) -> None:
    """In a worker: exit as soon as the ingest that forked it is gone (killed, even with
    SIGKILL), instead of waiting forever for work that will never come."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _check_in_worker(chunk: list[Path]) -> list[_Checked]:
    return _check_batch(chunk, _WORKER["settings"], _WORKER["known"],  # type: ignore[arg-type]
                        bool(_WORKER["annotate"]))


def _chunks(tasks: list, size: int) -> list[list]:
    return [tasks[i:i + size] for i in range(0, len(tasks), size)]


def worker_count(n_files: int, workers: int | None = None) -> int:
    """How many processes check ``n_files`` files (0: this process alone)."""
    import multiprocessing
    import threading

    if workers is None:
        # Forking a process that runs other threads (a notebook kernel) can deadlock a child:
        # check in this process then.
        if n_files < MIN_FILES_FOR_WORKERS or threading.active_count() > 1:
            return 0
        cores = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                 else os.cpu_count() or 1)
        workers = min(cores, MAX_WORKERS)
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    return min(workers, n_files)


@contextlib.contextmanager
def checked_files(paths: list[Path], settings: "Settings", known: set[tuple[str, str]],
                   annotate: bool, workers: int | None) -> Iterator[Iterator[_Checked]]:
    """The files checked, in order: by forked workers or here.

    With workers, the first file is checked here first: that imports and caches everything
    a check needs (pandera, the schemas, the menu) once, before the fork, so that every worker
    starts warm and shares those pages instead of importing them again side by side.
    """
    n = worker_count(len(paths), workers)
    if n == 0:
        yield (item for chunk in _chunks(paths, CHUNK_SIZE)
               for item in _check_batch(chunk, settings, known, annotate))
        return
    first = _check_one(paths[0], settings, known, annotate)
    _WORKER.update(settings=settings, known=frozenset(known), annotate=annotate)
    rest = _in_workers(paths[1:], min(n, len(paths) - 1))
    try:
        yield itertools.chain([first], rest)
    finally:
        rest.close()  # shuts the pool down (cancelling what has not started)
        _WORKER.clear()


def _in_workers(paths: list[Path], n: int) -> Iterator[_Checked]:
    """``_check_in_worker`` of each file, in order, by ``n`` forked processes.

    Each worker checks ``CHUNK_SIZE`` files at a time (one pandera pass per chunk). A worker
    that dies (killed for memory, a crash in a C library) never hangs or stops the batch: the
    files not yet returned are run again by a single worker one file at a time, so that the
    file that kills it is the one it was checking; that file is reported, not stored, and the
    rest go on.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("fork")
    pending = list(paths)
    size = CHUNK_SIZE
    while pending:
        pool = ProcessPoolExecutor(n, mp_context=context, initializer=_watch_parent,
                                   initargs=(os.getpid(),))
        done = 0
        try:
            futures = [pool.submit(_check_in_worker, chunk) for chunk in _chunks(pending, size)]
            for future in futures:
                for item in future.result():
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
