"""aggregate: the store's current accepted plans → summary DataFrames.

The store is filled with hand-built FileReports (a few prefectures, edge cases on purpose);
every expected figure is written out or summed here from the same literal rows, never
computed with budget.analysis.summary.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from budget.analysis import summary as ag
from budget.attribution import attribution_of
from budget.findings import FileReport, make
from budget.forms import plan as layout
from budget.menu import load_menu, menu_fingerprint
from budget.store import Store, open_store
from tests.conftest import expected_money

YEAR = 2023
JOINT = "共管: 老健局認知症施策・地域介護推進課／老健局老人保健課"
HYPERLINK = '=HYPERLINK("http://evil","x")'

# prefecture → leaf → typed amounts/texts (what a clerk would have entered)
HOKKAIDO = {
    "R5-01": {"national": 2000, "prefectural": 1000, "public": 500, "private": 1500},
    "R5-26": {"national": 600, "prefectural": 300, "other": 100, "public": 0, "private": 600,
              "commissioned": 200},
    "R5-28": {"national": 0, "prefectural": 0},  # an entered 0: planned, amount 0
    "R5-34-ロ": {"national": 10000, "prefectural": 5000, "public": 10000, "private": 0},
}
TOKYO_OLD = {"R5-01": {"national": 99999, "prefectural": 1}}  # superseded by TOKYO
TOKYO = {
    "R5-01": {"national": 4000, "prefectural": 2000, "public": 4000, "private": 0},
    "R5-26": {"national": 300, "prefectural": 150, "public": 300, "private": 0},
    "R5-06-イ": {"other": 500},  # only その他 (C): planned, fund 0
}
OSAKA = {
    "R5-28": {"national": 800, "prefectural": 400, "public": 800, "private": 0,
              "remarks": HYPERLINK},
    "R5-34-ロ": {"national": 20000, "prefectural": 10000, "public": 0, "private": 20000},
}
OKINAWA = {
    "R5-01": {"implementer": "県社会福祉協議会"},  # text only: not planned
    "R5-40": {"national": 3000, "prefectural": 1500, "public": 3000, "private": 0},
}
COUNTED = {"01": HOKKAIDO, "13": TOKYO, "27": OSAKA, "47": OKINAWA}
CATEGORY = {"R5-01": "基盤整備", "R5-06-イ": "参入促進", "R5-26": "資質の向上",
            "R5-28": "資質の向上", "R5-34-ロ": "労働環境・処遇の改善", "R5-40": "労働環境・処遇の改善"}


def planned(row: dict) -> bool:
    return any(row.get(k) is not None for k in layout.AMOUNT_KEYS)


def plan_frame(menu: pd.DataFrame, rows: dict[str, dict]) -> pd.DataFrame:
    records = []
    for i, leaf in enumerate(menu["leaf_code"]):
        given = rows.get(leaf, {})
        rec = {"leaf_code": leaf, "excel_row": layout.FIRST_DATA_ROW + i}
        for key in layout.MONEY_KEYS:
            rec[key] = expected_money(given, key) if planned(given) else given.get(key)
        for key in layout.TEXT_KEYS:
            rec[key] = given.get(key)
        records.append(rec)
    df = pd.DataFrame(records)
    for key in layout.MONEY_KEYS:
        df[key] = df[key].astype("Int64")
    return df


def save(store: Store, menu: pd.DataFrame, code: str, rows: dict | None, received_at: str,
         *, tag: str = "", extra_rows: list[dict] | None = None) -> None:
    """Save one submission: accepted with ``rows``, or rejected when ``rows`` is None."""
    content = f"{code}-{received_at}-{tag}".encode()
    name = f"{code}_{tag or 'plan'}.xlsx"
    report = FileReport(file=name, sha256=hashlib.sha256(content).hexdigest(),
                        size=len(content), fiscal_year=YEAR, prefecture_code=code,
                        template_version=layout.TEMPLATE_VERSION,
                        menu_fingerprint=menu_fingerprint(menu),
                        header={"department": f"{code} 高齢福祉課"})
    if rows is None:
        report.findings.append(make("negative-amount", file=name, sheet="計画", cell="I8",
                                    leaf_code="R5-01", leaf_name="x", value="-500"))
    else:
        plan = plan_frame(menu, rows)
        if extra_rows:
            plan = pd.concat([plan, pd.DataFrame(extra_rows)], ignore_index=True)
            for key in layout.MONEY_KEYS:
                plan[key] = plan[key].astype("Int64")
        report.plan = plan
    store.save(report, content, received_at=received_at)


@pytest.fixture(scope="module")
def menu():
    return load_menu(YEAR)


@pytest.fixture(scope="module")
def summary(tmp_path_factory, menu):
    db = tmp_path_factory.mktemp("agg") / "budget.db"
    with open_store(db) as store:
        save(store, menu, "01", HOKKAIDO, "2023-06-01T09:00:00+00:00")
        save(store, menu, "13", TOKYO_OLD, "2023-05-01T09:00:00+00:00", tag="old")
        save(store, menu, "13", TOKYO, "2023-06-02T09:00:00+00:00", tag="new")
        save(store, menu, "27", OSAKA, "2023-06-01T10:00:00+00:00")
        save(store, menu, "27", None, "2023-06-20T10:00:00+00:00", tag="later-bad")
        save(store, menu, "05", None, "2023-06-03T09:00:00+00:00", tag="bad")
        save(store, menu, "47", OKINAWA, "2023-06-04T09:00:00+00:00",
             extra_rows=[{"leaf_code": "R4-99", "excel_row": 99, "national": 70,
                          "prefectural": 35}])
        # A neighbour's template under our name (its form is the neighbour's), an unreadable
        # file (no code, no year), and an old year's unreadable file: whose they are and
        # which year is decided as ingest decides it (by the file name).
        for name, code, year in (("41_佐賀県_R5_計画.xlsx", "42", YEAR),
                                 ("30_和歌山県_R5_計画.xlsx", None, None),
                                 ("31_鳥取県_R4_計画.xlsx", None, None)):
            content = name.encode()
            bad = FileReport(file=name, sha256=hashlib.sha256(content).hexdigest(),
                             size=len(content), fiscal_year=year, prefecture_code=code,
                             findings=[make("corrupt-workbook", file=name, detail="x")])
            store.save(bad, content, attribution=attribution_of(bad),
                       received_at="2023-06-05T00:00:00+00:00")
        # Another fiscal year must not leak in.
        other = FileReport(file="x.xlsx", sha256="0" * 64, size=1, fiscal_year=2022,
                           prefecture_code="02", plan=plan_frame(menu, HOKKAIDO))
        store.save(other, b"x", received_at="2022-06-01T00:00:00+00:00")
        yield ag.load_summary(store, YEAR, menu)


def expected_sum(leaves: set[str] | None, key: str) -> int | None:
    """Sum of ``key`` over the counted prefectures' planned rows (None: nothing entered)."""
    values = [expected_money(row, key) for rows in COUNTED.values() for leaf, row in rows.items()
              if planned(row) and (leaves is None or leaf in leaves)]
    values = [v for v in values if v is not None]
    return sum(values) if values else None


