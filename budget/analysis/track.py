"""Track a fund year through its stages: 要望 → 内示 → 計画 (first and current) → 実績.

Pure pandas over store frames: ``load_track`` reads the store once (the year's submissions
and the values of the ones it uses) and returns a ``Track``; every other function turns a
``Track`` into one table. ``budget.render.track_workbook`` writes them.

Which submission counts (the contract of the stages):

* 要望 (``request``): each prefecture's newest accepted submission.
* 内示 (``allocation``): one ministry workbook per round (``round`` in its inputs), rows keyed
  by prefecture code; the newest accepted one per round counts. A prefecture without a row
  is not in that round.
* 計画: the *current* plan is the newest accepted 計画 or 変更 (``plan`` / ``revision``); the
  *first* plan is the oldest accepted 計画. 変更回数 counts the accepted 変更.
* 実績 (``actual``): the newest accepted per (prefecture, execution year ``exec_year``); the
  fund year's 実績 is their sum over execution years.

Rules of the figures: money in 千円 as entered; blank is never zero (a sum over nothing but
blanks is NA) and a stage not received is *missing*, never 0. 基金 (A+B) is the measure of
every stage, 国費 (A) beside it. 執行率 = 実績 / 計画（現在） and 実績 / 内示, computed from
unrounded figures; in a total it counts only the prefectures whose 実績 was received, so a
prefecture that has not reported does not lower it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from budget.analysis.summary import PLACE_LABELS, money_header
from budget.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

    from budget.store import Store

#: Stage codes (the ``stage`` of a submission) in the order of the year, and their names.
STAGES: tuple[str, ...] = ("request", "allocation", "plan", "revision", "actual")
STAGE_JA: dict[str, str] = {"request": "要望", "allocation": "内示", "plan": "計画",
                            "revision": "変更", "actual": "実績"}
#: Other names a person may type for a stage.
_STAGE_ALIASES: dict[str, str] = {
    "所要額調査": "request", "要望調査": "request", "計画変更": "revision", "変更計画": "revision",
    "執行実績": "actual", "事後評価": "actual", "実績報告": "actual",
}
#: 達成状況 of a 実績 row, in display order.
ACHIEVEMENTS: tuple[str, ...] = ("達成", "一部達成", "未達成", "未実施")
#: The stages whose submissions a prefecture sends (内示 is the ministry's).
PREFECTURE_STAGES: tuple[str, ...] = ("request", "plan", "actual")
#: 執行率 below this (percent) is flagged (``budget track --low-rate``).
DEFAULT_LOW_RATE = 70.0

PLAN_AMOUNT_INPUTS = ("national", "prefectural", "other", "public", "private", "commissioned")
ACTUAL_AMOUNT_INPUTS = ("actual_national", "actual_prefectural", "actual_other")
ACTUAL_TEXTS = ("output_result", "achievement", "reason")
#: The fields the track reads (a plan's texts are not among them).
TRACK_FIELDS = (*PLAN_AMOUNT_INPUTS, "fund", "total", *ACTUAL_AMOUNT_INPUTS, "actual_fund",
                "actual_total", *ACTUAL_TEXTS)

#: Sentences the workbook prints so a reader knows how the figures were made.
RATE_RULE = ("執行率は 基金 (A+B) の 実績 ÷ 計画（現在）、実績 ÷ 内示（各回の計）。合計の執行率は実績を"
             "受理した都道府県だけで計算しています（未報告の都道府県で率が下がらないように）。")
CURRENT_RULE = ("計画（現在）= 受理した最新の計画または変更。計画（当初）= 最初に受理した計画。"
                "実績 = 執行年度ごとに受理した最新の実績の合計。")
MISSING_RULE = ("未提出・差戻しの段階は 0 として扱わず「未提出」「差戻し」と表示し、合計にも含めません。"
                "空欄は入力なし（0 ではありません）。")


def parse_stage(text: str) -> str:
    """A stage code from a code or a Japanese name (``実績``, ``所要額調査``, ``actual`` …);
    ``UsageError`` for anything else."""
    key = unicodedata.normalize("NFKC", str(text)).strip()
    if key.lower() in STAGES:
        return key.lower()
    for code, name in STAGE_JA.items():
        if key == name:
            return code
    if key in _STAGE_ALIASES:
        return _STAGE_ALIASES[key]
    names = "、".join(STAGE_JA[s] for s in STAGES)
    raise UsageError(f"段階「{text}」はありません（{names} のいずれか）。")


def stage_family(stage: str) -> tuple[str, ...]:
    """The stages one *current* submission is chosen among: 計画 and 変更 together."""
    return ("plan", "revision") if stage in ("plan", "revision") else (stage,)


@dataclass
class Track:
    """Everything the track tables are made from (one fund year)."""

    fiscal_year: int
    menu: "pd.DataFrame"  # leaves in menu order with ``owner``, ``joint``, ``menu_order``
    #: the 47 prefectures: code, name, label, per stage ``<stage>_status`` (accepted /
    #: rejected / missing) and ``<stage>_id`` (the submission used), n_revisions
    prefectures: "pd.DataFrame"
    #: one row per (prefecture, leaf) any stage has a value for: request_*, plan_first_*,
    #: plan_*, actual_* (fund, national), achievement; ``reporting`` (実績 received)
    leaves: "pd.DataFrame"
    #: 内示: round, prefecture_code, fund, national, submission_id
    allocations: "pd.DataFrame"
    #: 実績 rows per execution year: prefecture_code, exec_year, leaf_code, the actual fields
    actuals: "pd.DataFrame"
    rounds: list[str]
    used: "pd.DataFrame"  # the submissions used: stage, role, prefecture_code, round, exec_year, …
    #: the entered rows of 要望, 計画（当初）, 計画（現在）: stage (request / plan_first /
    #: plan), prefecture_code, leaf_code, national, prefectural, other, fund, total, submission_id
    plan_rows: "pd.DataFrame"
    low_rate: float = DEFAULT_LOW_RATE  # percent
    notes: list[str] = field(default_factory=list)
    #: tables made once per track (``by_prefecture``, the leaves joined with the menu)
    _cache: dict[str, "pd.DataFrame"] = field(default_factory=dict, repr=False)


# --- Reading ---------------------------------------------------------------------------


def _newest(df: "pd.DataFrame", keys: list[str]) -> "pd.DataFrame":
    """The newest row (received_at, then id) per ``keys``."""
    d = df.sort_values(["received_at", "id"], ascending=False, kind="stable")
    return d.drop_duplicates(keys, keep="first")


def _oldest(df: "pd.DataFrame", keys: list[str]) -> "pd.DataFrame":
    d = df.sort_values(["received_at", "id"], ascending=True, kind="stable")
    return d.drop_duplicates(keys, keep="first")


def _round_key(value: object) -> str:
    """A 内示 round as text ("1", "2" …): full-width digits and 第…回 accepted; blank → "1"."""
    if value is None or value != value:
        return "1"
    text = unicodedata.normalize("NFKC", str(value)).strip()
    text = text.removeprefix("第").removesuffix("回")
    return text or "1"


def round_label(round_: str) -> str:
    """``"1"`` → ``"第1回"``."""
    return f"第{round_}回" if round_.isdigit() else round_


def _exec_year(value: object, fund_year: int) -> int:
    """The execution year of a 実績 (its ``exec_year`` input), the fund year when blank."""
    if value is None or value != value or str(value).strip() == "":
        return fund_year
    try:
        from budget.fiscal import parse_fiscal_year

        return parse_fiscal_year(str(value))
    except Exception:  # noqa: BLE001 - an unreadable year counts as the fund year
        return fund_year


def _with_sum(df: "pd.DataFrame", target: str, parts: tuple[str, ...]) -> None:
    """Fill ``target`` (a formula column) where blank from ``parts`` (blanks count 0) on rows
    with any part entered: the workbook's own arithmetic."""
    import pandas as pd

    for col in (target, *parts):
        if col not in df.columns:
            df[col] = pd.array([None] * len(df), dtype="Int64")
    lacking = df[target].isna() & df[list(parts)].notna().any(axis=1)
    if lacking.any():
        df.loc[lacking, target] = df.loc[lacking, list(parts)].fillna(0).sum(axis=1)
    df[target] = df[target].astype("Int64")


