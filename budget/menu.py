"""The yearly menu of subsidy items, as data.

A menu is a CSV file, one row per *leaf* (an item without sub-items, or one sub-item イ/ロ/ハ/ニ
of an item). The menus the package ships live in ``budget/menus/`` named by era code
(``R5.csv`` for FY2023); a new year's menu is a new file there, or any file passed with
``--menu PATH``. ``load_menu`` returns it as a DataFrame checked by ``menu_schema``; ``menu_leaves`` gives
its leaves as the workbooks show them.
"""

from __future__ import annotations

import csv
import functools
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from budget.errors import MenuError, UnknownFiscalYear
from budget.fiscal import era_code

if TYPE_CHECKING:
    import pandas as pd

#: Columns of a menu file, in file order.
MENU_COLUMNS = [
    "fiscal_year", "leaf_code", "category", "mid_category", "item_no", "item_name",
    "sub_item", "sub_item_name", "description", "bureaus", "note_raw", "start_fy",
    "start_supplementary", "expanded_fy", "seed_lines", "provenance",
]
#: Columns whose text is printed in the locked part of a workbook: they make the fingerprint.
FINGERPRINT_COLUMNS = [
    "leaf_code", "category", "mid_category", "item_no", "item_name", "sub_item",
    "sub_item_name", "bureaus",
]
BUREAU_SEPARATOR = ";"
SUB_ITEM_LETTERS = "イロハニホヘトチリヌ"


@cache
def known_bureaus() -> dict[str, str]:
    """担当課 → its short name, from ``budget/data/bureaus.csv``."""
    text = resources.files("budget").joinpath("data/bureaus.csv").read_text("utf-8")
    return {r["bureau"]: r["short_name"] for r in csv.DictReader(text.splitlines())}


def shipped_menu_years() -> list[int]:
    """Fiscal years with a menu shipped in the package."""
    years = []
    for entry in resources.files("budget").joinpath("menus").iterdir():
        name = entry.name
        if name.startswith("R") and name.endswith(".csv") and name[1:-4].isdigit():
            years.append(2018 + int(name[1:-4]))
    return sorted(years)


def menu_path(year: int) -> Path:
    """The shipped menu file of a fiscal year."""
    path = Path(str(resources.files("budget").joinpath(f"menus/{era_code(year)}.csv")))
    if not path.is_file():
        have = "、".join(era_code(y) for y in shipped_menu_years()) or "なし"
        raise UnknownFiscalYear(
            f"{era_code(year)}（{year}年度）のメニューは同梱されていません（同梱: {have}）。"
            "--menu でメニューの CSV ファイルを指定してください。"
        )
    return path


def load_menu(year: int | None = None, path: str | Path | None = None, *,
              validate: bool | None = None, content: bytes | None = None) -> "pd.DataFrame":
    """The menu of a fiscal year (shipped) or of a file, checked by ``menu_schema``.

    ``validate=None`` (the default) validates every file from outside the package and
    trusts the menus shipped in ``budget/menus/``: those are package data, validated by the
    test suite (``tests/test_menu.py`` runs the schema over each), and skipping pandera here
    saves ~0.3 s and ~25 MB per command. ``validate=False`` for a file from outside is for
    a caller that knows these very bytes passed these very checks (``checks_version``).
    ``content``: the file's bytes when the caller already read them (not read again).
    Raises ``MenuError`` listing every schema failure.
    """
    import io

    import pandas as pd

    if validate is None:
        validate = path is not None and not is_shipped_menu(path)
    if path is None:
        if year is None:
            raise ValueError("load_menu needs a year or a path")
        path = menu_path(year)
    path = Path(path)
    try:
        df = pd.read_csv(
            path if content is None else io.BytesIO(content), dtype=str,
            keep_default_na=False, encoding="utf-8-sig"
        )
    except FileNotFoundError as exc:
        raise MenuError(f"メニューファイル {path} が見つかりません。") from exc
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise MenuError(f"メニューファイル {path} を CSV (UTF-8) として読めません: {exc}") from exc
    missing = [c for c in MENU_COLUMNS if c not in df.columns]
    if missing:
        raise MenuError(f"メニューファイル {path.name} に列がありません: {', '.join(missing)}")
    try:
        for col in ("fiscal_year", "item_no"):
            df[col] = df[col].astype(int)
        for col in ("start_fy", "expanded_fy"):
            df[col] = pd.to_numeric(df[col].replace("", None)).astype("Int64")
        df["start_supplementary"] = df["start_supplementary"].str.lower().map(
            {"true": True, "false": False, "": False}
        )
        if df["start_supplementary"].isna().any():
            raise ValueError("start_supplementary must be true or false")
        for col in df.columns:
            if df[col].dtype == object or str(df[col].dtype).startswith("str"):
                df[col] = df[col].astype(str)
    except (ValueError, TypeError) as exc:
        raise MenuError(f"メニューファイル {path.name} の値が不正です: {exc}") from exc
    if year is not None and len(df) and int(df["fiscal_year"].iloc[0]) != year:
        raise MenuError(
            f"メニューファイル {path.name} は {df['fiscal_year'].iloc[0]} 年度のものです"
            f"（指定は {year} 年度）。"
        )
    if df.empty:
        raise MenuError(f"メニューファイル {path.name} に行がありません。")
    if validate:
        df = _validated(df, path)
    df.attrs["source"] = str(path)
    return df.reset_index(drop=True)


