"""Triage of a received file before any parser sees it.

``inspect_container`` looks at the raw bytes of a file a prefecture sent back and decides
whether it is an .xlsx package that is safe and plausible to hand to openpyxl or
python-calamine. When it is not, it says why in a Japanese :class:`~budget.findings.Finding`
naming the file. It never raises and its cost is bounded whatever the bytes are:

* the kind of file is sniffed from its bytes (the extension is never trusted): empty, an OLE2
  compound document (an encrypted .xlsx or a legacy .xls), text (CSV, HTML), other formats;
* the zip's central directory is bounded before ``zipfile`` builds it (entry count), and the
  sizes it declares are bounded before anything is decompressed (total, per XML part, ratio);
* every member is inflated here with ``zlib`` in chunks, with a hard cap at its declared size
  (a member that inflates to more than it declares is a lie, and is rejected), its CRC checked,
  and every XML part scanned for ``<!DOCTYPE``/``<!ENTITY`` (UTF-8 and UTF-16);
* the few XML parts we interpret are parsed with ``defusedxml`` only (once per process for
  equal bytes: the copies of a template repeat them);
* every worksheet's claimed extent (``<dimension>``, cell references, merged ranges) is
  bounded, because python-calamine allocates a dense range from the smallest to the largest
  cell and aborts the whole process (no exception) when that does not fit in memory, and
  openpyxl materialises every cell of a merged range.

A macro-enabled workbook or one with external links is *readable* (parsing it runs nothing),
so a :class:`Container` is returned together with the error finding: the caller rejects the
file but can still report what else is wrong with it.
"""

from __future__ import annotations

import codecs
import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote

from budget.errors import UnsafeEnvironment
from budget.findings import Finding, make

# --- Limits ----------------------------------------------------------------------------
# A generated workbook is ~27 KB zipped and ~150 KB unzipped, its plan sheet 71 rows x 18
# columns; the limits leave a wide margin for Excel's re-saves and a pasted image or two.
MB = 1024 * 1024
MAX_FILE_BYTES = 50 * MB  # the file as received
MAX_MEMBERS = 1000  # zip entries
MAX_TOTAL_UNCOMPRESSED = 50 * MB  # sum of declared member sizes
MAX_XML_PART = 10 * MB  # any one XML part (a sheet, sharedStrings, styles ...)
BOMB_RATIO = 100  # a member compressed more than 100:1 ...
BOMB_MIN_SIZE = 5 * MB  # ... and larger than this is a decompression bomb
MAX_ROWS = 10_000  # the largest row any worksheet may claim
MAX_COLS = 200  # the largest column (GR) any worksheet may claim

_CHUNK_IN = 16 * 1024  # compressed bytes fed to zlib at a time
_CHUNK_OUT = 256 * 1024  # most bytes zlib may return at a time

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_XML_SUFFIXES = (".xml", ".rels", ".vml")

#: ``<!DOCTYPE``/``<!ENTITY`` as they appear in UTF-8 and UTF-16 (either byte order) XML.
_UNSAFE_MARKERS = tuple(
    marker.encode(encoding)
    for marker in ("<!DOCTYPE", "<!ENTITY")
    for encoding in ("ascii", "utf-16-le", "utf-16-be")
)

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_MAIN_STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_NS_CONTENT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"

WORKBOOK_PART = "xl/workbook.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
CONTENT_TYPES = "[Content_Types].xml"


@dataclass(frozen=True)
class Container:
    """A zip package that passed triage, and the parts it inflated and checked: what a
    reader needs, so the file is unzipped once (``part`` gives a part's bytes)."""

    names: frozenset[str]  # zip member names
    sheets: dict[str, str]  # worksheet name -> member path, in workbook order
    sheet_states: dict[str, str]  # worksheet name -> "visible" | "hidden" | "veryHidden"
    shared_strings: str | None  # member path of the shared strings, or None
    #: member path of the styles part (found through the workbook's relationships), or None
    styles: str | None = None
    #: member path -> bytes of every XML part, inflated with a cap, CRC-checked, DTD-free
    parts: Mapping[str, bytes] = field(default_factory=dict, repr=False, compare=False)

    def part(self, member: str) -> bytes:
        """The checked bytes of an XML part (``KeyError`` when triage did not keep it)."""
        return self.parts[member]

    def last_saved(self) -> str | None:
        """When the workbook says it was last saved: ``dcterms:modified`` of its core
        properties (``docProps/core.xml``, found through the package relationships; Excel,
        LibreOffice, openpyxl and xlsxwriter all write it), as an ISO 8601 UTC timestamp;
        None when the part, the element or a readable time is missing."""
        return last_saved(self.parts)


class _Lazy:
    """A member name shown in a message only when one is written."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return _shown(self.text)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


class _Stop(Exception):
    """Triage is over: the file is unreadable for the reason in ``finding``."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.code)
        self.finding = finding


