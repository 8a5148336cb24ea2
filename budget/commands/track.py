from __future__ import annotations

from pathlib import Path

import click

from budget.commands.options import Command, command_line, db_option, menu_option, year_option

#: ``budget.render.track_workbook.TRACK_UNITS`` and ``analysis.track.DEFAULT_LOW_RATE``
#: (not imported here: ``--help`` stays light; tests check they agree).
UNITS = ("千円", "億円")
LOW_RATE = 70.0


@click.command(cls=Command)
@year_option
@db_option
@menu_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("reports"), show_default=True, help="執行管理表を書き出すフォルダ。")
@click.option("--unit", type=click.Choice(list(UNITS)), default=UNITS[0], show_default=True,
              help="Excel の金額の表示単位。億円: 厚生労働省の公表と同じく「基金規模 (国費)」"
                   "（例: 21.2 (14.2)）で表示します（CSV・JSON は常に千円）。")
@click.option("--low-rate", "low_rate", type=click.FloatRange(0, 1000), default=LOW_RATE,
              show_default=True, help="執行率（実績÷計画）がこの値（%）未満の都道府県に注意を付けます。")
@click.option("--format", "formats", type=click.Choice(["csv", "json"]), multiple=True,
              help="段階ごとの明細（段階・都道府県・事業ごとに 1 行、段階の列つき）も書き出します。"
                   "複数指定できます。CSV は Excel で開けるよう BOM 付き UTF-8 です。")
def track(year: str, db_path: Path, menu_path: Path | None, out_dir: Path, unit: str,
          low_rate: float, formats: tuple[str, ...]) -> None:
    """基金の年度を 要望 → 内示 → 計画（当初・現在）→ 実績 の段階で追い、執行管理表を作成します。

    \b
    都道府県別・事業別に、要望、内示（回ごとと計）、計画（当初と、変更後の現在）、
    実績と執行率（実績÷計画、実績÷内示）を並べ、計画が内示を超える都道府県、執行率の
    低い都道府県、未提出の段階に注意を付けます。受け取っていない段階は 0 ではなく
    「未提出」と表示します。

    \b
    例:
        budget track --year R5
        budget track --year R5 --unit 億円 --low-rate 60 --format csv
    """
    from budget.fiscal import era_label, parse_fiscal_year
    from budget.reports import track_year

    fy = parse_fiscal_year(year)
    run = track_year(db_path, fy, out_dir, menu_path=menu_path, unit=unit, formats=formats,
                     low_rate=low_rate, command_line=command_line("track"))
    from budget.analysis.track import STAGE_JA

    prefs = run.prefectures
    click.echo(f"{era_label(fy)}の執行管理: 内示 {len(run.track.rounds)} 回")
    for stage, labels in run.missing.items():
        what = "内示あり" if stage == "allocation" else "受理"
        click.echo(f"  {STAGE_JA[stage]}: {what} {47 - len(labels)} / 47 都道府県")
    n_over = int(prefs["over_allocation"].sum())
    n_low = int(prefs["low_rate"].sum())
    if n_over:
        click.echo(f"  計画が内示を超える都道府県 {n_over}: "
                   + "、".join(prefs.loc[prefs["over_allocation"], "prefecture_name"]))
    if n_low:
        click.echo(f"  執行率が {low_rate:g}% 未満の都道府県 {n_low}: "
                   + "、".join(prefs.loc[prefs["low_rate"], "prefecture_name"]))
    for note in run.track.notes:
        click.echo(f"  注意: {note}", err=True)
    for w in run.written:
        click.echo(f"{w.kind}: {w.path}")
        if w.fallback:
            click.echo(f"  {w.requested} は他のアプリケーションで開かれているため置き換えられません"
                       f"でした。新しい{w.kind}は {w.path} に書き出しました。", err=True)
