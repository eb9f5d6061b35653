"""The lineage graph: what a node came from, what depends on it, and a figure of it.

Nodes are artifact versions (values, files, models, environments, code),
executions and reviews (human-in-the-loop steps); edges are ``used``,
``generated``, ``derived_from``, ``ran_in`` and ``reviewed``, each pointing
downstream (see ``store/lineage.sql`` and docs/guide/graph.md). The walks run in the
store; this module names targets, shapes the answers and draws. Each function
takes a TARGET (see ``resolve``) and an optional store, by default the current
session's (``session.current_store()``: the team store when one is configured). pandas, plotly and networkx are imported only when a function
needs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from ..errors import UsageError
from ..store import Store
from ..store.lineage import Direction, LineageQueries, Subgraph, open_queries
from .drawing import (
    DEFAULT_KINDS,
    KINDS,
    GraphView,
    build_figure,
    graph_data,
    graph_html,
    graph_view,
)
from .layout import Layout, layered_layout
from .paths import distances, shortest_path
from .resolve import UnknownTargetError, resolve
from .staleness import StaleReport, rerun_order, stale

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd

    from .lineage_figure import LineageFigure

__all__ = [
    "DEFAULT_KINDS",
    "KINDS",
    "Drawing",
    "StaleReport",
    "UnknownTargetError",
    "build_figure",
    "downstream",
    "drawing_of",
    "figure",
    "impact",
    "path",
    "rerun_order",
    "stale",
    "subgraph",
    "to_networkx",
    "training_data",
    "upstream",
]

DIRECTIONS = ("upstream", "downstream", "both")
# Columns of the answers of upstream, downstream and training_data, nearest first.
NODE_COLUMNS = [
    "node_id",
    "kind",
    "name",
    "version",
    "status",
    "type_name",
    "shape",
    "path",
    "execution_id",
    "notebook_path",
    "created_at",
    "depth",
]


def default_store() -> Store:
    """The current session's store: the kernel's when the extension is loaded, the team store
    when one is configured."""
    from ..session import current_store

    return current_store()


def _check(direction: str, depth: int | None) -> None:
    if direction not in DIRECTIONS:
        raise UsageError(f"direction must be upstream, downstream or both, not {direction!r}")
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 1):
        raise UsageError(f"depth must be a whole number of edges >= 1, not {depth!r}")


def _with_depth(sub: Subgraph, start: Sequence[str], upstream: bool) -> pd.DataFrame:
    pairs = zip(sub.edges["src"], sub.edges["dst"], strict=True)
    depth = distances(pairs, start, upstream=upstream)
    nodes = sub.nodes.copy()
    nodes["depth"] = nodes["node_id"].map(depth).astype("Int64")
    nodes = nodes.sort_values(["depth", "created_at", "node_id"], na_position="last")
    return nodes.reset_index(drop=True)


def _walk(
    queries: LineageQueries, start: list[str], direction: Direction, depth: int | None
) -> Subgraph:
    return queries.subgraph(queries.walk_edges(start, direction, depth), start)


def upstream(target: str, depth: int | None = None, *, store: Store | None = None) -> pd.DataFrame:
    """Everything ``target`` was made from: ``lineage_nodes`` rows and ``depth`` (edges away).

    Example: ``upstream("model:churn-logreg")``. ``depth`` stops the walk that many edges away.
    """
    _check("upstream", depth)
    with open_queries(store or default_store()) as q:
        start = resolve(q, target)
        sub = _walk(q, start, "upstream", depth)
    return _with_depth(sub, start, upstream=True)[NODE_COLUMNS + _extra(sub)]


def downstream(
    target: str, depth: int | None = None, *, store: Store | None = None
) -> pd.DataFrame:
    """Everything made from ``target``: ``lineage_nodes`` rows and ``depth`` (edges away).

    Example: ``downstream("file:data/customers.csv")``.
    """
    _check("downstream", depth)
    with open_queries(store or default_store()) as q:
        start = resolve(q, target)
        sub = _walk(q, start, "downstream", depth)
    return _with_depth(sub, start, upstream=False)[NODE_COLUMNS + _extra(sub)]


def _extra(sub: Subgraph) -> list[str]:
    return [c for c in sub.nodes.columns if c not in NODE_COLUMNS]


def impact(target: str, *, store: Store | None = None) -> pd.DataFrame:
    """The executions, model versions and reviews to redo if ``target`` changes, in time order.

    ``target`` is usually a file (``file:PATH`` covers every version of it) or a
    dataset variable (``var:NAME``). Example: ``impact("file:data/customers.csv")``.
    """
    with open_queries(store or default_store()) as q:
        start = resolve(q, target)
        sub = _walk(q, start, "downstream", None)
    nodes = _with_depth(sub, start, upstream=False)
    redone = nodes["kind"].isin(["execution", "model", "review"])
    hit = nodes[redone & ~nodes["node_id"].isin(start)]
    columns = ["node_id", "kind", "name", "status", "notebook_path", "created_at", "depth"]
    return hit.sort_values(["created_at", "node_id"])[columns].reset_index(drop=True)


def path(a: str, b: str, *, store: Store | None = None) -> pd.DataFrame:
    """The shortest chain of edges from ``a`` to ``b`` (or from ``b`` to ``a``), one row per node.

    ``edge`` is the kind of the edge into the row's node. Empty when the two are
    not connected. Example: ``path("file:data/customers.csv", "model:churn-logreg")``.
    """
    import pandas as pd

    with open_queries(store or default_store()) as q:
        start, end = resolve(q, a), resolve(q, b)
        edges = q.connecting_edges(start, end)
        if edges.empty:
            start, end = end, start
            edges = q.connecting_edges(start, end)
        triples = list(zip(edges["src"], edges["dst"], edges["kind"], strict=True))
        steps = shortest_path(sorted(triples), start, end)
        nodes = q.nodes([n for n, _ in steps])
    columns = ["step", "node_id", "edge", "kind", "name", "version", "status", "created_at"]
    if not steps:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(
        {"step": range(len(steps)), "node_id": [n for n, _ in steps], "edge": [k for _, k in steps]}
    )
    merged = frame.merge(nodes, on="node_id", how="left")
    return merged[columns]


def training_data(model: str, *, store: Store | None = None) -> pd.DataFrame:
    """The data a model version was trained from: files and array-like values upstream of it.

    ``model`` is a model name (its latest version), ``NAME@VERSION``, or any
    TARGET. Rows are file versions (by SHA-256) and values with a shape
    (DataFrames, arrays, tensors) by fingerprint, nearest first; ``model_version``
    names the version answered for. A fine-tuned model's rows include its base
    model's data (through ``derived_from``). Example: ``training_data("churn-logreg")``.
    """
    text = model.strip()
    if ":" not in text:
        text = "model:" + text
    with open_queries(store or default_store()) as q:
        start = resolve(q, text)
        sub = _walk(q, start, "upstream", None)
    nodes = _with_depth(sub, start, upstream=True)
    shaped = nodes["shape"].fillna("").astype(str) != ""
    data = nodes[(nodes["kind"] == "file") | ((nodes["kind"] == "value") & shaped)].copy()
    data.insert(0, "model_version", ", ".join(start))
    columns = ["model_version", "node_id", "kind", "name", "version", "type_name", "shape"]
    return data[[*columns, "path", "execution_id", "created_at", "depth"]].reset_index(drop=True)


def subgraph(
    target: str | None = None,
    *,
    direction: str = "both",
    depth: int | None = None,
    failed: bool = False,
    notebook: str | None = None,
    store: Store | None = None,
) -> tuple[list[str], Subgraph]:
    """The start node ids and the part of the graph a figure or export shows.

    Without ``target``: the executions of ``notebook`` and their neighbours, or
    the whole graph. ``failed`` adds the runs that did not succeed of the cells
    in view, with their inputs and outputs. The nodes have a ``transient``
    column: true for values bound by a captured run that no other run or review
    read, anywhere in the store (loop variables, temporaries, open files).
    """
    _check(direction, depth)
    with open_queries(store or default_store()) as q:
        if target:
            start = resolve(q, target)
            edges = q.walk_edges(start, cast(Direction, direction), depth)
        else:
            start = []
            edges = q.notebook_edges(notebook) if notebook else q.all_edges()
        if failed:
            executions = _execution_ids([*edges["src"], *edges["dst"], *start])
            siblings = q.failed_siblings(executions)
            if siblings:
                import pandas as pd

                more = q.execution_edges(siblings)
                edges = pd.concat([edges, more], ignore_index=True).drop_duplicates()
                start_extra = ["exec:" + s for s in siblings]
            else:
                start_extra = []
        else:
            start_extra = []
        sub = q.subgraph(edges, [*start, *start_extra])
        details = q.run_details(_execution_ids(sub.nodes["node_id"]))
        transient = set(q.transient_values(list(sub.nodes["node_id"])))
    sub.nodes["transient"] = sub.nodes["node_id"].isin(transient)
    if not details.empty:
        details = details.assign(node_id="exec:" + details["execution_id"]).drop(
            columns=["execution_id"]
        )
        sub.nodes = sub.nodes.merge(details, on="node_id", how="left")
    return start, sub


def _execution_ids(node_ids: Any) -> list[str]:
    return sorted({n[5:] for n in node_ids if isinstance(n, str) and n.startswith("exec:")})


def to_networkx(
    target: str | None = None,
    *,
    direction: str = "both",
    depth: int | None = None,
    store: Store | None = None,
) -> nx.DiGraph:
    """The graph (or the part around ``target``) as a networkx DiGraph.

    Nodes carry the ``lineage_nodes`` columns as attributes, edges their ``kind``.
    Example: ``nx.ancestors(to_networkx(), "model:churn-logreg@…")``.
    """
    import networkx as nx

    _, sub = subgraph(target, direction=direction, depth=depth, store=store)
    graph = nx.DiGraph()
    for row in sub.nodes.to_dict("records"):
        attrs = {k: (None if _missing(v) else v) for k, v in row.items() if k != "node_id"}
        graph.add_node(row["node_id"], **attrs)
    for src, dst, kind in zip(sub.edges["src"], sub.edges["dst"], sub.edges["kind"], strict=True):
        if graph.has_edge(src, dst) and graph.edges[src, dst]["kind"] != kind:
            kind = f"{graph.edges[src, dst]['kind']},{kind}"
        graph.add_edge(src, dst, kind=kind)
    return graph


def _missing(value: Any) -> bool:
    try:
        return bool(value is None or value != value)
    except (TypeError, ValueError):
        return False


@dataclass(slots=True)
class Drawing:
    """What a figure of the lineage draws, before any drawing library: the start node
    ids, the view (nodes merged and chosen, each with its latest run's ``lineage_nodes``
    row; transient values counted) and where each node goes."""

    start: list[str]
    view: GraphView
    layout: Layout

    def json(
        self, *, node: str | None, direction: str, depth: int | None, transient: bool
    ) -> dict[str, Any]:
        """The graph JSON JupyterLab's lineage renderers draw (``drawing.graph_data``)."""
        return graph_data(
            self.view,
            self.layout,
            node=node,
            start=self.start,
            direction=direction,
            depth=depth,
            transient=transient,
        )


