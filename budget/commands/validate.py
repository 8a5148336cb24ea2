from __future__ import annotations

from pathlib import Path

import click

from budget.commands.options import (
    Command,
    echo_data,
    make_settings,
    menu_option,
    say,
    tolerance_option,
    year_option,
)


@click.command(cls=Command)
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@year_option
@menu_option
@tolerance_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="出力形式（json: スクリプト向け）。")
@click.option("--annotate", "annotate_dir", type=click.Path(file_okay=False, path_type=Path),
              help="指摘のあるファイルごとに、該当セルに色とコメントを付けたコピーを"
                   "このフォルダに書き出します。")
def validate(files: tuple[Path, ...], year: int, menu_path: Path | None, tolerance: int | None,
             fmt: str, annotate_dir: Path | None) -> None:
    """返送された計画を検査し、指摘をすべて表示します。何も保存しません。

    \b
    終了コード: 0 すべて受理、1 差戻しのファイルあり、2 使い方の誤り

    \b
    例:
        budget validate inputs/13_東京都_R5_計画.xlsx
        budget validate inputs/*.xlsx --format json
        budget validate inputs/*.xlsx --annotate reports/返送
    """
    from budget.intake.batch import annotate_reports
    from budget.intake.check import check_files
    from budget.render.text import validation_text

    settings = make_settings(year, menu_path, tolerance)
    reports = check_files(files, settings)  # one pandera pass for every file
    returned = annotate_reports(files, reports, annotate_dir) if annotate_dir else {}
    if fmt == "json":
        import json

        from budget.render.text import report_dict

        payload = [report_dict(r, returned.get(i)) for i, r in enumerate(reports)]
        echo_data(json.dumps(payload, ensure_ascii=False, indent=1))
    else:
        say(validation_text(reports, returned))
    if any(not r.accepted for r in reports):
        raise SystemExit(1)
