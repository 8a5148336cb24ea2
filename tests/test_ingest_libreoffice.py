"""Workbooks filled and saved by a real LibreOffice Calc (headless, ja-JP), then ingested or
validated: what a prefecture using LibreOffice sends back.

Skipped where LibreOffice (with its Python UNO bridge) is absent; `.ci/run` installs it.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from budget.cli import cli
from budget.forms import plan as layout
from budget.generate import generate_templates
from budget.menu import load_menu
from budget.prefectures import find_prefecture
from budget.store import open_store
from tests.libreoffice import edit_and_save, requires_uno

pytestmark = [pytest.mark.libreoffice, requires_uno]

P = layout.PLAN_SHEET
COL = layout.COLUMN
CONTACT = {"department": "福祉局 高齢者施策推進部 介護保険課", "contact_name": "厚労 花子",
           "phone": "03-5320-4111", "email": "kaigo@example.lg.jp"}


@pytest.fixture(scope="module")
def menu():
    return load_menu(2023)


def leaf_row(menu, i: int) -> int:
    """The 計画 row of the menu's ``i``-th leaf (menu order)."""
    return list(layout.leaf_rows(len(menu)))[i]


def typed_contact() -> list[tuple[str, str, str]]:
    return [(P, layout.HEADER_INPUTS[k][1], v) for k, v in CONTACT.items()]


def test_amounts_typed_in_libreoffice_ingest_with_the_right_values(tmp_path, menu):
    """Typed as a clerk would in ja-JP: 「1,234」 and full-width 「１２３４」 are numbers to
    LibreOffice itself (so no warning), while an apostrophe makes text that the normaliser
    reads with a warning on that cell."""
    template = generate_templates(menu, [find_prefecture("13")], tmp_path / "t")[0]
    inbox = tmp_path / "inputs"
    saved = inbox / template.name
    r = [leaf_row(menu, i) for i in range(4)]

    def cell(key: str, i: int) -> str:
        return COL[key].ref(r[i])

    typed = [*typed_contact(),
             (P, cell("national", 0), "1,234"), (P, cell("prefectural", 0), "617"),
             (P, cell("public", 0), "1,000"), (P, cell("private", 0), "234"),
             (P, cell("implementer", 0), "県社会福祉協議会"),
             (P, cell("national", 1), "１２３４"), (P, cell("prefectural", 1), "６１７"),
             (P, cell("private", 1), "１，２３４"),
             (P, cell("national", 2), "0"), (P, cell("prefectural", 2), "0"),
             (P, cell("national", 3), "'2,000"), (P, cell("prefectural", 3), "'１，０００"),
             (P, cell("private", 3), "2000")]
    shown = edit_and_save(template, saved, typed)
    # what LibreOffice made of the typing
    assert {k: (v["type"], v["value"]) for k, v in shown.items()
            if k.startswith(f"{P}!{COL['national'].letter}")} == {
        f"{P}!{cell('national', 0)}": ("VALUE", 1234), f"{P}!{cell('national', 1)}": ("VALUE", 1234),
        f"{P}!{cell('national', 2)}": ("VALUE", 0), f"{P}!{cell('national', 3)}": ("TEXT", "2,000")}

    db = tmp_path / "budget.db"
    result = CliRunner().invoke(cli, ["ingest", str(inbox), "--db", str(db), "--reports",
                                      str(tmp_path / "reports")])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[2].split() == [template.name, "東京都", "受理", "0", "2",
                                                     "新規", "1"]
    with open_store(db) as store:
        assert [(f.code, f.severity, f.cell, f.value) for f in store.findings(1)] == [
            ("text-number", "warning", cell("national", 3), "2,000"),
            ("fullwidth-number", "warning", cell("prefectural", 3), "１，０００")]
        amounts = store.current_amounts(2023).set_index("leaf_code")
    codes = list(menu["leaf_code"][:4])
    keys = ["total", "national", "prefectural", "fund", "other", "public", "private",
            "commissioned", "implementer"]
    got = amounts.loc[codes, keys].astype(object).where(amounts.loc[codes, keys].notna(), None)
    assert got.values.tolist() == [
        [1851, 1234, 617, 1851, None, 1000, 234, None, "県社会福祉協議会"],
        [1851, 1234, 617, 1851, None, None, 1234, None, None],
        [0, 0, 0, 0, None, None, None, None, None],  # a planned 0
        [3000, 2000, 1000, 3000, None, None, 2000, None, None],
    ]
    assert amounts.drop(index=codes)["national"].isna().all()  # untouched rows stay blank


def test_a_locked_cell_edited_in_libreoffice_is_caught(tmp_path, menu):
    """A user who lifts the sheet protection in LibreOffice and rewrites a 事業名."""
    template = generate_templates(menu, [find_prefecture("01")], tmp_path / "t")[0]
    saved = tmp_path / "edited" / template.name
    name_cell = COL["item_name"].ref(leaf_row(menu, 0))
    assert name_cell == "D8"
    row = leaf_row(menu, 0)
    edit_and_save(template, saved, [*typed_contact(),
                                    (P, COL["national"].ref(row), "200"),
                                    (P, COL["prefectural"].ref(row), "100"),
                                    (P, COL["private"].ref(row), "200"),
                                    (P, name_cell, "書き換えた事業名")], unprotect=True)
    result = CliRunner().invoke(cli, ["validate", str(saved), "--format", "json"])
    assert result.exit_code == 1, result.output
    (report,) = json.loads(result.stdout)
    assert [[f["code"], f["severity"], f["sheet"], f["cell"]] for f in report["findings"]] == [
        ["sheet-unprotected", "warning", P, None],
        ["locked-cell-changed", "error", P, "D8"]]
    locked = report["findings"][1]
    assert locked["value"] == "書き換えた事業名"
    assert locked["leaf_code"] == menu["leaf_code"].iloc[0]
    assert f"本来は「{menu['item_name'].iloc[0]}" in locked["message"]
