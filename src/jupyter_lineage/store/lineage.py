"""Lineage graph queries: recursive walks over the ``lineage_edges`` view, in SQL.

Every walk is a recursive CTE with ``UNION`` over edges, so it stops on its own
even where content-addressed file versions close a cycle, and DuckDB builds the
hash table over the edges once for all its iterations (``bench/bench_graph.py``:
about 0.15-0.3 s for 1M nodes and 2M edges on two cores). The walks read
``walk_edges``, a temporary copy of ``lineage_edges`` made once per connection:
inside a recursive CTE DuckDB would compute the view again at every step.
Statements are constants with parameters; nothing a user types is formatted into
SQL. Results come back as DataFrames.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from ..errors import StoreError
from .duckdb import DuckDBStore

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from . import Store

Direction = Literal["upstream", "downstream", "both"]

VIEWS_FILE = "lineage.sql"
# The table the walks read: ``src``, ``dst``, ``kind``, one row per distinct edge.
WALK_TABLE_SQL = """
CREATE TEMP TABLE IF NOT EXISTS walk_edges AS SELECT DISTINCT src, dst, kind FROM lineage_edges
"""

# The edges of every path into the start nodes (``$start``, a list of node ids).
# The walk starts from a placeholder edge per start node (NULL at its far end),
# so the anchor reads no table; the placeholders are dropped at the end.
UPSTREAM_SQL = """
WITH RECURSIVE walk(src, dst, kind) AS (
    SELECT unnest($start::VARCHAR[]), NULL::VARCHAR, NULL::VARCHAR
    UNION
    SELECT e.src, e.dst, e.kind FROM walk JOIN walk_edges e ON e.dst = walk.src
)
SELECT src, dst, kind FROM walk WHERE dst IS NOT NULL
"""

# The edges of every path out of the start nodes.
DOWNSTREAM_SQL = """
WITH RECURSIVE walk(src, dst, kind) AS (
    SELECT NULL::VARCHAR, unnest($start::VARCHAR[]), NULL::VARCHAR
    UNION
    SELECT e.src, e.dst, e.kind FROM walk JOIN walk_edges e ON e.src = walk.dst
)
SELECT src, dst, kind FROM walk WHERE src IS NOT NULL
"""

# The same walks stopped ``$depth`` edges away.
UPSTREAM_DEPTH_SQL = """
WITH RECURSIVE walk(src, dst, kind, hops) AS (
    SELECT unnest($start::VARCHAR[]), NULL::VARCHAR, NULL::VARCHAR, 0
    UNION
    SELECT e.src, e.dst, e.kind, walk.hops + 1
    FROM walk JOIN walk_edges e ON e.dst = walk.src
    WHERE walk.hops < $depth
)
SELECT DISTINCT src, dst, kind FROM walk WHERE dst IS NOT NULL
"""

DOWNSTREAM_DEPTH_SQL = """
WITH RECURSIVE walk(src, dst, kind, hops) AS (
    SELECT NULL::VARCHAR, unnest($start::VARCHAR[]), NULL::VARCHAR, 0
    UNION
    SELECT e.src, e.dst, e.kind, walk.hops + 1
    FROM walk JOIN walk_edges e ON e.src = walk.dst
    WHERE walk.hops < $depth
)
SELECT DISTINCT src, dst, kind FROM walk WHERE src IS NOT NULL
"""

# The edges on some path from ``$a`` to ``$b``: out of a and into b at once.
CONNECTING_SQL = """
WITH RECURSIVE
down(src, dst, kind) AS (
    SELECT NULL::VARCHAR, unnest($a::VARCHAR[]), NULL::VARCHAR
    UNION
    SELECT e.src, e.dst, e.kind FROM down JOIN walk_edges e ON e.src = down.dst
),
up(src, dst, kind) AS (
    SELECT unnest($b::VARCHAR[]), NULL::VARCHAR, NULL::VARCHAR
    UNION
    SELECT e.src, e.dst, e.kind FROM up JOIN walk_edges e ON e.dst = up.src
)
SELECT src, dst, kind FROM down WHERE src IS NOT NULL
INTERSECT
SELECT src, dst, kind FROM up WHERE dst IS NOT NULL
"""

ALL_EDGES_SQL = "SELECT DISTINCT src, dst, kind FROM lineage_edges"

NOTEBOOK_EDGES_SQL = """
SELECT DISTINCT src, dst, kind FROM lineage_edges
WHERE execution_id IN (SELECT execution_id FROM executions WHERE notebook_path = $notebook)
"""

NODES_SQL = """
SELECT * FROM lineage_nodes WHERE node_id IN (SELECT unnest($ids::VARCHAR[]))
"""

# Runs that did not succeed, in the same kernel sessions, of the cells the given
# executions ran: the same cell (id, else name, else source) or the same --name.
FAILED_SIBLINGS_SQL = """
WITH shown AS (
    SELECT DISTINCT session_id, coalesce(cell_id, name, source_hash) AS cell_key, name
    FROM runs WHERE execution_id IN (SELECT unnest($executions::VARCHAR[]))
)
SELECT DISTINCT r.execution_id
FROM runs r
JOIN shown s
    ON s.session_id = r.session_id
    AND (s.cell_key = coalesce(r.cell_id, r.name, r.source_hash) OR s.name = r.name)