def test_overview_lists_all_47_with_status(summary):
    ov = summary.overview.set_index("prefecture_code")
    assert len(ov) == 47
    assert ov.loc["01", "status_ja"] == "受理"
    assert ov.loc["05", "status_ja"] == "差戻し"
    assert ov.loc["02", "status_ja"] == "未提出"  # its FY2022 plan does not count for FY2023
    assert ov.loc["13", "file_name"] == "13_new.xlsx"
    assert ov.loc["27", "file_name"] == "27_plan.xlsx"
    assert ov.loc["27", "latest_status"] == "rejected"
    assert "差戻し" in ov.loc["27", "note"] and "受理済み" in ov.loc["27", "note"]
    assert summary.included == ["01", "13", "27", "47"]
    assert summary.codes_with_status("rejected") == ["05", "30", "41"]
    assert len(summary.codes_with_status("missing")) == 47 - 7
    assert ov.loc["31", "status_ja"] == "未提出"  # its file name is of another year
    # 41's plan sent on 42's form is 41's (decided at ingest): 42 sent nothing
    assert ov.loc["42", ["status_ja", "n_submissions"]].tolist() == ["未提出", 0]
    assert ov.loc["41", ["n_submissions", "n_rejected", "stored_under"]].tolist() == [1, 1, "42"]
    assert ov.loc["41", "file_name"] == "41_佐賀県_R5_計画.xlsx"
    assert ov.loc["41", "note"] == ("ファイル名は本県のものですが、様式は 42 長崎県 のものでした"
                                    "（差戻し）。本県の様式での再提出待ち")
    assert ov.loc["30", "note"].startswith("ファイル名は本県のものですが、ファイルを読み取れません")
    assert not summary.complete


