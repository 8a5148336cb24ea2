"""Writing a file so that a reader never sees half of it: the one "temporary file, then
rename" helper every writer of the package uses (workbooks, return copies, reports)."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

_UMASK_LOCK = threading.Lock()

#: How many ``name(2).ext``, ``name(3).ext``… ``fallback`` tries.
FALLBACK_LIMIT = 100


class ReplaceRefused(PermissionError):
    """``fallback``: neither the target nor any ``name(n).ext`` could be written."""


def current_umask() -> int:
    """The process umask, read without changing it where the system allows (Linux:
    ``/proc/self/status``); elsewhere set and restored at once under a lock."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def write_atomically(path: str | Path, data: bytes, *, exclusive: bool = False,
                     fallback: bool = False) -> Path:
    """Write ``data`` to ``path`` through a uniquely named temporary file in the same folder
    (made if needed), flushed to disk, then renamed: ``path`` is never half written, and two
    writers never share a temporary file. Returns the path written.

    The file gets the mode ``open()`` would create it with (``0o666 & ~umask``), not the
    temporary file's ``0o600``. The temporary file is removed whatever happens.

    ``exclusive``: never replace an existing ``path`` (``FileExistsError``); the name is
    taken atomically by a hard link (where links are refused: by an exclusive create, then a
    rename). ``fallback``: when ``path`` cannot be replaced (``PermissionError``: open in
    another application), write the first free ``stem(2).suffix``, ``stem(3).suffix``…
    instead; ``ReplaceRefused`` when none can be. Other failures raise their ``OSError``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            mode = 0o666 & ~current_umask()
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), mode)
            else:  # Windows: only the read-only bit means anything
                os.chmod(tmp, mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            _publish_exclusive(tmp, path)
            return path
        try:
            os.replace(tmp, path)
            return path
        except PermissionError:
            if not fallback:
                raise
        for n in range(2, FALLBACK_LIMIT):
            alt = path.with_name(f"{path.stem}({n}){path.suffix}")
            if alt.exists():
                continue
            try:
                os.replace(tmp, alt)
                return alt
            except PermissionError:
                continue
        raise ReplaceRefused(13, "置き換えられません", str(path))
    finally:
        tmp.unlink(missing_ok=True)


def _publish_exclusive(tmp: Path, path: Path) -> None:
    """Give the finished ``tmp`` the name ``path`` unless that exists (FileExistsError): a hard
    link is atomic and never replaces; where links are refused, the name is taken first with
    an exclusive create and then replaced."""
    try:
        os.link(tmp, path)
        return
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links
        pass
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    os.close(fd)
    os.replace(tmp, path)
