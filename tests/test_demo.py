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

from budget.analysis.summary import MONEY_LABELS
from budget.cli import cli
from budget.demo import MARKER, MISSING, WRONG_TEMPLATE, _prepare, sample_plans
from budget.forms import plan as layout
from budget.generate import write_plan_workbook
from budget.menu import load_menu
from budget.prefectures import prefecture_by_code
from budget.render import summary_workbook as report

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
            "JOIN findings f ON f.submission_id = s.id WHERE s.stage = 'plan' "
            "AND f.code <> 'plan-over-allocation' ORDER BY s.file_name, f.seq").fetchall()
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


# --- the sample figures at the real scale (issue 12, item 19) -----------------------------

#: 国費 (A) of the 介護従事者確保分, 令和5年度: 137億円 = 13,700,000 千円 (domain.md §8).
R5_NATIONAL = 13_700_000


@pytest.mark.parametrize("seed", [SEED, 2023, 11])
def test_sample_plans_are_at_the_real_scale(menu, seed):
    """The 47 sample plans' 国費 (A), recounted here from their rows, is the R5 national
    budget within 10 %; one project is typically several thousand 千円 (domain.md §8: real
    projects about 6,000–90,000 千円); no prefecture plans more than a few tens of 億円."""
    import random
    import statistics

    from budget.demo import sample_plan
    from budget.prefectures import all_prefectures

    rng = random.Random(seed)
    plans = {p.code: sample_plan(menu, p.code, rng) for p in all_prefectures()}
    national = {code: sum(r["national"] for r in v.rows.values()) for code, v in plans.items()}
    assert abs(sum(national.values()) - R5_NATIONAL) <= 0.10 * R5_NATIONAL, sum(national.values())
    funds = [r["national"] + r["prefectural"] for v in plans.values() for r in v.rows.values()]
    assert 3_000 <= statistics.median(funds) <= 15_000
    assert max(national.values()) <= 3_000_000  # 30億円 国費: 東京 got 29.93億 基金 in R6
    assert national["13"] > 10 * national["31"]  # 東京都 plans far more than 鳥取県
    assert all(10 <= len(v.rows) <= len(menu) for v in plans.values())


def test_demo_summary_is_at_the_real_scale(demo):
    """The demo's summary: 42 of 47 prefectures included, so 国費 somewhat under 137億円."""
    folder, _ = demo
    wb = openpyxl.load_workbook(folder / "reports" / "R5_集計.xlsx", read_only=True)
    kv = {r[0]: r[1] for r in wb["総括"].iter_rows(min_row=report.TABLE_HEADER_ROW + 1,
                                                   max_col=2, values_only=True)}
    assert 0.7 * R5_NATIONAL <= kv[MONEY_LABELS["national"]] <= 1.05 * R5_NATIONAL


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
    # 神奈川県's current plan is its 変更 (the same columns G..N, more to the right)
    revisions = {p.name[:2]: p for p in (folder / "4_変更").glob("*.xlsx")}
    assert list(revisions) == ["14"]
    for path in sorted((folder / "inputs").glob("*.xlsx")):
        code = path.name[:2]
        if code in rejected:
            continue
        path, sheet = (revisions[code], "変更") if code in revisions else (path, layout.PLAN_SHEET)
        wb = openpyxl.load_workbook(path, read_only=True)
        for row in wb[sheet].iter_rows(min_row=layout.FIRST_DATA_ROW, max_row=65,
                                       values_only=True):
            assert str(row[-1] if code in revisions else row[col["leaf_code"]]).startswith("R5-")
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


# --- every sheet of the summary against the inputs summed by hand -----------------------

AMOUNTS = ("national", "prefectural", "other", "public", "private", "commissioned")
MONEY = ("total", "national", "prefectural", "fund", "other", "public", "private", "commissioned")
H = report.TABLE_HEADER_ROW


