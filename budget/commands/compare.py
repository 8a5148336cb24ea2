from __future__ import annotations

from pathlib import Path

import click

from budget.commands.options import Command, command_line, db_option, say


@click.command(cls=Command)
@click.option("--years", "years", multiple=True, metavar="年度",
              help="比べる年度（2 つ以上）: --years R5 R6、--years R5,R6 または --years R5 --years R6。")
@click.argument("more_years", nargs=-1, metavar="")
@db_option
@click.option("--stage", default=None,
              help="段階: 要望、内示（各回の計）、当初計画、計画（変更を含む現在の計画。"
                   "変更も同じ）、実績（執行年度の計）。英語名も可。既定: 計画（現在）。")
@click.option("--menu", "menu_paths", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="ファイル",
              help="同梱のメニューの代わりに使うメニューファイル（CSV、年度はファイルの中の年度）。"
                   "複数指定できます。")
@click.option("--crosswalk", "crosswalk_paths", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="ファイル",
              help="年度間の移行表（CSV: from_code, to_code, relation, share, note）。"
                   "同梱のものがない年度の組ごとに指定します。複数指定できます。")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("reports"), show_default=True, help="年度比較表を書き出すフォルダ。")
@click.option("--format", "formats", type=click.Choice(["csv", "json"]), multiple=True,
              help="明細（表・年度ごとに 1 行）も書き出します。複数指定できます。")
def compare(years: tuple[str, ...], more_years: tuple[str, ...], db_path: Path,
            stage: str | None, menu_paths: tuple[Path, ...], crosswalk_paths: tuple[Path, ...],
            out_dir: Path, formats: tuple[str, ...]) -> None:
    """年度ごとの計画（または --stage の段階）を比べ、年度比較表を作成します。

    \b
    全国計、大項目別、都道府県別（47 行）、事業別に、各年度の基金 (A+B) と増減・増減率を
    並べます。メニューが変わった事業は移行表（クロスウォーク）で最新年度の事業に対応させ、
    統合された事業は統合前の合計と、分割された事業は割合で按分した額と比べます。
    提出のない都道府県・年度は 0 ではなく空欄（未提出）です。
    実績は基金年度ごとに、執行年度ごとの最新の実績を合計します。内示は各回の合計で、
    都道府県別だけです（事業別の内示はありません）。

    --menu・--crosswalk のファイルは検査し、合格した内容（SHA-256）をデータベースに
    記録します。まったく同じ内容のファイルは、検査の版が同じ間は再検査しません。

    \b
    例:
        budget compare --years R5 R6
        budget compare --years R5 R6 --menu R6.csv --crosswalk crosswalk_R5_R6.csv --format csv
    """
    from budget.errors import UsageError
    from budget.fiscal import parse_fiscal_year
    from budget.reports import compare_year

    words = [w for text in (*years, *more_years) for w in text.replace("、", ",").split(",")
             if w.strip()]
    if not years or len(words) < 2:
        raise UsageError("比べる年度を 2 つ以上指定してください（例: --years R5 R6）。")
    fys = [parse_fiscal_year(w.strip()) for w in words]
    code = None
    if stage is not None:
        from budget.analysis.compare import compare_stage

        code = compare_stage(stage)
    run = compare_year(db_path, fys, out_dir, stage=code, menu_paths=menu_paths,
                       crosswalk_paths=crosswalk_paths, formats=formats,
                       command_line=command_line("compare"))
    comp = run.compare
    from budget.fiscal import era_code

    for y in comp.years:
        total = comp.national[f"y{y}"].iloc[0]
        shown = "未提出" if total is None or total != total else f"{int(total):,} 千円"
        counted = "内示" if comp.stage == "allocation" else "受理"
        n = len(comp.submitted.get(y, []))
        say(f"{era_code(y)}: 全国計 {shown}（{counted} {n} / 47 都道府県）")
    for w in run.written:
        say(f"{w.kind}: {w.path}")
        if w.fallback:
            say(f"  {w.requested} は他のアプリケーションで開かれているため置き換えられません"
                f"でした。新しい{w.kind}は {w.path} に書き出しました。", err=True)
