"""Next year's 計画 pre-filled: the plan form with a locked reference column 前年度計画 (A+B).

Beside each leaf row, the prefecture's current plan of the year before (its newest accepted
計画 or 変更), 基金 (A+B), carried onto this year's items through the crosswalk between the two
menus: items merged into one summed, an item split shared by its shares (whole 千円, the parts
summing to the source; ``budget.analysis.compare.map_forward``). The crosswalk's relations
travel in ``_meta`` (``PREFILL_MAP``), so ingest recomputes the column from the store and the
same relations, and an edited cell is an error (``budget.stages.reference_findings``). The
column is a reference, never an input: no total or formula of the sheet includes it, and
ingest does not store it.
"""

from __future__ import annotations

import dataclasses
import functools
from fractions import Fraction
from typing import Any

from budget.forms.base import REFERENCE_IDS, Column, int_or_none
from budget.forms.plan import PLAN

#: The ``_meta`` key holding the crosswalk's relations (``map_text``).
PREFILL_MAP = "prefill_map"
PREV_KEY = "prev_fund"
NOTE_CELL = "I4"
NOTE = ("「前年度計画 (A+B)」は前年度の現在の計画（参考・変更不可）を年度間の対応表で今年度の事業に"
        "対応させた額です。統合された事業は統合前の合計、分割された事業は割合で按分した額"
        "（千円未満は端数の大きい順に配分）。合計・検査には含みません。")

_COLUMNS: tuple[Column, ...] = (
    *(c for c in PLAN.columns if c.kind != "code"),
    Column(PREV_KEY, "前年度計画\n(A+B)", "", "R", "reference", 12),
    Column("leaf_code", "leaf_code", "", "S", "code", 10),
)


def map_text(crosswalk: Any) -> str:
    """The relations of a crosswalk (from_code, to_code, relation, share) that carry an
    amount, as ``_meta`` text: ``from>to`` or ``from>to=3/5`` (a split), ``;``-separated."""
    from budget.analysis.compare import _targets

    parts = []
    for src, dests in _targets(crosswalk).items():
        for dst, share in dests:
            parts.append(f"{src}>{dst}" + ("" if share == 1 else f"={share}"))
    return ";".join(parts)


def parse_map_text(text: str) -> Any:
    """The crosswalk frame of a ``map_text`` (``ValueError`` when malformed)."""
    import pandas as pd

    rows = []
    for part in filter(None, (text or "").split(";")):
        link, _, share = part.partition("=")
        src, sep, dst = link.partition(">")
        if not sep or not src or not dst:
            raise ValueError(part)
        rows.append({"from_code": src, "to_code": dst,
                     "relation": "split" if share else "same",
                     "share": str(Fraction(share)) if share else "", "note": ""})
    return pd.DataFrame(rows, columns=["from_code", "to_code", "relation", "share", "note"])


def _references(sources: Any, meta: dict[str, str]) -> dict[str, dict[str, int | None]]:
    """前年度計画 (A+B) per this year's leaf, from last year's plan values through the map."""
    import pandas as pd

    from budget.analysis.compare import map_forward

    fund = pd.array([int_or_none(v) for v in sources.get("fund", [None] * len(sources))],
                    dtype="Int64")
    parts = [[int_or_none(v) for v in sources.get(k, [None] * len(sources))]
             for k in ("national", "prefectural")]
    amounts = [f if f is not pd.NA and f is not None else
               (None if a is None and b is None else (a or 0) + (b or 0))
               for f, a, b in zip(fund, *parts)]
    df = pd.DataFrame({"prefecture_code": "x", "leaf_code": sources["leaf_code"].astype(str),
                       "amount": amounts})
    df = df[df["amount"].notna()]
    try:
        crosswalk = parse_map_text(meta.get(PREFILL_MAP, ""))
    except ValueError:
        return {}
    mapped = map_forward(df, [crosswalk])
    mapped = mapped[~mapped["leaf_code"].isin(set(df["leaf_code"]) - set(crosswalk["to_code"]))]
    return {str(code): {PREV_KEY: int(v)} for code, v in zip(mapped["leaf_code"],
                                                             mapped["amount"])}


@functools.cache
def prefill_schema(share_tolerance: int) -> Any:
    """The plan's schema plus the reference column."""
    import pandas as pd
    import pandera.pandas as pa

    from budget.forms.plan import plan_schema

    base = plan_schema(share_tolerance)
    columns = dict(base.columns)
    columns[PREV_KEY] = pa.Column(pd.Int64Dtype(), nullable=True)
    return pa.DataFrameSchema({k: columns[k] for k in PREFILLED_PLAN.row_columns},
                              checks=list(base.checks), strict=True, ordered=True,
                              name="PrefilledPlanSchema")


PREFILLED_PLAN = dataclasses.replace(
    PLAN,
    kind="plan_prefilled",
    template_version="1",
    accepted_versions=(),
    older_versions=(),
    columns=_COLUMNS,
    notes=(*PLAN.notes, (NOTE_CELL, NOTE)),
    schema=prefill_schema,
    meta_keys=(*PLAN.meta_keys, REFERENCE_IDS, PREFILL_MAP),
    header_meta=(REFERENCE_IDS, PREFILL_MAP),
    references=_references,
    reference_year_offset=-1,
    references_use_meta=True,
)