def _ensure(df: "pd.DataFrame", money: tuple[str, ...], texts: tuple[str, ...] = ()
            ) -> "pd.DataFrame":
    import pandas as pd

    out = df.copy()
    for key in money:
        if key not in out.columns:
            out[key] = pd.array([None] * len(out), dtype="Int64")
        out[key] = out[key].astype("Int64")
    for key in texts:
        if key not in out.columns:
            out[key] = pd.Series([None] * len(out), index=out.index, dtype="object")
    return out


def _plan_rows(values: "pd.DataFrame", ids: list[int]) -> "pd.DataFrame":
    """The entered rows (any amount input non-blank) of plan-shaped submissions ``ids``:
    prefecture_code, leaf_code, fund, national (fund = A+B where the store has none)."""
    d = _ensure(values[values["submission_id"].isin(ids)],
                ("national", "prefectural", "other", "public", "private", "commissioned",
                 "fund", "total"))
    d = d[d[list(PLAN_AMOUNT_INPUTS)].notna().any(axis=1)].copy()
    _with_sum(d, "fund", ("national", "prefectural"))
    _with_sum(d, "total", ("national", "prefectural", "other"))
    return d


def load_track(store: "Store", fiscal_year: int, menu: "pd.DataFrame", *,
               low_rate: float = DEFAULT_LOW_RATE) -> Track:
    """Read the fund year's submissions of every stage and the values of the ones that count
    (see the module docstring) into a ``Track``."""
    import pandas as pd

    from budget.analysis.summary import menu_with_owners
    from budget.prefectures import all_prefectures

    m = menu_with_owners(menu)
    notes: list[str] = []
    subs = store.submissions(fiscal_year)
    for col in ("round", "exec_year"):
        if col not in subs.columns:
            subs[col] = None
    subs["prefecture_code"] = subs["prefecture_code"].astype(object)
    has_pref = subs["prefecture_code"].notna()
    acc = subs[subs["status"] == "accepted"]
    acc_pref = acc["prefecture_code"].notna()

    request = _newest(acc[(acc["stage"] == "request") & acc_pref], ["prefecture_code"])
    alloc = acc[acc["stage"] == "allocation"].copy()
    alloc["round"] = alloc["round"].map(_round_key)
    alloc = _newest(alloc, ["round"])
    plans = acc[acc["stage"].isin(["plan", "revision"]) & acc_pref]
    plan_current = _newest(plans, ["prefecture_code"])
    plan_first = _oldest(plans[plans["stage"] == "plan"], ["prefecture_code"])
    revisions = plans[plans["stage"] == "revision"].groupby("prefecture_code").size()
    actual = acc[(acc["stage"] == "actual") & acc_pref].copy()
    actual["exec_year"] = [_exec_year(v, fiscal_year) for v in actual["exec_year"]]
    actual = _newest(actual, ["prefecture_code", "exec_year"])

    ids = [int(i) for frame in (request, alloc, plan_current, plan_first, actual)
           for i in frame["id"]]
    values = store.submission_amounts(ids, list(TRACK_FIELDS))

    # --- the 47 prefectures and where each stage stands --------------------------------
    prefs = pd.DataFrame({"prefecture_code": [p.code for p in all_prefectures()],
                          "prefecture_name": [p.name_ja for p in all_prefectures()]})
    prefs["label"] = prefs["prefecture_code"] + " " + prefs["prefecture_name"]
    for stage, frame in (("request", request), ("plan", plan_current), ("actual", actual)):
        family = list(stage_family(stage))
        sent = set(subs.loc[subs["stage"].isin(family) & has_pref, "prefecture_code"])
        accepted = set(frame["prefecture_code"])
        prefs[f"{stage}_status"] = ["accepted" if c in accepted else
                                    "rejected" if c in sent else "missing"
                                    for c in prefs["prefecture_code"]]
    for stage, frame in (("request", request), ("plan", plan_current),
                         ("plan_first", plan_first)):
        ids_by = dict(zip(frame["prefecture_code"], frame["id"]))
        prefs[f"{stage}_id"] = pd.array([ids_by.get(c) for c in prefs["prefecture_code"]],
                                        dtype="Int64")
    kind_by = dict(zip(plan_current["prefecture_code"], plan_current["stage"]))
    prefs["plan_stage"] = [kind_by.get(c) for c in prefs["prefecture_code"]]
    prefs["n_revisions"] = pd.array([int(revisions.get(c, 0)) for c in prefs["prefecture_code"]],
                                    dtype="Int64")
    n_years = actual.groupby("prefecture_code")["exec_year"].nunique()
    prefs["n_exec_years"] = pd.array([int(n_years.get(c, 0)) for c in prefs["prefecture_code"]],
                                     dtype="Int64")

    # --- 内示 -------------------------------------------------------------------------
    round_of = dict(zip(alloc["id"].astype(int), alloc["round"]))
    a = _ensure(values[values["submission_id"].isin(list(round_of))], ("fund", "national"))
    a = a[a[["fund", "national"]].notna().any(axis=1)].copy()
    a["round"] = a["submission_id"].astype(int).map(round_of)
    a = a.rename(columns={"leaf_code": "alloc_code"})
    a["alloc_code"] = a["alloc_code"].astype(str)
    unknown = sorted(set(a["alloc_code"]) - set(prefs["prefecture_code"]))
    if unknown:
        notes.append(f"内示の行に不明な都道府県コード {', '.join(unknown)} があり、集計していません。")
    allocations = a.loc[a["alloc_code"].isin(prefs["prefecture_code"]),
                        ["round", "alloc_code", "fund", "national", "submission_id"]]
    allocations = allocations.rename(columns={"alloc_code": "prefecture_code"})
    rounds = sorted(set(alloc["round"]), key=lambda r: (not r.isdigit(), int(r) if r.isdigit()
                                                        else 0, r))
    allocations = allocations.reset_index(drop=True)

    # --- leaves: 要望, 計画（当初・現在）, 実績 ---------------------------------------
    stage_rows = []

    def leaf_part(ids_: list[int], prefix: str) -> "pd.DataFrame":
        rows = _plan_rows(values, ids_)
        stage_rows.append(rows[["prefecture_code", "leaf_code", "national", "prefectural",
                                "other", "fund", "total", "submission_id"]].assign(stage=prefix))
        out = rows[["prefecture_code", "leaf_code", "fund", "national"]]
        return out.rename(columns={"fund": f"{prefix}_fund", "national": f"{prefix}_national"})

    parts = [leaf_part([int(i) for i in request["id"]], "request"),
             leaf_part([int(i) for i in plan_first["id"]], "plan_first"),
             leaf_part([int(i) for i in plan_current["id"]], "plan")]
    year_of = dict(zip(actual["id"].astype(int), actual["exec_year"]))
    act = _ensure(values[values["submission_id"].isin(list(year_of))],
                  ("actual_national", "actual_prefectural", "actual_other", "actual_fund",
                   "actual_total"), ACTUAL_TEXTS)
    act = act[act[list(ACTUAL_AMOUNT_INPUTS)].notna().any(axis=1)
              | act["achievement"].notna() | act["output_result"].notna()].copy()
    _with_sum(act, "actual_fund", ("actual_national", "actual_prefectural"))
    _with_sum(act, "actual_total", ("actual_national", "actual_prefectural", "actual_other"))
    act["exec_year"] = act["submission_id"].astype(int).map(year_of).astype("int64")
    act = act.sort_values(["prefecture_code", "leaf_code", "exec_year"], kind="stable")
    sums = act.groupby(["prefecture_code", "leaf_code"])[["actual_fund", "actual_national"]] \
        .sum(min_count=1).reset_index()
    achieved = act[act["achievement"].notna()].drop_duplicates(
        ["prefecture_code", "leaf_code"], keep="last")[["prefecture_code", "leaf_code",
                                                        "achievement"]]
    parts.append(sums.merge(achieved, on=["prefecture_code", "leaf_code"], how="left"))

    leaves = parts[0]
    for part in parts[1:]:
        leaves = leaves.merge(part, on=["prefecture_code", "leaf_code"], how="outer")
    leaves = _ensure(leaves, tuple(f"{p}_{k}" for p in ("request", "plan_first", "plan",
                                                          "actual")
                                   for k in ("fund", "national")), ("achievement",))
    outside = leaves[~leaves["leaf_code"].isin(m["leaf_code"])]
    for code, group in outside.groupby("prefecture_code"):
        notes.append(f"{code}: メニューにない事業コード {', '.join(sorted(set(group['leaf_code'])))}"
                     " の金額は集計していません。")
    leaves = leaves[leaves["leaf_code"].isin(m["leaf_code"])]
    reporting = set(prefs.loc[prefs["actual_status"] == "accepted", "prefecture_code"])
    leaves["reporting"] = leaves["prefecture_code"].isin(reporting)
    order = dict(zip(m["leaf_code"], m["menu_order"]))
    leaves["menu_order"] = leaves["leaf_code"].map(order)
    leaves = leaves.sort_values(["prefecture_code", "menu_order"], kind="stable")
    leaves = leaves.drop(columns="menu_order").reset_index(drop=True)
    bad = act[act["achievement"].notna() & ~act["achievement"].isin(ACHIEVEMENTS)]
    if len(bad):
        notes.append("達成状況に一覧（" + "・".join(ACHIEVEMENTS) + "）にない値があり、"
                     f"件数に数えていません（{len(bad)} 件）。")
    actuals = act[["prefecture_code", "exec_year", "leaf_code", *ACTUAL_AMOUNT_INPUTS,
                   "actual_fund", "actual_total", *ACTUAL_TEXTS, "submission_id"]]
    actuals = actuals.reset_index(drop=True)

    # --- the submissions used (出典) --------------------------------------------------
    used = []
    for role, frame in (("request", request), ("allocation", alloc),
                        ("plan_first", plan_first), ("plan", plan_current),
                        ("actual", actual)):
        part = frame.reindex(columns=["id", "stage", "prefecture_code", "round", "exec_year",
                                      "file_name", "received_at", "sha256"]).copy()
        part.insert(0, "role", role)
        used.append(part)
    used_df = pd.concat(used, ignore_index=True).rename(columns={"id": "submission_id"})
    used_df["round"] = used_df["round"].where(used_df["role"] == "allocation")
    used_df["exec_year"] = used_df["exec_year"].where(used_df["role"] == "actual")
    plan_like = pd.concat(stage_rows, ignore_index=True)
    plan_like = plan_like[plan_like["leaf_code"].isin(m["leaf_code"])].reset_index(drop=True)
    return Track(fiscal_year, m, prefs, leaves, allocations, actuals, rounds, used_df,
                 plan_like, low_rate, notes)


