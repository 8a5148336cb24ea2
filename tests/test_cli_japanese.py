"""What a user reads from the command line: Japanese only, every command, every option, and
nothing printed raw that could drive the terminal.

The commands are walked at run time (``cli.list_commands``, subgroups included), so a command
added later is covered without its author writing a test here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from budget.cli import cli
from budget.render.terminal import shown
from tests.test_ingest import bad_rows, file_name, plan_bytes, write

#: An ESC sequence that clears the screen, and an OSC one that retitles the terminal window.
CLEAR = "\x1b[2J"
RETITLE = "\x1b]0;pwned\x07"
BAD_VALUE = f"zz{CLEAR}"

_WORD = re.compile(r"[A-Za-z][A-Za-z]+")


def walk(group: click.Group = cli, path: tuple[str, ...] = ()):
    """(command path, command) for every command under ``group``, subgroups included."""
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from walk(command, (*path, name))


COMMANDS = list(walk())
IDS = [" ".join(p) for p, _ in COMMANDS]


def own_words(command: click.Command, path: tuple[str, ...]) -> set[str]:
    """The ASCII words a command may print: its names, its options, its choices, and the
    words of the help text we wrote (product names: Excel, CSV, JSON, SQLite…)."""
    words = {"budget", *path}
    texts = [cli.help or "", command.help or "", command.short_help or ""]
    for param in [*cli.params, *command.params]:
        texts += [*param.opts, *param.secondary_opts, getattr(param, "help", None) or ""]
        if isinstance(param.type, click.Choice):
            texts += [str(c) for c in param.type.choices]
        if isinstance(param, click.Option) and param.default is not None:
            texts.append(str(param.default))
    from budget.cli import COMMANDS as SHORT

    texts += [h for _, h in SHORT.values()] + list(SHORT)
    for text in texts:
        words.update(_WORD.findall(text))
    return words


def english_words(text: str, allowed: set[str]) -> list[str]:
    """ASCII words in ``text`` that are not allowed (Click's own: Usage, Error, Try, TEXT…)."""
    text = re.sub(r"(?<![\w-])--?[A-Za-z][\w-]*", " ", text)  # option names, as typed
    return [w for w in _WORD.findall(text) if w not in allowed and w not in {"x1b", "x07"}]


def bad_invocations(path: tuple[str, ...], command: click.Command) -> list[list[str]]:
    """Command lines that must each be refused as a usage error (exit 2): an unknown option,
    and for every option taking a value: no value, and a value no type accepts (followed by
    two stray arguments, so that an option that takes any text still ends in an error and
    nothing runs)."""
    runs = [[*path, "--bogus"], [*path, "--bogus", BAD_VALUE]]
    for param in command.params:
        if not isinstance(param, click.Option) or param.is_flag or param.count:
            continue
        if param.hidden or param.is_eager and param.name in {"help", "version"}:
            continue
        opt = param.opts[0]
        runs.append([*path, "x1", "x2", "x3", opt])  # the value is missing at the end
        runs.append([*path, opt, BAD_VALUE, "x1", "x2", "x3"])
    return runs


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_usage_error_of_every_command_is_japanese(tmp_path, monkeypatch, path, command):
    monkeypatch.chdir(tmp_path)
    allowed = own_words(command, path) | {"x1", "x2", "x3", "zz"}
    runner = CliRunner()
    for args in bad_invocations(path, command):
        result = runner.invoke(cli, args, prog_name="budget")
        out = result.output
        assert result.exit_code == 2, (args, out, result.exception)
        assert "Traceback" not in out
        assert "エラー: " in out, (args, out)
        assert english_words(out, allowed) == [], (args, out)
        assert "\x1b" not in out and "\x07" not in out, (args, out)  # the value shown escaped
        if "zz" in out:  # a message quoting the value quotes it escaped
            assert "zz\\x1b[2J" in out, (args, out)
    assert list(tmp_path.iterdir()) == []  # nothing ran


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_help_page_is_japanese_metavars_included(path, command):
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="budget")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith(f"使い方: budget {' '.join(path)} [オプション]")
    assert english_words(out, own_words(command, path)) == [], out
    for click_word in ("TEXT", "DIRECTORY", "FILE", "PATH", "INTEGER", "RANGE", "OPTIONS",
                       "default:", "required", "x>="):
        assert click_word not in out, click_word


