"""Lineage graph queries: walks over the ``lineage_edges`` view, and the lookups around them.

The walks read an index of the graph kept in the store beside the views:
``_lineage_node_index`` numbers every node id and ``_lineage_edge_index`` holds
every distinct edge of ``lineage_edges`` as a pair of those numbers, with an ART
index on each end. A walk goes one hop at a time, looking up the edges of the
nodes it reached last: a hop over a narrow frontier is a millisecond however
large the graph, where a recursive CTE builds a hash table over every edge
first. Once a frontier is wider than ``LOOKUP_LIMIT`` nodes, the rest of the
walk is one recursive CTE over the numbered edges, which is then the cheaper
way. ``bench/bench_graph.py`` measures both: a deep node's upstream closure
among 1M nodes and 2M edges in about 0.06 s, an environment's downstream closure
of 270,000 nodes in about a second. Node ids are strings again in every answer.

``open_queries`` refreshes the index (``refresh_lineage_index``) whenever the
store changed since it was made, that is after an ingest or when the views were
replaced: new node ids get numbers, the edges that are gone are deleted and the
new ones inserted, so after a few new cells only a few rows change; computing
``lineage_edges`` is the cost of a refresh. A team store has no index: its walks
read the edges once per connection and go hop by hop in memory.

Statements are constants with parameters; nothing a user types is formatted
into SQL. Results come back as DataFrames.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from ..errors import StoreError
from .base import EXECUTIONS_BY_PREFIX_SQL
from .duckdb import DuckDBStore

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from . import Store

Direction = Literal["upstream", "downstream", "both"]

VIEWS_FILE = "lineage.sql"
# A frontier up to this many nodes is looked up in the ART indexes, one hop per
# query; a wider one hands the rest of the walk to a recursive CTE.
LOOKUP_LIMIT = 2048
# Refreshes of the index in one open_queries before it goes on with what it has
# (another process ingesting all the while).
REFRESH_ATTEMPTS = 2

# -- the index the walks read -----------------------------------------------------

# What the store looked like when the index was made: the views' marker, the
# number of events and where ingest is in each journal. Any ingest changes it.
STORE_STAMP_SQL = """
SELECT concat_ws(
    ' ',
    (SELECT comment FROM duckdb_views()
     WHERE view_name = 'lineage_edges' AND schema_name = 'main'
       AND database_name = current_database()),
    (SELECT count(*) FROM events),
    (SELECT md5(string_agg(journal || ':' || byte_offset || ':' || coalesce(last_hash, ''), ','
                           ORDER BY journal))
     FROM journal_offsets)
)
"""

INDEX_EXISTS_SQL = """
SELECT count(*) FROM duckdb_tables()
WHERE table_name = '_lineage_index_state' AND schema_name = 'main'
  AND database_name = current_database()
