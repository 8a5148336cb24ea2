"""Triage of received files (budget.xlsx.container) against real broken and hostile files.

Every hostile file is built for real by ``tests/hostile.py`` from a generated workbook. The
encrypted and legacy .xls files are synthetic OLE2 files (magic + directory entries with the
real stream names, no FAT): the triage only sniffs those, and ``msoffcrypto-tool`` is not a
dependency of this project.
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from budget.findings import CATALOG
from budget.generate import write_plan_workbook
from budget.menu import load_menu
from budget.prefectures import find_prefecture
from budget.xlsx import container as container_module
from budget.xlsx.container import Container, ensure_defused, inspect_container
from tests import hostile

FILE_NAME = "13_東京都_R5_計画.xlsx"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("base") / FILE_NAME
    write_plan_workbook(path, load_menu(2023), find_prefecture("東京都"))
    return path


@pytest.fixture(scope="module")
def build(base: Path, tmp_path_factory: pytest.TempPathFactory):
    """``build(kind)`` -> path of that hostile file (each built once per module)."""
    directory = tmp_path_factory.mktemp("hostile")
    built: dict[str, Path] = {}

    def _build(kind: str) -> Path:
        if kind not in built:
            built[kind] = hostile.BUILDERS[kind](directory, base)
        return built[kind]

    return _build


def inspect(path: Path):
    return inspect_container(path.read_bytes(), path.name)


# --- The happy path ------------------------------------------------------------------------


def test_generated_workbook_passes(base: Path) -> None:
    container, findings = inspect(base)
    assert findings == []
    assert isinstance(container, Container)
    assert list(container.sheets.items()) == [
        ("記入要領", "xl/worksheets/sheet1.xml"),
        ("計画", "xl/worksheets/sheet2.xml"),
        ("_meta", "xl/worksheets/sheet3.xml"),
    ]
    assert container.sheet_states == {"記入要領": "visible", "計画": "visible",
                                      "_meta": "veryHidden"}
    assert container.shared_strings == "xl/sharedStrings.xml"
    assert {"xl/workbook.xml", "[Content_Types].xml", "xl/worksheets/sheet2.xml"} <= container.names


def test_triage_returns_every_xml_part_it_checked(base: Path) -> None:
    """One unzip: the container holds the bytes of every XML part, as the zip has them,
    read-only, and the styles part found through the workbook's relationships."""
    container, _ = inspect(base)
    assert container is not None
    with zipfile.ZipFile(base) as z:
        xml = {n: z.read(n) for n in z.namelist() if n.endswith((".xml", ".rels", ".vml"))}
    assert dict(container.parts) == xml
    assert container.part("xl/worksheets/sheet2.xml") == xml["xl/worksheets/sheet2.xml"]
    assert container.styles == "xl/styles.xml"
    with pytest.raises(TypeError):
        container.parts["xl/styles.xml"] = b""  # type: ignore[index]


def test_openpyxl_saved_workbook_passes(base: Path, tmp_path: Path) -> None:
    """openpyxl writes absolute relationship targets and inline strings (no sharedStrings)."""
    import openpyxl

    saved = tmp_path / "resaved.xlsx"
    openpyxl.load_workbook(base).save(saved)
    container, findings = inspect(saved)
    assert findings == []
    assert container is not None
    assert container.sheets["計画"] == "xl/worksheets/sheet2.xml"
    assert container.sheet_states["_meta"] == "veryHidden"
    assert container.shared_strings is None


def test_hyperlink_is_not_an_external_link(base: Path, tmp_path: Path) -> None:
    rels_name = "xl/worksheets/_rels/sheet2.xml.rels"
    rels = hostile.members(base)[rels_name].replace(
        b"</Relationships>",
        b'<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/hyperlink" Target="https://www.mhlw.go.jp/" TargetMode="External"/>'
        b"</Relationships>")
    path = hostile._rewrite(base, tmp_path / "hyperlink.xlsx", {rels_name: rels})
    container, findings = inspect(path)
    assert findings == []
    assert container is not None


# --- Every hostile kind ----------------------------------------------------------------------

