"""File names are bytes: any of them survives plan, journal and report, and prints as readable text.

Names that are not UTF-8 (``caf\\xe9.txt`` from a Latin-1 system), hold spaces, tabs,
line breaks or U+2028: planned, journalled, shown in progress lines, written into diff
headers ``patch`` applies, and read from ``--from`` lists, without an encode error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmcli.batch.manifest import Journal, json_line
from llmcli.batch.plan import OutputMode, display_name, plan, split_paths
from llmcli.diffview import header_name, unified

LATIN1 = b"caf\xe9.txt"  # not UTF-8
SPACE = b"with space.txt"
ODD = [LATIN1, SPACE, b"tab\there.txt", b"quote\"and\\back.txt", "sep\u2028arator.txt".encode(),
       "naïve.txt".encode(), b"new\nline.txt", b"\x1b[31mred.txt"]

# Any byte string a POSIX file name may be: no "/", no NUL, not "." or "..", at most 255 bytes.
names = st.binary(min_size=1, max_size=60).filter(
    lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b"..") and not b.startswith(b"."))


def _printable(text: str) -> bool:
    return all(unicodedata.category(ch) not in ("Cc", "Cs", "Zl", "Zp") for ch in text)


# -- the pieces ---------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names)
def test_any_byte_name_round_trips_through_plan_journal_and_report(tmp_path_factory, name):
    root = tmp_path_factory.mktemp("tree")
    (root / "in").mkdir()
    path = Path(os.fsdecode(os.path.join(bytes(root / "in"), name)))
    path.write_bytes(b"text\n")

    jobs = plan([str(root / "in")], mode=OutputMode(out_dir=root / "out"))
    assert len(jobs) == 1
    job = jobs[0]
    assert os.fsencode(job.source) == os.fsencode(path)  # the same bytes, so the same file
    assert job.source.read_bytes() == b"text\n"
    assert os.fsencode(job.target.name) == name

    # what progress lines and reports show: one printable line of valid UTF-8
    shown = job.shown
    assert shown == display_name(job.source)
    assert "\n" not in shown and "\r" not in shown and _printable(shown)
    shown.encode("utf-8")

    # the journal: a line written, read back by a new Journal, finds the file done
    job.target.parent.mkdir(parents=True, exist_ok=True)
    job.target.write_bytes(b"TEXT\n")
    journal_path = root / "journal.jsonl"
    journal = Journal(journal_path)
    journal.record(job.source, job.target, "job", "in-sha", __import__("hashlib").sha256(b"TEXT\n").hexdigest())
    journal.close()
    journal_path.read_bytes().decode("utf-8")  # valid UTF-8, whatever the name
    assert Journal(journal_path).is_done(job.source, job.target, "job", "in-sha")

    # a report line (json_line): valid UTF-8 whose "input" gives the same bytes back
    line = json_line({"input": str(job.source), "output": str(job.target)})
    assert "\n" not in line
    back = json.loads(line.encode("utf-8").decode("utf-8"))
    assert os.fsencode(back["input"]) == os.fsencode(job.source)

    # a diff header: valid UTF-8, one line
    header = header_name(str(job.source))
    header.encode("utf-8")
    assert "\n" not in header


@given(name=names)
def test_split_paths_gives_each_listed_name_back(name):
    listing = b"first.txt\r\n" + name + b"\n" + b"last.txt"
    names_back = split_paths(listing)
    if b"\n" in name:  # a name with a line break cannot be listed one per line
        return
    expected = name[:-1] if name.endswith(b"\r") else name  # a CR before the LF is the line's end
    assert [os.fsencode(n) for n in names_back] == [b"first.txt", *([expected] if expected else []), b"last.txt"]


def test_split_paths_splits_at_line_feeds_only():
    data = "a\u2028b.txt\nc\x85d.txt\r\ne\x0cf.txt\n\n".encode() + LATIN1 + b"\n"
    assert split_paths(data) == ["a\u2028b.txt", "c\x85d.txt", "e\x0cf.txt", os.fsdecode(LATIN1)]


def test_display_name_examples():
    assert display_name("plain name.txt") == "plain name.txt"
    assert display_name("naïve.txt") == "naïve.txt"
    assert display_name(LATIN1) == "caf\\xe9.txt"
    assert display_name(os.fsdecode(LATIN1)) == "caf\\xe9.txt"
    assert display_name("new\nline") == "new\\nline"
    assert display_name("\x1b[31mred") == "\\x1b[31mred"
    assert display_name("sep\u2028arator") == "sep\\u2028arator"
    assert display_name("\u202eevil.txt") == "\\u202eevil.txt"
    assert display_name("back\\slash") == "back\\slash"  # a plain name keeps its backslash
    assert display_name("back\\slash\n") == "back\\\\slash\\n"  # escaped ones double it


# -- through the CLI ----------------------------------------------------------------------


def _make(work: Path, name: bytes, text: str = "some text\n") -> Path:
    path = Path(os.fsdecode(os.path.join(bytes(work), name)))
    path.write_text(text)
    return path


def test_batch_dry_run_lists_odd_names(cli, batch_env):
    server, rw, work = batch_env
    (work / "in").mkdir()
    for name in ODD:
        _make(work / "in", name)
    result = cli("batch", "in", "-s", "fix", "--dry-run")
    assert result.code == 0, result.stderr
    assert "run   in/caf\\xe9.txt" in result.stdout
    assert "run   in/new\\nline.txt" in result.stdout and "run   in/\\x1b[31mred.txt" in result.stdout
    assert "\x1b" not in result.stdout
    assert f"{len(ODD)} of {len(ODD)} files to rewrite" in result.stdout
    assert server.requests == []


def test_batch_writes_and_resumes_a_name_that_is_not_utf8(cli, batch_env):
    server, rw, work = batch_env
    (work / "in").mkdir()
    _make(work / "in", LATIN1, "bonjour\n")
    result = cli("batch", "in", "-s", "fix", "--out", "out")
    assert result.code == 0, result.stderr
    out = Path(os.fsdecode(os.path.join(bytes(work / "out"), LATIN1)))
    assert out.read_text() == "BONJOUR\n"
    again = cli("batch", "in", "-s", "fix", "--out", "out")
    assert again.code == 0, again.stderr
    assert len(server.requests) == 1  # the journal found it done
    assert "skipped 1" in again.stderr


@pytest.mark.skipif(shutil.which("patch") is None, reason="needs GNU patch")
def test_batch_diff_of_odd_names_applies_with_patch(cli, batch_env):
    server, rw, work = batch_env
    names = [LATIN1, SPACE, b"tab\there.txt", b"quote\"and\\back.txt"]
    for name in names:
        _make(work, name, "some text\n")
    result = cli("batch", *(os.fsdecode(n) for n in names), "-s", "fix", "--diff")
    assert result.code == 0, result.stderr
    patch = result.stdout_bytes
    patch.decode("utf-8")  # headers quoted: the patch is text
    assert b'--- "caf\\351.txt"' in patch and b'--- "with space.txt"' in patch
    proc = subprocess.run(["patch", "-p0"], input=patch, cwd=work, capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in names:
        assert Path(os.fsdecode(os.path.join(bytes(work), name))).read_text() == "SOME TEXT\n"


@pytest.mark.skipif(shutil.which("patch") is None, reason="needs GNU patch")
@pytest.mark.parametrize("name", [SPACE, LATIN1, b"tab\there.txt"])
def test_single_diff_of_an_odd_name_applies_with_patch(cli, batch_env, name):
    server, rw, work = batch_env
    path = _make(work, name, "some text\n")
    result = cli("-s", "fix", "-f", os.fsdecode(name), "--diff")
    assert result.code == 0, result.stderr
    proc = subprocess.run(["patch", "-p0"], input=result.stdout_bytes, cwd=work, capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert path.read_text() == "SOME TEXT\n"


@pytest.mark.skipif(shutil.which("patch") is None, reason="needs GNU patch")
@pytest.mark.parametrize("name", [SPACE, LATIN1, b"tab\there.txt", b'q"uote\\s.txt', "sep\u2028.txt".encode()])
def test_unified_headers_apply_with_patch(tmp_path, name):
    path = Path(os.fsdecode(os.path.join(bytes(tmp_path), name)))
    path.write_text("one\ntwo\nthree\n")
    label = os.fsdecode(name)
    diff = unified("one\ntwo\nthree\n", "one\n2\nthree\n", label, label)
    proc = subprocess.run(["patch", "-p0"], input=diff.encode("utf-8"), cwd=tmp_path, capture_output=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert path.read_text() == "one\n2\nthree\n"


def test_plain_names_keep_plain_headers():
    assert unified("a\n", "b\n", "notes.txt", "notes.txt").startswith("--- notes.txt\n+++ notes.txt\n")
    assert header_name("naïve.txt") == "naïve.txt"


def test_single_mode_with_several_files_one_not_utf8(cli, batch_env):
    server, rw, work = batch_env
    _make(work, LATIN1, "first\n")
    _make(work, b"other.txt", "second\n")
    result = cli("-f", os.fsdecode(LATIN1), "-f", "other.txt", "Merge these")
    assert result.code == 0, result.stderr
    user = server.last.json["messages"][-1]["content"]
    assert '<file name="caf\\xe9.txt">\nfirst\n</file>' in user


def test_text_that_cannot_be_encoded_is_not_blamed_on_a_header():
    from llmcli import errors as E
    from llmcli.providers.base import Endpoint
    from llmcli.providers.common import Errors

    errors = Errors(Endpoint(profile="p", kind="openai-compatible", base_url="http://127.0.0.1:9/v1"))
    body = errors.unsendable(UnicodeEncodeError("utf-8", "caf\udce9", 3, 4, "surrogates not allowed"))
    header = errors.unsendable(UnicodeEncodeError("ascii", "sk-é", 3, 4, "ordinal not in range(128)"))
    assert "not valid Unicode" in str(body) and "header" not in str(body)
    assert "header value" in str(header) and "é" not in str(header)
    assert not body.retryable and not header.retryable and isinstance(body, E.ProviderError)
