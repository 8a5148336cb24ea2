"""Authoring a new year without code: ``budget menu new``, ``budget menu check``,
``budget menu diff``; ``budget menu`` as a group that still shows a menu with no subcommand."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from budget.cli import cli
from budget.crosswalk import describe_menu_changes, links, load_crosswalk
from budget.menu import load_menu, menu_path

DATA = Path(__file__).parent / "data"
R6_MENU = DATA / "R6_sample_menu.csv"
CROSSWALK = DATA / "crosswalk_R5_R6_sample.csv"


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_menu_without_subcommand_still_shows_the_menu():
    runner = CliRunner()
    for args in (["menu", "--year", "R5"], ["menu", "show", "--year", "R5"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert result.output.startswith("令和5年度（2023年度） メニュー: 41 事業、58 細目")
    csv_out = runner.invoke(cli, ["menu", "show", "--format", "csv"]).output
    assert csv_out.splitlines()[0].startswith("fiscal_year,leaf_code,")
    helped = runner.invoke(cli, ["menu", "--help"]).output
    for sub in ("new", "check", "diff", "show"):
        assert f"  {sub} " in helped


def test_menu_new_copies_the_menu_with_new_codes_and_an_identity_crosswalk(tmp_path):
    out = tmp_path / "新年度"
    result = CliRunner().invoke(cli, ["menu", "new", "--from", "R5", "--year", "R6",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    menu_file, crosswalk_file = out / "R6.csv", out / "crosswalk_R5_R6.csv"
    assert str(menu_file) in result.output and str(crosswalk_file) in result.output
    r5, r6 = _csv(menu_path(2023)), _csv(menu_file)
    assert len(r6) == len(r5) == 58
    for old, new in zip(r5, r6):
        assert new["leaf_code"] == "R6-" + old["leaf_code"][3:]
        assert new["fiscal_year"] == "2024"
        # 備考 and every other column kept as they were
        for col in old:
            if col not in ("leaf_code", "fiscal_year"):
                assert new[col] == old[col], (old["leaf_code"], col)
    xw = _csv(crosswalk_file)
    assert [(r["from_code"], r["to_code"], r["relation"]) for r in xw] == [
        (a["leaf_code"], b["leaf_code"], "same") for a, b in zip(r5, r6)]
    # both valid as written: the menu against its schema, the crosswalk against both menus
    table = load_crosswalk(crosswalk_file, load_menu(2023), load_menu(2024, menu_file))
    assert all(link.share == 1.0 for link in links(table))
    # never overwrites
    again = CliRunner().invoke(cli, ["menu", "new", "--from", "R5", "--out", str(out)])
    assert again.exit_code == 1
    assert "すでにあります（上書きしません）" in again.stderr


def test_menu_new_from_a_file_and_refuses_an_earlier_year(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["menu", "new", "--from", str(R6_MENU), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in tmp_path.iterdir()} == {"R7.csv", "crosswalk_R6_R7.csv"}
    assert _csv(tmp_path / "R7.csv")[-1]["leaf_code"] == "R7-42"
    earlier = runner.invoke(cli, ["menu", "new", "--from", "R5", "--year", "R4",
                                  "--out", str(tmp_path / "x")])
    assert earlier.exit_code == 1
    assert "後でなければなりません" in earlier.stderr
    assert not (tmp_path / "x").exists()


def test_menu_check_reports_by_row_and_exits_1(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(cli, ["menu", "check", str(R6_MENU), "--crosswalk", str(CROSSWALK)])
    assert ok.exit_code == 0, ok.output
    assert "問題はありません" in ok.output

    rows = _csv(R6_MENU)
    rows[4]["bureaus"] = "社会・援護局福祉盤課"  # file row 6
    bad_menu = _write_csv(tmp_path / "R6.csv", rows)
    result = runner.invoke(cli, ["menu", "check", str(bad_menu)])
    assert result.exit_code == 1
    assert "6 行目（R6-05）" in result.output and "担当課" in result.output

    xw = _csv(CROSSWALK)
    split = [i for i, r in enumerate(xw) if r["relation"] == "split"]
    xw[split[0]]["share"] = "0.5"  # 0.5 + 0.4 = 0.9
    bad_xw = _write_csv(tmp_path / "xw.csv", xw)
    result = runner.invoke(cli, ["menu", "check", str(R6_MENU), "--crosswalk", str(bad_xw)])
    assert result.exit_code == 1
    assert (f"{split[0] + 2} 行目（R5-21 → R6-21-イ）: 分割（split）の share の合計が 1 に"
            "なりません") in result.output
    # the earlier menu may be named, by year or file
    named = runner.invoke(cli, ["menu", "check", str(R6_MENU), "--crosswalk", str(CROSSWALK),
                                "--from", str(menu_path(2023))])
    assert named.exit_code == 0, named.output


def test_menu_diff_lists_changes_with_names():
    result = CliRunner().invoke(cli, ["menu", "diff", "R5", str(R6_MENU),
                                      "--crosswalk", str(CROSSWALK)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "新規: 2 件\n  R6-41 訪問介護等サービス提供体制確保支援事業" in out
    assert "R6-42 介護人材確保のための福祉施策と労働施策の連携体制の強化" in out
    assert "廃止: 1 件\n  R5-40 新型コロナウイルス感染症" in out
    assert ("R5-33 新人介護職員に対するEラーニング制度等導入支援事業 → "
            "R6-33 新人介護職員に対するエルダー・メンター制度等導入支援事業") in out
    assert "統合: 1 件" in out and "ロ 介護ロボット導入支援事業、R5-34-ハ" in out
    assert "→ R6-34-ロ 管理者等に対する雇用管理改善方策普及・促進事業／ロ 介護テクノロジー" in out
    assert "分割: 1 件\n  R5-21 各種研修に係る代替要員の確保対策事業 → R6-21-イ" in out
    assert "（0.6 の割合）" in out and "（0.4 の割合）" in out
    assert "変更のない細目: 51 件" in out
    _, _, changes, _ = describe_menu_changes("R5", R6_MENU, CROSSWALK)
    assert [c.relation for c in changes] == [
        "new", "new", "removed", "renamed", "moved", "moved", "merged", "split"]


def test_menu_diff_finds_the_crosswalk_beside_the_later_menu_or_says_how_to_give_one(tmp_path):
    runner = CliRunner()
    alone = tmp_path / "a"
    alone.mkdir()
    (alone / "R6.csv").write_bytes(R6_MENU.read_bytes())
    missing = runner.invoke(cli, ["menu", "diff", "R5", str(alone / "R6.csv")])
    assert missing.exit_code == 1
    assert "crosswalk_R5_R6.csv（2 つのメニューの移行表）が見つかりません。--crosswalk" in (
        missing.stderr)
    (alone / "crosswalk_R5_R6.csv").write_bytes(CROSSWALK.read_bytes())
    found = runner.invoke(cli, ["menu", "diff", str(menu_path(2023)), str(alone / "R6.csv")])
    assert found.exit_code == 0, found.output
    assert "（移行表: crosswalk_R5_R6.csv）" in found.output


def test_menu_authoring_cycle_as_a_subprocess(tmp_path):
    """new → staff edit (merge two items) → check → diff, as a user runs it."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "budget", "menu", *args], cwd=tmp_path,
                              capture_output=True, text=True, encoding="utf-8", env=env)

    made = run("new", "--from", "R5", "--year", "R6", "--out", "next")
    assert made.returncode == 0, made.stderr
    xw = _csv(tmp_path / "next" / "crosswalk_R5_R6.csv")
    # merge R5-34-ハ into R6-34-ロ without removing R6-34-ハ from the menu: check catches it
    for r in xw:
        if r["from_code"] in ("R5-34-ロ", "R5-34-ハ"):
            r["to_code"], r["relation"] = "R6-34-ロ", "merged"
    _write_csv(tmp_path / "next" / "crosswalk_R5_R6.csv", xw)
    checked = run("check", "next/R6.csv", "--crosswalk", "next/crosswalk_R5_R6.csv")
    assert checked.returncode == 1
    assert "R6-34-ハ（次の年度のメニュー）の行がありません" in checked.stdout
    menu = [r for r in _csv(tmp_path / "next" / "R6.csv") if r["leaf_code"] != "R6-34-ハ"]
    _write_csv(tmp_path / "next" / "R6.csv", menu)
    checked = run("check", "next/R6.csv", "--crosswalk", "next/crosswalk_R5_R6.csv")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    diffed = run("diff", "R5", "next/R6.csv")
    assert diffed.returncode == 0, diffed.stderr
    assert "統合: 1 件" in diffed.stdout and "変更のない細目: 56 件" in diffed.stdout
