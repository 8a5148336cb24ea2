"""``budget ingest`` of 47, 470 and 1,410 filled workbooks as a fresh process, against a bare
pipeline measured in the same run.

The workbooks are plausible filled plans (``bench_ingest.plausible_values``), 30 versions of
each prefecture's plan with distinct contents (so nothing is a duplicate): the set of 47 is
the first version of each, the set of 470 the first ten, the set of 1,410 all thirty (hard
links into one pool, generated once). Each later version is a resubmission as clerks make
them: the previous version with ``REVISED_ROWS`` rows planned anew (``--changes few``, the
default), so the run report's 変更点 sheet lists what a real batch's would; ``--changes all``
makes every version an unrelated plan (every cell of every resubmission changed: a 変更点 sheet
of ~150,000 rows at 470 files, which measures that sheet rather than the ingest). One version
in ``--rejected-every`` (default 20) has an error a clerk makes (公 + 民 ≠ A on one row), so
rejected files and their return copies are part of the cost, as in a real batch.

Each ingest is a new ``python -m budget ingest`` process on a fresh database, with the
run's report and return copies written. Measured for the whole process group (the ingest
and its worker processes): wall seconds, CPU seconds (user + system of the process and of
every worker it waited for, from ``os.wait4``), the peak RSS of its largest process and the
peak PSS of the whole tree (``/proc/*/smaps_rollup`` sampled every 50 ms: pages forked
workers share are counted once; Linux only, 0 elsewhere).

The bare pipeline, as a fresh process too: python-calamine reads the 計画 sheet of each of
the 47 workbooks, one pandera pass of the plan's schema checks all their rows, and a
one-sheet summary (prefecture × 事業 totals) is written with xlsxwriter. It needs the
``bench`` extra (``pip install -e .[bench]``).

Aims on 2 cores (issue 12): CPU per additional file ((CPU(1410) − CPU(47)) / 1363) ≤ 12 ms,
peak memory flat in the number of files (≤ 250 MB at 1,410), ingest of 47 within 1.5× the CPU
of the bare pipeline.

    python benchmarks/bench_ingest_scale.py [--runs 3] [--keep DIR] [--sizes 47,470,1410]
        [--changes few|all] [--against CHECKOUT]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

VERSIONS = 30  # versions of each prefecture's plan in the pool
REVISED_ROWS = 3  # rows a resubmission plans anew (``--changes few``)
SIZES = (47, 470, 1410)
GOAL_MARGINAL_MS = 12.0
GOAL_MB = 250
GOAL_RATIO = 1.5
SAMPLE_SECONDS = 0.05


# --- the workbooks --------------------------------------------------------------------


def version_name(code: str, name_ja: str, version: int) -> str:
    """``13_東京都_R5_計画.xlsx`` for the first version, ``13_東京都_R5_計画_v02.xlsx`` …"""
    from budget.forms.plan import template_file_name

    base = template_file_name(code, name_ja, "R5")
    return base if version == 0 else base.replace(".xlsx", f"_v{version + 1:02d}.xlsx")


def write_pool(pool: Path, rejected_every: int, changes: str = "few") -> list[list[Path]]:
    """Every version of every prefecture's plan in ``pool`` (reused when complete); returns
    the paths by version. ``changes``: "few" (each version the previous one with
    ``REVISED_ROWS`` rows planned anew) or "all" (each version an unrelated plan)."""
    from bench_ingest import plausible_values

    from budget.generate import write_plan_workbook
    from budget.menu import load_menu
    from budget.prefectures import all_prefectures

    prefectures = all_prefectures()
    pool.mkdir(parents=True, exist_ok=True)
    stamp = pool / "pool.json"
    wanted = {"versions": VERSIONS, "rejected_every": rejected_every, "changes": changes}
    by_version = [[pool / version_name(p.code, p.name_ja, v) for p in prefectures]
                  for v in range(VERSIONS)]
    if stamp.exists() and json.loads(stamp.read_text()) == wanted and all(
            p.exists() for paths in by_version for p in paths):
        print(f"再利用: {pool}")
        return by_version
    menu = load_menu(2023)
    t = time.perf_counter()
    n = 0
    previous: dict[int, object] = {}  # prefecture → its last version (without the error)
    for v, paths in enumerate(by_version):
        for i, (pref, path) in enumerate(zip(prefectures, paths)):
            values = plausible_values(menu, v * 1000 + i)
            if changes == "few" and v > 0:  # the previous version, a few rows planned anew
                fresh, values = values, copy.deepcopy(previous[i])
                rng = random.Random(v * 1000 + i)
                for code in rng.sample(sorted(fresh.rows), min(REVISED_ROWS, len(fresh.rows))):
                    values.rows[code] = fresh.rows[code]
            values.header["contact_name"] = f"厚労 花子（第{v + 1}版）"
            previous[i] = values
            values = copy.deepcopy(values)
            if rejected_every and n % rejected_every == rejected_every - 1:
                row = next(iter(values.rows.values()))
                row["public"] = row["national"] + 1  # 公 + 民 ≠ A: an error
            write_plan_workbook(path, menu, pref, values=values)
            n += 1
    stamp.write_text(json.dumps(wanted))
    print(f"生成: {n} 件（{time.perf_counter() - t:.1f} 秒） → {pool}")
    return by_version


def link_set(folder: Path, paths: list[Path]) -> Path:
    """A folder holding exactly ``paths`` (hard links, a copy where links fail)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for p in paths:
        try:
            os.link(p, folder / p.name)
        except OSError:
            shutil.copyfile(p, folder / p.name)
    return folder


