"""The one documented layout of instruction + text; never a template."""

from __future__ import annotations

from llmcli.inputs import Document, Inputs
from llmcli.prompt import DEFAULT_SYSTEM, user_message


def test_instruction_only():
    assert user_message(Inputs("Explain DNS")) == "Explain DNS"


def test_text_only_is_sent_as_is():
    assert user_message(Inputs("", (Document("<stdin>", "hey  u\n"),))) == "hey  u\n"


def test_instruction_then_delimited_text():
    msg = user_message(Inputs("Rewrite formally", (Document("<stdin>", "hey"),)))
    assert msg == "Rewrite formally\n\n<text>\nhey\n</text>"


def test_several_files_are_labelled():
    msg = user_message(Inputs("Merge", (Document("a.md", "A\n"), Document("b.md", "B"))))
    assert msg == 'Merge\n\n<file name="a.md">\nA\n</file>\n\n<file name="b.md">\nB\n</file>'


def test_braces_and_dollars_are_not_interpreted():
    text = "{instruction} {0} ${HOME} %s {{x}}"
    msg = user_message(Inputs("Fix {this}", (Document("<stdin>", text),)))
    assert text in msg and msg.startswith("Fix {this}")


def test_default_system_asks_for_result_only():
    assert "result only" in DEFAULT_SYSTEM