def inspect_container(content: bytes, file_name: str) -> tuple[Container | None, list[Finding]]:
    """Decide whether ``content`` is an .xlsx safe to parse; findings say why not.

    The container is None iff an error finding makes the file unreadable. Macro and
    external-link errors leave it readable (the container is returned with the finding).
    ``file_name`` is only used in messages.
    """
    findings: list[Finding] = []
    try:
        container = _inspect(bytes(content), file_name, findings)
    except _Stop as stop:
        findings.append(stop.finding)
        return None, findings
    except Exception as exc:  # noqa: BLE001 - a hostile file must never escape as a crash
        findings.append(_finding("internal-error", file_name,
                                 detail=f"ファイルの事前確認: {type(exc).__name__}"))
        return None, findings
    return container, findings


def _finding(code: str, file_name: str, detail: str | None = None) -> Finding:
    """A catalogued finding whose message starts with the file's name."""
    finding = make(code, file=file_name) if detail is None else \
        make(code, file=file_name, detail=detail)
    return replace(finding, message=f"{file_name}: {finding.message}")


def _stop(code: str, file_name: str, detail: str | None = None) -> _Stop:
    return _Stop(_finding(code, file_name, detail))


# --- The steps ---------------------------------------------------------------------------


def _inspect(content: bytes, file_name: str, findings: list[Finding]) -> Container:
    if not content:
        raise _stop("empty-file", file_name)
    if len(content) > MAX_FILE_BYTES:
        raise _stop("oversized-workbook", file_name,
                    detail=f"ファイルサイズ {_mb(len(content))} が上限 {_mb(MAX_FILE_BYTES)} を超えています")
    if content.startswith(_OLE2_MAGIC):
        raise _ole2_stop(content, file_name)
    if not content.startswith(_ZIP_MAGIC):
        raise _stop("not-a-workbook", file_name, detail=_sniff(content, file_name))

    # zipfile builds one ZipInfo per central-directory entry, each of which starts with this
    # signature: counting them bounds its memory before it runs.
    entries = content.count(b"PK\x01\x02")
    if entries > MAX_MEMBERS:
        raise _stop("oversized-workbook", file_name,
                    detail=f"ZIP 内のファイル数が多すぎます（約 {entries} 個、上限 {MAX_MEMBERS} 個）")
    archive = _open_zip(content, file_name)
    infos = [i for i in archive.infolist() if not i.filename.endswith("/")]
    _check_declared_sizes(infos, file_name)
    by_lower = _member_index(infos, file_name)
    if WORKBOOK_PART not in by_lower:
        raise _stop("not-a-workbook", file_name, detail=_describe_other_zip(content, infos, by_lower))

    parts = _inflate_all(content, infos, file_name)
    if CONTENT_TYPES.lower() not in by_lower:
        raise _stop("corrupt-workbook", file_name, detail=f"{CONTENT_TYPES} がありません")

    def part(name: str) -> bytes:
        return parts[by_lower[name.lower()]]

    content_types = _content_types(part(CONTENT_TYPES), file_name)
    workbook = _known("workbook", part(WORKBOOK_PART),
                      lambda data: _parse_xml(data, WORKBOOK_PART, file_name))
    if workbook.tag.startswith("{" + _NS_MAIN_STRICT + "}"):
        raise _stop("not-a-workbook", file_name,
                    detail="「Strict Open XML スプレッドシート」形式です")
    if workbook.tag != f"{{{_NS_MAIN}}}workbook":
        raise _stop("corrupt-workbook", file_name, detail=f"{WORKBOOK_PART} がブックの定義ではありません")
    rels = _relationships(part(WORKBOOK_RELS), WORKBOOK_RELS, file_name) \
        if WORKBOOK_RELS in by_lower else {}

    macro = _macro_detail(by_lower, content_types, rels)
    if macro:
        findings.append(_finding("macro-workbook", file_name, detail=macro))
    external = _external_link_detail(by_lower, rels, part, file_name)
    if external:
        findings.append(_finding("external-links", file_name, detail=external))

    sheets, states = _worksheets(workbook, rels, by_lower, file_name)
    shared_strings = _shared_strings(rels, by_lower, file_name)
    styles = _styles(rels, by_lower)
    for sheet_name, member in sheets.items():
        detail = _oversized_sheet_detail(sheet_name, part(member))
        if detail:
            raise _stop("oversized-workbook", file_name, detail=detail)
    return Container(frozenset(i.filename for i in infos), sheets, states, shared_strings,
                     styles, MappingProxyType(parts))


