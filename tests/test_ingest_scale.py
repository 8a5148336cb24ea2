"""Ingest at scale: what a run holds does not grow with the number of files (issue 12's
benchmark aims; the figures themselves are measured by benchmarks/bench_ingest_scale.py).

The worker pool keeps a bounded number of chunks ahead of the one being stored and lets a
chunk's results go once handed on; a run's results keep findings, not the files' rows."""

from __future__ import annotations

import concurrent.futures
import gc
import multiprocessing
import weakref
from pathlib import Path

import pytest

import budget.intake.workers as workers
from budget.intake.batch import ingest_folder
from budget.intake.check import Settings
from budget.store import open_store
from tests.test_ingest import good_rows, plan_bytes, write

SETTINGS = Settings(fiscal_year=2023)

needs_fork = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                                reason="needs fork")


def test_chunk_size_pays_pandera_rarely_and_still_shares_the_work():
    assert workers.chunk_size(5, 0) == workers.MIN_CHUNK_SIZE
    assert workers.chunk_size(46, 2) == 12  # two chunks per worker on a batch of 47
    assert workers.chunk_size(1409, 2) == workers.MAX_CHUNK_SIZE
    assert workers.chunk_size(1409, 0) == workers.MAX_CHUNK_SIZE


@needs_fork
def test_the_pool_submits_a_bounded_window_and_lets_results_go(tmp_path, monkeypatch):
    """Before: every chunk was submitted at once and the list of futures held every result
    (each file's bytes, report and return copy) until the batch ended: the parent grew with
    the number of files. Now at most ``CHUNKS_AHEAD`` chunks per worker wait ahead, and an
    item stored is free."""
    submitted: list[int] = []

    class Counting(concurrent.futures.ProcessPoolExecutor):
        def submit(self, fn, *args, **kwargs):  # type: ignore[override]
            submitted.append(len(args[0]))
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Counting)
    monkeypatch.setattr(workers, "MAX_CHUNK_SIZE", workers.MIN_CHUNK_SIZE)
    # Missing files: each is reported unreadable at once, which is all the pool needs here.
    paths = [tmp_path / f"{i:03d}_missing.xlsx" for i in range(120)]
    n = 2
    size = workers.chunk_size(len(paths), n)
    assert size == workers.MIN_CHUNK_SIZE
    gen = workers._in_workers(paths, n, "fork", (SETTINGS, frozenset(), False))
    assert next(gen) is None  # the marker
    refs = []
    for i, item in enumerate(gen):
        assert item.path == paths[i] and item.note is not None  # in folder order
        consumed_chunks = i // size + 1
        assert len(submitted) - consumed_chunks <= n * workers.CHUNKS_AHEAD
        refs.append(weakref.ref(item))
        del item
        if i == 3 * size:  # well past the first chunks: what was stored is gone
            gc.collect()
            assert [r() for r in refs[:size]] == [None] * size
    assert len(refs) == len(paths) and sum(submitted) == len(paths)


@needs_fork
def test_a_run_keeps_findings_not_rows(tmp_path):
    """The rows of each accepted file are in the store; the run's results let them go, so a
    run of 1,410 files holds no file's rows (its status stays the verdict)."""
    for pref in ("01", "02", "03", "04", "05", "06", "07"):
        write(tmp_path / "in", pref, plan_bytes(pref, good_rows(scale=int(pref))))
    run = ingest_folder(tmp_path / "in", tmp_path / "b.db", SETTINGS, None, workers=2)
    assert [r.status for r in run.results] == ["accepted"] * 7
    assert [r.report.plan is None for r in run.results] == [True] * 7
    with open_store(tmp_path / "b.db") as store:
        amounts = store.current_amounts(2023)
    assert amounts["fund"].sum() == 4500 * sum(range(1, 8))


@pytest.mark.slow
def test_the_benchmark_builds_distinct_plans_and_runs_the_bare_pipeline(tmp_path):
    """benchmarks/bench_ingest_scale.py: its versions of a prefecture's plan differ (nothing
    is a duplicate) and are named as the same prefecture's; the bare pipeline reads them."""
    import hashlib
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_ingest_scale as bench

    names = [bench.version_name("13", "東京都", v) for v in range(3)]
    assert names == ["13_東京都_R5_計画.xlsx", "13_東京都_R5_計画_v02.xlsx",
                     "13_東京都_R5_計画_v03.xlsx"]
    pytest.importorskip("python_calamine")
    monkey_versions = 2
    old = bench.VERSIONS
    bench.VERSIONS = monkey_versions
    try:
        by_version = bench.write_pool(tmp_path / "pool", rejected_every=20)
    finally:
        bench.VERSIONS = old
    files = [p for v in by_version for p in v]
    assert len({hashlib.sha256(p.read_bytes()).hexdigest() for p in files}) == 94
    assert bench.bare_pipeline(bench.link_set(tmp_path / "set", by_version[0]),
                               tmp_path / "bare.xlsx") == 0
    assert (tmp_path / "bare.xlsx").stat().st_size > 0


@pytest.mark.parametrize("was_on", [True, False])
def test_a_check_pauses_the_collector_and_leaves_it_as_it_was(monkeypatch, was_on):
    """The cycle collector is off while files are checked (a workbook's cells make no cycles,
    and collecting costs ~15% of a check), and back as it was after, also when a file
    makes a step fail."""
    from budget.intake import check as check_module

    seen: list[bool] = []
    run = check_module._Check.run

    def spy(self, content):
        seen.append(gc.isenabled())
        if content == b"boom":
            raise RuntimeError("boom")
        return run(self, content)

    monkeypatch.setattr(check_module._Check, "run", spy)
    (gc.enable if was_on else gc.disable)()
    try:
        reports = check_module.check_many([(plan_bytes(), "13_東京都_R5_計画.xlsx"),
                                           (b"boom", "x.xlsx")], SETTINGS)
        assert gc.isenabled() is was_on
    finally:
        gc.enable()
    assert seen == [False, False]
    assert reports[0].accepted and reports[1].findings[0].code == "internal-error"


def test_rows_that_cannot_make_a_frame_fail_their_own_file_only(monkeypatch):
    """The rows of a batch become one frame; if one file's rows cannot (a bug), that file
    alone gets the internal-error finding and the others are checked as before."""
    from budget.intake import check as check_module

    frame = check_module.plan_frame

    def fragile(records, form=check_module.PLAN):
        if any(r.get("output") == "壊れた行" for r in records):
            raise ValueError("cannot build")
        return frame(records, form)

    monkeypatch.setattr(check_module, "plan_frame", fragile)
    rows = good_rows()
    broken = {code: {**row, "output": "壊れた行"} for code, row in rows.items()}
    reports = check_module.check_many([(plan_bytes("13", rows), "13_東京都_R5_計画.xlsx"),
                                       (plan_bytes("14", broken), "14_神奈川県_R5_計画.xlsx"),
                                       (plan_bytes("27", rows), "27_大阪府_R5_計画.xlsx")],
                                      SETTINGS)
    assert [r.accepted for r in reports] == [True, False, True]
    assert [f.code for f in reports[1].findings] == ["internal-error"]
    assert reports[0].plan is not None and reports[2].plan is not None
    assert reports[1].plan is None
