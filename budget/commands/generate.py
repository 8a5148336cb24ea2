from __future__ import annotations

from pathlib import Path

import click

from budget.commands.options import (
    Command,
    db_option,
    menu_option,
    resolve_menu,
    say,
    year_option,
)

#: The stages ``--stage`` takes, in the order of the year (Japanese, as users say them).
STAGES = ("要望", "内示", "計画", "変更", "実績")


@click.command(cls=Command)
@year_option
@menu_option
@click.option("--stage", "stage", default="計画", show_default=True,
              help="様式の種類: 要望（所要額調査）、内示（回ごと・厚生労働省用）、計画、"
                   "変更（受理済みの計画を記入済み）、実績（計画を参照欄に記入済み）。")
@click.option("--round", "round_no", type=click.IntRange(min=1), default=None,
              help="内示の回（--stage 内示 のとき必須）。")
@click.option("--exec-year", "exec_year", default=None,
              help="実績の執行年度（R6、2024 など）。既定: 基金年度（--year）と同じ。")
@db_option
@click.option("--prefecture", "-p", "prefectures", multiple=True,
              help="都道府県のコード（13）、名称（東京都）またはローマ字名（tokyo）。"
                   "複数指定できます。既定: 47 都道府県すべて。")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("templates"), show_default=True, help="書き出し先のフォルダ。")
@click.option("--deadline", default=None, help="記入要領シートに記載する提出期限。")
@click.option("--prefill-from", "prefill_from", default=None, metavar="年度",
              help="計画の様式に、この年度（R5 など）の現在の計画を「前年度計画 (A+B)」の参照欄"
                   "（変更不可）として記入します。年度間の移行表で今年度の事業に対応させます。")
@click.option("--crosswalk", "crosswalk_path", default=None, metavar="ファイル",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="--prefill-from で使う年度間の移行表（CSV）。既定: 同梱の移行表。")
def generate(year: int, menu_path, stage: str, round_no: int | None, exec_year: str | None,
             db_path: Path, prefectures: tuple[str, ...], out_dir: Path,
             deadline: str | None, prefill_from: str | None,
             crosswalk_path: Path | None) -> None:
    """都道府県ごとの様式（Excel）を、メニューの全事業を記入した状態で作成します。

    \b
    --stage で様式の種類を選びます（既定: 計画）。変更・実績の様式は、データベース
    （--db）に登録済みの現在の計画を記入して作成します（受理済みの計画がない都道府県の
    様式は作成しません）。内示の様式は 47 都道府県で 1 ファイル（回ごと）で、登録済みの
    要望と前回までの内示を参照欄に記入します。

    \b
    例:
        budget generate --year R5                 # 47 都道府県の計画様式を templates/ に
        budget generate -p 13 -p osaka --out /tmp/t
        budget generate --stage 要望 --year R5
        budget generate --stage 内示 --round 2 --db budget.db
        budget generate --stage 実績 --exec-year R6 --db budget.db
        budget generate --year R6 --prefill-from R5 --db budget.db
    """
    from budget.errors import UsageError
    from budget.fiscal import parse_fiscal_year
    from budget.forms import form_of_stage
    from budget.generate import GuideInfo, generate_stage
    from budget.prefectures import all_prefectures, find_prefecture
    from budget.store import is_server_url, open_store

    try:
        form = form_of_stage(stage.strip())
    except KeyError:
        raise UsageError(f"様式の種類「{stage}」はありません（{'、'.join(STAGES)} のいずれか）。"
                         ) from None
    if form.rows_from == "prefectures" and round_no is None:
        raise UsageError("内示の様式には --round（内示の回: 1、2 …）を指定してください。")
    if round_no is not None and form.rows_from != "prefectures":
        raise UsageError("--round は内示の様式（--stage 内示）にだけ指定できます。")
    if exec_year is not None and form.stage != "actual":
        raise UsageError("--exec-year は実績の様式（--stage 実績）にだけ指定できます。")
    chosen = [find_prefecture(p) for p in prefectures] if prefectures else list(all_prefectures())
    chosen = list(dict.fromkeys(chosen))
    _, df = resolve_menu(year, menu_path)
    guide = GuideInfo(deadline=deadline) if deadline else GuideInfo()
    if prefill_from is not None or crosswalk_path is not None:
        _prefilled(df, year, menu_path, prefill_from, crosswalk_path, form, db_path, chosen,
                   out_dir, guide)
        return
    needs_store = form.references is not None
    has_store = is_server_url(db_path) or Path(db_path).is_file()
    if needs_store and form.per_prefecture and not has_store:
        raise UsageError(f"{form.stage_label}の様式は登録済みの計画から作成します。データベース"
                         f"{db_path} がありません（--db で指定してください）。")
    store = open_store(db_path, create=False) if needs_store and has_store else None
    try:
        done = generate_stage(
            form, df, out_dir, store=store, prefectures=chosen, round_no=round_no,
            exec_year=None if exec_year is None else parse_fiscal_year(exec_year), guide=guide)
    finally:
        if store is not None:
            store.close()
    paths = done.paths
    say(f"{len(paths)} 件の{form.stage_label}様式を {out_dir}/ に作成しました。")
    for p in paths[:3]:
        say(f"  {p}")
    if len(paths) > 3:
        say(f"  … ほか {len(paths) - 3} 件")
    if done.skipped:
        names = "、".join(p.name_ja for p, _ in done.skipped)
        say(f"受理済みの計画がないため作成しなかった都道府県（{len(done.skipped)}）: {names}")


def _prefilled(menu, year, menu_path, prefill_from, crosswalk_path, form, db_path, chosen,
               out_dir, guide) -> None:  # noqa: ANN001
    """``generate --prefill-from``: the plan with 前年度計画 from the store."""
    from budget.errors import UsageError
    from budget.fiscal import full_label, parse_fiscal_year
    from budget.generate import generate_prefilled
    from budget.reports import compare_menus
    from budget.store import is_server_url, open_store

    if prefill_from is None:
        raise UsageError("--crosswalk は --prefill-from と一緒に指定してください。")
    if form.stage != "plan":
        raise UsageError("--prefill-from は計画の様式（--stage 計画）にだけ指定できます。")
    this_year, from_year = parse_fiscal_year(year), parse_fiscal_year(prefill_from)
    if from_year >= this_year:
        raise UsageError(f"--prefill-from の年度（{full_label(from_year)}）は様式の年度"
                         f"（{full_label(this_year)}）より前の年度を指定してください。")
    if not (is_server_url(db_path) or Path(db_path).is_file()):
        raise UsageError(f"前年度計画は登録済みの計画から記入します。データベース {db_path} が"
                         "ありません（--db で指定してください）。")
    menus, crosswalks = compare_menus(
        [from_year, this_year], [menu_path] if menu_path is not None else [],
        [crosswalk_path] if crosswalk_path is not None else [])
    with open_store(db_path, create=False) as store:
        done = generate_prefilled(menu, out_dir, store=store, from_year=from_year,
                                  crosswalk=crosswalks[this_year], prefectures=chosen,
                                  guide=guide)
    say(f"{len(done.paths)} 件の計画様式（前年度計画つき）を {out_dir}/ に作成しました。")
    for p in done.paths[:3]:
        say(f"  {p}")
    if len(done.paths) > 3:
        say(f"  … ほか {len(done.paths) - 3} 件")
    if done.skipped:
        names = "、".join(p.name_ja for p, _ in done.skipped)
        say(f"{full_label(from_year)}の受理済みの計画がないため前年度計画が空欄の都道府県"
            f"（{len(done.skipped)}）: {names}")
