"""Looking after a store: create it (``budget db init``), migrate it (``budget db migrate``)
and copy it to another database, verified (``budget db copy``). Each is one function here; the
``budget db`` commands only parse, call and print.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from budget.errors import StoreError
from budget.store import as_location, open_store
from budget.store.location import Location
from budget.store.sql import SCHEMA_VERSION, TABLES, SQLStore


@dataclass(frozen=True)
class Prepared:
    """What ``init_store``/``migrate_store`` found and did."""

    location: str  # as it may be shown
    version: str  # the schema version now
    before: str | None  # the version before (None: created now); == version: nothing to do


def init_store(location: str | os.PathLike[str] | Location) -> Prepared:
    """Create the store's tables at ``location`` (a new SQLite file, or an empty PostgreSQL
    database), or migrate an older store; an existing current store is left as it is."""
    return _prepare(location, create=True)


def migrate_store(location: str | os.PathLike[str] | Location) -> Prepared:
    """Migrate the store at ``location`` to the current schema (numbered steps, one
    transaction; ``MissingStore`` when there is none; a store newer than this budget is
    refused)."""
    return _prepare(location, create=False)


def _prepare(location: str | os.PathLike[str] | Location, *, create: bool) -> Prepared:
    with open_store(as_location(location), create=create) as store:
        assert isinstance(store, SQLStore)
        before = None if store.created_now else (store.migrated_from or SCHEMA_VERSION)
        return Prepared(store.location, SCHEMA_VERSION, before)


@dataclass
class Copied:
    """What ``copy_store`` copied and checked."""

    source: str
    target: str
    counts: dict[str, int] = field(default_factory=dict)  # rows per table, equal on both
    verified: int = 0  # submissions whose bytes have the same SHA-256 on both sides


def copy_store(source: str | os.PathLike[str] | Location,
               target: str | os.PathLike[str] | Location,
               progress: Callable[[str, int], None] | None = None) -> Copied:
    """Copy every row of the store at ``source`` (original file bytes included, ids kept)
    into the empty store at ``target``, in one transaction, then verify: the number of rows
    of every table, and the SHA-256 of every submission's bytes on both sides against the
    one recorded. ``progress(table, rows so far)`` after each batch. The target must hold no
    submission yet (``StoreError`` otherwise; the source is never changed)."""
    src_where, dst_where = as_location(source), as_location(target)
    if _same(src_where, dst_where):
        raise StoreError(f"コピー元とコピー先が同じです（{src_where.display}）。"
                         "別のデータベースを指定してください。")
    with open_store(src_where, create=False, readonly=True, check=True) as src, \
            open_store(dst_where) as dst:
        assert isinstance(src, SQLStore) and isinstance(dst, SQLStore)
        result = Copied(src.location, dst.location)
        if any(dst.table_counts().values()):
            raise StoreError(
                f"コピー先のデータベース {dst.location} には既にデータがあります。"
                "何も変更していません。空のデータベースを指定してください。")
        try:
            with dst.transaction():
                for table in TABLES:
                    done = 0
                    for columns, rows in src.table_rows(table):
                        dst.insert_rows(table, columns, rows)
                        done += len(rows)
                        if progress is not None:
                            progress(table, done)
                dst.after_copy()
        except dst._driver_error as exc:
            raise dst._write_error(exc) from exc
        result.counts = src.table_counts()
        copied = dst.table_counts()
        if copied != result.counts:
            raise StoreError(f"コピーの検証に失敗しました: 件数が一致しません（コピー元 "
                             f"{result.counts}、コピー先 {copied}）。コピー先を空にして再実行して"
                             "ください。")
        result.verified = _verify_bytes(src, dst)
    return result


def _verify_bytes(src: SQLStore, dst: SQLStore) -> int:
    """The number of submissions whose bytes hash the same on both sides (and the sha256
    recorded on both sides agrees; a submission recorded without bytes is checked by its
    record); ``StoreError`` naming the first that does not."""
    recorded = {int(i): (str(d), str(n)) for i, d, n in src._rows(
        "SELECT id, sha256, file_name FROM submissions")}
    copied = {int(i): str(d) for i, d in dst._rows("SELECT id, sha256 FROM submissions")}
    kept = {int(r[0]) for r in src._rows("SELECT submission_id FROM files")}
    n = 0
    for sid, (digest, name) in sorted(recorded.items()):
        if sid not in kept:  # recorded without its bytes (too large to keep)
            if copied.get(sid) != digest:
                raise StoreError(f"コピーの検証に失敗しました: 提出 {sid}（{name}）の記録が一致"
                                 "しません。コピー先を空にして再実行してください。")
            continue
        a = hashlib.sha256(src.file_bytes(sid)).hexdigest()
        b = hashlib.sha256(dst.file_bytes(sid)).hexdigest()
        if not (a == b and copied.get(sid) == digest):
            raise StoreError(f"コピーの検証に失敗しました: 提出 {sid}（{name}）の内容が一致"
                             "しません。コピー先を空にして再実行してください。")
        n += 1
    return n


def _same(a: Location, b: Location) -> bool:
    if a.is_sqlite and b.is_sqlite and a.path is not None and b.path is not None:
        try:
            return a.path.resolve() == b.path.resolve()
        except OSError:
            return False
    return a.is_postgresql and b.is_postgresql and a.conninfo == b.conninfo
