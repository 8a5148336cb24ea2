from __future__ import annotations

import sys
from pathlib import Path

import click

from budget.commands.options import Command, command_line, db_option, menu_option, say, year_option
from budget.render.summary_workbook import (  # budget.render.summary_workbook imports no pandas at module top
    DEFAULT_UNIT,
    UNITS,
)


@click.command(cls=Command)
@year_option
@db_option
@menu_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("reports"), show_default=True, help="集計表を書き出すフォルダ。")
@click.option("--unit", type=click.Choice(list(UNITS)), default=DEFAULT_UNIT, show_default=True,
              help="Excel の集計表の金額の表示単位（CSV・JSON は常に千円）。")
@click.option("--by-bureau", is_flag=True,
              help="担当課ごとの集計表も作成します（共管の事業は各課に入れ、共管と表示）。")
@click.option("--format", "formats", type=click.Choice(["csv", "json"]), multiple=True,
              help="集計のデータ（都道府県・計画事業ごとに 1 行の表）も書き出します。"
                   "複数指定できます。CSV は Excel で開けるよう BOM 付き UTF-8 です。"
                   "Excel は都道府県コードの「01」を数値の 1 と読むため、CSV には"
                   "「01 北海道」のように書いた「都道府県（コード 名称）」列もあります。")
@click.option("--strict", is_flag=True,
              help="未提出または受理した計画のない都道府県があれば終了コード 1 で終了します"
                   "（集計表は作成します）。")
def aggregate(year: int, db_path: Path, menu_path: Path | None, out_dir: Path, unit: str,
              by_bureau: bool, formats: tuple[str, ...], strict: bool) -> None:
    """受理した計画を集計し、年度の集計表（Excel）を作成します。

    \b
    各都道府県の現在の計画（受理した最新の提出）を集計します。未提出の都道府県と、
    提出がすべて差戻しの都道府県は 総括 と 提出状況 のシートに一覧し、0 とは
    数えません。シート: 総括、グラフ、大項目別、中項目別、事業別、担当課別、
    都道府県別、都道府県×事業、都道府県×大項目、明細、提出状況、出典。

    \b
    出典 シートには年度のすべての提出（集計に使用、差戻し、新しい提出で置き換え
    済み、とその理由）を載せます。ファイルは書き終えてから一度に置き換え、権限は
    新しいファイルと同じ（umask のとおり）です。Excel で開かれていて置き換え
    られないときは、新しい集計表を隣に 名前(2).xlsx として書き出し、その旨を
    表示します。

    \b
    終了コード: 0 作成、1 作成したが --strict で未提出・差戻しの都道府県あり、
    またはデータベースを読めない、2 使い方の誤り

    \b
    例:
        budget aggregate --year R5
        budget aggregate --unit 億円 --by-bureau --format csv --out reports/
    """
    from budget.fiscal import era_label, parse_fiscal_year
    from budget.reports import aggregate_year

    fy = parse_fiscal_year(year)
    run = aggregate_year(db_path, fy, out_dir, menu_path=menu_path, unit=unit,
                         by_bureau=by_bureau, formats=formats,
                         command_line=command_line("aggregate"))
    summ = run.summary
    n_ok = len(summ.included)
    say(f"{era_label(fy)}の集計: 集計対象 {n_ok} / 47 都道府県")
    for status, label in (("missing", "未提出"), ("rejected", "差戻し（受理できる提出なし）")):
        names = summ.names_with_status(status)
        if names:
            say(f"  {label} {len(names)}: {'、'.join(names)}（集計に含みません）")
    for note in summ.notes:
        say(f"  注意: {note}", err=True)
    for w in run.written:
        say(f"{w.kind}: {w.path}")
        if w.fallback:
            say(f"  {w.requested} は他のアプリケーションで開かれているため置き換えられません"
                       f"でした。新しい{w.kind}は {w.path} に書き出しました。", err=True)
    if strict and run.incomplete:
        say("--strict: 未提出または差戻しの都道府県があるため、終了コード 1 で終了します"
                   "（集計表は書き出しました）。", err=True)
        sys.exit(1)
