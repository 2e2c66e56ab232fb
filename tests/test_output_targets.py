"""-o FILE as a shell redirection would treat it: devices and FIFOs written, never replaced; symlinks written
through and kept; `-o -` is stdout; a closed stdout is found before a request is paid for."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading

from tests.conftest import ROOT


def test_dev_null_stays_a_device(cli, fake_profile):
    before = os.stat("/dev/null")
    result = cli("-o", "/dev/null", "hi")
    assert result.code == 0, result.stderr
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


def test_a_fifo_is_written_to_not_replaced(cli, fake_profile, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    result = cli("-o", str(fifo), "hi")
    reader.join(10)
    assert result.code == 0, result.stderr
    assert got == [b"Hello from fake server!\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_symlink_is_written_through_and_kept(cli, fake_profile, tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old\n")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    result = cli("-f", str(link), "-o", str(link), "Fix it")
    assert result.code == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "Hello from fake server!\n"
    assert (tmp_path / "real.txt.bak").read_text() == "old\n"  # an in-place edit through the link kept its backup


def test_dash_means_stdout(cli, fake_profile, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("-o", "-", "hi")
    assert result.code == 0 and result.stdout == "Hello from fake server!\n"
    assert not (tmp_path / "-").exists()


def test_a_closed_stdout_costs_no_request(fake_profile, config_file):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(["sh", "-c", f'exec "{sys.executable}" -m llmcli hi >&-'], capture_output=False,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, timeout=60)
    assert done.returncode == 141
    assert b"stdout is closed" in done.stderr and b"Traceback" not in done.stderr
    assert not fake_profile.requests
