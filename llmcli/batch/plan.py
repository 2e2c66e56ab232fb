"""Which files a batch rewrites, and where each answer goes.

Inputs are paths, directories (walked, hidden entries skipped), quoted globs
with ``**``, or a list of paths from a file or stdin (``--from``).  Each input
keeps the *root* it was found under (the directory given, a glob's literal
prefix, a file's own directory), so ``--out DIR`` mirrors the tree under that
root.  Everything the plan can check without reading file contents is checked
here, before any call: exactly one output mode, two inputs writing one output,
an output that is also an input, a path that does not exist.

File names are bytes on POSIX and need not be UTF-8.  They are carried as
Python carries them (``str`` with ``surrogateescape``, so the bytes come back
exactly: :func:`split_paths`), and shown through :func:`display_name`, which
any stream can print.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..names import display_name
from ..resolver import Resolver

GLOB_CHARS = set("*?[")
_BACKUP = re.compile(r"\.bak(\.\d+)?$")
MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd", ".mdx"}


@dataclass(frozen=True)
class Job:
    source: Path  # the input file
    target: Path  # where its rewrite goes (== source for --in-place)
    shown: str  # the input as the user will recognise it in progress lines (display_name: printable)

    @property
    def is_markdown(self) -> bool:
        return self.source.suffix.lower() in MARKDOWN_SUFFIXES


@dataclass(frozen=True)
class OutputMode:
    """Exactly one of: a directory to mirror into, a suffix before the extension, or in place."""

    out_dir: Path | None = None
    suffix: str | None = None
    in_place: bool = False

    @staticmethod
    def choose(out_dir: str | None, suffix: str | None, in_place: bool, *, needed: bool) -> OutputMode:
        given = [name for name, on in (("--out", out_dir is not None), ("--suffix", suffix is not None),
                                        ("--in-place", in_place)) if on]
        if len(given) > 1:
            raise UsageError(f"choose one output mode, not {' and '.join(given)}")
        if not given and needed:
            raise UsageError(
                "say where answers go: --out DIR, --suffix SUFFIX or --in-place (or use --dry-run / --diff)")
        if suffix is not None and (not suffix or "/" in suffix or os.sep in suffix):
            raise UsageError(f"--suffix {suffix!r}: expected text such as .formal (no '/')")
        return OutputMode(Path(out_dir) if out_dir else None, suffix, in_place)

    def target(self, source: Path, root: Path) -> Path:
        if self.out_dir is not None:
            try:
                relative = source.relative_to(root)
            except ValueError:
                relative = Path(source.name)
            return self.out_dir / relative
        if self.suffix is not None:
            return source.with_name(source.stem + self.suffix + source.suffix) if source.suffix else \
                source.with_name(source.name + self.suffix)
        return source


def plan(
    paths: Sequence[str],
    *,
    from_list: Iterable[str] = (),
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    mode: OutputMode,
) -> list[Job]:
    """The jobs, in a stable order (as given; directories and globs sorted), without duplicates."""
    found: list[tuple[Path, Path]] = []  # (file, root)
    for arg in paths:
        found += _expand(arg, include)
    for line in from_list:
        name = line.rstrip("\r\n")
        if name.strip():
            found += _expand(name, include, from_list=True)
    if not found:
        raise UsageError("no input files: give paths, directories, globs or --from FILE")

    resolve = Resolver()
    out_dir = resolve(mode.out_dir) if mode.out_dir else None
    jobs: list[Job] = []
    sources: set[str] = set()  # each job's source, resolved
    targets: dict[str, Path] = {}  # each job's target, resolved -> its source as given
    for file, root in found:
        real = resolve(file)
        if real in sources or _ignored(file, real, root, exclude, mode, out_dir):
            continue
        sources.add(real)
        target = mode.target(file, root)
        key = resolve(target)
        if key in targets:
            raise UsageError(f"{targets[key]} and {file} would both be written to {target}")
        targets[key] = file
        jobs.append(Job(file, target, display_name(file)))
    if mode.out_dir is not None or mode.suffix is not None:
        for job, key in zip(jobs, targets):  # targets: one key per job, in the jobs' order
            if key in sources:
                raise UsageError(f"{job.target} is both an input and an output (use --in-place to rewrite in place)")
    if not jobs:
        raise UsageError("no input files left after --include/--exclude")
    return jobs


def split_paths(data: bytes) -> list[str]:
    """The names in a ``--from`` list: one per line, split at ``\\n`` (and ``\\r\\n``) only.

    Not ``str.splitlines``, which also splits at U+2028, U+0085, form feeds…
    that a file name may hold.  Bytes that are not UTF-8 are kept
    (``surrogateescape``: ``os.fsencode`` gives them back), as the file
    system has them.  Empty lines are dropped.
    """
    names = []
    for line in data.split(b"\n"):
        if line.endswith(b"\r"):
            line = line[:-1]
        if line:
            names.append(os.fsdecode(line))
    return names


def _expand(arg: str, include: Sequence[str], *, from_list: bool = False) -> list[tuple[Path, Path]]:
    if any(ch in GLOB_CHARS for ch in arg) and not Path(arg).exists():
        matches = sorted(glob.glob(arg, recursive=True), key=natural_key)
        files = [Path(m) for m in matches if Path(m).is_file()]
        if not files:
            raise UsageError(f"{arg}: no files match")
        root = _literal_prefix(arg)
        return [(f, root) for f in files if _included(f, root, include, explicit=False)]
    path = Path(arg)
    if path.is_dir():
        out = []
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames[:] = sorted((d for d in dirnames if not d.startswith(".")), key=natural_key)
            for name in sorted(filenames, key=natural_key):
                if name.startswith("."):
                    continue
                file = Path(dirpath) / name
                if _included(file, path, include, explicit=False):
                    out.append((file, path))
        return out
    if path.is_file():
        root = Path(".") if from_list and not path.is_absolute() else path.parent
        return [(path, root)] if _included(path, root, include, explicit=True) else []
    if path.exists():
        raise UsageError(f"{arg}: not a regular file")
    raise UsageError(f"{arg}: no such file or directory")


def natural_key(name: str) -> list:
    """Order names as people count: f2 before f10 (progress lines and --dry-run read in this order)."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part.lower()) for part in re.split(r"(\d+)", name)]