def drawing_of(
    target: str | None = None,
    *,
    direction: str = "both",
    depth: int | None = None,
    failed: bool = False,
    all_runs: bool = False,
    kinds: Sequence[str] = DEFAULT_KINDS,
    notebook: str | None = None,
    transient: bool = False,
    store: Store | None = None,
) -> Drawing:
    """The nodes and edges ``figure`` draws and their layered layout, for any renderer.

    Arguments as for ``figure``.
    """
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise UsageError(f"unknown node kind {unknown[0]!r}; kinds are {', '.join(KINDS)}")
    start, sub = subgraph(
        target, direction=direction, depth=depth, failed=failed, notebook=notebook, store=store
    )
    rows = sub.nodes.to_dict("records")
    edges = list(zip(sub.edges["src"], sub.edges["dst"], sub.edges["kind"], strict=True))
    view = graph_view(
        rows, edges, targets=start, kinds=kinds, collapse=not all_runs, transient=transient
    )
    layout = layered_layout([n.node_id for n in view.nodes], [(s, d) for s, d, _ in view.edges])
    return Drawing(start, view, layout)


def figure(
    target: str | None = None,
    *,
    direction: str = "both",
    depth: int | None = None,
    failed: bool = False,
    all_runs: bool = False,
    kinds: Sequence[str] = DEFAULT_KINDS,
    notebook: str | None = None,
    transient: bool = False,
    store: Store | None = None,
) -> LineageFigure:
    """An interactive plotly figure of the lineage around ``target`` (or of a notebook, or all).

    Layered left to right (sources left, models right), node shape and colour by
    kind (reviews are teal pentagons), failed runs marked in red, hover with
    fingerprint, time, status and source (a review's author and text). Re-runs of
    a cell with the same inputs and outputs are drawn as one node with a count
    unless ``all_runs``, across kernel sessions too. Transient values (bound and
    read by no other run: loop variables, temporaries) are left out unless
    ``transient``; the title says how many. Example: ``figure("model:churn-logreg",
    direction="upstream")``.
    """
    d = drawing_of(
        target,
        direction=direction,
        depth=depth,
        failed=failed,
        all_runs=all_runs,
        kinds=kinds,
        notebook=notebook,
        transient=transient,
        store=store,
    )
    title = _title(target, direction, depth, notebook, d.view)
    from .lineage_figure import LineageFigure

    # Displayed, the figure is also the graph JSON that JupyterLab's lineage renderer draws.
    return LineageFigure(
        build_figure(d.view, d.layout, title=title),
        graph=d.json(node=target, direction=direction, depth=depth, transient=transient),
        html=graph_html(d.view, title),
    )


def _title(
    target: str | None, direction: str, depth: int | None, notebook: str | None, view: Any
) -> str:
    if target:
        scope = f"Lineage of {target}"
        if direction != "both":
            scope += f", {direction}"
    elif notebook:
        scope = f"Lineage of {notebook.rsplit('/', 1)[-1]}"
    else:
        scope = "Lineage of the whole store"
    if depth is not None:
        scope += f", {depth} edge(s) deep"
    hidden = f" ({view.hidden} transient values hidden)" if view.hidden else ""
    return f"{scope}: {len(view.nodes)} nodes, {len(view.edges)} edges{hidden}"
