"""The CLI's ``ingest``, ``status`` and ``aggregate`` once against each backend
(``store_location``: a SQLite file, then a PostgreSQL database): the same output whichever
holds the store, ``--db`` or ``BUDGET_DB``, and a password in the URL never shown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from budget.cli import cli
from tests.test_ingest import bad_rows, file_name, good_rows, plan_bytes, write

pytest_plugins = ["tests.conftest_pg"]

GOOD, BAD = file_name("01"), file_name("13")


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inbox")
    write(folder, "01", plan_bytes("01", good_rows(2)))  # 基金計 300 + 600
    write(folder, "13", plan_bytes("13", bad_rows()))
    return folder


def secret(location: str) -> str | None:
    """The password in a URL (None for a path)."""
    if not location.startswith("postgresql://"):
        return None
    return location.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]


def shown(location: str) -> str:
    """The location as budget shows it."""
    pw = secret(location)
    return location if pw is None else location.replace(f":{pw}@", ":***@")


def test_ingest_status_aggregate_on_each_backend(store_location, inbox, tmp_path):
    runner = CliRunner()
    reports = tmp_path / "rep"
    result = runner.invoke(cli, ["ingest", str(inbox), "--db", store_location,
                                 "--reports", str(reports)])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[2].split() == [GOOD, "北海道", "受理", "0", "0", "新規", "1"]
    assert lines[3].split() == [BAD, "東京都", "差戻し", "1", "1", "新規", "2"]
    assert "2 件中 受理 1 件、差戻し 1 件（新規登録 2 件、登録済み（変更なし） 0 件）" in lines
    report = next(reports.glob("取込結果_*.xlsx"))
    cells = [c for ws in openpyxl.load_workbook(report, read_only=True).worksheets
             for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    assert shown(store_location) in cells  # the run report names the store, masked

    again = runner.invoke(cli, ["ingest", str(inbox), "--db", store_location,
                                "--reports", str(reports)])
    assert again.stdout.splitlines()[2].split() == [GOOD, "北海道", "受理", "0", "0",
                                                    "登録済み（変更なし）", "1"]

    status = runner.invoke(cli, ["status", "--db", store_location, "--year", "R5"])
    assert status.exit_code == 0, status.output
    st = status.stdout.splitlines()
    assert st[0] == "令和5年度（2023年度） 提出状況: 受理 1、差戻し 1、未提出 45（47 都道府県）"
    hokkaido = st[3].split()
    assert hokkaido[:4] == ["01", "北海道", "受理", GOOD] and hokkaido[-2:] == ["1", "900"]
    assert st[-1] == "基金計の合計（受理分）: 900 千円"
    data = json.loads(runner.invoke(cli, ["status", "--db", store_location,
                                          "--format", "json"]).stdout)
    assert (data[0]["fund_total"], data[12]["status"], data[12]["submission_id"]) == (
        900, "rejected", 2)

    out = tmp_path / "out"
    agg = runner.invoke(cli, ["aggregate", "--db", store_location, "--year", "R5",
                              "--out", str(out), "--format", "csv"])
    assert agg.exit_code == 0, agg.output
    wb = openpyxl.load_workbook(out / "R5_集計.xlsx", read_only=True)
    source = [(r[0], r[3]) for r in wb["出典"].iter_rows(values_only=True) if len(r) > 3]
    assert ("データベース", shown(store_location)) in source
    assert list(out.glob("*.csv"))

    pw = secret(store_location)
    if pw is not None:
        for text in (result.output, again.output, status.output, agg.output):
            assert pw not in text


def test_budget_db_from_the_environment_in_a_subprocess(store_location, inbox, tmp_path):
    env = {**os.environ, "BUDGET_DB": store_location}
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    run = subprocess.run([sys.executable, "-m", "budget", "ingest", str(inbox),
                          "--reports", str(tmp_path / "rep")], cwd=cwd,
                         capture_output=True, text=True, timeout=180, env=env)
    assert run.returncode == 1, run.stderr
    assert "新規登録 2 件" in run.stdout and "Traceback" not in run.stderr
    status = subprocess.run([sys.executable, "-m", "budget", "status", "--format", "json"],
                            cwd=cwd, capture_output=True, text=True, timeout=180, env=env)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)[0]["status"] == "accepted"
    assert not (cwd / "budget.db").exists()  # BUDGET_DB was used, not the default
    pw = secret(store_location)
    if pw is not None:
        assert pw not in run.stdout + run.stderr + status.stdout + status.stderr