def _literal_prefix(pattern: str) -> Path:
    parts = Path(pattern).parts
    prefix: list[str] = []
    for part in parts:
        if any(ch in GLOB_CHARS for ch in part):
            break
        prefix.append(part)
    return Path(*prefix) if prefix else Path(".")


def _relative(file: Path, root: Path) -> str:
    try:
        return file.relative_to(root).as_posix()
    except ValueError:
        return file.as_posix()


def _matches(file: Path, root: Path, patterns: Sequence[str]) -> bool:
    rel = _relative(file, root)
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(file.name, p) for p in patterns)


def _included(file: Path, root: Path, include: Sequence[str], *, explicit: bool) -> bool:
    """--include narrows what directories and globs yield; a file named explicitly is always wanted."""
    return explicit or not include or _matches(file, root, include)


def _ignored(file: Path, real: str, root: Path, exclude: Sequence[str], mode: OutputMode,
             out_dir: str | None) -> bool:
    """--exclude, and what a batch writes itself: backups, temp files, the output tree, suffixed outputs.

    ``real``: ``file`` resolved.
    """
    name = file.name
    if exclude and _matches(file, root, exclude):
        return True
    if _BACKUP.search(name) or (name.startswith(".") and name.endswith(".tmp")):
        return True
    if out_dir is not None and real.startswith(os.path.join(out_dir, "")):  # below the output tree
        return True
    if mode.suffix is not None:
        stem = file.stem if file.suffix else file.name
        if stem.endswith(mode.suffix):
            return True
    return False
