from __future__ import annotations

from pathlib import Path

import click

from budget.commands.options import (
    Command,
    FiscalYear,
    Group,
    echo_data,
    menu_option,
    resolve_menu,
    say,
    year_option,
)

SUBCOMMANDS = ("show", "new", "check", "diff")


class MenuGroup(Group):
    """``budget menu``: shows a menu when no subcommand is named (``budget menu --year R5``
    as before), and holds the subcommands that author and compare menus. A word that is no
    subcommand is an extra argument, as it was when ``menu`` was a single command."""

    def resolve_command(self, ctx: click.Context, args: list[str]):  # noqa: ANN201
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            ctx.fail(f"余分な引数があります: {args[0]}"
                     f"（menu のサブコマンドは {'、'.join(SUBCOMMANDS)} です）")
        return super().resolve_command(ctx, args)


FORMAT_OPTION = click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
    show_default=True,
    help="出力形式（table: 表、csv・json: メニューファイルと同じ英語の列名）。")


def _show(year: int, menu_path: Path | None, fmt: str) -> None:
    from budget.render.text import menu_table

    _, df = resolve_menu(year, menu_path)
    if fmt == "csv":
        echo_data(df.to_csv(index=False))
    elif fmt == "json":
        echo_data(df.to_json(orient="records", force_ascii=False, indent=1))
    else:
        say(menu_table(df))


@click.group(cls=MenuGroup, invoke_without_command=True)
@year_option
@menu_option
@FORMAT_OPTION
@click.pass_context
def menu(ctx: click.Context, year: int, menu_path: Path | None, fmt: str) -> None:
    """年度のメニュー（補助対象の事業）を、細目ごとに 1 行で表示します。

    \b
    サブコマンドなしで表示します（budget menu show と同じ）。下のコマンドで、
    次の年度のメニューと移行表を作り（new）、検査し（check）、年度の違いを示します（diff）。
    --format csv と --format json はメニューのデータそのものです。
    列名はメニューファイルと同じ英語名です（fiscal_year、leaf_code、category
    など。同梱の budget/menus/R5.csv と同じ列）。

    \b
    例:
        budget menu --year R5
        budget menu --format csv > menu.csv
        budget menu new --from R5 --year R6 --out 新年度
        budget menu check 新年度/R6.csv --crosswalk 新年度/crosswalk_R5_R6.csv
        budget menu diff R5 新年度/R6.csv
    """
    if ctx.invoked_subcommand is None:
        _show(year, menu_path, fmt)


@menu.command("show", cls=Command)
@year_option
@menu_option
@FORMAT_OPTION
def show(year: int, menu_path: Path | None, fmt: str) -> None:
    """年度のメニューを、細目ごとに 1 行で表示します（budget menu と同じ）。

    \b
    例:
        budget menu show --year R5
    """
    _show(year, menu_path, fmt)


@menu.command("new", cls=Command)
@click.option("--from", "from_ref", required=True, metavar="年度|ファイル",
              help="元にするメニュー: 年度（R5 など）またはメニューファイル。")
# Named new_year: this year has no menu yet (it is the one being made).
@click.option("--year", "-y", "new_year", type=FiscalYear(), default=None, metavar="年度",
              help="新しいメニューの年度（既定: 元の翌年度）。")
@click.option("--out", "out_dir", required=True, metavar="フォルダ",
              type=click.Path(file_okay=False, path_type=Path),
              help="新しいメニューと移行表を書き出すフォルダ。")
def new(from_ref: str, new_year: int | None, out_dir: Path) -> None:
    """次の年度のメニューを、今の年度のメニューの写しとして作ります。

    \b
    細目のコードを新しい年度に付け替え（R5-13-ハ → R6-13-ハ）、備考などはそのまま
    残します。あわせて、すべての細目を「same（同じ）」で結んだ移行表
    crosswalk_<元>_<新>.csv を作ります。両方を編集してから budget menu check で
    検査してください。

    \b
    例:
        budget menu new --from R5 --year R6 --out 新年度
    """
    from budget.crosswalk import start_next_year
    from budget.menu import load_menu_ref, menu_year

    source = load_menu_ref(from_ref)
    target = menu_year(source) + 1 if new_year is None else new_year
    menu_file, crosswalk_file = start_next_year(source, target, out_dir)
    say(f"メニュー: {menu_file}")
    say(f"移行表: {crosswalk_file}")
    say("編集したら budget menu check で検査してください。")


@menu.command("check", cls=Command)
@click.argument("menu_file", metavar="メニューファイル",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--crosswalk", "crosswalk", metavar="ファイル",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="あわせて検査する移行表（前の年度のメニューからこのメニューへ）。")
@click.option("--from", "from_ref", default=None, metavar="年度|ファイル",
              help="移行表の前の年度のメニュー（既定: 移行表の from_code の年度の同梱メニュー）。")
def check(menu_file: Path, crosswalk: Path | None, from_ref: str | None) -> None:
    """メニューファイル（と移行表）を検査し、誤りを行ごとに示します。

    \b
    誤りがあれば終了コード 1 です。

    \b
    例:
        budget menu check 新年度/R6.csv --crosswalk 新年度/crosswalk_R5_R6.csv
    """
    from budget.crosswalk import check_menu_files

    problems = check_menu_files(menu_file, crosswalk, from_ref)
    if problems:
        for p in problems:
            say(p)
        raise click.exceptions.Exit(1)
    say(f"{menu_file.name}" + (f" と {crosswalk.name}" if crosswalk else "") + ": 問題はありません。")


@menu.command("diff", cls=Command)
@click.argument("before", metavar="前の年度|ファイル")
@click.argument("after", metavar="後の年度|ファイル")
@click.option("--crosswalk", "crosswalk", metavar="ファイル",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="2 つのメニューの移行表（既定: 同梱のもの、または後のメニューと同じフォルダの "
                   "crosswalk_<前>_<後>.csv）。")
def diff(before: str, after: str, crosswalk: Path | None) -> None:
    """2 つのメニューの違い（新規・廃止・名称変更・番号変更・統合・分割）を示します。

    \b
    メニューは年度（R5 など）またはメニューファイルで指定します。細目の対応は
    移行表によります（番号や名前だけでは結びつけません）。

    \b
    例:
        budget menu diff R5 新年度/R6.csv
        budget menu diff R5 R6.csv --crosswalk crosswalk_R5_R6.csv
    """
    from budget.crosswalk import changes_text, describe_menu_changes

    say(changes_text(*describe_menu_changes(before, after, crosswalk)))
