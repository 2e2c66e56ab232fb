"""llmcli/jobs/recording.py: a provider batch's calls land in the history once each, as local batch's do."""

from __future__ import annotations

import json

import pytest

from tests.jobs.conftest import KINDS, make_files


def history(pb) -> list[dict]:
    result = pb.cli("history", "-n", "100", "--json")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else []


def submit(pb, *extra: str) -> str:
    result = pb.cli("batch", "d", "-s", "fix", "--out", "out", "-p", "pb", "--provider-batch", *extra)
    assert result.code == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("pb", KINDS, indirect=True)
def test_each_request_that_ran_is_one_record_once(pb, isolated_env):
    make_files(pb.work / "d", {"a.txt": "first text\n", "b.txt": "please FAILME now\n", "c.txt": "EXPIREME soon\n"})
    job = submit(pb)
    assert history(pb) == []  # submitted, not answered: nothing to record yet
    pb.settle(job)
    records = history(pb)
    by_source = {r["source"]: r for r in records}
    assert {"d/a.txt", "d/b.txt"} <= set(by_source) <= {"d/a.txt", "d/b.txt", "d/c.txt"}
    if pb.kind != "mistral":  # c.txt expired: it never ran, it was no call (Mistral reports it as an error line)
        assert "d/c.txt" not in by_source
    else:
        assert by_source["d/c.txt"]["status"] == "error"
    ok, failed = by_source["d/a.txt"], by_source["d/b.txt"]
    assert (ok["mode"], ok["status"], ok["answer"], ok["profile"]) == ("batch", "ok", "FIRST TEXT", "pb")
    assert ok["input"] == "first text" and ok["usage"]["input_tokens"] is not None
    assert "<text>\nfirst text\n</text>" in ok["messages"][-1]["content"]  # the request as sent
    assert failed["status"] == "error" and failed["error"]
    assert pb.jobs("status", job).code == 0 and pb.jobs("fetch", job).code in (0, 3)
    assert len(history(pb)) == len(records)  # polling and fetching again record nothing twice


def test_a_chunked_file_is_one_record_a_chunk_and_thinking_is_kept_apart(pb, isolated_env):
    long_text = "\n\n".join(f"Paragraph {i} " + "word " * 30 for i in range(4)) + "\n"
    make_files(pb.work / "d", {"long.md": long_text})
    job = submit(pb, "--max-input-chars", "200")
    pb.settle(job)
    records = history(pb)
    assert len(records) >= 2 and all(r["source"].startswith("d/long.md#chunk ") for r in records)
    assert sorted(int(r["source"].rsplit(" ", 1)[1]) for r in records) == list(range(1, len(records) + 1))
    assert all(r["answer"] == r["input"].upper() for r in records)


def test_a_job_submitted_with_no_log_is_never_recorded(pb, isolated_env):
    make_files(pb.work / "d", {"a.txt": "some text\n"})
    job = submit(pb, "--no-log")
    pb.settle(job)
    assert pb.jobs("fetch", job).code == 0
    assert history(pb) == []


def test_llmcli_no_log_when_the_results_come_records_nothing(pb, isolated_env, monkeypatch):
    make_files(pb.work / "d", {"a.txt": "some text\n"})
    job = submit(pb)
    monkeypatch.setenv("LLMCLI_NO_LOG", "1")
    pb.settle(job)
    monkeypatch.delenv("LLMCLI_NO_LOG")
    assert pb.jobs("fetch", job).code == 0  # ingested already: nothing new to record
    assert history(pb) == []


def test_a_sync_retry_records_the_real_time_call(pb, isolated_env):
    make_files(pb.work / "d", {"a.txt": "EXPIREME later\n"})
    job = submit(pb)
    pb.settle(job)
    assert history(pb) == []
    retried = pb.jobs("retry", job, "--only", "expired", "--sync")
    assert retried.code == 0, retried.stderr
    (record,) = history(pb)
    assert (record["source"], record["status"], record["answer"]) == ("d/a.txt", "ok", "EXPIREME LATER")


def test_ingestion_records_in_batches_and_a_replay_adds_none(pb, isolated_env, monkeypatch):
    """Over recording.BATCH results: every one recorded, each once, even when the ingestion is replayed."""
    from llmcli.jobs import commands, recording, refresh, store

    monkeypatch.setattr(recording, "BATCH", 3)
    monkeypatch.setattr(refresh, "BATCH", 3)
    make_files(pb.work / "d", {f"f{i}.txt": f"text {i}\n" for i in range(8)})
    job_id = submit(pb)
    for _ in range(pb.knobs.polls + 1):
        assert pb.jobs("status", job_id).code == 0
    assert len(history(pb)) == 8
    job = store.find(store.jobs_root(), job_id)
    for chunk in job.chunks:
        chunk["ingested"] = False  # as if the last ingestion had been cut short
    job.save()
    connection = commands.Connection(job, None)
    record = connection.recorder()
    refresh.refresh(job, connection.engine, record=record)
    record.close()
    job.close()
    assert len(history(pb)) == 8
