"""The whole yearly cycle on built-in sample data: ``budget demo``.

``sample_plans(menu, seed)`` makes plausible filled-in plans for the prefectures (seeded:
the same seed gives the same figures), ``PLANTED`` lists the realistic mistakes a few of them
make, and ``run_demo(folder, seed)`` writes the templates and the returned workbooks,
ingests them into a fresh store and writes the summary reports.

The sample figures are invented. Each prefecture plans a subset of the menu, with amounts
scaled by an approximate population (2020 census, 万人) so that Tokyo, Kanagawa and Osaka
plan more than Tottori; amounts keep the money rules of ``domain.md`` §2:
A = round(2/3·(A+B)), 公 + 民 = A, 受託 ≤ 民. They are at the real scale: the 47 plans add
up, in expectation, to the national budget of the 介護従事者確保分 in 令和5年度, 国費 137億円
(``NATIONAL_BUDGET``); the relative sizes of the items (``LEAF_BASE``) are then scaled to it
(``calibration``).
"""

from __future__ import annotations

import functools
import math
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from budget.errors import UsageError
from budget.forms import PLAN, Form

if TYPE_CHECKING:
    import pandas as pd

    from budget.findings import FileReport
    from budget.generate import PlanValues
    from budget.intake.results import IngestRun
    from budget.reports import AggregateRun

DEFAULT_SEED = 2023
DEMO_YEAR = 2023
MARKER = ".budget-demo"  # a folder with this file was made by ``budget demo`` and may be redone

#: Approximate population (万人, 2020 census, rounded) by prefecture code.
POPULATION: dict[str, int] = {
    "01": 522, "02": 124, "03": 121, "04": 230, "05": 96, "06": 107, "07": 183, "08": 287,
    "09": 193, "10": 194, "11": 734, "12": 628, "13": 1405, "14": 924, "15": 220, "16": 103,
    "17": 113, "18": 77, "19": 81, "20": 205, "21": 198, "22": 363, "23": 754, "24": 177,
    "25": 141, "26": 258, "27": 884, "28": 547, "29": 132, "30": 92, "31": 55, "32": 67,
    "33": 189, "34": 280, "35": 134, "36": 72, "37": 95, "38": 133, "39": 69, "40": 514,
    "41": 81, "42": 131, "43": 174, "44": 112, "45": 107, "46": 159, "47": 147,
}

#: 基金 (A+B) in 千円 a prefecture of ~130万人 typically plans for a leaf; others 6,000.
LEAF_BASE: dict[str, int] = {
    "R5-01": 3_000, "R5-02": 2_000, "R5-13-イ": 10_000, "R5-15-イ": 8_000,
    "R5-16-ロ": 30_000, "R5-18-イ": 15_000, "R5-18-ハ": 9_000, "R5-24-イ": 9_000,
    "R5-34-ロ": 60_000, "R5-34-ハ": 80_000, "R5-34-ニ": 20_000, "R5-36": 12_000,
    "R5-40": 50_000,
}
DEFAULT_BASE = 6_000
#: 国費 (A) of the 介護従事者確保分, 令和5年度, in 千円: 137億円 (domain.md §8). The sample
#: plans of all 47 prefectures add up to this in expectation.
NATIONAL_BUDGET = 13_700_000
#: The spread of one amount around its expected size (lognormal σ), and its mean factor.
SPREAD = 0.35
#: Leaves almost every prefecture plans.
COMMON_LEAVES = frozenset({"R5-01", "R5-18-イ", "R5-24-イ", "R5-26", "R5-34-ロ", "R5-34-ハ",
                           "R5-40"})

