"""SpreadsheetML edits on a ``budget.xlsx.patch.Package``: cell formats, cells, comments, sheets.

Everything here splices bytes into the parts the sender's application wrote; nothing is
re-serialised. What a return copy needs (``budget.intake.annotate``):

* ``Styles``: fills, fonts and cell formats (``cellXfs``) appended to the styles part; a
  derived format is the cell's own ``<xf>`` with another fill (its number format, border,
  alignment and protection stay);
* ``SheetCells``: give a cell another format (inserting the cell, and its row, when the sheet
  has none), or turn its formula into inert text;
* ``add_comments``: our notes on cells, merged with the comments the sheet already has (the
  comments part and the legacy VML drawing that shows them);
* ``add_first_sheet``: a new worksheet put first and selected.
"""

from __future__ import annotations

import html
import json
import math
import re
from typing import Any

from budget.xlsx.patch import (
    CT_COMMENTS,
    CT_VML,
    CT_WORKSHEET,
    NS_MAIN,
    NS_REL,
    XML_HEAD,
    Package,
    Unsupported,
    attr,
    element_span,
    elements,
    get_attr,
    insert_after_open,
    insert_before_close,
    parse,
    set_attr,
    text,
)

WORKBOOK = "xl/workbook.xml"
_HIDDEN = ' hidden="1"'
_M = f"{{{NS_MAIN}}}"


def col_number(letters: bytes | str) -> int:
    """``"H"`` → 8 (1-based)."""
    if isinstance(letters, bytes):
        letters = letters.decode("ascii")
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def col_letters(col: int) -> str:
    """8 → ``"H"`` (1-based)."""
    letters = ""
    while col > 0:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _split(coord: str) -> tuple[int, int]:
    """``"H8"`` → (8, 8): 1-based row and column."""
    match = re.fullmatch(r"([A-Z]{1,3})([0-9]{1,7})", coord)
    if match is None:
        raise Unsupported("reference")
    return int(match.group(2)), col_number(match.group(1))


# --- Styles ---------------------------------------------------------------------------------


class Styles:
    """The styles part, with fills, fonts and cell formats to append (``finish`` writes)."""

    def __init__(self, package: Package, part: str | None) -> None:
        if part is None or not package.has(part):
            raise Unsupported("no styles")
        self.package, self.part = package, part
        data = package.read(part)
        root = parse(data)
        if root.tag != _M + "styleSheet":
            raise Unsupported("styles namespace")
        fills, fonts, xfs = (root.find(_M + t) for t in ("fills", "fonts", "cellXfs"))
        if fills is None or fonts is None or xfs is None or b"<cellXfs" not in data:
            raise Unsupported("styles shape")
        self._fill_els = list(fills)
        self._n_fonts = len(list(fonts))
        span = _span_of(data, b"cellXfs")
        self._xfs = [m.group(0) for m in elements(data, b"xf", *span)]
        if len(self._xfs) != len(list(xfs)) or not self._xfs:
            raise Unsupported("styles xf")
        self._xf_fill = [int(x.get("fillId", "0") or 0) for x in xfs]
        self._new: dict[bytes, list[bytes]] = {b"fills": [], b"fonts": [], b"cellXfs": []}
        self._fills: dict[bytes, int] = {}
        self._derived: dict[tuple[int, int, bool], int] = {}

    def fill(self, xml: bytes) -> int:
        """The id of a ``<fill>`` (added once)."""
        if xml not in self._fills:
            self._fills[xml] = len(self._fill_els) + len(self._new[b"fills"])
            self._new[b"fills"].append(xml)
        return self._fills[xml]

    def font(self, xml: bytes) -> int:
        self._new[b"fonts"].append(xml)
        return self._n_fonts + len(self._new[b"fonts"]) - 1

    def xf(self, xml: bytes) -> int:
        self._new[b"cellXfs"].append(xml)
        return len(self._xfs) + len(self._new[b"cellXfs"]) - 1

    def derive(self, base: int, fill: int | None, quote: bool = False) -> int:
        """A cell format: format ``base`` with fill ``fill`` (kept when None), and
        ``quotePrefix`` when ``quote``."""
        key = (base, -1 if fill is None else fill, quote)
        if key not in self._derived:
            source = self._xfs[base] if 0 <= base < len(self._xfs) else self._xfs[0]
            end = source.find(b">") + 1
            tag, rest = source[:end], source[end:]
            if fill is not None:
                tag = set_attr(set_attr(tag, b"fillId", str(fill).encode()), b"applyFill", b"1")
            if quote:
                tag = set_attr(tag, b"quotePrefix", b"1")
            self._derived[key] = self.xf(tag + rest)
        return self._derived[key]

    def fill_record(self, xf: int) -> str:
        """The fill of cell format ``xf`` as JSON text (pattern, foreground and background
        colours), as return copies record it."""
        fill_id = self._xf_fill[xf] if 0 <= xf < len(self._xf_fill) else 0
        el = self._fill_els[fill_id] if 0 <= fill_id < len(self._fill_els) else None
        pattern = el.find(_M + "patternFill") if el is not None else None
        if pattern is None:
            return json.dumps({"pattern": None, "fg": None, "bg": None})
        return json.dumps({"pattern": pattern.get("patternType"),
                           "fg": _color(pattern.find(_M + "fgColor")),
                           "bg": _color(pattern.find(_M + "bgColor"))})

    def fill_is(self, xf: int, rgbs: tuple[str, ...]) -> bool:
        """Whether format ``xf`` has a solid fill of one of the colours ``rgbs``."""
        record = json.loads(self.fill_record(xf))
        fg = record.get("fg") or {}
        return record.get("pattern") == "solid" and fg.get("type") == "rgb" and \
            str(fg.get("value"))[-6:].upper() in rgbs

    def finish(self) -> None:
        data = self.package.read(self.part)
        for tag, added in self._new.items():
            if not added:
                continue
            data = insert_before_close(data, tag, b"".join(added))
            match = re.search(rb"<" + tag + rb"(?=[\s>/])[^>]*>", data)
            if match is not None and get_attr(match.group(0), b"count") is not None:
                count = int(get_attr(match.group(0), b"count") or 0) + len(added)
                new_tag = set_attr(match.group(0), b"count", str(count).encode())
                data = data[:match.start()] + new_tag + data[match.end():]
        self.package.write(self.part, data)


