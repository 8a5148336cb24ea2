"""The SQLite store: the embedded default (``budget.store.base.Store``), one file.

A resubmission is a new submission: the newest accepted one per (fiscal year, stage,
prefecture) is *current*, earlier ones stay. The same file twice (the same bytes under the
same name) is one submission; the same bytes under another name are another submission,
with their own verdict. Each file is saved in one transaction; WAL and a busy timeout let two
ingests run at once and a killed process leave the database consistent.

The SQL is ``budget.store.sql``'s, shared with PostgreSQL; what is SQLite's own stays here:
PRAGMAs, ``BEGIN IMMEDIATE`` with a retry while busy, opening read-only (a file or folder
the user may only read, a read-only mount), ``quick_check``, the table rebuilds of the
migrations from versions 1 and 2, and SQLite's error codes.

Schema versions (see ``budget.store.sql``): 1 → 2 → 3 are migrated here, 3 → 4 by the shared
migration, 4 → 5 here (``submission_values`` rebuilt ``WITHOUT ROWID``); an older store is
migrated in place when opened for writing.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from budget.errors import StoreError
from budget.store.base import MissingStore
from budget.store.sql import (  # noqa: F401 - re-exported: the names tests and tools know
    CHUNK as _CHUNK,
)
from budget.store.sql import (
    NUMBER,
    READS_AS_CURRENT,
    SCHEMA_VERSION,
    SQLITE,
    SUBMISSION_COLUMNS,
    SUBMISSIONS_INDEXES,
    SUBMISSIONS_TABLE,
    TEXT,
    VALUE_TABLES,
    SQLStore,
    statements,
    utc_now,
    wide_values,
)

__all__ = ["NUMBER", "SCHEMA_VERSION", "SUBMISSION_COLUMNS", "TEXT", "NotABudgetStore",
           "SQLiteStore", "utc_now", "wide_values"]

#: Version 2's ``submissions`` (the target of the version 1 migration; then 2 → 3).
_V2_SUBMISSIONS_COLUMNS = """
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL,
    file_name TEXT NOT NULL,
    size INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    fiscal_year INTEGER,
    prefecture_code TEXT,
    stage TEXT NOT NULL DEFAULT 'plan',
    status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')),
    template_version TEXT,
    menu_fingerprint TEXT,
    department TEXT, contact_name TEXT, phone TEXT, email TEXT,
    n_errors INTEGER NOT NULL,
    n_warnings INTEGER NOT NULL
"""
#: Version 3's ``submissions`` columns (what the 2 → 3 rebuild makes).
_SUBMISSIONS_COLUMNS = SQLITE.ddl(SUBMISSIONS_TABLE).split("(", 1)[1].rsplit(")", 1)[0]

#: SQLite result codes (the low byte of an extended code).
_BUSY, _LOCKED, _CANTOPEN, _NOTADB, _CORRUPT = 5, 6, 14, 26, 11

T = TypeVar("T")


def is_busy(exc: BaseException) -> bool:
    """True for "database is locked/busy": another connection holds a lock; retrying helps."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_BUSY, _LOCKED)
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


def retry_busy(action: Callable[[], T], deadline: float) -> T:
    """``action()``, retried with backoff while SQLite says busy, until ``deadline``
    (``time.monotonic``). For steps SQLite may refuse at once without waiting its busy
    timeout: switching a new file to WAL while another process does the same, or a BEGIN
    during another connection's WAL recovery. ``action`` must leave nothing half done when
    it fails (one statement, or a transaction that rolls back)."""
    delay = 0.002
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            left = deadline - time.monotonic()
            if not is_busy(exc) or left <= 0:
                raise
            time.sleep(min(delay, left))
            delay = min(delay * 2, 0.1)


def sqlite_uri(path: Path) -> str:
    """``path`` as a SQLite ``file:`` URI (percent-encoded; a Windows UNC path
    ``\\\\server\\share\\b.db`` as ``file:////server/share/b.db``: SQLite refuses a URI
    authority other than localhost, so the server goes into the path)."""
    from urllib.parse import quote

    text = path.absolute().as_posix()
    if text.startswith("/"):  # POSIX, or a UNC path ("//server/share/…")
        return "file://" + quote(text)
    return "file:///" + quote(text, safe="/:")  # a drive: C:/…


class NotABudgetStore(StoreError):
    """The file is not a SQLite database, or is one of another application."""


class CorruptStore(StoreError):
    """``quick_check`` found the file damaged."""