# --- measuring a fresh process --------------------------------------------------------


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for task in tasks:
        try:
            out.extend(int(c) for c in Path(f"/proc/{pid}/task/{task}/children")
                       .read_text().split())
        except OSError:
            pass
    return out


def tree_pss_kib(pid: int) -> int:
    """Proportional set size of ``pid`` and all its descendants (Linux /proc; 0 elsewhere)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(_children(p))
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            pass
    return total


def measured_env() -> dict[str, str]:
    """The environment of a measured process: this one's, except that Python may write
    bytecode caches (``PYTHONDONTWRITEBYTECODE`` unset), as an installed package has them;
    else every run of ``budget`` would compile its own modules again (~0.2 s of CPU that
    the bare pipeline, importing little of ``budget``, hardly pays)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> dict:
    """Run ``cmd`` as a fresh process: wall and CPU seconds (it and every process it waited
    for), peak RSS of its largest process and peak PSS of its tree (MB), exit code."""
    env = measured_env() if env is None else env
    with open(log, "wb") as out:
        t = time.perf_counter()
        # Run in the log's folder: ``python -m`` puts its working folder first on the path,
        # which would otherwise pick the checkout the benchmark was started from, whatever
        # PYTHONPATH says.
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                cwd=log.parent)
        pss = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            pss = max(pss, tree_pss_kib(proc.pid))
            time.sleep(SAMPLE_SECONDS)
        wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss": usage.ru_maxrss / 1024, "pss": pss / 1024, "code": proc.returncode}


def run_ingest(folder: Path, work: Path, env: dict[str, str] | None = None) -> dict:
    db = work / "scale.db"
    for p in (db, db.with_name("scale.db-wal"), db.with_name("scale.db-shm")):
        p.unlink(missing_ok=True)
    reports = work / "reports"
    shutil.rmtree(reports, ignore_errors=True)
    log = work / "ingest.log"
    r = measure([sys.executable, "-m", "budget", "ingest", str(folder), "--db", str(db),
                 "--reports", str(reports)], log, env)
    with sqlite3.connect(db) as con:
        r["stored"] = con.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
        r["accepted"] = con.execute(
            "SELECT COUNT(*) FROM submissions WHERE status = 'accepted'").fetchone()[0]
    if r["code"] not in (0, 1):
        sys.stderr.write(log.read_text("utf-8", "replace")[-3000:])
    return r


# --- the bare pipeline ------------------------------------------------------------------