IMPLEMENTERS = (
    "{pref}社会福祉協議会", "{pref}（委託：民間事業者）", "{pref}介護福祉士会",
    "{pref}老人福祉施設協議会", "介護福祉士養成施設", "市町村", "介護サービス事業所",
    "{pref}看護協会", "{pref}（直営）", "{pref}福祉人材センター",
)
OUTPUTS = (
    ("研修受講者", "人", 40, 400), ("補助事業所数", "か所", 10, 120), ("相談件数", "件", 100, 900),
    ("説明会・セミナー", "回", 2, 24), ("参加者", "人", 50, 600), ("貸付件数", "件", 10, 150),
    ("導入事業所数", "か所", 5, 200),
)
REMARKS = ("", "", "", "新規", "拡充", "R4から継続", "一部市町村補助", "")
FAMILY_NAMES = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤")
GIVEN_NAMES = ("花子", "太郎", "由美", "健一", "直子", "誠", "恵", "大輔")


@dataclass(frozen=True)
class Planted:
    """A mistake the demo plants in one prefecture's file, and what ingest should say."""

    prefecture_code: str
    what: str  # Japanese description
    outcome: str  # "rejected" or "accepted" (accepted with a warning)
    finding_code: str
    leaf_code: str | None = None
    column: str | None = None  # the form's column key of the cell, when a cell is concerned
    stage: str = "plan"  # the stage of the submission it is planted in

    def cell(self, menu: "pd.DataFrame", form: Form = PLAN) -> str | None:
        """``"I12"``: where the finding points (None when not a cell)."""
        if self.leaf_code is None or self.column is None:
            return None
        row = form.first_data_row + menu["leaf_code"].tolist().index(self.leaf_code)
        return form.column[self.column].ref(row)


#: Prefectures that send nothing (和歌山県, 鹿児島県).
MISSING = ("30", "46")
#: Who sent the neighbour's workbook: 佐賀県 filled in 長崎県's template.
WRONG_TEMPLATE = ("41", "42")


#: The stages of the demo's year besides the plan, in order: (stage, folder of what came back)
YEAR_FOLDERS = {"request": "1_要望", "allocation": "2_内示", "revision": "4_変更",
                "actual": "5_実績"}
#: 千葉県 plans above its 内示 (its allocation is 90% of its plan).
OVER_ALLOCATION = "12"
#: 神奈川県 sends one 変更, one of its changed rows without a reason.
REVISED = "14"
#: 北海道 spends above its plan on one item.
OVERSPENT = "01"
#: 沖縄県 sends no 実績.
NO_ACTUAL = "47"
#: Prefectures whose 内示 comes in two rounds (the rest get all of it in round 1).
SECOND_ROUND = ("04", "08", "13", "23", "27", "40")


@dataclass
class DemoRun:
    folder: Path
    seed: int
    templates: list[Path]
    inputs: list[Path]
    planted: list[Planted]
    ingest: "IngestRun"
    aggregate: "AggregateRun"
    db_path: Path
    missing: tuple[str, ...] = field(default=MISSING)
    #: the other stages' ingests (要望, 内示 rounds, 変更, 実績), by a Japanese label
    stages: dict[str, "IngestRun"] = field(default_factory=dict)
    #: the mistakes planted in the other stages (a plan above its 内示 is a plan's)
    year_planted: list[Planted] = field(default_factory=list)
    #: further outputs (Japanese label, path): the stage workbooks, the track report
    outputs: list[tuple[str, Path]] = field(default_factory=list)


def _pick_leaf(rows: dict[str, dict[str, Any]], rng: random.Random,
               need: Callable[[dict[str, Any]], bool] = lambda r: True) -> str:
    candidates = [code for code, r in rows.items() if r and need(r)]
    return rng.choice(sorted(candidates))


def _scale(code: str) -> float:
    """How much more than a prefecture of ~130万人 the prefecture plans per item."""
    return float((POPULATION[code] / 130) ** 0.85)


def _p_plan(code: str, leaf: str) -> float:
    """The chance that the prefecture plans the leaf: larger prefectures plan more items."""
    if leaf in COMMON_LEAVES:
        return 0.95
    return min(0.6, 0.25 + 0.15 * min(POPULATION[code] / 130, 2.0))


