"""Registry reads: the current state of models, versions, gates and artifacts, in SQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .rows import records

if TYPE_CHECKING:
    import pandas as pd

    from . import Store


def find_models(store: Store, name: str, group: str | None = None) -> list[dict[str, Any]]:
    """Models called ``name`` (in ``group`` when given)."""
    if group is None:
        return store.rows("SELECT * FROM model_registry WHERE name = ?", [name])
    return store.rows(
        "SELECT * FROM model_registry WHERE name = ? AND group_name = ?", [name, group]
    )


def versions(store: Store, model_id: str) -> list[dict[str, Any]]:
    """Every version of a model with its current state, oldest first."""
    return store.rows(
        "SELECT * FROM model_versions WHERE model_id = ? ORDER BY created_at",
        [model_id],
        ingest=False,
    )


def applicable_gates(store: Store, model_id: str, risk_tier: str) -> list[dict[str, Any]]:
    """The current gates of a model and of its risk tier."""
    return store.rows(
        "SELECT * FROM gates WHERE (scope_type = 'model' AND scope = ?) OR (scope_type = 'tier' AND scope = ?) "
        "ORDER BY scope_type, metric",
        [model_id, risk_tier],
        ingest=False,
    )


def valid_waivers(store: Store, version_id: str) -> dict[str, dict[str, Any]]:
    """Unexpired waivers of a version, by metric (the latest for each)."""
    rows = store.rows(
        "SELECT * FROM waivers WHERE version_id = ? AND (expires_at IS NULL OR expires_at > now()) "
        "ORDER BY created_at",
        [version_id],
        ingest=False,
    )
    return {r["metric"]: r for r in rows}


def version_artifacts(store: Store, version_id: str) -> list[dict[str, Any]]:
    return store.rows(
        "SELECT * FROM artifacts WHERE version_id = ? ORDER BY created_at",
        [version_id],
        ingest=False,
    )


def execution_inputs(store: Store, execution_id: str) -> dict[str, Any]:
    """What a training execution read (datasets by fingerprint or SHA-256), its model, metrics and commit."""
    values = records(
        store.query(
            "SELECT name, fingerprint, type_name, shape FROM cell_inputs WHERE execution_id = ? "
            "AND fingerprint_kind = 'content' ORDER BY name",
            [execution_id],
        )
    )
    files = records(
        store.query(
            "SELECT path, sha256, size FROM files WHERE execution_id = ? AND access <> 'write' ORDER BY path",
            [execution_id],
            ingest=False,
        )
    )
    run = records(
        store.query(
            "SELECT r.execution_id, r.model, r.base_model, r.experiment_id, e.git_commit FROM runs r "
            "LEFT JOIN environments e USING (environment_id) WHERE r.execution_id = ?",
            [execution_id],
            ingest=False,
        )
    )
    metrics = store.query(
        "SELECT name, arg_max(value, logged_at) AS value FROM metrics WHERE execution_id = ? "
        "OR (experiment_id IS NOT NULL AND experiment_id = (SELECT experiment_id FROM runs WHERE execution_id = ?)) "
        "GROUP BY name",
        [execution_id, execution_id],
        ingest=False,
    )
    return {
        "values": values,
        "files": files,
        "run": run[0] if run else None,
        "metrics": dict(zip(metrics["name"], metrics["value"], strict=True)),
    }


def latest_model_execution(store: Store, model: str) -> str | None:
    """The training execution of a model: in the latest session that captured a successful cell with
    ``--model NAME``, the first such cell (later ones evaluate or save what it produced)."""
    df = store.query(
        """
        SELECT execution_id FROM runs
        WHERE model = $model AND status = 'ok'
          AND session_id = (SELECT arg_max(session_id, started_at) FROM runs WHERE model = $model AND status = 'ok')
        ORDER BY started_at LIMIT 1
        """,
        {"model": model},
    )
    return None if df.empty else str(df.iloc[0, 0])


def search_models(store: Store, condition: str, params: list[Any]) -> pd.DataFrame:
    """Models matching a compiled search condition (see ``store.search``)."""
    return store.query(
        "SELECT m.name, m.group_name, m.risk_tier, m.owners, m.tags, m.description, m.retired, m.created_at, "
        "(SELECT string_agg(v.version || ':' || v.state, ', ' ORDER BY v.created_at) FROM model_versions v "
        " WHERE v.model_id = m.model_id) AS versions "
        f"FROM model_registry m WHERE {condition} ORDER BY m.group_name, m.name",
        params,
    )


def audit(store: Store, model: str, version: str | None = None) -> pd.DataFrame:
    if version is None:
        return store.query(
            "SELECT * FROM audit_trail WHERE model = ? ORDER BY occurred_at", [model]
        )
    return store.query(
        "SELECT * FROM audit_trail WHERE model = ? AND version = ? ORDER BY occurred_at",
        [model, version],
    )