def bare_pipeline(folder: Path, out: Path) -> int:
    """python-calamine read of each workbook's 計画 sheet, one pandera pass over all rows, a
    one-sheet xlsxwriter summary. Run in a fresh process (``--bare``)."""
    import pandas as pd
    import xlsxwriter
    from python_calamine import CalamineWorkbook

    from budget.forms import PLAN

    code_col = PLAN.code_column.col_index
    cols = {k: PLAN.column[k].col_index for k in (*PLAN.amount_keys, *PLAN.text_keys)}
    records = []
    for path in sorted(folder.glob("*.xlsx")):
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(PLAN.main_sheet)
        for excel_row, row in enumerate(sheet.to_python(skip_empty_area=False), start=1):
            if len(row) <= code_col:
                continue
            code = row[code_col]
            if not isinstance(code, str) or "-" not in code:
                continue
            rec = {"file": path.name, "leaf_code": code, "excel_row": excel_row}
            for key, col in cols.items():
                value = row[col] if col < len(row) else ""
                if key in PLAN.amount_keys:
                    rec[key] = None if value == "" else int(value)
                else:
                    rec[key] = None if value == "" else str(value)
            for key in PLAN.formula_keys:
                rec[key] = PLAN.row_formula_value(key, rec)
            records.append(rec)
    data = {"leaf_code": pd.Series([r["leaf_code"] for r in records], dtype="str"),
            "excel_row": pd.Series([r["excel_row"] for r in records], dtype="int64")}
    for key in PLAN.money_keys:
        data[key] = pd.array([r[key] for r in records], dtype="Int64")
    for key in PLAN.text_keys:
        data[key] = pd.Series([r[key] for r in records], dtype=object)
    frame = pd.DataFrame(data, columns=list(PLAN.row_columns))
    import pandera.errors

    try:
        PLAN.schema(PLAN.default_share_tolerance).validate(frame, lazy=True)
        failures = 0
    except pandera.errors.SchemaErrors as exc:
        failures = len(exc.failure_cases)
    frame["file"] = [r["file"] for r in records]
    frame["prefecture"] = frame["file"].str.slice(0, 2)
    table = frame.pivot_table(index="prefecture", columns="leaf_code", values="total",
                              aggfunc="sum", fill_value=0)
    wb = xlsxwriter.Workbook(str(out), {"in_memory": True})
    ws = wb.add_worksheet("集計")
    ws.write_row(0, 0, ["都道府県", *map(str, table.columns)])
    for i, (pref, values) in enumerate(table.iterrows(), start=1):
        ws.write_string(i, 0, str(pref))
        ws.write_row(i, 1, [int(v) for v in values])
    wb.close()
    print(f"bare: {len(records)} 行, {failures} 件の規則違反, {len(table)} 都道府県")
    return 0


def run_bare(folder: Path, work: Path) -> dict:
    return measure([sys.executable, __file__, "--bare", str(folder), str(work / "bare.xlsx")],
                   work / "bare.log")


# --- the report -----------------------------------------------------------------------


