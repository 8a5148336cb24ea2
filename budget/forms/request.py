"""The 要望 form (所要額調査): what a prefecture asks for, per menu item, the year before.

The plan's shape exactly (columns, rules, formulas): only its identity, sheet name, title and
guide differ, so a 要望 and a 計画 of one prefecture compare leaf by leaf and field by field.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from budget.forms.plan import PLAN


def _guide(**kw: Any) -> list[tuple[str, str]]:
    """The plan's guide, worded for the 所要額調査."""
    lines = PLAN.guide(**kw)
    out = [("title", f"{kw['year_label']} 地域医療介護総合確保基金（介護従事者の確保分） "
                     "所要額調査（要望） 記入要領")]
    for kind, text in lines[1:]:
        text = (text.replace("「計画」シート", "「要望」シート")
                .replace("「計画なし」", "「要望なし」")
                .replace("「計画はあるが金額は0」", "「要望はあるが金額は0」"))
        out.append((kind, text))
    out.insert(2, ("text", "翌年度に実施を予定する事業の所要額（要望額）を、メニューの事業ごとに"
                           "入力してください。内示額はこの要望をもとに決まります。"))
    return out


REQUEST = dataclasses.replace(
    PLAN,
    kind="request",
    stage="request",
    stage_label="要望",
    template_version="1",
    accepted_versions=(),
    main_sheet="要望",
    title="{year_label} 地域医療介護総合確保基金（介護従事者の確保分） 所要額調査（要望）",
    guide=_guide,
)