#: kind -> (finding code, is the container still returned, a phrase the message must contain)
CASES = {
    "empty": ("empty-file", False, "0 バイト"),
    "random_bytes": ("not-a-workbook", False, "形式を判別できません"),
    "encrypted": ("encrypted-workbook", False, "パスワード"),
    "legacy_xls": ("legacy-xls", False, ".xls"),
    "csv_renamed": ("not-a-workbook", False, "CSV/テキストファイル"),
    "html_renamed": ("not-a-workbook", False, "HTML ファイル"),
    "docx_like": ("not-a-workbook", False, "Word 文書（.docx）"),
    "ods_like": ("not-a-workbook", False, "OpenDocument スプレッドシート（.ods）"),
    "strict_ooxml": ("not-a-workbook", False, "Strict Open XML"),
    "truncated": ("corrupt-workbook", False, "中央ディレクトリ"),
    "crc_corrupt": ("corrupt-workbook", False, "xl/worksheets/sheet2.xml の内容が記録と一致しません"),
    "damaged_deflate": ("corrupt-workbook", False, "xl/worksheets/sheet2.xml"),
    "duplicate_member": ("corrupt-workbook", False, "同じ名前のファイル xl/worksheets/sheet2.xml"),
    "many_members": ("oversized-workbook", False, "ファイル数"),
    "zip_bomb": ("oversized-workbook", False, "圧縮率が異常"),
    "lying_zip_bomb": ("corrupt-workbook", False, "sheet2.xml の展開後のサイズが記録"),
    "huge_dimension": ("oversized-workbook", False, "使用範囲 A1:XFD1048576"),
    "far_cell": ("oversized-workbook", False, "セルが XFD1048576 まで"),
    "positional_far_cell": ("oversized-workbook", False, "セルが R20000 まで"),
    "huge_merge": ("oversized-workbook", False, "結合セル A100:XFD1048576"),
    "billion_laughs": ("unsafe-xml", False, "DTD"),
    "billion_laughs_utf16": ("unsafe-xml", False, "DTD"),
    "xlsm": ("macro-workbook", True, "xl/vbaProject.bin"),
    "macro_renamed_xlsx": ("macro-workbook", True, "マクロ有効ブック（.xlsm）形式"),
    "external_link": ("external-links", True, f"リンク先: 「{hostile.EXTERNAL_LINK_TARGET}」"),
}


def test_every_builder_has_a_case() -> None:
    assert set(CASES) == set(hostile.BUILDERS)


@pytest.mark.parametrize("kind", list(CASES))
def test_hostile_file_gets_one_exact_finding(kind: str, build) -> None:
    code, readable, phrase = CASES[kind]
    path = build(kind)
    container, findings = inspect(path)
    assert [(f.code, f.severity) for f in findings] == [(code, "error")]
    finding = findings[0]
    assert finding.file == path.name
    assert finding.message.startswith(f"{path.name}: ")
    assert phrase in finding.message
    assert (container is not None) is readable
    if readable:  # parsing a macro or linked workbook runs nothing: the sheets are still found
        assert container.sheets["計画"] == "xl/worksheets/sheet2.xml"


def test_lying_bomb_fools_zipfile_but_not_the_triage(build) -> None:
    """The headers claim ~46 KB with a matching CRC: zipfile stops there and is satisfied.

    (Read in small chunks: ``ZipFile.read()`` asks zlib for everything at once and so inflates
    the whole GiB in memory before cutting it to the declared size.)
    """
    path = build("lying_zip_bomb")
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(hostile.PLAN_SHEET_MEMBER)
        with zf.open(info) as member:  # raises BadZipFile on a CRC mismatch at the end
            size = sum(len(chunk) for chunk in iter(lambda: member.read(65536), b""))
    assert size == info.file_size < 100_000
    container, findings = inspect(path)
    assert container is None and [f.code for f in findings] == ["corrupt-workbook"]


def test_macro_found_by_content_type_alone(base: Path, tmp_path: Path) -> None:
    changes = hostile._macro_changes(base)
    del changes["xl/vbaProject.bin"]
    del changes["xl/_rels/workbook.xml.rels"]
    container, findings = inspect(hostile._rewrite(base, tmp_path / "ct.xlsx", changes))
    assert container is not None
    assert [(f.code, f.value) for f in findings] == [("macro-workbook", None)]
    assert "マクロ有効ブック（.xlsm）形式" in findings[0].message
    assert "vbaProject" not in findings[0].message


