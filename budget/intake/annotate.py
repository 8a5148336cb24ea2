"""Return copies: the sender's own workbook with every problem marked, to send back.

The copy is the sender's package edited in place (``budget.xlsx.patch``, ``sheetedit``):
every part we do not change (their sheets, pictures, printer settings, validation,
protection, hidden sheets) is copied byte for byte, and

* a first sheet 「エラー一覧」 lists every finding (場所, 重要度, 事業, 入力値, 内容), each row
  linked to its cell inside the workbook;
* every problem cell is filled (red: error, yellow: warning) with a format derived from its
  own (number format, border, protection stay) and carries a comment with the Japanese
  message(s), the sender's own comment kept below ours;
* the hidden columns G and H of the list make the copy recognisable when it is sent back
  (``budget.intake.returned``); marking such a copy again first takes our old marks off.

Sheet protection is left as the sender had it. Text that came from the sender (values,
messages quoting them) is written as text cells, never formulas; a sender's own formula in a
marked cell (``=HYPERLINK(...)``) becomes its inert text. Control characters become U+FFFD.

A file of a shape the edit does not handle (``FALLBACKS``: Excel 4.0 macro sheets, a
prefixed SpreadsheetML dialect, a shared formula in a marked cell…) is loaded and saved with
openpyxl as before (~15× the CPU). A file that failed container triage (empty, not a zip,
encrypted, oversized, unsafe XML…) is never edited nor handed to openpyxl: there is no copy,
and ``try_annotate`` says why.
"""

from __future__ import annotations

import io
import warnings
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from budget.findings import CATALOG, ERROR, SEVERITY_JA, FileReport, Finding
from budget.intake.returned import (
    ERRORS_SHEET,
    FILL_COLUMN,
    FIRST_FILL_ROW,
    MARK,
    MARK_COLUMN,
    plan_name_of,
    recorded_fills,
)
from budget.paths import safe_file_name
from budget.textsafe import xml_safe

if TYPE_CHECKING:
    from openpyxl.workbook import Workbook

    from budget.xlsx.container import Container

ERROR_FILL = "FFC7CE"  # light red
WARNING_FILL = "FFEB9C"  # light yellow
HEADER_FILL = "DDEBF7"
COMMENT_AUTHOR = "budget（厚生労働省 自動チェック）"
KEPT_COMMENT = "\n\n――― 元のコメント ―――\n"  # a sender's own comment, kept below ours

#: Findings that mean the container itself is unsafe or unreadable: never load those.
CONTAINER_CODES = {
    "empty-file": "ファイルが空のため",
    "not-a-workbook": "Excel ブックではないため",
    "corrupt-workbook": "ファイルが壊れているため",
    "encrypted-workbook": "パスワードで暗号化されているため",
    "legacy-xls": "旧形式 .xls のため",
    "oversized-workbook": "内容が大きすぎるため",
    "unsafe-xml": "安全でない XML を含むため",
    "unreadable-file": "ファイルを読み取れないため",
    "not-a-regular-file": "通常のファイルではないため",
}

#: Return copies made with openpyxl instead of the XML edit, by reason (this process only).
FALLBACKS: Counter[str] = Counter()


def return_copy_name(file_name: str, has_errors: bool = True) -> str:
    """``13_東京都_R5_計画.xlsx`` → ``13_東京都_R5_計画_要修正.xlsx`` (``_要確認`` when only
    warnings; a return copy's own name loses its suffix first). Always ``.xlsx``: macros are
    not kept in a return copy. The name is safe on Windows (``paths.safe_file_name``: a name
    shown with ``\\xNN`` escapes makes no folder)."""
    stem = Path(plan_name_of(file_name)).stem or "提出ファイル"
    return safe_file_name(f"{stem}_{'要修正' if has_errors else '要確認'}.xlsx")


def blocked_reason(report: FileReport) -> str | None:
    """Why no return copy can be made of this file, or None when one can."""
    for f in report.findings:
        if f.code in CONTAINER_CODES:
            return f"{CONTAINER_CODES[f.code]}、返送用の注記ファイルは作成できません。"
    return None


