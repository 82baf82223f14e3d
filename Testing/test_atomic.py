"""lss.atomic.atomic_path: a file appears whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from lss.atomic import atomic_path


def test_success_renames_the_temporary_file_into_place(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.json"
    with atomic_path(target) as temporary:
        assert temporary.parent == target.parent and temporary.suffix == ".json" and temporary != target
        temporary.write_text("complete")
        assert not target.exists()
    assert target.read_text() == "complete"
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]
    assert target.stat().st_mode & 0o777 == 0o644


def test_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    target.chmod(0o600)
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    with atomic_path(target) as temporary:
        temporary.write_text("new")
    assert target.stat().st_mode & 0o777 == 0o600  # an existing file keeps its permissions


def test_write_text_atomically_replaces_the_whole_file(tmp_path: Path) -> None:
    from lss.atomic import write_text_atomically

    target = tmp_path / "report.md"
    target.write_text("old and longer")
    assert write_text_atomically(target, "new") == target
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]
