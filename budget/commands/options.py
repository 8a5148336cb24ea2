"""Options and small helpers shared by several commands, defined once."""

from __future__ import annotations

import sys
from pathlib import Path

import click

HELP_OPTION_HELP = "このヘルプを表示して終了します。"


class JapaneseHelp:
    """Mixin for click commands: the help page's own words (usage line, the options
    heading, ``[default: …]``, the ``--help`` option) in Japanese, like the rest of it."""

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_OPTION_HELP
        return option

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix="使い方: ")

    def format_option_list(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for param in self.get_params(ctx):  # type: ignore[attr-defined]
            record = param.get_help_record(ctx)
            if record is None or isinstance(param, click.Argument):
                continue
            name, help_ = record
            text, sep, extra = help_.rpartition("[")
            if sep and extra.endswith("]"):  # click's "[default: R5; required]" tail
                extra = extra.replace("default: ", "既定: ").replace("required", "必須")
                help_ = text + sep + extra
            rows.append((name, help_))
        if rows:
            with formatter.section("オプション"):
                formatter.write_dl(rows)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.format_option_list(ctx, formatter)


class Command(JapaneseHelp, click.Command):
    """``@click.command(cls=Command)``: a command whose help page is all Japanese."""


def year_option(f):
    return click.option(
        "--year", "-y", "year", default="R5", show_default=True,
        help="年度: R5、令和5年度 または 2023。",
    )(f)


def menu_option(f):
    return click.option(
        "--menu", "menu_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
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


def resolve_menu(year: str, menu_path: Path | None):
    """(fiscal year as int, menu DataFrame) from the --year and --menu options."""
    from budget.fiscal import parse_fiscal_year
    from budget.menu import load_menu

    fy = parse_fiscal_year(year)
    return fy, load_menu(fy, menu_path)


def make_settings(year: str, menu_path: Path | None, tolerance: int | None):
    """The validation settings from the --year, --menu and --tolerance options."""
    from budget.fiscal import parse_fiscal_year
    from budget.forms import plan as layout
    from budget.intake.check import Settings

    return Settings(
        share_tolerance=layout.DEFAULT_SHARE_TOLERANCE if tolerance is None else tolerance,
        fiscal_year=parse_fiscal_year(year), menu_path=menu_path)


def command_line(name: str) -> str:
    """The command as the user typed it (recorded in the reports' 出典), or ``budget NAME``
    when there is no ``sys.argv`` (an embedding host)."""
    return " ".join(["budget", *sys.argv[1:]]) if sys.argv else f"budget {name}"
