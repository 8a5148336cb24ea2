"""What the terminal shows, and the JSON and CSV of ``validate``/``ingest``/``status``.

Plain-text tables count East Asian characters double width. Everything meant for a terminal
shows control characters escaped (``budget.render.terminal.shown``): a file name with an
escape sequence cannot retitle or clear the user's terminal. JSON and CSV keep text as sent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from budget.findings import CATALOG, SEVERITY_JA, STATUS_JA, FileReport, Finding
from budget.fiscal import short_time
from budget.intake.results import DUPLICATE_JA
from budget.render.terminal import shown
from budget.textwidth import display_width, pad

if TYPE_CHECKING:
    import pandas as pd

    from budget.analysis.diff import SubmissionDiff
    from budget.intake.results import IngestRun, Returned


def table(headers: Sequence[str], rows: Sequence[Sequence[object]],
          widths: Sequence[int] | None = None, right: Sequence[bool] | None = None) -> str:
    """A fixed-width text table; cells are clipped to ``widths`` (default: content width);
    a cell's control characters (and newlines) are shown escaped."""
    headers = [shown(h) for h in headers]
    cells = [[("" if v is None else shown(v)) for v in row] for row in rows]
    if widths is None:
        widths = [max([display_width(h)] + [display_width(r[i]) for r in cells])
                  for i, h in enumerate(headers)]
    right = right or [False] * len(headers)
    lines = ["  ".join(pad(h, w, r) for h, w, r in zip(headers, widths, right)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(pad(c, w, r) for c, w, r in zip(row, widths, right)).rstrip()
              for row in cells]
    return "\n".join(lines)


def menu_table(menu: "pd.DataFrame") -> str:
    rows = [
        (r.leaf_code, r.category, r.mid_category, r.item_no,
         f"{r.item_name}" + (f" / {r.sub_item} {r.sub_item_name}".rstrip() if r.sub_item else ""),
         r.bureaus.replace(";", "、"), r.note_raw)
        for r in menu.itertuples(index=False)
    ]
    year = int(menu["fiscal_year"].iloc[0])
    from budget.fiscal import full_label

    head = f"{full_label(year)} メニュー: {menu['item_no'].nunique()} 事業、{len(menu)} 細目"
    return head + "\n" + table(
        ["コード", "区分", "中項目", "No.", "事業名 / 細目", "担当課", "備考"], rows,
        widths=[9, 18, 22, 3, 60, 34, 14], right=[False, False, False, True, False, False, False],
    )


def report_dict(report: FileReport, returned: Returned | None = None) -> dict[str, object]:
    """A FileReport as plain JSON-able data (``budget validate --format json``)."""
    return {
        "file": report.file, "status": report.status, "accepted": report.accepted,
        "sha256": report.sha256, "size": report.size, "fiscal_year": report.fiscal_year,
        "prefecture_code": report.prefecture_code,
        "template_version": report.template_version,
        "n_errors": len(report.errors), "n_warnings": len(report.warnings),
        "findings": [f.to_dict() for f in report.findings],
        "returned": str(returned[0]) if returned and returned[0] else None,
        "returned_note": returned[1] if returned else None,
    }


def verdict_text(status: str, n_errors: int, n_warnings: int) -> str:
    return f"{STATUS_JA[status]}（エラー {n_errors} 件、警告 {n_warnings} 件）"


def finding_title(code: str) -> str:
    """The short Japanese title of a finding code (what a clerk reads instead of the code)."""
    kind = CATALOG.get(code)
    return kind.title if kind is not None else "その他の指摘"


def findings_table(findings: list[Finding], indent: str = "  ") -> str:
    """Findings for a person: the Japanese title (項目) stands for the code, which stays in
    ``--format json``."""
    rows = [(f.location, SEVERITY_JA.get(f.severity, f.severity), finding_title(f.code),
             f.message) for f in findings]
    text = table(["場所", "重要度", "項目", "内容"], rows)
    return "\n".join(indent + line for line in text.splitlines())


def validation_text(reports: list[FileReport],
                    returned: dict[int, Returned] | None = None) -> str:
    """What ``budget validate`` prints: per file its verdict, then its findings."""
    returned = returned or {}
    out = []
    for i, r in enumerate(reports):
        out.append(f"{shown(r.file)}: {verdict_text(r.status, len(r.errors), len(r.warnings))}")
        if r.findings:
            out.append(findings_table(r.findings))
        copy, why = returned.get(i, (None, None))
        if copy is not None:
            out.append(f"  返送用ファイル: {shown(copy)}")
        elif why:
            out.append(f"  返送用ファイルなし: {shown(why)}")
        out.append("")
    n_ok = sum(r.accepted for r in reports)
    out.append(f"{len(reports)} 件中 {STATUS_JA['accepted']} {n_ok} 件、{STATUS_JA['rejected']} "
               f"{len(reports) - n_ok} 件")
    return "\n".join(out)


def ingest_text(run: IngestRun) -> str:
    """What ``budget ingest`` prints after the batch."""
    from budget.prefectures import all_prefectures

    names = {p.code: p.name_ja for p in all_prefectures()}
    out = []
    if run.results:
        rows = [(r.file, names.get(r.prefecture_code or "", r.prefecture_code or ""),
                 r.status_ja, r.n_errors, r.n_warnings, r.stored_ja,
                 "" if r.submission_id is None else r.submission_id)
                for r in run.results]
        out.append(table(["ファイル", "都道府県", "状態", "エラー", "警告", "登録", "提出ID"], rows,
                         right=[False, False, False, True, True, False, True]))
        notes = [f"  {shown(r.file)}: {shown(r.note)}" for r in run.results if r.note]
        if notes:
            out += ["", "注記:", *notes]
    else:
        out.append(f"フォルダ {shown(run.folder)} に取り込むファイルがありません。")
    if run.skipped:
        out += ["", "読み飛ばしたもの:",
                *(f"  {shown(s.name)}: {shown(s.reason)}" for s in run.skipped)]
    if run.results:
        new = sum(r.created is True for r in run.results)
        dup = sum(r.created is False for r in run.results)
        out += ["", f"{len(run.results)} 件中 {STATUS_JA['accepted']} {len(run.accepted)} 件、"
                    f"{STATUS_JA['rejected']} {len(run.rejected)} 件（新規登録 {new} 件、"
                    f"{DUPLICATE_JA} {dup} 件）"]
    if run.report_path is not None:
        out.append(f"取込結果: {shown(run.report_path)}")
    if run.returns_dir is not None:
        out.append(f"返送用ファイル: {shown(run.returns_dir)}/")
    return "\n".join(out)


STATUS_HEADERS_JA = {
    "prefecture_code": "コード", "prefecture": "都道府県", "status_ja": "状態", "note": "備考",
    "file_name": "ファイル", "received_at": "受付日時", "n_submissions": "提出回数",
    "fund_total": "基金計（千円）", "submission_id": "提出ID",
}


def status_table(df: "pd.DataFrame", year: int) -> str:
    from budget.fiscal import full_label

    rows = [(r.prefecture_code, r.prefecture, r.status_ja, r.note, r.file_name,
             short_time(r.received_at),
             r.n_submissions, "" if r.fund_total is None or r.fund_total != r.fund_total
             else f"{int(r.fund_total):,}")
            for r in df.astype(object).where(df.notna(), None).itertuples(index=False)]
    counts = df["status"].value_counts()
    head = (f"{full_label(year)} 提出状況: "
            + "、".join(f"{STATUS_JA[k]} {counts.get(k, 0)}"
                       for k in ("accepted", "rejected", "missing"))
            + "（47 都道府県）")
    total = df["fund_total"].sum()
    keys = ["prefecture_code", "prefecture", "status_ja", "note", "file_name", "received_at",
            "n_submissions", "fund_total"]
    return "\n".join([
        head,
        table([STATUS_HEADERS_JA[k] for k in keys], rows,
              right=[False, False, False, False, False, False, True, True]),
        f"基金計の合計（受理分）: {int(total):,} 千円",
    ])


def status_json(df: "pd.DataFrame") -> str:
    import json

    records = df.astype(object).where(df.notna(), None).to_dict(orient="records")
    return json.dumps(records, ensure_ascii=False, indent=1)


def status_csv(df: "pd.DataFrame") -> bytes:
    """CSV with Japanese headers, UTF-8 with BOM (Excel opens it right); text neutralised."""
    from budget.textsafe import neutralise

    out = df[list(STATUS_HEADERS_JA)].copy()
    out["received_at"] = out["received_at"].map(short_time)
    for col in ("prefecture", "status_ja", "note", "file_name"):
        out[col] = out[col].map(neutralise)
    out = out.rename(columns=STATUS_HEADERS_JA)
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def diff_text(diff: "SubmissionDiff") -> str:
    """What ``budget diff`` prints: the two submissions, then one line per changed cell
    (「R5-02 … 国(A) 1,200 → 1,500」)."""
    from budget.analysis.diff import change_line, format_value
    from budget.fiscal import local_time

    out = []
    for label, sub in (("前", diff.before), ("後", diff.after)):
        out.append(f"{label}: 提出ID {sub['id']} {format_value(sub.get('file_name'))}"
                   f"（{short_time(local_time(sub.get('received_at')))}）")
    b, a = diff.before, diff.after
    if b.get("prefecture_code") != a.get("prefecture_code") \
            or b.get("fiscal_year") != a.get("fiscal_year"):
        out.append("注意: 都道府県または年度の異なる提出を比べています。")
    if diff.changes.empty:
        out.append("違いはありません。")
    else:
        out.append(f"変更 {len(diff.changes)} 件:")
        out += [f"  {change_line(r)}" for r in diff.changes.to_dict("records")]
    return "\n".join(out)


def stage_status_table(df: "pd.DataFrame", year: int) -> str:
    """What ``budget status --stage`` prints: the 47 prefectures' state for the stage, and
    beside each one not accepted (未提出 / 差戻し) the contact it entered, whom to remind."""
    from budget.fiscal import full_label

    plain = df.astype(object).where(df.notna(), None)
    stage = str(plain["stage"].iloc[0]) if len(plain) else ""
    rows = []
    for r in plain.to_dict("records"):
        remind = r["status"] != "accepted"
        rows.append((r["prefecture_code"], r["prefecture"], r["status_ja"],
                     short_time(r["received_at"] or ""),
                     *((r[k] for k in ("department", "contact_name", "phone", "email"))
                       if remind else ("", "", "", ""))))
    counts = df["status"].value_counts()
    head = (f"{full_label(year)} {stage} 提出状況: "
            + "、".join(f"{STATUS_JA[k]} {counts.get(k, 0)}"
                       for k in ("accepted", "rejected", "missing"))
            + "（47 都道府県）")
    return "\n".join([
        head,
        table(["コード", "都道府県", "状態", "受付日時", "担当部署", "担当者", "電話", "メール"], rows,
              widths=[6, 10, 6, 19, 28, 14, 14, 30]),
        "連絡先は未提出・差戻しの都道府県だけ表示します（その段階の提出に入力がなければ、"
        "最も新しい提出に入力された連絡先）。",
    ])


REMINDER_HEADERS_JA = {
    "prefecture_code": "コード", "prefecture": "都道府県", "stage": "段階", "status_ja": "状態",
    "note": "備考", "department": "担当部署", "contact_name": "担当者", "phone": "電話",
    "email": "メール", "contact_source": "連絡先の出典",
}


def reminder_csv(df: "pd.DataFrame") -> bytes:
    """``budget status --stage … --format csv``: the reminder list, one row per prefecture
    whose stage is 未提出 or 差戻し with its contact; UTF-8 with BOM, text neutralised."""
    from budget.textsafe import neutralise
    from budget.xlsx.writer import is_missing

    out = df.loc[df["status"] != "accepted", list(REMINDER_HEADERS_JA)].copy()
    for col in out.columns:
        out[col] = out[col].astype(object).map(lambda v: None if is_missing(v)
                                               else neutralise(v))
    out = out.rename(columns=REMINDER_HEADERS_JA)
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")