def _ole2_stop(content: bytes, file_name: str) -> _Stop:
    """An OLE2 compound document: Excel's encrypted .xlsx, a legacy .xls, or another Office file.

    Stream names are stored UTF-16LE in the directory sectors; finding them in the bytes is
    enough to tell the kinds apart without parsing the FAT.
    """
    def has(stream: str) -> bool:
        return stream.encode("utf-16-le") in content

    if has("EncryptedPackage") or has("EncryptionInfo"):
        return _stop("encrypted-workbook", file_name)
    if has("WordDocument"):
        return _stop("not-a-workbook", file_name, detail="旧形式の Word 文書（.doc）です")
    if has("PowerPoint Document"):
        return _stop("not-a-workbook", file_name, detail="旧形式の PowerPoint ファイル（.ppt）です")
    return _stop("legacy-xls", file_name)


def _sniff(content: bytes, file_name: str) -> str:
    """What a non-zip, non-OLE2 file looks like, as a Japanese phrase for the message."""
    base = posixpath.basename(file_name.replace("\\", "/"))
    if base.startswith("~$"):
        return "Excel が編集中に作る一時ファイル（~$ で始まるファイル）です"
    if base.startswith(".~lock."):
        return "LibreOffice が編集中に作るロックファイルです"
    if content.startswith(b"PK\x05\x06"):
        return "空の ZIP ファイルです"
    if content.startswith(b"%PDF-"):
        return "PDF ファイルです"
    if content.startswith((b"\x1f\x8b", b"7z\xbc\xaf\x27\x1c", b"Rar!")):
        return "圧縮ファイル（gzip・7z・RAR）です"
    if content.startswith(b"{\\rtf"):
        return "RTF 文書です"
    text = _as_text(content[:4096])
    if text is None:
        return "ファイルの形式を判別できません"
    head = text.lstrip().lower()
    if head.startswith(("<html", "<!doctype html")) or "<html" in head[:1024]:
        return "HTML ファイル（Web ページ）です"
    if head.startswith("<"):
        if "urn:schemas-microsoft-com:office:spreadsheet" in head or "excel.sheet" in head:
            return "「XML スプレッドシート 2003」形式です"
        return "XML ファイルです"
    return "CSV/テキストファイルです"


def _as_text(sample: bytes) -> str | None:
    """The sample decoded as text (UTF-8, UTF-16 with BOM, or Shift_JIS), else None."""
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return codecs.getincrementaldecoder("utf-16")().decode(sample)
        except UnicodeDecodeError:
            return None
    if b"\x00" in sample:
        return None
    for encoding in ("utf-8-sig", "cp932"):
        try:  # incremental: a multibyte character cut at the sample's end is not an error
            text = codecs.getincrementaldecoder(encoding)().decode(sample)
        except UnicodeDecodeError:
            continue
        if all(ch.isprintable() or ch in "\r\n\t\f" for ch in text):
            return text
    return None


