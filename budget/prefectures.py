"""The 47 prefectures (JIS X 0401): two-digit string codes, Japanese and romanised names."""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

from budget.errors import UnknownPrefecture


@dataclass(frozen=True)
class Prefecture:
    code: str  # "01" … "47", never an int
    name_ja: str  # 北海道, 東京都, …
    name_en: str  # Hokkaido, Tokyo, …

    @property
    def label(self) -> str:
        """``"13 東京都"``: how the ministry's tables label a row."""
        return f"{self.code} {self.name_ja}"

    @property
    def short_name(self) -> str | None:
        """``"東京"`` for 東京都, ``"大阪"`` for 大阪府, ``"神奈川"`` for 神奈川県; None for 北海道."""
        return self.name_ja[:-1] if self.name_ja[-1] in "都府県" else None

    @property
    def file_stem(self) -> str:
        """``"13_東京都"``: the stem of this prefecture's workbook file names."""
        return f"{self.code}_{self.name_ja}"


@cache
def all_prefectures() -> tuple[Prefecture, ...]:
    """The 47 prefectures in code order."""
    text = resources.files("budget").joinpath("data/prefectures.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    prefs = tuple(Prefecture(r["code"], r["name_ja"], r["name_en"]) for r in rows)
    assert len(prefs) == 47 and [p.code for p in prefs] == [f"{i:02d}" for i in range(1, 48)]
    return prefs


def _keys(p: Prefecture) -> set[str]:
    return {p.code, str(int(p.code)), p.name_ja, p.short_name or p.name_ja, p.name_en.lower(),
            p.label, p.file_stem}


@cache
def _index() -> dict[str, Prefecture]:
    return {key: p for p in all_prefectures() for key in _keys(p)}


def find_prefecture(name: str) -> Prefecture:
    """A prefecture named by code (``13``, ``"1"``), Japanese name (``東京都``, ``東京``)
    or romanised name (``tokyo``); full-width characters are accepted."""
    key = unicodedata.normalize("NFKC", str(name)).strip()
    found = _index().get(key) or _index().get(key.lower())
    if found is None:
        raise UnknownPrefecture(
            f"都道府県「{name}」が見つかりません。コード（例: 13）、日本語名（例: 東京都）、"
            "ローマ字名（例: tokyo）のいずれかで指定してください。"
        )
    return found


def prefecture_by_code(code: str) -> Prefecture | None:
    """The prefecture with this exact two-digit code, or None."""
    return next((p for p in all_prefectures() if p.code == code), None)
