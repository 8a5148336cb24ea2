"""``budget compare --stage``: every stage compared year over year (要望, 内示 as the sum of
its rounds, 計画 as first sent, the current plan with its 変更, 実績 over all its execution
years), on a real SQLite store holding R5 and the test R6 menu's submissions of each stage.
Each figure is recomputed here from the rows saved, by the stage's rule."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from tests.stages import save_allocation, save_stage

DATA = Path(__file__).parent / "data"
R6_MENU = DATA / "R6_sample_menu.csv"
CROSSWALK = DATA / "crosswalk_R5_R6_sample.csv"
YEARS = [2023, 2024]


def plan(a: int, b: int) -> dict[str, int]:
    return {"national": a, "prefectural": b}


def spent(a: int, b: int) -> dict[str, int]:
    return {"actual_national": a, "actual_prefectural": b}


# Each stage's submissions in the order they are received: (stage, year, prefecture, rows,
# header). The figure of a stage is then recomputed from this list by its rule.
SENT: list[tuple[str, int, str, dict, dict | None]] = [
    ("request", 2023, "01", {"R5-01": plan(100, 50)}, None),
    ("request", 2023, "01", {"R5-01": plan(120, 60), "R5-21": plan(10, 5)}, None),  # newest
    ("request", 2023, "13", {"R5-34-ロ": plan(40, 20)}, None),
    ("request", 2024, "01", {"R6-01": plan(90, 45)}, None),
    ("plan", 2023, "01", {"R5-01": plan(200, 100), "R5-21": plan(667, 334)}, None),  # first
    ("revision", 2023, "01", {"R5-01": plan(210, 105), "R5-21": plan(600, 300)}, None),
    ("plan", 2023, "13", {"R5-34-ハ": plan(60, 30)}, None),  # first
    ("plan", 2023, "13", {"R5-34-ハ": plan(66, 33)}, None),  # sent again: current
    ("plan", 2024, "01", {"R6-01": plan(220, 110)}, None),
    ("plan", 2024, "13", {"R6-34-ロ": plan(70, 35)}, None),  # first
    ("revision", 2024, "13", {"R6-34-ロ": plan(80, 40)}, None),
    ("revision", 2024, "13", {"R6-34-ロ": plan(90, 45)}, None),  # current
    # 実績 of fund year R5: 01 reports R5's execution twice (the newer counts) and R6's
    # execution of the same fund year once; 13 leaves the execution year blank (= R5)
    ("actual", 2023, "01", {"R5-01": spent(150, 75)}, {"exec_year": "2023"}),
    ("actual", 2023, "01", {"R5-01": spent(160, 80)}, {"exec_year": "2023"}),
    ("actual", 2023, "01", {"R5-01": spent(40, 20), "R5-21": spent(300, 150)},
     {"exec_year": "2024"}),
    ("actual", 2023, "13", {"R5-34-ハ": spent(50, 25)}, {}),
    ("actual", 2024, "01", {"R6-01": spent(200, 100)}, {"exec_year": "2024"}),
]
#: 内示: (year, round, prefecture → (基金規模, 国費)) in the order received
ALLOCATIONS = [
    (2023, "1", {"01": (600, 400), "13": (90, 60)}),
    (2023, "2", {"01": (60, 40)}),
    (2023, "1", {"01": (630, 420), "13": (90, 60)}),  # round 1 sent again: this one counts
    (2024, "1", {"01": (700, 466), "47": (30, 20)}),
]


def fund(rows: dict) -> int:
    """基金 (A+B) of the rows, whatever stage."""
    return sum(r.get("national", 0) + r.get("prefectural", 0) + r.get("actual_national", 0)
               + r.get("actual_prefectural", 0) for r in rows.values())


def expected(stage: str) -> dict[int, dict[str, int]]:
    """Year → prefecture → the figure, recomputed from ``SENT`` / ``ALLOCATIONS``."""
    out: dict[int, dict[str, int]] = {y: {} for y in YEARS}
    if stage == "allocation":
        rounds: dict[tuple[int, str], dict] = {}
        for year, round_, amounts in ALLOCATIONS:
            rounds[(year, round_)] = amounts  # the newest of a round replaces it
        for (year, _), amounts in rounds.items():
            for code, (f, _n) in amounts.items():
                out[year][code] = out[year].get(code, 0) + f
        return out
    kinds = {"request": ("request",), "plan_first": ("plan",), "plan": ("plan", "revision"),
             "actual": ("actual",)}[stage]
    chosen: dict[tuple[int, str, int], dict] = {}
    for kind, year, pref, rows, header in SENT:
        if kind not in kinds:
            continue
        exec_year = int((header or {}).get("exec_year") or year) if stage == "actual" else 0
        if stage == "plan_first" and (year, pref, exec_year) in chosen:
            continue
        chosen[(year, pref, exec_year)] = rows
    for (year, pref, _), rows in chosen.items():
        out[year][pref] = out[year].get(pref, 0) + fund(rows)
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from budget.store import open_store

    db = tmp_path_factory.mktemp("stages") / "budget.db"
    with open_store(db) as st:
        for kind, year, pref, rows, header in SENT:
            save_stage(st, kind, pref, rows, year=year, header=header)
        for year, round_, amounts in ALLOCATIONS:
            save_allocation(st, round_, amounts, year=year)
    return db


def _none(v):
    import pandas as pd

    return None if pd.isna(v) else int(v)


@pytest.mark.parametrize("stage", ["request", "allocation", "plan_first", "plan", "actual"])
def test_each_stage_compares_the_figures_its_rule_gives(store, tmp_path, stage):
    from budget.reports import compare_year

    run = compare_year(store, YEARS, tmp_path, stage=stage, menu_paths=[R6_MENU],
                       crosswalk_paths=[CROSSWALK], formats=("json",))
    comp = run.compare
    want = expected(stage)
    prefs = comp.prefectures.set_index("prefecture_code")
    for y in YEARS:
        got = {code: _none(v) for code, v in prefs[f"y{y}"].items() if _none(v) is not None}
        assert got == want[y], (stage, y)
        assert comp.submitted[y] == sorted(want[y])
        nat = comp.national.iloc[0][f"y{y}"]
        assert _none(nat) == (sum(want[y].values()) if want[y] else None)
    # a prefecture without that stage is missing, never 0
    assert prefs.loc["02", ["y2023", "y2024"]].isna().all()
    if stage == "allocation":  # prefectures only: no items, no 大項目
        assert comp.items.empty and comp.categories.empty
    else:  # items through the crosswalk add up to the prefectures
        for y in YEARS:
            assert int(comp.items[f"y{y}"].sum()) == sum(want[y].values())
    wb = openpyxl.load_workbook(run.written[0].path)
    from budget.analysis.compare import STAGE_LABEL

    assert STAGE_LABEL[stage] in wb["総括"]["A3"].value
    rows = {r[0]: r for r in wb["都道府県別"].iter_rows(values_only=True)
            if r and isinstance(r[0], str) and r[0][:2].isdigit()}
    missing = "内示なし" if stage == "allocation" else "未提出"
    assert rows["02 青森県"][1:3] == (missing, missing)
    assert rows["01 北海道"][1:3] == (want[2023]["01"], want[2024]["01"])


def test_actual_counts_every_execution_year_of_the_fund_year(store, tmp_path):
    """Fund year R5's 実績 of 01: R5's execution (the newer report) + R6's execution."""
    from budget.analysis.compare import load_compare
    from budget.reports import compare_menus
    from budget.store import open_store

    menus, crosswalks = compare_menus(YEARS, [R6_MENU], [CROSSWALK])
    with open_store(store, create=False) as st:
        comp = load_compare(st, YEARS, menus, crosswalks, "actual")
    prefs = comp.prefectures.set_index("prefecture_code")
    assert _none(prefs.loc["01", "y2023"]) == (160 + 80) + (40 + 20 + 300 + 150)
    items = comp.items.set_index("leaf_code")
    # R5-21 (450 spent in R6) split 0.6 / 0.4 onto R6-21-イ / R6-21-ロ
    assert (_none(items.loc["R6-21-イ", "y2023"]), _none(items.loc["R6-21-ロ", "y2023"])) == \
        (270, 180)
    assert "執行年度" in comp.notes[0]
    # which execution years each fund year holds: R5's 01 in R5 and R6, 13 in R5
    assert "R5 の実績: 執行年度 R5（2 都道府県）、R6（1 都道府県）" in comp.notes
    assert "R6 の実績: 執行年度 R6（1 都道府県）" in comp.notes


