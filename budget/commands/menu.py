from __future__ import annotations

import click

from budget.commands.options import menu_option, resolve_menu, year_option


@click.command()
@year_option
@menu_option
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="Output format.")
def menu(year: str, menu_path, fmt: str) -> None:
    """Print a fiscal year's menu of subsidy items, one row per leaf.

    \b
    Example:
        budget menu --year R5
        budget menu --format csv > menu.csv
    """
    from budget.report_text import menu_table

    _, df = resolve_menu(year, menu_path)
    if fmt == "csv":
        click.echo(df.to_csv(index=False), nl=False)
    elif fmt == "json":
        click.echo(df.to_json(orient="records", force_ascii=False, indent=1))
    else:
        click.echo(menu_table(df))
