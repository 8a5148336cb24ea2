"""A menu or crosswalk file given by path to ``budget compare`` is checked the first time;
the store records its SHA-256 with the version of the checks it passed, and the same bytes
under the same checks are not checked again. Anything else is checked: a changed byte, a
crosswalk used with another menu, a new version of the checks. A store the user may only
read records nothing and the files are checked every time."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.stages import save_stage

pytest_plugins = ["tests.conftest_pg"]

DATA = Path(__file__).parent / "data"
R6_MENU = DATA / "R6_sample_menu.csv"
CROSSWALK = DATA / "crosswalk_R5_R6_sample.csv"


@pytest.fixture
def files(tmp_path):
    """A store with one plan a year, and copies of the R6 menu and crosswalk to edit."""
    from budget.store import open_store

    db = tmp_path / "budget.db"
    with open_store(db) as st:
        save_stage(st, "plan", "01", {"R5-01": {"national": 200, "prefectural": 100}},
                   year=2023)
        save_stage(st, "plan", "01", {"R6-01": {"national": 220, "prefectural": 110}},
                   year=2024)
    menu, walk = tmp_path / "R6.csv", tmp_path / "crosswalk_R5_R6.csv"
    shutil.copy(R6_MENU, menu)
    shutil.copy(CROSSWALK, walk)
    return db, menu, walk


@pytest.fixture
def counted(monkeypatch):
    """Counts of the menu schema and crosswalk checks run."""
    import budget.crosswalk
    import budget.menu

    runs = {"menu": 0, "crosswalk": 0}
    validated, problems = budget.menu._validated, budget.crosswalk.crosswalk_problems

    def menu_check(*args, **kwargs):
        runs["menu"] += 1
        return validated(*args, **kwargs)

    def crosswalk_check(*args, **kwargs):
        runs["crosswalk"] += 1
        return problems(*args, **kwargs)

    monkeypatch.setattr(budget.menu, "_validated", menu_check)
    monkeypatch.setattr(budget.crosswalk, "crosswalk_problems", crosswalk_check)
    return runs


def _compare(db, menu, walk, out, **kwargs):
    from budget.reports import compare_year

    return compare_year(db, [2023, 2024], out, menu_paths=[menu], crosswalk_paths=[walk],
                        **kwargs)


def test_the_same_bytes_are_checked_once_and_recorded(files, counted, tmp_path):
    from budget.menu import checks_version, content_digest
    from budget.store import open_store

    db, menu, walk = files
    first = _compare(db, menu, walk, tmp_path / "a")
    assert counted == {"menu": 1, "crosswalk": 1}
    with open_store(db, create=False) as st:
        marks = st.checked_files()
    sha = content_digest(menu.read_bytes())
    assert marks[f"menu:{sha}"] == checks_version()
    assert any(k.startswith(f"crosswalk:{content_digest(walk.read_bytes())}:") for k in marks)
    second = _compare(db, menu, walk, tmp_path / "b")
    assert counted == {"menu": 1, "crosswalk": 1}  # not checked again
    # the same figures and the same workbook sheets either way
    assert second.compare.national.equals(first.compare.national)
    assert second.compare.items.equals(first.compare.items)


def test_a_changed_byte_is_checked_and_caught(files, counted, tmp_path):
    from budget.errors import MenuError

    db, menu, walk = files
    _compare(db, menu, walk, tmp_path / "a")
    text = menu.read_text("utf-8-sig")
    # an unknown 担当課 on one row: the schema must see it although the file was recorded
    menu.write_text(text.replace("社会・援護局福祉基盤課", "社会・援護局福祉盤課", 1), "utf-8")
    with pytest.raises(MenuError, match="担当課"):
        _compare(db, menu, walk, tmp_path / "b")
    assert counted["menu"] == 2


def test_a_crosswalk_is_checked_again_against_other_menus(files, counted, tmp_path):
    from budget.crosswalk import CrosswalkError

    db, menu, walk = files
    _compare(db, menu, walk, tmp_path / "a")
    # the same crosswalk bytes, but the R6 menu loses a leaf the crosswalk leads to
    lines = menu.read_text("utf-8-sig").splitlines(keepends=True)
    menu.write_text("".join(line for line in lines if not line.startswith("2024,R6-42,")),
                    "utf-8")
    with pytest.raises(CrosswalkError, match="R6-42"):
        _compare(db, menu, walk, tmp_path / "b")
    assert counted == {"menu": 2, "crosswalk": 2}


def test_another_version_of_the_checks_checks_again(files, counted, tmp_path, monkeypatch):
    import budget.menu

    db, menu, walk = files
    _compare(db, menu, walk, tmp_path / "a")
    budget.menu.checks_version.cache_clear()
    monkeypatch.setattr(budget.menu, "CHECK_SOURCES", (*budget.menu.CHECK_SOURCES,
                                                       "menus/R5.csv"))
    try:
        _compare(db, menu, walk, tmp_path / "b")
    finally:
        budget.menu.checks_version.cache_clear()
    assert counted == {"menu": 2, "crosswalk": 2}


def test_the_menus_are_read_through_the_store_and_recorded_by_the_caller(files, counted,
                                                                        tmp_path):
    """compare_menus only reads the store (compare reads it read-only): what passed comes
    back in ``passed``, and once the caller records it, the same files are not checked again.
    (A store the user may only read: tests/test_store_backends.py, compare on an immutable
    file.)"""
    from budget.reports import compare_menus
    from budget.store import open_store

    db, menu, walk = files
    passed: dict[str, str] = {}
    with open_store(db, readonly=True) as st:
        compare_menus([2023, 2024], [menu], [walk], store=st, passed=passed)
        assert st.checked_files() == {}
    assert counted == {"menu": 1, "crosswalk": 1}
    assert sorted(k.split(":")[0] for k in passed) == ["crosswalk", "menu"]
    with open_store(db, create=False) as st:
        assert st.record_checked(passed)
    with open_store(db, readonly=True) as st:
        again: dict[str, str] = {}
        compare_menus([2023, 2024], [menu], [walk], store=st, passed=again)
    assert counted == {"menu": 1, "crosswalk": 1} and again == {}


def test_cli_second_run_as_a_subprocess_gives_the_same_workbook_figures(files, tmp_path):
    import subprocess
    import sys

    import openpyxl

    db, menu, walk = files
    outs = []
    for name in ("a", "b"):
        args = [sys.executable, "-m", "budget", "compare", "--years", "R5", "R6", "--db",
                str(db), "--menu", str(menu), "--crosswalk", str(walk), "--out",
                str(tmp_path / name)]
        proc = subprocess.run(args, capture_output=True, text=True, encoding="utf-8")
        assert proc.returncode == 0, proc.stderr
        assert "R5: 全国計 300 千円" in proc.stdout
        wb = openpyxl.load_workbook(tmp_path / name / "R5-R6_年度比較.xlsx")
        outs.append([list(r) for r in wb["事業別"].iter_rows(min_row=6, values_only=True)])
    assert outs[0] == outs[1]


def test_the_new_store_reads_on_both_backends(store_location):
    """``number_cells`` (blank cells have no row) and the check marks, on SQLite and
    PostgreSQL alike."""
    from budget.store import open_store

    with open_store(store_location) as st:
        a = save_stage(st, "plan", "01", {"R5-01": {"national": 200, "prefectural": 100},
                                          "R5-02": {"national": 0}}, leaves=["R5-01", "R5-02",
                                                                            "R5-03"])
        b = save_stage(st, "plan", "13", {"R5-03": {"national": 7, "prefectural": 3}})
        cells = st.number_cells([a, b], ["fund", "national", "nothing"])
        got = sorted(zip(cells["submission_id"], cells["leaf_code"], cells["field"],
                         cells["number"]))
        assert got == sorted([(a, "R5-01", "fund", 300), (a, "R5-01", "national", 200),
                              (a, "R5-02", "fund", 0), (a, "R5-02", "national", 0),
                              (b, "R5-03", "fund", 10), (b, "R5-03", "national", 7)])
        assert str(cells["number"].dtype) == "int64"
        assert st.number_cells([], ["fund"]).empty
        assert st.checked_files() == {}
        assert st.record_checked({"menu:ab": "v1", "crosswalk:cd:ef:gh": "v1"})
        assert st.record_checked({"menu:ab": "v2"})
        assert st.checked_files() == {"menu:ab": "v2", "crosswalk:cd:ef:gh": "v1"}
        assert st.submissions()["id"].tolist()  # the store's own rows untouched
