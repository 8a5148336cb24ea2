from __future__ import annotations

from pathlib import Path

import click

from budget.commands.options import Command, menu_option, resolve_menu, say, year_option


@click.command(cls=Command)
@year_option
@menu_option
@click.option("--prefecture", "-p", "prefectures", multiple=True,
              help="都道府県のコード（13）、名称（東京都）またはローマ字名（tokyo）。"
                   "複数指定できます。既定: 47 都道府県すべて。")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("templates"), show_default=True, help="書き出し先のフォルダ。")
@click.option("--deadline", default=None, help="記入要領シートに記載する提出期限。")
def generate(year: int, menu_path, prefectures: tuple[str, ...], out_dir: Path,
             deadline: str | None) -> None:
    """都道府県ごとの計画様式（Excel）を、メニューの全事業を記入した状態で作成します。

    \b
    例:
        budget generate --year R5                 # 47 都道府県すべてを templates/ に
        budget generate -p 13 -p osaka --out /tmp/t
    """
    from budget.generate import GuideInfo, generate_templates
    from budget.prefectures import all_prefectures, find_prefecture

    chosen = [find_prefecture(p) for p in prefectures] if prefectures else list(all_prefectures())
    chosen = list(dict.fromkeys(chosen))
    _, df = resolve_menu(year, menu_path)
    guide = GuideInfo(deadline=deadline) if deadline else GuideInfo()
    paths = generate_templates(df, chosen, out_dir, guide=guide)
    say(f"{len(paths)} 件の計画様式を {out_dir}/ に作成しました。")
    for p in paths[:3]:
        say(f"  {p}")
    if len(paths) > 3:
        say(f"  … ほか {len(paths) - 3} 件")
