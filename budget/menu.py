"""The yearly menu of subsidy items, as data.

A menu is a CSV file, one row per *leaf* (an item without sub-items, or one sub-item イ/ロ/ハ/ニ
of an item). The menus the package ships live in ``budget/menus/`` named by era code
(``R5.csv`` for FY2023); a new year's menu is a new file there, or any file passed with
``--menu PATH``. ``load_menu`` returns it as a DataFrame checked by ``MenuSchema``.
"""

from __future__ import annotations

import csv
import hashlib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

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
              validate: bool | None = None) -> "pd.DataFrame":
    """The menu of a fiscal year (shipped) or of a file, checked by ``schemas.MenuSchema``.

    ``validate=None`` (the default) validates every file from outside the package and
    trusts the menus shipped in ``budget/menus/``: those are package data, validated by the
    test suite (``tests/test_menu.py`` runs the schema over each), and skipping pandera here
    saves ~0.3 s and ~25 MB per command. Raises ``MenuError`` listing every schema failure.
    """
    import pandas as pd

    if validate is None:
        validate = path is not None and not _is_shipped(Path(path))
    if path is None:
        if year is None:
            raise ValueError("load_menu needs a year or a path")
        path = menu_path(year)
    path = Path(path)
    try:
        df = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig"
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


def _is_shipped(path: Path) -> bool:
    shipped = Path(str(resources.files("budget").joinpath("menus"))).resolve()
    return path.resolve().parent == shipped


def _validated(df: "pd.DataFrame", path: Path) -> "pd.DataFrame":
    import pandas as pd
    import pandera.errors

    from budget.schemas import MenuSchema

    try:
        return MenuSchema.validate(df, lazy=True)
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
