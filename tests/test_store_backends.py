"""What the two backends add beyond the store suite of tests/test_store.py: each stage's own
fields, the numbered migrations 3 → 4 and 4 → 5 and ``budget db init/migrate`` on both, the SQL kept
portable, the same file saved at once from two connections, read-only stores (a read-only
SQLite file or folder, a read-only PostgreSQL role), a damaged SQLite file noticed by
``status``/``aggregate``, and the driver never imported for ``budget --help``."""

from __future__ import annotations

import ast
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from budget.cli import cli
from budget.errors import StoreError
from budget.store import open_store
from budget.store.sql import SCHEMA_VERSION
from tests.test_store import plan, report

pytest_plugins = ["tests.conftest_pg"]

KEYS = ["prefecture_code", "submission_id", "leaf_code"]


def other_stage_report(content: bytes, name: str = "13_東京都_R5_要望.xlsx"):
    """A submission of another stage's form: other columns than the plan's."""
    rep = report(content, name=name)
    frame = pd.DataFrame({"leaf_code": ["R5-01", "R5-02"], "excel_row": [9, 10],
                          "requested": pd.array([500, None], dtype="Int64"),
                          "reason": ["増員", None]})
    rep.plan = frame
    return rep


# --- each stage's own fields ----------------------------------------------------------------

def test_values_read_for_a_stage_carry_only_that_stages_fields(store_location):
    """Regression: ``value_fields`` was one list for the whole store, so once another form's
    submissions existed, its columns appeared, all blank, in the plan's frame."""
    with open_store(store_location) as store:
        store.save(report(b"plan"), b"plan")
        store.save(other_stage_report(b"request"), b"request", stage="request")
        plan_frame = store.current_amounts(2023)
        request = store.current_amounts(2023, "request")
        assert store.current_amounts(2023, "actual").columns.tolist() == KEYS
    plan_fields = [c for c in plan().columns if c not in ("leaf_code", "excel_row")]
    assert plan_frame.columns.tolist() == KEYS + plan_fields
    assert request.columns.tolist() == KEYS + ["requested", "reason"]
    assert request["requested"].tolist()[0] == 500 and pd.isna(request["requested"][1])
    assert plan_frame["fund"].tolist()[0] == 300
    # an all-blank field of the form is still one of its columns (blank is not absent)
    assert plan_frame["other"].isna().all()


def make_version_3(store) -> None:
    """Turn a current store back into what version 3 was: no ``stage_fields``."""
    with store.transaction():
        store._execute("DROP TABLE stage_fields")
        store._execute("UPDATE store_meta SET value = '3' WHERE key = 'schema_version'")


def test_a_version_3_store_is_migrated_by_db_migrate_on_both_backends(store_location):
    with open_store(store_location) as store:
        store.save(report(b"plan"), b"plan")
        expected = store.current_amounts(2023)
        make_version_3(store)
    if store_location.startswith("postgresql"):  # a reader may not migrate: it says who may
        with pytest.raises(StoreError, match="古い版（3）.*budget db migrate --db"):
            open_store(store_location, readonly=True)
    result = CliRunner().invoke(cli, ["db", "migrate", "--db", store_location])
    assert result.exit_code == 0, result.output
    assert f"版 3 から版 {SCHEMA_VERSION} に移行しました" in result.output
    again = CliRunner().invoke(cli, ["db", "migrate", "--db", store_location])
    assert f"既に最新の版 {SCHEMA_VERSION} です" in again.output
    with open_store(store_location, readonly=True) as store:
        pd.testing.assert_frame_equal(store.current_amounts(2023), expected)
        assert store._rows("SELECT value FROM store_meta")[0][0] == SCHEMA_VERSION


