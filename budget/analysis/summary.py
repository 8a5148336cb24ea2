"""Aggregate the current accepted plans of a fiscal year: store → summary DataFrames.

Pure pandas: the only I/O is reading the store. ``load_summary`` reads once and returns a
``Summary`` (the menu, the 47 prefectures' submission status, and the planned rows of the
included prefectures as a tidy long table); every ``totals_*`` / ``*_matrix`` function turns
a ``Summary`` into one table. ``budget.render.summary_workbook`` writes them.

Rules the tables follow (the summary workbook says them to its readers too):

* A prefecture *plans* a leaf when any of its amount inputs there (国 A, 都道府県 B, その他 C,
  公, 民, 受託) is non-blank; an entered 0 is a plan of 0. Blank rows are not plans and
  appear in no table; a sum over nothing but blanks stays blank (NA), never 0.
* Only each prefecture's current (newest accepted) submission is counted; for the plan,
  the newest accepted 計画 or 変更 (a 変更 is the plan's next version). A prefecture with
  no accepted submission is *missing* (未提出) or *rejected* (差戻し) and is listed as such,
  never counted as zero.
* Each leaf has one *owner* (担当課): its bureau, or for an item with several bureaus one
  joint owner 「共管: a／b」. Owners partition the leaves, so the bureau totals add up to
  the grand total and a joint item is counted once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from budget.findings import STATUS_JA
from budget.forms import plan as layout

if TYPE_CHECKING:
    import pandas as pd

    from budget.store import Store

#: Money columns in the plan workbook's order (G..N); every table carries all of them.
MONEY_KEYS: tuple[str, ...] = layout.MONEY_KEYS
#: The amounts a prefecture types; "planned" means any of these is non-blank.
INPUT_AMOUNT_KEYS: tuple[str, ...] = layout.AMOUNT_KEYS
TEXT_KEYS: tuple[str, ...] = layout.TEXT_KEYS

MONEY_LABELS: dict[str, str] = {
    "total": "総事業費 (A+B+C)",
    "national": "基金 国費 (A)",
    "prefectural": "基金 都道府県 (B)",
    "fund": "基金 計 (A+B)",
    "other": "その他 (C)",
    "public": "国費 (A) のうち公",
    "private": "国費 (A) のうち民",
    "commissioned": "うち受託事業等（再掲）",
}

#: The reason a used submission is counted (the summary workbook's wording).
USED_REASON = "集計に使用（受理された最新の提出）"

JOINT_PREFIX = "共管: "
JOINT_SEPARATOR = "／"

#: Sentences the workbook prints so a reader knows how the figures were made.
PLANNED_RULE = ("「計画あり」= その事業の金額欄（国 A・都道府県 B・その他 C・公・民・受託）のいずれかに"
                "入力がある（0 を含む）こと。空欄の事業は計画なしとして数えません。")
JOINT_RULE = ("複数の担当課が所管する事業（共管事業）は、担当課別の表では「共管: 課名／課名」の1行に"
              "まとめて計上し、各課の行には含めません（二重計上を避けるため、担当課別の合計は総計と一致します）。")
MISSING_RULE = ("未提出・差戻しの都道府県は 0 として扱わず、集計から除外しています"
                "（都道府県別の表では空欄）。")


@dataclass
class Summary:
    """Everything the summary tables are made from (one fiscal year, one stage)."""

    fiscal_year: int
    menu: "pd.DataFrame"  # leaves in menu order, plus ``owner`` and ``joint``
    overview: "pd.DataFrame"  # the 47 prefectures, one row each (see ``submission_overview``)
    detail: "pd.DataFrame"  # planned rows of included prefectures, joined with the menu
    sources: "pd.DataFrame"  # the submissions counted, with template version and menu fingerprint
    menu_fingerprint: str = ""
    menu_source: str = ""
    bureau: str | None = None  # set when narrowed to one 担当課 by ``summary_for_bureau``
    notes: list[str] = field(default_factory=list)  # Japanese warnings about the data
    #: Every submission of the year that was considered, used or not, with the reason (see
    #: ``considered_submissions``); None when the summary was built without a store.
    inputs: "pd.DataFrame | None" = None

    @property
    def included(self) -> list[str]:
        """Codes of the prefectures whose plans are counted."""
        return self.codes_with_status("accepted")

    def codes_with_status(self, status: str) -> list[str]:
        ov = self.overview
        return ov.loc[ov["status"] == status, "prefecture_code"].tolist()

    def names_with_status(self, status: str) -> list[str]:
        ov = self.overview
        return ov.loc[ov["status"] == status, "prefecture_name"].tolist()

    @property
    def complete(self) -> bool:
        """True when all 47 prefectures have an accepted plan."""
        return bool((self.overview["status"] == "accepted").all())


# --- Reading ---------------------------------------------------------------------------


def owner_label(bureaus: str) -> str:
    """The one 担当課 a leaf is counted under: ``"a"`` → ``"a"``, ``"a;b"`` → ``"共管: a／b"``."""
    from budget.menu import bureau_list

    names = bureau_list(bureaus)
    return names[0] if len(names) == 1 else JOINT_PREFIX + JOINT_SEPARATOR.join(names)


def menu_with_owners(menu: "pd.DataFrame") -> "pd.DataFrame":
    """The menu's leaves with ``owner`` (see ``owner_label``) and ``joint`` (several bureaus)."""
    from budget.menu import BUREAU_SEPARATOR

    m = menu.reset_index(drop=True).copy()
    m["owner"] = m["bureaus"].map(owner_label)
    m["joint"] = m["bureaus"].str.contains(BUREAU_SEPARATOR, regex=False)
    m["menu_order"] = range(len(m))
    return m


