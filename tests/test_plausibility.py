"""Amounts typed in 円 instead of 千円 (issue 12, item 14): plausibility warnings
(``budget.plausibility``), never errors.

Real workbooks written and read back, a real SQLite store, the CLI through CliRunner and as
a subprocess. The realistic plans are the demo's sample plans (``budget.demo.sample_plan``:
the real scale of domain.md §8).
"""

from __future__ import annotations

import random
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from budget.cli import cli
from budget.forms import plan as layout
from budget.intake.batch import ingest_folder
from budget.intake.check import check_file
from budget.plausibility import DEFAULT, PlanHistory, Row
from tests.conftest import CLEAN_ROWS, _menu, write_filled_workbook

CODES = ("amount-implausible", "plan-total-implausible")
MONEY = ("national", "prefectural", "other", "public", "private", "commissioned")

#: The 6 prefectures whose plans are in the store before the file under test.
OTHERS = ("01", "11", "14", "23", "27", "31")


def in_yen(row: dict[str, Any]) -> dict[str, Any]:
    """A plan row as a clerk who typed 円 into the 千円 cells would send it."""
    return {k: (v * 1000 if k in MONEY and v is not None else v) for k, v in row.items()}


def sample_rows(code: str) -> dict[str, dict[str, Any]]:
    """A plausible plan of the prefecture at the real scale (the demo's sample)."""
    from budget.demo import sample_plan

    rows = sample_plan(_menu(2023), code, random.Random(int(code))).rows
    return {leaf: dict(r) for leaf, r in rows.items()}


def tokyo_sized() -> dict[str, dict[str, Any]]:
    """東京's sample plan with two prefecture-wide lines: ICT 導入支援 (R5-34-ハ) at
    1,200,000 千円 plus その他, ロボット (R5-34-ロ) at 600,000 千円 (domain.md §8: one line
    can pass 1,000,000 千円; 東京's 内示 29.93億円 国費 in R6)."""
    rows = sample_rows("13")
    rows["R5-34-ハ"] = {"national": 800_000, "prefectural": 400_000, "other": 300_000,
                       "public": 0, "private": 800_000}
    rows["R5-34-ロ"] = {"national": 400_000, "prefectural": 200_000, "public": 100_000,
                       "private": 300_000}
    return rows


def flat_codes(report) -> list[list[object]]:
    return [[f.code, f.severity, f.cell] for f in report.findings if f.code in CODES]


def leaf_row(leaf: str) -> int:
    """The workbook row of a leaf (menu order from the first data row)."""
    codes = list(_menu(2023)["leaf_code"])
    return layout.FIRST_DATA_ROW + codes.index(leaf)


def total_row_of(path: Path) -> int:
    """The 合計 row of a written workbook, found by its label (not by the form's layout)."""
    ws = openpyxl.load_workbook(path, read_only=True)[layout.PLAN_SHEET]
    for row in ws.iter_rows(min_row=layout.FIRST_DATA_ROW):
        if any(c.value == "合計" for c in row[:6]):
            return int(row[0].row)
    raise AssertionError("no 合計 row")


