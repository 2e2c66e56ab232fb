"""Where a provider batch job lives, and how its state survives a crash at any step.

A job is a directory under the user state dir (``jobs/JOB/``, mode 700):

- ``manifest.json``: the job (profile *name*, never a key; provider kind,
  settings) and its chunks, each with how far its submission got
  (``prepared`` -> ``uploading`` -> ``uploaded`` -> ``creating`` ->
  ``created``), its provider batch, last poll and raw result files.  Replaced
  atomically (``llmcli.atomic``, then the directory fsynced) after every step,
  so a crash leaves either the state before a step or the one after it.
- ``chunks/NNN.request.jsonl``: the exact payload of each chunk, in the
  provider's wire format, fsynced before any network call.
- ``raw/NNN.LABEL.jsonl``: result files as downloaded (``.part`` until whole).
- ``items.db``: SQLite (stdlib; durable commits, indexed, bounded memory for
  any corpus size): which file and unit each request id stands for, the
  file's layout and its bytes as submitted (compressed), and each request's
  outcome once a result is ingested.

Request ids are ``f{file}u{unit}`` (``a{attempt}`` appended on a retry):
deterministic, valid for every provider (``[A-Za-z0-9_-]{1,64}``), never a
path.  A per-job lock (``flock``) keeps two commands off one job.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import errors as E
from ..atomic import atomic_write_bytes

SCHEMA = 1
MANIFEST = "manifest.json"

# Submission steps of a chunk, in order.
PREPARED, UPLOADING, UPLOADED, CREATING, CREATED = "prepared", "uploading", "uploaded", "creating", "created"
WITHDRAWN = "withdrawn"  # cancelled before it was ever created
# Item states besides the provider outcomes (succeeded, errored, canceled, expired).
PENDING, MISSING = "pending", "missing"
# File states.
WRITTEN, STALE, FILE_PENDING = "written", "stale", "pending"


def jobs_root(state_dir: Path | None = None) -> Path:
    if state_dir is not None:
        return state_dir
    from platformdirs import user_state_path

    return user_state_path("llmcli", appauthor=False) / "jobs"


def request_id(file_no: int, unit_no: int, attempt: int = 1) -> str:
    return f"f{file_no}u{unit_no}" + (f"a{attempt}" if attempt > 1 else "")


def base_id(custom_id: str) -> str:
    return custom_id.split("a", 1)[0]


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# One encoder for every compact line (json.dumps with options builds a new one per call: a tenth of submit's time).
dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class Job:
    """One job directory: its manifest in memory, saved atomically; its items database opened on demand."""

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        self.path = path
        self.manifest = manifest
        self._db: Items | None = None

    @property
    def id(self) -> str:
        return str(self.manifest["job"])

    @property
    def chunks(self) -> list[dict[str, Any]]:
        return self.manifest.setdefault("chunks", [])

    def chunk_path(self, chunk: dict[str, Any]) -> Path:
        return self.path / chunk["path"]

    def raw_path(self, chunk: dict[str, Any], label: str) -> Path:
        return self.path / "raw" / f"{chunk['no']:03d}.{label}.jsonl"

    def save(self) -> None:
        self.manifest["updated_at"] = round(time.time(), 3)
        data = (json.dumps(self.manifest, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
        atomic_write_bytes(self.path / MANIFEST, data, mode=0o600)
        fsync_dir(self.path)

    def items(self) -> Items:
        if self._db is None:
            self._db = Items(self.path / "items.db")
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive use of the job for one command (released by the OS if the process dies)."""
        handle = open(self.path / "lock", "a+")
        try:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - Windows: no advisory lock
                yield
                return
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise E.UsageError(f"job {self.id} is in use by another llmcli command; "
                                   "try again when it ends") from None
            yield
        finally:
            handle.close()


def create(root: Path, manifest: dict[str, Any]) -> Job:
    """A new job directory with its first manifest, durable before anything else happens."""
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    base, n = manifest["job"], 1
    while True:
        path = root / manifest["job"]
        try:
            path.mkdir(mode=0o700)
            break
        except FileExistsError:  # the same command twice within a second
            n += 1
            manifest["job"] = f"{base}-{n}"
    for sub in ("chunks", "raw"):
        (path / sub).mkdir(mode=0o700)
    fsync_dir(root)
    job = Job(path, manifest)
    job.save()
    return job


def new_job_id(key: str) -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + key[:6]


