"""Time ``budget ingest`` of 47 filled workbooks as a fresh process.

Two sets: the workbooks as ``generate`` writes them (xlsxwriter), and the same 47 saved by
LibreOffice Calc (``soffice --headless --convert-to xlsx``, one call for all files, isolated
profile); the second set is skipped with a message where soffice is absent.

Each run is a new ``python -m budget ingest`` process on a fresh database; the figures are the
median wall time of 5 runs and the child's peak RSS (``os.wait4``). Goal on 2 cores: ≤ 1.5 s and
≤ 250 MB.

    python benchmarks/bench_ingest.py [--runs 5] [--keep DIR]   # --keep: reuse the sets
"""

from __future__ import annotations

import argparse
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

GOAL_SECONDS = 1.5
GOAL_MB = 250


def plausible_values(menu, seed: int):
    """A plan a prefecture could send: about half the leaves, amounts in 千円."""
    from budget.generate import PlanValues

    rng = random.Random(seed)
    rows = {}
    for code in menu["leaf_code"]:
        if rng.random() < 0.5:
            continue
        fund = rng.randrange(3, 60_000)
        national = round(fund * 2 / 3)
        public = rng.randrange(0, national + 1)
        private = national - public
        rows[code] = {
            "national": national, "prefectural": fund - national,
            "other": rng.choice([0, 0, rng.randrange(1, 5_000)]),
            "public": public, "private": private,
            "commissioned": rng.randrange(0, private + 1) if private else 0,
            "implementer": rng.choice(["県", "県社会福祉協議会", "介護事業者", "市町村"]),
            "output": f"研修受講者数 {rng.randrange(10, 500)}人",
        }
    header = {"department": "健康福祉部 介護保険課", "contact_name": "厚労 花子",
              "phone": "03-5253-1111", "email": "kaigo@example.lg.jp"}
    return PlanValues(header=header, rows=rows)


def write_set(folder: Path) -> list[Path]:
    from budget.forms.plan import template_file_name
    from budget.generate import write_plan_workbook
    from budget.menu import load_menu
    from budget.prefectures import all_prefectures

    menu = load_menu(2023)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, pref in enumerate(all_prefectures()):
        path = folder / template_file_name(pref.code, pref.name_ja, "R5")
        write_plan_workbook(path, menu, pref, values=plausible_values(menu, i))
        paths.append(path)
    return paths


def libreoffice_set(sources: list[Path], folder: Path, work: Path) -> str | None:
    """Save every source through LibreOffice into ``folder``; None, or why it was skipped."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        return "soffice が見つからないため、LibreOffice 保存の組は省略します。"
    folder.mkdir(parents=True, exist_ok=True)
    profile = (work / "lo_profile").as_uri()
    cmd = [soffice, f"-env:UserInstallation={profile}", "--headless", "--norestore",
           "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(folder),
           *map(str, sources)]
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    n = len(list(folder.glob("*.xlsx")))
    print(f"LibreOffice: {n} 件を保存（{time.perf_counter() - t:.1f} 秒）")
    if n != len(sources):
        return (f"LibreOffice の変換が {n}/{len(sources)} 件しかできませんでした: "
                f"{out.stderr[-500:]}")
    return None


def run_ingest(folder: Path, work: Path) -> tuple[float, float, int, int, float, float]:
    """(seconds, peak RSS in MB, exit code, submissions stored, CPU seconds of the child and
    its workers, peak PSS of the process tree in MB) of one fresh ingest."""
    db = work / "bench.db"
    reports = work / "reports"
    for p in (db, db.with_name("bench.db-wal"), db.with_name("bench.db-shm")):
        p.unlink(missing_ok=True)
    shutil.rmtree(reports, ignore_errors=True)
    env = dict(os.environ)
    log = work / "ingest.log"
    with open(log, "wb") as out:
        t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "budget", "ingest", str(folder), "--db",
                                 str(db), "--reports", str(reports)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
        # wait4 gives the child's peak RSS (KiB on Linux); meanwhile sample the PSS of the
        # child and its workers (forked pages they share are counted once).
        tree_pss = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            tree_pss = max(tree_pss, _tree_pss_kib(proc.pid))
            time.sleep(0.02)
        seconds = time.perf_counter() - t
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    with sqlite3.connect(db) as con:
        stored = con.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
    if code not in (0, 1):
        sys.stderr.write(log.read_text("utf-8", "replace"))
    return (seconds, usage.ru_maxrss / 1024, code, stored, usage.ru_utime + usage.ru_stime,
            tree_pss / 1024)


def _tree_pss_kib(pid: int) -> int:
    """Proportional set size of ``pid`` and its children (Linux /proc; 0 elsewhere)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0
    total = 0
    for p in [str(pid), *children]:
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def bench(name: str, folder: Path, work: Path, runs: int) -> dict:
    results = [run_ingest(folder, work) for _ in range(runs)]
    times = [r[0] for r in results]
    rss = max(r[1] for r in results)
    codes = {r[2] for r in results}
    stored = {r[3] for r in results}
    return {"name": name, "median": statistics.median(times), "min": min(times),
            "max": max(times), "rss": rss, "codes": codes, "stored": stored,
            "cpu": statistics.median(r[4] for r in results), "pss": max(r[5] for r in results)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", type=Path,
                    help="Keep the generated files in this folder (and reuse them next time).")
    args = ap.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_ingest_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        native = work / "xlsxwriter"
        lo = work / "libreoffice"
        if len(list(native.glob("*.xlsx"))) == 47:  # --keep DIR of an earlier run: reuse
            sources = sorted(native.glob("*.xlsx"))
            print(f"再利用: {native}")
        else:
            t = time.perf_counter()
            sources = write_set(native)
            print(f"生成: {len(sources)} 件（{time.perf_counter() - t:.1f} 秒） → {native}")
        sets = [("xlsxwriter (generate)", native)]
        if len(list(lo.glob("*.xlsx"))) == 47:
            skipped = None
        else:
            skipped = libreoffice_set(sources, lo, work)
        if skipped:
            print(skipped)
        else:
            sets.append(("LibreOffice 保存", lo))

        print(f"CPU: {os.cpu_count()} コア; {args.runs} 回の中央値; 目標 ≤ {GOAL_SECONDS} 秒, "
              f"≤ {GOAL_MB} MB")
        print(f"負荷（1分平均）: {os.getloadavg()[0]:.2f}")
        print(f"{'組':<24}{'中央値':>8}{'最小':>8}{'最大':>8}{'CPU':>8}{'最大RSS':>10}"
              f"{'全体PSS':>10}  終了コード  登録数")
        for name, folder in sets:
            r = bench(name, folder, work, args.runs)
            ok = ("OK" if r["median"] <= GOAL_SECONDS and max(r["rss"], r["pss"]) <= GOAL_MB
                  else "目標超過")
            print(f"{r['name']:<24}{r['median']:>7.2f}s{r['min']:>7.2f}s{r['max']:>7.2f}s"
                  f"{r['cpu']:>7.2f}s{r['rss']:>8.0f}MB{r['pss']:>8.0f}MB  "
                  f"{sorted(r['codes'])!s:<10}  "
                  f"{sorted(r['stored'])}  {ok}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
