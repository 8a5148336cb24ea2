"""Opening a received file: the one way ``ingest`` and ``validate`` read what a sender put in
the inbox, and the name it is stored and shown under.

``read_received(path, max_bytes)`` → ``Received``: the file's bytes, hash, size and times,
or why it was not read. Rules, the same for every caller:

* a link is never followed (``lstat`` first; ``O_NOFOLLOW`` where the system has it; on
  Windows, which has no such flag, the file opened is compared with the one looked at);
* only a regular file is read: a FIFO, a device, a socket or a folder is refused before it is
  opened (a FIFO would block a read forever, a device never ends);
* the size is checked before reading (``max_bytes``: ``Settings.max_file_bytes``, set by
  the environment variable ``BUDGET_MAX_FILE_MB``, 50 MB by default); a file above it is not
  read into memory: its SHA-256 is computed by streaming it in 1 MB blocks, so that it can
  be stored as rejected without its bytes;
* the read itself is bounded (a file that grows while it is read counts as too large).

``received_name(path)`` is the text a file name is stored and shown as. A name that is not
valid UTF-8 (a Shift_JIS name copied from an old share: ``os.fsdecode`` gives lone
surrogates, which no database, terminal or workbook can encode) keeps every byte: an
undecodable byte is written ``\\xNN`` and a backslash ``\\\\``, so the name is stored
losslessly (``original_name`` gives the file system's name back) and shown readably.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024
#: Files above this many bytes are not read (``BUDGET_MAX_FILE_MB`` overrides it). A
#: generated workbook is ~27 KB; the container's own limit (``MAX_FILE_BYTES``) is the same.
DEFAULT_MAX_FILE_BYTES = 50 * MB
MAX_FILE_ENV = "BUDGET_MAX_FILE_MB"
_BLOCK = MB

#: Why a file is not read (Japanese, for a note or a finding's ``{detail}``).
LINK_JA = "シンボリックリンクです（リンク先は読みません）"
NOT_REGULAR_JA = "通常のファイルではありません（パイプ・デバイス・ソケットなど）"


def max_file_bytes_setting() -> int:
    """The size limit of a received file in bytes: ``BUDGET_MAX_FILE_MB`` (a positive
    number of MB) when set, else ``DEFAULT_MAX_FILE_BYTES``. A value that is not a positive
    number raises ``UsageError``."""
    text = os.environ.get(MAX_FILE_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_FILE_BYTES
    try:
        mb = float(text)
    except ValueError:
        mb = 0.0
    if not mb > 0 or mb != mb or mb == float("inf"):
        from budget.errors import UsageError

        raise UsageError(f"環境変数 {MAX_FILE_ENV} の値「{text[:20]}」が正しくありません。"
                            "ファイルの上限サイズを MB 単位の正の数で指定してください（例: 50）。")
    return int(mb * MB)


# --- names -------------------------------------------------------------------------------
_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2})")


def received_name(path: str | Path) -> str:
    """The file name of ``path`` as stored and shown: the name itself when it is valid
    Unicode without a backslash (every name a clerk makes), else every undecodable byte as
    ``\\xNN`` and every backslash doubled (lossless: see ``original_name``)."""
    name = os.fspath(path)
    name = os.path.basename(name) or name
    if not _needs_escape(name):
        return name
    raw = os.fsencode(name)
    return raw.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


def _needs_escape(name: str) -> bool:
    return "\\" in name or any("\ud800" <= ch <= "\udfff" for ch in name)


def original_name(stored: str) -> str:
    """The file system's name of a name ``received_name`` made (its inverse)."""
    if "\\" not in stored:
        return stored
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(stored):
        out += stored[pos:m.start()].encode("utf-8")
        token = m.group(1)
        out += b"\\" if token == "\\" else bytes([int(token[1:], 16)])
        pos = m.end()
    out += stored[pos:].encode("utf-8")
    return os.fsdecode(bytes(out))


