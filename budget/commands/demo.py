from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=Path("demo"))
@click.option("--seed", type=int, default=None,
              help="Seed of the sample figures (the same seed gives the same figures). "
                   "Default: 2023.")
def demo(folder: Path, seed: int | None) -> None:
    """Run the whole cycle on built-in sample data, into FOLDER (default demo/).

    Writes the 47 blank templates (templates/), invented filled-in plans as if returned by
    the prefectures (inputs/: 45 files, two prefectures send nothing), ingests them into
    FOLDER/budget.db, and writes the ingest report, the annotated return copies and the
    summary workbook into reports/. A few files carry planted mistakes (a 「▲500」, 公+民≠国,
    a neighbour's template, a full-width 「１，２３４」, a share off 2/3), so the reports show
    rejections and warnings: that is the point of the demo, and it still exits 0.

    FOLDER must be new, empty, or made by an earlier `budget demo` (then it is redone).

    \b
    Example:
        budget demo
        budget demo /tmp/budget-demo --seed 7
    """
    from budget.demo import DEFAULT_SEED, run_demo

    command_line = " ".join(["budget", *sys.argv[1:]]) if sys.argv else "budget demo"
    run = run_demo(folder, seed=DEFAULT_SEED if seed is None else seed,
                   command_line=command_line, progress=lambda text: click.echo(text, err=True))
    ing = run.ingest
    summ = run.aggregate.summary
    click.echo("")
    click.echo(f"デモの結果（{folder}/、シード {run.seed}）")
    click.echo(f"  様式（47都道府県）: {folder / 'templates'}/")
    click.echo(f"  返送された計画（{len(run.inputs)} 件）: {folder / 'inputs'}/")
    click.echo(f"  データベース: {run.db_path}")
    click.echo(f"  取り込み: 受理 {len(ing.accepted)} 件、差戻し {len(ing.rejected)} 件")
    if ing.report_path is not None:
        click.echo(f"  取り込み結果: {ing.report_path}")
    if ing.returns_dir is not None:
        click.echo(f"  差戻し用の返送ファイル（誤りのセルに色とコメント）: {ing.returns_dir}/")
    for w in run.aggregate.written:
        click.echo(f"  {w.kind}: {w.path}")
    click.echo(f"  集計対象: {len(summ.included)} / 47 都道府県"
               f"（未提出: {'、'.join(summ.names_with_status('missing')) or 'なし'}、"
               f"差戻し: {'、'.join(summ.names_with_status('rejected')) or 'なし'}）")
    click.echo("")
    click.echo("仕込んだ誤り（差戻し・警告はデモの想定どおりです）:")
    from budget.prefectures import prefecture_by_code

    for p in run.planted:
        pref = prefecture_by_code(p.prefecture_code)
        verdict = "差戻し" if p.outcome == "rejected" else "受理（警告）"
        click.echo(f"  {pref.label if pref else p.prefecture_code}: {p.what} → {verdict}")
    click.echo("")
    click.echo(f"次に: {folder / 'reports'} の集計表を Excel で開いてください。")