def _open_zip(content: bytes, file_name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        if "not a zip file" in str(exc):
            detail = "ZIP の末尾（中央ディレクトリ）がありません。ファイルの後半が欠けています"
        else:
            detail = "ZIP の目次（中央ディレクトリ）が壊れています"
        raise _stop("corrupt-workbook", file_name, detail=detail) from None
    except Exception:  # noqa: BLE001 - struct errors, bad UTF-8 names, huge offsets ...
        raise _stop("corrupt-workbook", file_name,
                    detail="ZIP の目次（中央ディレクトリ）が壊れています") from None


def _check_declared_sizes(infos: list[zipfile.ZipInfo], file_name: str) -> None:
    if len(infos) > MAX_MEMBERS:
        raise _stop("oversized-workbook", file_name,
                    detail=f"ZIP 内のファイル数 {len(infos)} 個が上限 {MAX_MEMBERS} 個を超えています")
    total = sum(i.file_size for i in infos)
    for info in infos:
        name = info.filename
        if info.file_size > BOMB_MIN_SIZE and info.file_size > BOMB_RATIO * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            raise _stop("oversized-workbook", file_name,
                        detail=f"{_shown(name)} の圧縮率が異常です（展開すると {_mb(info.file_size)}、"
                        f"{ratio}:1）。圧縮爆弾の可能性があります")
        if info.filename.lower().endswith(_XML_SUFFIXES) and info.file_size > MAX_XML_PART:
            raise _stop("oversized-workbook", file_name,
                        detail=f"{_shown(name)} の展開後のサイズ {_mb(info.file_size)} が上限 "
                        f"{_mb(MAX_XML_PART)} を超えています")
    if total > MAX_TOTAL_UNCOMPRESSED:
        raise _stop("oversized-workbook", file_name,
                    detail=f"展開後の合計サイズ {_mb(total)} が上限 {_mb(MAX_TOTAL_UNCOMPRESSED)} を超えています")


def _member_index(infos: list[zipfile.ZipInfo], file_name: str) -> dict[str, str]:
    """Lower-cased part name -> member name. Part names are case-insensitive (OPC), so two
    members differing only in case (or repeated) would let two parsers see different parts."""
    index: dict[str, str] = {}
    for info in infos:
        key = info.filename.lower()
        if key in index:
            raise _stop("corrupt-workbook", file_name,
                        detail=f"ZIP 内に同じ名前のファイル {_shown(info.filename)} が重複しています")
        index[key] = info.filename
    return index


def _describe_other_zip(content: bytes, infos: list[zipfile.ZipInfo],
                        by_lower: dict[str, str]) -> str:
    """A zip without ``xl/workbook.xml``: say what it is instead."""
    if "word/document.xml" in by_lower:
        return "Word 文書（.docx）です"
    if "ppt/presentation.xml" in by_lower:
        return "PowerPoint ファイル（.pptx）です"
    if "xl/workbook.bin" in by_lower:
        return "「Excel バイナリブック（.xlsb）」形式です"
    if "mimetype" in by_lower and "content.xml" in by_lower:
        info = next(i for i in infos if i.filename == by_lower["mimetype"])
        mimetype = b""
        if info.compress_type == zipfile.ZIP_STORED and info.file_size < 200:
            start = _data_start(content, info)
            mimetype = content[start:start + info.file_size] if start else b""
        if b"spreadsheet" in mimetype:
            return "OpenDocument スプレッドシート（.ods）形式です"
        return "OpenDocument 形式のファイルです"
    inner = [i.filename for i in infos if i.filename.lower().endswith((".xlsx", ".xlsm", ".xls"))]
    if inner:
        return f"ZIP 圧縮ファイルです（中に {_shown(posixpath.basename(inner[0]))} があります）"
    return "ZIP 圧縮ファイルです（ブックの本体 xl/workbook.xml がありません）"


def _data_start(content: bytes, info: zipfile.ZipInfo) -> int | None:
    """Offset of a member's data, from its local header; None if the header is not there."""
    offset = info.header_offset
    header = content[offset:offset + 30]
    if len(header) < 30 or header[:4] != _ZIP_MAGIC:
        return None
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    local_name = content[offset + 30:offset + 30 + name_length]
    if local_name != _encoded_name(info):
        return None
    return offset + 30 + name_length + extra_length


def _encoded_name(info: zipfile.ZipInfo) -> bytes:
    return info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437",
                                     errors="surrogateescape")


def _inflate_all(content: bytes, infos: list[zipfile.ZipInfo], file_name: str) -> dict[str, bytes]:
    """Inflate every member with a hard cap, check its size and CRC, scan XML parts for
    DTDs. Returns the XML parts' bytes (bounded by ``MAX_XML_PART`` each)."""
    parts: dict[str, bytes] = {}
    for info in infos:
        name = _Lazy(info.filename)
        if info.flag_bits & 0x1:
            raise _stop("encrypted-workbook", file_name)
        start = _data_start(content, info)
        if start is None or start + info.compress_size > len(content):
            raise _stop("corrupt-workbook", file_name,
                        detail=f"{name} のデータが欠けています（ファイルが途中で切れています）")
        is_xml = info.filename.lower().endswith(_XML_SUFFIXES)
        data = memoryview(content)[start:start + info.compress_size]
        if info.compress_type == zipfile.ZIP_STORED:
            chunks: Iterator[bytes] = iter((bytes(data[:info.file_size + 1]),))
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            chunks = _inflate(data, info.file_size, name, file_name)
        else:
            raise _stop("corrupt-workbook", file_name,
                        detail=f"{name} が Excel の使わない圧縮方式（{info.compress_type}）で圧縮されています")
        kept: list[bytes] = []
        size = crc = 0
        for chunk in chunks:  # only XML parts are kept: memory stays bounded by MAX_XML_PART
            size += len(chunk)
            crc = zlib.crc32(chunk, crc)
            if is_xml:
                kept.append(chunk)
        if size != info.file_size or crc != info.CRC:
            raise _stop("corrupt-workbook", file_name,
                        detail=f"{name} の内容が記録と一致しません（CRC・サイズ不一致）")
        if is_xml:
            joined = b"".join(kept)
            if _has_unsafe_marker(joined):
                raise _stop("unsafe-xml", file_name)
            parts[info.filename] = joined
    return parts


def _has_unsafe_marker(xml: bytes) -> bool:
    # One quick scan first: every marker, UTF-8 or UTF-16, holds the byte "!" (a single byte
    # is found at memchr speed; "<!" took ~70 times as long over a sheet full of "<").
    if b"!" not in xml:
        return False
    return any(marker in xml for marker in _UNSAFE_MARKERS)


