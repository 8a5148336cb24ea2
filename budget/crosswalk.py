"""The crosswalk between two years' menus, as data.

A crosswalk is a CSV file, one row per relation between a leaf of the earlier menu
(``from_code``) and a leaf of the later one (``to_code``): ``relation`` is one of
``RELATIONS``; ``share`` is the part of the source that goes to this target when the
source was split (the shares of one source sum to 1; blank on every other row, which
counts as 1); ``note`` is free text. A ``new`` row has no ``from_code``, a ``removed`` row
no ``to_code``. ``load_crosswalk`` returns it checked by ``crosswalk_schema`` against both
menus: every leaf of each menu covered, codes that exist, shares that add up. Amounts of
the earlier year map to the later one as ``amount(to) = Σ amount(from) × share``
(``links``): a merged item sums its sources, a split one takes its share.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from budget.errors import MenuError

if TYPE_CHECKING:
    import pandas as pd

#: Columns of a crosswalk file, in file order.
CROSSWALK_COLUMNS = ["from_code", "to_code", "relation", "share", "note"]
#: Relations, and how a person reads each.
RELATIONS = {
    "same": "同じ", "renamed": "名称変更", "moved": "番号変更", "merged": "統合",
    "split": "分割", "new": "新規", "removed": "廃止",
}
#: How far the shares of one split source may be from 1 (float rounding only).
SHARE_TOLERANCE = 1e-9


class CrosswalkError(MenuError):
    """A crosswalk file that cannot be read or does not fit its two menus (exit 1)."""


@dataclass(frozen=True)
class Link:
    """One relation that carries an amount: ``to_code`` gets ``share`` of ``from_code``."""

    from_code: str
    to_code: str
    relation: str
    share: float


def crosswalk_file_name(from_year: int, to_year: int) -> str:
    """``crosswalk_R5_R6.csv``: the name a crosswalk between two years has beside the menus."""
    from budget.fiscal import era_code

    return f"crosswalk_{era_code(from_year)}_{era_code(to_year)}.csv"


def shipped_crosswalk_path(from_year: int, to_year: int) -> Path | None:
    """The crosswalk shipped in ``budget/menus/`` between two years, or None."""
    from importlib import resources

    path = Path(str(resources.files("budget").joinpath(
        "menus/" + crosswalk_file_name(from_year, to_year))))
    return path if path.is_file() else None


def read_crosswalk(path: str | Path, content: bytes | None = None) -> "pd.DataFrame":
    """The crosswalk file as read, unchecked against any menu: text columns as str,
    ``share`` as a float (NaN when blank). ``content``: the file's bytes when the caller
    already read them. Raises ``CrosswalkError`` when the file cannot be read, lacks a
    column, or a share is not a number."""
    import io

    import pandas as pd

    path = Path(path)
    try:
        df = pd.read_csv(path if content is None else io.BytesIO(content), dtype=str,
                         keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise CrosswalkError(f"移行表ファイル {path} が見つかりません。") from exc
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise CrosswalkError(f"移行表ファイル {path.name} を CSV (UTF-8) として読めません: {exc}") from exc
    missing = [c for c in CROSSWALK_COLUMNS if c not in df.columns]
    if missing:
        raise CrosswalkError(f"移行表ファイル {path.name} に列がありません: {', '.join(missing)}")
    df = df[CROSSWALK_COLUMNS].copy()
    for col in ("from_code", "to_code", "relation", "note"):
        df[col] = df[col].astype(str).str.strip()
    shares = pd.to_numeric(df["share"].str.strip().replace("", None), errors="coerce")
    bad = df.index[shares.isna() & (df["share"].str.strip() != "")]
    if len(bad):
        raise CrosswalkError(f"移行表ファイル {path.name} の share が数値ではありません: " + "、".join(
            f"{int(i) + 2} 行目（{df['share'].iloc[i]}）" for i in bad))
    df["share"] = shares.astype(float)
    df.attrs["source"] = str(path)
    return df.reset_index(drop=True)


def load_crosswalk(path: str | Path, from_menu: "pd.DataFrame",
                   to_menu: "pd.DataFrame") -> "pd.DataFrame":
    """The crosswalk in ``path`` checked against the two menus it joins, with ``share``
    filled (1.0 where blank). Raises ``CrosswalkError`` listing every problem, each with
    its row (``3 行目``) or the leaf no row covers."""
    return checked_crosswalk(read_crosswalk(path), from_menu, to_menu)


def checked_crosswalk(df: "pd.DataFrame", from_menu: "pd.DataFrame",
                      to_menu: "pd.DataFrame", *, check: bool = True) -> "pd.DataFrame":
    """``load_crosswalk`` of a table ``read_crosswalk`` already read (its ``source`` named
    in the message): checked once against the two menus, ``share`` filled. ``check=False``
    is for a caller that knows these bytes passed these checks against these two menus
    (``budget.menu.checks_version``)."""
    path = Path(str(df.attrs.get("source", "移行表")))
    problems = crosswalk_problems(df, from_menu, to_menu) if check else []
    if problems:
        raise CrosswalkError(
            f"移行表ファイル {Path(path).name} が{_menus_label(from_menu, to_menu)}に合いません:\n"
            + "\n".join(f"  {p}" for p in problems[:30])
            + (f"\n  … ほか {len(problems) - 30} 件" if len(problems) > 30 else ""))
    df["share"] = df["share"].fillna(1.0)
    return df


def crosswalk_problems(df: "pd.DataFrame", from_menu: "pd.DataFrame",
                       to_menu: "pd.DataFrame") -> list[str]:
    """Every way the crosswalk ``df`` (as ``read_crosswalk`` returns it) does not fit the
    two menus, in Japanese, by row (``3 行目（R5-21 → R6-21-イ）: …``) then by leaf not
    covered; empty when it fits."""
    import pandas as pd
    import pandera.errors

    from_codes = set(from_menu["leaf_code"])
    to_codes = set(to_menu["leaf_code"])
    problems: list[tuple[int, str]] = []
    try:
        crosswalk_schema(frozenset(from_codes), frozenset(to_codes)).validate(df, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        seen: set[tuple[int, str]] = set()
        for r in exc.failure_cases.itertuples(index=False):
            index = getattr(r, "index")
            if pd.isna(index):
                continue
            key = (int(index), str(r.check))
            if key not in seen:
                seen.add(key)
                problems.append(key)
    lines = [f"{_row_label(df, i)}: {check}" for i, check in sorted(problems)]
    used_from = set(df["from_code"]) - {""}
    used_to = set(df["to_code"]) - {""}
    for code in from_menu["leaf_code"]:
        if code not in used_from:
            lines.append(f"{code}（前の年度のメニュー）の行がありません。"
                         "同じ・名称変更・番号変更・統合・分割・廃止のいずれかの行を加えてください。")
    for code in to_menu["leaf_code"]:
        if code not in used_to:
            lines.append(f"{code}（次の年度のメニュー）の行がありません。"
                         "新規、または前の年度のどの細目から来たかの行を加えてください。")
    return lines


def _row_label(df: "pd.DataFrame", index: int) -> str:
    r = df.iloc[index]
    return f"{index + 2} 行目（{r['from_code'] or '—'} → {r['to_code'] or '—'}）"


def _menus_label(from_menu: "pd.DataFrame", to_menu: "pd.DataFrame") -> str:
    from budget.fiscal import era_code

    try:
        a, b = int(from_menu["fiscal_year"].iloc[0]), int(to_menu["fiscal_year"].iloc[0])
    except (IndexError, KeyError, ValueError):
        return "メニュー"
    return f" {era_code(a)}・{era_code(b)} のメニュー"


@functools.cache
def crosswalk_schema(from_codes: frozenset[str], to_codes: frozenset[str]) -> Any:
    """The pandera schema of a crosswalk between a menu with leaves ``from_codes`` and
    one with ``to_codes`` (row checks; which leaves no row covers is told by
    ``crosswalk_problems``)."""
    import pandera.pandas as pa

    def check(error: str):
        return lambda fn: pa.Check(fn, error=error)

    @check("relation は same・renamed・moved・merged・split・new・removed のいずれかです")
    def relation_known(df):
        return df["relation"].isin(list(RELATIONS))

    @check("from_code が前の年度のメニューにありません")
    def from_code_exists(df):
        return df["from_code"].isin(from_codes) | (
            (df["from_code"] == "") & (df["relation"] == "new"))

    @check("to_code が次の年度のメニューにありません")
    def to_code_exists(df):
        return df["to_code"].isin(to_codes) | (
            (df["to_code"] == "") & (df["relation"] == "removed"))

    @check("new の行は from_code を空欄に、removed の行は to_code を空欄にします")
    def ends_blank_only_when_new_or_removed(df):
        new_ok = (df["relation"] != "new") | (df["from_code"] == "")
        removed_ok = (df["relation"] != "removed") | (df["to_code"] == "")
        return new_ok & removed_ok

    @check("share は split の行にだけ、0 より大きく 1 以下で書きます")
    def share_only_on_split(df):
        split = df["relation"] == "split"
        ok_split = df["share"].gt(0) & df["share"].le(1)
        return (split & ok_split) | (~split & df["share"].isna())

    @check("分割（split）の share の合計が 1 になりません（同じ from_code の行の合計）")
    def split_shares_sum_to_one(df):
        split = df["relation"] == "split"
        total = df["share"].where(split, 0.0).fillna(0.0).groupby(df["from_code"]).transform("sum")
        return ~split | ((total - 1.0).abs() <= SHARE_TOLERANCE)

    @check("同じ from_code が複数の行にあるのは split のときだけです")
    def one_row_per_source_unless_split(df):
        coded = df["from_code"] != ""
        by_source = df.groupby("from_code")
        many = by_source["from_code"].transform("size") > 1
        # every row of the source is a split: no row of it that is not (one vectorised count)
        not_split = (df["relation"] != "split").astype("int64")
        all_split = not_split.groupby(df["from_code"]).transform("sum") == 0
        return ~coded | ~many | all_split

    @check("同じ to_code が複数の行にあるのは merged（または分割元が異なる split）のときだけです")
    def one_row_per_target_unless_merged(df):
        coded = df["to_code"] != ""
        many = df.groupby("to_code")["to_code"].transform("size") > 1
        ok = df["relation"].isin(["merged", "split"])
        return ~coded | ~many | ok

    @check("merged の行の to_code には、統合元が 2 つ以上必要です")
    def merged_has_two_sources(df):
        merged = df["relation"] == "merged"
        n = df.groupby("to_code")["from_code"].transform("nunique")
        return ~merged | (n >= 2)

    @check("split の行の from_code には、分割先が 2 つ以上必要です")
    def split_has_two_targets(df):
        split = df["relation"] == "split"
        n = df.groupby("from_code")["to_code"].transform("nunique")
        return ~split | (n >= 2)

    text = pa.Column(str)
    return pa.DataFrameSchema(
        {
            "from_code": text,
            "to_code": text,
            "relation": text,
            "share": pa.Column(float, nullable=True),
            "note": text,
        },
        checks=[relation_known, from_code_exists, to_code_exists,
                ends_blank_only_when_new_or_removed, share_only_on_split,
                split_shares_sum_to_one, one_row_per_source_unless_split,
                one_row_per_target_unless_merged, merged_has_two_sources,
                split_has_two_targets],
        strict=True, ordered=True, name="CrosswalkSchema",
    )


def links(crosswalk: "pd.DataFrame") -> list[Link]:
    """The relations that carry an amount (neither ``new`` nor ``removed``), in file
    order, as ``load_crosswalk`` returned them."""
    return [
        Link(r.from_code, r.to_code, r.relation, 1.0 if r.share != r.share else float(r.share))
        for r in crosswalk.itertuples(index=False)
        if r.from_code and r.to_code
    ]


def identity_crosswalk(from_menu: "pd.DataFrame", to_menu: "pd.DataFrame") -> "pd.DataFrame":
    """A crosswalk that pairs the leaves of two menus in order, ``same`` each (the menus
    have as many leaves), for staff to edit after copying a menu to a new year."""
    import pandas as pd

    if len(from_menu) != len(to_menu):
        raise CrosswalkError("同じ数の細目を持つメニューでなければ対応づけられません。")
    return pd.DataFrame({
        "from_code": list(from_menu["leaf_code"]),
        "to_code": list(to_menu["leaf_code"]),
        "relation": "same",
        "share": float("nan"),
        "note": "",
    }, columns=CROSSWALK_COLUMNS)


# --- What changed between two menus -------------------------------------------------------


@dataclass(frozen=True)
class MenuChange:
    """One change between two menus: ``relation`` (not ``same``), the leaves it comes from
    and goes to (code, name), and the share each target takes of a split source."""

    relation: str
    sources: tuple[tuple[str, str], ...]
    targets: tuple[tuple[str, str], ...]
    shares: tuple[float, ...] = ()
    note: str = ""


def leaf_names(menu: "pd.DataFrame") -> dict[str, str]:
    """leaf code → the name a person knows it by (事業名, and ／細目 when it has one)."""
    return {
        r.leaf_code: r.item_name + (f"／{r.sub_item} {r.sub_item_name}".rstrip()
                                    if r.sub_item else "")
        for r in menu.itertuples(index=False)
    }


#: Order in which ``menu_changes`` lists relations.
CHANGE_ORDER = ("new", "removed", "renamed", "moved", "merged", "split")


def menu_changes(from_menu: "pd.DataFrame", to_menu: "pd.DataFrame",
                 crosswalk: "pd.DataFrame") -> list[MenuChange]:
    """The changes from one menu to the next as the (checked) crosswalk tells them, new,
    removed, renamed, moved, merged then split, each in the later menu's order (a merge
    is one change with all its sources, a split one with all its targets)."""
    a, b = leaf_names(from_menu), leaf_names(to_menu)
    order = {code: i for i, code in enumerate(to_menu["leaf_code"])}
    order_from = {code: i for i, code in enumerate(from_menu["leaf_code"])}
    changes: list[tuple[int, int, MenuChange]] = []
    rows = crosswalk[crosswalk["relation"] != "same"]
    for relation in CHANGE_ORDER:
        part = rows[rows["relation"] == relation]
        if relation == "merged":
            groups = [(to, g) for to, g in part.groupby("to_code", sort=False)]
        elif relation == "split":
            groups = [(fr, g) for fr, g in part.groupby("from_code", sort=False)]
        else:
            groups = [(i, part.loc[[i]]) for i in part.index]
        for _, g in groups:
            sources = tuple(dict.fromkeys(c for c in g["from_code"] if c))
            targets = tuple(dict.fromkeys(c for c in g["to_code"] if c))
            change = MenuChange(
                relation,
                tuple((c, a.get(c, "")) for c in sources),
                tuple((c, b.get(c, "")) for c in targets),
                tuple(float(s) for s in g["share"]) if relation == "split" else (),
                "、".join(dict.fromkeys(n for n in g["note"] if n)),
            )
            at = (order[targets[0]] if targets else order_from.get(sources[0], 0))
            changes.append((CHANGE_ORDER.index(relation), at, change))
    return [c for _, _, c in sorted(changes, key=lambda t: (t[0], t[1]))]


def changes_text(from_menu: "pd.DataFrame", to_menu: "pd.DataFrame",
                 changes: list[MenuChange], crosswalk_source: str = "") -> str:
    """The changes as lines for a person, grouped by relation, with codes and names."""
    from budget.fiscal import full_label
    from budget.menu import menu_year

    def leaves(pairs: tuple[tuple[str, str], ...], shares: tuple[float, ...] = ()) -> str:
        out = []
        for i, (code, name) in enumerate(pairs):
            share = f"（{shares[i]:.4g} の割合）" if shares else ""
            out.append(f"{code} {name}{share}")
        return "、".join(out)

    head = (f"{full_label(menu_year(from_menu))} → {full_label(menu_year(to_menu))} "
            f"のメニューの違い")
    lines = [head + (f"（移行表: {crosswalk_source}）" if crosswalk_source else "")]
    for relation in CHANGE_ORDER:
        these = [c for c in changes if c.relation == relation]
        lines.append(f"{RELATIONS[relation]}: {len(these)} 件")
        for c in these:
            if relation == "new":
                text = leaves(c.targets)
            elif relation == "removed":
                text = leaves(c.sources)
            else:
                text = f"{leaves(c.sources)} → {leaves(c.targets, c.shares)}"
            lines.append(f"  {text}" + (f"　※{c.note}" if c.note else ""))
    same = len(to_menu) - len({code for c in changes for code, _ in c.targets})
    lines.append(f"変更のない細目: {same} 件")
    return "\n".join(lines)


# --- Authoring a new year, and checking what staff edited ---------------------------------


def find_crosswalk(from_menu: "pd.DataFrame", to_menu: "pd.DataFrame",
                   given: str | Path | None = None) -> Path:
    """The crosswalk between two menus: ``given``; else the one shipped in
    ``budget/menus/``; else ``crosswalk_<from>_<to>.csv`` beside the later menu's file.
    Raises ``CrosswalkError`` saying how to give one."""
    from budget.menu import menu_year

    if given is not None:
        return Path(given)
    a, b = menu_year(from_menu), menu_year(to_menu)
    shipped = shipped_crosswalk_path(a, b)
    if shipped is not None:
        return shipped
    source = to_menu.attrs.get("source")
    if source:
        beside = Path(str(source)).with_name(crosswalk_file_name(a, b))
        if beside.is_file():
            return beside
    raise CrosswalkError(
        f"{crosswalk_file_name(a, b)}（2 つのメニューの移行表）が見つかりません。"
        "--crosswalk で移行表の CSV ファイルを指定してください。")


def start_next_year(from_menu: "pd.DataFrame", year: int, out_dir: str | Path) -> tuple[Path, Path]:
    """Write next year's menu (``<era>.csv``, a copy of ``from_menu`` renumbered to
    ``year``, 備考 kept) and an identity crosswalk (``crosswalk_<from>_<to>.csv``) into
    ``out_dir`` for staff to edit; returns their paths. Both are checked before they are
    written. Raises ``CrosswalkError`` for a year not after the menu's, or when a file of
    that name is already there (nothing is overwritten)."""
    from budget.fiscal import era_code, full_label
    from budget.menu import menu_year, next_year_menu, write_menu

    first = menu_year(from_menu)
    if year <= first:
        raise CrosswalkError(
            f"新しい年度（{full_label(year)}）は元のメニューの年度（{full_label(first)}）より"
            "後でなければなりません。")
    out = Path(out_dir)
    menu_file = out / f"{era_code(year)}.csv"
    crosswalk_file = out / crosswalk_file_name(first, year)
    existing = [p.name for p in (menu_file, crosswalk_file) if p.exists()]
    if existing:
        raise CrosswalkError(
            f"{out} に {'、'.join(existing)} がすでにあります（上書きしません）。"
            "別のフォルダを --out で指定するか、ファイルを移してください。")
    new_menu = next_year_menu(from_menu, year)
    _validated_menu(new_menu)
    identity = identity_crosswalk(from_menu, new_menu)
    out.mkdir(parents=True, exist_ok=True)
    write_menu(new_menu, menu_file)
    identity.to_csv(crosswalk_file, index=False, encoding="utf-8", lineterminator="\n")
    return menu_file, crosswalk_file


def _validated_menu(menu: "pd.DataFrame") -> None:
    from budget.menu import menu_schema

    menu_schema().validate(menu, lazy=False)


def crosswalk_sides(crosswalk: "pd.DataFrame") -> set[int]:
    """The fiscal years the crosswalk's ``from_code`` values name (``R5-…`` → 2023)."""
    years = set()
    for code in crosswalk["from_code"]:
        head = code.split("-", 1)[0]
        if head.startswith("R") and head[1:].isdigit():
            years.add(2018 + int(head[1:]))
    return years


