"""The SQLite store: every submission, its findings, its original bytes, and the amounts of
accepted ones. Nothing else in the package speaks SQL.

A resubmission is a new submission: the newest accepted one per (fiscal year, stage,
prefecture) is *current*, earlier ones stay. The same file twice (the same bytes under the
same name) is one submission; the same bytes under another name are another submission,
with their own verdict (the name is checked: the prefecture in it must match the file's).
Each file is saved in one transaction; WAL and a busy timeout let two ingests run at once
and a killed process leave the database consistent.

Schema versions: 1 had one submission per SHA-256; 2 has one per (SHA-256, file name). A
version 1 store is migrated in place when opened.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from budget.errors import StoreError
from budget.findings import FileReport, Finding
from budget.forms import plan as layout

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = "2"
PLAN_STAGE = "plan"  # 計画; later stages (交付決定, 変更, 実績) get their own names
HEADER_KEYS = tuple(layout.HEADER_INPUTS)  # department, contact_name, phone, email
AMOUNT_COLUMNS = layout.MONEY_KEYS  # total, national, prefectural, fund, other, public, private, commissioned
TEXT_COLUMNS = layout.TEXT_KEYS  # implementer, output, remarks

class RejectedSubmission(NamedTuple):
    """One row of ``Store.rejected_submissions``."""

    id: int
    file_name: str
    sha256: str
    received_at: str
    prefecture_code: str | None
    fiscal_year: int | None
    n_errors: int
    n_warnings: int


_SUBMISSIONS_COLUMNS = f"""
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL,
    file_name TEXT NOT NULL,
    size INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    fiscal_year INTEGER,
    prefecture_code TEXT,
    stage TEXT NOT NULL DEFAULT '{PLAN_STAGE}',
    status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')),
    template_version TEXT,
    menu_fingerprint TEXT,
    {", ".join(f"{k} TEXT" for k in HEADER_KEYS)},
    n_errors INTEGER NOT NULL,
    n_warnings INTEGER NOT NULL
"""
_SUBMISSIONS_INDEXES = """
CREATE UNIQUE INDEX IF NOT EXISTS submissions_by_file ON submissions (sha256, file_name);
CREATE INDEX IF NOT EXISTS submissions_by_year
    ON submissions (fiscal_year, stage, prefecture_code, status, received_at);
"""
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submissions ({_SUBMISSIONS_COLUMNS});
{_SUBMISSIONS_INDEXES}
CREATE TABLE IF NOT EXISTS files (
    submission_id INTEGER PRIMARY KEY REFERENCES submissions (id),
    content BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS findings (
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    seq INTEGER NOT NULL,
    code TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('error', 'warning')),
    sheet TEXT, cell TEXT, leaf_code TEXT, leaf_name TEXT, value TEXT,
    message TEXT NOT NULL,
    PRIMARY KEY (submission_id, seq)
);
CREATE TABLE IF NOT EXISTS amounts (
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    leaf_code TEXT NOT NULL,
    {", ".join(f"{k} INTEGER" for k in AMOUNT_COLUMNS)},
    {", ".join(f"{k} TEXT" for k in TEXT_COLUMNS)},
    PRIMARY KEY (submission_id, leaf_code)
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class Saved:
    submission_id: int
    created: bool  # False: the same file (bytes and name) was stored before; nothing changed


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


#: SQLite result codes (the low byte of an extended code).
_BUSY, _LOCKED, _NOTADB = 5, 6, 26


def is_busy(exc: BaseException) -> bool:
    """True for "database is locked/busy": another connection holds a lock; retrying helps."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_BUSY, _LOCKED)
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


def retry_busy(action, deadline: float):
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


class NotABudgetStore(StoreError):
    """The file is not a SQLite database, or is one of another application."""


