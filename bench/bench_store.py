"""The store at scale: ingest throughput, the sidebar's queries, and bytes per captured cell.

* **Ingest.** Journals of realistic events (``session_start``, ``environment`` with the
  real package list, then ``cell_start``/``cell_end`` pairs with 1 to 4 fingerprinted
  values, one cell in 20 failing with a traceback, one metric every 10 cells), written
  with ``JournalWriter`` in sessions of 10,000 events, are ingested into a new DuckDB
  file with ``DuckDBStore.ingest()``. The baseline inserts the same rows (from the
  same parse step, line by line) one at a time with ``executemany``, on the first events only, since
  all of them would take the better part of an hour; its cost per event is
  extrapolated to the full count, and the figure says so.
* **Queries.** A store of 1,000,000 captured executions in 100 notebooks (5% failed,
  a failed-attempt note on a tenth of those, other annotations on executions and
  values, runs ≈ 2 values each), appended straight into the real schema's tables as
  an ingest that reads each cell's start and end together writes them (each result
  also on its executions row, failed runs also in failed_run_copies), then the
  queries the sidebar sends, each through ``DuckDBStore.query`` (a fresh
  read-only connection each time, as the server does).
* **Size.** 10,000 trivial cells (``x = 1``) captured by ``%lineage on`` in a real
  IPython shell (in a subprocess), then ingested: journal plus DuckDB file per cell.

Run as ``python bench/bench_store.py [--quick]``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

MIN_INGEST_SPEEDUP = 100.0
MIN_EVENTS_PER_S = 50_000
MAX_QUERY_S = 0.2
MAX_BYTES_PER_CELL = 2048
SESSION_EVENTS = 10_000
NOTEBOOKS = 100

_TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "<ipython-input-{n}>", line 3, in <module>\n'
    "    model.fit(X, y)\n"
    '  File "/opt/conda/lib/python3.11/site-packages/sklearn/base.py", line 1151, in wrapper\n'
    "    return fit_method(estimator, *args, **kwargs)\n"
    "ValueError: Input X contains NaN.\n"
)


# --- journals ---------------------------------------------------------------------------


def write_journals(journal_dir: Path, events: int, seed: int = 0) -> int:
    """Write about ``events`` realistic events, in sessions; returns how many were written."""
    import random

    from jupyter_lineage.capture.environment import EnvironmentCapture
    from jupyter_lineage.journal import JournalWriter, utc_now

    rng = random.Random(seed)
    environment = EnvironmentCapture().snapshot().to_json()
    written = 0
    session = 0
    while written < events:
        session += 1
        notebook = f"/home/analyst/projects/churn/notebooks/{session % NOTEBOOKS:03d}-explore.ipynb"
        writer = JournalWriter(journal_dir, uuid.uuid4().hex)
        writer.append(
            "session_start",
            {
                "pid": 4000 + session,
                "user": "analyst",
                "hostname": "workstation",
                "notebook_path": notebook,
                "working_dir": str(Path(notebook).parent),
                "lineage_version": "0.1.0",
                "ipython_version": "9.1.0",
            },
        )
        writer.append("environment", environment)
        n, count = 2, 0
        while n < SESSION_EVENTS and written + n < events:
            count += 1
            execution_id = uuid.uuid4().hex
            source = f"features_{count % 40} = clean(raw_{count % 7}).assign(k={count % 13})"
            writer.append(
                "cell_start",
                _compact(
                    {
                        "execution_id": execution_id,
                        "execution_count": count,
                        "notebook_path": notebook,
                        "cell_id": f"c{count % 60:04d}-{session:06d}",
                        "source": source,
                        "source_hash": hashlib.sha256(source.encode()).hexdigest(),
                        "name": None,
                        "tags": [],
                        "model": None,
                        "base_model": None,
                        "note": None,
                        "mode": "auto",
                        "capture_values": True,
                        "experiment_id": None,
                        "started_at": utc_now(),
                    }
                ),
            )
            failed = rng.random() < 0.05
            values = [
                _compact(
                    {
                        "name": f"raw_{count % 7}" if i == 0 else f"features_{(count + i) % 40}",
                        "role": "input" if i == 0 else "output",
                        "action": "read" if i == 0 else "assigned",
                        "fingerprint": f"xxh3:{rng.getrandbits(128):032x}",
                        "fingerprint_kind": "content",
                        "type_name": "pandas.DataFrame",
                        "shape": "(120000, 14)",
                        "length": 120000,
                        "summary": "DataFrame 120000\u00d714 [id, age, tenure, plan, spend, \u2026]",
                        "note": None,
                    }
                )
                for i in range(rng.randint(1, 4))
            ]
            writer.append(
                "cell_end",
                _compact(
                    {
                        "execution_id": execution_id,
                        "execution_count": count,
                        "ended_at": utc_now(),
                        "duration_ms": rng.random() * 500,
                        "status": "failed" if failed else "ok",
                        "error_type": "ValueError" if failed else None,
                        "error_message": "Input X contains NaN." if failed else None,
                        "traceback": _TRACEBACK.format(n=count) if failed else None,
                        "environment_id": environment["environment_id"],
                        "seeds": [],
                        "values": values,
                        "files": [],
                        "capture_errors": [],
                    }
                ),
            )
            n += 2
            if count % 10 == 0 and n < SESSION_EVENTS:
                writer.append(
                    "metric",
                    {
                        "name": "auc",
                        "value": rng.random(),
                        "step": count,
                        "execution_id": execution_id,
                        "experiment_id": None,
                        "logged_at": utc_now(),
                    },
                )
                n += 1
        writer.close()
        written += n
    return written


def _compact(record: dict[str, Any]) -> dict[str, Any]:
    """As the recorder writes cell events: fields that are None are left out."""
    return {k: v for k, v in record.items() if v is not None}


def _batches(journal_dir: Path, limit: int) -> list[Any]:
    """The store's own rows for the first ``limit`` events (for the row-by-row baseline)."""
    from jupyter_lineage.journal import iter_lines, journal_files
    from jupyter_lineage.store.ingest import Batch

    batches, seen = [], 0
    for path in journal_files(journal_dir):
        batch = Batch(path.name)
        for line in iter_lines(path):
            batch.add(line)
            seen += 1
            if seen >= limit:
                break
        batches.append(batch)
        if seen >= limit:
            break
    return batches