# --- Tables ----------------------------------------------------------------------------


def _rate(numerator: "pd.Series", denominator: "pd.Series") -> "pd.Series":
    """numerator / denominator as Float64; NA where either is NA or the denominator is 0."""
    import pandas as pd

    num = numerator.astype("Float64")
    den = denominator.astype("Float64")
    out = num / den.where(den != 0)
    return out.astype("Float64").where(num.notna() & den.notna() & (den != 0), pd.NA)


MONEY_STAGES: tuple[str, ...] = ("request", "plan_first", "plan", "actual")


def by_prefecture(track: Track) -> "pd.DataFrame":
    """The 47 prefectures in code order: ``prefectures``' columns, then per stage
    ``<stage>_fund`` / ``<stage>_national`` (NA when not received or nothing entered),
    ``alloc_<round>_fund`` / ``_national`` per round and ``alloc_fund`` / ``alloc_national``
    (NA when in no round), ``rate_plan`` (実績 / 計画（現在）), ``rate_allocation`` (実績 /
    内示), ``over_allocation`` (計画 > 内示), ``low_rate`` (rate_plan below the threshold),
    ``missing_stages`` (stage codes not accepted, 内示 when in no round) and ``flags`` (the
    Japanese text of all of them)."""
    import pandas as pd

    if "by_prefecture" in track._cache:
        return track._cache["by_prefecture"]
    out = track.prefectures.copy()
    codes = out["prefecture_code"]
    sums = track.leaves.groupby("prefecture_code")[
        [f"{s}_{k}" for s in MONEY_STAGES for k in ("fund", "national")]].sum(min_count=1)
    for col in sums.columns:
        out[col] = pd.array(codes.map(sums[col]).tolist(), dtype="Int64")
    # A stage not accepted is missing, whatever its rows say (there are none).
    for s in MONEY_STAGES:
        status = out["actual_status" if s == "actual" else
                     "request_status" if s == "request" else "plan_status"]
        for k in ("fund", "national"):
            out.loc[status != "accepted", f"{s}_{k}"] = pd.NA
    a = track.allocations
    for r in track.rounds:
        part = a[a["round"] == r].groupby("prefecture_code")[["fund", "national"]].sum(min_count=1)
        for k in ("fund", "national"):
            out[f"alloc_{r}_{k}"] = pd.array(codes.map(part[k]).tolist(), dtype="Int64")
    for k in ("fund", "national"):
        cols = [f"alloc_{r}_{k}" for r in track.rounds]
        out[f"alloc_{k}"] = (out[cols].sum(axis=1, min_count=1).astype("Int64") if cols
                             else pd.array([None] * len(out), dtype="Int64"))
    out["in_rounds"] = pd.array(
        [int(sum(1 for r in track.rounds if pd.notna(row[f"alloc_{r}_fund"])
                 or pd.notna(row[f"alloc_{r}_national"]))) for _, row in out.iterrows()],
        dtype="Int64")
    out["rate_plan"] = _rate(out["actual_fund"], out["plan_fund"])
    out["rate_allocation"] = _rate(out["actual_fund"], out["alloc_fund"])
    over = out["plan_fund"].notna() & out["alloc_fund"].notna()
    out["over_allocation"] = (over & (out["plan_fund"].fillna(0) > out["alloc_fund"].fillna(0))
                              ).astype(bool)
    rate = out["rate_plan"]
    out["low_rate"] = (rate.notna() & (rate.fillna(1e9) < track.low_rate / 100)).astype(bool)
    missing, flags = [], []
    for _, row in out.iterrows():
        miss = [s for s in ("request", "allocation", "plan", "actual")
                if (row["in_rounds"] == 0 if s == "allocation"
                    else row[f"{s}_status"] != "accepted")]
        missing.append(",".join(miss))
        text = []
        if row["over_allocation"]:
            text.append("計画＞内示")
        if row["low_rate"]:
            text.append(f"執行率 {float(row['rate_plan']):.1%}（{track.low_rate:g}%未満）")
        lacking = [STAGE_JA[s] for s in miss if row.get(f"{s}_status") != "rejected"]
        rejected = [STAGE_JA[s] for s in miss if row.get(f"{s}_status") == "rejected"]
        if lacking:
            text.append("未提出: " + "・".join(lacking))
        if rejected:
            text.append("差戻し: " + "・".join(rejected))
        flags.append("、".join(text))
    out["missing_stages"] = pd.Series(missing, index=out.index, dtype="string")
    out["flags"] = pd.Series(flags, index=out.index, dtype="string")
    track._cache["by_prefecture"] = out.reset_index(drop=True)
    return track._cache["by_prefecture"]


