"""The SQLite store: one transaction per file, dedup by bytes, current = newest accepted."""

from __future__ import annotations

import hashlib
import sqlite3

import pandas as pd
import pytest

from budget import layout
from budget.errors import StoreError
from budget.findings import FileReport, make
from budget.store import AMOUNT_COLUMNS, TEXT_COLUMNS, Store

FILE = "13_東京都_R5_計画.xlsx"


def plan(n: int = 3, fund: int = 300) -> pd.DataFrame:
    rows = []
    for i in range(n):
        row = {"leaf_code": f"R5-{i + 1:02d}", "excel_row": layout.FIRST_DATA_ROW + i}
        row.update({k: None for k in AMOUNT_COLUMNS})
        row.update({k: None for k in TEXT_COLUMNS})
        rows.append(row)
    df = pd.DataFrame(rows)
    for k in AMOUNT_COLUMNS:
        df[k] = df[k].astype("Int64")
    df.loc[0, ["national", "prefectural", "fund", "total"]] = [fund * 2 // 3, fund // 3, fund, fund]
    df.loc[0, "implementer"] = "県"
    return df


def report(content: bytes, *, pref: str = "13", year: int = 2023, accepted: bool = True,
           fund: int = 300, name: str = FILE) -> FileReport:
    findings = [make("missing-contact", file=name, sheet="計画", cell="B4")]
    if not accepted:
        findings.append(make("negative-amount", file=name, sheet="計画", cell="H8",
                             leaf_code="R5-01", leaf_name="x", value=-5))
    return FileReport(name, hashlib.sha256(content).hexdigest(), len(content), findings,
                      year, pref, layout.TEMPLATE_VERSION, "fp",
                      {"department": "介護保険課", "email": "a@example.jp"},
                      plan(fund=fund) if accepted else None)


def test_save_stores_submission_bytes_findings_and_amounts(tmp_path):
    with Store(tmp_path / "b.db") as store:
        saved = store.save(report(b"one"), b"one")
        assert saved.created
        sub = store.submissions(2023)
        assert sub[["file_name", "prefecture_code", "status", "n_errors", "n_warnings",
                    "department", "email"]].values.tolist() == [
            [FILE, "13", "accepted", 0, 1, "介護保険課", "a@example.jp"]]
        assert store.file_bytes(saved.submission_id) == b"one"
        assert [(f.code, f.cell) for f in store.findings(saved.submission_id)] == [
            ("missing-contact", "B4")]
        amounts = store.current_amounts(2023)
        assert len(amounts) == 3
        assert amounts["fund"].tolist()[0] == 300
        assert amounts["fund"].isna().tolist() == [False, True, True]  # blank stays blank
        assert amounts["implementer"].tolist()[0] == "県"


def test_rejected_submission_keeps_bytes_but_no_amounts(tmp_path):
    with Store(tmp_path / "b.db") as store:
        saved = store.save(report(b"bad", accepted=False), b"bad")
        assert store.file_bytes(saved.submission_id) == b"bad"
        assert store.current_amounts(2023).empty
        n = store.conn.execute("SELECT COUNT(*) FROM amounts").fetchone()[0]
        assert n == 0


def test_same_bytes_twice_is_one_submission(tmp_path):
    with Store(tmp_path / "b.db") as store:
        first = store.save(report(b"same"), b"same")
        again = store.save(report(b"same"), b"same")
        assert (again.submission_id, again.created) == (first.submission_id, False)
        assert len(store.submissions()) == 1
        assert store.submission_by_sha256(hashlib.sha256(b"same").hexdigest())["id"] == \
            first.submission_id
        assert store.submission_by_sha256("0" * 64) is None


def test_resubmission_becomes_current_and_earlier_stays(tmp_path):
    with Store(tmp_path / "b.db") as store:
        store.save(report(b"v1", fund=300), b"v1", received_at="2023-05-01T00:00:00+00:00")
        v2 = store.save(report(b"v2", fund=600), b"v2", received_at="2023-05-02T00:00:00+00:00")
        # a newer rejected resubmission does not replace the accepted one
        store.save(report(b"v3", accepted=False), b"v3",
                   received_at="2023-05-03T00:00:00+00:00")
        cur = store.current_submissions(2023)
        assert cur[["prefecture_code", "submission_id", "status", "n_submissions", "n_rejected",
                    "latest_status"]].values.tolist() == [["13", v2.submission_id, "accepted",
                                                           3, 1, "rejected"]]
        assert store.current_amounts(2023)["fund"].tolist()[0] == 600
        assert len(store.submissions(2023)) == 3


def test_store_reopens_and_uses_wal(tmp_path):
    path = tmp_path / "b.db"
    with Store(path) as store:
        store.save(report(b"x"), b"x")
    with Store(path) as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert len(store.submissions()) == 1
        assert store.fiscal_years() == [2023]


def test_not_a_database_is_a_store_error(tmp_path):
    path = tmp_path / "b.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="開けません"):
        Store(path)


def test_failed_save_rolls_back_everything(tmp_path):
    path = tmp_path / "b.db"
    bad = report(b"x")
    bad.plan = bad.plan.drop(columns=["fund"])  # the amounts insert fails mid-transaction
    with Store(path) as store:
        with pytest.raises(KeyError):
            store.save(bad, b"x")
    con = sqlite3.connect(path)
    counts = [con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
              for t in ("submissions", "files", "findings", "amounts")]
    con.close()
    assert counts == [0, 0, 0, 0]