def _row_by_row(root: Path, journal_dir: Path, limit: int) -> tuple[float, int, int]:
    """Seconds to parse ``limit`` events and INSERT their rows one at a time; (s, events, rows).

    The rows are the store's own parse step's, line by line (``Batch.add``, ``rows``);
    creating the schema is left out of the time.
    """
    from jupyter_lineage.store import DuckDBStore

    store = DuckDBStore(root)
    with store.connect() as con:
        store._ensure_schema(con)
        start = time.perf_counter()
        batches = _batches(journal_dir, limit)
        rows = 0
        for batch in batches:
            for table, records in batch.rows.items():
                if not records:
                    continue
                columns = list(records[0])
                sql = (
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' for _ in columns)})"
                )
                con.executemany(sql, [[r.get(c) for c in columns] for r in records])
                rows += len(records)
        elapsed = time.perf_counter() - start
    return elapsed, sum(b.count for b in batches), rows


def bench_ingest(quick: bool) -> list[dict[str, Any]]:
    from jupyter_lineage.store import DuckDBStore

    target_events = 20_000 if quick else 1_000_000
    baseline_events = 500 if quick else 3_000
    with tempfile.TemporaryDirectory(prefix="lineage-bench-ingest-") as tmp:
        root = Path(tmp) / "store"
        journal_dir = root / "journal"
        t0 = time.perf_counter()
        events = write_journals(journal_dir, target_events)
        t_write = time.perf_counter() - t0
        journal_bytes = sum(p.stat().st_size for p in journal_dir.iterdir())
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        report = DuckDBStore(root).ingest()
        t_ingest, cpu_ingest = time.perf_counter() - t0, time.process_time() - c0
        assert report.events == events and not report.problems, report
        db_bytes = (root / "lineage.duckdb").stat().st_size
        gc.collect()
        t_rows, rows_events, rows = _row_by_row(
            Path(tmp) / "baseline", journal_dir, baseline_events
        )
    per_event = t_rows / rows_events
    extrapolated = per_event * events
    rate = events / t_ingest
    speedup = extrapolated / t_ingest
    return [
        {
            "figure": f"ingest {events:,} journal events ({journal_bytes / 1e6:.0f} MB of journals "
            f"→ {db_bytes / 1e6:.0f} MB DuckDB) vs row-by-row executemany INSERT of the same rows "
            f"(timed on the first {rows_events:,} events, {rows:,} rows, "
            f"{per_event * 1e3:.2f} ms/event, extrapolated)",
            "value": round(t_ingest, 2),
            "baseline": round(extrapolated, 1),
            "ratio": round(speedup, 1),
            "unit": "s",
            "target": f">= {MIN_INGEST_SPEEDUP:g}x faster",
            "pass": speedup >= MIN_INGEST_SPEEDUP,
            "journal_write_s": round(t_write, 1),
        },
        {
            "figure": f"ingest throughput ({events:,} events)",
            "value": round(rate),
            "baseline": round(rows_events / t_rows),
            "ratio": round(speedup, 1),
            "unit": "events/s",
            "target": f">= {MIN_EVENTS_PER_S:,} events/s",
            "pass": rate >= MIN_EVENTS_PER_S,
            "cpu_s": round(cpu_ingest, 1),
        },
    ]


