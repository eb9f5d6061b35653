"""What every store answers in Python terms, written once over its SQL ``query``; and the
unit of work every store offers (``reading``)."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import UsageError
from ..ids import EXECUTION_ID_LENGTH, MIN_PREFIX, is_execution_prefix

if TYPE_CHECKING:
    import pandas as pd


# The group of a model registered without one; a card names such a model by its name alone.
DEFAULT_GROUP = "default"

# Enough to tell one match from several, and to show a few of them.
EXECUTIONS_BY_PREFIX_SQL = """
SELECT execution_id FROM executions WHERE starts_with(execution_id, $prefix)
ORDER BY started_at DESC LIMIT 5
"""


class UnknownExecutionError(UsageError):
    """An execution id (or prefix) that names no captured execution."""


class UnitOfWork(threading.local):
    """One thread's unit of work on a store: how deeply it is entered, its read connection
    (opened by the first read, closed when the unit ends) and how many reads hold it now.

    Per thread, because a connection serves one thread at a time.
    """

    depth = 0
    reader: Any = None
    borrowed = 0


class StoreQueries:
    """Summaries built from ``self.query`` (DuckDB-dialect SQL, which every backend accepts)."""

    # Set by each store's __init__.
    unit: UnitOfWork
    # Connections this store object opened, for tests and benchmarks to count.
    connections_opened: int

    def query(
        self, sql: str, params: list[Any] | dict[str, Any] | None = None, *, ingest: bool = True
    ) -> pd.DataFrame:
        raise NotImplementedError

    def rows(
        self, sql: str, params: list[Any] | dict[str, Any] | None = None, *, ingest: bool = True
    ) -> list[dict[str, Any]]:
        """Like ``query``, as plain Python: one dict per row, ``None`` for NULL and NaN."""
        raise NotImplementedError

    def ingest(self, progress: Callable[[int], None] | None = None) -> Any:
        raise NotImplementedError

    @contextmanager
    def reading(self, *, ingest: bool = True) -> Iterator[None]:
        """One unit of work: every query in the block, in this thread, shares one read connection.

        New journal lines are ingested first (unless ``ingest`` is false); the connection is
        opened by the first read and closed when the outermost block ends. Blocks nest: an
        inner one joins the outer one's connection. A command, a server request or an export
        is one unit; nothing longer, since an open DuckDB connection keeps other processes
        (a kernel's ingest) from writing the file.
        """
        unit = self.unit
        unit.depth += 1
        try:
            if unit.depth == 1 and ingest:
                self.ingest()
            yield
        finally:
            unit.depth -= 1
            if unit.depth == 0 and unit.reader is not None:
                reader, unit.reader = unit.reader, None
                reader.close()

    @contextmanager
    def _unit_reader(self, open_reader: Callable[[], Any]) -> Iterator[Any]:
        """The unit of work's read connection, opened on first use and left open for the unit."""
        unit = self.unit
        if unit.reader is None:
            unit.reader = open_reader()
        unit.borrowed += 1
        try:
            yield unit.reader
        finally:
            unit.borrowed -= 1

    def notebook_summary(self, notebook_path: str) -> dict[str, Any]:
        """What the notebook's latest session captured: counts, its runs, the models it made.

        One session, not every run of the notebook the store holds: after a second run the
        summary is that run's. ``models`` are the ones the session registered or versioned,
        as ``[GROUP/]NAME``, the group said unless it is the default one (else the names its cells were captured with ``--model``).
        """
        latest = self.query(
            "SELECT arg_max(session_id, started_at) AS s FROM runs WHERE notebook_path = $nb",
            {"nb": notebook_path},
        )
        session = latest.iloc[0, 0] if len(latest) else None
        params = {"nb": notebook_path, "s": session}
        counts = self.query(
            """
            WITH these AS (
              SELECT execution_id, environment_id FROM runs
              WHERE notebook_path = $nb AND session_id = $s
            )
            SELECT
              (SELECT count(*) FROM these) AS runs,
              (SELECT count(*) FROM failed_attempts WHERE notebook_path = $nb AND session_id = $s) AS failed,
              (SELECT count(*) FROM cell_inputs WHERE execution_id IN (SELECT execution_id FROM these)) AS inputs,
              (SELECT count(*) FROM cell_outputs WHERE execution_id IN (SELECT execution_id FROM these)) AS outputs,
              (SELECT count(*) FROM files WHERE access <> 'write'
                 AND execution_id IN (SELECT execution_id FROM these)) AS files_read,
              (SELECT count(*) FROM files WHERE access <> 'read'
                 AND execution_id IN (SELECT execution_id FROM these)) AS files_written,
              (SELECT count(DISTINCT environment_id) FROM these) AS environments
            """,
            params,
            ingest=False,
        )
        recent = self.query(
            """
            SELECT execution_id, execution_count, status, coalesce(duration_ms, 0) AS duration_ms,
                   coalesce(name, split_part(trim(source), chr(10), 1)) AS label
            FROM runs
            WHERE notebook_path = $nb AND session_id = $s
            ORDER BY started_at
            """,
            params,
            ingest=False,
        )
        models = self.query(
            """
            WITH registry AS (
              SELECT m.group_name, m.name, e.ts
              FROM model_records m JOIN events e USING (event_id) WHERE e.session_id = $s
              UNION ALL
              SELECT m.group_name, m.name, e.ts
              FROM version_records v JOIN model_records m USING (model_id)
              JOIN events e ON e.event_id = v.event_id WHERE e.session_id = $s
            ),
            captured AS (
              SELECT NULL AS group_name, model AS name, started_at AS ts FROM runs
              WHERE notebook_path = $nb AND session_id = $s AND model IS NOT NULL
            )
            SELECT group_name, name FROM (
              SELECT * FROM registry
              UNION ALL
              SELECT * FROM captured WHERE NOT EXISTS (SELECT 1 FROM registry)
            )
            GROUP BY group_name, name ORDER BY min(ts), name
            """,
            params,
            ingest=False,
        )
        summary: dict[str, Any] = {k: int(v) for k, v in counts.iloc[0].to_dict().items()}
        summary["recent"] = recent.to_dict("records")
        summary["models"] = [
            f"{group}/{name}" if isinstance(group, str) and group != DEFAULT_GROUP else str(name)
            for group, name in zip(models["group_name"], models["name"], strict=True)
        ]
        return summary

    def executions_by_prefix(self, prefix: str) -> list[str]:
        """Execution ids starting with ``prefix`` (at most five, newest first)."""
        df = self.query(EXECUTIONS_BY_PREFIX_SQL, {"prefix": prefix})
        return [str(e) for e in df["execution_id"]]

    def model_captured(self, name: str) -> bool:
        """Whether a cell was captured with ``--model NAME``."""
        return not self.query("SELECT 1 FROM runs WHERE model = ? LIMIT 1", [name]).empty

    def latest_experiment_id(self, name: str) -> str | None:
        """The id of the latest experiment called ``name``."""
        df = self.query(
            "SELECT experiment_id FROM experiments WHERE name = ? ORDER BY started_at DESC LIMIT 1",
            [name],
        )
        return None if df.empty else str(df.iloc[0, 0])

    def annotations_by_prefix(self, prefix: str, limit: int = 3) -> list[tuple[str, str]]:
        """``(annotation_id, thread_id)`` of annotations whose id starts with ``prefix``.

        Read from the records, not ``annotation_history``: a repeat (the same text written
        again by a re-run) is no revision there, but its id is still one the user was given.
        """
        df = self.query(
            "SELECT annotation_id, thread_id FROM annotation_records "
            "WHERE starts_with(annotation_id, ?) LIMIT ?",
            [prefix, limit],
        )
        return [(str(a), str(t)) for a, t in zip(df["annotation_id"], df["thread_id"], strict=True)]

    def answered_questions(self, target_type: str, ref: str, template: str) -> pd.DataFrame:
        """Template questions with a current annotation linked to an experiment or model."""
        return self.query(
            """
            SELECT DISTINCT a.question
            FROM annotations a JOIN annotation_links l USING (annotation_id)
            WHERE a.template = $template AND a.question IS NOT NULL
              AND l.target_type = $type AND l.target = $ref
            """,
            {"template": template, "type": target_type, "ref": ref},
        )

    def experiment_report(self, name: str) -> dict[str, Any] | None:
        """The latest experiment called ``name``: its row, metrics, runs and annotations in time order."""
        exp = self.query(
            "SELECT * FROM experiments WHERE name = ? ORDER BY started_at DESC LIMIT 1", [name]
        )
        if exp.empty:
            return None
        row = exp.iloc[0].to_dict()
        experiment_id = row["experiment_id"]
        metrics = self.query(
            "SELECT name, value, step, logged_at, execution_id FROM metrics "
            "WHERE experiment_id = ? ORDER BY logged_at",
            [experiment_id],
            ingest=False,
        )
        timeline = self.query(
            """
            SELECT started_at AS ts, 'run' AS what, status AS kind, coalesce(name, '') AS title,
                   coalesce(error_type || ': ' || error_message, '') AS text, execution_id AS ref
            FROM runs WHERE experiment_id = $id
            UNION ALL
            SELECT a.created_at, 'annotation', a.kind, coalesce(a.question, ''), a.text, a.annotation_id
            FROM annotations a
            WHERE a.annotation_id IN (
                SELECT annotation_id FROM annotation_links WHERE target_type = 'experiment' AND target = $id)
               OR EXISTS (
                SELECT 1 FROM annotation_links l JOIN executions e ON l.target = e.execution_id
                WHERE l.annotation_id = a.annotation_id AND l.target_type = 'execution'
                  AND e.experiment_id = $id)
            ORDER BY ts
            """,
            {"id": experiment_id},
            ingest=False,
        )
        return {"experiment": row, "metrics": metrics, "timeline": timeline}


def result_rows(cursor: Any) -> list[dict[str, Any]]:
    """A cursor's rows as dicts, ``None`` for NaN as for NULL (as ``records`` gives a DataFrame's)."""
    columns = [d[0] for d in cursor.description or ()]
    out = []
    for values in cursor.fetchall():
        row = dict(zip(columns, values, strict=True))
        for key, value in row.items():
            if isinstance(value, float) and math.isnan(value):
                row[key] = None
        out.append(row)
    return out


class ExecutionLookup(Protocol):
    """Anything that lists execution ids by prefix: a store, or a held connection's queries."""

    def executions_by_prefix(self, prefix: str) -> list[str]: ...


def resolve_execution(
    source: ExecutionLookup | None, prefix: str, *, known: Sequence[str] = ()
) -> str:
    """The one execution id that ``prefix`` names: among ``known`` ids first (the kernel's own),
    then in ``source`` (None: nothing stored yet).

    Raises:
        UnknownExecutionError: ``prefix`` is no id or prefix of one, or matches nothing.
        UsageError: it matches more than one execution.
    """
    if not is_execution_prefix(prefix):
        raise UnknownExecutionError(
            f"{prefix!r} is not an execution id, so no captured execution has it: give "
            f"{MIN_PREFIX} to {EXECUTION_ID_LENGTH} of an id's hex digits "
            "(see SELECT execution_id, name FROM runs)"
        )
    matches = [e for e in dict.fromkeys(known) if e.startswith(prefix)]
    if not matches and source is not None:
        matches = source.executions_by_prefix(prefix)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UnknownExecutionError(
            f"no captured execution with id {prefix!r}; see SELECT execution_id, name FROM runs"
        )
    shown = ", ".join(m[:12] for m in matches[:3])
    raise UsageError(
        f"execution id prefix {prefix!r} matches {len(matches)} executions ({shown}, ...); "
        "give more characters"
    )
