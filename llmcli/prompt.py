"""Turning an instruction and documents into the messages sent to the model.

One documented layout (README, "How input is sent"):

- instruction only: the instruction is the user message;
- text only: the text is the user message, as-is;
- instruction + text: the instruction first, then each document inside
  ``<text>`` … ``</text>`` (several files: ``<file name="…">`` … ``</file>``),
  so the model can tell the instruction from the material.

The input text is never interpreted as a template: no ``{}`` or ``$`` in it
means anything; it is concatenated, not formatted.
"""

from __future__ import annotations

from collections.abc import Sequence

from .inputs import Document, Inputs
from .names import display_name

DEFAULT_SYSTEM = (
    "You are a precise writing assistant used from the command line. "
    "Follow the user's instruction. When the message is only a text, improve its clarity, "
    "grammar and flow. Keep the text's language, meaning and formatting unless asked otherwise. "
    "Answer with the result only: no preamble, no commentary, no surrounding quotes."
)


def user_message(inputs: Inputs) -> str:
    docs = inputs.documents
    if not docs:
        return inputs.instruction
    if len(docs) == 1 and not inputs.instruction:
        return docs[0].text
    body = delimited(docs)
    return (inputs.instruction + "\n\n" + body) if inputs.instruction else body


def delimited(docs: Sequence[Document]) -> str:
    """The documents inside tags the model can tell from the instruction.

    One document: ``<text>`` … ``</text>``; several: ``<file name="…">`` … ``</file>``.
    A text that itself contains the tag (an email quoting our own format, or an
    attempt to close the block early and smuggle instructions) gets a numbered
    tag it does not contain, ``<text-2>``, so the block cannot be broken out of.
    """
    if len(docs) == 1:
        tag = _free_tag("text", docs[0].text)
        return f"<{tag}>\n" + _ensure_newline(docs[0].text) + f"</{tag}>"
    tag = _free_tag("file", "".join(d.text for d in docs))
    parts = []
    for doc in docs:
        name = display_name(doc.label).replace('"', "'")  # a name that is not UTF-8 cannot go in JSON as is
        parts.append(f'<{tag} name="{name}">\n' + _ensure_newline(doc.text) + f"</{tag}>")
    return "\n\n".join(parts)


def _free_tag(base: str, text: str) -> str:
    lowered = text.lower()
    tag, n = base, 1
    while f"<{tag}" in lowered or f"</{tag}" in lowered:
        n += 1
        tag = f"{base}-{n}"
    return tag


def _ensure_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"
