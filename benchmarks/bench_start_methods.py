"""``budget ingest`` of 47 filled workbooks with the worker pool started by fork, by spawn
(Windows' and macOS's only safe way) and with no workers (serial), side by side.

Each run is a fresh ``python -m budget ingest`` process on a fresh database, the start method
forced with ``BUDGET_START_METHOD``; the figures are the median wall time and CPU seconds
(the process and its workers) of N runs, the peak RSS of the largest process and the peak
PSS of the whole process tree (Linux). The default start method per platform
(``budget.intake.workers.DEFAULT_START_METHODS``) is chosen from these figures.

    python benchmarks/bench_start_methods.py [--runs 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import run_ingest, write_set  # noqa: E402

METHODS = ("fork", "spawn", "serial")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", type=Path, help="Keep the 47 workbooks here (and reuse them).")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_start_"))
    folder = work / "xlsxwriter"
    try:
        if len(list(folder.glob("*.xlsx"))) != 47:
            t = time.perf_counter()
            write_set(folder)
            print(f"生成: 47 件（{time.perf_counter() - t:.1f} 秒）")
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        print(f"CPU: {cores} コア; 負荷（1分平均）: {os.getloadavg()[0]:.2f}; "
              f"{args.runs} 回の中央値（方式は交互に実行）")
        results: dict[str, list] = {m: [] for m in METHODS}
        for _ in range(args.runs):  # interleaved, so that a change of load hits every method
            for method in METHODS:
                os.environ["BUDGET_START_METHOD"] = method
                results[method].append(run_ingest(folder, work))
        print(f"{'方式':<8}{'中央値':>8}{'最小':>8}{'最大':>8}{'CPU':>8}{'最大RSS':>10}"
              f"{'全体PSS':>10}  登録数")
        for method, runs in results.items():
            times = [r[0] for r in runs]
            print(f"{method:<8}{statistics.median(times):>7.2f}s{min(times):>7.2f}s"
                  f"{max(times):>7.2f}s{statistics.median(r[4] for r in runs):>7.2f}s"
                  f"{max(r[1] for r in runs):>8.0f}MB{max(r[5] for r in runs):>8.0f}MB  "
                  f"{sorted({r[3] for r in runs})}")
    finally:
        os.environ.pop("BUDGET_START_METHOD", None)
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