def check_menu_files(menu: str | Path, crosswalk: str | Path | None = None,
                     from_menu: str | Path | None = None) -> list[str]:
    """What is wrong with a menu file and, when given, the crosswalk that leads to it from
    an earlier menu (``from_menu``: a year or a file; by default the shipped menu of the
    year its ``from_code`` values name). Returns the problems, one a line, each naming its
    file and row; empty when both are right."""
    from budget.menu import load_menu, load_menu_ref

    problems: list[str] = []
    try:
        later = load_menu(path=Path(menu), validate=True)
    except MenuError as exc:
        problems.append(str(exc))
        later = None
    if crosswalk is None:
        return problems
    try:
        table = read_crosswalk(crosswalk)
    except CrosswalkError as exc:
        return [*problems, str(exc)]
    if from_menu is None:
        years = crosswalk_sides(table)
        if len(years) != 1:
            return [*problems, f"移行表ファイル {Path(crosswalk).name} の from_code から前の年度が"
                    "決まりません。--from で前の年度またはメニューファイルを指定してください。"]
        from_menu = str(years.pop())
    try:
        earlier = load_menu_ref(from_menu)
    except MenuError as exc:
        return [*problems, str(exc)]
    if later is None:
        return [*problems, "メニューファイルが正しくなるまで、移行表は検査できません。"]
    lines = crosswalk_problems(table, earlier, later)
    if lines:
        problems.append(f"移行表ファイル {Path(crosswalk).name} が{_menus_label(earlier, later)}"
                        "に合いません:\n" + "\n".join(f"  {p}" for p in lines))
    return problems


def describe_menu_changes(before: str | Path, after: str | Path,
                          crosswalk: str | Path | None = None
                          ) -> tuple["pd.DataFrame", "pd.DataFrame", list[MenuChange], str]:
    """(earlier menu, later menu, their changes, the crosswalk's file name) for two menus
    named by year or file (``load_menu_ref``), through ``crosswalk`` or the one
    ``find_crosswalk`` finds, checked against both."""
    from budget.menu import load_menu_ref

    earlier, later = load_menu_ref(before), load_menu_ref(after)
    path = find_crosswalk(earlier, later, crosswalk)
    table = load_crosswalk(path, earlier, later)
    return earlier, later, menu_changes(earlier, later, table), path.name
