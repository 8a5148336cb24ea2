"""`budget diff` and the run report's 変更点: what changed between two submissions, cell by
cell with the item's name; a 変更 changes the current plan in `aggregate` and `status` while
the first plan stays."""

from __future__ import annotations

import shutil

import openpyxl
import pytest
from click.testing import CliRunner

from budget.cli import cli
from budget.store import open_store
from tests.conftest import CLEAN_ROWS, edit_workbook, write_filled_workbook
from tests.stages import save_allocation, save_stage

pytest_plugins = ["tests.conftest_pg"]

FIRST = {"R5-01": {"national": 1200, "prefectural": 600, "implementer": "県"},
         "R5-02": {"national": 0, "prefectural": 0},
         "R5-03": {"national": 300, "prefectural": 150}}
CHANGED = {"R5-01": {"national": 1500, "prefectural": 750, "implementer": "=HYPERLINK(\"x\")"},
           "R5-03": {"national": 300, "prefectural": 150},
           "R5-04": {"national": 20, "prefectural": 10}}


@pytest.fixture
def store_path(tmp_path):
    db = tmp_path / "budget.db"
    with open_store(db) as store:
        save_stage(store, "plan", "13", FIRST)  # 1
        save_stage(store, "plan", "14", FIRST)  # 2: another prefecture
        save_stage(store, "revision", "13", {**CHANGED, "R5-01": {**CHANGED["R5-01"],
                                                                   "reason": "補正"}})  # 3
        save_stage(store, "plan", "13", {}, accepted=False)  # 4: rejected, no values
    return db


def lines_of(result) -> list[str]:
    return result.stdout.splitlines()


