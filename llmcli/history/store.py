"""The history file: where it lives, opening it safely, and every query llmcli runs on it.

One SQLite database, ``history.db`` in the platform's user data dir
(platformdirs; on Linux ``$XDG_DATA_HOME/llmcli/``, by default
``~/.local/share/llmcli/``), the directory made mode 700 and the file 600
(SQLite gives its -wal and -shm files the database's mode).

Concurrency: WAL journal (readers never wait for a writer), a busy timeout
(a writer waits for another's commit instead of failing), and every write a
single short transaction.  Threads of one process share one connection
behind a lock: a batch at ``-j 32`` writes its records one after another in
well under a millisecond each, without 32 connections contending for the
file's lock; two processes contend only through the busy timeout.

Errors are not handled here: sqlite3 and OS errors propagate, and the caller
decides what they cost (a warning while recording, an error in a history
command; see faults.py).
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import schema
from .faults import HistoryError
from .ids import looks_like_id
from .records import COLUMNS, OK, SINGLE, Record
from .search import condition, terms_of

FILE_NAME = "history.db"
BUSY_TIMEOUT = 5.0  # seconds a write waits for another process's transaction
# NORMAL with WAL: a power cut may lose the last records but never corrupts the file.  Its cost is
# fsync (the WAL at commit, the file at the checkpoint on close): 1-3 ms on a laptop SSD, tens of ms
# on a busy VM disk (bench/history.py).  OFF would make a one-shot record ~1 ms, at the risk of a
# corrupt history (then `llmcli history repair`) after an OS crash or power cut.
SYNCHRONOUS = "NORMAL"
SIDE_FILES = ("-wal", "-shm")
MIN_PREFIX = 4  # shortest id prefix accepted for an id

_INSERT = f"INSERT INTO records ({', '.join(COLUMNS)}) VALUES ({', '.join(':' + c for c in COLUMNS)})"


def data_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path("llmcli", appauthor=False)


def default_path() -> Path:
    return data_dir() / FILE_NAME


class Store:
    """An open history database.  Thread-safe: every method holds the connection's lock."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, fts: bool, timeout: float) -> None:
        self.conn = conn
        self.path = path
        self.fts = fts  # whether the search index exists (searches may still be told not to use it)
        self.timeout = timeout
        self.lock = threading.Lock()

    # -- opening ---------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | None = None, *, create: bool = True, timeout: float = BUSY_TIMEOUT) -> Store | None:
        """Open (with ``create``: make) the database and bring its schema up to date.

        Without ``create``, a missing file gives None: reading an empty
        history must not make a file.  Raises sqlite3.Error, OSError or
        schema.NewerSchema.
        """
        path = path or default_path()
        if create:
            _make_file(path)
        elif not path.exists():
            return None
        conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
            schema.migrate(conn)
            fts = schema.ensure_fts(conn)
        except BaseException:
            conn.close()
            raise
        return cls(conn, path, fts=fts, timeout=timeout)

    @classmethod
    def open_for_reading(cls, path: Path | None = None, *, timeout: float = BUSY_TIMEOUT) -> Store | None:
        """Open an existing history for a command that reads it; None when there is none yet.

        Reading needs no write access unless the file is of an older schema
        (then it is migrated).  A file of a newer llmcli is read as it is:
        columns are only ever added.
        """
        path = path or default_path()
        if not path.exists():
            return None
        conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            version = schema.version_of(conn)
            if version == 0 and not schema.has_table(conn, "records"):
                conn.close()
                return None  # an empty file: a history that never got its first record
            if version < schema.current_version():
                schema.migrate(conn)
            fts = schema.has_fts_table(conn) and schema.has_fts_module(conn)
        except BaseException:
            conn.close()
            raise
        return cls(conn, path, fts=fts, timeout=timeout)

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------------

    def add(self, row: dict[str, Any]) -> str:
        """Insert one record (a row from records.to_row) in its own transaction; return its id."""
        with self.lock:
            self.conn.execute(_INSERT, row)
        return str(row["id"])

    def add_many(self, rows: list[dict[str, Any]]) -> int:
        """Insert many records in one transaction (a provider batch's results arrive thousands at a time)."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.executemany(_INSERT, rows)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
        return len(rows)

    def delete(self, ids: Iterable[str]) -> int:
        """Delete records by exact id; their text is overwritten on disk, not merely unlinked."""
        wanted = list(dict.fromkeys(ids))
        with self.lock:
            self.conn.execute("PRAGMA secure_delete = ON")
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                count = 0
                for record_id in wanted:
                    count += self.conn.execute("DELETE FROM records WHERE id = ?", (record_id,)).rowcount
                if self.fts:
                    # Merge the index's segments so the deleted texts' trigrams leave it too.
                    self.conn.execute(f"INSERT INTO {schema.FTS_TABLE} ({schema.FTS_TABLE}) VALUES ('optimize')")
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self._checkpoint()
        return count

    def clear(self) -> int:
        """Delete every record, then compact the file so nothing of them is left on disk."""
        with self.lock:
            self.conn.execute("PRAGMA secure_delete = ON")
            count = int(schema.first_row(self.conn, "SELECT count(*) FROM records")[0])
            self.conn.execute("DELETE FROM records")
            self.conn.execute("VACUUM")
            self._checkpoint()
        return count

    def _checkpoint(self) -> None:
        """Copy the WAL into the file and truncate it (old page images of deleted text go with it)."""
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- reading ---------------------------------------------------------------------------------

    def count(self) -> int:
        with self.lock:
            return int(schema.first_row(self.conn, "SELECT count(*) FROM records")[0])

    def _select(self, where: str, params: Iterable[Any] = (), *, order: str = "id DESC",
                limit: int | None = None) -> list[Record]:
        sql = f"SELECT * FROM records WHERE {where} ORDER BY {order}"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self.lock:
            rows = self.conn.execute(sql, list(params)).fetchall()
        return [Record.from_row(row) for row in rows]

    def get(self, record_id: str) -> Record | None:
        found = self._select("id = ?", (record_id,))
        return found[0] if found else None

    def latest(self, *, mode: str | None = SINGLE, status: str | None = OK) -> Record | None:
        """The newest record of a mode (None: any) with a status (None: any)."""
        parts, params = ["1"], []
        if mode is not None:
            parts.append("mode = ?")
            params.append(mode)
        if status is not None:
            parts.append("status = ?")
            params.append(status)
        found = self._select(" AND ".join(parts), params, limit=1)
        return found[0] if found else None

    def by_cache_key(self, key: str) -> Record | None:
        """The newest successful record made for a request with this cache key."""
        found = self._select("cache_key = ? AND status = ?", (key, OK), limit=1)
        return found[0] if found else None

    def find(
        self,
        *,
        limit: int | None = 20,
        query: str | None = None,
        profile: str | None = None,
        use_fts: bool | None = None,
    ) -> list[Record]:
        """Records newest first; ``query``: see search.py; ``use_fts`` None = when the index exists."""
        parts, params = [], []
        if profile:
            parts.append("profile = ?")
            params.append(profile)
        terms = terms_of(query) if query else []
        if terms:
            where, values = condition(terms, use_fts=self.fts if use_fts is None else (use_fts and self.fts))
            parts.append(where)
            params.extend(values)
        return self._select(" AND ".join(parts) or "1", params, limit=limit)

    def resolve(self, ref: str) -> Record:
        """The record ``ref`` names: "last" (the newest successful single-mode record), or a record id,
        whole or a unique start of it (case-insensitive).  Raises HistoryError naming the file otherwise.
        """
        ref = ref.strip()
        if ref.lower() == "last":
            record = self.latest()
            if record is None:
                raise HistoryError(f"history: no answer recorded yet in {self.path}")
            return record
        key = ref.upper()
        record = self.get(key)
        if record is not None:
            return record
        if len(key) >= MIN_PREFIX and looks_like_id(key):
            found = self._select("id LIKE ?", (key + "%",), limit=2)
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise HistoryError(f"history: '{ref}' is the start of several record ids; give more of it")
        raise HistoryError(f"history: no record '{ref}' in {self.path} (llmcli history lists them)")

    def check(self) -> str:
        """SQLite's quick integrity check: 'ok' or the first problem."""
        with self.lock:
            row = schema.first_row(self.conn, "PRAGMA quick_check")
        return str(row[0]) if row else "ok"


def _make_file(path: Path) -> None:
    """The directory (700 when we make it) and an empty file (600) for SQLite to open."""
    directory = path.parent
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(directory))
    if not directory.is_dir():
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(directory, 0o700)
    if not path.exists():
        _create(path)


def _create(path: Path) -> None:
    """A new history file, whole: made beside its place (WAL, schema, index), then linked in atomically.

    Two processes logging their first call at once would otherwise both find an
    empty file and race to switch it to WAL, and SQLite refuses one of them at once
    (a lock it cannot wait for).  Now a process either sees no file or a finished
    one; the one whose link loses just drops its copy.
    """
    import tempfile

    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)
    os.close(fd)
    os.chmod(name, 0o600)
    try:
        conn = sqlite3.connect(name, isolation_level=None)
        try:
            schema.migrate(conn)  # switches the new file to WAL first
            schema.ensure_fts(conn)
        finally:
            conn.close()  # the last connection: its WAL is folded into the file and removed
        try:
            os.link(name, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
    finally:
        for leftover in (name, name + "-wal", name + "-shm"):
            try:
                os.unlink(leftover)
            except FileNotFoundError:
                pass