def _inflate(data: memoryview, declared: int, name: object, file_name: str) -> Iterator[bytes]:
    """A raw-deflate member's bytes in chunks, never more than ``declared`` + one chunk."""
    inflater = zlib.decompressobj(-15)
    size = 0
    try:
        for offset in range(0, len(data), _CHUNK_IN):
            pending: bytes | memoryview = data[offset:offset + _CHUNK_IN]
            while pending and not inflater.eof:
                out = inflater.decompress(pending, _CHUNK_OUT)
                size += len(out)
                if size > declared:  # the member inflates to more than it says: a lie
                    raise _stop("corrupt-workbook", file_name,
                                detail=f"{name} の展開後のサイズが記録（{declared} バイト）を超えています")
                yield out
                pending = inflater.unconsumed_tail
            if inflater.eof:
                break
    except zlib.error:
        raise _stop("corrupt-workbook", file_name, detail=f"{name} の圧縮データが壊れています") from None
    if not inflater.eof:
        raise _stop("corrupt-workbook", file_name, detail=f"{name} の圧縮データが途中で切れています")


# --- Parts we interpret ------------------------------------------------------------------


def _parse_xml(data: bytes, member: str, file_name: str):  # -> xml.etree.ElementTree.Element
    from xml.etree.ElementTree import ParseError

    import defusedxml
    import defusedxml.ElementTree as safe_et

    try:
        return safe_et.fromstring(data, forbid_dtd=True)
    except defusedxml.DefusedXmlException:
        raise _stop("unsafe-xml", file_name) from None
    except ParseError:
        raise _stop("corrupt-workbook", file_name,
                    detail=f"{_shown(member)} の XML が壊れています") from None


#: (what, part bytes) → what triage made of a small part every copy of a template repeats
#: (content types, the workbook, relationships): parsed once per process, never on error
_KNOWN: dict[tuple[str, bytes], Any] = {}
_MAX_KNOWN = 256
_MAX_KNOWN_SIZE = 64 * 1024


def _known(what: str, data: bytes, make: Callable[[bytes], Any]) -> Any:
    """``make(data)``, or what it gave for equal bytes before (it must not be changed)."""
    key = (what, data)
    found = _KNOWN.get(key)
    if found is None:
        found = make(data)
        if len(data) <= _MAX_KNOWN_SIZE:
            if len(_KNOWN) >= _MAX_KNOWN:
                _KNOWN.clear()
            _KNOWN[key] = found
    return found


def _content_types(data: bytes, file_name: str) -> frozenset[str]:
    def make(data: bytes) -> frozenset[str]:
        root = _parse_xml(data, CONTENT_TYPES, file_name)
        return frozenset(
            el.get("ContentType", "") for el in root
            if el.tag in (f"{{{_NS_CONTENT_TYPES}}}Default", f"{{{_NS_CONTENT_TYPES}}}Override"))

    return _known("content-types", data, make)


@dataclass(frozen=True)
class _Rel:
    type: str  # last segment of the relationship type URI: "worksheet", "externalLink" ...
    target: str
    external: bool


def _relationships(data: bytes, member: str, file_name: str) -> dict[str, _Rel]:
    def make(data: bytes) -> dict[str, _Rel]:
        root = _parse_xml(data, member, file_name)
        rels = {}
        for el in root:
            if el.tag != f"{{{_NS_PKG_REL}}}Relationship":
                continue
            rels[el.get("Id", "")] = _Rel(el.get("Type", "").rsplit("/", 1)[-1],
                                          el.get("Target", ""),
                                          el.get("TargetMode", "") == "External")
        return rels

    return dict(_known("relationships", data, make))


def _resolve(target: str, base_dir: str) -> str:
    """A relationship target as a lower-cased part name (relative to ``base_dir``)."""
    target = unquote(target)
    path = target.lstrip("/") if target.startswith("/") else posixpath.join(base_dir, target)
    return posixpath.normpath(path).lower()


def _macro_detail(by_lower: dict[str, str], content_types: frozenset[str],
                  rels: dict[str, _Rel]) -> str:
    reasons = []
    vba = [n for low, n in by_lower.items() if low.endswith("vbaproject.bin")]
    if vba:
        reasons.append(f"VBA マクロ {_shown(vba[0])}")
    if any("macroenabled" in t.lower() for t in content_types):
        reasons.append("マクロ有効ブック（.xlsm）形式")
    if any(low.startswith("xl/macrosheets/") for low in by_lower) or any(
            r.type in ("xlMacrosheet", "xlIntlMacrosheet") for r in rels.values()):
        reasons.append("Excel 4.0 マクロシート")
    return "、".join(reasons)


