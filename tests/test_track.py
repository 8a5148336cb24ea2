"""`budget track`: a fund year through its stages, every figure of the track workbook (and
its CSV / JSON) compared with an expectation computed here from the data stored, not
through the library.

The year is stored as ingest stores it (``tests.stages``: the frames of each stage's form
through ``store.save``): 要望, two 内示 rounds, 計画 with a 変更, 実績 over two execution
years, a rejected 実績 and a prefecture that sent nothing.
"""

from __future__ import annotations

import csv
import io
import json
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from budget.cli import cli
from budget.menu import load_menu
from budget.store import open_store
from tests.stages import save_allocation, save_stage

YEAR = 2023
HEADER_ROW = 6  # 1-based Excel row of every table's header
MENU = load_menu(YEAR)
LEAVES = MENU["leaf_code"].tolist()
CATEGORY = dict(zip(MENU["leaf_code"], MENU["category"]))
MID = dict(zip(MENU["leaf_code"], zip(MENU["category"], MENU["mid_category"])))
BUREAUS = dict(zip(MENU["leaf_code"], MENU["bureaus"]))
ACHIEVEMENTS = ("達成", "一部達成", "未達成", "未実施")


def owner(leaf: str) -> str:
    names = BUREAUS[leaf].split(";")
    return names[0] if len(names) == 1 else "共管: " + "／".join(names)


def rows_of(rng: random.Random, n: int, *, zero: bool = False) -> dict[str, dict]:
    """``n`` plan rows with A = 2/3 of A+B; R5-26 (共管) always among them."""
    leaves = ["R5-26", *rng.sample([x for x in LEAVES if x != "R5-26"], n - 1)]
    out = {}
    for leaf in leaves:
        fund = rng.randrange(300, 90_000)
        nat = round(fund * 2 / 3)
        out[leaf] = {"national": nat, "prefectural": fund - nat}
        if rng.random() < 0.3:
            out[leaf]["other"] = rng.randrange(0, 5000)
    if zero:  # an entered 0 is a plan of 0, not a blank
        out[leaves[-1]] = {"national": 0, "prefectural": 0}
    return out