def headline(track: Track) -> "pd.DataFrame":
    """The 総括 rows: key, label, fund, national (千円, NA when nothing), rate (Float64,
    only on the 執行率 rows), n (prefectures counted)."""
    import pandas as pd

    p = by_prefecture(track)
    rows: list[dict[str, object]] = []

    def money(key: str, label: str, fund_col: str, nat_col: str) -> None:
        rows.append({"key": key, "label": label, "fund": p[fund_col].sum(min_count=1),
                     "national": p[nat_col].sum(min_count=1), "rate": pd.NA,
                     "n": int((p[fund_col].notna() | p[nat_col].notna()).sum())})

    money("request", "要望", "request_fund", "request_national")
    for r in track.rounds:
        money(f"alloc_{r}", f"内示 {round_label(r)}", f"alloc_{r}_fund", f"alloc_{r}_national")
    money("alloc", "内示 計", "alloc_fund", "alloc_national")
    money("plan_first", "計画（当初）", "plan_first_fund", "plan_first_national")
    money("plan", "計画（現在）", "plan_fund", "plan_national")
    money("actual", "実績", "actual_fund", "actual_national")
    rep = p[p["actual_status"] == "accepted"]
    for key, label, den in (("rate_plan", "執行率（実績 ÷ 計画（現在））", "plan_fund"),
                            ("rate_allocation", "執行率（実績 ÷ 内示）", "alloc_fund")):
        both = rep[rep["actual_fund"].notna() & rep[den].notna()]
        num, d = both["actual_fund"].sum(min_count=1), both[den].sum(min_count=1)
        rate = float(num) / float(d) if pd.notna(num) and pd.notna(d) and d else pd.NA
        rows.append({"key": key, "label": label, "fund": pd.NA, "national": pd.NA,
                     "rate": rate, "n": len(both)})
    out = pd.DataFrame(rows)
    for col in ("fund", "national"):
        out[col] = pd.array([None if pd.isna(v) else int(v) for v in out[col]], dtype="Int64")
    out["rate"] = pd.array([None if pd.isna(v) else float(v) for v in out["rate"]],
                           dtype="Float64")
    out["n"] = out["n"].astype("int64")
    return out