def test_the_groups_own_words_are_japanese():
    runner = CliRunner()
    allowed = own_words(cli, ()) | {"frob", "pwned"}
    for args, code in ((["--help"], 0), (["--version"], 0), (["frob"], 2), (["--bogus"], 2),
                       ([], 2), (["--debug"], 2), ([f"frob{RETITLE}"], 2)):
        result = runner.invoke(cli, args, prog_name="budget")
        assert result.exit_code == code, (args, result.output)
        assert english_words(result.output, allowed) == [], (args, result.output)
        assert "\x1b" not in result.output and "\x07" not in result.output
    assert runner.invoke(cli, ["--version"], prog_name="budget").output.startswith(
        "budget バージョン ")
    frob = runner.invoke(cli, ["frob"], prog_name="budget").output
    assert "エラー: コマンド「frob」はありません。" in frob and "menu、generate" in frob
    assert "「budget --help」で使い方を表示できます。" in frob


def test_messages_name_what_was_wrong(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    cases = [
        (["generate", "--bogus"], "エラー: オプション「--bogus」はありません。"),
        (["menu", "--formt", "json"], "（候補: --format）"),
        (["validate"], "エラー: 引数 ファイル を指定してください。"),
        (["ingest", "inputs"], "フォルダ「inputs」がありません。"),
        (["aggregate", "--unit", "円"],
         "オプション --unit の指定が正しくありません: 「円」は指定できません。"
         "千円、百万円、億円 のいずれかを指定してください。"),
        (["validate", "--tolerance", "-1", "x"], "-1 は指定できる範囲外です。0 以上の整数を指定"),
        (["demo", "--seed", "abc"], "「abc」は整数ではありません。整数を指定してください。"),
        (["menu", "--year"], "オプション「--year」には値を指定してください。"),
        (["menu", "extra"], "余分な引数があります: extra"),
        (["generate", "--out"], "オプション「--out」には値を指定してください。"),
    ]
    for args, message in cases:
        result = runner.invoke(cli, args, prog_name="budget")
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)


def test_a_command_of_plain_click_added_later_is_japanese_too(monkeypatch, tmp_path):
    """A command written with plain ``@click.command()`` and ``click.Path``/``click.Choice``
    (no class of ours) still prints Japanese: the group makes it so."""
    from budget import cli as cli_module

    @click.command()
    @click.argument("src", type=click.Path(exists=True, file_okay=False))
    @click.option("--mode", type=click.Choice(["a", "b"]), default="a", show_default=True,
                  help="方式。")
    @click.option("--n", type=click.IntRange(1, 9), required=True, help="回数。")
    def later(src: str, mode: str, n: int) -> None:
        """後から追加したコマンド。"""

    import types

    module = types.ModuleType("budget.commands.later")
    module.later = later  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "budget.commands.later", module)
    monkeypatch.setitem(cli_module.COMMANDS, "later", ("later", "後から追加。"))
    runner = CliRunner()
    help_ = runner.invoke(cli, ["later", "--help"], prog_name="budget").output
    assert help_.startswith("使い方: budget later [オプション] フォルダ")
    assert "[既定: a]" in help_ and "1 以上 9 以下" in help_ and "必須" in help_
    missing = runner.invoke(cli, ["later", str(tmp_path)], prog_name="budget")
    assert missing.exit_code == 2
    assert "オプション --n を指定してください。" in missing.stderr
    nowhere = runner.invoke(cli, ["later", "nowhere", "--n", "1"], prog_name="budget")
    assert "引数 フォルダ の指定が正しくありません: フォルダ「nowhere」がありません。" in nowhere.stderr
    bad = runner.invoke(cli, ["later", str(tmp_path), "--n", "10"], prog_name="budget")
    assert bad.exit_code == 2 and "10 は指定できる範囲外です。1 以上 9 以下の整数" in bad.stderr


# --- item 12: a year with no menu --------------------------------------------------------------


YEAR_COMMANDS = [(p, c) for p, c in COMMANDS if any(x.name == "year" for x in c.params)]


@pytest.mark.parametrize(("path", "command"), YEAR_COMMANDS,
                         ids=[" ".join(p) for p, _ in YEAR_COMMANDS])
def test_every_command_refuses_a_year_with_no_menu_the_same_way(tmp_path, monkeypatch, path,
                                                                command):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for year, label in (("R99", "令和99年度（2117年度）"), ("2030", "令和12年度（2030年度）"),
                        ("平成30年度", "平成30年度（2018年度）")):
        result = runner.invoke(cli, [*path, "--year", year], prog_name="budget")
        assert result.exit_code == 2, (path, year, result.output)
        assert (f"エラー: オプション --year / -y の指定が正しくありません: {label}のメニューは"
                "ありません（メニューのある年度: R5（令和5年度））。") in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_status_of_a_year_with_no_menu_is_refused(tmp_path):
    result = CliRunner().invoke(cli, ["status", "--year", "R99", "--db", str(tmp_path / "b.db")])
    assert result.exit_code == 2
    assert "令和99年度（2117年度）のメニューはありません" in result.stderr
    assert "メニューのある年度を指定してください。" in result.stderr  # status has no --menu
    ok = CliRunner().invoke(cli, ["status", "--year", "2023", "--db", str(tmp_path / "b.db")])
    assert ok.exit_code == 0, ok.output


