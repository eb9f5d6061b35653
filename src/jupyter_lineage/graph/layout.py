"""Layered left-to-right layout of a lineage graph (pure functions).

Sugiyama's scheme, cut down to what a lineage graph needs: drop the edges that
close a cycle, put each node in the layer after its furthest predecessor
(longest-path layering, so sources sit on the left and what is derived from
them on the right), then order each layer by the barycentre of its
neighbours' positions, sweeping down and up a few times to untangle crossings.
Weakly connected components are laid out separately and stacked. Everything
is linear in the size of the graph per sweep, so a few thousand nodes take
milliseconds.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

Edge = tuple[str, str]
# Bend points of long edges are ordered like nodes; their ids start with a NUL,
# which no node id contains.
BEND = "\x00"
BEND_HEIGHT = 0.4
MAX_BENDS = 20_000


def acyclic_edges(nodes: Sequence[str], edges: Iterable[Edge]) -> list[Edge]:
    """``edges`` without self-loops and without the edges a depth-first search finds closing a cycle."""
    succ: dict[str, list[str]] = defaultdict(list)
    unique: list[Edge] = []
    seen: set[Edge] = set()
    for u, v in edges:
        if u != v and (u, v) not in seen:
            seen.add((u, v))
            unique.append((u, v))
            succ[u].append(v)
    state: dict[str, int] = {}  # 1 on the stack, 2 finished
    back: set[Edge] = set()
    for root in nodes:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(succ.get(root, ())))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(succ.get(child, ()))))
    return [e for e in unique if e not in back]


def longest_path_layers(nodes: Sequence[str], edges: Iterable[Edge]) -> dict[str, int]:
    """Layer of each node: one more than its furthest predecessor's, on an acyclic graph.

    Sources are then moved right to just before their nearest successor, so an
    input used late does not stretch an edge across the whole picture.
    """
    succ: dict[str, list[str]] = defaultdict(list)
    pred: dict[str, list[str]] = defaultdict(list)
    indegree = dict.fromkeys(nodes, 0)
    for u, v in edges:
        succ[u].append(v)
        pred[v].append(u)
        indegree[v] = indegree.get(v, 0) + 1
        indegree.setdefault(u, 0)
    layer = dict.fromkeys(indegree, 0)
    queue = deque(n for n, d in indegree.items() if d == 0)
    while queue:
        u = queue.popleft()
        for v in succ[u]:
            layer[v] = max(layer[v], layer[u] + 1)
            indegree[v] -= 1
            if indegree[v] == 0:
                queue.append(v)
    for n in layer:
        if not pred[n] and succ[n]:
            layer[n] = max(0, min(layer[v] for v in succ[n]) - 1)
    return layer


def order_layers(layer: dict[str, int], edges: Iterable[Edge], sweeps: int = 6) -> list[list[str]]:
    """Nodes of each layer, top to bottom, ordered by the barycentre heuristic.

    The initial order within a layer is the order of ``layer``'s keys.
    """
    depth = max(layer.values(), default=-1) + 1
    rows: list[list[str]] = [[] for _ in range(depth)]
    for n, i in layer.items():
        rows[i].append(n)
    pred: dict[str, list[str]] = defaultdict(list)
    succ: dict[str, list[str]] = defaultdict(list)
    for u, v in edges:
        pred[v].append(u)
        succ[u].append(v)
    pos: dict[str, float] = {}

    def place(row: list[str]) -> None:
        for rank, n in enumerate(row):
            pos[n] = (rank + 0.5) / len(row)

    for row in rows:
        place(row)
    for sweep in range(sweeps):
        downward = sweep % 2 == 0
        neighbours = pred if downward else succ
        indices = range(1, depth) if downward else range(depth - 2, -1, -1)
        for i in indices:
            row = rows[i]
            keys = {}
            for n in row:
                near = neighbours.get(n)
                keys[n] = sum(pos[m] for m in near) / len(near) if near else pos[n]
            row.sort(key=keys.__getitem__)
            place(row)
    return rows


def components(nodes: Sequence[str], edges: Iterable[Edge]) -> list[list[str]]:
    """Weakly connected components, largest first, each in ``nodes`` order."""
    parent = {n: n for n in nodes}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for u, v in edges:
        if u in parent and v in parent:
            ru, rv = find(u), find(v)
            if ru != rv:
                parent[ru] = rv
    groups: dict[str, list[str]] = defaultdict(list)
    for n in nodes:
        groups[find(n)].append(n)
    return sorted(groups.values(), key=len, reverse=True)


@dataclass(slots=True)
class Layout:
    """Where to draw: ``(x, y)`` of every node, and the bend points of edges spanning layers."""

    positions: dict[str, tuple[float, float]]
    routes: dict[Edge, list[tuple[float, float]]] = field(default_factory=dict)


def layered_layout(
    nodes: Sequence[str],
    edges: Iterable[Edge],
    *,
    sweeps: int = 6,
    gap: float = 1.5,
    max_bends: int = MAX_BENDS,
) -> Layout:
    """Positions of every node: x is the layer (left to right), y the place in it (top down).

    An edge that spans several layers gets a bend point in each layer it
    crosses, ordered with the nodes, so it runs between them rather than through
    them (up to ``max_bends`` bend points per component; straight lines beyond).
    Bend points take less height than nodes. Components are stacked below each
    other, ``gap`` rows apart.
    """
    edge_list = [(u, v) for u, v in edges if u != v]
    positions: dict[str, tuple[float, float]] = {}
    routes: dict[Edge, list[tuple[float, float]]] = {}
    top = 0.0
    for group in components(nodes, edge_list):
        members = set(group)
        sub = acyclic_edges(group, [(u, v) for u, v in edge_list if u in members])
        layer = longest_path_layers(group, sub)
        chains: dict[Edge, list[str]] = {}
        ordered = sub
        if sum(layer[v] - layer[u] - 1 for u, v in sub) <= max_bends:
            ordered = []
            for u, v in sub:
                points = [f"{BEND}{u}{BEND}{v}{BEND}{i}" for i in range(1, layer[v] - layer[u])]
                for i, point in enumerate(points, start=1):
                    layer[point] = layer[u] + i
                chain = [u, *points, v]
                ordered.extend(pairwise(chain))
                if points:
                    chains[(u, v)] = points
        rows = order_layers(layer, ordered, sweeps)
        heights = [sum(_height(n) for n in row) for row in rows]
        tallest = max(heights)
        placed: dict[str, tuple[float, float]] = {}
        for x, row in enumerate(rows):
            y = top + (tallest - heights[x]) / 2
            for n in row:
                placed[n] = (float(x), -(y + _height(n) / 2 - 0.5))
                y += _height(n)
        for n in group:
            positions[n] = placed[n]
        for edge, points in chains.items():
            routes[edge] = [placed[p] for p in points]
        top += tallest - 1 + gap
    return Layout(positions, routes)


def _height(node: str) -> float:
    return BEND_HEIGHT if node.startswith(BEND) else 1.0
