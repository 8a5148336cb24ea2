"""Which of a run's files of one prefecture, stage and year is the newer.

A folder may hold two versions of one plan (``13_東京都_R5_計画.xlsx`` and
``13_東京都_R5_計画 (2).xlsx``); their names say nothing reliable about which is newer. The
store makes the last submission received *current*, so each file of such a group is given a
receipt time that puts it in the right place among the group's files of the run
(``RunOrder.received_at``), while files are still saved one at a time as they come (memory
stays flat in the number of files):

1. the workbook's own last-saved time (``docProps/core.xml``: ``FileReport.saved_at``),
2. else, when either file has none or both say the same, the file's modification time,
3. else they cannot be ordered: folder (name) order is kept and the run says so, a warning.

The receipt time of a file placed before another of the run lies between its neighbours'
(microseconds apart: what a person sees is the same run). At the end of the run
``RunOrder.explain`` adds a note to every file of such a group saying which basis decided,
the order and which file is now current; the output and the run report show it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from budget.intake.results import FileResult
    from budget.store import Store

Key = tuple[str, int, str]  # (prefecture code, fiscal year, stage)
_MICRO = dt.timedelta(microseconds=1)


def now_utc() -> str:
    """A receipt time as the store writes one (ISO 8601 UTC, microseconds)."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


@dataclass
class Member:
    """One stored file of a group in this run."""

    result: "FileResult"
    saved_at: str | None  # the workbook's last-saved time (UTC ISO), if known
    mtime: float | None  # the file's modification time
    received_at: str  # the receipt time it was stored with


def compare(a: Member, b: Member) -> tuple[int, str | None]:
    """(-1 a older, 1 a newer, 0 cannot tell; the basis: "saved", "mtime" or None)."""
    if a.saved_at and b.saved_at and a.saved_at != b.saved_at:
        return (-1 if _utc(a.saved_at) < _utc(b.saved_at) else 1), "saved"
    if a.mtime is not None and b.mtime is not None and a.mtime != b.mtime:
        return (-1 if a.mtime < b.mtime else 1), "mtime"
    return 0, None