def submission_overview(submissions: "pd.DataFrame") -> "pd.DataFrame":
    """The 47 prefectures in code order with the submission each one is counted by.

    ``submissions`` is ``Store.current_submissions``. Columns: prefecture_code,
    prefecture_name, status (missing / accepted / rejected), status_ja (未提出 / 受理 /
    差戻し), submission_id, file_name, sha256, received_at (of the accepted submission used,
    or for a rejected prefecture of its newest rejected one), n_submissions, n_rejected,
    latest_status, latest_file_name, latest_received_at, department, contact_name,
    n_errors, n_warnings, stored_under (the prefecture of the counted submission's form: the
    row's own, another one's for a file sent on its form, NA when it could not be read),
    note (Japanese, e.g. a newer submission was rejected, or why a file with this
    prefecture's name counts here although its form was another's). Whose submission a file
    is was decided at ingest and stored (``budget.intake.batch.attribution``).
    """
    import pandas as pd

    from budget.fiscal import local_time, short_time
    from budget.prefectures import all_prefectures

    prefs = pd.DataFrame({"prefecture_code": [p.code for p in all_prefectures()],
                          "prefecture_name": [p.name_ja for p in all_prefectures()]})
    cols = ["prefecture_code", "submission_id", "status", "file_name", "sha256", "received_at",
            "n_submissions", "n_rejected", "latest_status", "latest_file_name",
            "latest_received_at", "department", "contact_name", "n_errors", "n_warnings",
            "form_prefecture_code", "attribution_note"]
    sub = submissions.reindex(columns=cols)
    ov = prefs.merge(sub, on="prefecture_code", how="left")
    ov["status"] = ov["status"].fillna("missing")
    ov["status_ja"] = ov["status"].map(STATUS_JA)
    ov["stored_under"] = ov["form_prefecture_code"].where(ov["status"] != "missing")
    ov = ov.drop(columns="form_prefecture_code")
    for col in ("submission_id", "n_submissions", "n_rejected", "n_errors", "n_warnings"):
        ov[col] = ov[col].astype("Int64")
    ov["n_submissions"] = ov["n_submissions"].fillna(0)
    ov["n_rejected"] = ov["n_rejected"].fillna(0)

    def note(r: "pd.Series") -> str:
        if r["status"] == "missing":
            return "提出なし"
        if r["status"] == "rejected":
            why = r["attribution_note"]
            if isinstance(why, str) and why:
                wait = "本県の様式での再提出待ち" if isinstance(r["stored_under"], str) \
                    else "再提出待ち"
                return f"{why}（差戻し）。{wait}"
            return f"受理できる提出なし（差戻し {int(r['n_rejected'])} 件）。再提出待ち"
        if r["latest_status"] == "rejected":
            when = short_time(local_time(r["latest_received_at"]))
            return (f"最新の提出（{r['latest_file_name']}、{when}）は差戻し。"
                    "受理済みの提出を集計")
        return ""

    ov["note"] = ov.apply(note, axis=1).astype("string")
    return ov.drop(columns="attribution_note")


