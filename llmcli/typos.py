"""Which command a mistyped word was meant to be: ``profile`` → ``profiles``, ``histroy`` → ``history``.

Used by the root group (``default_group``) so that ``llmcli profile`` is not
sent to a paid model as a one-word instruction.  An edit distance, not
``difflib``'s similarity ratio: "one letter swapped, missing, extra or
changed" is the rule people can predict, and it needs no dependency for a
dozen short words (the optimal-string-alignment distance below counts a swap
of two neighbours as one edit, so ``histroy`` is one edit from ``history``).
"""

from __future__ import annotations

from collections.abc import Iterable


def distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) turning ``a`` into ``b``."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def near(word: str, name: str) -> bool:
    """Whether ``word`` is a likely typo of the command ``name``.

    One edit, or two for names of 8 letters or more.  For names of four
    letters or fewer (``last``, ``jobs``) a changed letter does not count:
    it turns them into ordinary words (``fast``, ``list``, ``lost``) that
    someone may really mean; a swapped, missing or extra letter still does.
    """
    word, name = word.lower(), name.lower()
    edits = distance(word, name)
    if edits == 0:
        return True
    if len(name) <= 4:
        return edits == 1 and (len(word) != len(name) or sorted(word) == sorted(name))
    return edits <= (2 if len(name) >= 8 else 1)


def closest(word: str, names: Iterable[str]) -> str | None:
    """The command ``word`` was most likely meant to be, or None when it is no likely typo of any."""
    candidates = [name for name in names if near(word, name)]
    if not candidates:
        return None
    return min(candidates, key=lambda name: (distance(word.lower(), name.lower()), name))
