"""The resume journal on its own: what counts as done, and what a crash can leave behind."""

from __future__ import annotations

from llmcli.batch.manifest import Journal, fingerprint, sha256


def test_done_means_the_target_holds_the_recorded_output(tmp_path):
    src, out = tmp_path / "a.txt", tmp_path / "o.txt"
    src.write_bytes(b"in")
    Journal(tmp_path / "j.jsonl").record(src, out, "job1", sha256(b"in"), sha256(b"OUT"))
    journal = Journal(tmp_path / "j.jsonl")  # the next run reads it back
    assert not journal.is_done(src, out, "job1", sha256(b"in"))  # killed before the rename: not done
    out.write_bytes(b"OUT")
    assert journal.is_done(src, out, "job1", sha256(b"in"))
    assert not journal.is_done(src, out, "job2", sha256(b"in"))  # another instruction
    assert not journal.is_done(src, out, "job1", sha256(b"edited"))  # the input changed
    out.write_bytes(b"hand-edited")
    assert not journal.is_done(src, out, "job1", sha256(b"in"))  # the output changed


def test_in_place_the_rewritten_input_counts_as_done(tmp_path):
    src = tmp_path / "a.txt"
    Journal(tmp_path / "j.jsonl").record(src, src, "job", sha256(b"before"), sha256(b"after"))
    src.write_bytes(b"after")
    assert Journal(tmp_path / "j.jsonl").is_done(src, src, "job", sha256(b"after"))


def test_a_reopened_journal_knows_earlier_runs_and_skips_torn_lines(tmp_path):
    path = tmp_path / "j.jsonl"
    src, out = tmp_path / "a.txt", tmp_path / "o.txt"
    out.write_bytes(b"OUT")
    first = Journal(path)
    first.record(src, out, "job", sha256(b"in"), sha256(b"OUT"))
    first.close()
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"source": "torn by a crash')
    again = Journal(path)
    assert again.is_done(src, out, "job", sha256(b"in"))
    assert path.stat().st_mode & 0o777 == 0o600


def test_fingerprint_is_stable_and_sensitive():
    a = fingerprint({"model": "m", "temperature": 0.2})
    assert a == fingerprint({"temperature": 0.2, "model": "m"})
    assert a != fingerprint({"model": "m", "temperature": 0.3})
