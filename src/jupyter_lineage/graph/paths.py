"""Distances and shortest paths over the edges a walk returned (pure functions)."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence


def distances(
    edges: Iterable[tuple[str, str]], start: Sequence[str], *, upstream: bool
) -> dict[str, int]:
    """Fewest edges from any of ``start`` to each node, against the edges when ``upstream``."""
    adjacent: dict[str, list[str]] = defaultdict(list)
    for src, dst in edges:
        if upstream:
            adjacent[dst].append(src)
        else:
            adjacent[src].append(dst)
    seen = dict.fromkeys(start, 0)
    queue = deque(start)
    while queue:
        node = queue.popleft()
        for nxt in adjacent.get(node, ()):
            if nxt not in seen:
                seen[nxt] = seen[node] + 1
                queue.append(nxt)
    return seen


def shortest_path(
    edges: Iterable[tuple[str, str, str]], sources: Sequence[str], targets: Sequence[str]
) -> list[tuple[str, str | None]]:
    """The fewest-edges path from a source to a target along the edges.

    Returns ``(node, kind of the edge into it)`` pairs, the first with ``None``,
    or an empty list when no target is reachable. Ties go to the edge listed first.
    """
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for src, dst, kind in edges:
        out[src].append((dst, kind))
    goal = set(targets)
    came: dict[str, tuple[str | None, str | None]] = {s: (None, None) for s in sources}
    queue = deque(sources)
    found = next((s for s in sources if s in goal), None)
    while queue and found is None:
        node = queue.popleft()
        for nxt, kind in out.get(node, ()):
            if nxt in came:
                continue
            came[nxt] = (node, kind)
            if nxt in goal:
                found = nxt
                break
            queue.append(nxt)
    if found is None:
        return []
    steps: list[tuple[str, str | None]] = []
    at: str | None = found
    while at is not None:
        prev, via = came[at]
        steps.append((at, via))
        at = prev
    return steps[::-1]
