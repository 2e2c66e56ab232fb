"""A crash at any step, then the same command again: no work lost, no second provider batch, nothing written twice.

Crashes are simulated by raising :class:`Crash` (a BaseException, like a kill:
no ``except`` of ours handles it) at each step of our own code; the wire
stays real.  One test kills a real process with SIGKILL while the provider is
creating its batch.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from llmcli.jobs import seams
from llmcli.providers import batch_anthropic, batch_gemini, batch_mistral, batch_openai
from tests.conftest import ROOT

from .conftest import make_files

PROTOCOLS = ["openai", "anthropic", "gemini", "mistral"]
ENGINES = {"openai": batch_openai.OpenAIEngine, "anthropic": batch_anthropic.AnthropicEngine,
           "gemini": batch_gemini.GeminiEngine, "mistral": batch_mistral.MistralEngine}
TEXTS = {f"f{i}.txt": f"file number {i}\n" for i in range(6)}


class Crash(BaseException):
    """The process dies here."""


def crash_at(monkeypatch, cls, name: str, *, after: bool, times: int = 1) -> list[int]:
    """Make ``cls.name`` die (before or after doing its work) on its first ``times`` calls."""
    original = getattr(cls, name)
    calls = [0]

    def dying(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] <= times and not after:
            raise Crash(name)
        result = original(self, *args, **kwargs)
        if calls[0] <= times:
            raise Crash(name)
        return result

    monkeypatch.setattr(cls, name, dying)
    return calls


def finish(pb, job: str) -> None:
    """The rest of the job's life: poll to the end and fetch; every file written from the one batch."""
    pb.settle(job)
    done = pb.jobs("fetch", job)
    assert done.code == 0, done.stderr
    for name, text in TEXTS.items():
        assert (pb.work / "out" / name).read_text() == text.upper()


STEPS = [("upload", False), ("upload", True), ("create", False), ("create", True)]


@pytest.mark.parametrize("pb", PROTOCOLS, indirect=True)
@pytest.mark.parametrize("step,after", STEPS, ids=[f"{'after' if a else 'before'}-{s}" for s, a in STEPS])
def test_crash_during_submission_then_same_command(pb, monkeypatch, step, after):
    engine = ENGINES[pb.kind]
    if step == "upload" and not engine.uploads:
        pytest.skip("Anthropic batches take their requests inline")
    make_files(pb.work / "d", TEXTS)
    crash_at(monkeypatch, engine, step, after=after)
    with pytest.raises(Crash):
        pb.submit("d", out="out")
    created_by_crash = len(pb.fake.store.batches)
    assert created_by_crash == (1 if (step, after) == ("create", True) else 0)
    job = pb.submit("d", out="out")  # the same command again
    assert len(pb.fake.store.batches) == 1, "a second provider batch was created"
    assert pb.creates() == 1  # and the provider saw one create only
    assert sorted(pb.sent_ids()) == sorted(f"f{i}u0" for i in range(6))
    again = pb.submit("d", out="out")  # and once more: nothing new is sent
    assert again == job and len(pb.fake.store.batches) == 1
    finish(pb, job)


@pytest.mark.parametrize("pb", PROTOCOLS, indirect=True)
def test_crash_mid_prepare_starts_it_over(pb):
    from llmcli.jobs import submission

    make_files(pb.work / "d", TEXTS)
    with pytest.MonkeyPatch.context() as mp:
        crash_at(mp, submission.Chunker, "add", after=True, times=4)
        with pytest.raises(Crash):
            pb.submit("d", out="out")
    assert pb.server.requests == []  # nothing reaches the network before every payload is on disk
    job = pb.submit("d", out="out")
    assert len(pb.fake.store.batches) == 1 and len(pb.sent_ids()) == 6
    finish(pb, job)


@pytest.mark.parametrize("pb", PROTOCOLS, indirect=True)
def test_crash_mid_download_then_status_again(pb, monkeypatch):
    make_files(pb.work / "d", TEXTS)
    job = pb.submit("d", out="out")
    engine = ENGINES[pb.kind]
    original = engine.download

    def half(self, remote, sink):
        with sink("results" if pb.kind in ("anthropic", "gemini") else "output") as out:
            out.write(b'{"custom_id": "f0u0", "res')  # a torn line, then the process dies
            raise Crash("download")

    monkeypatch.setattr(engine, "download", half)
    with pytest.raises(Crash):
        for _ in range(pb.knobs.polls + 3):
            pb.jobs("status", job)
    monkeypatch.setattr(engine, "download", original)
    raw = list((pb.work.parent / "home/.local/state/llmcli/jobs" / job / "raw").iterdir())
    assert [p for p in raw if not p.name.endswith(".part")] == []  # nothing half-downloaded counts as downloaded
    finish(pb, job)