def missing_by_stage(track: Track) -> dict[str, list[str]]:
    """Stage code → labels (「01 北海道」) of the prefectures without an accepted
    submission of it (内示: in no round)."""
    p = by_prefecture(track)
    out = {s: p.loc[p[f"{s}_status"] != "accepted", "label"].tolist()
           for s in ("request", "plan", "actual")}
    out["allocation"] = p.loc[p["in_rounds"] == 0, "label"].tolist()
    return {s: out[s] for s in ("request", "allocation", "plan", "actual")}


def _grouped(track: Track, keys: list[str], frame: "pd.DataFrame") -> "pd.DataFrame":
    """``frame`` (one row per group, in display order) + per stage the fund and national
    sums, 執行率 and the 達成状況 counts of the leaves in each group."""

    money = [f"{s}_{k}" for s in MONEY_STAGES for k in ("fund", "national")]
    if "joined" not in track._cache:
        menu_cols = ["leaf_code", "category", "mid_category", "owner"]
        joined = track.leaves.merge(track.menu[menu_cols], on="leaf_code", how="inner")
        # 執行率's denominator: the plans of the prefectures whose 実績 was received
        joined["plan_fund_reporting"] = joined["plan_fund"].where(joined["reporting"])
        for a in ACHIEVEMENTS:
            joined[f"n_{a}"] = (joined["achievement"] == a).astype("int64")
        track._cache["joined"] = joined
    d = track._cache["joined"]
    counts = [f"n_{a}" for a in ACHIEVEMENTS]
    g = d.groupby(keys, sort=False, dropna=False)
    sums = g[[*money, "plan_fund_reporting"]].sum(min_count=1)
    sums[counts] = g[counts].sum()
    sums["n_prefectures"] = d[d["plan_fund"].notna()].groupby(keys, sort=False)[
        "prefecture_code"].nunique()
    out = frame.merge(sums.reset_index(), on=keys, how="left")
    for col in [*counts, "n_prefectures"]:
        out[col] = out[col].fillna(0).astype("int64")
    for col in [*money, "plan_fund_reporting"]:
        out[col] = out[col].astype("Int64")
    out["rate_plan"] = _rate(out["actual_fund"], out["plan_fund_reporting"])
    return out.reset_index(drop=True)


