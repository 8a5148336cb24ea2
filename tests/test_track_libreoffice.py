"""The track workbook as a user's LibreOffice shows it (no recalculation on load): the
figures, the 億円 pairs as text, the flags, and every sheet printable."""

from __future__ import annotations

from click.testing import CliRunner

from budget.cli import cli
from budget.store import open_store
from tests.libreoffice import (
    cell_values,
    convert,
    pdf_page_count,
    requires_libreoffice,
    requires_uno,
)
from tests.stages import save_allocation, save_stage

PLAN = {"R5-01": {"national": 1_416_667, "prefectural": 708_333},
        "R5-26": {"national": 20_000, "prefectural": 10_000}}
ACTUAL = {"R5-01": {"actual_national": 500_000, "actual_prefectural": 250_000,
                    "achievement": "一部達成", "output_result": "=研修 3 回"}}


def make_store(tmp_path):
    db = tmp_path / "budget.db"
    with open_store(db) as store:
        save_allocation(store, "1", {"13": (2_000_000, 1_333_333)})
        save_stage(store, "plan", "13", PLAN)
        save_stage(store, "actual", "13", ACTUAL, header={"exec_year": "2023"})
    return db


def track(tmp_path, *args: str):
    db = make_store(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["track", "--db", str(db), "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return out


@requires_uno
def test_libreoffice_shows_the_figures_without_recalculating(tmp_path):
    out = track(tmp_path)
    # row 19 = 13 東京都: 都道府県, 要望, 内示 第1回, 内示 計, 計画（当初）, 計画（現在）, 変更回数, 実績, …
    got = cell_values(out / "R5_執行管理.xlsx", "都道府県別",
                      ["A19", "B19", "C19", "D19", "E19", "F19", "G19", "H19", "I19", "J19",
                       "K19"])
    fund = 2_125_000 + 30_000
    assert got == {"A19": "13 東京都", "B19": "未提出", "C19": 2_000_000, "D19": 2_000_000,
                   "E19": fund, "F19": fund, "G19": 0, "H19": 750_000,
                   "I19": 750_000 / fund, "J19": 750_000 / 2_000_000,
                   "K19": "計画＞内示、執行率 34.8%（70%未満）、未提出: 要望"}


@requires_uno
def test_libreoffice_shows_the_oku_pairs_as_text(tmp_path):
    out = track(tmp_path, "--unit", "億円")
    got = cell_values(out / "R5_執行管理（億円）.xlsx", "都道府県別", ["C19", "F19", "H19", "I19"])
    assert got == {"C19": "20.0 (13.3)", "F19": "21.6 (14.4)", "H19": "7.5 (5.0)",
                   "I19": 750_000 / 2_155_000}


@requires_libreoffice
def test_every_sheet_prints(tmp_path):
    out = track(tmp_path)
    pdf = convert(out / "R5_執行管理.xlsx", "pdf", tmp_path / "pdf")
    assert pdf_page_count(pdf) >= 8  # one page at least per sheet
