"""Builders of broken and hostile received files, for tests.

Every builder is ``make_<kind>(path_or_dir, base_xlsx=None) -> Path``: it writes one file
and returns its path. ``path_or_dir`` is the file to write, or an existing directory to write
a file with the kind's default name into. ``base_xlsx`` is a real workbook the hostile one
is derived from (a generated 東京都 R5 plan when None); kinds that are not workbooks at all
ignore it.

The builders never parse what they write and stay small in memory: the 1 GiB zip bomb is
written as one deflate block repeated, so it costs ~1 MB and ~0.3 s (its CRC) to build.
"""

from __future__ import annotations

import functools
import io
import random
import struct
import zipfile
import zlib
from pathlib import Path

PLAN_SHEET_MEMBER = "xl/worksheets/sheet2.xml"  # 計画 in a generated workbook
SHARED_STRINGS_MEMBER = "xl/sharedStrings.xml"
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
BOMB_SIZE = 1 << 30  # 1 GiB of spaces inside the bomb's plan sheet


# --- Helpers -----------------------------------------------------------------------------


def _target(path_or_dir: str | Path, default_name: str) -> Path:
    path = Path(path_or_dir)
    if path.is_dir():
        path = path / default_name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@functools.lru_cache(maxsize=1)
def _generated_workbook() -> bytes:
    from budget.generate import write_plan_workbook
    from budget.menu import load_menu
    from budget.prefectures import find_prefecture

    buffer = io.BytesIO()
    write_plan_workbook(buffer, load_menu(2023), find_prefecture("東京都"))
    return buffer.getvalue()


def base_bytes(base_xlsx: str | Path | None) -> bytes:
    """The bytes of ``base_xlsx``, or of a generated workbook when None."""
    return Path(base_xlsx).read_bytes() if base_xlsx is not None else _generated_workbook()


def members(base_xlsx: str | Path | None) -> dict[str, bytes]:
    """The base workbook's members, in order."""
    with zipfile.ZipFile(io.BytesIO(base_bytes(base_xlsx))) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def _write_zip(path: Path, parts: dict[str, bytes] | list[tuple[str, bytes]]) -> Path:
    items = parts.items() if isinstance(parts, dict) else parts
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in items:
            zf.writestr(name, data)
    return path


def _rewrite(base_xlsx: str | Path | None, path: Path, changes: dict[str, bytes]) -> Path:
    parts = members(base_xlsx)
    parts.update(changes)
    return _write_zip(path, parts)


def _replace_once(data: bytes, old: bytes, new: bytes) -> bytes:
    if data.count(old) < 1:
        raise ValueError(f"{old!r} not found")
    return data.replace(old, new, 1)


def _ole2(stream_names: list[str]) -> bytes:
    """A synthetic OLE2 compound file: a 512-byte header and one directory sector whose
    128-byte entries carry the given stream names (UTF-16LE, as in a real file).

    It is not a complete compound file (no FAT): enough for a sniffer that looks at the magic
    and the stream names, which is all ``budget.xlsx.container`` does. A real encrypted .xlsx
    (Excel's "パスワードを使用して暗号化") has exactly these stream names: ``EncryptionInfo``
    and ``EncryptedPackage`` beside ``\\x06DataSpaces``; a real .xls has ``Workbook``.
    """
    header = bytearray(512)
    header[:8] = OLE2_MAGIC
    header[24:34] = struct.pack("<HHHH2x", 0x3E, 3, 0xFFFE, 9)  # minor, major, byte order, 512
    directory = bytearray()
    for i, name in enumerate(["Root Entry", *stream_names]):
        entry = bytearray(128)
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        entry[:len(encoded)] = encoded
        entry[64:66] = struct.pack("<H", len(encoded))
        entry[66] = 5 if i == 0 else 2  # root storage / stream
        directory += entry
    directory += bytes(-len(directory) % 512)
    return bytes(header) + bytes(directory) + bytes(512)


# --- Not workbooks at all ------------------------------------------------------------------


