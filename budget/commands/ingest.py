from __future__ import annotations

import sys
from pathlib import Path

import click

from budget.commands.options import db_option, menu_option, year_option
from budget.commands.validate import make_settings, tolerance_option


@click.command()
@click.argument("folder", required=False, default=Path("inputs"),
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@db_option
@year_option
@menu_option
@tolerance_option
@click.option("--reports", "reports_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("reports"), show_default=True,
              help="Folder for the run's report and the return copies of rejected files.")
def ingest(folder: Path, db_path: Path, year: str, menu_path: Path | None,
           tolerance: int | None, reports_dir: Path) -> None:
    """Validate every workbook of FOLDER (default: inputs/) and store each one.

    Every workbook (.xlsx, .xlsm, .xls, .xlsb, .ods) becomes a submission (accepted or
    rejected, its bytes kept); the same file (same bytes, same name) twice is stored once.
    Other files (a readme, a cover letter .pdf, .csv…), lock files (~$…, .~lock…#) and
    hidden files are skipped with a note. Writes the run's report 取込結果_<time>.xlsx into
    --reports, and a marked-up return copy of each rejected file into
    --reports/返送_<time>/. Exit 0 when every workbook is accepted, 1 when any is rejected
    or could not be checked.

    \b
    Example:
        budget ingest                       # inputs/ into budget.db
        budget ingest received/ --db r5.db --reports reports/
    """
    from budget.ingest import folder_entries, ingest_folder, ingest_text

    settings = make_settings(year, menu_path, tolerance)
    n_files = len(folder_entries(folder)[0])
    with click.progressbar(length=n_files, label="取込中", file=sys.stderr,
                           show_pos=True) as bar:
        run = ingest_folder(folder, db_path, settings, reports_dir,
                            progress=lambda _path: bar.update(1))
    click.echo(ingest_text(run))
    if not run.all_accepted:
        raise SystemExit(1)
