"""The stages of the year as forms: 要望, 内示 (rounds), 変更 and 実績, each generated,
filled as a prefecture (or the ministry) would with openpyxl, ingested and checked against
what the store holds. Expectations are computed here from the values typed, not through
the library."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from budget.cli import cli
from budget.forms import ACTUAL, ALLOCATION, PLAN, REQUEST, REVISION, form_of_stage, identify
from budget.forms.base import is_na
from budget.generate import PlanValues, generate_stage, write_plan_workbook
from budget.intake.batch import ingest_folder
from budget.intake.check import Settings, check_bytes
from budget.prefectures import all_prefectures, find_prefecture
from budget.stages import allocation_totals, current_plan_ids, first_plan_ids
from budget.store import open_store
from tests.conftest import CONTACT

TOKYO, OSAKA, TOTTORI = "13", "27", "31"
#: What Tokyo and Osaka ask for (要望): leaf → (国 A, 都道府県 B)
REQUESTED = {TOKYO: {"R5-01": (20000, 10000), "R5-02": (4000, 2000)},
             OSAKA: {"R5-01": (8000, 4000)}}
#: Round 1 and round 2 of the 内示: prefecture → (基金規模, 国費); Osaka is not in round 2
ROUND1 = {TOKYO: (24000, 16000), OSAKA: (9000, 6000)}
ROUND2 = {TOKYO: (3000, 2000)}
#: Tokyo's plan: leaf → 国 A, 都道府県 B, その他 C, 公, 民 (基金 28,500 > 内示 27,000)
PLANNED = {TOKYO: {"R5-01": (16000, 8000, 500, 16000, 0), "R5-02": (3000, 1500, None, 0, 3000)},
           TOTTORI: {"R5-01": (2000, 1000, None, 2000, 0)}}
ERA = "R5"


def pref_row(form, code: str) -> int:
    """The 内示 row of a prefecture (the table lists 01…47 from ``first_data_row``)."""
    return form.first_data_row + int(code) - 1


def leaf_row(menu, leaf: str, form=PLAN) -> int:
    return form.first_data_row + menu["leaf_code"].tolist().index(leaf)


def fill(path: Path, sheet: str, cells: dict[str, object], *, protect: bool = True) -> Path:
    """Type ``cells`` into ``sheet`` with openpyxl (a locked cell needs the sheet unprotected,
    as a user must do) and save in place."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    ws.protection.sheet = False
    for ref, value in cells.items():
        ws[ref] = value
    ws.protection.sheet = protect
    wb.save(path)
    return path


def contact_cells(form) -> dict[str, object]:
    return {h.input_cell: CONTACT[h.key] for h in form.header_inputs}


def ingest(folder: Path, db: Path, tmp: Path, **kw):
    return ingest_folder(folder, db, Settings(**kw), tmp / "reports", workers=0)


def only(run):
    assert len(run.results) == 1
    return run.results[0]


def submissions(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, stage, prefecture_code, status FROM submissions "
                            "ORDER BY id").fetchall()


# --- a year up to the plan, built once -----------------------------------------------------


@pytest.fixture(scope="module")
def year_db(tmp_path_factory, menu) -> Path:
    """要望 (Tokyo, Osaka) → 内示 round 1 and 2 → 計画 (Tokyo, Tottori), through generate,
    openpyxl and ingest."""
    tmp = tmp_path_factory.mktemp("year")
    db = tmp / "budget.db"
    prefs = [find_prefecture(c) for c in (TOKYO, OSAKA)]
    req = generate_stage(REQUEST, menu, tmp / "req", prefectures=prefs).paths
    for path, code in zip(req, (TOKYO, OSAKA)):
        cells = contact_cells(REQUEST)
        for leaf, (a, b) in REQUESTED[code].items():
            row = leaf_row(menu, leaf, REQUEST)
            cells |= {REQUEST.column["national"].ref(row): a,
                      REQUEST.column["prefectural"].ref(row): b,
                      REQUEST.column["public"].ref(row): a}
        fill(path, REQUEST.main_sheet, cells)
    assert all(r.status == "accepted" for r in ingest(tmp / "req", db, tmp).results)
    for n, given in ((1, ROUND1), (2, ROUND2)):
        with open_store(db) as store:
            path = generate_stage(ALLOCATION, menu, tmp / f"alloc{n}", store=store,
                                  round_no=n).paths[0]
        cells = {}
        for code, (fund, national) in given.items():
            cells[ALLOCATION.column["fund"].ref(pref_row(ALLOCATION, code))] = fund
            cells[ALLOCATION.column["national"].ref(pref_row(ALLOCATION, code))] = national
        fill(path, ALLOCATION.main_sheet, cells)
        assert only(ingest(tmp / f"alloc{n}", db, tmp)).status == "accepted"
    for code, rows in PLANNED.items():
        cells = contact_cells(PLAN)
        for leaf, amounts in rows.items():
            row = leaf_row(menu, leaf)
            for key, v in zip(("national", "prefectural", "other", "public", "private"), amounts):
                if v is not None:
                    cells[PLAN.column[key].ref(row)] = v
        path = generate_stage(PLAN, menu, tmp / "plan", prefectures=[find_prefecture(code)])
        fill(path.paths[0], PLAN.main_sheet, cells)
    run = ingest(tmp / "plan", db, tmp)
    assert [r.status for r in run.results] == ["accepted", "accepted"]
    return db