def annotate_workbook(content: bytes, report: FileReport, out_path: str | Path) -> Path | None:
    """Write the annotated return copy of ``content`` to ``out_path``; None when the original
    cannot be loaded (see ``try_annotate`` for the reason)."""
    return try_annotate(content, report, out_path)[0]


def try_annotate(content: bytes, report: FileReport,
                 out_path: str | Path) -> tuple[Path | None, str | None]:
    """(path written, None) or (None, Japanese reason why no copy was made)."""
    data, reason = annotated_bytes(content, report)
    if data is None:
        return None, reason
    from budget.files import write_atomically

    out = Path(out_path)
    try:
        write_atomically(out, data)
    except OSError as exc:
        return None, f"返送用の注記ファイルを書き込めませんでした（{exc.strerror or exc}）。"
    return out, None


def annotated_bytes(content: bytes, report: FileReport,
                    container: Container | None = None) -> tuple[bytes | None, str | None]:
    """The return copy of ``content`` as .xlsx bytes, or (None, Japanese reason why none can
    be made). Nothing is written: the ingest makes copies in its workers and writes them
    where the run decides.

    ``container`` is the triage of ``content`` when the caller has it (the check made it):
    the file is then not triaged again. The copy is made by editing the XML parts triage
    checked (``marked_package``); every other part of the sender's file is copied byte for
    byte. A file of a shape that edit does not handle (``FALLBACKS`` counts them by reason)
    is loaded with openpyxl instead, which only ever sees bytes that passed triage."""
    reason = blocked_reason(report)
    if reason:
        return None, reason
    from budget.xlsx.container import ensure_defused, inspect_container

    triage: list[Finding] = []
    if container is None:
        container, triage = inspect_container(content, report.file)
    if container is None:
        codes = [f.code for f in triage] or ["corrupt-workbook"]
        return None, blocked_reason(FileReport(report.file, "", 0, list(triage))) or (
            f"返送用の注記ファイルは作成できません（{CATALOG[codes[-1]].title}）。")
    from budget.xlsx.patch import Unsupported

    try:
        ensure_defused(openpyxl=False)
        return marked_package(content, container, report), None
    except Unsupported as exc:
        FALLBACKS[str(exc)] += 1
    except Exception as exc:  # noqa: BLE001 - an oddity the edit missed: openpyxl's way
        FALLBACKS[f"error: {type(exc).__name__}"] += 1
    return _openpyxl_copy(content, report)


def _openpyxl_copy(content: bytes, report: FileReport) -> tuple[bytes | None, str | None]:
    """The return copy made by loading the whole file with openpyxl and saving it again."""
    from budget.xlsx.container import ensure_defused

    try:
        ensure_defused()
        wb = _load(content)
    except Exception as exc:  # noqa: BLE001 - anything openpyxl chokes on means "no copy"
        return None, (f"元のファイルを読み込めないため、返送用の注記ファイルは作成できません"
                      f"（{type(exc).__name__}: {xml_safe(str(exc))[:200]}）。")
    try:
        mark_workbook(wb, report)
        buf = io.BytesIO()
        wb.save(buf)
    except Exception as exc:  # noqa: BLE001 - a sender's oddity must not stop the batch
        return None, (f"返送用の注記ファイルを作成できませんでした"
                      f"（{type(exc).__name__}: {xml_safe(str(exc))[:200]}）。")
    return buf.getvalue(), None


