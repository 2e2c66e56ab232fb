"""``llmcli last`` and ``llmcli history …`` as a user runs them (in-process; stdout and stderr are pipes)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from llmcli import history
from llmcli.history import faults
from llmcli.history.records import MAX_TEXT_BYTES

from .conftest import ROOT, assert_one_line_error
from .history_util import data_dir, db_path, files_containing, sample


@pytest.fixture(autouse=True)
def fresh_warning():
    faults.reset_warning()
    yield
    faults.reset_warning()


def corrupt() -> bytes:
    data_dir().mkdir(parents=True, exist_ok=True)
    garbage = b"PK\x03\x04 a zip file, not a database " * 200
    db_path().write_bytes(garbage)
    return garbage


# -- last -----------------------------------------------------------------------------------------------


def test_last_prints_the_last_answer_raw_with_one_final_newline(cli, fake_profile):
    history.record(**sample(1, answer="first"))
    history.record(**sample(2, answer="**second** answer"))
    result = cli("last")
    assert (result.code, result.stdout, result.stderr) == (0, "**second** answer\n", "")
    assert fake_profile.requests == []  # no request


def test_last_keeps_an_answer_that_ends_with_a_newline(cli):
    history.record(**sample(answer="line one\nline two\n"))
    assert cli("last").stdout == "line one\nline two\n"


def test_last_skips_failed_interrupted_and_batch_records(cli):
    history.record(**sample(1, answer="the good one"))
    history.record(**sample(2, status="error", error="boom", answer=""))
    history.record(**sample(3, status="interrupted", answer="half"))
    history.record(**sample(4, mode="batch", answer="a batch file"))
    assert cli("last").stdout == "the good one\n"


def test_last_without_history(cli):
    result = cli("last")
    assert result.code == 2 and result.stdout == ""
    assert_one_line_error(result.stderr, "no answer recorded yet", str(db_path()))
    assert not db_path().exists()  # reading never creates the file


def test_last_json_is_the_whole_record(cli):
    rid = history.record(**sample(1))
    result = cli("last", "--json")
    data = json.loads(result.stdout)
    assert result.code == 0 and data["id"] == rid and data["answer"] == "answer number 1: the cat sat"
    assert data["input"] == "input number 1: teh cat sat\n" and data["usage"]["input_tokens"] == 11


def test_last_diff_in_a_pipe_is_a_unified_diff(cli):
    history.record(**sample(input_text="teh cat sat\n", answer="the cat sat", source="<stdin>"))
    result = cli("last", "--diff")
    assert result.code == 0
    assert result.stdout == "--- stdin\n+++ stdin\n@@ -1 +1 @@\n-teh cat sat\n+the cat sat\n"


def test_last_diff_equal_texts_say_no_changes_on_stderr(cli):
    history.record(**sample(input_text="same\n", answer="same", source="notes.txt"))
    result = cli("last", "--diff")
    assert (result.code, result.stdout) == (0, "")
    assert "no changes" in result.stderr


def test_last_diff_on_a_terminal_is_drawn(cli):
    history.record(**sample(input_text="teh cat sat\n", answer="the cat sat", source="notes.txt"))
    result = cli("last", "--diff", env={"TTY_COMPATIBLE": "1", "COLUMNS": "80"})
    assert result.code == 0 and "\x1b[" in result.stdout and "---" not in result.stdout.splitlines()[0][:3]


def test_last_diff_needs_an_input(cli):
    history.record(**sample(input_text=None, answer="an explanation"))
    result = cli("last", "--diff")
    assert result.code == 2
    assert_one_line_error(result.stderr, "nothing to compare")


def test_last_json_and_diff_conflict(cli):
    history.record(**sample())
    result = cli("last", "--json", "--diff")
    assert result.code == 2
    assert_one_line_error(result.stderr, "--json and --diff")


def test_last_refuses_to_pass_a_head_off_as_the_answer(cli):
    rid = history.record(**sample(answer="x" * (MAX_TEXT_BYTES + 5)))
    result = cli("last")
    assert result.code == 2 and result.stdout == ""
    assert_one_line_error(result.stderr, "over the history's limit", f"llmcli history show {rid}")


def test_last_words_as_text_still_go_to_the_default_command(cli, fake_profile):
    result = cli("last words of a letter")
    assert result.code == 0 and result.stdout == "Hello from fake server!\n"


# -- history (list) ---------------------------------------------------------------------------------------


def test_history_lists_newest_first_one_line_each(cli):
    ids = [history.record(**sample(i, instruction=f"job {i}\nwith two lines")) for i in range(5)]
    result = cli("history", "-n", "3")
    lines = result.stdout.splitlines()
    assert result.code == 0 and result.stderr == ""
    assert [line.split("\t")[0] for line in lines] == ids[:1:-1]
    cells = lines[0].split("\t")
    assert cells[2:5] == ["fake", "fake-model", "ok"] and cells[5] == "[fix] job 4 with two lines"
    assert len(cli("history").stdout.splitlines()) == 5
    assert len(cli("history", "-n", "0").stdout.splitlines()) == 5


def test_history_default_is_twenty(cli):
    for i in range(23):
        history.record(**sample(i))
    assert len(cli("history").stdout.splitlines()) == 20


def test_history_query_and_profile(cli):
    history.record(**sample(1, profile="groq", answer="apples and pears"))
    history.record(**sample(2, profile="local", answer="APPLES only"))
    history.record(**sample(3, profile="groq", answer="nothing here"))
    assert len(cli("history", "-q", "apples").stdout.splitlines()) == 2
    assert len(cli("history", "-q", "apples", "-p", "groq").stdout.splitlines()) == 1
    assert len(cli("history", "-p", "groq").stdout.splitlines()) == 2
    assert cli("history", "-q", "zebra").stdout == ""


def test_history_json_is_an_array_of_records(cli):
    history.record(**sample(1))
    history.record(**sample(2))
    data = json.loads(cli("history", "--json").stdout)
    assert [d["instruction"] for d in data] == ["instruction 2", "instruction 1"]
    assert json.loads(cli("history", "--json", "-q", "nomatch").stdout) == []


def test_history_without_a_file_prints_nothing(cli):
    result = cli("history")
    assert (result.code, result.stdout, result.stderr) == (0, "", "")
    assert json.loads(cli("history", "--json").stdout) == []
    assert not db_path().exists()


def test_history_on_a_terminal_is_a_table(cli):
    history.record(**sample(1))
    result = cli("history", env={"TTY_COMPATIBLE": "1", "COLUMNS": "160"})
    assert result.code == 0 and "ID" in result.stdout and "PROFILE" in result.stdout and "fake-model" in result.stdout


def test_options_before_the_command_move_after_it(cli):
    history.record(**sample(1, profile="groq"))
    history.record(**sample(2, profile="local"))
    assert len(cli("-p", "groq", "history").stdout.splitlines()) == 1


def test_history_works_while_another_program_writes(cli):
    history.record(**sample(1))
    holder = sqlite3.connect(db_path(), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        assert cli("history").code == 0 and cli("last").code == 0
    finally:
        holder.execute("ROLLBACK")
        holder.close()


# -- show / rm / clear ------------------------------------------------------------------------------------


def test_show_prints_the_whole_record(cli):
    long_text = "paragraph\n" * 5000
    rid = history.record(**sample(1, input_text=long_text, reasoning="thinking it over"))
    result = cli("history", "show", rid)
    assert result.code == 0
    assert long_text in result.stdout and "--- reasoning ---\nthinking it over\n" in result.stdout
    assert f"id:           {rid}" in result.stdout and "style:        fix" in result.stdout
    assert "tokens:       11 in + 5 out" in result.stdout
    assert json.loads(cli("history", "show", rid, "--json").stdout)["input"] == long_text
    assert cli("history", "show", "last").stdout == result.stdout


def test_show_says_what_was_clipped(cli):
    big = "y" * (MAX_TEXT_BYTES + 1)
    rid = history.record(**sample(answer=big))
    out = cli("history", "show", rid).stdout
    assert "--- answer (clipped: the whole was 1.0 MB, sha256 " in out and "are kept) ---" in out


def test_show_unknown_id(cli):
    history.record(**sample())
    result = cli("history", "show", "01NOPE")
    assert result.code == 2
    assert_one_line_error(result.stderr, "no record '01NOPE'", str(db_path()))


def test_show_a_unique_prefix(cli):
    rid = history.record(**sample())
    assert json.loads(cli("history", "show", rid[:20].lower(), "--json").stdout)["id"] == rid


def test_rm_deletes_and_leaves_no_trace_on_disk(cli):
    keep = history.record(**sample(1, answer="keep this answer"))
    gone = history.record(**sample(2, answer="Forget-Me-Please-7731 completely", input_text="Private-Input-5512\n"))
    result = cli("history", "rm", gone)
    assert result.code == 0 and "deleted 1 record" in result.stderr
    assert [r["id"] for r in json.loads(cli("history", "--json").stdout)] == [keep]
    assert cli("history", "-q", "Forget").stdout == ""
    for needle in (b"Forget-Me-Please-7731", b"Private-Input-5512", b"Me-Please"):
        assert files_containing(data_dir(), needle) == []
    assert files_containing(data_dir(), b"keep this answer")


def test_rm_checks_every_id_before_deleting(cli):
    rid = history.record(**sample())
    result = cli("history", "rm", rid, "01NOSUCHRECORD")
    assert result.code == 2 and "01NOSUCHRECORD" in result.stderr
    assert len(cli("history").stdout.splitlines()) == 1


def test_clear_needs_yes_without_a_terminal(cli):
    history.record(**sample())
    result = cli("history", "clear")
    assert result.code == 2
    assert_one_line_error(result.stderr, "--yes", str(db_path()))
    assert len(cli("history").stdout.splitlines()) == 1


def test_clear_yes_deletes_everything_and_its_bytes(cli):
    for i in range(20):
        history.record(**sample(i, answer=f"Secret-Diary-Entry-{i:04d}"))
    result = cli("history", "clear", "--yes")
    assert result.code == 0 and "deleted 20 records" in result.stderr
    assert cli("history").stdout == ""
    assert files_containing(data_dir(), b"Secret-Diary-Entry") == []
    assert history.record(**sample(99)) is not None  # and the history goes on


def test_clear_asks_on_a_terminal(cli, monkeypatch):
    from llmcli import history_commands

    history.record(**sample())
    monkeypatch.setattr(history_commands, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(history_commands, "stderr_is_terminal", lambda: True)
    monkeypatch.setattr(history_commands, "_confirm", lambda question: "Delete all 1 records" in question and False)
    assert cli("history", "clear").code == 0
    assert len(cli("history").stdout.splitlines()) == 1
    monkeypatch.setattr(history_commands, "_confirm", lambda question: True)
    assert cli("history", "clear").code == 0
    assert cli("history").stdout == ""


def test_path(cli):
    assert cli("history", "path").stdout == f"{db_path()}\n"


# -- a damaged file ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [("history",), ("last",), ("history", "show", "last"), ("history", "-q", "x"),
                                  ("history", "rm", "01ABCDEF"), ("history", "clear", "--yes"), ("last", "--json")])
def test_commands_on_a_corrupt_file_fail_in_one_line(cli, args):
    garbage = corrupt()
    result = cli(*args)
    assert result.code == 2 and result.stdout == ""
    assert_one_line_error(result.stderr, str(db_path()), "llmcli history repair")
    assert db_path().read_bytes() == garbage


def test_repair_moves_the_file_aside_and_starts_anew(cli):
    garbage = corrupt()
    result = cli("history", "repair")
    assert result.code == 0 and "moved the damaged history" in result.stderr
    aside = [p for p in data_dir().iterdir() if p.name.startswith("history.db.broken-")]
    assert len(aside) == 1 and aside[0].read_bytes() == garbage  # never deleted
    assert cli("history").code == 0
    assert history.record(**sample()) is not None
    assert cli("last").code == 0


def test_repair_salvages_what_it_can_read(cli):
    for i in range(30):
        history.record(**sample(i))
    conn = sqlite3.connect(db_path())
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'records_by_profile'").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(db_path(), "r+b") as f:  # damage one page of an index
        f.seek((page - 1) * size)
        f.write(b"\xde\xad" * (size // 2))
    result = cli("history", "repair")
    assert result.code == 0 and "with the 30 records that could be read" in result.stderr
    assert len(cli("history", "-n", "0").stdout.splitlines()) == 30


def test_repair_of_a_healthy_file_does_nothing(cli):
    history.record(**sample())
    result = cli("history", "repair")
    assert result.code == 0 and "healthy (1 records)" in result.stderr
    assert [p.name for p in data_dir().iterdir() if "broken" in p.name] == []


def test_repair_without_a_file(cli):
    result = cli("history", "repair")
    assert result.code == 0 and "nothing to repair" in result.stderr


def test_repair_does_not_move_a_locked_file(cli):
    history.record(**sample())
    holder = sqlite3.connect(db_path(), isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        from llmcli.history import store

        old, store.BUSY_TIMEOUT = store.BUSY_TIMEOUT, 0.2
        try:
            result = cli("history", "repair")
        finally:
            store.BUSY_TIMEOUT = old
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.code == 2 and "locked" in result.stderr
    assert [p.name for p in data_dir().iterdir() if "broken" in p.name] == []


# -- start-up cost ----------------------------------------------------------------------------------------


def test_help_imports_no_history_code():
    code = (
        "import sys, runpy\n"
        "sys.argv = ['llmcli', '--help']\n"
        "try:\n    runpy.run_module('llmcli', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('MODULES', [m for m in ('sqlite3', 'llmcli.history', 'llmcli.history_commands') if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert "history" in done.stdout and "last" in done.stdout
    assert "MODULES []" in done.stdout


def test_a_call_not_logged_imports_no_database(fake_profile):
    """history.enabled() decides before any of the history package loads: --no-log costs no sqlite3."""
    code = (
        "import sys, runpy\n"
        "sys.argv = ['llmcli', '--no-log', 'make it formal']\n"
        "try:\n    runpy.run_module('llmcli', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('MODULES', [m for m in ('sqlite3', 'llmcli.history.log', 'llmcli.history.store') if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert done.stdout.startswith("Hello from fake server!"), done.stderr
    assert "MODULES []" in done.stdout
