"""Where the text to rewrite comes from: positional words, -f files, stdin.

Rules (documented in the README):
- Positional words form the instruction; a lone ``-`` among them means stdin.
- ``-f FILE`` (repeatable, ``-`` = stdin) adds a document.
- Piped stdin (not a terminal) adds a document even without ``-``, unless a
  file was named explicitly (``-f``), so ``cmd | llmcli -f notes.txt`` never
  blocks on or silently mixes in an unrelated stream.
- Text is UTF-8 (a BOM is dropped); a binary or undecodable file, a directory,
  a missing file or an empty input is a one-line ``InputError``.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from .errors import InputError
from .terminal import stdin_is_terminal

STDIN = "-"
STDIN_LABEL = "<stdin>"
# Larger inputs are almost always a mistake (a binary, a log) and cost real money.
MAX_INPUT_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    label: str  # file name as given, or "<stdin>"
    text: str


@dataclass(frozen=True)
class Inputs:
    instruction: str = ""
    documents: tuple[Document, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return not self.instruction.strip() and not self.documents


def gather(words: Sequence[str], files: Sequence[str], stdin: BinaryIO | None = None, stdin_is_tty: bool | None = None,
           *, allow_empty: bool = False) -> Inputs:
    """Collect the instruction and the documents; raise InputError on unusable input.

    ``allow_empty``: nothing at all is fine (continuing a conversation with a style alone).
    """
    stdin = stdin if stdin is not None else _stdin_buffer()
    if stdin_is_tty is None:
        stdin_is_tty = stdin_is_terminal()
    instruction = " ".join(w for w in words if w != STDIN).strip()
    documents: list[Document] = []
    stdin_used = False
    for name in files:
        if name == STDIN:
            if not stdin_used:
                _append(documents, _read_stdin(stdin, explicit=True))
                stdin_used = True
            continue
        documents.append(read_file(name))
    if STDIN in words and not stdin_used:
        _append(documents, _read_stdin(stdin, explicit=True))
        stdin_used = True
    if not stdin_used and not files and not stdin_is_tty and stdin is not None and not _is_null_device(stdin):
        doc = _read_stdin(stdin, explicit=False)
        if doc is not None:
            documents.append(doc)
        elif instruction:
            from .status import warn

            warn("standard input is empty; sending the instruction alone")
    result = Inputs(instruction, tuple(d for d in documents if d is not None))
    if result.empty and not allow_empty:
        raise InputError(
            "nothing to send: give an instruction, a file (-f FILE) or text on stdin (see llmcli --help)"
        )
    return result


def read_file(name: str) -> Document:
    path = Path(name).expanduser()
    try:
        if path.is_dir():
            raise InputError(f"{name}: is a directory (give files, e.g. {name.rstrip('/')}/*.md)")
        data = read_bounded(path, MAX_INPUT_BYTES, label=name)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except PermissionError:
        raise InputError(f"{name}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror}") from None
    text = decode(data, name)
    if not text.strip():
        raise InputError(f"{name}: file is empty")
    return Document(name, text)


def read_bounded(path: str | os.PathLike[str], limit: int, *, label: str | None = None) -> bytes:
    """The bytes of ``path``, reading at most ``limit`` + 1 of them whatever it is; InputError past ``limit``.

    A regular file's size is checked before reading; anything else (a FIFO, a
    ``<(process substitution)``, ``/dev/zero``, a device) has no size to check,
    so the read itself is bounded: ``-f /dev/zero`` stops at the limit instead of
    filling memory.  OSError (missing, unreadable) is left to the caller.
    """
    name = label if label is not None else os.fspath(path)
    with open(path, "rb") as handle:
        info = os.fstat(handle.fileno())
        size = info.st_size if stat.S_ISREG(info.st_mode) else None
        if size is not None and size > limit:
            raise InputError(f"{name}: {size // 1024} KB is more than the {_megabytes(limit)} input limit")
        # A regular file is read for its size (+1: one that grew since fstat still stops at the limit);
        # asking every small file for limit + 1 bytes costs an 8 MB buffer, mapped and unmapped each time.
        data = handle.read(limit + 1 if size is None else min(size, limit) + 1)
        if size is not None and len(data) == size + 1 <= limit:
            data += handle.read(limit + 1 - len(data))  # it grew while read: the rest, still bounded
    if len(data) > limit:
        raise InputError(f"{name}: more than the {_megabytes(limit)} input limit")
    return data


def _megabytes(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"


def _read_stdin(stdin: BinaryIO | None, *, explicit: bool) -> Document | None:
    if stdin is None:
        if explicit:
            raise InputError("'-' given but there is no standard input")
        return None
    try:
        data = stdin.read(MAX_INPUT_BYTES + 1)
    except (OSError, ValueError):
        data = b""
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"{STDIN_LABEL}: more than the {_megabytes(MAX_INPUT_BYTES)} input limit")
    text = decode(data, STDIN_LABEL)
    if not text.strip():
        if explicit:
            raise InputError(f"{STDIN_LABEL}: standard input is empty")
        return None  # e.g. `llmcli "question" < /dev/null` in a script: just the prompt
    return Document(STDIN_LABEL, text)


def decode(data: bytes, label: str) -> str:
    """UTF-8 text (BOM dropped), or an InputError saying where it is not text."""
    head = data[:8192]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{label}: looks like a binary file (contains NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{label}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at line {line}); "
            "convert it first, e.g. iconv -t UTF-8"
        ) from None
    return text


def _append(documents: list[Document], doc: Document | None) -> None:
    if doc is not None:  # an explicit '-' never gives None (it raises instead); kept typed
        documents.append(doc)


def _stdin_buffer() -> BinaryIO | None:
    stream: Any = sys.stdin
    if stream is None:
        return None
    return getattr(stream, "buffer", stream)


def _is_null_device(stream) -> bool:
    """stdin redirected from /dev/null (cron, CI, ``< /dev/null``): nothing to read, nothing to warn about."""
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (AttributeError, OSError, ValueError):
        return False
    return stat.S_ISCHR(mode)