def by_category(track: Track) -> "pd.DataFrame":
    """One row per 大項目 in menu order (see ``_grouped``)."""
    frame = track.menu.groupby("category", sort=False).size().rename("n_leaves").reset_index()
    return _grouped(track, ["category"], frame)


def by_mid_category(track: Track) -> "pd.DataFrame":
    """One row per (大項目, 中項目) in menu order."""
    frame = (track.menu.groupby(["category", "mid_category"], sort=False).size()
             .rename("n_leaves").reset_index())
    return _grouped(track, ["category", "mid_category"], frame)


def by_leaf(track: Track) -> "pd.DataFrame":
    """One row per menu leaf in menu order."""
    frame = track.menu[["leaf_code", "category", "mid_category", "item_no", "item_name",
                        "sub_item", "sub_item_name", "owner", "joint"]]
    return _grouped(track, ["leaf_code"], frame)


def by_bureau(track: Track) -> "pd.DataFrame":
    """One row per owner (担当課, a joint item once as 「共管: …」), as the summary orders
    them: the rows partition the leaves."""
    from budget.menu import bureau_list, known_bureaus

    m = track.menu
    frame = m.groupby(["owner", "joint"], sort=False).size().rename("n_leaves").reset_index()
    known = list(known_bureaus())
    present = sorted({b for s in m["bureaus"] for b in bureau_list(s)},
                     key=lambda b: (known.index(b) if b in known else len(known), b))
    order = {b: i for i, b in enumerate(present)}
    frame["_order"] = [(1, i) if joint else (0, order.get(owner, len(order)))
                       for i, (owner, joint) in enumerate(zip(frame["owner"], frame["joint"]))]
    frame = frame.sort_values("_order", kind="stable").drop(columns="_order")
    return _grouped(track, ["owner"], frame.reset_index(drop=True))