def test_diff_of_a_prefectures_last_two_lists_every_changed_cell(store_path, tmp_path):
    result = CliRunner().invoke(cli, ["diff", "東京都", "--year", "R5", "--db", str(store_path),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    lines = lines_of(result)
    assert lines[0].startswith("前: 提出ID 1 13_R5_計画_")
    assert lines[1].startswith("後: 提出ID 3 13_R5_変更_")
    assert lines[2:-1] == [
        "変更 8 件:",
        "  R5-01 介護人材確保対策連携強化事業（協議会設置等） 国(A) 1,200 → 1,500",
        "  R5-01 介護人材確保対策連携強化事業（協議会設置等） 都道府県(B) 600 → 750",
        "  R5-01 介護人材確保対策連携強化事業（協議会設置等） 事業の実施主体 県 → =HYPERLINK(\"x\")",
        "  R5-01 介護人材確保対策連携強化事業（協議会設置等） 変更理由 （空欄） → 補正",
        "  R5-02 市区町村介護人材確保プラットフォーム構築事業 国(A) 0 → （空欄）",
        "  R5-02 市区町村介護人材確保プラットフォーム構築事業 都道府県(B) 0 → （空欄）",
        "  R5-04 地域における介護のしごと魅力発信事業 国(A) （空欄） → 20",
        "  R5-04 地域における介護のしごと魅力発信事業 都道府県(B) （空欄） → 10",
    ]
    changes = [line for line in lines if line.startswith("  R5-")]
    assert "  R5-03" not in result.stdout  # unchanged: not listed
    assert all("総事業費" not in line and "基金計" not in line for line in changes)
    sheet = tmp_path / "out" / "R5_13_東京都_差分_1-3.xlsx"
    assert lines[-1] == f"差分のシート: {sheet}"
    ws = openpyxl.load_workbook(sheet)["差分"]
    rows = [r for r in ws.iter_rows(min_row=5, values_only=True)]
    assert rows[0] == ("事業", "項目", "前", "後", "増減", "区分")
    assert rows[1] == ("R5-01 介護人材確保対策連携強化事業（協議会設置等）", "国(A)", 1200, 1500, 300,
                       "変更")
    # sender text stays text: shown as typed, never a formula
    cell = next(c for row in ws.iter_rows(min_row=6) for c in row
                if c.value == "=HYPERLINK(\"x\")")
    assert cell.data_type == "s" and cell.quotePrefix
    assert ("R5-02 市区町村介護人材確保プラットフォーム構築事業", "国(A)", 0, "（空欄）", 0, "削除") in rows


def test_diff_by_ids_and_the_errors(store_path, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(cli, ["diff", "--from", "1", "--to", "2", "--db", str(store_path),
                             "--out", str(tmp_path)])
    assert ok.exit_code == 0 and "違いはありません。" in ok.stdout
    assert "注意: 都道府県または年度の異なる提出を比べています。" in ok.stdout
    rejected = runner.invoke(cli, ["diff", "--from", "1", "--to", "4", "--db", str(store_path)])
    assert rejected.exit_code == 1
    assert "提出ID 4" in rejected.stderr and "差戻しのため、値が保存されていません" in rejected.stderr
    unknown = runner.invoke(cli, ["diff", "--from", "1", "--to", "99", "--db", str(store_path)])
    assert unknown.exit_code == 2 and "提出ID 99 はデータベースにありません" in unknown.stderr
    half = runner.invoke(cli, ["diff", "--from", "1", "--db", str(store_path)])
    assert half.exit_code == 2 and "--from と --to は両方指定してください" in half.stderr
    alone = runner.invoke(cli, ["diff", "14", "--db", str(store_path)])
    assert alone.exit_code == 1 and "14 神奈川県 の受理した提出が 2 件ないため" in alone.stderr


def test_a_revision_becomes_the_current_plan_in_aggregate_and_status(store_path, tmp_path):
    from budget.analysis.status import submission_status
    from budget.analysis.summary import grand_totals, load_summary
    from budget.analysis.track import by_prefecture, load_track
    from budget.menu import load_menu

    menu = load_menu(2023)
    with open_store(store_path) as store:
        summary = load_summary(store, 2023, menu)
        status = submission_status(store, 2023).set_index("prefecture_code")
        track = by_prefecture(load_track(store, 2023, menu)).set_index("prefecture_code")
        subs = store.submissions(2023)
    changed_fund = sum(r["national"] + r["prefectural"] for r in CHANGED.values())
    first_fund = sum(r["national"] + r["prefectural"] for r in FIRST.values())
    tokyo = summary.detail[summary.detail["prefecture_code"] == "13"]
    assert int(tokyo["fund"].sum()) == changed_fund
    assert int(grand_totals(summary)["fund"]) == changed_fund + first_fund  # 13 changed + 14
    assert status.loc["13", "fund_total"] == changed_fund
    assert status.loc["13", "n_submissions"] == 3  # plan, revision, rejected plan
    assert status.loc["13", "note"].startswith("最新の提出")  # its newest one was rejected
    # the first plan stays in the store and in 計画（当初）
    assert (subs["stage"] == "plan").sum() == 3
    assert track.loc["13", "plan_first_fund"] == first_fund
    assert track.loc["13", "plan_fund"] == changed_fund
    assert track.loc["13", "n_revisions"] == 1
    # the summary's 出典 lists the revision as used and the first plan as superseded
    used = summary.inputs.set_index("submission_id")
    assert bool(used.loc[3, "used"]) and not bool(used.loc[1, "used"])


def test_the_run_report_lists_what_a_resubmission_changed(tmp_path):
    """Two real workbooks of one prefecture, ingested one after the other: the second run's
    report lists each changed cell against the first accepted one."""
    from budget.intake.batch import ingest_folder

    db = tmp_path / "budget.db"
    first = write_filled_workbook(tmp_path / "in1")
    run1 = ingest_folder(tmp_path / "in1", db, reports_dir=tmp_path / "reports", workers=0)
    assert run1.changes is not None and run1.changes.empty
    wb = openpyxl.load_workbook(run1.report_path)
    assert wb["変更点"]["A2"].value.startswith("この取り込みに再提出")

    rows = {k: dict(v) for k, v in CLEAN_ROWS.items()}
    rows["R5-01"]["national"] = 15000
    rows["R5-01"]["public"] = 10684
    rows["R5-02"] = {}
    (tmp_path / "in2").mkdir()
    second = write_filled_workbook(tmp_path / "in2", rows=rows, name="13_東京都_R5_計画_2.xlsx")
    assert second.read_bytes() != first.read_bytes()
    run2 = ingest_folder(tmp_path / "in2", db, reports_dir=tmp_path / "reports", workers=0)
    assert [r.status for r in run2.results] == ["accepted"]
    ws = openpyxl.load_workbook(run2.report_path)["変更点"]
    got = [r for r in ws.iter_rows(min_row=2, values_only=True)]
    assert [r[5:] for r in got] == [
        ("R5-01 介護人材確保対策連携強化事業（協議会設置等）", "国(A)", 14316, 15000, "変更"),
        ("R5-01 介護人材確保対策連携強化事業（協議会設置等）", "公", 10000, 10684, "変更"),
        ("R5-02 市区町村介護人材確保プラットフォーム構築事業", "国(A)", 0, "（空欄）", "削除"),
        ("R5-02 市区町村介護人材確保プラットフォーム構築事業", "都道府県(B)", 0, "（空欄）", "削除"),
    ]
    assert {r[:5] for r in got} == {(second.name, "13 東京都", run2.results[0].submission_id,
                                     run1.results[0].submission_id, first.name)}


def test_an_unchanged_resubmission_says_so(tmp_path):
    from budget.intake.batch import ingest_folder

    db = tmp_path / "budget.db"
    first = write_filled_workbook(tmp_path / "in1")
    ingest_folder(tmp_path / "in1", db, reports_dir=None, workers=0)
    (tmp_path / "in2").mkdir()
    # the same workbook edited and saved again: other bytes, the same values
    copy = shutil.copy(first, tmp_path / "in2" / "13_東京都_R5_計画_再.xlsx")
    edit_workbook(copy, lambda ws: None)
    run = ingest_folder(tmp_path / "in2", db, reports_dir=tmp_path / "r", workers=0)
    assert [c["kind"] for c in run.changes] == ["same"]
    ws = openpyxl.load_workbook(run.report_path)["変更点"]
    assert [c.value for c in ws[2]][5:] == ["（変更なし）", None, None, None, "変更なし"]


# --- the comparison against the value-at-a-time reference ---------------------------------


def reference_changes(before, after, values, skip):
    """What ``resubmission_changes`` compared before it compared a leaf's values as one
    tuple: every (leaf, field) value of each side (blank → None, numpy → Python), compared
    one at a time, ordered by (place, leaf code, field)."""
    from budget.analysis.diff import _KEYS, _plain

    fields = [c for c in values.columns if c not in _KEYS and c not in skip]
    has_seq = "seq" in values.columns
    parts, rows = {}, {}
    for rec in values.to_dict("records"):
        sid = int(rec["submission_id"])
        long, order = parts.setdefault(sid, ({}, {}))
        n = rows[sid] = rows.get(sid, -1) + 1
        leaf = str(rec["leaf_code"])
        order.setdefault(leaf, float(rec["seq"]) if has_seq else float(n))
        for f in fields:
            v = _plain(rec[f])
            if v is not None:
                long[(leaf, f)] = v
    a, bo = parts.get(before["id"], ({}, {}))
    b, ao = parts.get(after["id"], ({}, {}))
    order = {**bo, **ao}
    out = []
    for key in sorted(set(a) | set(b), key=lambda k: (order.get(k[0], 1e9), k[0],
                                                       fields.index(k[1]))):
        old, new = a.get(key), b.get(key)
        if old != new:
            out.append((key[0], key[1], old, new,
                        "added" if old is None else "removed" if new is None else "changed"))
    return out


def long_read(values):
    """A frame of values (``Store.submission_amounts``' shape, or an odd one) as
    ``Store.submission_cells`` gives values: the fields, (submission, leaf, seq) of each row
    (without ``seq``: the row's place in its submission), each non-blank value as it is."""
    from budget.analysis.diff import _KEYS, _plain

    known = [c for c in values.columns if c not in _KEYS]
    has_seq = "seq" in values.columns
    leaves, cells, rows = [], [], {}
    for rec in values.to_dict("records"):
        sid, leaf = int(rec["submission_id"]), str(rec["leaf_code"])
        n = rows[sid] = rows.get(sid, -1) + 1
        leaves.append((sid, leaf, rec["seq"] if has_seq else n))
        cells += [(sid, leaf, f, rec[f]) for f in known if _plain(rec[f]) is not None]
    return known, leaves, cells


def odd_values_frame(seed: int, with_seq: bool = True):
    """Two submissions (1 and 2) of random leaves and values, blank of every kind included,
    a leaf stored twice, numpy and Python numbers, text that equals a number's digits."""
    import random

    import numpy as np
    import pandas as pd

    rng = random.Random(seed)
    pick = [None, np.nan, pd.NA, 0, 1, 1.0, 2, np.int64(2), np.float64(2.0), "2", "", "県",
            "=1+1", True]
    rows = []
    for sid in (1, 2):
        leaves = rng.sample([f"R5-{i:02d}" for i in range(12)], rng.randint(0, 10))
        if leaves and rng.random() < 0.5:
            leaves.append(rng.choice(leaves))  # a leaf stored twice
        for seq, leaf in enumerate(leaves):
            rows.append({"prefecture_code": "13", "submission_id": sid, "leaf_code": leaf,
                         "seq": rng.choice([seq, 11 - seq]),
                         "national": rng.choice(pick), "total": rng.choice(pick),
                         "implementer": rng.choice(pick), "remarks": rng.choice(pick)})
    frame = pd.DataFrame(rows, columns=["prefecture_code", "submission_id", "leaf_code", "seq",
                                        "national", "total", "implementer", "remarks"])
    if rng.random() < 0.5:
        frame["national"] = pd.array([v if isinstance(v, int) and not isinstance(v, bool)
                                      else None for v in frame["national"]], dtype="Int64")
    return frame if with_seq else frame.drop(columns="seq")


@pytest.mark.parametrize("seed", range(60))
def test_a_leaf_compared_whole_finds_what_comparing_each_value_finds(seed):
    from budget.analysis.diff import compare

    values = odd_values_frame(seed, with_seq=seed % 3 != 0)
    before = {"id": 1, "stage": "plan", "fiscal_year": 2023}
    after = {"id": 2, "stage": "plan", "fiscal_year": 2023}
    found = compare(before, after, long_read(values)).changes
    assert [tuple(r) for r in found[["leaf_code", "field", "before", "after", "kind"]]
            .itertuples(index=False)] == reference_changes(before, after, values,
                                                           frozenset({"total", "fund",
                                                                      "actual_fund",
                                                                      "actual_total"}))
    assert all(type(v) in (int, float, str, bool, type(None))
               for v in [*found["before"], *found["after"]])


# --- the run's changes read long (Store.submission_cells) -----------------------------------

ODD_ROWS = [
    {"R5-01": {"national": 1200, "prefectural": 0, "implementer": "県", "remarks": " 空白 "},
     "R5-02": {"national": 0}, "R5-03": {}, "R5-04": {"output": "=1+1"}},
    {"R5-01": {"national": 1200, "prefectural": None, "implementer": "県",
               "remarks": " 空白 "},
     "R5-02": {"national": 0, "other": 5}, "R5-05": {"national": 7, "output": "新規"}},
    {"R5-05": {"national": 7, "output": "新規"}, "R5-02": {"national": 0, "other": 5},
     "R5-01": {"national": 1200, "implementer": "県", "remarks": " 空白 "}},
    {},
]


def test_the_cells_read_long_are_the_values_read_wide(store_location):
    """``Store.submission_cells`` holds what ``submission_amounts`` holds (blank absent, 0
    kept, numbers as int, text as sent), on both backends; ``_by_cells`` of it reads what
    it reads of the wide frame made long here."""
    from budget.analysis.diff import _DEFAULT_DERIVED, _by_cells

    with open_store(store_location) as store:
        ids = [save_stage(store, "plan", "13", rows) for rows in ODD_ROWS]
        ids.append(save_allocation(store, "1", {"13": (300, 200), "01": (90, None)}))
        ids.append(save_stage(store, "plan", "14", {}, accepted=False))
        for asked in (None, ["national", "output", "no-such-field"]):
            wide = store.submission_amounts(ids, asked)
            known, leaves, cells = store.submission_cells(ids, asked)
            assert known == [c for c in wide.columns if c not in (
                "prefecture_code", "submission_id", "leaf_code", "seq")]
            assert sorted(leaves) == sorted(zip(wide["submission_id"], wide["leaf_code"],
                                                wide["seq"]))
            long = wide.melt(id_vars=["submission_id", "leaf_code"], value_vars=known)
            long = long[long["value"].notna()]
            assert sorted(cells, key=repr) == sorted(
                ((int(s), lf, f, v if isinstance(v, str) else int(v))
                 for s, lf, f, v in long.itertuples(index=False)), key=repr)
            assert all(type(v) in (int, str) for *_, v in cells)
            for skip in (frozenset(), _DEFAULT_DERIVED):
                fields, parts = _by_cells((known, leaves, cells), skip)
                wide_fields, wide_parts = _by_cells(long_read(wide), skip)
                assert fields == wide_fields
                assert parts == wide_parts


def test_each_resubmissions_changes_are_what_budget_diff_finds(tmp_path):
    """The run's changes (read long, parts of pairs) are, pair by pair, what
    ``diff_submissions`` finds from the wide values."""
    import budget.analysis.diff as diff

    with open_store(tmp_path / "b.db") as store:
        ids = [save_stage(store, stage, pref, rows)
               for rows, stage in zip(ODD_ROWS, ("plan", "plan", "revision", "revision"))
               for pref in ("13", "01")]
        ids.append(save_allocation(store, "1", {"13": (300, 200)}))
        ids.append(save_allocation(store, "1", {"13": (330, None), "01": (1, 1)}))
        for at_once in (1, 3, 50):
            diff.PAIRS_AT_ONCE = at_once
            try:
                found = list(diff.resubmission_changes(store, ids))
            finally:
                diff.PAIRS_AT_ONCE = 50
            pairs = list(dict.fromkeys((c["previous_id"], c["submission_id"]) for c in found))
            assert len(pairs) == 7
            expected = []
            for before, after in pairs:
                rows = diff.diff_submissions(store, before, after).changes.to_dict("records")
                expected += rows or [{c: None for c in diff.CHANGE_COLUMNS} | {"kind": "same"}]
            assert [{k: c[k] for k in diff.CHANGE_COLUMNS} for c in found] == expected
            assert {c["kind"] for c in found} >= {"changed", "added", "removed", "same"}
