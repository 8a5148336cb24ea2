"""The PostgreSQL test server itself (tests/pgserver.py, tests/conftest_pg.py): it starts,
psycopg connects with the password, databases are isolated and fresh per test, it runs as
an unprivileged user on 127.0.0.1 only, and it is gone after stop — also when the process
that started it dies without stopping it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pgserver import SUPERUSER, PgServer, choose_account, find_bindir

pytest_plugins = ["tests.conftest_pg"]

ROOT = Path(__file__).resolve().parents[1]


def _bindir_or_skip() -> Path:
    pytest.importorskip("psycopg")
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed")
    return bindir


def _wait_until(condition, seconds: float = 60.0) -> bool:
    """Poll ``condition`` until true or ``seconds`` pass (a deadline, not a speed check)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _refused(url: str) -> bool:
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.OperationalError:
        return True
    return False


def test_find_bindir_none_where_absent(tmp_path):
    assert find_bindir({"BUDGET_TEST_PG_BINDIR": str(tmp_path), "PATH": ""}) is None


def test_find_bindir_finds_the_programs():
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed")
    for program in ("initdb", "pg_ctl", "postgres"):
        assert any(bindir.glob(f"{program}*")), program


def test_server_answers_with_password_on_localhost_only(pg_server, pg_url):
    import psycopg

    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT current_user, current_setting('listen_addresses'), "
                           "current_setting('fsync'), current_setting('server_encoding'), "
                           "current_setting('lc_collate')").fetchone()
    assert row == (SUPERUSER, "127.0.0.1", "off", "UTF8", "C")
    if isinstance(pg_server, PgServer):
        wrong = pg_server.url(password="wrong")
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(wrong, connect_timeout=5)


def test_server_runs_as_unprivileged_user(pg_server):
    if not isinstance(pg_server, PgServer):
        pytest.skip("an external server (BUDGET_TEST_PG_URL)")
    owner = pg_server.datadir.stat().st_uid if hasattr(os, "getuid") else None
    if hasattr(os, "geteuid"):
        assert owner != 0
        assert owner == (pg_server.account.uid if pg_server.account.uid is not None
                         else os.geteuid())
    with pg_server.admin() as conn:  # the postmaster's pid file names the data folder
        datadir = conn.execute("SELECT current_setting('data_directory')").fetchone()[0]
    assert Path(datadir) == pg_server.datadir


def test_databases_are_isolated(pg_server, pg_database):
    import psycopg

    other = pg_server.create_database()
    try:
        with psycopg.connect(pg_database.url) as conn:
            conn.execute("CREATE TABLE only_here (x int)")
            conn.execute("INSERT INTO only_here VALUES (1)")
        with psycopg.connect(pg_server.url(other)) as conn:
            assert conn.execute("SELECT to_regclass('only_here')").fetchone() == (None,)
        with psycopg.connect(pg_database.url) as conn:
            assert conn.execute("SELECT x FROM only_here").fetchall() == [(1,)]
    finally:
        pg_server.drop_database(other)


@pytest.mark.parametrize("turn", [1, 2])
def test_each_test_gets_a_fresh_database(pg_url, turn):
    """Run twice: the second run would fail on CREATE TABLE if the database were shared."""
    import psycopg

    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                            ).fetchone() == (0,)
        conn.execute("CREATE TABLE left_behind (turn int)")
        conn.execute("INSERT INTO left_behind VALUES (%s)", (turn,))


def test_database_is_dropped_after_the_test(pg_server):
    name = pg_server.create_database()
    pg_server.drop_database(name)
    with pg_server.admin() as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (name,)).fetchone() is None


def test_stop_leaves_no_server_and_no_folder():
    server = PgServer(_bindir_or_skip()).start()
    url, folder = server.url(), server.folder
    assert folder is not None and server.running()
    assert not _refused(url)
    server.stop()
    assert not server.running()
    assert not folder.exists()
    assert _refused(url)
    server.stop()  # twice is harmless


_ORPHAN = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
from tests.pgserver import PgServer, find_bindir
server = PgServer(find_bindir()).start()
print(json.dumps({"url": server.url(), "folder": str(server.folder)}), flush=True)
os._exit(3)  # dies at once: no finalizer, no atexit, like a killed test run
"""


def test_server_stops_when_the_test_process_dies():
    _bindir_or_skip()
    done = subprocess.run([sys.executable, "-c", _ORPHAN, str(ROOT)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 3, done.stderr
    started = json.loads(done.stdout)
    folder = Path(started["folder"])
    assert _wait_until(lambda: not folder.exists()), f"{folder} still there"
    assert _refused(started["url"])


def test_account_is_never_root():
    account = choose_account()
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        assert account.uid not in (None, 0)
        assert account.name in ("postgres", "nobody")
    else:
        assert account.uid is None


_ABSENT = """
import os, sys
sys.path.insert(0, sys.argv[1])
import pytest
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-p", "tests.conftest_pg",
                      os.path.join(sys.argv[1], "tests", "test_pgserver.py"),
                      "-k", "databases_are_isolated", "-rs"]))
"""


@pytest.mark.parametrize(("require", "code", "says"), [
    ("", 0, "SKIPPED"), ("1", 1, "BUDGET_TEST_REQUIRE_PG is set but PostgreSQL is not installed"),
])
def test_without_postgresql_tests_skip_or_fail_as_asked(tmp_path, require, code, says):
    """Where the binaries are absent: a skip with the reason, or a failure in CI."""
    env = {**os.environ, "BUDGET_TEST_PG_BINDIR": str(tmp_path), "BUDGET_TEST_REQUIRE_PG": require}
    env.pop("BUDGET_TEST_PG_URL", None)
    done = subprocess.run([sys.executable, "-c", _ABSENT, str(ROOT)], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == code, done.stdout + done.stderr
    assert says in done.stdout
    assert "PostgreSQL is not installed" in done.stdout