def _owner(bureaus: str) -> str:
    """The 担当課 a row is counted under: its bureau, or one 共管 row for several."""
    names = [b for b in bureaus.split("\n") if b]
    return names[0] if len(names) == 1 else "共管: " + "／".join(names)


class HandSums:
    """Money sums per group key, blank (None) where nothing was typed, and the set of
    prefectures planning in each group."""

    def __init__(self):
        self.sums = defaultdict(dict)
        self.prefs = defaultdict(set)

    def add(self, group, code, money):
        self.prefs[group].add(code)
        for key, value in money.items():
            if value is not None:
                self.sums[group][key] = self.sums[group].get(key, 0) + value

    def get(self, group, key):
        return self.sums.get(group, {}).get(key)

    def n(self, group):
        return len(self.prefs.get(group, ()))


@pytest.fixture(scope="module")
def by_hand(demo):
    """The accepted input workbooks (accepted according to the store's status column),
    read with openpyxl and summed here."""
    folder, proc = demo
    assert proc.returncode == 0, proc.stderr
    with sqlite3.connect(folder / "budget.db") as conn:
        status = dict(conn.execute("SELECT file_name, status FROM submissions "
                                 "WHERE stage = 'plan'").fetchall())
        # the current plan of a prefecture that sent an accepted 変更 is that 変更
        revised = {name[:2]: name for (name,) in conn.execute(
            "SELECT file_name FROM submissions WHERE stage = 'revision' "
            "AND status = 'accepted'")}
    accepted = sorted(name for name, st in status.items() if st == "accepted")
    assert len(accepted) == len({n[:2] for n in accepted}) == 42  # one current file each
    assert list(revised) == ["14"]  # the demo's one 変更
    col = {c.key: layout.col_index(c.letter) for c in layout.COLUMNS}
    sums = HandSums()
    leaves, categories, cat_leaves = [], [], defaultdict(int)
    info, planned_rows, fullwidth = {}, {}, []
    for name in accepted:
        code = name[:2]
        if code in revised:
            wb = openpyxl.load_workbook(folder / "4_変更" / revised[code], read_only=True)
            ws = wb["変更"]
        else:
            wb = openpyxl.load_workbook(folder / "inputs" / name, read_only=True)
            ws = wb[layout.PLAN_SHEET]
        header = next(ws.iter_rows(min_row=layout.HEADER_ROW, max_row=layout.HEADER_ROW,
                                   values_only=True))
        code_col = header.index("leaf_code")  # the hidden code column (the 変更 has more)
        rows = ws.iter_rows(min_row=layout.FIRST_DATA_ROW, values_only=True)
        for row in rows:
            leaf = row[code_col]
            if not (isinstance(leaf, str) and leaf.startswith("R5-")):
                break
            cat, mid = row[col["category"]], row[col["mid_category"]] or ""
            if code == accepted[0][:2]:
                leaves.append(leaf)
                if cat not in categories:
                    categories.append(cat)
                cat_leaves[cat] += 1
                info[leaf] = (row[col["item_no"]], row[col["sub_item"]] or "",
                              _owner(row[col["bureaus"]]))
            typed = {k: _number(row[col[k]]) for k in AMOUNTS}
            fullwidth += [(code, leaf, row[col[k]]) for k in AMOUNTS
                          if isinstance(row[col[k]], str) and "１" in row[col[k]]]
            if all(v is None for v in typed.values()):
                continue  # blank row: not planned
            a, b, c = (typed[k] or 0 for k in ("national", "prefectural", "other"))
            money = {**typed, "total": a + b + c, "fund": a + b}
            planned_rows[(code, leaf)] = money
            owner = info[leaf][2]
            for group in ("grand", ("cat", cat), ("mid", cat, mid), ("leaf", leaf),
                          ("owner", owner), ("pref", code), ("cell", code, leaf),
                          ("pcat", code, cat)):
                sums.add(group, code, money)
        wb.close()
    assert fullwidth == [("32", fullwidth[0][1], "１，２３４")]  # the planted full-width text
    assert planned_rows[fullwidth[0][:2]]["other"] == 1234
    sums.leaves, sums.categories, sums.cat_leaves, sums.info = leaves, categories, cat_leaves, info
    sums.rows, sums.included = planned_rows, sorted({n[:2] for n in accepted})
    return sums


