"""A real PostgreSQL server for the tests: a throw-away cluster, no mock.

``PgServer.start()`` runs ``initdb`` into a new ``budget-pg-*`` temporary folder and starts
the cluster with ``pg_ctl`` on a free port of 127.0.0.1 only (no Unix socket, nothing on
other interfaces), with ``fsync``/``synchronous_commit``/``full_page_writes`` off: the data
is thrown away, only speed matters. ``stop()`` stops it and removes the folder.

Who runs it: PostgreSQL refuses to run as root. Run as root (CI, containers), the cluster
belongs to the ``postgres`` user (the ``postgresql`` package creates it) or, without one,
to ``nobody``; every PostgreSQL program is started as that user (``subprocess``'s
``user=``/``group=``). A non-root developer runs it as themselves. On Windows ``pg_ctl``
itself drops administrator rights.

Authentication: a superuser ``budget_test`` with a random password (``scram-sha-256`` over
TCP), so the tests use URLs with a password in them, as a team would.

No stray server: besides the session fixture's finalizer (and an ``atexit`` backstop), a
watchdog process (this file run as a script, standard library only) holds a pipe from the
test process; when the pipe closes without a "stopped" line (the test process was killed,
crashed or exited without cleaning up), it stops the cluster (``pg_ctl stop -m immediate``)
and removes its folder.

Where are the binaries: ``BUDGET_TEST_PG_BINDIR`` if set, else the folder of ``pg_ctl`` in
``PATH`` (with ``initdb`` beside it), else the newest ``/usr/lib/postgresql/*/bin`` (Debian,
Ubuntu), ``/usr/pgsql-*/bin`` (RHEL) or ``C:\\Program Files\\PostgreSQL\\*\\bin``. None:
``find_bindir`` returns None and the fixtures skip, saying so.

Used by the fixtures in ``tests/conftest_pg.py``; nothing here imports pytest.
"""

from __future__ import annotations

import atexit
import glob
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

#: The superuser the test cluster is created with.
SUPERUSER = "budget_test"
#: Server settings for a throw-away cluster (speed over durability) on 127.0.0.1 only.
SETTINGS: dict[str, str] = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "60",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
}
_EXE = ".exe" if os.name == "nt" else ""
_PROGRAMS = ("initdb", "pg_ctl", "postgres")


class PgServerError(RuntimeError):
    """The test cluster could not be created, started or stopped (the message has its log)."""


def _has_programs(folder: Path) -> bool:
    return all((folder / f"{name}{_EXE}").is_file() for name in _PROGRAMS)


def _version_key(folder: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", folder)) or (0,)


def find_bindir(environ: dict[str, str] | None = None) -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or None where PostgreSQL
    is not installed (see the module docstring for where it looks)."""
    env = os.environ if environ is None else environ
    override = env.get("BUDGET_TEST_PG_BINDIR")
    if override:
        return Path(override) if _has_programs(Path(override)) else None
    on_path = shutil.which("pg_ctl", path=env.get("PATH"))
    if on_path:
        folder = Path(on_path).resolve().parent
        if _has_programs(folder):
            return folder
    patterns = ["/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin",
                "/usr/local/pgsql/bin", "/opt/homebrew/opt/postgresql*/bin"]
    if os.name == "nt":
        patterns = [os.path.join(env.get("ProgramFiles", r"C:\Program Files"),
                                 "PostgreSQL", "*", "bin")]
    for pattern in patterns:
        for found in sorted(glob.glob(pattern), key=_version_key, reverse=True):
            if _has_programs(Path(found)):
                return Path(found)
    return None


@dataclass(frozen=True)
class RunAs:
    """The unprivileged account PostgreSQL runs under; None fields: the current user."""

    name: str
    uid: int | None = None
    gid: int | None = None

    def popen_args(self) -> dict[str, object]:
        """Keyword arguments for ``subprocess`` that run a program as this account."""
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def choose_account() -> RunAs:
    """The current user when not root (and on Windows), else ``postgres`` or ``nobody``."""
    geteuid = getattr(os, "geteuid", None)
    if geteuid is None or geteuid() != 0:
        import getpass

        return RunAs(getpass.getuser())
    import pwd

    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return RunAs(name, entry.pw_uid, entry.pw_gid)
    raise PgServerError("root で実行中ですが、PostgreSQL を動かす一般ユーザー"
                        "（postgres または nobody）がありません。")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nobody listens on right now (another process may take
    it before we do: ``PgServer.start`` retries with another one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clean_env() -> dict[str, str]:
    """The environment without libpq's ``PG*`` variables (a developer's PGDATA/PGPORT/
    PGPASSWORD must not leak into the test cluster) and with a C locale for messages."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_MESSAGES"] = "C"
    return env


