"""Every command on a console that is not UTF-8: stdout and stderr in cp932, as on a Japanese
Windows PC (``PYTHONIOENCODING=cp932``), through a pipe and through a terminal. Nothing
raises; a character cp932 lacks comes out as ``?``; exit codes stay what they mean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_filled_workbook

pytestmark = pytest.mark.slow

LACKING = "✓𠮷"  # characters cp932 has no code for
SENT = f"13_東京都_R5_計画{LACKING}.xlsx"  # a file name as a sender may have typed it
COMMANDS = ["menu", "generate", "validate", "ingest", "status", "aggregate", "demo"]


def run_pipe(args: list[str], cwd: Path) -> tuple[int, bytes]:
    proc = subprocess.run([sys.executable, "-m", "budget", *args], cwd=cwd, env=ENV,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=300)
    return proc.returncode, proc.stdout


def run_tty(args: list[str], cwd: Path) -> tuple[int, bytes]:
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "budget", *args], cwd=cwd, env=ENV,
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    out = bytearray()
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
    return proc.wait(timeout=300), bytes(out)


ENV = {**os.environ, "PYTHONIOENCODING": "cp932", "LANG": "ja_JP.SJIS", "COLUMNS": "100"}
RUNNERS = {"pipe": run_pipe}
if sys.platform != "win32":
    RUNNERS["terminal"] = run_tty


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A folder with inputs/: a good workbook and a CSV sent under a name with ``LACKING``."""
    root = tmp_path_factory.mktemp("cp932")
    write_filled_workbook(root / "inputs", "01")
    (root / "inputs" / SENT).write_bytes("事業,国\nR5-01,100\n".encode("cp932"))
    return root


def decoded(out: bytes) -> str:
    text = out.decode("cp932")  # strict: everything written is cp932
    assert "Traceback" not in text and "UnicodeEncodeError" not in text, text[-2000:]
    return text


@pytest.mark.parametrize("how", list(RUNNERS))
def test_help_of_every_command_in_cp932(how, work):
    for args in (["--help"], *([c, "--help"] for c in COMMANDS)):
        code, out = RUNNERS[how](args, work)
        text = decoded(out)
        assert code == 0 and "使い方: budget" in text, (args, text)


@pytest.mark.parametrize("how", list(RUNNERS))
def test_every_command_in_cp932(how, work, tmp_path):
    run = RUNNERS[how]
    shown = SENT.replace(LACKING, "?" * len(LACKING))
    inputs = str(work / "inputs")

    code, out = run(["menu"], tmp_path)
    assert code == 0 and "R5-01" in decoded(out)
    code, out = run(["generate", "-p", "13", "--out", "t"], tmp_path)
    assert code == 0 and "1 件の計画様式" in decoded(out)
    code, out = run(["validate", str(work / "inputs" / SENT)], tmp_path)
    assert code == 1 and shown in decoded(out)
    code, out = run(["ingest", inputs, "--db", "b.db", "--reports", "rep"], tmp_path)
    text = decoded(out)
    assert code == 1 and shown in text and "取込中" in text, text
    code, out = run(["status", "--db", "b.db"], tmp_path)
    text = decoded(out)
    assert code == 0 and shown in text and "(+" in text  # 受付日時 with its offset
    # data for programs and files stays UTF-8, the sender's text as sent
    code, out = run(["validate", str(work / "inputs" / SENT), "--format", "json"], tmp_path)
    assert code == 1 and f'"file": "{SENT}"' in out.decode("utf-8")
    code, out = run(["status", "--db", "b.db", "--format", "json"], tmp_path)
    assert code == 0 and f'"file_name": "{SENT}"' in out.decode("utf-8")
    code, out = run(["menu", "--format", "csv"], tmp_path)
    assert code == 0 and "基盤整備" in out.decode("utf-8")
    code, out = run(["aggregate", "--db", "b.db", "--out", "rep"], tmp_path)
    assert code == 0 and "集計対象 1 / 47" in decoded(out)
    code, out = run(["status", "--year", f"R5{LACKING}"], tmp_path)  # a usage error
    assert code == 2 and f"R5{'?' * len(LACKING)}" in decoded(out)
    code, out = run(["demo", "demo"], tmp_path)
    assert code == 0 and "デモの結果" in decoded(out)
    assert (tmp_path / "demo" / "reports" / "R5_集計.xlsx").exists()