def _external_link_detail(by_lower: dict[str, str], rels: dict[str, _Rel], part,
                          file_name: str) -> str:
    links = sorted(low for low in by_lower
                   if low.startswith("xl/externallinks/") and low.endswith(".xml")
                   and "/_rels/" not in low)
    related = [r for r in rels.values() if r.type == "externalLink"]
    if not links and not related:
        return ""
    targets: list[str] = []
    for low in links:
        rels_name = posixpath.join(posixpath.dirname(low), "_rels", posixpath.basename(low) + ".rels")
        if rels_name in by_lower:
            for rel in _relationships(part(rels_name), rels_name, file_name).values():
                if rel.external and rel.target:
                    target = unquote(rel.target).replace("\\", "/").rstrip("/")
                    targets.append(_shown(posixpath.basename(target) or target))
    count = max(len(links), len(related))
    if targets:
        shown = "、".join(f"「{t}」" for t in targets[:3]) + (" ほか" if len(targets) > 3 else "")
        return f"リンク先: {shown}"
    return f"外部リンク {count} 件"


def _worksheets(workbook, rels: dict[str, _Rel], by_lower: dict[str, str],
                file_name: str) -> tuple[dict[str, str], dict[str, str]]:
    sheets: dict[str, str] = {}
    states: dict[str, str] = {}
    seen: set[str] = set()
    sheets_el = workbook.find(f"{{{_NS_MAIN}}}sheets")
    for el in (sheets_el if sheets_el is not None else ()):
        if el.tag != f"{{{_NS_MAIN}}}sheet":
            continue
        name = el.get("name", "")
        if name.casefold() in seen:  # Excel forbids it; two parsers could pick different ones
            raise _stop("corrupt-workbook", file_name,
                        detail=f"シート名「{_shown(name)}」が重複しています")
        seen.add(name.casefold())
        rel = rels.get(el.get(f"{{{_NS_REL}}}id", ""))
        if rel is None:
            raise _stop("corrupt-workbook", file_name,
                        detail=f"シート「{_shown(name)}」の実体が見つかりません")
        if rel.type != "worksheet":
            continue  # chart sheets, dialog sheets: nothing we read
        member = by_lower.get(_resolve(rel.target, "xl"))
        if member is None or rel.external:
            raise _stop("corrupt-workbook", file_name,
                        detail=f"シート「{_shown(name)}」の実体 {_shown(rel.target)} がありません")
        if not member.lower().endswith(_XML_SUFFIXES):  # only XML parts were kept and scanned
            raise _stop("corrupt-workbook", file_name,
                        detail=f"シート「{_shown(name)}」の実体 {_shown(member)} が XML ではありません")
        sheets[name] = member
        states[name] = el.get("state", "visible")
    return sheets, states


def _shared_strings(rels: dict[str, _Rel], by_lower: dict[str, str], file_name: str) -> str | None:
    for rel in rels.values():
        if rel.type == "sharedStrings":
            member = by_lower.get(_resolve(rel.target, "xl"))
            if member is None or rel.external or not member.lower().endswith(_XML_SUFFIXES):
                raise _stop("corrupt-workbook", file_name,
                            detail=f"共有文字列 {_shown(rel.target)} がありません")
            return member
    return None


def _styles(rels: dict[str, _Rel], by_lower: dict[str, str]) -> str | None:
    """The styles part named by the workbook's relationships (else ``xl/styles.xml`` when
    present); None when there is none or it is not an XML part. A missing styles part only
    means no cell is known to show a date."""
    for rel in rels.values():
        if rel.type == "styles" and not rel.external:
            member = by_lower.get(_resolve(rel.target, "xl"))
            if member is not None and member.lower().endswith(_XML_SUFFIXES):
                return member
            return None
    return by_lower.get("xl/styles.xml")


# --- Worksheet extents -------------------------------------------------------------------
_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"
_DIMENSION = re.compile(rb"<" + _PREFIX + rb"dimension\s(?:[^>]*?\s)?ref\s*=\s*[\"']([^\"']{0,64})[\"']")
_MERGE = re.compile(rb"<" + _PREFIX + rb"mergeCell\s(?:[^>]*?\s)?ref\s*=\s*[\"']([^\"']{0,64})[\"']")
_PREFIXED_CELL_TAG = re.compile(rb"<[A-Za-z_][\w.-]*:c[\s/>]")
#: A range (or cell) of one-letter columns and rows of at most four digits: within bounds.
_SMALL_RANGE = re.compile(rb"[A-Z][0-9]{1,4}(?::[A-Z][0-9]{1,4})?")
#: How a prefixed cell tag ends: found by its first bytes (~4 times faster than the tag).
_PREFIXED_CELL_END = re.compile(rb":c[\s/>]")
#: A cell tag that does not start ``<c r="`` (one scan; was seven counts of the sheet).
_OTHER_CELL_TAG = re.compile(rb'<c(?:[>/\t\n\r]| (?!r="))')
#: A cell reference that might be out of bounds (not one letter and at most four digits).
_WIDE_OR_DEEP_REF = re.compile(rb'<c r="(?![A-Z][0-9]{1,4}")([^"]{0,64})"')
_TOKEN = re.compile(rb"<" + _PREFIX + rb"(row|c)(?=[\s/>])([^>]*)>")
_R_ATTR = re.compile(rb"(?:^|\s)r\s*=\s*[\"']([^\"']*)[\"']")
_REF = re.compile(r"^\$?([A-Za-z]*)\$?([0-9]*)$")
_HUGE = 1 << 40


