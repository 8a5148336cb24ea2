"""Two versions of one prefecture's plan (issue 12, item 3): the newer by the workbook's own
last-saved time becomes current whatever the names' order, the run says which basis decided,
warns when two cannot be ordered, and answers a re-sent older file plainly. Real workbooks,
a real SQLite store, the CLI as a subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from budget.analysis.status import submission_status
from budget.intake.batch import ingest_folder
from budget.intake.check import Settings, check_bytes
from budget.intake.results import DUPLICATE_JA
from budget.store import open_store
from tests.conftest import rewrite_parts
from tests.test_ingest import file_name, good_rows, plan_bytes

SETTINGS = Settings(fiscal_year=2023)
TOKYO = file_name("13")  # 13_東京都_R5_計画.xlsx
TOKYO_2 = "13_東京都_R5_計画 (2).xlsx"  # sorts before TOKYO (" " < ".")


def version(folder: Path, name: str, scale: int, modified: str | None,
            mtime: float | None = None) -> Path:
    """A Tokyo plan (funds ``scale`` × 300 + 600 + 900 …) whose core properties say it was
    last saved at ``modified`` (None: no such element), with the file time ``mtime``."""
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / f".src-{name}"
    src.write_bytes(plan_bytes("13", good_rows(n=3, scale=scale)))

    def edit(xml: str) -> str:
        element = re.compile(r"<dcterms:modified[^>]*>[^<]*</dcterms:modified>")
        assert element.search(xml)
        if modified is None:
            return element.sub("", xml)
        return element.sub('<dcterms:modified xsi:type="dcterms:W3CDTF">'
                           f"{modified}</dcterms:modified>", xml)

    path = rewrite_parts(src, folder / name, {"docProps/core.xml": edit})
    src.unlink()
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def current(db: Path) -> tuple[str, int]:
    with open_store(db) as store:
        row = submission_status(store, 2023).set_index("prefecture_code").loc["13"]
        return str(row["file_name"]), int(row["fund_total"])


def test_the_workbook_knows_when_it_was_last_saved(tmp_path):
    path = version(tmp_path, TOKYO, 1, "2026-11-20T01:02:03Z")
    assert check_bytes(path.read_bytes(), path.name, SETTINGS).saved_at == \
        "2026-11-20T01:02:03+00:00"
    path = version(tmp_path, "b.xlsx", 1, None)
    assert check_bytes(path.read_bytes(), path.name, SETTINGS).saved_at is None


def test_the_newer_by_last_saved_time_becomes_current_whatever_the_names(tmp_path):
    inbox = tmp_path / "in"
    # "(2)" sorts first but is the newer; its file time says the opposite, and loses
    version(inbox, TOKYO_2, 2, "2026-11-20T05:00:00Z", mtime=1_000_000)
    version(inbox, TOKYO, 1, "2026-11-19T05:00:00Z", mtime=2_000_000)
    db = tmp_path / "b.db"
    run = ingest_folder(inbox, db, SETTINGS, tmp_path / "reports", workers=0)
    assert [r.file for r in run.results] == [TOKYO_2, TOKYO]  # saved in folder order
    assert all(r.created and r.status == "accepted" for r in run.results)
    assert current(db) == (TOKYO_2, 3600)  # scale 2: (300 + 600 + 900) × 2
    for r in run.results:
        assert r.note is not None
        assert "ブックの保存日時で新旧を判断して古い順に登録しました" in r.note
        assert f"現在の提出（集計に使うもの）は {TOKYO_2} です。" in r.note
        assert r.note.index(f"{TOKYO}（ブックの保存日時") < r.note.index(f"{TOKYO_2}（ブックの")
    # the run report says it too
    ws = openpyxl.load_workbook(run.report_path)["取込結果"]
    notes = [row[10].value for row in ws.iter_rows(min_row=2) if row[0].value == TOKYO_2]
    assert notes and "ブックの保存日時で新旧を判断" in notes[0]


def test_without_a_last_saved_time_the_file_time_decides(tmp_path):
    inbox = tmp_path / "in"
    version(inbox, TOKYO_2, 2, None, mtime=2_000_000)  # newer by its file time
    version(inbox, TOKYO, 1, "2026-11-19T05:00:00Z", mtime=1_000_000)
    db = tmp_path / "b.db"
    run = ingest_folder(inbox, db, SETTINGS, None, workers=0)
    assert current(db) == (TOKYO_2, 3600)
    note = run.results[0].note or ""
    assert "ファイルの更新日時（ブックの保存日時の記録がないか、同じため）で新旧を判断" in note
    assert f"{TOKYO_2}（保存日時の記録なし、ファイルの更新日時" in note


def test_two_that_cannot_be_ordered_keep_folder_order_with_a_warning(tmp_path):
    inbox = tmp_path / "in"
    version(inbox, TOKYO_2, 2, "2026-11-20T05:00:00Z", mtime=1_000_000)
    version(inbox, TOKYO, 1, "2026-11-20T05:00:00Z", mtime=1_000_000)
    db = tmp_path / "b.db"
    run = ingest_folder(inbox, db, SETTINGS, None, workers=0)
    assert current(db) == (TOKYO, 1800)  # the later by name, as before
    for r in run.results:
        assert f"【要確認】{TOKYO_2} と {TOKYO} は保存日時も更新日時も同じため新旧を判断できず" \
            in (r.note or "")


def test_three_versions_in_any_order_end_with_the_newest_current(tmp_path):
    inbox = tmp_path / "in"
    version(inbox, "13_東京都_R5_計画 (1).xlsx", 2, "2026-11-20T05:00:00Z")
    version(inbox, "13_東京都_R5_計画 (2).xlsx", 3, "2026-11-21T05:00:00Z")  # the newest
    version(inbox, "13_東京都_R5_計画 (3).xlsx", 1, "2026-11-19T05:00:00Z")
    db = tmp_path / "b.db"
    ingest_folder(inbox, db, SETTINGS, None, workers=0)
    assert current(db) == ("13_東京都_R5_計画 (2).xlsx", 5400)
    with open_store(db) as store:  # the store's order is the workbooks' order
        names = list(store.submissions(2023).sort_values("received_at")["file_name"])
    assert names == ["13_東京都_R5_計画 (3).xlsx", "13_東京都_R5_計画 (1).xlsx",
                     "13_東京都_R5_計画 (2).xlsx"]


def test_an_older_file_sent_again_after_a_newer_one_changes_nothing_and_says_so(tmp_path):
    db = tmp_path / "b.db"
    old = version(tmp_path / "r1", TOKYO, 1, "2026-11-19T05:00:00Z")
    ingest_folder(tmp_path / "r1", db, SETTINGS, None, workers=0)
    version(tmp_path / "r2", TOKYO_2, 2, "2026-11-20T05:00:00Z")
    ingest_folder(tmp_path / "r2", db, SETTINGS, None, workers=0)
    (tmp_path / "r3").mkdir()
    (tmp_path / "r3" / TOKYO).write_bytes(old.read_bytes())  # the older one, again
    run = ingest_folder(tmp_path / "r3", db, SETTINGS, None, workers=0)
    (result,) = run.results
    assert result.created is False and result.stored_ja == DUPLICATE_JA
    assert current(db) == (TOKYO_2, 3600)
    assert result.note is not None and result.note.startswith(
        f"このファイルは以前に登録済みのため、何も変わりません（{DUPLICATE_JA}）。"
        f"現在の提出（集計に使うもの）は、その後に登録された {TOKYO_2}（提出ID 2、")


def test_cli_ingest_prints_which_version_was_taken_and_why(tmp_path):
    inbox = tmp_path / "in"
    version(inbox, TOKYO_2, 2, "2026-11-20T05:00:00Z")
    version(inbox, TOKYO, 1, "2026-11-19T05:00:00Z")
    done = subprocess.run([sys.executable, "-m", "budget", "ingest", str(inbox), "--db",
                           str(tmp_path / "b.db"), "--reports", str(tmp_path / "r")],
                          capture_output=True, timeout=120)
    out = done.stdout.decode("utf-8")
    assert done.returncode == 0, done.stderr.decode("utf-8")
    assert "ブックの保存日時で新旧を判断して古い順に登録しました" in out
    assert f"現在の提出（集計に使うもの）は {TOKYO_2} です。" in out


@pytest.mark.parametrize("workers", [2])
def test_the_order_holds_with_worker_processes(tmp_path, workers):
    inbox = tmp_path / "in"
    for i, day in enumerate([21, 19, 23, 20, 22, 18, 24, 17]):  # the newest is (6)
        version(inbox, f"13_東京都_R5_計画 ({i}).xlsx", i + 1, f"2026-11-{day}T05:00:00Z")
    db = tmp_path / "b.db"
    ingest_folder(inbox, db, SETTINGS, None, workers=workers)
    assert current(db) == ("13_東京都_R5_計画 (6).xlsx", 1800 * 7)


def test_a_large_group_is_listed_by_its_ends_and_each_file_knows_its_place(tmp_path):
    """The group note is on every file of the group: with 10 versions it lists the first
    three and the last two (not all ten on each of ten files), and says where each file is."""
    inbox = tmp_path / "in"
    names = [f"13_東京都_R5_計画 ({i}).xlsx" for i in range(1, 11)]
    for i, name in enumerate(names, 1):
        version(inbox, name, i, f"2026-11-{10 + i:02d}T05:00:00Z")
    db = tmp_path / "b.db"
    run = ingest_folder(inbox, db, SETTINGS, None, workers=0)
    assert current(db)[0] == names[-1]
    by_file = {r.file: r.note or "" for r in run.results}
    for i, name in enumerate(names, 1):
        note = by_file[name]
        assert "同じ都道府県・年度の提出がこの取込に 10 件あり" in note
        assert "…（ほか 5 件）…" in note
        assert f"このファイルは古いほうから {i} 件目です。" in note
        assert f"現在の提出（集計に使うもの）は {names[-1]} です。" in note
        shown = [n for n in names if f"{n}（" in note]
        assert shown == names[:3] + names[-2:], shown