@pytest.fixture
def db(year_db, tmp_path) -> Path:
    """A copy of the year's store for one test."""
    return Path(shutil.copy(year_db, tmp_path / "budget.db"))


# --- the forms ---------------------------------------------------------------------------


def test_each_stage_has_a_registered_form_named_in_japanese():
    for stage, label, f in (("request", "要望", REQUEST), ("allocation", "内示", ALLOCATION),
                            ("plan", "計画", PLAN), ("revision", "変更", REVISION),
                            ("actual", "実績", ACTUAL)):
        assert form_of_stage(stage) is f and form_of_stage(label) is f
        assert (f.kind, f.stage, f.stage_label, f.main_sheet) == (stage, stage, label,
                                                                   f.main_sheet)
        assert identify({"form": stage, "template_version": f.template_version}) is f
    assert REQUEST.columns == PLAN.columns and REQUEST.main_sheet == "要望"
    assert "所要額調査" in REQUEST.title


def test_generated_stage_workbooks_are_protected_and_name_their_form(tmp_path, menu):
    tokyo = find_prefecture(TOKYO)
    cases = [(REQUEST, tokyo, PlanValues()), (ALLOCATION, None, PlanValues(meta={"round": "3"})),
             (REVISION, tokyo, PlanValues()), (ACTUAL, tokyo, PlanValues(meta={"exec_year": "2024"}))]
    for form, pref, values in cases:
        path = tmp_path / f"{form.kind}.xlsx"
        write_plan_workbook(path, menu, pref, form=form, values=values)
        wb = openpyxl.load_workbook(path)
        meta = {r[0].value: r[1].value for r in wb["_meta"].iter_rows()}
        assert (meta["form"], meta["stage"]) == (form.kind, form.stage)
        ws = wb[form.main_sheet]
        assert ws.protection.sheet
        for key in form.reference_keys:  # reference columns are locked
            assert ws[form.column[key].ref(form.first_data_row)].protection.locked
        for key in form.input_keys:
            assert not ws[form.column[key].ref(form.first_data_row)].protection.locked
    ws = openpyxl.load_workbook(tmp_path / "allocation.xlsx")["内示"]
    labels = [ws.cell(row=pref_row(ALLOCATION, p.code), column=1).value for p in all_prefectures()]
    assert labels[0] == "01 北海道" and labels[46] == "47 沖縄県" and len(labels) == 47
    assert ws[ALLOCATION.prefecture_cell].value == "第3回"
    ws = openpyxl.load_workbook(tmp_path / "actual.xlsx")["実績"]
    assert (ws["G2"].value, ws["H2"].value) == ("執行年度", "令和6年度（2024年度）")
    dv = [d for d in ws.data_validations.dataValidation if d.type == "list"]
    assert dv and "未実施" in dv[0].formula1


def test_ingest_tells_the_kinds_apart_by_meta_not_by_name(year_db):
    rows = submissions(year_db)
    stages = [s for _, s, _, _ in rows]
    assert stages == ["request", "request", "allocation", "allocation", "plan", "plan"]
    assert all(status == "accepted" for *_, status in rows)
    alloc = [r for r in rows if r[1] == "allocation"]
    assert all(code is None for _, _, code, _ in alloc)  # the ministry's: no prefecture


