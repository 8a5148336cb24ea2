"""Edit an .xlsx package in place: change a few XML parts, keep every other part byte for byte.

``Package`` is a zip that passed triage (``budget.xlsx.container``): its XML parts are the
bytes triage inflated, CRC-checked and scanned (no DTD); every other member (images,
printer settings, embedded objects) is copied into the new zip as its compressed bytes, never
inflated or looked into. Parts are edited as bytes, by splicing at places found in them, so
what we do not change keeps its namespaces, prefixes and extensions exactly as the sender's
application wrote them; the few parts we read for meaning are parsed with ``defusedxml``.

The SpreadsheetML edits the return copies need (``budget.intake.annotate``) are here too:
restyle or insert a cell, make a sender's formula inert text, derive cell formats with another
fill, add comments (the comments part and its legacy VML drawing), and put a new worksheet
first. A shape these edits do not handle (prefixed SpreadsheetML, a shared formula in a cell
to make inert, a cell without its reference…) raises ``Unsupported`` with a short reason,
and the caller takes another way.
"""

from __future__ import annotations

import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
REL_TYPE = NS_REL + "/"
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"
XML_HEAD = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

_ZIP_MAGIC = b"PK\x03\x04"


class Unsupported(Exception):
    """The package has a shape these edits do not handle; ``str(exc)`` says which (a short
    English tag for counting, never shown to a user)."""


def text(value: str) -> str:
    """``value`` escaped for XML character data (``&``, ``<``, ``>``)."""
    return escape(value)


def attr(value: str) -> str:
    """``value`` as a quoted XML attribute value."""
    return quoteattr(value)


# --- The package -------------------------------------------------------------------------


@dataclass
class _Member:
    info: zipfile.ZipInfo
    start: int  # offset of its compressed data in the original bytes


