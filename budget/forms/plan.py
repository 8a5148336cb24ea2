"""The planning workbook's shape: the one place that knows it.

``generate`` writes a workbook from this module and ``read`` reads one back with it, so a
column, a header cell or a formula never has two definitions that could drift apart.

Coordinates: ``row`` is the 1-based Excel row number and ``letter`` the Excel column letter,
as a clerk reads them (``計画!J18``). xlsxwriter wants 0-based indices: use ``row - 1`` and
``col_index``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from budget.menu import bureau_list

if TYPE_CHECKING:
    import pandas as pd

#: Bump when anything below changes in a way an older workbook cannot be read with.
TEMPLATE_VERSION = "1"

GUIDE_SHEET = "記入要領"
PLAN_SHEET = "計画"
META_SHEET = "_meta"  # very hidden; what ingest needs to trust the file

Kind = Literal["label", "formula", "amount", "text", "code"]


@dataclass(frozen=True)
class Column:
    key: str  # internal name, also the store's column name for amounts and texts
    header: str  # Japanese header (the lower header row)
    group: str  # upper header row (merged across a group), "" where none
    letter: str
    kind: Kind
    width: float
    max_length: int | None = None  # text inputs: longest accepted text

    @property
    def col_index(self) -> int:
        """0-based column index (xlsxwriter's)."""
        return col_index(self.letter)

    def ref(self, row: int) -> str:
        """``"H8"``."""
        return f"{self.letter}{row}"


def col_index(letter: str) -> int:
    n = 0
    for ch in letter:
        n = n * 26 + ord(ch) - 64
    return n - 1


COLUMNS: tuple[Column, ...] = (
    Column("category", "区分", "", "A", "label", 11),
    Column("mid_category", "中項目", "", "B", "label", 16),
    Column("item_no", "No.", "", "C", "label", 4.5),
    Column("item_name", "事業名", "", "D", "label", 30),
    Column("sub_item", "細目", "", "E", "label", 30),
    Column("bureaus", "担当課", "", "F", "label", 17),
    Column("total", "総事業費\n(A+B+C)", "", "G", "formula", 12),
    Column("national", "国\n(A)", "基金", "H", "amount", 12),
    Column("prefectural", "都道府県\n(B)", "基金", "I", "amount", 12),
    Column("fund", "計\n(A+B)", "基金", "J", "formula", 12),
    Column("other", "その他\n(C)", "", "K", "amount", 12),
    Column("public", "公", "国(A)の内訳", "L", "amount", 11),
    Column("private", "民", "国(A)の内訳", "M", "amount", 11),
    Column("commissioned", "うち受託事業等\n（再掲）", "国(A)の内訳", "N", "amount", 12),
    Column("implementer", "事業の実施主体", "", "O", "text", 18, 200),
    Column("output", "事業量・\nアウトプット指標", "", "P", "text", 24, 400),
    Column("remarks", "備考", "", "Q", "text", 20, 400),
    Column("leaf_code", "leaf_code", "", "R", "code", 10),
)
COLUMN = {c.key: c for c in COLUMNS}
AMOUNT_KEYS = tuple(c.key for c in COLUMNS if c.kind == "amount")
FORMULA_KEYS = tuple(c.key for c in COLUMNS if c.kind == "formula")
MONEY_KEYS = tuple(c.key for c in COLUMNS if c.kind in ("amount", "formula"))  # G..N
TEXT_KEYS = tuple(c.key for c in COLUMNS if c.kind == "text")
INPUT_KEYS = AMOUNT_KEYS + TEXT_KEYS
LABEL_KEYS = tuple(c.key for c in COLUMNS if c.kind == "label")
CODE_COLUMN = COLUMN["leaf_code"]
LAST_VISIBLE = COLUMN["remarks"]

#: Header block of the 計画 sheet.
TITLE_ROW = 1
YEAR_CELL = "B2"  # 令和5年度（2023年度）
PREFECTURE_CELL = "E2"  # 13 東京都
#: Input cells of the header: key → (label cell, input cell, Japanese label, max length).
HEADER_INPUTS: dict[str, tuple[str, str, str, int]] = {
    "department": ("A3", "B3", "担当部署", 100),
    "contact_name": ("D3", "E3", "担当者名", 60),
    "phone": ("A4", "B4", "電話番号", 40),
    "email": ("D4", "E4", "メールアドレス", 120),
}
UNIT_CELL = "G4"
UNIT_TEXT = "（単位：千円）"
#: Fixed texts of the header block (``read``/``validate`` check they are unchanged).
PLAN_TITLE = "{year_label} 地域医療介護総合確保基金（介護従事者の確保分） 都道府県計画"  # A1
YEAR_LABEL_CELL, YEAR_LABEL = "A2", "年度"
PREFECTURE_LABEL_CELL, PREFECTURE_LABEL = "D2", "都道府県"
NOTE_CELL, NOTE_TEXT = "G5", "黄色のセルに入力してください。灰色のセルは自動計算です。"
GROUP_HEADER_ROW = 6
HEADER_ROW = 7
FIRST_DATA_ROW = 8  # the first leaf row; leaves follow in menu order, one row each

SUBTOTAL_PREFIX = "#subtotal:"  # code column of a 大項目 subtotal row: "#subtotal:基盤整備"
TOTAL_CODE = "#total"
TOTAL_LABEL = "合計"
SUBTOTAL_LABEL = "小計（{category}）"
HEADER_CODE = "leaf_code"  # code column of the header row


def summary_label(code: str) -> str:
    """The visible label of a subtotal or total row, from its code."""
    if code == TOTAL_CODE:
        return TOTAL_LABEL
    return SUBTOTAL_LABEL.format(category=code.removeprefix(SUBTOTAL_PREFIX))


def leaf_rows(n_leaves: int) -> range:
    """Excel rows of the leaves of a menu with ``n_leaves`` leaves."""
    return range(FIRST_DATA_ROW, FIRST_DATA_ROW + n_leaves)


def summary_rows(n_leaves: int, categories: list[str]) -> dict[str, int]:
    """Excel rows of the subtotal rows (by code) and of the grand total, after one blank row."""
    first = FIRST_DATA_ROW + n_leaves + 1
    rows = {SUBTOTAL_PREFIX + cat: first + i for i, cat in enumerate(categories)}
    rows[TOTAL_CODE] = first + len(categories)
    return rows


# --- The locked label cells of a leaf row -------------------------------------------------
# What a leaf row shows of its menu row; ``generate`` writes these texts and ``validate``
# checks a returned workbook still shows them.

@dataclass(frozen=True)
class MenuLeaf:
    """The parts of a menu row the workbook shows."""

    leaf_code: str
    category: str
    mid_category: str
    item_no: int
    item_name: str
    sub_item: str
    sub_item_name: str
    bureaus: tuple[str, ...]
    description: str

    @property
    def sub_item_label(self) -> str:
        return f"{self.sub_item} {self.sub_item_name}".strip()


def menu_leaves(menu: "pd.DataFrame") -> list[MenuLeaf]:
    """The menu's leaves in menu order."""
    return [
        MenuLeaf(
            r.leaf_code, r.category, r.mid_category, int(r.item_no), r.item_name, r.sub_item,
            r.sub_item_name, tuple(bureau_list(r.bureaus)), r.description,
        )
        for r in menu.itertuples(index=False)
    ]


def displayed_labels(leaf: MenuLeaf) -> dict[str, object]:
    """The locked label cells of a leaf row, as the workbook shows them (``read`` compares)."""
    return {
        "category": leaf.category,
        "mid_category": leaf.mid_category,
        "item_no": leaf.item_no,
        "item_name": leaf.item_name,
        "sub_item": leaf.sub_item_label,
        "bureaus": "\n".join(leaf.bureaus),
    }


# --- Formulas -------------------------------------------------------------------------
# Each formula is stored with its cached result (computed by ``generate``), so a
# spreadsheet application that does not recalculate on load still shows the right figure.


#: The input amounts each formula column adds up: 総事業費 = A+B+C, 計 = A+B.
FORMULA_PARTS: dict[str, tuple[str, ...]] = {
    "total": ("national", "prefectural", "other"),
    "fund": ("national", "prefectural"),
}


def row_formula(key: str, row: int) -> str:
    """The formula of a formula column on a leaf row."""
    return f"=SUM({','.join(COLUMN[k].ref(row) for k in FORMULA_PARTS[key])})"


def row_formula_value(key: str, amounts: Mapping[str, object]) -> int | None:
    """The value of ``row_formula`` for the given input amounts: None when every part is
    blank (None, NaN or pandas NA: a sum of blanks stays blank), else the sum with blanks
    as 0. The one rule of the workbook's row arithmetic (generate's cached values, validate's
    recomputation, the summary, the demo)."""
    values = [amounts.get(k) for k in FORMULA_PARTS[key]]
    numbers = [v for v in values if v is not None and not _is_na(v)]
    return sum(numbers) if numbers else None  # type: ignore[arg-type]


def int_or_none(value: object) -> int | None:
    """An integer from a cell or store value; None for None, NaN, pandas NA or a value that
    is not a number."""
    if value is None or _is_na(value):
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _is_na(value: object) -> bool:
    try:
        return bool(value != value)
    except TypeError:  # pandas NA: NA != NA is NA
        return True


def _span(key: str, n_leaves: int, absolute_rows: bool = True) -> str:
    letter = COLUMN[key].letter
    first, last = FIRST_DATA_ROW, FIRST_DATA_ROW + n_leaves - 1
    return f"{letter}${first}:{letter}${last}" if absolute_rows else f"{letter}{first}:{letter}{last}"


def subtotal_formula(key: str, category: str, n_leaves: int) -> str:
    """Subtotal of a money column over the leaves of one 大項目."""
    cat = COLUMN["category"]
    cats = f"${cat.letter}${FIRST_DATA_ROW}:${cat.letter}${FIRST_DATA_ROW + n_leaves - 1}"
    return f'=SUMIF({cats},"{category}",{_span(key, n_leaves)})'


def total_formula(key: str, n_leaves: int) -> str:
    """Grand total of a money column over every leaf."""
    return f"=SUM({_span(key, n_leaves)})"


# --- Conditional formatting: the §2 rules shown while the user types ------------------


def live_rules(row: int, share_tolerance: int) -> dict[str, str]:
    """Conditional-format formulas, written for the top-left cell of each rule's range
    (``LIVE_RULE_COLUMNS``) on leaf row ``row``.

    Excel and LibreOffice shift a rule's relative references to every cell of its range, so
    a rule about a row's amounts pins their columns (``$H8``): it must test the same cells
    wherever in the range it is applied. Only ``not-whole-number`` is relative: each cell
    tests itself.
    """
    def pinned(key: str) -> str:
        return f"${COLUMN[key].letter}{row}"

    a, b = pinned("national"), pinned("prefectural")
    pub, priv, com = pinned("public"), pinned("private"), pinned("commissioned")
    own = COLUMN["national"].ref(row)  # the top-left cell of not-whole-number's range
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


#: Columns each live rule colours (whole leaf-row spans).
LIVE_RULE_COLUMNS: dict[str, tuple[str, str]] = {
    "not-whole-number": ("national", "commissioned"),
    "national-share": ("national", "prefectural"),
    "public-private-sum": ("public", "private"),
    "commissioned-over-private": ("commissioned", "commissioned"),
    "row-has-error": ("category", "bureaus"),
}
#: Rules that only ask the user to check (yellow); the others mark errors (red).
LIVE_WARNING_RULES = frozenset({"national-share"})

#: Default tolerance of the 2/3 national share, in 千円 (a real plan is off by ~1.3).
DEFAULT_SHARE_TOLERANCE = 2


# --- Hidden metadata ------------------------------------------------------------------
#: Keys of the ``_meta`` sheet (column A key, column B value), in order.
META_KEYS = (
    "template_version",
    "fiscal_year",
    "fiscal_year_label",
    "prefecture_code",
    "prefecture_name",
    "menu_fingerprint",
    "menu_leaf_count",
    "first_data_row",
    "tool_version",
    "generated_at",
)


def template_file_name(prefecture_code: str, prefecture_name: str, era: str) -> str:
    """``"13_東京都_R5_計画.xlsx"``: a person finds theirs by code and name."""
    return f"{prefecture_code}_{prefecture_name}_{era}_計画.xlsx"


_TEMPLATE_NAME = re.compile(r"^(\d{1,2})(?!\d)(?:_[^_]*_([RH]\d+)_)?")


def parse_template_file_name(name: str) -> tuple[str, str | None] | None:
    """(two-digit prefecture code, era code or None) of a name written by
    ``template_file_name`` (``13_東京都_R5_計画.xlsx`` → ``("13", "R5")``), read leniently as
    people rename files: full-width digits (NFKC), a folder before it, a one-digit code
    (``1_北海道…``), no era (``13_東京都.xlsx`` → ``("13", None)``). None when the name does
    not start with a code 1–47.
    """
    import unicodedata

    base = unicodedata.normalize("NFKC", re.split(r"[\\/]", name)[-1])
    m = _TEMPLATE_NAME.match(base)
    if not m or not 1 <= int(m.group(1)) <= 47:
        return None
    return m.group(1).zfill(2), m.group(2)