class Databases:
    """Making and dropping a test's database on a server reached by ``self.admin()`` (an
    autocommit connection of a role allowed to create databases)."""

    def admin(self):  # pragma: no cover - every server says how it is reached
        raise NotImplementedError

    def create_database(self, name: str | None = None) -> str:
        """A new empty database (from ``template0``, UTF8, C collation: byte order, as
        SQLite sorts); returns its name."""
        from psycopg import sql

        name = name or f"t_{secrets.token_hex(6)}"
        with self.admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' "
                                 "LC_COLLATE 'C' LC_CTYPE 'C'").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        """Drop the database, ending any session still connected to it."""
        from psycopg import sql

        with self.admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))


@dataclass
class PgServer(Databases):
    """One throw-away cluster. ``start()`` → ``url(dbname)``/``create_database()`` →
    ``stop()``."""

    bindir: Path
    account: RunAs = field(default_factory=choose_account)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    host: str = "127.0.0.1"
    port: int = 0
    folder: Path | None = None
    watchdog: subprocess.Popen | None = None
    startup_seconds: float = 0.0

    @property
    def datadir(self) -> Path:
        assert self.folder is not None
        return self.folder / "data"

    @property
    def logfile(self) -> Path:
        assert self.folder is not None
        return self.folder / "server.log"

    # --- life ----------------------------------------------------------------------------

    def start(self, *, attempts: int = 5) -> PgServer:
        """initdb and start; returns self. Raises PgServerError with the server log."""
        t0 = time.perf_counter()
        self.folder = Path(tempfile.mkdtemp(prefix="budget-pg-"))
        atexit.register(self.stop)
        try:
            if self.account.uid is not None:
                os.chown(self.folder, self.account.uid, self.account.gid or -1)
            pwfile = self.folder / "pw"
            pwfile.write_text(self.password + "\n", encoding="ascii")
            if self.account.uid is not None:
                os.chown(pwfile, self.account.uid, self.account.gid or -1)
            self._run("initdb", "-D", str(self.datadir), "-U", SUPERUSER,
                      f"--pwfile={pwfile}", "--auth-host=scram-sha-256",
                      "--auth-local=scram-sha-256", "-E", "UTF8", "--locale=C",
                      "--no-sync", "--no-instructions")
            pwfile.unlink()
            self._start_watchdog()
            for attempt in range(attempts):
                self.port = free_port()
                options = " ".join(f"-c {k}={v!r}" if v == "" else f"-c {k}={v}"
                                   for k, v in SETTINGS.items())
                result = self._run("pg_ctl", "start", "-w", "-t", "60", "-D",
                                   str(self.datadir), "-l", str(self.logfile),
                                   "-o", f"-p {self.port} {options}", check=False)
                if result.returncode == 0:
                    break
                log = self.log()
                if "could not bind" not in log and "in use" not in log:
                    raise PgServerError(f"pg_ctl start failed:\n{result.stdout}\n{log}")
                if attempt == attempts - 1:
                    raise PgServerError(f"no free port after {attempts} tries:\n{log}")
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - t0
        return self

    def running(self) -> bool:
        """True while the cluster's postmaster runs (``pg_ctl status``)."""
        if self.folder is None or not self.datadir.exists():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.datadir), check=False).returncode == 0

    def stop(self) -> None:
        """Stop the cluster (fast shutdown: open sessions are ended) and remove its folder.
        Safe to call twice, and after a failed start."""
        if self.folder is None:
            return
        try:
            if (self.datadir / "postmaster.pid").exists():
                self._run("pg_ctl", "stop", "-w", "-t", "60", "-m", "fast",
                          "-D", str(self.datadir), check=False)
        finally:
            if self.watchdog is not None:
                self._release_watchdog()
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
            atexit.unregister(self.stop)

    def log(self) -> str:
        """The server log so far ('' before it exists)."""
        try:
            return self.logfile.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    # --- databases -----------------------------------------------------------------------

    def url(self, dbname: str = "postgres", *, user: str = SUPERUSER,
            password: str | None = None) -> str:
        """``postgresql://user:password@127.0.0.1:port/dbname`` (the superuser's password
        unless another is given)."""
        pw = self.password if password is None else password
        return (f"postgresql://{quote(user, safe='')}:{quote(pw, safe='')}"
                f"@{self.host}:{self.port}/{quote(dbname, safe='')}")

    def admin(self):
        """An autocommit psycopg connection to the ``postgres`` database as superuser."""
        import psycopg

        return psycopg.connect(self.url(), autocommit=True)

    # --- internals -----------------------------------------------------------------------

    def _command(self, program: str, *args: str) -> list[str]:
        return [str(self.bindir / f"{program}{_EXE}"), *args]

    def _run(self, program: str, *args: str, check: bool = True
             ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self._command(program, *args), cwd=self.folder, env=_clean_env(),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace", timeout=120, **self.account.popen_args())  # type: ignore[call-overload]
        if check and result.returncode != 0:
            raise PgServerError(f"{program} failed ({result.returncode}):\n{result.stdout}")
        return result

    def _start_watchdog(self) -> None:
        """Start the watchdog (see the module docstring) for this cluster."""
        assert self.folder is not None
        stop = self._command("pg_ctl", "stop", "-w", "-t", "60", "-m", "immediate",
                             "-D", str(self.datadir))
        account = [] if self.account.uid is None else [str(self.account.uid),
                                                       str(self.account.gid)]
        extra: dict[str, object] = {}
        if os.name == "nt":
            extra["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
        else:
            extra["start_new_session"] = True  # a Ctrl-C in the terminal does not reach it
        self.watchdog = subprocess.Popen(
            [sys.executable, __file__, "--watch", str(self.folder), *account, "--", *stop],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=_clean_env(), **extra)  # type: ignore[call-overload]

    def _release_watchdog(self) -> None:
        """Tell the watchdog the cluster was stopped on purpose, and wait for it."""
        assert self.watchdog is not None
        try:
            assert self.watchdog.stdin is not None
            self.watchdog.stdin.write(b"stopped\n")
            self.watchdog.stdin.close()
        except OSError:
            pass
        try:
            self.watchdog.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.watchdog.kill()
        self.watchdog = None


def _watch(argv: Sequence[str]) -> int:
    """The watchdog's body: ``FOLDER [UID GID] -- STOP-COMMAND…``. Waits for stdin to close;
    unless the test process wrote "stopped" first, runs STOP-COMMAND (as UID/GID when given)
    and removes FOLDER."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    split = list(argv).index("--")
    head, stop = list(argv[:split]), list(argv[split + 1:])
    folder = head[0]
    account: dict[str, object] = {}
    if len(head) == 3:
        account = {"user": int(head[1]), "group": int(head[2]), "extra_groups": []}
    said = sys.stdin.buffer.read()
    if b"stopped" in said:
        return 0
    subprocess.run(stop, cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=120, check=False,
                   **account)  # type: ignore[call-overload]
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--watch":
        sys.exit(_watch(sys.argv[2:]))
    sys.exit("usage: pgserver.py --watch FOLDER [UID GID] -- STOP-COMMAND...")
