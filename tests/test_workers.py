"""The batch's worker pool under each start method: ``spawn`` (Windows' and macOS's default)
gives the same store as one process; the start method per platform and its override."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import budget.intake.workers as workers
from budget.errors import UsageError
from budget.intake.batch import ingest_folder
from budget.intake.check import Settings

SETTINGS = Settings(fiscal_year=2023)


@pytest.fixture(scope="module")
def forty_seven(tmp_path_factory) -> Path:
    """47 workbooks as prefectures send them: the demo's 45 plans (two rejected, two with
    warnings), and the two the demo leaves missing: 和歌山県's with a negative amount,
    鹿児島県's a CSV under a workbook's name."""
    from budget.demo import MISSING, sample_plans
    from budget.forms.plan import template_file_name
    from budget.generate import write_plan_workbook
    from budget.menu import load_menu
    from budget.prefectures import prefecture_by_code

    menu = load_menu(2023)
    folder = tmp_path_factory.mktemp("forty_seven")
    plans, _ = sample_plans(menu)
    broken = plans[MISSING[0]] = sample_plans(menu, seed=7)[0]["01"]
    broken.rows[next(iter(broken.rows))]["national"] = -7
    for code, values in plans.items():
        pref = prefecture_by_code(code)
        write_plan_workbook(folder / template_file_name(code, pref.name_ja, "R5"), menu, pref,
                            values=values)
    kagoshima = prefecture_by_code(MISSING[1])
    (folder / template_file_name(kagoshima.code, kagoshima.name_ja, "R5")).write_bytes(
        "事業,国\nR5-01,100\n".encode("cp932"))
    assert len(list(folder.iterdir())) == 47
    return folder


def store_content(db: Path) -> dict[str, list[tuple]]:
    """Everything a run stored, keyed by file (not by submission id or received time): every
    table of the store, whatever its schema version, rows that belong to a submission named by
    its file."""
    con = sqlite3.connect(db)
    try:
        def rows(sql: str) -> list[tuple]:
            return sorted(tuple("" if v is None else v for v in r) for r in con.execute(sql))

        def columns(table: str) -> list[str]:
            return [c[1] for c in con.execute(f"PRAGMA table_info({table})")]

        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        out = {}
        for table in tables:
            cols = columns(table)
            if table == "submissions":
                kept = [c for c in cols if c not in ("id", "received_at")]
                out[table] = rows(f"SELECT {', '.join(kept)} FROM submissions")
            elif "submission_id" in cols:
                kept = [f"t.{c}" for c in cols if c != "submission_id"]
                out[table] = rows(f"SELECT s.file_name, {', '.join(kept)} FROM {table} t "
                                  "JOIN submissions s ON s.id = t.submission_id")
            else:
                out[table] = rows(f"SELECT * FROM {table}")
        assert {"submissions", "files", "findings"} <= set(out)
        return out
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.skipif("spawn" not in multiprocessing.get_all_start_methods(), reason="no spawn")
def test_a_spawned_pool_stores_what_one_process_stores(forty_seven, tmp_path, monkeypatch):
    serial = ingest_folder(forty_seven, tmp_path / "serial.db", SETTINGS, tmp_path / "rs",
                           workers=0)

    # Spawned for real: the parent checks only the first file (``_check_one``), never a
    # chunk (``_check_batch`` runs in the workers, where this spy does not reach).
    in_parent: list[str] = []
    real_batch, real_pool = workers._check_batch, workers._in_workers
    pools: list[tuple[int, str]] = []

    def spy_batch(paths, *args):
        in_parent.extend(p.name for p in paths)
        return real_batch(paths, *args)

    def spy_pool(paths, n, method, initargs):
        pools.append((n, method))
        return real_pool(paths, n, method, initargs)

    monkeypatch.setattr(workers, "_check_batch", spy_batch)
    monkeypatch.setattr(workers, "_in_workers", spy_pool)
    monkeypatch.setenv(workers.START_METHOD_ENV, "spawn")
    spawned = ingest_folder(forty_seven, tmp_path / "spawn.db", SETTINGS, tmp_path / "rp",
                            workers=2)
    # the parent checks the first file alone (while the workers start), the pool the rest
    assert pools == [(2, "spawn")] and in_parent == [sorted(forty_seven.iterdir())[0].name]

    def summary(run):
        return [(r.file, r.status, r.stored_ja, r.report.flatten(), r.note,
                 r.returned and r.returned.name) for r in run.results]

    assert summary(spawned) == summary(serial)
    assert [r.status for r in serial.results].count("rejected") == 4  # 05, 19, 30, 46
    assert store_content(tmp_path / "spawn.db") == store_content(tmp_path / "serial.db")
    content = store_content(tmp_path / "serial.db")
    assert len(content["submissions"]) == 47 and content["findings"] and content["submission_values"]


def test_start_method_per_platform_and_its_override(monkeypatch):
    monkeypatch.delenv(workers.START_METHOD_ENV, raising=False)
    methods = multiprocessing.get_all_start_methods()
    for platform, expected in (("linux", "fork"), ("win32", "serial"), ("darwin", "serial"),
                               ("freebsd14", "serial")):
        monkeypatch.setattr(workers.sys, "platform", platform)
        assert workers.start_method() == (expected if expected in methods else "serial")
    monkeypatch.setattr(workers.sys, "platform", "linux")
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert workers.start_method() == "serial"  # no fork here: one process
    monkeypatch.setenv(workers.START_METHOD_ENV, " Spawn ")
    assert workers.start_method() == "spawn"
    monkeypatch.setenv(workers.START_METHOD_ENV, "serial")
    assert workers.start_method() == "serial"
    assert workers.worker_count(47, 4) == 0
    monkeypatch.setenv(workers.START_METHOD_ENV, "threads")
    with pytest.raises(UsageError, match="BUDGET_START_METHOD の値「threads」は使えません"):
        workers.start_method()


def test_worker_count_ignores_threads_under_spawn(monkeypatch):
    """Forking while other threads run can deadlock a child; spawning cannot."""
    import threading

    monkeypatch.setattr(workers, "_available_cores", lambda: 8)
    monkeypatch.setattr(threading, "active_count", lambda: 3)
    assert workers.worker_count(47, None, "fork") == 0
    assert workers.worker_count(47, None, "spawn") == workers.MAX_WORKERS
    assert workers.worker_count(workers.MIN_FILES_FOR_WORKERS - 1, None, "spawn") == 0
    assert workers.worker_count(47, 3, "serial") == 0


def test_an_unknown_start_method_is_a_usage_error_on_the_command_line(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from budget.cli import cli

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(workers.MIN_FILES_FOR_WORKERS):
        (folder / f"{i:02d}_x.xlsx").write_bytes(b"not a workbook")
    monkeypatch.setenv(workers.START_METHOD_ENV, "threads")
    result = CliRunner().invoke(cli, ["ingest", str(folder), "--db", str(tmp_path / "b.db"),
                                      "--reports", str(tmp_path / "r")])
    assert result.exit_code == 2, result.output
    assert "BUDGET_START_METHOD の値「threads」は使えません" in result.output


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="reads the process tree from /proc")
def test_spawned_workers_do_not_outlive_a_killed_ingest(forty_seven, tmp_path):
    """The parent watch works without fork: the ingest killed (SIGKILL: nothing of it runs
    on), its spawned workers notice through the parent's sentinel and exit."""
    from tests.test_ingest import alive, children, ingest_cmd, stored_count

    db = tmp_path / "b.db"
    env = {**os.environ, workers.START_METHOD_ENV: "spawn"}
    proc = subprocess.Popen(ingest_cmd(forty_seven, db, tmp_path / "rep"), cwd=tmp_path,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while stored_count(db) < 8 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, "the ingest finished before it could be killed"
        pool = children(proc.pid)  # the workers (and multiprocessing's resource tracker)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert len(pool) >= 2
    deadline = time.monotonic() + 20
    while any(alive(p) for p in pool) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in pool if alive(p)]
    assert 8 <= stored_count(db) < 47
