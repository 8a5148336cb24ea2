"""Next year pre-filled (``budget generate --year R6 --prefill-from R5``): the locked
前年度計画 (A+B) column from each prefecture's current R5 plan, carried through the sample
R5→R6 crosswalk (merged summed, split shared); ingest ignores it as a value and rejects an
edited one. In LibreOffice: typed amounts give right totals and the column enters none."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from budget.cli import cli
from budget.forms.prefill import NOTE, NOTE_CELL, PREFILLED_PLAN
from budget.intake.batch import ingest_folder
from budget.intake.check import Settings
from budget.store import open_store
from tests.libreoffice import cell_values, edit_and_save, requires_uno
from tests.stages import save_stage

DATA = Path(__file__).parent / "data"
R6_MENU = DATA / "R6_sample_menu.csv"
CROSSWALK = DATA / "crosswalk_R5_R6_sample.csv"
C = PREFILLED_PLAN.column
S = PREFILLED_PLAN.main_sheet

#: 北海道's R5 plan: leaf → (国 A, 都道府県 B)
R5_PLAN = {"R5-01": (200, 100), "R5-21": (667, 334), "R5-34-ロ": (100, 50),
           "R5-34-ハ": (20, 10), "R5-40": (70, 30)}
#: Worked out by hand: R5-21 1001 split 0.6 / 0.4 → 601 / 400; R5-34-ロ 150 + R5-34-ハ 30
#: merged → 180; R5-40 removed (no row in R6); every other R6 leaf blank.
EXPECTED = {"R6-01": 300, "R6-21-イ": 601, "R6-21-ロ": 400, "R6-34-ロ": 180}


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "budget.db"
    with open_store(path) as store:
        save_stage(store, "plan", "01", {k: {"national": a, "prefectural": b}
                                         for k, (a, b) in R5_PLAN.items()}, year=2023)
    return path


def _generate(db, out, *prefs):
    args = ["generate", "--year", "R6", "--menu", str(R6_MENU), "--prefill-from", "R5",
            "--crosswalk", str(CROSSWALK), "--db", str(db), "--out", str(out)]
    for p in prefs:
        args += ["-p", p]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    return res


def _rows(path) -> dict[str, int]:
    ws = openpyxl.load_workbook(path)[S]
    code_col = C["leaf_code"].col_index + 1
    return {ws.cell(r, code_col).value: r for r in range(PREFILLED_PLAN.first_data_row,
                                                          ws.max_row + 1)
            if isinstance(ws.cell(r, code_col).value, str)
            and ws.cell(r, code_col).value.startswith("R6-")}


def test_prefilled_workbook_shows_last_years_plan_through_the_crosswalk(db, tmp_path):
    res = _generate(db, tmp_path / "t", "01", "02")
    assert "青森県" in res.output  # no R5 plan: its column is blank, and it is said
    path = tmp_path / "t" / "01_北海道_R6_計画.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb[S]
    rows = _rows(path)
    got = {leaf: ws[C["prev_fund"].ref(r)].value for leaf, r in rows.items()}
    assert {k: v for k, v in got.items() if v is not None} == EXPECTED
    assert ws[NOTE_CELL].value == NOTE
    assert ws[C["prev_fund"].ref(rows["R6-01"])].protection.locked
    blank = openpyxl.load_workbook(tmp_path / "t" / "02_青森県_R6_計画.xlsx")[S]
    assert all(blank[C["prev_fund"].ref(r)].value is None for r in rows.values())


def test_ingest_ignores_the_reference_and_catches_an_edit(db, tmp_path):
    from tests.conftest import edit_workbook

    _generate(db, tmp_path / "t", "01")
    path = tmp_path / "t" / "01_北海道_R6_計画.xlsx"
    rows = _rows(path)
    r = rows["R6-34-ロ"]

    def fill(ws):
        ws[C["national"].ref(r)] = 200
        ws[C["prefectural"].ref(r)] = 100

    (tmp_path / "ok").mkdir()
    edit_workbook(path, fill, out=tmp_path / "ok" / path.name)
    settings = Settings(fiscal_year=2024, menu_path=R6_MENU)
    run = ingest_folder(tmp_path / "ok", db, settings, None, workers=0)
    (result,) = run.results
    assert result.status == "accepted", result.report.findings
    with open_store(db) as store:
        stored = store.amounts_of([result.submission_id])
    assert "prev_fund" not in stored.columns or stored["prev_fund"].isna().all()
    assert int(stored["fund"].sum()) == 300

    def tamper(ws):
        ws[C["prev_fund"].ref(r)] = 999

    (tmp_path / "bad").mkdir()
    edit_workbook(path, tamper, out=tmp_path / "bad" / path.name)
    run = ingest_folder(tmp_path / "bad", db, settings, None, workers=0)
    (result,) = run.results
    assert result.status == "rejected"
    assert ["reference-changed", "error", C["prev_fund"].ref(r)] in result.report.flatten()


def test_prefill_needs_the_plan_stage_and_an_earlier_year(db, tmp_path):
    base = ["generate", "--year", "R6", "--menu", str(R6_MENU), "--crosswalk", str(CROSSWALK),
            "--db", str(db), "--out", str(tmp_path)]
    res = CliRunner().invoke(cli, [*base, "--prefill-from", "R6"])
    assert res.exit_code == 2 and "より前の年度" in res.output
    res = CliRunner().invoke(cli, [*base, "--prefill-from", "R5", "--stage", "要望"])
    assert res.exit_code == 2 and "計画の様式" in res.output
    res = CliRunner().invoke(cli, ["generate", "--year", "R6", "--menu", str(R6_MENU),
                                   "--prefill-from", "R5", "--db", str(db), "--out",
                                   str(tmp_path)])
    assert res.exit_code == 2 and "移行表" in res.output


@pytest.mark.libreoffice
@requires_uno
def test_prefilled_plan_in_libreoffice(db, tmp_path):
    _generate(db, tmp_path / "t", "01")
    path = tmp_path / "t" / "01_北海道_R6_計画.xlsx"
    rows = _rows(path)
    n_leaves = len(rows)
    import pandas as pd

    cats = pd.read_csv(R6_MENU, dtype=str)["category"].nunique()
    tr = PREFILLED_PLAN.first_data_row + n_leaves + 1 + cats
    r1, r2 = rows["R6-01"], rows["R6-34-ロ"]
    saved = tmp_path / "in" / path.name
    edit_and_save(path, saved, [(S, C["national"].ref(r1), "2,000"),
                                (S, C["prefectural"].ref(r1), "1000"),
                                (S, C["national"].ref(r2), "400"),
                                (S, C["prefectural"].ref(r2), "200"),
                                (S, C["other"].ref(r2), "50")])
    cells = [C["fund"].ref(r1), C["total"].ref(r2), C["fund"].ref(tr), C["total"].ref(tr),
             C["prev_fund"].ref(tr), C["prev_fund"].ref(r2)]
    # the totals are the typed amounts only; the reference column keeps last year's
    assert cell_values(saved, S, cells) == dict(zip(cells, [
        3000, 650, 3600, 3650, sum(EXPECTED.values()), 180]))
    run = ingest_folder(saved.parent, db, Settings(fiscal_year=2024, menu_path=R6_MENU),
                        None, workers=0)
    (result,) = run.results
    assert result.status == "accepted", result.report.findings
