"""The run report and the run's change list at scale (issue 12: peak memory flat in the
number of files): the change list is kept in a temporary file, not in memory, and the report
is written a row at a time (xlsxwriter ``constant_memory``), reading its rows twice (the
column widths, then the cells) without holding a sheet whole. What it writes is what the
rows say, in order."""

from __future__ import annotations

import tracemalloc

import openpyxl

from budget.analysis.diff import RESUBMISSION_COLUMNS, ChangeList
from budget.render.run_report import CHANGES_SHEET, write_run_report
from budget.textwidth import display_width
from tests.test_run_report import a_run

LABEL = "R5-34-イ 管理者等に対する雇用管理改善方策普及・促進事業／ロ 長い細目の名前"


def change_rows(n: int, start: int = 0) -> list[dict]:
    """``n`` changes of resubmissions of the 47 prefectures (ids 1–47 of ``a_run``)."""
    return [{"submission_id": 1 + i % 47, "previous_id": 1000 + i % 47,
             "previous_file_name": f"{i % 47:02d}_前回_R5_計画.xlsx",
             "prefecture_code": f"{1 + i % 47:02d}", "leaf_code": "R5-34-イ",
             "label": LABEL, "field": "national", "field_label": "国(A)",
             "before": i, "after": None if i % 7 == 0 else f"=備考{i}" if i % 11 == 0 else i + 1,
             "kind": "removed" if i % 7 == 0 else "changed"}
            for i in range(start, start + n)]


def test_a_change_list_gives_its_rows_back_in_order_and_holds_none_in_memory():
    changes = ChangeList()
    assert changes.empty and len(changes) == 0 and list(changes) == []
    assert list(changes.frame().columns) == RESUBMISSION_COLUMNS
    tracemalloc.start()
    try:
        for part in range(4):
            changes.extend(change_rows(5000, part * 5000))
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 20,000 rows as dicts are ~20 MB; the list keeps a file and a count
    assert held < 500_000, held
    assert len(changes) == 20_000 and not changes.empty
    first = list(changes)
    assert first == change_rows(20_000)
    assert list(changes) == first  # read again: the same
    changes.extend(change_rows(3, 20_000))  # added after reading: after the others
    assert list(changes)[-4:] == change_rows(4, 19_999)
    assert changes.frame().to_dict("records")[-1] == change_rows(1, 20_002)[0]
    changes.close()


def test_the_report_of_many_changes_is_written_a_row_at_a_time(tmp_path):
    """10,000 changes: the 変更点 sheet has each as a row, in order, columns fitted to their
    texts; writing it holds neither the rows nor the cells (before: ~60 MB at its peak)."""
    run = a_run(tmp_path)
    run.changes = ChangeList()
    for part in range(2):
        run.changes.extend(change_rows(5000, part * 5000))
    write_run_report(a_run(tmp_path), tmp_path / "warm.xlsx")  # imports and caches
    tracemalloc.start()
    try:
        path = write_run_report(run, tmp_path / "取込結果.xlsx")
        _held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 15_000_000, peak
    ws = openpyxl.load_workbook(path)[CHANGES_SHEET]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 10_000 and ws.auto_filter.ref == "A1:J10001"
    expected = change_rows(10_000)
    assert [r[2:4] for r in rows] == [(c["submission_id"], c["previous_id"]) for c in expected]
    assert [r[7:] for r in rows] == [
        (c["before"], "（空欄）" if c["after"] is None else c["after"],
         "削除" if c["kind"] == "removed" else "変更") for c in expected]
    assert rows[0][:2] == ("01_北海道_R5_計画.xlsx", "01 北海道")
    # a sender's text that looks like a formula stays text, shown as sent
    cell = ws.cell(row=2 + 11, column=9)
    assert cell.value == "=備考11" and cell.data_type == "s" and cell.quotePrefix
    # widths from every row: the label column wraps at its cap, the file names fit
    assert 44 <= ws.column_dimensions["F"].width < 45 and ws.cell(row=2, column=6).alignment.wrap_text
    assert ws.column_dimensions["E"].width >= display_width("46_前回_R5_計画.xlsx")
    assert ws.row_dimensions[2].height > 15  # the wrapped label: a taller row
