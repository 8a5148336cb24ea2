"""The tidy table of a year's summary for reuse: one row per prefecture and planned leaf,
money always in 千円, as CSV (UTF-8 with BOM, Japanese headers, opens in Excel) or JSON
(English keys, with the Japanese headers under ``columns`` and the run's provenance).

The CSV has no cell types, so there a text that starts like a formula gets a leading
apostrophe (``textsafe.neutralise``); the JSON is data and keeps every text as sent; the
workbooks keep text as sent and make it inert with ``quote_prefix`` (``budget.xlsx.writer``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from budget import __version__
from budget.analysis.summary import MONEY_KEYS, TIDY_COLUMNS, Summary
from budget.errors import UsageError
from budget.forms import plan as layout
from budget.render.outputs import Written, write_bytes_atomically
from budget.textsafe import neutralise
from budget.xlsx.writer import is_missing

if TYPE_CHECKING:
    import pandas as pd

#: The tidy table's formats (``budget aggregate --format``).
FORMATS = ("csv", "json")

#: JSON keys whose values are whole numbers (money in 千円 and identifiers).
_INTEGER_KEYS = frozenset((*MONEY_KEYS, "fiscal_year", "item_no", "submission_id"))


def tidy_file_name(fiscal_year: int, fmt: str) -> str:
    """``R5_集計_明細.csv`` / ``.json``."""
    from budget.fiscal import era_code

    return f"{era_code(fiscal_year)}_集計_明細.{fmt}"


def tidy_for_output(summary: Summary) -> "pd.DataFrame":
    """``analysis.summary.tidy_table`` with every text neutralised: the table of the CSV,
    safe to open in Excel."""
    from budget.analysis import summary as ag

    df = ag.tidy_table(summary)
    for col in df.columns:
        if df[col].dtype == object or str(df[col].dtype) in ("string", "str"):
            df[col] = df[col].map(lambda v: v if is_missing(v) else neutralise(str(v)))
    return df


def render_tidy(summary: Summary, fmt: str, *, now: dt.datetime | None = None) -> bytes:
    """The tidy table's bytes as ``fmt`` ("csv" or "json"; anything else: ``UsageError``).
    Money in 千円; blank stays blank (CSV) / null (JSON), never 0. Texts as sent in the
    JSON, neutralised in the CSV (``tidy_for_output``)."""
    import json

    from budget.analysis import summary as ag
    from budget.fiscal import era_label

    if fmt == "csv":
        df = tidy_for_output(summary)
        text = df.rename(columns=TIDY_COLUMNS).to_csv(index=False, lineterminator="\r\n")
        return text.encode("utf-8-sig")
    if fmt == "json":
        now = now or dt.datetime.now().astimezone()
        records = [{k: _json_value(k, v) for k, v in row.items()}
                   for row in ag.tidy_table(summary).to_dict("records")]
        doc = {
            "fiscal_year": summary.fiscal_year,
            "fiscal_year_label": era_label(summary.fiscal_year),
            "unit": "千円",
            "bureau": summary.bureau,
            "generated_at": now.isoformat(timespec="seconds"),
            "tool_version": __version__,
            "template_version": layout.TEMPLATE_VERSION,
            "menu_fingerprint": summary.menu_fingerprint,
            "included_prefectures": summary.included,
            "missing_prefectures": summary.codes_with_status("missing"),
            "rejected_prefectures": summary.codes_with_status("rejected"),
            "columns": TIDY_COLUMNS,
            "rows": records,
        }
        return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    raise UsageError(f"形式「{fmt}」は使えません（csv または json）。")


def _json_value(key: Any, value: Any) -> Any:
    """A tidy cell as JSON: missing → null, money and identifiers → int, else as is."""
    if is_missing(value):
        return None
    return int(value) if key in _INTEGER_KEYS else value


def write_tidy(summary: Summary, path: str | Path, fmt: str, *,
               now: dt.datetime | None = None) -> Written:
    """Write the tidy table as ``fmt`` to ``path`` atomically (``write_bytes_atomically``)."""
    path = Path(path)
    data = render_tidy(summary, fmt, now=now)
    return Written(f"明細 {fmt.upper()}", write_bytes_atomically(path, data), path)
