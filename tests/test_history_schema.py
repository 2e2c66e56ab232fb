"""Schema versions: a file written by the first schema opens with today's code; a migration step runs once, whole."""

from __future__ import annotations

import sqlite3

import pytest

from llmcli import history
from llmcli.history import faults, schema
from llmcli.history.store import Store

from .history_util import db_path, sample

# The first schema exactly as llmcli 1 wrote it. FROZEN: never edit this copy, whatever the schema becomes.
SCHEMA_V1_FROZEN = """
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
PRAGMA user_version = 1;
"""

V1_ROW = {
    "id": "01J00000000000000000000001", "time": "2024-06-01T10:00:00.000Z", "conversation_id": "01J00000000000000000000001",
    "mode": "single", "source": "notes.txt", "profile": "groq", "provider": "groq", "base_url": "https://api.groq.com/openai/v1",
    "model": "llama", "style": "fix", "variables": '{"to": "French"}', "system": "Fix it.", "instruction": None,
    "input": "teh old text\n", "messages": '[{"role": "user", "content": "teh old text\\n"}]', "answer": "the old text",
    "input_tokens": 3, "output_tokens": 4, "seconds": 0.7, "attempts": 1, "finish_reason": "stop", "status": "ok",
    "cached": 0, "params": '{"temperature": 0.2}',
}


@pytest.fixture(autouse=True)
def fresh_warning():
    faults.reset_warning()
    yield
    faults.reset_warning()


def write_v1_file() -> None:
    db_path().parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path())
    conn.executescript(SCHEMA_V1_FROZEN)
    conn.execute(f"INSERT INTO records ({', '.join(V1_ROW)}) VALUES ({', '.join('?' * len(V1_ROW))})", list(V1_ROW.values()))
    conn.commit()
    conn.close()


def test_the_frozen_copy_is_todays_version_1():
    """Until version 2 exists, the code's v1 and the frozen one must be the same tables."""
    def tables(script: str) -> list[tuple]:
        conn = sqlite3.connect(":memory:")
        conn.executescript(script)
        rows = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()
        conn.close()
        return rows

    assert tables(schema.SCHEMA_V1) == tables(SCHEMA_V1_FROZEN.replace("PRAGMA user_version = 1;", ""))


def test_a_version_1_file_is_read_and_written_by_todays_code(capsys):
    write_v1_file()
    store = Store.open_for_reading(db_path())
    assert store is not None
    with store:
        [old] = store.find()
        assert (old.answer, old.variables, old.params, old.source) == ("the old text", {"to": "French"}, {"temperature": 0.2}, "notes.txt")
        assert store.find(query="OLD TEXT")[0].id == old.id  # the search index was built for the old records
    new = history.record(**sample(1))
    assert new is not None and capsys.readouterr().err == ""
    store = Store.open_for_reading(db_path())
    with store:
        assert [r.id for r in store.find()] == [new, old.id]
        assert schema.version_of(store.conn) == schema.current_version()
    assert history.resume(old.id).messages[-1] == ("assistant", "the old text")


def test_a_new_step_runs_once_keeps_the_data_and_sets_the_version(monkeypatch):
    write_v1_file()
    calls = []

    def to_v2(conn):
        calls.append(1)
        conn.execute("ALTER TABLE records ADD COLUMN rating INTEGER")

    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS + [(2, to_v2)])
    for _ in range(2):
        assert history.record(**sample(1)) is not None
    assert calls == [1]
    conn = sqlite3.connect(db_path())
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert conn.execute("SELECT count(*), count(rating) FROM records").fetchone() == (3, 0)
    conn.close()


def test_a_failing_step_leaves_the_file_as_it_was(monkeypatch, capsys):
    write_v1_file()

    def broken(conn):
        conn.execute("ALTER TABLE records ADD COLUMN half INTEGER")
        raise sqlite3.OperationalError("simulated failure in the middle of a migration")

    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS + [(2, broken)])
    assert history.record(**sample(1)) is None
    assert "not logged" in capsys.readouterr().err
    conn = sqlite3.connect(db_path())
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert "half" not in [row[1] for row in conn.execute("PRAGMA table_info(records)")]
    conn.close()


def test_a_file_made_without_fts_gets_its_index_later(monkeypatch):
    with monkeypatch.context() as patch:  # (monkeypatch.undo() would also undo the isolated HOME)
        patch.setattr(schema, "has_fts_module", lambda conn: False)
        history.record(**sample(1, answer="a zebra crossed"))
        store = Store.open_for_reading(db_path())
        assert store is not None and not store.fts
        assert [r.answer for r in store.find(query="zebra")] == ["a zebra crossed"]  # LIKE
        store.close()
    history.record(**sample(2, answer="another zebra"))
    store = Store.open_for_reading(db_path())
    with store:
        assert store.fts
        assert [r.answer for r in store.find(query="zebra")] == ["another zebra", "a zebra crossed"]


def test_two_processes_creating_the_file_at_once_migrate_it_once(tmp_path):
    import os
    import subprocess
    import sys

    from .conftest import ROOT

    code = ("import sys; sys.stdin.readline(); from llmcli import history; from tests.history_util import sample;"
            "sys.exit(0 if history.record(**sample()) else 1)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
             for _ in range(3)]
    for p in procs:
        p.stdin.write(b"\n")
        p.stdin.flush()
    assert [(p.wait(timeout=120), p.stderr.read()) for p in procs] == [(0, b"")] * 3
    with Store.open_for_reading(db_path()) as store:  # type: ignore[union-attr]
        assert store.count() == 3
