"""History through the CLI: every call recorded, `last` without a request, refining with -c/--cid,
--cache, --no-log, batch at -j 32, and faults that never cost the answer.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from tests.fakes.openai_wire import stream_reply

KEY = "sk-history-test-0123456789"


@pytest.fixture
def env(cli, config_file, openai_server, monkeypatch):
    """A profile 'fake' at the fake server with a key from a variable; returns the server."""
    monkeypatch.setenv("FAKE_KEY", KEY)
    config_file(f"""
default_profile = "fake"

[profiles.fake]
provider = "openai-compatible"
base_url = "{openai_server.url}/v1"
model = "fake-model"
api_key_env = "FAKE_KEY"
retries = 0
""")
    return openai_server


def db(home: Path) -> Path:
    return home / ".local/share/llmcli/history.db"


def records(home: Path) -> list[dict]:
    with sqlite3.connect(db(home)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM records ORDER BY id")]


def test_a_call_is_recorded_and_last_prints_it_without_a_request(cli, env, isolated_env):
    assert cli("-s", "formal", "hey can u send it").code == 0
    [r] = records(isolated_env)
    assert (r["profile"], r["model"], r["style"], r["status"]) == ("fake", "fake-model", "formal", "ok")
    assert r["answer"] == "Hello from fake server!" and "hey can u send it" in r["input"]
    assert db(isolated_env).stat().st_mode & 0o777 == 0o600
    assert db(isolated_env).parent.stat().st_mode & 0o777 == 0o700
    seen = len(env.requests)
    last = cli("last")
    assert last.code == 0 and last.stdout == "Hello from fake server!\n" and len(env.requests) == seen
    assert json.loads(cli("last", "--json").stdout)["answer"] == "Hello from fake server!"


def test_continue_sends_the_previous_exchange(cli, env):
    assert cli("-s", "fix", "teh cat sat").code == 0
    first = env.last.json["messages"]
    env.enqueue(stream_reply(["Shorter."]))
    result = cli("-c", "make it shorter")
    assert result.code == 0 and result.stdout == "Shorter.\n"
    sent = env.last.json["messages"]
    assert sent[:2] == first  # the original system prompt and the user message with the text
    assert sent[2] == {"role": "assistant", "content": "Hello from fake server!"}
    assert sent[3] == {"role": "user", "content": "make it shorter"}


def test_continue_with_a_style_applies_it_to_the_previous_answer(cli, env):
    env.enqueue(stream_reply(["the cat sat"]))
    assert cli("-s", "fix", "teh cat sat").code == 0
    assert cli("-c", "-s", "formal").code == 0
    last_user = env.last.json["messages"][-1]["content"]
    assert "formal" in last_user and "<text>\nthe cat sat\n</text>" in last_user


def test_continue_with_diff_compares_the_previous_answer_and_the_new_one(cli, env):
    env.enqueue(stream_reply(["one two three\n"]))
    assert cli("-s", "fix", "one too three").code == 0
    env.enqueue(stream_reply(["one two four\n"]))
    result = cli("-c", "-s", "fix", "--diff")
    assert "-one two three" in result.stdout and "+one two four" in result.stdout


def test_cid_continues_an_older_conversation(cli, env, isolated_env):
    env.enqueue(stream_reply(["first answer"]), stream_reply(["second answer"]), stream_reply(["refined"]))
    assert cli("-s", "fix", "first").code == 0
    assert cli("-s", "fix", "second").code == 0
    first_id = records(isolated_env)[0]["id"]
    assert cli("--cid", first_id, "again please").code == 0
    assert env.last.json["messages"][2]["content"] == "first answer"
    newest = records(isolated_env)[-1]
    assert newest["parent_id"] == first_id and newest["conversation_id"] == first_id


def test_cache_hit_makes_no_request_and_a_changed_parameter_misses(cli, env):
    assert cli("--cache", "-s", "fix", "some text").code == 0
    assert len(env.requests) == 1
    hit = cli("--cache", "--json", "-s", "fix", "some text")
    assert len(env.requests) == 1 and json.loads(hit.stdout)["cached"] is True
    assert json.loads(hit.stdout)["text"] == "Hello from fake server!"
    assert cli("--cache", "-t", "0.5", "-s", "fix", "some text").code == 0
    assert len(env.requests) == 2
    assert cli("-s", "fix", "some text").code == 0  # no --cache: always a request
    assert len(env.requests) == 3


@pytest.mark.parametrize("how", ["flag", "variable", "config"])
def test_logging_can_be_turned_off(cli, env, isolated_env, config_file, monkeypatch, how):
    args = ["--no-log"] if how == "flag" else []
    if how == "variable":
        monkeypatch.setenv("LLMCLI_NO_LOG", "1")
    if how == "config":
        path = Path(os.environ["LLMCLI_CONFIG"])
        path.write_text("log = false\n" + path.read_text())
    assert cli(*args, "hi").code == 0
    assert not db(isolated_env).exists() or records(isolated_env) == []


def test_an_answer_refused_for_o_is_kept_in_the_history(cli, env, isolated_env, tmp_path):
    env.enqueue(stream_reply(["cut off"], finish="length"))
    result = cli("-o", str(tmp_path / "out.txt"), "-s", "fix", "some text")
    assert result.code == 1 and not (tmp_path / "out.txt").exists()
    assert "llmcli last" in result.stderr
    assert cli("last").stdout == "cut off\n"


def test_batch_at_32_workers_logs_every_file(cli, env, isolated_env, tmp_path, monkeypatch):
    work = tmp_path / "w"
    (work / "d").mkdir(parents=True)
    for i in range(200):
        (work / "d" / f"f{i}.txt").write_text(f"text {i}\n")
    monkeypatch.chdir(work)
    result = cli("batch", "d", "-s", "fix", "--out", "o", "-j", "32", "-q")
    assert result.code == 0, result.stderr
    assert "locked" not in result.stderr and "not logged" not in result.stderr
    rows = records(isolated_env)
    assert len(rows) == 200 and {r["mode"] for r in rows} == {"batch"}
    assert all(r["status"] == "ok" for r in rows)


def test_batch_cache_reruns_a_corpus_into_a_new_tree_for_nothing(cli, env, tmp_path, monkeypatch):
    work = tmp_path / "w"
    (work / "d").mkdir(parents=True)
    for i in range(5):
        (work / "d" / f"f{i}.txt").write_text(f"text {i}\n")
    monkeypatch.chdir(work)
    assert cli("batch", "d", "-s", "fix", "--out", "o1", "-q", "--cache").code == 0
    assert len(env.requests) == 5
    result = cli("batch", "d", "-s", "fix", "--out", "o2", "--cache", "--report", "r.jsonl")
    assert result.code == 0 and len(env.requests) == 5
    report = [json.loads(line) for line in (work / "r.jsonl").read_text().splitlines()]
    assert all(r["cached"] and r["tokens_in"] == 0 for r in report)
    assert (work / "o2/f3.txt").read_text() == (work / "o1/f3.txt").read_text()


def test_a_broken_history_costs_a_warning_never_the_answer(cli, env, isolated_env):
    data = isolated_env / ".local/share/llmcli"
    data.mkdir(parents=True)
    db(isolated_env).write_bytes(b"this is not a database, it is a text file" * 100)
    result = cli("hi")
    assert result.code == 0 and result.stdout == "Hello from fake server!\n"
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and str(db(isolated_env)) in warnings[0]
    listing = cli("history")
    assert listing.code == 2 and "llmcli history repair" in listing.stderr


def test_a_data_dir_that_is_a_file_costs_a_warning(cli, env, isolated_env):
    (isolated_env / ".local/share").mkdir(parents=True)
    (isolated_env / ".local/share/llmcli").write_text("a file where the directory should be")
    result = cli("hi")
    assert result.code == 0 and result.stdout == "Hello from fake server!\n"
    assert result.stderr.count("warning") == 1


def test_a_locked_history_costs_a_warning(cli, env, isolated_env):
    assert cli("hi").code == 0
    holder = sqlite3.connect(db(isolated_env), isolation_level=None, timeout=0.1)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = cli("hi")
    finally:
        holder.rollback()
        holder.close()
    assert result.code == 0 and result.stdout == "Hello from fake server!\n"
    assert result.stderr.count("warning") == 1 and "not logged" in result.stderr


def test_the_key_is_nowhere_in_the_data_dir(cli, env, isolated_env):
    env.enqueue(stream_reply([f"the key {KEY} echoed by a bad server"]))
    assert cli("-s", "fix", f"a text quoting {KEY}").code == 0
    for path in (isolated_env / ".local/share").rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes()


def test_ctrl_c_records_what_arrived_as_interrupted(env, isolated_env):
    """A real process stopped by SIGINT mid-answer: its record says interrupted and holds the words that came."""
    import select
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    env.enqueue(stream_reply(["first words ", "and more"], pause=3.0))
    proc = subprocess.Popen([sys.executable, "-m", "llmcli", "hi"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    got, deadline = b"", time.time() + 20
    while b"first words" not in got and time.time() < deadline:
        if select.select([proc.stdout], [], [], 0.2)[0]:
            got += os.read(proc.stdout.fileno(), 100)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=20)
    assert proc.returncode == 130
    [r] = records(isolated_env)
    assert r["status"] == "interrupted" and r["answer"].startswith("first words")
