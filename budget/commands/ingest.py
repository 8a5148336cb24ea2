from __future__ import annotations

import sys
from pathlib import Path

import click

from budget.commands.options import (
    Command,
    db_option,
    make_settings,
    menu_option,
    say,
    tolerance_option,
    year_option,
)


@click.command(cls=Command)
@click.argument("folder", required=False, default=Path("inputs"),
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@db_option
@year_option
@menu_option
@tolerance_option
@click.option("--reports", "reports_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("reports"), show_default=True,
              help="取込結果と、差戻しのファイルの返送用コピーを書き出すフォルダ。")
def ingest(folder: Path, db_path: Path, year: int, menu_path: Path | None,
           tolerance: int | None, reports_dir: Path) -> None:
    """指定したフォルダ（既定: inputs/）の様式をすべて検査し、1 件ずつ保存します。

    \b
    様式の種類（要望・内示・計画・変更・実績）はファイルの中の識別情報で判別します
    （ファイル名では判別しません）。変更・実績・内示の参照欄は登録済みの値と照合し、
    計画が内示額を上回る場合や、計画のない実績などもあわせて確認します。

    \b
    計画のファイル（.xlsx、.xlsm、.xls、.xlsb、.ods）は 1 件ずつ提出として保存します
    （受理・差戻しとも、ファイルそのものを保存）。同じファイル（同じ中身・同じ名前）を
    2 回取り込んでも保存は 1 回です。その他のファイル（説明書き、送付状の .pdf、.csv
    など）、ロックファイル（~$…、.~lock…#）、隠しファイルは読み飛ばし、その旨を
    表示します。取込結果のファイル 取込結果_<日時>.xlsx を --reports のフォルダに、差戻しの
    各ファイルの返送用コピー（誤りのセルに色とコメント）を --reports/返送_<日時>/ に
    書き出します。

    \b
    終了コード: 0 すべて受理、1 差戻しまたは検査できないファイルあり、2 使い方の誤り

    \b
    例:
        budget ingest                       # inputs/ を budget.db に取り込む
        budget ingest received/ --db r5.db --reports reports/
    """
    from budget.intake.batch import folder_entries, ingest_folder
    from budget.render.text import ingest_text

    settings = make_settings(year, menu_path, tolerance)
    n_files = len(folder_entries(folder)[0])
    with click.progressbar(length=n_files, label="取込中", file=sys.stderr,
                           show_pos=True) as bar:
        run = ingest_folder(folder, db_path, settings, reports_dir,
                            progress=lambda _path: bar.update(1))
    say(ingest_text(run))
    if not run.all_accepted:
        raise SystemExit(1)