def _utc(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


@dataclass
class RunOrder:
    """The groups of one run (files of one prefecture, stage and year stored in it)."""

    started: str  # the run's start as a receipt time: earlier runs' files are before it
    groups: dict[Key, list[Member]] = field(default_factory=dict)
    #: (year, stage) → prefecture → (submission id, file name, receipt time) of the current
    #: submissions, read once and again after each new file is stored
    _current: dict[tuple[int, str], dict[str, tuple[int, str, str]]] = field(
        default_factory=dict)

    def received_at(self, key: Key | None, saved_at: str | None, mtime: float | None) -> str:
        """The receipt time to store a new file of group ``key`` with: now, unless a file of
        the group stored earlier in this run is newer; then just before the oldest such."""
        now = now_utc()
        members = self.groups.get(key, []) if key is not None else []
        probe = Member(None, saved_at, mtime, now)  # type: ignore[arg-type]
        i = len(members)
        while i > 0 and compare(members[i - 1], probe)[0] > 0:
            i -= 1
        if i == len(members):
            return now
        low = _utc(members[i - 1].received_at if i > 0 else self.started)
        high = _utc(members[i].received_at)
        middle = low + (high - low) / 2
        middle = max(low + _MICRO, min(middle, high - _MICRO))
        return middle.isoformat(timespec="microseconds")

    def add(self, key: Key | None, member: Member) -> None:
        """Record a file stored in this run (in receipt order)."""
        self._current.clear()
        if key is None:
            return
        members = self.groups.setdefault(key, [])
        members.append(member)
        members.sort(key=lambda m: _utc(m.received_at))

    def explain(self) -> None:
        """Add to every file of a group of two or more the note saying how they were
        ordered and which is current (a warning where two could not be ordered)."""
        from budget.intake.results import add_note

        for members in self.groups.values():
            if len(members) > 1:
                note = _group_note(members)
                long = len(members) > LISTED
                for i, m in enumerate(members, 1):
                    add_note(m.result, note + (f"このファイルは古いほうから {i} 件目です。"
                                               if long else ""))


    def not_current_note(self, store: "Store", result: "FileResult") -> str | None:
        """For an accepted file stored before (``登録済み（変更なし）``) that is not its
        prefecture's current submission: the note saying so plainly, naming the current
        one (a re-sent older file changes nothing). None otherwise."""
        from budget.store import PLAN_STAGE

        code, year = result.prefecture_code, result.report.fiscal_year
        if code is None or year is None:
            return None
        current = self._current.get((year, PLAN_STAGE))
        if current is None:
            df = store.current_submissions(year, PLAN_STAGE)
            current = {str(r.prefecture_code): (int(r.submission_id), str(r.file_name),
                                                str(r.received_at))
                       for r in df.itertuples() if r.status == "accepted"}
            self._current[(year, PLAN_STAGE)] = current
        now = current.get(code)
        if now is None or now[0] == result.submission_id:
            return None
        sid, name, received = now
        return (f"このファイルは以前に登録済みのため、何も変わりません（{DUPLICATE}）。"
                f"現在の提出（集計に使うもの）は、その後に登録された {name}（提出ID {sid}、"
                f"{_shown_time(received)} 受付）のままです。古い版を送り直した場合は、"
                "このままで問題ありません。")


DUPLICATE = "登録済み（変更なし）"


def _shown_time(iso: str) -> str:
    from budget.fiscal import local_time, short_time

    return short_time(local_time(iso))[:16]


def _describe(m: Member) -> str:
    if m.saved_at:
        return f"{m.result.file}（ブックの保存日時 {_shown_time(m.saved_at)}）"
    if m.mtime is not None:
        mtime = dt.datetime.fromtimestamp(m.mtime, dt.timezone.utc).isoformat()
        return f"{m.result.file}（保存日時の記録なし、ファイルの更新日時 {_shown_time(mtime)}）"
    return f"{m.result.file}（保存日時・更新日時とも不明）"


#: a group of more files than this is listed by its first and last ones (the note is on
#: every file of the group: listing all would make a batch's notes grow with its square)
LISTED = 6


def _listed(items: list[str]) -> list[str]:
    """``items``, or the first three and the last two around 「…（ほか N 件）…」."""
    if len(items) <= LISTED:
        return items
    return [*items[:3], f"…（ほか {len(items) - 5} 件）…", *items[-2:]]


def _group_note(members: list[Member]) -> str:
    bases = []
    ties = []
    for older, newer in zip(members, members[1:]):
        order, basis = compare(older, newer)
        bases.append(basis)
        if order == 0:
            ties.append((older, newer))
    if all(b == "saved" for b in bases):
        how = "ブックの保存日時"
    elif all(b == "mtime" for b in bases):
        how = "ファイルの更新日時（ブックの保存日時の記録がないか、同じため）"
    else:
        how = "ブックの保存日時（記録がないか同じものはファイルの更新日時）"
    note = (f"同じ都道府県・年度の提出がこの取込に {len(members)} 件あり、{how}で新旧を判断して"
            f"古い順に登録しました: {' → '.join(_listed([_describe(m) for m in members]))}。")
    accepted = [m for m in members if m.result.status == "accepted"]
    if accepted:
        note += f"現在の提出（集計に使うもの）は {accepted[-1].result.file} です。"
    if ties:
        pairs = _listed([f"{older.result.file} と {newer.result.file}" for older, newer in ties])
        note += (f"【要確認】{'、'.join(pairs)} は保存日時も更新日時も同じため新旧を判断できず、"
                 "フォルダ内の名前順に登録しました。どちらが新しい版か提出元に確認し、新しいほうを"
                 "送り直してもらってください。")
    return note