def test_the_choice_of_submissions_follows_the_stages_rules(store):
    """compare picks the submissions of a stage as ``budget.stages`` does."""
    from budget.analysis.compare import _chosen
    from budget.stages import current_plan_ids, current_request_ids, first_plan_ids
    from budget.store import open_store

    with open_store(store, create=False) as st:
        subs = st.submissions()
    for y in YEARS:
        for stage, rule in (("plan", current_plan_ids), ("plan_first", first_plan_ids),
                            ("request", current_request_ids)):
            assert _chosen(subs, y, stage) == {i: p for p, i in rule(subs, y).items()}, stage


@pytest.mark.parametrize("name, stage", [("内示", "allocation"), ("当初計画", "plan_first"),
                                         ("計画（当初）", "plan_first"), ("変更", "plan"),
                                         ("計画", "plan"), ("実績", "actual"),
                                         ("要望", "request"), ("allocation", "allocation")])
def test_stage_names_a_person_types(name, stage):
    from budget.analysis.compare import compare_stage

    assert compare_stage(name) == stage


def test_cli_compares_the_allocation_without_a_crosswalk(store, tmp_path):
    import subprocess
    import sys

    from budget.cli import cli as main

    args = ["compare", "--years", "R5", "R6", "--db", str(store), "--stage", "内示",
            "--out", str(tmp_path / "out")]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    want = expected("allocation")
    assert f"R5: 全国計 {sum(want[2023].values()):,} 千円（内示 2 / 47 都道府県）" in res.output
    proc = subprocess.run([sys.executable, "-m", "budget", *args], capture_output=True,
                          text=True, encoding="utf-8")
    assert proc.returncode == 0, proc.stderr
    assert f"R6: 全国計 {sum(want[2024].values()):,} 千円" in proc.stdout
    res = CliRunner().invoke(main, [*args[:-2], "--stage", "決算", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "段階「決算」はありません" in res.output
