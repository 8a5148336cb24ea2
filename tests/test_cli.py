"""The CLI surface: Japanese help, exit codes, `budget menu`, `budget generate`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from budget.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def runner():
    return CliRunner()


def help_of(runner, *args: str) -> str:
    result = runner.invoke(cli, [*args, "--help"], prog_name="budget")
    assert result.exit_code == 0, result.output
    return result.output


EXIT_CODES = "終了コード: 0 正常、1 不正な入力あり、2 使い方の誤り"
HEAVY = ("pandas", "pandera", "openpyxl", "xlsxwriter", "numpy")


def test_help_lists_every_command_and_exit_codes(runner):
    out = help_of(runner)
    assert out.startswith("使い方: budget [オプション] コマンド [引数]...")
    for name, (_, one_line) in COMMANDS.items():
        assert f"  {name} " in out
        assert one_line in out
    assert f"\n  {EXIT_CODES}\n" in out
    assert "\nオプション:\n" in out and "\nコマンド:\n" in out
    assert "バージョンを表示して終了します。" in out
    assert "Show this message" not in out and "Exit codes" not in out


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_has_japanese_help_with_an_example_and_is_in_the_readme(runner, name):
    out = help_of(runner, name)
    assert out.startswith(f"使い方: budget {name} [オプション]")
    head, sep, example = out.partition("\n  例:\n")
    assert sep, out
    assert example.splitlines()[0].startswith(f"      budget {name}")
    assert "オプション:" in example and "このヘルプを表示して終了します。" in example
    for english in ("Example", "Exit codes", "Usage:", "Options:", "Show this message",
                    "[default:"):
        assert english not in out
    assert f"budget {name}" in (ROOT / "README.md").read_text("utf-8")


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_option_help_and_command_help_is_japanese(name):
    command = cli.get_command(click.Context(cli), name)
    assert command.help is not None and re.search(r"[ぁ-んァ-ヶ一-龥]", command.help)
    assert re.search(r"[ぁ-んァ-ヶ一-龥]", COMMANDS[name][1])
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help and re.search(r"[ぁ-んァ-ヶ一-龥]", param.help), param.name


@pytest.mark.parametrize(("name", "code"), [("validate", 2), ("ingest", 2), ("aggregate", 2)])
def test_documented_exit_codes_line(runner, name, code):
    out = help_of(runner, name)
    line = next(x for x in out.splitlines() if x.strip().startswith("終了コード:"))
    assert line.strip().startswith("終了コード: 0 ")
    assert f"{code} 使い方の誤り" in out


def test_tolerance_and_seed_defaults_in_help_match_the_library(runner):
    from budget.demo import DEFAULT_SEED
    from budget.forms import plan as layout

    for name in ("validate", "ingest"):
        out = help_of(runner, name)
        assert f"既定: {layout.DEFAULT_SHARE_TOLERANCE}。" in out
    assert f"既定: {DEFAULT_SEED}。" in help_of(runner, "demo")


def test_aggregate_units_are_the_reports_units():
    from budget.render.summary_workbook import DEFAULT_UNIT, UNITS

    command = cli.get_command(click.Context(cli), "aggregate")
    unit = next(p for p in command.params if p.name == "unit")
    assert list(unit.type.choices) == list(UNITS)
    assert unit.default == DEFAULT_UNIT


def test_menu_help_says_the_csv_columns_stay_english(runner):
    out = help_of(runner, "menu")
    assert "列名はメニューファイルと同じ英語名です" in out
    header = runner.invoke(cli, ["menu", "--format", "csv"]).output.splitlines()[0]
    shipped = (ROOT / "budget" / "menus" / "R5.csv").read_text("utf-8-sig").splitlines()[0]
    assert header == shipped


def test_command_line_and_settings_helpers(monkeypatch):
    from budget.commands.options import command_line, make_settings
    from budget.forms import plan as layout

    monkeypatch.setattr(sys, "argv", ["/usr/bin/budget", "aggregate", "--unit", "億円"])
    assert command_line("aggregate") == "budget aggregate --unit 億円"
    monkeypatch.setattr(sys, "argv", [])
    assert command_line("demo") == "budget demo"
    settings = make_settings("令和5年度", None, None)
    assert (settings.fiscal_year, settings.share_tolerance) == (
        2023, layout.DEFAULT_SHARE_TOLERANCE)
    assert make_settings("2023", None, 0).share_tolerance == 0


def test_validate_output_is_that_of_validating_each_file(runner, tmp_path):
    from budget.generate import write_plan_workbook
    from budget.intake.check import check_file
    from budget.menu import load_menu
    from budget.prefectures import find_prefecture
    from budget.render.text import report_dict, validation_text

    menu = load_menu(2023)
    paths = []
    for pref in ("13", "27"):
        path = tmp_path / f"{pref}.xlsx"
        write_plan_workbook(path, menu, find_prefecture(pref))
        paths.append(path)
    result = runner.invoke(cli, ["validate", *map(str, paths), "--format", "json"])
    one_by_one = [check_file(p) for p in paths]  # the batch must say what single checks say
    assert json.loads(result.output) == [report_dict(r) for r in one_by_one]
    text = runner.invoke(cli, ["validate", *map(str, paths)])
    assert text.output == validation_text(one_by_one) + "\n"
    assert text.exit_code == result.exit_code == (1 if any(
        not r.accepted for r in one_by_one) else 0)


def test_python_dash_m_and_version():
    out = subprocess.run([sys.executable, "-m", "budget", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.startswith("budget バージョン ")


@pytest.mark.parametrize("args", [["--help"]] + [[name, "--help"] for name in COMMANDS],
                         ids=lambda a: " ".join(a))
def test_help_does_not_import_heavy_libraries(args):
    code = ("import sys; from budget.cli import cli\n"
            f"try:\n    cli({args!r}, prog_name='budget')\n"
            "except SystemExit as e:\n    assert not e.code, e\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert "使い方: budget" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "[]"


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


@pytest.mark.parametrize(("year", "message"), [("R3", "令和3年度（2021年度）のメニューはありません（メニューのある年度: R5（令和5年度））"),
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
    assert "エラー: メニューファイル menu.csv に列がありません" in result.output


def test_generate_as_a_subprocess(tmp_path):
    out = subprocess.run([sys.executable, "-m", "budget", "generate", "-p", "47", "--out",
                          str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "47_沖縄県_R5_計画.xlsx").is_file()
