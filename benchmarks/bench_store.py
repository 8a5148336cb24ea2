"""The store on PostgreSQL beside SQLite, in the same run: ingest of the demo's 47 workbooks
and ``aggregate`` as fresh processes, the store's own share in-process (47 ``Store.save`` and
one ``load_summary``), and the start-up cost of the PostgreSQL driver.

PostgreSQL is a throw-away cluster on 127.0.0.1 started with the tests' ``tests/pgserver.py``
(the PostgreSQL programs must be installed), or the server of ``BUDGET_BENCH_PG_URL`` (a role
that may create databases). Each run uses a new SQLite file and a new database.

    python benchmarks/bench_store.py
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RUNS = 3


def median_time(cmd: list[str], env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,),
                runs: int = RUNS, before=None) -> float:
    """Median wall seconds of ``runs`` fresh processes (``before()`` is called before each:
    a new store)."""
    times = []
    for _ in range(runs):
        if before is not None:
            cmd = before()
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        times.append(time.perf_counter() - started)
        if proc.returncode not in ok:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-800:]}")
    return statistics.median(times)


def in_process(location: str) -> tuple[float, float, float]:
    """(open seconds, 47 saves seconds, load_summary seconds) on a new store at ``location``."""
    from budget.analysis.summary import load_summary
    from budget.demo import sample_plan, synthetic_submission
    from budget.menu import load_menu
    from budget.prefectures import all_prefectures
    from budget.store import open_store

    menu = load_menu(2023)
    rng = random.Random(2023)
    made = [synthetic_submission(menu, p.code, sample_plan(menu, p.code, rng))
            for p in all_prefectures()]
    t0 = time.perf_counter()
    store = open_store(location)
    t1 = time.perf_counter()
    with store:
        for report, content in made:
            store.save(report, content)
        t2 = time.perf_counter()
    with open_store(location, readonly=True, check=True) as store:
        t3 = time.perf_counter()
        load_summary(store, 2023, menu)
        t4 = time.perf_counter()
    return t1 - t0, t2 - t1, t4 - t3


def startup() -> dict[str, float]:
    """Seconds: ``budget --help`` (fresh process, median of 5), ``import psycopg`` alone."""
    help_time = median_time([sys.executable, "-m", "budget", "--help"], runs=5)
    code = "import time; t = time.perf_counter(); import psycopg; print(time.perf_counter() - t)"
    imports = [float(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                    text=True).stdout) for _ in range(5)]
    return {"budget --help": help_time, "import psycopg": statistics.median(imports)}


def main() -> None:
    from tests.pgserver import PgServer, find_bindir

    external = os.environ.get("BUDGET_BENCH_PG_URL")
    server = None
    if external:
        from tests.conftest_pg import ExternalServer

        server = ExternalServer(external)
    else:
        bindir = find_bindir()
        if bindir is None:
            raise SystemExit("PostgreSQL is not installed (or set BUDGET_BENCH_PG_URL)")
        server = PgServer(bindir).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            from budget.demo import run_demo

            run_demo(base / "demo")
            inputs = base / "demo" / "inputs"
            n = len(list(inputs.glob("*.xlsx")))
            counter = iter(range(10_000))

            def ingest(kind: str):
                def make() -> list[str]:
                    i = next(counter)
                    where = (str(base / f"s{i}.db") if kind == "sqlite"
                             else server.url(server.create_database()))
                    ingest.last = where  # type: ignore[attr-defined]
                    return [sys.executable, "-m", "budget", "ingest", str(inputs), "--db", where,
                            "--reports", str(base / f"r{i}")]
                return make

            rows = []
            for kind in ("sqlite", "postgresql"):
                t_ingest = median_time([], ok=(0, 1), before=ingest(kind))
                where = ingest.last  # type: ignore[attr-defined]
                t_agg = median_time([sys.executable, "-m", "budget", "aggregate", "--year", "R5",
                                     "--db", where, "--out", str(base / f"out-{kind}")],
                                    ok=(0, 1))
                fresh = (str(base / "inproc.db") if kind == "sqlite"
                         else server.url(server.create_database()))
                opened, saves, load = in_process(fresh)
                rows.append((kind, t_ingest, t_agg, opened, saves, load))
            print(f"{n} workbooks; median of {RUNS} fresh processes; a new store each run")
            print(f"{'':12}{'ingest (s)':>12}{'aggregate (s)':>15}{'open (ms)':>11}"
                  f"{'47 saves (ms)':>15}{'load (ms)':>11}")
            for kind, a, b, c, d, e in rows:
                print(f"{kind:12}{a:12.2f}{b:15.2f}{c * 1000:11.1f}{d * 1000:15.1f}"
                      f"{e * 1000:11.1f}")
            (_, a1, b1, _, d1, e1), (_, a2, b2, _, d2, e2) = rows
            print(f"PostgreSQL / SQLite: ingest {a2 / a1:.2f}×, aggregate {b2 / b1:.2f}×, "
                  f"saves {d2 / d1:.2f}×, load {e2 / e1:.2f}×")
            for name, seconds in startup().items():
                print(f"{name}: {seconds * 1000:.0f} ms")
    finally:
        if isinstance(server, PgServer):
            server.stop()


if __name__ == "__main__":
    main()
