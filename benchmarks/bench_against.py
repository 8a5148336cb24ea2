"""Compare ``generate``, ``ingest`` and ``aggregate`` of 47 between checkouts of budget.

Each command runs as a fresh ``python -m budget`` process with ``PYTHONPATH`` set to the
checkout, the checkouts interleaved run by run so that the machine's load falls on all of them
alike; the figures are the median wall time and the median CPU time (user + system of the
process and its workers, from ``getrusage(RUSAGE_CHILDREN)``). Each checkout ingests the plans
its own ``budget demo`` made (45 returned workbooks of its own template version).

    git worktree add /tmp/before 0ac59ed
    python benchmarks/bench_against.py /tmp/before . --runs 5
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = ("generate", "ingest", "aggregate")


def run(tree: Path, args: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one ``python -m budget ARGS`` from ``tree``."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "budget", *args], cwd=cwd, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{tree}: budget {' '.join(args)} → {proc.returncode}\n"
                         f"{proc.stderr.decode(errors='replace')[-800:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkouts", nargs="+", type=Path, help="folders holding a budget/ package")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    trees = [p.resolve() for p in args.checkouts]
    work = Path(tempfile.mkdtemp(prefix="bench_against_"))
    try:
        inputs = {}
        for i, tree in enumerate(trees):
            demo = work / f"demo{i}"
            run(tree, ["demo", str(demo)], work)
            inputs[tree] = demo / "inputs"
        results: dict[tuple[Path, str], list[tuple[float, float]]] = {
            (t, c): [] for t in trees for c in COMMANDS}
        for r in range(args.runs):
            for i, tree in enumerate(trees):
                tag = f"{r}_{i}"
                results[(tree, "generate")].append(run(
                    tree, ["generate", "--year", "R5", "--out", str(work / f"gen{tag}")], work))
                db = work / f"db{tag}.db"
                results[(tree, "ingest")].append(run(
                    tree, ["ingest", str(inputs[tree]), "--db", str(db),
                           "--reports", str(work / f"rep{tag}")], work))
                results[(tree, "aggregate")].append(run(
                    tree, ["aggregate", "--year", "R5", "--db", str(db),
                           "--out", str(work / f"agg{tag}")], work))
        print(f"{args.runs} runs each, interleaved; {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f}; median wall / median CPU (user+sys)")
        for command in COMMANDS:
            for tree in trees:
                figures = results[(tree, command)]
                print(f"  {command:<10} {str(tree):<40} "
                      f"{statistics.median(f[0] for f in figures):6.3f} s wall  "
                      f"{statistics.median(f[1] for f in figures):6.3f} s CPU")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
