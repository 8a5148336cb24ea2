"""Check budget/menus/R5.csv (the FY2023 menu) against the seed it was built from.

The seed (a text extraction of the ministry's PDF table) is parsed here on its own, with
simple regexes over tab-separated cells; nothing from the build step is imported.
The CSV is read with the stdlib csv module only.
"""
import csv
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CSV_PATH = ROOT / "budget" / "menus" / "R5.csv"
SEED_PATH = Path(__file__).resolve().parents[1].parent / "shared" / "seed" / "menu_R5_seed.txt"

needs_seed = pytest.mark.skipif(
    not SEED_PATH.is_file(),
    reason=f"seed file {SEED_PATH} not found (it lives in ../shared beside the clone)",
)

COLUMNS = [
    "fiscal_year", "leaf_code", "category", "mid_category", "item_no", "item_name", "sub_item",
    "sub_item_name", "description", "bureaus", "note_raw", "start_fy", "start_supplementary",
    "expanded_fy", "seed_lines", "provenance",
]
DATA_COLUMNS = [c for c in COLUMNS if c != "provenance"]
CATEGORIES = ["基盤整備", "参入促進", "資質の向上", "労働環境・処遇の改善"]
BUREAUS = {
    "社会・援護局福祉基盤課",
    "老健局認知症施策・地域介護推進課",
    "老健局高齢者支援課",
    "老健局老人保健課",
}
SUB_ORDER = "イロハニ"

# Cell-start patterns used to read the seed.
ITEM_START = re.compile(r"^(\d{1,2})(?: |$)")
MARKER = re.compile(r"^([イロハニ]) ")
BUREAU_CELL = re.compile(r"^(社会・援護局|老健局)")
NOTE_CELL = re.compile(r"^[HR]\d")


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def rows():
    with CSV_PATH.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def seed_lines():
    # index 0 is unused so that seed_lines[n] is line n of `cat -n`
    return [""] + SEED_PATH.read_text(encoding="utf-8").split("\n")


@pytest.fixture(scope="module")
def seed_text(seed_lines):
    return "".join(seed_lines)


def cells(line):
    return line.split("\t")


def seed_item_starts(seed_lines):
    """[(line_no, item_no)] for every cell that starts with an item number."""
    out = []
    for n, line in enumerate(seed_lines):
        for c in cells(line):
            m = ITEM_START.match(c)
            if m:
                out.append((n, int(m.group(1))))
    return out


def seed_markers(seed_lines):
    """[(line_no, letter, cell)] for every cell that starts with a sub-item marker."""
    out = []
    for n, line in enumerate(seed_lines):
        for c in cells(line):
            m = MARKER.match(c)
            if m:
                out.append((n, m.group(1), c))
    return out


def line_numbers(spec):
    a, _, b = spec.partition("-")
    return list(range(int(a), int(b or a) + 1))


def by_line(rows):
    d = defaultdict(list)
    for r in rows:
        for n in line_numbers(r["seed_lines"]):
            d[n].append(r)
    return d


def prov_parts(r):
    return [p for p in r["provenance"].split(" | ") if p]


