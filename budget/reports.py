"""The summary reports of a fiscal year: store → analysis → render (``budget aggregate``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from budget.errors import UsageError

if TYPE_CHECKING:
    from budget.analysis.summary import Summary
    from budget.render.outputs import Written
    from budget.store.location import Location

DEFAULT_UNIT = "千円"


@dataclass
class AggregateRun:
    summary: Summary
    written: list[Written]

    @property
    def incomplete(self) -> bool:
        """True when a prefecture is missing or has no accepted submission."""
        return not self.summary.complete


def aggregate_year(db_path: str | Path | Location, fiscal_year: int,
                   out_dir: str | Path, *,
                   menu_path: str | Path | None = None, unit: str = DEFAULT_UNIT,
                   by_bureau: bool = False, formats: Iterable[str] = (),
                   command_line: str = "", now: dt.datetime | None = None) -> AggregateRun:
    """Open the store, load the year's current accepted plans, write the reports."""
    from budget.analysis.summary import load_summary
    from budget.menu import load_menu
    from budget.render.outputs import write_reports
    from budget.render.summary_workbook import UNITS
    from budget.store import open_store

    if unit not in UNITS:
        raise UsageError(f"単位「{unit}」は使えません（{'、'.join(UNITS)} のいずれか）。")
    with open_store(db_path, create=False, readonly=True, check=True) as store:
        menu = load_menu(fiscal_year, menu_path)
        summary = load_summary(store, fiscal_year, menu)
        location = store.location
    written = write_reports(summary, out_dir, unit=unit, command_line=command_line,
                            by_bureau=by_bureau, formats=formats, now=now, db_path=location)
    return AggregateRun(summary, written)
