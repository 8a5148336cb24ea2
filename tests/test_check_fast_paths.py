"""The fast paths of ``budget.intake.check`` say exactly what the general path says.

A cell that is as the template has it (a label, a formula) or a clean input (blank, a whole
number, a plain text) is passed by a fast path without the general normalising; every other
cell goes the general way. Here a batch of real workbooks full of odd cells (what users
type, labels and formulas rewritten, shared strings with escapes, rows moved, other stages'
forms) is checked twice, fast paths on and off: every report must be identical, finding by
finding, plan value by plan value.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import budget.intake.check as check
from budget.forms import ALLOCATION, REQUEST
from budget.forms.plan import MAX_AMOUNT
from budget.generate import generate_stage
from budget.intake.check import Settings, check_many
from tests.conftest import _menu, edit_workbook, rewrite_parts, write_filled_workbook

#: What users type into amount and text cells: each value on a row of its own (R5-01 is
#: row 8, the leaves follow in menu order).
ODD_AMOUNTS = ["１，２３４", "▲5", " 12 ", "1,234", "1,234.0", "0012", "-0", -5, 12.5, 0, 1.0,
               "abc", "1,23", "", " ", "=1+1", MAX_AMOUNT, MAX_AMOUNT + 1, 1e20, 10**15,
               "9" * 15, "9" * 16, "٣", "²", True]
ODD_TEXTS = ["=SUM(A1)", "+81 3", "@県", "-", "\t県社協", " 県 \n", "県\r\n社協", "県\r社協",
             200, 1.5, "x" * 401, "県\x1b[2J社協", "a\x85b", "＝全角", "", " ", "県社協",
             "値", False]


def _odd_rows(menu) -> dict[str, dict[str, object]]:
    codes = list(menu["leaf_code"])
    amounts = ("national", "prefectural", "other", "public", "private", "commissioned")
    texts = ("implementer", "output", "remarks")
    rows: dict[str, dict[str, object]] = {}
    for i, value in enumerate(ODD_AMOUNTS):
        rows.setdefault(codes[i], {})[amounts[i % len(amounts)]] = value
    for i, value in enumerate(ODD_TEXTS):
        rows.setdefault(codes[i + 3], {})[texts[i % len(texts)]] = value
    rows.setdefault(codes[-1], {}).update({"national": 2000, "prefectural": 1000,
                                           "private": 2000, "implementer": "県"})
    # the row rules: 公+民 ≠ 国, 受託 > 民, 国 far from 2/3 of 基金 (whole numbers, typed
    # as numbers: the fast path's cells, whose text the findings show)
    rows.setdefault(codes[-2], {}).update({"national": 100, "prefectural": 900, "public": 30,
                                           "private": 30, "commissioned": 50})
    rows.setdefault(codes[-3], {}).update({"national": "１００", "public": " 60", "private": 40,
                                           "commissioned": "41"})
    return rows


def _edits(ws) -> None:
    """Labels and formulas as users change them: typed over, reworded, blanked, made
    numbers or formulas, written in another case and spacing."""
    import datetime as dt

    ws["D9"] = "書き換えた事業名"
    ws["D10"] = None
    ws["C11"] = 7  # a label as a number
    ws["D12"] = "=A12"
    ws["E13"] = "細目\r\n二行"
    ws["G14"] = "=sum( h14 , i14 , k14 )"  # the same formula, spelled otherwise
    ws["J15"] = 123  # a formula typed over
    ws["G16"] = "=SUM(H16,I16)"  # another formula
    ws["J17"] = None
    ws["G18"] = "=_xlfn.SUM(H18,I18,K18)"
    ws["H19"] = dt.date(2026, 3, 1)
    ws["O20"] = dt.date(2026, 3, 1)
    ws["H21"] = 46082
    ws["H21"].number_format = "yyyy/m/d"
    ws["K22"] = 500
    ws["K22"].number_format = '#,##0"千円"'
    ws["K23"] = "=1000+234"
    ws["Q24"] = '="備考"'
    ws["Z30"] = "様式の外"
    ws["C8"] = True  # stored as "1" (the label's text), shown TRUE
    ws["C13"] = 6  # the label's number as a number: shown as the template has it


def _shared_string_edits(xml: str) -> str:
    """Escapes only a hand-made file has: a label spelled with ``_x000D_`` (CR) and an
    input written as an escaped control character."""
    return xml.replace("県社協", "県_x001B_社協").replace("値", "値_x000D_")


@pytest.fixture(scope="module")
def odd_batch(tmp_path_factory) -> list[Path]:
    tmp = tmp_path_factory.mktemp("odd")
    menu = _menu(2023)
    odd = write_filled_workbook(tmp / "a", rows=_odd_rows(menu))
    files = [write_filled_workbook(tmp / "clean"), odd,
             edit_workbook(odd, _edits, out=tmp / "13_東京都_R5_計画_edited.xlsx"),
             rewrite_parts(odd, tmp / "13_東京都_R5_計画_escaped.xlsx",
                           {"xl/sharedStrings.xml": _shared_string_edits}),
             write_filled_workbook(tmp / "b", "27", rows={}, header={})]

    def move_rows(ws) -> None:  # a row deleted, two swapped: the structure is not the form's
        ws.delete_rows(12)
        for col in range(1, 19):
            a, b = ws.cell(20, col), ws.cell(21, col)
            a.value, b.value = b.value, a.value

    files.append(edit_workbook(odd, move_rows, out=tmp / "13_東京都_R5_計画_rows.xlsx"))
    files.append(edit_workbook(odd, lambda ws: ws.insert_rows(3),
                               out=tmp / "13_東京都_R5_計画_shifted.xlsx"))
    from budget.prefectures import find_prefecture

    request = generate_stage(REQUEST, menu, tmp / "req",
                             prefectures=[find_prefecture("01")]).paths[0]
    files.append(request)
    files.append(edit_workbook(request, _edits, sheet=REQUEST.main_sheet,
                               out=tmp / "01_北海道_R5_要望_edited.xlsx"))
    allocation = generate_stage(ALLOCATION, menu, tmp / "alloc", round_no=1).paths[0]
    files.append(allocation)
    files.append(edit_workbook(allocation, _allocation_edits, sheet=ALLOCATION.main_sheet,
                               out=tmp / ("edited_" + allocation.name)))
    return files


def _allocation_edits(ws) -> None:
    first = ALLOCATION.first_data_row
    ws[ALLOCATION.column["national"].ref(first)] = " ２０００ "
    ws[ALLOCATION.column["national"].ref(first + 1)] = 1500
    ws[ALLOCATION.column["fund"].ref(first + 1)] = 2250
    label = ALLOCATION.column[ALLOCATION.label_keys[0]]
    ws[label.ref(first + 2)] = "99 架空県"
    ws[ALLOCATION.column["ref_request"].ref(first + 3)] = "abc"
    ws[ALLOCATION.column["prev_fund"].ref(first + 4)] = 1.5
    ws[ALLOCATION.column["prev_national"].ref(first + 5)] = 7


def _reports(paths: list[Path], fast: bool, monkeypatch) -> list:
    monkeypatch.setattr(check, "_FAST_PATHS", fast)
    batch = [(p.read_bytes(), p.name) for p in paths]
    return check_many(batch, Settings())


def test_fast_paths_and_the_general_path_give_identical_reports(odd_batch, monkeypatch):
    fast = _reports(odd_batch, True, monkeypatch)
    general = _reports(odd_batch, False, monkeypatch)
    assert len(fast) == len(general) == len(odd_batch)
    for a, b in zip(fast, general):
        assert a.findings == b.findings, a.file
        assert (a.file, a.header, a.fiscal_year, a.form, a.stage, a.status) == \
            (b.file, b.header, b.fiscal_year, b.form, b.stage, b.status)
        assert (a.plan is None) == (b.plan is None), a.file
        if a.plan is not None:
            pd.testing.assert_frame_equal(a.plan, b.plan)
    # the batch is as odd as it claims: every kind of cell finding is in it
    codes = {f.code for r in fast for f in r.findings}
    assert {"locked-cell-changed", "formula-changed", "fullwidth-number", "text-number",
            "surrounding-space", "negative-amount", "fractional-amount", "not-a-number",
            "amount-too-large", "formula-in-input", "leading-formula-character",
            "control-character", "text-too-long", "date-in-amount", "date-in-text",
            "unexpected-cell", "missing-row", "rows-shifted", "empty-plan",
            "public-private-sum", "commissioned-over-private", "national-share"} <= codes
    # and some files pass: the fast paths are taken, not only the general one
    assert sum(r.status == "accepted" for r in fast) >= 2


def test_a_formula_spelled_otherwise_is_still_the_templates(odd_batch, monkeypatch):
    """``=sum( h14 , i14 , k14 )`` and ``_xlfn.SUM`` are the template's formula (the fast
    path, comparing the stored text, leaves them to the general one, which normalises)."""
    edited = _reports([odd_batch[2]], True, monkeypatch)[0]
    assert not [f for f in edited.findings if f.cell in ("G14", "G18")]
    assert [f.cell for f in edited.findings if f.code == "formula-changed"] == [
        "J15", "G16", "J17"]
    assert [f.cell for f in edited.findings if f.code == "locked-cell-changed"] == [
        "C8", "D9", "D10", "C11", "D12", "E13"]


def test_a_clean_workbooks_cells_take_the_fast_paths(odd_batch, monkeypatch):
    """The clean workbook's leaf cells (labels, the No. shown as a number, formulas,
    amounts, texts) never reach the general path: only the header's few cells do (the
    year, the prefecture, the contact inputs)."""
    calls: list[str] = []
    for name in ("cell_text", "normalise_amount", "normalise_text", "normalise_formula"):
        real = getattr(check, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(check, name, counted)
    report = _reports([odd_batch[0]], True, monkeypatch)[0]
    assert report.accepted and report.findings == []
    assert calls.count("normalise_amount") == calls.count("normalise_formula") == 0
    assert calls.count("normalise_text") == 4  # the contact inputs
    assert calls.count("cell_text") <= 8
    calls.clear()
    _reports([odd_batch[0]], False, monkeypatch)
    assert calls.count("normalise_amount") > 100  # the general path: every input cell
