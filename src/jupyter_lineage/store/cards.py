"""What a model card, a bill of materials and OpenLineage events are made of, read in SQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import Store


def model_executions(
    store: Store, model: str, training_execution: str | None
) -> list[dict[str, Any]]:
    """Executions that worked on the model: cells captured with ``--model NAME`` in the training
    session (up to the latest), failed ones included, in time order."""
    return store.rows(
        """
            SELECT execution_id, session_id, execution_count, name, tags, status, started_at, duration_ms,
                   error_type, error_message, source, experiment_id, notebook_path, environment_id
            FROM runs
            WHERE model = $model
              AND ($exec IS NULL OR session_id = (SELECT session_id FROM runs WHERE execution_id = $exec))
            ORDER BY started_at
            """,
        {"model": model, "exec": training_execution},
    )


def execution(store: Store, execution_id: str) -> dict[str, Any] | None:
    rows = store.rows("SELECT * FROM runs WHERE execution_id = ?", [execution_id], ingest=False)
    return rows[0] if rows else None


def data_inputs(store: Store, execution_ids: list[str]) -> list[dict[str, Any]]:
    """Datasets (files read; frames, arrays and tables by fingerprint) read by these executions."""
    if not execution_ids:
        return []
    return store.rows(
        """
            SELECT DISTINCT 'file' AS kind, f.path AS name, f.sha256 AS digest, f.size, NULL AS shape,
                   NULL AS type_name, f.execution_id
            FROM files f WHERE f.execution_id IN (SELECT unnest($ids)) AND f.access <> 'write'
            UNION ALL
            SELECT DISTINCT 'value', i.name, i.fingerprint, CAST(NULL AS BIGINT), i.shape, i.type_name,
                   i.execution_id
            FROM cell_inputs i
            WHERE i.execution_id IN (SELECT unnest($ids)) AND i.fingerprint_kind = 'content'
              AND regexp_matches(i.type_name, 'DataFrame|Series|ndarray|Table|Dataset|Tensor')
            ORDER BY 1, 2
            """,
        {"ids": execution_ids},
        ingest=False,
    )


def preprocessing(store: Store, execution_id: str, max_depth: int = 25) -> list[dict[str, Any]]:
    """Earlier executions of the same session whose outputs (values or files) the training cell
    depends on, transitively: the data preparation behind the model."""
    return store.rows(
        """
            WITH RECURSIVE produced AS (
                SELECT v.execution_id, v.fingerprint AS item FROM value_records v
                WHERE v.role = 'output' AND v.fingerprint_kind = 'content'
                UNION ALL
                SELECT f.execution_id, f.sha256 FROM file_records f WHERE f.access <> 'read' AND f.sha256 IS NOT NULL
            ),
            consumed AS (
                SELECT v.execution_id, v.fingerprint AS item FROM value_records v
                WHERE v.role = 'input' AND v.fingerprint_kind = 'content'
                UNION ALL
                SELECT f.execution_id, f.sha256 FROM file_records f WHERE f.access <> 'write' AND f.sha256 IS NOT NULL
            ),
            session AS (
                SELECT e.execution_id, e.started_at FROM executions e
                WHERE e.session_id = (SELECT session_id FROM executions WHERE execution_id = $exec)
            ),
            dep(execution_id, depth) AS (
                SELECT $exec, 0
                UNION
                SELECT p.execution_id, d.depth + 1
                FROM dep d
                JOIN consumed c ON c.execution_id = d.execution_id
                JOIN produced p ON p.item = c.item AND p.execution_id <> d.execution_id
                JOIN session s ON s.execution_id = p.execution_id
                WHERE d.depth < $depth
                  AND s.started_at < (SELECT started_at FROM session WHERE execution_id = d.execution_id)
            )
            SELECT r.execution_id, r.execution_count, r.name, r.status, r.started_at, r.source, min(d.depth) AS depth
            FROM dep d JOIN runs r USING (execution_id)
            WHERE d.execution_id <> $exec AND r.status = 'ok'
            GROUP BY ALL
            ORDER BY r.started_at
            """,
        {"exec": execution_id, "depth": max_depth},
        ingest=False,
    )


def metrics_of(
    store: Store, execution_ids: list[str], experiment_id: str | None
) -> list[dict[str, Any]]:
    """Every metric logged on these executions or in the experiment, with the execution that logged it."""
    return store.rows(
        """
            SELECT m.name, m.value, m.step, m.logged_at, m.execution_id, m.experiment, r.status AS run_status
            FROM metrics m LEFT JOIN runs r USING (execution_id)
            WHERE m.execution_id IN (SELECT unnest($ids)) OR ($exp IS NOT NULL AND m.experiment_id = $exp)
            ORDER BY m.logged_at
            """,
        {"ids": execution_ids, "exp": experiment_id},
        ingest=False,
    )


def metric_history(store: Store, model: str) -> list[dict[str, Any]]:
    """The metrics of every attempt at the model, across sessions and experiments, failures included."""
    return store.rows(
        """
            WITH attempts AS (
                SELECT session_id, experiment_id, min(started_at) AS started_at,
                       bool_or(status IN ('failed', 'interrupted')) AS had_failure,
                       list(execution_id) AS execution_ids
                FROM runs WHERE model = $model GROUP BY session_id, experiment_id
            )
            SELECT a.session_id, a.experiment_id, x.name AS experiment, x.outcome, a.started_at, a.had_failure,
                   m.name AS metric, arg_max(m.value, m.logged_at) AS value
            FROM attempts a
            LEFT JOIN experiments x ON x.experiment_id = a.experiment_id
            JOIN metric_records m
              ON list_contains(a.execution_ids, m.execution_id)
              OR (a.experiment_id IS NOT NULL AND m.experiment_id = a.experiment_id)
            GROUP BY ALL
            ORDER BY a.started_at, m.name
            """,
        {"model": model},
        ingest=False,
    )


def annotations_about(
    store: Store,
    model: str,
    execution_ids: list[str],
    experiment_id: str | None,
    version_id: str | None = None,
) -> list[dict[str, Any]]:
    """Current annotations linked to the model, this version of it, its executions, their
    values, or its experiment."""
    # The links are found in the records (a current annotation's links are its own targets
    # and its experiment), so the annotations view, the costly part, is read once.
    return store.rows(
        f"""
        WITH linked AS ({_LINKED})
        SELECT a.annotation_id, a.kind, a.text, a.author, a.created_at, a.question, a.template,
               a.revision
        FROM annotations a
        WHERE a.annotation_id IN (SELECT annotation_id FROM linked)
        ORDER BY a.created_at
        """,
        {"model": model, "ids": execution_ids, "exp": experiment_id, "version": version_id},
        ingest=False,
    )


# The annotation records (every revision) whose own targets or experiment are the model
# ($model), its version ($version), the executions ($ids) or the values they read or wrote,
# or the experiment ($exp).
_LINKED = """
    SELECT t.annotation_id FROM annotation_targets t
    WHERE (t.target_type = 'model' AND t.target = $model)
       OR (t.target_type = 'model_version' AND $version IS NOT NULL AND t.target = $version)
       OR (t.target_type = 'execution' AND t.target IN (SELECT unnest($ids)))
       OR (t.target_type = 'experiment' AND $exp IS NOT NULL AND t.target = $exp)
       OR (t.target_type = 'value' AND t.fingerprint IN (
              SELECT fingerprint FROM value_records WHERE execution_id IN (SELECT unnest($ids))))
    UNION
    SELECT annotation_id FROM annotation_records WHERE $exp IS NOT NULL AND experiment_id = $exp