def _span_of(data: bytes, tag: bytes) -> tuple[int, int]:
    span = element_span(data, tag)
    if span is None:
        raise Unsupported(f"no {tag.decode()}")
    return span


def _color(el: Any) -> dict[str, object] | None:
    if el is None:
        return {"type": "rgb", "value": "00000000", "tint": 0.0}
    tint = float(el.get("tint", "0") or 0)
    for kind in ("rgb", "theme", "indexed", "auto"):
        value = el.get(kind)
        if value is not None:
            if kind in ("theme", "indexed"):
                return {"type": kind, "value": int(value), "tint": tint}
            if kind == "auto":
                return {"type": kind, "value": value in ("1", "true"), "tint": tint}
            return {"type": kind, "value": value, "tint": tint}
    return {"type": "rgb", "value": "00000000", "tint": tint}


#: ST_PatternType: the fill patterns SpreadsheetML knows.
PATTERNS = frozenset({
    "none", "solid", "mediumGray", "darkGray", "lightGray", "darkHorizontal", "darkVertical",
    "darkDown", "darkUp", "darkGrid", "darkTrellis", "lightHorizontal", "lightVertical",
    "lightDown", "lightUp", "lightGrid", "lightTrellis", "gray125", "gray0625"})
#: The record of a cell without a fill (what ``Styles.fill_record`` writes for one).
NO_FILL = json.dumps({"pattern": None, "fg": None, "bg": None})
#: Its ``<fill>`` (``fill_xml(NO_FILL)``).
UNFILLED = b"<fill><patternFill></patternFill></fill>"
_MAX_COLOR_INDEX = 255  # a theme or legacy palette index: small, never negative
_RGB = re.compile(r"[0-9A-Fa-f]{8}")