@pytest.mark.parametrize(("cell", "oversized"), [
    ("R10000", False), ("GR71", False), ("R10001", True), ("GS71", True), ("AAA1", True),
])
def test_cell_bounds(cell: str, oversized: bool, base: Path, tmp_path: Path) -> None:
    row = "".join(ch for ch in cell if ch.isdigit())
    path = hostile._edit_plan_sheet(
        tmp_path, base, f"{cell}.xlsx", b"</sheetData>",
        f'<row r="{row}"><c r="{cell}"><v>1</v></c></row></sheetData>'.encode())
    container, findings = inspect(path)
    assert [f.code for f in findings] == (["oversized-workbook"] if oversized else [])
    assert (container is None) is oversized
    if oversized:
        assert f"セルが {cell} まで" in findings[0].message


@pytest.mark.parametrize(("name", "content", "phrase"), [
    ("~$13_東京都_R5_計画.xlsx", b"\x06tanaka" + b" " * 47 + b"\x06\x00t\x00a\x00", "一時ファイル"),
    ("a.xlsx", "\ufeff区分,金額\n基盤整備,1\n".encode(), "CSV/テキストファイル"),
    ("a.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF ファイル"),
    ("a.xlsx", (b'<?xml version="1.0"?><?mso-application progid="Excel.Sheet"?><Workbook xmlns='
                b'"urn:schemas-microsoft-com:office:spreadsheet"/>'), "XML スプレッドシート 2003"),
    ("a.xlsx", b"<!DOCTYPE html>\n<html><body></body></html>", "HTML ファイル"),
    ("a.xlsx", b"PK\x05\x06" + bytes(18), "空の ZIP"),
    ("a.xlsx", hostile._ole2(["WordDocument", "1Table"]), "Word 文書（.doc）"),
])
def test_sniffed_kinds(name: str, content: bytes, phrase: str) -> None:
    container, findings = inspect_container(content, name)
    assert container is None
    assert [f.code for f in findings] == ["not-a-workbook"]
    assert findings[0].message.startswith(f"{name}: ") and phrase in findings[0].message


def test_zip_of_a_workbook_names_it(base: Path, tmp_path: Path) -> None:
    path = tmp_path / "提出.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(base, f"提出/{FILE_NAME}")
    container, findings = inspect(path)
    assert container is None
    assert [f.code for f in findings] == ["not-a-workbook"]
    assert f"中に {FILE_NAME} があります" in findings[0].message


# --- Bounded memory and time -----------------------------------------------------------------

BOUNDED = ["zip_bomb", "lying_zip_bomb", "huge_dimension", "far_cell", "positional_far_cell",
           "huge_merge", "billion_laughs", "many_members"]


@pytest.mark.parametrize("kind", BOUNDED)
def test_hostile_file_uses_little_memory(kind: str, build) -> None:
    data = build(kind).read_bytes()
    tracemalloc.start()
    try:
        container, findings = inspect_container(data, "x.xlsx")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert container is None and findings
    assert peak < 100 * 1024 * 1024


def test_hostile_files_in_a_process_limited_to_500_mb(build) -> None:
    """The bombs and the far cell (which aborts python-calamine) under RLIMIT_AS=500 MB."""
    kinds = ["zip_bomb", "lying_zip_bomb", "far_cell", "huge_dimension", "billion_laughs"]
    paths = [str(build(kind)) for kind in kinds]
    script = textwrap.dedent("""
        import resource, sys
        from pathlib import Path
        limit = 500 * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        from budget.xlsx.container import inspect_container
        for arg in sys.argv[1:]:
            container, findings = inspect_container(Path(arg).read_bytes(), Path(arg).name)
            print(container is None, *[f.code for f in findings])
    """)
    result = subprocess.run([sys.executable, "-c", script, *paths], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "True oversized-workbook", "True corrupt-workbook", "True oversized-workbook",
        "True oversized-workbook", "True unsafe-xml"]


# --- Never an exception ------------------------------------------------------------------------


def test_mutated_workbooks_never_raise(base: Path) -> None:
    """Cut, flipped and overwritten bytes anywhere: always a verdict, never an exception, and
    always one a specific check reached (not the catch-all)."""
    data = base.read_bytes()
    rng = random.Random(47)
    for i in range(300):
        mutated = bytearray(data)
        how = i % 3
        if how == 0:
            mutated = mutated[:rng.randrange(1, len(data))]
        elif how == 1:
            for _ in range(rng.randrange(1, 8)):
                mutated[rng.randrange(len(mutated))] ^= 1 << rng.randrange(8)
        else:
            start = rng.randrange(len(mutated))
            mutated[start:start + rng.randrange(1, 200)] = rng.randbytes(rng.randrange(1, 200))
        container, findings = inspect_container(bytes(mutated), "m.xlsx")
        assert all(f.code in CATALOG and f.file == "m.xlsx" for f in findings)
        assert all(f.code != "internal-error" for f in findings), (i, findings)
        if container is None:
            assert any(f.severity == "error" for f in findings), i