def _oversized_sheet_detail(sheet_name: str, data: bytes) -> str | None:
    """Why a worksheet claims more rows or columns than any plan sheet could, else None."""
    limit = f"上限 {MAX_ROWS} 行・{MAX_COLS} 列"
    sheet_data = data.find(b"sheetData")
    head = data[:sheet_data if sheet_data >= 0 else 65536]
    dimension = _DIMENSION.search(head)
    if dimension:
        ref = dimension.group(1).decode("ascii", "replace")
        if _range_too_large(ref):
            return f"シート「{_shown(sheet_name)}」の使用範囲 {_shown(ref)} が{limit}を超えています"
    max_row, max_col = _cell_extent(data)
    if max_row > MAX_ROWS or max_col > MAX_COLS:
        cell = _cell_name(max_row, max_col)
        return f"シート「{_shown(sheet_name)}」のセルが {cell} まであり、{limit}を超えています"
    for merged in _merge_refs(data):
        if _SMALL_RANGE.fullmatch(merged):
            continue  # column A-Z, row 1-9999: within bounds, no need to work it out
        ref = merged.decode("ascii", "replace")
        if _range_too_large(ref):
            return f"シート「{_shown(sheet_name)}」の結合セル {_shown(ref)} が{limit}を超えています"
    return None


def _merge_refs(data: bytes) -> list[bytes]:
    """``_MERGE.findall(data)``, searched from where a match can first start: the last "<"
    before the first "mergeCell" (a match is "<", a prefix without "<", then "mergeCell"),
    so the cells before the merged ranges are not scanned tag by tag."""
    first = data.find(b"mergeCell")
    if first < 0:
        return []
    return _MERGE.findall(data, max(data.rfind(b"<", 0, first), 0))


def _cell_extent(data: bytes) -> tuple[int, int]:
    """Largest row and column any cell of the sheet lands on.

    Fast path (every writer we know puts ``r`` first: ``<c r="H8" ...>``): when every cell tag
    is ``<c r="``, only references that are not a single letter and at most four digits can
    be out of bounds, and one regex finds just those. Anything else takes the slow walk.
    """
    if _OTHER_CELL_TAG.search(data) or (
            _PREFIXED_CELL_END.search(data) and _PREFIXED_CELL_TAG.search(data)):
        return _positional_extent(data)
    max_row = max_col = 0
    for ref in _WIDE_OR_DEEP_REF.findall(data):
        match = _REF.match(ref.decode("ascii", "replace"))
        if not match or not match.group(1) or not match.group(2):
            return _positional_extent(data)
        max_row = max(max_row, _number(match.group(2)))
        max_col = max(max_col, _col_number(match.group(1)))
    return max_row, max_col


def _positional_extent(data: bytes) -> tuple[int, int]:
    """Cells without (or with odd) references land after the previous one, as parsers place
    them: walk every row and cell tag (slow path, for files no mainstream writer makes)."""
    row = col = max_row = max_col = 0
    for match in _TOKEN.finditer(data):
        tag, attrs = match.groups()
        r = _R_ATTR.search(attrs)
        ref = _REF.match(r.group(1).decode("ascii", "replace")) if r else None
        if tag == b"row":
            row = _number(ref.group(2)) if ref and ref.group(2) and not ref.group(1) else row + 1
            col = 0
            continue
        if ref and ref.group(1) and ref.group(2):
            cell_row, col = _number(ref.group(2)), _col_number(ref.group(1))
        else:
            cell_row, col = row, col + 1
        max_row, max_col = max(max_row, cell_row), max(max_col, col)
    return max_row, max_col


def _range_too_large(ref: str) -> bool:
    for part in ref.split(":")[:2]:
        match = _REF.match(part.strip())
        if not match:
            continue  # unparseable: parsers ignore it too
        letters, digits = match.groups()
        row = _number(digits) if digits else _HUGE  # "A:A" is a whole column
        col = _col_number(letters) if letters else _HUGE  # "1:1" is a whole row
        if row > MAX_ROWS or col > MAX_COLS:
            return True
    return False


def _number(digits: str | bytes) -> int:
    return int(digits) if len(digits) <= 12 else _HUGE


def _col_number(letters: str | bytes) -> int:
    if isinstance(letters, bytes):
        letters = letters.decode("ascii", "replace")
    if len(letters) > 8:
        return _HUGE
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _cell_name(row: int, col: int) -> str:
    if row >= _HUGE or col >= _HUGE:
        return "シートの範囲外"
    letters = ""
    while col > 0:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row}"


