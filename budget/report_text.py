"""Plain-text tables for the terminal (East Asian characters count double width)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def clip(text: str, width: int) -> str:
    out, used = "", 0
    for ch in text:
        w = display_width(ch)
        if used + w > width:
            return out[:-1] + "…" if out else "…"
        out, used = out + ch, used + w
    return out


def pad(text: str, width: int, right: bool = False) -> str:
    text = clip(text, width)
    fill = " " * (width - display_width(text))
    return fill + text if right else text + fill


def table(headers: Sequence[str], rows: Sequence[Sequence[object]],
          widths: Sequence[int] | None = None, right: Sequence[bool] | None = None) -> str:
    """A fixed-width text table; cells are clipped to ``widths`` (default: content width)."""
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    if widths is None:
        widths = [max([display_width(h)] + [display_width(r[i]) for r in cells])
                  for i, h in enumerate(headers)]
    right = right or [False] * len(headers)
    lines = ["  ".join(pad(h, w, r) for h, w, r in zip(headers, widths, right)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(pad(c, w, r) for c, w, r in zip(row, widths, right)).rstrip()
              for row in cells]
    return "\n".join(lines)


def menu_table(menu: "pd.DataFrame") -> str:
    rows = [
        (r.leaf_code, r.category, r.mid_category, r.item_no,
         f"{r.item_name}" + (f" / {r.sub_item} {r.sub_item_name}".rstrip() if r.sub_item else ""),
         r.bureaus.replace(";", "、"), r.note_raw)
        for r in menu.itertuples(index=False)
    ]
    year = int(menu["fiscal_year"].iloc[0])
    from budget.fiscal import full_label

    head = f"{full_label(year)} メニュー: {menu['item_no'].nunique()} 事業、{len(menu)} 細目"
    return head + "\n" + table(
        ["コード", "区分", "中項目", "No.", "事業名 / 細目", "担当課", "備考"], rows,
        widths=[9, 18, 22, 3, 60, 34, 14], right=[False, False, False, True, False, False, False],
    )
