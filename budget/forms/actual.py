"""The 実績 form (執行実績・事後評価): what a prefecture spent of one fund year's plan, in
one execution year, and what each project achieved.

Keyed by the fund year (``fiscal_year``, the plan's year) and the execution year
(``_meta`` ``exec_year``, shown locked in the header): money of one fund year is often spent
in later years. Pre-filled per leaf with the prefecture's current plan (計 (A+B), 国 (A),
都道府県 (B), その他 (C)) in locked reference columns; inputs 執行額 国 (A), 都道府県 (B),
その他 (C) (計 and 総額 are formulas), アウトプット実績, 達成状況 (a list) and 理由.
執行 above the plan is a warning (執行率 over 100% happens), a 執行額 on a leaf with no plan
is a warning (計画外の執行).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

from budget.forms.base import REFERENCE_IDS, Column, MetaCell, RowRule, int_or_none
from budget.forms.plan import MAX_AMOUNT, PLAN

ACHIEVEMENTS = ("達成", "一部達成", "未達成", "未実施")
_PLAN = "計画（参照）"
_ACTUAL = "執行額"

_COLUMNS: tuple[Column, ...] = (
    *(c for c in PLAN.columns if c.kind == "label"),
    Column("plan_fund", "計\n(A+B)", _PLAN, "G", "reference", 11),
    Column("plan_national", "国\n(A)", _PLAN, "H", "reference", 11),
    Column("plan_prefectural", "都道府県\n(B)", _PLAN, "I", "reference", 11),
    Column("plan_other", "その他\n(C)", _PLAN, "J", "reference", 11),
    Column("actual_total", "総額\n(A+B+C)", _ACTUAL, "K", "formula", 12,
           parts=("actual_national", "actual_prefectural", "actual_other")),
    Column("actual_national", "国\n(A)", _ACTUAL, "L", "amount", 12),
    Column("actual_prefectural", "都道府県\n(B)", _ACTUAL, "M", "amount", 12),
    Column("actual_fund", "計\n(A+B)", _ACTUAL, "N", "formula", 12,
           parts=("actual_national", "actual_prefectural")),
    Column("actual_other", "その他\n(C)", _ACTUAL, "O", "amount", 12),
    Column("output_result", "アウトプット実績", "", "P", "text", 24, 400),
    Column("achievement", "達成状況", "", "Q", "text", 10, 10),
    Column("reason", "理由\n（一部達成・未達成・未実施）", "", "R", "text", 24, 400),
    Column("leaf_code", "leaf_code", "", "S", "code", 10),
)
C = {c.key: c for c in _COLUMNS}
#: reference key → the plan's field it shows
PLAN_FIELDS = {"plan_fund": "fund", "plan_national": "national",
               "plan_prefectural": "prefectural", "plan_other": "other"}


def _entered(df: Any) -> Any:
    return (df["actual_national"].notna() | df["actual_prefectural"].notna()
            | df["actual_other"].notna())


@functools.cache
def actual_schema(share_tolerance: int) -> Any:
    """The pandera schema of a returned 実績's rows (see ``budget.forms.plan.plan_schema``)."""
    import pandas as pd
    import pandera.pandas as pa

    amount_checks = [pa.Check(lambda s: s >= 0, name="negative-amount"),
                     pa.Check(lambda s: s <= MAX_AMOUNT, name="amount-too-large")]
    columns: dict[str, Any] = {"leaf_code": pa.Column(str), "excel_row": pa.Column(int)}
    for col in ACTUAL.columns:
        if col.kind in ("formula", "reference"):
            columns[col.key] = pa.Column(pd.Int64Dtype(), nullable=True)
        elif col.kind == "amount":
            columns[col.key] = pa.Column(pd.Int64Dtype(), amount_checks, nullable=True)
        elif col.kind == "text":
            limit = col.max_length
            checks = [pa.Check(lambda s, n=limit: s.str.len() <= n, name="text-too-long")]
            if col.key == "achievement":
                checks.append(pa.Check(lambda s: s.isin(ACHIEVEMENTS), name="invalid-choice"))
            columns[col.key] = pa.Column(str, checks, nullable=True)

    def within_plan(df: Any) -> Any:
        """執行 (A+B) ≤ the plan's 計 (A+B), where both are there."""
        over = (df["actual_fund"] > df["plan_fund"]).fillna(False).astype(bool)
        return ~over

    def planned(df: Any) -> Any:
        """A 執行額 only on a leaf the plan has (its 計 (A+B) or その他 (C) entered)."""
        has_plan = df["plan_fund"].notna() | df["plan_other"].notna()
        return ~_entered(df) | has_plan

    return pa.DataFrameSchema(
        {k: columns[k] for k in ACTUAL.row_columns},
        checks=[pa.Check(within_plan, name="actual-over-plan"),
                pa.Check(planned, name="actual-unplanned")],
        strict=True, ordered=True, name="ActualSchema")


def _money(value: int | None) -> str:
    return "空欄" if value is None else f"{value:,}"