def store_others(folder: Path, db: Path, others: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Ingest the other prefectures' plans into ``db``; every one accepted, none warned."""
    for code, rows in others.items():
        write_filled_workbook(folder, prefecture=code, rows=rows)
    run = ingest_folder(folder, db, reports_dir=None, workers=0)
    assert [r.status for r in run.results] == ["accepted"] * len(others)
    assert not [f for r in run.results for f in r.report.findings if f.code in CODES]


def ingest_one(tmp_path: Path, db: Path, rows: dict[str, dict[str, Any]], code: str = "13"):
    """Ingest one prefecture's plan into ``db``; its result."""
    folder = tmp_path / f"in_{code}_{len(list(tmp_path.iterdir()))}"
    write_filled_workbook(folder, prefecture=code, rows=rows)
    run = ingest_folder(folder, db, reports_dir=None, workers=0)
    assert len(run.results) == 1
    return run.results[0]


# --- the fixed ceilings: no store needed (validate, the first file of a year) -------------


#: R5-06-イ, a small item (助け合いによる生活支援の担い手の養成), typed in 円: 3,000,000
#: 千円 read, 30億円 (the issue's example), under the per-cell limit of 100億円.
SMALL_ITEM_IN_YEN = {**CLEAN_ROWS, "R5-06-イ": in_yen(CLEAN_ROWS["R5-06-イ"])}


def test_one_leaf_in_yen_is_warned_at_that_cell_only(tmp_path):
    report = check_file(write_filled_workbook(tmp_path, rows=SMALL_ITEM_IN_YEN))
    cell = f"H{leaf_row('R5-06-イ')}"  # 国 (A), the row's largest input
    assert [[f.code, f.severity, f.cell] for f in report.findings] == [
        ["amount-implausible", "warning", cell]]
    assert report.accepted and report.status == "accepted"
    message = report.findings[0].message
    assert message.startswith(f"計画!{cell}（R5-06-イ ")
    assert "総事業費 (A+B+C) 3,000,000 千円（30億円）は" in message
    assert "2,000,000 千円（20億円）を超えています" in message
    assert "単位は千円です。円で入力していないか確認してください" in message
    # the same plan in 千円: nothing
    assert check_file(write_filled_workbook(tmp_path / "ok", rows=CLEAN_ROWS)).findings == []


def test_validate_cli_shows_the_warning_and_accepts(tmp_path):
    path = write_filled_workbook(tmp_path, rows=SMALL_ITEM_IN_YEN)
    cell = f"H{leaf_row('R5-06-イ')}"
    result = CliRunner().invoke(cli, ["validate", str(path), "--annotate", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert "桁違いの金額の疑い" in result.output and cell in result.output
    assert "amount-implausible" not in result.output  # the code stays in JSON
    as_json = CliRunner().invoke(cli, ["validate", str(path), "--format", "json"])
    assert as_json.exit_code == 0 and '"amount-implausible"' in as_json.output
    # the return copy: the cell commented with the message
    (copy,) = (tmp_path / "r").glob("*.xlsx")
    comment = openpyxl.load_workbook(copy)[layout.PLAN_SHEET][cell].comment
    assert comment is not None and "単位は千円です" in comment.text


#: A small plan (12 rows of 6,000 千円 総事業費): typed in 円 each cell stays under the
#: per-cell limit, so only the plausibility rules can say it.
SMALL_PLAN = {leaf: {"national": 4000, "prefectural": 2000, "public": 4000, "private": 0}
              for leaf in ("R5-01", "R5-02", "R5-03", "R5-04", "R5-05", "R5-07-イ", "R5-09",
                           "R5-10", "R5-11", "R5-12-イ", "R5-14", "R5-19")}


def test_whole_plan_in_yen_gets_the_plan_warning(tmp_path):
    assert check_file(write_filled_workbook(tmp_path / "ok", rows=SMALL_PLAN)).findings == []
    path = write_filled_workbook(tmp_path, rows={k: in_yen(v) for k, v in SMALL_PLAN.items()})
    report = check_file(path)
    assert report.accepted
    plan_level = [f for f in report.findings if f.code == "plan-total-implausible"]
    assert [(f.severity, f.cell) for f in plan_level] == [
        ("warning", f"G{total_row_of(path)}")]
    assert "この計画の 総事業費 (A+B+C) の合計 72,000,000 千円（720億円）は" in \
        plan_level[0].message
    assert "30,000,000 千円（300億円）を超えています" in plan_level[0].message
    # each row is said at its own cell too
    rows = sorted(f.cell for f in report.findings if f.code == "amount-implausible")
    assert rows == sorted(f"H{leaf_row(leaf)}" for leaf in SMALL_PLAN)


def test_a_realistic_tokyo_plan_raises_nothing(tmp_path):
    rows = tokyo_sized()
    fund = sum(r["national"] + r["prefectural"] for r in rows.values())
    assert 2_500_000 <= fund <= 5_000_000  # 25–50億円 基金: 東京's scale
    assert check_file(write_filled_workbook(tmp_path, rows=rows)).findings == []
    # and with the other prefectures' plans in the store
    db = tmp_path / "b.db"
    store_others(tmp_path / "others", db, {c: sample_rows(c) for c in OTHERS})
    result = ingest_one(tmp_path, db, rows)
    assert result.status == "accepted" and result.report.findings == []


def test_first_plan_of_an_empty_store_is_checked_by_the_fixed_ceiling(tmp_path):
    """Through the CLI as a subprocess: the warning in the output, the store (accepted, the
    finding kept) and the run report; exit 0."""
    inbox, db, reports = tmp_path / "inbox", tmp_path / "b.db", tmp_path / "reports"
    path = write_filled_workbook(inbox, rows=SMALL_ITEM_IN_YEN)
    cell = f"H{leaf_row('R5-06-イ')}"
    done = subprocess.run([sys.executable, "-m", "budget", "ingest", str(inbox), "--db", str(db),
                           "--reports", str(reports)], capture_output=True, text=True,
                          encoding="utf-8")
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith(path.name))
    assert re.search(r"受理\s+0\s+1\s+新規", line), done.stdout  # エラー 0, 警告 1
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT s.file_name, s.status, f.code, f.severity, f.cell "
                            "FROM submissions s JOIN findings f ON f.submission_id = s.id"
                            ).fetchall()
    assert rows == [(path.name, "accepted", "amount-implausible", "warning", cell)]
    (report,) = reports.glob("取込結果_*.xlsx")
    texts = [str(c) for ws in openpyxl.load_workbook(report, read_only=True).worksheets
             for r in ws.iter_rows(values_only=True) for c in r if c]
    assert any(cell in t and "単位は千円です" in t for t in texts)


# --- the history: the other prefectures' current plans in the store --------------------


def test_history_catches_a_small_row_in_yen_below_the_fixed_ceiling(tmp_path):
    """R5-01 typed in 円 reads 1,500,000 千円: under the fixed 2,000,000, but ~100 times what
    any other prefecture plans for it. ``validate`` (no store) cannot say it; ingest does."""
    rows = {**sample_rows("13"),
            "R5-01": in_yen({"national": 1000, "prefectural": 500, "public": 1000,
                             "private": 0})}
    assert check_file(write_filled_workbook(tmp_path / "v", rows=rows)).findings == []
    db = tmp_path / "b.db"
    others = {c: sample_rows(c) for c in OTHERS}
    assert all("R5-01" in r for r in others.values())
    top = max(r["R5-01"]["national"] + r["R5-01"]["prefectural"] + r["R5-01"].get("other", 0)
              for r in others.values())
    store_others(tmp_path / "others", db, others)
    result = ingest_one(tmp_path, db, rows)
    assert result.status == "accepted"
    assert flat_codes(result.report) == [["amount-implausible", "warning", "H8"]]
    message = result.report.findings[0].message
    assert f"他の都道府県（6 都道府県）の現在の計画でのこの事業の最大額 {top:,} 千円の 30 倍" \
        in message and "1,500,000 千円" in message
    # the same row in 千円: nothing
    fine = {**rows, "R5-01": {"national": 1000, "prefectural": 500, "public": 1000,
                              "private": 0}}
    assert ingest_one(tmp_path, db, fine, code="12").report.findings == []


def test_history_needs_enough_prefectures(tmp_path):
    """With fewer than ``min_history`` other plans the fixed ceiling alone applies."""
    rows = {"R5-01": in_yen({"national": 1000, "prefectural": 500, "public": 1000,
                             "private": 0})}
    db = tmp_path / "b.db"
    store_others(tmp_path / "others", db,
                 {c: sample_rows(c) for c in OTHERS[:DEFAULT.min_history - 1]})
    assert ingest_one(tmp_path, db, rows).report.findings == []


def test_history_plan_total_above_the_median(tmp_path):
    """Other plans of ~20,000 千円; a plan of 25,000 千円 typed in 円 (25,000,000, under the
    fixed 300億円) is 1,250 times their median: the plan-level warning from the history."""
    small = {"R5-01": {"national": 8000, "prefectural": 4000, "public": 8000, "private": 0},
             "R5-02": {"national": 5334, "prefectural": 2666, "public": 0, "private": 5334}}
    db = tmp_path / "b.db"
    store_others(tmp_path / "others", db, {c: small for c in OTHERS})
    rows = {leaf: in_yen({"national": 3334, "prefectural": 1666, "public": 3334,
                          "private": 0})
            for leaf in ("R5-01", "R5-02", "R5-03", "R5-04", "R5-05")}
    result = ingest_one(tmp_path, db, rows)
    assert result.status == "accepted"
    plan_level = [f for f in result.report.findings if f.code == "plan-total-implausible"]
    assert len(plan_level) == 1 and plan_level[0].cell and plan_level[0].cell.startswith("G")
    assert "中央値 20,000 千円の 100 倍（2,000,000 千円）" in plan_level[0].message
    assert "25,000,000 千円（250億円）" in plan_level[0].message


def test_the_store_is_read_once_per_batch(tmp_path, monkeypatch):
    """The history is read from the store once per run and kept up to date in memory as
    plans are saved: 8 plans, one read; the 8th (in 円) is judged against the 7 before it."""
    import budget.stages as stages

    reads: list[int] = []
    real = stages.sources

    def counted(store, ids):
        reads.append(len(ids))
        return real(store, ids)

    monkeypatch.setattr(stages, "sources", counted)
    menus: list[int] = []
    real_menu = stages._shipped_menu
    monkeypatch.setattr(stages, "_shipped_menu",
                        lambda year: menus.append(year) or real_menu(year))
    folder = tmp_path / "in"
    codes = ("01", "02", "03", "04", "05", "06", "07")
    for code in codes:
        write_filled_workbook(folder, prefecture=code, rows=sample_rows("12"))
    rows = {**sample_rows("12"),
            "R5-01": in_yen({"national": 1000, "prefectural": 500, "public": 1000,
                             "private": 0})}
    write_filled_workbook(folder, prefecture="08", rows=rows)
    run = ingest_folder(folder, tmp_path / "b.db", reports_dir=None, workers=0)
    assert [r.status for r in run.results] == ["accepted"] * 8
    assert reads == [0]  # one read, of an empty store; then kept in memory
    assert menus == [2023]  # the shipped menu's names and rows: looked up once per run
    assert [flat_codes(r.report) for r in run.results] == [[]] * 7 + [
        [["amount-implausible", "warning", "H8"]]]


def test_history_keeps_the_newest_plan_of_a_prefecture():
    history = PlanHistory()
    history.update("13", "2023-10-02T00:00:00.000000+00:00", [Row("R5-01", 8, 5000, "national")])
    history.update("13", "2023-10-01T00:00:00.000000+00:00", [Row("R5-01", 8, 9, "national")])
    assert history.leaf_max("R5-01", None) == (5000, 1)
    assert history.leaf_max("R5-01", "13") == (0, 0)  # no other prefecture plans it
    history.update("13", "2023-10-03T00:00:00.000000+00:00", [Row("R5-01", 8, 7, "national")])
    assert history.plan_sums(None) == [7]


@pytest.mark.parametrize("kind, prefix, cell", [("revision", "", "H8"),
                                                 ("request", "", "H8"),
                                                 ("actual", "actual_", "L8")])
@pytest.mark.parametrize("factor, expected", [(1, []), (1000, ["amount-implausible"])])
def test_other_stages_get_the_fixed_ceiling(kind, prefix, cell, factor, expected):
    """A 変更, a 要望 and a 実績 are checked by the same fixed ceiling, on their own row total
    (総事業費 or 総額 (A+B+C)), pointing at their own column of A."""
    import pandas as pd

    from budget.forms import form as form_of
    from budget.plausibility import ceiling_findings

    form = form_of(kind)
    plan = pd.DataFrame({"leaf_code": ["R5-01"], "excel_row": [8],
                         f"{prefix}total": pd.array([3000 * factor], dtype="Int64"),
                         f"{prefix}national": pd.array([2000 * factor], dtype="Int64"),
                         f"{prefix}prefectural": pd.array([1000 * factor], dtype="Int64"),
                         f"{prefix}other": pd.array([None], dtype="Int64")})
    found = ceiling_findings("x.xlsx", form, plan, {}, 0, [])
    assert [f.code for f in found] == expected
    assert all(f.sheet == form.main_sheet and f.cell == cell for f in found)
    if found:
        assert f"{form.column[prefix + 'total'].header.replace(chr(10), ' ')} 3,000,000 千円" \
            in found[0].message


def test_a_row_with_an_unusable_part_is_not_summed(tmp_path):
    """A row whose その他 (C) has an error says that error only: a total of an unusable cell
    says nothing (as the §2 rules). The same row without the error gets the warning."""
    row = SMALL_ITEM_IN_YEN["R5-06-イ"]
    report = check_file(write_filled_workbook(
        tmp_path, rows={**CLEAN_ROWS, "R5-06-イ": {**row, "other": "▲5"}}))
    assert [[f.code, f.cell] for f in report.findings] == [
        ["negative-amount", f"K{leaf_row('R5-06-イ')}"]]
    report = check_file(write_filled_workbook(
        tmp_path / "b", rows={**CLEAN_ROWS, "R5-06-イ": {**row, "other": 5}}))
    assert [[f.code, f.cell] for f in report.findings] == [
        ["amount-implausible", f"H{leaf_row('R5-06-イ')}"]]


def test_total_cell_only_from_the_menu_the_file_was_made_from():
    """The 合計 cell a finding across stages points at comes from the year's shipped menu only
    when the file was made from it (or an earlier edition of it); a file on a menu given with
    --menu gets the sheet, never a cell of the shipped menu's shape."""
    from budget.findings import FileReport
    from budget.intake.check import shipped_menu
    from budget.stages import _menu_shape

    menu = shipped_menu(2023)
    shipped = FileReport(file="x.xlsx", sha256="0", size=0, fiscal_year=2023,
                         menu_fingerprint=menu.fingerprint)
    assert _menu_shape(shipped) == (58, list(menu.categories))
    for earlier in menu.earlier:
        shipped.menu_fingerprint = earlier
        assert _menu_shape(shipped) == (58, list(menu.categories))
    assert menu.earlier, "R5 has an earlier edition that is still read"
    shipped.menu_fingerprint = "f" * 64  # a menu given by path
    assert _menu_shape(shipped) == (0, [])


@pytest.mark.parametrize("dtype", ["Int64", "float64", "object"])
def test_leaf_totals_are_each_rows_total_pointing_at_its_first_largest_part(dtype):
    """``leaf_totals`` against a row-by-row recount: blank totals left out, a row with an
    unusable part left out, the warning's cell the largest part (the first of equal ones,
    a blank counting as 0), whatever the columns' dtype."""
    import pandas as pd

    from budget.forms import form as form_of
    from budget.plausibility import leaf_totals, total_key

    form = form_of("plan")
    key = total_key(form)
    assert key is not None
    parts = list(form.column[key].parts)
    cases = [  # (total, parts): ties, blanks, zeros
        (3000, [1000, 1000, 1000]), (None, [5, 6, 7]), (900, [None, 400, 500]),
        (0, [0, 0, 0]), (70, [70, None, None]), (50, [10, 20, 20]), (8, [None, None, 8]),
        (12, [6, 6, None]),
    ]
    data: dict[str, Any] = {"leaf_code": [f"R5-{i:02d}" for i in range(len(cases))],
                            "excel_row": [8 + i for i in range(len(cases))]}
    data[key] = [t for t, _ in cases]
    for j, p in enumerate(parts):
        data[p] = [ps[j] for _, ps in cases]
    plan = pd.DataFrame(data)
    for c in [key, *parts]:
        plan[c] = (pd.array(plan[c].tolist(), dtype="Int64") if dtype == "Int64"
                   else plan[c].astype(dtype))
    unusable = {(parts[1], 10)}  # the row of (900, …): not summed
    expected = []
    for i, (total, values) in enumerate(cases):
        if total is None or (8 + i) == 10:
            continue
        zeros = [0 if v is None else v for v in values]
        expected.append((f"R5-{i:02d}", 8 + i, total, parts[zeros.index(max(zeros))]))
    got = leaf_totals(form, plan, unusable)
    assert [(r.leaf_code, r.excel_row, r.total, r.cell_key) for r in got] == expected
    assert all(type(r.total) is int and type(r.excel_row) is int for r in got)


def test_leaf_max_is_the_largest_among_the_other_prefectures():
    """``PlanHistory.leaf_max`` against a recount over random histories: the largest of the
    leaf among the prefectures but the excluded one, and how many plan it (ties, the
    excluded one largest, alone, absent)."""
    rng = random.Random(12)
    for _ in range(300):
        history = PlanHistory()
        codes = [f"{i:02d}" for i in range(1, rng.randint(1, 9))]
        for code in codes:
            rows = [Row(leaf, 8, rng.choice([0, 5, 5, 70, 900]), "national")
                    for leaf in ("R5-01", "R5-02") if rng.random() < 0.8]
            history.update(code, "2023-10-01T00:00:00.000000+00:00", rows)
        for leaf in ("R5-01", "R5-02", "R5-09"):
            for exclude in [None, "99", *codes]:
                others = [totals[leaf] for code, (_, totals, _) in history.plans.items()
                          if code != exclude and leaf in totals]
                assert history.leaf_max(leaf, exclude) == (max(others, default=0),
                                                           len(others)), (leaf, exclude)
