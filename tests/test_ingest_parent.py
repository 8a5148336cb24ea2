"""What the batch's parent process does per file, done once: no garbage collection while the
run report is made (the report's cells would make the collector scan the whole heap again and
again: ≈0.7 ms a file at 1,410 files), given back as it was once the run is over, also when
the report cannot be written; each accepted plan's row totals read once for the checks across
stages and the plausibility history, with the same history and findings."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from budget.errors import OutputError
from budget.intake.batch import RunOutputs, ingest_folder
from budget.intake.check import Settings
from tests.conftest import write_filled_workbook

SETTINGS = Settings(fiscal_year=2023)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_filled_workbook(inbox, "13")
    write_filled_workbook(inbox, "27")
    return inbox


def test_the_report_is_made_without_collection_and_collection_is_restored(
        folder, tmp_path, monkeypatch):
    seen: list[tuple[bool, int]] = []
    write_report = RunOutputs.write_report

    def spying(self, run):
        seen.append((gc.isenabled(), gc.get_freeze_count()))
        return write_report(self, run)

    monkeypatch.setattr(RunOutputs, "write_report", spying)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    run = ingest_folder(folder, tmp_path / "s.db", SETTINGS, tmp_path / "reports", workers=0)
    assert run.report_path is not None and run.report_path.exists()
    assert [r.status for r in run.results] == ["accepted", "accepted"]
    (enabled, frozen), = seen
    assert not enabled and frozen > 0  # the heap as it was is frozen, nothing collected
    assert gc.isenabled() and gc.get_freeze_count() == 0  # and all is given back


def test_collection_is_restored_when_the_report_fails(folder, tmp_path, monkeypatch):
    def failing(self, run):
        raise PermissionError(13, "書き込み権限がありません")

    monkeypatch.setattr(RunOutputs, "write_report", failing)
    with pytest.raises(OutputError, match="登録は完了しましたが"):
        ingest_folder(folder, tmp_path / "s.db", SETTINGS, tmp_path / "reports", workers=0)
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_caller_that_disabled_collection_keeps_it_disabled(folder, tmp_path):
    gc.disable()
    try:
        ingest_folder(folder, tmp_path / "s.db", SETTINGS, tmp_path / "reports", workers=0)
        assert not gc.isenabled() and gc.get_freeze_count() == 0
    finally:
        gc.enable()


def test_each_plans_row_totals_are_read_once_and_the_history_is_the_same(tmp_path,
                                                                          monkeypatch):
    """Seven plans: from the sixth on, the history has five others and is consulted; each
    accepted plan's ``leaf_totals`` is read once (was twice: the check, then ``saved``), and
    the history after the run is what reading every plan afresh makes."""
    import budget.plausibility as plausibility
    from budget.plausibility import PlanHistory, leaf_totals
    from budget.stages import StageReads
    from budget.store import open_store

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    codes = ["01", "02", "03", "04", "05", "06", "07"]
    for code in codes:
        write_filled_workbook(inbox, code)
    calls: list[int] = []

    def counted(*args, **kwargs):
        calls.append(1)
        return leaf_totals(*args, **kwargs)

    monkeypatch.setattr(plausibility, "leaf_totals", counted)
    histories: list[PlanHistory] = []
    history = StageReads.history

    def kept(self, year):
        got = history(self, year)
        histories.append(got)
        return got

    monkeypatch.setattr(StageReads, "history", kept)
    run = ingest_folder(inbox, tmp_path / "s.db", SETTINGS, None, workers=0)
    assert [r.status for r in run.results] == ["accepted"] * 7
    # each plan's check (the fixed ceilings) reads it once; the parent once more for each of
    # the six checked against a history (the first has none: ``saved`` reads it)
    assert len(calls) == 7 + 7
    monkeypatch.undo()
    with open_store(tmp_path / "s.db") as store:
        afresh = StageReads(store).history(2023)
    assert histories[-1].plans.keys() == afresh.plans.keys() == set(codes)
    assert {c: p[1:] for c, p in histories[-1].plans.items()} == \
        {c: p[1:] for c, p in afresh.plans.items()}
    assert histories[-1].by_leaf == afresh.by_leaf


def test_saved_reads_the_totals_again_for_another_plan(tmp_path):
    """The rows kept from the check are used only for the very plan they were read from."""
    import dataclasses

    from budget.stages import StageReads
    from budget.store import open_store

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for code in ["01", "02", "03", "04", "05", "06"]:
        write_filled_workbook(inbox, code)
    ingest_folder(inbox, tmp_path / "s.db", SETTINGS, None, workers=0)
    from budget.intake.check import check_bytes

    path = write_filled_workbook(tmp_path, "13")
    report = check_bytes(path.read_bytes(), path.name, SETTINGS)
    assert report.accepted
    other = dataclasses.replace(report, plan=report.plan.assign(
        total=report.plan["total"] * 2))
    with open_store(tmp_path / "s.db") as store:
        from budget.stages import stage_findings

        reads = StageReads(store)
        stage_findings(store, report, reads)  # keeps the rows of ``report.plan``
        reads.saved(other, "2099-01-01T00:00:00.000000+00:00")
        got = reads.history(2023).plans["13"]
    doubled = {leaf: 2 * t for leaf, t in _totals(report).items()}
    assert got[1] == doubled and got[2] == sum(doubled.values())


def _totals(report) -> dict[str, int]:
    from budget.forms import form
    from budget.plausibility import leaf_totals

    return {r.leaf_code: r.total for r in leaf_totals(form(report.form), report.plan)}


@pytest.mark.parametrize("values, dtype", [
    ([300, None, 0, 12], "Int64"), ([None, None], "Int64"), ([], "Int64"), ([5, -7], "int64"),
    ([1.0, None, 2.0], "float64"), ([3, None, 4], "object"), ([2**40, 2**40], "Int64"),
])
def test_a_plans_fund_total_is_the_pandas_sum_blank_when_every_cell_is(values, dtype):
    """``column_sum`` (the 基金 total a plan is compared with its 内示 by) as pandas sums:
    blank cells left out, None when every cell is blank (blank is not 0)."""
    import pandas as pd

    from budget.forms.base import int_or_none
    from budget.stages import column_sum

    if dtype == "Int64":
        column = pd.array(values, dtype="Int64")
    else:
        column = pd.Series(values, dtype=dtype)
    frame = pd.DataFrame({"fund": column})
    expected = int_or_none(frame["fund"].sum(min_count=1))
    got = column_sum(frame, "fund")
    assert got == expected and type(got) is type(expected)
    if dtype in ("Int64", "int64"):
        assert got == (sum(v for v in values if v is not None)
                       if any(v is not None for v in values) else None)
