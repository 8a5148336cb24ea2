"""budget.files.write_atomically: the one "temporary file, then rename" writer."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from budget import files
from budget.errors import OutputError
from budget.files import ReplaceRefused, write_atomically
from budget.render import outputs


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_atomic_write_replaces_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "R5_集計.xlsx"
    target.write_bytes(b"old")
    assert write_atomically(target, b"new") == target
    assert target.read_bytes() == b"new"
    assert names(tmp_path) == ["R5_集計.xlsx"]


def test_missing_folder_is_made(tmp_path):
    target = tmp_path / "a" / "b" / "x.xlsx"
    assert write_atomically(target, b"x") == target and target.read_bytes() == b"x"


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_written_files_get_the_mode_open_would_give(tmp_path, umask):
    """Not the temporary file's private 0o600: 0o666 less the umask, like open()."""
    old = os.umask(umask)
    try:
        assert files.current_umask() == umask
        new = write_atomically(tmp_path / "new.xlsx", b"x")
        existing = tmp_path / "old.xlsx"
        existing.write_bytes(b"old")
        os.chmod(existing, 0o600)
        replaced = write_atomically(existing, b"y")
        with open(tmp_path / "plain.txt", "w") as fh:
            fh.write("reference")
    finally:
        os.umask(old)
    plain = stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode)
    assert plain == 0o666 & ~umask
    assert stat.S_IMODE(new.stat().st_mode) == plain
    assert stat.S_IMODE(replaced.stat().st_mode) == plain


def test_crash_while_writing_keeps_the_old_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "R5_集計.xlsx"
    target.write_bytes(b"old")

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, b"half")
    with pytest.raises(OutputError, match="disk full"):  # the report's wording of it
        outputs.write_bytes_atomically(target, b"half")
    assert target.read_bytes() == b"old"
    assert names(tmp_path) == ["R5_集計.xlsx"]


def locked(monkeypatch, *targets: Path) -> None:
    """os.replace refuses ``targets`` as Windows does for a file open in Excel."""
    real = os.replace

    def replace(src, dst):
        if Path(dst) in targets:
            raise PermissionError(13, "Permission denied", str(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


def test_open_target_is_written_beside_it_with_fallback(tmp_path, monkeypatch):
    target = tmp_path / "R5_集計.xlsx"
    target.write_bytes(b"open in Excel")
    (tmp_path / "R5_集計(2).xlsx").write_bytes(b"an older fallback")
    locked(monkeypatch, target)
    with pytest.raises(PermissionError):  # without fallback: the error
        write_atomically(target, b"new")
    assert write_atomically(target, b"new", fallback=True) == tmp_path / "R5_集計(3).xlsx"
    assert outputs.write_bytes_atomically(target, b"newer") == tmp_path / "R5_集計(4).xlsx"
    assert target.read_bytes() == b"open in Excel"
    assert (tmp_path / "R5_集計(2).xlsx").read_bytes() == b"an older fallback"
    assert (tmp_path / "R5_集計(3).xlsx").read_bytes() == b"new"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_fallback_gives_up_with_replace_refused(tmp_path, monkeypatch):
    target = tmp_path / "x.xlsx"
    monkeypatch.setattr(os, "replace", lambda s, d: (_ for _ in ()).throw(
        PermissionError(13, "denied")))
    with pytest.raises(ReplaceRefused):
        write_atomically(target, b"x", fallback=True)
    with pytest.raises(OutputError, match="置き換えられません"):
        outputs.write_bytes_atomically(target, b"x")
    assert names(tmp_path) == []


def test_exclusive_never_replaces(tmp_path):
    target = tmp_path / "取込結果.xlsx"
    assert write_atomically(target, b"first", exclusive=True) == target
    with pytest.raises(FileExistsError):
        write_atomically(target, b"second", exclusive=True)
    assert target.read_bytes() == b"first"
    assert names(tmp_path) == ["取込結果.xlsx"]


def test_exclusive_without_hard_links(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    target = tmp_path / "r.xlsx"
    assert write_atomically(target, b"a", exclusive=True) == target
    with pytest.raises(FileExistsError):
        write_atomically(target, b"b", exclusive=True)
    assert target.read_bytes() == b"a" and names(tmp_path) == ["r.xlsx"]


# --- generate uses it --------------------------------------------------------------------


def test_two_concurrent_generate_runs_do_not_share_a_temp_file(tmp_path, monkeypatch):
    """A second ``generate`` into the same folder starts while the first is renaming its
    file: each has its own temporary file, both finish, nothing is left behind."""
    from budget.generate import generate_templates
    from budget.menu import load_menu
    from budget.prefectures import find_prefecture

    menu, tokyo = load_menu(2023), [find_prefecture("13")]
    real = os.replace
    temps: list[str] = []

    def replace(src, dst):
        temps.append(Path(src).name)
        if len(temps) == 1:  # the first run is about to rename: the second runs now
            assert generate_templates(menu, tokyo, tmp_path) == [Path(dst)]
            assert Path(src).exists()  # the first run's temporary file was not touched
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    [path] = generate_templates(menu, tokyo, tmp_path)
    assert len(temps) == 2 and temps[0] != temps[1]
    assert names(tmp_path) == [path.name] == ["13_東京都_R5_計画.xlsx"]


def test_failed_generate_leaves_no_temp_file(tmp_path, monkeypatch):
    from budget.generate import generate_templates
    from budget.menu import load_menu
    from budget.prefectures import find_prefecture

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        generate_templates(load_menu(2023), [find_prefecture("13")], tmp_path)
    assert names(tmp_path) == []
