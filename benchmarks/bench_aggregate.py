"""How long `budget aggregate` of one year takes as a fresh process, and whether the
store's history matters (it must not: every read of the year is filtered by it in SQL, on
the ``submissions_by_year`` index, and the values are read by submission id).

Builds three stores of synthetic accepted plans (``budget.demo.sample_plan`` values saved
with ``Store.save``, no workbooks): FY2023 only, 10 fiscal years and 20 fiscal years, each
year × 47 prefectures. Runs ``python -m budget aggregate --year R5`` on each, ``RUNS``
times, the stores taking turns (so a busy machine slows each alike), and prints the median
CPU and wall seconds and the child's peak RSS; then the in-process split (load vs.
workbook).

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

RUNS = 7


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


def run_once(db: Path, out: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in KiB) of one fresh process."""
    cmd = [sys.executable, "-m", "budget", "aggregate", "--year", "R5", "--db", str(db),
           "--out", str(out)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"budget aggregate failed: {proc.stderr.read().decode()}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss  # KiB on Linux


def split(db: Path) -> tuple[float, float, float]:
    """In-process CPU seconds (after imports): opening the store as aggregate does, with
    SQLite's ``quick_check`` of the whole file (the damage check before a report: the one
    step that reads every page, so it grows with the file), then load_summary, then the
    workbook. Each the best of 3."""
    from budget.analysis.summary import load_summary
    from budget.menu import load_menu
    from budget.render.summary_workbook import render_summary_workbook
    from budget.store import open_store

    menu = load_menu(2023)
    best = [float("inf")] * 3
    for _ in range(3):
        t0 = time.process_time()
        with open_store(db, create=False, readonly=True, check=True) as store:
            t1 = time.process_time()
            summary = load_summary(store, 2023, menu)
            t2 = time.process_time()
        render_summary_workbook(summary)
        t3 = time.process_time()
        best = [min(b, t) for b, t in zip(best, (t1 - t0, t2 - t1, t3 - t2))]
    return best[0], best[1], best[2]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        cases = [("1 年度 × 47", base / "one.db", [2023]),
                 ("10 年度 × 47", base / "ten.db", list(range(2014, 2024))),
                 ("20 年度 × 47", base / "twenty.db", list(range(2004, 2024)))]
        built = {db: build_store(db, years) for _, db, years in cases}
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load}; "
              f"{RUNS} runs each, fresh process per run, the stores in turn")
        runs: dict[Path, list[tuple[float, float, int]]] = {db: [] for _, db, _ in cases}
        for _ in range(RUNS):
            for _, db, _ in cases:
                runs[db].append(run_once(db, base / "out"))
        cpu_one = statistics.median(c for _, c, _ in runs[cases[0][1]])
        for label, db, _ in cases:
            wall = statistics.median(w for w, _, _ in runs[db])
            cpu = statistics.median(c for _, c, _ in runs[db])
            rss = max(r for _, _, r in runs[db])
            check_s, load_s, render_s = split(db)
            print(f"{label}: store {db.stat().st_size / 1e6:.1f} MB (built in {built[db]:.1f} s);"
                  f" budget aggregate --year R5 median CPU {cpu:.3f} s ({cpu / cpu_one:.2f}× the"
                  f" 1-year store), wall {wall:.3f} s, peak RSS {rss / 1024:.0f} MiB; in-process"
                  f" CPU: open + quick_check {check_s * 1000:.0f} ms, load_summary"
                  f" {load_s * 1000:.0f} ms, workbook {render_s * 1000:.0f} ms")
        print(f"load average at the end {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
