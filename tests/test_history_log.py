"""Recording calls in the SQLite history (llmcli.history.log), with real SQLite files under the test's data dir."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from llmcli import history
from llmcli.history import faults
from llmcli.history.records import HEAD_BYTES, MAX_TEXT_BYTES
from llmcli.history.store import Store
from tests.fakes.openai_wire import Cut, chunk, stream_reply
from tests.fakes.server import sse

from .conftest import ROOT
from .history_util import HEADER_SECRET, SECRET, data_dir, db_path, endpoint, files_containing, request, sample


@pytest.fixture(autouse=True)
def fresh_warning():
    faults.reset_warning()
    yield
    faults.reset_warning()


def read_all():
    store = Store.open_for_reading(db_path())
    assert store is not None
    with store:
        return store.find(limit=None)


# -- what is stored -----------------------------------------------------------------------------------


def test_one_record_round_trips_every_field(capsys):
    rid = history.record(**sample(1))
    assert rid is not None and len(rid) == 26
    [r] = read_all()
    assert r.id == rid and r.conversation_id == rid and r.parent_id is None
    assert (r.profile, r.provider, r.base_url, r.model) == ("fake", "openai-compatible", "http://127.0.0.1:9/v1", "fake-model")
    assert r.style == "fix" and r.variables == {"to": "English"}
    assert r.system == "Fix the spelling." and r.instruction == "instruction 1"
    assert r.input == "input number 1: teh cat sat\n" and r.answer == "answer number 1: the cat sat"
    assert r.messages == [{"role": "user", "content": "<text>\ninput number 1: teh cat sat\n</text>"}]
    assert (r.input_tokens, r.output_tokens, r.reasoning_tokens) == (11, 5, None)
    assert (r.seconds, r.attempts, r.finish_reason, r.status, r.cached) == (0.5, 1, "stop", "ok", False)
    assert r.params == {"temperature": 0.3, "max_tokens": None, "reasoning": None}
    assert r.cache_key == history.request_key("openai-compatible", "http://127.0.0.1:9/v1", request("input number 1: teh cat sat\n"))
    assert r.time.endswith("Z") and r.time[:4].isdigit()
    assert capsys.readouterr().err == ""


def test_many_records_newest_first_and_ids_sort_by_time():
    ids = [history.record(**sample(i)) for i in range(30)]
    assert ids == sorted(ids) and len(set(ids)) == 30
    assert [r.id for r in read_all()] == ids[::-1]


def test_reasoning_is_kept_apart_from_the_answer():
    history.record(**sample(answer="The answer.", reasoning="Let me think about cats."))
    [r] = read_all()
    assert r.answer == "The answer." and r.reasoning == "Let me think about cats."


def test_result_object_supplies_what_was_not_given():
    class Answer:  # the shape of the answer object the call path returns
        text, reasoning, profile, provider, model = "from result", "thought", "p", "openai", "served-model-2025"
        usage, finish_reason, seconds, attempts = None, "stop", 2.5, 3

    history.record(endpoint=endpoint(), request=request(), result=Answer())
    [r] = read_all()
    assert (r.answer, r.reasoning, r.seconds, r.attempts) == ("from result", "thought", 2.5, 3)
    assert r.model == "fake-model" and r.served_model == "served-model-2025"


def test_file_and_directory_modes():
    history.record(**sample())
    assert stat.S_IMODE(db_path().stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir().stat().st_mode) == 0o700
    for side in ("-wal", "-shm"):
        path = db_path().with_name(db_path().name + side)
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def test_wal_mode():
    history.record(**sample())
    conn = sqlite3.connect(db_path())
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_long_texts_keep_a_head_with_size_and_hash():
    big = ("word " * 250_000)[: MAX_TEXT_BYTES + 10]
    history.record(**sample(answer=big))
    [r] = read_all()
    assert len(r.answer.encode()) == HEAD_BYTES and big.startswith(r.answer)
    import hashlib

    assert r.clipped["answer"] == {"size": len(big.encode()), "sha256": hashlib.sha256(big.encode()).hexdigest(),
                                   "kept": HEAD_BYTES}
    assert "input" not in r.clipped


def test_text_at_the_limit_is_whole():
    text = "é" * (MAX_TEXT_BYTES // 2)  # exactly MAX_TEXT_BYTES bytes
    history.record(**sample(answer=text))
    [r] = read_all()
    assert r.answer == text and r.clipped == {}


def test_interrupted_stream_is_recorded_with_what_arrived(fake_profile):
    """A real stream through the call path, stopped by Ctrl-C after two pieces: status interrupted, the two pieces kept."""
    from llmcli import errors as E
    from llmcli.providers import backend_for
    from llmcli.render import NullWriter
    from llmcli.retry import RetryPolicy
    from llmcli.session import complete

    fake_profile.enqueue(stream_reply(["Hello", " there", " and", " more"], pause=0.05))

    class CtrlC(NullWriter):
        seen = 0

        def feed(self, text: str) -> None:
            self.seen += 1
            if self.seen == 3:
                raise KeyboardInterrupt

    capture = history.Capture(CtrlC())
    ep = endpoint(base_url=f"{fake_profile.url}/v1")
    req = request()
    with pytest.raises(E.Interrupted):
        complete(backend_for(ep), req, policy=RetryPolicy(0), writer=capture)
    assert history.record(endpoint=ep, request=req, status="interrupted", answer=capture.text) is not None
    [r] = read_all()
    assert r.status == "interrupted" and r.answer.startswith("Hello there")


def test_cut_stream_is_recorded_as_an_error_with_what_arrived(fake_profile):
    from llmcli import errors as E
    from llmcli.providers import backend_for
    from llmcli.render import NullWriter
    from llmcli.retry import RetryPolicy
    from llmcli.session import complete

    fake_profile.enqueue(stream_reply(["Half", " an"], tail=[*sse([chunk(" answer")]), Cut()]))
    capture = history.Capture(NullWriter())
    ep = endpoint(base_url=f"{fake_profile.url}/v1")
    with pytest.raises(E.ProviderError) as caught:
        complete(backend_for(ep), request(), policy=RetryPolicy(0), writer=capture)
    history.record(endpoint=ep, request=request(), status="error", error=caught.value, answer=capture.text)
    [r] = read_all()
    assert r.status == "error" and r.answer == "Half an answer" and r.error


def test_unknown_status_is_stored_as_error():
    history.record(**sample(status="weird"))
    assert read_all()[0].status == "error"


def test_lone_surrogates_do_not_cost_the_record():
    assert history.record(**sample(input_text="bad \udcff byte\n")) is not None
    assert read_all()[0].input == "bad \ufffd byte\n"


def test_batch_records_from_32_threads_sharing_one_log(capsys):
    with history.Log() as log:
        with ThreadPoolExecutor(32) as pool:
            ids = list(pool.map(lambda i: log.record(**sample(i, mode="batch", source=f"docs/{i}.md")), range(200)))
    assert None not in ids and len(set(ids)) == 200
    records = read_all()
    assert len(records) == 200 and {r.source for r in records} == {f"docs/{i}.md" for i in range(200)}
    assert capsys.readouterr().err == ""


def test_200_one_shot_records_from_32_threads_each_with_its_own_connection(capsys):
    """The busy timeout at work: 32 connections in one process writing at once, none fails."""
    barrier = threading.Barrier(32)

    def work(i: int):
        if i < 32:
            barrier.wait()
        return history.record(**sample(i))

    with ThreadPoolExecutor(32) as pool:
        ids = list(pool.map(work, range(200)))
    assert None not in ids
    assert len(read_all()) == 200
    assert capsys.readouterr().err == ""


WRITER = """
import sys
from llmcli import history
from tests.history_util import sample
sys.stdin.readline()  # both processes start writing together
# Each record opens, writes and closes the file as single mode does. The busy timeout is raised from
# its default: the test is about both processes succeeding, not about how long a loaded disk takes.
failed = 0
for i in range(100):
    with history.Log(timeout=30) as log:
        failed += log.record(**sample(i, profile=sys.argv[1])) is None