@pytest.mark.parametrize("pb", ["openai", "anthropic"], indirect=True)
def test_crash_mid_ingest_then_fetch(pb):
    from llmcli.jobs.store import Items

    make_files(pb.work / "d", TEXTS)
    job = pb.submit("d", out="out")
    with pytest.MonkeyPatch.context() as mp:
        crash_at(mp, Items, "record", after=True, times=3)
        with pytest.raises(Crash):
            for _ in range(pb.knobs.polls + 3):
                pb.jobs("status", job)
    finish(pb, job)


@pytest.mark.parametrize("after", [False, True], ids=["mid-write", "after-write-before-record"])
def test_crash_while_writing_files_then_fetch_again(pb, monkeypatch, after):
    make_files(pb.work / "d", TEXTS)
    job = pb.submit("d", out="out")
    pb.settle(job)
    original = seams.publish

    def dying(job, *args, **kwargs):
        if job.target.name == "f2.txt" and not after:
            raise Crash("write")
        original(job, *args, **kwargs)
        if job.target.name == "f2.txt":
            raise Crash("after write")

    monkeypatch.setattr(seams, "publish", dying)
    with pytest.raises(Crash):
        pb.jobs("fetch", job)
    out = pb.work / "out"
    written = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert len(written) >= 2  # the writers overlap: the ones before the crash, maybe some after it
    assert ("f2.txt" in written) == after
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.setattr(seams, "publish", original)
    done = pb.jobs("fetch", job)
    assert done.code == 0, done.stderr
    for name, stamp in written.items():
        assert (out / name).stat().st_mtime_ns == stamp, f"{name} was written twice"
    assert f"written {6 - len(written)}, already written {len(written)}" in done.stderr
    for name, text in TEXTS.items():
        assert (out / name).read_text() == text.upper()


def test_sigkill_while_the_provider_creates_the_batch(pb, isolated_env):
    """A real process killed with SIGKILL mid-create; the provider creates the batch anyway; no second one."""
    make_files(pb.work / "d", TEXTS)
    pb.knobs.create_delay = 1.5
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from llmcli import config as C, jobs\n"
        "from llmcli.batch.plan import OutputMode, plan\n"
        "from llmcli.jobs.submission import SubmitOptions\n"
        "from tests.jobs.conftest import build_request\n"
        "planned = plan(['d'], mode=OutputMode(Path('out')))\n"
        "print(jobs.submit(planned, build_request, C.load().profile('pb'), options=SubmitOptions(quiet=True)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=pb.work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not pb.fake.creates() and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    while not pb.fake.store.batches and time.monotonic() < deadline:
        time.sleep(0.02)  # the provider finishes creating it: the client never heard
    pb.knobs.create_delay = 0
    job = pb.submit("d", out="out")
    assert len(pb.fake.store.batches) == 1 and pb.creates() == 1
    finish(pb, job)


@pytest.mark.parametrize("pb", ["anthropic"], indirect=True)
def test_anthropic_never_adopts_another_jobs_batch(pb, monkeypatch):
    """Found again by request count (no metadata there): a batch another local job owns is never taken."""
    make_files(pb.work / "one", {f"f{i}.txt": f"first {i}\n" for i in range(3)})
    make_files(pb.work / "two", {f"f{i}.txt": f"second {i}\n" for i in range(3)})
    first = pb.submit("one", out="out1")
    with pytest.MonkeyPatch.context() as mp:
        crash_at(mp, ENGINES["anthropic"], "create", after=False)  # dies as it was about to create
        with pytest.raises(Crash):
            pb.submit("two", out="out2")
    second = pb.submit("two", out="out2")
    assert second != first
    assert len(pb.fake.store.batches) == 2  # its own batch, not the first job's one of the same size
    texts = sorted(t for _, t in pb.fake.store.batches[sorted(pb.fake.store.batches)[-1]].requests)
    assert texts == [f"second {i}" for i in range(3)]
