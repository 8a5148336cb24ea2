"""How long `budget aggregate` takes as a fresh process, and whether the store's history
matters.

Builds two stores of synthetic accepted plans (``budget.demo.sample_plan`` values saved with
``Store.save``, no workbooks): one with FY2023 only (47 prefectures), one with 20 fiscal
years × 47. Runs ``python -m budget aggregate --year R5`` on each, 5 times, and prints the
median wall time and the child's peak RSS; then the in-process split (load vs. workbook).

    python benchmarks/bench_aggregate.py
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

RUNS = 5


def build_store(path: Path, years: list[int]) -> float:
    from budget.demo import sample_plan, synthetic_submission
    from budget.menu import load_menu
    from budget.prefectures import all_prefectures
    from budget.store import open_store

    menu = load_menu(2023)
    started = time.perf_counter()
    with open_store(path) as store:
        for year in years:
            rng = random.Random(year)
            for pref in all_prefectures():
                values = sample_plan(menu, pref.code, rng)
                report, content = synthetic_submission(menu, pref.code, values, fiscal_year=year)
                store.save(report, content, received_at=f"{year}-06-01T00:00:00+00:00")
    return time.perf_counter() - started


def time_cli(db: Path, out: Path) -> tuple[float, float, int]:
    """(median seconds, max seconds, peak RSS in KiB) of RUNS fresh processes."""
    times, rss = [], 0
    cmd = [sys.executable, "-m", "budget", "aggregate", "--year", "R5", "--db", str(db),
           "--out", str(out)]
    for _ in range(RUNS):
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - started)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"budget aggregate failed: {proc.stderr.read().decode()}")
        rss = max(rss, usage.ru_maxrss)  # KiB on Linux
    return statistics.median(times), max(times), rss


def split(db: Path) -> tuple[float, float]:
    """In-process: load_summary seconds, render workbook seconds (after imports)."""
    from budget.analysis.summary import load_summary
    from budget.menu import load_menu
    from budget.render.summary_workbook import render_summary_workbook
    from budget.store import open_store

    menu = load_menu(2023)
    with open_store(db) as store:
        t0 = time.perf_counter()
        summary = load_summary(store, 2023, menu)
        t1 = time.perf_counter()
    render_summary_workbook(summary)
    return t1 - t0, time.perf_counter() - t1


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        cases = [("1 年度 × 47", base / "one.db", [2023]),
                 ("20 年度 × 47", base / "twenty.db", list(range(2004, 2024)))]
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load}; "
              f"{RUNS} runs each, fresh process per run")
        for label, db, years in cases:
            build = build_store(db, years)
            median, worst, rss = time_cli(db, base / "out")
            load, render = split(db)
            size = db.stat().st_size / 1e6
            print(f"{label}: store {size:.1f} MB (built in {build:.1f} s); "
                  f"budget aggregate median {median:.3f} s (max {worst:.3f} s), "
                  f"peak RSS {rss / 1024:.0f} MiB; in-process load_summary {load * 1000:.0f} ms, "
                  f"workbook {render * 1000:.0f} ms")
        t = [time.perf_counter()]
        subprocess.run([sys.executable, "-c", "import budget.cli"], check=True)
        t.append(time.perf_counter())
        subprocess.run([sys.executable, "-c", "import pandas, xlsxwriter"], check=True)
        t.append(time.perf_counter())
        print(f"for scale: python -c 'import budget.cli' {t[1] - t[0]:.3f} s; "
              f"'import pandas, xlsxwriter' {t[2] - t[1]:.3f} s")


if __name__ == "__main__":
    main()
