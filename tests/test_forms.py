"""Forms are values: the registry, ``_meta`` version 2, version-1 files still read as the plan,
and a second form (made here, not shipped) going through the same generate → check path."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from budget.forms import PLAN, form, identify, register, registered, unregister
from budget.forms.base import Column, Form, HeaderInput
from budget.generate import PlanValues, write_plan_workbook
from budget.intake.check import Settings, check_bytes, check_file
from budget.prefectures import find_prefecture
from tests.conftest import CONTACT

V1_FILE = Path(__file__).parent / "data" / "v1_13_東京都_R5_計画.xlsx"


# --- the registry -------------------------------------------------------------------------


def test_the_plan_is_registered_and_named_by_meta():
    assert form("plan") is PLAN and registered()[0] is PLAN
    assert identify({"form": "plan", "template_version": "3"}) is PLAN
    assert identify({"template_version": "1"}) is PLAN  # before _meta named its form
    assert (PLAN.kind, PLAN.stage, PLAN.stage_label) == ("plan", "plan", "計画")
    assert PLAN.template_version == "3" and PLAN.accepted_versions == ("1",)
    assert PLAN.older_versions == ("2",)  # same cells, drawn before issue 12 (item 17)
    with pytest.raises(KeyError):
        form("no-such-form")


def test_a_form_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        PLAN.template_version = "3"  # type: ignore[misc]


def test_fixed_texts_are_what_the_generated_sheet_shows(clean_workbook):
    """One definition: every cell of ``Form.fixed_texts`` holds that text in a generated
    workbook, and no other text sits above the table but the year, prefecture and inputs."""
    ws = openpyxl.load_workbook(clean_workbook)[PLAN.main_sheet]
    texts = PLAN.fixed_texts("令和5年度（2023年度）")
    assert {ref: ws[ref].value for ref in texts} == texts
    others = {PLAN.year_cell, PLAN.prefecture_cell, *(h.input_cell for h in PLAN.header_inputs)}
    above = {c.coordinate for row in ws.iter_rows(max_row=PLAN.header_row) for c in row
             if c.value is not None}
    assert above == set(texts) | others


def test_importing_the_forms_does_not_import_pandera_or_pandas():
    code = ("import sys, budget.forms, budget.menu, budget.intake.check, budget.generate;"
            "print(sorted(m for m in ('pandas', 'pandera') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return {m for m in out.stdout.split() if m.startswith("budget")}


def test_no_import_cycles_between_forms_menu_and_check():
    """The plan form imports neither the menu nor the checks; the menu imports no form; the
    old ``budget.schemas`` (imported by the check, importing it back) is gone."""
    assert not {"budget.menu", "budget.intake", "budget.intake.check"} & _modules_after(
        "import budget.forms.plan")
    assert not {m for m in _modules_after("import budget.menu") if m.startswith("budget.forms")}
    assert "budget.intake.check" not in _modules_after(
        "import budget.forms.plan; budget.forms.plan.plan_schema(2)")
    with pytest.raises(ModuleNotFoundError):
        __import__("budget.schemas")


# --- _meta version 2, version 1 still read -------------------------------------------------


def test_meta_names_the_form_and_the_stage(clean_workbook):
    meta = {r[0].value: r[1].value for r in
            openpyxl.load_workbook(clean_workbook)[PLAN.meta_sheet].iter_rows()}
    assert (meta["template_version"], meta["form"], meta["stage"]) == ("3", "plan", "plan")
    assert list(meta) == list(PLAN.meta_keys)
    report = check_file(clean_workbook)
    assert (report.status, report.form, report.stage, report.template_version) == (
        "accepted", "plan", "plan", "3")


def _values_of(path: Path) -> PlanValues:
    """The inputs of a plan workbook as openpyxl reads them (independently of our reader)."""
    ws = openpyxl.load_workbook(path)[PLAN.main_sheet]
    header = {h.key: ws[h.input_cell].value for h in PLAN.header_inputs
              if ws[h.input_cell].value is not None}
    rows: dict[str, dict[str, object]] = {}
    row = PLAN.first_data_row
    while (code := ws[PLAN.code_column.ref(row)].value) and not str(code).startswith("#"):
        given = {k: ws[PLAN.column[k].ref(row)].value for k in PLAN.input_keys}
        given = {k: v for k, v in given.items() if v is not None}
        if given:
            rows[str(code)] = given
        row += 1
    return PlanValues(header=header, rows=rows)


def test_a_version_1_workbook_is_read_as_the_plan_with_the_same_figures(tmp_path, menu):
    """tests/data/v1_… was made by the code before _meta named its form (version 1): it is
    accepted as the plan stage, with exactly the figures of a version-2 file of its values."""
    v1 = check_file(V1_FILE)
    meta = {r[0].value: r[1].value for r in
            openpyxl.load_workbook(V1_FILE)[PLAN.meta_sheet].iter_rows()}
    assert meta["template_version"] == "1" and "form" not in meta and "stage" not in meta
    assert (v1.status, v1.form, v1.stage, v1.template_version) == ("accepted", "plan", "plan",
                                                                   "1")
    assert v1.flatten() == []
    values = _values_of(V1_FILE)
    assert len(values.rows) > 10 and values.header
    v2_path = tmp_path / V1_FILE.name.removeprefix("v1_")
    write_plan_workbook(v2_path, menu, find_prefecture("13"), values=values)
    v2 = check_file(v2_path)
    assert (v2.status, v2.template_version) == ("accepted", PLAN.template_version)
    assert v2.header == v1.header
    assert v2.plan.equals(v1.plan)
    assert int(v1.plan["total"].sum()) == sum(
        sum(r.get(k, 0) for k in ("national", "prefectural", "other"))
        for r in values.rows.values())


def test_an_unknown_version_without_a_form_is_an_old_template(clean_workbook, tmp_path):
    from tests.conftest import edit_workbook

    def edit(wb):
        ws = wb[PLAN.meta_sheet]
        for row in list(ws.iter_rows()):
            if row[0].value in ("form", "stage"):
                row[0].value = row[1].value = None
            if row[0].value == "template_version":
                row[1].value = "0"
    path = edit_workbook(clean_workbook, edit, out=tmp_path / clean_workbook.name, sheet=None)
    report = check_file(path)
    assert report.flatten(("code", "sheet", "cell")) == [
        ["old-template-version", "_meta", "B1"]]
    assert "版 0" in report.findings[0].message and "版 3" in report.findings[0].message


def test_an_unknown_form_kind_is_not_a_budget_workbook(clean_workbook, tmp_path):
    from tests.conftest import edit_workbook

    def edit(wb):
        for row in wb[PLAN.meta_sheet].iter_rows():
            if row[0].value == "form":
                row[1].value = "実績"
    path = edit_workbook(clean_workbook, edit, out=tmp_path / clean_workbook.name, sheet=None)
    report = check_file(path)
    assert report.flatten(("code", "sheet", "value")) == [
        ["not-a-budget-workbook", "_meta", "実績"]]
    assert report.plan is None


# --- a second form: write a form module, register it ---------------------------------------


def _request_schema(share_tolerance: int):
    import pandas as pd
    import pandera.pandas as pa

    return pa.DataFrameSchema({
        "leaf_code": pa.Column(str), "excel_row": pa.Column(int),
        "requested": pa.Column(pd.Int64Dtype(), pa.Check(lambda s: s >= 0,
                                                          name="negative-amount"),
                               nullable=True),
        "reason": pa.Column(str, pa.Check(lambda s: s.str.len() <= 50, name="text-too-long"),
                            nullable=True),
    }, strict=True, ordered=True)


#: A small 要望 form, as a new form module would define it: other sheet, columns, header and
#: rows than the plan; no code of the reader, the checks or the store knows it.
REQUEST = Form(
    kind="request", stage="request", stage_label="要望", template_version="1",
    main_sheet="要望", guide_sheet="説明",
    columns=(
        Column("category", "区分", "", "A", "label", 11),
        Column("item_no", "No.", "", "B", "label", 4.5),
        Column("item_name", "事業名", "", "C", "label", 30),
        Column("sub_item", "細目", "", "D", "label", 30),
        Column("requested", "要望額", "", "E", "amount", 12),
        Column("reason", "理由", "", "F", "text", 30, 50),
        Column("leaf_code", "leaf_code", "", "G", "code", 10),
    ),
    title="{year_label} 所要額調査（要望）", year_label_cell="A2", year_label="年度",
    year_cell="B2", prefecture_label_cell="C2", prefecture_label="都道府県",
    prefecture_cell="D2",
    header_inputs=(HeaderInput("contact_name", "A3", "B3", "担当者名", 60),),
    notes=(("E3", "（単位：千円）"),),
    group_header_row=4, header_row=5, first_data_row=6,
    schema=_request_schema, cell_rules=frozenset({"negative-amount", "text-too-long"}),
    guide=lambda **kw: [("title", f"{kw['year_label']} 要望 記入要領"), ("text", "黄色に入力")],
)


@pytest.fixture
def request_form():
    shipped = form(REQUEST.kind)  # the shipped 要望 form, put back afterwards
    register(REQUEST)
    yield REQUEST
    unregister(REQUEST.kind)
    register(shipped)


def _request_workbook(tmp_path: Path, menu, rows: dict) -> Path:
    path = tmp_path / REQUEST.file_name("13", "東京都", "R5")
    values = PlanValues(header={"contact_name": CONTACT["contact_name"]}, rows=rows)
    write_plan_workbook(path, menu, find_prefecture("13"), form=REQUEST, values=values)
    return path


def test_a_second_form_is_generated_filled_and_checked_by_the_same_code(
        request_form, tmp_path, menu):
    path = _request_workbook(tmp_path, menu, {"R5-01": {"requested": 1200, "reason": "増員"},
                                              "R5-02": {"requested": 0}})
    assert path.name == "13_東京都_R5_要望.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["説明", "要望", "_meta"]
    ws = wb["要望"]
    assert ws["A1"].value == "令和5年度（2023年度） 所要額調査（要望）"
    assert [ws.cell(5, c).value for c in range(1, 8)] == [
        None, None, None, None, None, None, "leaf_code"]  # headers merged down from row 4
    assert [ws.cell(4, c).value for c in range(1, 7)] == [
        "区分", "No.", "事業名", "細目", "要望額", "理由"]
    assert (ws["E6"].value, ws["F6"].value, ws["G6"].value) == (1200, "増員", "R5-01")
    total_row = REQUEST.summary_rows(len(menu), list(dict.fromkeys(menu["category"])))[
        REQUEST.total_code]
    assert ws[f"E{total_row}"].value == f"=SUM(E$6:E${5 + len(menu)})"

    report = check_file(path)
    assert report.flatten() == []
    assert (report.status, report.form, report.stage) == ("accepted", "request", "request")
    assert list(report.plan.columns) == ["leaf_code", "excel_row", "requested", "reason"]
    got = report.plan.set_index("leaf_code")
    assert got.at["R5-01", "requested"] == 1200 and got.at["R5-01", "reason"] == "増員"
    assert got.at["R5-02", "requested"] == 0
    assert got["requested"].isna().sum() == len(menu) - 2  # blank is not zero
    assert report.header == {"contact_name": CONTACT["contact_name"]}


def test_a_second_form_gets_findings_at_its_own_cells(request_form, tmp_path, menu):
    path = _request_workbook(tmp_path, menu, {"R5-01": {"requested": -5},
                                              "R5-02": {"requested": "１２"},
                                              "R5-03": {"reason": "あ" * 51}})
    report = check_bytes(path.read_bytes(), path.name)
    assert report.flatten(("code", "sheet", "cell")) == [
        ["negative-amount", "要望", "E6"],
        ["fullwidth-number", "要望", "E7"],
        ["text-too-long", "要望", "F8"],
    ]
    assert "（51 文字、上限 50 文字）" in report.findings[2].message  # the form's max length
    assert report.status == "rejected"


def test_a_file_of_another_form_than_the_one_asked_is_refused(request_form, tmp_path, menu,
                                                             clean_workbook):
    path = _request_workbook(tmp_path, menu, {"R5-01": {"requested": 1}})
    report = check_file(path, Settings(form=PLAN))
    assert report.flatten(("code", "sheet")) == [["wrong-form", "_meta"]]
    assert "「要望」の様式" in report.findings[0].message
    assert "「計画」の様式" in report.findings[0].message
    assert check_file(clean_workbook, Settings(form=REQUEST)).flatten(("code",)) == [
        ["wrong-form"]]


def test_a_batch_mixes_forms_each_checked_by_its_own_rules(request_form, tmp_path, menu,
                                                           clean_workbook):
    from budget.intake.check import check_many

    path = _request_workbook(tmp_path, menu, {"R5-01": {"requested": -1}})
    reports = check_many([(clean_workbook.read_bytes(), clean_workbook.name),
                          (path.read_bytes(), path.name)])
    assert [(r.form, r.status) for r in reports] == [("plan", "accepted"),
                                                      ("request", "rejected")]
    assert reports[1].flatten(("code", "cell")) == [["negative-amount", "E6"]]
