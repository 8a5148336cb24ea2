"""The store, on both backends (``store_location``: a SQLite file, then a PostgreSQL
database): one transaction per file, the same file (bytes and name) stored once, current =
newest accepted, values in long form, each stage's own fields; and what is SQLite's own:
opening under contention, WAL, migration of a version 1 store."""

from __future__ import annotations

import hashlib
import multiprocessing
import sqlite3

import pandas as pd
import pytest

from budget.errors import StoreError
from budget.findings import FileReport, make
from budget.forms import plan as layout
from budget.store import Saved, open_store
from budget.store.sql import SCHEMA_VERSION, TABLES

pytest_plugins = ["tests.conftest_pg"]

HEADER_KEYS = tuple(layout.HEADER_INPUTS)  # department, contact_name, phone, email
AMOUNT_COLUMNS = layout.MONEY_KEYS
TEXT_COLUMNS = layout.TEXT_KEYS

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


def count(store, table: str) -> int:
    """Rows of one table, through the store's own connection (either backend)."""
    return int(store._rows(f"SELECT COUNT(*) FROM {table}")[0][0])


def schema_text(store) -> list[str]:
    """The tables and their columns, as the database describes them."""
    if store.dialect.name == "sqlite":
        return sorted(r[0] for r in store._rows(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"))
    return sorted(f"{t}.{c} {d}" for t, c, d in store._rows(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema()"))


def test_save_stores_submission_bytes_findings_and_amounts(store_location):
    with open_store(store_location) as store:
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


def test_rejected_submission_keeps_bytes_but_no_amounts(store_location):
    with open_store(store_location) as store:
        saved = store.save(report(b"bad", accepted=False), b"bad")
        assert store.file_bytes(saved.submission_id) == b"bad"
        assert store.current_amounts(2023).empty
        assert count(store, "submission_values") + count(store, "submission_leaves") == 0


def test_first_errors_one_query(store_location, monkeypatch):
    with open_store(store_location) as store:
        good = store.save(report(b"good"), b"good").submission_id
        bad = store.save(report(b"bad", accepted=False), b"bad").submission_id
        yearless = store.save(report(b"?", accepted=False, year=None, pref=None,
                                     name="x_R5.xlsx"), b"?").submission_id
        queries: list[str] = []
        execute = store._execute
        monkeypatch.setattr(store, "_execute", lambda sql, params=(): (
            queries.append(sql), execute(sql, params))[1])
        first = store.first_errors([good, bad, yearless])
        monkeypatch.undo()
        message = make("negative-amount", file=FILE, sheet="計画", cell="H8", leaf_code="R5-01",
                       leaf_name="x", value=-5).message
        assert first == {bad: message, yearless: message}  # the warning-only one is absent
        assert len(queries) == 1
        assert store.first_errors([]) == {}


def test_same_file_twice_is_one_submission(store_location):
    with open_store(store_location) as store:
        first = store.save(report(b"same"), b"same")
        again = store.save(report(b"same"), b"same")
        assert (again.submission_id, again.created) == (first.submission_id, False)
        assert len(store.submissions()) == 1
        digest = hashlib.sha256(b"same").hexdigest()
        assert store.submission_for(digest, FILE)["id"] == first.submission_id
        assert store.submission_for(digest, "other.xlsx") is None
        assert store.submission_for("0" * 64, FILE) is None
        assert store.stored_files() == {(digest, FILE)}


def test_same_bytes_under_another_name_is_another_submission(store_location):
    """The verdict depends on the name (its prefecture must match the file's): a copy under
    another name is its own submission with its own findings."""
    other = "14_神奈川県_R5_計画.xlsx"
    with open_store(store_location) as store:
        first = store.save(report(b"same"), b"same")
        copy = store.save(report(b"same", accepted=False, name=other), b"same")
        assert copy.created and copy.submission_id != first.submission_id
        assert store.submissions()[["file_name", "status"]].values.tolist() == [
            [other, "rejected"], [FILE, "accepted"]]
        assert [f.code for f in store.findings(copy.submission_id)] == [
            "missing-contact", "negative-amount"]
        assert store.file_bytes(copy.submission_id) == b"same"
        digest = hashlib.sha256(b"same").hexdigest()
        assert store.stored_files() == {(digest, FILE), (digest, other)}
        assert store.save(report(b"same", name=other), b"same").created is False


def test_resubmission_becomes_current_and_earlier_stays(store_location):
    with open_store(store_location) as store:
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
    with open_store(path) as store:
        store.save(report(b"x"), b"x")
    with open_store(path) as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert len(store.submissions()) == 1
        assert store.submissions()["fiscal_year"].tolist() == [2023]


def test_not_a_database_is_a_store_error(tmp_path):
    path = tmp_path / "b.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError) as info:
        open_store(path)
    assert str(info.value).startswith(f"データベース {path} を開けません: SQLite のデータベースでは"
                                      "ありません")
    assert str(info.value).endswith("budget のデータベースか確認してください。")


def test_another_applications_database_is_refused_untouched(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (id INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="budget のデータベースではありません（他の用途の表 "
                                         "customers があります）"):
        open_store(path)
    con = sqlite3.connect(path)
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    con.close()
    assert tables == ["customers"]


def test_a_store_held_by_another_process_says_so_not_that_it_is_no_database(tmp_path):
    path = tmp_path / "b.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE x (y)")  # a plain rollback-journal file
    holder.execute("BEGIN EXCLUSIVE")  # nobody else may even read it
    try:
        with pytest.raises(StoreError) as info:
            open_store(path, timeout=0.3)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    message = str(info.value)
    assert "使用中のため、0.3 秒待っても開けませんでした（database is locked）" in message
    assert "budget のデータベースか確認" not in message


def test_a_newer_schema_is_refused(store_location):
    with open_store(store_location) as store, store.transaction():
        store._execute("UPDATE store_meta SET value = '99' WHERE key = 'schema_version'")
    for readonly in (False, True):
        with pytest.raises(StoreError,
                           match=f"版 99 はこの budget（版 {SCHEMA_VERSION}）では扱えません"):
            open_store(store_location, readonly=readonly)


def _open_and_save(path: str, i: int, barrier, results) -> None:
    """In a forked process: wait for the others, then open the (new) store and save one file."""
    barrier.wait()
    try:
        content = f"file {i}".encode()
        with open_store(path, timeout=20) as store:
            store.save(report(content, name=f"{i:02d}.xlsx"), content)
        results.put((i, None))
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        results.put((i, f"{type(exc).__name__}: {exc}"))


def test_many_processes_creating_the_same_new_store_at_once_all_succeed(tmp_path):
    """Regression: ``PRAGMA journal_mode = WAL`` on a file another process is switching at
    the same moment fails at once with "database is locked" (no busy wait). Four processes
    released together by a barrier, 20 rounds, each from a missing file: every run of this
    test (ten of ten) failed before the fix."""
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs fork")
    ctx = multiprocessing.get_context("fork")
    n, rounds = 4, 20
    for r in range(rounds):
        path = str(tmp_path / f"race{r}.db")
        barrier, results = ctx.Barrier(n), ctx.Queue()
        procs = [ctx.Process(target=_open_and_save, args=(path, i, barrier, results))
                 for i in range(n)]
        for p in procs:
            p.start()
        outcome = dict(results.get(timeout=60) for _ in procs)
        for p in procs:
            p.join(timeout=60)
        assert {i: e for i, e in outcome.items() if e} == {}, f"round {r}"
        with open_store(path) as store:
            assert sorted(store.submissions()["file_name"]) == [f"{i:02d}.xlsx" for i in range(n)]


#: The schema budget wrote before version 2 (one submission per SHA-256), as it was.
V1_SCHEMA = f"""
CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL UNIQUE,
    file_name TEXT NOT NULL,
    size INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    fiscal_year INTEGER,
    prefecture_code TEXT,
    stage TEXT NOT NULL DEFAULT 'plan',
    status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')),
    template_version TEXT,
    menu_fingerprint TEXT,
    {", ".join(f"{k} TEXT" for k in HEADER_KEYS)},
    n_errors INTEGER NOT NULL,
    n_warnings INTEGER NOT NULL
);
CREATE INDEX submissions_by_year
    ON submissions (fiscal_year, stage, prefecture_code, status, received_at);
CREATE TABLE files (
    submission_id INTEGER PRIMARY KEY REFERENCES submissions (id),
    content BLOB NOT NULL
);
CREATE TABLE findings (
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    seq INTEGER NOT NULL,
    code TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('error', 'warning')),
    sheet TEXT, cell TEXT, leaf_code TEXT, leaf_name TEXT, value TEXT,
    message TEXT NOT NULL,
    PRIMARY KEY (submission_id, seq)
);
CREATE TABLE amounts (
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    leaf_code TEXT NOT NULL,
    {", ".join(f"{k} INTEGER" for k in AMOUNT_COLUMNS)},
    {", ".join(f"{k} TEXT" for k in TEXT_COLUMNS)},
    PRIMARY KEY (submission_id, leaf_code)
) WITHOUT ROWID;
INSERT INTO store_meta VALUES ('schema_version', '1');
"""


def test_a_version_1_store_is_migrated_in_place_keeping_everything(tmp_path):
    path = tmp_path / "v1.db"
    con = sqlite3.connect(path)
    con.executescript(V1_SCHEMA)
    digest = hashlib.sha256(b"v1 file").hexdigest()
    con.execute(f"INSERT INTO submissions (id, sha256, file_name, size, received_at, fiscal_year, "
                f"prefecture_code, status, {', '.join(HEADER_KEYS)}, n_errors, n_warnings) "
                f"VALUES (7, ?, ?, 7, '2023-05-01T00:00:00+00:00', 2023, '13', 'accepted', "
                f"'介護保険課', NULL, NULL, NULL, 0, 1)", (digest, FILE))
    con.execute("INSERT INTO files VALUES (7, ?)", (b"v1 file",))
    con.execute("INSERT INTO findings VALUES (7, 0, 'missing-contact', 'warning', '計画', 'B4', "
                "NULL, NULL, NULL, 'm')")
    con.execute("INSERT INTO amounts (submission_id, leaf_code, fund) VALUES (7, 'R5-01', 300)")
    con.commit()
    con.close()

    with open_store(path) as store:
        assert store.conn.execute("SELECT value FROM store_meta").fetchone()[0] == SCHEMA_VERSION
        assert store.submissions()[["id", "file_name", "department"]].values.tolist() == [
            [7, FILE, "介護保険課"]]
        assert store.file_bytes(7) == b"v1 file"
        assert [f.code for f in store.findings(7)] == ["missing-contact"]
        assert store.current_amounts(2023)["fund"].tolist() == [300]
        # the same bytes under another name are now another submission, with a new id
        copy = store.save(report(b"v1 file", name="copy.xlsx"), b"v1 file")
        assert copy.created and copy.submission_id == 8
        assert store.save(report(b"v1 file"), b"v1 file") == Saved(7, created=False)
        assert store.conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with open_store(path) as store:  # opening again changes nothing
        assert len(store.submissions()) == 2


def test_failed_save_rolls_back_everything(store_location):
    bad = report(b"x")
    # a leaf twice: the values insert fails on its primary key, mid-transaction
    bad.plan = pd.concat([bad.plan, bad.plan.iloc[[0]]], ignore_index=True)
    with open_store(store_location) as store:
        with pytest.raises(StoreError, match="書き込めません"):
            store.save(bad, b"x")
        # the fields it registered were rolled back too, and the next save registers them
        assert store.save(report(b"y"), b"y").created
        assert store.current_amounts(2023)["fund"].tolist()[0] == 300
    with open_store(store_location) as store:
        assert {t: n for t, n in store.table_counts().items() if n} == {
            "submissions": 1, "files": 1, "findings": 1, "submission_leaves": 3,
            "submission_values": 5, "submission_inputs": 2, "value_fields": 11,
            "stage_fields": 11}
        assert set(store.table_counts()) == set(TABLES)


def test_values_are_long_so_a_new_forms_columns_need_no_schema_change(store_location):
    rep = report(b"new form")
    plan = rep.plan
    plan["allocation"] = pd.array([0, None, 7], dtype="Int64")  # a money field no form had
    plan["reason"] = ["理由", None, ""]  # a text field no form had
    rep.header["fax"] = "03-0000-0000"
    with open_store(store_location) as store:
        before = schema_text(store)
        store.save(rep, b"new form")
        after = schema_text(store)
        amounts = store.current_amounts(2023)
        subs = store.submissions()
        kinds = dict(store._rows("SELECT field, kind FROM value_fields"))
    assert before == after  # no table or column was added
    assert str(amounts["allocation"].dtype) == "Int64"
    assert [None if pd.isna(v) else int(v) for v in amounts["allocation"]] == [0, None, 7]
    # blank is missing, "" stays ""
    assert [None if pd.isna(v) else v for v in amounts["reason"]] == ["理由", None, ""]
    assert kinds["allocation"] == "number" and kinds["reason"] == "text"
    assert "excel_row" not in kinds  # where the row was is not a value
    assert subs.loc[0, "fax"] == "03-0000-0000" and subs.loc[0, "department"] == "介護保険課"
    # the plan's own columns keep their order after the keys
    assert list(amounts.columns[:4]) == ["prefecture_code", "submission_id", "leaf_code",
                                         AMOUNT_COLUMNS[0]]


def test_contact_inputs_of_many_submissions_are_read_in_chunks(store_location):
    with open_store(store_location) as store:
        for i in range(1201):
            store.save(report(f"{i}".encode(), accepted=False, name=f"{i}.xlsx"),
                       f"{i}".encode())
        subs = store.submissions()
    assert len(subs) == 1201 and subs["department"].eq("介護保険課").all()


def _column_by_column(plan: pd.DataFrame, stage: str, kinds: dict[str, str]
                      ) -> list[tuple[object, ...]]:
    """The cell rows as the store made them before ``frame_columns``: each column taken
    from the frame by name, its ``tolist`` converted cell by cell (the reference)."""
    from budget.store.sql import NUMBER, TEXT, plain

    rows: list[tuple[object, ...]] = []
    leaves = plan["leaf_code"].tolist()
    for name in [c for c in plan.columns if c not in ("leaf_code", "excel_row")]:
        column = plan[name]
        integer = pd.api.types.is_integer_dtype(column.dtype)
        kind = kinds.get(name) or (NUMBER if integer else TEXT)
        if kind == NUMBER and integer:
            rows += [(leaf, name, v, None) for leaf, v in zip(leaves, column.tolist())
                     if v is not pd.NA]
            continue
        values = [plain(v, pd.NA) for v in column.tolist()]
        if kind == NUMBER:
            rows += [(leaf, name, v, None) for leaf, v in zip(leaves, values) if v is not None]
        else:
            rows += [(leaf, name, None, str(v)) for leaf, v in zip(leaves, values)
                     if v is not None]
    return rows


def _odd_plan(n: int) -> pd.DataFrame:
    """A frame with every kind of column a form's frame or a notebook's may hold."""
    import numpy as np

    base = plan(n) if n else plan(1).iloc[0:0].reset_index(drop=True)
    odd = base.copy()
    cycle = [0, None, 7, -3, 10**12]
    odd["money_i64"] = pd.array([cycle[i % 5] for i in range(n)], dtype="Int64")
    odd["plain_int"] = np.arange(n, dtype="int64") * 1000
    odd["floats"] = [[1.0, float("nan"), 2.5, -0.0, 3.0][i % 5] for i in range(n)]
    odd["objects"] = pd.Series([[np.int64(5), None, float("nan"), "文字", pd.NA][i % 5]
                                for i in range(n)], dtype=object)
    odd["strings"] = pd.Series([["a", None, "", "=1+1", "改行\n"][i % 5] for i in range(n)],
                               dtype="str")
    odd["flags"] = [bool(i % 2) for i in range(n)]
    odd["when"] = pd.to_datetime(["2024-04-01"] * n)
    return odd


@pytest.mark.parametrize("n", [0, 1, 3, 60])
@pytest.mark.parametrize("kinds", [{}, {"floats": "number", "plain_int": "text",
                                        "objects": "number", "strings": "text",
                                        "money_i64": "text"}])
def test_cell_rows_are_those_of_the_column_by_column_conversion(n, kinds):
    from budget.store.sql import TEXT, cell_rows, frame_columns

    frame = _odd_plan(n)
    if kinds.get("objects") == "number":  # a number field: its text cells cannot be numbers
        frame["objects"] = pd.Series([[5, None, float("nan"), 2.0, pd.NA][i % 5]
                                      for i in range(n)], dtype=object)
    columns = frame_columns(frame)
    assert list(columns) == list(frame.columns)
    rows: list[tuple[object, ...]] = []
    leaves = columns["leaf_code"][1]
    for name, (dtype, values) in columns.items():
        if name in ("leaf_code", "excel_row"):
            continue
        integer = pd.api.types.is_integer_dtype(dtype)
        assert dtype == frame[name].dtype
        rows += cell_rows(7, leaves, name,
                          kinds.get(name) or ("number" if integer else TEXT), integer, values)
    expected = [(7, *row) for row in _column_by_column(frame, "plan", kinds)]
    assert rows == expected
    assert [tuple(type(v) for v in r) for r in rows] == [
        tuple(type(v) for v in r) for r in expected]
    if n:
        assert len(rows) > n  # the frame has cells to store


def test_a_frame_with_odd_columns_is_stored_as_the_column_by_column_rows(store_location):
    rep = report(b"odd")
    rep.plan = _odd_plan(5).drop(columns=["when"])
    with open_store(store_location) as store:
        kinds_before = dict(store._rows("SELECT field, kind FROM value_fields"))
        saved = store.save(rep, b"odd")
        kinds = dict(store._rows("SELECT field, kind FROM value_fields"))
        stored = store._rows("SELECT leaf_code, field, number, text FROM submission_values "
                             "WHERE submission_id = ? ORDER BY leaf_code, field",
                             (saved.submission_id,))
    expected = _column_by_column(rep.plan, "plan", kinds_before)
    assert sorted(tuple(r) for r in stored) == sorted(expected)
    assert kinds["plain_int"] == "number" and kinds["floats"] == "text"