def name_note(path: str | Path) -> str | None:
    """A Japanese note for a name that is not valid UTF-8 (how it is shown, and how it reads
    as Shift_JIS when it does), else None."""
    name = os.path.basename(os.fspath(path))
    if not any("\ud800" <= ch <= "\udfff" for ch in name):
        return None
    note = "ファイル名が UTF-8 ではないため、読めない部分を \\xNN（バイトの値）で表示しています"
    try:
        as_sjis = os.fsencode(name).decode("cp932")
    except UnicodeDecodeError:
        as_sjis = None
    if as_sjis is not None and as_sjis.isprintable():
        note += f"（Shift_JIS として読むと「{as_sjis}」）"
    return note + "。"


# --- reading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One received file, read or refused."""

    path: Path
    name: str  # ``received_name``
    content: bytes | None = None  # None: not read (see ``refused`` / ``too_large``)
    sha256: str | None = None  # also for a file too large to read (streamed)
    size: int | None = None
    mtime: float | None = None  # the file's modification time (epoch seconds)
    refused: str | None = None  # Japanese: why the file was not read at all
    too_large: bool = False  # above the limit: hashed by streaming, bytes not kept
    #: the file is a link or not a regular file (``refused`` says which); False for an
    #: error of the operating system
    special: bool = False


def refusal(path: str | Path) -> str | None:
    """Why ``path`` is not read (a link, not a regular file; Japanese), from ``lstat``
    alone; None for a regular file. An ``OSError`` of ``lstat`` propagates."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return LINK_JA
    if not stat.S_ISREG(st.st_mode):
        return NOT_REGULAR_JA
    return None


def read_received(path: str | Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Received:
    """Read one received file by the rules of this module. Never raises for the file: an
    ``OSError`` becomes ``refused``."""
    path = Path(path)
    name = received_name(path)
    try:
        why = refusal(path)
        if why is not None:
            return Received(path, name, refused=why, special=True)
        return _read(path, name, max_bytes)
    except OSError as exc:
        if exc.errno == getattr(errno, "ELOOP", -1):
            return Received(path, name, refused=LINK_JA, special=True)  # O_NOFOLLOW
        return Received(path, name, refused=exc.strerror or type(exc).__name__)


def _read(path: Path, name: str, max_bytes: int) -> Received:
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0) \
        | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    before = os.lstat(path)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # replaced by something else since lstat
            return Received(path, name, refused=NOT_REGULAR_JA, special=True)
        if (st.st_dev, st.st_ino) != (before.st_dev, before.st_ino):  # swapped for a link
            return Received(path, name, refused=LINK_JA, special=True)
        digest = hashlib.sha256()
        if st.st_size > max_bytes:
            return _streamed(path, name, fd, digest, st)
        chunks: list[bytes] = []
        size = 0
        while True:
            block = os.read(fd, min(_BLOCK, max_bytes + 1 - size))
            if not block:
                break
            size += len(block)
            digest.update(block)
            chunks.append(block)
            if size > max_bytes:  # it grew while read: stream the rest, keep nothing
                return _streamed(path, name, fd, digest, st, size)
        content = b"".join(chunks)
        return Received(path, name, content, digest.hexdigest(), size, st.st_mtime)
    finally:
        os.close(fd)


def _streamed(path: Path, name: str, fd: int, digest: "hashlib._Hash",
              st: os.stat_result, size: int = 0) -> Received:
    """The rest of a file too large to keep, hashed block by block (bounded memory)."""
    while True:
        block = os.read(fd, _BLOCK)
        if not block:
            break
        size += len(block)
        digest.update(block)
    return Received(path, name, None, digest.hexdigest(), size, st.st_mtime, too_large=True)


def too_large_detail(size: int, max_bytes: int) -> str:
    """The ``{detail}`` of the ``oversized-workbook`` finding of a file not read."""
    from budget.xlsx.container import _mb

    return f"ファイルサイズ {_mb(size)} が上限 {_mb(max_bytes)} を超えているため、読み込んでいません"
