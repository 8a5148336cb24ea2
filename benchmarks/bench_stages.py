"""Time ``budget ingest`` of 47 実績 workbooks beside 47 plans, each a fresh process.

One store is made first: 47 plans ingested (the 実績's references come from them). Then,
per run, a copy of that store and a new ``python -m budget ingest`` process: of the 47 plans
again (into a copy of the store before the plans; the same work as the plans' ingest) and of
the 47 実績 workbooks (into a copy of the store holding the plans). Figures: the median wall
time of the runs. Aim on 2 cores: the 実績 no slower than the plans.

    python benchmarks/bench_stages.py [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from bench_ingest import write_set

    from budget.forms import ACTUAL
    from budget.generate import actual_file_name, prefecture_stage_values, write_plan_workbook
    from budget.intake.batch import ingest_folder
    from budget.intake.check import Settings
    from budget.menu import load_menu
    from budget.prefectures import all_prefectures
    from budget.store import open_store

    tmp = Path(tempfile.mkdtemp(prefix="bench-stages-"))
    try:
        plans = tmp / "plans"
        write_set(plans)
        empty = tmp / "empty.db"
        open_store(empty).close()
        planned = tmp / "planned.db"
        shutil.copy(empty, planned)
        run = ingest_folder(plans, planned, Settings(), None)
        assert run.all_accepted, [r.report.findings[:1] for r in run.rejected]
        menu = load_menu(2023)
        actuals = tmp / "actuals"
        actuals.mkdir()
        with open_store(planned) as store:
            found = prefecture_stage_values(store, ACTUAL, 2023, all_prefectures())
        for pref in all_prefectures():
            values = found[pref.code]
            for leaf, ref in values.references.items():
                a, b = ref.get("plan_national"), ref.get("plan_prefectural")
                if a is not None or b is not None:
                    values.rows[leaf] = {"actual_national": (a or 0) * 9 // 10,
                                         "actual_prefectural": (b or 0) * 9 // 10,
                                         "achievement": "達成"}
            write_plan_workbook(actuals / actual_file_name(pref, 2023, 2023, ACTUAL), menu,
                                pref, form=ACTUAL, values=values)

        def timed(folder: Path, base: Path) -> float:
            db = tmp / "run.db"
            shutil.copy(base, db)
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "budget", "ingest", str(folder),
                                   "--db", str(db), "--reports", str(tmp / "reports")],
                                  capture_output=True, text=True)
            took = time.perf_counter() - start
            if proc.returncode != 0:
                raise SystemExit(proc.stdout[-2000:] + proc.stderr[-2000:])
            db.unlink()
            return took

        plan_times, actual_times = [], []
        for _ in range(args.runs):
            plan_times.append(timed(plans, empty))
            actual_times.append(timed(actuals, planned))
        p, a = statistics.median(plan_times), statistics.median(actual_times)
        print(f"ingest of 47 plans (fresh process):  median {p:.2f} s  {plan_times}")
        print(f"ingest of 47 実績 (fresh process):    median {a:.2f} s  {actual_times}")
        print(f"実績 / plans: {a / p:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
