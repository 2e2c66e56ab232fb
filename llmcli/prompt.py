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

from .inputs import Inputs

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
    if len(docs) == 1:
        body = docs[0].text
        if not inputs.instruction:
            return body
        return inputs.instruction + "\n\n<text>\n" + _ensure_newline(body) + "</text>"
    parts = []
    for doc in docs:
        name = doc.label.replace('"', "'")
        parts.append(f'<file name="{name}">\n' + _ensure_newline(doc.text) + "</file>")
    joined = "\n\n".join(parts)
    return (inputs.instruction + "\n\n" + joined) if inputs.instruction else joined


def _ensure_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"
