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

from budget.analysis.status import submission_status
from budget.findings import FileReport
from budget.fiscal import local_time, short_time
from budget.forms.plan import template_file_name
from budget.intake.batch import ingest_folder
from budget.intake.check import Settings, check_files
from budget.intake.results import DUPLICATE_JA, NEW_JA
from budget.menu import load_menu
from budget.prefectures import all_prefectures, find_prefecture
from budget.store import open_store
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
CSV = "事業,国\nR5-01,100\n".encode("cp932")
CSV_NAME = "99_一覧.XLSX"  # a CSV saved under a workbook's name (upper-case suffix)
SKIPPED_NOTE = ("Excel ブック（.xlsx など）ではないため読み飛ばしました（登録していません）。"
                "提出ファイルであれば、Excel ブック形式で送り直してもらってください。")


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
    write(inbox, "", b"memo", "notes.txt")  # not named like a workbook: skipped
    write(inbox, "", b"%PDF-1.4\n", "送付状.pdf")
    write(inbox, "", CSV, CSV_NAME)  # named like a workbook: tried, rejected by its content
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
                     "27_大阪府_R5_計画.xlsx", CSV_NAME]
    assert mixed["seen"] == names  # progress once per file, in order
    assert [(r.status, r.stored_ja) for r in run.results] == [
        ("accepted", NEW_JA), ("accepted", NEW_JA), ("rejected", NEW_JA), ("rejected", NEW_JA),
        ("rejected", NEW_JA)]
    assert {s.path.name: s.reason for s in run.skipped} == {
        ".DS_Store": "隠しファイルのため読み飛ばしました。",
        ".git": "隠しフォルダのため読み飛ばしました。",
        ".~lock.13_東京都_R5_計画.xlsx#": "LibreOffice のロックファイル（.~lock…#）のため読み飛ばしました。",
        "notes.txt": SKIPPED_NOTE,
        "old": "フォルダのため読み飛ばしました（フォルダの中は読みません）。",
        "~$13_東京都_R5_計画.xlsx": "Excel の作業中ファイル（~$…）のため読み飛ばしました。",
        "送付状.pdf": SKIPPED_NOTE,
    }
    assert not run.all_accepted


def test_findings_of_each_file_are_exact(mixed):
    by_name = {r.file: r.report for r in mixed["run"].results}
    assert by_name["13_東京都_R5_計画.xlsx"].flatten() == BAD_FINDINGS
    assert by_name[CSV_NAME].flatten() == [["not-a-workbook", "error", None]]
    assert by_name["27_大阪府_R5_計画.xlsx"].flatten() == [["corrupt-workbook", "error", None]]
    assert by_name["01_北海道_R5_計画.xlsx"].flatten() == []


def test_every_file_is_stored_even_unparseable_ones(mixed):
    con = sqlite3.connect(mixed["db"])
    rows = table(con, "SELECT s.file_name, s.status, s.prefecture_code, s.sha256, f.content, "
                      "(SELECT COUNT(*) FROM submission_leaves v "
                      "WHERE v.submission_id = s.id), s.form_prefecture_code "
                      "FROM submissions s JOIN files f ON f.submission_id = s.id ORDER BY s.id")
    con.close()
    n_leaves = len(codes())
    # whose it is (decided at ingest): an unreadable file is the prefecture its name says
    assert [(r[0], r[1], r[2], r[6], r[5]) for r in rows] == [
        ("01_北海道_R5_計画.xlsx", "accepted", "01", "01", n_leaves),
        ("02_青森県_R5_計画.xlsx", "accepted", "02", "02", n_leaves),
        ("13_東京都_R5_計画.xlsx", "rejected", "13", "13", 0),
        ("27_大阪府_R5_計画.xlsx", "rejected", "27", None, 0),
        (CSV_NAME, "rejected", None, None, 0),
    ]
    for name, _, _, digest, content, _, _ in rows:
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
    assert by_name[CSV_NAME].returned is None
    assert by_name[CSV_NAME].note == (
        "Excel ブックではないため、返送用の注記ファイルは作成できません。")
    assert by_name["27_大阪府_R5_計画.xlsx"].note == (
        "ファイルが壊れているため、返送用の注記ファイルは作成できません。")
    assert sorted(p.name for p in run.returns_dir.iterdir()) == ["13_東京都_R5_計画_要修正.xlsx"]


