"""Template placeholders: one pass over the template, values never re-scanned."""

from llmcli.placeholders import fill, placeholders


def test_names_in_order_without_duplicates():
    assert placeholders("{a} {b} {a} {{c}} {not valid} {}") == ["a", "b"]


def test_fill_replaces_and_unescapes():
    assert fill("x={x}, literal {{x}}", {"x": "1"}) == "x=1, literal {x}"


def test_values_are_never_expanded():
    assert fill("{input}!", {"input": "{input} {lang} {{"}) == "{input} {lang} {{!"


def test_other_braces_are_left_alone():
    assert fill('answer as {"k": 1} in {lang}', {"lang": "fr"}) == 'answer as {"k": 1} in fr'