def load(path: Path) -> Job:
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise E.UsageError(f"no job {path.name} (llmcli jobs list)") from None
    except (OSError, ValueError) as exc:
        raise E.UsageError(f"job {path.name}: unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        raise E.UsageError(f"job {path.name}: manifest of another llmcli version")
    return Job(path, manifest)


def all_jobs(root: Path) -> list[Job]:
    """Every job under ``root``, oldest first (ids sort by creation time); unreadable ones skipped."""
    if not root.is_dir():
        return []
    jobs = []
    for path in sorted(root.iterdir()):
        if path.is_dir() and (path / MANIFEST).exists():
            try:
                jobs.append(load(path))
            except E.UsageError:
                continue
    return jobs


def find(root: Path, wanted: str) -> Job:
    """The job named ``wanted``, or the only one whose id starts with it."""
    if wanted and "/" not in wanted and wanted not in (".", "..") and (root / wanted / MANIFEST).exists():
        return load(root / wanted)
    matches = [p for p in (sorted(root.iterdir()) if root.is_dir() else []) if p.name.startswith(wanted) and wanted]
    if len(matches) == 1 and (matches[0] / MANIFEST).exists():
        return load(matches[0])
    if len(matches) > 1:
        raise E.UsageError(f"job {wanted!r} is ambiguous: " + ", ".join(p.name for p in matches[:5]))
    raise E.UsageError(f"no job {wanted!r} (llmcli jobs list)")


# -- items -----------------------------------------------------------------------------------


@dataclass
class Item:
    id: str
    custom_id: str
    file_no: int
    unit_no: int
    chunk_no: int
    attempt: int
    state: str
    text: str | None
    ending: str | None
    finish: str | None
    tokens_in: int | None
    tokens_out: int | None
    error: str | None
    request: str


@dataclass
class FileRow:
    no: int
    source: str
    target: str
    shown: str
    src_sha: str
    units: int
    layout: str
    markdown: int
    state: str
    out_sha: str | None
    note: str | None


_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS files(
    no INTEGER PRIMARY KEY, source TEXT NOT NULL, target TEXT NOT NULL, shown TEXT NOT NULL,
    src_sha TEXT NOT NULL, units INTEGER NOT NULL, layout TEXT NOT NULL, markdown INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', out_sha TEXT, note TEXT, original BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS items(
    id TEXT PRIMARY KEY, custom_id TEXT NOT NULL UNIQUE, file_no INTEGER NOT NULL, unit_no INTEGER NOT NULL,
    chunk_no INTEGER NOT NULL, attempt INTEGER NOT NULL DEFAULT 1, state TEXT NOT NULL DEFAULT 'pending',
    text TEXT, ending TEXT, finish TEXT, tokens_in INTEGER, tokens_out INTEGER, error TEXT, request TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS items_by_file ON items(file_no, unit_no);
CREATE INDEX IF NOT EXISTS items_by_chunk ON items(chunk_no, state);
"""
_ITEM_COLUMNS = "id, custom_id, file_no, unit_no, chunk_no, attempt, state, text, ending, finish, tokens_in, " \
                "tokens_out, error, request"
_FILE_COLUMNS = "no, source, target, shown, src_sha, units, layout, markdown, state, out_sha, note"


class Items:
    """The job's items database: every commit durable (WAL, synchronous=FULL) before the caller goes on."""

    def __init__(self, path: Path) -> None:
        new = not path.exists()
        self.db = sqlite3.connect(path, isolation_level=None)  # explicit transactions only
        if new:
            os.chmod(path, 0o600)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA_SQL)

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def clear(self, db: sqlite3.Connection) -> None:
        """Empty both tables (a prepare starting over), inside the caller's transaction."""
        db.execute("DELETE FROM items")
        db.execute("DELETE FROM files")

    # -- writing ----------------------------------------------------------------------------

    def add_files(self, db: sqlite3.Connection,
                  rows: list[tuple[int, str, str, str, str, int, str, bool, bytes]]) -> None:
        """rows: (no, source, target, shown, src_sha, units, layout JSON, markdown, original).

        ``original``: the file's bytes as submitted (stored zlib'd): what its backup holds and a changed
        source is told by.  One statement for many rows: submit adds thousands at a time.
        """
        db.executemany("INSERT INTO files(no, source, target, shown, src_sha, units, layout, markdown, original) "
                       "VALUES (?,?,?,?,?,?,?,?,?)",
                       [(*row[:7], int(row[7]), zlib.compress(row[8])) for row in rows])

    def add_items(self, db: sqlite3.Connection, rows: list[tuple[str, str, int, int, int, str]]) -> None:
        """rows: (id, custom_id, file_no, unit_no, chunk_no, request JSON)."""
        db.executemany("INSERT INTO items(id, custom_id, file_no, unit_no, chunk_no, request) VALUES (?,?,?,?,?,?)",
                       rows)

    def record(self, db: sqlite3.Connection, outcome: Any) -> bool:
        """One result line onto its pending item; False when no pending item has that id."""
        cursor = db.execute(
            "UPDATE items SET state=?, text=?, ending=?, finish=?, tokens_in=?, tokens_out=?, error=? "
            "WHERE custom_id=? AND state='pending'",
            (outcome.state, outcome.text, outcome.ending, outcome.finish_reason, outcome.tokens_in,
             outcome.tokens_out, outcome.error, outcome.custom_id))
        return cursor.rowcount > 0

    def close_chunk(self, db: sqlite3.Connection, chunk_no: int, state: str, error: str | None) -> int:
        """Items of an ended chunk that no result line named."""
        cursor = db.execute("UPDATE items SET state=?, error=? WHERE chunk_no=? AND state='pending'",
                            (state, error, chunk_no))
        return cursor.rowcount

    def fail_item(self, db: sqlite3.Connection, item_id: str, error: str) -> None:
        db.execute("UPDATE items SET state='errored', error=? WHERE id=?", (error, item_id))

    def requeue(self, db: sqlite3.Connection, item_id: str, custom_id: str, chunk_no: int, attempt: int) -> None:
        db.execute("UPDATE items SET custom_id=?, chunk_no=?, attempt=?, state='pending', text=NULL, ending=NULL, "
                   "finish=NULL, tokens_in=NULL, tokens_out=NULL, error=NULL WHERE id=?",
                   (custom_id, chunk_no, attempt, item_id))

    def answer(self, db: sqlite3.Connection, item_id: str, outcome: Any) -> None:
        db.execute("UPDATE items SET state=?, text=?, ending=?, finish=?, tokens_in=?, tokens_out=?, error=? "
                   "WHERE id=?", (outcome.state, outcome.text, outcome.ending, outcome.finish_reason,
                                  outcome.tokens_in, outcome.tokens_out, outcome.error, item_id))

    def mark_file(self, db: sqlite3.Connection, no: int, state: str, out_sha: str | None, note: str | None) -> None:
        db.execute("UPDATE files SET state=?, out_sha=?, note=? WHERE no=?", (state, out_sha, note, no))

    # -- reading ----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT state, count(*) FROM items GROUP BY state").fetchall())

    def file_counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT state, count(*) FROM files GROUP BY state").fetchall())

    def usage(self) -> tuple[int, int]:
        row = self.db.execute("SELECT coalesce(sum(tokens_in),0), coalesce(sum(tokens_out),0) FROM items").fetchone()
        return int(row[0]), int(row[1])

    def files(self, page: int = 500) -> Iterator[FileRow]:
        """Every file in order, read a page at a time (callers update rows as they go)."""
        last = -1
        while True:
            rows = self.db.execute(f"SELECT {_FILE_COLUMNS} FROM files WHERE no > ? ORDER BY no LIMIT ?",
                                   (last, page)).fetchall()
            if not rows:
                return
            for row in rows:
                yield FileRow(*row)
            last = rows[-1][0]

    def original(self, file_no: int) -> bytes:
        row = self.db.execute("SELECT original FROM files WHERE no=?", (file_no,)).fetchone()
        return zlib.decompress(row[0]) if row else b""

    def units(self, file_no: int) -> list[Item]:
        rows = self.db.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE file_no=? ORDER BY unit_no", (file_no,))
        return [Item(*row) for row in rows.fetchall()]

    def landed(self, custom_ids: Sequence[str]) -> list[tuple[Item, FileRow]]:
        """The items these ids name, each with its file (for the history; at most a few hundred ids at a time)."""
        if not custom_ids:
            return []
        marks = ",".join("?" * len(custom_ids))
        item_columns = ", ".join(f"i.{c.strip()}" for c in _ITEM_COLUMNS.split(","))
        file_columns = ", ".join(f"f.{c.strip()}" for c in _FILE_COLUMNS.split(","))
        rows = self.db.execute(f"SELECT {item_columns}, {file_columns} FROM items i JOIN files f ON f.no = i.file_no "
                               f"WHERE i.custom_id IN ({marks}) ORDER BY i.file_no, i.unit_no", tuple(custom_ids))
        width = len(_ITEM_COLUMNS.split(","))
        return [(Item(*row[:width]), FileRow(*row[width:])) for row in rows]

    def in_states(self, states: tuple[str, ...], page: int = 1000) -> Iterator[Item]:
        marks = ",".join("?" * len(states))
        last = ""
        while True:
            rows = self.db.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE state IN ({marks}) AND id > ? "
                                   "ORDER BY id LIMIT ?", (*states, last, page)).fetchall()
            if not rows:
                return
            for row in rows:
                yield Item(*row)
            last = rows[-1][0]

    def item(self, item_id: str) -> Item | None:
        row = self.db.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE id=?", (item_id,)).fetchone()
        return Item(*row) if row else None

    def pending_in(self, chunk_no: int) -> int:
        return int(self.db.execute("SELECT count(*) FROM items WHERE chunk_no=? AND state='pending'",
                                   (chunk_no,)).fetchone()[0])

    def failures(self, limit: int | None = None) -> Iterator[tuple[str, str, str | None]]:
        """(file shown, item state, provider reason) of every item that did not succeed."""
        sql = ("SELECT f.shown, i.state, i.error FROM items i JOIN files f ON f.no = i.file_no "
               "WHERE i.state NOT IN ('pending', 'succeeded') ORDER BY i.file_no, i.unit_no")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        yield from self.db.execute(sql)
