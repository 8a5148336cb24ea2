"""How long `budget track` takes as a fresh process, for a fund year with every stage.

Builds a store of synthetic accepted submissions (``budget.demo.sample_plan`` values as the
frames each stage's form gives, saved with ``Store.save``; no workbooks): 47 要望, two 内示
rounds, 47 計画, 10 変更, 47 実績 for the fund year and 47 more for the next execution year.
Runs ``python -m budget track --year R5`` on it, 5 times, and prints the median wall time and
the child's peak RSS; then the in-process split (load_track vs. workbook). Aim: ≤ 1 s on
2 cores.

    python benchmarks/bench_track.py
"""

from __future__ import annotations

import hashlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RUNS = 5
YEAR = 2023


def _report(stage: str, code: str | None, frame: Any, header: dict[str, str], n: int):
    from budget.findings import FileReport

    content = f"{stage} {code} {n}".encode() + frame.to_csv().encode()
    name = f"{code or '00'}_R5_{stage}_{n}.xlsx"
    return FileReport(name, hashlib.sha256(content).hexdigest(), len(content), [], YEAR, code,
                      "3", "fp", header, frame, form=stage, stage=stage), content


def build_store(path: Path) -> float:
    """Fill the store; returns the seconds it took."""
    import pandas as pd

    from budget.demo import sample_plan, synthetic_submission
    from budget.menu import load_menu
    from budget.prefectures import all_prefectures
    from budget.store import open_store

    menu = load_menu(YEAR)
    rng = random.Random(YEAR)
    started = time.perf_counter()
    n = 0

    def stamp() -> str:
        nonlocal n
        n += 1
        return f"2024-01-01T00:{n // 60:02d}:{n % 60:02d}+00:00"

    with open_store(path) as store:
        plans = {}
        for pref in all_prefectures():
            values = sample_plan(menu, pref.code, rng)
            plans[pref.code] = values
            for stage in ("request", "plan"):
                report, content = synthetic_submission(
                    menu, pref.code, values, fiscal_year=YEAR,
                    file_name=f"{pref.file_stem}_R5_{stage}.xlsx")
                report.stage = stage
                store.save(report, content, stage=stage, received_at=stamp())
        for round_ in ("1", "2"):
            codes = [p.code for p in all_prefectures()][: 47 if round_ == "1" else 12]
            funds = [rng.randrange(100_000, 3_000_000) for _ in codes]
            frame = pd.DataFrame({"leaf_code": codes, "excel_row": range(len(codes)),
                                  "fund": pd.array(funds, dtype="Int64"),
                                  "national": pd.array([round(f * 2 / 3) for f in funds],
                                                       dtype="Int64")})
            report, content = _report("allocation", None, frame, {"round": round_}, n)
            store.save(report, content, stage="allocation", received_at=stamp())
        for code in [p.code for p in all_prefectures()][:10]:
            values = plans[code]
            report, content = synthetic_submission(menu, code, values, fiscal_year=YEAR,
                                                   file_name=f"{code}_R5_変更.xlsx")
            report.plan["reason"] = None
            report.stage = "revision"
            store.save(report, content, stage="revision", received_at=stamp())
        for exec_year, share in ((YEAR, 0.8), (YEAR + 1, 0.1)):
            for code, values in plans.items():
                rows = []
                for i, leaf in enumerate(menu["leaf_code"]):
                    r = values.rows.get(leaf)
                    a = None if r is None else int(r["national"] * share)
                    b = None if r is None else int(r["prefectural"] * share)
                    rows.append({"leaf_code": leaf, "excel_row": 8 + i, "actual_national": a,
                                 "actual_prefectural": b, "actual_other": None,
                                 "actual_fund": None if a is None else a + b,
                                 "actual_total": None if a is None else a + b,
                                 "output_result": None if r is None else "研修 10 回",
                                 "achievement": None if r is None else "達成",
                                 "reason": None})
                frame = pd.DataFrame(rows)
                for k in ("actual_national", "actual_prefectural", "actual_other",
                          "actual_fund", "actual_total"):
                    frame[k] = frame[k].astype("Int64")
                report, content = _report("actual", code, frame,
                                          {**values.header, "exec_year": str(exec_year)}, n)
                store.save(report, content, stage="actual", received_at=stamp())
    return time.perf_counter() - started


def time_cli(db: Path, out: Path) -> tuple[float, float, int, float]:
    """(median seconds, max seconds, peak RSS in KiB, median CPU seconds: user + system,
    what the wall time is on an idle machine) of RUNS fresh processes."""
    times, cpu, rss = [], [], 0
    cmd = [sys.executable, "-m", "budget", "track", "--year", "R5", "--db", str(db),
           "--out", str(out)]
    for _ in range(RUNS):
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - started)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"budget track failed: {proc.stderr.read().decode()}")
        rss = max(rss, usage.ru_maxrss)  # KiB on Linux
        cpu.append(usage.ru_utime + usage.ru_stime)
    return statistics.median(times), max(times), rss, statistics.median(cpu)


def split(db: Path) -> tuple[float, float]:
    """In-process: load_track seconds, render workbook seconds (after imports)."""
    from budget.analysis.track import load_track
    from budget.menu import load_menu
    from budget.render.track_workbook import render_track_workbook
    from budget.store import open_store

    menu = load_menu(YEAR)
    with open_store(db) as store:
        t0 = time.perf_counter()
        track = load_track(store, YEAR, menu)
        t1 = time.perf_counter()
    render_track_workbook(track)
    return t1 - t0, time.perf_counter() - t1


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "track.db"
        build = build_store(db)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load}; "
              f"{RUNS} runs, fresh process per run")
        median, worst, rss, cpu = time_cli(db, Path(tmp) / "out")
        load_s, render_s = split(db)
        print(f"47 prefectures, every stage: store {db.stat().st_size / 1e6:.1f} MB (built in "
              f"{build:.1f} s); budget track median {median:.3f} s (max {worst:.3f} s; "
              f"CPU {cpu:.3f} s), "
              f"peak RSS {rss / 1024:.0f} MiB; in-process load_track {load_s * 1000:.0f} ms, "
              f"workbook {render_s * 1000:.0f} ms")
        t = [time.perf_counter()]
        subprocess.run([sys.executable, "-c", "import budget.cli"], check=True)
        t.append(time.perf_counter())
        subprocess.run([sys.executable, "-c", "import pandas, xlsxwriter"], check=True)
        t.append(time.perf_counter())
        print(f"for scale: python -c 'import budget.cli' {t[1] - t[0]:.3f} s; "
              f"'import pandas, xlsxwriter' {t[2] - t[1]:.3f} s")


if __name__ == "__main__":
    main()
