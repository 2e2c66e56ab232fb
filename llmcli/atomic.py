"""Atomic file writes: a temp file in the same directory, fsync, then rename.

A reader (or a crash, or Ctrl-C) sees either the old file whole or the new
one whole, never a half-written answer.  The temp file lives beside the target
so the rename never crosses a filesystem.

What a user names as an output (``-o FILE``) is not always a regular file:
:func:`resolve_target` and :func:`write_target` write to it as a shell
redirection would, and atomically wherever a rename can publish the data
(see :class:`Target`).
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


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


def remove_stale_temps(path: str | os.PathLike[str], seen: dict[Path, list[str]] | None = None) -> None:
    """Delete temp files a killed writer left beside ``path`` (``.NAME.*.tmp``).

    ``seen``: a run's cache of each directory's temp files as they were when the run
    first looked (a batch publishing 10,000 files into one directory lists it once, not
    once per file; and a temp file another worker of the run is writing right now was
    not there then, so it is never taken for a stale one).
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    seen = {} if seen is None else seen
    if directory not in seen:
        try:
            seen[directory] = [e.name for e in os.scandir(directory)
                               if e.name.startswith(".") and e.name.endswith(".tmp")]
        except OSError:
            seen[directory] = []
    prefix = f".{target.name}."
    names = [name for name in seen[directory] if name.startswith(prefix) and name.endswith(".tmp")]
    for name in names:
        try:
            (directory / name).unlink()
        except OSError:
            pass


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


# -- an output the user names (-o FILE) ---------------------------------------------------------

STDOUT = "stdout"  # "-": the caller's stdout
FILE = "file"  # a regular file (or none yet): replaced atomically, through any symlinks
IN_PLACE = "in place"  # a device, a FIFO, a /proc magic link: opened and written, never replaced


@dataclass(frozen=True)
class Target:
    """Where ``-o NAME`` writes, decided once (before the request, so a wrong name costs nothing).

    - ``-`` is stdout (:data:`STDOUT`);
    - a regular file, or a name with nothing there yet, is replaced atomically
      (:data:`FILE`); a symlink is written *through*: ``path`` is the file at
      the end of its chain, so the link (and every link before it) is kept;
    - anything else that exists (``/dev/null``, a FIFO, a terminal, a link into
      ``/proc/self/fd``) is opened for writing and written, as ``> NAME`` would
      (:data:`IN_PLACE`): replacing ``/dev/null`` with a file, or a FIFO's reader
      with nothing, is never what a user meant.
    """

    name: str  # as the user wrote it (for messages)
    kind: str  # STDOUT | FILE | IN_PLACE
    path: Path | None  # what is written: the final file for FILE, the name itself for IN_PLACE

    @property
    def is_stdout(self) -> bool:
        return self.kind == STDOUT


def resolve_target(name: str | os.PathLike[str]) -> Target:
    """What ``name`` is as an output; raises OSError for a directory, a symlink loop, a name that cannot be.

    Nothing is created or written.  A dangling symlink resolves to the file it
    names (written there, like ``>`` would create it).
    """
    text = os.fspath(name)
    if text == "-":
        return Target(text, STDOUT, None)
    try:
        info: os.stat_result | None = os.stat(text)  # through symlinks
    except FileNotFoundError:
        info = None  # nothing there yet, or a dangling symlink
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), text)
    if info is not None and not stat.S_ISREG(info.st_mode):
        return Target(text, IN_PLACE, Path(text))
    if info is not None and _via_descriptor(text):
        # /dev/stdout, /dev/fd/N: an open file of this process (the shell's `> out.txt`).
        # Replacing the file by name would leave whoever holds it reading the old one.
        return Target(text, IN_PLACE, Path(text))
    final = Path(os.path.realpath(text))
    if info is not None and not _same_file(final, info):
        # A link the kernel resolves by itself ("/x (deleted)"): its text names no file to replace.
        return Target(text, IN_PLACE, Path(text))
    return Target(text, FILE, final)


def write_target(
    target: Target | str | os.PathLike[str],
    data: bytes,
    *,
    mode: int | None = None,
    before_replace: Callable[[], None] | None = None,
) -> Target:
    """Write ``data`` where ``target`` says (a name is resolved first); return the Target written.

    FILE: :func:`atomic_write_bytes` on the final file (``before_replace`` runs
    before the rename).  IN_PLACE: opened write-only (never created, never
    replaced; ``before_replace`` runs before the first byte) and written whole
    — a FIFO blocks until it has a reader, as a shell redirection does.
    STDOUT: written to ``sys.stdout``'s binary buffer.
    """
    resolved = target if isinstance(target, Target) else resolve_target(target)
    if resolved.kind == FILE:
        assert resolved.path is not None
        atomic_write_bytes(resolved.path, data, mode=mode, before_replace=before_replace)
    elif resolved.kind == IN_PLACE:
        assert resolved.path is not None
        if before_replace is not None:
            before_replace()
        fd = os.open(resolved.path, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_NOCTTY", 0))
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    else:
        if before_replace is not None:
            before_replace()
        stream = getattr(sys.stdout, "buffer", None)
        if stream is None:
            sys.stdout.write(data.decode("utf-8", "surrogateescape"))
            sys.stdout.flush()
        else:
            sys.stdout.flush()
            stream.write(data)
            stream.flush()
    return resolved


_DESCRIPTOR_DIRS = re.compile(r"/proc/[^/]+(/task/[^/]+)?/fd|/dev/fd")
_MAX_LINKS = 40  # as the kernel's own limit on a chain


def _via_descriptor(text: str) -> bool:
    """Whether a chain of symlinks passes through a file-descriptor link (/proc/<pid>/fd/N, /dev/fd/N)."""
    path = os.path.abspath(text)
    for _ in range(_MAX_LINKS):
        if _DESCRIPTOR_DIRS.fullmatch(os.path.realpath(os.path.dirname(path))):
            return True
        if not os.path.islink(path):
            return False
        path = os.path.normpath(os.path.join(os.path.dirname(path), os.readlink(path)))
    return False


def _same_file(path: Path, info: os.stat_result) -> bool:
    try:
        other = os.stat(path)
    except OSError:
        return False
    return (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino)
