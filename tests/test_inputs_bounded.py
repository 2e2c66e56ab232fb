"""Inputs that are not regular files are bounded too: a FIFO, <(…), /dev/zero stop at the limit + 1 byte."""

from __future__ import annotations

import os
import threading

import pytest

from llmcli import inputs
from llmcli.errors import InputError
from llmcli.inputs import read_bounded


def _feed(fifo, total: int, written: list[int]) -> threading.Thread:
    """A writer that offers ``total`` bytes to ``fifo`` and stops when the reader goes away."""

    def write() -> None:
        with open(fifo, "wb") as handle:
            try:
                for _ in range(total // 65536 + 1):
                    handle.write(b"a" * 65536)
                    written[0] += 65536
            except (BrokenPipeError, OSError):
                pass

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def test_a_fifo_longer_than_the_limit_is_refused_after_limit_plus_one_byte(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    written = [0]
    thread = _feed(fifo, 50 * 65536, written)
    with pytest.raises(InputError, match=r"fifo: more than the 64 KB input limit"):
        read_bounded(fifo, 65536)
    thread.join(timeout=30)
    assert written[0] < 50 * 65536  # the reader stopped early: the rest was never read


def test_a_fifo_within_the_limit_is_read_whole(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    thread = threading.Thread(target=lambda: fifo.write_bytes(b"short text\n"), daemon=True)
    thread.start()
    assert read_bounded(fifo, 1024) == b"short text\n"
    thread.join(timeout=30)


def test_dev_zero_stops_at_the_limit():
    with pytest.raises(InputError, match="more than the 1 KB input limit"):
        read_bounded("/dev/zero", 1024)


def test_a_regular_file_too_large_is_refused_by_its_size(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 5000)
    with pytest.raises(InputError, match=r"big.txt: 4 KB is more than the 2 KB input limit"):
        read_bounded(big, 2048, label=str(big))


def test_cli_f_dev_zero_is_one_line_not_a_memory_blow_up(cli):
    result = cli("-f", "/dev/zero", "Rewrite")
    assert result.code == 2
    assert result.stderr.strip() == "llmcli: error: /dev/zero: more than the 8 MB input limit"


def test_cli_f_fifo_over_the_limit(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(inputs, "MAX_INPUT_BYTES", 100_000)
    fifo = tmp_path / "sub"
    os.mkfifo(fifo)
    written = [0]
    thread = _feed(fifo, 2_000_000, written)
    result = cli("-f", str(fifo), "Rewrite")
    thread.join(timeout=30)
    assert result.code == 2
    assert "more than the 97 KB input limit" in result.stderr and "sub" in result.stderr


def test_a_regular_file_is_read_for_its_size_and_a_file_that_grew_is_still_read_whole(tmp_path, monkeypatch):
    """A regular file is asked for its size + 1 bytes (not the limit); if it grew since fstat, the rest is read too."""
    grown = tmp_path / "grown.txt"
    grown.write_bytes(b"0123456789" * 30)  # 300 bytes on disk
    real_fstat = os.fstat

    def fstat_before_it_grew(fd):  # the size fstat saw before a writer appended 290 bytes
        info = real_fstat(fd)
        return os.stat_result((*info[:6], 10, *info[7:]))

    monkeypatch.setattr(inputs.os, "fstat", fstat_before_it_grew)
    assert read_bounded(grown, 1024) == b"0123456789" * 30
    with pytest.raises(InputError, match="grown.txt: more than the "):
        read_bounded(grown, 100)


def test_a_file_of_exactly_the_limit_is_read(tmp_path):
    exact = tmp_path / "exact.txt"
    exact.write_bytes(b"y" * 2048)
    assert read_bounded(exact, 2048) == b"y" * 2048
