"""Upstream closure of a deep node: the store's walk against networkx, same graph, same run.

The graph is lineage-shaped and its ids are the store's: kernel sessions of 50
executions (``exec:<32 hex>``), each running in one of 20 environments
(``env:<64 hex>``, a ``ran_in`` edge), binding one value
(``value:<name>@xxh3:<32 hex>/exec:<32 hex>``) and reading two values bound
earlier in its session (the previous one and one at random, every ninth a
third); each session's
last execution writes a file (``file:<64 hex>``) and its first reads the file of
a random earlier session. That gives 1,000,000 nodes and about 2,000,000 edges
(``--quick``: 100,000 and 200,000). The deep node is the last session's file.

The store is a real one (``DuckDBStore``, its schema and views) whose
``lineage_edges`` holds these edges, filled with an Arrow append, in place of
the view that derives them from captured cells. ``refresh_lineage_index`` makes
the walks' index from it, as ``open_queries`` does after an ingest (its time is
a figure of its own, and so is a refresh after a few new edges). The closure is
then what ``graph.upstream`` runs on its read-only connection: the check that
the index is current and ``LineageQueries.walk_edges``, node ids back as
strings. networkx builds a ``DiGraph`` from the same edges and runs
``ancestors``; its figure includes the build, since the store never needs one.
Both answers are checked to be the same set of nodes. A last figure walks the
other way from an environment, whose descendants are a large part of the graph:
the case where the closure itself, not finding it, is the work.

Run as ``python bench/bench_graph.py [--quick] [--strict]``. ``run(quick)``
returns the rows so that other entry points can aggregate them.
"""

from __future__ import annotations

import gc
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from jupyter_lineage.store import DuckDBStore
from jupyter_lineage.store.lineage import (
    LineageQueries,
    lineage_index_current,
    refresh_lineage_index,
)

REPEATS = 7
TARGET_S = 0.1
# Edges added for the figure of a refresh after new cells: two sessions' worth.
NEW_EDGES = 200
SESSION_EXECUTIONS = 50
ENVIRONMENTS = 20


def lineage_graph(nodes: int, seed: int = 0) -> tuple[list[str], list[str], list[str], str]:
    """``(src, dst, kind)`` columns of a lineage-shaped graph of about ``nodes`` nodes, and its deep node."""
    import numpy as np

    rng = np.random.default_rng(seed)
    sessions = max(2, nodes // (2 * SESSION_EXECUTIONS))
    executions = [f"exec:{x:032x}" for x in rng.integers(0, 2**63, sessions * SESSION_EXECUTIONS)]
    environments = [f"env:{x:064x}" for x in rng.integers(0, 2**63, ENVIRONMENTS)]
    src: list[str] = []
    dst: list[str] = []
    kind: list[str] = []
    files: list[str] = []
    for s in range(sessions):
        bound: list[str] = []
        environment = environments[int(rng.integers(0, ENVIRONMENTS))]
        for j in range(SESSION_EXECUTIONS):
            execution = executions[s * SESSION_EXECUTIONS + j]
            src.append(environment)
            dst.append(execution)
            kind.append("ran_in")
            if j == 0 and s > 0:
                src.append(files[int(rng.integers(0, s))])
                dst.append(execution)
                kind.append("used")
            if bound:
                reads = {bound[-1], bound[int(rng.integers(0, len(bound)))]}
                if j % 9 == 8:
                    reads.add(bound[int(rng.integers(0, len(bound)))])
                for value in sorted(reads):
                    src.append(value)
                    dst.append(execution)
                    kind.append("used")
            if j == SESSION_EXECUTIONS - 1:
                out = f"file:{int(rng.integers(0, 2**63)):032x}{int(rng.integers(0, 2**63)):032x}"
                files.append(out)
            else:
                fp = int(rng.integers(0, 2**63))
                out = f"value:v{j}@xxh3:{fp:032x}/{execution}"
                bound.append(out)
            src.append(execution)
            dst.append(out)
            kind.append("generated")
    return src, dst, kind, files[-1]


def busiest(src: list[str], prefix: str) -> str:
    """The node with ``prefix`` that has the most edges out."""
    counts: dict[str, int] = {}
    for s in src:
        if s.startswith(prefix):
            counts[s] = counts.get(s, 0) + 1
    return max(counts, key=counts.__getitem__)


def best_time(fn: Any, repeats: int = REPEATS) -> tuple[float, Any]:
    """Best wall time of ``repeats`` calls, in seconds, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def cpu_time(fn: Any, repeats: int = 3) -> float:
    """Least CPU time (all threads of this process) of ``repeats`` calls, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_SELF)
        fn()
        after = resource.getrusage(resource.RUSAGE_SELF)
        used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        best = min(best, used)
    return best


