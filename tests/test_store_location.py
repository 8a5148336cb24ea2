"""``--db``/``BUDGET_DB`` locations (budget/store/location.py): a path is SQLite, a
postgresql:// URL goes to libpq as given, and no password ever shows in ``display``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from budget.errors import UsageError
from budget.store.location import (
    DEFAULT_PATH,
    Location,
    LocationError,
    mask_url,
    parse_location,
    resolve_location,
)

pytest_plugins = ["tests.conftest_pg"]

SECRET = "s3cr&t"  # never in a display or an error message


@pytest.mark.parametrize("text", [
    "budget.db", "r5/budget.db", "/var/lib/budget/budget.db", "C:\\budget\\budget.db",
    "C:/budget/budget.db", "c:budget.db", "\\\\server\\share\\budget.db", "予算.db",
    "postgresql.db", "postgres", "my:file.db",
])
def test_a_path_is_sqlite(text):
    loc = parse_location(text)
    assert loc.kind == "sqlite" and loc.is_sqlite and not loc.is_postgresql
    assert loc.path == Path(text)
    assert loc.conninfo is None
    assert loc.display == str(loc) == text


def test_a_pathlike_is_sqlite(tmp_path):
    assert parse_location(tmp_path / "b.db").path == tmp_path / "b.db"


@pytest.mark.parametrize(("url", "display"), [
    ("postgresql://budget@db.example.lg.jp:5432/budget",
     "postgresql://budget@db.example.lg.jp:5432/budget"),
    (f"postgresql://ingest:{SECRET.replace('&', '%26')}@db.example.lg.jp/budget",
     "postgresql://ingest:***@db.example.lg.jp/budget"),
    ("postgres://u:pw@h/db", "postgres://u:***@h/db"),
    ("postgresql://u:@h/db", "postgresql://u:***@h/db"),
    ("postgresql:///budget", "postgresql:///budget"),
    ("postgresql://", "postgresql://"),
    ("postgresql://u:pw@h1:5432,h2:5433/db?target_session_attrs=read-write",
     "postgresql://u:***@h1:5432,h2:5433/db?target_session_attrs=read-write"),
    ("postgresql://u:pw@[::1]:5432/db", "postgresql://u:***@[::1]:5432/db"),
    ("postgresql://u@h/db?sslmode=verify-full&sslrootcert=/etc/ca.pem&password=pw",
     "postgresql://u@h/db?sslmode=verify-full&sslrootcert=/etc/ca.pem&password=***"),
    ("postgresql://h/db?PASSWORD=pw&application_name=budget",
     "postgresql://h/db?PASSWORD=***&application_name=budget"),
    ("postgresql://h/db?pass%77ord=pw", "postgresql://h/db?pass%77ord=***"),
    ("postgresql://h/db?sslpassword=keypass&sslmode=require",
     "postgresql://h/db?sslpassword=***&sslmode=require"),
    ("postgresql://u:pw@h/%E4%BA%88%E7%AE%97", "postgresql://u:***@h/%E4%BA%88%E7%AE%97"),
])
def test_a_url_is_postgresql_with_the_password_masked(url, display):
    loc = parse_location(url)
    assert loc.kind == "postgresql" and loc.is_postgresql and loc.path is None
    assert loc.conninfo == url  # every libpq parameter passes through, as given
    assert loc.display == str(loc) == display
    assert "pw" not in repr(loc) and SECRET not in repr(loc)


def test_scheme_in_capitals_is_lowered_for_libpq():
    loc = parse_location("PostgreSQL://u:pw@h/db")
    assert loc.conninfo == "postgresql://u:pw@h/db"
    assert loc.display == "PostgreSQL://u:***@h/db"


@pytest.mark.parametrize(("url", "secret"), [
    ("postgresql://u:Zq&9@h/db", "Zq&9"),        # raw "&" in the password: fine in userinfo
    ("postgresql://u:Zq@9@h/db", "Zq"),          # raw "@"
    ("postgresql://u:Zq/9@h/db", "Zq"),          # raw "/"
    ("postgresql://u:Zq?9@h/db", "Zq"),          # raw "?"
    ("postgresql://u:Zq 9@h/db", "Zq"),          # a space
    ("postgresql://u:Zq\n9@h/db", "Zq"),         # a control character
    ("postgresql://u:Zq9/db", "Zq9"),            # no host: the password looks like a port
    ("postgresql://h/db?password=Zq&9", "Zq"),   # raw "&" in a query value
    ("postgresql://h/db?password=Zq&9=1", "Zq"),
    ("postgresql://h/db?application_name=a@b&password=Zq9", "Zq"),
])
def test_a_url_libpq_would_misread_is_refused_without_showing_the_password(url, secret):
    try:
        loc = parse_location(url)
    except LocationError as exc:
        message = str(exc)
        assert message.startswith("--db の URL postgresql://")
    else:
        message = loc.display + repr(loc)
    assert secret not in message, (url, message)
    assert "9@" not in message and "\n" not in message


def test_a_url_with_control_characters_is_refused_and_shown_escaped():
    with pytest.raises(LocationError, match=r"\\x07") as info:
        parse_location("postgresql://h/d\x07b")
    assert "\x07" not in str(info.value)


@pytest.mark.parametrize(("text", "hint"), [
    ("mysql://u:pw@h/db", "postgresql://"),
    ("sqlite:///budget.db", "ファイルのパスをそのまま"),
    ("postgresql+psycopg://u:pw@h/db", "postgresql://"),
    ("file:///tmp/b.db", "postgresql://"),
])
def test_another_scheme_is_a_usage_error(text, hint):
    with pytest.raises(LocationError, match=hint) as info:
        parse_location(text)
    assert isinstance(info.value, UsageError)  # the CLI exits 2
    assert "pw" not in str(info.value)


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_location_is_a_usage_error(text):
    with pytest.raises(LocationError, match="--db が空です"):
        parse_location(text)


def test_a_path_with_a_control_character_is_refused():
    with pytest.raises(LocationError, match=r"\\x0a"):
        parse_location("budget\n.db")


def test_resolve_prefers_the_option_then_the_environment_then_the_default():
    env = {"BUDGET_DB": "postgresql://u:pw@h/db"}
    assert resolve_location("mine.db", env).path == Path("mine.db")
    assert resolve_location(None, env).display == "postgresql://u:***@h/db"
    assert resolve_location(None, {}).path == DEFAULT_PATH
    assert resolve_location(None, {"BUDGET_DB": "  "}).path == DEFAULT_PATH
    with pytest.raises(LocationError, match="環境変数 BUDGET_DB の mysql://"):
        resolve_location(None, {"BUDGET_DB": "mysql://x/y"})


def test_resolve_reads_the_process_environment(monkeypatch):
    monkeypatch.setenv("BUDGET_DB", "postgres://u:pw@h/db")
    assert resolve_location(None).conninfo == "postgres://u:pw@h/db"


@pytest.mark.parametrize(("text", "masked"), [
    ('connection to server at "h" failed: postgresql://u:pw@h/db',
     'connection to server at "h" failed: postgresql://u:pw@h/db'),  # not a URL at the start
    ("postgresql://u:pw@h/db?x=1", "postgresql://u:***@h/db?x=1"),
    ("plain text", "plain text"),
])
def test_mask_url(text, masked):
    assert mask_url(text) == masked


def test_location_is_a_value():
    a, b = parse_location("postgresql://u:pw@h/db"), parse_location("postgresql://u:pw@h/db")
    assert a == b and isinstance(a, Location)
    with pytest.raises(AttributeError):
        a.kind = "sqlite"  # type: ignore[misc]


def test_parsing_imports_no_driver():
    code = ("import sys; from budget.store.location import parse_location; "
            "parse_location('postgresql://u:pw@h/db'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('psycopg', 'psycopg_binary', 'pandas')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_libpq_reads_the_url_as_displayed(pg_server, pg_database):
    """The conninfo reaches a real server with every parameter, and libpq splits it into
    the same parts the display shows."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    url = pg_database.url + "?application_name=budget-test&connect_timeout=5&sslmode=disable"
    loc = parse_location(url)
    assert loc.conninfo is not None
    parts = conninfo_to_dict(loc.conninfo)
    assert parts["dbname"] == pg_database.name and parts["sslmode"] == "disable"
    assert "***" in loc.display and str(parts["password"]) not in loc.display
    with psycopg.connect(loc.conninfo) as conn:
        row = conn.execute("SELECT current_database(), current_setting('application_name')"
                           ).fetchone()
    assert row == (pg_database.name, "budget-test")
    with pytest.raises(psycopg.OperationalError, match="SSL"):
        psycopg.connect(str(parse_location(pg_database.url + "?sslmode=require").conninfo))
