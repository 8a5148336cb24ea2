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
    that have one, unless the command's --menu gives a menu file (processed first: eager),
    or the command needs no menu (no --menu option) and its store holds that year. Without
    --year, the year is ``default_year``'s."""
    if ctx.resilient_parsing:
        return year
    why = ""  # set when --year was not given
    if year is None:
        year, why = default_year(ctx)
    if ctx.params.get("menu_path") is not None:
        return year
    from budget.fiscal import era_code, era_label, full_label
    from budget.menu import shipped_menu_years

    have = shipped_menu_years()
    if year in have:
        return year
    takes_menu = any(p.name == "menu_path" for p in ctx.command.params)
    if not takes_menu and year in _store_years(ctx):
        return year
    known = "、".join(f"{era_code(y)}（{era_label(y)}）" for y in have) or "なし"
    hint = ("別の年度は --menu でメニューの CSV ファイルを指定してください。"
            if takes_menu else "メニューのある年度を指定してください。")
    told = f"（--year を省いたときの既定: {why}）" if why else ""
    raise click.BadParameter(
        f"{full_label(year)}{told}のメニューはありません（メニューのある年度: {known}）。{hint}",
        ctx=ctx, param=param)


def default_year(ctx: click.Context) -> tuple[int, str]:
    """(the year a command uses when --year is not given, why, in Japanese): the year of the
    menu file --menu gives; else the latest fiscal year the shipped menus or the command's
    store (--db) know. Never a constant: next year's menu or submissions move it on."""
    from budget.menu import menu_file_year, shipped_menu_years

    menu_path = ctx.params.get("menu_path")
    if menu_path is not None:
        from_file = menu_file_year(menu_path)
        if from_file is not None:
            return from_file, "--menu のメニューの年度"
    shipped = shipped_menu_years()
    stored = _store_years(ctx)
    latest = max([*shipped, *stored])
    return latest, ("データベースにある最新の年度" if latest not in shipped
                    else "同梱のメニューとデータベースにある最新の年度")


def _store_years(ctx: click.Context) -> set[int]:
    """Fiscal years with an accepted submission in the store the command's --db names (when
    --db was not parsed yet, what it gives without a value); empty when the command has no
    --db, the store does not exist or cannot be read (the command itself then says why)."""
    param = next((p for p in ctx.command.params if p.name == "db_path"), None)
    if param is None:
        return set()
    if "db_path" in ctx.params:
        location = ctx.params["db_path"]
    else:  # processed later: its default through its own type and callback
        location = param.process_value(ctx, param.get_default(ctx))
    if location is None:
        return set()
    cache = ctx.meta.setdefault("budget.store_years", {})
    key = str(location)
    if key not in cache:
        cache[key] = _read_store_years(location)
    return cache[key]


def _read_store_years(location: object) -> set[int]:
    import inspect

    from budget.errors import BudgetError
    from budget.store import open_store

    # read-only where the store supports it: looking up a default changes nothing
    readonly = {"readonly": True} if "readonly" in inspect.signature(open_store).parameters else {}
    try:
        with open_store(location, create=False, **readonly) as store:  # type: ignore[arg-type]
            df = store.submissions()
    except BudgetError:  # missing, newer, damaged: the command says so itself
        return set()
    # accepted only: a rejected file may claim any year (a typo's R99 moves nothing)
    return {int(y) for y in df.loc[df["status"] == "accepted", "fiscal_year"].dropna().unique()}


def year_option(f):
    """--year / -y: a fiscal year that has a menu (else exit 2), passed on as an int; when
    not given, ``default_year``."""
    return click.option(
        "--year", "-y", "year", type=FiscalYear(), default=None,
        callback=_year_with_menu, metavar="年度",
        help="年度: R5、令和5年度 または 2023。既定: --menu のメニューの年度、なければ"
             "同梱のメニューとデータベースにある最新の年度。",
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