sys.exit(1 if failed else 0)
"""


def test_two_processes_logging_at_once():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, name], stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env, cwd=ROOT) for name in ("a", "b")]
    for p in procs:
        p.stdin.write(b"go\n")
        p.stdin.flush()
    results = [(p.wait(timeout=120), p.stderr.read().decode()) for p in procs]
    assert results == [(0, ""), (0, "")]
    records = read_all()
    assert len(records) == 200 and sorted(r.profile for r in records) == ["a"] * 100 + ["b"] * 100


# -- secrets ---------------------------------------------------------------------------------------


def test_the_key_bytes_appear_nowhere_in_the_data_dir():
    leaky = f"Bearer {SECRET} and {HEADER_SECRET}"
    history.record(**sample(1, input_text=f"my key is {SECRET}\n", answer=leaky, instruction=leaky,
                            variables={"k": SECRET}, source=SECRET))
    history.record(**sample(2, status="error", error=RuntimeError(f"401 for key {SECRET}"), answer=""))
    history.record(**sample(3, base_url=f"http://127.0.0.1:9/v1?key={SECRET}"))
    with history.Log() as log:  # a batch's shared log too
        log.record(**sample(4, system=f"system {HEADER_SECRET}"))
    assert db_path().exists()
    for needle in (SECRET, HEADER_SECRET):
        assert files_containing(data_dir(), needle.encode()) == []
    assert "********" in read_all()[-1].answer


# -- turning it off --------------------------------------------------------------------------------


class _Config:
    def __init__(self, log: bool) -> None:
        self.log = log


@pytest.mark.parametrize(
    "config, flag, env, expected",
    [
        (_Config(True), False, None, True),
        (None, False, None, True),  # a config without the key (before it exists) logs
        (_Config(False), False, None, False),
        (_Config(True), True, None, False),
        (_Config(True), False, "1", False),
        (_Config(True), False, "0", True),
        (_Config(True), False, "", True),
    ],
)
def test_enabled(monkeypatch, config, flag, env, expected):
    if env is None:
        monkeypatch.delenv("LLMCLI_NO_LOG", raising=False)
    else:
        monkeypatch.setenv("LLMCLI_NO_LOG", env)
    assert history.enabled(config, flag) is expected


def test_a_disabled_log_writes_nothing():
    with history.Log(enabled=False) as log:
        assert log.record(**sample()) is None
    assert not db_path().exists()


def test_enabled_does_not_import_sqlite():
    code = "import sys; from llmcli import history; history.enabled(None, False); print('sqlite3' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "False"


# -- faults never cost the answer ------------------------------------------------------------------


def one_warning(err: str, *needles: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("llmcli: warning: history:") and "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def test_data_dir_is_a_file(capsys):
    data_dir().parent.mkdir(parents=True, exist_ok=True)
    data_dir().write_text("not a directory")
    assert history.record(**sample()) is None
    assert history.record(**sample()) is None
    one_warning(capsys.readouterr().err, str(data_dir()), "not a directory", "not logged")


def test_data_dir_parent_is_a_file(capsys):
    data_dir().parent.parent.mkdir(parents=True, exist_ok=True)
    data_dir().parent.write_text("oops")
    assert history.record(**sample()) is None
    one_warning(capsys.readouterr().err, "cannot write", "--no-log")


UNWRITABLE = """
import os, sys
from llmcli import history
from llmcli.history import log, store
import llmcli.keys  # noqa: F401  (imported before the uid drop: nobody may not read the venv)
from tests.history_util import sample
store.default_path()
kwargs = sample()
if os.geteuid() == 0:  # root writes anywhere: be nobody (everything is imported: nobody may not read the venv)
    os.setgid(65534); os.setuid(65534)