def fill_xml(record: str) -> bytes | None:
    """A ``<fill>`` element from a recorded fill (``Styles.fill_record``), or None when
    ``record`` is not one. The record comes back in a return copy's hidden column, which the
    sender can edit: it is checked whole before any XML is made (a pattern of
    ``ST_PatternType``; each colour an ``rgb`` of 8 hex digits, a ``theme`` or ``indexed``
    number 0–255, or ``auto`` true/false; a tint a finite number in [-1, 1]), so nothing
    the sender typed reaches the styles part but those values."""
    try:
        data = json.loads(record)
    except (ValueError, TypeError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    pattern = data.get("pattern")
    if pattern is not None and (not isinstance(pattern, str) or pattern not in PATTERNS):
        return None
    inner = ""
    for tag, key in (("fgColor", "fg"), ("bgColor", "bg")):
        if data.get(key) is None:
            continue
        color = _color_xml(tag, data[key])
        if color is None:
            return None
        inner += color
    head = f"<patternFill patternType={attr(pattern)}" if pattern else "<patternFill"
    return f"<fill>{head}>{inner}</patternFill></fill>".encode()


def _color_xml(tag: str, c: object) -> str | None:
    """``<fgColor …/>`` (``tag``) from a recorded colour, or None when it is not one."""
    if not isinstance(c, dict):
        return None
    kind, value, tint = c.get("type"), c.get("value"), c.get("tint")
    if kind == "rgb" and isinstance(value, str) and _RGB.fullmatch(value):
        shown = value
    elif kind in ("theme", "indexed") and isinstance(value, int) and \
            not isinstance(value, bool) and 0 <= value <= _MAX_COLOR_INDEX:
        shown = str(value)
    elif kind == "auto" and isinstance(value, bool):
        shown = "1" if value else "0"
    else:
        return None
    if tint is None or tint == 0:
        extra = ""
    elif isinstance(tint, (int, float)) and not isinstance(tint, bool) and \
            math.isfinite(tint) and -1 <= tint <= 1:
        extra = f" tint={attr(repr(float(tint)))}"
    else:
        return None
    return f"<{tag} {kind}={attr(shown)}{extra}/>"


def solid_fill(rgb: str) -> bytes:
    return (f'<fill><patternFill patternType="solid"><fgColor rgb="00{rgb}"/>'
            f'<bgColor rgb="00{rgb}"/></patternFill></fill>').encode()


# --- Cells ---------------------------------------------------------------------------------


#: A cell or row tag that does not start with its reference (``<c r="…"``, ``<row r="…"``).
_NO_REF = re.compile(rb'<(?:c|row)(?:[\t\n\r>/]| (?!r="))')


class SheetCells:
    """A worksheet's XML, with cells to restyle or make inert (``data`` is the result)."""

    def __init__(self, data: bytes) -> None:
        if _NO_REF.search(data):
            raise Unsupported("cell or row without reference")
        if b"<sheetData" not in data:
            raise Unsupported("prefixed worksheet")
        self.data = data
        self._merged: list[tuple[int, int, int, int]] | None = None

    def merged(self) -> list[tuple[int, int, int, int]]:
        """Merged ranges as (first row, first col, last row, last col), 1-based (cells are
        edited, never merged or unmerged: read once)."""
        if self._merged is not None:
            return self._merged
        out = []
        for ref in re.findall(rb'<mergeCell\s[^>]*?ref="([A-Z]+[0-9]+):([A-Z]+[0-9]+)"',
                              self.data):
            (r1, c1), (r2, c2) = (_split(x.decode("ascii")) for x in ref)
            out.append((min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)))
        self._merged = out
        return out

    def top_left(self, coord: str) -> str:
        """The cell that holds ``coord``'s format and comment: a merged range's top left."""
        row, col = _split(coord)
        for r1, c1, r2, c2 in self.merged():
            if r1 <= row <= r2 and c1 <= col <= c2:
                return f"{col_letters(c1)}{r1}"
        return coord

    def _find(self, coord: str) -> re.Match[bytes] | None:
        pattern = re.compile(rb'<c r="' + coord.encode() + rb'"(?=[\s>/])[^>]*?(?:/>|>.*?</c>)',
                             re.S)
        return pattern.search(self.data)

    def style(self, coord: str) -> int:
        """The cell format index of ``coord`` (0 when the cell or its ``s`` is missing)."""
        match = self._find(coord)
        if match is None:
            return 0
        tag = match.group(0)[:match.group(0).find(b">") + 1]
        return int(get_attr(tag, b"s") or 0)

    def formula(self, coord: str) -> str | None:
        """The formula of ``coord`` as typed (``=…``), or None when it has none."""
        match = self._find(coord)
        if match is None:
            return None
        f = re.search(rb"<f(?=[\s>/])([^>]*?)(?:/>|>(.*?)</f>)", match.group(0), re.S)
        if f is None:
            return None
        kind = get_attr(b"<f" + f.group(1) + b">", b"t")
        if kind in (b"shared", b"dataTable"):
            raise Unsupported(f"{kind.decode()} formula")
        import html

        return "=" + html.unescape((f.group(2) or b"").decode("utf-8"))

    def set_style(self, coord: str, style: int) -> None:
        match = self._find(coord)
        if match is None:
            self._insert(coord, f'<c r="{coord}" s="{style}"/>'.encode())
            return
        whole = match.group(0)
        end = whole.find(b">") + 1
        if whole[end - 2:end] == b"/>":
            end = len(whole)
            tag = set_attr(whole, b"s", str(style).encode())
            new = tag
        else:
            new = set_attr(whole[:end], b"s", str(style).encode()) + whole[end:]
        self.data = self.data[:match.start()] + new + self.data[match.end():]

    def set_text(self, coord: str, style: int, value: str) -> None:
        """``coord`` becomes a text cell showing ``value`` (formula and cached value gone)."""
        new = (f'<c r="{coord}" s="{style}" t="inlineStr"><is><t xml:space="preserve">'
               f"{text(value)}</t></is></c>").encode()
        match = self._find(coord)
        if match is None:
            self._insert(coord, new)
        else:
            self.data = self.data[:match.start()] + new + self.data[match.end():]

    def drop_hyperlink(self, coord: str) -> str | None:
        """Remove the hyperlink on exactly ``coord``; its relationship id, if any."""
        pattern = re.compile(rb'<hyperlink\s[^>]*?ref="' + coord.encode() + rb'"[^>]*?(?:/>|>.*?'
                             rb"</hyperlink>)", re.S)
        match = pattern.search(self.data)
        if match is None:
            return None
        rid = re.search(rb'\s\w+:id="([^"]*)"', match.group(0))
        self.data = self.data[:match.start()] + self.data[match.end():]
        self.data = re.sub(rb"<hyperlinks>\s*</hyperlinks>|<hyperlinks/>", b"", self.data)
        return rid.group(1).decode() if rid else None

    def _insert(self, coord: str, cell: bytes) -> None:
        row, col = _split(coord)
        data = self.data
        match = re.search(rb'<row r="' + str(row).encode() + rb'"(?=[\s>/])[^>]*?(/?)>', data)
        if match is not None:
            tag = set_attr(data[match.start():match.end() - (2 if match.group(1) else 1)] + b">",
                           b"spans", None)
            if match.group(1):
                self.data = data[:match.start()] + tag + cell + b"</row>" + data[match.end():]
                return
            close = data.find(b"</row>", match.end())
            if close < 0:
                raise Unsupported("row")
            at = close
            for c in re.finditer(rb'<c r="([A-Z]+)[0-9]+"', data[match.end():close]):
                if col_number(c.group(1)) > col:
                    at = match.end() + c.start()
                    break
            self.data = data[:match.start()] + tag + data[match.end():at] + cell + data[at:]
            return
        new_row = f'<row r="{row}">'.encode() + cell + b"</row>"
        start = data.find(b"<sheetData")
        for r in re.finditer(rb'<row r="([0-9]+)"', data[start:]):
            if int(r.group(1)) > row:
                at = start + r.start()
                self.data = data[:at] + new_row + data[at:]
                return
        self.data = insert_before_close(data, b"sheetData", new_row)


