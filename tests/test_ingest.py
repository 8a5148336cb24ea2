"""The batch: ``ingest_folder`` on real workbooks into a real SQLite file, and the run report.

Also the two must-haves that need real processes: a ``budget ingest`` killed with SIGKILL
mid-batch leaves a consistent store that a re-run completes, and two ingests at once lose
nothing and store each distinct file once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from functools import cache
from pathlib import Path

import openpyxl
import pytest

from budget.findings import FileReport
from budget.ingest import (
    DUPLICATE_JA,
    NEW_JA,
    RESUBMISSION_REJECTED_JA,
    ingest_folder,
    submission_status,
    validate_files,
)
from budget.layout import template_file_name
from budget.menu import load_menu
from budget.prefectures import all_prefectures, find_prefecture
from budget.store import Store
from budget.validate import Settings
from tests import hostile
from tests.conftest import write_filled_workbook

SETTINGS = Settings(fiscal_year=2023)
HYPERLINK = '=HYPERLINK("http://x","y")'


@cache
def menu():
    return load_menu(2023)


def codes() -> list[str]:
    return list(menu()["leaf_code"])


def good_row(k: int) -> dict:
    """A row that breaks no rule: A = 2/3 of A+B, 公+民 = A, 受託 <= 民."""
    return {"national": 200 * k, "prefectural": 100 * k, "other": 10 * k, "public": 50 * k,
            "private": 150 * k, "commissioned": 20 * k, "implementer": "県社会福祉協議会",
            "output": f"研修受講者数 {100 * k}人"}


def good_rows(n: int = 5, scale: int = 1) -> dict[str, dict]:
    return {c: good_row(scale * (i + 1)) for i, c in enumerate(codes()[:n])}


def bad_rows() -> dict[str, dict]:
    """計画!H8 negative (error), 計画!Q9 a formula-looking text (warning)."""
    rows = good_rows()
    rows[codes()[0]] = {"national": -5}
    rows[codes()[1]] = {**good_row(2), "remarks": HYPERLINK}
    return rows


BAD_FINDINGS = [["negative-amount", "error", "H8"], ["leading-formula-character", "warning", "Q9"]]


def plan_bytes(pref: str = "13", rows: dict | None = None, header: dict | None = None) -> bytes:
    """A generated workbook filled with ``rows`` (default ``good_rows()``) and the complete
    contact header of ``tests.conftest`` (``header={}``: none), as bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = write_filled_workbook(Path(tmp), pref, good_rows() if rows is None else rows,
                                     header)
        return path.read_bytes()


def file_name(pref: str) -> str:
    p = find_prefecture(pref)
    return template_file_name(p.code, p.name_ja, "R5")


def write(folder: Path, pref: str, content: bytes, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or file_name(pref))
    path.write_bytes(content)
    return path


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def table(con: sqlite3.Connection, sql: str, *params) -> list[tuple]:
    return con.execute(sql, params).fetchall()


# --- the batch, in process ---------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> dict:
    """A folder with good and bad workbooks, junk, lock files and hidden entries, ingested."""
    root = tmp_path_factory.mktemp("mixed")
    inbox = root / "inputs"
    for pref in ("01", "02"):
        write(inbox, pref, plan_bytes(pref, good_rows(scale=int(pref))))
    bad = write(inbox, "13", plan_bytes("13", bad_rows()))
    write(inbox, "", b"memo", "notes.txt")
    truncated = hostile.make_truncated(inbox / "27_大阪府_R5_計画.xlsx", bad)
    write(inbox, "", b"lock", "~$13_東京都_R5_計画.xlsx")
    write(inbox, "", b"lock", ".~lock.13_東京都_R5_計画.xlsx#")
    write(inbox, "", b"x", ".DS_Store")
    (inbox / ".git").mkdir()
    (inbox / "old").mkdir()
    db = root / "budget.db"
    seen: list[str] = []
    run = ingest_folder(inbox, db, SETTINGS, root / "reports", progress=lambda p: seen.append(p.name))
    return {"root": root, "inbox": inbox, "db": db, "run": run, "seen": seen,
            "truncated": truncated}


