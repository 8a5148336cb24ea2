from __future__ import annotations

import sys
from pathlib import Path

import click

from budget.commands.options import db_option, menu_option, year_option

UNITS = ("千円", "百万円", "億円")


@click.command()
@year_option
@db_option
@menu_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("reports"), show_default=True, help="Folder to write the reports into.")
@click.option("--unit", type=click.Choice(UNITS), default="千円", show_default=True,
              help="Display unit of the amounts in the workbooks (the CSV/JSON stay in 千円).")
@click.option("--by-bureau", is_flag=True,
              help="Also write one workbook per 担当課 (joint items in each, flagged 共管).")
@click.option("--format", "formats", type=click.Choice(["csv", "json"]), multiple=True,
              help="Also write the tidy long table (one row per prefecture and planned item); "
                   "repeatable. CSV is UTF-8 with BOM so Excel opens it; Excel reads the "
                   "都道府県コード column \"01\" as the number 1, so the CSV also has "
                   "「都道府県（コード 名称）」 \"01 北海道\", which stays as written.")
@click.option("--strict", is_flag=True,
              help="Exit 1 when a prefecture is missing or has no accepted plan "
                   "(the reports are still written).")
def aggregate(year: str, db_path: Path, menu_path: Path | None, out_dir: Path, unit: str,
              by_bureau: bool, formats: tuple[str, ...], strict: bool) -> None:
    """Write the summary workbook of the year's accepted plans.

    Each prefecture's current plan (its newest accepted submission) is counted; prefectures
    that have not submitted or whose files were all rejected are listed in the 総括 and
    提出状況 sheets and never counted as zero. Sheets: 総括, グラフ, 大項目別, 中項目別,
    事業別, 担当課別, 都道府県別, 都道府県×事業, 都道府県×大項目, 明細, 提出状況, 出典.

    The 出典 sheet lists every submission of the year (used, rejected or superseded, and
    why). Files are replaced atomically, with the permissions a new file gets (umask); if
    one is open in Excel and cannot be replaced, the new report is written beside it as
    NAME(2).xlsx and the command says so.

    \b
    Exit codes: 0 written; 1 written but --strict found missing or rejected prefectures,
    or the store cannot be read; 2 usage error.

    \b
    Example:
        budget aggregate --year R5
        budget aggregate --unit 億円 --by-bureau --format csv --out reports/
    """
    from budget.fiscal import era_label, parse_fiscal_year
    from budget.report import aggregate_year

    fy = parse_fiscal_year(year)
    command_line = " ".join(["budget", *sys.argv[1:]]) if sys.argv else "budget aggregate"
    run = aggregate_year(db_path, fy, out_dir, menu_path=menu_path, unit=unit,
                         by_bureau=by_bureau, formats=formats, command_line=command_line)
    summ = run.summary
    n_ok = len(summ.included)
    click.echo(f"{era_label(fy)}の集計: 集計対象 {n_ok} / 47 都道府県")
    for status, label in (("missing", "未提出"), ("rejected", "差戻し（受理できる提出なし）")):
        names = summ.names_with_status(status)
        if names:
            click.echo(f"  {label} {len(names)}: {'、'.join(names)}（集計に含みません）")
    for note in summ.notes:
        click.echo(f"  注意: {note}", err=True)
    for w in run.written:
        click.echo(f"{w.kind}: {w.path}")
        if w.fallback:
            click.echo(f"  {w.requested} は他のアプリケーションで開かれているため置き換えられません"
                       f"でした。新しい{w.kind}は {w.path} に書き出しました。", err=True)
    if strict and run.incomplete:
        click.echo("--strict: 未提出または差戻しの都道府県があるため、終了コード 1 で終了します"
                   "（集計表は書き出しました）。", err=True)
        sys.exit(1)