# --- a big store for the queries --------------------------------------------------------


def _hex_ids(rng: Any, n: int) -> list[str]:
    """``n`` distinct-looking 32-hex-digit ids."""
    import numpy as np

    words = rng.integers(0, 2**63, size=(n, 2), dtype=np.int64)
    return [f"{a:016x}{b:016x}" for a, b in words.tolist()]


def build_big_store(root: Path, executions: int, seed: int = 0) -> dict[str, Any]:
    """Append ``executions`` captured runs (and their results, values, annotations) into the real schema."""
    import numpy as np
    import pyarrow as pa

    from jupyter_lineage.store import DuckDBStore

    rng = np.random.default_rng(seed)
    store = DuckDBStore(root)
    ids = _hex_ids(rng, executions)
    sessions = _hex_ids(rng, max(1, executions // 1000))
    session_of = rng.integers(0, len(sessions), executions)
    notebooks = [f"/home/analyst/projects/p{i:03d}/analysis.ipynb" for i in range(NOTEBOOKS)]
    notebook_of = rng.integers(0, NOTEBOOKS, executions)
    start = np.datetime64("2025-01-01T00:00:00", "us") + np.sort(
        rng.integers(0, 365 * 86_400_000_000, executions)
    ).astype("timedelta64[us]")
    duration = rng.exponential(300.0, executions)
    status = np.where(rng.random(executions) < 0.05, "failed", "ok")
    status[rng.random(executions) < 0.002] = "interrupted"
    failed = status != "ok"
    sources = [f"df_{i % 50} = transform(df_{(i + 1) % 50}, k={i % 17})" for i in range(1000)]
    source_hash = [hashlib.sha256(s.encode()).hexdigest() for s in sources]
    which = rng.integers(0, 1000, executions)
    executions_table = pa.table(
        {
            "execution_id": ids,
            "event_id": _hex_ids(rng, executions),
            "session_id": [sessions[i] for i in session_of.tolist()],
            "execution_count": rng.integers(1, 500, executions),
            "notebook_path": [notebooks[i] for i in notebook_of.tolist()],
            "cell_id": [f"cell-{i:04d}" for i in which.tolist()],
            "source": [sources[i] for i in which.tolist()],
            "source_hash": [source_hash[i] for i in which.tolist()],
            "mode": ["auto"] * executions,
            "capture_values": [True] * executions,
            "started_at": pa.array(start, pa.timestamp("us", tz="UTC")),
        }
    )
    results_table = pa.table(
        {
            "execution_id": ids,
            "event_id": _hex_ids(rng, executions),
            "ended_at": pa.array(
                start + (duration * 1000).astype("timedelta64[us]"), pa.timestamp("us", tz="UTC")
            ),
            "duration_ms": duration,
            "status": status,
            "error_type": np.where(failed, "ValueError", None),
            "error_message": np.where(failed, "Input X contains NaN.", None),
            "traceback": np.where(failed, _TRACEBACK.format(n=1), None),
            "environment_id": ["e" * 64] * executions,
            "seeds": ["[]"] * executions,
            "capture_errors": pa.array([[]] * executions, pa.list_(pa.string())),
        }
    )
    # As an ingest writes cells whose start and end it reads together: each result is
    # also copied onto its executions row (see `runs` in schema.sql).
    for column in results_table.column_names:
        if column != "execution_id":
            executions_table = executions_table.append_column(
                f"result_{column}", results_table[column]
            )
    results_table = results_table.append_column("copied", pa.array([True] * executions))
    # And failed runs copied whole into failed_run_copies, as that ingest writes them.
    started = ("execution_id", "session_id", "execution_count", "notebook_path", "cell_id")
    ended = ("duration_ms", "status", "error_type", "error_message", "traceback")
    failed_copies = pa.table(
        {c: executions_table[c] for c in (*started, "source", "started_at")}
        | {c: results_table[c] for c in ended}
    ).filter(pa.array(failed))
    values_per = rng.integers(1, 4, executions)
    value_exec = np.repeat(np.arange(executions), values_per)
    n_values = len(value_exec)
    values_table = pa.table(
        {
            "execution_id": [ids[i] for i in value_exec.tolist()],
            "event_id": ["v" * 32] * n_values,
            "ordinal": np.zeros(n_values, dtype=np.int32),
            "name": [f"df_{i % 50}" for i in value_exec.tolist()],
            "role": np.where(rng.random(n_values) < 0.5, "input", "output"),
            "action": ["read"] * n_values,
            "fingerprint": [f"xxh3:{x}" for x in _hex_ids(rng, n_values)],
            "fingerprint_kind": ["content"] * n_values,
            "type_name": ["pandas.DataFrame"] * n_values,
        }
    )
    # Notes: a failed-attempt note on a tenth of the failed runs, other notes on 1% of runs.
    failed_idx = np.flatnonzero(failed)
    explained = rng.choice(failed_idx, size=max(1, len(failed_idx) // 10), replace=False)
    others = rng.choice(executions, size=max(1, executions // 100), replace=False)
    targets = np.concatenate([explained, others])
    kinds = ["failed_attempt"] * len(explained) + ["rationale"] * len(others)
    annotation_ids = _hex_ids(rng, len(targets))
    created = start[targets] + np.timedelta64(60_000_000, "us")
    annotations_table = pa.table(
        {
            "annotation_id": annotation_ids,
            "event_id": _hex_ids(rng, len(targets)),
            "session_id": [sessions[session_of[i]] for i in targets.tolist()],
            "thread_id": annotation_ids,
            "kind": kinds,
            "text": ["The imputer ran after the split; fixed in the next run."] * len(targets),
            "author": ["analyst@example.com"] * len(targets),
            "created_at": pa.array(created, pa.timestamp("us", tz="UTC")),
        }
    )
    targets_table = pa.table(
        {
            "annotation_id": annotation_ids,
            "event_id": ["t" * 32] * len(targets),
            "ordinal": np.zeros(len(targets), dtype=np.int32),
            "target_type": ["execution"] * len(targets),
            "target": [ids[i] for i in targets.tolist()],
        }
    )
    # A journal too, as every real store has: the sidebar's ingest-before-query then finds
    # nothing new and opens no read-write connection.
    from jupyter_lineage.journal import JournalWriter

    writer = JournalWriter(root / "journal", sessions[0])
    writer.append("session_start", {"pid": 1})
    writer.close()
    with store.connect() as con:
        con.execute("SET enable_progress_bar = false")
        store._ensure_schema(con)
        for table, data in (
            ("executions", executions_table),
            ("execution_results", results_table),
            ("value_records", values_table),
            ("annotation_records", annotations_table),
            ("annotation_targets", targets_table),
            ("failed_run_copies", failed_copies),
        ):
            con.register("staged", data)
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM staged")
            con.unregister("staged")
        con.execute("CHECKPOINT")
    store.ingest()
    return {
        "notebook": notebooks[int(np.bincount(notebook_of).argmax())],
        "values": n_values,
        "annotations": len(targets),
        "db_bytes": (root / "lineage.duckdb").stat().st_size,
    }


QUERIES = {
    "failed_attempts, newest 50": "SELECT * FROM failed_attempts ORDER BY started_at DESC LIMIT 50",
    "runs by status": "SELECT status, count(*) AS n FROM runs GROUP BY status ORDER BY status",
}


def bench_queries(quick: bool) -> list[dict[str, Any]]:
    from jupyter_lineage.store import DuckDBStore
    from jupyter_lineage.store.notebook import notebook_counts, notebook_executions

    executions = 50_000 if quick else 1_000_000
    repeats = 3 if quick else 5
    rows = []
    with tempfile.TemporaryDirectory(prefix="lineage-bench-queries-") as tmp:
        root = Path(tmp) / "store"
        t0 = time.perf_counter()
        built = build_big_store(root, executions)
        t_build = time.perf_counter() - t0
        store = DuckDBStore(root)
        page = notebook_executions(store, [built["notebook"]], limit=50)
        failed_page = notebook_executions(store, [built["notebook"]], status="failed", limit=50)
        assert len(page) == 50 and failed_page, "the store has no runs to page through"
        cases: dict[str, Any] = {
            name: (lambda sql=sql: store.query(sql, ingest=False)) for name, sql in QUERIES.items()
        }
        cases["sidebar: a notebook's newest 50 runs"] = lambda: notebook_executions(
            store, [built["notebook"]], limit=50
        )
        cases["sidebar: a notebook's next page (before a run)"] = lambda: notebook_executions(
            store, [built["notebook"]], limit=50, before=page[-1]["execution_id"]
        )
        cases["sidebar: a notebook's failed runs"] = lambda: notebook_executions(
            store, [built["notebook"]], status="failed", limit=50
        )
        cases["sidebar: a notebook's counts and tags"] = lambda: notebook_counts(
            store, [built["notebook"]]
        )
        # As the server answers a request: its queries through one connection (the counts
        # are three queries: runs, tags, authors).
        counts = cases["sidebar: a notebook's counts and tags"]

        def in_one_unit() -> None:
            with store.reading():
                counts()

        cases["sidebar: a notebook's counts and tags, as one request"] = in_one_unit
        for name, fn in cases.items():
            times, cpus = [], []
            for _ in range(repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                fn()
                times.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
            best = min(times)
            rows.append(
                {
                    "figure": f"{name}, {executions:,} captured executions "
                    f"({built['db_bytes'] / 1e6:.0f} MB store; "
                    + (
                        "one connection"
                        if "as one request" in name
                        else "a fresh connection per query"
                    )
                    + ")",
                    "value": round(best, 4),
                    "baseline": None,
                    "ratio": None,
                    "unit": "s",
                    "target": f"<= {MAX_QUERY_S} s",
                    "pass": best <= MAX_QUERY_S,
                    "first_s": round(times[0], 4),
                    "cpu_s": round(min(cpus), 4),
                    "store_build_s": round(t_build, 1),
                }
            )
    return rows


# --- bytes per captured cell -------------------------------------------------------------

_SIZE_SCRIPT = r"""
import json, os, sys, time
from pathlib import Path
from IPython.core.interactiveshell import InteractiveShell
cells = int(sys.argv[1])
shell = InteractiveShell.instance()
shell.history_manager.enabled = False
shell.run_line_magic("load_ext", "jupyter_lineage")
shell.run_line_magic("lineage", "on")
for _ in range(cells):
    shell.run_cell("x = 1", store_history=True)
shell.run_line_magic("lineage", "off")
recorder = shell._jupyter_lineage_recorder
captured = recorder.captured_count
recorder.close()
from jupyter_lineage.store import DuckDBStore
root = Path(os.environ["JUPYTER_LINEAGE_DIR"])
DuckDBStore(root).ingest()
journal = sum(p.stat().st_size for p in (root / "journal").iterdir())
db = sum(p.stat().st_size for p in root.glob("lineage.duckdb*"))
print(json.dumps({"captured": captured, "journal": journal, "db": db}))
"""


def bench_size(quick: bool) -> list[dict[str, Any]]:
    cells = 500 if quick else 10_000
    with tempfile.TemporaryDirectory(prefix="lineage-bench-size-") as tmp:
        env = {**os.environ, "JUPYTER_LINEAGE_DIR": str(Path(tmp) / "store")}
        out = subprocess.run(
            [sys.executable, "-c", _SIZE_SCRIPT, str(cells)],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp,
            check=True,
        )
    sizes = json.loads(out.stdout.strip().splitlines()[-1])
    captured = sizes["captured"]
    per_cell = (sizes["journal"] + sizes["db"]) / captured
    return [
        {
            "figure": f"store size per captured trivial cell ({captured:,} cells of `x = 1`: "
            f"journal {sizes['journal'] / captured:.0f} B + DuckDB {sizes['db'] / captured:.0f} B)",
            "value": round(per_cell),
            "baseline": None,
            "ratio": None,
            "unit": "B/cell",
            "target": f"<= {MAX_BYTES_PER_CELL:,} B",
            "pass": per_cell <= MAX_BYTES_PER_CELL,
        }
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    """Measure every figure; one row per figure."""
    return bench_ingest(quick) + bench_queries(quick) + bench_size(quick)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="20k events, 50k executions, 500 cells"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--only", choices=("ingest", "queries", "size"), help="measure one group of figures"
    )
    args = parser.parse_args(argv)
    from bench.suite import format_table

    runners = {"ingest": bench_ingest, "queries": bench_queries, "size": bench_size}
    rows = runners[args.only](args.quick) if args.only else run(args.quick)
    print(format_table(rows))
    return 1 if args.strict and not all(r["pass"] is not False for r in rows) else 0


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
