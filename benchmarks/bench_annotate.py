"""CPU per return copy: the XML edit of the sender's package against the openpyxl load-and-save
it replaced, and a bare baseline measured in the same run (a plain zip copy of the same file:
every member inflated and deflated again with ``zipfile``).

The workbook is a filled plan with one error (公 + 民 ≠ A, as in ``bench_ingest_scale``) and
the sender's extras a real file carries (a picture, printer settings, an extra sheet are not
needed for the cost: the XML edit copies them as compressed bytes). Each way runs
``--copies`` times per round, rounds interleaved, and the median CPU (``time.process_time``)
per copy is reported, so a busy machine slows all three alike.

    python benchmarks/bench_annotate.py [--rounds 5] [--copies 40]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def sample() -> tuple[bytes, object, object]:
    """A rejected plan's bytes, its report and its triage."""
    from bench_ingest import plausible_values

    from budget.generate import write_plan_workbook
    from budget.intake.check import Settings, check_bytes
    from budget.menu import load_menu
    from budget.prefectures import all_prefectures
    from budget.xlsx.container import inspect_container

    menu = load_menu(2023)
    pref = all_prefectures()[12]
    values = plausible_values(menu, 13)
    row = next(iter(values.rows.values()))
    row["public"] = row["national"] + 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "13_東京都_R5_計画.xlsx"
        write_plan_workbook(path, menu, pref, values=values)
        content = path.read_bytes()
    report = check_bytes(content, path.name, Settings(fiscal_year=2023))
    assert not report.accepted
    container, _ = inspect_container(content, path.name)
    return content, report, container


def zip_copy(content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--copies", type=int, default=40)
    args = parser.parse_args()

    from budget.intake import annotate

    content, report, container = sample()
    ways = {
        "zip copy (baseline)": lambda: zip_copy(content),
        "XML edit (with triage)": lambda: annotate.annotated_bytes(content, report, container),
        "XML edit (triage again)": lambda: annotate.annotated_bytes(content, report),
        "openpyxl (before)": lambda: annotate._openpyxl_copy(content, report),
    }
    for way in ways.values():
        data = way()
        assert data, "no copy"
    assert not annotate.FALLBACKS, annotate.FALLBACKS
    cpu: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, way in ways.items():
            t = time.process_time()
            for _ in range(args.copies):
                way()
            cpu[name].append((time.process_time() - t) / args.copies * 1000)
    import os

    print(f"load average: {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "")
    base = statistics.median(cpu["zip copy (baseline)"])
    for name, values in cpu.items():
        ms = statistics.median(values)
        print(f"{name:28s} {ms:7.2f} ms CPU per copy  ({ms / base:4.1f}× the zip copy)")


if __name__ == "__main__":
    main()