def test_a_menu_file_makes_its_year_usable(tmp_path):
    """--menu is read before --year (eager), whatever their order on the command line."""
    import pandas as pd

    menu = pd.read_csv(Path(__file__).resolve().parents[1] / "budget" / "menus" / "R5.csv",
                       dtype=str, keep_default_na=False, encoding="utf-8-sig")
    menu["fiscal_year"] = "2024"
    menu["leaf_code"] = menu["leaf_code"].str.replace("R5-", "R6-")
    r6 = tmp_path / "R6.csv"
    menu.to_csv(r6, index=False, encoding="utf-8")
    runner = CliRunner()
    for args in (["menu", "--year", "R6", "--menu", str(r6)],
                 ["menu", "--menu", str(r6), "--year", "R6"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert result.output.startswith("令和6年度（2024年度） メニュー:")
    refused = runner.invoke(cli, ["menu", "--year", "R6"])
    assert refused.exit_code == 2
    assert "別の年度は --menu でメニューの CSV ファイルを指定してください。" in refused.stderr


# --- item 8 (display): control characters are shown escaped ---------------------------------


def test_shown_escapes_every_control_character():
    assert shown(f"a{CLEAR}b") == "a\\x1b[2Jb"
    assert shown(RETITLE) == "\\x1b]0;pwned\\x07"
    assert shown("a\nb\r\tc\x00\x7f\x9b") == "a\\x0ab\\x0d\\x09c\\x00\\x7f\\x9b"
    assert shown("a\nb", lines=True) == "a\nb"
    assert shown("cod\u202eexe.doc") == "cod\\u202eexe.doc"
    assert shown(b"13_\xff.xlsx".decode("utf-8", "surrogateescape")) == "13_\\xff.xlsx"
    assert shown("13_東京都_R5_計画.xlsx C:\\受付\\") == "13_東京都_R5_計画.xlsx C:\\受付\\"


def _no_raw_controls(text: str) -> None:
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", text), repr(text)


def test_file_names_with_escape_sequences_are_shown_escaped_everywhere(tmp_path):
    inbox = tmp_path / "in"
    evil = f"13_東京都_R5_計画{CLEAR}{RETITLE}.xlsx"
    write(inbox, "13", plan_bytes("13", bad_rows()), evil)
    write(inbox, "", b"memo", f"memo{CLEAR}.txt")  # skipped, with a note
    db = tmp_path / "b.db"
    runner = CliRunner()
    escaped = "13_東京都_R5_計画\\x1b[2J\\x1b]0;pwned\\x07.xlsx"

    ingest = runner.invoke(cli, ["ingest", str(inbox), "--db", str(db), "--reports",
                                 str(tmp_path / "rep")])
    assert ingest.exit_code == 1, ingest.output
    _no_raw_controls(ingest.output)
    assert escaped in ingest.stdout and "memo\\x1b[2J.txt" in ingest.stdout

    status = runner.invoke(cli, ["status", "--db", str(db)])
    assert status.exit_code == 0, status.output
    _no_raw_controls(status.output)
    assert escaped in status.stdout

    validate = runner.invoke(cli, ["validate", str(inbox / evil), "--annotate",
                                   str(tmp_path / "ret")])
    assert validate.exit_code == 1
    _no_raw_controls(validate.output)
    assert validate.stdout.startswith(f"{escaped}: 差戻し")
    assert "計画!H8" in validate.stdout  # the findings table is there

    # JSON is data: the name as sent
    as_json = runner.invoke(cli, ["validate", str(inbox / evil), "--format", "json"])
    assert f'"file": "{evil}"'.replace("\x1b", "\\u001b").replace("\x07", "\\u0007") in \
        as_json.stdout


def test_the_terminal_of_a_real_process_gets_no_raw_escape(tmp_path):
    inbox = tmp_path / "in"
    write(inbox, "13", plan_bytes("13"), f"13_東京都_R5_計画{RETITLE}.xlsx")
    out = subprocess.run([sys.executable, "-m", "budget", "ingest", str(inbox), "--db",
                          str(tmp_path / "b.db"), "--reports", str(tmp_path / "rep")],
                         capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr.decode("utf-8", "replace")
    assert b"\x1b" not in out.stdout and b"\x07" not in out.stdout
    assert b"\x1b" not in out.stderr and b"\x07" not in out.stderr
    assert "\\x1b]0;pwned\\x07".encode() in out.stdout
    assert file_name("13").encode() not in out.stdout  # the name shown is the escaped one