def test_run_report_lists_files_and_findings(mixed):
    run = mixed["run"]
    assert run.report_path.parent == mixed["root"] / "reports"
    assert run.report_path.name == f"取込結果_{run.stamp}.xlsx"
    wb = openpyxl.load_workbook(run.report_path)
    assert wb.sheetnames == ["取込結果", "指摘一覧", "変更点", "実行情報"]
    rows = list(wb["取込結果"].iter_rows(values_only=True))
    assert rows[0] == ("ファイル", "都道府県", "年度", "状態", "登録", "エラー", "警告", "提出ID",
                       "SHA-256", "返送ファイル", "備考")
    assert [r[:8] for r in rows[1:6]] == [
        ("01_北海道_R5_計画.xlsx", "01 北海道", "R5", "受理", "新規", 0, 0, 1),
        ("02_青森県_R5_計画.xlsx", "02 青森県", "R5", "受理", "新規", 0, 0, 2),
        ("13_東京都_R5_計画.xlsx", "13 東京都", "R5", "差戻し", "新規", 1, 1, 3),
        ("27_大阪府_R5_計画.xlsx", "27 大阪府", None, "差戻し", "新規", 1, 0, 4),
        (CSV_NAME, None, None, "差戻し", "新規", 1, 0, 5),
    ]
    assert rows[3][8] == sha((mixed["inbox"] / "13_東京都_R5_計画.xlsx").read_bytes())
    assert rows[3][9] == f"返送_{run.stamp}/13_東京都_R5_計画_要修正.xlsx"
    assert [r[0] for r in rows[6:]] == [".DS_Store", ".git", ".~lock.13_東京都_R5_計画.xlsx#",
                                        "notes.txt", "old", "~$13_東京都_R5_計画.xlsx", "送付状.pdf"]
    assert {r[3] for r in rows[6:]} == {"読み飛ばし"}
    assert [r[10] for r in rows[6:] if r[0] in ("notes.txt", "送付状.pdf")] == [SKIPPED_NOTE] * 2

    findings = list(wb["指摘一覧"].iter_rows(values_only=True))
    assert findings[0] == ("ファイル", "都道府県", "場所", "重要度", "コード", "事業", "入力値", "内容")
    assert [r[:5] for r in findings[1:]] == [
        ("13_東京都_R5_計画.xlsx", "13 東京都", "計画!H8", "エラー", "negative-amount"),
        ("13_東京都_R5_計画.xlsx", "13 東京都", "計画!Q9", "警告", "leading-formula-character"),
        ("27_大阪府_R5_計画.xlsx", "27 大阪府", None, "エラー", "corrupt-workbook"),
        (CSV_NAME, None, None, "エラー", "not-a-workbook"),
    ]
    # the sender's formula-looking text is shown as sent, inert (quote prefix), never a formula
    hyperlink_row = wb["指摘一覧"][3]
    assert hyperlink_row[6].value == HYPERLINK
    assert hyperlink_row[6].data_type == "s" and hyperlink_row[6].quotePrefix
    assert all(c.data_type != "f" for row in wb["指摘一覧"].iter_rows() for c in row)


def test_checking_files_stores_nothing(tmp_path):
    good = write(tmp_path, "01", plan_bytes("01"))
    bad = write(tmp_path, "13", plan_bytes("13", bad_rows()))
    reports = check_files([bad, good], SETTINGS)
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
    with open_store(tmp_path / "b.db") as store:
        assert len(store.submissions()) == 2