WHERE r.status <> 'ok'
"""

EXECUTION_EDGES_SQL = """
SELECT DISTINCT src, dst, kind FROM lineage_edges
WHERE execution_id IN (SELECT unnest($executions::VARCHAR[]))
"""

# What a figure shows about executions beyond ``lineage_nodes``.
RUN_DETAILS_SQL = """
SELECT
    execution_id, execution_count, cell_id, coalesce(cell_id, name, source_hash) AS cell_key,
    source, source_hash, tags, model, base_model, note, error_type, error_message,
    duration_ms, environment_id
FROM runs
WHERE execution_id IN (SELECT unnest($executions::VARCHAR[]))
"""

# -- lookups for turning a user's target into node ids --------------------------

NODE_EXISTS_SQL = """
SELECT node_id FROM lineage_nodes WHERE node_id IN (SELECT unnest($ids::VARCHAR[]))
"""

# Cheaper checks for the kinds of id people type most (the nodes view computes every kind).
EXECUTION_EXISTS_SQL = """
SELECT DISTINCT 'exec:' || execution_id FROM executions WHERE execution_id = $id
"""

FILE_EXISTS_SQL = """
SELECT DISTINCT 'file:' || sha256 FROM file_records WHERE sha256 = $sha256
"""

EXECUTIONS_BY_PREFIX_SQL = """
SELECT execution_id FROM executions WHERE starts_with(execution_id, $prefix)
ORDER BY started_at DESC LIMIT 20
"""

EXECUTIONS_NAMED_SQL = """
SELECT execution_id FROM runs WHERE name = $name ORDER BY started_at DESC LIMIT 1
"""

VALUE_VERSIONS_SQL = """
SELECT node_id FROM lineage_nodes
WHERE kind = 'value' AND name = $name
  AND ($fingerprint IS NULL OR starts_with(version, $fingerprint)
       OR starts_with(version, 'xxh3:' || $fingerprint))
ORDER BY execution_id IS NULL, created_at DESC LIMIT 1
"""

FILE_PATHS_SQL = """
SELECT DISTINCT path FROM file_records
WHERE path = $path OR ends_with(path, '/' || $suffix)
ORDER BY path LIMIT 20
"""

FILE_VERSIONS_SQL = """
SELECT DISTINCT 'file:' || coalesce(sha256, 'missing:' || path || '/exec:' || execution_id) AS node_id
FROM file_records WHERE path = $path
"""

MODEL_VERSIONS_SQL = """
SELECT node_id FROM _lineage_model_runs
WHERE trains AND model = $name AND ($version IS NULL OR starts_with(version, $version))
ORDER BY started_at DESC LIMIT 20
"""

NODES_BY_PREFIX_SQL = """
SELECT node_id FROM lineage_nodes WHERE starts_with(node_id, $prefix) ORDER BY node_id LIMIT 20
"""


def views_marker() -> str:
    """A digest of ``lineage.sql``: stored as the views' comment, so stale views get replaced."""
    text = resources.files("jupyter_lineage.store").joinpath(VIEWS_FILE).read_text("utf-8")
    return "jupyter-lineage " + hashlib.sha256(text.encode()).hexdigest()[:16]


