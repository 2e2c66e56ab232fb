"""`llmcli batch` end to end against the rewriting fake: output modes, resume, failures, reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error

from .conftest import make_tree, upper


def outputs(root: Path) -> dict[Path, str]:
    return {p.relative_to(root): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_out_mirrors_a_tree_of_55_files(cli, batch_env):
    server, rw, work = batch_env
    files = make_tree(work / "docs", 55, markdown_every=5)
    result = cli("batch", "docs", "-s", "fix", "--out", "fixed", "-j", "8")
    assert result.code == 0, result.stderr
    assert result.stdout == ""
    written = outputs(work / "fixed")
    assert len(written) == 55
    for path, text in files.items():
        out = work / "fixed" / path.relative_to(work / "docs")
        if path.suffix == ".md":  # heading and paragraph are prose: upper-cased, structure kept
            assert out.read_text() == text.upper().replace("# TITLE", "# TITLE")
        else:
            assert out.read_text() == upper(text)
    assert len(server.requests) == 55
    assert "summary: done 55, skipped 0, failed 0" in result.stderr
    assert result.stderr.count("] done ") == 55  # one line per file when stderr is not a terminal


@pytest.mark.parametrize("mode", [["--suffix", ".fixed"], ["--in-place"]])
def test_a_tree_of_55_files_with_suffix_and_in_place(cli, batch_env, mode):
    server, rw, work = batch_env
    files = make_tree(work / "docs", 55)
    result = cli("batch", "docs", "-s", "fix", *mode, "-j", "8", "-q")
    assert result.code == 0, result.stderr
    for path, text in files.items():
        if mode[0] == "--suffix":
            assert path.with_name(path.stem + ".fixed" + path.suffix).read_text() == upper(text)
            assert path.read_text() == text
        else:
            assert path.read_text() == upper(text)
            assert path.with_name(path.name + ".bak").read_text() == text
    assert len(server.requests) == 55


def test_glob_with_double_star_and_include_exclude(cli, batch_env):
    server, rw, work = batch_env
    make_tree(work / "docs", 9, markdown_every=3)
    assert cli("batch", "docs/**/*.md", "-s", "fix", "--out", "o1", "-q").code == 0
    assert sorted(p.suffix for p in (work / "o1").rglob("*.*")) == [".md"] * 3
    assert cli("batch", "docs", "--include", "*.txt", "--exclude", "b/*", "-s", "fix", "--out", "o2", "-q").code == 0
    names = sorted(str(p.relative_to(work / "o2")) for p in (work / "o2").rglob("*.txt"))
    assert names and all(not n.startswith("b/") for n in names)


def test_suffix_writes_beside_and_is_not_taken_as_input_again(cli, batch_env):
    server, rw, work = batch_env
    (work / "notes").mkdir()
    (work / "notes/a.txt").write_text("hello a\n")
    (work / "notes/b.txt").write_text("hello b\n")
    assert cli("batch", "notes/*.txt", "-s", "formal", "--suffix", ".formal", "-q").code == 0
    assert (work / "notes/a.formal.txt").read_text() == "HELLO A\n"
    assert (work / "notes/b.formal.txt").read_text() == "HELLO B\n"
    # the same command again: the outputs match the glob but are not inputs, and nothing is redone
    result = cli("batch", "notes/*.txt", "-s", "formal", "--suffix", ".formal")
    assert result.code == 0
    assert len(server.requests) == 2
    assert result.stderr.count("already done") == 2


def test_in_place_keeps_backups_and_never_rewrites_twice(cli, batch_env):
    server, rw, work = batch_env
    files = make_tree(work / "t", 6)
    assert cli("batch", "t", "-s", "fix", "--in-place", "-q").code == 0
    for path, text in files.items():
        assert path.read_text() == upper(text)
        assert path.with_name(path.name + ".bak").read_text() == text
    assert cli("batch", "t", "-s", "fix", "--in-place", "-q").code == 0
    assert len(server.requests) == 6  # done files are skipped, and .bak files are not inputs
    # --force redoes them, but the first backup (the original) is never overwritten
    assert cli("batch", "t", "-s", "fix", "--in-place", "--force", "-q").code == 0
    assert len(server.requests) == 12
    for path, text in files.items():
        assert path.with_name(path.name + ".bak").read_text() == text
        assert path.with_name(path.name + ".bak.2").read_text() == upper(text)


def test_in_place_no_backup_and_backup_dir(cli, batch_env):
    server, rw, work = batch_env
    (work / "x.txt").write_text("x\n")
    (work / "y.txt").write_text("y\n")
    assert cli("batch", "x.txt", "-s", "fix", "--in-place", "--no-backup", "-q").code == 0
    assert not (work / "x.txt.bak").exists() and (work / "x.txt").read_text() == "X\n"
    assert cli("batch", "y.txt", "-s", "fix", "--in-place", "--backup-dir", "bk", "-q").code == 0
    assert (work / "bk/y.txt").read_text() == "y\n" and not (work / "y.txt.bak").exists()


@pytest.mark.rewriter(fail_every=5, fail_status=429, retry_after="0")
def test_twenty_percent_429_all_done_in_the_end(cli, batch_env):
    server, rw, work = batch_env
    files = make_tree(work / "d", 50)
    result = cli("batch", "d", "-s", "fix", "--out", "o", "-j", "8")
    assert result.code == 0, result.stderr
    assert rw.failed == 10
    assert len(server.requests) == 60
    for path, text in files.items():
        assert (work / "o" / path.relative_to(work / "d")).read_text() == upper(text)
    assert "rate limited: HTTP 429 slow down; retry 1/2 in 0.0 s" in result.stderr


@pytest.mark.rewriter(fail_every=2, fail_status=503, retry_after="1.5")
def test_retry_after_is_honoured_and_capped(cli, batch_env):
    server, rw, work = batch_env
    (work / "a.txt").write_text("a\n")
    (work / "b.txt").write_text("b\n")
    result = cli("batch", "a.txt", "b.txt", "-s", "fix", "--out", "o", "-j", "1")
    assert result.code == 0
    assert "server error: HTTP 503 slow down; retry 1/2 in 1.5 s" in result.stderr
    # A Retry-After longer than --max-wait is not waited for (as in single mode): the file fails with it.
    (work / "c.txt").write_text("c\n")
    (work / "d.txt").write_text("d\n")
    result = cli("batch", "c.txt", "d.txt", "-s", "fix", "--out", "o", "-j", "1", "--max-wait", "0.2")
    assert result.code == 3
    assert "retry 1/" not in result.stderr
    assert "FAILED d.txt" in result.stderr and "(retry after 1.5 s)" in result.stderr


@pytest.mark.rewriter(always_fail="POISON")
def test_a_file_that_always_fails(cli, batch_env, tmp_path):
    server, rw, work = batch_env
    make_tree(work / "d", 5)
    (work / "d/bad.txt").write_text("POISON here\n")
    report = tmp_path / "r.jsonl"
    result = cli("batch", "d", "-s", "fix", "--out", "o", "--report", str(report))
    assert result.code == 3
    assert "FAILED d/bad.txt: OpenAI-compatible (profile 'fake'): request rejected: HTTP 400 this text is refused" in result.stderr
    assert not (work / "o/bad.txt").exists()
    assert len(list((work / "o").rglob("*.txt"))) == 5
    assert sum(1 for r in server.requests if "POISON" in r.body.decode()) == 1  # a 400 is not retried
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert len(lines) == 6
    bad = [r for r in lines if r["input"] == "d/bad.txt"][0]
    assert bad["status"] == "failed" and "HTTP 400" in bad["error"] and bad["output"] is None
    ok = [r for r in lines if r["status"] == "done"][0]
    assert set(ok) >= {"input", "output", "status", "error", "tokens_in", "tokens_out", "seconds", "attempts"}
    assert ok["tokens_in"] == 5 and ok["tokens_out"] == 4 and ok["attempts"] == 1


@pytest.mark.rewriter(always_fail="POISON")
def test_fallback_profile_rescues_a_failing_file(cli, config_file, rewriter, tmp_path, monkeypatch):
    from tests.fakes.rewriter import make_rewriter

    server, rw = rewriter
    backup_server, backup_rw = make_rewriter()
    with backup_server:
        config_file(f"""
