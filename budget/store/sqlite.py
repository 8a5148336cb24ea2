"""The SQLite store: every submission, its findings, its original bytes, its contact inputs
and the values of accepted ones (``budget.store.base.Store``). Nothing else in the package
speaks SQL.

A resubmission is a new submission: the newest accepted one per (fiscal year, stage,
prefecture) is *current*, earlier ones stay. The same file twice (the same bytes under the
same name) is one submission; the same bytes under another name are another submission,
with their own verdict. Each file is saved in one transaction; WAL and a busy timeout let two
ingests run at once and a killed process leave the database consistent.

Values are stored in long form: ``submission_leaves`` (submission, leaf code, seq: every row
of the form's table, in the workbook's order), ``submission_values`` (submission, leaf code,
field, number, text: one row per non-blank cell; a blank cell has no row, a 0 is a 0) and
``value_fields`` naming each field's kind (number / text); contact inputs likewise in
``submission_inputs`` (no row for a blank one). A new form's columns need no schema change.

The SQL keeps to what PostgreSQL shares (window functions, ``ON CONFLICT``, ``RETURNING``)
where it costs nothing; what is SQLite's own (PRAGMAs, ``BEGIN IMMEDIATE``, the table
rebuilds of the migrations, error codes) stays in this module.

Schema versions: 1 had one submission per SHA-256; 2 has one per (SHA-256, file name) and the
plan's columns as the columns of ``amounts`` and ``submissions``; 3 stores values and contact
inputs in long form and whose submission it is (decided at ingest). Older stores are migrated
in place when opened (1 → 2 → 3).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from budget.errors import StoreError
from budget.findings import FileReport, Finding
from budget.store.base import PLAN_STAGE, Attribution, Saved

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = "3"
NUMBER, TEXT = "number", "text"

#: The columns of ``submissions`` (version 3).
SUBMISSION_COLUMNS = ("id", "sha256", "file_name", "size", "received_at", "fiscal_year",
                      "prefecture_code", "form_prefecture_code", "attribution_note", "stage",
                      "status", "template_version", "menu_fingerprint", "n_errors",
                      "n_warnings")

_SUBMISSIONS_COLUMNS = f"""
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL,
    file_name TEXT NOT NULL,
    size INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    fiscal_year INTEGER,
    prefecture_code TEXT,
    form_prefecture_code TEXT,
    attribution_note TEXT,
    stage TEXT NOT NULL DEFAULT '{PLAN_STAGE}',
    status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')),
    template_version TEXT,
    menu_fingerprint TEXT,
    n_errors INTEGER NOT NULL,
    n_warnings INTEGER NOT NULL
"""
#: Version 2's ``submissions`` (the target of the version 1 migration; then 2 → 3).
_V2_SUBMISSIONS_COLUMNS = f"""
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
    department TEXT, contact_name TEXT, phone TEXT, email TEXT,
    n_errors INTEGER NOT NULL,
    n_warnings INTEGER NOT NULL
"""
_SUBMISSIONS_INDEXES = """
CREATE UNIQUE INDEX IF NOT EXISTS submissions_by_file ON submissions (sha256, file_name);
CREATE INDEX IF NOT EXISTS submissions_by_year
    ON submissions (fiscal_year, stage, prefecture_code, status, received_at);
