from __future__ import annotations

from pathlib import Path

import click

from budget.commands.options import menu_option, resolve_menu, year_option


@click.command()
@year_option
@menu_option
@click.option("--prefecture", "-p", "prefectures", multiple=True,
              help="Code (13), name (東京都) or romanised name (tokyo); repeatable. Default: all 47.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("templates"), show_default=True, help="Folder to write into.")
@click.option("--deadline", default=None, help="Deadline printed in the 記入要領 sheet.")
def generate(year: str, menu_path, prefectures: tuple[str, ...], out_dir: Path,
             deadline: str | None) -> None:
    """Write one planning workbook per prefecture, pre-filled with every menu item.

    \b
    Example:
        budget generate --year R5                 # all 47 into templates/
        budget generate -p 13 -p osaka --out /tmp/t
    """
    from budget.generate import GuideInfo, generate_templates
    from budget.prefectures import all_prefectures, find_prefecture

    chosen = [find_prefecture(p) for p in prefectures] if prefectures else list(all_prefectures())
    chosen = list(dict.fromkeys(chosen))
    _, df = resolve_menu(year, menu_path)
    guide = GuideInfo(deadline=deadline) if deadline else GuideInfo()
    paths = generate_templates(df, chosen, out_dir, guide=guide)
    click.echo(f"{len(paths)} 件の計画様式を {out_dir}/ に作成しました。")
    for p in paths[:3]:
        click.echo(f"  {p}")
    if len(paths) > 3:
        click.echo(f"  … ほか {len(paths) - 3} 件")