class Package:
    """The zip ``content`` with its triaged XML ``parts``; ``save`` returns the edited zip."""

    def __init__(self, content: bytes, parts: Mapping[str, bytes]) -> None:
        import io

        self._content = content
        self._parts = parts
        self._members: dict[str, _Member] = {}
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            for info in archive.infolist():
                if info.filename.endswith("/"):
                    continue
                start = _data_start(content, info)
                if start is None:
                    raise Unsupported("local header")
                self._members[info.filename] = _Member(info, start)
        self._by_lower = {name.lower(): name for name in self._members}
        self._changed: dict[str, bytes] = {}
        self._removed: set[str] = set()
        self._rels: dict[str, tuple[bytes, list[Rel]]] = {}  # rels part -> (its bytes, rels)

    # parts
    def name(self, part: str) -> str | None:
        """The member name of ``part`` (part names are case-insensitive), or None."""
        name = self._by_lower.get(part.lower())
        if name is None or name in self._removed:
            return None
        return name

    def has(self, part: str) -> bool:
        return self.name(part) is not None

    def read(self, part: str) -> bytes:
        """An XML part's bytes, as edited so far (``KeyError`` when it is not one)."""
        name = self.name(part)
        if name is None:
            raise KeyError(part)
        if name in self._changed:
            return self._changed[name]
        return self._parts[name]

    def write(self, part: str, data: bytes) -> None:
        name = self.name(part)
        if name is None:
            name = part
            self._by_lower[part.lower()] = part
            self._removed.discard(part)
        self._changed[name] = data

    def remove(self, part: str) -> None:
        name = self.name(part)
        if name is not None:
            self._removed.add(name)
            self._changed.pop(name, None)

    def names(self) -> list[str]:
        """Every member name, in order (added ones last)."""
        names = [n for n in self._members if n not in self._removed]
        return names + [n for n in self._changed if n not in self._members]

    def unused(self, pattern: str) -> str:
        """``pattern`` (with ``{}`` for a number) made the name of no member."""
        n = 1
        while self.has(pattern.format(n)):
            n += 1
        return pattern.format(n)

    # relationships
    def rels_part(self, part: str) -> str:
        folder, base = posixpath.split(part)
        return posixpath.join(folder, "_rels", base + ".rels")

    def relationships(self, part: str) -> list[Rel]:
        """The relationships of ``part`` (empty when it has none)."""
        rels = self.rels_part(part)
        if not self.has(rels):
            return []
        data = self.read(rels)
        cached = self._rels.get(rels)
        if cached is not None and cached[0] is data:  # the same bytes: the same relationships
            return list(cached[1])
        out = []
        for el in parse(data):
            if el.tag == f"{{{NS_PKG_REL}}}Relationship":
                external = el.get("TargetMode", "") == "External"
                target = el.get("Target", "")
                out.append(Rel(el.get("Id", ""), el.get("Type", "").rsplit("/", 1)[-1], target,
                               external, "" if external else resolve(target, part)))
        self._rels[rels] = (data, out)
        return list(out)

    def add_relationship(self, part: str, kind: str, target_part: str) -> str:
        """Relate ``part`` to ``target_part`` (type ``kind``: "worksheet", "comments"…);
        returns the new relationship's id."""
        rels = self.rels_part(part)
        ids = {r.id for r in self.relationships(part)}
        n = len(ids) + 1
        while f"rId{n}" in ids:
            n += 1
        rid = f"rId{n}"
        target = posixpath.relpath(target_part, posixpath.dirname(part) or ".")
        element = (f'<Relationship Id="{rid}" Type="{REL_TYPE}{kind}" '
                   f'Target={attr(target)}/>').encode()
        if self.has(rels):
            self.write(rels, insert_before_close(self.read(rels), b"Relationships", element))
        else:
            self.write(rels, XML_HEAD + f'<Relationships xmlns="{NS_PKG_REL}">'.encode()
                       + element + b"</Relationships>")
        return rid

    def remove_relationship(self, part: str, rid: str) -> None:
        rels = self.rels_part(part)
        data = self.read(rels)
        pattern = re.compile(rb'<Relationship\s[^>]*?Id="' + re.escape(rid.encode())
                             + rb'"[^>]*?(?:/>|>\s*</Relationship>)')
        self.write(rels, pattern.sub(b"", data, count=1))

    # content types
    def add_override(self, part: str, content_type: str) -> None:
        data = self.read("[Content_Types].xml")
        element = f'<Override PartName={attr("/" + part)} ContentType="{content_type}"/>'
        self.write("[Content_Types].xml", insert_before_close(data, b"Types", element.encode()))

    def ensure_default(self, extension: str, content_type: str) -> None:
        data = self.read("[Content_Types].xml")
        if re.search(rb'<Default\s[^>]*Extension="' + re.escape(extension.encode()) + rb'"', data,
                     re.I):
            return
        element = f'<Default Extension="{extension}" ContentType="{content_type}"/>'
        self.write("[Content_Types].xml", insert_after_open(data, b"Types", element.encode()))

    def remove_override(self, part: str) -> None:
        data = self.read("[Content_Types].xml")
        pattern = re.compile(rb'<Override\s[^>]*?PartName="/?' + re.escape(part.encode())
                             + rb'"[^>]*?/>', re.I)
        self.write("[Content_Types].xml", pattern.sub(b"", data, count=1))

    # the zip
    def save(self, level: int = 1) -> bytes:
        """The edited package as zip bytes: members not edited are their original compressed
        bytes; edited and new ones are deflated here (level 1: the fastest, a few KB larger)."""
        out = bytearray()
        central = bytearray()
        count = 0
        stamp = next(iter(self._members.values())).info.date_time if self._members else \
            (1980, 1, 1, 0, 0, 0)
        for name in self.names():
            member = self._members.get(name)
            if member is not None and name not in self._changed:
                info = member.info
                raw: bytes | memoryview = memoryview(self._content)[
                    member.start:member.start + info.compress_size]
                method, crc, size, date_time = (info.compress_type, info.CRC, info.file_size,
                                                info.date_time)
            else:
                data = self._changed[name]
                compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
                raw = compressor.compress(data) + compressor.flush()
                method, crc, size = zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data)
                date_time = member.info.date_time if member else stamp
            encoded = name.encode("utf-8")
            flags = 0x800 if not name.isascii() else 0
            dos_time, dos_date = _dos(date_time)
            offset = len(out)
            out += struct.pack("<4sHHHHHIIIHH", _ZIP_MAGIC, 20, flags, method, dos_time,
                               dos_date, crc, len(raw), size, len(encoded), 0)
            out += encoded
            out += raw
            central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, flags, method,
                                   dos_time, dos_date, crc, len(raw), size, len(encoded), 0, 0,
                                   0, 0, 0, offset)
            central += encoded
            count += 1
        start = len(out)
        out += central
        out += struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, len(central),
                           start, 0)
        return bytes(out)


