"""Plan workbooks of earlier template versions already sent out are still read (issue 12,
item 17 changed how the template is drawn: version 3). ``tests/data/v2_…`` was made by the
code before that change: it is accepted with exactly the figures and header of a version-3
file of the same values; the version-1 file is ``tests/test_forms.py``'s."""

from __future__ import annotations

from pathlib import Path

from budget.forms import PLAN
from budget.generate import write_plan_workbook
from budget.intake.check import check_file
from budget.menu import load_menu
from budget.prefectures import find_prefecture
from tests.test_forms import _values_of

V2_FILE = Path(__file__).parent / "data" / "v2_13_東京都_R5_計画.xlsx"
DEPARTMENT = "東京都 福祉局 高齢者施策推進部 介護保険課 介護人材担当"


def test_a_version_2_workbook_is_read_with_the_same_figures(tmp_path):
    assert PLAN.template_version == "3"
    v2 = check_file(V2_FILE)
    assert (v2.status, v2.form, v2.stage, v2.template_version) == ("accepted", "plan", "plan",
                                                                   "2")
    assert v2.flatten() == []
    assert v2.header["department"] == DEPARTMENT
    values = _values_of(V2_FILE)
    assert len(values.rows) > 10
    v3_path = tmp_path / V2_FILE.name.removeprefix("v2_")
    write_plan_workbook(v3_path, load_menu(2023), find_prefecture("13"), values=values)
    v3 = check_file(v3_path)
    assert (v3.status, v3.template_version) == ("accepted", "3")
    assert v3.flatten() == []
    assert v3.header == v2.header
    assert v3.plan.equals(v2.plan)
    assert int(v2.plan["total"].sum()) == sum(
        sum(r.get(k, 0) for k in ("national", "prefectural", "other"))
        for r in values.rows.values())


def test_an_unknown_later_version_is_still_refused(tmp_path):
    """Only the versions the form names are read: a file claiming version 4 is refused."""
    from tests.conftest import edit_workbook

    def edit(wb):
        for row in wb[PLAN.meta_sheet].iter_rows():
            if row[0].value == "template_version":
                row[1].value = "4"

    path = edit_workbook(V2_FILE, edit, out=tmp_path / V2_FILE.name.removeprefix("v2_"),
                         sheet=None)
    report = check_file(path)
    assert report.status == "rejected"
    assert [f.code for f in report.findings] == ["old-template-version"]