"""

INDEX_STAMP_SQL = "SELECT max(stamp) FROM _lineage_index_state"

INDEX_TABLES_SQL = """
CREATE TABLE IF NOT EXISTS _lineage_index_state (stamp VARCHAR);
CREATE TABLE IF NOT EXISTS _lineage_node_index (node_id VARCHAR NOT NULL, node_i INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS _lineage_edge_index (
    src_i INTEGER NOT NULL, dst_i INTEGER NOT NULL, kind VARCHAR NOT NULL, edge_hash UBIGINT NOT NULL
);
"""

# Made after the first fill, which is then one bulk build rather than row by row.
INDEX_KEYS_SQL = """
CREATE UNIQUE INDEX IF NOT EXISTS _lineage_node_index_id ON _lineage_node_index (node_id);
CREATE UNIQUE INDEX IF NOT EXISTS _lineage_node_index_i ON _lineage_node_index (node_i);
CREATE INDEX IF NOT EXISTS _lineage_edge_index_src ON _lineage_edge_index (src_i);
CREATE INDEX IF NOT EXISTS _lineage_edge_index_dst ON _lineage_edge_index (dst_i);
"""

# A refresh compares edges by a 64-bit hash of their three strings, so only the
# edges that changed are ever joined to the node numbers: comparing or numbering
# every edge's strings costs a few times more. Two edges with one hash would
# hide the second from the index; among 2M edges the chance is about 1 in 10^7,
# and `jupyter-lineage rebuild` makes the index again from nothing.
FRESH_EDGES_SQL = """
CREATE OR REPLACE TEMP TABLE _lineage_fresh_edges AS
SELECT hash(src, dst, kind) AS edge_hash, src, dst, kind FROM lineage_edges
WHERE src IS NOT NULL AND dst IS NOT NULL AND kind IS NOT NULL
"""

GONE_EDGES_SQL = """
DELETE FROM _lineage_edge_index
WHERE NOT EXISTS (
    SELECT 1 FROM _lineage_fresh_edges f WHERE f.edge_hash = _lineage_edge_index.edge_hash
)
"""

NEW_EDGES_SQL = """
CREATE OR REPLACE TEMP TABLE _lineage_new_edges AS
SELECT DISTINCT ON (f.edge_hash) f.edge_hash, f.src, f.dst, f.kind
FROM _lineage_fresh_edges f
ANTI JOIN _lineage_edge_index e ON e.edge_hash = f.edge_hash
"""

# New node ids are numbered after the highest number in use, so no number is
# given twice within a refresh.
NEW_NODES_SQL = """
INSERT INTO _lineage_node_index
SELECT n.node_id, (SELECT coalesce(max(node_i), -1) FROM _lineage_node_index) + row_number() OVER ()
FROM (SELECT src AS node_id FROM _lineage_new_edges UNION SELECT dst FROM _lineage_new_edges) n
ANTI JOIN _lineage_node_index i ON i.node_id = n.node_id
"""

ADD_EDGES_SQL = """
INSERT INTO _lineage_edge_index
SELECT s.node_i, d.node_i, n.kind, n.edge_hash
FROM _lineage_new_edges n
JOIN _lineage_node_index s ON s.node_id = n.src
JOIN _lineage_node_index d ON d.node_id = n.dst
"""

# After edges went: the nodes left without any.
GONE_NODES_SQL = """
DELETE FROM _lineage_node_index
WHERE NOT EXISTS (SELECT 1 FROM _lineage_edge_index e WHERE e.src_i = _lineage_node_index.node_i)
  AND NOT EXISTS (SELECT 1 FROM _lineage_edge_index e WHERE e.dst_i = _lineage_node_index.node_i)
"""

# -- walks ---------------------------------------------------------------------------

# The numbers of the start nodes (``$ids``, node ids without edges have none).
NUMBERS_SQL = """
SELECT node_i FROM _lineage_node_index WHERE node_id IN (SELECT unnest($ids::VARCHAR[]))
"""

# One hop: the edges into (upstream) or out of (downstream) the frontier's nodes.
UPSTREAM_HOP_SQL = """
SELECT src_i, dst_i, kind FROM _lineage_edge_index WHERE list_contains($frontier::INTEGER[], dst_i)
"""

DOWNSTREAM_HOP_SQL = """
SELECT src_i, dst_i, kind FROM _lineage_edge_index WHERE list_contains($frontier::INTEGER[], src_i)
"""

# The rest of a walk from a wide frontier, in one recursive CTE: the edges of
# every path into (out of) its nodes. The walk starts from a placeholder edge per
# node (NULL at its far end), so the anchor reads no table.
UPSTREAM_REST_CTE = """
WITH RECURSIVE walk(src_i, dst_i, kind) AS (
    SELECT unnest($frontier::INTEGER[]), NULL::INTEGER, NULL::VARCHAR
    UNION
    SELECT e.src_i, e.dst_i, e.kind FROM walk JOIN _lineage_edge_index e ON e.dst_i = walk.src_i
)"""

DOWNSTREAM_REST_CTE = """
WITH RECURSIVE walk(src_i, dst_i, kind) AS (
    SELECT NULL::INTEGER, unnest($frontier::INTEGER[]), NULL::VARCHAR
    UNION
    SELECT e.src_i, e.dst_i, e.kind FROM walk JOIN _lineage_edge_index e ON e.src_i = walk.dst_i
)"""

# The same, stopped ``$depth`` edges away from the frontier.
UPSTREAM_REST_DEPTH_CTE = """
WITH RECURSIVE walk(src_i, dst_i, kind, hops) AS (
    SELECT unnest($frontier::INTEGER[]), NULL::INTEGER, NULL::VARCHAR, 0
    UNION
    SELECT e.src_i, e.dst_i, e.kind, walk.hops + 1
    FROM walk JOIN _lineage_edge_index e ON e.dst_i = walk.src_i
    WHERE walk.hops < $depth
)"""

DOWNSTREAM_REST_DEPTH_CTE = """
WITH RECURSIVE walk(src_i, dst_i, kind, hops) AS (
    SELECT NULL::INTEGER, unnest($frontier::INTEGER[]), NULL::VARCHAR, 0
    UNION
    SELECT e.src_i, e.dst_i, e.kind, walk.hops + 1
    FROM walk JOIN _lineage_edge_index e ON e.src_i = walk.dst_i
    WHERE walk.hops < $depth
)"""

# After one of the CTEs above: its edges (placeholders dropped) and those the hops
# before it found (``$src_i``, ``$dst_i``, ``$kind``), each once, with node ids. A
# wide walk reaches many nodes, so joining every node id is cheaper than looking
# each up.
REST_NAMED_SQL = """
, found AS (
    SELECT src_i, dst_i, kind FROM walk WHERE src_i IS NOT NULL AND dst_i IS NOT NULL
    UNION
    SELECT unnest($src_i::INTEGER[]), unnest($dst_i::INTEGER[]), unnest($kind::VARCHAR[])
)
SELECT s.node_id AS src, d.node_id AS dst, f.kind
FROM found f
JOIN _lineage_node_index s ON s.node_i = f.src_i
JOIN _lineage_node_index d ON d.node_i = f.dst_i
"""

REST_SQL = {
    # (downstream, stopped at a depth)
    (False, False): UPSTREAM_REST_CTE + REST_NAMED_SQL,
    (True, False): DOWNSTREAM_REST_CTE + REST_NAMED_SQL,
    (False, True): UPSTREAM_REST_DEPTH_CTE + REST_NAMED_SQL,
    (True, True): DOWNSTREAM_REST_DEPTH_CTE + REST_NAMED_SQL,
}

# Node ids of numbers the walk reached.
NAMES_SQL = """
SELECT node_i, node_id FROM _lineage_node_index
WHERE node_i IN (SELECT unnest($numbers::INTEGER[]))
"""

# The walks of a team store, over ``lineage_walk_edges`` (node ids, both ends indexed).
TEAM_UPSTREAM_HOP_SQL = """
SELECT src, dst, kind FROM lineage_walk_edges WHERE dst IN (SELECT unnest($frontier::VARCHAR[]))
"""

TEAM_DOWNSTREAM_HOP_SQL = """
SELECT src, dst, kind FROM lineage_walk_edges WHERE src IN (SELECT unnest($frontier::VARCHAR[]))
"""


def _team_rest(forward: bool, limited: bool) -> str:
    near, far = ("src", "dst") if forward else ("dst", "src")
    anchor = (
        "SELECT NULL::VARCHAR, unnest($frontier::VARCHAR[]), NULL::VARCHAR"
        if forward
        else "SELECT unnest($frontier::VARCHAR[]), NULL::VARCHAR, NULL::VARCHAR"
    )
    hops = ", 0" if limited else ""
    step_hops = ", walk.hops + 1" if limited else ""
    stop = " WHERE walk.hops < $depth" if limited else ""
    return f"""
WITH RECURSIVE walk(src, dst, kind{", hops" if limited else ""}) AS (
    {anchor}{hops}
    UNION
    SELECT e.src, e.dst, e.kind{step_hops}
    FROM walk JOIN lineage_walk_edges e ON e.{near} = walk.{far}{stop}
)
SELECT DISTINCT src, dst, kind FROM walk WHERE src IS NOT NULL AND dst IS NOT NULL
"""


TEAM_REST_SQL = {(f, d): _team_rest(f, d) for f in (False, True) for d in (False, True)}

ALL_EDGES_SQL = "SELECT DISTINCT src, dst, kind FROM lineage_edges"

# A review's edges belong to the notebook it was written in, whatever it judged.
NOTEBOOK_EDGES_SQL = """
WITH reviews AS (SELECT node_id FROM _lineage_reviews WHERE notebook_path = $notebook)
SELECT DISTINCT src, dst, kind FROM lineage_edges
WHERE execution_id IN (SELECT execution_id FROM executions WHERE notebook_path = $notebook)
   OR src IN (SELECT node_id FROM reviews)
   OR dst IN (SELECT node_id FROM reviews)
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

# Transient values: value versions a captured execution bound that no other run and no
# review read, i.e. with no edge out of them in ``lineage_edges`` (loop variables,
# temporaries, open files). A value node id ends in ``/exec:<id>`` when a captured run
# bound it. The rule is one over the whole store, not over the part of the graph a walk
# reached, so a value read beyond a depth limit still counts as read. Answered from the
# walks' index (an ART lookup per node), not by computing ``lineage_edges``.
TRANSIENT_VALUES_SQL = """
SELECT n.node_id
FROM (SELECT unnest($ids::VARCHAR[]) AS node_id) n
WHERE starts_with(n.node_id, 'value:') AND contains(n.node_id, '/exec:')
  AND NOT EXISTS (
      SELECT 1 FROM _lineage_node_index i JOIN _lineage_edge_index e ON e.src_i = i.node_i
      WHERE i.node_id = n.node_id)
"""

TEAM_TRANSIENT_VALUES_SQL = """
SELECT n.node_id
FROM (SELECT unnest($ids::VARCHAR[]) AS node_id) n
WHERE starts_with(n.node_id, 'value:') AND contains(n.node_id, '/exec:')
  AND NOT EXISTS (SELECT 1 FROM lineage_walk_edges e WHERE e.src = n.node_id)
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


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    return None if row is None else row[0]


def lineage_index_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the walks' index exists and was made from the store as it is now."""
    if not _scalar(con, INDEX_EXISTS_SQL):
        return False
    return bool(_scalar(con, INDEX_STAMP_SQL) == _scalar(con, STORE_STAMP_SQL))


def refresh_lineage_index(con: duckdb.DuckDBPyConnection) -> bool:
    """Bring the walks' index up to date with ``lineage_edges``; False when it already was.

    ``con`` must be writable. The refresh is one transaction: a walk in another
    process sees the index before it or after it.
    """
    import duckdb

    if lineage_index_current(con):
        return False
    con.execute("BEGIN")
    try:
        stamp = _scalar(con, STORE_STAMP_SQL)
        con.execute(INDEX_TABLES_SQL)
        con.execute(FRESH_EDGES_SQL)
        gone = _scalar(con, GONE_EDGES_SQL)
        con.execute(NEW_EDGES_SQL)
        con.execute(NEW_NODES_SQL)
        con.execute(ADD_EDGES_SQL)
        if gone:
            con.execute(GONE_NODES_SQL)
        con.execute("DROP TABLE _lineage_fresh_edges; DROP TABLE _lineage_new_edges")
        con.execute("DELETE FROM _lineage_index_state")
        con.execute("INSERT INTO _lineage_index_state VALUES ($stamp)", {"stamp": stamp})
        con.execute(INDEX_KEYS_SQL)
        con.execute("COMMIT")
    except BaseException as exc:
        con.execute("ROLLBACK")
        if isinstance(exc, duckdb.Error):
            raise StoreError(
                f"cannot update the lineage graph's index: {str(exc).splitlines()[0]}; "
                "`jupyter-lineage rebuild` recreates the store if it is damaged"
            ) from None
        raise
    return True


@dataclass(slots=True)
class Subgraph:
    """Nodes (``lineage_nodes`` columns) and edges (``src``, ``dst``, ``kind``) of part of the graph."""

    nodes: pd.DataFrame
    edges: pd.DataFrame


class LineageQueries:
    """Graph queries over one read-only connection to an ingested store.

    ``con`` is a DuckDB connection whose walks' index is current (``open_queries``
    sees to that), or, with ``indexed=False``, a team store's connection, which
    takes the same SQL but has no index.
    """

    def __init__(self, con: Any, *, indexed: bool = True) -> None:
        self.con = con
        self.indexed = indexed

    def _df(self, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return self._execute(sql, params).df()

    def _execute(self, sql: str, params: dict[str, Any] | None = None) -> Any:
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
        if direction == "both":
            up = self.walk_edges(ids, "upstream", depth)
            down = self.walk_edges(ids, "downstream", depth)
            return pd.concat([up, down], ignore_index=True).drop_duplicates(ignore_index=True)
        forward = direction == "downstream"
        if not self.indexed:
            return self._walk_ids(ids, forward=forward, depth=depth)
        return self._walk(self._numbers(ids), forward=forward, depth=depth)

    def connecting_edges(self, a: Sequence[str], b: Sequence[str]) -> pd.DataFrame:
        """The edges on some path from a node of ``a`` to a node of ``b``."""
        if self.indexed:
            down = self._walk(self._numbers(a), forward=True, depth=None)
            up = self._walk(self._numbers(b), forward=False, depth=None)
        else:
            down = self._walk_ids(list(a), forward=True, depth=None)
            up = self._walk_ids(list(b), forward=False, depth=None)
        return down.merge(up, on=["src", "dst", "kind"])

    def _numbers(self, ids: Sequence[str]) -> list[int]:
        return [int(row[0]) for row in self._execute(NUMBERS_SQL, {"ids": list(ids)}).fetchall()]

    def _walk(self, start: list[int], *, forward: bool, depth: int | None) -> pd.DataFrame:
        """``src``, ``dst``, ``kind`` of the edges reachable from ``start``, each once."""
        hop_sql = DOWNSTREAM_HOP_SQL if forward else UPSTREAM_HOP_SQL
        far = 1 if forward else 0
        seen = set(start)
        frontier = sorted(seen)
        found: list[tuple[int, int, str]] = []
        hops = 0
        while frontier and (depth is None or hops < depth):
            if len(frontier) > LOOKUP_LIMIT:
                params: dict[str, Any] = {
                    "frontier": frontier,
                    "src_i": [edge[0] for edge in found],
                    "dst_i": [edge[1] for edge in found],
                    "kind": [edge[2] for edge in found],
                }
                if depth is not None:
                    params["depth"] = depth - hops
                return self._df(REST_SQL[forward, depth is not None], params)
            step = self._execute(hop_sql, {"frontier": frontier}).fetchall()
            found += step
            hops += 1
            frontier = sorted({edge[far] for edge in step} - seen)
            seen.update(frontier)
        return self._named(found)

    def _named(self, edges: list[tuple[int, int, str]]) -> pd.DataFrame:
        """Numbered edges with node ids for numbers, looked up in the index."""
        import numpy as np
        import pandas as pd

        if not edges:
            return pd.DataFrame({"src": [], "dst": [], "kind": []}, dtype=object)
        src_i, dst_i = np.array([e[0] for e in edges]), np.array([e[1] for e in edges])
        numbers = np.union1d(src_i, dst_i).tolist()
        names = self._execute(NAMES_SQL, {"numbers": numbers}).fetchnumpy()
        index = pd.Index(np.asarray(names["node_i"]))
        node_ids = np.asarray(names["node_id"], dtype=object)
        return pd.DataFrame(
            {
                "src": node_ids[index.get_indexer(src_i)],
                "dst": node_ids[index.get_indexer(dst_i)],
                "kind": np.array([e[2] for e in edges], dtype=object),
            }
        )

    def _walk_ids(self, start: list[str], *, forward: bool, depth: int | None) -> pd.DataFrame:
        """The same walk over ``lineage_walk_edges`` (node ids, both ends indexed): a team
        store's, whose server keeps that table instead of the numbered index."""
        import pandas as pd

        far = 1 if forward else 0
        seen = set(start)
        frontier = sorted(seen)
        found: list[tuple[str, str, str]] = []
        hops = 0
        while frontier and (depth is None or hops < depth):
            if len(frontier) > LOOKUP_LIMIT:
                params: dict[str, Any] = {"frontier": frontier}
                if depth is not None:
                    params["depth"] = depth - hops
                rest = self._df(TEAM_REST_SQL[forward, depth is not None], params)
                done = pd.DataFrame(found, columns=["src", "dst", "kind"])
                both = pd.concat([done, rest], ignore_index=True) if found else rest
                return both.drop_duplicates(ignore_index=True)
            hop = TEAM_DOWNSTREAM_HOP_SQL if forward else TEAM_UPSTREAM_HOP_SQL
            step = [tuple(row) for row in self._execute(hop, {"frontier": frontier}).fetchall()]
            found += step  # type: ignore[arg-type]
            hops += 1
            frontier = sorted({edge[far] for edge in step} - seen)
            seen.update(frontier)
        return pd.DataFrame(found, columns=["src", "dst", "kind"])

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

    def transient_values(self, node_ids: Sequence[str]) -> list[str]:
        """Those of ``node_ids`` that are transient values: bound by a captured run and read
        by no other run or review anywhere in the store (``TRANSIENT_VALUES_SQL``)."""
        sql = TRANSIENT_VALUES_SQL if self.indexed else TEAM_TRANSIENT_VALUES_SQL
        return self._column(sql, {"ids": list(node_ids)})

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
    """Ingest new journal lines, bring the views and the walks' index up to date, and hold
    one read-only connection."""
    if ingest:
        store.ingest()
    if not isinstance(store, DuckDBStore):
        # A team store: `jupyter-lineage migrate` made its views; the server keeps the
        # walks' table of node ids (``lineage_walk_edges``) instead of the numbered index.
        store.refresh_walk_edges()
        with store.connect(read_only=True) as team:
            yield LineageQueries(team, indexed=False)
        return
    marker = views_marker()
    for attempt in range(REFRESH_ATTEMPTS + 1):
        with store.connect(read_only=True) as con:
            if attempt == REFRESH_ATTEMPTS or (
                _views_current(con, marker) and lineage_index_current(con)
            ):
                yield LineageQueries(con)
                return
        ensure_views(store)
        with store.connect() as con:
            refresh_lineage_index(con)
