"""Time `budget generate` for all 47 prefectures, and `budget --help`.

    python benchmarks/bench_generate.py [--runs 7]

Prints medians (seconds) and peak memory (MB), for:
- `budget generate` as a fresh process (what a user waits for), and `budget --help`;
- the same work in-process (menu already loaded), against a bare xlsxwriter loop that writes
  a comparable workbook (58 rows × 18 columns with formulas, 47 times) as the yardstick.
Goals on a 2-core machine: the command ≤ 1.5 s and ≤ 100 MB; in-process ≤ 1.5× the bare
loop; `budget --help` ≤ 0.15 s.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path


def run_child(args: list[str], runs: int) -> tuple[float, float]:
    """Median wall time and peak RSS (MB) of a fresh process, over ``runs`` runs."""
    times, peaks = [], []
    for _ in range(runs):
        t = time.perf_counter()
        pid = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).pid
        _, status, usage = os.wait4(pid, 0)
        times.append(time.perf_counter() - t)
        if status != 0:
            raise SystemExit(f"{' '.join(args)} failed with status {status}")
        peaks.append(usage.ru_maxrss / 1024)
    return statistics.median(times), max(peaks)


def bare_xlsxwriter_loop() -> None:
    import xlsxwriter

    for i in range(47):
        wb = xlsxwriter.Workbook(io.BytesIO(), {"in_memory": True})
        ws = wb.add_worksheet("計画")
        fmt = wb.add_format({"border": 1, "text_wrap": True})
        unlocked = wb.add_format({"locked": False, "border": 1})
        for r in range(8, 66):
            for c in range(6):
                ws.write_string(r, c, f"事業名 {i} {r} {c} 介護人材確保対策連携強化事業", fmt)
            for c in (7, 8, 10, 11, 12, 13, 14, 15, 16):
                ws.write_blank(r, c, None, unlocked)
            ws.write_formula(r, 6, f"=SUM(H{r + 1},I{r + 1},K{r + 1})", fmt, 0)
            ws.write_formula(r, 9, f"=SUM(H{r + 1},I{r + 1})", fmt, 0)
        ws.protect()
        wb.close()


def in_process(runs: int) -> tuple[float, float, float]:
    from budget.generate import generate_templates
    from budget.menu import load_menu
    from budget.prefectures import all_prefectures

    menu = load_menu(2023)
    ours, bare = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            t = time.perf_counter()
            generate_templates(menu, all_prefectures(), tmp)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            bare_xlsxwriter_loop()
            bare.append(time.perf_counter() - t)
        tracemalloc.start()
        generate_templates(menu, all_prefectures(), tmp)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return statistics.median(ours), statistics.median(bare), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    exe = [sys.executable, "-m", "budget"]
    with tempfile.TemporaryDirectory() as tmp:
        gen_t, gen_mb = run_child([*exe, "generate", "--out", tmp], args.runs)
        assert len(list(Path(tmp).glob("*.xlsx"))) == 47
    help_t, help_mb = run_child([*exe, "--help"], args.runs)
    ours, bare, traced = in_process(args.runs)
    print(f"cpu count: {os.cpu_count()}, runs: {args.runs} (median)")
    print(f"budget generate (47, fresh process): {gen_t:.3f} s, peak RSS {gen_mb:.0f} MB"
          f"   goal ≤ 1.5 s, ≤ 100 MB")
    print(f"budget --help (fresh process):       {help_t:.3f} s, peak RSS {help_mb:.0f} MB"
          f"   goal ≤ 0.15 s")
    print(f"in-process generate_templates (47):  {ours:.3f} s, traced peak {traced:.1f} MB")
    print(f"bare xlsxwriter loop (47):            {bare:.3f} s")
    print(f"ratio in-process / bare loop:         {ours / bare:.2f}   goal ≤ 1.5")
    print(f"(resource: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
          "peak RSS of this benchmark process)")


if __name__ == "__main__":
    main()