print(history.record(**kwargs))
print(history.record(**kwargs))
"""


def test_read_only_data_dir(tmp_path):
    base = tmp_path / "ro"
    (base / "llmcli").mkdir(parents=True)
    (base / "llmcli").chmod(0o555)
    for p in (tmp_path, base):
        p.chmod(0o755)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(base), "HOME": str(base)}
    done = subprocess.run([sys.executable, "-c", UNWRITABLE], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=60)
    (base / "llmcli").chmod(0o755)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "None"]
    one_warning(done.stderr, str(base / "llmcli"), "cannot write", "permission", "log = false")


def test_locked_database_warns_once_and_goes_on(capsys):
    history.record(**sample(0))
    capsys.readouterr()
    holder = sqlite3.connect(db_path(), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with history.Log(timeout=0.2) as log:
            assert log.record(**sample(1)) is None
            assert log.record(**sample(2)) is None  # the log gave up: no second wait
        assert history.Log(timeout=0.2).record(**sample(3)) is None
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    one_warning(capsys.readouterr().err, str(db_path()), "locked", "0.2 s")
    assert len(read_all()) == 1
    assert history.record(**sample(4)) is not None  # the lock gone, the next call logs


def test_corrupt_file_warns_once_and_goes_on(capsys):
    data_dir().mkdir(parents=True)
    db_path().write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    assert history.record(**sample()) is None
    assert history.record(**sample()) is None
    one_warning(capsys.readouterr().err, str(db_path()), "llmcli history repair")
    assert db_path().read_bytes().startswith(b"this is not a database")  # never touched


def test_damaged_pages_warn(capsys):
    history.record(**sample(0, answer="x" * 50_000))
    data = bytearray(db_path().read_bytes())
    for offset in range(4096, len(data), 4096):  # overwrite every page but the header's
        data[offset:offset + 512] = b"\xff" * 512
    db_path().write_bytes(bytes(data))
    for side in ("-wal", "-shm"):
        db_path().with_name(db_path().name + side).unlink(missing_ok=True)
    assert history.record(**sample(1)) is None
    one_warning(capsys.readouterr().err, str(db_path()))


def test_full_disk_warns(monkeypatch, capsys):
    """SQLite's own SQLITE_FULL, made real with a page limit on the connection."""
    history.record(**sample(0))
    real_open = Store.open.__func__

    def small_open(cls, *args, **kwargs):
        store = real_open(cls, *args, **kwargs)
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages + 1}")
        return store

    monkeypatch.setattr(Store, "open", classmethod(small_open))
    assert history.record(**sample(1, answer="y" * 200_000)) is None
    one_warning(capsys.readouterr().err, "full")


