"""The batch leaves what is alive out of garbage collection while its report is made (the
report's cells would make the collector scan the whole heap again and again: ≈0.6 ms a file
at 1,410 files), and gives collection back as it was once the run is over, also when the
report cannot be written."""

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