"""
_VALUE_TABLES = f"""
CREATE TABLE IF NOT EXISTS value_fields (
    field TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('{NUMBER}', '{TEXT}')),
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS submission_leaves (
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    leaf_code TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (submission_id, leaf_code)
);
CREATE TABLE IF NOT EXISTS submission_values (
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    leaf_code TEXT NOT NULL,
    field TEXT NOT NULL REFERENCES value_fields (field),
    number INTEGER,
    text TEXT,
    PRIMARY KEY (submission_id, leaf_code, field),
    FOREIGN KEY (submission_id, leaf_code) REFERENCES submission_leaves (submission_id, leaf_code),
    CHECK ((number IS NULL) <> (text IS NULL))
);
CREATE TABLE IF NOT EXISTS submission_inputs (
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    field TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (submission_id, field)
);
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
{_VALUE_TABLES}
"""


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


#: SQLite result codes (the low byte of an extended code).
_BUSY, _LOCKED, _NOTADB = 5, 6, 26

T = TypeVar("T")
#: Ids per ``IN (…)`` list (well under SQLite's limit of bound parameters).
_CHUNK = 500


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


class NotABudgetStore(StoreError):
    """The file is not a SQLite database, or is one of another application."""


class SQLiteStore:
    """A store in one SQLite file (``budget.store.base.Store``). Use as a context manager, or
    call ``close``.

    Opening waits up to ``timeout`` seconds for other processes using the same file (another
    ingest creating or migrating it at the same moment) before it gives up.
    """

    def __init__(self, path: str | Path, *, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self._location = str(path)
        self.timeout = timeout
        deadline = time.monotonic() + timeout
        self._conn: sqlite3.Connection | None = None
        try:
            self._conn = conn = sqlite3.connect(self._location, timeout=timeout,
                                                isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            # A new file is switched to WAL by whoever gets there first; a process that
            # meets another one switching gets SQLITE_BUSY at once, without waiting.
            retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone(), deadline)
            conn.execute("PRAGMA synchronous = NORMAL")
            retry_busy(self._migrate, deadline)  # foreign keys stay off while migrating
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException as exc:
            if self._conn is not None:
                self._conn.close()
            if isinstance(exc, sqlite3.Error):
                raise self._open_error(exc) from exc
            raise

    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection (tests and this module only)."""
        if self._conn is None:  # pragma: no cover - set in __init__
            raise StoreError(f"データベース {self._location} は閉じられています。")
        return self._conn

    @property
    def location(self) -> str:
        """The file's path as given."""
        return self._location

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

    def _write_error(self, exc: sqlite3.Error) -> StoreError:
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
                row = conn.execute(
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
                version = "2"
            if version == "2":
                self._migrate_v2()
                return
            if version is not None:
                raise StoreError(
                    f"データベース {self.path} の版 {version} はこの budget（版 {SCHEMA_VERSION}）"
                    "では扱えません。新しい版の budget で開いてください。")
            # executescript would COMMIT the open transaction first: one statement at a time.
            _execute_script(conn, _SCHEMA)
            conn.execute("INSERT INTO store_meta (key, value) VALUES ('schema_version', ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                         (SCHEMA_VERSION,))

    def _rebuild_submissions(self, columns: str, select: str) -> None:
        """Replace ``submissions`` by a table of ``columns`` filled by ``select`` (which reads
        the old one as ``submissions``), keeping every id: SQLite's documented procedure (new
        table, copy, drop, rename); foreign keys are off on this connection meanwhile."""
        conn = self.conn
        conn.execute(f"CREATE TABLE submissions_new ({columns})")
        conn.execute(f"INSERT INTO submissions_new {select}")
        conn.execute("DROP TABLE submissions")
        conn.execute("ALTER TABLE submissions_new RENAME TO submissions")
        _execute_script(conn, _SUBMISSIONS_INDEXES)

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
        (``budget.intake.batch.attribution``)."""
        from budget.attribution import attribution

        conn = self.conn
        _execute_script(conn, _VALUE_TABLES)
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
        conn.execute("UPDATE store_meta SET value = ? WHERE key = 'schema_version'",
                     (SCHEMA_VERSION,))

    def transaction(self, *, retry: bool = True) -> "_Transaction":
        """BEGIN IMMEDIATE … COMMIT (ROLLBACK on any exception). ``retry``: a BEGIN that
        SQLite refuses at once as busy is retried until the store's timeout."""
        return _Transaction(self.conn, self.timeout if retry else 0.0)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def __enter__(self) -> "SQLiteStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing ------------------------------------------------------------------------

    def save(self, report: FileReport, content: bytes | None, *,
             attribution: Attribution | None = None, received_at: str | None = None,
             stage: str = PLAN_STAGE) -> Saved:
        """Store one received file, its findings, contact inputs and (if accepted) its values,
        atomically; see ``Store.save``."""
        try:
            return self._save(report, content, attribution or Attribution.of_form(report),
                              received_at or utc_now(), stage)
        except sqlite3.Error as exc:
            raise self._write_error(exc) from exc

    def _save(self, report: FileReport, content: bytes | None, who: Attribution, received_at: str,
              stage: str) -> Saved:
        conn = self.conn
        with self.transaction():
            row = conn.execute(
                "SELECT id FROM submissions WHERE sha256 = ? AND file_name = ?",
                (report.sha256, report.file)).fetchone()
            if row is not None:
                return Saved(row[0], created=False)
            cols = SUBMISSION_COLUMNS[1:]
            sid = int(conn.execute(
                f"INSERT INTO submissions ({', '.join(cols)}) "
                f"VALUES ({', '.join('?' * len(cols))}) RETURNING id",
                (report.sha256, report.file, report.size, received_at, who.fiscal_year,
                 who.prefecture_code, report.prefecture_code, who.note, stage, report.status,
                 report.template_version, report.menu_fingerprint, len(report.errors),
                 len(report.warnings)),
            ).fetchone()[0])
            if content is not None:  # None: too large to keep (recorded without bytes)
                conn.execute("INSERT INTO files (submission_id, content) VALUES (?, ?)",
                             (sid, content))
            conn.executemany(
                "INSERT INTO findings (submission_id, seq, code, severity, sheet, cell, "
                "leaf_code, leaf_name, value, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(sid, i, f.code, f.severity, f.sheet, f.cell, f.leaf_code, f.leaf_name,
                  f.value, f.message) for i, f in enumerate(report.findings)],
            )
            conn.executemany(
                "INSERT INTO submission_inputs (submission_id, field, text) VALUES (?, ?, ?)",
                [(sid, k, v) for k, v in report.header.items() if v is not None])
            if report.accepted:
                plan: Any = report.plan
                conn.executemany(
                    "INSERT INTO submission_leaves (submission_id, leaf_code, seq) "
                    "VALUES (?, ?, ?)",
                    [(sid, leaf, i) for i, leaf in enumerate(plan["leaf_code"].tolist())])
                conn.executemany(
                    "INSERT INTO submission_values (submission_id, leaf_code, field, number, "
                    "text) VALUES (?, ?, ?, ?, ?)",
                    [(sid, *row) for row in self._value_rows(plan)])
            return Saved(sid, created=True)

    def _value_rows(self, plan: Any) -> list[tuple[object, ...]]:
        """(leaf_code, field, number, text) of every non-blank cell of a plan frame,
        registering fields not seen before: integer columns are numbers, the others text;
        ``excel_row`` (where the row was, not a value) is not stored."""
        import pandas as pd

        kinds = dict(self.conn.execute("SELECT field, kind FROM value_fields"))
        fields = [c for c in plan.columns if c not in ("leaf_code", "excel_row")]
        rows: list[tuple[object, ...]] = []
        leaves = plan["leaf_code"].tolist()
        for position, name in enumerate(fields):
            kind = NUMBER if pd.api.types.is_integer_dtype(plan[name].dtype) else TEXT
            if name not in kinds:
                self.conn.execute(
                    "INSERT INTO value_fields (field, kind, position) VALUES (?, ?, ?) "
                    "ON CONFLICT (field) DO NOTHING", (name, kind, position))
                kinds[name] = kind
            values = [_plain(v, pd.NA) for v in plan[name].tolist()]
            if kinds[name] == NUMBER:
                rows += [(leaf, name, v, None) for leaf, v in zip(leaves, values) if v is not None]
            else:
                rows += [(leaf, name, None, str(v)) for leaf, v in zip(leaves, values)
                         if v is not None]
        return rows

    # --- reading ------------------------------------------------------------------------

    def _frame(self, sql: str, params: Any = ()) -> "pd.DataFrame":
        import pandas as pd

        try:
            return pd.read_sql_query(sql, self.conn, params=params)
        except (sqlite3.Error, pd.errors.DatabaseError) as exc:
            raise self._read_error(exc) from exc

    def _rows(self, sql: str, params: Any = ()) -> list[Any]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._read_error(exc) from exc

    def _with_inputs(self, df: "pd.DataFrame", id_column: str) -> "pd.DataFrame":
        """``df`` with one column per contact input of its submissions (``id_column``)."""
        import pandas as pd

        ids = [int(i) for i in df[id_column]]
        if not ids:
            return df
        parts = [self._frame(
            "SELECT submission_id, field, text FROM submission_inputs "
            f"WHERE submission_id IN ({', '.join('?' * len(chunk))})", chunk)
            for chunk in (ids[i:i + _CHUNK] for i in range(0, len(ids), _CHUNK))]
        inputs = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        if inputs.empty:
            return df
        wide = inputs.pivot(index="submission_id", columns="field", values="text")
        wide.columns.name = None
        wide = wide.astype(object).where(wide.notna(), None)
        return df.merge(wide, left_on=id_column, right_index=True, how="left")

    def submissions(self, fiscal_year: int | None = None) -> "pd.DataFrame":
        """Every submission (newest first), optionally of one fiscal year; see
        ``Store.submissions``."""
        sql = f"SELECT {', '.join(SUBMISSION_COLUMNS)} FROM submissions"
        params: tuple[object, ...] = ()
        if fiscal_year is not None:
            sql += " WHERE fiscal_year = ?"
            params = (fiscal_year,)
        df = self._frame(sql + " ORDER BY received_at DESC, id DESC", params)
        return self._with_inputs(df, "id")

    def current_submissions(self, fiscal_year: int, stage: str = PLAN_STAGE) -> "pd.DataFrame":
        """One row per prefecture that sent anything for the year; see
        ``Store.current_submissions``."""
        sql = """
        WITH ranked AS (
            SELECT s.*,
                   ROW_NUMBER() OVER (PARTITION BY prefecture_code
                       ORDER BY CASE WHEN status = 'accepted' THEN 0 ELSE 1 END,
                                received_at DESC, id DESC) AS pick,
                   ROW_NUMBER() OVER (PARTITION BY prefecture_code
                       ORDER BY received_at DESC, id DESC) AS recency,
                   COUNT(*) OVER (PARTITION BY prefecture_code) AS n_submissions,
                   SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END)
                       OVER (PARTITION BY prefecture_code) AS n_rejected
            FROM submissions s
            WHERE fiscal_year = ? AND stage = ? AND prefecture_code IS NOT NULL
        )
        SELECT c.prefecture_code, c.id AS submission_id, c.status, c.file_name, c.sha256,
               c.received_at, c.form_prefecture_code, c.attribution_note,
               c.n_submissions, c.n_rejected,
               l.status AS latest_status, l.file_name AS latest_file_name,
               l.received_at AS latest_received_at, c.n_errors, c.n_warnings
        FROM ranked c JOIN ranked l
          ON l.prefecture_code = c.prefecture_code AND l.recency = 1
        WHERE c.pick = 1
        ORDER BY c.prefecture_code
        """
        return self._with_inputs(self._frame(sql, (fiscal_year, stage)), "submission_id")

    def current_amounts(self, fiscal_year: int, stage: str = PLAN_STAGE) -> "pd.DataFrame":
        """The values of each prefecture's current accepted submission, wide; see
        ``Store.current_amounts``."""
        current = """
        WITH ranked AS (
            SELECT id, prefecture_code,
                   ROW_NUMBER() OVER (PARTITION BY prefecture_code
                                      ORDER BY received_at DESC, id DESC) AS pick
            FROM submissions
            WHERE fiscal_year = ? AND stage = ? AND status = 'accepted'
              AND prefecture_code IS NOT NULL
        ), cur AS (SELECT id, prefecture_code FROM ranked WHERE pick = 1)
        """
        ids = [int(r[0]) for r in self._rows(current + "SELECT id FROM cur",
                                             (fiscal_year, stage))]
        marks = ", ".join("?" * len(ids)) or "NULL"
        leaves = self._frame(f"""
            SELECT s.prefecture_code, l.submission_id, l.leaf_code
            FROM submission_leaves l JOIN submissions s ON s.id = l.submission_id
            WHERE l.submission_id IN ({marks})""", ids)
        cells = self._frame(f"""
            SELECT submission_id, leaf_code, field, number, text FROM submission_values
            WHERE submission_id IN ({marks})""", ids)
        fields = self._rows("SELECT field, kind FROM value_fields ORDER BY position, field")
        return wide_values(leaves, cells, fields)

    def submission_amounts(self, ids: list[int], fields: list[str] | None = None
                           ) -> "pd.DataFrame":
        """The values of the given submissions, wide; see ``Store.submission_amounts``."""
        import pandas as pd

        ids = sorted({int(i) for i in ids})
        known = self._rows("SELECT field, kind FROM value_fields ORDER BY position, field")
        if fields is not None:
            known = [(f, k) for f, k in known if f in set(fields)]
        only = ", ".join("?" * len(known)) or "NULL"
        names = [f for f, _ in known]
        chunks = [ids[i:i + _CHUNK] for i in range(0, len(ids), _CHUNK)] or [[]]
        leaves, cells = [], []
        for chunk in chunks:
            marks = ", ".join("?" * len(chunk)) or "NULL"
            # rows → frame directly: read_sql_query costs twice as much for these many cells
            leaves.append(pd.DataFrame(self._rows(f"""
                SELECT s.prefecture_code, l.submission_id, l.leaf_code, l.seq
                FROM submission_leaves l JOIN submissions s ON s.id = l.submission_id
                WHERE l.submission_id IN ({marks})""", chunk),
                columns=["prefecture_code", "submission_id", "leaf_code", "seq"]))
            cells.append(pd.DataFrame(self._rows(f"""
                SELECT submission_id, leaf_code, field, number, text FROM submission_values
                WHERE submission_id IN ({marks}) AND field IN ({only})""", [*chunk, *names]),
                columns=["submission_id", "leaf_code", "field", "number", "text"]))
        return wide_values(pd.concat(leaves, ignore_index=True) if len(leaves) > 1
                           else leaves[0],
                           pd.concat(cells, ignore_index=True) if len(cells) > 1 else cells[0],
                           known)

    def amounts_of(self, ids: list[int]) -> "pd.DataFrame":
        """The values of the given submissions, wide; see ``Store.amounts_of``."""
        ids = [int(i) for i in ids]
        marks = ", ".join("?" * len(ids)) or "NULL"
        leaves = self._frame(f"""
            SELECT s.prefecture_code, l.submission_id, l.leaf_code, s.stage, s.fiscal_year
            FROM submission_leaves l JOIN submissions s ON s.id = l.submission_id
            WHERE l.submission_id IN ({marks}) AND s.status = 'accepted'""", ids)
        cells = self._frame(f"""
            SELECT submission_id, leaf_code, field, number, text FROM submission_values
            WHERE submission_id IN ({marks})""", ids)
        fields = self._rows("SELECT field, kind FROM value_fields ORDER BY position, field")
        return wide_values(leaves, cells, fields)

    def stored_files(self) -> set[tuple[str, str]]:
        """(SHA-256, file name) of every stored submission."""
        return {(str(a), str(b)) for a, b in self._rows(
            "SELECT sha256, file_name FROM submissions")}

    def submission_for(self, sha256: str, file_name: str) -> dict[str, object] | None:
        """The stored submission of this file as a dict, or None; see
        ``Store.submission_for``."""
        df = self._frame(f"SELECT {', '.join(SUBMISSION_COLUMNS)} FROM submissions "
                         "WHERE sha256 = ? AND file_name = ?", (sha256, file_name))
        if df.empty:
            return None
        df = self._with_inputs(df, "id")
        return {k: (None if v is None or v != v else v.item() if hasattr(v, "item") else v)
                for k, v in df.iloc[0].to_dict().items()}

    def submission_details(self, ids: list[int]) -> "pd.DataFrame":
        """template_version, menu_fingerprint and size of the given submissions."""
        marks = ", ".join("?" * len(ids))
        return self._frame(
            "SELECT id AS submission_id, template_version, menu_fingerprint, size "
            f"FROM submissions WHERE id IN ({marks or 'NULL'})", [int(i) for i in ids])

    def first_errors(self, ids: list[int]) -> dict[int, str]:
        """The message of the first error finding of each given submission (one query)."""
        marks = ", ".join("?" * len(ids))
        rows = self._rows(
            f"""SELECT submission_id, message FROM (
                    SELECT submission_id, message, ROW_NUMBER() OVER (
                        PARTITION BY submission_id ORDER BY seq) AS n
                    FROM findings WHERE severity = 'error'
                      AND submission_id IN ({marks or 'NULL'})) AS firsts
                WHERE n = 1""", [int(i) for i in ids])
        return {int(sid): message for sid, message in rows}

    def findings(self, submission_id: int) -> list[Finding]:
        """The findings of one submission, in stored order."""
        rows = self._rows(
            """SELECT f.code, f.severity, f.message, s.file_name, f.sheet, f.cell, f.leaf_code,
                      f.leaf_name, f.value
               FROM findings f JOIN submissions s ON s.id = f.submission_id
               WHERE f.submission_id = ? ORDER BY f.seq""", (submission_id,))
        return [Finding(*r) for r in rows]

    def file_bytes(self, submission_id: int) -> bytes:
        """The original bytes of one submission's file."""
        rows = self._rows("SELECT content FROM files WHERE submission_id = ?", (submission_id,))
        if not rows:
            raise StoreError(f"提出 {submission_id} のファイルが見つかりません。"
                             "提出IDを確認してください。")
        return bytes(rows[0][0])