def _sources(store: "Store", ids: list[int]) -> "pd.DataFrame":
    """template_version and menu_fingerprint of the submissions counted (read-only query)."""
    import pandas as pd

    if not ids:
        return pd.DataFrame({"submission_id": pd.Series([], dtype="Int64"),
                             "template_version": pd.Series([], dtype="string"),
                             "menu_fingerprint": pd.Series([], dtype="string")})
    return store.submission_details(ids).astype({"submission_id": "Int64"})


#: Columns of ``considered_submissions``.
INPUT_COLUMNS = ("prefecture_code", "prefecture_name", "submission_id", "file_name", "sha256",
                 "received_at", "size", "template_version", "menu_fingerprint", "status",
                 "status_ja", "n_errors", "n_warnings", "used", "use_ja", "reason")
USE_LABELS = {True: "使用", False: "不使用"}
_REASON_LIMIT = 160


def considered_submissions(store: "Store", fiscal_year: int, overview: "pd.DataFrame", *,
                           stage: str | None = None) -> "pd.DataFrame":
    """Every submission the store counts for the year and ``stage`` (whose and which year
    were decided at ingest: a file rejected without a readable year counts for the year its
    name carries) — accepted ones used, accepted ones superseded by a newer accepted one,
    rejected ones.

    ``overview`` is ``submission_overview``'s: its accepted ``submission_id`` s are the ones
    used. One row per submission, ordered by prefecture code and time received; columns
    ``INPUT_COLUMNS``: ``used`` (bool) and ``use_ja`` (使用 / 不使用), ``reason`` (Japanese:
    why it is or is not counted). The cost grows with the year's submissions only.
    """
    import pandas as pd

    from budget.prefectures import all_prefectures
    from budget.store import PLAN_STAGE

    stage = stage or PLAN_STAGE
    subs = store.submissions(fiscal_year)
    subs = subs[subs["stage"].isin(_family(stage))]
    names = {p.code: p.name_ja for p in all_prefectures()}
    used_ids = {int(i) for i in overview.loc[overview["status"] == "accepted", "submission_id"]}
    current = {int(r.submission_id): r for r in overview.itertuples(index=False)
               if r.status == "accepted"}
    current_by_code = {r.prefecture_code: r for r in current.values()}
    first_errors = store.first_errors(
        [int(i) for i, st in zip(subs["id"], subs["status"]) if st != "accepted"])

    records = []
    for r in subs.to_dict("records"):
        sid = int(r["id"])
        code = r.get("prefecture_code")
        code = None if code is None or code != code else str(code)
        status = str(r["status"])
        used = sid in used_ids
        if used:
            reason = USED_REASON
        elif status == "accepted":
            newer = current_by_code.get(code)
            reason = ("より新しい受理済みの提出"
                      + (f"（{newer.file_name}）" if newer is not None else "")
                      + "に置き換えられたため不使用")
        else:
            first = first_errors.get(sid)
            reason = f"差戻し（エラー {layout.int_or_none(r.get('n_errors')) or 0} 件）"
            if first is not None:
                reason += f": {first}"
            if len(reason) > _REASON_LIMIT:
                reason = reason[:_REASON_LIMIT - 1] + "…"
        records.append({
            "prefecture_code": code,
            "prefecture_name": names.get(code or "", None),
            "submission_id": sid,
            "file_name": r["file_name"],
            "sha256": r["sha256"],
            "received_at": r["received_at"],
            "size": r.get("size"),
            "template_version": r.get("template_version"),
            "menu_fingerprint": r.get("menu_fingerprint"),
            "status": status,
            "status_ja": STATUS_JA.get(status, status),
            "n_errors": r.get("n_errors"),
            "n_warnings": r.get("n_warnings"),
            "used": used,
            "use_ja": USE_LABELS[used],
            "reason": reason,
            "_order": (code or "99", str(r["received_at"]), sid),
        })
    if not records:
        out = pd.DataFrame({c: pd.Series([], dtype="object") for c in INPUT_COLUMNS})
    else:
        out = pd.DataFrame(sorted(records, key=lambda x: x["_order"])).drop(columns="_order")
    for col in ("submission_id", "size", "n_errors", "n_warnings"):
        out[col] = pd.array([layout.int_or_none(v) for v in out[col]], dtype="Int64")
    out["used"] = out["used"].astype(bool)
    for col in INPUT_COLUMNS:
        if col not in ("submission_id", "size", "n_errors", "n_warnings", "used"):
            out[col] = out[col].astype("string")
    return out[list(INPUT_COLUMNS)].reset_index(drop=True)