def test_corrected_resubmission_becomes_current_and_the_earlier_stays(tmp_path):
    db = tmp_path / "b.db"
    write(tmp_path / "r1", "13", plan_bytes("13", bad_rows()))
    ingest_folder(tmp_path / "r1", db, SETTINGS, None)
    with open_store(db) as store:
        row = submission_status(store, 2023).set_index("prefecture_code").loc["13"]
        assert (row["status"], row["status_ja"], row["n_submissions"], row["note"]) == (
            "rejected", "差戻し", 1, "受理できる提出なし（差戻し 1 件）。再提出待ち")
        assert row["fund_total"] is pd_na()

    fixed = good_rows(n=3)  # funds 300 + 600 + 900
    write(tmp_path / "r2", "13", plan_bytes("13", fixed))
    run = ingest_folder(tmp_path / "r2", db, SETTINGS, None)
    with open_store(db) as store:
        st = submission_status(store, 2023).set_index("prefecture_code")
        assert (st.loc["13", "status"], st.loc["13", "status_ja"], st.loc["13", "n_submissions"]
                ) == ("accepted", "受理", 2)
        assert st.loc["13", "submission_id"] == run.results[0].submission_id
        assert st.loc["13", "fund_total"] == 1800
        assert len(store.submissions(2023)) == 2  # the rejected one stays

    # a newer rejected resubmission leaves the accepted plan current, with a note
    write(tmp_path / "r3", "13", plan_bytes("13", bad_rows(), header={}), "13_再提出.xlsx")
    ingest_folder(tmp_path / "r3", db, SETTINGS, None)
    with open_store(db) as store:
        row = submission_status(store, 2023).set_index("prefecture_code").loc["13"]
        newest = store.submissions(2023).iloc[0]  # newest first
        assert (row["status_ja"], row["note"], row["n_submissions"], row["file_name"]) == (
            "受理", f"最新の提出（13_再提出.xlsx、{short_time(local_time(newest['received_at']))}）"
            "は差戻し。受理済みの提出を集計",
            3, "13_東京都_R5_計画.xlsx")


def pd_na():
    import pandas as pd

    return pd.NA


def test_status_has_47_rows_in_code_order(tmp_path):
    db = tmp_path / "b.db"
    write(tmp_path / "in", "01", plan_bytes("01", good_rows(n=2)))  # fund 300 + 600
    ingest_folder(tmp_path / "in", db, SETTINGS, None)
    with open_store(db) as store:
        st = submission_status(store, 2023)
        assert st["prefecture_code"].tolist() == [p.code for p in all_prefectures()]
        assert st["status_ja"].value_counts().to_dict() == {"未提出": 46, "受理": 1}
        assert st.iloc[0][["prefecture", "status", "status_ja", "file_name", "n_submissions",
                           "fund_total", "stored_under"]].tolist() == [
            "北海道", "accepted", "受理", "01_北海道_R5_計画.xlsx", 1, 900, "01"]
        assert st.iloc[1][["status", "status_ja", "note", "file_name", "n_submissions"]
                          ].tolist() == ["missing", "未提出", "提出なし", "", 0]
        assert submission_status(store, 2024)["status"].eq("missing").all()


def test_a_bug_in_validation_does_not_stop_the_batch_or_store_a_verdict(tmp_path, monkeypatch):
    import budget.intake.check

    real = budget.intake.check.check_many

    def flaky(items, settings):  # a bug that one file triggers, in a batch or alone
        if any(name.startswith("02") for _, name in items):
            raise ZeroDivisionError("boom")
        return real(items, settings)

    monkeypatch.setattr(budget.intake.check, "check_many", flaky)
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
            n_amounts = table(con, "SELECT COUNT(*) FROM submission_leaves "
                                   "WHERE submission_id = ?", sid)
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
    assert not db.exists()  # both start on a database that does not exist yet
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
    write(tmp_path / "in", "", CSV, CSV_NAME)
    runs = [ingest_folder(tmp_path / "in", tmp_path / f"{n}.db", SETTINGS, tmp_path / f"r{n}",
                          workers=n) for n in (0, 2)]

    def summary(run):
        return [(r.file, r.status, r.submission_id, r.report.flatten(), r.note,
                 r.returned and r.returned.name) for r in run.results]

    assert summary(runs[0]) == summary(runs[1])
    assert summary(runs[1])[3][5] == "13_東京都_R5_計画_要修正.xlsx"  # written by a worker
    for n in (0, 2):
        with open_store(tmp_path / f"{n}.db") as store:
            amounts = store.current_amounts(2023)
            assert amounts["fund"].sum() == 4500 * (1 + 2 + 3)  # 300 × (1+…+5) per scale