class SQLiteStore(SQLStore):
    """A store in one SQLite file (``budget.store.base.Store``). Use as a context manager, or
    call ``close``.

    Opening waits up to ``timeout`` seconds for other processes using the same file (another
    ingest creating or migrating it at the same moment) before it gives up. ``readonly``:
    open for reading only (nothing is created or migrated; works on a file or folder the user
    may only read); ``check``: run ``PRAGMA quick_check`` first and refuse a damaged file
    with a message saying what to do.
    """

    dialect = SQLITE
    _driver_error = sqlite3.Error

    def __init__(self, path: str | Path, *, timeout: float = 60.0, readonly: bool = False,
                 check: bool = False) -> None:
        self.path = Path(path)
        self._display = str(path)
        self.timeout = timeout
        self.readonly = readonly
        self._saved_now = []
        deadline = time.monotonic() + timeout
        self._conn: sqlite3.Connection | None = None
        try:
            if readonly:
                self._open_readonly()
            else:
                self._conn = conn = sqlite3.connect(self._display, timeout=timeout,
                                                    isolation_level=None)
                conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
                # A new file is switched to WAL by whoever gets there first; a process that
                # meets another one switching gets SQLITE_BUSY at once, without waiting.
                retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone(),
                           deadline)
                conn.execute("PRAGMA synchronous = NORMAL")
                if check:
                    self.quick_check()
                retry_busy(self._migrate, deadline)  # foreign keys stay off while migrating
                conn.execute("PRAGMA foreign_keys = ON")
        except BaseException as exc:
            if self._conn is not None:
                self._conn.close()
            if isinstance(exc, sqlite3.Error):
                raise self._open_error(exc) from exc
            raise
        if readonly and check:
            try:
                self.quick_check()
            except BaseException:
                self.close()
                raise

    def _open_readonly(self) -> None:
        """Connect with ``mode=ro``; where SQLite cannot make the WAL's shared-memory file
        beside it (a read-only folder or mount), as ``immutable`` (nobody can be writing
        there). An older store is migrated first when the user may write it, else refused."""
        uri = sqlite_uri(self.path) + "?mode=ro"
        try:
            self._conn = sqlite3.connect(uri, uri=True, timeout=self.timeout,
                                         isolation_level=None)
            self._check_version()
        except sqlite3.OperationalError as exc:
            code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if code not in (_CANTOPEN, 8):  # 8: SQLITE_READONLY (the -shm file)
                raise
            self._conn = sqlite3.connect(uri + "&immutable=1", uri=True, timeout=self.timeout,
                                         isolation_level=None)
            self._check_version()

    def _check_version(self) -> None:
        version = self._version()
        if version == SCHEMA_VERSION:
            return
        tables = {r[0] for r in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")} - {"sqlite_sequence"}
        if version is None and not tables:
            raise MissingStore(f"データベース {self._display} には、まだ何も登録されていません。"
                               "先に budget ingest で提出ファイルを取り込んでください。")
        if version is None:
            raise NotABudgetStore(
                f"データベース {self.path} は budget のデータベースではありません（他の用途の"
                f"表 {', '.join(sorted(tables)[:5])} があります）。budget のデータベースか確認して"
                "ください。")
        if version.isdigit() and int(version) > int(SCHEMA_VERSION):
            raise self._newer_error(version)
        if os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK):
            SQLiteStore(self.path, timeout=self.timeout).close()  # migrates it
            return
        if version in READS_AS_CURRENT:  # read as it is; a writer migrates it later
            return
        raise StoreError(
            f"データベース {self._display} は古い版（{version}）のため、読み取り専用では"
            "開けません。書き込みできる利用者が "
            f"budget db migrate --db {self._display} を実行してください。")

    def quick_check(self) -> None:
        """``PRAGMA quick_check``: raises ``CorruptStore`` (saying what to do) when the file
        is damaged. Reads every page once: milliseconds for a year's store."""
        try:
            result = [r[0] for r in self.conn.execute("PRAGMA quick_check(3)")]
        except sqlite3.DatabaseError as exc:
            result = [str(exc)]
        if result != ["ok"]:
            raise CorruptStore(
                f"データベース {self._display} が壊れています（{'; '.join(result)[:200]}）。"
                "バックアップから戻すか、受け取ったファイルのフォルダを新しいデータベースに"
                "取り込み直してください（budget ingest フォルダ --db 新しいファイル）。")

    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection (tests and this module only)."""
        if self._conn is None:  # pragma: no cover - set in __init__
            raise StoreError(f"データベース {self._display} は閉じられています。")
        return self._conn

    def _execute(self, sql: str, params: Any = ()) -> Any:
        return self.conn.execute(sql, params)

    def _executemany(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        self.conn.executemany(sql, rows)

    def _table_exists(self, name: str) -> bool:
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                 "name = ?", (name,)).fetchone() is not None

    def _open_error(self, exc: sqlite3.Error) -> StoreError:
        code = getattr(exc, "sqlite_errorcode", 0) or 0
        if code & 0xFF == _NOTADB:
            return NotABudgetStore(
                f"データベース {self.path} を開けません: SQLite のデータベースではありません"
                f"（{exc}）。budget のデータベースか確認してください。")
        if code & 0xFF == _CORRUPT:
            return CorruptStore(
                f"データベース {self._display} が壊れています（{exc}）。バックアップから戻すか、"
                "受け取ったファイルのフォルダを新しいデータベースに取り込み直してください"
                "（budget ingest フォルダ --db 新しいファイル）。")
        if is_busy(exc):
            return StoreError(
                f"データベース {self.path} を開けません: 他の処理（別の budget ingest など）が"
                f"使用中のため、{self.timeout:g} 秒待っても開けませんでした（{exc}）。"
                "しばらくしてから再実行してください。")
        if self.readonly:
            return StoreError(f"データベース {self.path} を開けません（{exc}）。"
                              "場所と読み取り権限を確認してください。")
        return StoreError(f"データベース {self.path} を開けません（{exc}）。"
                          "場所と書き込み権限を確認してください。")

    def _write_error(self, exc: BaseException, file: str | None = None) -> StoreError:
        if self.readonly:
            return StoreError(f"データベース {self.path} は読み取り専用で開いています。"
                              "登録は書き込みできる場所で実行してください。")
        return StoreError(f"データベース {self.path} に書き込めません（{exc}）。"
                          "登録済みの提出は失われていません。原因を取り除いて再実行してください。")

    def _read_error(self, exc: BaseException) -> StoreError:
        return StoreError(f"データベース {self.path} を読み取れません（{exc}）。"
                          "場所と読み取り権限を確認し、しばらくしてから再実行してください。")

    def _migrate(self) -> None:
        """Create the schema in a new file, migrate an older one, or check the version; one
        transaction (BEGIN IMMEDIATE: two processes creating the same file take turns)."""
        conn = self.conn
        with self.transaction(retry=False):
            tables = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            version = None
            if "store_meta" in tables:
                version = self._version()
            elif tables - {"sqlite_sequence"}:
                raise NotABudgetStore(
                    f"データベース {self.path} は budget のデータベースではありません（他の用途の"
                    f"表 {', '.join(sorted(tables)[:5])} があります）。budget のデータベースか確認して"
                    "ください。")
            if version == SCHEMA_VERSION:
                return
            if version is None:
                self._create_schema()
                return
            if not version.isdigit() or int(version) > int(SCHEMA_VERSION):
                raise self._newer_error(version)
            self.migrated_from = version
            if version == "1":
                self._migrate_v1()
                version = "2"
            if version == "2":
                self._migrate_v2()
                version = "3"
            if version == "3":
                self._migrate_3_to_4()
                version = "4"
            if version == "4":
                self._migrate_4_to_5()

    def _rebuild_submissions(self, columns: str, select: str) -> None:
        """Replace ``submissions`` by a table of ``columns`` filled by ``select`` (which reads
        the old one as ``submissions``), keeping every id: SQLite's documented procedure (new
        table, copy, drop, rename); foreign keys are off on this connection meanwhile."""
        conn = self.conn
        conn.execute(f"CREATE TABLE submissions_new ({columns})")
        conn.execute(f"INSERT INTO submissions_new {select}")
        conn.execute("DROP TABLE submissions")
        conn.execute("ALTER TABLE submissions_new RENAME TO submissions")
        _execute_script(conn, SUBMISSIONS_INDEXES)

    def _migrate_v1(self) -> None:
        """Version 1 → 2, inside the open transaction: ``submissions`` loses its UNIQUE on
        ``sha256`` (one submission per (sha256, file name) now)."""
        cols = ", ".join(r[1] for r in self.conn.execute("PRAGMA table_info(submissions)"))
        self._rebuild_submissions(_V2_SUBMISSIONS_COLUMNS,
                                  f"({cols}) SELECT {cols} FROM submissions")

    def _migrate_v2(self) -> None:
        """Version 2 → 3, inside the open transaction: the columns of ``amounts`` become rows
        of ``submission_values`` (their declared type gives the kind), the contact columns
        of ``submissions`` rows of ``submission_inputs``, and each submission gets whose it
        is, decided from its file name and form as ingest decides it now
        (``budget.attribution.attribution``)."""
        from budget.attribution import attribution

        conn = self.conn
        _execute_script(conn, SQLITE.ddl(VALUE_TABLES))
        old = [r[1] for r in conn.execute("PRAGMA table_info(submissions)")]
        kept = [c for c in SUBMISSION_COLUMNS if c in old]
        for c in old:
            if c not in SUBMISSION_COLUMNS:  # a contact input (department, email, …)
                conn.execute(f"INSERT INTO submission_inputs (submission_id, field, text) "
                             f"SELECT id, ?, {c} FROM submissions WHERE {c} IS NOT NULL", (c,))
        conn.execute("INSERT INTO submission_leaves (submission_id, leaf_code, seq) "
                     "SELECT submission_id, leaf_code, ROW_NUMBER() OVER ("
                     "PARTITION BY submission_id ORDER BY leaf_code) - 1 FROM amounts")
        value_cols = [(r[1], r[2].upper()) for r in conn.execute("PRAGMA table_info(amounts)")
                      if r[1] not in ("submission_id", "leaf_code")]
        for position, (name, declared) in enumerate(value_cols):
            kind = NUMBER if "INT" in declared else TEXT
            conn.execute("INSERT INTO value_fields (field, kind, position) VALUES (?, ?, ?) "
                         "ON CONFLICT (field) DO NOTHING", (name, kind, position))
            number, text = (name, "NULL") if kind == NUMBER else ("NULL", name)
            conn.execute(f"INSERT INTO submission_values (submission_id, leaf_code, field, "
                         f"number, text) SELECT submission_id, leaf_code, ?, {number}, {text} "
                         f"FROM amounts WHERE {name} IS NOT NULL", (name,))
        conn.execute("DROP TABLE amounts")
        names = ", ".join(kept)
        self._rebuild_submissions(
            _SUBMISSIONS_COLUMNS,
            f"({names}, form_prefecture_code) SELECT {names}, prefecture_code FROM submissions")
        rows = conn.execute("SELECT id, file_name, form_prefecture_code, fiscal_year, status "
                            "FROM submissions").fetchall()
        for sid, file_name, form_code, year, status in rows:
            who = attribution(file_name, form_code, year, accepted=status == "accepted")
            conn.execute("UPDATE submissions SET prefecture_code = ?, fiscal_year = ?, "
                         "attribution_note = ? WHERE id = ?",
                         (who.prefecture_code, who.fiscal_year, who.note, sid))
        broken = conn.execute("PRAGMA foreign_key_check").fetchall()
        if broken:  # pragma: no cover - ids are copied as they were
            raise StoreError(f"データベース {self.path} の移行に失敗しました（{broken[:3]}）。"
                             "元のファイルは変更されていません。開発担当に連絡してください。")
        conn.execute("UPDATE store_meta SET value = '3' WHERE key = 'schema_version'")

    def _migrate_4_to_5(self) -> None:
        """Version 4 → 5, inside the open transaction: ``submission_values`` rebuilt as a
        ``WITHOUT ROWID`` table (the same columns, keys and rows; a table made so by the
        version 2 migration is kept as it is). Nothing refers to it: SQLite's documented
        procedure (new table, copy, drop, rename) with foreign keys off meanwhile."""
        conn = self.conn
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND "
                           "name = 'submission_values'").fetchone()[0]
        if "WITHOUT ROWID" not in sql.upper():
            table = next(s for s in statements(SQLITE.ddl(VALUE_TABLES))
                         if "EXISTS submission_values (" in s)
            conn.execute(table.replace("CREATE TABLE IF NOT EXISTS submission_values (",
                                       "CREATE TABLE submission_values_new ("))
            columns = "submission_id, leaf_code, field, number, text"
            conn.execute(f"INSERT INTO submission_values_new ({columns}) "
                         f"SELECT {columns} FROM submission_values")
            conn.execute("DROP TABLE submission_values")
            conn.execute("ALTER TABLE submission_values_new RENAME TO submission_values")
            broken = conn.execute("PRAGMA foreign_key_check(submission_values)").fetchall()
            if broken:  # pragma: no cover - the rows are copied as they were
                raise StoreError(f"データベース {self.path} の移行に失敗しました（{broken[:3]}）。"
                                 "元のファイルは変更されていません。開発担当に連絡してください。")
        super()._migrate_4_to_5()

    def transaction(self, *, retry: bool = True) -> "_Transaction":
        """BEGIN IMMEDIATE … COMMIT (ROLLBACK on any exception). ``retry``: a BEGIN that
        SQLite refuses at once as busy is retried until the store's timeout."""
        return _Transaction(self.conn, self.timeout if retry else 0.0)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def __enter__(self) -> "SQLiteStore":
        return self


def _execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Each statement of ``script`` in the open transaction (``executescript`` would COMMIT
    it first)."""
    for statement in statements(script):
        conn.execute(statement)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any exception (including KeyboardInterrupt)."""

    def __init__(self, conn: sqlite3.Connection, retry_for: float = 0.0) -> None:
        self.conn = conn
        self.retry_for = retry_for

    def __enter__(self) -> None:
        if self.retry_for > 0:
            retry_busy(lambda: self.conn.execute("BEGIN IMMEDIATE"),
                       time.monotonic() + self.retry_for)
        else:
            self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:  # never leave the connection mid-transaction
                    self.conn.execute("ROLLBACK")
                raise
        elif self.conn.in_transaction:  # SQLite may have rolled back already (e.g. on BUSY)
            self.conn.execute("ROLLBACK")