def unselect(data: bytes) -> bytes:
    """A worksheet's XML with its tab no longer selected."""
    return re.sub(rb'\stabSelected\s*=\s*"(?:1|true)"', b"", data)


# --- Comments --------------------------------------------------------------------------------

_AFTER_LEGACY = (b"<legacyDrawingHF", b"<drawingHF", b"<picture", b"<oleObjects", b"<controls",
                 b"<webPublishItems", b"<tableParts")
_VML_URIS = {"v": b"urn:schemas-microsoft-com:vml", "o": b"urn:schemas-microsoft-com:office:office",
             "x": b"urn:schemas-microsoft-com:office:excel"}
_SHAPETYPE = ('<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" '
              'path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
              '<v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>')


def _prefixed(xml: str, prefixes: dict[str, str]) -> bytes:
    """VML written with the ``v:``/``o:``/``x:`` prefixes, with the drawing's own instead."""
    return re.sub(r"(</?)([vox]):|(\s)([vox]):(?=[A-Za-z]+=)",
                  lambda m: (m.group(1) or m.group(3)) + prefixes[m.group(2) or m.group(4)] + ":",
                  xml).encode()


def _vml_prefixes(vml: bytes) -> dict[str, str]:
    """The prefixes a VML drawing's root declares for the VML, Office and Excel namespaces."""
    root = re.search(rb"<xml(?=[\s>])[^>]*>", vml)
    if root is None:
        raise Unsupported("vml root")
    head = root.group(0)
    out = {}
    for key, uri in _VML_URIS.items():
        match = re.search(rb'xmlns:([\w.-]+)\s*=\s*"' + re.escape(uri) + rb'"', head)
        if match is None:
            raise Unsupported("vml namespaces")
        out[key] = match.group(1).decode()
    return out


