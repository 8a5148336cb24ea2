"""The default year is the latest the store or the shipped menus know (or the --menu file's),
never a constant; a menu given by path works through generate, ingest, status, aggregate and
track with no code change (the test R6 menu in tests/data)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from budget.cli import cli
from budget.menu import load_menu, shipped_menu_years
from tests.conftest import write_filled_workbook

DATA = Path(__file__).parent / "data"
R6_MENU = DATA / "R6_sample_menu.csv"

#: What two prefectures typed in the test R6 menu (A, B per leaf).
R6_ROWS = {
    "13": {"R6-34-ロ": {"national": 2000, "prefectural": 1000},
           "R6-21-イ": {"national": 600, "prefectural": 300},
           "R6-41": {"national": 4000, "prefectural": 2000}},
    "01": {"R6-42": {"national": 200, "prefectural": 100}},
}


def _fund(rows: dict) -> int:
    """A+B of the rows, counted here independently of the tool."""
    return sum(v["national"] + v["prefectural"] for v in rows.values())


@pytest.fixture(scope="module")
def r6_menu():
    return load_menu(2024, R6_MENU)


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "budget", *args], cwd=tmp_path,
                          capture_output=True, text=True, encoding="utf-8", env=env)


def test_without_a_store_the_default_is_the_latest_shipped_menu(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    latest = max(shipped_menu_years())
    result = CliRunner().invoke(cli, ["menu"])
    assert result.exit_code == 0, result.output
    from budget.fiscal import full_label
    assert result.output.startswith(f"{full_label(latest)} メニュー:")
    status = CliRunner().invoke(cli, ["status"])
    assert status.exit_code == 0, status.output
    assert status.output.startswith(f"{full_label(latest)} 提出状況:")
    assert not (tmp_path / "budget.db").exists()  # reading the default made no store


def test_a_menu_file_gives_its_year_without_year(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["menu", "--menu", str(R6_MENU)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("令和6年度（2024年度） メニュー: 42 事業、59 細目")
    # --year still wins, and a mismatch with the file is still caught
    mismatch = CliRunner().invoke(cli, ["menu", "--menu", str(R6_MENU), "--year", "R5"])
    assert mismatch.exit_code == 1
    assert "2024 年度のものです" in mismatch.stderr


def test_whole_cycle_on_a_menu_given_by_path(tmp_path, r6_menu):
    """generate → (fill) → ingest → status → aggregate → track on the test R6 menu, as a
    user runs them (subprocesses), none given --year: the year comes from the menu file,
    then from the store."""
    menu = str(R6_MENU)
    made = _run(tmp_path, "generate", "--menu", menu, "--out", "forms", "-p", "13", "-p", "01")
    assert made.returncode == 0, made.stderr
    assert sorted(p.name for p in (tmp_path / "forms").iterdir()) == [
        "01_北海道_R6_計画.xlsx", "13_東京都_R6_計画.xlsx"]
    # the prefectures fill their workbooks (made by the same generator, values typed)
    for pref, rows in R6_ROWS.items():
        write_filled_workbook(tmp_path / "inbox", pref, rows=rows, menu=r6_menu)

    ingested = _run(tmp_path, "ingest", "inbox", "--menu", menu, "--db", "b.db")
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    assert "受理 2 件" in ingested.stdout

    # status has no --menu: the store's latest year (R6) is the default and is accepted
    status = _run(tmp_path, "status", "--db", "b.db", "--format", "json")
    assert status.returncode == 0, status.stderr
    by_pref = {r["prefecture_code"]: r for r in json.loads(status.stdout)}
    assert by_pref["13"]["status"] == "accepted" and by_pref["01"]["status"] == "accepted"
    assert by_pref["13"]["fund_total"] == _fund(R6_ROWS["13"])
    assert by_pref["02"]["status"] == "missing" and by_pref["02"]["fund_total"] is None
    typed = _run(tmp_path, "status", "--db", "b.db", "--year", "R6")
    assert typed.returncode == 0, typed.stderr
    assert typed.stdout.startswith("令和6年度（2024年度） 提出状況: 受理 2")

    aggregated = _run(tmp_path, "aggregate", "--menu", menu, "--db", "b.db", "--out", "rep",
                      "--format", "json")
    assert aggregated.returncode == 0, aggregated.stderr
    assert (tmp_path / "rep" / "R6_集計.xlsx").is_file()
    tidy = json.loads((tmp_path / "rep" / "R6_集計_明細.json").read_text("utf-8"))
    assert tidy["fiscal_year"] == 2024 and tidy["included_prefectures"] == ["01", "13"]
    got = {(r["prefecture_code"], r["leaf_code"]): r["fund"] for r in tidy["rows"]
           if r.get("fund") is not None}
    expected = {(p, code): v["national"] + v["prefectural"]
                for p, rows in R6_ROWS.items() for code, v in rows.items()}
    assert got == expected
    assert sum(got.values()) == sum(_fund(rows) for rows in R6_ROWS.values())

    tracked = _run(tmp_path, "track", "--menu", menu, "--db", "b.db", "--out", "tr")
    assert tracked.returncode == 0, tracked.stderr
    assert (tmp_path / "tr" / "R6_執行管理.xlsx").is_file()

    # a command that needs a menu, without --menu, defaults to R6 and says how to give it
    refused = _run(tmp_path, "aggregate", "--db", "b.db", "--out", "rep2")
    assert refused.returncode == 2
    assert "（--year を省いたときの既定: データベースにある最新の年度）のメニューはありません" in (
        refused.stderr)
    assert "--menu でメニューの CSV ファイルを指定してください" in refused.stderr
    assert not (tmp_path / "rep2").exists()
    # R5 is still reached by naming it
    r5 = _run(tmp_path, "status", "--db", "b.db", "--year", "R5")
    assert r5.returncode == 0 and r5.stdout.startswith("令和5年度（2023年度） 提出状況: 受理 0")


def test_a_rejected_file_claiming_a_later_year_does_not_move_the_default(tmp_path, monkeypatch,
                                                                         r6_menu):
    """Only accepted submissions count: a file that fails its checks moves nothing."""
    monkeypatch.chdir(tmp_path)
    bad = {"R6-01": {"national": "千円", "prefectural": 500}}  # not a number: an error
    write_filled_workbook(tmp_path / "inbox", "13", rows=bad, menu=r6_menu)
    result = CliRunner().invoke(cli, ["ingest", "inbox", "--menu", str(R6_MENU),
                                      "--db", "b.db"])
    assert result.exit_code == 1, result.output
    status = CliRunner().invoke(cli, ["status", "--db", "b.db"])
    from budget.fiscal import full_label
    assert status.output.startswith(f"{full_label(max(shipped_menu_years()))} 提出状況:")