# --------------------------------------------------------------------------- CSV-only checks
def test_file_format():
    raw = CSV_PATH.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "CSV must not start with a BOM"
    raw.decode("utf-8")
    with CSV_PATH.open(encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    assert header == COLUMNS


def test_fiscal_year(rows):
    assert rows
    assert {r["fiscal_year"] for r in rows} == {"2023"}


def test_item_numbers_1_to_41_in_menu_order(rows):
    nos = [int(r["item_no"]) for r in rows]
    assert sorted(set(nos)) == list(range(1, 42))
    assert nos == sorted(nos), "leaves must be in ascending menu order"
    for no in set(nos):
        names = {r["item_name"] for r in rows if int(r["item_no"]) == no}
        assert len(names) == 1 and "" not in names, (no, names)


def test_leaf_codes(rows):
    codes = [r["leaf_code"] for r in rows]
    assert len(codes) == len(set(codes)), "leaf codes must be unique"
    for r in rows:
        assert re.fullmatch(r"R5-\d{2}(-[イロハニ])?", r["leaf_code"]), r["leaf_code"]
        expect = f"R5-{int(r['item_no']):02d}" + (f"-{r['sub_item']}" if r["sub_item"] else "")
        assert r["leaf_code"] == expect
        assert r["sub_item"] in ("",) + tuple(SUB_ORDER)
        if not r["sub_item"]:
            assert r["sub_item_name"] == ""


def test_sub_items_in_order(rows):
    subs = defaultdict(list)
    for r in rows:
        subs[int(r["item_no"])].append(r["sub_item"])
    for no, letters in subs.items():
        if letters == [""]:
            continue
        assert "" not in letters, f"item {no} mixes a plain leaf with sub-item leaves"
        idx = [SUB_ORDER.index(x) for x in letters]
        assert idx == sorted(set(idx)), (no, letters)
        if no == 8:  # heading lost; only ロ survives (domain.md)
            assert letters == ["ロ"]
        else:
            assert idx == list(range(len(idx))), (no, letters)


def test_categories(rows):
    cats = [r["category"] for r in rows]
    assert set(cats) == set(CATEGORIES)
    # the four blocks appear once each, in this order
    blocks = [c for i, c in enumerate(cats) if i == 0 or cats[i - 1] != c]
    assert blocks == CATEGORIES
    assert all(r["category"] == "基盤整備" for r in rows if int(r["item_no"]) <= 3)
    assert all(r["mid_category"] == "基盤整備" for r in rows if int(r["item_no"]) <= 3)


def test_bureaus(rows):
    seen = set()
    for r in rows:
        bs = r["bureaus"].split(";")
        assert bs and all(bs), r["leaf_code"]
        assert set(bs) <= BUREAUS, (r["leaf_code"], bs)
        assert len(bs) == len(set(bs))
        seen |= set(bs)
        if r["leaf_code"] == "R5-26":
            assert bs == ["老健局認知症施策・地域介護推進課", "老健局老人保健課"]
        else:
            assert len(bs) == 1, r["leaf_code"]
    assert seen == BUREAUS


def test_no_unrepaired_text_in_data_columns(rows):
    for r in rows:
        for col in DATA_COLUMNS:
            assert "基本整備" not in r[col], (r["leaf_code"], col)
            assert "福祉盤課" not in r[col], (r["leaf_code"], col)
        for col in ("category", "mid_category", "bureaus"):
            assert "参加促進" not in r[col], (r["leaf_code"], col)
        # a name that keeps the seed's 参加促進 must say so
        if "参加促進" in r["item_name"] + r["sub_item_name"]:
            assert "参加促進" in r["provenance"] and "[U]" in r["provenance"], r["leaf_code"]


def test_start_year_fields(rows):
    for r in rows:
        note, fy = r["note_raw"], r["start_fy"]
        if fy:
            assert 2015 <= int(fy) <= 2023, r["leaf_code"]
            m = re.match(r"([HR])(\d+)", note)
            assert m, (r["leaf_code"], note)
            assert int(fy) == {"H": 1988, "R": 2018}[m.group(1)] + int(m.group(2))
        else:
            assert "start year" in r["provenance"], f"{r['leaf_code']}: empty start_fy without a note"
            if note:
                assert f'"{note}"' in r["provenance"]
        assert r["start_supplementary"] == ("true" if "補正" in note else "false"), r["leaf_code"]
        assert r["expanded_fy"] == ("2023" if "R5に拡充" in note else ""), r["leaf_code"]
    assert sum(r["expanded_fy"] == "2023" for r in rows) == 1
    for code in ("R5-30", "R5-31"):
        (r,) = [x for x in rows if x["leaf_code"] == code]
        assert r["note_raw"] == "H5～" and r["start_fy"] == ""


def test_mid_category(rows):
    for r in rows:
        if r["mid_category"] == "":
            assert r["item_no"] == "40", f"{r['leaf_code']}: only item 40 may lack a 中項目"
            assert "中項目" in r["provenance"] and "[U]" in r["provenance"]
    assert [r["mid_category"] for r in rows if r["item_no"] == "36"] == ["子育て支援"]
    assert [r["mid_category"] for r in rows if r["item_no"] == "41"] == ["離島・中山間地域等支援"]


def test_provenance_is_tagged(rows):
    for r in rows:
        for part in prov_parts(r):
            assert re.search(r"\[[CGU]\]$", part), (r["leaf_code"], part)


# Each repair/doubt of domain.md §1 must be recorded beside the leaf, quoting the seed's raw text.
DOMAIN_REPAIRS = [
    ("R5-01", ["基本整備", "基盤整備", "福祉盤課"]),
    ("R5-04", ["参加促進", "参入促進"]),
    ("R5-08-ロ", ["他業種からの再就業・定着促進", "介護未経験者に対する研修支援事業", "reconstructed", "[U]"]),
    ("R5-07-イ", ["[U]"]),
    ("R5-23", ["離職した介護人材のニーズ把握の実態調査事業", "[U]"]),
    ("R5-33", ["Eラーニング", "エルダー・メンター", "[U]"]),
    ("R5-30", ["H5～"]),
    ("R5-31", ["H5～"]),
    ("R5-24-ロ", ["inherit", "[G]"]),
    ("R5-26", ["老健局認知症施策・地域介護推進課 老健局老人保健課"]),
    ("R5-41", ["地域島等・支中援山間", "離島・中山間地域等介護人材確保", "[U]"]),
    ("R5-36", ["勤務環境改善支援", "子育て支援", "[U]"]),
    ("R5-40", ["中項目", "[U]"]),
    ("R5-19", ["新規と介護のニーズ", "医療と介護", "[U]"]),
]


@pytest.mark.parametrize("code,needles", DOMAIN_REPAIRS, ids=[c for c, _ in DOMAIN_REPAIRS])
def test_domain_repairs_recorded(rows, code, needles):
    (r,) = [x for x in rows if x["leaf_code"] == code]
    for needle in needles:
        assert needle in r["provenance"], (code, needle)


def test_item19_description_kept_as_seed_text(rows):
    (r,) = [x for x in rows if x["leaf_code"] == "R5-19"]
    assert "新規と介護のニーズ" in r["description"]


# --------------------------------------------------------------------------- against the seed
@needs_seed
def test_seed_item_numbers(rows, seed_lines):
    starts = seed_item_starts(seed_lines)
    nums = [no for _, no in starts]
    assert nums == sorted(nums) and len(nums) == len(set(nums)), nums
    # 8 and 23 are the two numbers the seed lost (domain.md); the CSV supplies them
    assert set(range(1, 42)) - set(nums) == {8, 23}
    assert {int(r["item_no"]) for r in rows} == set(nums) | {8, 23}
    lines = by_line(rows)
    for n, no in starts:
        assert any(int(r["item_no"]) == no for r in lines[n]), f"seed line {n} (item {no}) not cited"


@needs_seed
def test_every_seed_sub_item_is_a_leaf(rows, seed_lines):
    starts = dict(seed_item_starts(seed_lines))
    markers = seed_markers(seed_lines)
    expected = set()
    current = None
    for n in range(len(seed_lines)):
        if n in starts:
            current = starts[n]
        for ln, letter, _ in (m for m in markers if m[0] == n):
            if ln == 15:
                # documented exception: line 15's ロ has no heading and is item 8 (domain.md)
                assert n not in starts and letter == "ロ"
                expected.add((8, letter))
            else:
                expected.add((current, letter))
    actual = {(int(r["item_no"]), r["sub_item"]) for r in rows if r["sub_item"]}
    assert actual == expected
    # each marker's line is cited by its leaf
    lines = by_line(rows)
    for ln, letter, _ in markers:
        assert any(r["sub_item"] == letter for r in lines[ln]), (ln, letter)


@needs_seed
def test_leaf_count(rows, seed_lines):
    markers = seed_markers(seed_lines)
    n_items = len({int(r["item_no"]) for r in rows})
    items_with_subs = {int(r["item_no"]) for r in rows if r["sub_item"]}
    assert len(rows) == (n_items - len(items_with_subs)) + len(markers)
    assert len(rows) == 58


@needs_seed
def test_seed_lines_point_at_menu_rows(rows, seed_lines):
    for r in rows:
        assert re.fullmatch(r"\d+(-\d+)?", r["seed_lines"]), r["leaf_code"]
        for n in line_numbers(r["seed_lines"]):
            assert 0 < n < len(seed_lines)
            line = seed_lines[n]
            assert line.strip(), (r["leaf_code"], n)
            assert not line.startswith(("sa\t", "地域医療介護総合確保基金")), (r["leaf_code"], n)


@needs_seed
def test_descriptions_verbatim(rows, seed_text, seed_lines):
    for r in rows:
        d = r["description"]
        assert d.strip(), r["leaf_code"]
        assert d in seed_text, f"{r['leaf_code']}: description not found verbatim in the seed"
        own = "".join(seed_lines[n] for n in line_numbers(r["seed_lines"]))
        assert d in own, f"{r['leaf_code']}: description not on its cited seed line(s)"
        assert not re.match(r"[イロハニ] |\d{1,2} ", d), f"{r['leaf_code']}: marker left in description"


@needs_seed
def test_descriptions_are_whole_cells(rows, seed_lines):
    """The cell holding a leaf's text is exactly marker/number + name + description."""
    for r in rows:
        cs = [c for n in line_numbers(r["seed_lines"]) for c in cells(seed_lines[n])]
        holder = [c for c in cs if r["description"] in c]
        assert len(holder) == 1, r["leaf_code"]
        cell = holder[0]
        if r["sub_item"]:
            name = "" if _name_supplied(r) else r["sub_item_name"]
            parts = [r["sub_item"], name, r["description"]]
            assert cell == " ".join(p for p in parts if p), r["leaf_code"]
        elif cell != r["description"]:
            assert cell == f"{int(r['item_no'])} {r['item_name']} {r['description']}", r["leaf_code"]


@needs_seed
def test_names_come_from_seed(rows, seed_text):
    for r in rows:
        if r["leaf_code"] == "R5-08-ロ":
            assert r["item_name"] not in seed_text  # reconstructed, see provenance
            assert "reconstructed" in r["provenance"]
        else:
            assert r["item_name"] in seed_text, r["leaf_code"]
        if r["sub_item"]:
            if _name_supplied(r):  # not seed text: condensed from the description
                assert r["sub_item_name"] and r["sub_item_name"] not in seed_text
                assert "[U]" in r["provenance"] and "condensed" in r["provenance"]
            elif r["sub_item_name"]:
                assert f"{r['sub_item']} {r['sub_item_name']} " in seed_text, r["leaf_code"]
            else:
                assert "sub-item name" in r["provenance"].lower(), r["leaf_code"]


def _name_supplied(r) -> bool:
    """A sub-item name the seed does not print (items 7 and 8: only a description follows
    the letter), supplied so that 細目 shows a name; the provenance says so."""
    return "sub_item_name supplied" in r["provenance"]


def test_every_sub_item_has_a_name(rows):
    """細目 never shows a bare letter (issue 12, item 17: items 7 and 8 did)."""
    for r in rows:
        if r["sub_item"]:
            assert r["sub_item_name"], r["leaf_code"]
    supplied = sorted(r["leaf_code"] for r in rows if _name_supplied(r))
    assert supplied == ["R5-07-イ", "R5-08-ロ"]


@needs_seed
def test_mid_categories_from_seed(rows, seed_lines):
    seed_cells = {c for line in seed_lines for c in cells(line)}
    for r in rows:
        m = r["mid_category"]
        if m in ("", "基盤整備"):
            continue
        if m in seed_cells:
            continue
        assert m == "離島・中山間地域等支援" and r["item_no"] == "41", (r["leaf_code"], m)


@needs_seed
def test_categories_follow_seed_labels(rows, seed_lines):
    repair = {"基本整備": "基盤整備", "参加促進": "参入促進"}
    lines = by_line(rows)
    found = 0
    for n, line in enumerate(seed_lines):
        first = cells(line)[0]
        label = repair.get(first, first)
        if label in CATEGORIES and n in lines:
            found += 1
            for r in lines[n]:
                assert r["category"] == label, (n, r["leaf_code"])
                if first in repair:
                    assert f'"{first}"' in r["provenance"], r["leaf_code"]
    assert found >= 6  # 基本整備, 参加促進 and the four labels repeated after page breaks


@needs_seed
def test_bureaus_and_notes_match_seed(rows, seed_lines):
    prev = None
    for r in rows:
        cs = [c for n in line_numbers(r["seed_lines"]) for c in cells(seed_lines[n])]
        bcells = [i for i, c in enumerate(cs) if BUREAU_CELL.match(c)]
        if bcells:
            (i,) = bcells
            raw = cs[i]
            want = raw.replace("社会・援護局福祉盤課", "社会・援護局福祉基盤課").split(" ")
            assert r["bureaus"].split(";") == want, r["leaf_code"]
            if "福祉盤課" in raw:
                assert "福祉盤課" in r["provenance"] and "福祉基盤課" in r["provenance"], r["leaf_code"]
            nxt = cs[i + 1] if i + 1 < len(cs) else ""
            assert r["note_raw"] == (nxt if NOTE_CELL.match(nxt) else ""), r["leaf_code"]
        else:
            # only 24 ロ has a blank 担当; it inherits 24 イ's bureau
            assert r["leaf_code"] == "R5-24-ロ", r["leaf_code"]
            assert prev["leaf_code"] == "R5-24-イ" and r["bureaus"] == prev["bureaus"]
            assert r["note_raw"] == "" and r["start_fy"] == ""
            assert not any(NOTE_CELL.match(c) for c in cs)
        prev = r
