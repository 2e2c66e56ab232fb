"""``--diff`` of an answer: the text given and the text the model made of it, shown one way everywhere.

Single mode (``llmcli -s fix -f notes.txt --diff``) and ``llmcli last --diff``
show a rewrite's change with the same rules, kept here once: a pipe gets the
unified diff, a terminal the coloured view (diffview.write_diff decides the
drawing); the answer counts as ending in a newline when the text did and it
did not (a model drops the final newline more often than it means to);
"no changes" goes to stderr, never stdout.
"""

from __future__ import annotations

import sys

from . import status
from .terminal import stdout_is_terminal

LABELS = {"<stdin>": "stdin", "<text>": "text"}


def show_answer_diff(before: str, answer: str, *, label: str | None, after_answer: bool = False) -> bool:
    """Write the diff of ``before`` and ``answer`` on stdout; True when they differ.

    ``after_answer``: the answer itself was just drawn on the terminal, so a
    blank line separates the two (in a pipe the diff replaces the answer).
    """
    from .diffview import write_diff

    after = answer if answer.endswith("\n") or not before.endswith("\n") else answer + "\n"
    name = LABELS.get(label or "text", label or "text")
    terminal = stdout_is_terminal()
    if terminal and after_answer:
        sys.stdout.write("\n")
    changed = write_diff(before, after, stream=sys.stdout, terminal=terminal, from_label=name, to_label=name)
    if not changed:
        status.note("no changes")
    return changed