def wide_values(leaves: "pd.DataFrame", cells: "pd.DataFrame",
                fields: list[tuple[str, str]]) -> "pd.DataFrame":
    """The wide frame of ``Store.current_amounts`` from long values: ``leaves``
    (prefecture_code, submission_id, leaf_code: every leaf stored), ``cells``
    (submission_id, leaf_code, field, number, text: the non-blank ones) and ``fields``
    ((field, kind) in column order). One row per leaf, ordered by prefecture and leaf code;
    number fields as Int64, text fields as pandas makes text of a query (blank missing)."""
    import pandas as pd

    keys = ["submission_id", "leaf_code"]
    out = leaves.sort_values(["prefecture_code", "leaf_code"], kind="stable")
    out = out.reset_index(drop=True)
    index = pd.MultiIndex.from_frame(out[keys])
    numbers = cells[cells["number"].notna()]
    texts = cells[cells["text"].notna()]
    wide_numbers = numbers.pivot(index=keys, columns="field", values="number").reindex(index)
    wide_texts = texts.pivot(index=keys, columns="field", values="text").reindex(index)
    for name, kind in fields:
        if kind == NUMBER:
            col = (wide_numbers[name] if name in wide_numbers.columns
                   else pd.Series(None, index=index, dtype="float64"))
            out[name] = pd.array(col.to_numpy(), dtype="Int64") if len(col) else \
                pd.array([], dtype="Int64")
        else:
            col = (wide_texts[name].astype(object) if name in wide_texts.columns
                   else pd.Series(None, index=index, dtype="object"))
            out[name] = col.where(col.notna(), None).to_numpy()
    return out


def _execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Each statement of ``script`` in the open transaction (``executescript`` would COMMIT
    it first)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _plain(value: object, na: object) -> object:
    """A DataFrame cell as sqlite3 takes it: missing (``na``, NaN, None) → None, numpy
    scalars → Python scalars."""
    if value is None or value is na or (isinstance(value, float) and value != value):
        return None
    item = getattr(value, "item", None)
    return item() if callable(item) else value


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
