"""The PostgreSQL store: a database server a team shares (``budget.store.base.Store``).

The SQL is ``budget.store.sql``'s, the same as SQLite's; what is PostgreSQL's own stays
here: connecting through psycopg 3 (imported only when a ``postgresql://`` URL is used),
transactions in autocommit mode (each ``save`` is one BEGIN … COMMIT; reading opens no
transaction that stays open), an advisory lock around creating or migrating the schema (two
ingests starting on a new database take turns), ``COPY`` for ``db copy``, and turning the
server's errors into Japanese messages by their class (the server's own message language is
its setting, never ours): a lost connection says which files this run stored; a read-only
role's attempt to write says it may only read.

A killed client needs nothing from us: the server rolls back the open transaction when the
connection drops, so no half submission is ever visible.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors

from budget.errors import StoreError
from budget.store.base import MissingStore
from budget.store.location import Location, mask_url
from budget.store.sql import POSTGRESQL, READS_AS_CURRENT, SCHEMA_VERSION, SQLStore

#: The advisory lock taken while the schema is created or migrated ("budget" in ASCII).
SCHEMA_LOCK = 0x627564676574
#: The array type of each integer column ``_bulk`` fills (the others are text).
_ARRAY_TYPES = {"submission_id": "bigint[]", "seq": "bigint[]", "number": "bigint[]"}
#: What the server's pg_stat_activity shows for our connections.
APPLICATION_NAME = "budget"


class PostgresStore(SQLStore):
    """A store in a PostgreSQL database. Use as a context manager, or call ``close``.

    ``readonly``: only read (nothing is created or migrated; what ``status`` and
    ``aggregate`` use, and all a read-only role may do). Otherwise the schema is created in
    an empty database, or an older one migrated, under an advisory lock; a role that may
    not write is refused at once. ``timeout``: seconds to wait for a lock another
    connection holds before giving up with a message.
    """

    dialect = POSTGRESQL
    _driver_error = psycopg.Error

    def __init__(self, location: Location, *, timeout: float = 60.0, readonly: bool = False,
                 create: bool = True) -> None:
        if location.conninfo is None:  # pragma: no cover - parse_location sets it
            raise StoreError(f"データベース {location.display} の URL がありません。")
        self._display = location.display
        self.readonly = readonly
        self.timeout = timeout
        self._saved_now = []
        try:
            self.conn = psycopg.connect(location.conninfo, autocommit=True,
                                        **_defaults(location.conninfo))
        except psycopg.Error as exc:
            raise StoreError(
                f"データベース {self._display} に接続できません（{_detail(exc)}）。URL、"
                "サーバーが動いているか、ユーザー名とパスワード（~/.pgpass など）を確認して"
                "ください。") from exc
        try:
            self._open(create)
        except BaseException as exc:
            self.conn.close()
            if isinstance(exc, psycopg.Error):
                raise self._write_error(exc) if not readonly else self._read_error(exc) from exc
            raise

    def _open(self, create: bool) -> None:
        row = self._execute(
            "SELECT set_config('lock_timeout', ?, false), current_user, "
            "current_setting('transaction_read_only'), "
            "CASE WHEN to_regclass('submissions') IS NULL THEN NULL "
            "ELSE has_table_privilege('submissions', 'INSERT') END",
            (f"{int(self.timeout * 1000)}ms",)).fetchone()
        self.user = str(row[1])
        if self.readonly:
            version = self._version()
            if version == SCHEMA_VERSION or version in READS_AS_CURRENT:
                return  # a version that reads as the current one: a writer migrates it
            if version is None:
                raise MissingStore(
                    f"データベース {self._display} には、まだ budget の表がありません。"
                    f"budget db init --db {self._display} で作成するか、budget ingest で"
                    "取り込んでください。")
            if version.isdigit() and int(version) > int(SCHEMA_VERSION):
                raise self._newer_error(version)
            raise StoreError(
                f"データベース {self._display} は古い版（{version}）です。書き込みできる"
                f"ユーザーが budget db migrate --db {self._display} を実行してください。")
        if row[2] == "on" or row[3] is False:
            raise self._readonly_error()
        with self.conn.transaction():
            self._execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
            version = self._version()
            if version == SCHEMA_VERSION:
                return
            if version is None:
                if not create:
                    raise MissingStore(
                        f"データベース {self._display} には、まだ budget の表がありません。"
                        f"budget db init --db {self._display} で作成してください。")
                self._create_schema()
                return
            if not version.isdigit() or int(version) > int(SCHEMA_VERSION):
                raise self._newer_error(version)
            if version not in ("3", "4"):  # a PostgreSQL store was never older than 3
                raise self._newer_error(version)
            self.migrated_from = version
            if version == "3":
                self._migrate_3_to_4()
            self._migrate_4_to_5()

    # --- backend -------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN … COMMIT (ROLLBACK on any exception, KeyboardInterrupt included)."""
        with self.conn.transaction():
            yield

    def _execute(self, sql: str, params: Any = ()) -> Any:
        return self.conn.execute(self.dialect.sql(sql), params)

    def _executemany(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        if rows:
            with self.conn.cursor() as cur:
                cur.executemany(self.dialect.sql(sql), rows)

    def _bulk(self, table: str, columns: list[str], rows: list[tuple[object, ...]]) -> None:
        """One INSERT … SELECT FROM unnest(arrays): a column per parameter, whatever the
        number of rows (executemany and COPY cost a round trip or more per table)."""
        if not rows:
            return
        arrays = [list(values) if name in _ARRAY_TYPES
                  else [None if v is None else str(v) for v in values]
                  for name, values in zip(columns, zip(*rows))]
        casts = ", ".join(f"?::{_ARRAY_TYPES.get(c, 'text[]')}" for c in columns)
        self._execute(f"INSERT INTO {table} ({', '.join(columns)}) "
                      f"SELECT * FROM unnest({casts})", arrays)

    def _batch(self) -> Any:
        """A pipeline: the statements go to the server together, one round trip."""
        return self.conn.pipeline()

    def _table_exists(self, name: str) -> bool:
        row = self._execute("SELECT to_regclass(?) IS NOT NULL", (name,)).fetchone()
        return bool(row[0])

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "PostgresStore":
        return self

    # --- errors --------------------------------------------------------------------------

    def _readonly_error(self) -> StoreError:
        return StoreError(
            f"ユーザー {self.user} にはデータベース {self._display} への書き込み権限があり"
            "ません（読み取り専用）。何も登録していません。取り込みは書き込みできるユーザーで"
            "実行してください。")

    def _lost_error(self, exc: BaseException, file: str | None) -> StoreError:
        saved = self._saved_now
        stored = (f"この実行で保存済み: {len(saved)} 件（{'、'.join(saved)}）" if saved
                  else "この実行で保存済みのファイルはありません")
        pending = f"{file} は保存されていません。" if file else ""
        return StoreError(
            f"データベース {self._display} への接続が切れました（{_detail(exc)}）。"
            f"{stored}。{pending}サーバーの状態を確認して再実行すると、残りを取り込みます"
            "（保存済みのファイルは二重に登録されません）。")

    def _write_error(self, exc: BaseException, file: str | None = None) -> StoreError:
        if isinstance(exc, (errors.ReadOnlySqlTransaction, errors.InsufficientPrivilege)):
            return self._readonly_error()
        if self.conn.broken:
            return self._lost_error(exc, file)
        if isinstance(exc, (errors.LockNotAvailable, errors.QueryCanceled)):
            return StoreError(
                f"データベース {self._display} は他の処理（別の budget ingest など）が使用中"
                f"のため、{self.timeout:g} 秒待っても書き込めませんでした。登録済みの提出は"
                "失われていません。しばらくしてから再実行してください。")
        return StoreError(f"データベース {self._display} に書き込めません（{_detail(exc)}）。"
                          "登録済みの提出は失われていません。原因を取り除いて再実行してください。")

    def _read_error(self, exc: BaseException) -> StoreError:
        if self.conn.broken:
            return self._lost_error(exc, None)
        if isinstance(exc, errors.InsufficientPrivilege):
            return StoreError(
                f"ユーザー {getattr(self, 'user', '?')} にはデータベース {self._display} を"
                "読み取る権限がありません。管理者に読み取り権限（SELECT）を依頼してください。")
        return StoreError(f"データベース {self._display} を読み取れません（{_detail(exc)}）。"
                          "サーバーの状態と権限を確認し、しばらくしてから再実行してください。")

    # --- whole tables (``db copy``) ------------------------------------------------------

    def insert_rows(self, table: str, columns: list[str], rows: list[Any]) -> None:
        """Insert rows with COPY, inside the open transaction: one round trip, and several
        times faster than ``executemany`` for a form's few hundred values."""
        if not rows:
            return
        with self.conn.cursor() as cur:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def after_copy(self) -> None:
        """The id sequence continues after the copied ids."""
        self._execute("SELECT setval(pg_get_serial_sequence('submissions', 'id'), "
                      "COALESCE((SELECT max(id) FROM submissions), 1), "
                      "(SELECT max(id) FROM submissions) IS NOT NULL)")


def _defaults(conninfo: str) -> dict[str, Any]:
    """libpq parameters we set unless the URL sets them itself."""
    from psycopg.conninfo import conninfo_to_dict

    given = conninfo_to_dict(conninfo)
    wanted = {"application_name": APPLICATION_NAME, "connect_timeout": 10}
    return {k: v for k, v in wanted.items() if k not in given}


def _detail(exc: BaseException) -> str:
    """The driver's message, one line, any password masked."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return mask_url(text)[:300]
