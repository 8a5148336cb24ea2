"""budget.textwidth: the ASCII fast path and the remembered widths give what counting a
character at a time gives, for every kind of text a report measures."""

from __future__ import annotations

import unicodedata

import pytest

from budget.textwidth import _wide_width, display_width, widest_line, wrapped_lines


def counted(text: str) -> int:
    """The reference: every character looked up (W and F count two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


TEXTS = ["", "a", "13_東京都_R5_計画.xlsx", "R5-34-イ 管理者等／ロ 長い細目", "ｱｲｳ half-width kana",
         "ＡＢＣ１２３ full-width", "=HYPERLINK(\"x\")", "\t\x01\x7f control", "é ü ñ ß", "😀 emoji",
         "\u200b zero width", "\ud800 lone surrogate", "1234567890" * 30, "東" * 500,
         "（空欄）", "変更なし", "line one\nline two", "\ufffd"]


@pytest.mark.parametrize("text", TEXTS)
def test_display_width_is_the_count_of_every_character(text):
    assert display_width(text) == counted(text)
    assert display_width(text) == counted(text)  # asked again: remembered, the same


def test_every_character_of_the_first_planes_measures_as_counted():
    chars = "".join(chr(c) for c in range(0x20, 0x3400) if not 0xD800 <= c <= 0xDFFF)
    assert [display_width(ch) for ch in chars] == [counted(ch) for ch in chars]
    assert display_width(chars) == counted(chars)


def test_the_remembered_widths_are_bounded():
    _wide_width.cache_clear()
    for i in range(20_000):
        assert display_width(f"東京{i}") == 4 + len(str(i))
    assert _wide_width.cache_info().currsize <= _wide_width.cache_info().maxsize
    _wide_width.cache_clear()
    assert display_width("長" * 129) == 258  # a sender's long text: counted, not remembered
    assert _wide_width.cache_info().currsize == 0
    assert display_width("長" * 128) == 256
    assert _wide_width.cache_info().currsize == 1


@pytest.mark.parametrize("text", TEXTS)
def test_widest_line_is_the_widest_of_its_lines(text):
    assert widest_line(text) == max(counted(line) for line in text.split("\n"))


def test_wrapped_lines_count_wide_characters_twice():
    assert wrapped_lines("東" * 10, 11) == 2  # 20 columns in 10 usable
    assert wrapped_lines("a" * 10, 11) == 1
    assert wrapped_lines("a\n\nb", 11) == 3


@pytest.mark.parametrize("width", [0, 1, 2, 2.9, 6, 30, 44.5, 60, 1000])
def test_wrapped_lines_are_the_lines_of_each_part_counted(width):
    import math

    usable = max(1, int(width) - 1)
    for text in [*TEXTS, 12345, 1.5, None]:
        expected = sum(max(1, math.ceil(counted(part) / usable))
                       for part in str(text).split("\n"))
        assert wrapped_lines(text, width) == expected, (text, width)