#: The stage of a revised plan (変更): its submissions count as the plan's next versions.
REVISION_STAGE = "revision"


def _family(stage: str | None) -> tuple[str, ...]:
    """The stages a current submission is chosen among: the plan's are 計画 and 変更."""
    from budget.store import PLAN_STAGE

    stage = stage or PLAN_STAGE
    return (PLAN_STAGE, REVISION_STAGE) if stage in (PLAN_STAGE, REVISION_STAGE) else (stage,)


def current_stage_submissions(store: "Store", fiscal_year: int, stage: str | None = None
                              ) -> "pd.DataFrame":
    """``Store.current_submissions`` of ``stage`` (default the plan), where the plan's
    current submission is the newest accepted 計画 *or* 変更 (else the newest rejected of
    either): the same columns, counts (n_submissions, n_rejected) and latest_* over both."""
    import pandas as pd

    family = _family(stage)
    frames = [store.current_submissions(fiscal_year, s) for s in family]
    if len(frames) == 1 or frames[1].empty:
        return frames[0]
    if frames[0].empty:
        return frames[1]
    both = pd.concat(frames, ignore_index=True)
    both["_accepted"] = both["status"] == "accepted"
    pick = both.sort_values(["_accepted", "received_at", "submission_id"], ascending=False,
                            kind="stable").drop_duplicates("prefecture_code")
    latest_cols = ["latest_status", "latest_file_name", "latest_received_at"]
    latest = both.sort_values(["latest_received_at", "submission_id"], ascending=False,
                              kind="stable").drop_duplicates("prefecture_code")
    counts = both.groupby("prefecture_code")[["n_submissions", "n_rejected"]].sum()
    out = pick.drop(columns=[*latest_cols, "n_submissions", "n_rejected", "_accepted"])
    out = out.merge(latest[["prefecture_code", *latest_cols]], on="prefecture_code")
    out = out.merge(counts.reset_index(), on="prefecture_code")
    return out[[c for c in frames[0].columns if c in out.columns]
               + [c for c in out.columns if c not in frames[0].columns]] \
        .sort_values("prefecture_code").reset_index(drop=True)


def current_stage_amounts(store: "Store", fiscal_year: int, stage: str | None = None
                          ) -> "pd.DataFrame":
    """``Store.current_amounts`` of ``stage`` (default the plan), the plan's taken from each
    prefecture's current 計画 or 変更 (``current_stage_submissions``)."""
    import pandas as pd

    family = _family(stage)
    frames = [store.current_amounts(fiscal_year, s) for s in family]
    if len(frames) == 1 or frames[1].empty:
        return frames[0]
    current = current_stage_submissions(store, fiscal_year, stage)
    ids = set(current.loc[current["status"] == "accepted", "submission_id"].astype(int))
    both = pd.concat([f for f in frames if not f.empty], ignore_index=True)
    both = both[both["submission_id"].astype(int).isin(ids)]
    return both.sort_values(["prefecture_code", "leaf_code"], kind="stable") \
        .reset_index(drop=True)


def plan_amounts(amounts: "pd.DataFrame") -> "pd.DataFrame":
    """``Store.current_amounts`` with every column of the plan form, a field no stored
    submission has (e.g. an empty store) added blank: money as Int64, texts as object."""
    import pandas as pd

    out = amounts.copy()
    for key in MONEY_KEYS:
        if key not in out.columns:
            out[key] = pd.array([None] * len(out), dtype="Int64")
    for key in TEXT_KEYS:
        if key not in out.columns:
            out[key] = pd.Series([None] * len(out), index=out.index, dtype="object")
    return out