@functools.cache
def calibration(leaves: tuple[str, ...]) -> float:
    """The factor on ``LEAF_BASE`` that makes the expected 国費 (A) of the 47 sample plans of
    a menu with these leaves ``NATIONAL_BUDGET`` (A is 2/3 of 基金 A+B; the lognormal
    spread has mean exp(σ²/2))."""
    expected_fund = sum(_p_plan(code, leaf) * LEAF_BASE.get(leaf, DEFAULT_BASE) * _scale(code)
                        for code in POPULATION for leaf in leaves)
    return NATIONAL_BUDGET / (expected_fund * math.exp(SPREAD ** 2 / 2) * 2 / 3)


def sample_plan(menu: "pd.DataFrame", code: str, rng: random.Random) -> "PlanValues":
    """One prefecture's plausible plan (no mistakes)."""
    from budget.generate import PlanValues
    from budget.prefectures import prefecture_by_code

    pref = prefecture_by_code(code)
    assert pref is not None
    factor = calibration(tuple(menu["leaf_code"]))
    rows: dict[str, dict[str, Any]] = {}
    for leaf in menu["leaf_code"]:
        if rng.random() > _p_plan(code, leaf):
            continue
        fund = max(100, round(LEAF_BASE.get(leaf, DEFAULT_BASE) * _scale(code) * factor
                              * rng.lognormvariate(0, SPREAD)))
        national = round(fund * 2 / 3)
        row: dict[str, Any] = {"national": national, "prefectural": fund - national}
        if rng.random() < 0.25:
            row["other"] = round(fund * rng.uniform(0.1, 0.6))
        mode = rng.random()
        public = 0 if mode < 0.4 else national if mode < 0.6 else round(national
                                                                         * rng.uniform(0.1, 0.9))
        row["public"], row["private"] = public, national - public
        if row["private"] > 0 and rng.random() < 0.5:
            row["commissioned"] = round(row["private"] * rng.uniform(0.3, 1.0))
        row["implementer"] = rng.choice(IMPLEMENTERS).format(pref=pref.name_ja)
        label, unit, lo, hi = rng.choice(OUTPUTS)
        weight = POPULATION[code] / 130
        row["output"] = f"{label} {round(rng.randint(lo, hi) * max(0.5, weight ** 0.7))}{unit}"
        remark = rng.choice(REMARKS)
        if remark:
            row["remarks"] = remark
        rows[leaf] = row
    if not rows:  # every prefecture plans something
        rows["R5-01"] = {"national": 2000, "prefectural": 1000, "public": 2000, "private": 0}
    header = {
        "department": f"{pref.name_ja} 健康福祉部 高齢者福祉課",
        "contact_name": f"{rng.choice(FAMILY_NAMES)} {rng.choice(GIVEN_NAMES)}",
        "phone": f"0{rng.randint(11, 99)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
        "email": f"kaigo-jinzai@pref.{pref.name_en.lower()}.example.jp",
    }
    return PlanValues(header=header, rows=rows)