def test_grand_totals_and_headline(summary):
    grand = ag.grand_totals(summary)
    for key in layout.MONEY_KEYS:
        want = expected_sum(None, key)
        assert (None if pd.isna(grand[key]) else int(grand[key])) == want, key
    # fund by hand: 3000+900+0+15000 (北海道) + 6000+450+0 (東京) + 1200+30000 (大阪) + 4500 (沖縄)
    assert grand["fund"] == 61050
    head = ag.headline_figures(summary).set_index("key")
    assert head.loc["fund", "value"] == 61050
    assert head.loc["fund", "label"] == "基金 計 (A+B)"


def test_unknown_leaf_codes_are_reported_not_counted(summary):
    assert summary.notes == ["47: メニューにない事業コード R4-99 の金額は集計していません。"]
    assert "R4-99" not in set(summary.detail["leaf_code"])


def test_totals_by_category_add_up(summary):
    df = ag.totals_by_category(summary).set_index("category")
    assert list(df.index) == ["基盤整備", "参入促進", "資質の向上", "労働環境・処遇の改善"]
    for cat in df.index:
        leaves = {leaf for leaf, c in CATEGORY.items() if c == cat}
        for key in layout.MONEY_KEYS:
            want = expected_sum(leaves, key)
            got = df.loc[cat, key]
            assert (None if pd.isna(got) else int(got)) == want, (cat, key)
    assert df["fund"].sum() == 61050
    assert df.loc["基盤整備", "n_prefectures"] == 2  # 北海道, 東京 (沖縄's text-only row is no plan)
    assert df.loc["参入促進", "fund"] == 0  # 東京 planned only その他 (C) there
    assert df.loc["参入促進", "other"] == 500
    assert df.loc["基盤整備", "share"] == pytest.approx(9000 / 61050)
    assert df["n_leaves"].sum() == 58


def test_totals_by_mid_category_keep_menu_order_and_blank_group(summary):
    df = ag.totals_by_mid_category(summary)
    assert len(df) == 13
    assert df["fund"].sum() == 61050
    blank = df[df["mid_category"] == ""]
    assert blank["category"].tolist() == ["労働環境・処遇の改善"]
    assert blank["fund"].tolist() == [4500]  # item 40 has no 中項目
    # 介護人材の「すそ野」拡大 appears once even though the menu interleaves it
    assert (df["mid_category"] == "介護人材の「すそ野」拡大").sum() == 1


def test_totals_by_leaf_in_menu_order_with_counts(summary, menu):
    df = ag.totals_by_leaf(summary)
    assert df["leaf_code"].tolist() == menu["leaf_code"].tolist()
    row = df.set_index("leaf_code")
    assert row.loc["R5-01", "fund"] == 3000 + 6000
    assert row.loc["R5-01", "national"] == 2000 + 4000  # 東京's old 99,999 is not counted
    assert row.loc["R5-28", "fund"] == 0 + 1200
    assert row.loc["R5-28", "n_prefectures"] == 2  # 北海道's entered 0 counts as a plan
    assert row.loc["R5-26", "n_prefectures"] == 2
    assert row.loc["R5-26", "commissioned"] == 200
    assert pd.isna(row.loc["R5-02", "fund"]) and row.loc["R5-02", "n_prefectures"] == 0
    assert row.loc["R5-26", "owner"] == JOINT and bool(row.loc["R5-26", "joint"])
    assert row.loc["R5-34-ロ", "share"] == pytest.approx(45000 / 61050)