def _plain(comment: bytes) -> str:
    """The text of one ``<comment>`` element (its runs, not their phonetic guides)."""
    start, end = comment.find(b"<text"), comment.rfind(b"</text>")
    if start < 0 or end < 0:
        return ""
    inner = comment[comment.find(b">", start) + 1:end]
    try:
        body = parse(f'<text xmlns="{NS_MAIN}">'.encode() + inner + b"</text>")
    except Exception as exc:  # noqa: BLE001 - a prefix declared elsewhere: not ours to guess
        raise Unsupported("comment text") from exc
    parts = [body.findtext(_M + "t") or ""]
    parts += [r.findtext(_M + "t") or "" for r in body.findall(_M + "r")]
    return "".join(parts)


def _comments_part(package: Package, sheet_part: str) -> str | None:
    for rel in package.relationships(sheet_part):
        if rel.type == "comments" and not rel.external:
            if not package.has(rel.part):
                raise Unsupported("comments part")
            return package.name(rel.part)
    return None


def _authors(data: bytes) -> list[str]:
    span = _span_of(data, b"authors")
    return [html.unescape((m.group(1) or b"").decode("utf-8")) for m in re.finditer(
        rb"<author(?:\s[^>]*)?(?:/>|>(.*?)</author>)", data[slice(*span)], re.S)]


def _author_id(data: bytes, author: str) -> tuple[bytes, int]:
    """The comments part with ``author`` listed, and its index."""
    authors = _authors(data)
    if author in authors:
        return data, authors.index(author)
    return insert_before_close(data, b"authors", f"<author>{text(author)}</author>".encode()), \
        len(authors)


def _comment(cell: str, author_id: int, note: str) -> bytes:
    return (f'<comment ref="{cell}" authorId="{author_id}"><text>'
            f'<t xml:space="preserve">{text(note)}</t></text></comment>').encode()


def _legacy_drawing(package: Package, sheet_part: str, sheet: bytes) -> tuple[str | None, str]:
    """The VML drawing part of a worksheet (None when it has none) and its relationship id."""
    legacy = re.search(rb'<legacyDrawing\s[^>]*?\w+:id="([^"]*)"', sheet)
    if legacy is None:
        return None, ""
    rid = legacy.group(1).decode()
    drawing = next((r for r in package.relationships(sheet_part)
                    if r.id == rid and not r.external), None)
    if drawing is None or not package.has(drawing.part):
        raise Unsupported("legacy drawing")
    return package.name(drawing.part), rid


def strip_comments(package: Package, sheet_part: str, sheet: bytes, author: str,
                   keep: str) -> bytes:
    """Take ``author``'s comments off a worksheet: one whose text holds ``keep`` gets back
    the text after it (the sender's own comment, by no author); the others go, with the
    shapes that showed them. A comments part or drawing left empty goes too. Returns the
    worksheet's XML."""
    part = _comments_part(package, sheet_part)
    if part is None:
        return sheet
    data = package.read(part)
    if author not in _authors(data):
        return sheet
    ours = {i for i, a in enumerate(_authors(data)) if a == author}
    kept: list[bytes] = []
    gone: list[tuple[int, int]] = []
    blank = None
    for match in elements(data, b"comment", *_span_of(data, b"commentList")):
        el = match.group(0)
        tag = el[:el.find(b">") + 1]
        if int(get_attr(tag, b"authorId") or 0) not in ours:
            kept.append(el)
            continue
        ref = (get_attr(tag, b"ref") or b"").decode()
        _, sep, own = _plain(el).partition(keep)
        if sep and own:
            if blank is None:
                data, blank = _author_id(data, "")
            kept.append(_comment(ref, blank, own))
        else:
            gone.append(_split(ref))
    start, end = _span_of(data, b"commentList")
    data = data[:start] + b"<commentList>" + b"".join(kept) + b"</commentList>" + data[end:]
    if kept:
        package.write(part, data)
    else:
        _forget(package, sheet_part, part)
    vml_part, rid = _legacy_drawing(package, sheet_part, sheet)
    if vml_part is None or not gone:
        return sheet
    vml = package.read(vml_part)
    p = _vml_prefixes(vml)
    v, x = p["v"].encode(), p["x"].encode()
    shape = re.compile(rb"<" + v + rb":shape(?=[\s>])[^>]*>.*?</" + v + rb":shape>", re.S)
    targets = set(gone)

    def drop(match: re.Match[bytes]) -> bytes:
        body = match.group(0)
        row = re.search(rb"<" + x + rb":Row>\s*([0-9]+)\s*<", body)
        col = re.search(rb"<" + x + rb":Column>\s*([0-9]+)\s*<", body)
        if row and col and b'"Note"' in body and \
                (int(row.group(1)) + 1, int(col.group(1)) + 1) in targets:
            return b""
        return body

    vml = shape.sub(drop, vml)
    if shape.search(vml):
        package.write(vml_part, vml)
        return sheet
    _forget(package, sheet_part, vml_part)
    return re.sub(rb"<legacyDrawing\s[^>]*/>", b"", sheet)


