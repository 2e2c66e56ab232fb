"""llmcli, as installed, against a real OpenAI-compatible server with a real (tiny) model.

Run them with a server up::

    eval "$(scripts/local-llm-server.sh start)"
    python -m pytest -m local_llm
    scripts/local-llm-server.sh stop

The model behind scripts/local-llm-server.sh is the base Gemma 3 270M (held to one short sentence
per answer by a server-side grammar): its wording is junk by design, so these tests check
structure only (exit codes, non-empty text, usage, files written), never wording.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import MAX_TOKENS, assert_quiet_stderr, llmcli_env

pytestmark = pytest.mark.local_llm

SAMPLE = "hey can u send the report asap, i needs it befor the meeting tomorow\n"


def test_stdin_one_liner(llmcli):
    done = llmcli("--max-tokens", str(MAX_TOKENS), "Rewrite this formally", input=SAMPLE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert done.stdout.endswith("\n")
    assert_quiet_stderr(done.stderr)


def test_file_input(llmcli, workdir):
    (workdir / "note.txt").write_text(SAMPLE, encoding="utf-8")
    done = llmcli("-f", "note.txt", "--max-tokens", str(MAX_TOKENS), "Fix the spelling")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert_quiet_stderr(done.stderr)


def test_json_reports_real_usage(llmcli, local_llm):
    done = llmcli("--json", "--max-tokens", str(MAX_TOKENS), "Rewrite this formally", input=SAMPLE)
    assert done.returncode == 0, done.stderr
    assert_quiet_stderr(done.stderr)
    result = json.loads(done.stdout)
    assert result["text"].strip()
    assert (result["profile"], result["provider"]) == ("lmstudio", "lmstudio")
    usage = result["usage"]
    assert usage["input_tokens"] > 0
    assert 0 < usage["output_tokens"] <= MAX_TOKENS
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert result["finish_reason"] in ("stop", "length")
    assert result["seconds"] > 0


def test_models_lists_the_served_model(llmcli, local_llm):
    done = llmcli("models", "-p", "lmstudio")
    assert done.returncode == 0, done.stderr
    listed = done.stdout.split()
    for model in local_llm.models:
        assert model in listed
    alias = os.environ.get("LLMCLI_TEST_LLM_MODEL")  # set by scripts/local-llm-server.sh
    if alias:
        assert alias in listed


def test_no_model_given_uses_the_loaded_model(llmcli, local_llm):
    # The temp config sets no model and the built-in lmstudio profile has none: the request
    # names no model and the server answers with the one it has loaded.
    shown = llmcli("config", "show")
    assert shown.returncode == 0, shown.stderr
    lmstudio = shown.stdout.split("[profiles.lmstudio]", 1)[1].split("\n[", 1)[0]
    assert "model" not in lmstudio.replace("max_tokens", "")
    done = llmcli("--json", "--max-tokens", str(MAX_TOKENS), "Say hello")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["text"].strip()
    assert result["model"] in local_llm.models


def test_closed_pipe_ends_quietly(llm_config, workdir):
    # `llmcli ... | head -c 5`: the reader takes a few bytes and goes away mid-stream.
    reader, writer = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmcli", "--config", str(llm_config), "--max-tokens", "64",
         "Write a long story about a lighthouse"],
        stdin=subprocess.DEVNULL, stdout=writer, stderr=subprocess.PIPE, env=llmcli_env(), cwd=workdir,
    )
    os.close(writer)
    try:
        first = os.read(reader, 5)
    finally:
        os.close(reader)
    try:
        _, stderr = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    stderr = stderr.decode("utf-8", "replace")
    assert first, "no output before the pipe was closed"
    assert proc.returncode in (141, 0), (proc.returncode, stderr)
    assert "Traceback" not in stderr
    if proc.returncode == 141:
        assert stderr == ""
    else:  # the whole answer fitted in the pipe before it closed: a normal run
        assert_quiet_stderr(stderr)


def test_style_fix_on_a_file(llmcli, workdir):
    (workdir / "note.txt").write_text(SAMPLE, encoding="utf-8")
    done = llmcli("-s", "fix", "-f", "note.txt", "--max-tokens", str(MAX_TOKENS))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert_quiet_stderr(done.stderr)


def test_batch_of_three_files(llmcli, workdir):
    # No --max-tokens: the profile's cap (PROFILE_MAX_TOKENS) applies; batch refuses a cut answer.
    for name in ("a.txt", "b.txt", "c.txt"):
        (workdir / name).write_text(f"{name}: {SAMPLE}", encoding="utf-8")
    out = workdir / "out"
    done = llmcli("batch", "a.txt", "b.txt", "c.txt", "-s", "fix", "--out", str(out), "-q", timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    written = sorted(path for path in out.rglob("*") if path.is_file())
    assert len(written) == 3, written
    for path in written:
        assert path.read_text(encoding="utf-8").strip(), f"{path} is empty"
