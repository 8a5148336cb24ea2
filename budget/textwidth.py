"""How wide text is on a terminal or in a spreadsheet column: East Asian wide and full-width
characters count two. The one helper behind every column width and terminal table."""

from __future__ import annotations

import math
import unicodedata
from functools import lru_cache


def display_width(text: str) -> int:
    """Columns ``text`` takes: a wide or full-width character (W, F) counts two. ASCII text is
    its length; other text is measured once and remembered (``_wide_width``: a report
    measures the same names, labels and file names thousands of times)."""
    if text.isascii():
        return len(text)
    if len(text) > _REMEMBERED_CHARS:  # a sender's long text: counted, not remembered
        return _counted_width(text)
    return _wide_width(text)


#: Texts up to this long are remembered (names, labels, file names)
_REMEMBERED_CHARS = 128


def _counted_width(text: str) -> int:
    """``display_width`` of ``text`` counted a character at a time (the reference)."""
    east_asian_width = unicodedata.east_asian_width
    return sum(2 if east_asian_width(ch) in "WF" else 1 for ch in text)


@lru_cache(maxsize=16384)  # ~16,384 short texts (≤ ~5 MB): not every sender text forever
def _wide_width(text: str) -> int:
    return _counted_width(text)


def widest_line(text: str) -> int:
    """``display_width`` of the widest line of ``text``."""
    if "\n" in text:
        return max(display_width(line) for line in text.split("\n"))
    return display_width(text)


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


def wrapped_lines(text: str, width: float) -> int:
    """Lines ``text`` wraps to in a column ``width`` characters wide (each line of the text at
    least one)."""
    usable = max(1, int(width) - 1)
    if type(text) is not str:
        text = str(text)
    if "\n" not in text:
        return max(1, -(-display_width(text) // usable))
    return sum(max(1, math.ceil(display_width(part) / usable)) for part in text.split("\n"))