class Year:
    """The data of the year, as sent, and its store."""

    def __init__(self, db: Path) -> None:
        rng = random.Random(8)
        self.request: dict[str, dict] = {}
        self.alloc: dict[str, dict[str, tuple[int, int]]] = {"1": {}, "2": {}}
        self.plans: dict[str, list[tuple[str, dict]]] = {}
        self.actuals: dict[str, dict[int, dict]] = {}  # code → exec year → rows (current)
        self.rejected: dict[str, set[str]] = {"request": set(), "plan": set(), "actual": set()}
        self.contacts: dict[str, dict] = {}
        codes = [f"{i:02d}" for i in range(1, 13)]
        with open_store(db) as store:
            for code in codes[:10]:  # 11 and 12 send no 要望
                self.request[code] = rows_of(rng, 4)
                save_stage(store, "request", code, self.request[code])
            for code in codes[:9]:
                fund = rng.randrange(100_000, 400_000)
                self.alloc["1"][code] = (fund, round(fund * 2 / 3))
            for code in ("02", "05"):  # a second round for two of them
                fund = rng.randrange(10_000, 50_000)
                self.alloc["2"][code] = (fund, round(fund * 2 / 3))
            save_allocation(store, "1", {"01": (1, 1)})  # superseded by the next round 1
            save_allocation(store, "1", self.alloc["1"])
            save_allocation(store, "2", self.alloc["2"])
            for code in codes[:10]:
                first = rows_of(rng, 5, zero=code == "03")
                save_stage(store, "plan", code, first)
                self.plans[code] = [("plan", first)]
            # 02: a 変更 that raises its plan above its 内示; 04: two 変更
            for code, factor in (("02", 3.0), ("04", 0.8), ("04", 1.1)):
                base = self.plans[code][-1][1]
                changed = {leaf: {k: int(v * factor) for k, v in r.items() if k != "reason"}
                           for leaf, r in base.items()}
                changed[next(iter(changed))]["reason"] = "補正予算"
                save_stage(store, "revision", code, changed)
                self.plans[code].append(("revision", changed))
            save_stage(store, "plan", "11", {}, accepted=False)  # only a rejected plan
            self.rejected["plan"].add("11")
            # 実績: two execution years for 01, a superseded one for 03, a low rate for 06
            for code, share in (("01", 0.6), ("03", 0.95), ("06", 0.3), ("07", 1.2)):
                current = self.plans[code][-1][1]
                by_year: dict[int, dict] = {}
                for year, part in ((2023, share), (2024, 0.1)) if code == "01" else \
                        ((2023, share),):
                    rows = {}
                    for i, (leaf, r) in enumerate(current.items()):
                        if i == 4:
                            continue  # a leaf without 実績 stays blank
                        rows[leaf] = {"actual_national": int(r["national"] * part),
                                      "actual_prefectural": int(r["prefectural"] * part),
                                      "achievement": ACHIEVEMENTS[i % 4],
                                      "output_result": f"=研修 {i} 回"}
                    if code == "03":  # an earlier 実績 of the same execution year
                        save_stage(store, "actual", code, {"R5-01": {"actual_national": 99}},
                                   header={"exec_year": str(year)})
                    save_stage(store, "actual", code, rows, header={
                        "exec_year": str(year), "department": f"{code} 介護課"})
                    by_year[year] = rows
                self.actuals[code] = by_year
            save_stage(store, "actual", "08", {}, accepted=False,
                       header={"department": "08 実績担当課", "phone": "000-0000"})
            self.rejected["actual"].add("08")
            # 09's contact is on its plan only: the 実績 reminder shows it
            self.contacts["09"] = {"department": "健康福祉部 介護保険課"}

    # --- expectations, from the data above ------------------------------------------

    @staticmethod
    def fund(rows: dict) -> int | None:
        entered = [r for r in rows.values()
                   if any(r.get(k) is not None for k in ("national", "prefectural", "other"))]
        if not entered:
            return None
        return sum((r.get("national") or 0) + (r.get("prefectural") or 0) for r in entered)

    @staticmethod
    def national(rows: dict) -> int | None:
        entered = [r for r in rows.values() if r.get("national") is not None]
        return sum(r["national"] for r in entered) if entered else None

    def actual_fund(self, code: str) -> int | None:
        if code not in self.actuals:
            return None
        return sum(r["actual_national"] + r["actual_prefectural"]
                   for rows in self.actuals[code].values() for r in rows.values())

    def actual_national(self, code: str) -> int | None:
        if code not in self.actuals:
            return None
        return sum(r["actual_national"] for rows in self.actuals[code].values()
                   for r in rows.values())

    def alloc_total(self, code: str, k: int) -> int | None:
        vals = [self.alloc[r][code][k] for r in ("1", "2") if code in self.alloc[r]]
        return sum(vals) if vals else None

    def prefecture_row(self, code: str) -> dict[str, object]:
        """The 都道府県別 row of ``code`` as the sheet must show it (千円)."""
        plans = self.plans.get(code)
        row: dict[str, object] = {
            "要望": self.fund(self.request[code]) if code in self.request else "未提出",
            "内示 第1回": self.alloc["1"].get(code, (None,))[0],
            "内示 第2回": self.alloc["2"].get(code, (None,))[0],
            "内示 計": self.alloc_total(code, 0) if self.alloc_total(code, 0) else "なし",
        }
        plan_state = "差戻し" if code in self.rejected["plan"] else "未提出"
        row["計画（当初）"] = self.fund(plans[0][1]) if plans else plan_state
        row["計画（現在）"] = self.fund(plans[-1][1]) if plans else plan_state
        row["変更回数"] = sum(s == "revision" for s, _ in plans) if plans else None
        actual_state = "差戻し" if code in self.rejected["actual"] else "未提出"
        row["実績"] = self.actual_fund(code) if code in self.actuals else actual_state
        a, p = self.actual_fund(code), self.fund(plans[-1][1]) if plans else None
        row["執行率（実績÷計画）"] = a / p if a is not None and p else None
        al = self.alloc_total(code, 0)
        row["執行率（実績÷内示）"] = a / al if a is not None and al else None
        return row

    def flags(self, code: str, low_rate: float = 70) -> str:
        row = self.prefecture_row(code)
        text = []
        plan, alloc = row["計画（現在）"], self.alloc_total(code, 0)
        if isinstance(plan, int) and alloc is not None and plan > alloc:
            text.append("計画＞内示")
        rate = row["執行率（実績÷計画）"]
        if isinstance(rate, float) and rate < low_rate / 100:
            text.append(f"執行率 {rate:.1%}（{low_rate:g}%未満）")
        missing = [name for name, st in (("要望", code in self.request),
                                         ("内示", alloc is not None),
                                         ("計画", code in self.plans),
                                         ("実績", code in self.actuals)) if not st]
        rejected = [n for n, s in (("計画", "plan"), ("実績", "actual"))
                    if code in self.rejected[s]]
        lacking = [n for n in missing if n not in rejected]
        if lacking:
            text.append("未提出: " + "・".join(lacking))
        if rejected:
            text.append("差戻し: " + "・".join(rejected))
        return "、".join(text)

    def leaf_table(self) -> list[dict]:
        """(prefecture, leaf) rows: request, plan_first, plan, actual fund, achievement."""
        out: dict[tuple[str, str], dict] = {}

        def put(code: str, leaf: str, key: str, value: int | None) -> None:
            if value is not None:
                out.setdefault((code, leaf), {})[key] = value

        for code, rows in self.request.items():
            for leaf, r in rows.items():
                put(code, leaf, "request", r["national"] + r["prefectural"])
        for code, plans in self.plans.items():
            for key, (_, rows) in (("plan_first", plans[0]), ("plan", plans[-1])):
                for leaf, r in rows.items():
                    put(code, leaf, key, r["national"] + r["prefectural"])
        for code, by_year in self.actuals.items():
            for year in sorted(by_year):
                for leaf, r in by_year[year].items():
                    d = out.setdefault((code, leaf), {})
                    d["actual"] = d.get("actual", 0) + r["actual_national"] + \
                        r["actual_prefectural"]
                    d["achievement"] = r["achievement"]  # the latest execution year's
        return [{"code": c, "leaf": leaf, **v} for (c, leaf), v in out.items()]

    def groups(self, key) -> dict[object, dict]:
        """Per group (``key(leaf)``): sums of each stage, 執行率 over reporting prefectures,
        達成状況 counts."""
        out: dict[object, dict] = {}
        for r in self.leaf_table():
            g = out.setdefault(key(r["leaf"]), {"counts": dict.fromkeys(ACHIEVEMENTS, 0),
                                                "den": None})
            for k in ("request", "plan_first", "plan", "actual"):
                if k in r:
                    g[k] = g.get(k, 0) + r[k]
            if r["code"] in self.actuals and "plan" in r:
                g["den"] = (g["den"] or 0) + r["plan"]
            if "achievement" in r:
                g["counts"][r["achievement"]] += 1
        return out


