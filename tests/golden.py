"""The golden template: a normalised, readable dump of one generated workbook.

``dump_workbook`` turns an .xlsx into plain JSON data — every cell (value, formula, cached
value, comment), the styles that matter (fill, locked, number format, bold, wrap), merged
ranges, data validations, conditional formats, protection, column widths, hidden columns and
row heights,
freeze panes, print settings and the ``_meta`` sheet — so a change of the form's shape shows as
a diff of ``tests/data/golden_plan_R5_v<version>.json`` (``tests/test_golden.py``).

Regenerate it (after bumping ``PLAN.template_version`` in ``budget/forms/plan.py``) with::

    python -m tests.golden

which writes the blank R5 plan of 13 東京都 and removes golden files of older versions.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
PREFIX = "golden_plan_R5_v"
#: _meta values that change without the shape changing
VOLATILE_META = {"tool_version": "<tool_version>"}


def golden_path(version: str) -> Path:
    return DATA / f"{PREFIX}{version}.json"


def golden_files() -> list[Path]:
    return sorted(DATA.glob(f"{PREFIX}*.json"))


def generate_golden_workbook() -> bytes:
    """The blank R5 plan of 13 東京都, as ``budget generate`` writes it."""
    from budget.forms import PLAN
    from budget.generate import write_plan_workbook
    from budget.menu import load_menu
    from budget.prefectures import find_prefecture

    buf = io.BytesIO()
    write_plan_workbook(buf, load_menu(2023), find_prefecture("13"), form=PLAN)
    return buf.getvalue()


def _color(color: Any) -> str | None:
    if color is None:
        return None
    if color.type == "rgb":
        return str(color.rgb)
    return f"{color.type}:{color.value}"


def _style(cell: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fill = cell.fill
    if fill is not None and fill.fill_type:
        out["fill"] = _color(fill.fgColor)
    if not cell.protection.locked:
        out["locked"] = False
    if cell.number_format != "General":
        out["format"] = cell.number_format
    if cell.font is not None and cell.font.b:
        out["bold"] = True
    if cell.alignment is not None and cell.alignment.wrap_text:
        out["wrap"] = True
    return out


def _sheet(ws: Any, cached: Any) -> dict[str, Any]:
    cells: dict[str, Any] = {}
    for row in ws.iter_rows():
        for cell in row:
            entry: dict[str, Any] = {}
            if cell.value is not None:
                if cell.data_type == "f":
                    entry["formula"] = str(cell.value)
                    entry["cached"] = cached[cell.coordinate].value
                else:
                    entry["value"] = cell.value
            if cell.comment is not None:
                entry["comment"] = cell.comment.text
            style = _style(cell)
            if style:
                entry["style"] = style
            if entry:
                cells[cell.coordinate] = entry
    dims = {}
    for letter, dim in sorted(ws.column_dimensions.items()):
        if dim.width or dim.hidden:
            dims[letter] = {"span": [dim.min, dim.max], "width": dim.width,
                            **({"hidden": True} if dim.hidden else {})}
    heights = {str(r): d.height for r, d in sorted(ws.row_dimensions.items()) if d.height}
    validations = [
        {"range": str(dv.sqref), "type": dv.type, "operator": dv.operator,
         "formula1": dv.formula1, "error_style": dv.errorStyle,
         "prompt_title": dv.promptTitle, "prompt": dv.prompt,
         "error_title": dv.errorTitle, "error": dv.error}
        for dv in ws.data_validations.dataValidation]
    conditional = []
    for rng in ws.conditional_formatting:
        for rule in rng.rules:
            dxf = rule.dxf
            conditional.append({
                "range": str(rng.sqref), "type": rule.type, "formula": list(rule.formula),
                "fill": _color(dxf.fill.bgColor) if dxf and dxf.fill else None,
                "font": _color(dxf.font.color) if dxf and dxf.font else None})
    p = ws.protection
    setup = ws.page_setup
    return {
        "state": ws.sheet_state,
        "cells": cells,
        "merged": sorted(str(r) for r in ws.merged_cells.ranges),
        "columns": dims,
        "row_heights": heights,
        "validations": validations,
        "conditional_formats": conditional,
        "protection": {"sheet": bool(p.sheet), "password": bool(p.password),
                       "format_columns": bool(p.formatColumns),
                       "format_rows": bool(p.formatRows),
                       "select_locked": bool(p.selectLockedCells),
                       "select_unlocked": bool(p.selectUnlockedCells)},
        "freeze_panes": ws.freeze_panes,
        "gridlines": ws.sheet_view.showGridLines,
        "print": {
            "orientation": setup.orientation, "paper": setup.paperSize,
            "fit": [setup.fitToWidth, setup.fitToHeight,
                    bool(ws.sheet_properties.pageSetUpPr
                         and ws.sheet_properties.pageSetUpPr.fitToPage)],
            "area": ws.print_area, "repeat_rows": ws.print_title_rows,
            "header": [ws.oddHeader.left.text, ws.oddHeader.center.text,
                       ws.oddHeader.right.text],
            "footer": [ws.oddFooter.left.text, ws.oddFooter.center.text,
                       ws.oddFooter.right.text],
            "margins": [ws.page_margins.left, ws.page_margins.right, ws.page_margins.top,
                        ws.page_margins.bottom],
        },
    }


def dump_workbook(content: bytes, template_version: str) -> dict[str, Any]:
    """The normalised dump of an .xlsx (see the module docstring)."""
    import warnings

    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(io.BytesIO(content))
        cached = openpyxl.load_workbook(io.BytesIO(content), data_only=True)
    sheets = {ws.title: _sheet(ws, cached[ws.title]) for ws in wb.worksheets}
    meta = sheets.get("_meta", {}).get("cells", {})
    for ref, entry in meta.items():
        key_ref = "A" + ref[1:]
        if ref.startswith("B") and meta.get(key_ref, {}).get("value") in VOLATILE_META:
            entry["value"] = VOLATILE_META[meta[key_ref]["value"]]
    return {"template_version": template_version, "sheet_order": wb.sheetnames,
            "active": wb.active.title if wb.active else None, "sheets": sheets}


def fresh_dump() -> dict[str, Any]:
    from budget.forms import PLAN

    return dump_workbook(generate_golden_workbook(), PLAN.template_version)


def write_golden() -> Path:
    """Write the golden file of the current version; remove older ones. Returns its path."""
    dump = fresh_dump()
    path = golden_path(dump["template_version"])
    for old in golden_files():
        if old != path:
            old.unlink()
    path.write_text(json.dumps(dump, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                    encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_golden(), file=sys.stderr)