def test_every_file_is_tried_in_name_order_and_lock_files_skipped_with_a_note(mixed):
    run = mixed["run"]
    names = [r.file for r in run.results]
    assert names == ["01_北海道_R5_計画.xlsx", "02_青森県_R5_計画.xlsx", "13_東京都_R5_計画.xlsx",
                     "27_大阪府_R5_計画.xlsx", "notes.txt"]
    assert mixed["seen"] == names  # progress once per file, in order
    assert [(r.status, r.stored_ja) for r in run.results] == [
        ("accepted", NEW_JA), ("accepted", NEW_JA), ("rejected", NEW_JA), ("rejected", NEW_JA),
        ("rejected", NEW_JA)]
    assert {s.path.name: s.reason for s in run.skipped} == {
        ".DS_Store": "隠しファイルのため読み飛ばしました。",
        ".git": "隠しフォルダのため読み飛ばしました。",
        ".~lock.13_東京都_R5_計画.xlsx#": "LibreOffice のロックファイル（.~lock…#）のため読み飛ばしました。",
        "old": "フォルダのため読み飛ばしました（フォルダの中は読みません）。",
        "~$13_東京都_R5_計画.xlsx": "Excel の作業中ファイル（~$…）のため読み飛ばしました。",
    }
    assert not run.all_accepted


def test_findings_of_each_file_are_exact(mixed):
    by_name = {r.file: r.report for r in mixed["run"].results}
    assert by_name["13_東京都_R5_計画.xlsx"].flatten() == BAD_FINDINGS
    assert by_name["notes.txt"].flatten() == [["not-a-workbook", "error", None]]
    assert by_name["27_大阪府_R5_計画.xlsx"].flatten() == [["corrupt-workbook", "error", None]]
    assert by_name["01_北海道_R5_計画.xlsx"].flatten() == []


def test_every_file_is_stored_even_unparseable_ones(mixed):
    con = sqlite3.connect(mixed["db"])
    rows = table(con, "SELECT s.file_name, s.status, s.prefecture_code, s.sha256, f.content, "
                      "(SELECT COUNT(*) FROM amounts a WHERE a.submission_id = s.id) "
                      "FROM submissions s JOIN files f ON f.submission_id = s.id ORDER BY s.id")
    con.close()
    n_leaves = len(codes())
    assert [(r[0], r[1], r[2], r[5]) for r in rows] == [
        ("01_北海道_R5_計画.xlsx", "accepted", "01", n_leaves),
        ("02_青森県_R5_計画.xlsx", "accepted", "02", n_leaves),
        ("13_東京都_R5_計画.xlsx", "rejected", "13", 0),
        ("27_大阪府_R5_計画.xlsx", "rejected", None, 0),
        ("notes.txt", "rejected", None, 0),
    ]
    for name, _, _, digest, content, _ in rows:
        assert content == (mixed["inbox"] / name).read_bytes()
        assert digest == sha(content)


def test_rejected_workbook_gets_a_return_copy_and_junk_gets_a_reason(mixed):
    run = mixed["run"]
    by_name = {r.file: r for r in run.results}
    copy = by_name["13_東京都_R5_計画.xlsx"].returned
    assert copy == run.returns_dir / "13_東京都_R5_計画_要修正.xlsx"
    assert run.returns_dir.parent == mixed["root"] / "reports"
    wb = openpyxl.load_workbook(copy)
    assert wb.sheetnames[0] == "エラー一覧"
    assert wb["計画"]["H8"].comment is not None
    assert by_name["notes.txt"].returned is None
    assert by_name["notes.txt"].note == (
        "Excel ブックではないため、返送用の注記ファイルは作成できません（not-a-workbook）。")
    assert by_name["27_大阪府_R5_計画.xlsx"].note == (
        "ファイルが壊れているため、返送用の注記ファイルは作成できません（corrupt-workbook）。")
    assert sorted(p.name for p in run.returns_dir.iterdir()) == ["13_東京都_R5_計画_要修正.xlsx"]