def marked_package(content: bytes, container: Container, report: FileReport) -> bytes:
    """The return copy as an edit of the sender's package (``budget.xlsx.patch``): the list
    sheet added first, the problem cells filled and commented, a sender's formula in a marked
    cell made inert text; a return copy of ours sent back loses its old list, fills and
    comments first (a recorded fill that is not one leaves its cell unfilled); a
    macro-enabled workbook loses its VBA project, and every workbook its calculation chain
    (Excel rebuilds it; one listing a formula made text makes Excel repair the file).
    Raises ``Unsupported`` for a shape the edit does not handle (the shapes ``sheetedit``
    refuses)."""
    from budget.xlsx.patch import Package
    from budget.xlsx.sheetedit import (
        NO_FILL,
        UNFILLED,
        SheetCells,
        Styles,
        add_comments,
        add_first_sheet,
        drop_calc_chain,
        drop_macros,
        fill_xml,
        remove_sheet,
        solid_fill,
        strip_comments,
        unselect,
    )

    package = Package(content, container.parts)
    drop_macros(package)  # a return copy is always a plain .xlsx
    drop_calc_chain(package)  # it may list a formula made text below: Excel rebuilds it
    styles = Styles(package, container.styles)
    fills: dict[str, int] = {ERROR: styles.fill(solid_fill(ERROR_FILL)),
                             "warning": styles.fill(solid_fill(WARNING_FILL))}

    sheets: dict[str, SheetCells] = {}
    own_sheets = {n: m for n, m in container.sheets.items() if n != ERRORS_SHEET}
    # A return copy of ours sent back: its list goes, and its fills and comments come off
    # (each filled cell gets its recorded fill back unless the sender changed it since; a
    # record that is not a fill, the sender's edit of the hidden column, leaves it unfilled).
    restored: dict[tuple[str, str], tuple[str, bytes]] = {}  # cell -> (record, its <fill>)
    recorded = recorded_fills(container)  # None: not a copy of ours (no mark)
    if ERRORS_SHEET in container.sheets:  # a list sheet, ours or not, is replaced
        for where, record in recorded or []:
            sheet, _, ref = where.rpartition("!")
            coord = _coordinate(ref) if sheet in own_sheets and ref else None
            if coord is None:
                continue
            if sheet not in sheets:
                sheets[sheet] = SheetCells(package.read(own_sheets[sheet]))
            if styles.fill_is(sheets[sheet].style(coord), (ERROR_FILL, WARNING_FILL)):
                fill = fill_xml(record)
                restored[(sheet, coord)] = (record, fill) if fill is not None else \
                    (NO_FILL, UNFILLED)
        remove_sheet(package, ERRORS_SHEET)
    targets: dict[int, tuple[str, str] | None] = {}
    by_cell: dict[tuple[str, str], list[Finding]] = {}
    for i, f in enumerate(report.findings):
        target = None
        if f.sheet and f.cell and f.sheet in own_sheets:
            coord = _coordinate(f.cell)
            if coord is not None:
                if f.sheet not in sheets:
                    sheets[f.sheet] = SheetCells(package.read(own_sheets[f.sheet]))
                target = (f.sheet, sheets[f.sheet].top_left(coord))
        targets[i] = target
        if target is not None:
            by_cell.setdefault(target, []).append(f)

    before: list[tuple[str, str]] = []
    notes: dict[str, dict[str, str]] = {}
    for (sheet, coord), found in by_cell.items():
        cells = sheets[sheet]
        worst = ERROR if any(f.severity == ERROR for f in found) else "warning"
        base = cells.style(coord)
        before.append((f"{sheet}!{coord}",
                       restored.pop((sheet, coord), ("", b""))[0] or styles.fill_record(base)))
        formula = cells.formula(coord)
        if formula is not None:  # a sender's formula: its text, shown as typed
            cells.set_text(coord, styles.derive(base, fills[worst], quote=True),
                           xml_safe(formula))
            rid = cells.drop_hyperlink(coord)
            if rid and rid.encode() not in cells.data:
                package.remove_relationship(container.sheets[sheet], rid)
        else:
            cells.set_style(coord, styles.derive(base, fills[worst]))
        notes.setdefault(sheet, {})[coord] = "\n\n".join(
            f"【{SEVERITY_JA.get(f.severity, f.severity)}】{xml_safe(f.message)}" for f in found)

    for (sheet, coord), (_, fill) in restored.items():  # filled before, no finding now
        cells = sheets[sheet]
        cells.set_style(coord, styles.derive(cells.style(coord), styles.fill(fill)))
    for sheet, member in own_sheets.items():
        data = sheets[sheet].data if sheet in sheets else package.read(member)
        if recorded is not None:
            stripped = strip_comments(package, member, data, COMMENT_AUTHOR, KEPT_COMMENT)
            if stripped != data:
                sheets.setdefault(sheet, SheetCells(data))
                data = stripped
        if sheet in notes:
            data = add_comments(package, member, data, notes[sheet], COMMENT_AUTHOR,
                                KEPT_COMMENT)
        selected = unselect(data)
        if sheet in sheets or selected != data:
            package.write(member, selected)

    xml, names = _errors_sheet_xml(report, targets, set(own_sheets), styles, fills, before)
    add_first_sheet(package, ERRORS_SHEET, xml, names)
    styles.finish()
    return package.save()