def _forget(package: Package, source: str, part: str) -> None:
    """Remove ``part`` and ``source``'s relationship to it."""
    for rel in package.relationships(source):
        if not rel.external and rel.part.lower() == part.lower():
            package.remove_relationship(source, rel.id)
    package.remove_override(part)
    package.remove(part)


def remove_sheet(package: Package, name: str) -> None:
    """Take worksheet ``name`` out of the workbook: its part, its relationships, the names
    defined on it (later sheets' local names follow it down)."""
    wb = package.read(WORKBOOK)
    listed = list(re.finditer(rb"<sheet\s[^>]*?/>", wb))
    names = [html.unescape((get_attr(m.group(0), b"name") or b"").decode("utf-8")) for m in listed]
    if name not in names:
        return
    index = names.index(name)
    match = listed[index]
    rid = re.search(rb'\s[\w.-]+:id="([^"]*)"', match.group(0))
    wb = wb[:match.start()] + wb[match.end():]

    def local(m: re.Match[bytes]) -> bytes:
        tag = m.group(0)[:m.group(0).find(b">") + 1]
        value = get_attr(tag, b"localSheetId")
        if value is None or not value.isdigit() or int(value) < index:
            return m.group(0)
        if int(value) == index:
            return b""
        return set_attr(tag, b"localSheetId", str(int(value) - 1).encode()) + \
            m.group(0)[len(tag):]

    wb = re.sub(rb"<definedName\s[^>]*?(?:/>|>.*?</definedName>)", local, wb, flags=re.S)
    wb = re.sub(rb"<definedNames>\s*</definedNames>", b"", wb)
    package.write(WORKBOOK, wb)
    if rid is None:
        raise Unsupported("sheet relationship")
    rel = next((r for r in package.relationships(WORKBOOK) if r.id == rid.group(1).decode()),
               None)
    if rel is None:
        raise Unsupported("sheet relationship")
    package.remove_relationship(WORKBOOK, rel.id)
    if package.has(package.rels_part(rel.part)):
        package.remove(package.rels_part(rel.part))
    package.remove_override(rel.part)
    package.remove(rel.part)


def add_comments(package: Package, sheet_part: str, sheet: bytes, notes: dict[str, str],
                 author: str, keep: str) -> bytes:
    """Put ``notes`` (cell → text) on the worksheet as comments by ``author``. A comment the
    cell had is replaced: its text is kept below ours, after ``keep``. Returns the worksheet's
    XML (a ``legacyDrawing`` added when it had none)."""
    if not notes:
        return sheet
    part = _comments_part(package, sheet_part)
    vml_part = _legacy_drawing(package, sheet_part, sheet)[0]

    # the comments part
    if part is None:
        part = package.unused("xl/comments{}.xml")
        data = XML_HEAD + (f'<comments xmlns="{NS_MAIN}"><authors></authors>'
                           f"<commentList></commentList></comments>").encode()
        package.write(part, data)
        package.add_override(part, CT_COMMENTS)
        package.add_relationship(sheet_part, "comments", part)
    data = package.read(part)
    if b"<commentList" not in data or b"<authors" not in data:
        raise Unsupported("comments shape")
    data, author_id = _author_id(data, author)
    span = _span_of(data, b"commentList")
    existing: dict[str, bytes] = {}
    order: list[str] = []
    for match in elements(data, b"comment", *span):
        ref = (get_attr(match.group(0)[:match.group(0).find(b">") + 1], b"ref") or b"").decode()
        existing[ref] = match.group(0)
        order.append(ref)
    notes = dict(notes)
    for cell in notes:
        own = _plain(existing[cell]) if cell in existing else ""
        if own:
            notes[cell] += keep + own
        notes[cell] = notes[cell][:32000]
    new_cells = [c for c in notes if c not in existing]
    for cell, note in notes.items():
        existing[cell] = _comment(cell, author_id, note)
        if cell not in order:
            order.append(cell)
    try:
        order.sort(key=lambda c: _split(c))
    except Unsupported:
        pass
    inner = b"".join(existing[c] for c in order)
    start, end = span
    package.write(part, data[:start] + b"<commentList>" + inner + b"</commentList>" + data[end:])

    # the shapes that show them
    shapes = "".join(_shape(cell, notes[cell]) for cell in new_cells)
    if vml_part is not None:
        vml = package.read(vml_part)
        prefixes = _vml_prefixes(vml)
        numbers = [int(n) for n in re.findall(rb'id="_x0000_s([0-9]+)"', vml)]
        first = max(numbers) + 1 if numbers else _idmap(vml) * 1024 + 1
        if b'id="_x0000_t202"' not in vml:
            shapes = _SHAPETYPE + shapes
        end_at = vml.rfind(b"</xml>")
        if end_at < 0:
            raise Unsupported("vml shape")
        added = _numbered(_prefixed(shapes, prefixes), first)
        package.write(vml_part, vml[:end_at] + added + vml[end_at:])
        return sheet
    block = _free_idmap(package)
    vml_part = package.unused("xl/drawings/vmlDrawing{}.vml")
    package.write(vml_part, (
        b'<xml xmlns:v="urn:schemas-microsoft-com:vml" '
        b'xmlns:o="urn:schemas-microsoft-com:office:office" '
        b'xmlns:x="urn:schemas-microsoft-com:office:excel"><o:shapelayout v:ext="edit">'
        + f'<o:idmap v:ext="edit" data="{block}"/>'.encode() + b"</o:shapelayout>"
        + _SHAPETYPE.encode() + _numbered(shapes.encode(), block * 1024 + 1) + b"</xml>"))
    package.ensure_default("vml", CT_VML)
    rid = package.add_relationship(sheet_part, "vmlDrawing", vml_part)
    return _add_legacy_drawing(sheet, rid)


