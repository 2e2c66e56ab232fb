"""Atomic writes: the old file survives a failed write; permissions are kept."""

from __future__ import annotations

import pytest

from llmcli import atomic


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "f.txt"
    target.write_text("old")

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(OSError):
        atomic.atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in folder.iterdir()] == ["f.txt"]


def test_replaces_content_and_keeps_mode(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    target.chmod(0o640)
    atomic.atomic_write_text(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert target.stat().st_mode & 0o777 == 0o640


def test_new_file_honours_explicit_mode(tmp_path):
    target = tmp_path / "secret.toml"
    atomic.atomic_write_text(target, "x", mode=0o600)
    assert target.stat().st_mode & 0o777 == 0o600
