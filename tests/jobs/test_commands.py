"""``llmcli jobs`` as a user runs it: list, status (--wait, backoff, Retry-After, Ctrl-C), cancel, retry, errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from llmcli import errors as E
from llmcli.config import Profile
from llmcli.jobs import commands
from tests.conftest import assert_one_line_error
from tests.fakes import anthropic_batch_wire
from tests.fakes.server import FakeServer, json_reply

from .conftest import build_request, make_files, state_dir


class FakeClock:
    def __init__(self, interrupt_after: int | None = None) -> None:
        self.sleeps: list[float] = []
        self.interrupt_after = interrupt_after

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.interrupt_after is not None and len(self.sleeps) >= self.interrupt_after:
            raise KeyboardInterrupt

    def time(self) -> float:
        import time

        return time.time()


def clock(monkeypatch, **kw) -> FakeClock:
    fake = FakeClock(**kw)
    monkeypatch.setattr(commands, "time", SimpleNamespace(sleep=fake.sleep, time=fake.time))
    return fake


def test_list_reads_no_network(pb):
    empty = pb.jobs("list")
    assert empty.code == 0 and empty.stdout == "" and "no provider batch jobs" in empty.stderr
    make_files(pb.work / "d", {"a.txt": "one\n", "b.txt": "FAILME\n"})
    job = pb.submit("d", out="out")
    seen = len(pb.server.requests)
    listing = pb.jobs("list")
    assert listing.code == 0, listing.stderr
    assert job in listing.stdout and "pb" in listing.stdout and "queued" in listing.stdout
    rows = json.loads(pb.jobs("list", "--json").stdout)
    assert [(r["job"], r["items"], r["pending"], r["state"]) for r in rows] == [(job, 2, 2, "queued")]
    assert rows[0]["expires_at"] > rows[0]["created_at"]
    assert len(pb.server.requests) == seen


def test_status_wait_polls_with_backoff_until_ended(pb, monkeypatch):
    pb.knobs.polls = 4
    make_files(pb.work / "d", {"a.txt": "one\n"})
    job = pb.submit("d", out="out")
    fake = clock(monkeypatch)
    done = pb.jobs("status", job, "--wait")
    assert done.code == 0, done.stderr
    assert fake.sleeps == [30, 45, 67.5, 101.25]  # default interval, growing by half
    assert "ended" in done.stdout.splitlines()[0] and "every batch ended" in done.stderr
    polls = [r for r in pb.server.requests if r.method == "GET" and "/batches/" in r.path]
    assert len(polls) == 5  # one poll per round, one batch


def test_status_wait_honours_retry_after(pb, monkeypatch):
    make_files(pb.work / "d", {"a.txt": "one\n"})
    job = pb.submit("d", out="out", )
    pb.server.enqueue(json_reply({"error": {"message": "slow down", "type": "rate_limit"}}, 429,
                                 {"Retry-After": "120"}))
    fake = clock(monkeypatch)
    done = pb.jobs("status", job, "--wait", "--interval", "5")
    assert done.code == 0, done.stderr
    assert fake.sleeps[0] == 120 and fake.sleeps[1:] == [7.5, 11.25][: len(fake.sleeps) - 1]
    assert "slow down" in done.stderr


def test_ctrl_c_while_waiting_is_safe(pb, monkeypatch):
    pb.knobs.polls = 10
    make_files(pb.work / "d", {"a.txt": "one\n"})
    job = pb.submit("d", out="out")
    clock(monkeypatch, interrupt_after=2)
    stopped = pb.jobs("status", job, "--wait")
    assert stopped.code == 130
    assert "interrupted" in stopped.stderr and "Traceback" not in stopped.stderr
    clock(monkeypatch)
    again = pb.jobs("status", job, "--wait")
    assert again.code == 0 and "ended" in again.stdout


def test_cancel_then_fetch_writes_what_ran(pb):
    pb.knobs.polls = 5
    make_files(pb.work / "d", {f"f{i}.txt": f"text {i}\n" for i in range(4)})
    job = pb.submit("d", out="out")
    cancelled = pb.jobs("cancel", job)
    assert cancelled.code == 0 and "cancel asked for 1 batch" in cancelled.stderr
    assert any(r.path.endswith("/cancel") for r in pb.server.requests)
    pb.settle(job)
    status = json.loads(pb.jobs("status", job, "--json").stdout)
    assert status["chunks"][0]["state"] == "cancelled"
    done = pb.jobs("fetch", job)
    assert done.code == 3
    assert len(list((pb.work / "out").iterdir())) == 2
    assert done.stderr.count("canceled: the batch was cancelled before this request ran") == 2
    nothing = pb.jobs("cancel", job)
    assert "nothing to cancel" in nothing.stderr


@pytest.mark.parametrize("pb", ["openai", "anthropic", "gemini", "mistral"], indirect=True)
def test_retry_sends_the_failed_requests_only(pb):
    pb.knobs.heal_on_retry = True
    texts = {"ok.txt": "fine\n", "bad.txt": "FAILME\n", "late.txt": "EXPIREME\n", "gone.txt": "MISSME\n"}
    if pb.kind != "mistral":  # Mistral reports no per-request cancellation: an error line, retried as errored
        texts["stop.txt"] = "CANCELME\n"
    make_files(pb.work / "d", texts)
    job = pb.submit("d", out="out")
    pb.settle(job)
    assert pb.jobs("fetch", job).code == 3
    first = {p.name: p.stat().st_mtime_ns for p in (pb.work / "out").iterdir()}
    retried = pb.jobs("retry", job)
    assert retried.code == 0, retried.stderr
    assert pb.creates() == 2
    ids = sorted(pb.sent_ids(-1))
    bad = {n: f"f{i}u0a2" for i, n in enumerate(sorted(texts))}
    assert ids == sorted(bad[n] for n in ("bad.txt", "late.txt", "gone.txt"))  # not ok.txt, not the cancelled one
    pb.settle(job)
    done = pb.jobs("fetch", job)
    assert {p.name for p in (pb.work / "out").iterdir()} == {"ok.txt", "bad.txt", "late.txt", "gone.txt"}
    assert (pb.work / "out" / "ok.txt").stat().st_mtime_ns == first["ok.txt"]  # not rewritten
    if pb.kind == "mistral":
        assert done.code == 0
        return
    assert done.code == 3  # stop.txt is still cancelled
    assert pb.jobs("retry", job, "--only", "canceled").code == 0
    pb.settle(job)
    assert pb.jobs("fetch", job).code == 0
    assert (pb.work / "out" / "stop.txt").read_text() == "CANCELME\n"
    nothing = pb.jobs("retry", job)
    assert nothing.code == 0 and "no errored/expired/missing requests to retry" in nothing.stderr


def test_retry_sync_uses_real_time_calls(pb):
    make_files(pb.work / "d", {"ok.txt": "fine\n", "bad.txt": "FAILME again\n"})
    job = pb.submit("d", out="out")
    pb.settle(job)
    assert pb.jobs("fetch", job).code == 3
    done = pb.jobs("retry", job, "--sync")
    assert done.code == 0, done.stderr
    assert pb.creates() == 1  # no new provider batch
    chats = [r for r in pb.server.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 1 and chats[0].json["stream"] is True
    assert pb.jobs("fetch", job).code == 0
    assert (pb.work / "out" / "bad.txt").read_text() == "FAILME AGAIN\n"


def test_bad_option_values(pb):
    bad = pb.jobs("retry", "x", "--only", "errored,weird")
    assert bad.code == 2
    assert_one_line_error(bad.stderr, "--only errored,weird")
    unknown = pb.jobs("fetch", "nope")
    assert unknown.code == 2
    assert_one_line_error(unknown.stderr, "no job 'nope'")


def test_a_job_is_named_by_a_unique_prefix(pb):
    make_files(pb.work / "d", {"a.txt": "one\n"})
    job = pb.submit("d", out="out")
    status = pb.jobs("status", job[:10], "--json")
    assert status.code == 0 and json.loads(status.stdout)["job"] == job


def test_a_missing_key_later_is_one_line(pb, monkeypatch):
    make_files(pb.work / "d", {"a.txt": "one\n"})
    job = pb.submit("d", out="out")
    monkeypatch.delenv("MY_TEST_KEY")
    done = pb.jobs("status", job)
    assert done.code == 2
    assert_one_line_error(done.stderr, "MY_TEST_KEY")


@pytest.mark.parametrize("kind", ["lmstudio", "deepseek", "openrouter", "openai-compatible"])
def test_no_batch_engine_is_one_line_before_anything_is_written(kind, pb, isolated_env):
    from llmcli import jobs
    from llmcli.batch.plan import OutputMode, plan

    make_files(pb.work / "d", {"a.txt": "one\n"})
    profile = Profile(name="x", provider=kind, model="m", base_url=pb.server.url + "/v1")
    with pytest.raises(E.UsageError) as info:
        jobs.submit(plan(["d"], mode=OutputMode(pb.work / "out")), build_request, profile)
    assert "profile 'x'" in str(info.value) and "--provider-batch" in str(info.value)
    assert "\n" not in str(info.value)
    assert not state_dir(isolated_env).exists()
    assert pb.server.requests == []


def test_a_generic_server_that_says_batch_true(pb):
    from llmcli import jobs
    from llmcli.batch.plan import OutputMode, plan

    @dataclass(frozen=True)
    class BatchProfile(Profile):
        batch: bool = True  # the config key another branch adds

    make_files(pb.work / "d", {"a.txt": "one\n"})
    profile = BatchProfile(name="vllm", provider="openai-compatible", model="m", base_url=pb.server.url + "/v1")
    job = jobs.submit(plan(["d"], mode=OutputMode(pb.work / "out")), build_request, profile)
    assert pb.creates() == 1 and job


def test_anthropic_results_on_another_host_are_refused(config_file, monkeypatch, tmp_path, cli):
    from .conftest import Harness, profile_toml

    with FakeServer(lambda r: json_reply({})) as elsewhere:
        server, fake = anthropic_batch_wire.make_server()
        fake.knobs.results_url_host = elsewhere.url.replace("127.0.0.1", "localhost")
        with server:
            config_file(profile_toml("anthropic", server.url))
            monkeypatch.setenv("MY_TEST_KEY", "sk-ant-secret")
            work = tmp_path / "w"
            (work / "d").mkdir(parents=True)
            (work / "d" / "a.txt").write_text("one\n")
            monkeypatch.chdir(work)
            pb = Harness("anthropic", fake, work, cli)
            job = pb.submit("d", out="out")
            for _ in range(fake.knobs.polls + 1):
                done = pb.jobs("status", job)
            assert done.code == 1
            assert "not sending the key there" in done.stderr and "localhost" in done.stderr
            assert elsewhere.requests == []
            assert "sk-ant-secret" not in done.stderr + done.stdout


def test_jobs_help_and_list_load_no_sdk():
    from tests.test_cli_process import SDKS, loaded_modules

    for args in (("jobs", "--help"), ("jobs", "list")):
        modules = loaded_modules(*args)
        assert "typer" in modules
        assert [m for m in SDKS if m in modules] == [], args
    assert "sqlite3" not in loaded_modules("--help")


def test_batch_false_turns_the_engine_off(pb, config_file, isolated_env):
    from llmcli import config as C
    from llmcli import jobs
    from llmcli.batch.plan import OutputMode, plan

    from .conftest import profile_toml

    config_file(profile_toml("openai", pb.server.url, batch=False))
    make_files(pb.work / "d", {"a.txt": "one\n"})
    with pytest.raises(E.UsageError, match="batch = false"):
        jobs.submit(plan(["d"], mode=OutputMode(pb.work / "out")), build_request, C.load().profile("pb"))
    assert not state_dir(isolated_env).exists() and pb.server.requests == []
