"""``history -q``: the FTS5 path and the LIKE path find the same records, for every query."""

from __future__ import annotations

import random

import pytest

from llmcli import history
from llmcli.history.search import fts_query, like_pattern, terms_of
from llmcli.history.store import Store

from .history_util import db_path, sample

try:  # optional: the property test runs when hypothesis is installed
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover
    given = None

TEXTS = [
    ("Rewrite formally", "hey can u send the report asap", "Could you please send the report at your earliest convenience?"),
    ("make it shorter", "The quarterly report is attached.", "Report attached."),
    ("translate", "Le café est très bon", "The coffee is very good"),
    (None, "100% of the_file names use under_scores", "All file names use underscores."),
    ("Fix spelling", "teh cat sat on teh mat", "the cat sat on the mat"),
    ("ÉCRIS en français", "STRASSE and straße", "Straße"),
    ("quote \"this\"", "a 'single' and \"double\" quote", "quotes AND OR NOT NEAR( are words here"),
    (None, "short", "ok"),
]

QUERIES = [
    "report", "REPORT", "rep", "re", "a", "ok", "the cat", '"the cat"', "cat mat", "café", "CAFÉ", "très",
    "100%", "%", "_", "the_file", "under_s", "é", "É", "straße", "STRASSE", "AND", "OR NOT", "NEAR(", '"double"',
    "'single'", "quote \"", "nothing-matches-this", "shorter attached", "Rewrite report", "earliest", "\\", "",
    "   ", "convenience?", "ÉCRIS", "écris",
]


@pytest.fixture
def store():
    for i, (instruction, text, answer) in enumerate(TEXTS):
        history.record(**sample(i, instruction=instruction, input_text=text, answer=answer, profile=f"p{i % 2}"))
    opened = Store.open_for_reading(db_path())
    assert opened is not None and opened.fts, "this SQLite build should have FTS5 with trigram"
    yield opened
    opened.close()


def ids(records):
    return [r.id for r in records]


@pytest.mark.parametrize("query", QUERIES)
def test_fts_and_like_give_the_same_records(store, query):
    assert ids(store.find(query=query, limit=None, use_fts=True)) == ids(store.find(query=query, limit=None, use_fts=False))


def test_the_results_are_the_substring_rule(store):
    """Every term, ASCII case ignored, in the instruction, the input or the answer."""
    def expected(query: str) -> list[str]:
        found = []
        for r in store.find(limit=None):
            fields = [(f or "") for f in (r.instruction, r.input, r.answer)]
            if all(any(_ascii_fold(t) in _ascii_fold(f) for f in fields) for t in terms_of(query)):
                found.append(r.id)
        return found

    for query in QUERIES:
        assert ids(store.find(query=query, limit=None)) == expected(query), query


def _ascii_fold(text: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in text)


def test_some_queries_find_what_a_user_expects(store):
    answers = lambda q: {r.answer for r in store.find(query=q, limit=None)}  # noqa: E731
    assert answers("REPORT") == {"Could you please send the report at your earliest convenience?", "Report attached."}
    assert answers("the cat") == {"the cat sat on the mat"}
    assert answers("100%") == {"All file names use underscores."}
    assert answers("nothing-matches-this") == set()


def test_profile_filter_and_limit(store):
    assert {r.profile for r in store.find(profile="p1", limit=None)} == {"p1"}
    assert len(store.find(limit=3)) == 3
    assert len(store.find(limit=None)) == len(TEXTS)
    assert ids(store.find(query="report", profile="p1", limit=None)) == ids(
        store.find(query="report", profile="p1", limit=None, use_fts=False))


def test_query_pieces():
    assert terms_of('"make it" shorter') == ["make it", "shorter"]
    assert terms_of('unbalanced "quote') == ["unbalanced", '"quote']
    assert like_pattern("100%_\\") == "%100\\%\\_\\\\%"
    assert fts_query(["ab", "abc", 'x"y']) == '"abc" AND "x""y"'
    assert fts_query(["ab"]) is None


def test_search_after_deletions_still_agrees(store):
    victims = ids(store.find(query="report", limit=None))
    store.delete(victims)
    for query in ("report", "the", "attached"):
        assert ids(store.find(query=query, limit=None, use_fts=True)) == ids(store.find(query=query, limit=None, use_fts=False))
    assert store.find(query="report") == []


if given is not None:
    ALPHABET = "abcABC éÉßẞ%_\"'()*:-"

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.text(ALPHABET, min_size=1, max_size=6), min_size=1, max_size=3))
    def test_property_fts_equals_like(store, words):
        rng = random.Random(0)
        if store.count() < 40:  # a corpus of random texts over the same small alphabet, once
            for i in range(40):
                text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40)))
                history.record(**sample(100 + i, instruction=None, input_text=text, answer=text[::-1]))
        query = " ".join('"' + w.replace('"', "") + '"' for w in words)
        assert ids(store.find(query=query, limit=None, use_fts=True)) == ids(store.find(query=query, limit=None, use_fts=False))