def make_version_4(store) -> None:
    """Turn a current store back into what version 4 was: SQLite's ``submission_values`` a
    rowid table (as version 4 defined it)."""
    with store.transaction():
        if store.dialect.name == "sqlite":
            store._execute(V4_VALUES_TABLE.replace("submission_values (",
                                                   "submission_values_v4 ("))
            store._execute("INSERT INTO submission_values_v4 SELECT * FROM submission_values")
            store._execute("DROP TABLE submission_values")
            store._execute("ALTER TABLE submission_values_v4 RENAME TO submission_values")
        store._execute("UPDATE store_meta SET value = '4' WHERE key = 'schema_version'")


#: ``submission_values`` as version 4 defined it (written out here, not taken from the code).
V4_VALUES_TABLE = """CREATE TABLE submission_values (
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    leaf_code TEXT NOT NULL,
    field TEXT NOT NULL REFERENCES value_fields (field),
    number INTEGER,
    text TEXT,
    PRIMARY KEY (submission_id, leaf_code, field),
    FOREIGN KEY (submission_id, leaf_code) REFERENCES submission_leaves (submission_id, leaf_code),
    CHECK ((number IS NULL) <> (text IS NULL))
)"""


def values_table(store) -> str:
    """How the database defines ``submission_values`` (SQLite), or "" (PostgreSQL)."""
    if store.dialect.name != "sqlite":
        return ""
    return str(store._rows("SELECT sql FROM sqlite_master WHERE name = 'submission_values'")
               [0][0])


def test_a_version_4_store_is_migrated_keeping_every_value_on_both_backends(store_location):
    """4 → 5: in SQLite ``submission_values`` becomes a ``WITHOUT ROWID`` table with the same
    rows, keys and checks; in PostgreSQL only the version changes. The store is then saved
    to and read as one made new."""
    sqlite = store_location.startswith("postgresql") is False
    with open_store(store_location) as store:
        assert ("WITHOUT ROWID" in values_table(store)) is sqlite  # a new store: made so
        store.save(report(b"plan"), b"plan")
        store.save(other_stage_report(b"request"), b"request", stage="request")
        expected = store.current_amounts(2023)
        cells = sorted(store._rows("SELECT * FROM submission_values"))
        make_version_4(store)
        assert "WITHOUT ROWID" not in values_table(store)
    result = CliRunner().invoke(cli, ["db", "migrate", "--db", store_location])
    assert result.exit_code == 0, result.output
    assert f"版 4 から版 {SCHEMA_VERSION} に移行しました" in result.output
    with open_store(store_location) as store:
        assert store._rows("SELECT value FROM store_meta")[0][0] == SCHEMA_VERSION == "5"
        assert ("WITHOUT ROWID" in values_table(store)) is sqlite
        if sqlite:
            assert store._rows("PRAGMA foreign_key_check") == []
            assert store._rows("PRAGMA integrity_check") == [("ok",)]
            for bad in ("(1, 'R5-01', 'fund', 1, 'x')",  # the check: a number or a text
                        "(1, 'R5-77', 'fund', 1, NULL)",  # a leaf the submission lacks
                        "(1, 'R5-01', 'fund', 2, NULL)"):  # the key: one value per cell
                with pytest.raises(sqlite3.IntegrityError), store.transaction():
                    store._execute(f"INSERT INTO submission_values VALUES {bad}")
        assert sorted(store._rows("SELECT * FROM submission_values")) == cells
        pd.testing.assert_frame_equal(store.current_amounts(2023), expected)
        store.save(report(b"plan 2", fund=600), b"plan 2")
        assert store.current_amounts(2023)["fund"].tolist()[0] == 600


