"""The store's guarantees on a real PostgreSQL server, with real processes: ingests killed at
random moments leave a consistent store that a re-run completes; eight ingests at once give
the serial result; a connection lost mid-batch stops the batch saying which files were
stored; ``db copy`` of the demo's store to the server gives the same summaries."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from budget.cli import cli
from budget.errors import StoreError
from budget.intake.batch import ingest_folder
from budget.prefectures import all_prefectures
from budget.store import open_store
from tests.test_ingest import SETTINGS, bad_rows, codes, good_rows, plan_bytes, write

pytest_plugins = ["tests.conftest_pg"]


N_FILES = 12  # every third one rejected


@pytest.fixture(scope="module")
def twelve(tmp_path_factory) -> Path:
    """Twelve workbooks (01–12); every third one rejected."""
    folder = tmp_path_factory.mktemp("twelve")
    for i, p in enumerate(all_prefectures()[:N_FILES]):
        rows = bad_rows() if i % 3 == 2 else good_rows(scale=i + 1)
        write(folder, p.code, plan_bytes(p.code, rows))
    return folder


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def ingest_cmd(folder: Path, url: str, reports: Path) -> list[str]:
    return [sys.executable, "-m", "budget", "ingest", str(folder), "--db", url,
            "--reports", str(reports)]


def check_consistent(url: str, folder: Path) -> dict[str, int]:
    """Every stored submission complete (its bytes whole, its findings and, if accepted, its
    values all there); returns sha256 → submission id."""
    files = {sha(p.read_bytes()): p.name for p in folder.iterdir()}
    n_leaves = len(codes())
    with open_store(url, readonly=True) as store:
        rows = store._rows("SELECT id, sha256, status, n_errors + n_warnings, "
                           "(SELECT COUNT(*) FROM submission_leaves l "
                           " WHERE l.submission_id = s.id), "
                           "(SELECT COUNT(*) FROM findings f WHERE f.submission_id = s.id) "
                           "FROM submissions s")
        for sid, digest, status, n_findings, leaves, findings in rows:
            assert sha(store.file_bytes(sid)) == digest and digest in files
            assert leaves == (n_leaves if status == "accepted" else 0)
            assert findings == n_findings
        assert store._rows("SELECT COUNT(*) FROM files WHERE submission_id NOT IN "
                           "(SELECT id FROM submissions)")[0][0] == 0
        assert len({d for _, d, *_ in rows}) == len(rows)  # no file stored twice
        return {str(d): int(i) for i, d, *_ in rows}


def content(url: str) -> dict[str, object]:
    """What a store holds, without ids or times: submissions, findings, current values."""
    with open_store(url, readonly=True) as store:
        subs = store.submissions().sort_values(["file_name", "sha256"])
        ids = dict(zip(subs["id"], subs["file_name"]))
        amounts = store.current_amounts(2023)
        return {
            "submissions": subs.drop(columns=["id", "received_at"]).to_dict("records"),
            "findings": {ids[i]: [f.message for f in store.findings(int(i))] for i in ids},
            "amounts": amounts.drop(columns=["submission_id"]).astype(object)
                              .where(amounts.notna(), None).to_dict("records"),
        }


@pytest.mark.slow
def test_ingests_killed_at_random_moments_leave_a_consistent_store(twelve, pg_server, tmp_path):
    import psycopg

    rng = random.Random(20231)
    all_files = {sha(p.read_bytes()) for p in twelve.iterdir()}
    cut_short = []
    for trial in range(3):
        name = pg_server.create_database()
        try:
            url = pg_server.url(name)
            target = rng.randint(0, N_FILES - 5)
            proc = subprocess.Popen(ingest_cmd(twelve, url, tmp_path / f"r{trial}"),
                                    cwd=tmp_path, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                with psycopg.connect(url, autocommit=True) as watch:
                    deadline = time.monotonic() + 120
                    while (_count(watch) < target and proc.poll() is None
                           and time.monotonic() < deadline):
                        time.sleep(0.002)
                time.sleep(rng.uniform(0, 0.01))  # anywhere inside the next file's save
                assert proc.poll() is None, f"trial {trial}: finished before the kill"
                os.killpg(proc.pid, signal.SIGKILL)  # the ingest and its workers
            finally:
                proc.wait(timeout=30)
            before = check_consistent(url, twelve)
            cut_short.append(len(before) < N_FILES)
            rerun = ingest_folder(twelve, url, SETTINGS, None, workers=0)
            after = check_consistent(url, twelve)
            assert set(after) == all_files
            assert all(after[d] == sid for d, sid in before.items())  # nothing stored twice
            assert sum(r.created for r in rerun.results) == N_FILES - len(before)
        finally:
            pg_server.drop_database(name)
    assert any(cut_short), "no ingest was killed before it had stored every file"


def _count(conn) -> int:
    """Submissions stored so far (0 before the tables exist)."""
    if conn.execute("SELECT to_regclass('submissions')").fetchone()[0] is None:
        return 0
    return int(conn.execute("SELECT COUNT(*) FROM submissions").fetchone()[0])


@pytest.mark.slow
def test_eight_ingests_at_once_give_the_serial_result(twelve, pg_server, tmp_path):
    serial, together = pg_server.create_database(), pg_server.create_database()
    try:
        one = subprocess.run(ingest_cmd(twelve, pg_server.url(serial), tmp_path / "s"),
                             cwd=tmp_path, capture_output=True, text=True, timeout=180)
        assert one.returncode == 1, one.stderr
        url = pg_server.url(together)
        procs = [subprocess.Popen(ingest_cmd(twelve, url, tmp_path / f"p{i}"), cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(8)]
        outs = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [1] * 8, [o[1][-500:] for o in outs]
        assert check_consistent(url, twelve).keys() == check_consistent(
            pg_server.url(serial), twelve).keys()
        assert content(url) == content(pg_server.url(serial))
        new = sum(int(o.split("新規登録 ")[1].split(" 件")[0]) for o, _ in outs)
        assert new == N_FILES  # each file stored by exactly one of the eight
    finally:
        pg_server.drop_database(serial)
        pg_server.drop_database(together)


def test_a_connection_lost_mid_batch_says_what_was_stored_and_a_rerun_completes(
        twelve, pg_server, pg_database):
    names = sorted(p.name for p in twelve.iterdir())
    done: list[str] = []

    def terminate_after_three(path: Path) -> None:
        done.append(path.name)
        if len(done) == 3:
            with pg_server.admin() as admin:
                killed = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND application_name = 'budget'",
                    (pg_database.name,)).fetchall()
            assert killed == [(True,)]

    with pytest.raises(StoreError) as caught:
        ingest_folder(twelve, pg_database.url, SETTINGS, None, progress=terminate_after_three,
                      workers=0)
    message = str(caught.value)
    masked = pg_database.url.replace(pg_server.password, "***")
    assert message.startswith(f"データベース {masked} への接続が切れました（")
    stored = "、".join(names[:3])
    assert f"この実行で保存済み: 3 件（{stored}）。{names[3]} は保存されていません。" in message
    assert message.endswith("再実行すると、残りを取り込みます"
                            "（保存済みのファイルは二重に登録されません）。")
    assert pg_server.password not in message
    assert sorted(check_consistent(pg_database.url, twelve).values()) == [1, 2, 3]
    run = ingest_folder(twelve, pg_database.url, SETTINGS, None, workers=0)
    assert [r.created for r in run.results] == [False] * 3 + [True] * (N_FILES - 3)
    assert len(check_consistent(pg_database.url, twelve)) == N_FILES


# --- db copy of the demo's store ----------------------------------------------------------

@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo") / "demo"
    proc = subprocess.run([sys.executable, "-m", "budget", "demo", str(folder)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return folder / "budget.db"


#: The rows of a summary that say where and when it was made.
PROVENANCE = ("作成日時", "作成コマンド", "データベース")


#: the minute a workbook was made, printed in title lines (two runs may straddle a minute)
MADE_AT = re.compile(r"作成: \d{4}-\d\d-\d\d \d\d:\d\d")


def _unstamped(value: object) -> object:
    return MADE_AT.sub("作成: （時刻）", value) if isinstance(value, str) else value


def sheets(path: Path, skip: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """Each sheet's rows, with the minute the workbook was made blanked out."""
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return {ws.title: [tuple(_unstamped(v) for v in r) for r in ws.iter_rows(values_only=True)]
                for ws in wb.worksheets if ws.title not in skip}
    finally:
        wb.close()


