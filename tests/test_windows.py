"""What users on Japanese Windows PCs meet: cp932 consoles and redirected output, file names
Windows forbids, times read in JST, and no POSIX-only call without a fallback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from budget.paths import MAX_BYTES, RESERVED, is_safe_file_name, safe_file_name

ROOT = Path(__file__).resolve().parents[1]


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name, safe", [
    ("13_東京都_R5_計画_要修正.xlsx", "13_東京都_R5_計画_要修正.xlsx"),  # unchanged
    ('a\\b/c:d*e?f"g<h>i|j.xlsx', "a_b_c_d_e_f_g_h_i_j.xlsx"),
    ("改行\n\tタブ\x00\x7f.xlsx", "改行__タブ__.xlsx"),
    ("CON", "_CON"), ("nul.xlsx", "_nul.xlsx"), ("Com1.tar.gz", "_Com1.tar.gz"),
    ("LPT9_要修正.xlsx", "LPT9_要修正.xlsx"),  # not a device name: the device is "LPT9" alone
    ("aux .txt", "_aux .txt"), ("COM10.txt", "COM10.txt"),
    ("計画. . ", "計画"), ("..", "ファイル"), ("", "ファイル"), (" ", "ファイル"),
])
def test_safe_file_name(name, safe):
    assert safe_file_name(name) == safe
    assert is_safe_file_name(safe) and safe_file_name(safe) == safe


def test_every_reserved_name_and_a_long_name():
    for dev in RESERVED:
        for name in (dev, dev.lower(), f"{dev}.xlsx", f"{dev}.a.b"):
            assert not is_safe_file_name(name)
            assert safe_file_name(name).split(".")[0].upper() not in RESERVED
    long = "都" * 200 + ".xlsx"
    short = safe_file_name(long)
    assert short.endswith("都.xlsx") and len(short.encode()) <= MAX_BYTES


def test_outside_text_never_names_a_file_unchecked(monkeypatch):
    from budget.intake.annotate import return_copy_name
    from budget.render.summary_workbook import summary_file_name

    assert return_copy_name("CON.xlsx") == "_CON_要修正.xlsx" or is_safe_file_name(
        return_copy_name("CON.xlsx"))
    assert return_copy_name("nul.x.xlsx") == "_nul.x_要修正.xlsx"
    assert return_copy_name("13_東京都?.xlsm", has_errors=False) == "13_東京都__要確認.xlsx"
    monkeypatch.setattr("budget.menu.known_bureaus", lambda: {"x": "福祉/基盤課: 第1係 "})
    assert summary_file_name(2023, bureau="x") == "R5_集計_福祉_基盤課_ 第1係 .xlsx"
    assert summary_file_name(2023, bureau="CON") == "R5_集計_CON.xlsx"


def test_a_received_name_windows_forbids_gets_a_safe_return_copy(tmp_path):
    from budget.intake.batch import ingest_folder
    from budget.intake.check import Settings

    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / 'nul.13_東京都:R5<"計画">.xlsx').write_bytes(b"not a workbook")
    (inbox / "ok.xlsx").write_bytes(Path(__file__).read_bytes())
    run = ingest_folder(inbox, tmp_path / "b.db", Settings(fiscal_year=2023), tmp_path / "rep",
                        workers=0)
    written = [p.name for p in (tmp_path / "rep").rglob("*")]
    assert written and all(is_safe_file_name(n) for n in written), written
    assert all(r.status == "rejected" for r in run.results)


# --- times ---------------------------------------------------------------------------------

TIMES = r"""
import datetime as dt, time
time.tzset()
from budget.fiscal import local_time, short_time
print(local_time("2026-11-30T13:05:09.123456+00:00"))
print(short_time("2026-11-30T13:05:09.123456+00:00"))
print(short_time(local_time("2026-03-31T15:00:00+00:00")))
print(short_time(dt.datetime(2026, 11, 30, 22, 5, tzinfo=dt.timezone(dt.timedelta(hours=9)))))
print(repr(short_time(None)), repr(short_time("")), short_time("受付前"))
"""


@pytest.mark.skipif(not hasattr(__import__("time"), "tzset"), reason="time.tzset: POSIX")
@pytest.mark.parametrize("tz, expected", [
    ("Asia/Tokyo", ["2026-11-30T22:05:09+09:00", "2026-11-30 22:05:09 (+09:00)",
                    "2026-04-01 00:00:00 (+09:00)"]),
    ("UTC", ["2026-11-30T13:05:09+00:00", "2026-11-30 13:05:09 (+00:00)",
             "2026-03-31 15:00:00 (+00:00)"]),
])
def test_times_people_read_are_local_with_the_offset(tz, expected):
    out = subprocess.run([sys.executable, "-c", TIMES], capture_output=True, text=True,
                         env={**os.environ, "TZ": tz}, check=True).stdout.splitlines()
    assert out == [*expected, "2026-11-30 22:05:00 (+09:00)", "'' '' 受付前"]


@pytest.mark.skipif(not hasattr(__import__("time"), "tzset"), reason="time.tzset: POSIX")
def test_status_and_reports_show_japan_time_with_the_offset(tmp_path):
    """受付日時 (status), 開始 (the run's report) and 作成日時 (the summary) in JST, the store in
    UTC: the CLI run as a subprocess with TZ=Asia/Tokyo."""
    import sqlite3

    import openpyxl

    from tests.conftest import write_filled_workbook

    write_filled_workbook(tmp_path / "in", "13")
    env = {**os.environ, "TZ": "Asia/Tokyo"}

    def budget(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "budget", *args], capture_output=True,
                              text=True, env=env, cwd=tmp_path, check=True).stdout

    budget("ingest", "in", "--db", "b.db", "--reports", "rep")
    budget("aggregate", "--db", "b.db", "--out", "rep")
    with sqlite3.connect(tmp_path / "b.db") as con:
        stored = con.execute("SELECT received_at FROM submissions").fetchone()[0]
    assert stored.endswith("+00:00")  # stored in UTC
    import datetime as dt

    jst = dt.datetime.fromisoformat(stored).astimezone(dt.timezone(dt.timedelta(hours=9)))
    status = budget("status", "--db", "b.db")
    assert f"{jst:%Y-%m-%d %H:%M:%S} (+09:00)" in status
    pattern = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\+09:00\)$")
    report = openpyxl.load_workbook(next((tmp_path / "rep").glob("取込結果_*.xlsx")))
    info = {r[0]: r[1] for r in report.worksheets[-1].iter_rows(values_only=True) if r}
    assert pattern.match(info["開始"]) and pattern.match(info["終了"]), info
    summary = openpyxl.load_workbook(tmp_path / "rep" / "R5_集計.xlsx")["総括"]
    made = [r[1] for r in summary.iter_rows(values_only=True) if r[0] == "作成日時"]
    assert len(made) == 1 and pattern.match(made[0]), made


# --- no POSIX-only call without a fallback -------------------------------------------------

#: POSIX-only (or Linux-only) calls, modules and paths.
POSIX_ONLY = {
    "os.fork": r"\bos\.fork\b|\bfork\(\)", "fcntl": r"\bfcntl\b", "mkfifo": r"\bmkfifo\b",
    "resource": r"^\s*(?:import|from)\s+resource\b|\bresource\.(?:getrusage|setrlimit)",
    "POSIX signals": r"\bSIG(?:KILL|ALRM|HUP|USR1|USR2|CHLD|STOP|CONT|QUIT|PIPE)\b",
    "signal.alarm": r"\bsignal\.(?:alarm|setitimer|pause)\b",
    "getppid": r"\bgetppid\b", "sched_getaffinity": r"\bsched_getaffinity\b",
    "process groups": r"\b(?:killpg|setsid|setpgrp|getpgid|start_new_session|preexec_fn)\b",
    "wait4": r"\bwait[34]\b", "ids": r"\bos\.(?:getuid|geteuid|getgid|chown|lchown)\b",
    "fchmod": r"\bos\.fchmod\b", "POSIX modules": r"^\s*import\s+(?:pwd|grp|termios|tty|pty)\b",
    "/proc or /dev": r"[\"']/(?:proc|dev)/", "os.link": r"\bos\.link\b",
    "fork start method": r"[\"']fork[\"']", "getloadavg": r"\bgetloadavg\b",
}

#: (file, what) → the guard that must stand next to it (checked by hand, and here by regex).
ALLOWED = {
    # the umask from /proc where it exists; elsewhere set-and-restore under a lock
    ("budget/files.py", "/proc or /dev"): r"except \(OSError, ValueError, IndexError\)",
    # fchmod only where the os module has it; os.chmod otherwise (Windows)
    ("budget/files.py", "fchmod"): r'if hasattr\(os, "fchmod"\)',
    # an exclusive publish by hard link; where links fail, an exclusive create and a rename
    ("budget/files.py", "os.link"): r"except OSError:  # a file system without hard links",
    # the cores by affinity where the system tells it; os.cpu_count() elsewhere
    ("budget/intake/workers.py", "sched_getaffinity"): r'if hasattr\(os, "sched_getaffinity"\)',
    # fork is the default on Linux only, and only when the system has it; spawn elsewhere
    ("budget/intake/workers.py", "fork start method"):
        r"chosen not in multiprocessing\.get_all_start_methods\(\)",
}


def posix_only_uses() -> dict[tuple[str, str], list[int]]:
    hits: dict[tuple[str, str], list[int]] = {}
    for path in sorted((ROOT / "budget").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            for what, pattern in POSIX_ONLY.items():
                if re.search(pattern, code):
                    hits.setdefault((rel, what), []).append(n)
    return hits


def test_no_posix_only_call_without_a_guarded_fallback():
    hits = posix_only_uses()
    unguarded = {k: v for k, v in hits.items() if k not in ALLOWED}
    assert not unguarded, f"POSIX-only code without a fallback: {unguarded}"
    for (rel, what), guard in ALLOWED.items():
        assert (rel, what) in hits, f"{rel}: no {what} any more; remove it from ALLOWED"
        assert re.search(guard, (ROOT / rel).read_text("utf-8")), f"{rel}: {what} unguarded"


def test_the_scan_finds_what_it_looks_for():
    samples = {"os.fork": "pid = os.fork()", "fcntl": "import fcntl",
               "POSIX signals": "os.kill(pid, signal.SIGKILL)", "getppid": "os.getppid()",
               "resource": "import resource", "mkfifo": "os.mkfifo(p)",
               "process groups": "os.killpg(g, 9)", "fork start method": 'get_context("fork")'}
    for what, line in samples.items():
        assert re.search(POSIX_ONLY[what], line), what
