"""Every protocol end to end through its real SDK and a loopback fake: submit, poll, fetch, and what went over the wire."""

from __future__ import annotations

import json
import re

import pytest

from tests.fakes import anthropic_wire, gemini_wire, mistral_wire, openai_wire

from .conftest import KEY, KINDS, build_request, make_files, state_dir

ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TEXTS = {
    "a.txt": "first file\n",
    "b/c.txt": "second file, nested\n",
    "fail.txt": "please FAILME now\n",
    "late.txt": "EXPIREME please\n",
    "stop.txt": "CANCELME please\n",
    "gone.txt": "MISSME entirely\n",
    "cut.txt": "CUTME at the limit\n",
    "z.txt": "  last one, with spaces  \n\n",
}


@pytest.mark.parametrize("pb", KINDS, indirect=True)
def test_submit_poll_fetch(pb, isolated_env):
    files = make_files(pb.work / "d", TEXTS)
    job = pb.submit("d", out="out")
    assert pb.creates() == 1
    # Every request id is valid for every provider, never a path.
    ids = pb.sent_ids()
    assert len(ids) == len(TEXTS) and all(ID.match(i) for i in ids)
    assert not any("/" in i or ".txt" in i for i in ids)

    before = pb.jobs("status", job, "--json")
    assert before.code == 0, before.stderr
    assert json.loads(before.stdout)["state"] in ("queued", "running")
    pb.settle(job)

    done = pb.jobs("fetch", job, "--report", "report.jsonl")
    assert done.code == 3, done.stderr  # some errored, expired, cancelled, missing or cut
    out = pb.work / "out"
    for name in ("a.txt", "b/c.txt", "z.txt"):
        text = files[pb.work / "d" / name]
        core = text.strip()
        expected = text[: len(text) - len(text.lstrip())] + core.upper() + text[len(text.rstrip()):]
        assert (out / name).read_text() == expected  # each answer on its own file, whatever order results came in
    for name in ("fail.txt", "late.txt", "stop.txt", "gone.txt", "cut.txt"):
        assert not (out / name).exists()
        assert f"failed d/{name}: " in done.stderr
    assert "this text is refused" in done.stderr  # the provider's own reason
    assert "cut at the token limit" in done.stderr
    assert "no result line" in done.stderr  # MISSME: absent from every result file
    report = [json.loads(line) for line in (pb.work / "report.jsonl").read_text().splitlines()]
    assert {r["input"] for r in report} == {f"d/{n}" for n in TEXTS}
    assert {r["status"] for r in report} == {"done", "failed"}
    good = [r for r in report if r["status"] == "done"]
    assert all(r["tokens_in"] > 0 and r["tokens_out"] > 0 for r in good)  # usage from the result lines
    assert all(r["profile"] == "pb" for r in report)


@pytest.mark.parametrize("pb", KINDS, indirect=True)
def test_second_fetch_rewrites_nothing_and_asks_nothing(pb):
    make_files(pb.work / "d", {"a.txt": "one\n", "b.txt": "two\n"})
    job = pb.submit("d", out="out")
    pb.settle(job)
    first = pb.jobs("fetch", job)
    assert first.code == 0, first.stderr
    stamps = {p: p.stat().st_mtime_ns for p in (pb.work / "out").iterdir()}
    seen = len(pb.server.requests)
    again = pb.jobs("fetch", job)
    assert again.code == 0, again.stderr
    assert "already written 2" in again.stderr
    assert {p: p.stat().st_mtime_ns for p in (pb.work / "out").iterdir()} == stamps
    assert len(pb.server.requests) == seen  # results are local: no network at all


@pytest.mark.parametrize("pb", KINDS, indirect=True)
def test_no_key_anywhere_in_the_job(pb, isolated_env):
    make_files(pb.work / "d", {"a.txt": "one\n"})
    job = pb.submit("d", out="out")
    pb.settle(job)
    assert pb.jobs("fetch", job).code == 0
    listing = pb.jobs("list", "--json")
    assert KEY not in listing.stdout + listing.stderr
    for path in (state_dir(isolated_env) / job).rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    manifest = json.loads((state_dir(isolated_env) / job / "manifest.json").read_text())
    assert manifest["profile"] == "pb" and manifest["provider"] == pb.kind


def _realtime_body(kind: str, request) -> dict:
    """What the real-time call sends for ``request``, captured by that provider's streaming fake."""
    from llmcli.providers import backend_for
    from llmcli.providers.base import Endpoint

    wire = {"openai": openai_wire, "groq": openai_wire, "anthropic": anthropic_wire, "gemini": gemini_wire,
            "mistral": mistral_wire}[kind]
    base = {"openai": "/v1", "groq": "/openai/v1"}.get(kind, "")
    with wire.make_server() as server:
        backend = backend_for(Endpoint(profile="p", kind=kind, base_url=server.url + base, api_key="k"))
        list(backend.stream(request))
        body = server.last.json
    for flag in ("stream", "stream_options"):
        body.pop(flag, None)
    return body


@pytest.mark.parametrize("kind", ["openai", "groq", "anthropic", "gemini", "mistral"])
def test_each_line_is_the_real_time_request(kind):
    """The batch line carries exactly the body a real-time call sends (minus streaming flags)."""
    from llmcli.providers.base import Endpoint
    from llmcli.providers.batch import engine_for

    request = build_request(None, "hello there")
    base = {"openai": "/v1", "groq": "/openai/v1"}.get(kind, "")
    engine = engine_for(Endpoint(profile="p", kind=kind, base_url="http://127.0.0.1:9" + base, api_key="k"))
    line = engine.line("f0u0", request)
    body = {"openai": lambda: line["body"], "groq": lambda: line["body"], "anthropic": lambda: line["params"],
            "gemini": lambda: line["request"], "mistral": lambda: {**line["body"], "model": request.model}}[kind]()
    assert body == _realtime_body(kind, request)