def test_db_copy_of_the_demo_store_gives_identical_summaries(demo_store, pg_database, tmp_path):
    runner = CliRunner()
    copied = runner.invoke(cli, ["db", "copy", "--from", str(demo_store), "--to", pg_database.url])
    assert copied.exit_code == 0, copied.output
    with open_store(demo_store, readonly=True) as src:
        counts = src.table_counts()
    assert f"提出 {counts['submissions']} 件" in copied.output
    assert f"提出 {counts['submissions']} 件のファイルの SHA-256 が一致しました" in copied.output
    assert "password" not in copied.output and pg_database.url not in copied.output
    with open_store(pg_database.url, readonly=True) as dst:
        assert dst.table_counts() == counts
        assert dst.file_bytes(1) == open_store(demo_store, readonly=True).file_bytes(1)
    masked = pg_database.url.replace(pg_database.url.split(":")[2].split("@")[0], "***")
    outs = {}
    for name, db in (("sqlite", str(demo_store)), ("postgresql", pg_database.url)):
        out = tmp_path / name
        result = runner.invoke(cli, ["aggregate", "--year", "R5", "--db", db, "--out", str(out),
                                     "--format", "csv", "--format", "json", "--by-bureau"])
        assert result.exit_code in (0, 1), result.output
        outs[name] = out
    a, b = outs["sqlite"], outs["postgresql"]
    files = sorted(p.name for p in a.iterdir())
    assert files == sorted(p.name for p in b.iterdir()) and len(files) >= 4
    for f in files:
        if f.endswith(".xlsx"):
            left, right = sheets(a / f), sheets(b / f)
            for book, where in ((left, str(demo_store)), (right, masked)):
                assert ("データベース", where) in [(r[0], r[3]) for rows in book.values()
                                                   for r in rows if len(r) > 3], f
                for sheet in book:  # where and when it was made differ, nothing else
                    book[sheet] = [r for r in book[sheet] if r[0] not in PROVENANCE]
            for sheet in left:
                diff = [(x, y) for x, y in zip(left[sheet], right[sheet]) if x != y]
                assert not diff and len(left[sheet]) == len(right[sheet]), (f, sheet, diff[:3])
            assert left and any(len(rows) > 10 for rows in left.values())
        elif f.endswith(".json"):
            left_json, right_json = (json.loads((d / f).read_text(encoding="utf-8"))
                                     for d in (a, b))
            assert _without_source(left_json) == _without_source(right_json), f
        else:
            assert (a / f).read_bytes() == (b / f).read_bytes(), f
    # a new submission after the copy continues the ids, on the server too
    with open_store(pg_database.url) as dst:
        from tests.test_store import report
        assert dst.save(report(b"after copy"), b"after copy").submission_id == \
            counts["submissions"] + 1


def _without_source(data: object) -> object:
    """JSON without where it came from (the database, the time it was made)."""
    if isinstance(data, dict):
        return {k: _without_source(v) for k, v in data.items()
                if k not in ("db", "database", "source", "generated_at", "created_at", "出典")}
    if isinstance(data, list):
        return [_without_source(v) for v in data]
    return data


def test_db_copy_refuses_a_target_that_has_data(demo_store, tmp_path):
    target = tmp_path / "copy.db"
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "copy", "--from", str(demo_store),
                               "--to", str(target)]).exit_code == 0
    again = runner.invoke(cli, ["db", "copy", "--from", str(demo_store), "--to", str(target)])
    assert again.exit_code == 1 and "既にデータがあります。何も変更していません" in again.output
    same = runner.invoke(cli, ["db", "copy", "--from", str(demo_store), "--to", str(demo_store)])
    assert same.exit_code == 1 and "コピー元とコピー先が同じです" in same.output
