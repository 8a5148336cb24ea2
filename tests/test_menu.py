"""The menu loader, its schema, fiscal years and prefectures."""

from __future__ import annotations

import csv
import io

import pytest

from budget.errors import MenuError, UnknownFiscalYear, UnknownPrefecture
from budget.fiscal import era_code, era_label, fiscal_year_of, full_label, parse_fiscal_year, period
from budget.menu import load_menu, menu_fingerprint, menu_path, shipped_menu_years
from budget.prefectures import all_prefectures, find_prefecture


@pytest.mark.parametrize("year", shipped_menu_years())
def test_every_shipped_menu_passes_the_schema(year):
    """Shipped menus are trusted at run time because this test validates each of them."""
    df = load_menu(year, validate=True)
    assert (df["fiscal_year"] == year).all()


def test_shipped_r5_menu_shape():
    df = load_menu(2023)
    assert len(df) == 58
    assert sorted(df["item_no"].unique()) == list(range(1, 42))
    assert list(dict.fromkeys(df["category"])) == [
        "基盤整備", "参入促進", "資質の向上", "労働環境・処遇の改善"]
    assert df.loc[df.leaf_code == "R5-26", "bureaus"].item() == (
        "老健局認知症施策・地域介護推進課;老健局老人保健課")
    assert str(df["start_fy"].dtype) == "Int64"
    assert df.loc[df.leaf_code == "R5-34-ニ", "expanded_fy"].item() == 2023
    assert df.loc[df.leaf_code == "R5-30", "start_fy"].isna().item()
    assert bool(df.loc[df.leaf_code == "R5-09", "start_supplementary"].item())


def _menu_text(changes: dict | None = None) -> str:
    rows = list(csv.DictReader(menu_path(2023).read_text("utf-8").splitlines()))
    for (code, col), value in (changes or {}).items():
        next(r for r in rows if r["leaf_code"] == code)[col] = value
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return out.getvalue()


def _write(tmp_path, text, name="menu.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_user_menu_file_is_validated(tmp_path):
    good = _write(tmp_path, _menu_text())
    assert len(load_menu(2023, good)) == 58

    bad = _write(tmp_path, _menu_text({("R5-05", "bureaus"): "社会・援護局福祉盤課"}), "bad.csv")
    with pytest.raises(MenuError) as exc:
        load_menu(2023, bad)
    assert "6 行目（R5-05）" in str(exc.value)
    assert "担当課" in str(exc.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({("R5-01", "start_fy"): "1993"}, "開始年度"),
        ({("R5-02", "leaf_code"): "R5-01"}, "leaf_code"),
        ({("R5-03", "item_no"): "1"}, "事業番号が昇順ではありません"),
        ({("R5-06-ロ", "item_name"): "別の名前"}, "同じ事業の細目"),
        ({("R5-07-イ", "sub_item"): "ヲ"}, "sub_item"),
    ],
)
def test_schema_rejects(tmp_path, change, expected):
    path = _write(tmp_path, _menu_text(change))
    with pytest.raises(MenuError) as exc:
        load_menu(2023, path)
    assert expected in str(exc.value)


def test_menu_file_errors(tmp_path):
    with pytest.raises(MenuError, match="列がありません"):
        load_menu(2023, _write(tmp_path, "leaf_code,category\nR5-01,x\n"))
    with pytest.raises(MenuError, match="2023 年度のもの"):
        load_menu(2024, _write(tmp_path, _menu_text(), "r6.csv"))
    with pytest.raises(MenuError, match="UTF-8"):
        p = tmp_path / "sjis.csv"
        p.write_bytes(_menu_text().encode("shift_jis", errors="replace"))
        load_menu(2023, p)
    with pytest.raises(UnknownFiscalYear, match="同梱されていません"):
        load_menu(2021)


def test_fingerprint_tracks_locked_texts_only():
    df = load_menu(2023)
    fp = menu_fingerprint(df)
    assert len(fp) == 16 and fp == menu_fingerprint(df.copy())
    renamed = df.copy()
    renamed.loc[0, "item_name"] = "改名"
    assert menu_fingerprint(renamed) != fp
    described = df.copy()
    described.loc[0, "description"] = "説明だけ変更"
    assert menu_fingerprint(described) == fp


@pytest.mark.parametrize(
    ("text", "year"),
    [("R5", 2023), ("r5", 2023), ("令和5年度", 2023), ("令和元年度", 2019), ("H31", 2019),
     ("平成27年度", 2015), ("2023", 2023), ("FY2024", 2024), ("Ｒ５", 2023), (2023, 2023)],
)
def test_parse_fiscal_year(text, year):
    assert parse_fiscal_year(text) == year


@pytest.mark.parametrize("text", ["R", "5", "令和", "X5", "1900", ""])
def test_parse_fiscal_year_rejects(text):
    with pytest.raises(UnknownFiscalYear):
        parse_fiscal_year(text)


def test_fiscal_labels_and_period():
    import datetime as dt

    assert era_code(2023) == "R5" and era_code(2015) == "H27"
    assert era_label(2019) == "令和元年度" and era_label(2018) == "平成30年度"
    assert full_label(2023) == "令和5年度（2023年度）"
    assert period(2023) == (dt.date(2023, 4, 1), dt.date(2024, 3, 31))
    assert fiscal_year_of(dt.date(2024, 3, 31)) == 2023
    assert fiscal_year_of(dt.date(2024, 4, 1)) == 2024


def test_prefectures():
    prefs = all_prefectures()
    assert len(prefs) == 47
    assert all(isinstance(p.code, str) and len(p.code) == 2 for p in prefs)
    assert prefs[0].label == "01 北海道" and prefs[-1].file_stem == "47_沖縄県"
    for name in ("13", "東京都", "東京", "tokyo", "Tokyo", "１３"):
        assert find_prefecture(name).code == "13"
    assert find_prefecture("1").name_ja == "北海道"
    assert find_prefecture("京都").code == "26" and find_prefecture("kyoto").code == "26"
    with pytest.raises(UnknownPrefecture, match="コード（例: 13）"):
        find_prefecture("48")