def _coordinate(cell: str) -> str | None:
    """The top-left cell of a finding's ``cell`` (``"H8"``, ``"$H$8"``, ``"H8:I9"``)."""
    from budget.xlsx.reader import column_letter, split_ref

    try:
        row, col = split_ref(cell.split(":")[0])
    except ValueError:
        return None
    return f"{column_letter(col)}{row}"


def _errors_sheet_xml(report: FileReport, targets: dict[int, tuple[str, str] | None],
                      sheet_names: set[str], styles: Any, fills: dict[str, int],
                      before: list[tuple[str, str]]) -> tuple[bytes, list[tuple[str, str, bool]]]:
    """The 「エラー一覧」 worksheet's XML and its defined names (print titles, filter): what
    ``_write_errors_sheet`` makes with openpyxl, written directly."""
    from budget.textsafe import is_formula_like
    from budget.xlsx.patch import NS_MAIN, NS_REL, attr
    from budget.xlsx.patch import text as esc
    from budget.xlsx.sheetedit import solid_fill

    bold13 = styles.font(b'<font><b val="1"/><sz val="13"/></font>')
    bold = styles.font(b'<font><b val="1"/></font>')
    link = styles.font(b'<font><u val="single"/><color rgb="000563C1"/></font>')
    head_fill = styles.fill(solid_fill(HEADER_FILL))
    formats: dict[tuple[int, int, str, bool], int] = {}

    def xf(font: int = 0, fill: int = 0, align: str = "", quote: bool = False) -> int:
        key = (font, fill, align, quote)
        if key not in formats:
            attrs = (f'numFmtId="0" fontId="{font}" fillId="{fill}" borderId="0" xfId="0"'
                     + (' applyFont="1"' if font else "") + (' applyFill="1"' if fill else "")
                     + (' applyAlignment="1"' if align else "") + (' quotePrefix="1"' if quote
                                                                   else ""))
            inner = f"<alignment {align}/>" if align else ""
            formats[key] = styles.xf(f"<xf {attrs}>{inner}</xf>".encode())
        return formats[key]

    top, wrap = 'vertical="top"', 'vertical="top" wrapText="1"'
    rows: dict[int, list[str]] = {}
    heights: dict[int, int] = {}

    def put(row: int, col: int, value: str, style: int = 0) -> None:
        ref = f"{'ABCDEFGH'[col - 1]}{row}"
        if value and is_formula_like(value):
            style = styles.derive(0, None, quote=True) if style == 0 else style
        s = f' s="{style}"' if style else ""
        body = (f' t="inlineStr"><is><t xml:space="preserve">{esc(xml_safe(value))}</t></is></c>'
                if value else "/>")
        rows.setdefault(row, []).append(f'<c r="{ref}"{s}{body}')

    n_err, n_warn = len(report.errors), len(report.warnings)
    verdict = ("誤りがあるため受理できません。色の付いたセルを修正して、再提出してください。"
               if n_err else "受理しましたが、確認が必要な点があります（修正は任意です）。")
    put(1, 1, f"{report.file} の確認結果: エラー {n_err} 件、警告 {n_warn} 件", xf(font=bold13))
    put(2, 1, verdict)
    put(3, 1, "「場所」をクリックすると該当のセルに移動します。赤色はエラー（要修正）、"
              "黄色は警告（要確認）です。セルのコメントにも内容を記載しています。")
    header_row = 5
    for c, h in enumerate(["場所", "重要度", "事業", "入力値", "内容"], start=1):
        put(header_row, c, h, xf(font=bold, fill=head_fill))
    links: list[str] = []
    for i, f in enumerate(report.findings):
        r = header_row + 1 + i
        target = targets.get(i)
        where = f"{f.sheet}!{f.cell}" if f.sheet and f.cell else (f.sheet or "ファイル全体")
        if target is not None:
            sheet, coord = target
            links.append(f'<hyperlink ref="A{r}" location={attr(f"{_quote(sheet)}!{coord}")} '
                         f'tooltip={attr(xml_safe(f"{sheet}!{coord} へ移動"))}/>')
            put(r, 1, where, xf(font=link, align=top, quote=is_formula_like(where)))
        elif f.sheet and f.sheet in sheet_names:
            links.append(f'<hyperlink ref="A{r}" location={attr(f"{_quote(f.sheet)}!A1")}/>')
            put(r, 1, where, xf(font=link, align=top, quote=is_formula_like(where)))
        else:
            put(r, 1, where, xf(align=top, quote=is_formula_like(where)))
        put(r, 2, SEVERITY_JA.get(f.severity, f.severity),
            xf(fill=fills.get(f.severity, fills["warning"]), align=top))
        leaf = f"{f.leaf_code or ''} {f.leaf_name or ''}".strip()
        for col, value in ((3, leaf), (4, f.value or ""), (5, f.message)):
            put(r, col, value, xf(align=wrap, quote=is_formula_like(value)))
        lines = max(_lines(f.message, 90), _lines(f.value or "", 22),
                    _lines(f"{f.leaf_code or ''} {f.leaf_name or ''}", 40))
        if lines > 1:
            heights[r] = 14 * lines + 2
    if not report.findings:
        put(header_row + 1, 1, "指摘はありません。")
    # the hidden columns that make the copy recognisable (``budget.intake.returned``)
    mark_col, fill_col = _col(MARK_COLUMN), _col(FILL_COLUMN)
    put(1, mark_col, MARK)
    put(2, mark_col, report.file)
    for i, (where, record) in enumerate(before):
        put(FIRST_FILL_ROW + i, mark_col, where)
        put(FIRST_FILL_ROW + i, fill_col, record)

    body = []
    for r in sorted(rows):
        cells = sorted(rows[r], key=lambda c: (len(c.split('"')[1].rstrip("0123456789")),
                                               c.split('"')[1]))
        ht = f' ht="{heights[r]}" customHeight="1"' if r in heights else ""
        body.append(f'<row r="{r}"{ht}>{"".join(cells)}</row>')
    last = max(rows)
    cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
                   for i, w in enumerate((16, 8, 40, 22, 90), start=1))
    cols += "".join(f'<col min="{c}" max="{c}" width="9.140625" hidden="1" customWidth="1"/>'
                    for c in sorted((mark_col, fill_col)))
    last_finding = header_row + len(report.findings)
    auto = f'<autoFilter ref="A{header_row}:E{last_finding}"/>' if report.findings else ""
    xml = (
        f'<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}"><sheetPr><pageSetUpPr fitToPage="1"/>'
        f'</sheetPr><dimension ref="A1:{"ABCDEFGH"[max(mark_col, fill_col) - 1]}{last}"/>'
        f'<sheetViews><sheetView tabSelected="1" workbookViewId="0"><pane ySplit="{header_row}" '
        f'topLeftCell="A{header_row + 1}" activePane="bottomLeft" state="frozen"/>'
        f'<selection pane="bottomLeft" activeCell="A{header_row + 1}" '
        f'sqref="A{header_row + 1}"/></sheetView></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols>'
        f'<sheetData>{"".join(body)}</sheetData>{auto}'
        + (f"<hyperlinks>{''.join(links)}</hyperlinks>" if links else "")
        + '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
          'footer="0.3"/><pageSetup paperSize="9" orientation="landscape" fitToWidth="1" '
          'fitToHeight="0"/></worksheet>')
    names = [("_xlnm.Print_Titles", f"{_quote(ERRORS_SHEET)}!${header_row}:${header_row}", False)]
    if report.findings:
        names.append(("_xlnm._FilterDatabase",
                      f"{_quote(ERRORS_SHEET)}!$A${header_row}:$E${last_finding}", True))
    from budget.xlsx.patch import XML_HEAD

    return XML_HEAD + xml.encode("utf-8"), names


