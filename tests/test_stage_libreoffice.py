"""The 変更 and 実績 workbooks in a real LibreOffice Calc (headless, ja-JP): the pre-filled
figures and totals shown right without recalculation, amounts typed by a clerk, saved and
ingested; a reference cell typed over after lifting the protection is caught.

Skipped where LibreOffice (with its Python UNO bridge) is absent."""

from __future__ import annotations

import pytest

from budget.forms import ACTUAL, REVISION
from budget.generate import PlanValues, generate_stage, write_plan_workbook
from budget.intake.batch import ingest_folder
from budget.intake.check import Settings
from budget.prefectures import find_prefecture
from budget.store import open_store
from tests.conftest import CONTACT
from tests.libreoffice import cell_values, edit_and_save, requires_uno

pytestmark = [pytest.mark.libreoffice, requires_uno]

#: Tokyo's accepted plan: leaf → (国 A, 都道府県 B, その他 C)
PLANNED = {"R5-01": (14316, 7160, 500), "R5-02": (3000, 1500, None), "R5-06-イ": (2000, 1000, 0)}


def leaf_row(menu, leaf: str, form) -> int:
    return form.first_data_row + menu["leaf_code"].tolist().index(leaf)


def total_row(menu, form) -> int:
    return form.first_data_row + len(menu) + 1 + menu["category"].nunique()


@pytest.fixture
def planned_db(tmp_path, menu):
    """A store holding Tokyo's accepted plan (``PLANNED``)."""
    inbox = tmp_path / "plan"
    inbox.mkdir()
    rows = {leaf: {"national": a, "prefectural": b, "other": c, "public": a, "private": 0}
            for leaf, (a, b, c) in PLANNED.items()}
    write_plan_workbook(inbox / "13_東京都_R5_計画.xlsx", menu, find_prefecture("13"),
                        values=PlanValues(header=dict(CONTACT), rows=rows))
    db = tmp_path / "budget.db"
    run = ingest_folder(inbox, db, Settings(), None, workers=0)
    assert run.all_accepted
    return db


def _generate(form, db, menu, out):
    with open_store(db) as store:
        return generate_stage(form, menu, out, store=store,
                              prefectures=[find_prefecture("13")]).paths[0]


def test_revision_in_libreoffice(tmp_path, menu, planned_db):
    path = _generate(REVISION, planned_db, menu, tmp_path / "t")
    S = REVISION.main_sheet
    C = REVISION.column
    r1, r2 = leaf_row(menu, "R5-01", REVISION), leaf_row(menu, "R5-02", REVISION)
    tr = total_row(menu, REVISION)
    # as generated: every formula shows its cached value (LibreOffice does not recalculate)
    cells = [C["total"].ref(r1), C["fund"].ref(r1), C["fund"].ref(tr), C["total"].ref(tr),
             C["plan_national"].ref(tr), C["plan_other"].ref(tr)]
    shown = cell_values(path, S, cells)
    fund = sum(a + b for a, b, _ in PLANNED.values())
    total = fund + sum(c or 0 for *_, c in PLANNED.values())
    assert shown == dict(zip(cells, [14316 + 7160 + 500, 14316 + 7160, fund, total,
                                     sum(a for a, _, _ in PLANNED.values()),
                                     sum(c or 0 for *_, c in PLANNED.values())]))
    # a clerk raises R5-02 in LibreOffice and gives a reason
    saved = tmp_path / "in" / path.name
    edit_and_save(path, saved, [(S, C["national"].ref(r2), "4,000"),
                                (S, C["prefectural"].ref(r2), "2000"),
                                (S, C["public"].ref(r2), "4000"),
                                (S, C["reason"].ref(r2), "補正予算による増額")])
    cells = [C["fund"].ref(r2), C["fund"].ref(tr), C["plan_prefectural"].ref(r2)]
    new_fund = fund - (3000 + 1500) + 6000
    assert cell_values(saved, S, cells) == dict(zip(cells, [6000, new_fund, 1500]))
    run = ingest_folder(saved.parent, planned_db, Settings(), tmp_path / "r", workers=0)
    (result,) = run.results
    assert result.status == "accepted", result.report.findings
    assert result.report.findings == []
    with open_store(planned_db) as store:
        stored = store.amounts_of([result.submission_id]).set_index("leaf_code")
    assert int(stored["fund"].sum()) == new_fund
    assert (int(stored.at["R5-02", "national"]), stored.at["R5-02", "reason"]) == (
        4000, "補正予算による増額")


def test_actual_in_libreoffice(tmp_path, menu, planned_db):
    path = _generate(ACTUAL, planned_db, menu, tmp_path / "t")
    S = ACTUAL.main_sheet
    C = ACTUAL.column
    r1, r2 = leaf_row(menu, "R5-01", ACTUAL), leaf_row(menu, "R5-02", ACTUAL)
    tr = total_row(menu, ACTUAL)
    saved = tmp_path / "in" / path.name
    typed = [(S, h.input_cell, CONTACT[h.key]) for h in ACTUAL.header_inputs] + [
        (S, C["actual_national"].ref(r1), "14,000"), (S, C["actual_prefectural"].ref(r1), "7000"),
        (S, C["actual_other"].ref(r1), "500"), (S, C["achievement"].ref(r1), "達成"),
        (S, C["output_result"].ref(r1), "研修受講者 180人"),
        (S, C["actual_national"].ref(r2), "3500"), (S, C["actual_prefectural"].ref(r2), "1750"),
        (S, C["achievement"].ref(r2), "一部達成"), (S, C["reason"].ref(r2), "受講者減")]
    edit_and_save(path, saved, typed)
    # what the clerk sees after saving, without a full recalculation
    cells = [C["actual_fund"].ref(r1), C["actual_total"].ref(r1), C["actual_fund"].ref(tr),
             C["actual_total"].ref(tr), C["plan_fund"].ref(tr), C["plan_fund"].ref(r1)]
    plan_fund = sum(a + b for a, b, _ in PLANNED.values())
    assert cell_values(saved, S, cells) == dict(zip(cells, [
        21000, 21500, 21000 + 5250, 21500 + 5250, plan_fund, 14316 + 7160]))
    run = ingest_folder(saved.parent, planned_db, Settings(), tmp_path / "r", workers=0)
    (result,) = run.results
    assert result.status == "accepted", result.report.findings
    # R5-02: 5,250 spent of a 4,500 plan
    assert result.report.flatten() == [["actual-over-plan", "warning", C["actual_fund"].ref(r2)]]
    with open_store(planned_db) as store:
        stored = store.amounts_of([result.submission_id]).set_index("leaf_code")
    assert int(stored["actual_fund"].sum()) == 26250
    assert stored.at["R5-02", "achievement"] == "一部達成"


def test_actual_reference_typed_over_in_libreoffice_is_rejected(tmp_path, menu, planned_db):
    path = _generate(ACTUAL, planned_db, menu, tmp_path / "t")
    S = ACTUAL.main_sheet
    C = ACTUAL.column
    r1 = leaf_row(menu, "R5-01", ACTUAL)
    saved = tmp_path / "in" / path.name
    edit_and_save(path, saved, [(S, C["actual_national"].ref(r1), "100"),
                                (S, C["plan_national"].ref(r1), "20000")], unprotect=True)
    run = ingest_folder(saved.parent, planned_db, Settings(), tmp_path / "r", workers=0)
    (result,) = run.results
    assert result.status == "rejected"
    assert ["reference-changed", "error", C["plan_national"].ref(r1)] in result.report.flatten()