#: The tidy table's stages (its ``stage`` column) and their Japanese names.
TIDY_STAGES: dict[str, str] = {"request": "要望", "allocation": "内示",
                               "plan_first": "計画（当初）", "plan": "計画（現在）",
                               "actual": "実績"}
#: Columns of the tidy table, with their Japanese headers (the CSV header row).
TIDY_COLUMNS: dict[str, str] = {
    "fiscal_year": "年度",
    "stage": "段階コード",
    "stage_ja": "段階",
    "round": "内示の回",
    "exec_year": "執行年度",
    **PLACE_LABELS,
    **{k: money_header(k) for k in ("fund", "national", "prefectural", "other", "total")},
    "achievement": "達成状況",
    "output_result": "アウトプット実績",
    "reason": "理由",
    "submission_id": "提出ID",
}


def tidy_track(track: Track) -> "pd.DataFrame":
    """One row per value the track counts, long: per stage (``TIDY_STAGES``) and prefecture,
    each entered leaf (内示: one row per round, no leaf; 実績: per execution year), money in
    千円 (NA = blank), texts as sent. Columns ``TIDY_COLUMNS``."""
    import pandas as pd

    ids = track.prefectures
    frames = [track.plan_rows]
    a = track.allocations.assign(stage="allocation")
    frames.append(a)
    act = track.actuals.rename(columns={
        "actual_fund": "fund", "actual_national": "national",
        "actual_prefectural": "prefectural", "actual_other": "other",
        "actual_total": "total"}).assign(stage="actual")
    frames.append(act)
    df = pd.concat([f.reset_index(drop=True) for f in frames], ignore_index=True)
    df = df.merge(track.menu[["leaf_code", "item_no", "item_name", "sub_item", "sub_item_name",
                              "category", "mid_category", "owner"]], on="leaf_code", how="left")
    names = dict(zip(ids["prefecture_code"], ids["prefecture_name"]))
    df["fiscal_year"] = track.fiscal_year
    df["stage_ja"] = df["stage"].map(TIDY_STAGES)
    df["prefecture_name"] = df["prefecture_code"].map(names)
    df["prefecture"] = df["prefecture_code"] + " " + df["prefecture_name"]
    order = {s: i for i, s in enumerate(TIDY_STAGES)}
    morder = dict(zip(track.menu["leaf_code"], track.menu["menu_order"]))
    df["_s"] = df["stage"].map(order)
    df["_m"] = df["leaf_code"].map(morder).fillna(-1)
    df["_r"] = df["round"].map(lambda r: int(r) if isinstance(r, str) and r.isdigit() else 0) \
        if "round" in df.columns else 0
    df = df.sort_values(["_s", "_r", "prefecture_code", "exec_year", "_m"], kind="stable",
                        na_position="first")
    out = df.reindex(columns=list(TIDY_COLUMNS)).reset_index(drop=True)
    for col in ("fund", "national", "prefectural", "other", "total", "submission_id",
                "item_no", "exec_year"):
        out[col] = pd.array([None if pd.isna(v) else int(v) for v in out[col]], dtype="Int64")
    for col in ("stage", "stage_ja", "round", "prefecture_code", "prefecture_name", "prefecture",
                "leaf_code", "item_name", "sub_item", "sub_item_name", "category",
                "mid_category", "owner", "achievement", "output_result", "reason"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out
