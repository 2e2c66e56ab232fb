"""Refining: the conversation a new call continues (``-c``, ``--cid``).

A record keeps the messages it sent and the answer it got, so the
conversation to continue is that record's messages plus its answer: the
original system prompt, every earlier exchange, the last answer.  The caller
sends them followed by the new words as a user message, to the record's
profile and model unless ``-p``/``-m`` say otherwise, and records the new
call with this conversation id and the continued record as its parent.

What ``--cid`` accepts (:meth:`Store.resolve`): a record id, as ``llmcli
history`` lists them (or a unique start of one, case-insensitive).  The call
continues from that answer, so yesterday's version can be taken up again;
the newest record of a conversation is listed first.  The new record joins
the continued record's conversation; a conversation's id is the id of its
first record.  ``-c`` is ``--cid last``: the newest successful single-mode
answer, the one ``llmcli last`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import faults
from .records import ERROR, Record
from .store import Store


@dataclass(frozen=True)
class Resume:
    """What a continuing call needs: the record continued and the messages to send before the new words."""

    record: Record
    messages: tuple[tuple[str, str], ...]  # ("system", …) first when there was one, ending with ("assistant", answer)

    @property
    def conversation_id(self) -> str:
        return self.record.conversation_id

    @property
    def parent_id(self) -> str:
        return self.record.id

    @property
    def profile(self) -> str | None:
        return self.record.profile

    @property
    def model(self) -> str | None:
        return self.record.model

    @property
    def system(self) -> str | None:
        return self.record.system

    @property
    def answer(self) -> str:
        """The previous answer: the text a style applies to (``-c -s formal``), the "before" of ``-c --diff``."""
        return self.record.answer


def resume(ref: str = "last", path: Path | None = None) -> Resume:
    """The conversation to continue from record ``ref`` ("last" or a record id); raises HistoryError (exit 2)."""
    try:
        store = Store.open_for_reading(path)
    except Exception as exc:
        raise faults.error(exc, _path(path)) from None
    if store is None:
        raise faults.HistoryError(f"history: nothing to continue: no history yet at {_path(path)}")
    try:
        with store:
            record = store.resolve(ref)
    except faults.HistoryError:
        raise
    except Exception as exc:
        raise faults.error(exc, store.path) from None
    return Resume(record, tuple(messages_of(record)))


def conversation(ref: str = "last", path: Path | None = None) -> list[tuple[str, str]]:
    """The messages to send before the new words when continuing ``ref`` (see :func:`resume`)."""
    return list(resume(ref, path).messages)


def messages_of(record: Record) -> list[tuple[str, str]]:
    """The record's system prompt, the messages it sent, and its answer, as (role, content) pairs."""
    if record.status == ERROR:
        raise faults.HistoryError(f"history: record {record.id} has no answer to continue (it failed: {record.error})")
    whole = [name for name in ("system", "messages", "answer") if name in record.clipped]
    if whole:
        raise faults.HistoryError(
            f"history: record {record.id} is too long to continue: its {', '.join(whole)} exceeded the "
            f"history's size limit and only the start was kept"
        )
    head = [("system", record.system)] if record.system else []
    sent = [(str(m.get("role", "user")), str(m.get("content", ""))) for m in record.messages]
    return head + sent + [("assistant", record.answer)]


def _path(path: Path | None) -> Path:
    from .store import default_path

    return path or default_path()
