from __future__ import annotations

from pathlib import Path

import click

from budget.commands.options import Command, db_option, year_option


@click.command(cls=Command)
@click.argument("prefecture", required=False)
@year_option
@db_option
@click.option("--from", "from_id", type=click.IntRange(min=1), default=None,
              help="前の提出の提出ID（--to と一緒に指定）。")
@click.option("--to", "to_id", type=click.IntRange(min=1), default=None,
              help="後の提出の提出ID（--from と一緒に指定）。")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("reports"), show_default=True, help="差分のシートを書き出すフォルダ。")
def diff(prefecture: str | None, year: str, db_path: Path, from_id: int | None,
         to_id: int | None, out_dir: Path) -> None:
    """都道府県の 2 つの提出の違いを、セルごとに事業名つきで表示します。

    \b
    PREFECTURE（コード・名称）を指定すると、その年度に受理した最新の提出と、同じ
    段階（計画と変更は同じ段階として扱います）で 1 つ前に受理した提出を比べます。
    --from と --to で提出ID（budget status で表示）を直接指定することもできます。
    差戻しの提出には値が保存されていないため比べられません。
    差分は --out のフォルダに Excel のシートとしても書き出します。

    \b
    例:
        budget diff 13 --year R5
        budget diff --from 12 --to 31
    """
    from budget.fiscal import parse_fiscal_year
    from budget.prefectures import find_prefecture
    from budget.render.text import diff_text
    from budget.reports import diff_report

    code = find_prefecture(prefecture).code if prefecture else None
    run = diff_report(db_path, prefecture=code, fiscal_year=parse_fiscal_year(year),
                      from_id=from_id, to_id=to_id, out_dir=out_dir)
    click.echo(diff_text(run.diff))
    if run.written is not None:
        click.echo(f"差分のシート: {run.written.path}")
