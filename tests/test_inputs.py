"""Input gathering: words, files, stdin; encodings; every unusable input is one clear error."""

from __future__ import annotations

import io

import pytest

from llmcli.errors import InputError
from llmcli.inputs import gather


def pipe(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


def test_words_form_the_instruction():
    got = gather(["Rewrite", "this", "formally"], [], stdin=None, stdin_is_tty=True)
    assert got.instruction == "Rewrite this formally" and got.documents == ()


def test_piped_stdin_is_read_when_not_a_tty():
    got = gather(["Fix"], [], stdin=pipe(b"hey can u send it\n"), stdin_is_tty=False)
    assert got.instruction == "Fix"
    assert [(d.label, d.text) for d in got.documents] == [("<stdin>", "hey can u send it\n")]


def test_stdin_not_read_on_a_tty():
    stream = pipe(b"should not be read")
    got = gather(["q"], [], stdin=stream, stdin_is_tty=True)
    assert got.documents == () and stream.tell() == 0


def test_dash_word_means_stdin():
    got = gather(["-"], [], stdin=pipe(b"draft"), stdin_is_tty=False)
    assert got.instruction == "" and got.documents[0].text == "draft"


def test_files_in_order_and_stdin_only_when_asked(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.md"
    a.write_text("alpha")
    b.write_text("beta")
    stream = pipe(b"piped")
    got = gather(["Compare"], [str(a), str(b)], stdin=stream, stdin_is_tty=False)
    assert [d.label for d in got.documents] == [str(a), str(b)]
    assert stream.tell() == 0  # -f given: an unrelated pipe is not consumed
    got = gather(["Compare"], [str(a), "-"], stdin=pipe(b"piped"), stdin_is_tty=False)
    assert [d.text for d in got.documents] == ["alpha", "piped"]


def test_bom_is_dropped_and_text_kept_exact(tmp_path):
    f = tmp_path / "bom.txt"
    f.write_bytes(b"\xef\xbb\xbfcaf\xc3\xa9\r\n{name} $HOME\n")
    doc = gather([], [str(f)], stdin=None, stdin_is_tty=True).documents[0]
    assert doc.text == "café\r\n{name} $HOME\n"


@pytest.mark.parametrize(
    "setup, needle",
    [
        (lambda p: p / "missing.txt", "missing.txt: no such file"),
        (lambda p: p, "is a directory"),
        (lambda p: (p / "bin.dat").write_bytes(b"\x7fELF\x00\x01") and p / "bin.dat", "binary file"),
        (lambda p: (p / "latin.txt").write_bytes(b"ok\ncaf\xe9\n") and p / "latin.txt", "not valid UTF-8 (byte 0xe9 at line 2)"),
        (lambda p: (p / "empty.txt").write_text("  \n") and p / "empty.txt", "empty.txt: file is empty"),
    ],
)
def test_unusable_files(tmp_path, setup, needle):
    path = setup(tmp_path)
    with pytest.raises(InputError) as info:
        gather(["x"], [str(path)], stdin=None, stdin_is_tty=True)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_nothing_at_all_is_an_error():
    with pytest.raises(InputError, match="nothing to send"):
        gather([], [], stdin=None, stdin_is_tty=True)
    with pytest.raises(InputError, match="nothing to send"):
        gather([], [], stdin=pipe(b""), stdin_is_tty=False)


def test_explicit_empty_stdin_is_an_error():
    with pytest.raises(InputError, match="standard input is empty"):
        gather(["-"], [], stdin=pipe(b""), stdin_is_tty=False)


def test_empty_pipe_with_instruction_warns(capsys):
    got = gather(["Explain", "DNS"], [], stdin=pipe(b""), stdin_is_tty=False)
    assert got.documents == ()
    assert "standard input is empty" in capsys.readouterr().err


def test_binary_stdin():
    with pytest.raises(InputError, match="<stdin>: looks like a binary"):
        gather([], [], stdin=pipe(b"\x00\x01\x02"), stdin_is_tty=False)
