"""`budget demo`: the whole cycle on sample data, run once as a subprocess.

Expected totals are summed by hand from the generated input workbooks (read back with
openpyxl), then compared with the summary workbook.
"""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
import unicodedata
from collections import defaultdict

import openpyxl
import pytest
from click.testing import CliRunner

from budget import layout, report
from budget.aggregate import MONEY_LABELS
from budget.cli import cli
from budget.demo import MARKER, MISSING, WRONG_TEMPLATE, _prepare, sample_plans
from budget.generate import write_plan_workbook
from budget.menu import load_menu
from budget.prefectures import prefecture_by_code

SEED = 5


@pytest.fixture(scope="module")
def menu():
    return load_menu(2023)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo") / "demo"
    proc = subprocess.run([sys.executable, "-m", "budget", "demo", str(folder), "--seed",
                           str(SEED)], capture_output=True, text=True, timeout=120)
    return folder, proc


def test_demo_exits_0_and_prints_where_everything_is(demo):
    folder, proc = demo
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"デモの結果（{folder}/、シード {SEED}）" in out
    assert f"集計表: {folder / 'reports' / 'R5_集計.xlsx'}" in out
    assert f"明細 CSV: {folder / 'reports' / 'R5_集計_明細.csv'}" in out
    assert "取り込み: 受理 42 件、差戻し 3 件" in out
    assert ("集計対象: 42 / 47 都道府県（未提出: 和歌山県、鹿児島県、差戻し: 秋田県、山梨県、佐賀県）"
            in out)
    assert "4/4 集計表を作成しています…" in proc.stderr


def test_demo_outputs_exist(demo):
    folder, _ = demo
    assert len(list((folder / "templates").glob("*.xlsx"))) == 47
    inputs = sorted(p.name for p in (folder / "inputs").glob("*.xlsx"))
    assert len(inputs) == 45
    assert not any(n.startswith(("30_", "46_")) for n in inputs)
    assert (folder / "budget.db").is_file()
    reports = folder / "reports"
    assert (reports / "R5_集計.xlsx").is_file() and (reports / "R5_集計_明細.csv").is_file()
    assert len(list(reports.glob("取込結果_*.xlsx"))) == 1
    returns = [p for d in reports.glob("返送_*") for p in d.iterdir()]
    assert len(returns) == 3
    assert (folder / MARKER).is_file()


def test_planted_mistakes_were_found(demo, menu):
    folder, _ = demo
    _, planted = sample_plans(menu, SEED)
    with sqlite3.connect(folder / "budget.db") as conn:
        rows = conn.execute(
            "SELECT s.file_name, s.status, f.code, f.cell, f.severity FROM submissions s "
            "JOIN findings f ON f.submission_id = s.id ORDER BY s.file_name, f.seq").fetchall()
    found = defaultdict(list)
    status = {}
    for name, st, code, cell, severity in rows:
        found[name[:2]].append((code, cell, severity))
        status[name[:2]] = st
    expected = {}
    for p in planted:
        cell = p.cell(menu) or layout.PREFECTURE_CELL
        severity = "error" if p.outcome == "rejected" else "warning"
        expected[p.prefecture_code] = [(p.finding_code, cell, severity)]
        assert status[p.prefecture_code] == p.outcome, p
    assert dict(found) == expected
    assert [p.prefecture_code for p in planted if p.outcome == "rejected"] == ["05", "19", "41"]