def make_empty(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    path = _target(path_or_dir, "13_東京都_R5_計画.xlsx")
    path.write_bytes(b"")
    return path


def make_random_bytes(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    path = _target(path_or_dir, "random.xlsx")
    data = random.Random(20230401).randbytes(4096)
    assert not data.startswith((b"PK", OLE2_MAGIC[:2])) and b"\x00" in data
    path.write_bytes(data)
    return path


def make_encrypted(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    """What Excel writes for a password-protected .xlsx (synthetic: see ``_ole2``)."""
    path = _target(path_or_dir, "encrypted.xlsx")
    path.write_bytes(_ole2(["\x06DataSpaces", "EncryptionInfo", "EncryptedPackage"]))
    return path


def make_legacy_xls(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    """A legacy .xls (BIFF8 in OLE2) renamed .xlsx (synthetic: see ``_ole2``)."""
    path = _target(path_or_dir, "legacy.xlsx")
    path.write_bytes(_ole2(["Workbook", "\x05SummaryInformation",
                            "\x05DocumentSummaryInformation"]))
    return path


def make_csv_renamed(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    path = _target(path_or_dir, "csv.xlsx")
    text = "区分,事業名,国(A),都道府県(B)\r\n基盤整備,介護人材確保対策連携強化事業,1234,617\r\n"
    path.write_bytes(text.encode("cp932"))
    return path


def make_html_renamed(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    """An HTML table saved with an Excel extension, as some systems export "Excel" files."""
    path = _target(path_or_dir, "html.xlsx")
    path.write_bytes(
        "<html><head><meta charset=\"utf-8\"></head><body><table>"
        "<tr><td>事業名</td><td>国(A)</td></tr><tr><td>研修</td><td>1234</td></tr>"
        "</table></body></html>\n".encode())
    return path


def make_docx_like(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    """A Word document (an OOXML zip without ``xl/workbook.xml``) renamed .xlsx."""
    path = _target(path_or_dir, "docx.xlsx")
    return _write_zip(path, {
        "[Content_Types].xml": (
            b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            b'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
            b'<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
            b'officedocument.wordprocessingml.document.main+xml"/></Types>'),
        "_rels/.rels": (
            b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
            b'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            b'Target="word/document.xml"/></Relationships>'),
        "word/document.xml": (
            '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.'
            'openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>計画'
            '</w:t></w:r></w:p></w:body></w:document>').encode(),
    })


def make_ods_like(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    """A LibreOffice .ods renamed .xlsx (the ``mimetype`` member is stored, as ODF requires)."""
    path = _target(path_or_dir, "ods.xlsx")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", '<?xml version="1.0"?><office:document-content xmlns:office='
                    '"urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>',
                    compress_type=zipfile.ZIP_DEFLATED)
    return path


# --- Broken zips ---------------------------------------------------------------------------


def make_truncated(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    """The first half of a real workbook (an upload cut short)."""
    path = _target(path_or_dir, "truncated.xlsx")
    data = base_bytes(base_xlsx)
    path.write_bytes(data[:len(data) // 2])
    return path


def _central_entry_offsets(data: bytes) -> dict[str, tuple[int, int]]:
    """Member name -> (central directory entry offset, local header offset)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        local = {i.filename: i.header_offset for i in zf.infolist()}
    offsets = {}
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        name_length = struct.unpack("<H", data[pos + 28:pos + 30])[0]
        name = data[pos + 46:pos + 46 + name_length].decode("utf-8")
        if name in local:
            offsets[name] = (pos, local[name])
        pos = data.find(b"PK\x01\x02", pos + 46)
    return offsets


def make_crc_corrupt(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    """The plan sheet's recorded CRC-32 no longer matches its (intact) data."""
    path = _target(path_or_dir, "crc.xlsx")
    data = bytearray(base_bytes(base_xlsx))
    central, local = _central_entry_offsets(bytes(data))[PLAN_SHEET_MEMBER]
    for field in (central + 16, local + 14):
        crc = struct.unpack("<I", data[field:field + 4])[0]
        data[field:field + 4] = struct.pack("<I", crc ^ 0x5A5A5A5A)
    path.write_bytes(bytes(data))
    return path


def make_damaged_deflate(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    """Bytes in the middle of the plan sheet's compressed data overwritten (a bad disk)."""
    path = _target(path_or_dir, "damaged.xlsx")
    data = bytearray(base_bytes(base_xlsx))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo(PLAN_SHEET_MEMBER)
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26:
                                                          info.header_offset + 30])
    start = info.header_offset + 30 + name_length + extra_length
    middle = start + info.compress_size // 2
    data[middle:middle + 64] = bytes(64)
    path.write_bytes(bytes(data))
    return path


def make_duplicate_member(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    """Two members named like the plan sheet: two parsers could each read a different one."""
    import warnings

    path = _target(path_or_dir, "duplicate.xlsx")
    parts = list(members(base_xlsx).items())
    parts.append((PLAN_SHEET_MEMBER, dict(parts)[PLAN_SHEET_MEMBER].replace(b"A1:R", b"A1:S")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns of the duplicate name
        return _write_zip(path, parts)


def make_many_members(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    path = _target(path_or_dir, "many.xlsx")
    parts = members(base_xlsx)
    parts.update({f"xl/media/pad{i:04d}.bin": b"" for i in range(1000)})
    return _write_zip(path, parts)


# --- Decompression bombs -----------------------------------------------------------------


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _bomb_stream(prefix: bytes, size: int, suffix: bytes,
                 with_crc: bool = True) -> tuple[bytes, int, int]:
    """Raw deflate of ``prefix + b" " * size + suffix`` built from one repeated block:
    after a full flush the compressor starts afresh, so each MiB of spaces compresses to
    the same ~1 KB. Returns (stream, uncompressed size, CRC-32) without ever holding the
    uncompressed data."""
    mib = b" " * (1 << 20)
    assert size % len(mib) == 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(mib) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.compress(suffix) + compressor.flush()
    crc = 0
    if with_crc:  # the one slow step (~0.3 s)
        crc = zlib.crc32(prefix)
        for _ in range(size // len(mib)):
            crc = zlib.crc32(mib, crc)
        crc = zlib.crc32(suffix, crc)
    return head + block * (size // len(mib)) + tail, len(prefix) + size + len(suffix), crc


def _write_raw_zip(path: Path, entries: list[tuple[str, bytes, int, int]]) -> Path:
    """A zip from already-deflated entries: (name, raw deflate, declared size, declared CRC).
    The declared size and CRC go into both the local header and the central directory."""
    out = bytearray()
    central = bytearray()
    for name, stream, size, crc in entries:
        encoded = name.encode("utf-8")
        offset = len(out)
        fields = struct.pack("<HHHHHIII", 20, 0x800, 8, 0, 0x21, crc, len(stream), size)
        out += b"PK\x03\x04" + fields + struct.pack("<HH", len(encoded), 0) + encoded + stream
        central += (b"PK\x01\x02" + struct.pack("<H", 20) + fields
                    + struct.pack("<HHHHHII", len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    out += central + b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(entries), len(entries),
                                                  len(central), len(out), 0)
    path.write_bytes(bytes(out))
    return path


def _bomb_entries(base_xlsx: Path | None, lie: bool) -> list[tuple[str, bytes, int, int]]:
    parts = members(base_xlsx)
    sheet = parts[PLAN_SHEET_MEMBER]
    start = sheet.index(b"<sheetData>") + len(b"<sheetData>")
    end = sheet.index(b"</sheetData>")
    stream, size, crc = _bomb_stream(sheet[:start], BOMB_SIZE, sheet[end:], with_crc=not lie)
    if lie:  # claim the original sheet's size, with the CRC of that many bytes of the bomb
        size = len(sheet)
        crc = zlib.crc32(sheet[:start] + b" " * (size - start))
    entries = []
    for name, data in parts.items():
        if name == PLAN_SHEET_MEMBER:
            entries.append((name, stream, size, crc))
        else:
            entries.append((name, _raw_deflate(data), len(data), zlib.crc32(data)))
    return entries


def make_zip_bomb(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    """The plan sheet inflates to 1 GiB (of spaces inside <sheetData>): ~1 MB on disk, the
    central directory honestly declares the 1 GiB."""
    return _write_raw_zip(_target(path_or_dir, "bomb.xlsx"), _bomb_entries(base_xlsx, lie=False))


def make_lying_zip_bomb(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    """The same bomb, but the headers claim the original ~46 KB sheet and the CRC of the
    bomb's first ~46 KB: ``zipfile`` reads the member without complaint (it stops at the
    declared size), while a reader that inflates to the end of the stream gets 1 GiB."""
    return _write_raw_zip(_target(path_or_dir, "lying-bomb.xlsx"),
                          _bomb_entries(base_xlsx, lie=True))


# --- Workbooks claiming huge sheets -------------------------------------------------------


def _edit_plan_sheet(path_or_dir: str | Path, base_xlsx: Path | None, name: str,
                     old: bytes, new: bytes) -> Path:
    path = _target(path_or_dir, name)
    sheet = members(base_xlsx)[PLAN_SHEET_MEMBER]
    return _rewrite(base_xlsx, path, {PLAN_SHEET_MEMBER: _replace_once(sheet, old, new)})


def make_huge_dimension(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    """The plan sheet's <dimension> claims the whole grid (python-calamine aborts on it)."""
    sheet = members(base_xlsx)[PLAN_SHEET_MEMBER]
    start = sheet.index(b'<dimension ref="')
    old = sheet[start:sheet.index(b"/>", start) + 2]
    return _edit_plan_sheet(path_or_dir, base_xlsx, "dimension.xlsx", old,
                            b'<dimension ref="A1:XFD1048576"/>')


def make_far_cell(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    """One cell at XFD1048576 (the <dimension> left as it was)."""
    return _edit_plan_sheet(path_or_dir, base_xlsx, "far-cell.xlsx", b"</sheetData>",
                            b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')


def make_positional_far_cell(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    """Cells without an ``r`` attribute (parsers place them after the previous one) in a
    row far below the plan: only a walk over the row and cell tags finds where they land."""
    return _edit_plan_sheet(path_or_dir, base_xlsx, "positional.xlsx", b"</sheetData>",
                            b'<row r="20000"><c><v>1</v></c><c><v>2</v></c></row></sheetData>')


def make_huge_merge(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    """A merged range over the whole grid (openpyxl materialises every merged cell)."""
    return _edit_plan_sheet(path_or_dir, base_xlsx, "merge.xlsx", b'<mergeCell ref="A1:Q1"/>',
                            b'<mergeCell ref="A1:Q1"/><mergeCell ref="A100:XFD1048576"/>')


# --- Unsafe XML ---------------------------------------------------------------------------

_LAUGHS_DTD = (
    '<!DOCTYPE sst [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
              for i in range(1, 10))
    + "]>"
)


def make_billion_laughs(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    """sharedStrings.xml with the classic nine-level entity expansion in its first string."""
    path = _target(path_or_dir, "laughs.xlsx")
    strings = members(base_xlsx)[SHARED_STRINGS_MEMBER]
    strings = _replace_once(strings, b"?>", b"?>" + _LAUGHS_DTD.encode())
    strings = _replace_once(strings, b"<si><t>", b"<si><t>&lol9;")
    return _rewrite(base_xlsx, path, {SHARED_STRINGS_MEMBER: strings})


def make_billion_laughs_utf16(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    """The same attack in a UTF-16 encoded sharedStrings.xml (legal XML; a byte scan for
    ASCII ``<!DOCTYPE`` misses it)."""
    path = _target(path_or_dir, "laughs16.xlsx")
    text = members(base_xlsx)[SHARED_STRINGS_MEMBER].decode("utf-8")
    text = text.replace('encoding="UTF-8"', 'encoding="UTF-16"', 1)
    text = text.replace("?>", "?>" + _LAUGHS_DTD, 1).replace("<si><t>", "<si><t>&lol9;", 1)
    return _rewrite(base_xlsx, path, {SHARED_STRINGS_MEMBER: text.encode("utf-16")})


# --- Macros, links, other formats -----------------------------------------------------------

_XLSM_MAIN = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
_XLSX_MAIN = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def _macro_changes(base_xlsx: Path | None) -> dict[str, bytes]:
    """What Excel's "マクロ有効ブック" adds: a VBA project part, its relationship and the
    macro-enabled main content type. The project itself is a synthetic OLE2 stub."""
    parts = members(base_xlsx)
    types = _replace_once(parts["[Content_Types].xml"], _XLSX_MAIN, _XLSM_MAIN)
    types = _replace_once(types, b'<Default Extension="xml"',
                          b'<Default Extension="bin" ContentType="application/vnd.ms-office.'
                          b'vbaProject"/><Default Extension="xml"')
    rels = _replace_once(parts["xl/_rels/workbook.xml.rels"], b"</Relationships>",
                         b'<Relationship Id="rId99" Type="http://schemas.microsoft.com/office/2006/'
                         b'relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
    return {"[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels,
            "xl/vbaProject.bin": _ole2(["VBA", "dir", "_VBA_PROJECT", "PROJECT", "Module1"])}


def make_xlsm(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    return _rewrite(base_xlsx, _target(path_or_dir, "macro.xlsm"), _macro_changes(base_xlsx))


def make_macro_renamed_xlsx(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    """A macro-enabled workbook whose extension was changed to .xlsx."""
    return _rewrite(base_xlsx, _target(path_or_dir, "macro.xlsx"), _macro_changes(base_xlsx))


EXTERNAL_LINK_TARGET = "集計表.xlsx"


def make_external_link(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    """A workbook with an external link to another workbook, as Excel writes one after a
    formula like ``=[集計表.xlsx]Sheet1!A1`` was pasted in."""
    path = _target(path_or_dir, "external.xlsx")
    parts = members(base_xlsx)
    link = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><externalLink xmlns='
            f'"{_MAIN_NS}"><externalBook xmlns:r="{_REL_NS}" r:id="rId1"><sheetNames>'
            f'<sheetName val="Sheet1"/></sheetNames></externalBook></externalLink>').encode()
    link_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns='
                 '"http://schemas.openxmlformats.org/package/2006/relationships"><Relationship '
                 'Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                 'relationships/externalLinkPath" Target="file:///C:\\Users\\tanaka\\Desktop\\'
                 f'{EXTERNAL_LINK_TARGET}" TargetMode="External"/></Relationships>').encode()
    types = _replace_once(parts["[Content_Types].xml"], b"</Types>",
                          b'<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType='
                          b'"application/vnd.openxmlformats-officedocument.spreadsheetml.'
                          b'externalLink+xml"/></Types>')
    rels = _replace_once(parts["xl/_rels/workbook.xml.rels"], b"</Relationships>",
                         b'<Relationship Id="rId98" Type="http://schemas.openxmlformats.org/'
                         b'officeDocument/2006/relationships/externalLink" '
                         b'Target="externalLinks/externalLink1.xml"/></Relationships>')
    workbook = _replace_once(parts["xl/workbook.xml"], b"<definedNames>",
                             b'<externalReferences><externalReference r:id="rId98"/>'
                             b"</externalReferences><definedNames>")
    return _rewrite(base_xlsx, path, {
        "[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels,
        "xl/workbook.xml": workbook, "xl/externalLinks/externalLink1.xml": link,
        "xl/externalLinks/_rels/externalLink1.xml.rels": link_rels,
    })


def make_strict_ooxml(path_or_dir: str | Path, base_xlsx: Path | None = None) -> Path:
    """Excel's "Strict Open XML スプレッドシート" save format (its main namespace differs)."""
    path = _target(path_or_dir, "strict.xlsx")
    workbook = members(base_xlsx)["xl/workbook.xml"]
    workbook = _replace_once(workbook, _MAIN_NS.encode(),
                             b"http://purl.oclc.org/ooxml/spreadsheetml/main")
    return _rewrite(base_xlsx, path, {"xl/workbook.xml": workbook})


#: Every builder, by kind (the part of the name after ``make_``).
BUILDERS = {name[len("make_"):]: fn for name, fn in list(globals().items())
            if name.startswith("make_") and callable(fn)}
