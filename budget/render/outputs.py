"""How a report file reaches the disk, atomically (``budget.reports.write_reports`` writes
the files of one ``budget aggregate`` run through it).

* ``write_bytes_atomically(path, data)`` — how each of them reaches the disk: a temporary
  file in the target folder moved into place (``files.write_atomically``), so a crash never
  leaves a half-written report. When the target cannot be replaced (open in Excel on
  Windows: ``PermissionError``) the file is written beside it as ``name(2).xlsx``.
* ``Written`` — what each writer returns: the file's kind, where it went, where it was
  meant to go (so the command can say that a fallback name was used).

Files get the mode a plain ``open()`` would give them (``0o666`` less the umask), not the
temporary file's private ``0o600``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from budget.errors import OutputError

DEFAULT_UNIT = "千円"


@dataclass(frozen=True)
class Written:
    """One output file: where it went, and where it was meant to go."""

    kind: str  # Japanese: 集計表, 担当課別集計表, 明細 CSV, …
    path: Path
    requested: Path

    @property
    def fallback(self) -> bool:
        """True when the requested file could not be replaced and ``path`` is beside it."""
        return self.path != self.requested


def write_bytes_atomically(path: str | Path, data: bytes) -> Path:
    """``files.write_atomically`` with ``fallback`` (a report open in Excel is written
    beside it as ``stem(2).suffix``…); returns the path written. Raises ``OutputError`` when
    nothing can be written."""
    from budget.files import ReplaceRefused, write_atomically

    path = Path(path)
    try:
        return write_atomically(path, data, fallback=True)
    except ReplaceRefused:
        raise OutputError(
            f"{path} を置き換えられません（他のアプリケーションで開かれている可能性があります）。"
            "ファイルを閉じてから再実行してください。") from None
    except OSError as exc:
        if not path.parent.is_dir():
            raise OutputError(f"フォルダ {path.parent} に書き込めません（{exc}）。") from exc
        raise OutputError(f"{path} を書き込めません（{exc}）。") from exc
