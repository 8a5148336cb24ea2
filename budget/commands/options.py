"""Options and small helpers shared by several commands, defined once."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from budget.commands.japanese import HELP_OPTION_HELP, JapaneseGroup, JapaneseHelp  # noqa: F401


class Command(JapaneseHelp, click.Command):
    """``@click.command(cls=Command)``: a command whose help page and errors are Japanese."""


class Group(JapaneseGroup, click.Group):
    """``@click.group(cls=Group)``: a group of subcommands (``budget db …``), all Japanese."""

    command_class = Command


class FiscalYear(click.ParamType):
    """A fiscal year as typed (``R5``, ``令和5年度``, ``2023``) → its int (2023)."""

    name = "fiscal_year"

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "年度"

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201
        from budget.errors import UnknownFiscalYear
        from budget.fiscal import parse_fiscal_year

        try:
            return parse_fiscal_year(value)
        except UnknownFiscalYear as exc:
            self.fail(str(exc), param, ctx)


def _year_with_menu(ctx: click.Context, param: click.Parameter, year: int | None) -> int | None:
    """The --year callback: a year with no menu is a usage error (exit 2) naming the years
    that have one, unless the command's --menu gives a menu file (processed first: eager)."""
    if year is None or ctx.resilient_parsing or ctx.params.get("menu_path") is not None:
        return year
    from budget.fiscal import era_code, era_label, full_label
    from budget.menu import shipped_menu_years

    have = shipped_menu_years()
    if year in have:
        return year
    known = "、".join(f"{era_code(y)}（{era_label(y)}）" for y in have) or "なし"
    hint = ("別の年度は --menu でメニューの CSV ファイルを指定してください。"
            if any(p.name == "menu_path" for p in ctx.command.params)
            else "メニューのある年度を指定してください。")
    raise click.BadParameter(
        f"{full_label(year)}のメニューはありません（メニューのある年度: {known}）。{hint}",
        ctx=ctx, param=param)


def year_option(f):
    """--year / -y: a fiscal year that has a menu (else exit 2), passed on as an int."""
    return click.option(
        "--year", "-y", "year", type=FiscalYear(), default="R5", show_default=True,
        callback=_year_with_menu, metavar="年度",
        help="年度: R5、令和5年度 または 2023。",
    )(f)


def menu_option(f):
    # Eager: read before --year, whose check accepts any year when a menu file is given.
    return click.option(
        "--menu", "menu_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
        is_eager=True, metavar="ファイル",
        help="同梱のメニューの代わりに使うメニューファイル（CSV）。",
    )(f)


def _resolve_db(ctx: click.Context, param: click.Parameter, value: str | None):
    """The store's ``Location`` from ``--db``, else ``BUDGET_DB``, else ``budget.db``."""
    from budget.errors import UsageError
    from budget.store.location import resolve_location

    try:
        return resolve_location(value)
    except UsageError as exc:
        raise click.UsageError(str(exc), ctx) from exc


def db_option(f):
    return click.option(
        "--db", "db_path", metavar="場所", callback=_resolve_db,
        help="データベース: SQLite のファイルのパス、または postgresql://ユーザー@ホスト/"
             "データベース名 の URL。省略時は環境変数 BUDGET_DB、それもなければ budget.db。",
    )(f)


def tolerance_option(f):
    return click.option(
        "--tolerance", "tolerance", type=click.IntRange(min=0), default=None,
        # "2" is layout.DEFAULT_SHARE_TOLERANCE (not imported here: --help stays light)
        help="国（A）が基金計（A+B）の 3 分の 2 からずれてよい幅（千円）。既定: 2。",
    )(f)


def resolve_menu(year: str | int, menu_path: Path | None):
    """(fiscal year as int, menu DataFrame) from the --year and --menu options."""
    from budget.fiscal import parse_fiscal_year
    from budget.menu import load_menu

    fy = parse_fiscal_year(year)
    return fy, load_menu(fy, menu_path)


def make_settings(year: str | int, menu_path: Path | None, tolerance: int | None):
    """The validation settings from the --year, --menu and --tolerance options."""
    from budget.fiscal import parse_fiscal_year
    from budget.forms import plan as layout
    from budget.intake.check import Settings

    return Settings(
        share_tolerance=layout.DEFAULT_SHARE_TOLERANCE if tolerance is None else tolerance,
        fiscal_year=parse_fiscal_year(year), menu_path=menu_path)


def say(text: object = "", *, err: bool = False) -> None:
    """Print a line for a person: any control character in it (a file name's ESC…) shown
    escaped (``budget.render.terminal.shown``); newlines kept."""
    from budget.render.terminal import shown

    click.echo(shown(text, lines=True), err=err)


def echo_data(text: str) -> None:
    """Print data meant for a program or a file (JSON, CSV) as UTF-8 whatever the console's
    encoding: text kept as sent, never turned into ``?`` by a cp932 console or redirect
    (a Windows console shows UTF-8 bytes right)."""
    click.echo(text.encode("utf-8"), nl=False)
    if not text.endswith("\n"):
        click.echo(b"\n", nl=False)


def command_line(name: str) -> str:
    """The command as the user typed it (recorded in the reports' 出典), or ``budget NAME``
    when there is no ``sys.argv`` (an embedding host)."""
    return " ".join(["budget", *sys.argv[1:]]) if sys.argv else f"budget {name}"