@pytest.fixture(scope="module")
def summary_wb(demo):
    folder, _ = demo
    return openpyxl.load_workbook(folder / "reports" / "R5_集計.xlsx", read_only=True)


def _table(ws, first_header):
    """(rows keyed by the first column (or the first two), the total row) of a table sheet."""
    headers = next(ws.iter_rows(min_row=H, max_row=H, values_only=True))
    assert headers[0] == first_header, headers
    rows, total = [], None
    for cells in ws.iter_rows(min_row=H + 1, values_only=True):
        rec = dict(zip(headers, cells))
        if cells[0] == report.TOTAL_LABEL:
            total = rec
            break
        rows.append(rec)
    assert total is not None
    return rows, total


def _check_money(rec, sums, group, where):
    for key in MONEY:
        assert rec[MONEY_LABELS[key]] == sums.get(group, key), (where, key)


def test_every_sheet_matches_the_inputs_summed_by_hand(summary_wb, by_hand):
    wb, hs = summary_wb, by_hand
    fund = MONEY_LABELS["fund"]
    grand_fund = hs.get("grand", "fund")
    assert grand_fund > 0

    # 総括: the headline figures and how many prefectures are in them
    ws = wb["総括"]
    kv = {r[0]: r[1] for r in ws.iter_rows(min_row=H + 1, max_col=2, values_only=True)}
    for key in MONEY:
        assert kv[MONEY_LABELS[key]] == hs.get("grand", key), key
    assert kv["集計対象の都道府県数"] == f"{len(hs.included)} / 47"

    # 大項目別: every category, every money column; the categories add up to the grand total
    rows, total = _table(wb["大項目別"], "区分（大項目）")
    assert [r["区分（大項目）"] for r in rows] == hs.categories
    for rec in rows:
        cat = rec["区分（大項目）"]
        _check_money(rec, hs, ("cat", cat), cat)
        assert rec[report.N_LEAVES_HEADER] == hs.cat_leaves[cat]
        assert rec[report.N_PREF_HEADER] == hs.n(("cat", cat))
        assert rec[report.SHARE_HEADER] == pytest.approx(hs.get(("cat", cat), "fund") / grand_fund)
    _check_money(total, hs, "grand", "大項目別 合計")
    for key in MONEY:
        assert sum(r[MONEY_LABELS[key]] or 0 for r in rows) == hs.get("grand", key), key
    assert total[report.N_PREF_HEADER] == len(hs.included)

    # 中項目別
    rows, total = _table(wb["中項目別"], "区分（大項目）")
    seen = set()
    for rec in rows:
        mid = "" if rec["中項目"] == "（中項目なし）" else rec["中項目"]
        group = ("mid", rec["区分（大項目）"], mid)
        _check_money(rec, hs, group, group)
        assert rec[report.N_PREF_HEADER] == hs.n(group)
        seen.add(group)
    assert {g for g in hs.sums if g[0] == "mid"} <= seen and len(seen) == len(rows)
    _check_money(total, hs, "grand", "中項目別 合計")

    # 事業別: every leaf (item and sub-item) in the workbook's order
    rows, total = _table(wb["事業別"], "事業コード")
    assert [r["事業コード"] for r in rows] == hs.leaves
    for rec in rows:
        leaf = rec["事業コード"]
        _check_money(rec, hs, ("leaf", leaf), leaf)
        assert rec[report.N_PREF_HEADER] == hs.n(("leaf", leaf))
        assert rec["担当課"] == hs.info[leaf][2]
    _check_money(total, hs, "grand", "事業別 合計")

    # 担当課別: item 26 (two bureaus) once, on its own 共管 row; the rows add up
    rows, total = _table(wb["担当課別"], "担当課")
    owners = [r["担当課"] for r in rows]
    joint = "共管: 老健局認知症施策・地域介護推進課／老健局老人保健課"
    assert owners.count(joint) == 1 and len(owners) == len(set(owners)) == 5
    assert {g[1] for g in hs.sums if g[0] == "owner"} <= set(owners)
    for rec in rows:
        _check_money(rec, hs, ("owner", rec["担当課"]), rec["担当課"])
        assert rec[report.N_PREF_HEADER] == hs.n(("owner", rec["担当課"]))
    for key in MONEY:
        assert sum(r[MONEY_LABELS[key]] or 0 for r in rows) == hs.get("grand", key), key
    _check_money(total, hs, "grand", "担当課別 合計")
    item26 = next(r for r in rows if r["担当課"] == joint)
    assert item26[fund] == hs.get(("leaf", "R5-26"), "fund") and item26[report.N_LEAVES_HEADER] == 1
    for single in ("老健局認知症施策・地域介護推進課", "老健局老人保健課"):
        mine = [leaf for leaf, (_, _, o) in hs.info.items() if o == single]
        want = sum(hs.get(("leaf", leaf), "fund") or 0 for leaf in mine)
        assert next(r for r in rows if r["担当課"] == single)[fund] == want, single

    # 都道府県別: the 42 included with their sums, the others blank (never 0)
    rows, total = _table(wb["都道府県別"], "コード")
    assert [r["コード"] for r in rows] == [f"{i:02d}" for i in range(1, 48)]
    for rec in rows:
        code = rec["コード"]
        if code in hs.included:
            assert rec["提出状況"] == "受理"
            _check_money(rec, hs, ("pref", code), code)
        else:
            assert rec["提出状況"] in ("未提出", "差戻し")
            assert all(rec[MONEY_LABELS[k]] is None for k in MONEY), code
    _check_money(total, hs, "grand", "都道府県別 合計")

    # 都道府県×事業 and 都道府県×大項目: every cell, the row totals, the column totals
    for name, columns, group in (("都道府県×事業", hs.leaves, "cell"),
                                 ("都道府県×大項目", hs.categories, "pcat")):
        cells = list(wb[name].iter_rows(min_row=H, max_row=H + 48, values_only=True))
        head, body, foot = cells[0], cells[1:48], cells[48]
        assert head[3 + len(columns)] == report.TOTAL_LABEL
        for j, key in enumerate(columns):
            if group == "cell":
                no, sub, _ = hs.info[key]
                assert head[3 + j].startswith(f"{no}{sub[:1]} "), (head[3 + j], key)
            else:
                assert head[3 + j] == key
        for row in body:
            code = row[0]
            for j, key in enumerate(columns):
                assert row[3 + j] == hs.get((group, code, key), "fund"), (name, code, key)
            assert row[3 + len(columns)] == hs.get(("pref", code), "fund"), (name, code)
        assert foot[0] == report.TOTAL_LABEL
        for j, key in enumerate(columns):
            want = (hs.get(("leaf", key), "fund") if group == "cell"
                    else hs.get(("cat", key), "fund"))
            assert foot[3 + j] == want, (name, key)
        assert foot[3 + len(columns)] == grand_fund, name

    # 明細: one row per planned (prefecture, leaf), its 基金 and 総事業費
    ws = wb["明細"]
    headers = next(ws.iter_rows(min_row=H, max_row=H, values_only=True))
    got = {}
    for cells in ws.iter_rows(min_row=H + 1, values_only=True):
        if cells[0] is None:
            break
        rec = dict(zip(headers, cells))
        got[(rec["コード"], rec["事業コード"])] = (rec[fund], rec[MONEY_LABELS["total"]])
    assert got == {k: (m["fund"], m["total"]) for k, m in hs.rows.items()}

    # グラフ: the charts' data tables (column L onward)
    ws = wb["グラフ"]
    table = {}
    for cells in ws.iter_rows(min_row=H, values_only=True):
        label, value = cells[report.CHART_COLUMNS + 1:report.CHART_COLUMNS + 3]
        if label is not None:
            table[label] = value
    for cat in hs.categories:
        assert table[cat] == hs.get(("cat", cat), "fund"), cat
    assert table[joint] == hs.get(("leaf", "R5-26"), "fund")
    ranking = [(lab, v) for lab, v in table.items() if lab[:2].isdigit() and lab[2] == " "]
    assert [lab[:2] for lab, _ in ranking] == sorted(
        hs.included, key=lambda c: (-hs.get(("pref", c), "fund"), c))
    assert all(v == hs.get(("pref", lab[:2]), "fund") for lab, v in ranking)


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