#: Label columns an earlier edition of a menu may differ in (its workbooks have the same
#: leaves, rows and cells; only these texts were shown differently).
EDITION_COLUMNS = ("mid_category", "item_name", "sub_item_name", "bureaus")


def earlier_editions(menu: "pd.DataFrame") -> dict[str, "pd.DataFrame"]:
    """Earlier editions of ``menu`` whose workbooks are still read: fingerprint → that
    edition, rebuilt from this menu by putting back the cells that ``<name>.earlier.csv``
    beside its file lists (menu_fingerprint, leaf_code, column, value, note). A fix of a
    label's text (R5: 細目 names for items 7 and 8) makes a new menu version, yet a
    workbook made from the earlier one holds the same leaves in the same cells: it is read
    against the labels it shows. Raises ``MenuError`` when a listed fingerprint is not that
    of the edition rebuilt (the file and the menu disagree)."""
    import pandas as pd

    source = menu.attrs.get("source")
    if not source:
        return {}
    path = Path(str(source))
    sidecar = path.with_name(path.stem + ".earlier.csv")
    if not sidecar.is_file():
        return {}
    changes = pd.read_csv(sidecar, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    out: dict[str, "pd.DataFrame"] = {}
    for fingerprint, rows in changes.groupby("menu_fingerprint", sort=False):
        edition = menu.copy()
        for r in rows.itertuples(index=False):
            at = edition.index[edition["leaf_code"] == r.leaf_code]
            if r.column not in EDITION_COLUMNS or len(at) != 1:
                raise MenuError(f"{sidecar.name}: {r.leaf_code} の {r.column} は"
                                "以前の版との違いとして扱えません。")
            edition.loc[at, r.column] = r.value
        if menu_fingerprint(edition) != fingerprint:
            raise MenuError(f"{sidecar.name}: 以前の版 {fingerprint} を再現できません"
                            f"（再現した版の識別子は {menu_fingerprint(edition)}）。")
        out[str(fingerprint)] = edition
    return out


#: What the checks of a menu or crosswalk file are made of, besides the libraries: this
#: module's code, the crosswalk's, the fiscal-year rules, and the list of 担当課.
CHECK_SOURCES = ("menu.py", "crosswalk.py", "fiscal.py", "data/bureaus.csv")


@cache
def checks_version() -> str:
    """The version of the checks a menu or crosswalk file passes (``menu_schema``,
    ``crosswalk.crosswalk_problems``), as 16 hex digits: SHA-256 over the files of
    ``CHECK_SOURCES`` and the pandas and pandera versions. The same bytes checked under
    the same version give the same result, so a file recorded as having passed under it
    need not be checked again; any change to the checks, the 担当課 or the libraries makes
    a new version and every file is checked afresh."""
    from importlib.metadata import version

    import pandas as pd

    h = hashlib.sha256()
    for name in CHECK_SOURCES:
        h.update(resources.files("budget").joinpath(name).read_bytes())
        h.update(b"\x1e")
    h.update(f"pandas {pd.__version__}; pandera {version('pandera')}".encode())
    return h.hexdigest()[:16]


def content_digest(content: bytes) -> str:
    """SHA-256 (hex) of a file's bytes: what a recorded check is keyed by."""
    return hashlib.sha256(content).hexdigest()


def is_shipped_menu(path: str | Path) -> bool:
    """True for a menu file of the package (``budget/menus/``), trusted as package data."""
    shipped = Path(str(resources.files("budget").joinpath("menus"))).resolve()
    return Path(path).resolve().parent == shipped


def _validated(df: "pd.DataFrame", path: Path) -> "pd.DataFrame":
    import pandas as pd
    import pandera.errors

    try:
        return menu_schema().validate(df, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        lines: list[str] = []
        for (index, check), group in cases.groupby(["index", "check"], dropna=False, sort=True):
            where = "" if pd.isna(index) else f"{int(index) + 2} 行目"
            if not pd.isna(index) and "leaf_code" in df.columns:
                where += f"（{df['leaf_code'].iloc[int(index)]}）"
            columns = group["column"].dropna().unique()
            value = group["failure_case"].iloc[0] if len(columns) == 1 else ""
            column = columns[0] if len(columns) == 1 else ""
            lines.append(f"  {where} {column} {check}" + (f": {value}" if value != "" else ""))
        more = f"\n  … ほか {len(lines) - 20} 件" if len(lines) > 20 else ""
        raise MenuError(
            f"メニューファイル {path.name} がスキーマに合いません:\n" + "\n".join(lines[:20]) + more
        ) from exc


def bureau_list(bureaus: str) -> list[str]:
    """``"a;b"`` → ``["a", "b"]``."""
    return [b for b in bureaus.split(BUREAU_SEPARATOR) if b]


def menu_fingerprint(menu: "pd.DataFrame") -> str:
    """SHA-256 over the locked texts of every leaf, in order (hex, first 16 chars).

    A workbook records the fingerprint of the menu it was made from, so ingest can tell a
    template of another menu version from a tampered one.
    """
    h = hashlib.sha256()
    for row in menu[FINGERPRINT_COLUMNS].astype(str).itertuples(index=False):
        h.update("\x1f".join(row).encode("utf-8"))
        h.update(b"\x1e")
    return h.hexdigest()[:16]


LEAF_CODE_PATTERN = rf"^R\d+-\d{{2}}(-[{SUB_ITEM_LETTERS}])?$"


@functools.cache
def menu_schema() -> Any:
    """The pandera schema of a menu: one row per leaf of a fiscal year's menu (pandera is
    imported here, on first use: it costs ~0.5 s)."""
    import pandas as pd
    import pandera.pandas as pa

    from budget.fiscal import FIRST_FUND_YEAR

    def check(error: str):  # a frame-wide check with its Japanese message
        return lambda fn: pa.Check(fn, error=error)

    @check("担当課が budget/data/bureaus.csv にありません")
    def bureaus_known(df):
        parts = df["bureaus"].reset_index(drop=True).str.split(BUREAU_SEPARATOR).explode()
        ok = parts.isin(list(known_bureaus())).groupby(level=0).all()
        return pd.Series(ok.to_numpy(), index=df.index)

    @check("開始年度 start_fy は 2015 年度からメニューの年度までです")
    def start_year_in_range(df):
        ok = df["start_fy"].between(FIRST_FUND_YEAR, df["fiscal_year"])
        return ok.fillna(False).astype(bool) | df["start_fy"].isna()

    @check("開始年度が空欄の行は provenance に理由が必要です")
    def missing_start_year_noted(df):
        return df["start_fy"].notna() | (df["provenance"].str.len() > 0)

    @check("leaf_code は R<令和年>-<番号2桁>[-<細目>] の形です")
    def leaf_code_matches_item(df):
        sub = df["sub_item"].astype(str)
        expected = (
            "R" + (df["fiscal_year"] - 2018).astype(str) + "-"
            + df["item_no"].astype(str).str.zfill(2)
            + ("-" + sub).where(sub != "", "")
        )
        return df["leaf_code"] == expected

    @check("1つのメニューは1つの年度です")
    def one_year(df):
        return df["fiscal_year"] == df["fiscal_year"].iloc[0]

    @check("事業番号が昇順ではありません")
    def in_item_order(df):
        return df["item_no"].diff().fillna(0) >= 0

    @check("同じ事業の細目で事業名・区分・中項目が異なります")
    def item_consistent(df):
        cols = ["item_name", "category", "mid_category"]
        n = df.groupby("item_no")[cols].transform("nunique").max(axis=1)
        return n == 1

    text, nonempty = pa.Column(str), pa.Column(str, pa.Check.str_length(min_value=1))
    return pa.DataFrameSchema(
        {
            "fiscal_year": pa.Column(int, [pa.Check.ge(FIRST_FUND_YEAR), pa.Check.le(2200)]),
            "leaf_code": pa.Column(str, pa.Check.str_matches(LEAF_CODE_PATTERN), unique=True),
            "category": nonempty,
            "mid_category": text,
            "item_no": pa.Column(int, [pa.Check.ge(1), pa.Check.le(99)]),
            "item_name": nonempty,
            "sub_item": pa.Column(str, pa.Check.isin(["", *SUB_ITEM_LETTERS])),
            "sub_item_name": text,
            "description": text,
            "bureaus": nonempty,
            "note_raw": text,
            "start_fy": pa.Column(pd.Int64Dtype(), nullable=True),
            "start_supplementary": pa.Column(bool),
            "expanded_fy": pa.Column(pd.Int64Dtype(), nullable=True),
            "seed_lines": text,
            "provenance": text,
        },
        checks=[bureaus_known, start_year_in_range, missing_start_year_noted,
                leaf_code_matches_item, one_year, in_item_order, item_consistent],
        strict=True, ordered=True, name="MenuSchema",
    )


# --- What a workbook shows of a menu row -----------------------------------------------


@dataclass(frozen=True)
class MenuLeaf:
    """The parts of a menu row the workbooks show."""

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

    def displayed(self) -> dict[str, object]:
        """Each label a form may show of the leaf (label column key → value as shown)."""
        return {
            "category": self.category,
            "mid_category": self.mid_category,
            "item_no": self.item_no,
            "item_name": self.item_name,
            "sub_item": self.sub_item_label,
            "bureaus": "\n".join(self.bureaus),
        }


def menu_leaves(menu: "pd.DataFrame") -> list[MenuLeaf]:
    """The menu's leaves in menu order."""
    return [
        MenuLeaf(
            r.leaf_code, r.category, r.mid_category, int(r.item_no), r.item_name, r.sub_item,
            r.sub_item_name, tuple(bureau_list(r.bureaus)), r.description,
        )
        for r in menu.itertuples(index=False)
    ]


# --- A menu named by year or by file; next year's menu as a copy -------------------------


def load_menu_ref(ref: str | Path) -> "pd.DataFrame":
    """The menu ``ref`` names: a menu file when a file of that path exists (validated,
    its year read from it), else a fiscal year as typed (``R5``, ``令和5年度``, ``2023``)
    with a shipped menu. Raises ``UnknownFiscalYear`` or ``MenuError``."""
    from budget.fiscal import parse_fiscal_year

    path = Path(ref)
    if path.is_file():
        return load_menu(path=path)
    return load_menu(parse_fiscal_year(str(ref)))


def menu_year(menu: "pd.DataFrame") -> int:
    """The fiscal year of a loaded menu."""
    return int(menu["fiscal_year"].iloc[0])


def next_year_menu(menu: "pd.DataFrame", year: int) -> "pd.DataFrame":
    """A copy of ``menu`` as the menu of ``year``: every leaf kept in order with its code
    renumbered to that year (``R5-13-ハ`` → ``R6-13-ハ``) and every other column (備考,
    開始年度, provenance…) as it was, for staff to edit into next year's menu."""
    from budget.fiscal import era_code

    out = menu.copy()
    out["fiscal_year"] = year
    prefix = era_code(year) + "-"
    out["leaf_code"] = [prefix + code.split("-", 1)[1] for code in out["leaf_code"]]
    out.attrs = {}
    return out[MENU_COLUMNS].reset_index(drop=True)


def write_menu(menu: "pd.DataFrame", path: Path) -> Path:
    """Write ``menu`` as a menu file (UTF-8, the columns of ``MENU_COLUMNS``); returns the path."""
    frame = menu[MENU_COLUMNS].copy()
    frame["start_supplementary"] = frame["start_supplementary"].map(
        lambda v: "true" if bool(v) else "false")
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path


def menu_file_year(path: str | Path) -> int | None:
    """The fiscal year a menu file says in its first row (``fiscal_year``), read without
    pandas; None when the file cannot tell (``load_menu`` then says why)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            row = next(csv.DictReader(f), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    value = (row or {}).get("fiscal_year") or ""
    return int(value) if value.strip().isdigit() else None
