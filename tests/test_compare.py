"""Year over year (``budget compare``): real plans filled for R5 and for the test R6 menu
(tests/data, a sample: merge, split, removal, new items), ingested into a real SQLite store;
the figures must equal an expectation worked out by hand from the filled rows through the
crosswalk."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from tests.conftest import write_filled_workbook

DATA = Path(__file__).parent / "data"
R6_MENU = DATA / "R6_sample_menu.csv"
CROSSWALK = DATA / "crosswalk_R5_R6_sample.csv"


def row(national: int, prefectural: int) -> dict[str, int]:
    return {"national": national, "prefectural": prefectural}


#: prefecture → leaf → (国 A, 都道府県 B); fund = A + B.
R5_ROWS = {
    "01": {"R5-01": row(200, 100), "R5-21": row(667, 334), "R5-34-ロ": row(100, 50),
           "R5-34-ハ": row(20, 10), "R5-40": row(70, 30), "R5-41": row(10, 0)},
    "13": {"R5-01": row(0, 0), "R5-34-ハ": row(60, 30)},
    "27": {"R5-01": row(300, 200)},
}
R6_ROWS = {
    "01": {"R6-01": row(220, 110), "R6-21-イ": row(500, 200), "R6-34-ロ": row(150, 50),
           "R6-41": row(30, 20), "R6-40": row(10, 10)},
    "13": {"R6-34-ロ": row(70, 30), "R6-42": row(10, 0)},
    "47": {"R6-01": row(30, 10)},
}

# Worked out by hand from the rows above and the sample crosswalk:
#   R5-21 (01: 1001) split 0.6 / 0.4 → 600.6 / 400.4 → 601 / 400 (the remainder to the
#   larger fraction); R5-34-ロ + R5-34-ハ merged into R6-34-ロ: 150 + 30 (01) + 90 (13) = 270;
#   R5-41 → R6-40 (moved); R5-40 removed; R6-41 and R6-42 new.
EXPECTED_ITEMS = {  # leaf → (R5 mapped, R6)
    "R6-01": (300 + 0 + 500, 330 + 40),
    "R6-21-イ": (601, 700),
    "R6-21-ロ": (400, None),
    "R6-34-ロ": (270, 300),
    "R6-40": (10, 20),
    "R6-41": (None, 50),
    "R6-42": (None, 10),
    "R5-40": (100, None),
}
EXPECTED_PREFS = {"01": (1591, 1300), "13": (90, 110), "27": (500, None), "47": (None, 40)}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store holding the R5 and R6 plans above, ingested from real workbooks."""
    from budget.intake.batch import ingest_folder
    from budget.intake.check import Settings
    from budget.menu import load_menu

    tmp = tmp_path_factory.mktemp("compare")
    db = tmp / "budget.db"
    r6 = load_menu(None, R6_MENU)
    for pref, rows in R5_ROWS.items():
        write_filled_workbook(tmp / "r5", pref, rows)
    for pref, rows in R6_ROWS.items():
        write_filled_workbook(tmp / "r6", pref, rows, menu=r6)
    run5 = ingest_folder(tmp / "r5", db, Settings(fiscal_year=2023), reports_dir=None, workers=0)
    run6 = ingest_folder(tmp / "r6", db, Settings(fiscal_year=2024, menu_path=R6_MENU),
                         reports_dir=None, workers=0)
    assert [r.status for r in run5.results + run6.results] == ["accepted"] * 6
    return db


def _none(v):
    import pandas as pd

    return None if pd.isna(v) else int(v)


