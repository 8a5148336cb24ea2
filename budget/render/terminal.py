"""What a terminal may be shown: text with every control character made visible.

A file name, a sender's text or an option value can carry ESC (``\\x1b``, the start of the
escape sequences that retitle, recolour or clear a terminal), a carriage return (which
overwrites the line), a bidirectional override (which shows ``cod.exe`` for ``exe.doc``), or
an undecodable byte of a file name. Everything printed to a terminal goes through ``shown``:
such characters come out as Python-style escapes (``\\x1b``, ``\\u202e``), printable and
unambiguous. Nothing here changes stored data or JSON/CSV output: only what is printed.
"""

from __future__ import annotations

import re

#: C0 controls, DEL, C1 controls, the invisible bidirectional marks and overrides, and lone
#: surrogates (a file name's undecodable bytes, kept by ``surrogateescape``).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff]")
_UNSAFE_KEEPING_LINES = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f"
                                   "\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the undecodable byte itself
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def shown(text: object, *, lines: bool = False) -> str:
    """``text`` as it may be printed to a terminal: every control character, invisible
    bidirectional mark and lone surrogate replaced by its escape (ESC → ``\\x1b``, U+202E →
    ``\\u202e``, the surrogate of byte 0xFF → ``\\xff``). With ``lines=True`` newlines stay
    (a whole multi-line output); otherwise they are escaped too (a name, a table cell)."""
    pattern = _UNSAFE_KEEPING_LINES if lines else _UNSAFE
    return pattern.sub(_escape, str(text))
