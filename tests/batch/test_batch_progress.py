"""What a batch says on stderr: with -q, failures as they happen and one summary line, wherever stderr goes."""

from __future__ import annotations

import io
import re
import sys

import pytest

from llmcli.batch import progress

from .conftest import make_tree

SUMMARY = re.compile(
    r"^llmcli: summary: done (\d+), skipped (\d+), failed (\d+), tokens in / out \d+ / \d+, wall time [\d.]+ s$"
)


@pytest.mark.rewriter(always_fail="POISON")
def test_quiet_names_failures_and_ends_with_one_summary_line(cli, batch_env):
    server, rw, work = batch_env
    make_tree(work / "d", 4)
    (work / "d/bad.txt").write_text("POISON here\n")
    result = cli("batch", "d", "-s", "fix", "--out", "o", "-q")
    assert result.code == 3 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert "FAILED d/bad.txt" in lines[0] and "HTTP 400" in lines[0]
    match = SUMMARY.match(lines[1])
    assert match and match.groups() == ("4", "0", "1"), lines[1]


def test_quiet_after_a_rerun_counts_the_skipped(cli, batch_env):
    server, rw, work = batch_env
    make_tree(work / "d", 3)
    assert cli("batch", "d", "-s", "fix", "--out", "o", "-q").code == 0
    again = cli("batch", "d", "-s", "fix", "--out", "o", "-q")
    assert again.code == 0
    match = SUMMARY.match(again.stderr.strip())
    assert match and match.groups() == ("0", "3", "0"), again.stderr


def test_quiet_on_a_terminal_is_still_one_line(monkeypatch):
    """On a terminal, -q gives the same line, not the table (it is what a script wrapping llmcli reads)."""
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(progress, "stderr_is_terminal", lambda: True)
    progress.summary([], 2, 1.25, quiet=True, interrupted=True)
    assert err.getvalue() == (
        "llmcli: summary: done 0, skipped 0, failed 0, not done (interrupted) 2, tokens in / out 0 / 0, "
        "wall time 1.2 s (interrupted)\n"
    )
