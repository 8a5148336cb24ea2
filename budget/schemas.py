"""pandera schemas of the package's DataFrames.

Imported only by the code that validates (pandera costs ~0.5 s to import). No
``from __future__ import annotations`` here: pandera reads the annotations at class creation.
"""

import copy
import functools

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from budget.fiscal import FIRST_FUND_YEAR
from budget.forms import plan as layout
from budget.intake.check import MAX_AMOUNT
from budget.menu import BUREAU_SEPARATOR, SUB_ITEM_LETTERS, known_bureaus

LEAF_CODE_PATTERN = rf"^R\d+-\d{{2}}(-[{SUB_ITEM_LETTERS}])?$"


class MenuSchema(pa.DataFrameModel):
    """One row per leaf of a fiscal year's menu."""

    fiscal_year: Series[int] = pa.Field(ge=FIRST_FUND_YEAR, le=2200)
    leaf_code: Series[str] = pa.Field(unique=True, str_matches=LEAF_CODE_PATTERN)
    category: Series[str] = pa.Field(str_length={"min_value": 1})
    mid_category: Series[str]
    item_no: Series[int] = pa.Field(ge=1, le=99)
    item_name: Series[str] = pa.Field(str_length={"min_value": 1})
    sub_item: Series[str] = pa.Field(isin=["", *SUB_ITEM_LETTERS])
    sub_item_name: Series[str]
    description: Series[str]
    bureaus: Series[str] = pa.Field(str_length={"min_value": 1})
    note_raw: Series[str]
    start_fy: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    start_supplementary: Series[bool]
    expanded_fy: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    seed_lines: Series[str]
    provenance: Series[str]

    class Config:
        strict = True
        ordered = True

    @pa.dataframe_check(error="担当課が budget/data/bureaus.csv にありません")
    def bureaus_known(cls, df):
        known = known_bureaus()
        return df["bureaus"].map(
            lambda s: all(b in known for b in s.split(BUREAU_SEPARATOR))
        )

    @pa.dataframe_check(error="開始年度 start_fy は 2015 年度からメニューの年度までです")
    def start_year_in_range(cls, df):
        ok = df["start_fy"].between(FIRST_FUND_YEAR, df["fiscal_year"])
        return ok.fillna(False).astype(bool) | df["start_fy"].isna()

    @pa.dataframe_check(error="開始年度が空欄の行は provenance に理由が必要です")
    def missing_start_year_noted(cls, df):
        return df["start_fy"].notna() | (df["provenance"].str.len() > 0)

    @pa.dataframe_check(error="leaf_code は R<令和年>-<番号2桁>[-<細目>] の形です")
    def leaf_code_matches_item(cls, df):
        expected = (
            "R" + (df["fiscal_year"] - 2018).astype(str) + "-"
            + df["item_no"].map("{:02d}".format)
            + df["sub_item"].map(lambda s: f"-{s}" if s else "")
        )
        return df["leaf_code"] == expected

    @pa.dataframe_check(error="1つのメニューは1つの年度です")
    def one_year(cls, df):
        return df["fiscal_year"] == df["fiscal_year"].iloc[0]

    @pa.dataframe_check(error="事業番号が昇順ではありません")
    def in_item_order(cls, df):
        return df["item_no"].diff().fillna(0) >= 0

    @pa.dataframe_check(error="同じ事業の細目で事業名・区分・中項目が異なります")
    def item_consistent(cls, df):
        cols = ["item_name", "category", "mid_category"]
        n = df.groupby("item_no")[cols].transform("nunique").max(axis=1)
        return n == 1


# --- A returned plan (budget.intake.check) ----------------------------------------------------
# Each check's name is the finding code it becomes; budget.intake.check maps pandera's failure
# cases (column, check, index) to the workbook cell: a column check's column and index name
# the cell, a row check's index the row. Rows hold normalised values: Int64 amounts (<NA> =
# blank), text or None. Checks ignore blanks (pandera drops <NA> before a column check).


class PlanSchema(pa.DataFrameModel):
    """One row per menu leaf of a returned plan, in menu order (domain.md §2).

    The 2/3 national-share rule depends on a setting (the tolerance): ``plan_schema`` adds it.
    """

    leaf_code: Series[str]  # unique per file by construction (duplicate rows are findings)
    excel_row: Series[int]
    total: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    national: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    prefectural: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    fund: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    other: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    public: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    private: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    commissioned: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    implementer: Series[str] = pa.Field(nullable=True)
    output: Series[str] = pa.Field(nullable=True)
    remarks: Series[str] = pa.Field(nullable=True)

    class Config:
        strict = True
        ordered = True

    # total and fund are recomputed from the inputs, so only the inputs are checked.
    @pa.check(*layout.AMOUNT_KEYS, name="negative-amount")
    def non_negative(cls, s):
        return s >= 0

    @pa.check(*layout.AMOUNT_KEYS, name="amount-too-large")
    def not_too_large(cls, s):
        return s <= MAX_AMOUNT

    @pa.check(*layout.TEXT_KEYS, name="text-too-long")
    def text_not_too_long(cls, s):
        return s.str.len() <= layout.COLUMN[s.name].max_length

    @pa.dataframe_check(name="public-private-sum")
    def public_private_sum(cls, df):
        """公 + 民 = 国 (A), when 公 or 民 is entered (blank counts 0)."""
        entered = df["public"].notna() | df["private"].notna()
        total = df["public"].fillna(0) + df["private"].fillna(0)
        return ~entered | (total == df["national"].fillna(0))

    @pa.dataframe_check(name="commissioned-over-private")
    def commissioned_within_private(cls, df):
        """うち受託事業等 ≤ 民, when うち受託事業等 is entered (blank 民 counts 0)."""
        return df["commissioned"].isna() | (df["commissioned"] <= df["private"].fillna(0))


def national_share_within(df, tolerance: int):
    """国 (A) ≈ 2/3 of (A+B) within ``tolerance`` 千円, when A or B is entered (blank counts 0):
    |A − 2/3·(A+B)| = |A − 2B| / 3 ≤ tolerance."""
    entered = df["national"].notna() | df["prefectural"].notna()
    gap = (df["national"].fillna(0) - 2 * df["prefectural"].fillna(0)).abs()
    return ~entered | (gap <= 3 * tolerance)


@functools.cache
def plan_schema(share_tolerance: int) -> pa.DataFrameSchema:
    """``PlanSchema`` plus its national-share check at ``share_tolerance`` 千円."""
    schema = copy.deepcopy(PlanSchema.to_schema())
    schema.checks = [*schema.checks, pa.Check(
        functools.partial(national_share_within, tolerance=share_tolerance),
        name="national-share")]
    return schema