def _load(content: bytes) -> "Workbook":
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "extension is not supported", unknown parts…
        return openpyxl.load_workbook(io.BytesIO(content), keep_vba=False, keep_links=True,
                                      rich_text=False, data_only=False)


def mark_workbook(wb: "Workbook", report: FileReport) -> None:
    """Fill and comment every problem cell of ``wb`` and put the 「エラー一覧」 sheet first."""
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    strip_marks(wb)  # a return copy sent back: our old marks off first
    fills = {ERROR: PatternFill("solid", fgColor=ERROR_FILL),
             "warning": PatternFill("solid", fgColor=WARNING_FILL)}
    # Group findings by target cell: one fill (the worst severity) and one comment each.
    by_cell: dict[tuple[str, str], list[Finding]] = {}
    targets: dict[int, tuple[str, str] | None] = {}
    for i, f in enumerate(report.findings):
        target = _target(wb, f)
        targets[i] = target
        if target is not None:
            by_cell.setdefault(target, []).append(f)

    before: list[tuple[str, str]] = []  # (sheet!cell, its fill before ours), for strip_marks
    for (sheet, coord), found in by_cell.items():
        cell = wb[sheet][coord]
        _make_inert(cell)
        worst = ERROR if any(f.severity == ERROR for f in found) else "warning"
        before.append((f"{sheet}!{coord}", _fill_record(cell.fill)))
        cell.fill = fills[worst]
        text = "\n\n".join(f"【{SEVERITY_JA.get(f.severity, f.severity)}】{xml_safe(f.message)}"
                           for f in found)
        if cell.comment is not None and cell.comment.text:
            text += KEPT_COMMENT + cell.comment.text
        comment = Comment(text[:32000], COMMENT_AUTHOR)
        comment.width = 360
        comment.height = min(600, 80 + 18 * max(1, len(text) // 22))
        cell.comment = comment

    _write_errors_sheet(wb, report, targets)
    _write_marks(wb[ERRORS_SHEET], report.file, before)


def _write_marks(ws: Any, file_name: str, before: list[tuple[str, str]]) -> None:
    """The hidden column that makes the copy recognisable when it is sent back
    (``budget.intake.returned``): the mark, the plan's name, each filled cell's old fill."""
    _text(ws, 1, _col(MARK_COLUMN), MARK)
    _text(ws, 2, _col(MARK_COLUMN), file_name)
    for i, (where, fill) in enumerate(before):
        _text(ws, FIRST_FILL_ROW + i, _col(MARK_COLUMN), where)
        _text(ws, FIRST_FILL_ROW + i, _col(FILL_COLUMN), fill)
    for letter in (MARK_COLUMN, FILL_COLUMN):
        ws.column_dimensions[letter].hidden = True


def _col(letter: str) -> int:
    from budget.forms.base import col_index

    return col_index(letter) + 1


def _fill_record(fill: Any) -> str:
    """A cell's fill as JSON text (pattern, foreground and background colours)."""
    import json

    def color(c: Any) -> dict[str, object] | None:
        if c is None:
            return None
        return {"type": c.type, "value": c.value, "tint": c.tint}

    return json.dumps({"pattern": fill.patternType, "fg": color(fill.fgColor),
                       "bg": color(fill.bgColor)})


def _fill_from(record: str) -> Any:
    """The ``PatternFill`` a recorded fill describes; no fill when ``record`` is not one
    (``sheetedit.fill_xml`` checks it: the sender can edit the hidden column)."""
    import json

    from openpyxl.styles import Color, PatternFill

    from budget.xlsx.sheetedit import fill_xml

    if fill_xml(record) is None:
        return PatternFill()
    data = json.loads(record)

    def color(c: dict[str, Any] | None) -> Any:
        if not c or c.get("type") not in ("rgb", "theme", "indexed", "auto"):
            return None
        return Color(**{c["type"]: c["value"]}, tint=c.get("tint") or 0.0)

    return PatternFill(patternType=data.get("pattern"), fgColor=color(data.get("fg")),
                       bgColor=color(data.get("bg")))


def _is_ours(fill: Any) -> bool:
    rgb = getattr(fill.fgColor, "rgb", None)
    return fill.patternType == "solid" and isinstance(rgb, str) and \
        rgb[-6:].upper() in (ERROR_FILL, WARNING_FILL)


def strip_marks(wb: "Workbook") -> None:
    """Take off what an earlier return copy of ours added to ``wb`` (nothing when it is not
    one): the 「エラー一覧」 sheet, our comments (a sender's own comment we had kept below
    ours comes back) and our fills (each cell's recorded fill comes back, unless the sender
    has changed the fill since)."""
    if ERRORS_SHEET not in wb.sheetnames:
        return
    ws = wb[ERRORS_SHEET]
    if ws.cell(1, _col(MARK_COLUMN)).value != MARK:
        return
    row = FIRST_FILL_ROW
    while (where := ws.cell(row, _col(MARK_COLUMN)).value):
        sheet, _, coord = str(where).rpartition("!")
        record = ws.cell(row, _col(FILL_COLUMN)).value
        row += 1
        if sheet not in wb.sheetnames or not hasattr(wb[sheet], "merged_cells"):
            continue
        try:
            cell = wb[sheet][coord]
            if _is_ours(cell.fill):
                cell.fill = _fill_from(str(record or ""))
        except (ValueError, KeyError, TypeError):
            continue
    for sheet in wb.worksheets:
        if sheet is ws:
            continue
        for cells in sheet.iter_rows():
            for cell in cells:
                comment = cell.comment
                if comment is None or comment.author != COMMENT_AUTHOR:
                    continue
                text, sep, own = (comment.text or "").partition(KEPT_COMMENT)
                if sep and own:
                    from openpyxl.comments import Comment

                    cell.comment = Comment(own, "")
                else:
                    cell.comment = None
    wb.remove(ws)


def _target(wb: "Workbook", f: Finding) -> tuple[str, str] | None:
    """(sheet, top-left coordinate) of a finding's cell in ``wb``, or None."""
    if not f.sheet or not f.cell or f.sheet not in wb.sheetnames:
        return None
    ws = wb[f.sheet]
    if not hasattr(ws, "merged_cells"):  # a chartsheet
        return None
    from budget.xlsx.reader import column_letter, split_ref

    try:
        row, col = split_ref(f.cell.split(":")[0])
    except ValueError:
        return None
    coord = f"{column_letter(col)}{row}"
    for rng in ws.merged_cells.ranges:  # a merged cell's fill and comment live top-left
        if coord in rng:
            return f.sheet, rng.start_cell.coordinate
    return f.sheet, coord


def _make_inert(cell: Any) -> None:
    """A sender's own formula in a marked cell (``=HYPERLINK(...)`` typed into an input cell,
    a formula outside the form) becomes its text, shown as typed and never calculated or
    followed in the copy we send back. The form's own formulas carry no finding unless
    changed, and a changed one is the sender's."""
    if cell.data_type != "f":
        return
    value = cell.value
    text = value if isinstance(value, str) else getattr(value, "text", None) or str(value)
    cell.value = xml_safe(text)
    cell.data_type = "s"
    cell.quotePrefix = True
    cell.hyperlink = None


def _write_errors_sheet(wb: "Workbook", report: FileReport,
                        targets: dict[int, tuple[str, str] | None]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.hyperlink import Hyperlink

    if ERRORS_SHEET in wb.sheetnames:  # a resubmitted return copy: replace our old list
        wb.remove(wb[ERRORS_SHEET])
    ws = wb.create_sheet(ERRORS_SHEET, 0)
    for other in wb.worksheets:
        other.sheet_view.tabSelected = False
    ws.sheet_view.tabSelected = True
    wb.active = 0

    n_err, n_warn = len(report.errors), len(report.warnings)
    verdict = ("誤りがあるため受理できません。色の付いたセルを修正して、再提出してください。"
               if n_err else "受理しましたが、確認が必要な点があります（修正は任意です）。")
    _text(ws, 1, 1, f"{report.file} の確認結果: エラー {n_err} 件、警告 {n_warn} 件").font = \
        Font(bold=True, size=13)
    _text(ws, 2, 1, verdict)
    _text(ws, 3, 1, "「場所」をクリックすると該当のセルに移動します。赤色はエラー（要修正）、"
                    "黄色は警告（要確認）です。セルのコメントにも内容を記載しています。")
    headers = ["場所", "重要度", "事業", "入力値", "内容"]
    header_row = 5
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor=HEADER_FILL)
    for c, h in enumerate(headers, start=1):
        cell = _text(ws, header_row, c, h)
        cell.font, cell.fill = bold, head_fill
    fills = {ERROR: PatternFill("solid", fgColor=ERROR_FILL),
             "warning": PatternFill("solid", fgColor=WARNING_FILL)}
    link_font = Font(color="0563C1", underline="single")
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    for i, f in enumerate(report.findings):
        r = header_row + 1 + i
        target = targets.get(i)
        where = f"{f.sheet}!{f.cell}" if f.sheet and f.cell else (f.sheet or "ファイル全体")
        loc = _text(ws, r, 1, where)
        loc.alignment = top
        if target is not None:
            sheet, coord = target
            loc.hyperlink = Hyperlink(ref=loc.coordinate, location=f"{_quote(sheet)}!{coord}",
                                      tooltip=f"{sheet}!{coord} へ移動")
            loc.font = link_font
        elif f.sheet and f.sheet in wb.sheetnames:
            loc.hyperlink = Hyperlink(ref=loc.coordinate, location=f"{_quote(f.sheet)}!A1")
            loc.font = link_font
        sev = _text(ws, r, 2, SEVERITY_JA.get(f.severity, f.severity))
        sev.alignment = top
        sev.fill = fills.get(f.severity, fills["warning"])
        _text(ws, r, 3, f"{f.leaf_code or ''} {f.leaf_name or ''}".strip()).alignment = wrap
        _text(ws, r, 4, f.value or "").alignment = wrap
        _text(ws, r, 5, f.message).alignment = wrap
        lines = max(_lines(f.message, 90), _lines(f.value or "", 22),
                    _lines(f"{f.leaf_code or ''} {f.leaf_name or ''}", 40))
        if lines > 1:
            ws.row_dimensions[r].height = 14 * lines + 2
    if not report.findings:
        _text(ws, header_row + 1, 1, "指摘はありません。")
    for letter, width in zip("ABCDE", (16, 8, 40, 22, 90)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = f"A{header_row + 1}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header_row}:{header_row}"
    if report.findings:
        ws.auto_filter.ref = f"A{header_row}:E{header_row + len(report.findings)}"


def _text(ws: Any, row: int, col: int, value: str) -> Any:
    """Write ``value`` as a plain string cell: never a formula, whatever it starts with."""
    cell = ws.cell(row=row, column=col)
    if value:
        cell.value = xml_safe(value)
        cell.data_type = "s"
    return cell


def _lines(text: str, width: int) -> int:
    """Wrapped lines of ``text`` in a column ``width`` characters wide."""
    from budget.textwidth import display_width

    return sum(max(1, -(-display_width(part) // (width - 2))) for part in text.split("\n"))


def _quote(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


