"""-o FILE's writer: what sits at FILE is written as a shell redirection would, never replaced by a file.

Only harmless things are written to: temp files, symlinks to them, a FIFO with a
reader thread, /dev/null (after checking it is classified as written in place), and
links into /proc/self/fd made in a temp dir (never the system's /dev/stdout).
"""

from __future__ import annotations

import errno
import io
import os
import stat
import subprocess
import sys
import threading

import pytest

from llmcli import atomic
from llmcli.atomic import FILE, IN_PLACE, STDOUT, resolve_target, write_target
from tests.conftest import ROOT


def test_a_regular_file_is_replaced_atomically_keeping_its_mode(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    target.chmod(0o640)
    inode = target.stat().st_ino
    written = write_target(str(target), b"new\n")
    assert written.kind == FILE and written.path == target
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.stat().st_ino != inode  # replaced by a rename, not rewritten in place


def test_a_new_file_is_created(tmp_path):
    target = tmp_path / "new.txt"
    assert resolve_target(target).kind == FILE
    write_target(target, b"hello")
    assert target.read_bytes() == b"hello"


def test_a_symlink_is_written_through_and_kept(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to("real.txt")  # relative, as `ln -s` makes it
    written = write_target(link, b"new")
    assert written.path == real
    assert link.is_symlink() and os.readlink(link) == "real.txt"
    assert real.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "link.txt", "real.txt"]  # no temp left


def test_a_chain_of_symlinks_across_directories_is_kept(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    final = tmp_path / "b" / "final.txt"
    final.write_text("old")
    final.chmod(0o600)
    middle = tmp_path / "b" / "middle"
    middle.symlink_to("final.txt")
    first = tmp_path / "a" / "first"
    first.symlink_to(middle)
    write_target(first, b"through two links")
    assert first.is_symlink() and middle.is_symlink()
    assert final.read_bytes() == b"through two links"
    assert stat.S_IMODE(final.stat().st_mode) == 0o600


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "later.txt")
    write_target(link, b"created")
    assert link.is_symlink()
    assert (tmp_path / "later.txt").read_bytes() == b"created"


def test_a_symlink_loop_is_an_error(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(OSError) as info:
        resolve_target(a)
    assert info.value.errno == errno.ELOOP
    assert a.is_symlink() and b.is_symlink()


def test_a_directory_is_an_error(tmp_path):
    with pytest.raises(IsADirectoryError):
        resolve_target(tmp_path)


def test_a_fifo_is_written_to_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def reader() -> None:
        with open(fifo, "rb") as handle:
            received.append(handle.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    data = b"x" * 200_000  # more than a pipe holds: written whole, in pieces
    assert write_target(fifo, data).kind == IN_PLACE
    thread.join(timeout=30)
    assert received == [data]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "pipe"]  # (home: conftest's)


def test_a_symlink_to_a_fifo_is_written_through(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "link"
    link.symlink_to(fifo)
    received: list[bytes] = []
    thread = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    thread.start()
    write_target(link, b"via the link")
    thread.join(timeout=30)
    assert received == [b"via the link"]
    assert link.is_symlink() and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_dev_null_is_written_in_place():
    target = resolve_target("/dev/null")
    assert target.kind == IN_PLACE  # checked before anything is written to it
    write_target(target, b"discarded")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_dash_is_stdout(monkeypatch):
    out = io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", stdout)
    target = resolve_target("-")
    assert target.is_stdout and target.kind == STDOUT and target.path is None
    write_target("-", "an answer ✓\n".encode())
    assert out.getvalue() == "an answer ✓\n".encode()


def test_a_failed_in_place_write_raises(tmp_path, monkeypatch):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def refuse(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "open", refuse)
    with pytest.raises(OSError):
        write_target(fifo, b"x")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


# -- links into /proc/self/fd: a process's own stdout, as /dev/stdout is -------------------------

_WRITE = ("import sys; from llmcli.atomic import resolve_target, write_target; "
          "t = write_target(sys.argv[1], b'the answer\\n'); sys.stderr.write(t.kind)")


def _run(link: str, stdout) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", _WRITE, link], stdout=stdout, stderr=subprocess.PIPE,
                          env=env, timeout=30)


def test_a_link_to_stdout_that_is_a_pipe(tmp_path):
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")  # what /dev/stdout is, made where damage is impossible
    proc = _run(str(link), subprocess.PIPE)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"the answer\n" and proc.stderr == IN_PLACE.encode()
    assert link.is_symlink()


def test_a_link_to_stdout_that_is_a_file_writes_that_open_file(tmp_path):
    # `llmcli -o /dev/stdout … > out.txt`: the file the shell opened gets the answer, as `>` would write it.
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    out = tmp_path / "out.txt"
    with open(out, "wb") as handle:
        inode = os.fstat(handle.fileno()).st_ino
        proc = _run(str(link), handle)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == IN_PLACE.encode()
    assert out.read_bytes() == b"the answer\n" and out.stat().st_ino == inode
    assert link.is_symlink()