def test_a_plan_on_another_prefectures_form_is_the_senders_everywhere(demo):
    """Regression: 佐賀県's plan sent on 長崎県's form made 長崎県 show 提出回数 2, うち差戻し
    1, and the run report listed 41_佐賀県_R5_計画.xlsx under 「42 長崎県」. Whose it is is
    decided at ingest: 佐賀県's, rejected, with a note that the form was 長崎県's."""
    folder, proc = demo
    assert proc.returncode == 0, proc.stderr
    saga = "41_佐賀県_R5_計画.xlsx"
    with sqlite3.connect(folder / "budget.db") as conn:
        stored = conn.execute("SELECT prefecture_code, form_prefecture_code, attribution_note, "
                              "status FROM submissions WHERE file_name = ?", (saga,)).fetchall()
        nagasaki = conn.execute("SELECT file_name, status FROM submissions "
                                "WHERE prefecture_code = '42' AND stage = 'plan'").fetchall()
    assert stored == [("41", "42", "ファイル名は本県のものですが、様式は 42 長崎県 のものでした",
                       "rejected")]
    assert nagasaki == [("42_長崎県_R5_計画.xlsx", "accepted")]

    # the run report: the row under 「41 佐賀県」, its findings too
    run_report = next((folder / "reports").glob("取込結果_*.xlsx"))
    wb = openpyxl.load_workbook(run_report, read_only=True)
    rows = {r[0]: r for r in wb["取込結果"].iter_rows(min_row=2, values_only=True)}
    assert rows[saga][1:4] == ("41 佐賀県", "R5", "差戻し")
    assert rows["42_長崎県_R5_計画.xlsx"][1:4] == ("42 長崎県", "R5", "受理")
    assert {r[1] for r in wb["指摘一覧"].iter_rows(min_row=2, values_only=True)
            if r[0] == saga} == {"41 佐賀県"}
    wb.close()

    # budget status: 長崎県 one accepted file; 佐賀県 rejected with the note
    result = CliRunner().invoke(cli, ["status", "--year", "R5", "--db",
                                      str(folder / "budget.db"), "--format", "json"])
    assert result.exit_code == 0, result.output
    import json

    st = {r["prefecture_code"]: r for r in json.loads(result.stdout)}
    assert (st["42"]["status_ja"], st["42"]["n_submissions"], st["42"]["note"]) == (
        "受理", 1, "")
    assert (st["41"]["status_ja"], st["41"]["n_submissions"], st["41"]["file_name"],
            st["41"]["stored_under"]) == ("差戻し", 1, saga, "42")
    assert st["41"]["note"] == ("ファイル名は本県のものですが、様式は 42 長崎県 のものでした"
                                "（差戻し）。本県の様式での再提出待ち")

    # the summary's 提出状況 sheet counts one file for 長崎県
    wb = openpyxl.load_workbook(folder / "reports" / "R5_集計.xlsx", read_only=True)
    sheet = list(wb["提出状況"].iter_rows(values_only=True))
    wb.close()
    header = next(r for r in sheet if r and "提出回数" in r)
    count = header.index("提出回数")
    by_name = {r[1]: r for r in sheet if r and len(r) > count and r[1] in ("長崎県", "佐賀県")}
    assert by_name["長崎県"][count] == 1
    assert by_name["佐賀県"][count] == 1
