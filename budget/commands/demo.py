from __future__ import annotations

from pathlib import Path

import click

from budget.commands.options import Command, command_line, say


@click.command(cls=Command)
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=Path("demo"))
@click.option("--seed", type=int, default=None,
              help="サンプルの数値の乱数シード（同じシードなら同じ数値）。既定: 2023。")
def demo(folder: Path, seed: int | None) -> None:
    """同梱のサンプルデータで一連の作業を、指定したフォルダ（既定: demo/）の中で試します。

    \b
    47 都道府県の白紙の様式（templates/）と、都道府県から返送されたことにした
    架空の記入済みの計画（inputs/: 45 件、2 都道府県は未提出）を作り、
    フォルダ内の budget.db に取り込み、取込結果、差戻し用の返送ファイル、集計表を
    reports/ に書き出します。いくつかのファイルには誤りを仕込んであります
    （「▲500」、公+民≠国、他の都道府県の様式、全角の「１，２３４」、国が 2/3
    からずれている）。そのため差戻しや警告が出ますが、それがデモの目的で、
    終了コードは 0 です。

    \b
    年度の流れ（要望 → 内示 2 回 → 計画 → 変更 1 件 → 実績）も通して行い、各段階の
    ファイルを フォルダ/1_要望/ … 5_実績/ に、取込結果を reports/<段階>/ に書き出します
    （計画が内示を上回る、変更理由のない変更、計画を上回る執行、実績の未提出を含みます）。

    \b
    フォルダには、新しいフォルダ、空のフォルダ、または以前に `budget demo` で
    作ったフォルダ（作り直します）を指定してください。

    \b
    例:
        budget demo
        budget demo /tmp/budget-demo --seed 7
    """
    from budget.demo import DEFAULT_SEED, run_demo

    run = run_demo(folder, seed=DEFAULT_SEED if seed is None else seed,
                   command_line=command_line("demo"),
                   progress=lambda text: say(text, err=True))
    ing = run.ingest
    summ = run.aggregate.summary
    say("")
    say(f"デモの結果（{folder}/、シード {run.seed}）")
    say(f"  様式（47都道府県）: {folder / 'templates'}/")
    say(f"  返送された計画（{len(run.inputs)} 件）: {folder / 'inputs'}/")
    say(f"  データベース: {run.db_path}")
    say(f"  取り込み: 受理 {len(ing.accepted)} 件、差戻し {len(ing.rejected)} 件")
    if ing.report_path is not None:
        say(f"  取り込み結果: {ing.report_path}")
    if ing.returns_dir is not None:
        say(f"  差戻し用の返送ファイル（誤りのセルに色とコメント）: {ing.returns_dir}/")
    for w in run.aggregate.written:
        say(f"  {w.kind}: {w.path}")
    say(f"  集計対象: {len(summ.included)} / 47 都道府県"
               f"（未提出: {'、'.join(summ.names_with_status('missing')) or 'なし'}、"
               f"差戻し: {'、'.join(summ.names_with_status('rejected')) or 'なし'}）")
    say("")
    say("年度の流れ（要望 → 内示 → 計画 → 変更 → 実績）:")
    from budget.demo import YEAR_FOLDERS

    for label, stage_run in run.stages.items():
        say(f"  {label}: 受理 {len(stage_run.accepted)} 件、差戻し {len(stage_run.rejected)} 件"
                   + (f"（取込結果: {stage_run.report_path}）" if stage_run.report_path else ""))
    for stage_folder in YEAR_FOLDERS.values():
        say(f"  返送されたファイル（{stage_folder.split('_', 1)[-1]}）: {folder / stage_folder}/")
    for label, path in run.outputs:
        say(f"  {label}: {path}")
    say("")
    say("仕込んだ誤り（差戻し・警告はデモの想定どおりです）:")
    from budget.prefectures import prefecture_by_code

    for p in run.planted:
        pref = prefecture_by_code(p.prefecture_code)
        verdict = "差戻し" if p.outcome == "rejected" else "受理（警告）"
        say(f"  {pref.label if pref else p.prefecture_code}: {p.what} → {verdict}")
    stage_ja = {"plan": "計画", "revision": "変更", "actual": "実績"}
    for p in run.year_planted:
        pref = prefecture_by_code(p.prefecture_code)
        verdict = {"rejected": "差戻し", "accepted": "受理（警告）"}.get(p.outcome, "未提出")
        say(f"  {pref.label if pref else p.prefecture_code}（{stage_ja.get(p.stage, p.stage)}）:"
                   f" {p.what} → {verdict}")
    say("")
    say(f"次に: {folder / 'reports'} の集計表を Excel で開いてください。")
