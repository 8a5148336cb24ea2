"""How long `budget compare` takes as a fresh process over 10 fiscal years × 47 prefectures.

Builds 10 menus (R5 … R14: copies of the shipped R5 menu with each year's codes, written as
files and given with --menu, so each is validated as a user's would be) and the 9 identity
crosswalks between them (given with --crosswalk, each checked against its two menus), and a
store of 470 synthetic accepted plans (``budget.demo.sample_plan`` values, saved with
``Store.save``; no workbooks). Runs ``python -m budget compare --years R5 … R14`` on it
once with every menu and crosswalk checked (the first time they are given; the store then
records their SHA-256 as checked), then 5 times more (the same files: not checked again,
``reports.compare_menus``), and prints each figure: wall and CPU seconds, the child's peak
RSS; then the in-process split (checking the files, load_compare, workbook). Aim: ≤ 1 s on
2 cores.

    python benchmarks/bench_compare.py
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
FIRST, N_YEARS = 2023, 10
YEARS = list(range(FIRST, FIRST + N_YEARS))


def build_menus(folder: Path) -> tuple[list[Path], list[Path]]:
    """(menu files, crosswalk files) of ``YEARS``."""
    import pandas as pd

    from budget.crosswalk import crosswalk_file_name, identity_crosswalk
    from budget.fiscal import era_code
    from budget.menu import load_menu

    base = pd.read_csv(Path(load_menu(FIRST).attrs["source"]), dtype=str,
                       keep_default_na=False, encoding="utf-8-sig")
    menus, walks, frames = [], [], {}
    for y in YEARS:
        m = base.copy()
        m["fiscal_year"] = str(y)
        m["leaf_code"] = m["leaf_code"].str.replace(r"^R5-", f"{era_code(y)}-", regex=True)
        path = folder / f"{era_code(y)}.csv"
        m.to_csv(path, index=False, encoding="utf-8")
        menus.append(path)
        frames[y] = load_menu(y, path, validate=False)
    for prev, y in zip(YEARS, YEARS[1:]):
        path = folder / crosswalk_file_name(prev, y)
        identity_crosswalk(frames[prev], frames[y]).to_csv(path, index=False, encoding="utf-8")
        walks.append(path)
    return menus, walks


def build_store(db: Path, menus: list[Path]) -> float:
    """470 accepted plans; returns the seconds it took."""
    from budget.demo import sample_plan, synthetic_submission
    from budget.fiscal import era_code
    from budget.menu import load_menu
    from budget.prefectures import all_prefectures
    from budget.store import open_store

    started = time.perf_counter()
    n = 0
    with open_store(db) as store:
        for y, path in zip(YEARS, menus):
            menu = load_menu(y, path, validate=False)
            rng = random.Random(y)
            for pref in all_prefectures():
                n += 1
                values = sample_plan(menu, pref.code, rng)
                report, content = synthetic_submission(
                    menu, pref.code, values, fiscal_year=y,
                    file_name=f"{pref.file_stem}_{era_code(y)}_計画.xlsx")
                store.save(report, content, stage="plan",
                           received_at=f"2024-01-01T{n // 3600:02d}:{n // 60 % 60:02d}:"
                                       f"{n % 60:02d}+00:00")
    return time.perf_counter() - started


def command(db: Path, out: Path, menus: list[Path], walks: list[Path]) -> list[str]:
    from budget.fiscal import era_code

    cmd = [sys.executable, "-m", "budget", "compare", "--years",
           ",".join(era_code(y) for y in YEARS), "--db", str(db), "--out", str(out)]
    for p in menus:
        cmd += ["--menu", str(p)]
    for p in walks:
        cmd += ["--crosswalk", str(p)]
    return cmd


def time_cli(cmd: list[str], runs: int = RUNS) -> tuple[float, float, int, float]:
    """(median seconds, max seconds, peak RSS in KiB, median CPU seconds) of ``runs`` fresh
    processes."""
    times, cpu, rss = [], [], 0
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - started)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"budget compare failed: {proc.stderr.read().decode()}")
        rss = max(rss, usage.ru_maxrss)
        cpu.append(usage.ru_utime + usage.ru_stime)
    return statistics.median(times), max(times), rss, statistics.median(cpu)


def split(db: Path, menus: list[Path], walks: list[Path]
          ) -> tuple[float, float, float, float]:
    """In-process seconds: checking the menus and crosswalks (pandera imported first),
    reading them as recorded, load_compare, workbook."""
    import pandera.pandas  # noqa: F401 - its import is counted apart (see the fresh runs)

    from budget.analysis.compare import load_compare
    from budget.render.compare_workbook import render_compare_workbook
    from budget.reports import compare_menus
    from budget.store import open_store

    t0 = time.perf_counter()
    compare_menus(YEARS, menus, walks)  # no store: every file checked
    t1 = time.perf_counter()
    with open_store(db) as store:
        frames, crosswalks = compare_menus(YEARS, menus, walks, store=store)
        t2 = time.perf_counter()
        comp = load_compare(store, YEARS, frames, crosswalks)
    t3 = time.perf_counter()
    render_compare_workbook(comp, menus=frames)
    return t1 - t0, t2 - t1, t3 - t2, time.perf_counter() - t3


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        menus, walks = build_menus(folder)
        db = folder / "compare.db"
        build = build_store(db, menus)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load}; "
              f"{RUNS} runs, fresh process per run")
        cmd = command(db, folder / "out", menus, walks)
        first, _, first_rss, first_cpu = time_cli(cmd, 1)
        median, worst, rss, cpu = time_cli(cmd)
        check_s, recorded_s, load_s, render_s = split(db, menus, walks)
        print(f"{N_YEARS} years × 47 prefectures: store {db.stat().st_size / 1e6:.1f} MB (built "
              f"in {build:.1f} s)")
        print(f"budget compare, first run (every menu and crosswalk checked): {first:.3f} s "
              f"(CPU {first_cpu:.3f} s), peak RSS {first_rss / 1024:.0f} MiB")
        print(f"budget compare, the same files again: median {median:.3f} s (max {worst:.3f} s;"
              f" CPU {cpu:.3f} s), peak RSS {rss / 1024:.0f} MiB")
        print(f"in-process: checking menus+crosswalks {check_s * 1000:.0f} ms (as recorded "
              f"{recorded_s * 1000:.0f} ms), load_compare {load_s * 1000:.0f} ms, workbook "
              f"{render_s * 1000:.0f} ms")


if __name__ == "__main__":
    main()