def test_run_report_lists_files_and_findings(mixed):
    run = mixed["run"]
    assert run.report_path.parent == mixed["root"] / "reports"
    assert run.report_path.name == f"取込結果_{run.stamp}.xlsx"
    wb = openpyxl.load_workbook(run.report_path)
    assert wb.sheetnames == ["取込結果", "指摘一覧", "実行情報"]
    rows = list(wb["取込結果"].iter_rows(values_only=True))
    assert rows[0] == ("ファイル", "都道府県", "年度", "状態", "登録", "エラー", "警告", "提出ID",
                       "SHA-256", "返送ファイル", "備考")
    assert [r[:8] for r in rows[1:6]] == [
        ("01_北海道_R5_計画.xlsx", "01 北海道", "R5", "受理", "新規", 0, 0, 1),
        ("02_青森県_R5_計画.xlsx", "02 青森県", "R5", "受理", "新規", 0, 0, 2),
        ("13_東京都_R5_計画.xlsx", "13 東京都", "R5", "差戻し", "新規", 1, 1, 3),
        ("27_大阪府_R5_計画.xlsx", None, None, "差戻し", "新規", 1, 0, 4),
        ("notes.txt", None, None, "差戻し", "新規", 1, 0, 5),
    ]
    assert rows[3][8] == sha((mixed["inbox"] / "13_東京都_R5_計画.xlsx").read_bytes())
    assert rows[3][9] == f"返送_{run.stamp}/13_東京都_R5_計画_要修正.xlsx"
    assert [r[0] for r in rows[6:]] == [".DS_Store", ".git", ".~lock.13_東京都_R5_計画.xlsx#",
                                        "old", "~$13_東京都_R5_計画.xlsx"]
    assert {r[3] for r in rows[6:]} == {"読み飛ばし"}

    findings = list(wb["指摘一覧"].iter_rows(values_only=True))
    assert findings[0] == ("ファイル", "都道府県", "場所", "重要度", "コード", "事業", "入力値", "内容")
    assert [r[:5] for r in findings[1:]] == [
        ("13_東京都_R5_計画.xlsx", "13 東京都", "計画!H8", "エラー", "negative-amount"),
        ("13_東京都_R5_計画.xlsx", "13 東京都", "計画!Q9", "警告", "leading-formula-character"),
        ("27_大阪府_R5_計画.xlsx", None, None, "エラー", "corrupt-workbook"),
        ("notes.txt", None, None, "エラー", "not-a-workbook"),
    ]
    # the sender's formula-looking text is neutralised, never a formula
    hyperlink_row = wb["指摘一覧"][3]
    assert hyperlink_row[6].value == "'" + HYPERLINK
    assert hyperlink_row[6].data_type == "s"
    assert all(c.data_type != "f" for row in wb["指摘一覧"].iter_rows() for c in row)


def test_validate_files_checks_without_storing(tmp_path):
    good = write(tmp_path, "01", plan_bytes("01"))
    bad = write(tmp_path, "13", plan_bytes("13", bad_rows()))
    reports = validate_files([bad, good], SETTINGS)
    assert [(r.file, r.status) for r in reports] == [
        ("13_東京都_R5_計画.xlsx", "rejected"), ("01_北海道_R5_計画.xlsx", "accepted")]
    assert reports[0].flatten() == BAD_FINDINGS
    assert sorted(p.name for p in tmp_path.iterdir()) == [good.name, bad.name]


def test_empty_folder_writes_nothing(tmp_path):
    (tmp_path / "in").mkdir()
    run = ingest_folder(tmp_path / "in", tmp_path / "b.db", SETTINGS, tmp_path / "reports")
    assert (run.results, run.report_path, run.all_accepted) == ([], None, True)
    assert not (tmp_path / "reports").exists()


def test_all_accepted_run_keeps_no_empty_return_folder(tmp_path):
    write(tmp_path / "in", "01", plan_bytes("01"))
    write(tmp_path / "in", "", b"", "~$01.xlsx")
    run = ingest_folder(tmp_path / "in", tmp_path / "b.db", SETTINGS, tmp_path / "reports")
    assert run.all_accepted and run.returns_dir is None
    assert [p.name for p in (tmp_path / "reports").iterdir()] == [run.report_path.name]


# --- the same file, resubmissions, status ------------------------------------------------


