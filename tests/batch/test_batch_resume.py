"""Interrupted batches (SIGINT, SIGTERM, SIGKILL of a real process) resume: nothing partial, nothing done twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import ROOT

from .conftest import make_tree, upper


def start(*args: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "llmcli", "batch", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_outputs(out: Path, count: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.exists() and sum(1 for p in out.rglob("*.txt")) >= count:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("batch made no progress")


def check_complete(files: dict[Path, str], src: Path, out: Path) -> None:
    for path, text in files.items():
        assert (out / path.relative_to(src)).read_text() == upper(text)
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]  # no partial file left


@pytest.mark.rewriter(latency=0.15)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_finishes_in_flight_then_resume_completes(sig, batch_env):
    server, rw, work = batch_env
    files = make_tree(work / "d", 30)
    proc = start("d", "-s", "fix", "--out", "o", "-j", "3", cwd=work)
    wait_for_outputs(work / "o", 4, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == (143 if sig == signal.SIGTERM else 130), err
    assert b"Traceback" not in err
    assert b"interrupted" in err
    first = sum(1 for _ in (work / "o").rglob("*.txt"))
    assert 4 <= first < 30
    # every file written so far is complete
    for out in (work / "o").rglob("*.txt"):
        assert out.read_text() == upper(files[work / "d" / out.relative_to(work / "o")])

    proc = start("d", "-s", "fix", "--out", "o", "-j", "3", cwd=work)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    check_complete(files, work / "d", work / "o")
    asked = Counter(rw.texts)
    assert all(n == 1 for n in asked.values()), "a file was rewritten twice"
    assert len(asked) == 30
    assert err.count(b"already done") == first


@pytest.mark.rewriter(latency=0.15)
def test_sigkill_then_resume(batch_env):
    server, rw, work = batch_env
    files = make_tree(work / "d", 30)
    proc = start("d", "-s", "fix", "--in-place", "-j", "3", cwd=work)
    deadline = time.monotonic() + 30
    while sum(1 for p in (work / "d").rglob("*.bak")) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.kill()
    proc.communicate(timeout=10)
    done_before = {p for p, text in files.items() if p.read_text() != text}
    assert done_before, "nothing was done before the kill"
    for path, text in files.items():  # in place: every file is either the original or the whole rewrite
        assert path.read_text() in (text, upper(text))
    texts_before = Counter(rw.texts)

    proc = start("d", "-s", "fix", "--in-place", "-j", "3", cwd=work)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    for path, text in files.items():
        assert path.read_text() == upper(text)  # upper-cased once, never twice-processed from its rewrite
        assert path.with_name(path.name + ".bak").read_text() == text
        assert not path.with_name(path.name + ".bak.2").exists()
    assert not [p for p in (work / "d").rglob("*") if p.name.endswith(".tmp")]
    texts_after = Counter(rw.texts) - texts_before
    # files completed before the kill were not asked again; only the ones in flight at the kill were
    assert all(texts_after[files[path]] == 0 for path in done_before)
    assert sum(texts_after.values()) <= 30 - len(done_before) + 3
    assert sum(texts_after.values()) >= 30 - len(done_before)
