"""The reports of a fiscal year: store → analysis → render (``budget aggregate``,
``budget track``, ``budget diff``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from budget.errors import UsageError
from budget.render.outputs import DEFAULT_UNIT

if TYPE_CHECKING:
    import pandas as pd

    from budget.analysis.compare import Compare
    from budget.analysis.diff import SubmissionDiff
    from budget.analysis.summary import Summary
    from budget.analysis.track import Track
    from budget.render.outputs import Written
    from budget.store import Store
    from budget.store.location import Location



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


@dataclass
class TrackRun:
    track: Track
    written: list[Written]
    prefectures: "pd.DataFrame"  # ``analysis.track.by_prefecture``: what the command prints
    missing: dict[str, list[str]]  # ``analysis.track.missing_by_stage``


def track_year(db_path: str | Path, fiscal_year: int, out_dir: str | Path, *,
               menu_path: str | Path | None = None, unit: str = DEFAULT_UNIT,
               formats: Iterable[str] = (), low_rate: float | None = None,
               command_line: str = "", now: dt.datetime | None = None) -> TrackRun:
    """Open the store, follow the fund year through its stages (``analysis.track``), write
    the track workbook ``R5_執行管理.xlsx`` (and the tidy table in each of ``formats``) into
    ``out_dir``."""
    from budget.analysis.track import (
        DEFAULT_LOW_RATE,
        by_prefecture,
        load_track,
        missing_by_stage,
    )
    from budget.menu import load_menu
    from budget.render.track_workbook import (
        TRACK_UNITS,
        track_file_name,
        track_tidy_file_name,
        write_track_tidy,
        write_track_workbook,
    )
    from budget.store import open_store

    if unit not in TRACK_UNITS:
        raise UsageError(f"単位「{unit}」は使えません（{'、'.join(TRACK_UNITS)} のいずれか）。")
    rate = DEFAULT_LOW_RATE if low_rate is None else low_rate
    if not 0 <= rate <= 1000:
        raise UsageError(f"--low-rate {rate:g} は範囲外です（0～1000 の百分率で指定してください）。")
    with open_store(db_path, create=False, readonly=True, check=True) as store:
        menu = load_menu(fiscal_year, menu_path)
        track = load_track(store, fiscal_year, menu, low_rate=rate)
        location = store.location
    out = Path(out_dir)
    now = now or dt.datetime.now().astimezone()
    written = [write_track_workbook(track, out / track_file_name(fiscal_year, unit), unit=unit,
                                    command_line=command_line, now=now, db_path=location)]
    for fmt in dict.fromkeys(formats):
        written.append(write_track_tidy(track, out / track_tidy_file_name(fiscal_year, fmt),
                                        fmt, now=now))
    return TrackRun(track, written, by_prefecture(track), missing_by_stage(track))


@dataclass
class DiffRun:
    diff: SubmissionDiff
    written: Written | None


def diff_report(db_path: str | Path, *, prefecture: str | None = None,
                fiscal_year: int | None = None, from_id: int | None = None,
                to_id: int | None = None, out_dir: str | Path | None = None,
                now: dt.datetime | None = None) -> DiffRun:
    """What changed between two submissions: ``from_id`` → ``to_id``, or the last two
    accepted of ``prefecture`` (code) in ``fiscal_year`` (``analysis.diff.latest_pair``);
    the sheet written into ``out_dir`` unless it is None."""
    from budget.analysis.diff import diff_submissions, latest_pair
    from budget.render.diff_workbook import diff_file_name, write_diff_workbook
    from budget.store import open_store

    if (from_id is None) != (to_id is None):
        raise UsageError("--from と --to は両方指定してください。")
    with open_store(db_path, create=False, readonly=True, check=True) as store:
        if from_id is None or to_id is None:
            if prefecture is None or fiscal_year is None:
                raise UsageError("都道府県を指定するか、--from と --to で提出IDを指定してください。")
            from_id, to_id = latest_pair(store, prefecture, fiscal_year)
        diff = diff_submissions(store, from_id, to_id)
    written = None
    if out_dir is not None:
        written = write_diff_workbook(diff, Path(out_dir) / diff_file_name(diff), now=now)
    return DiffRun(diff, written)


def write_reports(summary: "Summary", out_dir: str | Path, *, unit: str = DEFAULT_UNIT,
                  command_line: str = "", by_bureau: bool = False,
                  formats: Iterable[str] = (), now: dt.datetime | None = None,
                  db_path: str | Path = "") -> "list[Written]":
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


@dataclass
class CompareRun:
    compare: "Compare"
    written: list[Written]


def compare_menus(years: list[int], menu_paths: Iterable[str | Path] = (),
                  crosswalk_paths: Iterable[str | Path] = (), *, store: "Store | None" = None,
                  passed: dict[str, str] | None = None
                  ) -> tuple[dict[int, "pd.DataFrame"], dict[int, "pd.DataFrame"]]:
    """(year → menu, year → the crosswalk from the year before into it) for ``years``: a
    menu from ``menu_paths`` when one is of that year, else the shipped one; a crosswalk from
    ``crosswalk_paths`` when its codes join the two years, else the shipped one; each file
    read once and checked (a menu by its schema, a crosswalk against its two menus). A pair
    without one is a ``UsageError``.

    ``store`` (only read): the files recorded there as having passed (``Store.checked_files``:
    keyed by their SHA-256, a crosswalk's with its two menus', valued by the version of the
    checks, ``budget.menu.checks_version``). A file whose very bytes were recorded as having
    passed these very checks is not checked again: the result could not differ. Any other
    file, or any change to the checks, the 担当課 list or the libraries, is checked.
    ``passed``: when given, the marks of the files this call checked and found sound are put
    there, for the caller to record (``compare_year`` does, in a write of its own)."""
    from budget.analysis.compare import code_year
    from budget.crosswalk import checked_crosswalk, read_crosswalk, shipped_crosswalk_path
    from budget.fiscal import era_code
    from budget.menu import (
        checks_version,
        content_digest,
        is_shipped_menu,
        load_menu,
        menu_path,
    )

    recorded = store.checked_files() if store is not None else {}
    version = checks_version() if store is not None else ""
    if passed is None:
        passed = {}

    def trusted(key: str) -> bool:
        if recorded.get(key) == version and store is not None:
            return True
        passed[key] = version
        return False

    def read(path: str | Path) -> tuple[bytes | None, str]:
        try:
            data = Path(path).read_bytes()
        except OSError:  # the reader says what is wrong with the file, in Japanese
            return None, ""
        return data, content_digest(data)

    given: dict[int, "pd.DataFrame"] = {}
    digest: dict[int, str] = {}
    for p in menu_paths:
        data, sha = read(p)
        # package data is trusted (None); any other file checked unless recorded
        validate = None if data is None or is_shipped_menu(p) else not trusted(f"menu:{sha}")
        menu = load_menu(None, p, content=data, validate=validate)
        year = int(menu["fiscal_year"].iloc[0])
        given[year], digest[year] = menu, sha
    menus = {}
    for y in years:
        if y in given:
            menus[y] = given[y]
        else:
            data, digest[y] = read(menu_path(y))
            menus[y] = load_menu(y, content=data)
    walks: dict[tuple[int | None, int | None], tuple["pd.DataFrame", str]] = {}
    for p in crosswalk_paths:
        data, sha = read(p)
        df = read_crosswalk(p, data)
        frm = next((code_year(c) for c in df["from_code"] if c), None)
        to = next((code_year(c) for c in df["to_code"] if c), None)
        walks[(frm, to)] = (df, sha)
    crosswalks = {}
    for prev, year in zip(years, years[1:]):
        if (prev, year) in walks:
            table, sha = walks[(prev, year)]
        else:
            shipped = shipped_crosswalk_path(prev, year)
            if shipped is None:
                raise UsageError(
                    f"{era_code(prev)} から {era_code(year)} への移行表（クロスウォーク）が"
                    "ありません。--crosswalk で移行表ファイルを指定してください。")
            data, sha = read(shipped)
            table = read_crosswalk(shipped, data)
        known = sha and digest[prev] and digest[year]
        key = f"crosswalk:{sha}:{digest[prev]}:{digest[year]}"
        crosswalks[year] = checked_crosswalk(table, menus[prev], menus[year],
                                             check=not (known and trusted(key)))
    return menus, crosswalks


def _record_checked(db_path: str | Path, passed: dict[str, str]) -> None:
    """Record ``passed`` (files that passed their checks) in the store at ``db_path`` in a
    short write of its own, after a report read the store read-only: a store the user may
    only read, or one busy with an ingest for more than 2 s, records nothing (the files are
    checked again next time; the report is not held up)."""
    from budget.errors import StoreError
    from budget.store import open_store

    if not passed:
        return
    try:
        with open_store(db_path, create=False, timeout=2.0) as store:
            store.record_checked(passed)
    except (StoreError, OSError):
        pass


def compare_year(db_path: str | Path, years: Iterable[int], out_dir: str | Path, *,
                 stage: str | None = None, menu_paths: Iterable[str | Path] = (),
                 crosswalk_paths: Iterable[str | Path] = (), formats: Iterable[str] = (),
                 command_line: str = "", now: dt.datetime | None = None) -> CompareRun:
    """Open the store, compare ``years`` (two or more) through the crosswalks between their
    menus (``analysis.compare``), write the compare workbook ``R5-R6_年度比較.xlsx`` (and the
    tidy table in each of ``formats``) into ``out_dir``."""
    from budget.analysis.compare import COMPARE_STAGES, load_compare
    from budget.render.compare_workbook import (
        compare_file_name,
        write_compare_tidy,
        write_compare_workbook,
    )
    from budget.store import open_store

    ys = sorted(set(years))
    if len(ys) < 2:
        raise UsageError("比べる年度を 2 つ以上指定してください（例: --years R5 R6）。")
    if stage is not None and stage not in (*COMPARE_STAGES, "revision"):
        raise UsageError(f"段階「{stage}」は年度比較できません。")
    menus: dict[int, "pd.DataFrame"] = {}
    crosswalks: dict[int, "pd.DataFrame"] = {}
    passed: dict[str, str] = {}
    with open_store(db_path, create=False, readonly=True, check=True) as store:
        if stage != "allocation":  # a 内示 has prefectures' figures only: no menu needed
            menus, crosswalks = compare_menus(ys, menu_paths, crosswalk_paths, store=store,
                                              passed=passed)
        comp = load_compare(store, ys, menus, crosswalks, stage)
        location = store.location
    _record_checked(db_path, passed)
    out = Path(out_dir)
    now = now or dt.datetime.now().astimezone()
    written = [write_compare_workbook(comp, out / compare_file_name(ys), menus=menus,
                                      command_line=command_line, now=now, db_path=location)]
    for fmt in dict.fromkeys(formats):
        written.append(write_compare_tidy(comp, out / compare_file_name(ys, fmt), fmt, now=now))
    return CompareRun(comp, written)
