"""What arrives in the inbox (issue 12, items 1, 2, 4, 5): names that are not UTF-8, files too
large to read, links and special files. One way to open a received file
(``budget.intake.receive``), used by ``ingest`` and ``validate`` alike; real files, a real
SQLite store, the CLI in-process and as a subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from budget.cli import cli
from budget.errors import StoreError
from budget.intake import receive
from budget.intake.batch import ingest_folder
from budget.intake.check import Settings, check_files
from budget.store import open_store
from tests.test_ingest import file_name, plan_bytes, write

SETTINGS = Settings(fiscal_year=2023)
#: 「13_東京都_R5_計画.xlsx」 in Shift_JIS: what a name copied from an old Windows share is
SJIS_NAME = "13_東京都_R5_計画.xlsx".encode("cp932")

posix_only = pytest.mark.skipif(os.name != "posix", reason="needs POSIX names, FIFOs, links")


def env_without_limit() -> dict[str, str]:
    env = dict(os.environ)
    env.pop(receive.MAX_FILE_ENV, None)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "budget", *args], capture_output=True,
                          env=env or env_without_limit(), cwd=cwd, timeout=timeout)


def rows(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# --- 1. names that are not UTF-8 -------------------------------------------------------------


def test_received_name_is_lossless_and_leaves_ordinary_names_alone():
    for raw in (SJIS_NAME, b"a\xff\\x41.xlsx", b"\\\\x.xlsx", b"plain.xlsx"):
        name = os.fsdecode(raw)
        shown = receive.received_name(name)
        shown.encode("utf-8")  # storable and printable: no lone surrogate left
        assert receive.original_name(shown) == name
    assert receive.received_name("13_東京都_R5_計画 (2).xlsx") == "13_東京都_R5_計画 (2).xlsx"
    assert receive.received_name(os.fsdecode(b"a\xff.xlsx")) == "a\\xff.xlsx"
    # a literal backslash and an undecodable byte never meet in one stored name
    assert receive.received_name(os.fsdecode(b"a\\xff.xlsx")) == "a\\\\xff.xlsx"
    # its return copy's name holds no backslash (a folder separator on Windows)
    from budget.intake.annotate import return_copy_name

    assert return_copy_name("a\\xff.xlsx") == "a_xff_要修正.xlsx"


@posix_only
def test_a_name_that_is_not_utf8_is_stored_and_shown_and_the_batch_goes_on(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    odd = os.path.join(os.fsencode(inbox), SJIS_NAME)
    with open(odd, "wb") as fh:
        fh.write(plan_bytes("13"))
    write(inbox, "14", plan_bytes("14"))  # sorts after the odd name: must still be ingested
    db = tmp_path / "b.db"
    run = ingest_folder(inbox, db, SETTINGS, tmp_path / "reports", workers=0)
    shown = receive.received_name(os.fsdecode(SJIS_NAME))
    assert [r.file for r in run.results] == [shown, file_name("14")]
    assert all(r.created for r in run.results)
    stored = {name for (name,) in rows(db, "SELECT file_name FROM submissions")}
    assert stored == {file_name("14"), shown}
    assert os.fsencode(receive.original_name(shown)) == SJIS_NAME  # lossless
    odd_result = next(r for r in run.results if r.file == shown)
    assert odd_result.note and "Shift_JIS として読むと「13_東京都_R5_計画.xlsx」" in odd_result.note
    # the run report holds the name as shown
    import openpyxl

    ws = openpyxl.load_workbook(run.report_path)["取込結果"]
    assert shown in [c.value for c in ws["A"]]
    # a re-run: the same file, nothing new, no crash
    again = ingest_folder(inbox, db, SETTINGS, None, workers=0)
    assert [r.created for r in again.results] == [False, False]


@posix_only
def test_cli_ingest_and_status_print_a_non_utf8_name_readably(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    with open(os.path.join(os.fsencode(inbox), SJIS_NAME), "wb") as fh:
        fh.write(plan_bytes("13"))
    with open(os.path.join(os.fsencode(inbox), b"notes\xff.txt"), "wb") as fh:
        fh.write(b"x")  # a skipped entry with an odd name is shown too
    done = run_cli("ingest", str(inbox), "--db", str(tmp_path / "b.db"),
                   "--reports", str(tmp_path / "r"))
    out, err = done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    assert done.returncode == 0, err
    assert "Traceback" not in err
    shown = receive.received_name(os.fsdecode(SJIS_NAME))
    assert shown in out and "notes\\xff.txt" in out
    checked = run_cli("validate", os.fsdecode(os.path.join(os.fsencode(inbox), SJIS_NAME)),
                      "--format", "json")
    assert checked.returncode == 0, checked.stderr.decode("utf-8")
    assert [r["file"] for r in json.loads(checked.stdout.decode("utf-8"))] == [shown]
    status = run_cli("status", "--db", str(tmp_path / "b.db"), "--format", "json")
    assert status.returncode == 0, status.stderr.decode()
    data = json.loads(status.stdout.decode("utf-8"))
    assert [row["file_name"] for row in data if row["prefecture_code"] == "13"] == [shown]


# --- 2. a file too large to read --------------------------------------------------------------


def test_a_file_above_the_limit_is_hashed_by_streaming_and_never_held(tmp_path):
    big = tmp_path / "big.xlsx"
    with open(big, "wb") as fh:  # 24 MB, written in blocks
        block = os.urandom(1 << 20)
        for _ in range(24):
            fh.write(block)
    expected = hashlib.sha256(big.read_bytes()).hexdigest()
    tracemalloc.start()
    try:
        got = receive.read_received(big, max_bytes=1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got.too_large and got.content is None
    assert got.sha256 == expected and got.size == 24 << 20
    assert peak < 4 << 20  # a few blocks at most, never the file


def test_a_file_above_the_limit_is_stored_as_rejected_without_its_bytes_and_the_batch_goes_on(
        tmp_path):
    inbox = tmp_path / "in"
    content = os.urandom(300_000)
    big = write(inbox, "01", content)  # 01_北海道…: sorts first
    write(inbox, "13", plan_bytes("13"))
    db = tmp_path / "b.db"
    run = ingest_folder(inbox, db, Settings(fiscal_year=2023, max_file_bytes=200_000),
                        tmp_path / "reports", workers=0)
    first, second = run.results
    assert first.file == big.name and first.status == "rejected" and first.created
    assert [f.code for f in first.report.findings] == ["oversized-workbook"]
    message = first.report.findings[0].message
    assert "上限 0.2 MB" in message and "読み込んでいません" in message
    assert second.status == "accepted" and second.created
    (sid, sha, size, status), = rows(
        db, f"SELECT id, sha256, size, status FROM submissions WHERE file_name = '{big.name}'")
    assert (sha, size, status) == (hashlib.sha256(content).hexdigest(), 300_000, "rejected")
    with open_store(db) as store:
        with pytest.raises(StoreError):
            store.file_bytes(sid)  # recorded without its bytes
    # a re-run recognises it by its streamed hash: nothing new, still not read
    again = ingest_folder(inbox, db, Settings(fiscal_year=2023, max_file_bytes=200_000), None,
                          workers=0)
    assert [r.created for r in again.results] == [False, False]


def test_the_limit_is_a_documented_setting_of_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(receive.MAX_FILE_ENV, "0.01")  # ~10 KB: a plan (~27 KB) is above it
    assert Settings().file_limit() == int(0.01 * receive.MB)
    path = write(tmp_path, "13", plan_bytes("13"))
    report, = check_files([path], Settings(fiscal_year=2023))
    assert [f.code for f in report.findings] == ["oversized-workbook"]
    assert report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setenv(receive.MAX_FILE_ENV, "abc")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2 and receive.MAX_FILE_ENV in result.output
    monkeypatch.delenv(receive.MAX_FILE_ENV)
    assert Settings().file_limit() == receive.DEFAULT_MAX_FILE_BYTES == 50 * receive.MB


def test_cli_ingest_names_a_file_above_the_limit_and_stores_the_others(tmp_path):
    inbox = tmp_path / "in"
    write(inbox, "01", os.urandom(64_000))
    write(inbox, "13", plan_bytes("13"))
    env = env_without_limit() | {receive.MAX_FILE_ENV: "0.05"}
    done = run_cli("ingest", str(inbox), "--db", str(tmp_path / "b.db"), "--reports",
                   str(tmp_path / "r"), env=env)
    out = done.stdout.decode("utf-8")
    assert done.returncode == 1 and "Traceback" not in done.stderr.decode("utf-8")
    assert file_name("01") in out and file_name("13") in out
    assert rows(tmp_path / "b.db", "SELECT file_name, status FROM submissions ORDER BY id") == [
        (file_name("01"), "rejected"), (file_name("13"), "accepted")]


# --- 4. links in the inbox; 5. special files given to validate -------------------------------


@posix_only
def test_links_in_the_inbox_are_skipped_with_a_note_and_never_read(tmp_path):
    elsewhere = write(tmp_path / "elsewhere", "14", plan_bytes("14"))
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / file_name("01")).symlink_to("/etc/passwd")
    (inbox / file_name("14")).symlink_to(elsewhere)
    (inbox / "dir-link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    write(inbox, "13", plan_bytes("13"))
    db = tmp_path / "b.db"
    run = ingest_folder(inbox, db, SETTINGS, None, workers=0)
    assert [r.file for r in run.results] == [file_name("13")]
    skipped = {s.name: s.reason for s in run.skipped}
    assert set(skipped) == {file_name("01"), file_name("14"), "dir-link"}
    assert all("シンボリックリンク" in why and "リンク先は読みません" in why
               for why in skipped.values())
    assert rows(db, "SELECT file_name FROM submissions") == [(file_name("13"),)]


@posix_only
def test_a_link_swapped_in_after_the_listing_is_not_followed(tmp_path, monkeypatch):
    target = write(tmp_path, "13", plan_bytes("13"))
    link = tmp_path / "link.xlsx"
    link.symlink_to(target)
    monkeypatch.setattr(receive, "refusal", lambda path: None)  # lstat looked at a file
    got = receive.read_received(link)
    assert got.content is None and got.special and got.refused == receive.LINK_JA
    # where the system has no O_NOFOLLOW (Windows), the opened file is compared instead
    monkeypatch.delattr(os, "O_NOFOLLOW", raising=False)
    got = receive.read_received(link)
    assert got.content is None and got.special and got.refused == receive.LINK_JA


@posix_only
def test_fifos_and_devices_in_the_inbox_are_skipped(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    os.mkfifo(inbox / file_name("01"))
    write(inbox, "13", plan_bytes("13"))
    run = ingest_folder(inbox, tmp_path / "b.db", SETTINGS, None, workers=0)
    assert [r.file for r in run.results] == [file_name("13")]
    assert [(s.name, "通常のファイルではありません" in s.reason) for s in run.skipped] == [
        (file_name("01"), True)]


@posix_only
@pytest.mark.parametrize("kind", ["fifo", "link-to-device", "link-to-file"])
def test_validate_refuses_a_fifo_or_a_link_and_returns_at_once(tmp_path, kind):
    path = tmp_path / file_name("13")
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "link-to-device":
        path.symlink_to("/dev/zero")
    else:
        path.symlink_to(write(tmp_path / "real", "13", plan_bytes("13")))
    try:  # before the fix: the FIFO blocks forever, /dev/zero is read without end
        done = run_cli("validate", str(path), "--format", "json", "--annotate",
                       str(tmp_path / "returned"), timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"validate did not return on a {kind}")
    assert done.returncode == 1, done.stderr.decode("utf-8")
    (report,) = json.loads(done.stdout.decode("utf-8"))
    assert [f["code"] for f in report["findings"]] == ["not-a-regular-file"]
    message = report["findings"][0]["message"]
    assert ("シンボリックリンク" if kind != "fifo" else "通常のファイルではありません") in message
    assert message.endswith("提出されたファイルそのものを指定してください。")
    assert report["returned"] is None and "通常のファイルではないため" in \
        report["returned_note"]