def planned_mask(amounts: "pd.DataFrame") -> "pd.Series":
    """True on rows where any amount input is non-blank (see the module docstring)."""
    return amounts[list(INPUT_AMOUNT_KEYS)].notna().any(axis=1)


def load_summary(store: "Store", fiscal_year: int, menu: "pd.DataFrame", *,
                 stage: str | None = None) -> Summary:
    """Read the year's current submissions and amounts from the store into a ``Summary``."""
    import pandas as pd

    from budget.menu import earlier_editions, menu_fingerprint
    from budget.prefectures import all_prefectures

    m = menu_with_owners(menu)
    overview = submission_overview(current_stage_submissions(store, fiscal_year, stage))
    amounts = plan_amounts(current_stage_amounts(store, fiscal_year, stage))
    notes: list[str] = []

    planned = amounts[planned_mask(amounts)].copy()
    # The formula columns are the workbook's arithmetic; fill them where a store row lacks them.
    for key in layout.FORMULA_KEYS:
        lacking = planned[key].isna()
        if lacking.any():
            parts = planned.loc[lacking, list(layout.FORMULA_PARTS[key])].astype(object)
            planned.loc[lacking, key] = pd.array(
                [layout.row_formula_value(key, r) for r in parts.to_dict("records")],
                dtype="Int64")

    unknown = planned[~planned["leaf_code"].isin(m["leaf_code"])]
    if len(unknown):
        for code, leaves in unknown.groupby("prefecture_code")["leaf_code"]:
            notes.append(f"{code}: メニューにない事業コード {', '.join(sorted(set(leaves)))} の金額は"
                         "集計していません。")
        planned = planned[planned["leaf_code"].isin(m["leaf_code"])]

    names = {p.code: p.name_ja for p in all_prefectures()}
    menu_cols = ["leaf_code", "category", "mid_category", "item_no", "item_name", "sub_item",
                 "sub_item_name", "bureaus", "owner", "joint", "menu_order"]
    detail = planned.merge(m[menu_cols], on="leaf_code", how="inner")
    detail.insert(0, "fiscal_year", fiscal_year)
    detail.insert(2, "prefecture_name", detail["prefecture_code"].map(names).astype("string"))
    detail = detail.sort_values(["prefecture_code", "menu_order"], kind="stable")
    detail = detail.reset_index(drop=True)
    for col in MONEY_KEYS:
        detail[col] = detail[col].astype("Int64")

    sources = overview.loc[overview["status"] == "accepted",
                           ["prefecture_code", "prefecture_name", "submission_id", "file_name",
                            "sha256", "received_at"]]
    extra = _sources(store, [int(i) for i in sources["submission_id"]])
    sources = sources.merge(extra, on="submission_id", how="left").reset_index(drop=True)
    fingerprint = menu_fingerprint(menu)
    other_menu = sources[sources["menu_fingerprint"].notna()
                         & (sources["menu_fingerprint"] != fingerprint)
                         & ~sources["menu_fingerprint"].isin(list(earlier_editions(menu)))]
    for r in other_menu.itertuples(index=False):
        notes.append(f"{r.prefecture_code} {r.prefecture_name}: 提出ファイルのメニュー識別子 "
                     f"{r.menu_fingerprint} が集計に使ったメニュー（{fingerprint}）と異なります。")
    inputs = considered_submissions(store, fiscal_year, overview, stage=stage)
    return Summary(fiscal_year, m, overview, detail, sources, fingerprint,
                   str(menu.attrs.get("source", "")), None, notes, inputs)


def bureaus_of(summary: Summary) -> list[str]:
    """The single bureaus of the summary's menu, in ``bureaus.csv`` order."""
    from budget.menu import bureau_list, known_bureaus

    present = {b for s in summary.menu["bureaus"] for b in bureau_list(s)}
    order = list(known_bureaus())
    return sorted(present, key=lambda b: (order.index(b) if b in order else len(order), b))


