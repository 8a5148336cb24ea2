"""The catalogue of findings as a clerk reads it: every error says what to do, every code has a
Japanese title, and the 公 + 民 ≠ 国 (A) finding points at the cell that is wrong."""

from __future__ import annotations

import re
import string

import pytest

from budget.findings import CATALOG, ERROR
from budget.forms import plan as layout
from tests.test_validate import flat, one

_FIX_CASES = [  # rows of each public_private_target case (national, prefectural, public, private)
    {"national": 2000, "prefectural": 1000, "public": 2000, "private": 300},
    {"national": 2000, "prefectural": 1000, "public": 300, "private": 2000},
    {"national": 1500, "prefectural": 1000, "public": 1200, "private": 800},
    {"national": 2000, "prefectural": 1000, "public": 500, "private": 1000},
]


def _renderings(code: str) -> list[str]:
    """The messages a catalogue entry can give: every field filled with a sample, and for
    the 公 + 民 rule each of its ``fix`` texts."""
    template = CATALOG[code].template
    fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    sample = {f: "X" for f in fields}
    if "fix" not in fields:
        return [template.format(**sample)]
    fixes = [layout.PLAN.rule_params(code, {**dict.fromkeys(layout.AMOUNT_KEYS), **row}, 2)
             ["fix"] for row in _FIX_CASES]
    assert len(set(fixes)) == 4
    return [template.format(**{**sample, "fix": fix}) for fix in fixes]


def _last_sentence(message: str) -> str:
    return [s for s in message.split("。") if s.strip()][-1]


@pytest.mark.parametrize("code", [c for c, k in CATALOG.items() if k.severity == ERROR])
def test_every_error_message_ends_with_what_to_do(code):
    for message in _renderings(code):
        last = _last_sentence(message)
        assert "ください" in last, (code, message)
        assert not last.endswith("ないでください"), (code, message)  # a fix, not a "don't"
        assert message.endswith(("。", "）。")), message


@pytest.mark.parametrize("code", list(CATALOG))
def test_every_code_has_a_short_japanese_title(code):
    title = CATALOG[code].title
    assert title and len(title) <= 16 and re.search(r"[ぁ-んァ-ヶ一-龥]", title), code
    assert code not in title


def test_titles_are_distinct():
    titles = [k.title for k in CATALOG.values()]
    assert len(titles) == len(set(titles))


# --- 13: the 公 + 民 ≠ 国 (A) finding points at the cell that is wrong ------------------------


def _ref(key: str, row: int = 8) -> str:
    return layout.COLUMN[key].ref(row)


@pytest.mark.parametrize(("row", "target", "value", "says"), [
    # 公 alone equals A: 民 was added on top
    (_FIX_CASES[0], "private", "300", "公 だけで 国 (A) と同じ額のため、民 の額を誤りとして"),
    # 民 alone equals A: 公 was added on top
    (_FIX_CASES[1], "public", "300", "民 だけで 国 (A) と同じ額のため、公 の額を誤りとして"),
    # 公 + 民 = 2,000 is 2/3 of 2,000 + B 1,000; A 1,500 is not: A is wrong
    (_FIX_CASES[2], "national", "1500", "国の負担割合（3 分の 2）に合っているため、国 (A) の額"),
    # nothing tells: the split is wrong, 公 is shown
    (_FIX_CASES[3], "public", "500", "公 と 民 の内訳を、合計が 国 (A) と等しくなるよう"),
])
def test_public_private_sum_points_at_the_cell_that_is_wrong(tmp_path, row, target, value,
                                                             says):
    report = one(tmp_path, {"R5-01": row})
    found = [f for f in report.findings if f.code == "public-private-sum"]
    assert [(f.cell, f.value) for f in found] == [(_ref(target), value)]
    message = found[0].message
    assert message.startswith(f"計画!{_ref(target)}（R5-01 ")
    assert says in message and message.endswith("ください。")
    # nothing else: with A blamed, its share warning is folded into the error (a cell with an
    # error keeps only errors), and the message says A is off the 2/3 share
    assert [x for x in flat(report) if x[0] != "public-private-sum"] == []


def test_the_rule_uses_the_share_tolerance(tmp_path):
    """公 + 民 one 千円 off 2/3 of (公 + 民 + B): within a tolerance of 1, A is blamed; with
    tolerance 0 the split is not consistent with B either, and 公 is shown."""
    row = {"national": 1500, "prefectural": 1000, "public": 1201, "private": 800}
    assert [f.cell for f in one(tmp_path / "a", {"R5-01": row}, share_tolerance=1).findings
            if f.code == "public-private-sum"] == [_ref("national")]
    assert [f.cell for f in one(tmp_path / "b", {"R5-01": row}, share_tolerance=0).findings
            if f.code == "public-private-sum"] == [_ref("public")]


def test_target_rule_as_a_function():
    target = layout.public_private_target
    blank = dict.fromkeys(layout.AMOUNT_KEYS)
    assert target({**blank, "national": 90, "public": 90, "private": 5}, 2) == "private"
    assert target({**blank, "national": 90, "public": 5, "private": 90}, 2) == "public"
    assert target({**blank, "national": None, "prefectural": 30, "public": 40,
                   "private": 20}, 2) == "national"  # A blank, the split agrees with B
    assert target({**blank, "national": 90, "prefectural": None, "public": 40,
                   "private": 20}, 2) == "public"  # no B: nothing to compare with
