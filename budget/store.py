"""The SQLite store: every submission, its findings, its original bytes, and the amounts of
accepted ones. Nothing else in the package speaks SQL.

A resubmission is a new submission: the newest accepted one per (fiscal year, stage,
prefecture) is *current*, earlier ones stay. The same bytes twice are one submission.
Each file is saved in one transaction; WAL and a busy timeout let two ingests run at once
and a killed process leave the database consistent.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from budget import layout
from budget.errors import StoreError
from budget.findings import FileReport, Finding

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = "1"
PLAN_STAGE = "plan"  # 計画; later stages (交付決定, 変更, 実績) get their own names
HEADER_KEYS = tuple(layout.HEADER_INPUTS)  # department, contact_name, phone, email
AMOUNT_COLUMNS = layout.MONEY_KEYS  # total, national, prefectural, fund, other, public, private, commissioned
TEXT_COLUMNS = layout.TEXT_KEYS  # implementer, output, remarks

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL UNIQUE,
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
);
CREATE INDEX IF NOT EXISTS submissions_by_year
    ON submissions (fiscal_year, stage, prefecture_code, status, received_at);
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
    created: bool  # False: the same bytes were stored before; nothing changed


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


class Store:
    """An open store. Use as a context manager, or call ``close``."""

    def __init__(self, path: str | Path, *, timeout: float = 60.0) -> None:
        self.path = Path(path)
        try:
            self.conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            self.conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"データベース {self.path} を開けません（{exc}）。budget のデータベースか確認してください。"
            ) from exc

    def _migrate(self) -> None:
        with self.transaction():
            # executescript would COMMIT the open transaction first: one statement at a time.
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.conn.execute(statement)
            row = self.conn.execute(
                "SELECT value FROM store_meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                self.conn.execute("INSERT INTO store_meta VALUES ('schema_version', ?)",
                                  (SCHEMA_VERSION,))
            elif row[0] != SCHEMA_VERSION:
                raise StoreError(
                    f"データベース {self.path} の版 {row[0]} はこの budget（版 {SCHEMA_VERSION}）"
                    "では扱えません。")

    def transaction(self) -> "_Transaction":
        return _Transaction(self.conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing ------------------------------------------------------------------------

    def save(self, report: FileReport, content: bytes, *, received_at: str | None = None,
             stage: str = PLAN_STAGE) -> Saved:
        """Store one received file, its findings and (if accepted) its amounts, atomically."""
        with self.transaction():
            row = self.conn.execute("SELECT id FROM submissions WHERE sha256 = ?",
                                    (report.sha256,)).fetchone()
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

    def sha256s(self) -> set[str]:
        """The SHA-256 of every stored file."""
        return {r[0] for r in self.conn.execute("SELECT sha256 FROM submissions")}

    def submission_by_sha256(self, sha256: str) -> dict[str, object] | None:
        """The stored submission with these bytes (a dict of its columns), or None."""
        cur = self.conn.execute("SELECT * FROM submissions WHERE sha256 = ?", (sha256,))
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

    def rejected_submissions(self, fiscal_year: int, stage: str = PLAN_STAGE) -> list[tuple]:
        """Rejected submissions of the year, and those too broken to have a year, newest
        first: (id, file_name, sha256, received_at, prefecture_code, fiscal_year, n_errors,
        n_warnings)."""
        return self.conn.execute(
            "SELECT id, file_name, sha256, received_at, prefecture_code, fiscal_year, n_errors, "
            "n_warnings FROM submissions WHERE status = 'rejected' AND stage = ? "
            "AND (fiscal_year = ? OR fiscal_year IS NULL) ORDER BY received_at DESC, id DESC",
            (stage, fiscal_year)).fetchall()

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

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


def open_store(path: str | Path) -> Store:
    """Open (creating if needed) the store at ``path``."""
    return Store(path)
