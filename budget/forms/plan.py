"""The 計画 form: the planning workbook of one fiscal year, as the value ``PLAN``.

``generate`` writes a workbook from ``PLAN`` and ``budget.intake`` reads and checks one with
it, so a column, a header cell, a formula or a rule never has two definitions that could
drift apart. The types are in ``budget.forms.base``; the rows' pandera schema is built on
first use (``plan_schema``), since pandera costs ~0.5 s to import.

Template versions: 1 (R5 計画 files sent out before the form was named in ``_meta``: read
as this form), 2 (``_meta`` names the form and the stage), 3 (drawn for typing: 担当部署
merged over B3:C3 and wrapped, the label columns through 細目 frozen, the guide on one
page). Versions 1 and 2 have the same cells and are still read.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from budget.forms.base import (
    META_SHEET,
    Column,
    Form,
    HeaderInput,
    RowRule,
    col_index,
    int_or_none,
    is_na,
    parse_template_file_name,
)

#: The largest amount one cell may hold, in 千円 (100億円: more than any one project of the
#: fund; a larger figure is almost surely typed in 円).
MAX_AMOUNT = 10_000_000

#: Default tolerance of the 2/3 national share, in 千円 (a real plan is off by ~1.3).
DEFAULT_SHARE_TOLERANCE = 2

_COLUMNS: tuple[Column, ...] = (
    Column("category", "区分", "", "A", "label", 11),
    Column("mid_category", "中項目", "", "B", "label", 16),
    Column("item_no", "No.", "", "C", "label", 4.5),
    Column("item_name", "事業名", "", "D", "label", 30),
    Column("sub_item", "細目", "", "E", "label", 30),
    Column("bureaus", "担当課", "", "F", "label", 17),
    Column("total", "総事業費\n(A+B+C)", "", "G", "formula", 12,
           parts=("national", "prefectural", "other")),
    Column("national", "国\n(A)", "基金", "H", "amount", 12),
    Column("prefectural", "都道府県\n(B)", "基金", "I", "amount", 12),
    Column("fund", "計\n(A+B)", "基金", "J", "formula", 12, parts=("national", "prefectural")),
    Column("other", "その他\n(C)", "", "K", "amount", 12),
    Column("public", "公", "国(A)の内訳", "L", "amount", 11),
    Column("private", "民", "国(A)の内訳", "M", "amount", 11),
    Column("commissioned", "うち受託事業等\n（再掲）", "国(A)の内訳", "N", "amount", 12),
    Column("implementer", "事業の実施主体", "", "O", "text", 18, 200),
    Column("output", "事業量・\nアウトプット指標", "", "P", "text", 24, 400),
    Column("remarks", "備考", "", "Q", "text", 20, 400),
    Column("leaf_code", "leaf_code", "", "R", "code", 10),
)
_COLUMN = {c.key: c for c in _COLUMNS}


# --- Conditional formatting: the §2 rules shown while the user types ------------------


def _live_rules(row: int, share_tolerance: int) -> dict[str, str]:
    """Conditional-format formulas, written for the top-left cell of each rule's range
    (``Form.live_rule_columns``) on leaf row ``row``.

    Excel and LibreOffice shift a rule's relative references to every cell of its range, so
    a rule about a row's amounts pins their columns (``$H8``): it must test the same cells
    wherever in the range it is applied. Only ``not-whole-number`` is relative: each cell
    tests itself.
    """
    def pinned(key: str) -> str:
        return f"${_COLUMN[key].letter}{row}"

    a, b = pinned("national"), pinned("prefectural")
    pub, priv, com = pinned("public"), pinned("private"), pinned("commissioned")
    own = _COLUMN["national"].ref(row)  # the top-left cell of not-whole-number's range
    amounts = f"{pinned('national')}:{pinned('commissioned')}"
    public_private = f"AND(OR(ISNUMBER({pub}),ISNUMBER({priv})),N({pub})+N({priv})<>N({a}))"
    commissioned = f"AND(ISNUMBER({com}),{com}>N({priv}))"
    return {
        # not a whole non-negative number (text pasted in, a negative, a fraction)
        "not-whole-number": (
            f"=AND({own}<>\"\",OR(ISTEXT({own}),"
            f"AND(ISNUMBER({own}),OR({own}<0,{own}<>INT({own})))))"
        ),
        # A should be 2/3 of A+B within the tolerance (whole 千円 make it inexact); as on
        # ingest, it applies once A or B is entered, a blank counting 0
        "national-share": (
            f"=AND(OR(ISNUMBER({a}),ISNUMBER({b})),"
            f"ABS(N({a})*3-(N({a})+N({b}))*2)>{share_tolerance}*3)"
        ),
        # 公 + 民 = A
        "public-private-sum": f"={public_private}",
        # うち受託事業等 <= 民
        "commissioned-over-private": f"={commissioned}",
        # the row's labels turn red when any error rule holds on the row
        "row-has-error": (
            f"=OR(COUNTIF({amounts},\"<0\")>0,SUMPRODUCT(--ISTEXT({amounts}))>0,"
            f"{public_private},{commissioned})"
        ),
    }




# --- The rules of a returned plan (domain.md §2) ---------------------------------------


def _national_share_within(df: Any, tolerance: int) -> Any:
    """国 (A) ≈ 2/3 of (A+B) within ``tolerance`` 千円, when A or B is entered (blank counts 0):
    |A − 2/3·(A+B)| = |A − 2B| / 3 ≤ tolerance."""
    entered = df["national"].notna() | df["prefectural"].notna()
    gap = (df["national"].fillna(0) - 2 * df["prefectural"].fillna(0)).abs()
    return ~entered | (gap <= 3 * tolerance)


def _within_share(national: int, prefectural: int, tolerance: int) -> bool:
    """国 = 2/3 of (国 + 都道府県 (B)) within ``tolerance`` 千円: |national − 2B| ≤ 3·tolerance
    (the rule of ``_national_share_within``, for one row's numbers)."""
    return abs(national - 2 * prefectural) <= 3 * tolerance


def public_private_target(v: Mapping[str, int | None], share_tolerance: int) -> str:
    """The cell a 公 + 民 ≠ 国 (A) finding points at: the one most likely wrong, decided from
    the row (blank counts 0), in this order:

    * 民 when 公 alone equals 国 (A): 民 was entered on top of a complete 公;
    * 公 when 民 alone equals 国 (A): the same the other way round;
    * 国 (A) when 公 + 民 is 2/3 of (公 + 民 + 都道府県 (B)) within the share tolerance and
      国 (A) is not: the split agrees with 都道府県 (B), 国 (A) does not;
    * otherwise 公: the split itself is wrong.

    The finding's message says which case it is (``_public_private_fix``)."""
    a, p, m, b = (v["national"] or 0), v["public"], v["private"], v["prefectural"]
    if p is not None and p == a:
        return "private"
    if m is not None and m == a:
        return "public"
    if (b is not None and _within_share((p or 0) + (m or 0), b, share_tolerance)
            and not _within_share(a, b, share_tolerance)):
        return "national"
    return "public"


def _public_private_fix(v: Mapping[str, int | None], share_tolerance: int) -> str:
    """What to do about a 公 + 民 ≠ 国 (A) row: why its cell was chosen, then the fix."""
    target = public_private_target(v, share_tolerance)
    if target == "private":
        return ("公 だけで 国 (A) と同じ額のため、民 の額を誤りとして示しています。"
                "民 を確認し、公 + 民 が 国 (A) と等しくなるよう入力し直してください。")
    if target == "national":
        return (f"公 + 民 は 都道府県 (B) {_money(v['prefectural'])} に対して国の負担割合"
                "（3 分の 2）に合っているため、国 (A) の額を誤りとして示しています。"
                "国 (A) を確認し、公 + 民 と等しくなるよう入力し直してください。")
    if v["private"] is not None and v["private"] == (v["national"] or 0):
        return ("民 だけで 国 (A) と同じ額のため、公 の額を誤りとして示しています。"
                "公 を確認し、公 + 民 が 国 (A) と等しくなるよう入力し直してください。")
    return "公 と 民 の内訳を、合計が 国 (A) と等しくなるよう入力し直してください。"


@functools.cache
def plan_schema(share_tolerance: int) -> Any:
    """The pandera schema of a returned plan's rows at ``share_tolerance`` 千円.

    One row per menu leaf, in menu order: Int64 amounts (<NA> = blank), text or None. Each
    check's name is the finding code it becomes; ``budget.intake.check`` maps pandera's
    failure cases (column, check, index) to the workbook cell: a column check's column and
    index name the cell, a row check's index the row (``PLAN.row_rules`` says which cell).
    Checks ignore blanks (pandera drops <NA> before a column check). total and fund are
    recomputed from the inputs, so only the inputs are checked.
    """
    import pandas as pd
    import pandera.pandas as pa

    amount_checks = [pa.Check(lambda s: s >= 0, name="negative-amount"),
                     pa.Check(lambda s: s <= MAX_AMOUNT, name="amount-too-large")]

    def text_checks(key: str) -> list[Any]:
        limit = _COLUMN[key].max_length
        return [pa.Check(lambda s: s.str.len() <= limit, name="text-too-long")]

    columns: dict[str, Any] = {"leaf_code": pa.Column(str), "excel_row": pa.Column(int)}
    for col in _COLUMNS:
        if col.kind == "formula":
            columns[col.key] = pa.Column(pd.Int64Dtype(), nullable=True)
        elif col.kind == "amount":
            columns[col.key] = pa.Column(pd.Int64Dtype(), amount_checks, nullable=True)
        elif col.kind == "text":
            columns[col.key] = pa.Column(str, text_checks(col.key), nullable=True)

    def public_private_sum(df: Any) -> Any:
        """公 + 民 = 国 (A), when 公 or 民 is entered (blank counts 0)."""
        entered = df["public"].notna() | df["private"].notna()
        total = df["public"].fillna(0) + df["private"].fillna(0)
        return ~entered | (total == df["national"].fillna(0))

    def commissioned_within_private(df: Any) -> Any:
        """うち受託事業等 ≤ 民, when うち受託事業等 is entered (blank 民 counts 0)."""
        return df["commissioned"].isna() | (df["commissioned"] <= df["private"].fillna(0))

    return pa.DataFrameSchema(
        columns,
        checks=[
            pa.Check(public_private_sum, name="public-private-sum"),
            pa.Check(commissioned_within_private, name="commissioned-over-private"),
            pa.Check(functools.partial(_national_share_within, tolerance=share_tolerance),
                     name="national-share"),
        ],
        strict=True, ordered=True, name="PlanSchema",
    )


def _money(value: int | None) -> str:
    return "空欄" if value is None else f"{value:,}"


def _decimal(value: float) -> str:
    return f"{value:,.1f}".removesuffix(".0")


def _rule_params(check: str, v: Mapping[str, int | None], share_tolerance: int
                 ) -> dict[str, object]:
    """The message parameters of a row rule's finding, from the row's input amounts."""
    if check == "national-share":
        a, b = v["national"] or 0, v["prefectural"] or 0
        return {"national": _money(v["national"]), "fund": _money(a + b),
                "expected": _decimal(2 * (a + b) / 3), "diff": _decimal(abs(a - 2 * b) / 3),
                "tolerance": share_tolerance}
    if check == "public-private-sum":
        return {"public": _money(v["public"]), "private": _money(v["private"]),
                "sum": _money((v["public"] or 0) + (v["private"] or 0)),
                "national": _money(v["national"]), "fix": _public_private_fix(v, share_tolerance)}
    return {"commissioned": _money(v["commissioned"]), "private": _money(v["private"])}


# --- The guide sheet --------------------------------------------------------------------


def _guide(*, year_label: str, prefecture_label: str, share_tolerance: int, submit_to: str,
           how: str, deadline: str) -> list[tuple[str, str]]:
    """The 記入要領 sheet's lines: (kind, text), kind "title" | "head" | "text"."""
    return [
        ("title", f"{year_label} 地域医療介護総合確保基金（介護従事者の確保分） 都道府県計画 記入要領"),
        ("text", f"対象: {prefecture_label}"),
        ("head", "1. 記入するところ"),
        ("text", "「計画」シートの黄色のセルだけに入力します。灰色のセル（総事業費、計、小計、合計）は"
                 "自動で計算されます。メニューの行（区分・事業名など）は変更できません。"),
        ("text", "最初に、シート上部の担当部署・担当者名・電話番号・メールアドレスを入力してください。"),
        ("text", "実施する事業の行に金額を入力します。実施しない事業は空欄のままにしてください"
                 "（空欄は「計画なし」、0 は「計画はあるが金額は0」の意味になります）。"),
        ("text", "行の挿入・削除、シートの追加・削除、ファイル名の変更はしないでください。"),
        ("head", "2. 金額の単位と書き方"),
        ("text", "金額はすべて千円単位の整数（0以上）で入力します。円単位で入力しないでください"
                 "（例: 1,234,000円 → 1234）。マイナス（▲・△）や小数は入力できません。"),
        ("head", "3. 金額のきまり"),
        ("text", "総事業費 (A+B+C) = 基金 国 (A) + 基金 都道府県 (B) + その他 (C)（自動計算）"),
        ("text", "基金 計 (A+B) = 国 (A) + 都道府県 (B)（自動計算）"),
        ("text", f"国 (A) は 計 (A+B) のおおむね 3分の2、都道府県 (B) はおおむね 3分の1 です。"
                 f"千円未満の端数のため完全には一致しませんが、差が {share_tolerance} 千円を超えると"
                 "セルが黄色で表示されます（確認をお願いします）。"),
        ("text", "公 + 民 = 国 (A) となるよう、国 (A) を公的主体・民間主体向けに分けて入力します。"),
        ("text", "うち受託事業等（再掲）は 民 のうち委託等で実施する額を再掲します（民 を超えることはできません）。"
                 "合計には加算されません。"),
        ("text", "その他 (C) は事業者負担など基金以外の財源です。"),
        ("text", "きまりに合わない入力は、入力中にセルが赤色（誤り）または黄色（確認）で表示されます。"),
        ("head", "4. 金額以外の入力"),
        ("text", "事業の実施主体（例: 県社会福祉協議会、委託先）、事業量・アウトプット指標"
                 "（例: 研修受講者数 200人）、備考を入力します。"),
        ("head", "5. 提出"),
        ("text", f"提出先: {submit_to}"),
        ("text", f"提出方法: {how}"),
        ("text", f"提出期限: {deadline}"),
        ("text", "提出されたファイルは自動で確認されます。誤りがあると、誤りのあるセルに色とコメントを付けた"
                 "ファイルが「エラー一覧」シート付きで返送されますので、修正して再提出してください。"),
    ]

PLAN = Form(
    kind="plan",
    stage="plan",
    stage_label="計画",
    template_version="3",
    accepted_versions=("1",),
    older_versions=("2",),
    main_sheet="計画",
    guide_sheet="記入要領",
    columns=_COLUMNS,
    title="{year_label} 地域医療介護総合確保基金（介護従事者の確保分） 都道府県計画",
    year_label_cell="A2",
    year_label="年度",
    year_cell="B2",
    prefecture_label_cell="D2",
    prefecture_label="都道府県",
    prefecture_cell="E2",
    header_inputs=(
        HeaderInput("department", "A3", "B3", "担当部署", 100),
        HeaderInput("contact_name", "D3", "E3", "担当者名", 60),
        HeaderInput("phone", "A4", "B4", "電話番号", 40),
        HeaderInput("email", "D4", "E4", "メールアドレス", 120),
    ),
    # 担当部署 takes a whole department's name (「東京都 福祉局 高齢者施策推進部 介護保険課」):
    # its cell spans the empty C3 beside it, two lines high
    input_merges=(("B3", "C3"),),
    notes=(("G4", "（単位：千円）"),
           ("G5", "黄色のセルに入力してください。灰色のセルは自動計算です。")),
    group_header_row=6,
    header_row=7,
    first_data_row=8,
    live_rules=_live_rules,
    live_rule_columns={
        "not-whole-number": ("national", "commissioned"),
        "national-share": ("national", "prefectural"),
        "public-private-sum": ("public", "private"),
        "commissioned-over-private": ("commissioned", "commissioned"),
        "row-has-error": ("category", "bureaus"),
    },
    live_warning_rules=frozenset({"national-share"}),
    default_share_tolerance=DEFAULT_SHARE_TOLERANCE,
    amount_messages=(
        "金額（千円）",
        "千円単位の0以上の整数で入力してください。計画しない場合は空欄のままにします。",
        "入力できない値です",
        "金額は千円単位の0以上の整数で入力してください（例: 1234）。"
        "マイナスや小数、文字は入力できません。"),
    schema=plan_schema,
    cell_rules=frozenset({"negative-amount", "amount-too-large", "text-too-long"}),
    row_rules={
        "national-share": RowRule("national", ("national", "prefectural")),
        "public-private-sum": RowRule("public", ("public", "private", "national"),
                                      choose=public_private_target),
        "commissioned-over-private": RowRule("commissioned", ("commissioned", "private")),
    },
    rule_params=_rule_params,
    guide=_guide,
)


# --- Names the rest of the package still reads (all derived from PLAN) ----------------
TEMPLATE_VERSION = PLAN.template_version
PLAN_SHEET = PLAN.main_sheet
GUIDE_SHEET = PLAN.guide_sheet
COLUMNS = PLAN.columns
COLUMN = PLAN.column
AMOUNT_KEYS = PLAN.amount_keys
FORMULA_KEYS = PLAN.formula_keys
MONEY_KEYS = PLAN.money_keys
TEXT_KEYS = PLAN.text_keys
INPUT_KEYS = PLAN.input_keys
LABEL_KEYS = PLAN.label_keys
FIRST_DATA_ROW = PLAN.first_data_row
HEADER_ROW = PLAN.header_row
YEAR_CELL = PLAN.year_cell
PREFECTURE_CELL = PLAN.prefecture_cell
#: key → (label cell, input cell, Japanese label, max length)
HEADER_INPUTS = {h.key: (h.label_cell, h.input_cell, h.label, h.max_length)
                 for h in PLAN.header_inputs}
META_KEYS = PLAN.meta_keys
FORMULA_PARTS = {k: PLAN.column[k].parts for k in PLAN.formula_keys}
row_formula_value = PLAN.row_formula_value
leaf_rows = PLAN.leaf_rows
summary_rows = PLAN.summary_rows
template_file_name = PLAN.file_name

__all__ = [
    "PLAN", "MAX_AMOUNT", "DEFAULT_SHARE_TOLERANCE", "META_SHEET", "plan_schema", "col_index",
    "int_or_none", "is_na", "parse_template_file_name",
]