def test_a_newer_schema_is_not_written(capsys):
    history.record(**sample(0))
    conn = sqlite3.connect(db_path())
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    assert history.record(**sample(1)) is None
    one_warning(capsys.readouterr().err, "newer llmcli", "99")
    store = Store.open_for_reading(db_path())  # but it is still read
    assert store is not None and len(store.find()) == 1
    store.close()


def test_a_bug_in_the_arguments_does_not_raise(capsys):
    class Broken:
        @property
        def messages(self):
            raise RuntimeError("boom")

    assert history.record(request=Broken(), provider="openai") is None
    one_warning(capsys.readouterr().err, "not logged")


# -- continuing -------------------------------------------------------------------------------------


def test_resume_last_gives_the_previous_exchange():
    first = history.record(**sample(1))
    resumed = history.resume("last")
    assert resumed.parent_id == first and resumed.conversation_id == first
    assert resumed.profile == "fake" and resumed.model == "fake-model"
    assert list(resumed.messages) == [
        ("system", "Fix the spelling."),
        ("user", "<text>\ninput number 1: teh cat sat\n</text>"),
        ("assistant", "answer number 1: the cat sat"),
    ]
    assert history.conversation("last") == list(resumed.messages)


def test_continuing_sends_the_previous_exchange_and_chains_the_records(fake_profile):
    """The lead's -c in miniature: resume, send history + new words through the real call path, record."""
    from llmcli.providers import backend_for
    from llmcli.providers.base import Message, Request
    from llmcli.retry import RetryPolicy
    from llmcli.session import complete

    first = history.record(**sample(1))
    resumed = history.resume("last")
    system = next((c for role, c in resumed.messages if role == "system"), None)
    sent = tuple(Message(role, c) for role, c in resumed.messages if role != "system") + (Message("user", "make it shorter"),)
    req = Request(messages=sent, model=resumed.model, system=system)
    ep = endpoint(base_url=f"{fake_profile.url}/v1")
    answer = complete(backend_for(ep), req, policy=RetryPolicy(0))
    second = history.record(endpoint=ep, request=req, result=answer, instruction="make it shorter",
                            conversation_id=resumed.conversation_id, parent_id=resumed.parent_id)
    assert fake_profile.last.json["messages"] == [
        {"role": "system", "content": "Fix the spelling."},
        {"role": "user", "content": "<text>\ninput number 1: teh cat sat\n</text>"},
        {"role": "assistant", "content": "answer number 1: the cat sat"},
        {"role": "user", "content": "make it shorter"},
    ]
    again = history.resume(second)
    assert again.conversation_id == first and again.record.parent_id == first
    assert [r for r, _ in again.messages] == ["system", "user", "assistant", "user", "assistant"]
    assert again.messages[-1] == ("assistant", "Hello from fake server!")


