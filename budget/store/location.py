"""Where the store is: what ``--db`` or the environment variable ``BUDGET_DB`` gives.

A path is a SQLite file (``budget.db``, ``C:\\budget\\budget.db``, ``\\\\server\\share\\b.db``);
``postgresql://user:password@host:port/dbname?sslmode=require`` (or ``postgres://``) is a
PostgreSQL server. The URL goes to libpq as it was given, so every libpq parameter passes
through (several hosts, ``sslmode``, ``sslrootcert``, ``connect_timeout``,
``application_name``, …) and libpq's own environment (``PGPASSFILE``, ``PGSSLMODE``, …) still
applies. What a user reads is ``Location.display``: the same URL with the password (in the
user part or as ``?password=``/``?sslpassword=``) replaced by ``***``.

Pure string work, no driver import: parsing a location costs nothing at start-up.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

from budget.errors import UsageError

#: The environment variable read when ``--db`` is not given.
ENV_VAR = "BUDGET_DB"
#: The store used when neither ``--db`` nor ``BUDGET_DB`` is given.
DEFAULT_PATH = Path("budget.db")
#: What replaces a password in ``Location.display``.
MASK = "***"
#: Query parameters whose value is a secret (libpq: ``password``, and ``sslpassword``, the
#: passphrase of the client key).
SECRET_PARAMETERS = frozenset({"password", "sslpassword"})

_POSTGRES_SCHEMES = ("postgresql", "postgres")
# Any "scheme://": a one-letter scheme is a Windows drive (C:/x), never a URL.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+)://")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_QUERY_ITEM = re.compile(r"&(?=[A-Za-z_][A-Za-z0-9_]*=)")

Kind = Literal["sqlite", "postgresql"]


class LocationError(UsageError):
    """``--db`` or ``BUDGET_DB`` is neither a usable path nor a PostgreSQL URL (exit 2)."""


@dataclass(frozen=True)
class Location:
    """A parsed store location.

    ``kind`` is "sqlite" (``path`` set) or "postgresql" (``conninfo`` set: the URL for
    libpq, password included: never print it). ``display`` is for every message and the
    summary's 出典; ``str()`` and ``repr()`` give only that.
    """

    kind: Kind
    display: str
    path: Path | None = None
    conninfo: str | None = field(default=None, repr=False)

    @property
    def is_sqlite(self) -> bool:
        return self.kind == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.kind == "postgresql"

    def __str__(self) -> str:
        return self.display

    def __fspath__(self) -> str:
        """A SQLite location is its file's path (``Path(location)`` works); a server URL is
        no path (TypeError)."""
        if self.path is None:
            raise TypeError(f"{self.display} はファイルのパスではありません")
        return str(self.path)

    def __repr__(self) -> str:
        return f"Location({self.kind}, {self.display})"


def resolve_location(given: str | os.PathLike[str] | None,
                     environ: Mapping[str, str] | None = None) -> Location:
    """The location ``--db`` gives, else ``BUDGET_DB`` (when set and not blank), else
    ``budget.db`` in the current folder. Raises LocationError naming where the bad value
    came from."""
    if given is not None:
        return parse_location(given, source="--db")
    env = os.environ if environ is None else environ
    value = env.get(ENV_VAR, "")
    if value.strip():
        return parse_location(value, source=f"環境変数 {ENV_VAR}")
    return parse_location(DEFAULT_PATH)


def parse_location(text: str | os.PathLike[str], *, source: str = "--db") -> Location:
    """A Location for a path or a ``postgresql://``/``postgres://`` URL; ``source`` names
    where the text came from in error messages. Raises LocationError for an empty value, a
    control character, another URL scheme, or a URL libpq would read otherwise than
    shown."""
    if isinstance(text, os.PathLike):
        text = os.fspath(text)
    if not text.strip():
        raise LocationError(f"{source} が空です。SQLite のファイルのパスか "
                            "postgresql://… の URL を指定してください。")
    scheme = _SCHEME.match(text)
    if scheme is None:
        if _CONTROL.search(text):
            raise LocationError(f"{source} のパスに制御文字が含まれています"
                                f"（{_printable(text)}）。パスを確かめてください。")
        return Location("sqlite", display=text, path=Path(text))
    name = scheme.group(1).lower()
    if name not in _POSTGRES_SCHEMES:
        hint = ("SQLite はファイルのパスをそのまま指定してください（例: budget.db）。"
                if name.startswith("sqlite") else
                "SQLite のファイルのパスか postgresql://… の URL を指定してください。")
        raise LocationError(f"{source} の {name}:// は使えません。{hint}")
    return _postgresql(text, scheme.end(), source)


def mask_url(text: str) -> str:
    """``text`` with the password of a ``scheme://user:password@…`` URL and the values of
    ``password=``/``sslpassword=`` query parameters replaced by ``***``; anything that is
    not such a URL is returned unchanged. Errs on the side of hiding: everything between
    the first ":" after the user name and the last "@" of the text is hidden, so a password
    with a raw "/", "?" or "@" in it never shows, and a secret parameter's value runs to the
    next ``&name=``. Also for messages that quote a URL from elsewhere (a driver's error)."""
    scheme = _SCHEME.match(text)
    if scheme is None:
        return text
    rest = text[scheme.end():]
    at = rest.rfind("@")
    if at >= 0:
        user, colon, _ = rest[:at].partition(":")
        if colon:
            rest = f"{user}:{MASK}{rest[at:]}"
    else:  # no "@": a "user:password/db" typed without a host must not show its password
        end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
        rest = ",".join(_mask_port(h) for h in rest[:end].split(",")) + rest[end:]
    head, sep, query = rest.partition("?")
    return text[:scheme.end()] + head + sep + _mask_query(query)


# --- internals ----------------------------------------------------------------------------

def _postgresql(text: str, start: int, source: str) -> Location:
    display = mask_url(text)

    def refuse(what: str) -> LocationError:
        return LocationError(f"{source} の URL {_printable(display)} を読めません: {what}。"
                             "形式は postgresql://ユーザー:パスワード@ホスト:ポート/データベース名"
                             " です（パスワードは ~/.pgpass か PGPASSFILE に書くこともできます）。")

    if _CONTROL.search(text) or " " in text:
        raise refuse("空白や制御文字が含まれています（URL では %20 のように書きます）")
    rest = text[start:]
    head = rest.split("?", 1)[0]
    authority, _, dbname = head.partition("/")
    if rest.count("@") > 1 or "@" in rest[len(authority):]:
        raise refuse("ユーザー名・パスワード・データベース名の @ / : ? & は "
                     "%40 %2F %3A %3F %26 のように書いてください")
    hosts = authority.rpartition("@")[2]
    for host in hosts.split(","):
        port = host.rpartition("]")[2] if host.startswith("[") else host
        _, colon, digits = port.rpartition(":")
        if colon and digits and not digits.isdigit():
            raise refuse("ポートが数字ではありません")
    if "/" in dbname:
        raise refuse("データベース名の / は %2F と書いてください")
    query = rest.partition("?")[2]
    for item in filter(None, _QUERY_ITEM.split(query)):
        if "=" not in item or "&" in item:
            raise refuse("? の後は 名前=値 を & でつないでください（値の & は %26）")
    name = text[:start].lower()  # libpq knows the scheme in lower case only
    return Location("postgresql", display=display, conninfo=name + rest)


def _mask_query(query: str) -> str:
    """``a=1&password=x`` → ``a=1&password=***`` (names percent-decoded, any case); a
    secret's value runs to the next ``&name=`` (a raw "&" in a password stays hidden)."""
    items = _QUERY_ITEM.split(query) if query else []
    for i, item in enumerate(items):
        key, eq, _ = item.partition("=")
        if eq and unquote(key).strip().lower() in SECRET_PARAMETERS:
            items[i] = f"{key}={MASK}"
    return "&".join(items)


def _mask_port(host: str) -> str:
    """``host:port`` unchanged when the port is a number, else ``host:***`` (it may be a
    password)."""
    if host.startswith("["):
        return host
    name, colon, port = host.rpartition(":")
    return host if not colon or port.isdigit() else f"{name}:{MASK}"


def _printable(text: str) -> str:
    """``text`` with control characters shown as ``\\xNN`` (never raw in a message)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
