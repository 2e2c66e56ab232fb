"""What makes a batch resumable: a journal of the rewrites that reached the disk.

One JSON line per file written, appended *after* the new content is fsynced
to its temp file and *before* the rename that publishes it.  A file counts as
done when the journal holds a line for the same input path and the same job
fingerprint (instruction, profile, model, settings, target) and the target on
disk now has the content that line recorded, so:

- a run killed before the rename left the old target: not done, redone;
- killed after it: done, skipped, never rewritten twice — even in place, where
  the input *is* the rewritten text now (its hash is the recorded output hash);
- an input edited since, or another instruction: not done, redone.

The journal lives in the user state dir (``$XDG_STATE_HOME/llmcli`` on Linux)
and is shared by every batch; ``--force`` ignores it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..resolver import Resolver

NAME = "batch-journal.jsonl"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fingerprint(settings: dict) -> str:
    """A stable id for 'this instruction with these settings' (json with sorted keys, hashed)."""
    return sha256(json_line(settings, sort_keys=True).encode("utf-8"))[:32]


_SURROGATE = re.compile("[\ud800-\udfff]")


def json_line(obj: Any, *, sort_keys: bool = False) -> str:
    """``obj`` as one line of JSON that is valid UTF-8, whatever file names it holds.

    Text is kept as text (``ensure_ascii=False``), except the lone surrogates
    that stand for a name's bytes that are not UTF-8 (``surrogateescape``):
    those are written as ``\\udcNN`` escapes, which ``json.loads`` turns back
    into the same ``str`` (and ``os.fsencode`` into the same bytes).  For the
    journal and for a batch ``--report``.
    """
    line = json.dumps(obj, ensure_ascii=False, sort_keys=sort_keys)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", line)


def default_path() -> Path:
    from platformdirs import user_state_path

    return user_state_path("llmcli", appauthor=False) / NAME


@dataclass(frozen=True)
class Entry:
    source: str
    target: str
    job: str
    input_sha: str
    output_sha: str


class Journal:
    """Thread-safe: workers record as they write; the main thread asks before dispatching."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, str], list[Entry]] = {}
        self._fd: int | None = None
        self._real = Resolver()  # sources and targets are keyed by their real paths, asked twice a file
        self._load()

    def _load(self) -> None:
        try:
            # Bytes a crash tore mid-character only spoil their own line.
            lines = self.path.read_bytes().decode("utf-8", "replace").split("\n")
        except FileNotFoundError:
            return
        except OSError:
            return  # an unreadable journal only means nothing is skipped
        for line in lines:
            try:
                raw = json.loads(line)
                entry = Entry(raw["source"], raw["target"], raw["job"], raw["input_sha"], raw["output_sha"])
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a crash mid-append
            self._entries.setdefault((entry.source, entry.target, entry.job), []).append(entry)

    def is_done(self, source: Path, target: Path, job: str, input_sha: str) -> bool:
        if not self._entries:
            return False  # nothing journalled: no paths to resolve
        real_source, real_target = self._real(source), self._real(target)
        entries = self._entries.get((real_source, real_target, job))
        if not entries:
            return False
        try:
            current = sha256(target.read_bytes())
        except OSError:
            return False
        in_place = real_source == real_target
        for entry in entries:
            if current == entry.output_sha and (input_sha == entry.input_sha or in_place):
                return True
        return False

    def record(self, source: Path, target: Path, job: str, input_sha: str, output_sha: str) -> None:
        """Append one line and make it durable before the caller publishes the file.

        One ``write`` per line on an O_APPEND descriptor (lines never interleave);
        the fsync is made outside the lock, so workers' fsyncs overlap instead of
        queueing one behind the other.
        """
        entry = Entry(self._real(source), self._real(target), job, input_sha, output_sha)
        line = json_line({**entry.__dict__, "time": round(time.time(), 3)}) + "\n"
        with self._lock:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.write(self._fd, line.encode("utf-8"))
            fd = self._fd
        # Not kept in memory: a run never writes a file twice, and the next run reads the line back
        # (a 10,000-file run would otherwise hold 10,000 entries to the end).
        os.fsync(fd)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
