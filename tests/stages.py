"""Test data of every stage of a year, stored through the Store as ingest stores it: a
``FileReport`` whose frame has the shape the stage's form gives (the contract of issue 8),
saved with ``store.save(report, content, stage=…)``. No workbook is written or read, so the
analysis and outputs are tested apart from the forms.

    save_stage(store, "plan", "13", {"R5-01": {"national": 200, "prefectural": 100}})
    save_allocation(store, "1", {"13": (300, 200)})
    save_stage(store, "actual", "13", {"R5-01": {"actual_national": 100, …}},
               header={"exec_year": "2023"})
"""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

import pandas as pd

from budget.findings import FileReport
from budget.fiscal import era_code

YEAR = 2023

#: Money fields of each stage's frame (Int64) and its text fields.
PLAN_MONEY = ("total", "national", "prefectural", "fund", "other", "public", "private",
              "commissioned")
PLAN_TEXT = ("implementer", "output", "remarks")
STAGE_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "request": (PLAN_MONEY, PLAN_TEXT),
    "plan": (PLAN_MONEY, PLAN_TEXT),
    "revision": (PLAN_MONEY, (*PLAN_TEXT, "reason")),
    "actual": (("actual_national", "actual_prefectural", "actual_other", "actual_fund",
                "actual_total"), ("output_result", "achievement", "reason")),
    "allocation": (("fund", "national"), ()),
}
STAGE_FILE_JA = {"request": "要望", "plan": "計画", "revision": "変更", "actual": "実績",
                 "allocation": "内示"}
CONTACT = {"department": "健康福祉部 介護保険課", "contact_name": "厚労 花子",
           "phone": "03-1234-5678", "email": "kaigo@example.lg.jp"}

_counter = itertools.count(1)


def formula_values(stage: str, row: dict[str, Any]) -> dict[str, Any]:
    """The row with its formula columns as the workbook computes them (blanks count 0)."""
    out = dict(row)
    if stage in ("request", "plan", "revision"):
        if any(row.get(k) is not None for k in ("national", "prefectural", "other")):
            out["fund"] = (row.get("national") or 0) + (row.get("prefectural") or 0)
            out["total"] = out["fund"] + (row.get("other") or 0)
    elif stage == "actual":
        if any(row.get(k) is not None for k in ("actual_national", "actual_prefectural",
                                                "actual_other")):
            out["actual_fund"] = (row.get("actual_national") or 0) + \
                (row.get("actual_prefectural") or 0)
            out["actual_total"] = out["actual_fund"] + (row.get("actual_other") or 0)
    return out


def stage_frame(stage: str, rows: dict[str, dict[str, Any]],
                leaves: list[str] | None = None) -> pd.DataFrame:
    """The frame ``FileReport.plan`` holds for ``stage``: one row per leaf of ``leaves``
    (default: the keys of ``rows``), blank where ``rows`` has nothing."""
    money, texts = STAGE_FIELDS[stage]
    keys = list(rows) if leaves is None else leaves
    records = []
    for i, leaf in enumerate(keys):
        row = formula_values(stage, rows.get(leaf, {}))
        rec: dict[str, Any] = {"leaf_code": leaf, "excel_row": 8 + i}
        rec.update({k: row.get(k) for k in money})
        rec.update({k: row.get(k) for k in texts})
        records.append(rec)
    df = pd.DataFrame(records, columns=["leaf_code", "excel_row", *money, *texts])
    for k in money:
        df[k] = pd.array(df[k].tolist(), dtype="Int64")
    for k in texts:
        df[k] = df[k].astype(object).where(df[k].notna(), None)
    return df


def save_stage(store, stage: str, prefecture: str | None, rows: dict[str, dict[str, Any]], *,
               year: int = YEAR, header: dict[str, str] | None = None,
               received_at: str | None = None, accepted: bool = True,
               name: str | None = None, leaves: list[str] | None = None) -> int:
    """Store one submission of ``stage`` (accepted: its values; else rejected, no values);
    returns its id. ``received_at`` defaults to a time after every earlier call's."""
    from budget.findings import make

    n = next(_counter)
    received_at = received_at or f"2024-01-01T00:00:{n // 1000:02d}.{n % 1000:03d}000+00:00"
    pref = prefecture or "00"
    name = name or f"{pref}_{era_code(year)}_{STAGE_FILE_JA[stage]}_{n}.xlsx"
    content = f"{stage} {prefecture} {n} {rows!r}".encode()
    findings = [] if accepted else [make("negative-amount", file=name, sheet="計画", cell="H8",
                                         leaf_code="R5-01", leaf_name="x", value=-5)]
    head = dict(CONTACT if header is None else header)
    report = FileReport(name, hashlib.sha256(content).hexdigest(), len(content), findings,
                        year, prefecture, "3", "fp", head,
                        stage_frame(stage, rows, leaves) if accepted else None,
                        form=stage, stage=stage)
    return store.save(report, content, stage=stage, received_at=received_at).submission_id


def save_allocation(store, round_: str, amounts: dict[str, tuple[int | None, int | None]], *,
                    year: int = YEAR, received_at: str | None = None,
                    accepted: bool = True) -> int:
    """Store the ministry's 内示 workbook of one round: prefecture code → (基金規模 A+B,
    国費 A); a prefecture not in ``amounts`` is not in the round."""
    rows = {code: {"fund": f, "national": n} for code, (f, n) in amounts.items()}
    return save_stage(store, "allocation", None, rows, year=year, received_at=received_at,
                      header={"round": round_}, accepted=accepted)
