"""The history's tables, and the migrations that bring any older database up to date.

The schema version is ``PRAGMA user_version``: 0 is an empty file, 1 the
first schema.  Each entry of :data:`MIGRATIONS` moves a database from the
version before it to its own, inside the one write transaction that also sets
the new version, so a crash or a second process never sees half a migration.
Rules for a new version: add to the list, never edit a released step; add
columns with defaults (an older llmcli keeps reading a newer file, which it
opens for reading only); keep the frozen copy of version 1 in
tests/test_history_schema.py, which opens a version-1 file with today's code.

Search uses SQLite's FTS5 with the trigram tokenizer when the build has it:
its matches are case-insensitive substrings, the same rule as the LIKE
fallback, so ``-q`` gives the same records either way (see search.py).  The
index is an external-content table kept by triggers, so no text is stored
twice; it is created apart from the versions (a file made by a build without
FTS5 gets its index the first time a build with it opens the file).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

SCHEMA_V1 = """
CREATE TABLE records (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    time TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    parent_id TEXT,
    mode TEXT NOT NULL DEFAULT 'single',
    source TEXT,
    profile TEXT,
    provider TEXT,
    base_url TEXT,
    model TEXT,
    served_model TEXT,
    style TEXT,
    variables TEXT,
    system TEXT,
    instruction TEXT,
    input TEXT,
    messages TEXT,
    answer TEXT NOT NULL DEFAULT '',
    reasoning TEXT,
    input_tokens INTEGER,
    output_tokens INTEGER,
    reasoning_tokens INTEGER,
    seconds REAL,
    attempts INTEGER,
    finish_reason TEXT,
    status TEXT NOT NULL,
    error TEXT,
    cached INTEGER NOT NULL DEFAULT 0,
    params TEXT,
    cache_key TEXT,
    clipped TEXT
);
CREATE INDEX records_by_conversation ON records (conversation_id, id);
CREATE INDEX records_by_profile ON records (profile, id);
CREATE INDEX records_by_cache_key ON records (cache_key) WHERE cache_key IS NOT NULL;
"""

FTS_TABLE = "records_fts"
SEARCHED = ("instruction", "input", "answer")

FTS_SQL = f"""
CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(
    instruction, input, answer, content='records', content_rowid='seq', tokenize='trigram'
);
CREATE TRIGGER records_fts_insert AFTER INSERT ON records BEGIN
    INSERT INTO {FTS_TABLE} (rowid, instruction, input, answer)
    VALUES (new.seq, new.instruction, new.input, new.answer);
END;
CREATE TRIGGER records_fts_delete AFTER DELETE ON records BEGIN
    INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, instruction, input, answer)
    VALUES ('delete', old.seq, old.instruction, old.input, old.answer);
END;
CREATE TRIGGER records_fts_update AFTER UPDATE OF instruction, input, answer ON records BEGIN
    INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, instruction, input, answer)
    VALUES ('delete', old.seq, old.instruction, old.input, old.answer);
    INSERT INTO {FTS_TABLE} (rowid, instruction, input, answer)
    VALUES (new.seq, new.instruction, new.input, new.answer);
END;
"""


def _to_v1(conn: sqlite3.Connection) -> None:
    _run(conn, SCHEMA_V1)


#: (version, step): step brings a database at version - 1 to version.
MIGRATIONS: list[tuple[int, Callable[[sqlite3.Connection], None]]] = [
    (1, _to_v1),
]


def current_version() -> int:
    return MIGRATIONS[-1][0]


class NewerSchema(Exception):
    """The file was written by a newer llmcli (its schema version is above ours)."""

    def __init__(self, version: int) -> None:
        super().__init__(f"schema version {version}; this llmcli knows up to {current_version()}")
        self.version = version


def first_row(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> Any:
    """The first row of a query, or None, with the statement run to its end.

    ``fetchone()`` leaves the statement open, and an open statement holds its
    read lock: two processes creating a new file at once then each held one and
    waited for the other's to switch the file to WAL (a deadlock the busy timeout
    only ends by failing).  Every small query of the history goes through here.
    """
    rows = conn.execute(sql, params).fetchall()
    return rows[0] if rows else None


def version_of(conn: sqlite3.Connection) -> int:
    return int(first_row(conn, "PRAGMA user_version")[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to the current version; return the version it had.

    ``conn`` is in autocommit mode (isolation_level=None).  A new file is
    switched to WAL first (that cannot happen inside a transaction); the
    version is read again under the write lock, so two processes opening a
    new file at once migrate it once.
    """
    found = version_of(conn)
    target = current_version()
    if found == target:
        return found
    if found > target:
        raise NewerSchema(found)
    if found == 0:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = version_of(conn)
        for version, step in MIGRATIONS:
            if version > found:
                step(conn)
                conn.execute(f"PRAGMA user_version = {int(version)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found


def has_fts_module(conn: sqlite3.Connection) -> bool:
    """Whether this SQLite build has FTS5 with the trigram tokenizer (3.34+)."""
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.llmcli_fts_probe USING fts5(x, tokenize='trigram')")
        conn.execute("DROP TABLE temp.llmcli_fts_probe")
    except sqlite3.OperationalError:
        return False
    return True


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    return first_row(conn, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)) is not None


def has_fts_table(conn: sqlite3.Connection) -> bool:
    return has_table(conn, FTS_TABLE)


def ensure_fts(conn: sqlite3.Connection) -> bool:
    """Create the search index (and fill it from the records) if the build can; return whether it exists."""
    if has_fts_table(conn):
        return True
    if not has_fts_module(conn):
        return False
    conn.execute("BEGIN IMMEDIATE")
    try:
        if not has_fts_table(conn):
            _run(conn, FTS_SQL)
            conn.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('rebuild')")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return True


def _run(conn: sqlite3.Connection, script: str) -> None:
    """Run each statement of ``script`` inside the caller's transaction.

    ``executescript`` would COMMIT first; a migration must stay inside the
    transaction that also sets the version.  Statements are split with
    ``sqlite3.complete_statement``, so a trigger's inner semicolons are kept.
    """
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            if statement.strip():
                conn.execute(statement)
            statement = ""
    if statement.strip():
        conn.execute(statement)