# --- Core properties -----------------------------------------------------------------------
_CORE_PROPERTIES = "docProps/core.xml"
_NS_DCTERMS = "http://purl.org/dc/terms/"


def last_saved(parts: Mapping[str, bytes]) -> str | None:
    """``Container.last_saved`` of the XML parts triage kept (no second unzip)."""
    import datetime as dt


    def parse_xml(data: bytes, member: str):  # DTD refused, as every part triage reads
        return _parse_xml(data, member, "")

    by_lower = {name.lower(): name for name in parts}
    member = by_lower.get(_CORE_PROPERTIES.lower())
    rels = by_lower.get("_rels/.rels")
    try:
        if rels is not None:
            for el in parse_xml(parts[rels], rels):
                if el.get("Type", "").endswith("/core-properties") and \
                        el.get("TargetMode", "") != "External":
                    member = by_lower.get(_resolve(el.get("Target", ""), ""), member)
                    break
        if member is None:
            return None
        modified = parse_xml(parts[member], member).find(f"{{{_NS_DCTERMS}}}modified")
        text = (modified.text or "").strip() if modified is not None else ""
        if not text:
            return None
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except Exception:  # noqa: BLE001 - a missing or odd time only means "unknown"
        return None
    if when.tzinfo is None:  # no zone: the W3CDTF profile of core properties is UTC
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


# --- Message helpers -----------------------------------------------------------------------


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB" if size < 1024 * MB else f"{size / (1024 * MB):.1f} GB"


def _shown(text: str, limit: int = 80) -> str:
    """Text from the file, safe to put in a message: printable and short."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in text)
    return cleaned if len(cleaned) <= limit else cleaned[:limit - 1] + "…"


# --- defusedxml ------------------------------------------------------------------------------
_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
           b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
           b"<lolz>&lol3;</lolz>")
_defused_checked = False  # defusedxml itself checked
_openpyxl_checked = False  # openpyxl's use of it checked


def ensure_defused(*, openpyxl: bool = True) -> None:
    """Raise ``UnsafeEnvironment`` (a RuntimeError) unless the XML parsers we rely on refuse
    entity expansion.

    Checks that ``defusedxml.ElementTree`` rejects a (tiny) billion-laughs document and,
    unless ``openpyxl=False``, that openpyxl parses with defusedxml (``openpyxl.DEFUSEDXML``;
    its worksheet ``iterparse`` and its ``fromstring`` reject the same document; with lxml
    installed openpyxl's ``fromstring`` is lxml with ``resolve_entities=False`` instead, which
    is also safe). The openpyxl check imports openpyxl: ~130 ms if nothing imported it yet,
    ~0.2 ms otherwise; a module that never uses openpyxl can pass ``openpyxl=False`` (~0.1 ms).
    Each check runs once per process; later calls cost ~1 µs.
    """
    global _defused_checked, _openpyxl_checked
    if _defused_checked and (_openpyxl_checked or not openpyxl):
        return
    try:
        import defusedxml
        import defusedxml.ElementTree as safe_et
    except ImportError as exc:
        raise UnsafeEnvironment("defusedxml がインストールされていません（安全な XML 解析に必要です）") from exc
    if not _rejects(lambda: safe_et.fromstring(_LAUGHS), defusedxml.DefusedXmlException):
        raise UnsafeEnvironment("defusedxml がエンティティ展開（billion laughs）を拒否しません")
    _defused_checked = True
    if not openpyxl or _openpyxl_checked:
        return
    import openpyxl as openpyxl_module
    from openpyxl.xml import functions as openpyxl_xml

    if not getattr(openpyxl_module, "DEFUSEDXML", False):
        raise UnsafeEnvironment("defusedxml が openpyxl で有効になっていません"
                           "（環境変数 OPENPYXL_DEFUSEDXML を確認してください）")
    if not _rejects(lambda: list(openpyxl_xml.iterparse(io.BytesIO(_LAUGHS))),
                    defusedxml.DefusedXmlException):
        raise UnsafeEnvironment("defusedxml が openpyxl のシート読み込み（iterparse）で有効になっていません")
    if not getattr(openpyxl_module, "LXML", False) and not _rejects(
            lambda: openpyxl_xml.fromstring(_LAUGHS), defusedxml.DefusedXmlException):
        raise UnsafeEnvironment("defusedxml が openpyxl の XML 読み込み（fromstring）で有効になっていません")
    _openpyxl_checked = True


def _rejects(parse, exception: type[BaseException]) -> bool:
    try:
        parse()
    except exception:
        return True
    except Exception:  # noqa: BLE001 - any other outcome means it was not defused
        return False
    return False