default_profile = "main"
[profiles.main]
provider = "openai-compatible"
base_url = "{server.url}/v1"
fallback = ["spare"]
[profiles.spare]
provider = "openai-compatible"
base_url = "{backup_server.url}/v1"
""")
        monkeypatch.chdir(tmp_path)
        (tmp_path / "ok.txt").write_text("fine\n")
        (tmp_path / "bad.txt").write_text("POISON\n")
        result = cli("batch", "ok.txt", "bad.txt", "-s", "fix", "--out", "o")
        assert result.code == 0, result.stderr
        assert (tmp_path / "o/bad.txt").read_text() == "POISON\n".upper()
        assert "via fallback after: OpenAI-compatible (profile 'main'): request rejected" in result.stderr
        assert len(backup_server.requests) == 1


@pytest.mark.rewriter(latency=0.3)
def test_requests_really_overlap(cli, batch_env):
    server, rw, work = batch_env
    make_tree(work / "d", 8)
    assert cli("batch", "d", "-s", "fix", "--out", "o", "-j", "4", "-q").code == 0
    assert server.max_in_flight >= 3
    make_tree(work / "e", 3)
    server.max_in_flight = 0
    assert cli("batch", "e", "-s", "fix", "--out", "o2", "-j", "1", "-q").code == 0
    assert server.max_in_flight == 1


def test_profile_concurrency_is_the_default_jobs(cli, config_file, rewriter, tmp_path, monkeypatch):
    server, rw = rewriter
    rw.latency = 0.3
    config_file(f'[profiles.fake]\nprovider = "openai-compatible"\nbase_url = "{server.url}/v1"\nconcurrency = 1\n')
    monkeypatch.chdir(tmp_path)
    make_tree(tmp_path / "d", 3)
    assert cli("batch", "d", "-p", "fake", "-s", "fix", "--out", "o", "-q").code == 0
    assert server.max_in_flight == 1


def test_binary_and_undecodable_files_are_skipped_and_reported(cli, batch_env):
    server, rw, work = batch_env
    (work / "d").mkdir()
    (work / "d/ok.txt").write_text("ok\n")
    (work / "d/img.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (work / "d/latin.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    (work / "d/empty.txt").write_text("")
    result = cli("batch", "d", "-s", "fix", "--out", "o")
    assert result.code == 0
    assert "skipped d/img.png: looks like a binary file (contains NUL bytes), not text" in result.stderr
    assert "skipped d/latin.txt: not valid UTF-8 (byte 0xe9 at line 1)" in result.stderr
    assert "skipped d/empty.txt: empty" in result.stderr
    assert len(server.requests) == 1 and outputs(work / "o") == {Path("ok.txt"): "OK\n"}


def test_diff_prints_unified_diffs_and_writes_nothing(cli, batch_env):
    server, rw, work = batch_env
    (work / "a.txt").write_text("hello\n")
    result = cli("batch", "a.txt", "-s", "fix", "--diff")
    assert result.code == 0
    assert result.stdout.splitlines()[:2] == ["--- a.txt", "+++ a.txt"]
    assert "-hello\n+HELLO\n" in result.stdout
    assert (work / "a.txt").read_text() == "hello\n" and sorted(p.name for p in work.iterdir()) == ["a.txt"]


def test_dry_run_makes_no_request(cli, batch_env):
    server, rw, work = batch_env
    make_tree(work / "d", 4)
    result = cli("batch", "d", "-s", "fix", "--out", "o", "--dry-run")
    assert result.code == 0
    assert server.requests == []
    assert "4 of 4 files to rewrite, 4 requests" in result.stdout
    assert "run   d/a/note000.txt -> o/a/note000.txt  ~" in result.stdout
    assert not (work / "o").exists()


def test_positional_instruction_with_dash_i(cli, batch_env):
    server, rw, work = batch_env
    (work / "a.txt").write_text("text\n")
    assert cli("batch", "a.txt", "-i", "Make it shout", "--out", "o", "-q").code == 0
    user = [m for m in server.last.json["messages"] if m["role"] == "user"][0]["content"]
    assert user == "Make it shout\n\n<text>\ntext\n</text>"


@pytest.mark.parametrize("args, needle", [
    (["a.txt", "-s", "fix"], "say where answers go: --out DIR, --suffix SUFFIX or --in-place"),
    (["a.txt", "-s", "fix", "--out", "o", "--in-place"], "choose one output mode, not --out and --in-place"),
    (["nope.txt", "-s", "fix", "--out", "o"], "nope.txt: no such file or directory"),
    (["*.nothing", "-s", "fix", "--out", "o"], "*.nothing: no files match"),
    (["a.txt", "--out", "o"], "say what to do: -s STYLE"),
    (["a.txt", "-s", "fxi", "--out", "o"], "unknown style 'fxi' (did you mean 'fix'?)"),
    (["a.txt", "-s", "translate", "--out", "o"], "needs variable lang"),
    (["a.txt", "-s", "fix", "--out", "o", "-p", "nope"], "unknown profile 'nope'"),
    (["a.txt", "-s", "fix", "--suffix", ""], "--suffix ''"),
])
def test_usage_errors(cli, batch_env, args, needle):
    server, rw, work = batch_env
    (work / "a.txt").write_text("a\n")
    result = cli("batch", *args)
    assert result.code == 2
    assert_one_line_error(result.stderr, needle)
    assert server.requests == []


def test_missing_key_fails_before_any_file(cli, config_file, tmp_path, monkeypatch):
    config_file('[profiles.g]\nprovider = "groq"\napi_key_env = "NOPE_KEY"\n')
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("a\n")
    result = cli("batch", "a.txt", "-p", "g", "-s", "fix", "--out", "o")
    assert result.code == 2
    assert_one_line_error(result.stderr, "NOPE_KEY")


def test_from_list_on_stdin(cli, batch_env):
    server, rw, work = batch_env
    make_tree(work / "d", 3)
    listing = "d/a/note000.txt\nd/b/c/note001.txt\n\n"
    result = cli("batch", "--from", "-", "-s", "fix", "--out", "short", "-q", input=listing)
    assert result.code == 0, result.stderr
    assert sorted(str(p.relative_to(work)) for p in (work / "short").rglob("*.txt")) == [
        "short/d/a/note000.txt", "short/d/b/c/note001.txt"]


def test_quiet_prints_nothing_on_success(cli, batch_env):
    server, rw, work = batch_env
    make_tree(work / "d", 3)
    result = cli("batch", "d", "-s", "fix", "--out", "o", "-q")
    assert result.code == 0 and result.stderr == "" and result.stdout == ""


def test_same_output_twice_is_refused(cli, batch_env):
    server, rw, work = batch_env
    (work / "x").mkdir()
    (work / "y").mkdir()
    (work / "x/a.txt").write_text("1\n")
    (work / "y/a.txt").write_text("2\n")
    result = cli("batch", "x/a.txt", "y/a.txt", "-s", "fix", "--out", "o")
    assert result.code == 2
    assert_one_line_error(result.stderr, "would both be written to o/a.txt")


def test_in_place_through_a_symlink_keeps_the_link(cli, batch_env):
    server, rw, work = batch_env
    (work / "real.txt").write_text("real\n")
    (work / "d").mkdir()
    (work / "d/link.txt").symlink_to(work / "real.txt")
    assert cli("batch", "d/link.txt", "-s", "fix", "--in-place", "-q").code == 0
    assert (work / "d/link.txt").is_symlink()
    assert (work / "real.txt").read_text() == "REAL\n"


def test_files_are_taken_in_natural_order(cli, batch_env):
    server, rw, work = batch_env
    (work / "d").mkdir()
    for n in (10, 2, 1):
        (work / f"d/f{n}.txt").write_text(f"{n}\n")
    lines = cli("batch", "d", "-s", "fix", "--dry-run").stdout.splitlines()
    assert [line.split()[1] for line in lines[:3]] == ["d/f1.txt", "d/f2.txt", "d/f10.txt"]
    lines = cli("batch", "d/*.txt", "-s", "fix", "--dry-run").stdout.splitlines()
    assert [line.split()[1] for line in lines[:3]] == ["d/f1.txt", "d/f2.txt", "d/f10.txt"]


def test_rpm_spaces_requests_across_workers(cli, batch_env):
    server, rw, work = batch_env
    make_tree(work / "d", 4)
    assert cli("batch", "d", "-s", "fix", "--out", "o", "-j", "4", "--rpm", "120", "-q").code == 0
    starts = sorted(r.at for r in server.requests)
    # 120 per minute = one slot every 0.5 s whatever -j says: 4 requests span 3 slots (1.5 s). A request
    # can leave only after its slot; a loaded machine may delay the first one's arrival, so allow 0.3 s.
    # (The spacing itself is tested exactly, with a fake clock, in test_ratelimit.py.)
    assert len(starts) == 4 and starts[-1] - starts[0] >= 1.2


def test_an_edit_made_during_the_request_is_kept_in_place(cli, batch_env):
    """The user saves the file while its request runs: the rewrite goes beside it, the edit stays."""
    from tests.fakes.openai_wire import stream_reply

    server, rw, work = batch_env
    path = work / "notes.txt"
    path.write_text("first version\n")

    def edit_then_answer(request):
        path.write_text("the user's newer version\n")
        return stream_reply(["FIRST VERSION"])

    server.enqueue(edit_then_answer)
    result = cli("batch", "notes.txt", "-s", "fix", "--in-place")
    assert result.code == 3
    assert path.read_text() == "the user's newer version\n"
    assert (work / "notes.txt.llmcli-new").read_text() == "FIRST VERSION\n"
    assert not (work / "notes.txt.bak").exists()
    assert "changed during the run: your edit is kept; the rewrite is in notes.txt.llmcli-new" in result.stderr
    # The next run rewrites the newer version (nothing was journalled for the stale rewrite).
    assert cli("batch", "notes.txt", "-s", "fix", "--in-place", "-q").code == 0
    assert path.read_text() == "THE USER'S NEWER VERSION\n"


def test_an_unwritable_journal_is_found_before_any_request(cli, batch_env, monkeypatch, tmp_path):
    server, rw, work = batch_env
    (work / "a.txt").write_text("a\n")
    blocked = tmp_path / "state-file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocked))
    result = cli("batch", "a.txt", "-s", "fix", "--out", "o")
    assert result.code == 2 and len(server.requests) == 0
    assert "cannot write the batch journal" in result.stderr and str(blocked) in result.stderr


def test_diffs_come_in_input_order_whichever_finishes_first(cli, batch_env):
    import time as _time

    from tests.fakes.openai_wire import stream_reply
    from tests.fakes.rewriter import sent_text

    server, rw, work = batch_env
    for name in ("a", "b", "c"):
        (work / f"{name}.txt").write_text(f"{name} text\n")

    def slow_first(request):
        text = sent_text(request)
        if text.startswith("a"):
            _time.sleep(0.5)  # a finishes last
        return stream_reply([text.strip().upper()])

    server.default = slow_first
    result = cli("batch", "a.txt", "b.txt", "c.txt", "-s", "fix", "--diff", "-j", "3")
    assert result.code == 0, result.stderr
    heads = [line for line in result.stdout.splitlines() if line.startswith("--- ")]
    assert [h.split()[1] for h in heads] == ["a.txt", "b.txt", "c.txt"]