def summary_for_bureau(summary: Summary, bureau: str) -> Summary:
    """The summary narrowed to the leaves a bureau (co-)owns; joint items are kept whole."""
    from budget.menu import bureau_list

    keep = summary.menu["bureaus"].map(lambda s: bureau in bureau_list(s))
    menu = summary.menu[keep].reset_index(drop=True)
    detail = summary.detail[summary.detail["leaf_code"].isin(menu["leaf_code"])]
    return replace(summary, menu=menu, detail=detail.reset_index(drop=True), bureau=bureau)


# --- Tables ----------------------------------------------------------------------------


def grand_totals(summary: Summary) -> "pd.Series":
    """Sum of each money column over every planned row (NA where nothing was entered)."""
    return summary.detail[list(MONEY_KEYS)].sum(min_count=1)


def _grouped(summary: Summary, keys: list[str], frame: "pd.DataFrame") -> "pd.DataFrame":
    """``frame`` (one row per group, in display order) + the money sums of each group, the
    share of the grand 基金 (A+B) and the number of prefectures planning in the group."""
    import pandas as pd

    d = summary.detail
    g = d.groupby(keys, sort=False, dropna=False)
    sums = g[list(MONEY_KEYS)].sum(min_count=1)
    counts = g["prefecture_code"].nunique().rename("n_prefectures")
    out = frame.merge(sums.reset_index(), on=keys, how="left")
    out = out.merge(counts.reset_index(), on=keys, how="left")
    for col in MONEY_KEYS:
        out[col] = out[col].astype("Int64")
    out["n_prefectures"] = out["n_prefectures"].fillna(0).astype("Int64")
    fund = grand_totals(summary)["fund"]
    out["share"] = (out["fund"].astype("Float64") / fund) if pd.notna(fund) and fund else pd.NA
    out["share"] = out["share"].astype("Float64")
    return out.reset_index(drop=True)


def totals_by_category(summary: Summary) -> "pd.DataFrame":
    """One row per 大項目 (区分) in menu order: category, n_leaves, money, share, n_prefectures."""
    m = summary.menu
    frame = m.groupby("category", sort=False).size().rename("n_leaves").reset_index()
    return _grouped(summary, ["category"], frame)


def totals_by_mid_category(summary: Summary) -> "pd.DataFrame":
    """One row per (大項目, 中項目) in order of first appearance in the menu.

    A blank 中項目 (item 40 of R5) is its own group, labelled by ``mid_category`` "".
    """
    m = summary.menu
    frame = (m.groupby(["category", "mid_category"], sort=False).size()
             .rename("n_leaves").reset_index())
    return _grouped(summary, ["category", "mid_category"], frame)


def totals_by_leaf(summary: Summary) -> "pd.DataFrame":
    """One row per menu leaf (item or sub-item) in menu order, unplanned leaves included."""
    m = summary.menu
    frame = m[["leaf_code", "category", "mid_category", "item_no", "item_name", "sub_item",
               "sub_item_name", "bureaus", "owner", "joint"]]
    return _grouped(summary, ["leaf_code"], frame)


def totals_by_bureau(summary: Summary) -> "pd.DataFrame":
    """One row per owner (担当課, or 共管 of several): owners partition the leaves, so the
    rows add up to the grand total. Single bureaus first (``bureaus.csv`` order), then joint
    owners in menu order. Columns: owner, joint, n_leaves, money, share, n_prefectures."""
    m = summary.menu
    order = {b: i for i, b in enumerate(bureaus_of(summary))}
    frame = (m.groupby(["owner", "joint"], sort=False).size().rename("n_leaves").reset_index())
    frame["_order"] = [
        (1, j) if joint else (0, order.get(owner, len(order)))
        for j, (owner, joint) in enumerate(zip(frame["owner"], frame["joint"]))
    ]
    frame = frame.sort_values("_order", kind="stable").drop(columns="_order")
    return _grouped(summary, ["owner"], frame.reset_index(drop=True))