def test_bureau_totals_add_up_and_joint_item_counted_once(summary):
    df = ag.totals_by_bureau(summary).set_index("owner")
    assert list(df.index) == ["社会・援護局福祉基盤課", "老健局認知症施策・地域介護推進課",
                              "老健局高齢者支援課", "老健局老人保健課", JOINT]
    for key in ("total", "fund", "national", "prefectural", "other"):
        assert df[key].sum() == expected_sum(None, key), key
    assert df.loc[JOINT, "fund"] == 900 + 450  # R5-26 once, not under each bureau
    assert df.loc["老健局老人保健課", "fund"] == 0 + 1200  # R5-28 only
    assert df.loc[JOINT, "n_leaves"] == 1 and df["n_leaves"].sum() == 58
    assert df.loc["老健局高齢者支援課", "fund"] == 45000
    assert df.loc["老健局高齢者支援課", "n_prefectures"] == 2


def test_totals_by_prefecture_never_zero_for_missing(summary):
    df = ag.totals_by_prefecture(summary).set_index("prefecture_code")
    assert len(df) == 47
    assert df.loc["01", "fund"] == 18900 and df.loc["01", "n_leaves"] == 4
    assert df.loc["13", "fund"] == 6450 and df.loc["13", "n_leaves"] == 3
    assert df.loc["47", "fund"] == 4500 and df.loc["47", "n_leaves"] == 1
    for code in ("05", "02", "46"):
        assert pd.isna(df.loc[code, "fund"]) and pd.isna(df.loc[code, "n_leaves"])
        assert pd.isna(df.loc[code, "share"])
    assert df.loc["05", "status_ja"] == "差戻し"
    assert df["fund"].sum() == 61050


def test_matrices_leave_blanks_blank(summary, menu):
    m = ag.prefecture_leaf_matrix(summary)
    assert m.shape == (47, 58)
    assert m.columns.tolist() == menu["leaf_code"].tolist()
    assert m.loc["01", "R5-28"] == 0  # planned with 0
    assert pd.isna(m.loc["01", "R5-02"])  # not planned
    assert pd.isna(m.loc["47", "R5-01"])  # text only
    assert pd.isna(m.loc["05", "R5-01"])  # rejected
    assert m.loc["13", "R5-06-イ"] == 0  # only その他 entered: fund 0, not blank
    assert int(m.sum().sum()) == 61050
    c = ag.prefecture_category_matrix(summary)
    assert c.shape == (47, 4)
    assert c.loc["01", "資質の向上"] == 900 + 0
    assert pd.isna(c.loc["27", "基盤整備"])
    assert int(c.sum().sum()) == 61050


def test_summary_for_bureau_keeps_joint_items_in_each(summary):
    roken = ag.summary_for_bureau(summary, "老健局老人保健課")
    assert roken.menu["leaf_code"].tolist() == ["R5-26", "R5-28"]
    assert ag.grand_totals(roken)["fund"] == 900 + 450 + 0 + 1200
    ninchi = ag.summary_for_bureau(summary, "老健局認知症施策・地域介護推進課")
    assert "R5-26" in ninchi.menu["leaf_code"].tolist()
    assert ag.bureaus_of(summary) == ["社会・援護局福祉基盤課", "老健局認知症施策・地域介護推進課",
                                      "老健局高齢者支援課", "老健局老人保健課"]


def test_tidy_table_has_planned_rows_with_raw_text(summary):
    df = ag.tidy_table(summary)
    assert list(df.columns) == list(ag.TIDY_COLUMNS)
    assert len(df) == 4 + 3 + 2 + 1
    osaka = df[(df["prefecture_code"] == "27") & (df["leaf_code"] == "R5-28")].iloc[0]
    assert osaka["remarks"] == HYPERLINK  # raw here; report.py neutralises on output
    assert osaka["prefecture_name"] == "大阪府" and osaka["owner"] == "老健局老人保健課"
    assert osaka["prefecture"] == "27 大阪府"  # a label Excel cannot turn into a number
    assert set(df["fiscal_year"]) == {2023}


