"""The CLI surface: help, exit codes, `budget menu`, `budget generate`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from budget.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def runner():
    return CliRunner()


def test_help_lists_every_command_and_exit_codes(runner):
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.output
    assert "Exit codes: 0 ok, 1 invalid input found, 2 usage error." in result.output


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_has_help_with_an_example_and_is_in_the_readme(runner, name):
    result = runner.invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output
    assert f"budget {name}" in (ROOT / "README.md").read_text("utf-8")


def test_python_dash_m_and_version():
    out = subprocess.run([sys.executable, "-m", "budget", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.startswith("budget, version ")


def test_help_does_not_import_heavy_libraries():
    code = ("import sys; from budget.cli import cli\n"
            "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('pandas', 'pandera', 'openpyxl', 'xlsxwriter') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().endswith("[]")


def test_menu_table_csv_json(runner):
    table = runner.invoke(cli, ["menu"])
    assert table.exit_code == 0
    assert table.output.splitlines()[0] == "令和5年度（2023年度） メニュー: 41 事業、58 細目"
    assert "R5-13-ハ" in table.output
    csv_out = runner.invoke(cli, ["menu", "--format", "csv"])
    lines = csv_out.output.splitlines()
    assert lines[0].startswith("fiscal_year,leaf_code,category")
    assert len(lines) == 59
    records = json.loads(runner.invoke(cli, ["menu", "--format", "json"]).output)
    assert len(records) == 58 and records[0]["leaf_code"] == "R5-01"
    assert records[0]["bureaus"] == "社会・援護局福祉基盤課"


def test_generate_default_writes_all_47(runner, tmp_path):
    result = runner.invoke(cli, ["generate", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in tmp_path.glob("*.xlsx"))
    assert len(files) == 47
    assert files[0] == "01_北海道_R5_計画.xlsx" and files[-1] == "47_沖縄県_R5_計画.xlsx"
    assert result.output.startswith("47 件の計画様式を")
    assert not list(tmp_path.glob(".*.tmp"))


def test_generate_selected_prefectures_by_any_name(runner, tmp_path):
    result = runner.invoke(cli, ["generate", "-p", "13", "-p", "osaka", "-p", "北海道",
                                 "-p", "東京都", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.glob("*.xlsx")) == [
        "01_北海道_R5_計画.xlsx", "13_東京都_R5_計画.xlsx", "27_大阪府_R5_計画.xlsx"]


def test_unknown_prefecture_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(cli, ["generate", "-p", "atlantis", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "都道府県「atlantis」が見つかりません" in result.output
    assert "ローマ字名（例: tokyo）" in result.output
    assert not list(tmp_path.glob("*.xlsx"))


@pytest.mark.parametrize(("year", "message"), [("R3", "同梱されていません"),
                                                ("next", "読み取れません")])
def test_unknown_year_is_a_usage_error(runner, tmp_path, year, message):
    result = runner.invoke(cli, ["generate", "--year", year, "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert message in result.output


def test_broken_user_menu_exits_1(runner, tmp_path):
    bad = tmp_path / "menu.csv"
    bad.write_text("leaf_code\nR5-01\n", encoding="utf-8")
    result = runner.invoke(cli, ["generate", "--menu", str(bad), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "Error: メニューファイル menu.csv に列がありません" in result.output


def test_generate_as_a_subprocess(tmp_path):
    out = subprocess.run([sys.executable, "-m", "budget", "generate", "-p", "47", "--out",
                          str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "47_沖縄県_R5_計画.xlsx").is_file()
