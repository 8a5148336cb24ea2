"""The 内示 form: the ministry's own workbook of one allocation round, all 47 prefectures.

One row per prefecture (「01 北海道」…, keyed by the two-digit code in the hidden code column),
inputs 基金規模 (A+B) and 国費 (A) in 千円; locked for reference, each prefecture's current 要望
(A+B) and its total of the earlier rounds, from the store (``reference_values``). A prefecture
left blank is not in that round. 国費 ≈ ⅔ of 基金規模 within the share tolerance (a warning).
Stored as one submission without a prefecture, the round in its inputs (``round``).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from budget.forms.base import (
    REFERENCE_IDS,
    Column,
    Form,
    MetaCell,
    RowRule,
    int_or_none,
)
from budget.forms.plan import PLAN

#: 国費 and 基金規模 of one prefecture in one round, at most (千円): 1,000億円.
MAX_ALLOCATION = 100_000_000
_REF = "参照（登録済み）"
_NOW = "今回の内示（千円）"

_COLUMNS: tuple[Column, ...] = (
    Column("prefecture", "都道府県", "", "A", "label", 14),
    Column("ref_request", "要望\n基金規模 (A+B)", _REF, "B", "reference", 14),
    Column("prev_fund", "前回までの内示\n基金規模 (A+B)", _REF, "C", "reference", 14),
    Column("prev_national", "前回までの内示\n国費 (A)", _REF, "D", "reference", 14),
    Column("fund", "基金規模\n(A+B)", _NOW, "E", "amount", 14),
    Column("national", "国費\n(A)", _NOW, "F", "amount", 14),
    Column("leaf_code", "leaf_code", "", "G", "code", 8),
)
C = {c.key: c for c in _COLUMNS}


@dataclass(frozen=True)
class PrefectureRow:
    """A row of the 内示 table, shaped like a menu leaf for the writer and the checks."""

    leaf_code: str  # "01"
    label: str  # "01 北海道"
    category: str = ""
    description: str = ""

    def displayed(self) -> dict[str, object]:
        return {"prefecture": self.label}


def prefecture_rows() -> list[PrefectureRow]:
    """The 47 rows in code order."""
    from budget.prefectures import all_prefectures

    return [PrefectureRow(p.code, p.label) for p in all_prefectures()]


@functools.cache
def prefecture_fingerprint() -> str:
    """The ``_meta`` ``menu_fingerprint`` of a 内示 workbook: its rows' labels, hashed."""
    h = hashlib.sha256()
    for row in prefecture_rows():
        h.update(f"{row.leaf_code}\x1f{row.label}\x1e".encode())
    return h.hexdigest()[:16]


def _share_within(df: Any, tolerance: int) -> Any:
    """国費 (A) ≈ ⅔ of 基金規模 (A+B) within ``tolerance`` 千円, when either is entered:
    |3A − 2F| ≤ 3·tolerance (blank counts 0)."""
    entered = df["fund"].notna() | df["national"].notna()
    gap = (3 * df["national"].fillna(0) - 2 * df["fund"].fillna(0)).abs()
    return ~entered | (gap <= 3 * tolerance)


@functools.cache
def allocation_schema(share_tolerance: int) -> Any:
    import pandas as pd
    import pandera.pandas as pa

    amount_checks = [pa.Check(lambda s: s >= 0, name="negative-amount"),
                     pa.Check(lambda s: s <= MAX_ALLOCATION, name="amount-too-large")]
    columns: dict[str, Any] = {"leaf_code": pa.Column(str), "excel_row": pa.Column(int)}
    for col in _COLUMNS:
        if col.kind == "amount":
            columns[col.key] = pa.Column(pd.Int64Dtype(), amount_checks, nullable=True)
        elif col.kind == "reference":
            columns[col.key] = pa.Column(pd.Int64Dtype(), nullable=True)
    return pa.DataFrameSchema(
        {k: columns[k] for k in ALLOCATION.row_columns},
        checks=[pa.Check(functools.partial(_share_within, tolerance=share_tolerance),
                         name="allocation-share")],
        strict=True, ordered=True, name="AllocationSchema")


def _decimal(value: float) -> str:
    return f"{value:,.1f}".removesuffix(".0")


def _rule_params(check: str, v: Mapping[str, int | None], share_tolerance: int
                 ) -> dict[str, object]:
    fund, national = v.get("fund") or 0, v.get("national") or 0
    return {"national": f"{national:,}", "fund": f"{fund:,}",
            "expected": _decimal(2 * fund / 3), "diff": _decimal(abs(3 * national - 2 * fund) / 3),
            "tolerance": share_tolerance}


