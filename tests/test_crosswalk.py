"""The crosswalk between two menus: the test R6 menu, the R5→R6 sample crosswalk, and the
schema that rejects a crosswalk not fitting both menus (by row)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from budget.crosswalk import (
    CROSSWALK_COLUMNS,
    CrosswalkError,
    identity_crosswalk,
    links,
    load_crosswalk,
    read_crosswalk,
)
from budget.menu import load_menu, menu_path

DATA = Path(__file__).parent / "data"
R6_MENU = DATA / "R6_sample_menu.csv"
CROSSWALK = DATA / "crosswalk_R5_R6_sample.csv"


@pytest.fixture(scope="module")
def menus():
    return load_menu(2023), load_menu(2024, R6_MENU)


def _rows(path: Path = CROSSWALK) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _write(tmp_path: Path, rows: list[dict[str, str]], name: str = "xw.csv") -> Path:
    path = tmp_path / name
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CROSSWALK_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return path


def test_r6_sample_menu_is_valid_and_labelled_a_sample(menus):
    r5, r6 = menus
    # validated by the schema (a file from outside the package is always validated)
    assert (r6["fiscal_year"] == 2024).all()
    assert r6["provenance"].str.startswith("SAMPLE").all()
    names = dict(zip(r6["leaf_code"], r6["sub_item_name"].where(r6["sub_item_name"] != "",
                                                                 r6["item_name"])))
    assert names["R6-34-ロ"] == "介護テクノロジー導入支援事業"
    assert "訪問介護等サービス提供体制確保支援事業" in set(r6["item_name"])
    assert "介護人材確保のための福祉施策と労働施策の連携体制の強化" in set(r6["item_name"])
    assert not r6["item_name"].str.startswith("新型コロナウイルス").any()
    assert set(r5["item_name"]) - set(r6["item_name"]) >= {r5.loc[r5.item_no == 40,
                                                                    "item_name"].item()}
    # nothing invented ships as the ministry's
    assert not (menu_path(2023).parent / "R6.csv").exists()


def test_sample_crosswalk_fits_both_menus(menus):
    r5, r6 = menus
    xw = load_crosswalk(CROSSWALK, r5, r6)
    assert set(xw["from_code"]) - {""} == set(r5["leaf_code"])
    assert set(xw["to_code"]) - {""} == set(r6["leaf_code"])
    assert set(xw["relation"]) == {"same", "renamed", "moved", "merged", "split", "new",
                                   "removed"}
    assert not xw["share"].isna().any()


def test_links_sum_merged_sources_and_share_split_ones(menus):
    r5, r6 = menus
    got = links(load_crosswalk(CROSSWALK, r5, r6))
    # an amount per R5 leaf, mapped by hand through the relations
    amounts = {code: 1000 * (i + 1) for i, code in enumerate(r5["leaf_code"])}
    mapped: dict[str, float] = {}
    for link in got:
        mapped[link.to_code] = mapped.get(link.to_code, 0.0) + amounts[link.from_code] * link.share
    assert mapped["R6-34-ロ"] == amounts["R5-34-ロ"] + amounts["R5-34-ハ"]
    assert mapped["R6-21-イ"] == pytest.approx(amounts["R5-21"] * 0.6)
    assert mapped["R6-21-ロ"] == pytest.approx(amounts["R5-21"] * 0.4)
    assert mapped["R6-40"] == amounts["R5-41"]
    assert mapped["R6-34-ハ"] == amounts["R5-34-ニ"]
    assert "R6-41" not in mapped and "R6-42" not in mapped
    assert sum(mapped.values()) == pytest.approx(sum(amounts.values()) - amounts["R5-40"])


def test_a_crosswalk_missing_a_leaf_is_rejected_naming_the_leaf(tmp_path, menus):
    rows = [r for r in _rows() if r["from_code"] != "R5-13-ハ"]
    with pytest.raises(CrosswalkError) as exc:
        load_crosswalk(_write(tmp_path, rows), *menus)
    message = str(exc.value)
    assert "xw.csv" in message
    assert "R5-13-ハ（前の年度のメニュー）の行がありません" in message
    assert "R6-13-ハ（次の年度のメニュー）の行がありません" in message


def test_an_unknown_code_is_rejected_naming_its_row(tmp_path, menus):
    rows = _rows()
    at = next(i for i, r in enumerate(rows) if r["from_code"] == "R5-05")
    rows[at]["from_code"] = "R5-05-イ"
    rows[at + 1]["to_code"] = "R6-99"
    with pytest.raises(CrosswalkError) as exc:
        load_crosswalk(_write(tmp_path, rows), *menus)
    message = str(exc.value)
    assert f"{at + 2} 行目（R5-05-イ → R6-05）: from_code が前の年度のメニューにありません" in message
    assert f"{at + 3} 行目（{rows[at + 1]['from_code']} → R6-99）: to_code が次の年度のメニューに" \
           "ありません" in message


def test_split_shares_summing_to_0_9_are_rejected_naming_the_rows(tmp_path, menus):
    rows = _rows()
    at = [i for i, r in enumerate(rows) if r["relation"] == "split"]
    assert len(at) == 2
    rows[at[1]]["share"] = "0.3"  # 0.6 + 0.3 = 0.9
    with pytest.raises(CrosswalkError) as exc:
        load_crosswalk(_write(tmp_path, rows), *menus)
    message = str(exc.value)
    for i in at:
        assert f"{i + 2} 行目（R5-21 → {rows[i]['to_code']}）: 分割（split）の share の合計が 1 に" \
               "なりません" in message


@pytest.mark.parametrize(("change", "expected"), [
    ({"relation": "copied"}, "relation は same・renamed"),
    ({"share": "0.5"}, "share は split の行にだけ"),
    ({"to_code": "R6-02"}, "同じ to_code が複数の行にあるのは merged"),
    ({"from_code": ""}, "from_code が前の年度のメニューにありません"),
])
def test_other_row_errors_name_the_row(tmp_path, menus, change, expected):
    rows = _rows()
    rows[0].update(change)
    with pytest.raises(CrosswalkError) as exc:
        load_crosswalk(_write(tmp_path, rows), *menus)
    assert "2 行目（" in str(exc.value)
    assert expected in str(exc.value)


def test_a_share_that_is_not_a_number_or_a_missing_column_is_rejected(tmp_path):
    rows = _rows()
    rows[0]["share"] = "六割"
    with pytest.raises(CrosswalkError, match="2 行目（六割）"):
        read_crosswalk(_write(tmp_path, rows))
    path = tmp_path / "cols.csv"
    path.write_text("from_code,to_code\nR5-01,R6-01\n", encoding="utf-8")
    with pytest.raises(CrosswalkError, match="列がありません: relation, share, note"):
        read_crosswalk(path)
    with pytest.raises(CrosswalkError, match="見つかりません"):
        read_crosswalk(tmp_path / "none.csv")


def test_identity_crosswalk_fits_a_copied_menu(tmp_path, menus):
    r5, _ = menus
    copy = r5.copy()
    copy["leaf_code"] = copy["leaf_code"].str.replace("R5-", "R6-", regex=False)
    xw = identity_crosswalk(r5, copy)
    path = tmp_path / "id.csv"
    xw.to_csv(path, index=False)
    assert len(load_crosswalk(path, r5, copy)) == len(r5)
