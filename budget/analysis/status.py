"""Where each of the 47 prefectures stands for a fiscal year (``budget status``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from budget.errors import UsageError
from budget.fiscal import local_time

if TYPE_CHECKING:
    import pandas as pd

    from budget.store import Store
    from budget.store.location import Location


STATUS_COLUMNS = ["prefecture_code", "prefecture", "status", "status_ja", "note", "file_name",
                  "received_at", "n_submissions", "fund_total", "submission_id",
                  "stored_under"]


def submission_status(store: "Store", year: int, stage: str | None = None) -> "pd.DataFrame":
    """One row per prefecture (47, code order): its state for the fiscal year and ``stage``
    (default the plan: its current submission is the newest accepted 計画 or 変更).

    A selection of ``budget.analysis.summary.submission_overview`` (the one rule, the summary
    workbook's too; whose submission a file is was decided at ingest): status / status_ja,
    note, file_name / received_at (local time) / submission_id / stored_under (the prefecture
    of the form: another's for a file sent on its form, NA when unreadable) of the current
    submission (the newest accepted, else the newest rejected); n_submissions; fund_total:
    基金計 (A+B) of the current accepted plan in 千円 (Int64, missing when nothing is
    accepted; for 実績 the 執行額 (A+B)). Then ``CONTACT_COLUMNS``: stage, the contact the
    prefecture entered (担当部署, 担当者, 電話, メール) and contact_source (which
    submission it comes from; see ``contacts``). ``内示`` has no prefecture's submission:
    ``UsageError``.
    """
    import pandas as pd

    from budget.analysis.summary import (
        current_stage_amounts,
        current_stage_submissions,
        plan_amounts,
        submission_overview,
    )
    from budget.analysis.track import STAGE_JA, _with_sum
    from budget.store import PLAN_STAGE

    stage = stage or PLAN_STAGE
    if stage == "allocation":
        raise UsageError("内示は厚生労働省が作成するもので、都道府県ごとの提出状況はありません。"
                         "内示の回と額は budget track の執行管理表で確認してください。")
    submissions = current_stage_submissions(store, year, stage)
    ov = submission_overview(submissions)
    amounts = plan_amounts(current_stage_amounts(store, year, stage))
    key = "fund"
    if stage == "actual":
        key = "actual_fund"
        _with_sum(amounts, key, ("actual_national", "actual_prefectural"))
    fund = amounts.groupby("prefecture_code")[key].sum() if len(amounts) else pd.Series()
    accepted = ov["status"] == "accepted"
    df = pd.DataFrame({
        "prefecture_code": ov["prefecture_code"],
        "prefecture": ov["prefecture_name"],
        "status": ov["status"].astype("string"),
        "status_ja": ov["status_ja"].astype("string"),
        "note": ov["note"].astype("string"),
        "file_name": ov["file_name"].fillna("").astype("string"),
        "received_at": ov["received_at"].map(local_time).astype("string"),
        "n_submissions": ov["n_submissions"].astype("int64"),
        "fund_total": pd.array([int(fund.get(c, 0)) if ok else None
                                for c, ok in zip(ov["prefecture_code"], accepted)],
                               dtype="Int64"),
        "submission_id": ov["submission_id"].astype("Int64"),
        "stored_under": ov["stored_under"].astype("string"),
    })
    df = df[STATUS_COLUMNS].reset_index(drop=True)
    df.insert(len(df.columns), "stage", STAGE_JA.get(stage, stage))
    found = contacts(store, submissions, stage)
    for col in CONTACT_COLUMNS[1:]:
        df[col] = df["prefecture_code"].map(lambda c, col=col: found.get(c, {}).get(col)) \
            .astype("string")
    return df


#: The contact inputs of every prefecture form (``report.header``), then where they came from.
CONTACT_KEYS = ("department", "contact_name", "phone", "email")
CONTACT_COLUMNS = ["stage", *CONTACT_KEYS, "contact_source"]
CONTACT_HEADERS_JA = {"stage": "段階", "department": "担当部署", "contact_name": "担当者",
                      "phone": "電話", "email": "メール", "contact_source": "連絡先の出典"}


def contacts(store: "Store", current: "pd.DataFrame", stage: str
             ) -> dict[str, dict[str, str | None]]:
    """prefecture code → its contact (``CONTACT_KEYS``) and ``contact_source``: the one on
    its current submission of ``stage`` (``current``: ``current_stage_submissions``), else
    (nothing sent yet, or no contact entered) the newest one it entered on any submission,
    of any stage and year — whom to remind about a stage not received."""
    from budget.analysis.track import STAGE_JA
    from budget.fiscal import era_label

    out: dict[str, dict[str, str | None]] = {}

    def pick(row: dict[str, object]) -> dict[str, str | None] | None:
        values: dict[str, str | None] = {}
        for k in CONTACT_KEYS:
            v = row.get(k)
            values[k] = v if isinstance(v, str) and v else None
        return values if any(values.values()) else None

    for row in current.to_dict("records"):
        got = pick(row)
        if got is not None:
            out[str(row["prefecture_code"])] = {**got, "contact_source": (
                f"{STAGE_JA.get(stage, stage)}の提出（提出ID {row['submission_id']}）")}
    subs = store.submissions()
    if subs.empty:
        return out
    for row in subs.to_dict("records"):  # newest first
        code = row.get("prefecture_code")
        if not isinstance(code, str) or code in out:
            continue
        got = pick(row)
        if got is not None:
            year = row.get("fiscal_year")
            when = era_label(int(year)) if isinstance(year, (int, float)) and year == year \
                else "年度不明"
            out[code] = {**got, "contact_source": (
                f"{when} {STAGE_JA.get(str(row['stage']), str(row['stage']))}の提出"
                f"（提出ID {row['id']}）")}
    return out


def year_status(location: "str | Path | Location", year: int, stage: str | None = None
                ) -> tuple["pd.DataFrame", str | None]:
    """``submission_status`` of the store at ``location`` for ``stage``, opened read-only (a
    read-only file, folder or database role is enough) after a quick integrity check; a
    missing store is not created: every prefecture is 未提出 and the note says so."""
    from budget.store import MissingStore, as_location, empty_store, open_store

    where = as_location(location)  # what may be shown: a URL's password masked
    try:
        store = open_store(where, create=False, readonly=True, check=True)
    except MissingStore:
        with empty_store() as empty:
            return (submission_status(empty, year, stage),
                    f"データベース {where.display} はまだありません"
                    "（budget ingest で作成されます）。")
    with store:
        return submission_status(store, year, stage), None
