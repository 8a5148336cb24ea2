"""Options shared by several commands, defined once."""

from __future__ import annotations

from pathlib import Path

import click


def year_option(f):
    return click.option(
        "--year", "-y", "year", default="R5", show_default=True,
        help="Fiscal year: R5, 令和5年度 or 2023.",
    )(f)


def menu_option(f):
    return click.option(
        "--menu", "menu_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="A menu CSV file to use instead of the year's shipped menu.",
    )(f)


def db_option(f):
    return click.option(
        "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
        default=Path("budget.db"), show_default=True, help="The SQLite store.",
    )(f)


def resolve_menu(year: str, menu_path: Path | None):
    """(fiscal year as int, menu DataFrame) from the --year and --menu options."""
    from budget.fiscal import parse_fiscal_year
    from budget.menu import load_menu

    fy = parse_fiscal_year(year)
    return fy, load_menu(fy, menu_path)