"""


def failed_attempts_of(
    store: Store,
    model: str,
    model_id: str | None,
    execution_ids: list[str],
    experiment_id: str | None,
) -> list[dict[str, Any]]:
    """The model's failed attempts: failed runs among its executions or in its experiment, and
    every attempt whose ``failed_attempt`` note is linked to the model, any of its versions,
    one of ``execution_ids`` (its training and upstream runs) or the experiment, whether or
    not a failing cell was captured."""
    # A row's annotation_ids are its notes' ids (32 hex digits), joined with commas: only
    # current failed_attempt notes, so the links may be read from the records (every
    # revision's own targets) without reading the annotations view a second time.
    return store.rows(
        """
        WITH linked AS (
            SELECT t.annotation_id FROM annotation_targets t
            WHERE (t.target_type = 'model' AND t.target = $model)
               OR (t.target_type = 'model_version' AND t.target IN (
                      SELECT version_id FROM version_records WHERE model_id = $model_id))
               OR (t.target_type = 'execution' AND t.target IN (SELECT unnest($ids)))
               OR (t.target_type = 'experiment' AND t.target = $exp)
            UNION
            SELECT annotation_id FROM annotation_records WHERE experiment_id = $exp
        )
        SELECT origin, execution_id, execution_count, name, started_at, status, error_type,
               error_message, explanation
        FROM failed_attempts f
        WHERE f.execution_id IN (SELECT unnest($ids))
           OR ($exp IS NOT NULL AND f.experiment_id = $exp)
           OR EXISTS (SELECT 1 FROM linked WHERE contains(f.annotation_ids, linked.annotation_id))
        ORDER BY started_at, execution_id, explanation
        """,
        {"model": model, "model_id": model_id, "ids": execution_ids, "exp": experiment_id},
        ingest=False,
    )


def environment(store: Store, environment_id: str | None) -> dict[str, Any] | None:
    """An environment's row, with its packages (name and version, by name)."""
    if not environment_id:
        return None
    rows = store.rows(
        "SELECT e.*, (SELECT coalesce(list({'name': p.name, 'version': p.version} ORDER BY p.name), [])"
        " FROM packages p WHERE p.environment_id = e.environment_id) AS packages"
        " FROM environments e WHERE e.environment_id = ?",
        [environment_id],
        ingest=False,
    )
    return rows[0] if rows else None