def _number(value):
    """A typed amount as a clerk meant it (full-width digits and commas allowed)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return int(unicodedata.normalize("NFKC", value).replace(",", ""))
    return int(value)


def test_summary_matches_the_inputs_summed_by_hand(demo):
    folder, _ = demo
    rejected = {"05", "19", WRONG_TEMPLATE[0]}
    col = {k: layout.col_index(layout.COLUMN[k].letter) for k in
           ("category", "national", "prefectural", "other", "leaf_code")}
    by_cat, by_pref, total = defaultdict(int), defaultdict(int), defaultdict(int)
    for path in sorted((folder / "inputs").glob("*.xlsx")):
        code = path.name[:2]
        if code in rejected:
            continue
        wb = openpyxl.load_workbook(path, read_only=True)
        for row in wb[layout.PLAN_SHEET].iter_rows(min_row=layout.FIRST_DATA_ROW, max_row=65,
                                                   values_only=True):
            assert str(row[col["leaf_code"]]).startswith("R5-")
            a, b, c = (_number(row[col[k]]) for k in ("national", "prefectural", "other"))
            if a is None and b is None and c is None:
                continue
            fund = (a or 0) + (b or 0)
            by_cat[row[col["category"]]] += fund
            by_pref[code] += fund
            total["fund"] += fund
            total["other"] += c or 0
        wb.close()
    summary = openpyxl.load_workbook(folder / "reports" / "R5_集計.xlsx", read_only=True)
    fund = MONEY_LABELS["fund"]
    head = next(summary["大項目別"].iter_rows(min_row=report.TABLE_HEADER_ROW,
                                             max_row=report.TABLE_HEADER_ROW, values_only=True))
    got_cat = {}
    for row in summary["大項目別"].iter_rows(min_row=report.TABLE_HEADER_ROW + 1, values_only=True):
        rec = dict(zip(head, row))
        got_cat[row[0]] = rec[fund]
        if row[0] == report.TOTAL_LABEL:
            assert rec[MONEY_LABELS["other"]] == total["other"]
            break
    assert got_cat == {**by_cat, report.TOTAL_LABEL: total["fund"]}
    head = next(summary["都道府県別"].iter_rows(min_row=report.TABLE_HEADER_ROW,
                                              max_row=report.TABLE_HEADER_ROW, values_only=True))
    got_pref = {}
    for row in summary["都道府県別"].iter_rows(min_row=report.TABLE_HEADER_ROW + 1,
                                              max_row=report.TABLE_HEADER_ROW + 47,
                                              values_only=True):
        rec = dict(zip(head, row))
        got_pref[row[0]] = (rec["提出状況"], rec[fund])
    for code, (st, value) in got_pref.items():
        if code in MISSING:
            assert (st, value) == ("未提出", None)
        elif code in rejected:
            assert (st, value) == ("差戻し", None)
        else:
            assert (st, value) == ("受理", by_pref[code]), code


def test_inputs_are_deterministic_for_the_seed(demo, menu):
    folder, _ = demo
    plans, planted = sample_plans(menu, SEED)
    again, planted_again = sample_plans(menu, SEED)
    assert planted == planted_again
    assert {c: (v.header, v.rows) for c, v in plans.items()} == {
        c: (v.header, v.rows) for c, v in again.items()}
    other, _ = sample_plans(menu, SEED + 1)
    assert plans["13"].rows != other["13"].rows
    # the file on disk is exactly what the seed's values give
    buf = io.BytesIO()
    write_plan_workbook(buf, menu, prefecture_by_code("32"), values=plans["32"])
    assert (folder / "inputs" / "32_島根県_R5_計画.xlsx").read_bytes() == buf.getvalue()
    assert plans["32"].rows[planted[2].leaf_code]["other"] == "１，２３４"


def test_sample_plans_keep_the_money_rules(menu):
    plans, planted = sample_plans(menu, 1)
    spoiled = {(p.prefecture_code, p.leaf_code) for p in planted}
    assert set(plans) == {f"{i:02d}" for i in range(1, 48)} - set(MISSING)
    for code, values in plans.items():
        assert values.header["email"].endswith(".example.jp")
        for leaf, row in values.rows.items():
            if (code, leaf) in spoiled:
                continue
            a, b = row["national"], row["prefectural"]
            assert a == round(2 * (a + b) / 3), (code, leaf)
            assert row["public"] + row["private"] == a
            assert row.get("commissioned", 0) <= row["private"]
            assert row["implementer"] and row["output"]
    # big prefectures plan more than small ones
    fund = {c: sum(r["national"] + r["prefectural"] for r in v.rows.values()
                   if isinstance(r["prefectural"], int)) for c, v in plans.items()}
    assert fund["13"] > 3 * fund["31"]


def test_demo_refuses_a_foreign_folder(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    result = CliRunner().invoke(cli, ["demo", str(tmp_path)])
    assert result.exit_code == 2
    assert "空ではありません" in result.stderr
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_a_previous_demo_folder_is_redone(tmp_path):
    folder = tmp_path / "d"
    _prepare(folder)
    (folder / "inputs").mkdir()
    (folder / "inputs" / "old.xlsx").write_bytes(b"x")
    (folder / "budget.db").write_bytes(b"x")
    _prepare(folder)
    assert sorted(p.name for p in folder.iterdir()) == [MARKER]