def sample_plans(menu: "pd.DataFrame", seed: int = DEFAULT_SEED,
                 ) -> tuple[dict[str, "PlanValues"], list[Planted]]:
    """The plans of the prefectures that submit (all but ``MISSING``), with the ``PLANTED``
    mistakes applied; returns (values by prefecture code, the mistakes planted)."""
    from budget.prefectures import all_prefectures

    rng = random.Random(seed)
    plans = {p.code: sample_plan(menu, p.code, rng) for p in all_prefectures()
             if p.code not in MISSING}
    planted: list[Planted] = []

    # 秋田県: a negative typed the Japanese way, in 都道府県 (B).
    rows = plans["05"].rows
    leaf = _pick_leaf(rows, rng)
    rows[leaf]["prefectural"] = "▲500"
    planted.append(Planted("05", "都道府県 (B) に「▲500」（マイナス）を入力", "rejected",
                           "negative-amount", leaf, "prefectural"))
    # 山梨県: 公 + 民 does not add up to 国 (A).
    rows = plans["19"].rows
    leaf = _pick_leaf(rows, rng, lambda r: r["national"] > 200)
    rows[leaf]["public"] += 100
    planted.append(Planted("19", "公 + 民 が 国 (A) と一致しない（公を 100 多く入力）", "rejected",
                           "public-private-sum", leaf, "public"))
    # 島根県: a full-width number with a full-width comma, typed as text.
    rows = plans["32"].rows
    leaf = _pick_leaf(rows, rng)
    rows[leaf]["other"] = "１，２３４"
    planted.append(Planted("32", "その他 (C) に全角の「１，２３４」を入力（1234 として受理、警告）",
                           "accepted", "fullwidth-number", leaf, "other"))
    # 愛媛県: 国 (A) 10 千円 off the 2/3 share (公+民 kept equal to A): a warning.
    rows = plans["38"].rows
    leaf = _pick_leaf(rows, rng, lambda r: r["prefectural"] > 50)
    rows[leaf]["national"] += 10
    rows[leaf]["prefectural"] -= 10
    rows[leaf]["private"] += 10
    planted.append(Planted("38", "国 (A) が 基金計 (A+B) の3分の2から 10 千円ずれている（警告）",
                           "accepted", "national-share", leaf, "national"))
    # 佐賀県: filled in 長崎県's workbook and sent it under its own file name.
    planted.append(Planted(WRONG_TEMPLATE[0], "長崎県の様式に入力し、佐賀県のファイル名で提出",
                           "rejected", "prefecture-mismatch"))
    return plans, planted


def synthetic_submission(menu: "pd.DataFrame", prefecture_code: str, values: "PlanValues", *,
                         fiscal_year: int | None = None, file_name: str | None = None,
                         form: Form = PLAN) -> tuple["FileReport", bytes]:
    """An accepted ``FileReport`` (and stand-in file bytes) carrying ``values`` as if a
    workbook had been read and validated: for filling a store fast (benchmarks, tests)
    without writing or reading workbooks. Amount values must be ints or None."""
    import hashlib
    import json

    import pandas as pd

    from budget.findings import FileReport
    from budget.fiscal import era_code
    from budget.menu import menu_fingerprint
    from budget.prefectures import prefecture_by_code

    year = fiscal_year if fiscal_year is not None else int(menu["fiscal_year"].iloc[0])
    records = []
    for i, leaf in enumerate(menu["leaf_code"]):
        given = values.rows.get(leaf, {})
        row: dict[str, Any] = {"leaf_code": leaf, "excel_row": form.first_data_row + i}
        for key in form.amount_keys + form.text_keys:
            row[key] = given.get(key)
        for key in form.formula_keys:
            row[key] = form.row_formula_value(key, given)
        records.append(row)
    plan = pd.DataFrame(records)
    for key in form.money_keys:
        plan[key] = plan[key].astype("Int64")
    pref = prefecture_by_code(prefecture_code)
    name = file_name or form.file_name(
        prefecture_code, pref.name_ja if pref else prefecture_code, era_code(year))
    content = json.dumps({"year": year, "prefecture": prefecture_code, "header": values.header,
                          "rows": values.rows}, ensure_ascii=False, sort_keys=True).encode()
    report = FileReport(
        file=name, sha256=hashlib.sha256(content).hexdigest(), size=len(content),
        fiscal_year=year, prefecture_code=prefecture_code, form=form.kind, stage=form.stage,
        template_version=form.template_version, menu_fingerprint=menu_fingerprint(menu),
        header=dict(values.header), plan=plan,
    )
    return report, content


