"""File names the tool writes: safe on every system its users have (Windows included).

Text that came from outside (a received file's name, a 担当課 of a menu, a prefecture's
text) reaches a file name only through ``safe_file_name``.
"""

from __future__ import annotations

import re

#: Characters Windows refuses in a name (besides control characters).
FORBIDDEN = '\\/:*?"<>|'
#: What a forbidden or control character becomes.
REPLACEMENT = "_"
#: Device names Windows reserves, whatever follows the first dot (``CON.xlsx`` is CON).
RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{dev}{n}" for dev in ("COM", "LPT") for n in [*"123456789", "¹", "²", "³"]])
#: Longest name written, in UTF-8 bytes: Linux allows 255, and the caller may still add a
#: ``_2`` (two files with the same name) or Excel a ``(2)``.
MAX_BYTES = 200

_UNSAFE = re.compile("[" + re.escape(FORBIDDEN) + "\x00-\x1f\x7f-\x9f]")


def safe_file_name(name: str, fallback: str = "ファイル") -> str:
    """``name`` made safe as one file name on Windows, macOS and Linux: each forbidden
    character (``\\ / : * ? " < > |``) or control character → ``_``; trailing dots and
    spaces removed; a reserved device name (``CON``, ``NUL.xlsx``, ``com1.txt``…) gets a
    leading ``_``; ``.`` and ``..`` and an empty result become ``fallback``; shortened
    (keeping its extension) to ``MAX_BYTES`` of UTF-8. A safe name is returned unchanged."""
    text = _UNSAFE.sub(REPLACEMENT, name).rstrip(". ")
    if not text.strip(" ."):
        text = fallback
    if text.split(".", 1)[0].rstrip(" ").upper() in RESERVED:
        text = REPLACEMENT + text
    if len(text.encode("utf-8")) > MAX_BYTES:
        stem, dot, ext = text.rpartition(".")
        if not dot or len(ext) > 10:
            stem, dot, ext = text, "", ""
        budget = MAX_BYTES - len((dot + ext).encode("utf-8"))
        stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip(". ")
        text = stem + dot + ext
    return text


def is_safe_file_name(name: str) -> bool:
    """True when ``name`` is a file name every system accepts as it is."""
    return bool(name) and safe_file_name(name) == name
