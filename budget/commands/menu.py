from __future__ import annotations

import click

from budget.commands.options import Command, echo_data, menu_option, resolve_menu, say, year_option


@click.command(cls=Command)
@year_option
@menu_option
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True,
              help="出力形式（table: 表、csv・json: メニューファイルと同じ英語の列名）。")
def menu(year: int, menu_path, fmt: str) -> None:
    """年度のメニュー（補助対象の事業）を、細目ごとに 1 行で表示します。

    \b
    --format csv と --format json はメニューのデータそのものです。
    列名はメニューファイルと同じ英語名です（fiscal_year、leaf_code、category
    など。同梱の budget/menus/R5.csv と同じ列）。

    \b
    例:
        budget menu --year R5
        budget menu --format csv > menu.csv
    """
    from budget.render.text import menu_table

    _, df = resolve_menu(year, menu_path)
    if fmt == "csv":
        echo_data(df.to_csv(index=False))
    elif fmt == "json":
        echo_data(df.to_json(orient="records", force_ascii=False, indent=1))
    else:
        say(menu_table(df))
