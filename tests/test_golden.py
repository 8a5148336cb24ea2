"""The golden template: a fresh generation of the R5 plan (13 東京都, blank) must match
``tests/data/golden_plan_R5_v<version>.json`` cell for cell, style for style. Any change of
the form's shape fails here until the form's template version is bumped and the golden file
regenerated (``python -m tests.golden``): workbooks already sent out keep their version."""

from __future__ import annotations

import json
from typing import Any

import pytest

from budget.forms import PLAN
from tests.golden import dump_workbook, fresh_dump, generate_golden_workbook, golden_files

REGENERATE = "python -m tests.golden"


def _differences(old: Any, new: Any, path: str = "", out: list[str] | None = None) -> list[str]:
    """Where two dumps differ, as readable paths (at most 20)."""
    out = [] if out is None else out
    if len(out) >= 20:
        return out
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            if key not in new:
                out.append(f"{path}/{key}: removed")
            elif key not in old:
                out.append(f"{path}/{key}: added {json.dumps(new[key], ensure_ascii=False)[:80]}")
            else:
                _differences(old[key], new[key], f"{path}/{key}", out)
    elif old != new:
        out.append(f"{path}: {json.dumps(old, ensure_ascii=False)[:60]} → "
                   f"{json.dumps(new, ensure_ascii=False)[:60]}")
    return out


def check_against_golden(fresh: dict[str, Any]) -> None:
    """Fail (with what to do) unless ``fresh`` is the golden file of the current version."""
    files = golden_files()
    if len(files) != 1:
        pytest.fail(f"tests/data/ should hold one golden template, found {len(files)}: "
                    f"run `{REGENERATE}`.")
    golden = json.loads(files[0].read_text("utf-8"))
    version = PLAN.template_version
    if golden["template_version"] != version:
        pytest.fail(f"The plan form is version {version} but the golden template records "
                    f"version {golden['template_version']}: regenerate it with `{REGENERATE}` "
                    "and review its diff.")
    if golden != fresh:
        diff = "\n  ".join(_differences(golden, fresh))
        pytest.fail(
            f"The generated plan workbook no longer matches the golden template of version "
            f"{version}, though the version is unchanged:\n  {diff}\n"
            "A change of the workbook's shape must bump the form's template version "
            "(PLAN.template_version in budget/forms/plan.py; keep the old version readable "
            f"in accepted_versions) and then regenerate the golden file with `{REGENERATE}`.")


def test_a_fresh_generation_matches_the_golden_template():
    check_against_golden(fresh_dump())


def test_the_golden_template_records_what_matters():
    golden = json.loads(golden_files()[0].read_text("utf-8"))
    plan = golden["sheets"][PLAN.main_sheet]
    assert golden["sheet_order"] == [PLAN.guide_sheet, PLAN.main_sheet, PLAN.meta_sheet]
    assert plan["cells"]["G8"] == {"formula": "=SUM(H8,I8,K8)", "cached": 0,
                                   "style": {"fill": "FFF2F2F2", "format": '#,##0;-#,##0;""'}}
    assert plan["cells"]["H8"] == {"style": {"fill": "FFFFF9C4", "format": "#,##0",
                                             "locked": False}}
    assert plan["columns"]["R"]["hidden"] is True
    assert plan["protection"]["sheet"] is True and plan["freeze_panes"] == "F8"
    assert plan["print"]["repeat_rows"] == "$6:$7" and plan["print"]["paper"] == 9
    assert len(plan["validations"]) == len(PLAN.amount_keys)
    assert len(plan["conditional_formats"]) == len(PLAN.live_rule_columns)
    meta = golden["sheets"][PLAN.meta_sheet]["cells"]
    assert (meta["A2"]["value"], meta["B2"]["value"]) == ("form", "plan")
    assert golden["sheets"][PLAN.meta_sheet]["state"] == "veryHidden"


def test_a_change_of_shape_without_a_version_bump_fails(monkeypatch):
    """The golden test can fail: a changed cell, or a bumped version, each fails it with
    what to do."""
    fresh = dump_workbook(generate_golden_workbook(), PLAN.template_version)
    fresh["sheets"][PLAN.main_sheet]["cells"]["G5"]["value"] = "黄色のセルに入力"
    with pytest.raises(pytest.fail.Exception, match="bump the form's template version"):
        check_against_golden(fresh)
    import dataclasses

    import budget.forms

    recorded = PLAN.template_version
    bumped = dataclasses.replace(PLAN, template_version=str(int(recorded) + 1))
    monkeypatch.setattr(budget.forms, "PLAN", bumped)
    monkeypatch.setattr("tests.test_golden.PLAN", budget.forms.PLAN)
    with pytest.raises(pytest.fail.Exception, match=f"records version {recorded}: regenerate"):
        check_against_golden(fresh)