def test_resume_by_record_id_and_prefix():
    ids = [history.record(**sample(i)) for i in range(3)]
    assert history.resume(ids[0]).record.answer == "answer number 0: the cat sat"
    assert history.resume(ids[1].lower()).record.id == ids[1]
    unique = next(n for n in range(4, 27) if [i[:n] for i in ids].count(ids[2][:n]) == 1)
    assert history.resume(ids[2][:unique]).record.id == ids[2]


def test_resume_skips_failures_and_batch_for_last():
    ok = history.record(**sample(1))
    history.record(**sample(2, status="error", error="boom", answer=""))
    history.record(**sample(3, mode="batch"))
    assert history.resume("last").parent_id == ok


@pytest.mark.parametrize("ref, needle", [("last", "no history yet"), ("01ZZZZ", "no history yet")])
def test_resume_without_a_history(ref, needle):
    with pytest.raises(history.HistoryError, match=needle):
        history.resume(ref)


def test_resume_errors_are_one_line_usage_errors():
    history.record(**sample(1))
    failed = history.record(**sample(2, status="error", error="boom", answer=""))
    clipped = history.record(**sample(3, answer="z" * (MAX_TEXT_BYTES + 1)))
    for ref, needle in [("NOSUCH", "no record 'NOSUCH'"), (failed, "no answer to continue"), (clipped, "too long")]:
        with pytest.raises(history.HistoryError, match=needle) as caught:
            history.resume(ref)
        assert caught.value.exit_code == 2 and "\n" not in str(caught.value)


def test_resume_on_a_corrupt_file_names_it_and_the_repair():
    data_dir().mkdir(parents=True)
    db_path().write_bytes(b"garbage" * 1000)
    with pytest.raises(history.HistoryError) as caught:
        history.resume("last")
    assert str(db_path()) in str(caught.value) and "llmcli history repair" in str(caught.value)


# -- the cache ----------------------------------------------------------------------------------------


def test_cache_hit_and_misses():
    req = request("same text\n")
    history.record(**sample(1, request=req, input_text="same text\n", answer="cached answer"))
    key = history.request_key("openai-compatible", "http://127.0.0.1:9/v1", req)
    hit = history.lookup(key)
    assert hit is not None and hit.answer == "cached answer"
    changed = [
        history.request_key("openai-compatible", "http://127.0.0.1:9/v1", request("same text\n", temperature=0.4)),
        history.request_key("openai-compatible", "http://127.0.0.1:9/v1", request("same text\n", model="other")),
        history.request_key("openai-compatible", "http://127.0.0.1:9/v1", request("same text\n", system="Other.")),
        history.request_key("openai-compatible", "http://127.0.0.1:8/v1", req),
        history.request_key("openai", "http://127.0.0.1:9/v1", req),
        history.request_key("openai-compatible", "http://127.0.0.1:9/v1", request("other text\n")),
    ]
    assert len(set(changed) | {key}) == 7
    assert all(history.lookup(k) is None for k in changed)


