"""``history -q``: which records mention every word of a query, with or without FTS5.

The rule, whatever the SQLite build: the query is split into terms (shell
quoting keeps a phrase together: ``-q '"make it shorter" formal'``), and a
record matches when each term occurs, ignoring ASCII case, somewhere in its
instruction, input or answer.  That is exactly what ``LIKE '%term%'`` says,
so the LIKE conditions are always applied; with FTS5 (trigram tokenizer) the
index first narrows the records to those holding every term of three
characters or more.  The index never matches fewer records than LIKE would
(trigram matching is case-insensitive substring matching, with Unicode case
folding a superset of ASCII's), so the two paths give the same records, the
indexed one without reading every text.
"""

from __future__ import annotations

import shlex
from typing import Any

from .schema import FTS_TABLE, SEARCHED

TRIGRAM = 3  # the trigram index cannot look up a shorter term


def terms_of(query: str) -> list[str]:
    """The query's terms; shell quoting groups words, an unbalanced quote is just a character."""
    try:
        parts = shlex.split(query)
    except ValueError:
        parts = query.split()
    return [p for p in parts if p.strip()]


def like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def fts_query(terms: list[str]) -> str | None:
    """An FTS5 query requiring every indexable term, each quoted (so no word is read as an operator)."""
    quoted = ['"' + t.replace('"', '""') + '"' for t in terms if len(t) >= TRIGRAM]
    return " AND ".join(quoted) or None


def condition(terms: list[str], *, use_fts: bool) -> tuple[str, list[Any]]:
    """An SQL condition on table ``records`` (and its parameters) true for the matching records."""
    parts: list[str] = []
    params: list[Any] = []
    if use_fts:
        match = fts_query(terms)
        if match is not None:
            parts.append(f"seq IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?)")
            params.append(match)
    for term in terms:
        pattern = like_pattern(term)
        parts.append("(" + " OR ".join(f"{column} LIKE ? ESCAPE '\\'" for column in SEARCHED) + ")")
        params.extend([pattern] * len(SEARCHED))
    return " AND ".join(parts) or "1", params
