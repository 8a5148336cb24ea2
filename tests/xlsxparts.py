"""Read a workbook's parts by meaning (the sheet named 計画), not by file name: a return copy
keeps the sender's part names and adds its list sheet under a new one."""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Callable
from xml.etree import ElementTree

NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def sheet_parts(data: bytes) -> dict[str, str]:
    """Sheet name → its part's member name, in workbook order."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        workbook = ElementTree.fromstring(z.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    out = {}
    for sheet in workbook.iter(f"{NS_MAIN}sheet"):
        target = targets[sheet.get(f"{NS_REL}id")]
        out[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else \
            posixpath.normpath(posixpath.join("xl", target))
    return out


def sheet_xml(data: bytes, sheet: str) -> str:
    """The XML of worksheet ``sheet`` in the .xlsx ``data``."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read(sheet_parts(data)[sheet]).decode("utf-8")


def with_part(data: bytes, member: str, edit: Callable[[bytes], bytes]) -> bytes:
    """The .xlsx ``data`` with zip member ``member`` replaced by ``edit`` of its bytes; every
    other member as it was (its entry's name, time and order kept)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            part = src.read(info)
            dst.writestr(info, edit(part) if info.filename == member else part)
    return out.getvalue()
