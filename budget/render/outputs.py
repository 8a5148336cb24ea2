"""The files of one ``budget aggregate`` run, each written atomically.

* ``write_reports(summary, out_dir, …)`` — the summary workbook (optionally one per 担当課,
  ``budget.render.summary_workbook``) and the tidy CSV / JSON (``budget.render.tidy``).
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

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from budget.errors import OutputError

if TYPE_CHECKING:
    from budget.analysis.summary import Summary

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


def write_reports(summary: Summary, out_dir: str | Path, *, unit: str = DEFAULT_UNIT,
                  command_line: str = "", by_bureau: bool = False,
                  formats: Iterable[str] = (), now: dt.datetime | None = None,
                  db_path: str | Path = "") -> list[Written]:
    """The summary workbook, optionally one per 担当課, and the tidy table in each of
    ``formats`` ("csv", "json"), written into ``out_dir``; returns them in that order."""
    from budget.analysis import summary as ag
    from budget.render.summary_workbook import summary_file_name, write_summary_workbook
    from budget.render.tidy import tidy_file_name, write_tidy

    out = Path(out_dir)
    now = now or dt.datetime.now().astimezone()
    written = [write_summary_workbook(
        summary, out / summary_file_name(summary.fiscal_year, unit), unit=unit,
        command_line=command_line, now=now, db_path=db_path)]
    if by_bureau:
        for bureau in ag.bureaus_of(summary):
            part = ag.summary_for_bureau(summary, bureau)
            written.append(write_summary_workbook(
                part, out / summary_file_name(summary.fiscal_year, unit, bureau), unit=unit,
                command_line=command_line, now=now, db_path=db_path, kind="担当課別集計表"))
    for fmt in dict.fromkeys(formats):
        written.append(write_tidy(summary, out / tidy_file_name(summary.fiscal_year, fmt), fmt,
                                  now=now))
    return written
