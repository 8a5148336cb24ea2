"""The 変更 form: a prefecture's plan, changed.

Pre-filled with the prefecture's current accepted plan (the newest accepted 計画 or 変更),
every value editable; beside the inputs, the plan's amounts before the change in locked
reference columns (``budget.forms.base.reference_values``) and a 変更理由 per row. A row whose
amounts differ from the plan's without a reason is a warning. Stored with stage "revision":
the next version of the prefecture's plan.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

from budget.forms.base import REFERENCE_IDS, Column, RowRule, int_or_none
from budget.forms.plan import PLAN

#: The plan's amount inputs shown before the change (reference key = "plan_" + key).
COMPARED = ("national", "prefectural", "other", "public", "private", "commissioned")
REASON_MAX = 400
_REF_GROUP = "変更前の計画（参照）"

_COLUMNS: tuple[Column, ...] = (
    *(c for c in PLAN.columns if c.kind != "code"),
    Column("reason", "変更理由", "", "R", "text", 24, REASON_MAX),
    Column("plan_national", "国\n(A)", _REF_GROUP, "S", "reference", 11),
    Column("plan_prefectural", "都道府県\n(B)", _REF_GROUP, "T", "reference", 11),
    Column("plan_other", "その他\n(C)", _REF_GROUP, "U", "reference", 11),
    Column("plan_public", "公", _REF_GROUP, "V", "reference", 11),
    Column("plan_private", "民", _REF_GROUP, "W", "reference", 11),
    Column("plan_commissioned", "うち受託", _REF_GROUP, "X", "reference", 11),
    Column("leaf_code", "leaf_code", "", "Y", "code", 10),
)


def changed_rows(df: Any) -> Any:
    """Rows (a boolean Series) whose amounts differ from the plan's before the change: a
    value entered where the plan had none, removed, or different (blank is not 0)."""
    import pandas as pd

    changed = pd.Series(False, index=df.index)
    for key in COMPARED:
        now, before = df[key], df["plan_" + key]
        differs = (now.isna() != before.isna()) | (now != before).fillna(False).astype(bool)
        changed |= differs
    return changed


@functools.cache
def revision_schema(share_tolerance: int) -> Any:
    """The plan's schema plus 変更理由, the reference columns and the reason rule."""
    import pandas as pd
    import pandera.pandas as pa

    from budget.forms.plan import plan_schema

    base = plan_schema(share_tolerance)
    columns = dict(base.columns)
    columns["reason"] = pa.Column(str, [pa.Check(lambda s: s.str.len() <= REASON_MAX,
                                                 name="text-too-long")], nullable=True)
    for key in COMPARED:
        columns["plan_" + key] = pa.Column(pd.Int64Dtype(), nullable=True)

    def reason_given(df: Any) -> Any:
        return ~changed_rows(df) | df["reason"].notna()

    return pa.DataFrameSchema(
        {k: columns[k] for k in REVISION.row_columns},
        checks=[*base.checks, pa.Check(reason_given, name="revision-without-reason")],
        strict=True, ordered=True, name="RevisionSchema")


def _rule_params(check: str, v: Mapping[str, int | None], share_tolerance: int
                 ) -> dict[str, object]:
    if check == "revision-without-reason":
        return {}
    return PLAN.rule_params(check, v, share_tolerance)


def _live_rules(row: int, share_tolerance: int) -> dict[str, str]:
    rules = PLAN.live_rules(row, share_tolerance)
    compared = ",".join(f"N(${C[k].letter}{row})<>N(${C['plan_' + k].letter}{row})"
                        for k in COMPARED)
    rules["revision-without-reason"] = f"=AND(${C['reason'].letter}{row}=\"\",OR({compared}))"
    return rules


C = {c.key: c for c in _COLUMNS}


def _references(sources: Any) -> dict[str, dict[str, int | None]]:
    """The plan before the change: its amounts, leaf by leaf (one source submission)."""
    out: dict[str, dict[str, int | None]] = {}
    for rec in sources.to_dict("records"):
        out[str(rec["leaf_code"])] = {"plan_" + k: int_or_none(rec.get(k)) for k in COMPARED}
    return out


def _guide(*, year_label: str, prefecture_label: str, share_tolerance: int, submit_to: str,
           how: str, deadline: str) -> list[tuple[str, str]]:
    lines = PLAN.guide(year_label=year_label, prefecture_label=prefecture_label,
                       share_tolerance=share_tolerance, submit_to=submit_to, how=how,
                       deadline=deadline)
    out = [("title", f"{year_label} 地域医療介護総合確保基金（介護従事者の確保分） "
                     "都道府県計画の変更 記入要領"),
           ("text", f"対象: {prefecture_label}"),
           ("head", "0. 計画の変更"),
           ("text", "「変更」シートには、現在受理されている計画の値があらかじめ入力されています。"
                    "変更する事業の金額・内容を書き換えてください。変更しない行はそのままにします。"),
           ("text", "右側の「変更前の計画（参照）」欄は、登録済みの計画の値です。変更できません"
                    "（書き換えると差戻しになります）。"),
           ("text", "金額を変更した行には、必ず「変更理由」を入力してください（例: 補正予算による増額、"
                    "事業の中止）。変更理由のない変更は確認の対象になります。")]
    for kind, text in lines[2:]:
        out.append((kind, text.replace("「計画」シート", "「変更」シート")))
    return out


REVISION = dataclasses.replace(
    PLAN,
    kind="revision",
    stage="revision",
    stage_label="変更",
    template_version="1",
    accepted_versions=(),
    main_sheet="変更",
    columns=_COLUMNS,
    title="{year_label} 地域医療介護総合確保基金（介護従事者の確保分） 都道府県計画（変更）",
    live_rules=_live_rules,
    live_rule_columns={**PLAN.live_rule_columns,
                       "revision-without-reason": ("reason", "reason")},
    live_warning_rules=PLAN.live_warning_rules | {"revision-without-reason"},
    schema=revision_schema,
    row_rules={**PLAN.row_rules,
               "revision-without-reason": RowRule("reason", COMPARED)},
    rule_params=_rule_params,
    guide=_guide,
    meta_keys=(*PLAN.meta_keys, REFERENCE_IDS),
    header_meta=(REFERENCE_IDS,),
    references=_references,
)