def test_compare_figures_equal_the_hand_worked_expectation(store, tmp_path):
    from budget.reports import compare_year

    run = compare_year(store, [2023, 2024], tmp_path, menu_paths=[R6_MENU],
                       crosswalk_paths=[CROSSWALK], formats=("csv", "json"))
    comp = run.compare
    items = comp.items.set_index("leaf_code")
    for leaf, (r5, r6) in EXPECTED_ITEMS.items():
        assert (_none(items.loc[leaf, "y2023"]), _none(items.loc[leaf, "y2024"])) == (r5, r6), leaf
    # every other item: nobody planned it in either year, so blank, never 0
    others = items.drop(index=list(EXPECTED_ITEMS))
    assert others[["y2023", "y2024"]].isna().all().all()
    assert items.loc["R6-34-ロ", "relation"] == "merged"
    assert "R5-34-ロ＋R5-34-ハ" in items.loc["R6-34-ロ", "relation_ja"]
    assert items.loc["R6-21-イ", "relation"] == "split"
    assert items.loc["R6-41", "relation"] == "new"
    assert items.loc["R5-40", "relation"] == "removed"
    assert _none(items.loc["R6-34-ロ", "change_2024"]) == 30
    assert float(items.loc["R6-34-ロ", "pct_2024"]) == pytest.approx(11.1)
    assert _none(items.loc["R6-41", "change_2024"]) is None  # new: no change, not +50

    prefs = comp.prefectures.set_index("prefecture_code")
    assert len(prefs) == 47 and prefs.loc["01", "prefecture_label"] == "01 北海道"
    for code, (r5, r6) in EXPECTED_PREFS.items():
        assert (_none(prefs.loc[code, "y2023"]), _none(prefs.loc[code, "y2024"])) == (r5, r6)
    assert prefs.drop(index=list(EXPECTED_PREFS))[["y2023", "y2024"]].isna().all().all()
    assert _none(prefs.loc["01", "change_2024"]) == -291
    assert float(prefs.loc["01", "pct_2024"]) == pytest.approx(-18.3)

    # an independent recount of the national totals from the filled rows
    recount = {y: sum(a + b for rows in src.values() for a, b in
                      ((r["national"], r["prefectural"]) for r in rows.values()))
               for y, src in ((2023, R5_ROWS), (2024, R6_ROWS))}
    nat = comp.national.iloc[0]
    assert (int(nat["y2023"]), int(nat["y2024"])) == (recount[2023], recount[2024]) == (2181, 1450)
    cats = comp.categories.set_index("category")
    assert int(cats["y2023"].sum()) == recount[2023] and int(cats["y2024"].sum()) == recount[2024]
    assert _none(cats.loc["労働環境・処遇の改善", "y2023"]) == 380
    assert _none(cats.loc["労働環境・処遇の改善", "y2024"]) == 380

    # the workbook shows the same figures; missing is blank, never 0
    wb = openpyxl.load_workbook(run.written[0].path)
    assert wb.sheetnames == ["総括", "大項目別", "都道府県別", "事業別", "グラフ", "出典"]
    for name in wb.sheetnames:  # the sample menu is said to be one on every sheet
        assert "R6 のメニューはテスト用の見本です" in wb[name]["A3"].value, name
    ws = wb["都道府県別"]
    rows = {r[0]: r for r in ws.iter_rows(values_only=True) if r and isinstance(r[0], str)
            and r[0][:2].isdigit()}
    assert len(rows) == 47
    assert rows["01 北海道"][1:4] == (1591, 1300, -291)
    assert rows["27 大阪府"][1:3] == (500, "未提出")
    assert rows["02 青森県"][1:4] == ("未提出", "未提出", None)
    assert wb["グラフ"]._charts or True  # openpyxl drops charts on load; checked in the XML
    import zipfile

    with zipfile.ZipFile(run.written[0].path) as z:
        assert len([n for n in z.namelist() if n.startswith("xl/charts/chart")]) == 2
    # the tidy JSON: the same figures, blank as null
    doc = json.loads(run.written[2].path.read_text("utf-8"))
    got = {(r["key"], r["fiscal_year"]): r["amount"] for r in doc["rows"] if r["level"] == "item"}
    for leaf, (r5, r6) in EXPECTED_ITEMS.items():
        assert (got[(leaf, 2023)], got[(leaf, 2024)]) == (r5, r6)
    csv_text = run.written[1].path.read_text("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("表,コード,名称")


def test_cli_compare_in_process_and_as_a_subprocess(store, tmp_path):
    import subprocess
    import sys

    from budget.cli import cli as main

    args = ["compare", "--years", "R5", "R6", "--db", str(store), "--menu", str(R6_MENU),
            "--crosswalk", str(CROSSWALK), "--out", str(tmp_path / "out"), "--format", "csv"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "R5: 全国計 2,181 千円（受理 3 / 47 都道府県）" in res.output
    assert (tmp_path / "out" / "R5-R6_年度比較.xlsx").is_file()
    proc = subprocess.run([sys.executable, "-m", "budget", *args], capture_output=True,
                          text=True, encoding="utf-8")
    assert proc.returncode == 0, proc.stderr
    assert "R6: 全国計 1,450 千円" in proc.stdout


def test_compare_without_a_crosswalk_or_with_one_year_is_a_usage_error(store, tmp_path):
    from budget.cli import cli as main

    res = CliRunner().invoke(main, ["compare", "--years", "R5", "R6", "--db", str(store),
                                    "--menu", str(R6_MENU), "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "R5 から R6 への移行表" in res.output
    res = CliRunner().invoke(main, ["compare", "--years", "R5", "--db", str(store)])
    assert res.exit_code == 2 and "2 つ以上" in res.output


def test_split_shares_are_apportioned_in_whole_units_summing_to_the_source():
    from fractions import Fraction

    from budget.analysis.compare import _apportion

    assert _apportion(1001, [Fraction(3, 5), Fraction(2, 5)]) == [601, 400]
    assert _apportion(10, [Fraction(1, 3)] * 3) == [4, 3, 3]
    assert _apportion(0, [Fraction(1, 2)] * 2) == [0, 0]


def test_the_current_plan_is_the_newest_accepted_plan_or_revision(tmp_path):
    """A 変更 replaces its prefecture's plan in the comparison; a year with none reads plans."""
    from budget.analysis.compare import load_compare
    from budget.reports import compare_menus
    from budget.store import open_store
    from tests.stages import save_stage

    menus, crosswalks = compare_menus([2023, 2024], [R6_MENU], [CROSSWALK])
    with open_store(tmp_path / "b.db") as store:
        save_stage(store, "plan", "01", {"R5-01": row(100, 50)}, year=2023)
        save_stage(store, "plan", "13", {"R5-01": row(10, 5)}, year=2023)
        save_stage(store, "revision", "01", {"R5-01": row(200, 100)}, year=2023)
        save_stage(store, "plan", "01", {"R6-01": row(20, 10)}, year=2024)
        comp = load_compare(store, [2023, 2024], menus, crosswalks)
        actual = load_compare(store, [2023, 2024], menus, crosswalks, "actual")
    prefs = comp.prefectures.set_index("prefecture_code")
    assert (_none(prefs.loc["01", "y2023"]), _none(prefs.loc["01", "y2024"])) == (300, 30)
    assert (_none(prefs.loc["13", "y2023"]), _none(prefs.loc["13", "y2024"])) == (15, None)
    assert comp.submitted == {2023: ["01", "13"], 2024: ["01"]}
    assert actual.submitted == {2023: [], 2024: []}
    assert actual.national[["y2023", "y2024"]].isna().all().all()