def _views_current(con: duckdb.DuckDBPyConnection, marker: str) -> bool:
    row = con.execute(
        "SELECT comment FROM duckdb_views() WHERE view_name = 'lineage_edges' "
        "AND schema_name = 'main' AND database_name = current_database()"
    ).fetchone()
    return row is not None and row[0] == marker


def ensure_views(store: DuckDBStore) -> None:
    """(Re)create the lineage views when the store's copy is missing or older than this package's."""
    marker = views_marker()
    with store.connect(read_only=True) as con:
        if _views_current(con, marker):
            return
    text = resources.files("jupyter_lineage.store").joinpath(VIEWS_FILE).read_text("utf-8")
    with store.connect() as con:
        con.execute("BEGIN")
        try:
            con.execute(text)
            # The marker is a hex digest made here, never user input.
            con.execute(f"COMMENT ON VIEW lineage_edges IS '{marker}'")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


@dataclass(slots=True)
class Subgraph:
    """Nodes (``lineage_nodes`` columns) and edges (``src``, ``dst``, ``kind``) of part of the graph."""

    nodes: pd.DataFrame
    edges: pd.DataFrame


class LineageQueries:
    """Graph queries over one read-only connection to an ingested store."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._walk_table = False

    def _prepare_walks(self) -> None:
        if not self._walk_table:
            self._execute(WALK_TABLE_SQL)
            self._walk_table = True

    def _df(self, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return self._execute(sql, params).df()

    def _execute(self, sql: str, params: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
        import duckdb

        try:
            return self.con.execute(sql, params or {})
        except duckdb.Error as exc:
            raise StoreError(
                f"lineage query failed: {str(exc).splitlines()[0]}; "
                "`jupyter-lineage rebuild` recreates the store if it is damaged"
            ) from None

    def _column(self, sql: str, params: dict[str, Any]) -> list[str]:
        return [str(v) for v in self._df(sql, params).iloc[:, 0]]

    # -- walks -------------------------------------------------------------------

    def walk_edges(
        self, start: Sequence[str], direction: Direction, depth: int | None = None
    ) -> pd.DataFrame:
        """The edges reachable from ``start`` going ``direction``, at most ``depth`` edges away."""
        import pandas as pd

        ids = list(start)
        self._prepare_walks()
        if direction == "both":
            up = self.walk_edges(ids, "upstream", depth)
            down = self.walk_edges(ids, "downstream", depth)
            return pd.concat([up, down], ignore_index=True).drop_duplicates(ignore_index=True)
        if depth is None:
            sql = UPSTREAM_SQL if direction == "upstream" else DOWNSTREAM_SQL
            return self._df(sql, {"start": ids})
        sql = UPSTREAM_DEPTH_SQL if direction == "upstream" else DOWNSTREAM_DEPTH_SQL
        return self._df(sql, {"start": ids, "depth": depth})

    def connecting_edges(self, a: Sequence[str], b: Sequence[str]) -> pd.DataFrame:
        """The edges on some path from a node of ``a`` to a node of ``b``."""
        self._prepare_walks()
        return self._df(CONNECTING_SQL, {"a": list(a), "b": list(b)})

    def all_edges(self) -> pd.DataFrame:
        return self._df(ALL_EDGES_SQL)

    def notebook_edges(self, notebook_path: str) -> pd.DataFrame:
        """The edges of every execution of one notebook."""
        return self._df(NOTEBOOK_EDGES_SQL, {"notebook": notebook_path})

    def failed_siblings(self, execution_ids: Sequence[str]) -> list[str]:
        """Ids of the runs that did not succeed of the cells these executions ran."""
        return self._column(FAILED_SIBLINGS_SQL, {"executions": list(execution_ids)})

    def execution_edges(self, execution_ids: Sequence[str]) -> pd.DataFrame:
        """The edges recorded by these executions (their inputs, outputs, code, environment)."""
        return self._df(EXECUTION_EDGES_SQL, {"executions": list(execution_ids)})

    def nodes(self, node_ids: Sequence[str]) -> pd.DataFrame:
        """``lineage_nodes`` rows of these ids."""
        return self._df(NODES_SQL, {"ids": list(node_ids)})

    def subgraph(self, edges: pd.DataFrame, extra_nodes: Sequence[str] = ()) -> Subgraph:
        """The nodes of ``edges`` (and ``extra_nodes``) with their attributes."""
        import pandas as pd

        ids = set(extra_nodes)
        ids.update(edges["src"])
        ids.update(edges["dst"])
        nodes = self.nodes(sorted(ids))
        missing = sorted(ids - set(nodes["node_id"]))
        if missing:
            # an edge to a node whose record is gone: keep it, with what its id says
            kinds = {"exec": "execution", "env": "environment"}
            extra = pd.DataFrame(
                {
                    "node_id": missing,
                    "kind": [kinds.get(m.split(":", 1)[0], m.split(":", 1)[0]) for m in missing],
                }
            )
            nodes = pd.concat([nodes, extra], ignore_index=True) if len(nodes) else extra
        return Subgraph(nodes, edges.reset_index(drop=True))

    def run_details(self, execution_ids: Sequence[str]) -> pd.DataFrame:
        return self._df(RUN_DETAILS_SQL, {"executions": list(execution_ids)})

    # -- lookups -----------------------------------------------------------------

    def existing(self, node_ids: Sequence[str]) -> list[str]:
        """Those of ``node_ids`` that are nodes."""
        return self._column(NODE_EXISTS_SQL, {"ids": list(node_ids)})

    def execution_exists(self, execution_id: str) -> list[str]:
        return self._column(EXECUTION_EXISTS_SQL, {"id": execution_id})

    def file_version_exists(self, sha256: str) -> list[str]:
        return self._column(FILE_EXISTS_SQL, {"sha256": sha256})

    def executions_by_prefix(self, prefix: str) -> list[str]:
        return self._column(EXECUTIONS_BY_PREFIX_SQL, {"prefix": prefix})

    def latest_execution_named(self, name: str) -> list[str]:
        return self._column(EXECUTIONS_NAMED_SQL, {"name": name})

    def latest_value_version(self, name: str, fingerprint: str | None = None) -> list[str]:
        return self._column(VALUE_VERSIONS_SQL, {"name": name, "fingerprint": fingerprint})

    def file_paths(self, path: str, suffix: str) -> list[str]:
        return self._column(FILE_PATHS_SQL, {"path": path, "suffix": suffix})

    def file_versions(self, path: str) -> list[str]:
        return self._column(FILE_VERSIONS_SQL, {"path": path})

    def model_versions(self, name: str, version: str | None = None) -> list[str]:
        return self._column(MODEL_VERSIONS_SQL, {"name": name, "version": version})

    def nodes_by_prefix(self, prefix: str) -> list[str]:
        return self._column(NODES_BY_PREFIX_SQL, {"prefix": prefix})


@contextmanager
def open_queries(store: Store, *, ingest: bool = True) -> Iterator[LineageQueries]:
    """Ingest new journal lines, check the views, and hold one read-only connection."""
    if ingest:
        store.ingest()
    if not isinstance(store, DuckDBStore):
        # A team store: `jupyter-lineage migrate` made its views. Its connection may
        # create the walks' temporary table, which a read-only one may not.
        with store.connect() as team:
            yield LineageQueries(team)  # type: ignore[arg-type]
        return
    marker = views_marker()
    with store.connect(read_only=True) as con:
        current = _views_current(con, marker)
        if current:
            yield LineageQueries(con)
    if not current:
        ensure_views(store)
        with store.connect(read_only=True) as con:
            yield LineageQueries(con)