class Store:
    """An open store. Use as a context manager, or call ``close``.

    Opening waits up to ``timeout`` seconds for other processes using the same file (another
    ingest creating or migrating it at the same moment) before it gives up.
    """

    def __init__(self, path: str | Path, *, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        deadline = time.monotonic() + timeout
        self.conn: sqlite3.Connection | None = None
        try:
            self.conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            self.conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            # A new file is switched to WAL by whoever gets there first; a process that
            # meets another one switching gets SQLITE_BUSY at once, without waiting.
            retry_busy(lambda: self.conn.execute("PRAGMA journal_mode = WAL").fetchone(),
                       deadline)
            self.conn.execute("PRAGMA synchronous = NORMAL")
            retry_busy(self._migrate, deadline)  # foreign keys stay off while migrating
            self.conn.execute("PRAGMA foreign_keys = ON")
        except BaseException as exc:
            if self.conn is not None:
                self.conn.close()
            if isinstance(exc, sqlite3.Error):
                raise self._open_error(exc) from exc
            raise

    def _open_error(self, exc: sqlite3.Error) -> StoreError:
        code = getattr(exc, "sqlite_errorcode", 0) or 0
        if code & 0xFF == _NOTADB:
            return NotABudgetStore(
                f"データベース {self.path} を開けません: SQLite のデータベースではありません"
                f"（{exc}）。budget のデータベースか確認してください。")
        if is_busy(exc):
            return StoreError(
                f"データベース {self.path} を開けません: 他の処理（別の budget ingest など）が"
                f"使用中のため、{self.timeout:g} 秒待っても開けませんでした（{exc}）。"
                "しばらくしてから再実行してください。")
        return StoreError(f"データベース {self.path} を開けません（{exc}）。"
                          "場所と書き込み権限を確認してください。")

    def _migrate(self) -> None:
        """Create the schema in a new file, migrate an older one, or check the version; one
        transaction (BEGIN IMMEDIATE: two processes creating the same file take turns)."""
        with self.transaction(retry=False):
            tables = {r[0] for r in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            version = None
            if "store_meta" in tables:
                row = self.conn.execute(
                    "SELECT value FROM store_meta WHERE key = 'schema_version'").fetchone()
                version = row[0] if row else None
            elif tables - {"sqlite_sequence"}:
                raise NotABudgetStore(
                    f"データベース {self.path} は budget のデータベースではありません（他の用途の"
                    f"表 {', '.join(sorted(tables)[:5])} があります）。budget のデータベースか確認して"
                    "ください。")
            if version == SCHEMA_VERSION:
                return
            if version == "1":
                self._migrate_v1()
                return
            if version is not None:
                raise StoreError(
                    f"データベース {self.path} の版 {version} はこの budget（版 {SCHEMA_VERSION}）"
                    "では扱えません。新しい版の budget で開いてください。")
            # executescript would COMMIT the open transaction first: one statement at a time.
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.conn.execute(statement)
            self.conn.execute("INSERT OR REPLACE INTO store_meta VALUES ('schema_version', ?)",
                              (SCHEMA_VERSION,))

    def _migrate_v1(self) -> None:
        """Version 1 → 2, inside the open transaction: ``submissions`` loses its UNIQUE on
        ``sha256`` (one submission per (sha256, file name) now). SQLite cannot drop an
        inline constraint: the table is rebuilt (SQLite's documented procedure: new table,
        copy, drop, rename), keeping every id, so files, findings and amounts still point at
        their submission. Foreign keys are off on this connection until the migration is
        done."""
        conn = self.conn
        cols = [r[1] for r in conn.execute("PRAGMA table_info(submissions)")]
        conn.execute(f"CREATE TABLE submissions_v2 ({_SUBMISSIONS_COLUMNS})")
        names = ", ".join(cols)
        conn.execute(f"INSERT INTO submissions_v2 ({names}) SELECT {names} FROM submissions")
        conn.execute("DROP TABLE submissions")
        conn.execute("ALTER TABLE submissions_v2 RENAME TO submissions")
        for statement in _SUBMISSIONS_INDEXES.split(";"):
            if statement.strip():
                conn.execute(statement)
        broken = conn.execute("PRAGMA foreign_key_check").fetchall()
        if broken:  # pragma: no cover - ids are copied as they were
            raise StoreError(f"データベース {self.path} の移行に失敗しました（{broken[:3]}）。")
        conn.execute("UPDATE store_meta SET value = ? WHERE key = 'schema_version'",
                     (SCHEMA_VERSION,))

    def transaction(self, *, retry: bool = True) -> "_Transaction":
        """BEGIN IMMEDIATE … COMMIT (ROLLBACK on any exception). ``retry``: a BEGIN that
        SQLite refuses at once as busy is retried until the store's timeout."""
        return _Transaction(self.conn, self.timeout if retry else 0.0)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing ------------------------------------------------------------------------

    def save(self, report: FileReport, content: bytes, *, received_at: str | None = None,
             stage: str = PLAN_STAGE) -> Saved:
        """Store one received file, its findings and (if accepted) its amounts, atomically.
        The same file (the same bytes under the same name) stored before: nothing changes
        (``created`` False)."""
        with self.transaction():
            row = self.conn.execute(
                "SELECT id FROM submissions WHERE sha256 = ? AND file_name = ?",
                (report.sha256, report.file)).fetchone()
            if row is not None:
                return Saved(row[0], created=False)
            cur = self.conn.execute(
                f"""INSERT INTO submissions (sha256, file_name, size, received_at, fiscal_year,
                    prefecture_code, stage, status, template_version, menu_fingerprint,
                    {", ".join(HEADER_KEYS)}, n_errors, n_warnings)
                    VALUES ({", ".join("?" * (12 + len(HEADER_KEYS)))})""",
                (report.sha256, report.file, report.size, received_at or utc_now(),
                 report.fiscal_year, report.prefecture_code, stage, report.status,
                 report.template_version, report.menu_fingerprint,
                 *(report.header.get(k) for k in HEADER_KEYS),
                 len(report.errors), len(report.warnings)),
            )
            sid = int(cur.lastrowid)
            self.conn.execute("INSERT INTO files VALUES (?, ?)", (sid, content))
            self.conn.executemany(
                "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(sid, i, f.code, f.severity, f.sheet, f.cell, f.leaf_code, f.leaf_name,
                  f.value, f.message) for i, f in enumerate(report.findings)],
            )
            if report.accepted:
                import pandas as pd

                plan = report.plan
                cols = ["leaf_code", *AMOUNT_COLUMNS, *TEXT_COLUMNS]
                columns = [[_plain(v, pd.NA) for v in plan[c].tolist()] for c in cols]
                self.conn.executemany(
                    f"INSERT INTO amounts (submission_id, {', '.join(cols)}) "
                    f"VALUES (?, {', '.join('?' * len(cols))})",
                    [(sid, *row) for row in zip(*columns)],
                )
            return Saved(sid, created=True)

    # --- reading ------------------------------------------------------------------------

    def submissions(self, fiscal_year: int | None = None) -> "pd.DataFrame":
        """Every submission (newest first), optionally of one fiscal year."""
        import pandas as pd

        sql = "SELECT * FROM submissions"
        params: tuple = ()
        if fiscal_year is not None:
            sql += " WHERE fiscal_year = ?"
            params = (fiscal_year,)
        return pd.read_sql_query(sql + " ORDER BY received_at DESC, id DESC", self.conn,
                                 params=params)

    def current_submissions(self, fiscal_year: int, stage: str = PLAN_STAGE) -> "pd.DataFrame":
        """One row per prefecture that sent anything for the year: its current (newest
        accepted) submission if any, else its newest rejected one, with counts.

        Columns: prefecture_code, submission_id, status, file_name, sha256, received_at,
        n_submissions, n_rejected, latest_status, latest_file_name, latest_received_at,
        contact columns, n_errors, n_warnings.
        """
        import pandas as pd

        sql = f"""
        WITH ranked AS (
            SELECT s.*,
                   ROW_NUMBER() OVER (PARTITION BY prefecture_code
                       ORDER BY status = 'accepted' DESC, received_at DESC, id DESC) AS pick,
                   ROW_NUMBER() OVER (PARTITION BY prefecture_code
                       ORDER BY received_at DESC, id DESC) AS recency,
                   COUNT(*) OVER (PARTITION BY prefecture_code) AS n_submissions,
                   SUM(status = 'rejected') OVER (PARTITION BY prefecture_code) AS n_rejected
            FROM submissions s
            WHERE fiscal_year = ? AND stage = ? AND prefecture_code IS NOT NULL
        )
        SELECT c.prefecture_code, c.id AS submission_id, c.status, c.file_name, c.sha256,
               c.received_at, c.n_submissions, c.n_rejected,
               l.status AS latest_status, l.file_name AS latest_file_name,
               l.received_at AS latest_received_at,
               {", ".join(f"c.{k}" for k in HEADER_KEYS)}, c.n_errors, c.n_warnings
        FROM ranked c JOIN ranked l
          ON l.prefecture_code = c.prefecture_code AND l.recency = 1
        WHERE c.pick = 1
        ORDER BY c.prefecture_code
        """
        return pd.read_sql_query(sql, self.conn, params=(fiscal_year, stage))

    def current_amounts(self, fiscal_year: int, stage: str = PLAN_STAGE) -> "pd.DataFrame":
        """The amounts of each prefecture's current accepted submission, one row per leaf:
        prefecture_code, submission_id, leaf_code, the amount columns (nullable ints: blank
        means not planned) and the text columns."""
        import pandas as pd

        sql = """
        WITH cur AS (
            SELECT id, prefecture_code,
                   ROW_NUMBER() OVER (PARTITION BY prefecture_code
                                      ORDER BY received_at DESC, id DESC) AS pick
            FROM submissions
            WHERE fiscal_year = ? AND stage = ? AND status = 'accepted'
              AND prefecture_code IS NOT NULL
        )
        SELECT cur.prefecture_code, a.*
        FROM cur JOIN amounts a ON a.submission_id = cur.id
        WHERE cur.pick = 1
        ORDER BY cur.prefecture_code
        """
        df = pd.read_sql_query(sql, self.conn, params=(fiscal_year, stage))
        for col in AMOUNT_COLUMNS:
            df[col] = df[col].astype("Int64")
        return df

    def stored_files(self) -> set[tuple[str, str]]:
        """(SHA-256, file name) of every stored submission: what counts as "the same file"."""
        return set(self.conn.execute("SELECT sha256, file_name FROM submissions"))

    def submission_for(self, sha256: str, file_name: str) -> dict[str, object] | None:
        """The stored submission of this file (these bytes under this name, a dict of its
        columns), or None."""
        cur = self.conn.execute("SELECT * FROM submissions WHERE sha256 = ? AND file_name = ?",
                                (sha256, file_name))
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip((d[0] for d in cur.description), row))

    def submission_details(self, ids: list[int]) -> "pd.DataFrame":
        """template_version, menu_fingerprint and size of the given submissions."""
        import pandas as pd

        marks = ", ".join("?" * len(ids))
        return pd.read_sql_query(
            "SELECT id AS submission_id, template_version, menu_fingerprint, size "
            f"FROM submissions WHERE id IN ({marks or 'NULL'})", self.conn, params=ids)

    def rejected_submissions(self, fiscal_year: int,
                             stage: str = PLAN_STAGE) -> list[RejectedSubmission]:
        """Rejected submissions of the year, and those too broken to have a year, newest
        first."""
        rows = self.conn.execute(
            f"SELECT {', '.join(RejectedSubmission._fields)} FROM submissions "
            "WHERE status = 'rejected' AND stage = ? "
            "AND (fiscal_year = ? OR fiscal_year IS NULL) ORDER BY received_at DESC, id DESC",
            (stage, fiscal_year)).fetchall()
        return [RejectedSubmission(*r) for r in rows]

    def first_errors(self, ids: list[int]) -> dict[int, str]:
        """The message of the first error finding of each given submission (one query);
        submissions without an error are absent."""
        marks = ", ".join("?" * len(ids))
        rows = self.conn.execute(
            f"""SELECT submission_id, message FROM (
                    SELECT submission_id, message, ROW_NUMBER() OVER (
                        PARTITION BY submission_id ORDER BY seq) AS n
                    FROM findings WHERE severity = 'error'
                      AND submission_id IN ({marks or 'NULL'}))
                WHERE n = 1""", list(ids)).fetchall()
        return {int(sid): message for sid, message in rows}

    def findings(self, submission_id: int) -> list[Finding]:
        rows = self.conn.execute(
            """SELECT f.code, f.severity, f.message, s.file_name, f.sheet, f.cell, f.leaf_code,
                      f.leaf_name, f.value
               FROM findings f JOIN submissions s ON s.id = f.submission_id
               WHERE f.submission_id = ? ORDER BY f.seq""", (submission_id,)).fetchall()
        return [Finding(*r) for r in rows]

    def file_bytes(self, submission_id: int) -> bytes:
        row = self.conn.execute("SELECT content FROM files WHERE submission_id = ?",
                                (submission_id,)).fetchone()
        if row is None:
            raise StoreError(f"提出 {submission_id} のファイルが見つかりません。")
        return bytes(row[0])

    def fiscal_years(self) -> list[int]:
        rows = self.conn.execute(
            "SELECT DISTINCT fiscal_year FROM submissions WHERE fiscal_year IS NOT NULL "
            "ORDER BY 1").fetchall()
        return [r[0] for r in rows]


def _plain(value: object, na: object) -> object:
    """A DataFrame cell as sqlite3 takes it: missing (``na``, NaN, None) → None, numpy
    scalars → Python scalars."""
    if value is None or value is na or (isinstance(value, float) and value != value):
        return None
    return value.item() if hasattr(value, "item") else value


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