def test_same_file_twice_is_one_submission(tmp_path):
    inbox = tmp_path / "in"
    write(inbox, "01", plan_bytes("01"))
    write(inbox, "13", plan_bytes("13", bad_rows()))
    first = ingest_folder(inbox, tmp_path / "b.db", SETTINGS, tmp_path / "reports")
    again = ingest_folder(inbox, tmp_path / "b.db", SETTINGS, tmp_path / "reports")
    assert [r.stored_ja for r in first.results] == [NEW_JA, NEW_JA]
    assert [r.stored_ja for r in again.results] == [DUPLICATE_JA, DUPLICATE_JA]
    assert [r.submission_id for r in again.results] == [r.submission_id for r in first.results]
    # the second run reports the stored verdict and findings
    assert [r.status for r in again.results] == ["accepted", "rejected"]
    assert again.results[1].report.flatten() == BAD_FINDINGS
    assert again.report_path != first.report_path
    with Store(tmp_path / "b.db") as store:
        assert len(store.submissions()) == 2


def test_corrected_resubmission_becomes_current_and_the_earlier_stays(tmp_path):
    db = tmp_path / "b.db"
    write(tmp_path / "r1", "13", plan_bytes("13", bad_rows()))
    ingest_folder(tmp_path / "r1", db, SETTINGS, None)
    with Store(db) as store:
        row = submission_status(store, 2023).set_index("prefecture_code").loc["13"]
        assert (row["status"], row["n_submissions"], row["note"]) == ("差戻し", 1, "")
        assert row["fund_total"] is pd_na()

    fixed = good_rows(n=3)  # funds 300 + 600 + 900
    write(tmp_path / "r2", "13", plan_bytes("13", fixed))
    run = ingest_folder(tmp_path / "r2", db, SETTINGS, None)
    with Store(db) as store:
        st = submission_status(store, 2023).set_index("prefecture_code")
        assert (st.loc["13", "status"], st.loc["13", "n_submissions"]) == ("受理", 2)
        assert st.loc["13", "submission_id"] == run.results[0].submission_id
        assert st.loc["13", "fund_total"] == 1800
        assert len(store.submissions(2023)) == 2  # the rejected one stays

    # a newer rejected resubmission leaves the accepted plan current, with a note
    write(tmp_path / "r3", "13", plan_bytes("13", bad_rows(), header={}), "13_再提出.xlsx")
    ingest_folder(tmp_path / "r3", db, SETTINGS, None)
    with Store(db) as store:
        row = submission_status(store, 2023).set_index("prefecture_code").loc["13"]
        assert (row["status"], row["note"], row["n_submissions"], row["file_name"]) == (
            "受理", RESUBMISSION_REJECTED_JA, 3, "13_東京都_R5_計画.xlsx")


def pd_na():
    import pandas as pd

    return pd.NA


def test_status_has_47_rows_in_code_order(tmp_path):
    db = tmp_path / "b.db"
    write(tmp_path / "in", "01", plan_bytes("01", good_rows(n=2)))  # fund 300 + 600
    ingest_folder(tmp_path / "in", db, SETTINGS, None)
    with Store(db) as store:
        st = submission_status(store, 2023)
        assert st["prefecture_code"].tolist() == [p.code for p in all_prefectures()]
        assert st["status"].value_counts().to_dict() == {"未提出": 46, "受理": 1}
        assert st.iloc[0][["prefecture", "status", "file_name", "n_submissions",
                           "fund_total"]].tolist() == ["北海道", "受理", "01_北海道_R5_計画.xlsx", 1, 900]
        assert st.iloc[1][["status", "file_name", "n_submissions"]].tolist() == ["未提出", "", 0]
        assert submission_status(store, 2024)["status"].eq("未提出").all()


def test_a_bug_in_validation_does_not_stop_the_batch_or_store_a_verdict(tmp_path, monkeypatch):
    import budget.validate

    real = budget.validate.check_many

    def flaky(items, settings):  # a bug that one file triggers, in a batch or alone
        if any(name.startswith("02") for _, name in items):
            raise ZeroDivisionError("boom")
        return real(items, settings)

    monkeypatch.setattr(budget.validate, "check_many", flaky)
    for pref in ("01", "02", "03"):
        write(tmp_path / "in", pref, plan_bytes(pref))
    run = ingest_folder(tmp_path / "in", tmp_path / "b.db", SETTINGS, None)
    assert [(r.status, r.submission_id is not None) for r in run.results] == [
        ("accepted", True), ("rejected", False), ("accepted", True)]
    assert run.results[1].note.startswith("内部エラーのため確認できず、登録しませんでした（ZeroDivisionError")