def experiment(store: Store, experiment_id: str | None) -> dict[str, Any] | None:
    if not experiment_id:
        return None
    rows = store.rows(
        "SELECT * FROM experiments WHERE experiment_id = ?", [experiment_id], ingest=False
    )
    return rows[0] if rows else None


def lifecycle(store: Store, version_id: str) -> dict[str, list[dict[str, Any]]]:
    """A version's transitions, gate results, waivers and artifacts, oldest first."""

    def rows(view: str, order: str) -> list[dict[str, Any]]:
        return store.rows(
            f"SELECT * FROM {view} WHERE version_id = ? ORDER BY {order}",
            [version_id],
            ingest=False,
        )

    return {
        "transitions": rows("version_transitions", "occurred_at"),
        "gate_results": rows("gate_results", "occurred_at"),
        "waivers": rows("waivers", "created_at"),
        "artifacts": rows("artifacts", "created_at"),
    }


def current_gates(store: Store, model_id: str, risk_tier: str) -> list[dict[str, Any]]:
    from .registry import applicable_gates

    return applicable_gates(store, model_id, risk_tier)


def openlineage_runs(store: Store, since: str | None) -> list[dict[str, Any]]:
    """Executions (with their inputs, outputs and environment) for OpenLineage run events."""
    return store.rows(
        """
            SELECT r.execution_id, r.session_id, r.notebook_path, r.execution_count, r.name, r.tags, r.model,
                   r.source, r.started_at, r.ended_at, r.duration_ms, r.status, r.error_type, r.error_message,
                   r.traceback, r.environment_id, e.python_version, e.python_executable, e.platform,
                   e.git_commit, e.git_remote,
                   e.package_count,
                   (SELECT list({'name': i.name, 'fingerprint': i.fingerprint, 'type_name': i.type_name, 'shape': i.shape})
                    FROM cell_inputs i WHERE i.execution_id = r.execution_id) AS value_inputs,
                   (SELECT list({'name': o.name, 'fingerprint': o.fingerprint, 'type_name': o.type_name, 'shape': o.shape, 'action': o.action})
                    FROM cell_outputs o WHERE o.execution_id = r.execution_id) AS value_outputs,
                   (SELECT list({'path': f.path, 'sha256': f.sha256, 'size': f.size, 'access': f.access})
                    FROM files f WHERE f.execution_id = r.execution_id) AS file_accesses
            FROM runs r LEFT JOIN environments e USING (environment_id)
            WHERE $since IS NULL OR r.started_at >= CAST($since AS TIMESTAMPTZ)
            ORDER BY r.started_at
            """,
        {"since": since},
    )
