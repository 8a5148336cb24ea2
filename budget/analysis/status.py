"""Where each of the 47 prefectures stands for a fiscal year (``budget status``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from budget.fiscal import local_time

if TYPE_CHECKING:
    import pandas as pd

    from budget.store import Store
    from budget.store.location import Location


STATUS_COLUMNS = ["prefecture_code", "prefecture", "status", "status_ja", "note", "file_name",
                  "received_at", "n_submissions", "fund_total", "submission_id",
                  "stored_under"]


def submission_status(store: "Store", year: int) -> "pd.DataFrame":
    """One row per prefecture (47, code order): its state for the fiscal year.

    A selection of ``budget.analysis.summary.submission_overview`` (the one rule, the summary
    workbook's too; whose submission a file is was decided at ingest): status / status_ja,
    note, file_name / received_at (local time) / submission_id / stored_under (the prefecture
    of the form: another's for a file sent on its form, NA when unreadable) of the current
    submission (the newest accepted, else the newest rejected); n_submissions; fund_total:
    基金計 (A+B) of the current accepted plan in 千円 (Int64, missing when nothing is
    accepted).
    """
    import pandas as pd

    from budget.analysis.summary import plan_amounts, submission_overview

    ov = submission_overview(store.current_submissions(year))
    amounts = plan_amounts(store.current_amounts(year))
    fund = amounts.groupby("prefecture_code")["fund"].sum() if len(amounts) else pd.Series()
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
    return df[STATUS_COLUMNS].reset_index(drop=True)


def year_status(location: "str | Path | Location",
                year: int) -> tuple["pd.DataFrame", str | None]:
    """``submission_status`` of the store at ``location``, opened read-only (a read-only
    file, folder or database role is enough) after a quick integrity check; a missing store
    is not created: every prefecture is 未提出 and the note says so."""
    from budget.store import MissingStore, as_location, empty_store, open_store

    where = as_location(location)  # what may be shown: a URL's password masked
    try:
        store = open_store(where, create=False, readonly=True, check=True)
    except MissingStore:
        with empty_store() as empty:
            return (submission_status(empty, year),
                    f"データベース {where.display} はまだありません"
                    "（budget ingest で作成されます）。")
    with store:
        return submission_status(store, year), None
