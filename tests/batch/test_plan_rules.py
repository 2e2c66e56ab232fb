"""The plan on its own: which files, where each answer goes, and the mistakes refused before any request."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmcli.batch.plan import OutputMode, natural_key, plan
from llmcli.errors import UsageError


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("docs/a.md", "docs/sub/b.md", "docs/sub/c.txt", "docs/.hidden.md", "docs/a.md.bak", "notes/f10.txt",
                 "notes/f2.txt"):
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_text(name)
    return tmp_path


def shown(jobs):
    return [(j.shown, str(j.target)) for j in jobs]


def test_out_mirrors_the_tree_below_the_directory(tree):
    jobs = plan(["docs"], mode=OutputMode(out_dir=Path("fixed")))
    assert shown(jobs) == [("docs/a.md", "fixed/a.md"), ("docs/sub/b.md", "fixed/sub/b.md"),
                           ("docs/sub/c.txt", "fixed/sub/c.txt")]  # hidden files and backups are never inputs


def test_globs_mirror_below_their_literal_root(tree):
    jobs = plan(["docs/**/*.md"], mode=OutputMode(out_dir=Path("o")))
    assert shown(jobs) == [("docs/a.md", "o/a.md"), ("docs/sub/b.md", "o/sub/b.md")]


def test_suffix_and_in_place_targets(tree):
    assert shown(plan(["docs/sub/c.txt"], mode=OutputMode(suffix=".formal"))) == [
        ("docs/sub/c.txt", "docs/sub/c.formal.txt")]
    assert shown(plan(["docs/sub/c.txt"], mode=OutputMode(in_place=True))) == [("docs/sub/c.txt", "docs/sub/c.txt")]


def test_natural_order():
    assert sorted(["f10", "f2", "F1"], key=natural_key) == ["F1", "f2", "f10"]


def test_include_and_exclude(tree):
    jobs = plan(["docs"], include=["*.md"], exclude=["sub/*"], mode=OutputMode(out_dir=Path("o")))
    assert shown(jobs) == [("docs/a.md", "o/a.md")]


@pytest.mark.parametrize("args, mode, message", [
    (["docs/sub/b.md", "docs/a.md"], OutputMode(out_dir=Path("o")), None),
    (["missing.md"], OutputMode(out_dir=Path("o")), "missing.md: no such file or directory"),
    (["docs/*.nothing"], OutputMode(out_dir=Path("o")), "no files match"),
])
def test_mistakes_are_usage_errors(tree, args, mode, message):
    if message is None:
        assert len(plan(args, mode=mode)) == 2
        return
    with pytest.raises(UsageError, match=message):
        plan(args, mode=mode)


def test_two_inputs_writing_one_output_are_refused(tree):
    Path("x").mkdir()
    Path("x/a.md").write_text("other")
    with pytest.raises(UsageError, match="would both be written to"):
        plan(["docs/a.md", "x/a.md"], mode=OutputMode(out_dir=Path("o")))


def test_outputs_of_earlier_runs_are_never_inputs(tree):
    Path("docs/sub/c.formal.txt").write_text("an earlier run's output")
    Path("docs/fixed").mkdir()
    Path("docs/fixed/a.md").write_text("an earlier --out tree inside the input dir")
    assert shown(plan(["docs/sub"], mode=OutputMode(suffix=".formal"))) == [
        ("docs/sub/b.md", "docs/sub/b.formal.md"), ("docs/sub/c.txt", "docs/sub/c.formal.txt")]
    # (with --out, an earlier --suffix output is an ordinary file again)
    assert [j.shown for j in plan(["docs"], mode=OutputMode(out_dir=Path("docs/fixed")))] == [
        "docs/a.md", "docs/sub/b.md", "docs/sub/c.formal.txt", "docs/sub/c.txt"]


def test_exactly_one_output_mode():
    with pytest.raises(UsageError, match="choose one output mode"):
        OutputMode.choose("o", ".x", False, needed=True)
    with pytest.raises(UsageError, match="say where answers go"):
        OutputMode.choose(None, None, False, needed=True)
    assert OutputMode.choose(None, None, False, needed=False) == OutputMode()


def test_an_output_that_is_an_input_through_a_symlink_is_refused(tree):
    Path("notes/f2.f.txt").write_text("an earlier output")
    Path("notes/link.txt").symlink_to(tree / "notes" / "f2.f.txt")  # an input that is f2.txt's output
    with pytest.raises(UsageError, match=r"notes/f2.f.txt is both an input and an output"):
        plan(["notes/f2.txt", "notes/link.txt"], mode=OutputMode(suffix=".f"))