def test_a_renamed_stage_file_is_still_its_kind(db, tmp_path, menu):
    with open_store(db) as store:
        path = generate_stage(ACTUAL, menu, tmp_path / "x", store=store,
                              prefectures=[find_prefecture(TOKYO)]).paths[0]
    fill(path, ACTUAL.main_sheet, contact_cells(ACTUAL) | {"L8": 100, "M8": 50})
    renamed = path.rename(path.with_name("13_東京都_R5_計画.xlsx"))  # named like a plan
    report = check_bytes(renamed.read_bytes(), renamed.name)
    assert (report.form, report.stage) == ("actual", "actual")


# --- 内示 ------------------------------------------------------------------------------------


def test_allocation_is_one_submission_per_round_with_only_its_prefectures(year_db):
    with open_store(year_db) as store:
        subs = store.submissions(2023)
        alloc = subs[subs["stage"] == "allocation"].sort_values("id")
        assert alloc["round"].tolist() == ["1", "2"]
        values = store.amounts_of([int(i) for i in alloc["id"]])
        got = {(int(r.submission_id), r.leaf_code): (r.fund, r.national)
               for r in values.itertuples()}
        first, second = (int(i) for i in alloc["id"])
        assert got == {(first, TOKYO): ROUND1[TOKYO], (first, OSAKA): ROUND1[OSAKA],
                       (second, TOKYO): ROUND2[TOKYO]}  # Osaka blank in round 2: no row
        totals = allocation_totals(store, 2023)
    assert totals == {TOKYO: (27000, 18000), OSAKA: (9000, 6000)}


def test_allocation_references_show_the_request_and_earlier_rounds(year_db, tmp_path, menu):
    with open_store(year_db) as store:
        path = generate_stage(ALLOCATION, menu, tmp_path, store=store, round_no=3).paths[0]
    ws = openpyxl.load_workbook(path)[ALLOCATION.main_sheet]
    C = ALLOCATION.column
    for code in (TOKYO, OSAKA, TOTTORI):
        row = pref_row(ALLOCATION, code)
        requested = sum(a + b for a, b in REQUESTED.get(code, {}).values()) or None
        rounds = [r[code] for r in (ROUND1, ROUND2) if code in r]
        assert ws[C["ref_request"].ref(row)].value == requested
        assert ws[C["prev_fund"].ref(row)].value == (sum(f for f, _ in rounds) or None)
        assert ws[C["prev_national"].ref(row)].value == (sum(n for _, n in rounds) or None)
    total_row = pref_row(ALLOCATION, "47") + 2
    assert ws[f"A{total_row}"].value == "全国計"
    assert ws[C["prev_fund"].ref(total_row)].value == "=SUM(C$7:C$53)"


def test_allocation_national_share_is_a_warning(tmp_path, menu):
    path = tmp_path / "in" / "R5_内示_第1回.xlsx"
    path.parent.mkdir()
    write_plan_workbook(path, menu, None, form=ALLOCATION, values=PlanValues(meta={"round": "1"}))
    row = pref_row(ALLOCATION, OSAKA)
    fill(path, "内示", {f"E{row}": 9000, f"F{row}": 6100, f"E{row + 1}": 300, f"F{row + 1}": 200})
    result = only(ingest(path.parent, tmp_path / "b.db", tmp_path))
    assert result.status == "accepted" and result.prefecture_code is None
    assert result.report.flatten() == [["allocation-share", "warning", f"F{row}"]]
    assert result.report.header["round"] == "1"


