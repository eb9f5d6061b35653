"""OpenLineage run events for captured executions: START, then COMPLETE or FAIL, per execution."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from ..urls import public_url
from ..version import __version__
from .locations import Locations

PRODUCER = f"urn:jupyter-lineage:{__version__}"
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACETS = {
    "sourceCode": "https://openlineage.io/spec/facets/1-0-1/SourceCodeJobFacet.json#/$defs/SourceCodeJobFacet",
    "jobType": "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
    "errorMessage": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
    "processing_engine": "https://openlineage.io/spec/facets/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet",
    "version": "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
}
# The spec's naming rule for a facet that is not one of its own: the key is ``{prefix}_{name}``
# and ``_schemaURL`` points, by a JSON pointer, at the facet's definition in a versioned JSON
# Schema that extends the spec's RunFacet. The schema ships in the package (below) and is
# served by the documentation site at the URL, so a consumer can fetch what it validates.
EXECUTION_FACET = "jupyterLineage_execution"
EXECUTION_FACET_VERSION = "1-0-0"
EXECUTION_FACET_FILE = f"openlineage/{EXECUTION_FACET_VERSION}/JupyterLineageExecutionRunFacet.json"
EXECUTION_FACET_SCHEMA = (
    f"https://jupyter-lineage.github.io/jupyter-lineage/schemas/{EXECUTION_FACET_FILE}"
    "#/$defs/JupyterLineageExecutionRunFacet"
)


def execution_facet_schema() -> dict[str, Any]:
    """The JSON Schema of the ``jupyterLineage_execution`` run facet, as shipped in the package."""
    path = Path(__file__).parent / "schemas" / EXECUTION_FACET_FILE
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _facet(facet: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": FACETS[facet], **fields}


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _dataset(namespace: str, name: str, version: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"namespace": namespace, "name": name}
    if version:
        out["facets"] = {"version": _facet("version", datasetVersion=version)}
    return out


def _execution_facet(run: dict[str, Any], repository: str | None) -> dict[str, Any]:
    """What jupyter-lineage knows of the execution beyond the standard facets.

    A field with no recorded value is left out rather than sent as null, as the official
    client does, so the schema can say what type each field has.
    """
    fields = {
        "executionId": run["execution_id"],
        "executionCount": run.get("execution_count"),
        "environmentId": run.get("environment_id"),
        "gitCommit": run.get("git_commit"),
        "repository": repository,
        "platform": run.get("platform"),
        "packageCount": run.get("package_count"),
        "tags": list(run.get("tags") or []),
        "model": run.get("model"),
        "durationMs": run.get("duration_ms"),
    }
    return {
        "_producer": PRODUCER,
        "_schemaURL": EXECUTION_FACET_SCHEMA,
        **{key: value for key, value in fields.items() if value is not None},
    }


def run_events(run: dict[str, Any], where: Locations | None = None) -> list[dict[str, Any]]:
    """The START and the COMPLETE/FAIL event of one execution (a row of ``store.cards.openlineage_runs``).

    Events leave this machine, so ``where`` says how its paths are shown (relative to the
    repository; by default by file name alone). Jobs are named within the repository's
    remote URL (without credentials), or ``jupyter-lineage`` when there is none.
    """
    where = where or Locations()
    repository = public_url(run.get("git_remote"))
    notebook = where.path(run.get("notebook_path")) or "unknown-notebook"
    namespace = f"jupyter-lineage:{repository}" if repository else "jupyter-lineage"
    job_name = f"{notebook}:{run.get('name') or 'cell'}"
    run_id = str(uuid.UUID(hex=run["execution_id"]))
    values_ns = f"jupyter-lineage:session/{run.get('session_id')}"
    inputs = [
        _dataset("file", where.path(f["path"]), f.get("sha256"))
        for f in run.get("file_accesses") or []
        if f["access"] != "write"
    ]
    inputs += [
        _dataset(values_ns, v["name"], v.get("fingerprint")) for v in run.get("value_inputs") or []
    ]
    outputs = [
        _dataset("file", where.path(f["path"]), f.get("sha256"))
        for f in run.get("file_accesses") or []
        if f["access"] != "read"
    ]
    outputs += [
        _dataset(values_ns, v["name"], v.get("fingerprint"))
        for v in run.get("value_outputs") or []
        if v.get("action") != "deleted"
    ]
    job = {
        "namespace": namespace,
        "name": job_name,
        "facets": {
            "sourceCode": _facet(
                "sourceCode", language="python", sourceCode=run.get("source") or ""
            ),
            "jobType": _facet(
                "jobType", processingType="BATCH", integration="JUPYTER", jobType="NOTEBOOK_CELL"
            ),
        },
    }
    run_facets: dict[str, Any] = {
        "processing_engine": _facet(
            "processing_engine",
            version=str(run.get("python_version") or ""),
            name="python",
            openlineageAdapterVersion=__version__,
        ),
        EXECUTION_FACET: _execution_facet(run, repository),
    }
    start = {
        "eventType": "START",
        "eventTime": _iso(run["started_at"]),
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT_SCHEMA,
        "run": {"runId": run_id, "facets": {"processing_engine": run_facets["processing_engine"]}},
        "job": job,
        "inputs": inputs,
        "outputs": [],
    }
    events = [start]
    status = run.get("status")
    if status in ("ok", "failed", "interrupted"):
        end_facets = dict(run_facets)
        if status != "ok":
            end_facets["errorMessage"] = _facet(
                "errorMessage",
                message=where.text(
                    f"{run.get('error_type') or 'Error'}: {run.get('error_message') or ''}"
                ),
                programmingLanguage="python",
                stackTrace=where.text(run.get("traceback") or ""),
            )
        events.append(
            {
                "eventType": {"ok": "COMPLETE", "failed": "FAIL", "interrupted": "ABORT"}[status],
                "eventTime": _iso(run.get("ended_at") or run["started_at"]),
                "producer": PRODUCER,
                "schemaURL": RUN_EVENT_SCHEMA,
                "run": {"runId": run_id, "facets": end_facets},
                "job": job,
                "inputs": inputs,
                "outputs": outputs,
            }
        )
    return events
