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


# --- the menu's second edition: 細目 names for items 7 and 8 ------------------------------

EDITION_1 = "aee297fabdc8f9d5"  # the R5 menu as first sent out (細目 「イ」「ロ」 bare)


def test_items_7_and_8_show_their_sub_item_names(tmp_path):
    from budget.menu import menu_fingerprint

    menu = load_menu(2023)
    path = tmp_path / "t.xlsx"
    write_plan_workbook(path, menu, find_prefecture("13"))
    import openpyxl

    ws = openpyxl.load_workbook(path)[PLAN.main_sheet]
    rows = {ws[f"R{r}"].value: r for r in range(PLAN.first_data_row, 80)}
    assert ws[f"E{rows['R5-07-イ']}"].value == "イ 介護実習受入施設・事業所への支援"
    assert ws[f"E{rows['R5-08-ロ']}"].value == "ロ 他業種からの再就業・定着促進のための初任者研修等支援"
    assert menu_fingerprint(menu) != EDITION_1  # a new menu version


def test_files_of_the_first_menu_edition_are_read_against_its_labels(tmp_path):
    """Workbooks made from the first edition (the v1 and v2 files) carry its fingerprint and
    show its labels: accepted. A file of either edition showing the other's label is a
    changed locked cell."""
    from budget.menu import earlier_editions, menu_fingerprint
    from tests.conftest import edit_workbook
    from tests.test_forms import V1_FILE

    menu = load_menu(2023)
    assert list(earlier_editions(menu)) == [EDITION_1]
    for old in (V1_FILE, V2_FILE):
        report = check_file(old)
        assert (report.status, report.menu_fingerprint) == ("accepted", EDITION_1), old.name
    row = PLAN.first_data_row + menu["leaf_code"].tolist().index("R5-07-イ")

    def bare(ws):
        ws[f"E{row}"] = "イ"

    def named(ws):
        ws[f"E{row}"] = "イ 介護実習受入施設・事業所への支援"

    new = tmp_path / "13_東京都_R5_計画.xlsx"
    write_plan_workbook(new, menu, find_prefecture("13"), values=_values_of(V2_FILE))
    assert check_file(new).menu_fingerprint == menu_fingerprint(menu)
    for i, (path, edit) in enumerate(((new, bare), (V2_FILE, named))):
        (tmp_path / str(i)).mkdir()
        out = edit_workbook(path, edit, out=tmp_path / str(i) / path.name.removeprefix("v2_"))
        report = check_file(out)
        assert report.status == "rejected", path.name
        assert report.flatten(("code", "cell")) == [["locked-cell-changed", f"E{row}"]]


def test_an_edition_file_must_reproduce_its_fingerprint(tmp_path):
    import shutil

    import pytest

    from budget.errors import MenuError
    from budget.menu import earlier_editions, menu_path

    shutil.copy(menu_path(2023), tmp_path / "R5.csv")
    sidecar = menu_path(2023).with_name("R5.earlier.csv").read_text("utf-8-sig")
    (tmp_path / "R5.earlier.csv").write_text(sidecar.replace(",sub_item_name,,", ",sub_item_name,x,", 1),
                                             "utf-8")
    with pytest.raises(MenuError, match="再現できません"):
        earlier_editions(load_menu(path=tmp_path / "R5.csv"))
    (tmp_path / "R5.earlier.csv").write_text(sidecar.replace("sub_item_name", "item_no", 1),
                                             "utf-8")
    with pytest.raises(MenuError, match="以前の版との違いとして扱えません"):
        earlier_editions(load_menu(path=tmp_path / "R5.csv"))
    (tmp_path / "R5.earlier.csv").unlink()
    assert earlier_editions(load_menu(path=tmp_path / "R5.csv")) == {}


def test_the_summary_counts_an_earlier_edition_without_a_warning(tmp_path):
    """A plan of the first edition is the same plan: summed, and no 「メニュー識別子 … が
    異なります」 note."""
    from budget.analysis.summary import load_summary
    from budget.store import open_store

    report = check_file(V2_FILE)
    with open_store(tmp_path / "b.db") as store:
        store.save(report, V2_FILE.read_bytes())
        summ = load_summary(store, 2023, load_menu(2023))
    assert summ.notes == []
    assert int(summ.detail["total"].sum()) == int(report.plan["total"].sum())
