"""The store: every submission, its findings, its original bytes and its values.

``Store`` (``budget.store.base``) is the interface the rest of the package uses;
``open_store(location)`` is the one way in. A path is a SQLite file (``budget.store.sqlite``);
a ``postgresql://`` URL a PostgreSQL database (``budget.store.postgres``, which alone imports
the driver). Both run the same SQL (``budget.store.sql``). Nothing outside this package
speaks SQL or imports a database driver.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from budget.errors import StoreError
from budget.store.base import PLAN_STAGE, Attribution, MissingStore, Saved, Store
from budget.store.location import Location, parse_location

__all__ = ["PLAN_STAGE", "Attribution", "Location", "MissingStore", "Saved", "Store",
           "StoreError", "as_location", "empty_store", "is_server_url", "open_store"]


def as_location(location: str | os.PathLike[str] | Location) -> Location:
    """A ``Location`` for a path, a URL or a ``Location`` (``LocationError``, a usage error,
    for a value that is neither)."""
    if isinstance(location, Location):
        return location
    return parse_location(location)


def open_store(location: str | os.PathLike[str] | Location, *, create: bool = True,
               timeout: float = 60.0, readonly: bool = False, check: bool = False) -> Store:
    """The store at ``location`` (a SQLite file path, a ``postgresql://`` URL, or a
    ``Location``), opened.

    ``create`` False: a store that does not exist is not made, ``MissingStore`` says so.
    ``readonly``: for commands that only read: nothing is created or migrated, and a file
    or folder the user may only read, or a read-only database role, is enough. ``check``:
    make sure first that the store is not damaged (SQLite's ``quick_check``; where a report
    is made from it). Otherwise an older store is migrated to the current schema.
    ``timeout``: seconds to wait for other processes using the same store.
    """
    where = as_location(location)
    if where.is_postgresql:
        from budget.store.postgres import PostgresStore

        return PostgresStore(where, timeout=timeout, readonly=readonly, create=create)
    from budget.store.sqlite import SQLiteStore

    path = where.path or Path(where.display)
    if (not create or readonly) and not path.is_file():
        raise MissingStore(
            f"データベース {where.display} がありません。先に budget ingest で提出ファイルを"
            "取り込むか、--db で場所を指定してください。")
    return SQLiteStore(where.display, timeout=timeout, readonly=readonly, check=check)


def is_server_url(location: str | os.PathLike[str] | Location) -> bool:
    """True when ``location`` names a database server (``postgresql://…``), not a file."""
    if isinstance(location, Location):
        return location.is_postgresql
    return re.match(r"^(postgresql|postgres)://", os.fspath(location), re.IGNORECASE) is not None


def empty_store() -> Store:
    """A new store that lives in memory only: what reading a store that does not exist yet
    shows (every prefecture 未提出)."""
    from budget.store.sqlite import SQLiteStore

    return SQLiteStore(":memory:")