def _numbered(shapes: bytes, first: int) -> bytes:
    counter = iter(range(first, first + 1_000_000))
    return re.sub(rb"_x0000_sNEW", lambda _: f"_x0000_s{next(counter)}".encode(), shapes)


def _idmap(vml: bytes) -> int:
    match = re.search(rb'idmap\s[^>]*?data="([0-9]+)', vml)
    return int(match.group(1)) if match else 1


def _free_idmap(package: Package) -> int:
    used = {0}
    for name in package.names():
        if name.lower().endswith(".vml"):
            try:
                used.update(int(n) for n in re.findall(
                    rb'idmap\s[^>]*?data="([0-9][0-9,]*)', package.read(name))[0].split(b","))
            except (KeyError, IndexError, ValueError):
                continue
    return max(used) + 1


def _shape(cell: str, note: str) -> str:
    row, col = _split(cell)
    lines = sum(max(1, -(-len(part) // 22)) for part in note.split("\n"))
    height = min(450, 60 + 13.5 * lines)
    rows = max(3, int(height // 15) + 1)
    return (
        f'<v:shape id="_x0000_sNEW" type="#_x0000_t202" style="position:absolute;'
        f"margin-left:60pt;margin-top:2pt;width:270pt;height:{height:g}pt;z-index:1;"
        f'visibility:hidden" fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/>'
        f'<v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
        f'<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div>'
        f'</v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
        f"<x:Anchor>{col}, 15, {max(row - 2, 0)}, 10, {col + 5}, 15, {row - 2 + rows}, 4</x:Anchor>"
        f"<x:AutoFill>False</x:AutoFill><x:Row>{row - 1}</x:Row><x:Column>{col - 1}</x:Column>"
        f"</x:ClientData></v:shape>")


def _add_legacy_drawing(sheet: bytes, rid: str) -> bytes:
    prefix = _rel_prefix(sheet, b"worksheet")
    element = f'<legacyDrawing {prefix}:id="{rid}"/>'.encode()
    if b"AlternateContent" in sheet:
        raise Unsupported("alternate content")
    places = [sheet.find(tag) for tag in _AFTER_LEGACY]
    places = [p for p in places if p >= 0]
    if not places and b"<extLst" in sheet:
        if sheet.count(b"<extLst") > 1:
            raise Unsupported("extLst")
        places = [sheet.rfind(b"<extLst")]
    if places:
        at = min(places)
        return sheet[:at] + element + sheet[at:]
    return insert_before_close(sheet, b"worksheet", element)


def _rel_prefix(data: bytes, root: bytes) -> str:
    """The prefix the part's root element declares for the relationships namespace."""
    start = re.search(rb"<" + root + rb"(?=[\s>])[^>]*>", data)
    if start is None:
        raise Unsupported(f"prefixed {root.decode()}")
    match = re.search(rb'xmlns:([\w.-]+)="' + re.escape(NS_REL.encode()) + rb'"', start.group(0))
    if match is None:
        raise Unsupported("relationships prefix")
    return match.group(1).decode()


# --- Macros ----------------------------------------------------------------------------------

_XLSM_MAIN = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
_XLSX_MAIN = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_VBA_PART = re.compile(r"^xl/(?:.*/)?(?:vbaproject\.bin|vbaprojectsignature\w*\.bin|vbadata\.xml)$")


def drop_macros(package: Package) -> bool:
    """Make a macro-enabled workbook (``.xlsm``) a plain one: its VBA project (and signature)
    parts and their relationships go, and the workbook's content type is the .xlsx one.
    Returns whether there was anything to drop; raises ``Unsupported`` for Excel 4.0 macro
    sheets and macro-enabled templates."""
    names = package.names()
    types = package.read("[Content_Types].xml")
    vba = [n for n in names if _VBA_PART.match(n.lower())]
    if not vba and b"macroEnabled" not in types:
        return False
    if any(n.lower().startswith("xl/macrosheets/") for n in names) or \
            types.count(b"macroEnabled") != types.count(_XLSM_MAIN):
        raise Unsupported("macro sheets or template")
    for part in vba:
        for rel in package.relationships(WORKBOOK):
            if not rel.external and rel.part.lower() == part.lower():
                package.remove_relationship(WORKBOOK, rel.id)
        if package.has(package.rels_part(part)):
            package.remove(package.rels_part(part))
        package.remove_override(part)
        package.remove(part)
    package.write("[Content_Types].xml",
                  package.read("[Content_Types].xml").replace(_XLSM_MAIN, _XLSX_MAIN))
    return True


# --- Calculation chain ---------------------------------------------------------------------


def drop_calc_chain(package: Package) -> bool:
    """Remove the workbook's calculation chain: its part, the workbook's relationship to it
    and its content type. A chain that still lists a cell whose formula became text makes
    Excel open the file with its repair prompt; Excel builds a missing chain again on its own.
    Returns whether there was one."""
    parts = {rel.part for rel in package.relationships(WORKBOOK)
             if not rel.external and rel.type == "calcChain"}
    parts.update(n for n in package.names() if n.lower() == "xl/calcchain.xml")
    for part in parts:
        if package.has(package.rels_part(part)):
            package.remove(package.rels_part(part))
        _forget(package, WORKBOOK, part)
    return bool(parts)


# --- Sheets ----------------------------------------------------------------------------------


def add_first_sheet(package: Package, name: str, xml: bytes,
                    names: list[tuple[str, str, bool]]) -> str:
    """Add worksheet ``name`` (its XML) first in the workbook, active and selected, with
    defined names local to it (name, value, hidden). Returns its part name."""
    part = package.unused("xl/worksheets/sheet{}.xml")
    package.write(part, xml)
    package.add_override(part, CT_WORKSHEET)
    rid = package.add_relationship(WORKBOOK, "worksheet", part)
    wb = package.read(WORKBOOK)
    prefix = _rel_prefix(wb, b"workbook")
    if b"<sheets" not in wb:
        raise Unsupported("prefixed workbook")
    ids = [int(n) for n in re.findall(rb'<sheet\s[^>]*?sheetId="([0-9]+)"', wb)]
    sheet_id = max(ids, default=0) + 1
    element = f'<sheet name={attr(name)} sheetId="{sheet_id}" {prefix}:id="{rid}"/>'.encode()
    wb = insert_after_open(wb, b"sheets", element)

    def shift(match: re.Match[bytes]) -> bytes:
        tag = match.group(0)
        local = get_attr(tag, b"localSheetId")
        if local is None or not local.isdigit():
            return tag
        return set_attr(tag, b"localSheetId", str(int(local) + 1).encode())

    wb = re.sub(rb"<definedName\s[^>]*>", shift, wb)
    defined = b"".join(
        (f'<definedName name={attr(n)} localSheetId="0"{_HIDDEN if hidden else ""}>'
         f"{text(value)}</definedName>").encode() for n, value, hidden in names)
    if defined:
        if b"<definedNames" in wb:
            wb = insert_after_open(wb, b"definedNames", defined)
        else:
            at = wb.find(b"</sheets>")
            if at < 0:
                raise Unsupported("sheets")
            at += len(b"</sheets>")
            wb = wb[:at] + b"<definedNames>" + defined + b"</definedNames>" + wb[at:]
    view = re.search(rb"<workbookView(?=[\s>/])[^>]*>", wb)
    if view is not None:
        tag = set_attr(set_attr(view.group(0), b"activeTab", None), b"firstSheet", None)
        wb = wb[:view.start()] + tag + wb[view.end():]
    package.write(WORKBOOK, wb)
    return part
