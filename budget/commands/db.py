"""``budget db``: create, migrate and copy the store (``budget.store.manage``)."""

from __future__ import annotations

import click

from budget.commands.options import Command, JapaneseHelp, db_option


class Group(JapaneseHelp, click.Group):
    """A group whose help page is all Japanese."""


@click.group(cls=Group)
def db() -> None:
    """データベース（SQLite のファイル、または PostgreSQL）を作成・移行・コピーします。"""


@db.command(cls=Command)
@db_option
def init(db_path) -> None:
    """データベースを作成します（既にあれば最新の版にします）。"""
    from budget.store.manage import init_store

    done = init_store(db_path)
    if done.before is None:
        click.echo(f"データベース {done.location} を作成しました（版 {done.version}）。")
    elif done.before != done.version:
        click.echo(f"データベース {done.location} を版 {done.before} から版 {done.version} に"
                   "移行しました。")
    else:
        click.echo(f"データベース {done.location} は既に最新の版 {done.version} です。")


@db.command(cls=Command)
@db_option
def migrate(db_path) -> None:
    """古い版のデータベースを最新の版に移行します。"""
    from budget.store.manage import migrate_store

    done = migrate_store(db_path)
    if done.before == done.version:
        click.echo(f"データベース {done.location} は既に最新の版 {done.version} です。")
    elif done.before is None:
        click.echo(f"データベース {done.location} を作成しました（版 {done.version}）。")
    else:
        click.echo(f"データベース {done.location} を版 {done.before} から版 {done.version} に"
                   "移行しました。")


def _location(ctx: click.Context, param: click.Parameter, value: str):
    from budget.errors import UsageError
    from budget.store.location import parse_location

    try:
        return parse_location(value, source=f"--{param.name}")
    except UsageError as exc:
        raise click.UsageError(str(exc), ctx) from exc


@db.command(cls=Command)
@click.option("--from", "source", required=True, metavar="場所", callback=_location,
              help="コピー元のデータベース（SQLite のファイルのパス、または URL）。")
@click.option("--to", "target", required=True, metavar="場所", callback=_location,
              help="コピー先の空のデータベース（postgresql://… の URL、またはファイルのパス）。")
def copy(source, target) -> None:
    """データベースを丸ごと（受け取ったファイルの原本を含めて）別のデータベースにコピーし、
    件数と全提出の SHA-256 を照合します。"""
    from budget.store.manage import copy_store

    done = copy_store(source, target)
    n = done.counts.get("submissions", 0)
    click.echo(f"{done.source} から {done.target} へコピーしました: 提出 {n} 件、"
               f"指摘 {done.counts.get('findings', 0)} 件、値 "
               f"{done.counts.get('submission_values', 0)} 件。")
    click.echo(f"照合: 全 {len(done.counts)} 表の件数が一致し、提出 {done.verified} 件の"
               "ファイルの SHA-256 が一致しました。")
