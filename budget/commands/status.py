from __future__ import annotations

from pathlib import Path

import click

from budget.commands.options import Command, db_option, echo_data, say, year_option


@click.command(cls=Command)
@year_option
@db_option
@click.option("--stage", default=None,
              help="段階: 要望、計画（変更を含む）、変更、実績（英語名 request・plan・revision・"
                   "actual も可）。指定すると未提出・差戻しの都道府県の連絡先（担当部署、担当者、"
                   "電話、メール）を表示し、--format csv は督促リストになります。既定: 計画。")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="出力形式（csv: Excel で開けるよう BOM 付き UTF-8）。")
def status(year: int, db_path: Path, stage: str | None, fmt: str) -> None:
    """47 都道府県それぞれについて、計画を受け取ったか、受理したかを表示します。

    \b
    読み取れるところのないファイル（や他の都道府県の様式）は、ファイル名が示す
    都道府県（13_東京都_R5_… なら東京都）の提出として、注記付きの差戻しになります。
    計画は、受理した最新の計画または変更で判定します。

    \b
    例:
        budget status --year R5
        budget status --format csv > 提出状況.csv
        budget status --stage 実績 --format csv > 実績_督促リスト.csv
    """
    from budget.analysis.status import year_status
    from budget.fiscal import parse_fiscal_year
    from budget.render.text import (
        reminder_csv,
        stage_status_table,
        status_csv,
        status_json,
        status_table,
    )

    fy = parse_fiscal_year(year)
    code = None
    if stage is not None:
        from budget.analysis.track import parse_stage

        code = parse_stage(stage)
    df, note = year_status(db_path, fy, code)
    if fmt == "csv":
        # bytes (UTF-8 with BOM, for Excel), written as is
        click.echo(status_csv(df) if code is None else reminder_csv(df), nl=False)
    elif fmt == "json":
        echo_data(status_json(df))
    else:
        say(status_table(df, fy) if code is None else stage_status_table(df, fy))
    if note:
        say(note, err=True)