def test_dashscope_line_is_the_native_request_in_compatible_mode():
    from llmcli.providers.base import Endpoint
    from llmcli.providers.batch import engine_for

    request = build_request(None, "hello there")
    engine = engine_for(Endpoint(profile="p", kind="dashscope", base_url="http://127.0.0.1:9/api/v1", api_key="k"))
    line = engine.line("f0u0", request)
    assert line == {"custom_id": "f0u0", "method": "POST", "url": "/v1/chat/completions", "body": {
        "model": "model-x", "temperature": 0.2, "max_tokens": 500,
        "messages": [{"role": "system", "content": "Rewrite the text."}, {"role": "user", "content": "hello there"}]}}
    assert "api_key" not in json.dumps(line)


@pytest.mark.parametrize("pb", ["dashscope", "groq"], indirect=True)
def test_compatible_paths(pb):
    make_files(pb.work / "d", {"a.txt": "one\n"})
    pb.submit("d", out="out")
    paths = {r.path for r in pb.server.requests}
    prefix = {"dashscope": "/compatible-mode/v1", "groq": "/openai/v1"}[pb.kind]
    assert paths == {f"{prefix}/files", f"{prefix}/batches"}
    create = pb.fake.creates()[0].json
    if pb.kind == "dashscope":
        assert create["metadata"]["ds_name"].startswith("llmcli-")  # the keys DashScope documents
    else:
        assert create["metadata"]["llmcli_chunk"] == "0"


@pytest.mark.parametrize("pb", ["openai", "mistral"], indirect=True)
def test_downloads_stream_in_small_parts(pb):
    """Result files arrive chunked in 97-byte parts; lines split across parts still parse."""
    pb.knobs.part_size = 97
    make_files(pb.work / "d", {f"f{i}.txt": f"text number {i} " * 5 + "\n" for i in range(20)})
    job = pb.submit("d", out="out")
    pb.settle(job)
    assert pb.jobs("fetch", job).code == 0
    assert len(list((pb.work / "out").iterdir())) == 20


@pytest.mark.parametrize("pb", KINDS, indirect=True)
def test_a_failed_batch_names_its_reason(pb):
    pb.knobs.batch_fails = True
    make_files(pb.work / "d", {"a.txt": "one\n", "b.txt": "two\n"})
    job = pb.submit("d", out="out")
    pb.settle(job)
    done = pb.jobs("fetch", job)
    assert done.code == 3
    assert done.stderr.count("failed d/") == 2
    if pb.kind != "gemini":  # the SDK drops a Gemini batch's error: only its state is known
        assert done.stderr.count("the model is not available for batch") == 2
    if pb.kind != "anthropic":  # no batch-level failure there: each request errors
        assert done.stderr.count("the batch failed") == 2


@pytest.mark.parametrize("pb", KINDS, indirect=True)
def test_an_expired_batch_keeps_what_ran(pb):
    pb.knobs.batch_expires = True
    make_files(pb.work / "d", {f"f{i}.txt": f"text {i}\n" for i in range(4)})
    job = pb.submit("d", out="out")
    pb.settle(job)
    done = pb.jobs("fetch", job)
    assert done.code == 3
    assert len(list((pb.work / "out").iterdir())) == 2  # the first half ran
    failed = [line for line in done.stderr.splitlines() if line.startswith("llmcli: failed d/")]
    assert len(failed) == 2 and all(": expired" in line for line in failed)


def test_provider_errors_on_poll_exit_1(pb):
    from tests.fakes.server import json_reply

    make_files(pb.work / "d", {"a.txt": "one\n"})
    job = pb.submit("d", out="out")
    pb.server.enqueue(json_reply({"error": {"message": "database on fire", "type": "server_error"}}, 500))
    done = pb.jobs("fetch", job)
    assert done.code == 1
    assert "database on fire" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("pb", ["openai", "anthropic"], indirect=True)
def test_requests_from_the_call_layer(pb, isolated_env):
    """The wiring the lead's ``--provider-batch`` makes: each unit's Request from ``Call``, as local batch builds it."""
    from pathlib import Path

    from llmcli import jobs
    from llmcli.batch.plan import OutputMode, plan
    from llmcli.call import Call, CallFlags
    from llmcli.inputs import Document
    from llmcli.jobs.submission import SubmitOptions

    make_files(pb.work / "d", {"a.txt": "make this formal please\n", "b.md": "# Title\n\nSome prose.\n"})
    call = Call.resolve(CallFlags(profile="pb", style="formal"))

    def build_request(job, text):
        return call.request(call.compose([Document(str(job.source), text)], ""))

    planned = plan(["d"], mode=OutputMode(Path("out")))
    job = jobs.submit(planned, build_request, call.profile, endpoint=call.endpoint(call.profile),
                      config_path=call.config.path, options=SubmitOptions(quiet=True, settings_id="fp"))
    sent = sorted(t.strip() for b in pb.fake.store.batches.values() for _, t in b.requests)
    assert sent == ["# Title\n\nSome prose.", "make this formal please"]  # inside the style's <text> block
    line = json.loads((state_dir(isolated_env) / job / "chunks/000.request.jsonl").read_text().splitlines()[0])
    assert "formal" in json.dumps(line).lower()  # the style's instruction went with it
    pb.settle(job)
    assert pb.jobs("fetch", job).code == 0
    assert (pb.work / "out" / "a.txt").read_text() == "MAKE THIS FORMAL PLEASE\n"