def median_of(runs: list[dict]) -> dict:
    out = {k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu")}
    out.update(rss=max(r["rss"] for r in runs), pss=max(r["pss"] for r in runs),
               codes=sorted({r["code"] for r in runs}),
               stored=sorted({r.get("stored", 0) for r in runs}),
               accepted=sorted({r.get("accepted", 0) for r in runs}))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="runs of each measurement (median)")
    ap.add_argument("--keep", type=Path, help="keep the workbooks here (and reuse them)")
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)),
                    help="numbers of files, multiples of 47 up to 1410")
    ap.add_argument("--rejected-every", type=int, default=20,
                    help="one version in N has an error (0: none)")
    ap.add_argument("--changes", choices=("few", "all"), default="few",
                    help="what a later version changes: a few rows (default) or everything")
    ap.add_argument("--against", type=Path, metavar="CHECKOUT",
                    help="also measure the budget of this checkout (PYTHONPATH), interleaved")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--bare", nargs=2, type=Path, metavar=("FOLDER", "OUT"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.bare:
        return bare_pipeline(*args.bare)
    sizes = [int(s) for s in args.sizes.split(",")]
    if any(s % 47 or not 47 <= s <= 47 * VERSIONS for s in sizes):
        ap.error("--sizes: multiples of 47 up to 1410")

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_scale_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        by_version = write_pool(work / "pool", args.rejected_every, args.changes)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else os.cpu_count()
        print(f"CPU: {cores} コア; 負荷（1分平均）: {os.getloadavg()[0]:.2f}; "
              f"{args.runs} 回の中央値（CPU・時間）、メモリは最大")
        figures: dict[str, dict] = {}
        sets = {n: link_set(work / f"set_{n}",
                            [p for v in range(n // 47) for p in by_version[v]]) for n in sizes}
        # The checkouts measured: the one on the path, and ``--against`` (PYTHONPATH).
        envs: dict[str, dict[str, str] | None] = {"": None}
        if args.against is not None:
            envs["対照 "] = {**measured_env(), "PYTHONPATH": str(args.against.resolve())}
        bare: list[dict] = []
        runs: dict[tuple[str, int], list[dict]] = {(c, n): [] for c in envs for n in sizes}
        # One run of each, not counted: bytecode caches written, files in the page cache.
        if 47 in sets:
            run_bare(sets[47], work)
        for env in envs.values():
            run_ingest(sets[min(sizes)], work, env)
        for _ in range(args.runs):  # interleaved, so a change of load hits every size
            if 47 in sets:
                bare.append(run_bare(sets[47], work))
            for c, env in envs.items():
                for n, folder in sets.items():
                    runs[(c, n)].append(run_ingest(folder, work, env))
        print(f"{'':<18}{'時間':>8}{'CPU':>9}{'最大RSS':>10}{'全体PSS':>10}  終了  登録（受理）")
        if bare:
            b = median_of(bare)
            figures["bare_47"] = b
            print(f"{'bare 47':<18}{b['wall']:>7.2f}s{b['cpu']:>8.2f}s{b['rss']:>8.0f}MB"
                  f"{b['pss']:>8.0f}MB  {b['codes']}")
        for c in envs:
            for n in sizes:
                r = median_of(runs[(c, n)])
                figures[f"{'against_' if c else ''}ingest_{n}"] = r
                print(f"{c + 'ingest ' + str(n):<18}{r['wall']:>7.2f}s{r['cpu']:>8.2f}s"
                      f"{r['rss']:>8.0f}MB{r['pss']:>8.0f}MB  {r['codes']}  "
                      f"{r['stored']}（{r['accepted']}）")
        for c in envs:
            key = "against_" if c else ""
            lo, hi = min(sizes), max(sizes)
            if hi > lo:
                marginal = (figures[f"{key}ingest_{hi}"]["cpu"]
                            - figures[f"{key}ingest_{lo}"]["cpu"]) / (hi - lo) * 1000
                figures[f"{key}marginal_cpu_ms"] = marginal
                print(f"{c}追加1件あたりの CPU: {marginal:.1f} ms（目標 ≤ {GOAL_MARGINAL_MS:g} ms）"
                      f"  {'OK' if marginal <= GOAL_MARGINAL_MS else '目標超過'}")
            peak = max(max(f["rss"], f["pss"]) for k, f in figures.items()
                       if k.startswith(f"{key}ingest_"))
            print(f"{c}最大メモリ: {peak:.0f} MB（目標 ≤ {GOAL_MB} MB）"
                  f"  {'OK' if peak <= GOAL_MB else '目標超過'}")
            if bare and f"{key}ingest_47" in figures:
                ratio = figures[f"{key}ingest_47"]["cpu"] / figures["bare_47"]["cpu"]
                figures[f"{key}ratio_47"] = ratio
                print(f"{c}47 件の CPU 比（ingest / bare）: {ratio:.2f}（目標 ≤ {GOAL_RATIO:g}）"
                      f"  {'OK' if ratio <= GOAL_RATIO else '目標超過'}")
        print(f"負荷（1分平均、終了時）: {os.getloadavg()[0]:.2f}")
        if args.json:
            args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=1))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