# --- real processes: SIGKILL mid-batch, two ingests at once ---------------------------------


@pytest.fixture(scope="module")
def thirty(tmp_path_factory) -> Path:
    """30 workbooks (01–30); every third one rejected (its return copy slows the batch)."""
    folder = tmp_path_factory.mktemp("thirty")
    for i, p in enumerate(all_prefectures()[:30]):
        rows = bad_rows() if i % 3 == 2 else good_rows(scale=i + 1)
        write(folder, p.code, plan_bytes(p.code, rows))
    return folder


def ingest_cmd(folder: Path, db: Path, reports: Path) -> list[str]:
    return [sys.executable, "-m", "budget", "ingest", str(folder), "--db", str(db),
            "--reports", str(reports)]


def stored_count(db: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0  # not created yet


def children(pid: int) -> list[int]:
    """Child process ids (Linux /proc; empty elsewhere)."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def check_consistent(db: Path, folder: Path) -> dict[str, int]:
    """Every stored submission complete; returns sha256 → submission id."""
    files = {sha(p.read_bytes()): p.name for p in folder.iterdir()}
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        subs = table(con, "SELECT id, sha256, status, n_errors + n_warnings FROM submissions")
        n_leaves = len(codes())
        for sid, digest, status, n_findings in subs:
            content = table(con, "SELECT content FROM files WHERE submission_id = ?", sid)
            assert len(content) == 1 and sha(content[0][0]) == digest
            assert digest in files  # stored bytes are one of the folder's files, whole
            n_amounts = table(con, "SELECT COUNT(*) FROM amounts WHERE submission_id = ?", sid)
            assert n_amounts[0][0] == (n_leaves if status == "accepted" else 0)
            n_stored = table(con, "SELECT COUNT(*) FROM findings WHERE submission_id = ?", sid)
            assert n_stored[0][0] == n_findings
        orphans = table(con, "SELECT COUNT(*) FROM files WHERE submission_id NOT IN "
                             "(SELECT id FROM submissions)")
        assert orphans[0][0] == 0
        return {digest: sid for sid, digest, _, _ in subs}
    finally:
        con.close()


@pytest.mark.slow
def test_sigkill_mid_ingest_leaves_a_consistent_store_and_a_rerun_completes(thirty, tmp_path):
    db = tmp_path / "budget.db"
    proc = subprocess.Popen(ingest_cmd(thirty, db, tmp_path / "reports"), cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while stored_count(db) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        assert proc.poll() is None, "the ingest finished before it could be killed"
        workers = children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # its checking workers do not linger once the ingest is gone
    if len(os.sched_getaffinity(0)) > 1 and sys.platform == "linux":
        assert workers, "the ingest checks with forked workers on more than one core"
    deadline = time.monotonic() + 10
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [w for w in workers if alive(w)]
    before = check_consistent(db, thirty)
    assert 3 <= len(before) < 30

    rerun = subprocess.run(ingest_cmd(thirty, db, tmp_path / "reports"), cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 1, rerun.stderr  # ten files are rejected
    after = check_consistent(db, thirty)
    assert set(after) == {sha(p.read_bytes()) for p in thirty.iterdir()}  # each file once
    assert all(after[d] == sid for d, sid in before.items())  # nothing stored twice
    assert rerun.stdout.count(DUPLICATE_JA) - 1 == len(before)  # minus the summary line
    assert f"30 件中 受理 20 件、差戻し 10 件（新規登録 {30 - len(before)} 件" in rerun.stdout


@pytest.mark.slow
def test_two_ingests_at_once_store_each_distinct_file_once(thirty, tmp_path):
    names = sorted(p.name for p in thirty.iterdir())
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, chosen in ((a, names[:20]), (b, names[10:])):  # 10 files in both
        folder.mkdir()
        for n in chosen:
            shutil.copy(thirty / n, folder / n)
    db, reports = tmp_path / "budget.db", tmp_path / "reports"
    procs = [subprocess.Popen(ingest_cmd(f, db, reports), cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for f in (a, b)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [1, 1], [o[1] for o in outs]
    stored = check_consistent(db, thirty)
    assert set(stored) == {sha(p.read_bytes()) for p in thirty.iterdir()}
    new = sum(o[0].count(f"  {NEW_JA}  ") for o in outs)
    dup = sum(o[0].count(f"  {DUPLICATE_JA}  ") for o in outs)
    assert (new, dup) == (30, 10)
    # each run wrote its own report, even when both started in the same second
    assert len(list(reports.glob("取込結果_*.xlsx"))) == 2


def test_filereport_of_a_duplicate_comes_from_the_store(tmp_path):
    write(tmp_path / "in", "13", plan_bytes("13", bad_rows()))
    ingest_folder(tmp_path / "in", tmp_path / "b.db", SETTINGS, None)
    run = ingest_folder(tmp_path / "in", tmp_path / "b.db", SETTINGS, tmp_path / "rep")
    report = run.results[0].report
    assert isinstance(report, FileReport) and report.plan is None
    assert (report.prefecture_code, report.fiscal_year) == ("13", 2023)
    assert run.results[0].returned.name == "13_東京都_R5_計画_要修正.xlsx"  # made again


def test_forked_workers_give_the_same_results_as_one_process(tmp_path):
    for pref in ("01", "02", "03"):
        write(tmp_path / "in", pref, plan_bytes(pref, good_rows(scale=int(pref))))
    write(tmp_path / "in", "13", plan_bytes("13", bad_rows()))
    write(tmp_path / "in", "", b"memo", "notes.txt")
    runs = [ingest_folder(tmp_path / "in", tmp_path / f"{n}.db", SETTINGS, tmp_path / f"r{n}",
                          workers=n) for n in (0, 2)]

    def summary(run):
        return [(r.file, r.status, r.submission_id, r.report.flatten(), r.note,
                 r.returned and r.returned.name) for r in run.results]

    assert summary(runs[0]) == summary(runs[1])
    assert summary(runs[1])[3][5] == "13_東京都_R5_計画_要修正.xlsx"  # written by a worker
    for n in (0, 2):
        with Store(tmp_path / f"{n}.db") as store:
            amounts = store.current_amounts(2023)
            assert amounts["fund"].sum() == 4500 * (1 + 2 + 3)  # 300 × (1+…+5) per scale


def test_worker_count():
    from budget.ingest import MIN_FILES_FOR_WORKERS, worker_count

    assert worker_count(MIN_FILES_FOR_WORKERS - 1) == 0
    assert worker_count(100, 0) == 0 and worker_count(100, 1) == 0
    assert worker_count(3, 8) == 3  # never more workers than files


def test_a_worker_that_dies_neither_hangs_nor_stops_the_batch(tmp_path, monkeypatch):
    import budget.validate

    real = budget.validate.check_many

    def deadly(items, settings):  # runs in the forked workers too
        if any(name.startswith("03") for _, name in items):
            os._exit(3)  # as if killed for memory
        return real(items, settings)

    monkeypatch.setattr(budget.validate, "check_many", deadly)
    for pref in ("01", "02", "03", "04", "05"):
        write(tmp_path / "in", pref, plan_bytes(pref, good_rows(scale=int(pref))))
    run = ingest_folder(tmp_path / "in", tmp_path / "b.db", SETTINGS, None, workers=2)
    assert [(r.file[:2], r.status, r.stored_ja) for r in run.results] == [
        ("01", "accepted", NEW_JA), ("02", "accepted", NEW_JA), ("03", "rejected", "未登録"),
        ("04", "accepted", NEW_JA), ("05", "accepted", NEW_JA)]
    assert run.results[2].note.startswith("確認中に処理が異常終了したため登録しませんでした")
    with Store(tmp_path / "b.db") as store:
        assert sorted(store.submissions()["prefecture_code"]) == ["01", "02", "04", "05"]