def _live_rules(row: int, share_tolerance: int) -> dict[str, str]:
    own = C["fund"].ref(row)
    f, a = f"$E{row}", f"$F{row}"
    return {
        "not-whole-number": (
            f"=AND({own}<>\"\",OR(ISTEXT({own}),"
            f"AND(ISNUMBER({own}),OR({own}<0,{own}<>INT({own})))))"),
        "allocation-share": (f"=AND(OR(ISNUMBER({f}),ISNUMBER({a})),"
                             f"ABS(N({a})*3-N({f})*2)>{share_tolerance}*3)"),
    }


def _references(sources: Any) -> dict[str, dict[str, int | None]]:
    """Per prefecture: its 要望's 基金 (A+B) total (the ``request`` sources), and the sums of
    基金規模 and 国費 of the earlier rounds (the ``allocation`` sources)."""
    out: dict[str, dict[str, int | None]] = {
        r.leaf_code: {"ref_request": None, "prev_fund": None, "prev_national": None}
        for r in prefecture_rows()}
    request = sources[sources["stage"] == "request"]
    if len(request) and "fund" in request.columns:
        sums = request.groupby("prefecture_code")["fund"].sum(min_count=1)
        for code, value in sums.items():
            if str(code) in out:
                out[str(code)]["ref_request"] = int_or_none(value)
    rounds = sources[sources["stage"] == "allocation"]
    for key, field in (("prev_fund", "fund"), ("prev_national", "national")):
        if len(rounds) and field in rounds.columns:
            sums = rounds.groupby("leaf_code")[field].sum(min_count=1)
            for code, value in sums.items():
                if str(code) in out:
                    out[str(code)][key] = int_or_none(value)
    return out


def _guide(*, year_label: str, prefecture_label: str, share_tolerance: int, submit_to: str,
           how: str, deadline: str) -> list[tuple[str, str]]:
    return [
        ("title", f"{year_label} 地域医療介護総合確保基金（介護従事者の確保分） 内示額 入力要領"),
        ("text", f"対象: {prefecture_label}（厚生労働省 内部用）"),
        ("head", "1. 記入するところ"),
        ("text", "「内示」シートの黄色のセルに、この回に内示する都道府県の 基金規模 (A+B) と "
                 "国費 (A) を千円単位で入力します。この回に内示しない都道府県は空欄のままにします"
                 "（空欄は「この回の内示なし」、0 は「内示額0」の意味になります）。"),
        ("text", "「参照（登録済み）」欄は、登録済みの要望（基金 (A+B) の合計）と、前回までの内示の"
                 "合計です。変更できません（書き換えると取り込めません）。"),
        ("head", "2. 金額のきまり"),
        ("text", f"国費 (A) は 基金規模 (A+B) の3分の2 です。差が {share_tolerance} 千円を超えると"
                 "セルが黄色で表示されます（確認をお願いします）。"),
        ("head", "3. 取り込み"),
        ("text", "入力後、このファイルを保存し、`budget ingest` で取り込みます。同じ回のファイルを"
                 "再度取り込むと、新しいものがその回の内示になります。"),
    ]


ALLOCATION = Form(
    kind="allocation",
    stage="allocation",
    stage_label="内示",
    template_version="1",
    main_sheet="内示",
    guide_sheet="入力要領",
    columns=_COLUMNS,
    title="{year_label} 地域医療介護総合確保基金（介護従事者の確保分） 内示額",
    year_label_cell="A2",
    year_label="年度",
    year_cell="B2",
    prefecture_label_cell="C2",
    prefecture_label="内示回",
    prefecture_cell="D2",
    header_inputs=(),
    notes=(("E3", "（単位：千円）"),
           ("A4", "黄色のセルに入力してください。内示しない都道府県は空欄のままにします。")),
    group_header_row=5,
    header_row=6,
    first_data_row=7,
    subtotal_prefix="#subtotal:",
    total_label="全国計",
    live_rules=_live_rules,
    live_rule_columns={"not-whole-number": ("fund", "national"),
                       "allocation-share": ("fund", "national")},
    live_warning_rules=frozenset({"allocation-share"}),
    default_share_tolerance=PLAN.default_share_tolerance,
    amount_messages=(
        "内示額（千円）", "千円単位の0以上の整数で入力してください。この回に内示しない場合は空欄。",
        "入力できない値です", "金額は千円単位の0以上の整数で入力してください（例: 1234）。"),
    schema=allocation_schema,
    cell_rules=frozenset({"negative-amount", "amount-too-large"}),
    row_rules={"allocation-share": RowRule("national", ("fund", "national"))},
    rule_params=_rule_params,
    guide=_guide,
    meta_keys=(*PLAN.meta_keys, "round", REFERENCE_IDS),
    per_prefecture=False,
    rows_from="prefectures",
    header_meta=("round", REFERENCE_IDS),
    meta_cells=(MetaCell("round", "C2", "D2", "内示回"),),
    references=_references,
)