@dataclass(frozen=True)
class Rel:
    id: str
    type: str  # the last segment of the type URI
    target: str  # as written
    external: bool
    part: str  # the target's part name (empty for an external target)


def resolve(target: str, source_part: str) -> str:
    """A relationship target as a part name, relative to ``source_part``'s folder."""
    from urllib.parse import unquote

    target = unquote(target)
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


def _dos(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    y, mo, d, h, mi, s = date_time
    y = min(max(y, 1980), 2107)
    return (h << 11) | (mi << 5) | (s // 2), ((y - 1980) << 9) | (mo << 5) | d


def _data_start(content: bytes, info: zipfile.ZipInfo) -> int | None:
    header = content[info.header_offset:info.header_offset + 30]
    if len(header) < 30 or header[:4] != _ZIP_MAGIC:
        return None
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    start = info.header_offset + 30 + name_length + extra_length
    return start if start + info.compress_size <= len(content) else None


def parse(data: bytes) -> Any:
    """The root element of an XML part triage checked, parsed with defusedxml."""
    import defusedxml.ElementTree as safe_et

    return safe_et.fromstring(data, forbid_dtd=True)


# --- Byte splicing ---------------------------------------------------------------------------


def insert_before_close(data: bytes, tag: bytes, insert: bytes) -> bytes:
    """``insert`` just before the last ``</tag>`` (an empty ``<tag/>`` is opened first)."""
    end = data.rfind(b"</" + tag + b">")
    if end < 0:
        empty = re.search(rb"<" + tag + rb"(\s[^>]*)?/>", data)
        if empty is None:
            raise Unsupported(f"no {tag.decode()}")
        opened = data[empty.start():empty.end() - 2] + b">" + insert + b"</" + tag + b">"
        return data[:empty.start()] + opened + data[empty.end():]
    return data[:end] + insert + data[end:]


def insert_after_open(data: bytes, tag: bytes, insert: bytes) -> bytes:
    """``insert`` just after the start tag ``<tag …>``."""
    match = re.search(rb"<" + tag + rb"(?=[\s>/])[^>]*?(/?)>", data)
    if match is None:
        raise Unsupported(f"no {tag.decode()}")
    if match.group(1):
        return insert_before_close(data, tag, insert)
    return data[:match.end()] + insert + data[match.end():]


def set_attr(tag: bytes, name: bytes, value: bytes | None) -> bytes:
    """A start tag with attribute ``name`` set to ``value`` (removed when None)."""
    pattern = re.compile(rb"\s" + re.escape(name) + rb'\s*=\s*(?:"[^"]*"|\'[^\']*\')')
    tag = pattern.sub(b"", tag, count=1)
    if value is None:
        return tag
    end = len(tag) - (2 if tag.endswith(b"/>") else 1)
    return tag[:end] + b" " + name + b'="' + value + b'"' + tag[end:]


def get_attr(tag: bytes, name: bytes) -> bytes | None:
    match = re.search(rb"\s" + re.escape(name) + rb'\s*=\s*(?:"([^"]*)"|\'([^\']*)\')', tag)
    if match is None:
        return None
    return match.group(1) if match.group(1) is not None else match.group(2)


def element_span(data: bytes, tag: bytes, start: int = 0,
                 end: int | None = None) -> tuple[int, int] | None:
    """(start, end) of the first ``<tag …/>`` or ``<tag …>…</tag>`` (not nested)."""
    stop = len(data) if end is None else end
    match = re.compile(rb"<" + tag + rb"(?=[\s>/])[^>]*?(/?)>").search(data, start, stop)
    if match is None:
        return None
    if match.group(1):
        return match.span()
    close = data.find(b"</" + tag + b">", match.end(), stop)
    if close < 0:
        return None
    return match.start(), close + len(tag) + 3


def elements(data: bytes, tag: bytes, start: int = 0, end: int | None = None) -> Iterable[
        re.Match[bytes]]:
    pattern = re.compile(rb"<" + tag + rb"(?=[\s>/])[^>]*?(?:/>|>.*?</" + tag + rb">)", re.S)
    return pattern.finditer(data, start, len(data) if end is None else end)