def test_allocation_edited_outside_its_inputs_is_rejected(db, tmp_path, menu):
    with open_store(db) as store:
        path = generate_stage(ALLOCATION, menu, tmp_path / "in", store=store,
                              round_no=3).paths[0]
    row = pref_row(ALLOCATION, TOKYO)
    fill(path, "内示", {f"E{row}": 3000, f"F{row}": 2000,
                      f"B{row}": 99999,  # the 要望 shown for reference
                      "A8": "02 青森",  # a prefecture's label
                      f"H{row}": "メモ"})  # beside the table
    before = submissions(db)
    result = only(ingest(tmp_path / "in", db, tmp_path))
    assert result.status == "rejected"
    codes = {(f.code, f.cell) for f in result.report.findings}
    assert ("reference-changed", f"B{row}") in codes
    assert ("locked-cell-changed", "A8") in codes
    assert ("unexpected-cell", f"H{row}") in codes
    msg = next(f.message for f in result.report.findings if f.code == "reference-changed")
    requested = sum(a + b for a, b in REQUESTED[TOKYO].values())
    assert f"内示!B{row}（13 東京都）" in msg and "99,999" in msg and f"{requested:,}" in msg
    assert submissions(db)[:len(before)] == before  # nothing stored is lost
    with open_store(db) as store:  # and the rejected round counts for nothing
        assert allocation_totals(store, 2023) == {TOKYO: (27000, 18000), OSAKA: (9000, 6000)}