def test_considered_submissions_list_every_file_of_the_year_and_why(summary):
    df = summary.inputs
    assert list(df.columns) == list(ag.INPUT_COLUMNS)
    got = [(r.file_name, None if pd.isna(r.prefecture_code) else r.prefecture_code,
            r.status_ja, r.use_ja) for r in df.itertuples()]
    # FY2022's file and the R4-named unreadable file are not of this year
    assert got == [
        ("01_plan.xlsx", "01", "受理", "使用"),
        ("05_bad.xlsx", "05", "差戻し", "不使用"),
        ("13_old.xlsx", "13", "受理", "不使用"),  # superseded by 13_new
        ("13_new.xlsx", "13", "受理", "使用"),
        ("27_plan.xlsx", "27", "受理", "使用"),
        ("27_later-bad.xlsx", "27", "差戻し", "不使用"),
        ("30_和歌山県_R5_計画.xlsx", "30", "差戻し", "不使用"),  # no code, no year: by name
        ("41_佐賀県_R5_計画.xlsx", "41", "差戻し", "不使用"),  # its name's, on 42's form
        ("47_plan.xlsx", "47", "受理", "使用"),
    ]
    reason = dict(zip(df["file_name"], df["reason"]))
    assert reason["13_old.xlsx"] == "より新しい受理済みの提出（13_new.xlsx）に置き換えられたため不使用"
    assert reason["13_new.xlsx"] == "集計に使用（受理された最新の提出）"
    assert reason["05_bad.xlsx"].startswith("差戻し（エラー 1 件）: 計画!I8")
    assert reason["30_和歌山県_R5_計画.xlsx"].startswith("差戻し（エラー 1 件）: ")
    used = df[df["used"]]
    assert set(used["submission_id"]) == set(summary.sources["submission_id"])
    assert df["sha256"].is_unique and df["sha256"].str.len().eq(64).all()
    assert df.loc[df["file_name"] == "13_old.xlsx", "size"].item() == len(
        b"13-2023-05-01T09:00:00+00:00-old")


def test_owner_label():
    assert ag.owner_label("老健局高齢者支援課") == "老健局高齢者支援課"
    assert ag.owner_label("老健局認知症施策・地域介護推進課;老健局老人保健課") == JOINT


def test_empty_year_gives_47_missing(tmp_path, menu):
    with open_store(tmp_path / "empty.db") as store:
        s = ag.load_summary(store, YEAR, menu)
    assert s.included == [] and len(s.codes_with_status("missing")) == 47
    assert len(s.inputs) == 0 and list(s.inputs.columns) == list(ag.INPUT_COLUMNS)
    assert ag.totals_by_category(s)["fund"].isna().all()
    assert ag.prefecture_leaf_matrix(s).shape == (47, 58)
    assert ag.totals_by_prefecture(s)["fund"].isna().all()


def test_a_plan_of_another_menu_is_flagged(tmp_path, menu):
    with open_store(tmp_path / "b.db") as store:
        content = b"other menu"
        rep = FileReport(file="13_東京都_R5_計画.xlsx", sha256=hashlib.sha256(content).hexdigest(),
                         size=len(content), fiscal_year=YEAR, prefecture_code="13",
                         template_version="1", menu_fingerprint="0123456789abcdef",
                         plan=plan_frame(menu, TOKYO))
        store.save(rep, content)
        s = ag.load_summary(store, YEAR, menu)
    assert s.notes == [f"13 東京都: 提出ファイルのメニュー識別子 0123456789abcdef が集計に使った"
                       f"メニュー（{menu_fingerprint(menu)}）と異なります。"]
    assert s.sources[["prefecture_code", "template_version", "size"]].values.tolist() == [
        ["13", "1", len(content)]]
