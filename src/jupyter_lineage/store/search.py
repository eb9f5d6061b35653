"""Compile a parsed registry search into a parameterised SQL condition over ``model_registry``."""

from __future__ import annotations

from typing import Any

from ..search_syntax import And, Field, Node, Not, Or, Text


def _like(value: str, wildcard: bool) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%") if wildcard else f"%{escaped}%"


def compile_search(node: Node) -> tuple[str, list[Any]]:
    """``(sql_condition, params)``; user values only ever travel as parameters."""
    params: list[Any] = []

    def walk(n: Node) -> str:
        if isinstance(n, And):
            return "(" + " AND ".join(walk(c) for c in n.nodes) + ")"
        if isinstance(n, Or):
            return "(" + " OR ".join(walk(c) for c in n.nodes) + ")"
        if isinstance(n, Not):
            return f"(NOT coalesce({walk(n.node)}, false))"
        if isinstance(n, Text):
            pattern = _like(n.value, n.wildcard)
            params.extend([pattern, pattern])
            return "(m.name ILIKE ? ESCAPE '\\' OR coalesce(m.description, '') ILIKE ? ESCAPE '\\')"
        assert isinstance(n, Field)
        return field_sql(n)

    def field_sql(f: Field) -> str:
        like = f.op == "like"
        value = f.value
        if f.field == "tag":
            params.append(_like(str(value), True) if like else str(value).lower())
            if like:
                return "(len(list_filter(m.tags, lambda t: t ILIKE ? ESCAPE '\\')) > 0)"
            return "list_contains(list_transform(m.tags, lambda t: lower(t)), ?)"
        if f.field == "owner":
            params.append(_like(str(value), True) if like else str(value).lower())
            if like:
                return "(len(list_filter(m.owners, lambda o: o ILIKE ? ESCAPE '\\')) > 0)"
            return "list_contains(list_transform(m.owners, lambda o: lower(o)), ?)"
        if f.field == "risk_tier":
            params.append(str(value).upper())
            return "(m.risk_tier = ?)"
        if f.field == "group":
            params.append(_like(str(value), True) if like else str(value))
            return "(m.group_name ILIKE ? ESCAPE '\\')" if like else "(m.group_name = ?)"
        if f.field == "name":
            params.append(_like(str(value), True) if like else str(value))
            return "(m.name ILIKE ? ESCAPE '\\')" if like else "(m.name = ?)"
        if f.field == "state":
            params.append(str(value).upper())
            return "EXISTS (SELECT 1 FROM model_versions v WHERE v.model_id = m.model_id AND v.state = ?)"
        if f.field == "framework":
            params.append(_like(str(value), like) if like else str(value).lower())
            cond = "lower(v.framework) = ?" if not like else "v.framework ILIKE ? ESCAPE '\\'"
            return (
                f"EXISTS (SELECT 1 FROM model_versions v WHERE v.model_id = m.model_id AND {cond})"
            )
        if f.field == "created":
            if f.op == "between":
                lo, hi = value  # type: ignore[misc,str-unpack]
                params.extend([lo, hi])
                return "(m.created_at >= CAST(? AS TIMESTAMPTZ) AND m.created_at < CAST(? AS TIMESTAMPTZ) + INTERVAL 1 DAY)"
            params.append(value)
            if f.op == "=":
                params.append(value)
                return "(m.created_at >= CAST(? AS TIMESTAMPTZ) AND m.created_at < CAST(? AS TIMESTAMPTZ) + INTERVAL 1 DAY)"
            op = {">": ">=", "<=": "<"}.get(f.op, f.op)
            # a date names a whole day: after it means from the next day on, up to it includes it
            shift = " + INTERVAL 1 DAY" if f.op in (">", "<=") else ""
            return f"(m.created_at {op} CAST(? AS TIMESTAMPTZ){shift})"
        raise ValueError(f"unsupported field {f.field}")

    return walk(node), params
