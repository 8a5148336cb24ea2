from __future__ import annotations

from pathlib import Path

import click

from budget.commands.options import Command, db_option, echo_data, say, year_option


@click.command(cls=Command)
@year_option
@db_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="出力形式（csv: Excel で開けるよう BOM 付き UTF-8）。")
def status(year: int, db_path: Path, fmt: str) -> None:
    """47 都道府県それぞれについて、計画を受け取ったか、受理したかを表示します。

    \b
    読み取れるところのないファイル（や他の都道府県の様式）は、ファイル名が示す
    都道府県（13_東京都_R5_… なら東京都）の提出として、注記付きの差戻しになります。

    \b
    例:
        budget status --year R5
        budget status --format csv > 提出状況.csv
    """
    from budget.analysis.status import year_status
    from budget.fiscal import parse_fiscal_year
    from budget.render.text import status_csv, status_json, status_table

    fy = parse_fiscal_year(year)
    df, note = year_status(db_path, fy)
    if fmt == "csv":
        click.echo(status_csv(df), nl=False)  # bytes (UTF-8 with BOM, for Excel), written as is
    elif fmt == "json":
        echo_data(status_json(df))
    else:
        say(status_table(df, fy))
    if note:
        say(note, err=True)
