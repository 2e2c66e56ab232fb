"""Real paths for many files under few directories, each directory resolved once.

A batch asks for the real path of every source and target, to key its plan and its
resume journal.  ``Path.resolve()`` costs an ``lstat`` for every component of the path,
each time; over 10,000 files, asked several times a file, that was most of the time
the plan and the journal's look-ups took.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class Resolver:
    """``str(path.resolve())``, with each directory's real path kept from the first time it is asked.

    A file's real path is its directory's real path and its name, unless the name is
    itself a symlink (one ``lstat`` tells), and then the full resolution runs.  Strings,
    not paths: making and hashing 20,000 ``Path`` objects cost as much again.  A
    directory is taken as it was when first asked (and a relative one under the working directory of
    then): one made a symlink during the run is not seen as one (the worst that follows is a
    journal entry that matches nothing, and the file is done again).
    Safe across threads (two threads resolving one directory store the same answer).
    """

    def __init__(self) -> None:
        self._directories: dict[str, str] = {}  # a directory as given -> its real path (str: Path hashing is slow)

    def __call__(self, path: Path) -> str:
        head, name = os.path.split(os.fspath(path))
        if name in ("", ".", ".."):
            return os.path.realpath(path)
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return os.path.realpath(path)
        except OSError:
            pass  # not there (yet): its directory's real path and its name, as Path.resolve() gives
        real = self._directories.get(head)
        if real is None:
            real = self._directories[head] = os.path.realpath(head or ".")
        return os.path.join(real, name)
