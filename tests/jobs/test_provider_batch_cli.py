"""`llmcli batch … --provider-batch` through the CLI: the job id alone on stdout, the same requests as
local batch, no engine → one line before anything is written, then `jobs` brings the files back."""

from __future__ import annotations

import json

import pytest

from tests.jobs.conftest import KINDS, make_files, state_dir


@pytest.mark.parametrize("pb", KINDS, indirect=True)
def test_submit_prints_the_job_id_alone_then_fetch_writes_the_files(pb, isolated_env):
    files = make_files(pb.work / "d", {"a.txt": "make this formal\n", "sub/b.md": "# Title\n\nSome prose.\n"})
    result = pb.cli("batch", "d", "-s", "formal", "--out", "out", "-p", "pb", "--provider-batch")
    assert result.code == 0, result.stderr
    job = result.stdout.strip()
    assert result.stdout == job + "\n" and (state_dir(isolated_env) / job).is_dir()
    assert pb.creates() >= 1 and not (pb.work / "out").exists()  # nothing written before a fetch
    pb.settle(job)
    fetched = pb.jobs("fetch", job)
    assert fetched.code == 0, fetched.stderr
    assert (pb.work / "out/a.txt").read_text() == "MAKE THIS FORMAL\n"
    assert (pb.work / "out/sub/b.md").read_text() == "# TITLE\n\nSOME PROSE.\n"
    assert pb.jobs("fetch", job).code == 0  # idempotent
    assert len(files) == 2


def test_the_request_lines_are_the_local_batch_requests(pb, isolated_env):
    """Each line's body is what `llmcli batch` sends in real time for the same file and settings."""
    make_files(pb.work / "d", {"a.txt": "some text\n"})
    job = pb.cli("batch", "d", "-s", "fix", "-t", "0.3", "--max-tokens", "99", "--out", "out", "-p", "pb",
                 "--provider-batch").stdout.strip()
    line = json.loads((state_dir(isolated_env) / job / "chunks/000.request.jsonl").read_text().splitlines()[0])
    body = line["body"]
    assert (body["model"], body["temperature"], body["max_completion_tokens"]) == ("model-x", 0.3, 99)
    system, user = body["messages"]
    assert system["role"] == "system" and "Rules:" in system["content"]
    assert "Correct spelling" in user["content"] and "<text>\nsome text\n</text>" in user["content"]


@pytest.mark.parametrize("kind, extra", [("lmstudio", ""), ("deepseek", ""), ("openai", "batch = false")])
def test_no_engine_is_one_line_before_anything_is_written(cli, config_file, tmp_path, monkeypatch, isolated_env,
                                                          kind, extra):
    config_file(f'[profiles.x]\nprovider = "{kind}"\nbase_url = "http://127.0.0.1:9/v1"\napi_key = "k"\n{extra}\n')
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("a\n")
    result = cli("batch", "a.txt", "-s", "fix", "--out", "o", "-p", "x", "--provider-batch")
    assert result.code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--provider-batch" in lines[0] and "profile 'x'" in lines[0]
    assert not state_dir(isolated_env).exists()


def test_dry_run_with_the_engine_plans_without_a_job(pb, isolated_env):
    make_files(pb.work / "d", {"a.txt": "some text\n"})
    result = pb.cli("batch", "d", "-s", "fix", "--out", "out", "-p", "pb", "--provider-batch", "--dry-run")
    assert result.code == 0 and "no request made" in result.stdout
    assert pb.creates() == 0 and not state_dir(isolated_env).exists()