def _prepare(folder: Path) -> None:
    """Make ``folder`` ready: new, empty, or made by an earlier demo (then cleared)."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} はフォルダではありません。")
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).is_file():
            raise UsageError(f"フォルダ {folder} は空ではありません（budget demo が作ったものでも"
                             "ありません）。空のフォルダか新しいフォルダを指定してください。")
        for name in ("templates", "inputs", "reports", *YEAR_FOLDERS.values()):
            shutil.rmtree(folder / name, ignore_errors=True)
        for name in ("budget.db", "budget.db-wal", "budget.db-shm"):
            (folder / name).unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("budget demo\n", encoding="utf-8")


def run_demo(folder: str | Path = "demo", *, seed: int = DEFAULT_SEED,
             command_line: str = "budget demo",
             progress: Callable[[str], None] | None = None) -> DemoRun:
    """The whole cycle into ``folder``: templates/ (47 blank workbooks), inputs/ (what came
    back, mistakes included), budget.db, reports/ (ingest report, return copies, summary)."""
    from budget.fiscal import era_code
    from budget.generate import generate_templates, write_plan_workbook
    from budget.intake.batch import ingest_folder
    from budget.intake.check import Settings
    from budget.menu import load_menu
    from budget.prefectures import all_prefectures, prefecture_by_code
    from budget.reports import AggregateRun, write_reports

    def say(text: str) -> None:
        if progress is not None:
            progress(text)

    folder = Path(folder)
    _prepare(folder)
    menu = load_menu(DEMO_YEAR)
    prefs = list(all_prefectures())
    say("1/4 様式（47都道府県）を作成しています…")
    templates = generate_templates(menu, prefs, folder / "templates")

    say("2/4 都道府県から返送された想定の要望・計画（サンプルデータ）を作成しています…")
    plans, planted = sample_plans(menu, seed)
    sender, owner = WRONG_TEMPLATE
    inputs_dir = folder / "inputs"
    regular = [p for p in prefs if p.code in plans and p.code != sender]
    inputs = generate_templates(menu, regular, inputs_dir,
                                values={p.code: plans[p.code] for p in regular})
    wrong = prefecture_by_code(owner)
    sent = prefecture_by_code(sender)
    assert wrong is not None and sent is not None
    path = inputs_dir / PLAN.file_name(sent.code, sent.name_ja, era_code(DEMO_YEAR))
    write_plan_workbook(path, menu, wrong, values=plans[sender])
    inputs = sorted([*inputs, path])

    say("3/4 取り込み・検査をしています（要望 → 内示 → 計画 → 変更 → 実績）…")
    db_path = folder / "budget.db"
    reports = folder / "reports"
    year = YearFlow(folder, menu, db_path, reports, seed, plans)
    year.requests()
    year.allocations()
    ingest = ingest_folder(inputs_dir, db_path, Settings(), reports)
    year.revision()
    year.actuals()

    say("4/4 集計表を作成しています…")
    from budget.analysis.summary import load_summary
    from budget.store import open_store

    with open_store(db_path) as store:
        summary = load_summary(store, DEMO_YEAR, menu)
    written = write_reports(summary, reports, command_line=command_line, formats=("csv",),
                            db_path=db_path)
    year.track(command_line)
    return DemoRun(folder, seed, templates, inputs, planted, ingest,
                   AggregateRun(summary, written), db_path, stages=year.runs,
                   year_planted=year.planted, outputs=year.outputs)


class YearFlow:
    """The demo's stages around the plan: 要望 from every prefecture, 内示 in two rounds
    (built from the plans, 千葉県's below its plan), one 変更 (神奈川県), 実績 from every
    prefecture with an accepted plan but 沖縄県 (北海道 above its plan on one item). Each
    stage's workbooks are generated from the store as ``budget generate --stage`` makes them,
    filled, and ingested into ``FOLDER/<n>_<stage>/``; their run reports go to
    ``reports/<stage>/``."""

    def __init__(self, folder: Path, menu: "pd.DataFrame", db_path: Path, reports: Path,
                 seed: int, plans: dict[str, "PlanValues"]) -> None:
        self.folder, self.menu, self.db_path, self.reports = folder, menu, db_path, reports
        self.rng = random.Random(seed + 1)
        self.plans = plans
        self.runs: dict[str, "IngestRun"] = {}
        self.planted: list[Planted] = []
        self.outputs: list[tuple[str, Path]] = []

    def _ingest(self, label: str, stage: str) -> "IngestRun":
        from budget.intake.batch import ingest_folder
        from budget.intake.check import Settings

        run = ingest_folder(self.folder / YEAR_FOLDERS[stage], self.db_path, Settings(),
                            self.reports / label)
        self.runs[label] = run
        return run

    def _store(self) -> Any:
        from budget.store import open_store

        return open_store(self.db_path)

    def requests(self) -> None:
        """Every prefecture asks for about what it will plan (a plan of its own, drawn
        from the next seed)."""
        from budget.forms import REQUEST
        from budget.generate import generate_templates
        from budget.prefectures import all_prefectures

        prefs = list(all_prefectures())
        values = {p.code: sample_plan(self.menu, p.code, self.rng) for p in prefs}
        generate_templates(self.menu, prefs, self.folder / YEAR_FOLDERS["request"],
                           values=values, form=REQUEST)
        self._ingest("要望", "request")

    def _targets(self) -> dict[str, int]:
        """Each prefecture's whole 内示 (基金規模, 千円): its plan's 基金 with a margin, or
        its request's where it sends no plan; 千葉県 90% of its plan."""
        import math

        out: dict[str, int] = {}
        with self._store() as store:
            requested = store.current_amounts(DEMO_YEAR, "request")
        by_request = requested.groupby("prefecture_code")["fund"].sum()
        for code in POPULATION:
            plan = self.plans.get(code)
            fund = sum(_int(r.get("national")) + _int(r.get("prefectural"))
                       for r in plan.rows.values()) if plan else int(by_request.get(code, 0))
            if code == OVER_ALLOCATION:
                out[code] = fund * 9 // 10 // 1000 * 1000
            else:
                out[code] = math.ceil(fund * 1.05 / 1000) * 1000
        return out

    def allocations(self) -> None:
        """Two rounds: most prefectures get their whole 内示 in round 1, a few in two."""
        from budget.forms import ALLOCATION
        from budget.generate import allocation_file_name, stage_values, write_plan_workbook

        targets = self._targets()
        rounds = {1: {}, 2: {}}  # type: dict[int, dict[str, int]]
        for code, fund in targets.items():
            if code in SECOND_ROUND:
                first = round(fund * 0.85 / 1000) * 1000
                rounds[1][code], rounds[2][code] = first, fund - first
            else:
                rounds[1][code] = fund
        folder = self.folder / YEAR_FOLDERS["allocation"]
        for n, given in rounds.items():
            with self._store() as store:
                values = stage_values(store, ALLOCATION, DEMO_YEAR, None, round_no=n)
            assert values is not None
            values.rows = {code: {"fund": fund, "national": round(fund * 2 / 3)}
                           for code, fund in given.items()}
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            write_plan_workbook(folder / allocation_file_name(DEMO_YEAR, n), self.menu, None,
                                form=ALLOCATION, values=values)
            self._ingest(f"内示 第{n}回", "allocation")
        self.outputs.append(("内示（第2回）の様式", folder / allocation_file_name(DEMO_YEAR, 2)))
        self.planted.append(Planted(OVER_ALLOCATION, "計画の基金 (A+B) 合計が内示額を上回る（警告）",
                                    "accepted", "plan-over-allocation"))

    def revision(self) -> None:
        """神奈川県 raises two items: one with a reason, one without (a warning)."""
        from budget.forms import REVISION
        from budget.generate import stage_values, write_plan_workbook
        from budget.prefectures import prefecture_by_code

        pref = prefecture_by_code(REVISED)
        assert pref is not None
        with self._store() as store:
            values = stage_values(store, REVISION, DEMO_YEAR, pref)
        assert values is not None
        changed = sorted(code for code, r in values.rows.items()
                         if _int(r.get("national")) > 300)[:2]
        for i, leaf in enumerate(changed):
            row = values.rows[leaf]
            fund = (_int(row.get("national")) + _int(row.get("prefectural"))) * 6 // 5
            row["national"] = round(fund * 2 / 3)
            row["prefectural"] = fund - row["national"]
            row["private"] = row["national"] - _int(row.get("public"))
            row["commissioned"] = None
            if i == 0:
                row["reason"] = "補正予算による増額"
            else:
                self.planted.append(Planted(REVISED, "変更した事業に変更理由がない（警告）",
                                            "accepted", "revision-without-reason", leaf,
                                            "reason", stage="revision"))
        folder = self.folder / YEAR_FOLDERS["revision"]
        folder.mkdir(parents=True, exist_ok=True)
        write_plan_workbook(folder / REVISION.file_name(pref.code, pref.name_ja,
                                                        era_code_of(DEMO_YEAR)),
                            self.menu, pref, form=REVISION, values=values)
        self._ingest("変更", "revision")

    def actuals(self) -> None:
        """Every prefecture with an accepted plan reports what it spent (60–100% of each
        planned item), but 沖縄県; 北海道 spends 120% on one item."""
        from budget.forms import ACTUAL
        from budget.generate import (
            actual_file_name,
            prefecture_stage_values,
            write_plan_workbook,
        )
        from budget.prefectures import all_prefectures

        folder = self.folder / YEAR_FOLDERS["actual"]
        folder.mkdir(parents=True, exist_ok=True)
        with self._store() as store:
            found = prefecture_stage_values(store, ACTUAL, DEMO_YEAR, all_prefectures())
        for pref in all_prefectures():
            values = found.get(pref.code)
            if pref.code == NO_ACTUAL or values is None:
                continue
            first = True
            for leaf, ref in values.references.items():
                a, b = ref.get("plan_national"), ref.get("plan_prefectural")
                if a is None and b is None:
                    continue
                rate = self.rng.uniform(0.6, 1.0)
                if pref.code == OVERSPENT and first and (a or 0) + (b or 0) > 0:
                    rate = 1.2
                    self.planted.append(Planted(OVERSPENT, "計画を上回る執行（警告）",
                                                "accepted", "actual-over-plan", leaf,
                                                "actual_fund", stage="actual"))
                    first = False
                done = "達成" if rate > 0.9 else self.rng.choice(("達成", "一部達成"))
                row: dict[str, Any] = {
                    "actual_national": round((a or 0) * rate),
                    "actual_prefectural": round((b or 0) * rate),
                    "actual_other": (None if (other := ref.get("plan_other")) is None
                                     else round(other * rate)),
                    "achievement": done}
                if done != "達成":
                    row["reason"] = "参加者が見込みを下回ったため"
                values.rows[leaf] = row
            write_plan_workbook(folder / actual_file_name(pref, DEMO_YEAR, DEMO_YEAR, ACTUAL),
                                self.menu, pref, form=ACTUAL, values=values)
        self.planted.append(Planted(NO_ACTUAL, "実績を提出しない（未提出）", "missing", "",
                                    stage="actual"))
        self._ingest("実績", "actual")

    def track(self, command_line: str) -> None:
        """The year's 執行管理 report (``budget.reports.track_year``) into the reports folder."""
        from budget.reports import track_year

        run = track_year(self.db_path, DEMO_YEAR, self.reports, command_line=command_line)
        for w in run.written:
            self.outputs.append((w.kind, Path(w.path)))


def _int(value: Any) -> int:
    """An amount of the sample values (an int, or text typed as a planted mistake) as a
    number; 0 for blank or text."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def era_code_of(year: int) -> str:
    from budget.fiscal import era_code

    return era_code(year)