def run(quick: bool) -> list[dict[str, Any]]:
    """Measure every figure; one row per figure."""
    size = 100_000 if quick else 1_000_000
    src, dst, kind, deep = lineage_graph(size)
    environment = busiest(src, "env:")
    n_nodes = len(set(src) | set(dst))
    n_edges = len(src)
    label = f"{n_nodes:,} nodes / {n_edges:,} edges"

    with tempfile.TemporaryDirectory(prefix="lineage-bench-") as tmp:
        store = DuckDBStore(Path(tmp) / ".lineage")
        t_build, t_refresh = _fill(store, src, dst, kind)

        def upstream(con: Any) -> Any:
            lineage_index_current(con)
            return LineageQueries(con).walk_edges([deep], "upstream")

        with store.connect(read_only=True) as con:
            t_walk, walked = best_time(lambda: upstream(con))
            cpu_walk = cpu_time(lambda: upstream(con))
            t_down, below = best_time(
                lambda: LineageQueries(con).walk_edges([environment], "downstream"), 3
            )

        def fresh_connection() -> Any:
            with store.connect(read_only=True) as con:
                return upstream(con)

        t_fresh, _ = best_time(fresh_connection)
    walked_nodes = set(walked["src"]) | {deep}

    gc.collect()
    t_nx_build, t_ancestors, nx_nodes, depth, t_descendants, descendants = _networkx(
        src, dst, deep, environment
    )
    gc.collect()
    same_below = set(below["dst"]) == descendants

    t_nx = t_nx_build + t_ancestors
    return [
        {
            "figure": f"upstream closure of a deep node, {label}: the store's walk "
            f"(CPU {cpu_walk:.3f} s on all threads) vs networkx build + ancestors",
            "value": round(t_walk, 4),
            "baseline": round(t_nx, 3),
            "ratio": round(t_nx / t_walk, 1),
            "target": f"<= {TARGET_S} s and faster than networkx",
            "pass": t_walk <= TARGET_S and t_walk < t_nx,
            "unit": "s",
        },
        {
            "figure": f"the same closure: nodes found (store vs networkx), {depth} edges deep",
            "value": len(walked_nodes),
            "baseline": len(nx_nodes),
            "ratio": 1.0 if walked_nodes == nx_nodes else 0.0,
            "target": "the same nodes",
            "pass": walked_nodes == nx_nodes,
            "unit": "nodes",
        },
        {
            "figure": "the same closure on a new connection, as each graph call opens one",
            "value": round(t_fresh, 4),
            "baseline": round(t_walk, 4),
            "ratio": round(t_fresh / t_walk, 2),
            "target": "reference",
            "pass": True,
            "unit": "s",
        },
        {
            "figure": f"the walks' index made from lineage_edges ({label}), once",
            "value": round(t_build, 2),
            "baseline": round(t_nx_build, 2),
            "ratio": round(t_nx_build / t_build, 2),
            "target": "reference (baseline: the networkx build)",
            "pass": True,
            "unit": "s",
        },
        {
            "figure": f"the index refreshed after {NEW_EDGES} new edges (as after new cells)",
            "value": round(t_refresh, 2),
            "baseline": round(t_build, 2),
            "ratio": round(t_build / t_refresh, 2),
            "target": "reference (baseline: making it)",
            "pass": True,
            "unit": "s",
        },
        {
            "figure": f"networkx alone: DiGraph build of {label} (the baseline's first part)",
            "value": round(t_nx_build, 3),
            "baseline": None,
            "ratio": None,
            "target": "reference",
            "pass": True,
            "unit": "s",
        },
        {
            "figure": "networkx alone: ancestors on the built graph (the baseline's second part)",
            "value": round(t_ancestors, 4),
            "baseline": round(t_walk, 4),
            "ratio": round(t_ancestors / t_walk, 4),
            "target": "reference",
            "pass": True,
            "unit": "s",
        },
        {
            "figure": f"downstream closure of an environment ({len(descendants):,} nodes reached): "
            "the store's walk vs networkx build + descendants",
            "value": round(t_down, 3),
            "baseline": round(t_nx_build + t_descendants, 3),
            "ratio": round((t_nx_build + t_descendants) / t_down, 1),
            "target": "faster than networkx, same nodes",
            "pass": t_down < t_nx_build + t_descendants and same_below,
            "unit": "s",
        },
    ]


def _fill(
    store: DuckDBStore, src: list[str], dst: list[str], kind: list[str]
) -> tuple[float, float]:
    """Put the edges in ``store``'s ``lineage_edges`` and make the index; the time of that,
    and of a refresh after ``NEW_EDGES`` more."""
    import pyarrow as pa

    store.ingest()  # the schema and views of an empty store
    split = len(src) - NEW_EDGES
    with store.connect() as con:
        con.execute("DROP VIEW lineage_edges")
        edges = pa.table({"src": src[:split], "dst": dst[:split], "kind": kind[:split]})
        con.register("edges_arrow", edges)
        con.execute("CREATE TABLE lineage_edges AS SELECT * FROM edges_arrow")
        con.unregister("edges_arrow")
        del edges
        start = time.perf_counter()
        refresh_lineage_index(con)
        t_build = time.perf_counter() - start
        more = pa.table({"src": src[split:], "dst": dst[split:], "kind": kind[split:]})
        con.register("edges_arrow", more)
        con.execute("INSERT INTO lineage_edges SELECT * FROM edges_arrow")
        con.unregister("edges_arrow")
        # what an ingest leaves behind: one more event, which the index's stamp counts
        con.execute("INSERT INTO events (event_id, journal, byte_offset) VALUES ('new', 'j', 0)")
        start = time.perf_counter()
        refresh_lineage_index(con)
        t_refresh = time.perf_counter() - start
    return t_build, t_refresh


def _networkx(
    src: list[str], dst: list[str], deep: str, environment: str
) -> tuple[float, float, set[str], int, float, set[str]]:
    """networkx on the same edges: build time, ancestors of ``deep``, descendants of ``environment``."""
    import networkx as nx

    start = time.perf_counter()
    graph = nx.DiGraph()
    graph.add_edges_from(zip(src, dst, strict=True))
    t_build = time.perf_counter() - start
    t_ancestors, ancestors = best_time(lambda: nx.ancestors(graph, deep))
    depth = max(nx.single_source_shortest_path_length(graph.reverse(copy=False), deep).values())
    t_descendants, descendants = best_time(lambda: nx.descendants(graph, environment), 3)
    return t_build, t_ancestors, ancestors | {deep}, depth, t_descendants, descendants


def main(argv: list[str] | None = None) -> int:
    from bench.suite import module_main

    return module_main(__doc__ or "", run, "100k nodes / 200k edges", argv)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
