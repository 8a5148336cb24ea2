"""Forms: each workbook kind the tool writes and reads, as one frozen ``Form`` value.

A form holds a workbook's whole shape — sheets, columns, header cells, fixed texts, formulas
and their cached values, live rules, the rows' pandera schema and row rules, the guide text,
the ``_meta`` keys and its template version (types in ``budget.forms.base``; the 計画 form in
``budget.forms.plan``). ``generate`` writes from a form and ``budget.intake`` checks against
one; nothing else knows a shape. This module is the registry: ``form(kind)`` gives a
registered form, ``identify(meta)`` the form a workbook's ``_meta`` names. A new form is a new
module that builds its ``Form`` and calls ``register``.
"""

from __future__ import annotations

from collections.abc import Mapping

from budget.forms.base import META_SHEET, Form
from budget.forms.plan import PLAN

__all__ = ["ACTUAL", "ALLOCATION", "META_SHEET", "Form", "PLAN", "PREFILLED_PLAN", "REQUEST",
           "REVISION", "form",
           "form_of_stage", "identify", "register", "registered"]

_FORMS: dict[str, Form] = {}


def register(new: Form) -> Form:
    """Add ``new`` to the registry (replacing a form of the same kind); returns it."""
    _FORMS[new.kind] = new
    return new


def unregister(kind: str) -> None:
    """Remove a registered form (tests that register one of their own)."""
    if kind != PLAN.kind:
        _FORMS.pop(kind, None)


def registered() -> tuple[Form, ...]:
    """Every registered form, the plan first."""
    return tuple(_FORMS.values())


def form(kind: str) -> Form:
    """The registered form of ``kind`` (``KeyError`` when there is none)."""
    return _FORMS[kind]


def identify(meta: Mapping[str, str]) -> Form:
    """The form a workbook's ``_meta`` names: its ``form`` key, or, for a workbook made
    before ``_meta`` named its form (template version 1), the plan. An unknown kind also
    gives the plan: the plan's checks then report what does not match."""
    kind = (meta.get("form") or "").strip()
    return _FORMS.get(kind, PLAN)


def form_of_stage(stage: str) -> Form:
    """The registered form of a stage, given by its code ("actual") or Japanese name
    (「実績」); ``KeyError`` when there is none."""
    for f in _FORMS.values():
        if stage in (f.stage, f.stage_label):
            return f
    raise KeyError(stage)


register(PLAN)
# The other stages of the year (domain.md §3), in the order of the cycle.
from budget.forms.actual import ACTUAL  # noqa: E402
from budget.forms.allocation import ALLOCATION  # noqa: E402
from budget.forms.prefill import PREFILLED_PLAN  # noqa: E402
from budget.forms.request import REQUEST  # noqa: E402
from budget.forms.revision import REVISION  # noqa: E402

for _stage_form in (REQUEST, ALLOCATION, REVISION, ACTUAL, PREFILLED_PLAN):
    register(_stage_form)
