from __future__ import annotations

import sys
from pathlib import Path

import click

from budget.commands.options import db_option, year_option


@click.command()
@year_option
@db_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="Output format (csv: UTF-8 with BOM, for Excel).")
def status(year: str, db_path: Path, fmt: str) -> None:
    """Show, for each of the 47 prefectures, whether its plan was received and accepted.

    A file nothing in which can be read (or another prefecture's template) counts for the
    prefecture its file name names (13_東京都_R5_…): 差戻し, with a note.

    \b
    Example:
        budget status --year R5
        budget status --format csv > 提出状況.csv
    """
    from budget.fiscal import parse_fiscal_year
    from budget.ingest import status_csv, status_json, status_table, year_status

    fy = parse_fiscal_year(year)
    df, note = year_status(db_path, fy)
    if fmt == "csv":
        sys.stdout.flush()
        sys.stdout.buffer.write(status_csv(df))  # bytes: UTF-8 with BOM, for Excel
        sys.stdout.buffer.flush()
    elif fmt == "json":
        click.echo(status_json(df))
    else:
        click.echo(status_table(df, fy))
    if note:
        click.echo(note, err=True)