def test_mutated_parts_never_raise(base: Path) -> None:
    """XML-significant bytes inserted into or cut from the parts the triage interprets, the
    zip rebuilt with correct CRCs: every verdict comes from a specific check."""
    parts = hostile.members(base)
    targets = ["[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
               "xl/worksheets/sheet2.xml"]
    alphabet = b"<>\"'=/: !?&;#x$rRefdimensionsheetc1A9XFD\x00"
    rng = random.Random(13)
    codes = set()
    for i in range(120):
        name = targets[i % len(targets)]
        data = bytearray(parts[name])
        for _ in range(rng.randrange(1, 4)):
            pos = rng.randrange(min(len(data), 3000))
            if rng.random() < 0.5:
                del data[pos:pos + rng.randrange(1, 30)]
            else:
                data[pos:pos] = bytes(rng.choice(alphabet) for _ in range(rng.randrange(1, 12)))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for member, content in parts.items():
                zf.writestr(member, bytes(data) if member == name else content)
        container, findings = inspect_container(buffer.getvalue(), "m.xlsx")
        assert all(f.code != "internal-error" for f in findings), (name, findings)
        assert (container is None) == any(f.severity == "error" for f in findings), (name, findings)
        codes.update(f.code for f in findings)
    assert "corrupt-workbook" in codes  # the mutations did reach the parsers


def test_stored_members_pass(base: Path, tmp_path: Path) -> None:
    path = tmp_path / "stored.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for member, content in hostile.members(base).items():
            zf.writestr(member, content)
    container, findings = inspect(path)
    assert findings == [] and container is not None and "計画" in container.sheets


