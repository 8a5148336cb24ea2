"""Fixtures for a real PostgreSQL server (a pytest plugin: ``tests/conftest.py`` loads it
with ``pytest_plugins = ["tests.conftest_pg"]``).

Fixtures
    ``pg_server`` (session)   a running throw-away cluster (``tests.pgserver.PgServer``),
                              stopped and removed after the session. Skips, saying why, where
                              PostgreSQL's programs or psycopg are absent.
    ``pg_database``           a fresh empty database on it for one test (``PgDatabase``:
                              ``.name``, ``.url`` with the superuser's password in it),
                              dropped after the test.
    ``pg_url``                ``pg_database.url``: what a test passes as ``--db``.
    ``store_location``        parametrised over both backends: a new SQLite file's path,
                              then ``pg_url``; one test suite for both.

Where no cluster can be started here but a server is at hand (a Windows developer with
PostgreSQL installed as a service), ``BUDGET_TEST_PG_URL=postgresql://user:pw@host/postgres``
(a role allowed to create databases) makes the tests use that server instead.

``BUDGET_TEST_REQUIRE_PG=1`` (CI, where PostgreSQL was installed on purpose) turns the skip
into a failure, so a broken installation cannot pass as "skipped".
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.pgserver import Databases, PgServer, find_bindir


@dataclass(frozen=True)
class PgDatabase:
    """One test's database: its name and a URL (password included) to reach it."""

    name: str
    url: str


class ExternalServer(Databases):
    """A server given by ``BUDGET_TEST_PG_URL``: databases are made and dropped on it, it is
    never started or stopped."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.startup_seconds = 0.0

    def admin(self):
        import psycopg

        return psycopg.connect(self.admin_url, autocommit=True)

    def url(self, dbname: str) -> str:
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        params = conninfo_to_dict(self.admin_url)
        params["dbname"] = dbname
        return make_conninfo(**params)  # type: ignore[arg-type]


def _unavailable(reason: str) -> None:
    """Skip, or fail where ``BUDGET_TEST_REQUIRE_PG`` says PostgreSQL must be there."""
    if os.environ.get("BUDGET_TEST_REQUIRE_PG", "").strip() not in ("", "0"):
        pytest.fail(f"BUDGET_TEST_REQUIRE_PG is set but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer | ExternalServer]:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install 'psycopg[binary]')")
    external = os.environ.get("BUDGET_TEST_PG_URL")
    if external:
        yield ExternalServer(external)
        return
    bindir = find_bindir()
    if bindir is None:
        _unavailable("PostgreSQL is not installed (no initdb/pg_ctl in PATH, "
                     "BUDGET_TEST_PG_BINDIR or /usr/lib/postgresql/*/bin)")
        return
    server = PgServer(bindir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_database(pg_server: PgServer | ExternalServer) -> Iterator[PgDatabase]:
    name = pg_server.create_database()
    try:
        yield PgDatabase(name, pg_server.url(name))
    finally:
        pg_server.drop_database(name)


@pytest.fixture
def pg_url(pg_database: PgDatabase) -> str:
    return pg_database.url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request, tmp_path) -> str:
    """Where a test's store is, once per backend: a new SQLite file, then a new PostgreSQL
    database (skipped, saying why, where PostgreSQL is absent)."""
    if request.param == "sqlite":
        return str(tmp_path / "budget.db")
    return request.getfixturevalue("pg_url")
