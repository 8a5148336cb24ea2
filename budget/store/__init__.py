"""The store: every submission, its findings, its original bytes and its values.

``Store`` (``budget.store.base``) is the interface the rest of the package uses;
``open_store(location)`` is the one way in. A path is a SQLite file (``budget.store.sqlite``);
a ``postgresql://`` URL is reserved for the server backend, which will implement the same
interface beside it. Nothing outside this package speaks SQL or imports a database driver.
"""

from __future__ import annotations

import re
from pathlib import Path

from budget.errors import StoreError
from budget.store.base import PLAN_STAGE, Attribution, Saved, Store

__all__ = ["PLAN_STAGE", "Attribution", "MissingStore", "Saved", "Store", "StoreError",
           "empty_store", "open_store"]

#: A database server URL (today refused with a message; see ``open_store``). A URL that went
#: through ``pathlib.Path`` has lost a slash (``postgresql:/…``): it is still a URL.
SERVER_URL = re.compile(r"^(postgresql|postgres)(\+\w+)?:/", re.IGNORECASE)


class MissingStore(StoreError):
    """``open_store(..., create=False)`` of a store that does not exist."""


def open_store(location: str | Path, *, create: bool = True, timeout: float = 60.0) -> Store:
    """The store at ``location``, opened (and migrated to the current schema if older).

    ``location``: a file path (SQLite). ``create`` False: a store that does not exist is not
    made, ``MissingStore`` says so. ``timeout``: seconds to wait for other processes using the
    same store. A server URL (``postgresql://…``) raises ``StoreError`` today; its backend
    goes here.
    """
    text = str(location)
    if is_server_url(text):
        # The PostgreSQL backend (budget.store.postgres) will be chosen here.
        raise StoreError(
            f"データベース {mask_password(text)} を開けません: PostgreSQL などのデータベース"
            "サーバーには、この版の budget はまだ対応していません。--db にはファイルの場所"
            "（例: budget.db）を指定してください。")
    from budget.store.sqlite import SQLiteStore

    if not create and (text == "" or not Path(text).is_file()):
        raise MissingStore(
            f"データベース {text} がありません。先に budget ingest で提出ファイルを取り込むか、"
            "--db で場所を指定してください。")
    return SQLiteStore(text, timeout=timeout)


def is_server_url(location: str | Path) -> bool:
    """True when ``location`` names a database server (``postgresql://…``), not a file."""
    return SERVER_URL.match(str(location)) is not None


def empty_store() -> Store:
    """A new store that lives in memory only: what reading a store that does not exist yet
    shows (every prefecture 未提出)."""
    from budget.store.sqlite import SQLiteStore

    return SQLiteStore(":memory:")


def mask_password(location: str) -> str:
    """``location`` as it may be shown: a URL's password replaced by ``***``."""
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*:/{1,2}[^:/@]*):[^@/]*@", r"\1:***@", location)
