"""The search language's parser: precedence, quoting, fields, and errors that point at the position."""

from __future__ import annotations

import pytest

from jupyter_lineage.errors import SearchSyntaxError
from jupyter_lineage.search_syntax import And, Field, Not, Or, Text, parse


def test_precedence_not_and_or() -> None:
    tree = parse("a OR b AND NOT c")
    assert isinstance(tree, Or)
    left, right = tree.nodes
    assert left == Text("a", False, 0)
    assert isinstance(right, And) and isinstance(right.nodes[1], Not)


def test_juxtaposition_is_and_and_parentheses_group() -> None:
    tree = parse("(a OR b) c")
    assert isinstance(tree, And) and isinstance(tree.nodes[0], Or)


def test_fields_quotes_wildcards_and_dates() -> None:
    assert parse("tag:nlp") == Field("tag", "=", "nlp", 0)
    assert parse("riskTier:HIGH") == Field("risk_tier", "=", "HIGH", 0)
    assert parse('owner:"risk team@x.com"') == Field("owner", "=", "risk team@x.com", 0)
    assert parse('"fraud detection"') == Text("fraud detection", False, 0)
    assert parse("model*") == Text("model*", True, 0)
    assert parse('"model*"') == Text("model*", False, 0)
    assert parse("created:>2026-01-01") == Field("created", ">", "2026-01-01", 0)
    assert parse("created:2026-01-01..2026-02-01") == Field(
        "created", "between", ("2026-01-01", "2026-02-01"), 0
    )
    assert parse("-tag:experimental") == Not(Field("tag", "=", "experimental", 1))
    assert parse("name:fraud-v2") == Field("name", "=", "fraud-v2", 0)


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("tag:nlp AND", "AND needs something on its right", 9),
        ("OR fraud", "OR needs something on its left", 1),
        ("(fraud", "unclosed parenthesis", 1),
        ("fraud)", "unexpected ')'", 6),
        ('"fraud', "unterminated quote", 1),
        ("colour:red", "unknown field 'colour'", 1),
        ("created:yesterday", "bad date 'yesterday'", 9),
        ("tag:", "tag: needs a value", 5),
        ("()", "empty parentheses", 1),
        ("   ", "empty search query", None),
    ],
)
def test_malformed_queries_point_at_the_position(
    query: str, message: str, position: int | None
) -> None:
    with pytest.raises(SearchSyntaxError) as info:
        parse(query)
    text = str(info.value)
    assert message in text and "\n" not in text
    if position is not None:
        assert f"at position {position} " in text