def totals_by_prefecture(summary: Summary) -> "pd.DataFrame":
    """The 47 prefectures in code order: status, money (NA when not included), share of the
    grand 基金 (A+B), n_leaves (leaves planned; NA when not included)."""
    ov = summary.overview
    frame = ov[["prefecture_code", "prefecture_name", "status", "status_ja"]]
    out = _grouped(summary, ["prefecture_code"], frame)
    n = summary.detail.groupby("prefecture_code")["leaf_code"].nunique()
    out["n_leaves"] = out["prefecture_code"].map(n).astype("Int64")
    included = out["status"] == "accepted"
    out.loc[included, "n_leaves"] = out.loc[included, "n_leaves"].fillna(0)
    return out.drop(columns="n_prefectures")


def prefecture_leaf_matrix(summary: Summary, key: str = "fund") -> "pd.DataFrame":
    """47 prefectures (index: code) × menu leaves (columns: leaf codes in menu order) of one
    money column (default 基金 A+B). Blank where a prefecture plans nothing there or is not
    included."""
    return _matrix(summary, "leaf_code", summary.menu["leaf_code"].tolist(), key)


def prefecture_category_matrix(summary: Summary, key: str = "fund") -> "pd.DataFrame":
    """47 prefectures × 大項目 (in menu order) of one money column."""
    cats = list(dict.fromkeys(summary.menu["category"]))
    return _matrix(summary, "category", cats, key)


def _matrix(summary: Summary, column: str, order: list[str], key: str) -> "pd.DataFrame":
    d = summary.detail
    sums = d.groupby(["prefecture_code", column])[key].sum(min_count=1)  # blank stays blank
    wide = sums.unstack(column) if len(sums) else sums.to_frame().iloc[:, :0]
    wide = wide.reindex(index=summary.overview["prefecture_code"].tolist(), columns=order)
    wide.index.name = "prefecture_code"
    wide.columns.name = column
    return wide.astype("Int64")


def headline_figures(summary: Summary) -> "pd.DataFrame":
    """The 総括 rows: key, label, value (千円, NA when nothing was entered)."""
    import pandas as pd

    totals = grand_totals(summary)
    order = ["total", "fund", "national", "prefectural", "other", "public", "private",
             "commissioned"]
    return pd.DataFrame({
        "key": order,
        "label": [MONEY_LABELS[k] for k in order],
        "value": pd.array([totals[k] for k in order], dtype="Int64"),
    })


#: Where a tidy row sits (prefecture, menu leaf), with its Japanese headers: the columns the
#: summary's and the track's tidy tables share.
PLACE_LABELS: dict[str, str] = {
    "prefecture_code": "都道府県コード",
    "prefecture_name": "都道府県",
    "prefecture": "都道府県（コード 名称）",
    "leaf_code": "事業コード",
    "item_no": "事業番号",
    "item_name": "事業名",
    "sub_item": "細目",
    "sub_item_name": "細目名",
    "category": "区分（大項目）",
    "mid_category": "中項目",
    "owner": "担当課",
}


def money_header(key: str) -> str:
    """The tidy tables' header of a money column: ``基金 計 (A+B)（千円）``."""
    return f"{MONEY_LABELS[key]}（千円）"


#: Columns of the tidy long table, with their Japanese headers (the CSV header row).
TIDY_COLUMNS: dict[str, str] = {
    "fiscal_year": "年度",
    **PLACE_LABELS,
    **{k: money_header(k) for k in MONEY_KEYS},
    "implementer": "事業の実施主体",
    "output": "事業量・アウトプット指標",
    "remarks": "備考",
    "submission_id": "提出ID",
}


def tidy_table(summary: Summary) -> "pd.DataFrame":
    """One row per planned (prefecture, leaf) of the included prefectures: the columns of
    ``TIDY_COLUMNS`` (money in 千円, NA = blank). Text is as the prefecture typed it.

    ``prefecture`` is 「01 北海道」, the ministry's usual row label: Excel opening the CSV
    turns the bare code "01" into the number 1, but keeps this text as it is."""
    d = summary.detail
    out = d.reindex(columns=list(TIDY_COLUMNS)).copy()
    out["prefecture"] = (d["prefecture_code"] + " " + d["prefecture_name"]).astype("string")
    out["item_no"] = out["item_no"].astype("Int64")
    out["submission_id"] = out["submission_id"].astype("Int64")
    return out.reset_index(drop=True)
