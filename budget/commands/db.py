"""``budget db``: create, migrate and copy the store (``budget.store.manage``)."""

from __future__ import annotations

import click

from budget.commands.options import Command, Group, db_option


@click.group(cls=Group)
def db() -> None:
    """データベース（SQLite のファイル、または PostgreSQL）を作成・移行・コピーします。

    \b
    場所は --db（省略時は環境変数 BUDGET_DB、それもなければ budget.db）で指定します。
    URL のパスワードは表示しません（*** と表示します）。

    \b
    終了コード: 0 正常、1 できなかった（理由を表示します）、2 使い方の誤り

    \b
    例:
        budget db init --db postgresql://budget_ingest@db.example.lg.jp/budget
        budget db migrate --db budget.db
        budget db copy --from budget.db --to postgresql://budget_ingest@db.example.lg.jp/budget
    """


@db.command(cls=Command)
@db_option
def init(db_path) -> None:
    """データベースを作成します（既にあれば最新の版にします）。

    \b
    例:
        budget db init --db postgresql://budget_ingest@db.example.lg.jp/budget
    """
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
    """古い版のデータベースを最新の版に移行します。

    \b
    番号順の移行を一つのトランザクションで行い、版を記録します。この budget より
    新しい版のデータベースは扱いません。

    \b
    例:
        budget db migrate --db budget.db
    """
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
    """データベースを丸ごと別の空のデータベースにコピーし、照合します。

    \b
    受け取ったファイルの原本も含めて、提出の番号を変えずに一つのトランザクションで
    コピーし、全表の件数と全提出のファイルの SHA-256 が一致することを確かめます。

    \b
    例:
        budget db copy --from budget.db --to postgresql://budget_ingest@db.example.lg.jp/budget
    """
    from budget.store.manage import copy_store

    done = copy_store(source, target)
    n = done.counts.get("submissions", 0)
    click.echo(f"{done.source} から {done.target} へコピーしました: 提出 {n} 件、"
               f"指摘 {done.counts.get('findings', 0)} 件、値 "
               f"{done.counts.get('submission_values', 0)} 件。")
    click.echo(f"照合: 全 {len(done.counts)} 表の件数が一致し、提出 {done.verified} 件の"
               "ファイルの SHA-256 が一致しました。")
