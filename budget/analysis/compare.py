"""Year over year: each year's current amounts (基金 計 A+B) mapped through the crosswalks
between the years' menus onto the newest year's items. Pure pandas; the only I/O is
reading the store (``load_compare``).

Rules the tables follow (the compare workbook says them to its readers too):

* An earlier year's amount on a leaf follows the crosswalk rows of that leaf, year by year,
  to the newest menu: same / renamed / moved carry it whole; items merged into one add up
  (a merged item compares with the sum of its sources); a split source is shared by its
  ``share`` s, multiplied along a chain of years and apportioned once (whole 千円, the
  remainder given by largest fraction so the parts sum to the
  source); a removed item keeps its own row, blank in the years after it.
* A prefecture or year without an accepted submission is missing (blank, NA), never 0; a
  sum over nothing but blanks stays blank; a change or a % with a blank side is blank.
* Change = this year − the year before; % = change ÷ the year before × 100 (blank when the
  year before is blank or 0).

What a year's figure is, by stage (``COMPARE_STAGES``; ``STAGE_RULES`` says it in Japanese):

* 要望: each prefecture's newest accepted 要望; 計画（当初）: its oldest accepted 計画;
  計画（現在） (the default; 変更 means it too): its newest accepted 計画 or 変更.
* 内示: each prefecture's allocation summed over the year's rounds, the newest workbook of
  each round (``budget.stages.allocation_totals``, as ``track`` shows it). Its rows are
  prefectures: no 大項目 or item tables, and no menu or crosswalk is needed.
* 実績: the year is the *fund* year (基金年度, the plan's and the menu's year), and its
  figure is the 執行額 計 (A+B) of every execution year: the newest accepted 実績 per
  (prefecture, execution year), summed, as ``track`` counts it. A fund year's money spent
  in a later year is still that fund year's 実績: the ministry reports 執行 per 交付 year,
  and an item's money can only be carried through the crosswalks from the menu of the year
  it was granted. Which execution years each fund year holds is listed in the notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from budget.store import Store

#: The crosswalk's columns (one row per relation between a leaf of one menu and the next).
CROSSWALK_COLUMNS = ("from_code", "to_code", "relation", "share", "note")

RELATION_JA = {"same": "継続", "renamed": "名称変更", "moved": "番号変更", "merged": "統合",
               "split": "分割", "new": "新規", "removed": "廃止"}

#: The amount compared, by stage (the stage's form field of 基金 計 A+B).
AMOUNT_FIELD = {"request": "fund", "plan_first": "fund", "plan": "fund", "revision": "fund",
                "actual": "actual_fund"}
#: The parts an amount is computed from when a stored row lacks it.
AMOUNT_PARTS = {"fund": ("national", "prefectural"),
                "actual_fund": ("actual_national", "actual_prefectural")}

MAPPING_RULE = ("前年度以前の金額は、年度間の対応表（クロスウォーク）で最新年度の事業に対応させています。"
                "統合された事業は統合前の事業の合計と、分割された事業は分割の割合で按分した額"
                "（千円未満は端数の大きい順に配分し、合計は元の額と一致）と比べます。"
                "廃止された事業は元の事業の行に、新規の事業は前年度以前を空欄で示します。")
MISSING_RULE = ("提出のない都道府県・年度は 0 ではなく空欄（未提出）です。空欄を含む増減・増減率は"
                "空欄です。増減 = その年度 − 前年度、増減率 = 増減 ÷ 前年度 × 100。")

_CODE_YEAR = re.compile(r"^R(\d+)-")


def code_year(code: str) -> int | None:
    """The fiscal year a leaf code belongs to (``R6-34`` → 2024), or None."""
    m = _CODE_YEAR.match(str(code))
    return 2018 + int(m.group(1)) if m else None


@dataclass
class Compare:
    """Year over year (see the module docstring): every table wide, one ``y<year>`` column
    of 千円 per year, then ``change_<year>`` and ``pct_<year>`` for each year after the first."""

    years: list[int]
    stage: str
    national: "pd.DataFrame"  # one row: the national total per year
    categories: "pd.DataFrame"  # per 大項目 (the newest menu's; removed items under theirs)
    prefectures: "pd.DataFrame"  # the 47 prefectures, 「01 北海道」…
    items: "pd.DataFrame"  # per item of the newest menu, then removed items
    submitted: dict[int, list[str]]  # year → prefecture codes with an accepted submission
    notes: list[str] = field(default_factory=list)


def _apportion(amount: int, shares: list[Fraction]) -> list[int]:
    """``amount`` shared by ``shares`` in whole units, the parts summing to it (largest
    remainder; ties to the earlier share)."""
    exact = [amount * s for s in shares]
    parts = [int(e // 1) for e in exact]
    left = amount - sum(parts)
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:max(left, 0)]:
        parts[i] += 1
    return parts


def _share(value: object) -> Fraction:
    if value is None or value != value or str(value).strip() == "":
        return Fraction(1)
    return Fraction(str(value).strip()).limit_denominator(10**6)


def _targets(crosswalk: "pd.DataFrame") -> dict[str, list[tuple[str, Fraction]]]:
    """from_code → [(to_code, share)] of a crosswalk; a removed code maps to nothing."""
    out: dict[str, list[tuple[str, Fraction]]] = {}
    for src, dst, relation, share in zip(crosswalk["from_code"], crosswalk["to_code"],
                                         crosswalk["relation"], crosswalk["share"]):
        src = str(src or "").strip()
        dst = str(dst or "").strip()
        if not src or src == "nan":
            continue
        out.setdefault(src, [])
        if dst and dst != "nan" and relation != "removed":
            out[src].append((dst, _share(share) if relation == "split" else Fraction(1)))
    return out


def _then(first: dict[str, list[tuple[str, Fraction]]],
          step: dict[str, list[tuple[str, Fraction]]]) -> dict[str, list[tuple[str, Fraction]]]:
    """``first`` followed by ``step``: a code ``step`` does not name goes on as itself."""
    out: dict[str, list[tuple[str, Fraction]]] = {}
    for src, dests in first.items():
        shares: dict[str, Fraction] = {}
        for code, share in dests:
            for nxt, s in step.get(code, [(code, Fraction(1))]):
                shares[nxt] = shares.get(nxt, Fraction(0)) + share * s
        out[src] = list(shares.items())
    return out


def compose(crosswalks: list["pd.DataFrame"]) -> dict[str, list[tuple[str, Fraction]]]:
    """Leaf code → [(code at the end of ``crosswalks``, the share of it that goes there)]
    for every code the first crosswalk names (shares multiplied along the way; a removed
    code maps to nothing)."""
    if not crosswalks:
        return {}
    composed = _targets(crosswalks[0])
    for cw in crosswalks[1:]:
        composed = _then(composed, _targets(cw))
    return composed


def _chains(years: list[int], crosswalks: dict[int, "pd.DataFrame"]
            ) -> dict[int, dict[str, list[tuple[str, Fraction]]]]:
    """Year → ``compose`` of the crosswalks from that year to the last of ``years``, built
    from the newest back (each crosswalk read once; the newest year maps to nothing)."""
    out: dict[int, dict[str, list[tuple[str, Fraction]]]] = {years[-1]: {}} if years else {}
    later: dict[str, list[tuple[str, Fraction]]] = {}
    for y, nxt in reversed(list(zip(years, years[1:]))):
        step = _targets(crosswalks[nxt])
        later = step if nxt == years[-1] else _then(step, later)
        out[y] = later
    return out


def map_forward(amounts: "pd.DataFrame", crosswalks: list["pd.DataFrame"]) -> "pd.DataFrame":
    """``amounts`` (prefecture_code, leaf_code, amount: whole 千円, no blanks) carried through
    ``crosswalks`` in order (``compose``): a code going whole to one code is renamed, a code
    shared is apportioned once (``_apportion``); a leaf no crosswalk row names (a removed
    item) keeps its code. Returns the same columns, summed per prefecture and code."""
    return _map(amounts, compose(crosswalks))


def _map(amounts: "pd.DataFrame", mapping: dict[str, list[tuple[str, Fraction]]]
         ) -> "pd.DataFrame":
    """``map_forward`` through a ``compose`` d mapping: the renames as one vectorised
    replace, only the shared codes apportioned row by row."""
    import pandas as pd

    whole = {src: dests[0][0] for src, dests in mapping.items()
             if len(dests) == 1 and dests[0][1] == 1}
    shared = {src: dests for src, dests in mapping.items() if len(dests) > 1
              or (len(dests) == 1 and dests[0][1] != 1)}
    cols = ["prefecture_code", "leaf_code", "amount"]
    codes = amounts["leaf_code"]
    is_shared = codes.isin(list(shared)) if shared else pd.Series(False, index=amounts.index)
    plain = amounts.loc[~is_shared, cols].copy()
    if whole:
        plain["leaf_code"] = plain["leaf_code"].map(whole).fillna(plain["leaf_code"])
    plain["amount"] = plain["amount"].astype("int64")
    rows: list[tuple[str, str, int]] = []
    part = amounts[is_shared]
    for pref, code, amount in zip(part["prefecture_code"], part["leaf_code"], part["amount"]):
        dests = shared[code]
        for (dst, _), piece in zip(dests, _apportion(int(amount), [s for _, s in dests])):
            rows.append((pref, dst, piece))
    df = pd.concat([plain, pd.DataFrame(rows, columns=cols).astype({"amount": "int64"})],
                   ignore_index=True) if rows else plain
    return df.groupby(["prefecture_code", "leaf_code"], as_index=False, sort=False)["amount"] \
        .sum()


def _with_changes(df: "pd.DataFrame", years: list[int]) -> "pd.DataFrame":
    import pandas as pd

    for prev, year in zip(years, years[1:]):
        a, b = df[f"y{prev}"].astype("Int64"), df[f"y{year}"].astype("Int64")
        change = (b - a).astype("Int64")
        df[f"change_{year}"] = change
        pct = [None if (pd.isna(c) or pd.isna(p) or int(p) == 0) else round(int(c) / int(p) * 100, 1)
               for c, p in zip(change, a)]
        df[f"pct_{year}"] = pd.array(pct, dtype="Float64")
    return df


def _incoming(crosswalk: "pd.DataFrame") -> dict[str, list[dict]]:
    """to_code → the crosswalk rows into it."""
    out: dict[str, list[dict]] = {}
    for r in crosswalk.to_dict("records"):
        out.setdefault(str(r["to_code"]), []).append(r)
    return out


def _relation_text(code: str, steps: list[tuple[int, dict[str, list[dict]]]]
                   ) -> tuple[str, str]:
    """(relation key, Japanese description) of a newest-menu leaf across the steps (each
    step's crosswalk as ``_incoming``), newest first."""
    key, parts = "same", []
    for year, incoming in reversed(steps):
        era = f"R{year - 2018}"
        inc = incoming.get(code, [])
        rels = {str(r["relation"]) for r in inc}
        srcs = [str(r["from_code"]) for r in inc
                if isinstance(r["from_code"], str) and r["from_code"]]
        if "new" in rels or not inc:
            key = "new"
            parts.append(f"{era} 新規")
        elif "merged" in rels or len(srcs) > 1:
            key = "merged"
            parts.append(f"{era} 統合: " + "＋".join(srcs))
        elif "split" in rels:
            key = "split"
            shares = [f"{r['from_code']}×{_share(r['share'])}" for r in inc]
            parts.append(f"{era} 分割: " + "、".join(shares))
        elif rels - {"same"}:
            rel = sorted(rels - {"same"})[0]
            if key == "same":
                key = rel
            parts.append(f"{era} {RELATION_JA.get(rel, rel)}: {srcs[0] if srcs else ''}")
        else:
            code = srcs[0] if srcs else code
            continue
        code = srcs[0] if srcs else code
    return key, "；".join(parts)


def build_compare(amounts: dict[int, "pd.DataFrame"], submitted: dict[int, list[str]],
                  menus: dict[int, "pd.DataFrame"], crosswalks: dict[int, "pd.DataFrame"],
                  stage: str = "plan", notes: list[str] | None = None) -> Compare:
    """The ``Compare`` of ``amounts`` (year → prefecture_code, leaf_code, amount; blanks
    dropped), ``submitted`` (year → prefectures with an accepted submission), ``menus`` (year
    → menu) and ``crosswalks`` (year → the crosswalk from the year before into it);
    ``notes``: more sentences for the readers, after the stage's rule."""
    import pandas as pd

    from budget.prefectures import all_prefectures

    years = sorted(amounts)
    last = years[-1]
    mapped = []
    chains = _chains(years, crosswalks) if stage != "allocation" else {}
    for y in years:
        m = _map(amounts[y], chains.get(y, {}))
        m["fiscal_year"] = y
        mapped.append(m)
    long = pd.concat(mapped, ignore_index=True) if mapped else pd.DataFrame(
        columns=["prefecture_code", "leaf_code", "amount", "fiscal_year"])
    ycols = [f"y{y}" for y in years]

    def wide(index: list[str]) -> "pd.DataFrame":
        g = long.groupby([*index, "fiscal_year"])["amount"].sum().unstack("fiscal_year")
        g = g.reindex(columns=years)
        g.columns = ycols
        return g.astype("Int64")

    if stage == "allocation":  # a 内示 has prefectures' figures only, no items
        items = pd.DataFrame(columns=["leaf_code", "category", "item_name", "sub_item_name",
                                      "relation", "relation_ja", *ycols]).astype(
            {c: "Int64" for c in ycols})
        items = _with_changes(items, years)
        categories = _with_changes(pd.DataFrame(columns=["category", *ycols]).astype(
            {c: "Int64" for c in ycols}), years)
    else:
        # items: the newest menu's leaves in order, then removed leaves (their own menu's labels)
        newest = menus[last]
        steps = [(t, _incoming(crosswalks[t])) for t in years[1:]]
        item_rows = []
        for r in newest.to_dict("records"):
            rel, text = _relation_text(r["leaf_code"], steps)
            item_rows.append({"leaf_code": r["leaf_code"], "category": r["category"],
                              "item_name": r["item_name"], "sub_item_name": r["sub_item_name"],
                              "relation": rel, "relation_ja": text, "_last": True})
        known = set(newest["leaf_code"])
        present = set(long["leaf_code"])
        for y in reversed(years[:-1]):
            for r in menus[y].to_dict("records"):
                code = r["leaf_code"]
                if code in known or code not in present:
                    continue
                known.add(code)
                item_rows.append({"leaf_code": code, "category": r["category"],
                                  "item_name": r["item_name"], "sub_item_name": r["sub_item_name"],
                                  "relation": "removed",
                                  "relation_ja": f"R{y + 1 - 2018} 廃止", "_last": False})
        items = pd.DataFrame(item_rows)
        items = items.join(wide(["leaf_code"]), on="leaf_code")
        # a new item did not exist in the years before it: blank, never 0 (it is blank already);
        # a removed item is blank in the years after it (nothing maps there).
        items = _with_changes(items.drop(columns="_last"), years)

        cats = list(dict.fromkeys(items["category"]))
        categories = items.groupby("category", sort=False)[ycols].sum(min_count=1) \
            .reindex(cats).reset_index()
        categories = _with_changes(categories.astype({c: "Int64" for c in ycols}), years)

    prefs = pd.DataFrame({"prefecture_code": [p.code for p in all_prefectures()],
                          "prefecture_name": [p.name_ja for p in all_prefectures()]})
    prefs["prefecture_label"] = prefs["prefecture_code"] + " " + prefs["prefecture_name"]
    by_pref = wide(["prefecture_code"])
    prefs = prefs.join(by_pref, on="prefecture_code")
    for y in years:  # a prefecture without an accepted submission that year: missing
        absent = ~prefs["prefecture_code"].isin(submitted.get(y, []))
        prefs.loc[absent, f"y{y}"] = pd.NA
    prefs = _with_changes(prefs.astype({c: "Int64" for c in ycols}), years)

    total = {f"y{y}": long.loc[long["fiscal_year"] == y, "amount"].sum()
             if (long["fiscal_year"] == y).any() else pd.NA for y in years}
    national = pd.DataFrame([{"label": "全国計", **total}]).astype({c: "Int64" for c in ycols})
    national["n_prefectures"] = "／".join(str(len(submitted.get(y, []))) for y in years)
    national = _with_changes(national, years)

    said = [STAGE_RULES[stage]] if stage in STAGE_RULES else []
    said += notes or []
    said += [f"R{y - 2018}: 受理された提出のない都道府県 {47 - len(submitted.get(y, []))}"
             for y in years if len(submitted.get(y, [])) < 47]
    return Compare(years, stage, national, categories, prefs, items.reset_index(drop=True),
                   submitted, said)


def _amount_frame(values: "pd.DataFrame", stage: str) -> "pd.DataFrame":
    """prefecture_code, leaf_code, amount of the stored rows with an amount (blanks
    dropped), indexed as ``values``."""
    import pandas as pd

    key = AMOUNT_FIELD[stage]
    parts = AMOUNT_PARTS[key]
    df = values.copy()
    for col in (key, *parts):
        if col not in df.columns:
            df[col] = pd.array([None] * len(df), dtype="Int64")
    amount = df[key].astype("Int64")
    has_part = df[list(parts)].notna().any(axis=1)
    computed = df[list(parts)].astype("Int64").fillna(0).sum(axis=1).astype("Int64")
    amount = amount.where(amount.notna() | ~has_part, computed)
    out = pd.DataFrame({"prefecture_code": df["prefecture_code"].astype(str),
                        "leaf_code": df["leaf_code"].astype(str), "amount": amount})
    return out[out["amount"].notna()]


#: Stages ``load_compare`` reads, and what a year's figure of each is (``stage_label``).
COMPARE_STAGES = ("request", "allocation", "plan_first", "plan", "actual")
STAGE_LABEL = {"request": "要望", "allocation": "内示（各回の計）", "plan_first": "計画（当初）",
               "plan": "計画（現在）", "actual": "実績（執行年度の計）"}
#: Other names a person may type for a compare stage (after NFKC); the rest go through
#: ``budget.analysis.track.parse_stage``, where 変更 is the current plan here.
_STAGE_NAMES = {"当初計画": "plan_first", "計画(当初)": "plan_first", "当初": "plan_first",
                "plan_first": "plan_first", "first": "plan_first",
                "計画(現在)": "plan", "現在の計画": "plan", "current": "plan"}
STAGE_RULES = {
    "allocation": "内示は各回の内示額（基金規模 A+B）の合計です。内示は都道府県ごとの額だけで、"
                  "大項目・事業別の内訳はありません。",
    "plan_first": "計画（当初）= 各都道府県が最初に受理された計画。",
    "plan": "計画（現在）= 受理した最新の計画または変更。",
    "request": "要望 = 各都道府県の受理した最新の要望。",
    "actual": "実績 = 基金年度ごとに、執行年度ごとに受理した最新の実績の執行額 計 (A+B) の合計"
              "（翌年度以降に執行した分を含みます）。年度は基金年度です。",
}


def compare_stage(text: str) -> str:
    """The compare stage (``COMPARE_STAGES``) a person named: any stage's code or Japanese
    name, 変更 (the plan as changed) as the current plan, 当初計画 / 計画（当初） as the first;
    ``UsageError`` for anything else."""
    import unicodedata

    from budget.analysis.track import parse_stage

    key = unicodedata.normalize("NFKC", str(text)).strip()
    if key in _STAGE_NAMES or key.lower() in _STAGE_NAMES:
        return _STAGE_NAMES.get(key) or _STAGE_NAMES[key.lower()]
    code = parse_stage(text)
    return "plan" if code == "revision" else code


def _chosen(subs: "pd.DataFrame", year: int, stage: str) -> dict[int, str]:
    """Submission id → prefecture code of the submissions that make ``year``'s figure of
    ``stage`` (``_chosen_by_year`` of that year)."""
    return _chosen_by_year(subs, [year], stage)[year]


def _chosen_by_year(subs: "pd.DataFrame", years: list[int], stage: str
                    ) -> dict[int, dict[int, str]]:
    """Year → (submission id → prefecture code) of the submissions that make each year's
    figure of ``stage`` (not the 内示), by the rules of ``budget.stages``
    (``current_plan_ids``, ``first_plan_ids``, ``current_request_ids``; a test holds them
    equal) and, for 実績, the newest accepted per (prefecture, execution year) as the track
    reads it: every execution year of the fund year counts. One sort for every year."""
    from budget.analysis.track import _exec_year

    stages = {"request": ("request",), "plan": ("plan", "revision"), "plan_first": ("plan",),
              "actual": ("actual",)}[stage]
    df = subs[(subs["status"] == "accepted") & subs["stage"].isin(stages)
              & subs["fiscal_year"].isin(years) & subs["prefecture_code"].notna()]
    out: dict[int, dict[int, str]] = {y: {} for y in years}
    if df.empty:
        return out
    df = df.assign(_year=df["fiscal_year"].astype("int64"))
    by = ["_year", "prefecture_code"]
    if stage == "actual":
        execs = df["exec_year"] if "exec_year" in df.columns else [None] * len(df)
        df = df.assign(_exec=[_exec_year(v, y) for v, y in zip(execs, df["_year"])])
        by.append("_exec")
    df = df.sort_values(["received_at", "id"], kind="stable")
    df = df.drop_duplicates(by, keep="first" if stage == "plan_first" else "last")
    for i, p, y in zip(df["id"], df["prefecture_code"], df["_year"]):
        out[int(y)][int(i)] = str(p)
    return out


def load_compare(store: "Store", years: list[int], menus: dict[int, "pd.DataFrame"],
                 crosswalks: dict[int, "pd.DataFrame"], stage: str | None = None) -> Compare:
    """Read the submissions that make each year's figure of ``stage`` (``COMPARE_STAGES``,
    default the current plan: newest accepted 計画 or 変更; 変更 is read as that too) and
    build the ``Compare``. Two reads for every year together: the submissions, then the
    amount fields of the chosen ones (the 内示: ``stages.allocation_totals`` per year)."""
    import pandas as pd

    stage = "plan" if stage in (None, "revision") else stage
    if stage not in COMPARE_STAGES:
        raise ValueError(f"unknown compare stage {stage!r}")
    ys = sorted(years)
    subs = store.submissions()
    amounts: dict[int, "pd.DataFrame"] = {}
    submitted: dict[int, list[str]] = {}
    if stage == "allocation":
        from budget.stages import allocation_totals

        for y in ys:
            totals = allocation_totals(store, y, subs=subs)
            submitted[y] = sorted(totals)
            rows = [(code, "", fund) for code, (fund, _) in sorted(totals.items())
                    if fund is not None]
            amounts[y] = pd.DataFrame(rows, columns=["prefecture_code", "leaf_code", "amount"])
        return build_compare(amounts, submitted, menus, crosswalks, stage)
    chosen = _chosen_by_year(subs, ys, stage)
    key = AMOUNT_FIELD[stage]
    fields = [key, *AMOUNT_PARTS[key]]
    cells = store.number_cells([i for c in chosen.values() for i in c], fields)
    wide = cells.set_index(["submission_id", "leaf_code", "field"])["number"] \
        .unstack("field").reindex(columns=fields).reset_index()
    year_of = {i: y for y, c in chosen.items() for i in c}
    pref_of = {i: p for c in chosen.values() for i, p in c.items()}
    wide["prefecture_code"] = wide["submission_id"].map(pref_of)
    every = _amount_frame(wide, stage)
    of_year = wide.loc[every.index, "submission_id"].map(year_of).to_numpy()
    by_year = {int(y): g.reset_index(drop=True) for y, g in every.groupby(of_year)}
    for y in ys:
        submitted[y] = sorted(set(chosen[y].values()))
        amounts[y] = by_year.get(y, every.iloc[0:0])
    notes = _exec_year_notes(subs, chosen) if stage == "actual" else []
    return build_compare(amounts, submitted, menus, crosswalks, stage, notes)


def _exec_year_notes(subs: "pd.DataFrame", chosen: dict[int, dict[int, str]]) -> list[str]:
    """``R5 の実績: 執行年度 R5（47 都道府県）、R6（12 都道府県）`` for each fund year with 実績."""
    from budget.analysis.track import _exec_year
    from budget.fiscal import era_code

    out = []
    for year, ids in chosen.items():
        rows = subs[subs["id"].isin(list(ids))]
        if rows.empty:
            continue
        execs = rows["exec_year"] if "exec_year" in rows.columns else [None] * len(rows)
        per: dict[int, set[str]] = {}
        for value, pref in zip(execs, rows["prefecture_code"]):
            per.setdefault(_exec_year(value, year), set()).add(str(pref))
        out.append(f"{era_code(year)} の実績: 執行年度 " + "、".join(
            f"{era_code(e)}（{len(p)} 都道府県）" for e, p in sorted(per.items())))
    return out


def tidy_compare(comp: Compare) -> "pd.DataFrame":
    """One row per table row and year: level (national / category / prefecture / item),
    key, label, relation, fiscal_year, amount, change, change_pct (千円; blank stays NA)."""
    import pandas as pd

    frames = []
    specs = [("national", comp.national, "label", "label", None),
             ("category", comp.categories, "category", "category", None),
             ("prefecture", comp.prefectures, "prefecture_code", "prefecture_label", None),
             ("item", comp.items, "leaf_code", "item_name", "relation")]
    for level, df, key, label, rel in specs:
        for y in comp.years:
            part = pd.DataFrame({
                "level": level, "key": df[key].astype(str), "label": df[label].astype(str),
                "relation": df[rel].astype(str) if rel else "",
                "fiscal_year": y, "amount": df[f"y{y}"].astype("Int64"),
                "change": df[f"change_{y}"] if f"change_{y}" in df else pd.NA,
                "change_pct": df[f"pct_{y}"] if f"pct_{y}" in df else pd.NA})
            if level == "item":
                part["label"] = [n if not s else f"{n}　{s}" for n, s in
                                 zip(df["item_name"], df["sub_item_name"])]
            frames.append(part)
    out = pd.concat(frames, ignore_index=True)
    out["change"] = out["change"].astype("Int64")
    out["change_pct"] = out["change_pct"].astype("Float64")
    return out
