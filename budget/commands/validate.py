from __future__ import annotations

from pathlib import Path

import click

from budget.commands.options import menu_option, year_option


def tolerance_option(f):
    return click.option(
        "--tolerance", "tolerance", type=click.IntRange(min=0), default=None,
        help="Allowed deviation of 国 (A) from 2/3 of 基金計 (A+B), in 千円 [default: 2].",
    )(f)


def make_settings(year: str, menu_path: Path | None, tolerance: int | None):
    """The validation settings from the shared options."""
    from budget import layout
    from budget.fiscal import parse_fiscal_year
    from budget.validate import Settings

    return Settings(
        share_tolerance=layout.DEFAULT_SHARE_TOLERANCE if tolerance is None else tolerance,
        fiscal_year=parse_fiscal_year(year), menu_path=menu_path)


@click.command()
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@year_option
@menu_option
@tolerance_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format (json: for scripts).")
@click.option("--annotate", "annotate_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write a marked-up copy of each file with findings into this folder.")
def validate(files: tuple[Path, ...], year: str, menu_path: Path | None, tolerance: int | None,
             fmt: str, annotate_dir: Path | None) -> None:
    """Check returned workbooks and print every finding; nothing is stored.

    Exit 0 when every file is accepted, 1 when any is rejected.

    \b
    Example:
        budget validate inputs/13_東京都_R5_計画.xlsx
        budget validate inputs/*.xlsx --format json
        budget validate inputs/*.xlsx --annotate reports/返送
    """
    from budget.ingest import annotate_reports, validate_files, validation_text

    settings = make_settings(year, menu_path, tolerance)
    reports = validate_files(files, settings)
    returned = annotate_reports(files, reports, annotate_dir) if annotate_dir else {}
    if fmt == "json":
        import json

        from budget.ingest import report_dict

        payload = [report_dict(r, returned.get(i)) for i, r in enumerate(reports)]
        click.echo(json.dumps(payload, ensure_ascii=False, indent=1))
    else:
        click.echo(validation_text(reports, returned))
    if any(not r.accepted for r in reports):
        raise SystemExit(1)
