"""The Excel report of one ingest run (xlsxwriter).

Sheets: 取込結果 (one row per file, skipped files included), 指摘一覧 (every finding of every
file), 変更点 (for every resubmission, what changed against the previous accepted one:
``IngestRun.changes``, made by ``budget.analysis.diff.resubmission_changes``), 実行情報
(folder, store, times, counts). Every cell goes through
``budget.xlsx.writer.CellWriter``: nothing a sender typed becomes a formula or a link; a
formula-like text (a finding's 入力値) is shown exactly as sent and kept inert by
``quote_prefix``.

Printed, each sheet is a report of its own: landscape A4 (A3 when its columns would shrink
below a readable size), fitted to the page width, the header row on every page, the run's
title and the sheet in the page header, page x / n in the footer; column widths fit their
contents (``budget.textwidth``) up to a cap, longer texts wrap. The table itself starts at
row 1 (header) so it can be filtered and copied as it is.

Written a row at a time (xlsxwriter ``constant_memory``: rows go to a temporary file as they
are written), each sheet from its rows read twice (the widths, then the cells): the report
holds no sheet whole, so its memory does not grow with the number of files or changes.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from budget import __version__
from budget.files import write_atomically
from budget.findings import SEVERITY_JA, STATUS_JA
from budget.fiscal import short_time
from budget.textwidth import clip, widest_line, wrapped_lines
from budget.xlsx.writer import WORKBOOK_OPTIONS, CellWriter, check_xlsx, is_missing

if TYPE_CHECKING:
    from budget.intake.results import IngestRun

RESULT_SHEET = "取込結果"
FINDINGS_SHEET = "指摘一覧"
INFO_SHEET = "実行情報"

RESULT_HEADERS = ["ファイル", "都道府県", "年度", "状態", "登録", "エラー", "警告", "提出ID",
                  "SHA-256", "返送ファイル", "備考"]
FINDING_HEADERS = ["ファイル", "都道府県", "場所", "重要度", "コード", "事業", "入力値", "内容"]
SKIPPED_JA = "読み飛ばし"
TITLE = "取込結果"

#: Column width limits in characters: (narrowest, widest); text wider than the widest wraps.
MIN_WIDTH, MAX_WIDTH = 6.0, 60.0
#: The SHA-256 column: 32 hex digits a line in 8 pt Consolas, two lines.
HASH_WIDTH, HASH_PER_LINE = 27.0, 32
#: Paper (xlsxwriter codes) and the characters of the default font that fit across the
#: printable width in landscape at 100 % (margins 0.4 in): A4 ≈ 784 pt, A3 ≈ 1,133 pt.
A4, A3 = 9, 8
_ACROSS = {A4: 140, A3: 205}
#: Below this print scale a sheet moves from A4 to A3.
MIN_SCALE = 0.7
CHANGES_SHEET = "変更点"
CHANGE_HEADERS = ["ファイル", "都道府県", "提出ID", "前回の提出ID", "前回のファイル", "事業", "項目",
                  "前回", "今回", "区分"]


def write_run_report(run: "IngestRun", path: str | Path, *, exclusive: bool = False) -> Path:
    """Write the run's report workbook to ``path`` (replacing it atomically); returns it.
    ``exclusive``: never replace, raise ``FileExistsError`` when ``path`` exists (two runs
    that started in the same second each get their own report)."""
    import tempfile

    import xlsxwriter

    path = Path(path)
    # Rows go to disk as they are written (``constant_memory``, in a folder of our own that
    # goes whatever happens): the report holds one row of each sheet at a time, whatever the
    # number of files; every sheet is written row by row.
    with tempfile.TemporaryDirectory(prefix="budget-report-",
                                     ignore_cleanup_errors=True) as tmp:
        data = _write(run, path, xlsxwriter.Workbook(
            io.BytesIO(), {**WORKBOOK_OPTIONS, "in_memory": False, "constant_memory": True,
                           "tmpdir": tmp}))
    return write_atomically(path, data, exclusive=exclusive)


def _write(run: "IngestRun", path: Path, wb: Any) -> bytes:
    """The report's workbook ``wb`` (on an ``io.BytesIO``) written and closed; returns its
    bytes. ``path``: where it will be (return copies are named relative to its folder)."""
    from budget.fiscal import era_code
    from budget.prefectures import all_prefectures

    names = {p.code: p.label for p in all_prefectures()}
    folder = clip(str(run.folder.name or run.folder), 60)
    title = f"{TITLE} {run.started_at:%Y-%m-%d %H:%M}　{folder}（{len(run.results)} ファイル）"
    wb.set_properties({"title": title, "author": "budget",
                       "comments": f"budget {__version__}"})
    cells = CellWriter(wb)
    head = cells.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1,
                             "text_wrap": True, "valign": "top"})
    cell = cells.add_format({"valign": "top"})
    wrap = cells.add_format({"valign": "top", "text_wrap": True})
    bad = cells.add_format({"valign": "top", "bg_color": "#FFC7CE"})
    warn = cells.add_format({"valign": "top", "bg_color": "#FFEB9C"})
    good = cells.add_format({"valign": "top", "bg_color": "#C6EFCE"})
    # SHA-256: 64 hex digits wrapped in two lines of a narrow column
    mono = cells.add_format({"valign": "top", "font_name": "Consolas", "font_size": 8,
                             "text_wrap": True})

    def results() -> Iterator[list[tuple[Any, Any]]]:
        for r in run.results:
            rep = r.report
            status_fmt = good if r.status == "accepted" else bad
            yield [
                (r.file, cell), (names.get(r.prefecture_code or "", r.prefecture_code), cell),
                (era_code(rep.fiscal_year) if rep.fiscal_year else None, cell),
                (r.status_ja, status_fmt), (r.stored_ja, cell),
                (r.n_errors, bad if r.n_errors else cell),
                (r.n_warnings, warn if r.n_warnings else cell),
                (r.submission_id, cell), (rep.sha256 or None, mono),
                (_relative(r.returned, path.parent), cell), (r.note, wrap),
            ]
        for s in run.skipped:
            yield [(s.name, cell), (None, cell), (None, cell), (SKIPPED_JA, cell),
                   (None, cell), (None, cell), (None, cell), (None, cell), (None, cell),
                   (None, cell), (s.reason, wrap)]

    _table(cells, wb.add_worksheet(RESULT_SHEET), RESULT_HEADERS, results, head, title,
           wrap_cols={9: 40, 10: 60}, hash_col=8)

    def findings() -> Iterator[list[tuple[Any, Any]]]:
        for r in run.results:
            pref = names.get(r.prefecture_code or "", r.prefecture_code)
            for f in r.report.findings:
                where = f"{f.sheet}!{f.cell}" if f.sheet and f.cell else (f.sheet or "")
                yield [
                    (r.file, cell), (pref, cell), (where, cell),
                    (SEVERITY_JA.get(f.severity, f.severity),
                     bad if f.severity == "error" else warn),
                    (f.code, cell), (f"{f.leaf_code or ''} {f.leaf_name or ''}".strip(), wrap),
                    (f.value, cell), (f.message, wrap),
                ]

    _table(cells, wb.add_worksheet(FINDINGS_SHEET), FINDING_HEADERS, findings, head, title,
           wrap_cols={5: 36, 6: 30, 7: 70})

    _changes_sheet(cells, wb.add_worksheet(CHANGES_SHEET), run, names,
                   {"head": head, "cell": cell, "wrap": wrap, "warn": warn}, title)

    ws = wb.add_worksheet(INFO_SHEET)
    info = [
        ("フォルダ", str(run.folder)), ("データベース", str(run.db_path)),
        ("開始", short_time(run.started_at)),
        ("終了", short_time(run.finished_at)),
        ("ファイル数", len(run.results)), (STATUS_JA["accepted"], len(run.accepted)),
        (STATUS_JA["rejected"], len(run.rejected)),
        ("新規登録", sum(r.created is True for r in run.results)),
        ("登録済み（変更なし）", sum(r.created is False for r in run.results)),
        ("読み飛ばし", len(run.skipped)),
        ("返送ファイルのフォルダ", _relative(run.returns_dir, path.parent) or ""),
    ]
    check_xlsx(ws.set_column(0, 0, 22))
    check_xlsx(ws.set_column(1, 1, 80))
    for i, (k, v) in enumerate(info):
        if isinstance(v, str) and wrapped_lines(v, 80) > 1:
            check_xlsx(ws.set_row(i, 15 * wrapped_lines(v, 80) + 2))
        cells.text(ws, i, 0, k, head)
        cells.value(ws, i, 1, v, wrap)
    _print_setup(ws, title, A4, across=1, repeat=False)
    wb.close()
    return wb.filename.getvalue()


Row = list[tuple[Any, Any]]


def _table(cells: CellWriter, ws: Any, headers: list[str], rows: Callable[[], Iterable[Row]],
           head: Any, title: str, wrap_cols: dict[int, float], hash_col: int | None = None,
           ) -> None:
    """Header row, then the rows ``rows()`` gives (each a list of (value as typed, format));
    frozen header, autofilter, widths fitted to the contents (``wrap_cols``: column → the
    widest it gets, its text wrapping beyond; ``hash_col``: the SHA-256, in two lines of
    ``HASH_WIDTH``), row heights for the wrapped lines, the print layout. ``rows`` is called
    twice (the widths, then the cells), so no sheet is ever held whole; rows are written in
    order, each row's height before its cells (``constant_memory``)."""
    wanted = [widest_line(h) for h in headers]
    n = 0
    measured = [c for c in range(len(headers)) if c != hash_col]
    for row in rows():
        n += 1
        for c in measured:
            value = row[c][0]
            kind = type(value)
            if kind is str:
                width = widest_line(value)
            elif kind is int:
                width = len(str(value))
            elif value is None or is_missing(value):
                continue
            else:
                width = widest_line(_shown(value))
            if width > wanted[c]:
                wanted[c] = width
    widths = [HASH_WIDTH if c == hash_col
              else min(wrap_cols.get(c, MAX_WIDTH), max(MIN_WIDTH, wanted[c] + 2))
              for c in range(len(headers))]
    for c, (h, w) in enumerate(zip(headers, widths)):
        cells.text(ws, 0, c, h, head)
        check_xlsx(ws.set_column(c, c, w))
    tall = [(c, widths[c]) for c in sorted(wrap_cols) if c != hash_col and c < len(headers)]
    for r, row in enumerate(rows(), start=1):
        height = 15.0
        if hash_col is not None:
            value = row[hash_col][0]
            if value is not None and not is_missing(value):
                height = max(height, 11.0 * -(-len(_shown(value)) // HASH_PER_LINE) + 2)
        for c, room in tall:
            value = row[c][0]
            if type(value) is str or value is not None and not is_missing(value):
                height = max(height, 15.0 * wrapped_lines(_shown(value), room) + 2)
        cells.row(ws, r, row, height if height > 15 else None)
    ws.freeze_panes(1, 1)
    check_xlsx(ws.autofilter(0, 0, max(n, 1), len(headers) - 1))
    total = sum(widths)
    paper = A4 if _ACROSS[A4] / total >= MIN_SCALE else A3
    _print_setup(ws, title, paper, across=1, repeat=True)


def _shown(value: Any) -> str:
    if type(value) is str:
        return value
    return "" if is_missing(value) else str(value)


def _print_setup(ws: Any, title: str, paper: int, *, across: int, repeat: bool) -> None:
    """Landscape ``paper``, ``across`` pages wide (as many tall as needed), the header row
    repeated, the run's title and the sheet's name in the page header, page x / n below."""
    ws.set_landscape()
    ws.set_paper(paper)
    ws.fit_to_pages(across, 0)
    if repeat:
        check_xlsx(ws.repeat_rows(0))
    ws.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.6)
    ws.set_header(f"&L&\"-,Bold\"&12{_amp(title)}&R{_amp(ws.name)}")
    ws.set_footer(f"&C&P / &N ページ&Rbudget {__version__}")


def _amp(text: str) -> str:
    """Text for a page header: ``&`` doubled (a single one starts a code)."""
    return text.replace("&", "&&")


def _changes_sheet(cells: CellWriter, ws: Any, run: "IngestRun", names: dict[str, str],
                   fmt: dict[str, Any], title: str) -> None:
    """変更点: one row per cell a resubmission changed against the prefecture's previous
    accepted submission (amounts as numbers, blank as 空欄, sender text as sent and inert);
    a resubmission that changed nothing says so in one row."""
    from budget.analysis.diff import BLANK_JA, KIND_JA

    changes = run.changes
    files = {r.submission_id: r.file for r in run.results if r.submission_id is not None}

    def rows() -> Iterator[Row]:
        empty = True
        for c in () if changes is None else changes:
            empty = False
            same = c["kind"] == "same"
            before, after = (None, None) if same else (c["before"], c["after"])
            yield [
                (files.get(c["submission_id"]), fmt["cell"]),
                (names.get(c["prefecture_code"] or "", c["prefecture_code"]), fmt["cell"]),
                (c["submission_id"], fmt["cell"]), (c["previous_id"], fmt["cell"]),
                (c["previous_file_name"], fmt["cell"]),
                ("（変更なし）" if same else c["label"], fmt["wrap"]),
                (None if same else c["field_label"], fmt["cell"]),
                (None if same else BLANK_JA if before is None else before, fmt["cell"]),
                (None if same else BLANK_JA if after is None else after, fmt["cell"]),
                ("変更なし" if same else KIND_JA.get(c["kind"], c["kind"]),
                 fmt["cell"] if same else fmt["warn"]),
            ]
        if empty:
            yield ([("この取り込みに再提出（前回受理した提出のある提出）はありません。", fmt["cell"])]
                   + [(None, fmt["cell"])] * (len(CHANGE_HEADERS) - 1))

    _table(cells, ws, CHANGE_HEADERS, rows, fmt["head"], title, wrap_cols={0: 36, 4: 30, 5: 44})


def _relative(p: Path | None, base: Path) -> str | None:
    if p is None:
        return None
    try:
        return str(p.relative_to(base))
    except ValueError:
        return str(p)