def test_db_init_creates_the_schema_once_and_refuses_a_newer_store(store_location):
    runner = CliRunner()
    first = runner.invoke(cli, ["db", "init", "--db", store_location])
    assert first.exit_code == 0, first.output
    assert f"を作成しました（版 {SCHEMA_VERSION}）" in first.output
    second = runner.invoke(cli, ["db", "init", "--db", store_location])
    assert f"既に最新の版 {SCHEMA_VERSION} です" in second.output
    with open_store(store_location) as store, store.transaction():
        store._execute("UPDATE store_meta SET value = '99' WHERE key = 'schema_version'")
    for command in ("init", "migrate"):
        refused = runner.invoke(cli, ["db", command, "--db", store_location])
        assert refused.exit_code == 1
        assert f"版 99 はこの budget（版 {SCHEMA_VERSION}）では扱えません" in refused.output


def test_db_migrate_of_a_missing_store_creates_nothing(tmp_path):
    result = CliRunner().invoke(cli, ["db", "migrate", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 1 and "がありません" in result.output
    assert not list(tmp_path.iterdir())


def test_a_bad_db_value_is_a_usage_error(tmp_path, monkeypatch):
    runner = CliRunner()
    bad = runner.invoke(cli, ["status", "--db", "mysql://x@y/z"])
    assert bad.exit_code == 2 and "mysql:// は使えません" in bad.output
    monkeypatch.setenv("BUDGET_DB", "postgresql://u:pw@host:notaport/db")
    env = runner.invoke(cli, ["status"])
    assert env.exit_code == 2 and "環境変数 BUDGET_DB" in env.output and ":pw@" not in env.output


def test_budget_db_names_the_store_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("BUDGET_DB", str(tmp_path / "team.db"))
    result = CliRunner().invoke(cli, ["db", "init"])
    assert result.exit_code == 0 and (tmp_path / "team.db").is_file()


# --- the SQL stays portable ---------------------------------------------------------------

def test_no_sql_literal_holds_a_placeholder_or_percent_sign():
    """``Dialect.sql`` turns ``?`` into ``%s`` and doubles ``%`` for psycopg: a ``?`` or
    ``%`` inside a quoted SQL literal would be changed with it."""
    import budget.store.sql as module

    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    texts = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
             and isinstance(n.value, str)
             and any(k in n.value for k in ("SELECT", "INSERT", "CREATE", "UPDATE"))]
    assert len(texts) > 10
    import re
    literals = [lit for t in texts for lit in re.findall(r"'[^']*'", t)]
    assert literals and not [lit for lit in literals if "?" in lit or "%" in lit]
    from budget.store.sql import POSTGRESQL
    assert POSTGRESQL.sql("SELECT ? WHERE x LIKE '1%'") == "SELECT %s WHERE x LIKE '1%%'"


def test_the_driver_is_imported_only_when_a_url_is_used():
    code = ("import sys; from budget.cli import cli; from click.testing import CliRunner; "
            "r = CliRunner().invoke(cli, ['--help']); assert r.exit_code == 0; "
            "from budget.store.location import resolve_location; "
            "resolve_location('postgresql://u:p@h/d'); "
            "print('psycopg' in sys.modules, 'budget.store.postgres' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr


# --- the same file at once ------------------------------------------------------------------

def test_the_same_file_saved_at_once_from_two_connections_is_stored_once(store_location):
    open_store(store_location).close()
    barrier = threading.Barrier(2)
    results: list[object] = []

    def save() -> None:
        try:
            with open_store(store_location) as store:
                barrier.wait()
                results.append(store.save(report(b"same"), b"same"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            results.append(exc)

    threads = [threading.Thread(target=save) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(getattr(r, "created", r) for r in results) == [False, True], results
    assert len({r.submission_id for r in results}) == 1  # type: ignore[union-attr]
    with open_store(store_location) as store:
        assert store.table_counts()["submissions"] == 1



def test_a_reader_reads_a_version_4_store_as_it_is(store_location):
    """4 reads as 5 does: a reader who may not migrate (a read-only role) reads a version-4
    store as it is instead of being told to wait for ``db migrate``."""
    with open_store(store_location) as store:
        store.save(report(b"plan"), b"plan")
        expected = store.current_amounts(2023)
        make_version_4(store)
    if store_location.startswith("postgresql"):  # the read-only role: no migration
        with open_store(store_location, readonly=True) as store:
            pd.testing.assert_frame_equal(store.current_amounts(2023), expected)
            assert store._rows("SELECT value FROM store_meta")[0][0] == "4"


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_a_read_only_version_4_file_is_read_as_it_is(tmp_path):
    """A version-4 SQLite file nobody here may write (a mount): read as it is, unchanged;
    a version-3 one is refused with what to do."""
    for version, make in (("4", make_version_4), ("3", make_version_3)):
        store_dir = tmp_path / f"v{version}"
        store_dir.mkdir()
        db = store_dir / "budget.db"
        with open_store(str(db)) as store:
            store.save(report(b"plan"), b"plan")
            expected = store.current_amounts(2023)
            make(store)
        before = db.read_bytes()
        immutable = _make_read_only([db, store_dir])
        try:
            if version == "4":
                with open_store(str(db), readonly=True) as store:
                    pd.testing.assert_frame_equal(store.current_amounts(2023), expected)
            else:
                with pytest.raises(StoreError, match="古い版（3）.*budget db migrate --db"):
                    open_store(str(db), readonly=True)
        finally:
            _undo(immutable)
            os.chmod(store_dir, 0o755)
            os.chmod(db, 0o644)
        assert db.read_bytes() == before

# --- read-only stores -----------------------------------------------------------------------

def _make_read_only(paths: list[Path]) -> list[Path]:
    """Make files and folders read-only for this process, even as root: file modes for a
    user, the immutable attribute (``chattr +i``, what a read-only mount amounts to) for
    root, who may write whatever the modes say. Returns what to undo with ``chattr -i``."""
    for p in paths:
        os.chmod(p, 0o555 if p.is_dir() else 0o444)
    if not hasattr(os, "getuid") or os.getuid() != 0:
        return []
    done: list[Path] = []
    for p in paths:
        if subprocess.run(["chattr", "+i", str(p)], capture_output=True).returncode != 0:
            _undo(done)
            pytest.skip("running as root where chattr +i is not available: root may write "
                        "any file, so nothing here is read-only")
        done.append(p)
    return done


def _undo(immutable: list[Path]) -> None:
    for p in reversed(immutable):
        subprocess.run(["chattr", "-i", str(p)], capture_output=True)


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_status_and_aggregate_work_on_a_read_only_folder_and_file(books_db, tmp_path):
    """Issue 12 item 7: a read-only store (a mount, a file the user may only read) made even
    ``status`` and ``aggregate`` fail with "unable to open database file"."""
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    db = store_dir / "budget.db"
    shutil.copy(books_db, db)
    before = db.read_bytes()
    immutable = _make_read_only([db, store_dir])
    try:
        with pytest.raises(OSError):  # really read-only: nothing can be made beside it
            (store_dir / "probe").write_bytes(b"")
        runner = CliRunner()
        status = runner.invoke(cli, ["status", "--year", "R5", "--db", str(db)])
        assert status.exit_code == 0, status.output
        assert status.output.count("受理") >= 3 and "差戻し" in status.output
        out = tmp_path / "out"
        agg = runner.invoke(cli, ["aggregate", "--year", "R5", "--db", str(db),
                                  "--out", str(out)])
        assert agg.exit_code in (0, 1), agg.output  # 1: prefectures are missing
        assert "開けません" not in agg.output and "unable to open" not in agg.output
        assert list(out.glob("R5_集計*.xlsx"))
        # compare reads too; the checked menu and crosswalk cannot be recorded: nothing is
        data = Path(__file__).parent / "data"
        comp = runner.invoke(cli, ["compare", "--years", "R5", "R6", "--db", str(db),
                                   "--menu", str(data / "R6_sample_menu.csv"),
                                   "--crosswalk", str(data / "crosswalk_R5_R6_sample.csv"),
                                   "--out", str(out)])
        assert comp.exit_code in (0, 1), comp.output
        assert list(out.glob("R5-R6_年度比較.xlsx")), comp.output
        # writing is refused with a message, not a traceback
        ingest = runner.invoke(cli, ["ingest", str(books_db.parent / "in"), "--db", str(db),
                                     "--reports", str(tmp_path / "r")])
        assert ingest.exit_code == 1 and "書き込み権限を確認してください" in ingest.output
        assert sorted(p.name for p in store_dir.iterdir()) == ["budget.db"]
    finally:
        _undo(immutable)
        os.chmod(store_dir, 0o755)
        os.chmod(db, 0o644)
    assert db.read_bytes() == before


@pytest.fixture(scope="module")
def books_db(tmp_path_factory) -> Path:
    """A SQLite store with three accepted plans and one rejected one (closed cleanly)."""
    from budget.intake.batch import ingest_folder
    from tests.test_ingest import SETTINGS, bad_rows, good_rows, plan_bytes, write

    folder = tmp_path_factory.mktemp("books")
    for pref in ("01", "02", "13"):
        write(folder / "in", pref, plan_bytes(pref, good_rows(scale=int(pref))))
    write(folder / "in", "14", plan_bytes("14", bad_rows()))
    ingest_folder(folder / "in", folder / "budget.db", SETTINGS, None, workers=0)
    return folder / "budget.db"


def _damage_an_index_page(db: Path) -> None:
    """Overwrite the root page of the index of submissions by file with garbage."""
    import sqlite3

    con = sqlite3.connect(db)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = "
                       "'submissions_by_file'").fetchone()[0]
    con.close()
    with open(db, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\x0a" + secrets.token_bytes(64) + b"\xff" * (page_size - 65))


def test_a_damaged_store_is_noticed_by_status_and_aggregate(books_db, tmp_path):
    db = tmp_path / "budget.db"
    shutil.copy(books_db, db)
    _damage_an_index_page(db)
    runner = CliRunner()
    for args in (["status", "--year", "R5", "--db", str(db)],
                 ["aggregate", "--year", "R5", "--db", str(db), "--out", str(tmp_path / "o")]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 1, result.output
        assert f"データベース {db} が壊れています" in result.output
        assert "バックアップから戻すか" in result.output and "取り込み直して" in result.output
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").glob("*.xlsx"))


def test_a_read_only_role_reads_but_its_ingest_is_refused(pg_server, pg_database, tmp_path):
    """The README's team set-up: a role with ``default_transaction_read_only`` and SELECT
    only runs status and aggregate; its ingest is refused with a Japanese message and stores
    nothing."""
    from tests.test_ingest import good_rows, plan_bytes, write

    role, password = f"reader_{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    with pg_server.admin() as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN PASSWORD \'{password}\'')
        admin.execute(f'ALTER ROLE "{role}" SET default_transaction_read_only = on')
    runner = CliRunner()
    folder = tmp_path / "in"
    write(folder, "13", plan_bytes("13", good_rows()))
    assert runner.invoke(cli, ["ingest", str(folder), "--db", pg_database.url,
                               "--reports", str(tmp_path / "r")]).exit_code == 0
    import psycopg

    with psycopg.connect(pg_database.url, autocommit=True) as owner:
        owner.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"')
    reader = pg_server.url(pg_database.name, user=role, password=password)
    write(folder, "14", plan_bytes("14", good_rows()))
    refused = runner.invoke(cli, ["ingest", str(folder), "--db", reader,
                                  "--reports", str(tmp_path / "r2")])
    assert refused.exit_code == 1
    assert (f"ユーザー {role} にはデータベース {reader.replace(password, '***')} への書き込み"
            "権限がありません（読み取り専用）") in refused.output
    assert "取り込みは書き込みできるユーザーで実行してください" in refused.output
    assert password not in refused.output
    status = runner.invoke(cli, ["status", "--year", "R5", "--db", reader])
    assert status.exit_code == 0, status.output
    assert "提出状況: 受理 1、差戻し 0、未提出 46" in status.output  # Kanagawa's was refused
    aggregate = runner.invoke(cli, ["aggregate", "--year", "R5", "--db", reader,
                                    "--out", str(tmp_path / "out")])
    assert aggregate.exit_code in (0, 1) and "集計" in aggregate.output, aggregate.output
    assert password not in aggregate.output
    # even with read-only switched off, the missing grant refuses the write the same way
    with pytest.raises(StoreError, match="書き込み権限がありません"):
        open_store(reader + "?options=-c%20default_transaction_read_only%3Doff")
    with open_store(pg_database.url) as store:
        assert store.table_counts()["submissions"] == 1  # the reader stored nothing


def test_a_read_only_opening_takes_any_path(tmp_path):
    """The read-only opening goes through a ``file:`` URI: a name with spaces, ``?``, ``#``,
    ``%`` or Japanese must still name the same file."""
    folder = tmp_path / "共有 フォルダ #1 ?x=%41"
    folder.mkdir()
    db = folder / "予算 R5.db"
    with open_store(db) as store:
        store.save(report(b"x"), b"x")
    with open_store(db, readonly=True, check=True) as store:
        assert len(store.submissions()) == 1
    assert sorted(p.name for p in folder.iterdir())[0] == "予算 R5.db"
    assert not (tmp_path / "共有 フォルダ ").exists()


def test_values_of_given_submissions_and_a_file_kept_without_bytes(store_location, tmp_path):
    """What main's other stages read (``submission_amounts``, ``amounts_of``) and a file too
    large to keep (``content`` None), on both backends; ``db copy`` carries the record."""
    with open_store(store_location) as store:
        a = store.save(report(b"a"), b"a").submission_id
        big = store.save(report(b"big", name="14_神奈川県_R5_計画.xlsx", pref="14"),
                         None).submission_id
        with pytest.raises(StoreError, match="ファイルが見つかりません"):
            store.file_bytes(big)
        some = store.submission_amounts([big, a], ["fund", "implementer", "nothing"])
        assert some.columns.tolist() == KEYS + ["seq", "fund", "implementer"]
        assert some["submission_id"].tolist() == [a] * 3 + [big] * 3
        assert some["fund"].tolist()[0] == 300 and pd.isna(some["fund"][1])
        assert some["seq"].tolist() == [0, 1, 2, 0, 1, 2]
        every = store.amounts_of([a])
        assert every.columns.tolist()[:5] == KEYS + ["stage", "fiscal_year"]
        assert every["fund"].tolist()[0] == 300
    result = CliRunner().invoke(cli, ["db", "copy", "--from", store_location,
                                      "--to", str(tmp_path / "copy.db")])
    assert result.exit_code == 0, result.output
    assert "提出 1 件のファイルの SHA-256 が一致しました" in result.output  # the other: no bytes
    with open_store(tmp_path / "copy.db") as copy:
        assert copy.table_counts()["submissions"] == 2 and copy.file_bytes(a) == b"a"


def test_a_location_from_db_is_a_path_for_sqlite_and_never_shows_a_password():
    """Commands get a ``Location`` from ``--db``: code that treats it as a path (``Path(…)``,
    ``is_server_url``) keeps working, and a URL's password is never in its text."""
    from budget.store import is_server_url
    from budget.store.location import parse_location

    file = parse_location("data/budget.db")
    assert Path(file) == Path("data/budget.db") and not is_server_url(file)
    url = parse_location("postgresql://clerk:s3cret@db.example.jp/budget")
    assert is_server_url(url) and is_server_url("postgres://x@y/z")
    assert not is_server_url(Path("budget.db"))
    assert "s3cret" not in f"{url} {url!r}"
    with pytest.raises(TypeError):
        Path(url)