def test_unexpected_failure_becomes_a_finding(base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise TypeError("a bug")

    monkeypatch.setattr(container_module, "_worksheets", broken)
    container, findings = inspect(base)
    assert container is None
    assert [(f.code, f.severity) for f in findings] == [("internal-error", "error")]
    assert "TypeError" in findings[0].message and findings[0].message.startswith(f"{FILE_NAME}: ")


def test_accepts_bytes_like(base: Path) -> None:
    container, findings = inspect_container(memoryview(base.read_bytes()), "v.xlsx")  # type: ignore[arg-type]
    assert container is not None and findings == []


# --- defusedxml ----------------------------------------------------------------------------------


def _unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(container_module, "_defused_checked", False)
    monkeypatch.setattr(container_module, "_openpyxl_checked", False)


def test_ensure_defused_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    _unchecked(monkeypatch)
    ensure_defused(openpyxl=False)
    assert (container_module._defused_checked, container_module._openpyxl_checked) == (True, False)
    ensure_defused()
    assert container_module._openpyxl_checked is True


def test_ensure_defused_rejects_openpyxl_without_defusedxml(monkeypatch: pytest.MonkeyPatch) -> None:
    import xml.etree.ElementTree as stdlib_et

    import openpyxl
    from openpyxl.xml import functions

    _unchecked(monkeypatch)
    monkeypatch.setattr(functions, "iterparse", stdlib_et.iterparse)
    ensure_defused(openpyxl=False)  # defusedxml itself is fine
    with pytest.raises(RuntimeError, match="defusedxml"):
        ensure_defused()
    monkeypatch.undo()
    _unchecked(monkeypatch)
    monkeypatch.setattr(openpyxl, "DEFUSEDXML", False)
    with pytest.raises(RuntimeError, match="defusedxml"):
        ensure_defused()


def test_ensure_defused_rejects_a_parser_that_expands_entities(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import xml.etree.ElementTree as stdlib_et

    import defusedxml.ElementTree

    _unchecked(monkeypatch)
    monkeypatch.setattr(defusedxml.ElementTree, "fromstring", stdlib_et.fromstring)
    with pytest.raises(RuntimeError, match="defusedxml"):
        ensure_defused(openpyxl=False)


def test_billion_laughs_member_is_really_an_entity_bomb(build) -> None:
    """The fixture is what it claims: defusedxml refuses the sharedStrings part."""
    import defusedxml
    import defusedxml.ElementTree

    with zipfile.ZipFile(build("billion_laughs")) as zf:
        strings = zf.read(hostile.SHARED_STRINGS_MEMBER)
    with pytest.raises(defusedxml.EntitiesForbidden):
        defusedxml.ElementTree.parse(io.BytesIO(strings))


def test_ingest_refuses_to_start_without_entity_protection(tmp_path, monkeypatch, base):
    """'defusedxml active, and checked at start-up': with an XML parser that expands
    entities, ingest stops before reading or storing anything (exit 1, Japanese message)."""
    import xml.etree.ElementTree as stdlib_et

    import defusedxml.ElementTree as safe_et
    from click.testing import CliRunner

    from budget.cli import cli

    monkeypatch.setattr(container_module, "_defused_checked", False)
    monkeypatch.setattr(container_module, "_openpyxl_checked", False)
    monkeypatch.setattr(safe_et, "fromstring", stdlib_et.fromstring)
    inbox = tmp_path / "inputs"
    inbox.mkdir()
    (inbox / FILE_NAME).write_bytes(base.read_bytes())
    result = CliRunner().invoke(cli, ["ingest", str(inbox), "--db", str(tmp_path / "b.db"),
                                      "--reports", str(tmp_path / "reports")])
    assert result.exit_code == 1
    assert "defusedxml がエンティティ展開（billion laughs）を拒否しません" in result.output
    assert not (tmp_path / "b.db").exists()


# --- the workbook's own last-saved time (issue 12, item 3) -----------------------------------


def test_last_saved_is_read_from_the_core_properties_triage_kept(base: Path) -> None:
    container, _ = inspect_container(base.read_bytes(), FILE_NAME)
    assert container is not None
    core = container.parts["docProps/core.xml"]
    assert b"<dcterms:modified" in core
    assert container.last_saved() == "2023-04-01T00:00:00+00:00"  # what generate writes

    def with_core(xml: bytes | None, rels: bytes | None = None) -> str | None:
        parts = dict(container.parts)
        if xml is None:
            del parts["docProps/core.xml"]
        else:
            parts["docProps/core.xml"] = xml
        if rels is not None:
            parts["_rels/.rels"] = rels
        return container_module.last_saved(parts)

    def modified(text: str) -> bytes:
        return core.replace(core[core.index(b"<dcterms:modified"):
                                 core.index(b"</dcterms:modified>")],
                            b'<dcterms:modified xsi:type="dcterms:W3CDTF">' + text.encode())

    assert with_core(modified("2026-11-20T10:00:00+09:00")) == "2026-11-20T01:00:00+00:00"
    assert with_core(modified("2026-11-20T10:00:00")) == "2026-11-20T10:00:00+00:00"
    assert with_core(modified("yesterday")) is None
    assert with_core(None) is None
    moved = container.parts["_rels/.rels"].replace(b"docProps/core.xml", b"docProps/other.xml")
    parts = {**container.parts, "_rels/.rels": moved,
             "docProps/other.xml": modified("2026-11-21T10:00:00Z")}
    assert container_module.last_saved(parts) == "2026-11-21T10:00:00+00:00"  # where .rels


@pytest.mark.parametrize("cell", [
    b'<c t="n" r="XFD30000"><v>1</v></c>',  # r not first: the fast scan would miss it
    b'<c\nr="XFD30000"><v>1</v></c>',
    b'<c\tr="XFD30000"><v>1</v></c>',
    b'<c  r="XFD30000"><v>1</v></c>',
])
def test_cell_extent_finds_a_far_cell_whatever_its_tag_looks_like(cell: bytes) -> None:
    """Only sheets whose every cell tag starts ``<c r="`` take the quick path; any other
    spelling is walked tag by tag, so a far cell is found however it is written."""
    from budget.xlsx.container import _cell_extent

    data = (b'<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
            b'<row r="30000">' + cell + b"</row></sheetData></worksheet>")
    assert _cell_extent(data) == (30000, 16384)
    quick = data.replace(cell, b'<c r="XFD30000"><v>1</v></c>')
    assert _cell_extent(quick) == (30000, 16384)


def _sheets_and_parts(base: Path, tmp_path: Path) -> list[bytes]:
    """Every XML part of the generated workbook and of the hostile files built from it."""
    out: list[bytes] = []
    paths = [base] + [build(tmp_path / kind, base) for kind, build in hostile.BUILDERS.items()
                      if kind not in ("zip_bomb", "lying_zip_bomb")]
    for path in paths:
        try:
            with zipfile.ZipFile(path) as z:
                out += [z.read(i) for i in z.infolist() if i.file_size < 20_000_000
                        and i.filename.endswith((".xml", ".rels", ".vml"))]
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError):
            continue
    return out


MERGE_EDGES = [
    b"<worksheet/>",
    b'<mergeCell ref="A1:ZZ1"/>',
    b'<worksheet><mergeCells><mergeCell ref="A1:B2"/></mergeCells></worksheet>',
    b'<x:mergeCell ref="A1:XFD1"/><sheetData/><mergeCell ref="B1:C1"/>',
    b'<worksheet><c><v>mergeCell</v></c><long.prefix-1:mergeCell  ref = "A:A"/></worksheet>',
    b'mergeCell ref="A1:ZZ9"/><mergeCell ref="A1:B9"/>',
    b"<a><b>mergeCell</b><mergeCell\tfoo='1'\nref='A1:GS1'/></a>",
    b'<<mergeCell ref="1:1"/>',
]


def test_the_quick_scans_find_what_the_full_ones_find(base: Path, tmp_path: Path) -> None:
    """Each quick scan of a part (merged ranges from the first "mergeCell", a prefixed cell
    tag only where ":c" ends one, unsafe markers only where there is a "!") agrees with the
    full scan it stands in for, over real, hostile and edge parts."""
    from budget.xlsx.container import (
        _MERGE,
        _PREFIXED_CELL_END,
        _PREFIXED_CELL_TAG,
        _SMALL_RANGE,
        _UNSAFE_MARKERS,
        MAX_COLS,
        MAX_ROWS,
        _has_unsafe_marker,
        _merge_refs,
        _range_too_large,
    )

    parts = _sheets_and_parts(base, tmp_path) + MERGE_EDGES + [
        b'<x:c r="A1"/>', b"<ns.x-1:c>", b"<a:c\n/>", b"<a :c>", b":c>", b"<a:cc>",
        "<!DOCTYPE x>".encode("utf-16-le"), "<!ENTITY x>".encode("utf-16-be"), b"<!ENTITY",
        b"<!-- no -->", b"a!b", b""]
    assert len(parts) > 100
    for data in parts:
        assert _merge_refs(data) == _MERGE.findall(data)
        assert bool(_PREFIXED_CELL_END.search(data) and _PREFIXED_CELL_TAG.search(data)) == \
            bool(_PREFIXED_CELL_TAG.search(data))
        assert _has_unsafe_marker(data) == any(m in data for m in _UNSAFE_MARKERS)
    assert _merge_refs(MERGE_EDGES[3]) == [b"A1:XFD1", b"B1:C1"]
    assert MAX_COLS >= 26 and MAX_ROWS >= 9999  # what _SMALL_RANGE takes for granted
    for ref in (b"A1", b"Z9999", b"A1:Z9999", b"B3:C3", b"A10000", b"AA1", b"A1:A10000",
                b"$A$1", b"a1", b"A1:", b"A:A", b"1:1", b"A01", b"A1:B2:C3"):
        assert not (_SMALL_RANGE.fullmatch(ref) and _range_too_large(ref.decode()))
    assert _has_unsafe_marker("<!DOCTYPE x>".encode("utf-16-le"))


def test_small_parts_parsed_once_give_each_file_its_own_findings(base: Path,
                                                                 tmp_path: Path) -> None:
    """Content types, the workbook and its relationships are parsed once per process for
    equal bytes: the same bytes give the same container, a broken part is refused each time
    with a finding naming the file at hand, and what is kept stays bounded."""
    content = base.read_bytes()
    first, findings = inspect_container(content, "a.xlsx")
    again, more = inspect_container(content, "b.xlsx")
    assert first is not None and again is not None and findings == more == []
    assert (first.sheets, first.sheet_states, first.shared_strings, first.styles) == \
        (again.sheets, again.sheet_states, again.shared_strings, again.styles)
    with zipfile.ZipFile(base) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    for member in ("[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
        broken = dict(parts, **{member: parts[member][:-3]})
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in broken.items():
                z.writestr(name, data)
        for name in ("x.xlsx", "y.xlsx"):
            container, found = inspect_container(buffer.getvalue(), name)
            assert container is None and [f.code for f in found] == ["corrupt-workbook"]
            assert found[0].message.startswith(f"{name}: ") and member in found[0].message
    for i in range(container_module._MAX_KNOWN + 10):
        container_module._known("test", str(i).encode(), lambda data: data)
    assert len(container_module._KNOWN) <= container_module._MAX_KNOWN
    assert inspect_container(content, "c.xlsx")[1] == []
