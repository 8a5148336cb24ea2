"""`budget validate`, `budget ingest`, `budget status` through the CLI: output and exit codes."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from budget.cli import cli
from budget.store import open_store
from tests import hostile
from tests.test_ingest import (
    BAD_FINDINGS,
    KANAGAWA,
    SKIPPED_NOTE,
    bad_rows,
    file_name,
    good_row,
    good_rows,
    plan_bytes,
    write,
)

GOOD, BAD = file_name("01"), file_name("13")


@contextlib.contextmanager
def working_directory(path):
    """Run the block in ``path`` (the CLI's default folders are relative to it)."""
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield path
    finally:
        os.chdir(previous)


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("books")
    return {"good": write(folder, "01", plan_bytes("01")),
            "bad": write(folder, "13", plan_bytes("13", bad_rows()))}


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def finding_lines(stdout: str, file: str) -> list[list[str]]:
    """The finding rows of a file's table, split into 場所 (2 parts), 重要度, 項目, message."""
    return [line.split(maxsplit=4) for line in stdout.splitlines()
            if line.startswith(f"  {file} ")]


# --- validate ------------------------------------------------------------------------------


def test_validate_prints_each_finding_and_exits_1_on_a_rejected_file(runner, books):
    result = runner.invoke(cli, ["validate", str(books["good"]), str(books["bad"])])
    assert result.exit_code == 1, result.output
    out = result.stdout
    lines = out.splitlines()
    assert lines[0] == f"{GOOD}: 受理（エラー 0 件、警告 0 件）"
    assert f"{BAD}: 差戻し（エラー 1 件、警告 1 件）" in lines
    assert lines[lines.index(f"{BAD}: 差戻し（エラー 1 件、警告 1 件）") + 1].split() == [
        "場所", "重要度", "項目", "内容"]
    rows = finding_lines(out, BAD)
    assert [r[:4] for r in rows] == [[BAD, "計画!H8", "エラー", "負の金額"],
                                     [BAD, "計画!Q9", "警告", "式に見える文字"]]
    assert "negative-amount" not in out and "leading-formula-character" not in out
    assert rows[0][4].startswith("計画!H8（R5-01 ") and rows[0][4].endswith(
        "の金額 -5 が負の値です。金額は0以上で入力してください（▲・△・－はマイナスとして扱われます）。")
    assert lines[-1] == "2 件中 受理 1 件、差戻し 1 件"


def test_validate_exits_0_when_all_are_accepted_and_stores_nothing(runner, books, tmp_path):
    with working_directory(tmp_path):
        result = runner.invoke(cli, ["validate", str(books["good"])])
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines() == [f"{GOOD}: 受理（エラー 0 件、警告 0 件）", "",
                                              "1 件中 受理 1 件、差戻し 0 件"]
        assert list(Path().iterdir()) == []  # no budget.db, no reports


def test_validate_json_for_scripts(runner, books):
    result = runner.invoke(cli, ["validate", str(books["bad"]), str(books["good"]),
                                 "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [(d["file"], d["status"], d["n_errors"], d["n_warnings"]) for d in data] == [
        (BAD, "rejected", 1, 1), (GOOD, "accepted", 0, 0)]
    assert [[f["code"], f["severity"], f["cell"]] for f in data[0]["findings"]] == BAD_FINDINGS
    assert data[0]["findings"][0]["sheet"] == "計画"
    assert data[0]["findings"][0]["file"] == BAD
    assert data[0]["prefecture_code"] == "13" and data[0]["fiscal_year"] == 2023


def test_validate_annotate_writes_copies_of_files_with_findings(runner, books, tmp_path):
    out = tmp_path / "返送"
    result = runner.invoke(cli, ["validate", str(books["good"]), str(books["bad"]),
                                 "--annotate", str(out)])
    assert result.exit_code == 1
    copy = out / "13_東京都_R5_計画_要修正.xlsx"
    assert [p.name for p in out.iterdir()] == [copy.name]
    assert f"  返送用ファイル: {copy}" in result.stdout.splitlines()
    assert openpyxl.load_workbook(copy).sheetnames[0] == "エラー一覧"


def test_validate_reports_a_file_that_is_not_a_workbook(runner, tmp_path):
    memo = tmp_path / "memo.pdf"
    memo.write_bytes(b"%PDF-1.4\n")
    result = runner.invoke(cli, ["validate", str(memo), "--annotate", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "memo.pdf: 差戻し（エラー 1 件、警告 0 件）"
    assert [r[:4] for r in finding_lines(result.stdout, "memo.pdf")] == [
        ["memo.pdf", "エラー", "Excel", "ブックではない"]]  # the title, not the code
    assert ("  返送用ファイルなし: Excel ブックではないため、返送用の注記ファイルは作成できません。"
            ) in result.stdout.splitlines()
    assert "not-a-workbook" not in result.stdout


def test_validate_tolerance_option(runner, tmp_path):
    rows = {**good_rows(2), "R5-03": {"national": 201, "prefectural": 100, "public": 51,
                                      "private": 150}}  # A is 0.33 off 2/3 of 301
    path = write(tmp_path, "13", plan_bytes("13", rows))
    default = runner.invoke(cli, ["validate", str(path)])
    strict = runner.invoke(cli, ["validate", str(path), "--tolerance", "0"])
    assert (default.exit_code, strict.exit_code) == (0, 0)  # a warning does not reject
    assert finding_lines(default.stdout, BAD) == []
    assert [r[:4] for r in finding_lines(strict.stdout, BAD)] == [
        [BAD, "計画!H10", "警告", "国庫負担割合"]]


@pytest.mark.parametrize("args, message", [
    ([], "エラー: 引数 ファイル を指定してください。"),
    (["nope.xlsx"], "ファイル「nope.xlsx」がありません。"),
    (["{good}", "--tolerance", "-1"],
     "オプション --tolerance の指定が正しくありません: -1 は指定できる範囲外です。"),
    (["{good}", "--year", "R99"], "令和99年度（2117年度）のメニューはありません"),
])
def test_validate_usage_errors_exit_2(runner, books, tmp_path, args, message):
    with working_directory(tmp_path):
        args = [a.format(good=books["good"]) for a in args]
        result = runner.invoke(cli, ["validate", *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr


# --- ingest --------------------------------------------------------------------------------


def test_ingest_stores_reports_and_exits_1_when_any_is_rejected(runner, books, tmp_path):
    inbox = tmp_path / "in"
    write(inbox, "01", books["good"].read_bytes())
    write(inbox, "13", books["bad"].read_bytes())
    write(inbox, "", b"lock", "~$13_東京都_R5_計画.xlsx")
    db, reports = tmp_path / "b.db", tmp_path / "rep"
    result = runner.invoke(cli, ["ingest", str(inbox), "--db", str(db), "--reports", str(reports)])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ファイル", "都道府県", "状態", "エラー", "警告", "登録", "提出ID"]
    assert lines[2].split() == [GOOD, "北海道", "受理", "0", "0", "新規", "1"]
    assert lines[3].split() == [BAD, "東京都", "差戻し", "1", "1", "新規", "2"]
    assert "  ~$13_東京都_R5_計画.xlsx: Excel の作業中ファイル（~$…）のため読み飛ばしました。" in lines
    assert "2 件中 受理 1 件、差戻し 1 件（新規登録 2 件、登録済み（変更なし） 0 件）" in lines
    report = next(reports.glob("取込結果_*.xlsx"))
    assert f"取込結果: {report}" in lines
    assert len(list(reports.glob("返送_*/13_東京都_R5_計画_要修正.xlsx"))) == 1

    again = runner.invoke(cli, ["ingest", str(inbox), "--db", str(db), "--reports", str(reports)])
    assert again.exit_code == 1
    assert again.stdout.splitlines()[2].split() == [GOOD, "北海道", "受理", "0", "0",
                                                    "登録済み（変更なし）", "1"]


def test_ingest_exits_0_when_all_are_accepted(runner, books, tmp_path):
    write(tmp_path / "in", "01", books["good"].read_bytes())
    write(tmp_path / "in", "", b"", ".~lock.01_北海道_R5_計画.xlsx#")
    result = runner.invoke(cli, ["ingest", str(tmp_path / "in"), "--db", str(tmp_path / "b.db"),
                                 "--reports", str(tmp_path / "rep")])
    assert result.exit_code == 0, result.output
    assert "1 件中 受理 1 件、差戻し 0 件（新規登録 1 件、登録済み（変更なし） 0 件）" in \
        result.stdout.splitlines()


def test_ingest_default_folder_db_and_reports(runner, books, tmp_path):
    with working_directory(tmp_path):
        missing = runner.invoke(cli, ["ingest"])
        assert missing.exit_code == 2
        assert "フォルダ「inputs」がありません。" in missing.stderr
        Path("inputs").mkdir()
        empty = runner.invoke(cli, ["ingest"])
        assert empty.exit_code == 0
        assert empty.stdout.splitlines() == ["フォルダ inputs に取り込むファイルがありません。"]
        write(Path("inputs"), "01", books["good"].read_bytes())
        result = runner.invoke(cli, ["ingest"])
        assert result.exit_code == 0, result.output
        assert Path("budget.db").is_file()
        assert len(list(Path("reports").glob("取込結果_*.xlsx"))) == 1


def test_ingest_of_a_file_instead_of_a_folder_is_a_usage_error(runner, books):
    result = runner.invoke(cli, ["ingest", str(books["good"])])
    assert result.exit_code == 2
    assert "はフォルダではありません。フォルダを指定してください。" in result.stderr


def test_ingest_as_a_subprocess(books, tmp_path):
    write(tmp_path / "in", "13", books["bad"].read_bytes())
    write(tmp_path / "in", "", b"just text", "readme.txt")
    write(tmp_path / "in", "", b"a,b\n1,2\n", "memo.XLSX")  # a CSV under a workbook's name
    out = subprocess.run([sys.executable, "-m", "budget", "ingest", "in", "--db", "b.db",
                          "--reports", "rep"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 1, out.stderr
    lines = out.stdout.splitlines()
    assert lines[2].split() == [BAD, "東京都", "差戻し", "1", "1", "新規", "1"]
    assert lines[3].split() == ["memo.XLSX", "差戻し", "1", "0", "新規", "2"]
    assert ("  memo.XLSX: Excel ブックではないため、返送用の注記ファイルは作成できません。"
            ) in lines
    assert f"  readme.txt: {SKIPPED_NOTE}" in lines
    assert "2 件中 受理 0 件、差戻し 2 件（新規登録 2 件、登録済み（変更なし） 0 件）" in lines
    assert "Traceback" not in out.stderr


def test_ingest_skips_files_that_are_not_workbooks_with_a_note(runner, books, tmp_path):
    """Regression: a readme, a cover letter or a CSV in the folder used to be stored as a
    rejected submission, turning the exit code to 1."""
    inbox = tmp_path / "in"
    write(inbox, "01", books["good"].read_bytes())
    junk = {"readme.txt": b"read me", "送付状.pdf": b"%PDF-1.4\n", "一覧.csv": b"a,b\n",
            "メモ.docx": b"PK\x03\x04", "説明": b"no suffix"}
    for name, content in junk.items():
        write(inbox, "", content, name)
    db, reports = tmp_path / "b.db", tmp_path / "rep"
    result = runner.invoke(cli, ["ingest", str(inbox), "--db", str(db), "--reports", str(reports)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[2].split() == [GOOD, "北海道", "受理", "0", "0", "新規", "1"]
    skipped = lines[lines.index("読み飛ばしたもの:") + 1:][:len(junk)]
    assert skipped == [f"  {name}: {SKIPPED_NOTE}" for name in sorted(junk)]
    assert "1 件中 受理 1 件、差戻し 0 件（新規登録 1 件、登録済み（変更なし） 0 件）" in lines
    report = next(reports.glob("取込結果_*.xlsx"))
    rows = list(openpyxl.load_workbook(report)["取込結果"].iter_rows(values_only=True))
    assert [(r[0], r[3], r[10]) for r in rows[2:]] == [
        (name, "読み飛ばし", SKIPPED_NOTE) for name in sorted(junk)]
    with open_store(db) as store:
        assert store.submissions()["file_name"].tolist() == [GOOD]
    assert not list(reports.glob("返送_*"))  # nothing rejected: no return folder


def test_ingest_a_copy_under_another_prefectures_name(runner, books, tmp_path):
    """The issue's repro: ``cp 01_北海道_R5_計画.xlsx 14_神奈川県_R5_計画.xlsx`` into inputs/."""
    inbox, db, reports = tmp_path / "inputs", tmp_path / "b.db", tmp_path / "rep"
    write(inbox, "01", books["good"].read_bytes())
    args = ["ingest", str(inbox), "--db", str(db), "--reports", str(reports)]
    assert runner.invoke(cli, args).exit_code == 0
    shutil.copy(inbox / GOOD, inbox / KANAGAWA)
    result = runner.invoke(cli, args)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[2].split() == [GOOD, "北海道", "受理", "0", "0", "登録済み（変更なし）", "1"]
    # whose submission it is: Kanagawa's (its name), sent on Hokkaido's form
    assert lines[3].split() == [KANAGAWA, "神奈川県", "差戻し", "1", "0", "新規", "2"]
    assert "2 件中 受理 1 件、差戻し 1 件（新規登録 1 件、登録済み（変更なし） 1 件）" in lines
    assert [p.name for p in reports.glob("返送_*/*")] == ["14_神奈川県_R5_計画_要修正.xlsx"]
    status = runner.invoke(cli, ["status", "--db", str(db)])
    kanagawa = status.stdout.splitlines()[3 + 13].split()
    assert kanagawa == ["14", "神奈川県", "差戻し", "ファイル名は本県のものですが、様式は", "01", "北海道",
                        "のものでした（差戻し）。本県の様式での再提出待ち", KANAGAWA, *kanagawa[8:11],
                        "1"]


# --- status --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def db(books, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("status")
    write(root / "in", "01", plan_bytes("01", good_rows(2)))  # 基金計 300 + 600
    write(root / "in", "13", books["bad"].read_bytes())
    result = CliRunner().invoke(cli, ["ingest", str(root / "in"), "--db", str(root / "b.db"),
                                      "--reports", str(root / "rep")])
    assert result.exit_code == 1, result.output
    return root / "b.db"


def test_status_table(runner, db):
    result = runner.invoke(cli, ["status", "--db", str(db), "--year", "R5"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "令和5年度（2023年度） 提出状況: 受理 1、差戻し 1、未提出 45（47 都道府県）"
    assert lines[1].split() == ["コード", "都道府県", "状態", "備考", "ファイル", "受付日時",
                                "提出回数", "基金計（千円）"]
    assert len(lines) == 3 + 47 + 1
    hokkaido = lines[3].split()
    assert hokkaido[:4] == ["01", "北海道", "受理", GOOD] and hokkaido[-2:] == ["1", "900"]
    tokyo = lines[3 + 12].split()
    assert tokyo[:6] == ["13", "東京都", "差戻し", "受理できる提出なし（差戻し", "1", "件）。再提出待ち"]
    assert tokyo[6] == BAD and tokyo[-1] == "1"
    assert lines[4].split() == ["02", "青森県", "未提出", "提出なし", "0"]
    assert lines[-1] == "基金計の合計（受理分）: 900 千円"


def test_status_json_and_csv(runner, db):
    data = json.loads(runner.invoke(cli, ["status", "--db", str(db), "--format", "json"]).stdout)
    assert len(data) == 47
    assert {k: data[0][k] for k in ("prefecture_code", "status", "status_ja", "note",
                                    "file_name", "n_submissions", "fund_total", "submission_id",
                                    "stored_under")} == {
        "prefecture_code": "01", "status": "accepted", "status_ja": "受理", "note": "",
        "file_name": GOOD, "n_submissions": 1, "fund_total": 900, "submission_id": 1,
        "stored_under": "01"}
    assert (data[12]["status"], data[12]["status_ja"], data[12]["fund_total"]) == (
        "rejected", "差戻し", None)

    result = runner.invoke(cli, ["status", "--db", str(db), "--format", "csv"])
    assert result.exit_code == 0
    raw = result.stdout_bytes
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["コード", "都道府県", "状態", "備考", "ファイル", "受付日時", "提出回数",
                       "基金計（千円）", "提出ID"]
    assert len(rows) == 48
    assert rows[1][:5] == ["01", "北海道", "受理", "", GOOD] and rows[1][6:] == ["1", "900", "1"]
    assert len(rows[1][5]) == len("2024-05-01 10:11:12 (+09:00)")


def test_status_without_a_database_creates_none(runner, tmp_path):
    result = runner.invoke(cli, ["status", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].endswith("受理 0、差戻し 0、未提出 47（47 都道府県）")
    assert "はまだありません" in result.stderr
    assert not (tmp_path / "none.db").exists()


def test_status_shows_a_rejected_resubmission_of_an_accepted_plan(runner, tmp_path):
    db = tmp_path / "b.db"
    write(tmp_path / "r1", "13", plan_bytes("13", {"R5-01": good_row(1)}))
    write(tmp_path / "r2", "13", plan_bytes("13", bad_rows()))
    for folder in ("r1", "r2"):
        runner.invoke(cli, ["ingest", str(tmp_path / folder), "--db", str(db), "--reports",
                            str(tmp_path / "rep")])
    result = runner.invoke(cli, ["status", "--db", str(db)])
    tokyo = result.stdout.splitlines()[3 + 12].split()
    assert tokyo[:3] == ["13", "東京都", "受理"] and tokyo[6] == BAD  # the accepted one
    assert re.fullmatch(rf"最新の提出（{re.escape(BAD)}、\d{{4}}-\d\d-\d\d", tokyo[3])
    assert re.fullmatch(r"\d\d:\d\d:\d\d \([+-]\d\d:\d\d\)）は差戻し。受理済みの提出を集計", " ".join(tokyo[4:6]))
    assert tokyo[-2:] == ["2", "300"]


def test_status_shows_an_unreadable_file_by_its_name(runner, tmp_path):
    """An encrypted 13_東京都_R5_計画.xlsx: nothing in it says whose it is, its name does."""
    hostile.make_encrypted(tmp_path / "in" / BAD)
    db = tmp_path / "b.db"
    ingest = runner.invoke(cli, ["ingest", str(tmp_path / "in"), "--db", str(db), "--reports",
                                 str(tmp_path / "rep")])
    assert ingest.exit_code == 1
    result = runner.invoke(cli, ["status", "--db", str(db)])
    lines = result.stdout.splitlines()
    assert lines[0] == "令和5年度（2023年度） 提出状況: 受理 0、差戻し 1、未提出 46（47 都道府県）"
    tokyo = lines[3 + 12].split()
    assert tokyo[:5] == ["13", "東京都", "差戻し", "ファイル名は本県のものですが、ファイルを読み取れませんでした"
                         "（差戻し）。再提出待ち", BAD]
    assert tokyo[-1] == "1"