def _rule_params(check: str, v: Mapping[str, int | None], share_tolerance: int
                 ) -> dict[str, object]:
    if check == "actual-over-plan":
        fund, plan = v.get("actual_fund"), v.get("plan_fund")
        rate = "" if not plan else f"（執行率 {100 * (fund or 0) / plan:.1f}%）"
        return {"actual": _money(fund), "plan": _money(plan), "rate": rate}
    return {}


def _live_rules(row: int, share_tolerance: int) -> dict[str, str]:
    def pinned(key: str) -> str:
        return f"${C[key].letter}{row}"

    own = C["actual_national"].ref(row)
    fund = f"N({pinned('actual_national')})+N({pinned('actual_prefectural')})"
    return {
        "not-whole-number": (
            f"=AND({own}<>\"\",OR(ISTEXT({own}),"
            f"AND(ISNUMBER({own}),OR({own}<0,{own}<>INT({own})))))"),
        "actual-over-plan": f"=AND(ISNUMBER({pinned('plan_fund')}),{fund}>{pinned('plan_fund')})",
    }


def _references(sources: Any) -> dict[str, dict[str, int | None]]:
    """The current plan's amounts, leaf by leaf (one source submission)."""
    out: dict[str, dict[str, int | None]] = {}
    for rec in sources.to_dict("records"):
        out[str(rec["leaf_code"])] = {ref: int_or_none(rec.get(field))
                                      for ref, field in PLAN_FIELDS.items()}
    return out


def _guide(*, year_label: str, prefecture_label: str, share_tolerance: int, submit_to: str,
           how: str, deadline: str) -> list[tuple[str, str]]:
    return [
        ("title", f"{year_label} 地域医療介護総合確保基金（介護従事者の確保分） 執行実績（事後評価） "
                  "記入要領"),
        ("text", f"対象: {prefecture_label}"),
        ("head", "1. 記入するところ"),
        ("text", "「実績」シートの黄色のセルだけに入力します。灰色のセル（計、総額、小計、合計）は"
                 "自動で計算されます。"),
        ("text", "「計画（参照）」欄は、登録済みの現在の計画（当初計画または変更後の計画）の値です。"
                 "変更できません（書き換えると差戻しになります）。"),
        ("text", "基金年度は様式上部の年度、執行年度はその右の執行年度です。同じ基金年度の事業を"
                 "複数の年度にわたって執行した場合は、執行年度ごとに別の様式で提出します。"),
        ("head", "2. 執行額"),
        ("text", "執行額は千円単位の整数（0以上）で、国 (A)、都道府県 (B)、その他 (C) に分けて"
                 "入力します。執行しなかった事業は空欄のままにします（空欄は「執行なし」、0 は"
                 "「事業は実施したが執行額は0」の意味になります）。"),
        ("text", "執行額が計画額を超える場合はセルが黄色で表示されます（確認をお願いします）。"
                 "計画のない事業に執行額を入力した場合も確認の対象になります（計画外の執行）。"),
        ("head", "3. 事後評価"),
        ("text", "アウトプット実績（例: 研修受講者数 180人）、達成状況（達成・一部達成・未達成・"
                 "未実施から選択）、一部達成・未達成・未実施の場合はその理由を入力します。"),
        ("head", "4. 提出"),
        ("text", f"提出先: {submit_to}"),
        ("text", f"提出方法: {how}"),
        ("text", f"提出期限: {deadline}"),
    ]


ACTUAL = dataclasses.replace(
    PLAN,
    kind="actual",
    stage="actual",
    stage_label="実績",
    template_version="1",
    accepted_versions=(),
    main_sheet="実績",
    columns=_COLUMNS,
    title="{year_label} 地域医療介護総合確保基金（介護従事者の確保分） 執行実績（事後評価）",
    year_label="基金年度",
    meta_cells=(MetaCell("exec_year", "G2", "H2", "執行年度"),),
    live_rules=_live_rules,
    live_rule_columns={"not-whole-number": ("actual_national", "actual_other"),
                       "actual-over-plan": ("actual_national", "actual_prefectural")},
    live_warning_rules=frozenset({"actual-over-plan"}),
    amount_messages=(
        "執行額（千円）",
        "千円単位の0以上の整数で入力してください。執行がない場合は空欄のままにします。",
        "入力できない値です",
        "金額は千円単位の0以上の整数で入力してください（例: 1234）。"),
    schema=actual_schema,
    cell_rules=frozenset({"negative-amount", "amount-too-large", "text-too-long",
                          "invalid-choice"}),
    row_rules={
        "actual-over-plan": RowRule("actual_fund", ("actual_national", "actual_prefectural")),
        "actual-unplanned": RowRule("actual_national",
                                    ("actual_national", "actual_prefectural", "actual_other")),
    },
    rule_params=_rule_params,
    guide=_guide,
    choices={"achievement": ACHIEVEMENTS},
    meta_keys=(*PLAN.meta_keys, "exec_year", REFERENCE_IDS),
    header_meta=("exec_year", REFERENCE_IDS),
    references=_references,
)