@pytest.fixture(scope="module")
def year(tmp_path_factory) -> tuple[Year, Path]:
    db = tmp_path_factory.mktemp("track") / "budget.db"
    return Year(db), db


@pytest.fixture(scope="module")
def workbook(year, tmp_path_factory) -> Path:
    _, db = year
    out = tmp_path_factory.mktemp("reports")
    result = CliRunner().invoke(cli, ["track", "--year", "R5", "--db", str(db), "--out",
                                      str(out), "--format", "csv", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert f"執行管理表: {out / 'R5_執行管理.xlsx'}" in result.stdout
    return out / "R5_執行管理.xlsx"


def table(ws, header_row: int = HEADER_ROW) -> tuple[list[str], list[tuple]]:
    headers = [c.value for c in ws[header_row]]
    rows = list(ws.iter_rows(min_row=header_row + 1, values_only=True))
    return headers, rows


def test_every_prefecture_figure_matches_the_data(year, workbook):
    data, _ = year
    ws = openpyxl.load_workbook(workbook)["都道府県別"]
    headers, rows = table(ws)
    assert headers[0] == "都道府県"
    assert len(rows) == 47 + 1 and rows[-1][0] == "合計"
    for i, row in enumerate(rows[:47], start=1):
        code = f"{i:02d}"
        got = dict(zip(headers, row))
        assert got["都道府県"].split() == [code, got["都道府県"].split()[1]]
        expected = data.prefecture_row(code)
        for key, value in expected.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value), (code, key)
            else:
                assert got[key] == value, (code, key, got[key], value)
        assert (got["注意"] or "") == data.flags(code), code
    # the total row: sums of what was received, national 執行率 over reporting prefectures
    total = dict(zip(headers, rows[-1]))
    assert total["要望"] == sum(data.fund(r) for r in data.request.values())
    assert total["内示 計"] == sum(f for r in data.alloc.values() for f, _ in r.values())
    assert total["計画（現在）"] == sum(data.fund(p[-1][1]) for p in data.plans.values())
    assert total["計画（当初）"] == sum(data.fund(p[0][1]) for p in data.plans.values())
    actual = sum(data.actual_fund(c) for c in data.actuals)
    assert total["実績"] == actual
    assert total["変更回数"] == 3
    assert total["執行率（実績÷計画）"] == pytest.approx(
        actual / sum(data.fund(data.plans[c][-1][1]) for c in data.actuals))
    assert total["執行率（実績÷内示）"] == pytest.approx(
        actual / sum(data.alloc_total(c, 0) for c in data.actuals))


def test_overview_figures_and_missing_stages(year, workbook):
    data, _ = year
    ws = openpyxl.load_workbook(workbook)["総括"]
    cells = {row[0]: row for row in ws.iter_rows(min_row=HEADER_ROW + 1, values_only=True)
             if row[0]}
    assert cells["要望"][1] == sum(data.fund(r) for r in data.request.values())
    assert cells["内示 第1回"][1] == sum(f for f, _ in data.alloc["1"].values())
    assert cells["内示 第2回"][1] == sum(f for f, _ in data.alloc["2"].values())
    assert cells["計画（当初）"][1:3] == (sum(data.fund(p[0][1]) for p in data.plans.values()), 10)
    assert cells["実績"][1:3] == (sum(data.actual_fund(c) for c in data.actuals), 4)
    assert cells["要望"][2] == 10
    # who is missing per stage, by name: 11 only sent a rejected plan
    assert cells["計画（未提出・差戻し）"][1] == "37 / 47"
    plan_missing = cells["計画（未提出・差戻し）"][3]
    assert "11 埼玉県" in plan_missing and "10 群馬県" not in plan_missing
    assert cells["実績（未提出・差戻し）"][1:3] == (f"{47 - 4} / 47", 43)
    assert cells["要望（未提出・差戻し）"][1] == "37 / 47"
    assert cells["内示（どの回にもない）"][1] == "38 / 47"
    over = [c for c in data.plans if "計画＞内示" in data.flags(c)]
    assert over and cells["計画が内示を超える都道府県"][2] == len(over)


@pytest.mark.parametrize("sheet, key, n_keys", [
    ("大項目別", lambda leaf: CATEGORY[leaf], 2),
    ("中項目別", lambda leaf: MID[leaf], 3),
    ("事業別", lambda leaf: leaf, 3),
    ("担当課別", owner, 2),
])
def test_group_sheets_match_the_data(year, workbook, sheet, key, n_keys):
    data, _ = year
    ws = openpyxl.load_workbook(workbook)[sheet]
    headers, rows = table(ws)
    expected = data.groups(key)
    seen = set()
    for row in rows[:-1]:
        got = dict(zip(headers, row))
        if sheet == "中項目別":
            group = (row[0], "" if row[1] == "（中項目なし）" else row[1])
        else:
            group = row[0]
        seen.add(group)
        exp = expected.get(group, {"counts": dict.fromkeys(ACHIEVEMENTS, 0), "den": None})
        for header, k in (("要望", "request"), ("計画（当初）", "plan_first"),
                          ("計画（現在）", "plan"), ("実績", "actual")):
            assert got[header] == exp.get(k), (sheet, group, header)
        rate = exp["actual"] / exp["den"] if exp.get("actual") is not None and exp["den"] \
            else None
        assert got["執行率（実績÷計画）"] == (pytest.approx(rate) if rate else None)
        for a in ACHIEVEMENTS:
            assert got[f"達成状況: {a}"] == exp["counts"][a]
    assert set(expected) <= seen
    # the total row adds up to the national figures: the groups partition the leaves
    total = dict(zip(headers, rows[-1]))
    assert total["計画（現在）"] == sum(data.fund(p[-1][1]) for p in data.plans.values())
    assert total["実績"] == sum(data.actual_fund(c) for c in data.actuals)
    if sheet == "担当課別":  # item 26 (two bureaus) is one 共管 row, counted once
        owners = [r[0] for r in rows[:-1]]
        assert owners.count("共管: 老健局認知症施策・地域介護推進課／老健局老人保健課") == 1
        assert len(owners) == len(set(owners))


def oku(value: int) -> str:
    """千円 → 億円 to one decimal, half up, by integer arithmetic."""
    tenths = (value * 10 + 50_000) // 100_000
    return f"{tenths // 10}.{tenths % 10}"


def test_oku_unit_shows_fund_with_national_in_brackets(year, tmp_path):
    data, db = year
    result = CliRunner().invoke(cli, ["track", "--db", str(db), "--out", str(tmp_path),
                                      "--unit", "億円"])
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(tmp_path / "R5_執行管理（億円）.xlsx")
    headers, rows = table(wb["都道府県別"])
    for i, row in enumerate(rows[:47], start=1):
        code = f"{i:02d}"
        got = dict(zip(headers, row))
        plans = data.plans.get(code)
        if plans:
            rows_ = plans[-1][1]
            assert got["計画（現在）"] == f"{oku(data.fund(rows_))} ({oku(data.national(rows_))})"
        if code in data.alloc["1"]:
            f, n = data.alloc["1"][code]
            assert got["内示 第1回"] == f"{oku(f)} ({oku(n)})"
        if code in data.actuals:
            assert got["実績"] == (f"{oku(data.actual_fund(code))} "
                                 f"({oku(data.actual_national(code))})")
            rate = data.actual_fund(code) / data.fund(plans[-1][1])
            assert got["執行率（実績÷計画）"] == pytest.approx(rate)  # from unrounded figures


def test_oku_rounds_each_figure_half_up_from_the_exact_amount():
    from budget.render.track_workbook import oku_pair

    assert oku_pair(2_125_000, 1_416_667) == "21.3 (14.2)"
    assert oku_pair(2_124_999, None) == "21.2"
    assert oku_pair(None, 5) is None
    assert oku_pair(0, 0) == "0.0 (0.0)"


def test_charts_are_native(workbook):
    with zipfile.ZipFile(workbook) as z:
        charts = sorted(n for n in z.namelist() if n.startswith("xl/charts/chart"))
        texts = [z.read(n).decode() for n in charts]
    assert len(charts) == 2
    assert any("<c:barChart>" in t and "都道府県別 執行率" in t for t in texts)
    assert any("大項目別 計画（現在）と実績" in t and t.count("<c:ser>") == 2 for t in texts)


def test_tidy_csv_and_json_have_a_stage_column_and_keep_text(year, workbook):
    data, _ = year
    out = workbook.parent
    doc = json.loads((out / "R5_執行管理_明細.json").read_text("utf-8"))
    rows = doc["rows"]
    by_stage: dict[str, list] = {}
    for r in rows:
        by_stage.setdefault(r["stage"], []).append(r)
    assert set(by_stage) == {"request", "allocation", "plan_first", "plan", "actual"}
    assert sum(r["fund"] for r in by_stage["plan"]) == \
        sum(data.fund(p[-1][1]) for p in data.plans.values())
    assert sorted((r["round"], r["prefecture_code"], r["fund"], r["national"])
                  for r in by_stage["allocation"]) == sorted(
        (k, c, f, n) for k, v in data.alloc.items() for c, (f, n) in v.items())
    actual = [r for r in by_stage["actual"] if r["prefecture_code"] == "01"]
    assert {r["exec_year"] for r in actual} == {2023, 2024}
    assert {r["output_result"] for r in actual} >= {"=研修 0 回"}  # JSON: text as sent
    assert doc["missing"]["actual"][0] == "02 青森県"
    raw = (out / "R5_執行管理_明細.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table_ = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(table_) == len(rows)
    assert {r["段階"] for r in table_} == {"要望", "内示", "計画（当初）", "計画（現在）", "実績"}
    texts = {r["アウトプット実績"] for r in table_ if r["アウトプット実績"]}
    assert texts and all(t.startswith("'=") for t in texts)  # CSV: neutralised


def test_sender_text_in_the_workbook_is_never_a_formula(year, workbook):
    wb = openpyxl.load_workbook(workbook)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate)


def test_blank_is_not_zero_and_an_entered_zero_counts(year, workbook):
    """03 planned a leaf at 0: its leaf row shows 0 in 事業別; a leaf nobody planned is
    blank, not 0."""
    data, _ = year
    zero_leaf = list(data.plans["03"][0][1])[-1]
    ws = openpyxl.load_workbook(workbook)["事業別"]
    headers, rows = table(ws)
    by_leaf = {r[0]: dict(zip(headers, r)) for r in rows[:-1]}
    planned = {leaf for p in data.plans.values() for _, rows_ in p for leaf in rows_}
    nobody = next(leaf for leaf in LEAVES if leaf not in planned
                  and leaf not in {x for r in data.request.values() for x in r})
    assert by_leaf[nobody]["計画（現在）"] is None and by_leaf[nobody]["要望"] is None
    assert by_leaf[zero_leaf]["計画（当初）"] is not None


def test_low_rate_threshold_is_an_option(year, tmp_path):
    data, db = year
    result = CliRunner().invoke(cli, ["track", "--db", str(db), "--out", str(tmp_path),
                                      "--low-rate", "99"])
    assert result.exit_code == 0, result.output
    headers, rows = table(openpyxl.load_workbook(tmp_path / "R5_執行管理.xlsx")["都道府県別"])
    flagged = {r[0][:2] for r in rows[:47] if r[-1] and "99%未満" in r[-1]}
    assert flagged == {c for c in data.actuals if data.flags(c, 99).count("99%未満")}
    assert "99% 未満の都道府県" in result.stdout
    bad = CliRunner().invoke(cli, ["track", "--db", str(db), "--low-rate", "-1"])
    assert bad.exit_code == 2


def test_track_without_a_store_says_so(tmp_path):
    result = CliRunner().invoke(cli, ["track", "--db", str(tmp_path / "none.db"),
                                      "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "データベース" in result.stderr and "ありません" in result.stderr
    assert not (tmp_path / "none.db").exists()


def test_track_as_a_subprocess(year, tmp_path):
    _, db = year
    proc = subprocess.run([sys.executable, "-m", "budget", "track", "--year", "令和5年度",
                           "--db", str(db), "--out", str(tmp_path)],
                          capture_output=True, text=True, encoding="utf-8")
    assert proc.returncode == 0, proc.stderr
    assert "令和5年度の執行管理: 内示 2 回" in proc.stdout
    assert (tmp_path / "R5_執行管理.xlsx").is_file()


def test_cli_unit_and_low_rate_defaults_agree_with_the_library():
    from budget.analysis.track import DEFAULT_LOW_RATE
    from budget.commands.track import LOW_RATE, UNITS
    from budget.render.track_workbook import TRACK_UNITS

    assert tuple(TRACK_UNITS) == UNITS and LOW_RATE == DEFAULT_LOW_RATE


@pytest.mark.parametrize("text, code", [("実績", "actual"), ("要望", "request"),
                                        ("所要額調査", "request"), ("内示", "allocation"),
                                        ("計画", "plan"), ("変更", "revision"),
                                        ("actual", "actual"), (" 実績 ", "actual")])
def test_stage_names(text, code):
    from budget.analysis.track import parse_stage

    assert parse_stage(text) == code


def test_unknown_stage_is_a_usage_error():
    from budget.analysis.track import parse_stage
    from budget.errors import UsageError

    with pytest.raises(UsageError, match="段階「決算」はありません"):
        parse_stage("決算")


# --- budget status --stage: whom to remind ---------------------------------------------


def test_status_by_stage_shows_the_contact_beside_missing_and_rejected(year):
    _, db = year
    result = CliRunner().invoke(cli, ["status", "--stage", "実績", "--db", str(db)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "令和5年度（2023年度） 実績 提出状況: 受理 4、差戻し 1、未提出 42（47 都道府県）"
    assert lines[1].split() == ["コード", "都道府県", "状態", "受付日時", "担当部署", "担当者", "電話",
                                "メール"]
    rows = {line.split()[0]: line.split() for line in lines[3:3 + 47]}
    assert rows["01"][:3] == ["01", "北海道", "受理"] and len(rows["01"]) == 5  # no contact
    # 08 sent a rejected 実績 with its own contact
    assert rows["08"][2] == "差戻し" and "08" in rows["08"] and "実績担当課" in rows["08"]
    assert "000-0000" in rows["08"]
    # 02 sent no 実績: the contact it entered on its plan
    assert rows["02"][2:] == ["未提出", "健康福祉部", "介護保険課", "厚労", "花子", "03-1234-5678",
                              "kaigo@example.lg.jp"]
    # 12 never sent anything: nobody to name
    assert rows["12"] == ["12", "千葉県", "未提出"]


def test_status_by_stage_csv_is_a_reminder_list(year):
    _, db = year
    result = CliRunner().invoke(cli, ["status", "--stage", "actual", "--db", str(db),
                                      "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout_bytes.decode("utf-8-sig"))))
    assert rows[0] == ["コード", "都道府県", "段階", "状態", "備考", "担当部署", "担当者", "電話",
                       "メール", "連絡先の出典"]
    assert len(rows) == 1 + 43  # every prefecture without an accepted 実績, and only those
    by_code = {r[0]: r for r in rows[1:]}
    assert "01" not in by_code and "06" not in by_code
    assert by_code["08"][2:8] == ["実績", "差戻し", "受理できる提出なし（差戻し 1 件）。再提出待ち",
                                  "08 実績担当課", "", "000-0000"]
    assert by_code["08"][9].startswith("実績の提出（提出ID ")
    assert by_code["02"][5] == "健康福祉部 介護保険課"
    assert by_code["02"][9].startswith("令和5年度 変更の提出（提出ID ")  # its newest
    assert by_code["12"][3:] == ["未提出", "提出なし", "", "", "", "", ""]


def test_status_by_stage_json_and_the_refused_stage(year):
    _, db = year
    runner = CliRunner()
    data = json.loads(runner.invoke(cli, ["status", "--stage", "要望", "--db", str(db),
                                          "--format", "json"]).stdout)
    assert len(data) == 47 and {d["stage"] for d in data} == {"要望"}
    assert [d["status"] for d in data[:12]] == ["accepted"] * 10 + ["missing"] * 2
    assert data[0]["fund_total"] is not None
    refused = runner.invoke(cli, ["status", "--stage", "内示", "--db", str(db)])
    assert refused.exit_code == 2 and "内示は厚生労働省が作成する" in refused.stderr
    unknown = runner.invoke(cli, ["status", "--stage", "決算", "--db", str(db)])
    assert unknown.exit_code == 2 and "段階「決算」はありません" in unknown.stderr


def test_an_empty_year_is_all_missing_never_zero(tmp_path):
    db = tmp_path / "budget.db"
    open_store(db).close()
    result = CliRunner().invoke(cli, ["track", "--db", str(db), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "内示 0 回" in result.stdout
    headers, rows = table(openpyxl.load_workbook(tmp_path / "R5_執行管理.xlsx")["都道府県別"])
    assert headers[1:5] == ["要望", "内示 計", "計画（当初）", "計画（現在）"]
    assert all(r[1:5] == ("未提出", "なし", "未提出", "未提出") for r in rows[:47])
    assert rows[-1][:5] == ("合計", None, None, None, None)


def test_a_resubmitted_allocation_round_is_compared_with_the_one_it_replaces(tmp_path):
    from budget.analysis.diff import resubmission_changes

    with open_store(tmp_path / "b.db") as store:
        save_allocation(store, "1", {"13": (300, 200), "01": (90, 60)})
        new = save_allocation(store, "1", {"13": (330, 220)})
        save_allocation(store, "2", {"13": (10, 7)})  # another round: nothing to compare
        changes = resubmission_changes(store, [new, new + 1])
    assert [(c["label"], c["field_label"], c["before"], c["after"])
            for c in changes] == [
        ("13 東京都", "基金規模(A+B)", 300, 330), ("13 東京都", "国費(A)", 200, 220),
        ("01 北海道", "基金規模(A+B)", 90, None), ("01 北海道", "国費(A)", 60, None)]


def test_store_gives_the_values_of_any_submission(tmp_path):
    """``Store.submission_amounts``: superseded and ministry submissions too, in the
    workbook's row order, blank stays blank and 0 stays 0, only the fields asked for."""
    with open_store(tmp_path / "b.db") as store:
        old = save_stage(store, "plan", "13", {"R5-02": {"national": 0, "prefectural": 0},
                                               "R5-01": {"national": 10, "remarks": "x"}})
        save_stage(store, "plan", "13", {"R5-01": {"national": 20}})  # now current
        alloc = save_allocation(store, "1", {"47": (30, 20), "01": (9, 6)})
        rejected = save_stage(store, "plan", "14", {}, accepted=False)
        every = store.submission_amounts([old, alloc, rejected])
        some = store.submission_amounts([old], ["national", "remarks", "no-such-field"])
    assert every["submission_id"].tolist() == [old, old, alloc, alloc]
    mine = every[every["submission_id"] == old]
    assert mine["leaf_code"].tolist() == ["R5-01", "R5-02"]
    assert dict(zip(mine["leaf_code"], mine["seq"])) == {"R5-02": 0, "R5-01": 1}
    assert mine["national"].tolist() == [10, 0]
    assert mine["prefectural"].isna().tolist() == [True, False]
    ministry = every[every["submission_id"] == alloc]
    assert ministry["prefecture_code"].isna().all()
    assert sorted(zip(ministry["leaf_code"], ministry["fund"])) == [("01", 9), ("47", 30)]
    assert list(some.columns) == ["prefecture_code", "submission_id", "leaf_code", "seq",
                                  "national", "remarks"]
    assert [None if v is None or v != v else v for v in some["remarks"]] == ["x", None]


def test_resubmission_changes_read_a_few_pairs_at_a_time_and_say_the_same(tmp_path,
                                                                          monkeypatch):
    """The values of a run's resubmissions are read ``PAIRS_AT_ONCE`` pairs at a time (memory
    flat in the number of files): the changes are the same whatever the part size."""
    import budget.analysis.diff as diff

    with open_store(tmp_path / "b.db") as store:
        ids = [save_stage(store, "plan", pref, {"R5-01": {"national": n, "remarks": r},
                                                "R5-02": {"national": 2 * n}})
               for n, r in ((10, "a"), (11, "a"), (11, "b"), (12, None))
               for pref in ("13", "01")]
        whole = diff.resubmission_changes(store, ids)
        monkeypatch.setattr(diff, "PAIRS_AT_ONCE", 1)
        reads: list[int] = []
        amounts = store.submission_cells

        def counted(ids, fields=None):
            reads.append(len(set(ids)))
            return amounts(ids, fields)

        monkeypatch.setattr(store, "submission_cells", counted)
        parted = diff.resubmission_changes(store, ids)
    assert reads == [2] * 6  # six pairs (three per prefecture), two submissions each
    assert list(parted) == list(whole) and len(parted) == len(whole) == 12
    assert parted.frame().to_dict("records") == list(whole)
    assert [(c["prefecture_code"], c["field"], c["before"], c["after"])
            for c in whole] == [
        ("13", "national", 10, 11), ("13", "national", 20, 22),
        ("01", "national", 10, 11), ("01", "national", 20, 22),
        ("13", "remarks", "a", "b"), ("01", "remarks", "a", "b"),
        ("13", "national", 11, 12), ("13", "remarks", "b", None), ("13", "national", 22, 24),
        ("01", "national", 11, 12), ("01", "remarks", "b", None), ("01", "national", 22, 24)]