def test_cache_key_ignores_the_key_and_trailing_slash():
    req = request()
    a = history.request_key("openai", "http://h/v1/", req)
    assert a == history.request_key("openai", "http://h/v1", req)
    history.record(**sample(endpoint=endpoint(key="sk-one-1234"), request=req))
    with history.Log() as log:
        rec = log.lookup(history.request_key("openai-compatible", "http://127.0.0.1:9/v1", req))
    assert rec is not None  # a lookup made with any other key finds it: the key is not in it
    assert history.cache_key("k", None, "m", [("user", "x")], {"temperature": None}) == history.cache_key(
        "k", None, "m", [{"role": "user", "content": "x"}], {})


def test_cache_never_serves_failures_or_heads():
    req = request("t\n")
    key = history.request_key("openai-compatible", "http://127.0.0.1:9/v1", req)
    history.record(**sample(request=req, status="error", error="boom", answer=""))
    history.record(**sample(request=req, status="interrupted", answer="half"))
    assert history.lookup(key) is None
    history.record(**sample(request=req, answer="q" * (MAX_TEXT_BYTES + 1)))
    assert history.lookup(key) is None


def test_a_cached_answer_is_recorded_as_cached():
    history.record(**sample(cached=True))
    assert read_all()[0].cached is True


def test_lookup_with_logging_off_reads_but_never_creates(capsys):
    with history.Log(enabled=False) as log:
        assert log.lookup("0" * 64) is None
    assert not db_path().exists()
    history.record(**sample(request=request("x\n")))
    with history.Log(enabled=False) as log:
        assert log.lookup(history.request_key("openai-compatible", "http://127.0.0.1:9/v1", request("x\n"))) is not None
    assert capsys.readouterr().err == ""


def test_lookup_on_a_corrupt_file_warns_and_misses(capsys):
    data_dir().mkdir(parents=True)
    db_path().write_bytes(b"\x00garbage" * 500)
    assert history.lookup("0" * 64) is None
    one_warning(capsys.readouterr().err, "cache was not consulted", "llmcli history repair")


def test_record_json_is_valid_and_complete():
    history.record(**sample(1))
    data = read_all()[0].as_json()
    json.dumps(data)
    for key in ("id", "time", "conversation_id", "profile", "provider", "base_url", "model", "style", "variables",
                "system", "instruction", "input", "messages", "answer", "reasoning", "usage", "seconds", "attempts",
                "finish_reason", "status", "error", "cached", "params"):
        assert key in data
    assert "api_key" not in json.dumps(data) and SECRET not in json.dumps(data)


FIRST = """
import sys
from llmcli import history
from tests.history_util import sample
sys.stdin.readline()
sys.exit(0 if history.record(**sample(0, profile=sys.argv[1])) is not None else 1)
"""


def test_two_processes_making_the_file_at_once_both_log(tmp_path):
    """The first call of two processes at once: both find no file; neither may be refused (SQLite's
    lock upgrade on a half-made file fails at once, whatever the busy timeout)."""
    for round_no in range(5):
        data = tmp_path / f"data{round_no}"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(data)}
        procs = [subprocess.Popen([sys.executable, "-c", FIRST, name], stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=env, cwd=ROOT) for name in ("a", "b")]
        for p in procs:
            p.stdin.write(b"go\n")
            p.stdin.flush()
        assert [(p.wait(timeout=60), p.stderr.read().decode()) for p in procs] == [(0, ""), (0, "")]
        assert sorted(p.name for p in (data / "llmcli").iterdir()) == ["history.db"]  # no copy left behind
