"""Every file the tool writes, fed text a sender typed (issue 12, item 9): JSON is data and
keeps each text exactly as sent (no apostrophe added, nothing changed); a CSV, which a
spreadsheet will open, neutralises formula-like text (apostrophe prefix); a workbook holds it
as an inert text cell shown as sent (no formula, no link anywhere).

One run through the CLI (as a user runs it): workbooks with hostile texts are generated,
ingested (run report, return copy), then ``status``, ``aggregate`` and ``validate`` write
every format they have.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner

from budget.cli import cli
from budget.demo import sample_plan
from budget.generate import write_plan_workbook
from budget.menu import load_menu
from budget.prefectures import prefecture_by_code

#: Formula-like texts a clerk may type (none with a control character: those are refused).
HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+81-3-0000-0000", "@SUM(A1)",
           "-5 (減額)", "=1+1"]
#: 大阪府's file, named as a formula (a name is sender text too).
OSAKA = "=27_大阪府_R5_計画.xlsx"
LEADS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def _formula_like(text: str) -> bool:
    return text[:1] in LEADS


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, object]:
    """Every output of one run, by kind: JSON documents (parsed), CSV tables (rows) and
    workbook paths."""
    import random

    tmp = tmp_path_factory.mktemp("outputs")
    inbox, db, out = tmp / "inbox", tmp / "budget.db", tmp / "out"
    inbox.mkdir()
    menu = load_menu(2023)
    rng = random.Random(3)
    # 東京都: accepted, with every free-text input hostile
    tokyo = sample_plan(menu, "13", rng)
    tokyo.header.update(department=HOSTILE[0], contact_name=HOSTILE[2], phone=HOSTILE[1])
    for (leaf, row), text in zip(sorted(tokyo.rows.items()), HOSTILE * 3):
        row.update(implementer=text, output=text, remarks=text)
    write_plan_workbook(inbox / "13_東京都_R5_計画.xlsx", menu, prefecture_by_code("13"),
                        values=tokyo)
    # 大阪府: rejected (a negative), its remark and file name hostile: the return copy and
    # the findings
    osaka = sample_plan(menu, "27", rng)
    first = sorted(osaka.rows)[0]
    osaka.rows[first].update(prefectural="▲500", remarks=HOSTILE[0])
    osaka.header["department"] = HOSTILE[4]
    write_plan_workbook(inbox / OSAKA, menu, prefecture_by_code("27"), values=osaka)
    (inbox / "=cmd.txt").write_text("not a workbook", encoding="utf-8")

    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli, list(args))
        assert result.exit_code in (0, 1), result.output
        return result.stdout

    run("ingest", str(inbox), "--db", str(db), "--reports", str(tmp / "reports"))
    found: dict[str, object] = {}
    found["status.json"] = json.loads(run("status", "--year", "R5", "--db", str(db),
                                          "--format", "json"))
    found["status.csv"] = _csv(runner.invoke(cli, ["status", "--year", "R5", "--db", str(db),
                                                   "--format", "csv"]).stdout_bytes)
    found["validate.json"] = json.loads(run("validate", str(inbox / "13_東京都_R5_計画.xlsx"),
                                            str(inbox / OSAKA),
                                            "--format", "json"))
    run("aggregate", "--db", str(db), "--out", str(out), "--by-bureau",
        "--format", "csv", "--format", "json")
    found["aggregate.json"] = json.loads((out / "R5_集計_明細.json").read_text("utf-8"))
    found["aggregate.csv"] = _csv((out / "R5_集計_明細.csv").read_bytes())
    found["xlsx"] = sorted(out.glob("*.xlsx")) + sorted((tmp / "reports").rglob("*.xlsx"))
    return found


def _csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _strings(doc: object) -> list[str]:
    """Every string in a JSON document (keys excluded)."""
    if isinstance(doc, str):
        return [doc]
    if isinstance(doc, dict):
        return [s for v in doc.values() for s in _strings(v)]
    if isinstance(doc, list):
        return [s for v in doc for s in _strings(v)]
    return []


@pytest.mark.parametrize("name", ["status.json", "validate.json", "aggregate.json"])
def test_json_keeps_text_as_sent(outputs, name):
    strings = _strings(outputs[name])
    expected = {"status.json": [OSAKA],
                "validate.json": HOSTILE, "aggregate.json": HOSTILE}[name]
    for text in expected:
        assert text in strings, (name, text)
    assert not any(s.startswith("'") and _formula_like(s[1:]) for s in strings), name


@pytest.mark.parametrize("name", ["status.csv", "aggregate.csv"])
def test_csv_neutralises_every_formula_like_text(outputs, name):
    rows = outputs[name]
    cells = [c for row in rows[1:] for c in row]
    assert not [c for c in cells if _formula_like(c)], name
    expected = {"status.csv": [OSAKA], "aggregate.csv": HOSTILE}[name]
    for text in expected:
        assert "'" + text in cells, (name, text)


def test_every_workbook_holds_sender_text_inert(outputs):
    books = outputs["xlsx"]
    names = {p.name for p in books}
    assert "R5_集計.xlsx" in names and any(n.startswith("取込結果_") for n in names)
    assert any(n.endswith("_要修正.xlsx") for n in names)
    assert len([n for n in names if n.startswith("R5_集計_")]) >= 4  # one per 担当課
    seen: set[str] = set()
    for path in books:
        with zipfile.ZipFile(path) as z:
            for part in z.namelist():
                if part.startswith("xl/worksheets/sheet"):
                    xml = z.read(part).decode()
                    if not path.name.endswith("_要修正.xlsx"):
                        assert "<hyperlink" not in xml, (path.name, part)
                        assert "<f>" not in xml and "<f " not in xml, (path.name, part)
                    else:  # the sender's own workbook: only our links to its own cells
                        links = re.findall(r"<hyperlink [^>]*>", xml)
                        assert all("location=" in h and "r:id" not in h for h in links), links
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if c.data_type == "f":
                        assert path.name.endswith("_要修正.xlsx"), (path.name, c.coordinate)
                        assert str(c.value).startswith("=SUM"), c.value  # the form's own
                    if not isinstance(c.value, str) or c.data_type != "s":
                        continue
                    assert not (c.value.startswith("'") and _formula_like(c.value[1:])), (
                        path.name, ws.title, c.coordinate, c.value)
                    if c.value in HOSTILE:
                        seen.add(c.value)
                        if not path.name.endswith("_要修正.xlsx"):  # what we wrote
                            assert c.quotePrefix, (path.name, ws.title, c.coordinate)
    assert seen == set(HOSTILE)