def test_allocation_needs_a_round(tmp_path):
    result = CliRunner().invoke(cli, ["generate", "--stage", "内示", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--round" in result.output


# --- checks across stages ------------------------------------------------------------------


def test_a_plan_above_its_allocation_gets_a_warning_at_its_total_cell(year_db, menu):
    with sqlite3.connect(year_db) as conn:
        rows = conn.execute(
            "SELECT s.prefecture_code, f.code, f.severity, f.cell, f.message FROM findings f "
            "JOIN submissions s ON s.id = f.submission_id WHERE s.stage = 'plan'").fetchall()
    planned = sum(a + b for a, b, *_ in PLANNED[TOKYO].values())  # 28,500
    allocated = sum(f for f, _ in (ROUND1[TOKYO], ROUND2[TOKYO]))  # 27,000
    total_row = PLAN.first_data_row + len(menu) + 1 + menu["category"].nunique()
    over = [r for r in rows if r[1] == "plan-over-allocation"]
    assert [(code, sev, cell) for code, _, sev, cell, _ in over] == [
        (TOKYO, "warning", f"J{total_row}")]
    assert f"{planned:,}" in over[0][4] and f"{allocated:,}" in over[0][4]
    # Tottori has no 内示 at all: missing, never compared with 0
    assert not [r for r in rows if r[0] == TOTTORI]


# --- 変更 ------------------------------------------------------------------------------------


def _revision(db: Path, tmp_path: Path, menu, code: str = TOKYO) -> Path:
    with open_store(db) as store:
        return generate_stage(REVISION, menu, tmp_path / "in", store=store,
                              prefectures=[find_prefecture(code)]).paths[0]


def test_revision_is_prefilled_with_the_current_plan_and_its_reference(db, tmp_path, menu):
    path = _revision(db, tmp_path, menu)
    assert path.name == "13_東京都_R5_変更.xlsx"
    ws = openpyxl.load_workbook(path)[REVISION.main_sheet]
    C = REVISION.column
    for leaf, (a, b, c, pub, priv) in PLANNED[TOKYO].items():
        row = leaf_row(menu, leaf, REVISION)
        for key, v in zip(("national", "prefectural", "other", "public", "private"),
                          (a, b, c, pub, priv)):
            assert ws[C[key].ref(row)].value == v  # editable, pre-filled
            assert ws[C["plan_" + key].ref(row)].value == v  # locked reference
    contact = {h.key: ws[h.input_cell].value for h in REVISION.header_inputs}
    assert contact == CONTACT  # the plan's contact, pre-filled


def test_a_revision_is_the_next_version_of_the_plan(db, tmp_path, menu):
    path = _revision(db, tmp_path, menu)
    r1, r2 = leaf_row(menu, "R5-01", REVISION), leaf_row(menu, "R5-02", REVISION)
    fill(path, REVISION.main_sheet, {f"H{r1}": 18000, f"I{r1}": 9000, f"L{r1}": 18000,
                                     f"R{r1}": "補正予算による増額",
                                     f"H{r2}": 2000, f"I{r2}": 1000, f"M{r2}": 2000})
    with open_store(db) as store:
        first = first_plan_ids(store, 2023)[TOKYO]
    result = only(ingest(tmp_path / "in", db, tmp_path))
    assert result.status == "accepted"
    warnings = {(f.code, f.cell) for f in result.report.findings}
    assert ("revision-without-reason", f"R{r2}") in warnings  # changed, no reason
    assert ("revision-without-reason", f"R{r1}") not in warnings  # changed, with reason
    with open_store(db) as store:
        assert current_plan_ids(store, 2023)[TOKYO] == result.submission_id
        assert first_plan_ids(store, 2023)[TOKYO] == first  # the first plan stays
        stored = store.amounts_of([result.submission_id]).set_index("leaf_code")
        assert "plan_national" not in stored.columns  # references are not values
    assert int(stored.at["R5-01", "fund"]) == 27000
    assert stored.at["R5-01", "reason"] == "補正予算による増額"
    assert is_na(stored.at["R5-02", "reason"])  # blank stays blank
    assert submissions(db)[-1][1:] == ("revision", TOKYO, "accepted")


def test_a_revision_whose_reference_column_was_edited_is_rejected(db, tmp_path, menu):
    path = _revision(db, tmp_path, menu)
    r1 = leaf_row(menu, "R5-01", REVISION)
    fill(path, REVISION.main_sheet, {f"S{r1}": 18000, f"H{r1}": 18000, f"R{r1}": "増額"})
    before = submissions(db)
    result = only(ingest(tmp_path / "in", db, tmp_path))
    assert result.status == "rejected"
    bad = [f for f in result.report.findings if f.code == "reference-changed"]
    assert [(f.sheet, f.cell, f.severity) for f in bad] == [("変更", f"S{r1}", "error")]
    assert "変更!S" in bad[0].message and "18,000" in bad[0].message
    assert "16,000" in bad[0].message
    assert result.returned is not None and result.returned.is_file()
    assert submissions(db)[:len(before)] == before
    with open_store(db) as store:  # the current plan is still the accepted one
        assert current_plan_ids(store, 2023)[TOKYO] == before[4][0]


def test_revision_is_not_made_without_an_accepted_plan(db, tmp_path, menu):
    with open_store(db) as store:
        done = generate_stage(REVISION, menu, tmp_path, store=store,
                              prefectures=[find_prefecture(OSAKA)])
    assert done.paths == [] and [p.code for p, _ in done.skipped] == [OSAKA]


# --- 実績 ------------------------------------------------------------------------------------


def _actual(db: Path, tmp_path: Path, menu, code: str = TOKYO, **kw) -> Path:
    with open_store(db) as store:
        return generate_stage(ACTUAL, menu, tmp_path / "in", store=store,
                              prefectures=[find_prefecture(code)], **kw).paths[0]


def test_actual_is_prefilled_with_the_current_plan_for_reference(db, tmp_path, menu):
    path = _actual(db, tmp_path, menu, exec_year=2024)
    assert path.name == "13_東京都_R5_実績_R6執行.xlsx"
    ws = openpyxl.load_workbook(path)[ACTUAL.main_sheet]
    C = ACTUAL.column
    for leaf, (a, b, c, *_rest) in PLANNED[TOKYO].items():
        row = leaf_row(menu, leaf, ACTUAL)
        assert [ws[C[k].ref(row)].value for k in ("plan_fund", "plan_national",
                                                 "plan_prefectural", "plan_other")] == [
            a + b, a, b, c]
    assert ws["H2"].value == "令和6年度（2024年度）"


def test_actual_warnings_and_errors(db, tmp_path, menu):
    path = _actual(db, tmp_path, menu)
    r1, r2, r3 = (leaf_row(menu, leaf, ACTUAL) for leaf in ("R5-01", "R5-02", "R5-03"))
    fill(path, ACTUAL.main_sheet, contact_cells(ACTUAL) | {
        f"L{r1}": 17000, f"M{r1}": 8500, f"Q{r1}": "達成",  # above the plan's 24,000
        f"L{r2}": 3000, f"M{r2}": 1500, f"Q{r2}": "一部達成", f"R{r2}": "受講者減",
        f"L{r3}": 100, f"Q{r3}": "達成"})  # no plan for R5-03
    result = only(ingest(tmp_path / "in", db, tmp_path))
    assert result.status == "accepted", result.report.findings
    assert sorted(result.report.flatten()) == [["actual-over-plan", "warning", f"N{r1}"],
                                               ["actual-unplanned", "warning", f"L{r3}"]]
    over = next(f for f in result.report.findings if f.code == "actual-over-plan")
    assert "25,500" in over.message and "24,000" in over.message and "106.2%" in over.message
    assert result.report.header["exec_year"] == "2023"
    with open_store(db) as store:
        stored = store.amounts_of([result.submission_id]).set_index("leaf_code")
    assert int(stored.at["R5-01", "actual_fund"]) == 25500
    assert int(stored.at["R5-01", "actual_total"]) == 25500
    assert stored.at["R5-02", "achievement"] == "一部達成"


def test_actual_with_a_choice_not_in_the_list_is_rejected(db, tmp_path, menu):
    path = _actual(db, tmp_path, menu)
    r1 = leaf_row(menu, "R5-01", ACTUAL)
    fill(path, ACTUAL.main_sheet, {f"L{r1}": 100, f"Q{r1}": "だいたい"})
    result = only(ingest(tmp_path / "in", db, tmp_path))
    assert ["invalid-choice", "error", f"Q{r1}"] in result.report.flatten()


def test_actual_without_an_accepted_plan_is_an_error(db, tmp_path, menu):
    path = tmp_path / "in" / "27_大阪府_R5_実績.xlsx"
    path.parent.mkdir()
    write_plan_workbook(path, menu, find_prefecture(OSAKA), form=ACTUAL,
                        values=PlanValues(header=dict(CONTACT), meta={"exec_year": "2023"},
                                          rows={"R5-01": {"actual_national": 100}}))
    result = only(ingest(tmp_path / "in", db, tmp_path))
    assert result.status == "rejected"
    err = next(f for f in result.report.findings if f.code == "actual-without-plan")
    assert "27 大阪府" in err.message and "令和5年度" in err.message
    assert result.submission_id is not None  # kept, rejected


def test_actual_of_another_prefecture_or_year_is_rejected(db, tmp_path, menu):
    path = _actual(db, tmp_path, menu)
    fill(path, ACTUAL.main_sheet, {"L8": 100})
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(path, other / "27_大阪府_R5_実績.xlsx")  # Tokyo's, sent as Osaka's
    result = only(ingest(other, db, tmp_path))
    assert result.status == "rejected"
    assert [f.cell for f in result.report.findings if f.code == "prefecture-mismatch"] == ["E2"]
    # another fund year: the workbook's year is checked against --year
    year = tmp_path / "year"
    year.mkdir()

    def to_r4(wb):
        ws = wb["_meta"]
        for row in ws.iter_rows():
            if row[0].value == "fiscal_year":
                row[1].value = "2022"
    wb = openpyxl.load_workbook(path)
    to_r4(wb)
    wb.save(year / "13_東京都_R4_実績.xlsx")
    result = only(ingest(year, db, tmp_path, fiscal_year=2023))
    assert result.status == "rejected"
    assert [(f.code, f.cell) for f in result.report.findings][:1] == [
        ("wrong-fiscal-year", "B2")]


def test_actual_whose_plan_reference_was_edited_is_rejected(db, tmp_path, menu):
    path = _actual(db, tmp_path, menu)
    r1 = leaf_row(menu, "R5-01", ACTUAL)
    fill(path, ACTUAL.main_sheet, {f"L{r1}": 100, f"G{r1}": "たくさん"})
    result = only(ingest(tmp_path / "in", db, tmp_path))
    assert ["reference-changed", "error", f"G{r1}"] in result.report.flatten()


# --- the command line ----------------------------------------------------------------------


def test_generate_and_ingest_through_the_cli(db, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["generate", "--stage", "実績", "--db", str(db),
                                      "-p", "13", "-p", "27", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 件の実績様式" in result.output and "大阪府" in result.output
    result = CliRunner().invoke(cli, ["generate", "--stage", "予算", "--out", str(out)])
    assert result.exit_code == 2 and "予算" in result.output
    path = out / "13_東京都_R5_実績.xlsx"
    fill(path, ACTUAL.main_sheet, contact_cells(ACTUAL) | {"L8": 100, "M8": 50, "Q8": "達成"})
    proc = subprocess.run([sys.executable, "-m", "budget", "ingest", str(out), "--db", str(db),
                           "--reports", str(tmp_path / "r")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "受理" in proc.stdout
    assert submissions(db)[-1][1:] == ("actual", TOKYO, "accepted")
