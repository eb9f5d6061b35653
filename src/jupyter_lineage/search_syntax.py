"""The registry's search language, parsed into a tree (pure).

    fraud                         free text in name or description
    "fraud detection"             a phrase
    model*                        a wildcard (name or description)
    tag:nlp  owner:a@b.com  riskTier:HIGH  state:PRODUCTION  group:risk  name:churn*
    created:>2026-01-01  created:2026-01-01..2026-03-31
    a AND b   a OR b   NOT a   -a   (a OR b) c        (juxtaposition is AND)

Precedence: NOT binds tightest, then AND, then OR. Errors name the position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import SearchSyntaxError

FIELDS = {
    "tag": "tag",
    "tags": "tag",
    "risktier": "risk_tier",
    "risk": "risk_tier",
    "tier": "risk_tier",
    "owner": "owner",
    "state": "state",
    "group": "group",
    "name": "name",
    "created": "created",
    "framework": "framework",
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?$")


@dataclass(frozen=True, slots=True)
class Text:
    value: str
    wildcard: bool
    position: int


@dataclass(frozen=True, slots=True)
class Field:
    field: str
    op: str  # '=', '>', '>=', '<', '<=', 'like', 'between'
    value: str | tuple[str, str]
    position: int


@dataclass(frozen=True, slots=True)
class Not:
    node: Node


@dataclass(frozen=True, slots=True)
class And:
    nodes: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    nodes: tuple[Node, ...]


Node = Text | Field | Not | And | Or


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # '(', ')', 'AND', 'OR', 'NOT', 'TERM'
    text: str
    position: int
    quoted: bool = False  # some of it was in quotes
    phrase: bool = False  # it starts with a quote: never a field


def _error(query: str, position: int, message: str) -> SearchSyntaxError:
    return SearchSyntaxError(
        f"{message} at position {position + 1} of the query: {query[:position]}⟨here⟩{query[position:]}"
    )


def tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c in "()":
            tokens.append(_Token(c, c, i))
            i += 1
        elif (
            c == "-"
            and (i + 1 < n and not query[i + 1].isspace())
            and (
                not tokens
                or tokens[-1].kind != "TERM"
                or query[i - 1].isspace()
                or query[i - 1] == "("
            )
        ):
            tokens.append(_Token("NOT", "-", i))
            i += 1
        else:
            start = i
            text, quoted = [], False
            while i < n and not query[i].isspace() and query[i] not in "()":
                if query[i] == '"':
                    end = query.find('"', i + 1)
                    if end < 0:
                        raise _error(query, i, "unterminated quote")
                    text.append(query[i + 1 : end])
                    quoted = True
                    i = end + 1
                else:
                    text.append(query[i])
                    i += 1
            word = "".join(text)
            upper = word.upper()
            if not quoted and upper in ("AND", "OR", "NOT"):
                tokens.append(_Token(upper, word, start))
            else:
                tokens.append(_Token("TERM", word, start, quoted, query[start] == '"'))
    return tokens


def parse(query: str) -> Node:
    """Parse a search query; raises SearchSyntaxError pointing at the offending position."""
    tokens = tokenize(query)
    if not tokens:
        raise SearchSyntaxError('empty search query; try a word, tag:NAME, or "a phrase"')
    pos = 0

    def peek() -> _Token | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> _Token:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        return tok

    def parse_or() -> Node:
        nodes = [parse_and()]
        while (tok := peek()) is not None and tok.kind == "OR":
            take()
            if peek() is None or peek().kind in (")", "OR", "AND"):  # type: ignore[union-attr]
                raise _error(query, tok.position, "OR needs something on its right")
            nodes.append(parse_and())
        return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))

    def parse_and() -> Node:
        nodes = [parse_not()]
        while (tok := peek()) is not None and tok.kind not in (")", "OR"):
            if tok.kind == "AND":
                take()
                nxt = peek()
                if nxt is None or nxt.kind in (")", "OR", "AND"):
                    raise _error(query, tok.position, "AND needs something on its right")
            nodes.append(parse_not())
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes))

    def parse_not() -> Node:
        tok = peek()
        if tok is not None and tok.kind == "NOT":
            take()
            if peek() is None:
                raise _error(query, tok.position, "NOT needs something to negate")
            return Not(parse_not())
        return parse_atom()

    def parse_atom() -> Node:
        tok = peek()
        if tok is None:
            raise _error(query, len(query), "the query ends too early")
        if tok.kind == "(":
            take()
            if peek() is not None and peek().kind == ")":  # type: ignore[union-attr]
                raise _error(query, tok.position, "empty parentheses")
            node = parse_or()
            close = peek()
            if close is None or close.kind != ")":
                raise _error(query, tok.position, "unclosed parenthesis")
            take()
            return node
        if tok.kind == ")":
            raise _error(query, tok.position, "unexpected ')'")
        if tok.kind in ("AND", "OR"):
            raise _error(query, tok.position, f"{tok.kind} needs something on its left")
        take()
        return _term(query, tok)

    node = parse_or()
    if pos < len(tokens):
        tok = tokens[pos]
        raise _error(query, tok.position, f"unexpected {tok.text!r}")
    return node


def _term(query: str, tok: _Token) -> Node:
    word = tok.text
    if not tok.phrase and ":" in word:
        name, _, value = word.partition(":")
        field = FIELDS.get(name.lower())
        if field is None:
            raise _error(
                query,
                tok.position,
                f"unknown field {name!r} (fields: tag, owner, riskTier, state, group, name, created, framework)",
            )
        if not value:
            raise _error(query, tok.position + len(name) + 1, f"{name}: needs a value")
        if field == "created":
            return _date_field(query, tok, value)
        if "*" in value:
            return Field(field, "like", value, tok.position)
        return Field(field, "=", value, tok.position)
    if not word:
        raise _error(query, tok.position, "empty phrase")
    return Text(word, "*" in word and not tok.quoted, tok.position)


def _date_field(query: str, tok: _Token, value: str) -> Field:
    at = tok.position + len("created:")
    if ".." in value:
        lo, _, hi = value.partition("..")
        for part in (lo, hi):
            if not _DATE.match(part):
                raise _error(query, at, f"bad date {part!r} (use YYYY-MM-DD)")
        return Field("created", "between", (lo, hi), tok.position)
    m = re.match(r"^(>=|<=|>|<|=)?(.*)$", value)
    op, date = (m.group(1) or "="), m.group(2)  # type: ignore[union-attr]
    if not _DATE.match(date):
        raise _error(query, at + len(m.group(1) or ""), f"bad date {date!r} (use YYYY-MM-DD)")  # type: ignore[union-attr]
    return Field("created", op, date, tok.position)