def test_worker_count():
    from budget.intake.workers import MIN_FILES_FOR_WORKERS, worker_count

    assert worker_count(MIN_FILES_FOR_WORKERS - 1) == 0
    assert worker_count(100, 0) == 0 and worker_count(100, 1) == 0
    assert worker_count(3, 8) == 3  # never more workers than files


def test_a_worker_that_dies_neither_hangs_nor_stops_the_batch(tmp_path, monkeypatch):
    import budget.intake.check

    real = budget.intake.check.check_many

    def deadly(items, settings):  # runs in the forked workers too
        if any(name.startswith("03") for _, name in items):
            os._exit(3)  # as if killed for memory
        return real(items, settings)

    monkeypatch.setattr(budget.intake.check, "check_many", deadly)
    for pref in ("01", "02", "03", "04", "05"):
        write(tmp_path / "in", pref, plan_bytes(pref, good_rows(scale=int(pref))))
    run = ingest_folder(tmp_path / "in", tmp_path / "b.db", SETTINGS, None, workers=2)
    assert [(r.file[:2], r.status, r.stored_ja) for r in run.results] == [
        ("01", "accepted", NEW_JA), ("02", "accepted", NEW_JA), ("03", "rejected", "未登録"),
        ("04", "accepted", NEW_JA), ("05", "accepted", NEW_JA)]
    assert run.results[2].note.startswith("確認中に処理が異常終了したため登録しませんでした")
    with open_store(tmp_path / "b.db") as store:
        assert sorted(store.submissions()["prefecture_code"]) == ["01", "02", "04", "05"]


# --- two ingests at once on a database that does not exist yet ------------------------------


def _ingest_in_child(folder: Path, db: Path, barrier, results) -> None:
    """In a forked process: ingest ``folder`` into ``db``, its first opening of the store
    held back until every child is about to open it too (the moment the race needs)."""
    import budget.store.sqlite

    real_init = budget.store.sqlite.SQLiteStore.__init__
    opened: list[bool] = []

    def init_together(self, *args, **kwargs):
        if not opened:
            opened.append(True)
            barrier.wait(timeout=60)
        return real_init(self, *args, **kwargs)

    # this child only: it exits afterwards
    budget.store.sqlite.SQLiteStore.__init__ = init_together  # type: ignore[method-assign]
    try:
        run = ingest_folder(folder, db, SETTINGS, None, workers=0)
        results.put((folder.name, sorted((r.file, r.stored_ja) for r in run.results)))
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        results.put((folder.name, f"{type(exc).__name__}: {exc}"))


