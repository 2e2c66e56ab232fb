"""Atomic file writes: a temp file in the same directory, fsync, then rename.

A reader (or a crash, or Ctrl-C) sees either the old file whole or the new
one whole, never a half-written answer.  The temp file lives beside the target
so the rename never crosses a filesystem.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def atomic_write_bytes(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    mode: int | None = None,
    before_replace: Callable[[], None] | None = None,
) -> None:
    """Replace ``path`` with ``data`` atomically; keep the old file's permissions unless ``mode`` is given.

    ``before_replace`` runs once the data is safely on disk and before it is
    published (a batch journals the write there, so a crash between the two
    leaves a state it can resume from).
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if mode is None:
        try:
            mode = target.stat().st_mode & 0o7777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if before_replace is not None:
            before_replace()
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str, *, mode: int | None = None) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def remove_stale_temps(path: str | os.PathLike[str]) -> None:
    """Delete temp files a killed writer left beside ``path`` (``.NAME.*.tmp``)."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    for stale in directory.glob(f".{glob_escape(target.name)}.*.tmp"):
        try:
            stale.unlink()
        except OSError:
            pass


def glob_escape(name: str) -> str:
    import glob

    return glob.escape(name)


def keep_backup(path: str | os.PathLike[str], original: bytes, base: Path | None = None) -> Path:
    """Save ``original`` (the content about to be replaced) as PATH.bak, or at ``base``.

    An existing backup with other content is never overwritten — it may be the only
    copy of the user's first version — so the next free PATH.bak.2, .3 … is used.
    """
    base = base if base is not None else Path(path).with_name(Path(path).name + ".bak")
    candidate, n = base, 1
    while candidate.exists():
        if candidate.read_bytes() == original:
            return candidate
        n += 1
        candidate = base.with_name(f"{base.name}.{n}")
    candidate.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(candidate, original)
    return candidate
