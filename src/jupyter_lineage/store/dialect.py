"""The store's SQL is written once, in DuckDB's dialect; this turns it into PostgreSQL's.

sqlglot does the translation. The handful of constructs it cannot map are
rewritten here on the syntax tree, and the DuckDB functions PostgreSQL lacks
(``arg_max``, ``any_value`` ...) are defined on the server by
``postgres_compat.sql``. Those two places are the whole dialect difference.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..errors import QueryError

# Window functions whose ``IGNORE NULLS`` form becomes a null-skipping aggregate.
_NULL_SKIPPING = {"LastValue": "last_nonnull", "FirstValue": "first_nonnull"}


@lru_cache(maxsize=1024)
def _translate(sql: str) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """PostgreSQL text for ``sql``, and how its placeholders map to the caller's parameters.

    Placeholders become ``$1, $2, ...``; each slot names the caller's parameter:
    ``("pos", i)`` for the i-th ``?``, ``("num", n)`` for ``$n``, ``("name", k)`` for ``$k``.
    """
    import sqlglot
    from sqlglot import exp

    try:
        statements = sqlglot.parse(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise QueryError(f"cannot read the query: {str(exc).splitlines()[0]}") from None
    slots: list[tuple[str, Any]] = []
    positional = 0
    aliases = [0]

    def rewrite(node: exp.Expression) -> exp.Expression:
        nonlocal positional
        if isinstance(node, exp.Placeholder):
            name = node.name
            if not name or name == "?":
                slot: tuple[str, Any] = ("pos", positional)
                positional += 1
            elif name.isdigit():
                slot = ("num", int(name))
            else:
                slot = ("name", name)
            if slot not in slots or slot[0] == "pos":
                slots.append(slot)
            parameter = exp.Parameter(this=exp.var(str(slots.index(slot) + 1)))
            # Where PostgreSQL cannot infer a parameter's type: ``$x IS NULL``, and the
            # lists the store passes (of ids and names) to ``unnest`` and ``list_contains``.
            if isinstance(node.parent, exp.Is | exp.Select) or (
                isinstance(node.parent, exp.Alias) and isinstance(node.parent.parent, exp.Select)
            ):
                return exp.Cast(this=parameter, to=exp.DataType.build("TEXT"))
            parent = node.parent
            contains = isinstance(parent, exp.ArrayContains) or (
                isinstance(parent, exp.Anonymous) and parent.name.lower() == "list_contains"
            )
            # The list of list_contains(list, element) is a list; its element is text.
            if isinstance(parent, exp.Unnest | exp.Explode) or (
                contains and (node.arg_key == "this" or node.index == 0)
            ):
                return exp.Cast(this=parameter, to=exp.DataType.build("TEXT[]"))
            if contains:
                return exp.Cast(this=parameter, to=exp.DataType.build("TEXT"))
            return parameter
        if isinstance(node, exp.Parameter) and node.name.isdigit():
            slot = ("num", int(node.name))
            if slot not in slots:
                slots.append(slot)
            return exp.Parameter(this=exp.var(str(slots.index(slot) + 1)))
        if (
            isinstance(node, exp.Select)
            and node.args.get("group")
            and node.args["group"].args.get("all")
        ):
            # GROUP BY ALL: every selected expression that is not an aggregate.
            keys = [
                e.unalias().copy()
                for e in node.expressions
                if not e.find(exp.AggFunc) and not isinstance(e.unalias(), exp.Literal)
            ]
            node.set("group", exp.Group(expressions=keys))
            return node
        if (
            isinstance(node, exp.Subquery)
            and not node.alias
            and isinstance(node.parent, exp.From | exp.Join)
        ):
            aliases[0] += 1
            node.set("alias", exp.TableAlias(this=exp.to_identifier(f"_q{aliases[0]}")))
            return node
        if isinstance(node, exp.Contains):
            return exp.GT(
                this=exp.Anonymous(this="strpos", expressions=[node.this, node.expression]),
                expression=exp.Literal.number(0),
            )
        if isinstance(node, exp.Filter) and isinstance(node.this, exp.ArgMax | exp.ArgMin):
            return _arg_extreme(node.this, node.expression.this)
        if isinstance(node, exp.ArgMax | exp.ArgMin) and not isinstance(node.parent, exp.Filter):
            return _arg_extreme(node, None)
        if isinstance(node, exp.IgnoreNulls) and type(node.this).__name__ in _NULL_SKIPPING:
            # last_value(x) IGNORE NULLS
            inner = node.this
            return exp.Anonymous(
                this=_NULL_SKIPPING[type(inner).__name__], expressions=[inner.this]
            )
        if isinstance(node, exp.IgnoreNulls) and isinstance(node.this, exp.AnyValue):
            # DuckDB's any_value skips NULLs; so does postgres_compat.sql's.
            return node.this
        if type(node).__name__ in _NULL_SKIPPING and isinstance(node.this, exp.IgnoreNulls):
            # last_value(x IGNORE NULLS)
            return exp.Anonymous(
                this=_NULL_SKIPPING[type(node).__name__], expressions=[node.this.this]
            )
        if isinstance(node, exp.Array) and not node.expressions:
            # An untyped empty array literal takes the type of the other arguments.
            return exp.Literal.string("{}")
        if isinstance(node, exp.Struct):
            args: list[exp.Expression] = []
            for e in node.expressions:
                if isinstance(e, exp.PropertyEQ | exp.Slice | exp.EQ):
                    args += [exp.Literal.string(e.this.name), e.expression]
                else:
                    args += [exp.Literal.string(e.alias_or_name), e.unalias()]
            return exp.Anonymous(this="jsonb_build_object", expressions=args)
        if isinstance(node, exp.Map | exp.VarMap):
            map_keys, map_values = node.args.get("keys"), node.args.get("values")
            if isinstance(map_keys, exp.ArrayAgg) and isinstance(map_values, exp.ArrayAgg):
                return exp.Anonymous(
                    this="jsonb_object_agg",
                    expressions=[_unordered(map_keys), _unordered(map_values)],
                )
        return node

    out = []
    for statement in statements:
        if statement is None:
            continue
        out.append(statement.transform(rewrite).sql(dialect="postgres"))
    return ";\n".join(out), tuple(slots)


def _arg_extreme(node: Any, condition: Any) -> Any:
    """``arg_max(v, k)`` as ``(array_agg(v ORDER BY k DESC) FILTER (WHERE ...))[1]``.

    Rows with a NULL key or value are skipped, as DuckDB does.
    """
    from sqlglot import exp

    value, key = node.this, node.expression
    descending = isinstance(node, exp.ArgMax)
    keep = exp.and_(
        exp.Not(this=exp.Is(this=key.copy(), expression=exp.Null())),
        exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null())),
    )
    if condition is not None:
        keep = exp.and_(exp.Paren(this=condition.copy()), keep)
    ordered = exp.Order(expressions=[exp.Ordered(this=key.copy(), desc=descending)])
    ordered.set("this", value.copy())
    agg = exp.Filter(this=exp.ArrayAgg(this=ordered), expression=exp.Where(this=keep))
    # Index 0 in sqlglot's zero-based terms: the first element, [1] in PostgreSQL.
    return exp.Bracket(this=exp.Paren(this=agg), expressions=[exp.Literal.number(0)])


def _unordered(agg: Any) -> Any:
    from sqlglot import exp

    this = agg.this
    return this.this if isinstance(this, exp.Order) else this


def to_postgres(sql: str) -> str:
    """``sql`` (DuckDB dialect) as PostgreSQL text, placeholders numbered ``$1, $2, ...``."""
    return _translate(sql)[0]


def bind(
    sql: str, params: list[Any] | tuple[Any, ...] | dict[str, Any] | None
) -> tuple[str, list[Any]]:
    """PostgreSQL text for ``sql`` and the parameter list in the order of its ``$n`` slots."""
    text, slots = _translate(sql)
    if params is None:
        if slots:
            raise QueryError("the query has placeholders but no parameters were given")
        return text, []
    values: list[Any] = []
    for kind, key in slots:
        try:
            if kind == "name":
                values.append(params[key] if isinstance(params, dict) else None)
            elif kind == "num":
                values.append(params[str(key)] if isinstance(params, dict) else params[key - 1])
            else:
                values.append(params[key] if not isinstance(params, dict) else None)
        except (KeyError, IndexError):
            raise QueryError(f"no value given for the query's parameter {key!r}") from None
    return text, values