def test_ingests_starting_together_on_a_new_database_all_complete(tmp_path):
    """Regression: the first ingest to open a new database switches it to WAL; the other one,
    doing the same at that moment, used to abort with 「データベース … を開けません（database is
    locked）」 (about one start in twelve). Here three forked ingests whose first opening of
    the store is released together by a barrier, 20 rounds, each from a missing database:
    every run of this test (ten of ten) failed before the fix."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs fork")
    ctx = multiprocessing.get_context("fork")
    # Files that are quick to check (rejected at once: a CSV under a workbook's name), so that
    # a round costs little; the race is in opening the store, before any file is checked.
    folders = {"a": ("x1.xlsx", "x2.xlsx"), "b": ("x2.xlsx",), "c": ("x1.xlsx",)}
    for folder, names in folders.items():
        for name in names:
            write(tmp_path / folder, "", f"{name},1\n".encode(), name)
    expected = {folder: sorted(names) for folder, names in folders.items()}
    # warm this process (imports, menu cache) so that each forked ingest starts at once
    ingest_folder(tmp_path / "a", tmp_path / "warm.db", SETTINGS, None, workers=0)
    for r in range(20):
        db = tmp_path / f"round{r}.db"
        assert not db.exists()
        barrier, results = ctx.Barrier(len(folders)), ctx.Queue()
        procs = [ctx.Process(target=_ingest_in_child, args=(tmp_path / name, db, barrier, results))
                 for name in folders]
        for p in procs:
            p.start()
        outcome = dict(results.get(timeout=60) for _ in procs)
        for p in procs:
            p.join(timeout=60)
        assert all(isinstance(v, list) for v in outcome.values()), (r, outcome)
        assert {k: [f for f, _ in v] for k, v in outcome.items()} == expected
        stored = sorted(f for v in outcome.values() for f, how in v if how == NEW_JA)
        assert stored == ["x1.xlsx", "x2.xlsx"], r  # each once
        with open_store(db) as store:
            assert sorted(store.submissions()["file_name"]) == stored


# --- the same bytes under another name ----------------------------------------------------

KANAGAWA = "14_神奈川県_R5_計画.xlsx"
MISMATCH = [["prefecture-mismatch", "error", "E2"]]


def test_same_bytes_under_another_name_in_a_later_run_are_checked_and_stored(tmp_path):
    """Regression: Hokkaido's file copied to Kanagawa's name used to be reported as
    「北海道 受理 登録済み（変更なし）」 with a return copy, and its name was never stored."""
    db, hokkaido = tmp_path / "b.db", plan_bytes("01")
    write(tmp_path / "in", "01", hokkaido)
    first = ingest_folder(tmp_path / "in", db, SETTINGS, tmp_path / "rep")
    write(tmp_path / "in", "", hokkaido, KANAGAWA)
    run = ingest_folder(tmp_path / "in", db, SETTINGS, tmp_path / "rep")
    assert [(r.file, r.status, r.stored_ja, r.report.flatten()) for r in run.results] == [
        (file_name("01"), "accepted", DUPLICATE_JA, []),
        (KANAGAWA, "rejected", NEW_JA, MISMATCH)]
    copy = run.results[1]
    assert copy.submission_id not in (None, first.results[0].submission_id)
    assert copy.report.prefecture_code == "01"  # whose template it is
    assert copy.returned == run.returns_dir / "14_神奈川県_R5_計画_要修正.xlsx"
    assert not run.all_accepted  # exit 1
    with open_store(db) as store:
        subs = store.submissions()
        assert sorted(zip(subs["file_name"], subs["status"], subs["sha256"])) == [
            (file_name("01"), "accepted", sha(hokkaido)), (KANAGAWA, "rejected", sha(hokkaido))]
        assert [f.code for f in store.findings(copy.submission_id)] == ["prefecture-mismatch"]
        st = submission_status(store, 2023).set_index("prefecture_code")
        assert st.loc["14", ["status_ja", "note", "file_name", "n_submissions", "stored_under"]
                      ].tolist() == [
            "差戻し", "ファイル名は本県のものですが、様式は 01 北海道 のものでした（差戻し）。"
            "本県の様式での再提出待ち", KANAGAWA, 1, "01"]
    again = ingest_folder(tmp_path / "in", db, SETTINGS, None)  # now both are known
    assert [(r.status, r.stored_ja) for r in again.results] == [
        ("accepted", DUPLICATE_JA), ("rejected", DUPLICATE_JA)]
    assert again.results[1].report.flatten() == MISMATCH
    assert again.results[1].submission_id == copy.submission_id


def test_same_bytes_under_two_names_in_one_run_are_two_submissions(tmp_path):
    hokkaido = plan_bytes("01")
    write(tmp_path / "in", "01", hokkaido)
    write(tmp_path / "in", "", hokkaido, KANAGAWA)
    write(tmp_path / "in", "", hokkaido, "01_北海道_R5_計画 (2).xlsx")  # a browser's copy name
    run = ingest_folder(tmp_path / "in", tmp_path / "b.db", SETTINGS, None)
    assert [(r.file, r.status, r.stored_ja, r.report.flatten()) for r in run.results] == [
        ("01_北海道_R5_計画 (2).xlsx", "accepted", NEW_JA, []),
        (file_name("01"), "accepted", NEW_JA, []),
        (KANAGAWA, "rejected", NEW_JA, MISMATCH)]
    assert len({r.submission_id for r in run.results}) == 3


# --- a bug inside a check stores nothing --------------------------------------------------


def test_a_bug_inside_one_files_check_is_not_stored_and_a_rerun_checks_it_again(
        tmp_path, monkeypatch):
    """Regression: ``budget.intake.check`` turns an exception inside a step into an
    ``internal-error`` finding; that report used to be stored as a rejection, and after the
    bug was fixed a re-run said 「登録済み（変更なし）」."""
    from budget.intake.check import _Check

    real = _Check.check_labels

    def buggy(self, *args, **kwargs):
        if self.report.file.startswith("02"):
            raise ZeroDivisionError("boom")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(_Check, "check_labels", buggy)
    for i, pref in enumerate(("01", "02", "03", "04", "05", "06", "07")):  # 02 amid a chunk
        write(tmp_path / "in", pref, plan_bytes(pref, bad_rows() if i == 6 else None))
    db = tmp_path / "b.db"
    run = ingest_folder(tmp_path / "in", db, SETTINGS, tmp_path / "rep", workers=0)
    assert [(r.file[:2], r.status, r.stored_ja) for r in run.results] == [
        ("01", "accepted", NEW_JA), ("02", "rejected", "未登録"), ("03", "accepted", NEW_JA),
        ("04", "accepted", NEW_JA), ("05", "accepted", NEW_JA), ("06", "accepted", NEW_JA),
        ("07", "rejected", NEW_JA)]
    bug = run.results[1]
    assert bug.submission_id is None and bug.returned is None
    assert bug.report.flatten() == [["internal-error", "error", None]]
    assert bug.note == ("内部エラーのため確認できず、登録しませんでした（ZeroDivisionError: boom）。"
                        "開発担当に連絡してください。不具合の修正後に再実行すると、改めて確認して登録します。")
    assert not run.all_accepted
    assert [p.name for p in run.returns_dir.iterdir()] == ["07_福島県_R5_計画_要修正.xlsx"]
    with open_store(db) as store:
        assert "02" not in set(store.submissions()["prefecture_code"])

    monkeypatch.setattr(_Check, "check_labels", real)  # the bug is fixed
    rerun = ingest_folder(tmp_path / "in", db, SETTINGS, None, workers=0)
    assert [(r.file[:2], r.stored_ja) for r in rerun.results if r.created] == [("02", NEW_JA)]
    assert rerun.results[1].status == "accepted"
    assert [r.stored_ja for r in rerun.results].count(DUPLICATE_JA) == 6


def test_a_failure_of_the_shared_rule_pass_is_retried_file_by_file(tmp_path, monkeypatch):
    """The plan rules run once over a chunk of files; if that shared pass fails (every file of
    the chunk gets ``internal-error``), each file is checked alone and stored as usual."""
    import dataclasses

    import budget.forms

    real = budget.forms.PLAN.schema
    rows_of_one_file = len(codes())

    class OneFileAtATime:
        def __init__(self, tolerance):
            self.schema = real(tolerance)

        def validate(self, frame, **kwargs):
            if len(frame) > rows_of_one_file:
                raise MemoryError("a batch too large")
            return self.schema.validate(frame, **kwargs)

    monkeypatch.setitem(budget.forms._FORMS, "plan",
                        dataclasses.replace(budget.forms.PLAN, schema=OneFileAtATime))
    for pref in ("01", "02", "03"):
        write(tmp_path / "in", pref, plan_bytes(pref))
    write(tmp_path / "in", "13", plan_bytes("13", bad_rows()))
    run = ingest_folder(tmp_path / "in", tmp_path / "b.db", SETTINGS, None, workers=0)
    assert [(r.file[:2], r.status, r.stored_ja, r.report.flatten()) for r in run.results] == [
        ("01", "accepted", NEW_JA, []), ("02", "accepted", NEW_JA, []),
        ("03", "accepted", NEW_JA, []), ("13", "rejected", NEW_JA, BAD_FINDINGS)]


# --- the run's files: made when needed -----------------------------------------------------


def test_an_interrupted_run_leaves_no_empty_return_folder(tmp_path):
    """Regression: the 返送_<stamp>/ folder used to be made at the start of the run, so a
    run killed before its first return copy left it behind, empty."""
    for pref in ("01", "02"):
        write(tmp_path / "in", pref, plan_bytes(pref))
    write(tmp_path / "in", "13", plan_bytes("13", bad_rows()))

    def interrupt(path: Path) -> None:
        if path.name.startswith("02"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest_folder(tmp_path / "in", tmp_path / "b.db", SETTINGS, tmp_path / "reports",
                      progress=interrupt, workers=0)
    assert list((tmp_path / "reports").iterdir()) == []
    with open_store(tmp_path / "b.db") as store:  # what was done stays done
        assert sorted(store.submissions()["prefecture_code"]) == ["01", "02"]


def test_runs_started_in_the_same_second_get_their_own_names(tmp_path):
    from budget.intake.batch import RunOutputs
    from budget.intake.results import IngestRun

    reports = tmp_path / "reports"
    reports.mkdir()
    a, b, c = (RunOutputs(reports, "20240501-101112") for _ in range(3))
    run = IngestRun(tmp_path, tmp_path / "b.db", dt_now())
    assert a.write_copy("x.xlsx", b"a") == reports / "返送_20240501-101112" / "x.xlsx"
    assert b.write_report(run).name == "取込結果_20240501-101112_2.xlsx"  # a has _1's folder
    assert c.write_copy("x.xlsx", b"c") == reports / "返送_20240501-101112_3" / "x.xlsx"
    assert a.write_report(run).name == "取込結果_20240501-101112.xlsx"
    assert c.write_report(run).name == "取込結果_20240501-101112_3.xlsx"
    assert (reports / "返送_20240501-101112" / "x.xlsx").read_bytes() == b"a"
    assert sorted(p.name for p in reports.iterdir()) == [
        "取込結果_20240501-101112.xlsx", "取込結果_20240501-101112_2.xlsx",
        "取込結果_20240501-101112_3.xlsx", "返送_20240501-101112", "返送_20240501-101112_3"]


def dt_now():
    import datetime as dt

    return dt.datetime.now().astimezone()


# --- status: files attributed by their name ----------------------------------------------


def test_status_shows_an_unreadable_file_under_the_prefecture_its_name_says(tmp_path):
    """Regression: an encrypted 13_東京都_R5_計画.xlsx is stored with no prefecture (nothing
    in it can be read), and status used to show 東京都 未提出 with no submission."""
    path = hostile.make_encrypted(tmp_path / "in" / file_name("13"))
    write(tmp_path / "in", "01", plan_bytes("01"))
    db = tmp_path / "b.db"
    run = ingest_folder(tmp_path / "in", db, SETTINGS, None)
    assert [(r.file, r.status, r.report.prefecture_code) for r in run.results] == [
        (file_name("01"), "accepted", "01"), (path.name, "rejected", None)]
    with open_store(db) as store:
        st = submission_status(store, 2023).set_index("prefecture_code")
    assert st.loc["13", ["status_ja", "note", "file_name", "n_submissions", "submission_id"]
                  ].tolist() == ["差戻し", "ファイル名は本県のものですが、ファイルを読み取れませんでした"
                                 "（差戻し）。再提出待ち", path.name, 1, run.results[1].submission_id]
    assert st.loc["13", "fund_total"] is pd_na() and st.loc["13", "stored_under"] is pd_na()
    assert st["status"].value_counts().to_dict() == {"missing": 45, "accepted": 1,
                                                     "rejected": 1}
