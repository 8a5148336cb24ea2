"""A version 2 store (tests/data/store_v2.db, made by the code before values moved to long
form) migrated in place to version 3: nothing lost, the same figures, and whose submission
each old file is decided as ingest decides it now."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from budget.analysis.status import submission_status
from budget.cli import cli
from budget.errors import StoreError
from budget.store import MissingStore, open_store
from budget.store.sqlite import SCHEMA_VERSION

V2 = Path(__file__).parent / "data" / "store_v2.db"
MONEY = ("total", "national", "prefectural", "fund", "other", "public", "private",
         "commissioned")
TEXTS = ("implementer", "output", "remarks")
CONTACT = ("department", "contact_name", "phone", "email")


def rows(path: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def v2(tmp_path):
    """A copy of the version 2 fixture and what its tables hold, read with plain sqlite3."""
    path = tmp_path / "budget.db"
    shutil.copy(V2, path)
    assert rows(path, "SELECT value FROM store_meta WHERE key = 'schema_version'") == [("2",)]
    before = {
        "submissions": rows(path, "SELECT id, sha256, file_name, size, received_at, fiscal_year, "
                                  "prefecture_code, stage, status, template_version, "
                                  "menu_fingerprint, n_errors, n_warnings FROM submissions "
                                  "ORDER BY id"),
        "contact": rows(path, f"SELECT id, {', '.join(CONTACT)} FROM submissions ORDER BY id"),
        "amounts": rows(path, f"SELECT submission_id, leaf_code, {', '.join(MONEY + TEXTS)} "
                              "FROM amounts ORDER BY submission_id, leaf_code"),
        "findings": rows(path, "SELECT * FROM findings ORDER BY submission_id, seq"),
        "files": rows(path, "SELECT submission_id, content FROM files ORDER BY submission_id"),
    }
    return path, before


def test_the_fixture_is_what_the_brief_describes(v2):
    _, before = v2
    subs = before["submissions"]
    assert [(s[2], s[6], s[8]) for s in subs] == [
        ("05_秋田県_R5_計画.xlsx", "05", "rejected"),
        ("13_東京都_R5_計画.xlsx", "13", "accepted"),
        ("32_島根県_R5_計画.xlsx", "32", "accepted"),
        ("41_佐賀県_R5_計画.xlsx", "42", "rejected"),  # 佐賀県's name on 長崎県's form
        ("42_長崎県_R5_計画.xlsx", "42", "accepted"),
    ]
    assert before["amounts"] and any(v is not None for r in before["amounts"] for v in r[2:])


def test_a_version_2_store_is_migrated_in_place_losing_nothing(v2):
    path, before = v2
    with open_store(path) as store:
        subs = store.submissions().sort_values("id")
        amounts = store.current_amounts(2023)
        details = store.submission_details([int(i) for i in subs["id"]])
        findings = {int(i): store.findings(int(i)) for i in subs["id"]}
        content = {int(i): store.file_bytes(int(i)) for i in subs["id"]}
    assert rows(path, "SELECT value FROM store_meta WHERE key = 'schema_version'") == [
        (SCHEMA_VERSION,)] == [("5",)]
    assert "WITHOUT ROWID" in rows(path, "SELECT sql FROM sqlite_master WHERE name = "
                                         "'submission_values'")[0][0]
    assert "amounts" not in {r[0] for r in rows(path, "SELECT name FROM sqlite_master")}

    # every submission, with the columns it had (the form's prefecture kept as such)
    got = [(int(r.id), r.sha256, r.file_name, int(r.size), r.received_at, int(r.fiscal_year),
            r.form_prefecture_code, r.stage, r.status, r.template_version, r.menu_fingerprint,
            int(r.n_errors), int(r.n_warnings)) for r in subs.itertuples()]
    assert got == before["submissions"]
    assert details.set_index("submission_id")["size"].to_dict() == {
        s[0]: s[3] for s in before["submissions"]}

    # every contact input (blank stays absent)
    for sid, *contact in before["contact"]:
        row = subs[subs["id"] == sid].iloc[0]
        for key, value in zip(CONTACT, contact):
            stored = row.get(key)
            assert (None if stored is None or stored != stored else stored) == value, (sid, key)
    n_inputs = rows(path, "SELECT COUNT(*) FROM submission_inputs")[0][0]
    assert n_inputs == sum(v is not None for r in before["contact"] for v in r[1:])

    # every leaf, and every amount and text cell by cell: blank as no row, 0 as 0
    leaves = rows(path, "SELECT submission_id, leaf_code FROM submission_leaves "
                        "ORDER BY submission_id, leaf_code")
    assert leaves == [(r[0], r[1]) for r in before["amounts"]]
    long = {(s, leaf, f): (n, t) for s, leaf, f, n, t in rows(
        path, "SELECT submission_id, leaf_code, field, number, text FROM submission_values")}
    for sid, leaf, *values in before["amounts"]:
        for key, value in zip(MONEY + TEXTS, values):
            n, t = long.get((sid, leaf, key), (None, None))
            assert (n if key in MONEY else t) == value, (sid, leaf, key)
            assert (t if key in MONEY else n) is None
    assert len(long) == sum(v is not None for r in before["amounts"] for v in r[2:])
    assert any(v == 0 for r in before["amounts"] for v in r[2:10])  # a 0 is in the fixture

    # the figures of current_amounts: the accepted submissions' rows, as they were
    want = pd.DataFrame(before["amounts"], columns=["submission_id", "leaf_code",
                                                    *MONEY, *TEXTS])
    want = want.sort_values(["submission_id", "leaf_code"]).reset_index(drop=True)
    got_amounts = amounts.sort_values(["submission_id", "leaf_code"]).reset_index(drop=True)
    assert got_amounts["submission_id"].tolist() == want["submission_id"].tolist()
    assert got_amounts["leaf_code"].tolist() == want["leaf_code"].tolist()
    for key in MONEY:
        assert str(got_amounts[key].dtype) == "Int64"
        assert [None if pd.isna(v) else int(v) for v in got_amounts[key]] == [
            None if pd.isna(v) else int(v) for v in want[key]], key
    for key in TEXTS:
        assert [None if pd.isna(v) else v for v in got_amounts[key]] == [
            None if pd.isna(v) else v for v in want[key]], key
    assert set(got_amounts["prefecture_code"]) == {"13", "32", "42"}

    # every finding and every original byte
    flat = [(sid, i, f.code, f.severity, f.sheet, f.cell, f.leaf_code, f.leaf_name, f.value,
             f.message) for sid, fs in findings.items() for i, f in enumerate(fs)]
    assert flat == before["findings"]
    assert [(sid, bytes(b)) for sid, b in before["files"]] == sorted(content.items())
    for s in before["submissions"]:
        assert hashlib.sha256(content[s[0]]).hexdigest() == s[1]
    assert rows(path, "PRAGMA foreign_key_check") == []
    assert rows(path, "PRAGMA integrity_check") == [("ok",)]


def test_the_migration_decides_whose_each_old_file_is(v2):
    path, _ = v2
    with open_store(path) as store:
        who = {r.file_name: (r.prefecture_code, r.form_prefecture_code,
                             None if pd.isna(r.attribution_note) else r.attribution_note)
               for r in store.submissions().itertuples()}
        st = submission_status(store, 2023).set_index("prefecture_code")
    assert who["41_佐賀県_R5_計画.xlsx"] == (
        "41", "42", "ファイル名は本県のものですが、様式は 42 長崎県 のものでした")
    assert who["42_長崎県_R5_計画.xlsx"] == ("42", "42", None)
    assert who["05_秋田県_R5_計画.xlsx"] == ("05", "05", None)
    assert st.loc["42", ["status_ja", "n_submissions", "note"]].tolist() == ["受理", 1, ""]
    assert st.loc["41", ["status_ja", "n_submissions", "stored_under", "note"]].tolist() == [
        "差戻し", 1, "42", "ファイル名は本県のものですが、様式は 42 長崎県 のものでした（差戻し）。"
        "本県の様式での再提出待ち"]
    assert st["status"].value_counts().to_dict() == {"missing": 42, "accepted": 3,
                                                     "rejected": 2}


def test_opening_a_migrated_store_again_changes_nothing(v2):
    path, _ = v2
    open_store(path).close()
    first = Path(path).read_bytes()
    with open_store(path) as store:
        assert len(store.submissions()) == 5
    assert rows(path, "SELECT COUNT(*) FROM submission_values")[0][0] > 0
    assert len(Path(path).read_bytes()) == len(first)
    assert rows(path, "SELECT value FROM store_meta WHERE key = 'schema_version'") == [
        (SCHEMA_VERSION,)]


def test_status_through_the_cli_on_a_version_2_store(v2):
    path, _ = v2
    result = CliRunner().invoke(cli, ["status", "--year", "R5", "--db", str(path)])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split() for line in result.stdout.splitlines()[3:-1]}
    assert lines["42"][:3] == ["42", "長崎県", "受理"] and lines["42"][-2] == "1"
    assert lines["41"][:3] == ["41", "佐賀県", "差戻し"]
    assert lines["41"][3].startswith("ファイル名は本県のものですが、様式は")


# --- the one way in: a path or a server URL -------------------------------------------------


@pytest.mark.parametrize("url", ["postgresql://clerk:s3cret@127.0.0.1:1/budget",
                                 "postgres://clerk:s3cret@127.0.0.1:1/budget?sslmode=disable"])
def test_an_unreachable_server_is_a_japanese_message_without_the_password(url, tmp_path):
    with pytest.raises(StoreError) as caught:
        open_store(url)
    message = str(caught.value)
    assert "s3cret" not in message and "clerk:***@" in message
    assert "に接続できません" in message and "を確認してください。" in message
    assert not list(tmp_path.iterdir())  # nothing was made
    result = CliRunner().invoke(cli, ["status", "--year", "R5", "--db", url])
    assert result.exit_code == 1
    assert "s3cret" not in result.output and "に接続できません" in result.output


def test_a_missing_store_is_not_made_when_not_asked(tmp_path):
    with pytest.raises(MissingStore, match="がありません"):
        open_store(tmp_path / "none.db", create=False)
    assert not (tmp_path / "none.db").exists()
    with open_store(tmp_path / "new.db") as store:
        assert store.location == str(tmp_path / "new.db")
    assert (tmp_path / "new.db").is_file()
