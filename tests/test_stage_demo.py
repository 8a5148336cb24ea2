"""`budget demo` runs the whole year: 要望 → 内示 (two rounds) → 計画 → one 変更 → 実績, with
the planted cases of the stages found where they were planted."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from budget.demo import (
    NO_ACTUAL,
    OVER_ALLOCATION,
    OVERSPENT,
    REVISED,
    SECOND_ROUND,
    YEAR_FOLDERS,
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo") / "demo"
    proc = subprocess.run([sys.executable, "-m", "budget", "demo", str(folder)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return folder, proc.stdout


def _rows(folder, sql, *params):
    with sqlite3.connect(folder / "budget.db") as conn:
        return conn.execute(sql, params).fetchall()


def test_every_stage_is_stored(demo):
    folder, out = demo
    counts = dict(_rows(folder, "SELECT stage, COUNT(*) FROM submissions GROUP BY stage"))
    assert counts == {"request": 47, "allocation": 2, "plan": 45, "revision": 1, "actual": 41}
    rounds = _rows(folder, "SELECT i.text FROM submissions s JOIN submission_inputs i "
                           "ON i.submission_id = s.id AND i.field = 'round' ORDER BY s.id")
    assert rounds == [("1",), ("2",)]
    second = _rows(folder, "SELECT l.leaf_code FROM submission_leaves l JOIN submission_inputs i "
                           "ON i.submission_id = l.submission_id AND i.field = 'round' "
                           "AND i.text = '2' ORDER BY l.leaf_code")
    assert [c for (c,) in second] == sorted(SECOND_ROUND)
    for name in YEAR_FOLDERS.values():
        assert f"{folder / name}/" in out
    assert "要望: 受理 47 件、差戻し 0 件" in out and "実績: 受理 41 件、差戻し 0 件" in out


def test_the_stage_cases_are_found_where_planted(demo):
    folder, out = demo
    found = _rows(folder, "SELECT s.stage, s.prefecture_code, f.code, f.severity, s.status "
                          "FROM findings f JOIN submissions s ON s.id = f.submission_id "
                          "WHERE s.stage <> 'plan' OR f.code = 'plan-over-allocation'")
    assert sorted(found) == sorted([
        ("plan", OVER_ALLOCATION, "plan-over-allocation", "warning", "accepted"),
        ("revision", REVISED, "revision-without-reason", "warning", "accepted"),
        ("actual", OVERSPENT, "actual-over-plan", "warning", "accepted")])
    sent = {c for (c,) in _rows(folder, "SELECT prefecture_code FROM submissions "
                                        "WHERE stage = 'actual'")}
    planned = {c for (c,) in _rows(folder, "SELECT prefecture_code FROM submissions "
                                           "WHERE stage = 'plan' AND status = 'accepted'")}
    assert sent == planned - {NO_ACTUAL}
    assert "47 沖縄県（実績）: 実績を提出しない（未提出） → 未提出" in out


def test_the_revision_is_the_current_plan_of_its_prefecture(demo):
    folder, _ = demo
    (plan_id,), (revision_id,) = (
        _rows(folder, "SELECT id FROM submissions WHERE prefecture_code = ? AND stage = ?",
              REVISED, stage)[0] for stage in ("plan", "revision"))
    refs = _rows(folder, "SELECT text FROM submission_inputs WHERE submission_id = ? "
                         "AND field = 'reference_ids'", revision_id)
    assert refs == [(str(plan_id),)]  # made from the accepted plan
    actual_refs = _rows(folder, "SELECT i.text FROM submissions s JOIN submission_inputs i ON "
                                "i.submission_id = s.id AND i.field = 'reference_ids' "
                                "WHERE s.stage = 'actual' AND s.prefecture_code = ?", REVISED)
    assert actual_refs == [(str(revision_id),)]  # the 実績 shows the plan as changed
