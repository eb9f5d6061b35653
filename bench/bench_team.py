"""The team store on a throwaway PostgreSQL server: shipping journals, and an upstream walk.

Shipping: the journals of ``bench_store.write_journals`` (the same synthetic cells
the DuckDB ingest figure uses) shipped by ``PostgresStore.sync`` — COPY per table in
one transaction per batch, idempotent by event id — against the same rows INSERTed
one statement at a time, timed on the first events and extrapolated, in the same
run. Both sides include the store's parse of the journal lines, which is most of
the time of both. A second sync with nothing new is a figure too.

Upstream: the lineage-shaped graph of ``bench_graph`` (1M nodes / 2M edges;
``--quick`` 100k / 200k) loaded into the server's ``lineage_edges`` in place of the
view, and the deep node's closure walked by ``LineageQueries`` on a team store
connection, the same code ``graph.upstream`` runs.

Needs PostgreSQL's server programs (Debian's ``postgresql``); without them the
module reports that and measures nothing. Run as ``python bench/bench_team.py [--quick]``.
"""

from __future__ import annotations

import gc
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _row_by_row(url: str, journal_dir: Path, limit: int) -> tuple[float, int]:
    """Seconds to INSERT the rows of the first ``limit`` events one statement at a time."""
    import psycopg

    from bench.bench_store import _batches

    with psycopg.connect(url, autocommit=True) as con:
        start = time.perf_counter()
        batches = _batches(journal_dir, limit)
        with con.transaction():
            for batch in batches:
                for table, records in batch.rows.items():
                    if not records:
                        continue
                    columns = list(records[0])
                    sql = (
                        f"INSERT INTO {table} ({', '.join(columns)}) "
                        f"VALUES ({', '.join('%s' for _ in columns)})"
                    )
                    with con.cursor() as cur:
                        for r in records:
                            cur.execute(sql, [_plain(r.get(c)) for c in columns])
        return time.perf_counter() - start, sum(b.count for b in batches)


def _plain(value: Any) -> Any:
    import json

    return json.dumps(value) if isinstance(value, dict) else value


def bench_shipping(server: Any, quick: bool) -> list[dict[str, Any]]:
    from bench.bench_store import write_journals
    from jupyter_lineage.store.postgres import PostgresStore

    events_wanted = 20_000 if quick else 200_000
    baseline_events = 500 if quick else 2_000
    with tempfile.TemporaryDirectory(prefix="lineage-bench-team-") as tmp:
        root = Path(tmp) / "store"
        events = write_journals(root / "journal", events_wanted)
        store = PostgresStore(server.create_database(), root)
        store.migrate()
        gc.collect()
        t0 = time.perf_counter()
        report = store.sync()
        t_ship = time.perf_counter() - t0
        assert report.events == events and not report.problems, report
        t0 = time.perf_counter()
        again = store.sync()
        t_again = time.perf_counter() - t0
        assert again.events == 0
        baseline_store = PostgresStore(server.create_database(), root)
        baseline_store.migrate()
        t_rows, rows_events = _row_by_row(baseline_store.url, root / "journal", baseline_events)
    per_event = t_rows / rows_events
    extrapolated = per_event * events
    speedup = extrapolated / t_ship
    return [
        {
            "figure": f"ship {events:,} journal events to PostgreSQL (COPY, one transaction per "
            f"batch) vs row-by-row INSERT of the same rows (timed on the first {rows_events:,}, "
            "extrapolated)",
            "value": round(events / t_ship),
            "baseline": round(rows_events / t_rows),
            "ratio": round(speedup, 1),
            "unit": "events/s",
            # No target: both sides parse the journal the same way, and that parse, not
            # the writing, is most of either's time.
            "target": "report",
            "pass": True,
            "seconds": round(t_ship, 2),
        },
        {
            "figure": "sync with nothing new to ship",
            "value": round(t_again * 1000, 1),
            "baseline": None,
            "ratio": None,
            "unit": "ms",
            "target": "<= 100 ms",
            "pass": t_again <= 0.1,
        },
    ]


def bench_upstream(server: Any, quick: bool) -> list[dict[str, Any]]:
    import psycopg

    from bench.bench_graph import lineage_graph
    from jupyter_lineage.store.lineage import open_queries
    from jupyter_lineage.store.postgres import PostgresStore

    size = 100_000 if quick else 1_000_000
    src, dst, kind, deep = lineage_graph(size)
    url = server.create_database()
    with tempfile.TemporaryDirectory(prefix="lineage-bench-team-graph-") as tmp:
        store = PostgresStore(url, tmp)
        store.migrate()
        with psycopg.connect(url, autocommit=True) as con:
            # The synthetic edges stand in for the view that derives them from cells.
            con.execute("DROP VIEW lineage_edges CASCADE")
            con.execute(
                "CREATE TABLE lineage_edges (src VARCHAR, dst VARCHAR, kind VARCHAR, "
                "execution_id VARCHAR, via VARCHAR, action VARCHAR, started_at TIMESTAMPTZ)"
            )
            t0 = time.perf_counter()
            with con.cursor().copy("COPY lineage_edges (src, dst, kind) FROM STDIN") as copy:
                for row in zip(src, dst, kind, strict=True):
                    copy.write_row(row)
            t_load = time.perf_counter() - t0
            con.execute("ANALYZE lineage_edges")
        t0 = time.perf_counter()
        store.refresh_walk_edges()
        t_index = time.perf_counter() - t0
        times = []
        found = 0
        for _ in range(3 if quick else 5):
            t0 = time.perf_counter()
            # What graph.upstream runs: the freshness check, then the walk.
            with open_queries(store, ingest=False) as queries:
                edges = queries.walk_edges([deep], "upstream")
            times.append(time.perf_counter() - t0)
            found = len(set(edges["src"]))
    best = min(times)
    return [
        {
            "figure": f"upstream closure of a deep node on a team store of {size:,} nodes / "
            f"{len(src):,} edges ({found:,} ancestors; edges loaded in {t_load:.1f} s, "
            f"walks' table made in {t_index:.1f} s)",
            "value": round(best, 3),
            "baseline": None,
            "ratio": None,
            "unit": "s",
            "target": "report",
            "pass": True,
        }
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    from bench.pgserver import PostgresServer, PostgresUnavailable

    try:
        server = PostgresServer.create()
    except PostgresUnavailable as exc:
        return [{"figure": "team store", "value": None, "baseline": None, "ratio": None,
                 "unit": "", "target": str(exc), "pass": False}]  # fmt: skip
    try:
        return bench_shipping(server, quick) + bench_upstream(server, quick)
    finally:
        server.destroy()


def main(argv: list[str] | None = None) -> int:
    from bench.suite import module_main

    return module_main(__doc__ or "", run, "20k events, 100k nodes", argv)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
