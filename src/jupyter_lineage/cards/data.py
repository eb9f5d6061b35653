"""A model card's content, gathered from what was recorded (documented, stable JSON keys)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..errors import RegistryError
from ..session import current_session, current_store
from ..store import Store
from ..store import cards as q
from ..store import registry as rq
from ..store.rows import json_column
from ..urls import public_url
from .locations import Locations, locations

CARD_SCHEMA = "urn:jupyter-lineage:schema:model-card:1"
SECTIONS = (
    "model_details",
    "intended_use",
    "factors",
    "metrics",
    "training_data",
    "quantitative_analyses",
    "ethical_considerations",
    "lineage",
    "rationale",
    "failed_attempts",
    "environment",
    "lifecycle",
    "reproduction",
)
# Sections a reviewer needs before a card is complete (``jupyter-lineage card --check``).
REQUIRED = (
    "model_details",
    "intended_use",
    "metrics",
    "training_data",
    "ethical_considerations",
    "rationale",
    "environment",
    "reproduction",
)
RATIONALE_KINDS = ("rationale", "hypothesis", "alternative", "decision", "review")
HUMAN_PREFIX = "card:"


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def split_metric(name: str) -> tuple[str, str | None, str | None]:
    """``accuracy`` → (accuracy, None, None); ``accuracy/plan=pro`` → group ``plan=pro``;
    ``accuracy/ci_low`` and ``accuracy/ci_high`` → interval bounds."""
    base, sep, qualifier = name.partition("/")
    if not sep:
        return base, None, None
    if qualifier in ("ci_low", "ci_high"):
        return base, None, qualifier
    if "=" in qualifier:
        return base, qualifier, None
    return name, None, None


def resolve(spec: str) -> dict[str, Any]:
    """The model and version a card is about: a registered ``[GROUP/]NAME[@VERSION]``,
    or, before registration, a name used with ``%%lineage --model``."""
    from ..registry.api import get_version, split_spec

    store = current_store()
    group, name, version = split_spec(spec)
    if rq.find_models(store, name, group):
        model, v = get_version(spec)
        return {"registered": True, "model": model, "version": v, "name": model["name"]}
    execution_id = rq.latest_model_execution(store, name)
    if execution_id is None:
        raise RegistryError(
            f"unknown model {name!r}: it is not registered and no cell was captured with --model {name}"
        )
    if version:
        raise RegistryError(f"model {name!r} is not registered, so it has no version {version!r}")
    return {
        "registered": False,
        "model": None,
        "version": None,
        "name": name,
        "execution_id": execution_id,
    }


def card_data(spec: str) -> dict[str, Any]:
    """Every section of the card for ``spec``, as plain JSON-able data."""
    store = current_store()
    with store.reading():
        return _card_data(store, spec)


def _card_data(store: Store, spec: str) -> dict[str, Any]:
    target = resolve(spec)
    name = target["name"]
    model, version = target["model"], target["version"]
    training_id = (version or {}).get("execution_id") or target.get("execution_id")
    training = q.execution(store, training_id) if training_id else None
    experiment_id = (version or {}).get("experiment_id") or (training or {}).get("experiment_id")
    executions = q.model_executions(store, name, training_id)
    exec_ids = [e["execution_id"] for e in executions]
    if training_id and training_id not in exec_ids:
        exec_ids.append(training_id)
    upstream = q.preprocessing(store, training_id) if training_id else []
    annotations = q.annotations_about(
        store, name, exec_ids, experiment_id, (version or {}).get("version_id")
    )
    human = {
        a["question"][len(HUMAN_PREFIX) :]: a["text"]
        for a in annotations
        if a.get("question") and a["question"].startswith(HUMAN_PREFIX)
    }
    answers = {
        a["question"]: a["text"]
        for a in annotations
        if a.get("template") == "design" and a.get("question")
    }
    env = q.environment(store, (training or {}).get("environment_id"))
    experiment = q.experiment(store, experiment_id)
    metrics_rows = q.metrics_of(store, exec_ids, experiment_id)
    version_metrics = json_column((version or {}).get("metrics")) or {}
    gates = q.current_gates(store, model["model_id"], model["risk_tier"]) if model else []

    card: dict[str, Any] = {"$schema": CARD_SCHEMA, "generated_for": spec}
    card["model_details"] = _details(name, model, version, training, env, human)
    card["intended_use"] = {
        "primary_uses": (version or {}).get("intended_use") or human.get("intended_use"),
        "primary_users": human.get("primary_users"),
        "out_of_scope": human.get("out_of_scope"),
        "text": human.get("intended_use") if (version or {}).get("intended_use") else None,
    }
    metrics, per_group = _metrics(metrics_rows, version_metrics, gates)
    eval_ids = sorted({m["execution_id"] for m in metrics_rows if m.get("execution_id")})
    # What the evaluation, training and preparation cells read, in one query.
    inputs = _Inputs(
        q.data_inputs(
            store,
            sorted(
                {*eval_ids, *([training_id] if training_id else [])}
                | {p["execution_id"] for p in upstream}
            ),
        )
    )
    eval_data = [d for d in inputs.of(eval_ids) if d["execution_id"] != training_id]
    for m in metrics:
        m["datasets"] = sorted(
            {d["name"] for d in eval_data if d["execution_id"] == m.get("execution_id")}
        )
    card["metrics"] = metrics
    card["factors"] = {
        "groups": sorted({g["group"] for g in per_group}),
        "text": human.get("factors"),
    }
    card["quantitative_analyses"] = per_group
    card["training_data"] = _training_data(inputs, version, training_id, upstream)
    card["ethical_considerations"] = {
        "text": (version or {}).get("ethical_considerations")
        or human.get("ethical_considerations"),
        "limitations": (version or {}).get("limitations") or human.get("limitations"),
        "risks": answers.get("risks"),
        "data_quality": answers.get("data_quality"),
    }
    card["rationale"] = [
        {k: _iso(v) if k == "created_at" else v for k, v in a.items()}
        for a in annotations
        if a["kind"] in RATIONALE_KINDS and not (a.get("question") or "").startswith(HUMAN_PREFIX)
    ]
    upstream_ids = [p["execution_id"] for p in upstream if p["execution_id"] not in exec_ids]
    card["failed_attempts"] = [
        {k: _iso(v) if k == "started_at" else v for k, v in f.items()}
        for f in q.failed_attempts_of(
            store, name, (model or {}).get("model_id"), exec_ids + upstream_ids, experiment_id
        )
    ]
    card["experiment"] = _clean(experiment) if experiment else None
    card["environment"] = _environment(env)
    card["lifecycle"] = _lifecycle(store, model, version, gates)
    card["metric_history"] = [_clean(h) for h in q.metric_history(store, name)]
    card["lineage"] = {
        "training_execution": training_id,
        "executions": [_clean(e) for e in executions],
    }
    card["reproduction"] = _reproduction(name, version, training, env)
    card["human_additions"] = human
    where = card_locations(
        [(training or {}).get("notebook_path"), *(e.get("notebook_path") for e in executions)],
        [(env or {}).get("python_executable")],
    )
    return publish(card, where)


def card_locations(
    notebooks: Iterable[str | None], executables: Iterable[str | None] = ()
) -> Locations:
    """Where a card's paths are shown from: the repository of its notebooks and of the store."""
    return locations(notebooks, current_session().store_dir, executables)


def publish(card: dict[str, Any], where: Locations) -> dict[str, Any]:
    """The card as it may leave this machine: recorded paths relative to the repository (or
    file names), machine-written text without local directories, the repository as its
    remote URL without credentials. Annotations and cell sources are left as written."""
    d = card["model_details"]
    d["repository_url"] = public_url(d.get("repository_url")) or public_url(
        (card.get("environment") or {}).get("git_remote")
    )
    d["notebook"] = where.path(d.get("notebook"))
    for m in card["metrics"]:
        m["datasets"] = sorted({where.path(x) for x in m.get("datasets") or []})
    for item in card["training_data"]["datasets"]:
        for key in ("path", "name"):  # a value's name is no path, and stays as it is
            if key in item:
                item[key] = where.path(item[key])
    for f in card["failed_attempts"]:
        f["error_message"] = where.text(f.get("error_message"))
    for e in card["lineage"]["executions"]:
        e["notebook_path"] = where.path(e.get("notebook_path"))
        e["error_message"] = where.text(e.get("error_message"))
    if card.get("experiment"):
        card["experiment"]["notebook_path"] = where.path(card["experiment"].get("notebook_path"))
    env = card.get("environment")
    if env:
        env["python_executable"] = where.path(env.get("python_executable"))
        env["git_remote"] = public_url(env.get("git_remote"))
        if isinstance(env.get("env_vars"), dict):
            env["env_vars"] = {k: where.text(v) for k, v in env["env_vars"].items()}
    for artifact in (card.get("lifecycle") or {}).get("artifacts") or []:
        artifact["uri"] = where.uri(artifact.get("uri"))
        artifact["stored_path"] = where.path(artifact.get("stored_path"))
    if card.get("reproduction"):
        card["reproduction"]["notebook"] = where.path(card["reproduction"].get("notebook"))
    return card


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if hasattr(v, "isoformat"):
            v = v.isoformat()
        elif isinstance(v, float) and math.isnan(v):
            v = None
        elif hasattr(v, "tolist"):
            v = v.tolist()
        out[k] = v
    return out


def _details(
    name: str,
    model: dict | None,
    version: dict | None,
    training: dict | None,
    env: dict | None,
    human: dict[str, str],
) -> dict[str, Any]:
    model = model or {}
    version = version or {}
    return {
        "name": name,
        "group": model.get("group_name"),
        "version": version.get("version"),
        "state": version.get("state"),
        "registered": bool(model),
        "description": model.get("description") or human.get("description"),
        "model_type": version.get("model_type"),
        "framework": version.get("framework"),
        "framework_version": version.get("framework_version"),
        "owners": list(model.get("owners") or []),
        "risk_tier": model.get("risk_tier"),
        "tags": list(model.get("tags") or []),
        "created_at": _iso(version.get("created_at") or (training or {}).get("started_at")),
        "registered_at": _iso(model.get("created_at")),
        "commit": version.get("commit_sha") or (env or {}).get("git_commit"),
        "license": human.get("license"),
        "documentation_url": model.get("documentation_url"),
        "repository_url": model.get("repository_url") or (env or {}).get("git_remote"),
        "hyperparameters": json_column(version.get("hyperparameters")),
        "base_model": version.get("base_model_version") or (training or {}).get("base_model"),
        "input_schema": json_column(version.get("input_schema")),
        "output_schema": json_column(version.get("output_schema")),
        "training_execution": (training or {}).get("execution_id"),
        "notebook": (training or {}).get("notebook_path"),
    }


def _metrics(
    rows: list[dict[str, Any]], version_metrics: dict[str, Any], gates: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    latest: dict[str, dict[str, Any]] = {}
    for r in rows:
        latest[r["name"]] = r
    for name, value in version_metrics.items():
        latest.setdefault(name, {"name": name, "value": value, "execution_id": None})
        latest[name]["value"] = value  # the version's recorded metrics are authoritative
    overall: dict[str, dict[str, Any]] = {}
    per_group: list[dict[str, Any]] = []
    bounds: dict[str, dict[str, float]] = {}
    for full, r in latest.items():
        base, group, bound = split_metric(full)
        value = float(r["value"]) if r.get("value") is not None else None
        if bound:
            bounds.setdefault(base, {})[bound] = value  # type: ignore[assignment]
        elif group:
            per_group.append({"metric": base, "group": group, "value": value})
        else:
            overall[base] = {"name": base, "value": value, "execution_id": r.get("execution_id")}
    gate_by_metric = {g["metric"]: g for g in gates}
    metrics = []
    for name, m in sorted(overall.items()):
        m["ci_low"] = bounds.get(name, {}).get("ci_low")
        m["ci_high"] = bounds.get(name, {}).get("ci_high")
        g = gate_by_metric.get(name)
        m["gate"] = {"op": g["op"], "threshold": g["threshold"]} if g else None
        metrics.append(m)
    return metrics, sorted(per_group, key=lambda x: (x["metric"], x["group"]))


class _Inputs:
    """The datasets some executions read (``store.cards.data_inputs`` rows), by execution."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def of(self, execution_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Those these executions read, in the query's order (as a query for them alone)."""
        wanted = set(execution_ids)
        return [d for d in self.rows if d["execution_id"] in wanted]


def _training_data(
    inputs: _Inputs, version: dict | None, training_id: str | None, upstream: list[dict[str, Any]]
) -> dict[str, Any]:
    recorded = (json_column((version or {}).get("datasets")) or {}) if version else {}
    datasets: list[dict[str, Any]] = []
    for role, items in recorded.items():
        for d in items:
            datasets.append({"role": role, **d})
    if not datasets and training_id:
        for d in inputs.of([training_id]):
            item = {"role": "training", "kind": d["kind"], "name": d["name"]}
            item["sha256" if d["kind"] == "file" else "fingerprint"] = d["digest"]
            if d.get("shape"):
                item["shape"] = d["shape"]
            datasets.append(item)
    steps = [_clean(p) for p in upstream]
    seen = {d.get("sha256") or d.get("fingerprint") for d in datasets}
    for d in inputs.of(p["execution_id"] for p in steps):
        if d["kind"] == "file" and d["digest"] not in seen:  # the raw files the preparation read
            seen.add(d["digest"])
            datasets.append(
                {
                    "role": "source",
                    "kind": "file",
                    "name": d["name"],
                    "path": d["name"],
                    "sha256": d["digest"],
                    "size": d.get("size"),
                }
            )
    for s in steps:
        s["source"] = (s.get("source") or "")[:2000]
    return {"datasets": datasets, "preprocessing": steps}


def _environment(env: dict | None) -> dict[str, Any] | None:
    if env is None:
        return None
    env = _clean(env)
    for key in ("gpus", "env_vars", "container"):
        env[key] = json_column(env.get(key))
    return env


def _lifecycle(
    store: Any, model: dict | None, version: dict | None, gates: list[dict[str, Any]]
) -> dict[str, Any] | None:
    if not model or not version:
        return None
    life = q.lifecycle(store, version["version_id"])
    return {
        "state": version["state"],
        "gates": [_clean(g) for g in gates],
        **{k: [_clean(r) for r in v] for k, v in life.items()},
    }


def _reproduction(
    name: str, version: dict | None, training: dict | None, env: dict | None
) -> dict[str, Any] | None:
    if training is None:
        return None
    commit = (version or {}).get("commit_sha") or (env or {}).get("git_commit")
    target = f"{name}@{version['version']}" if version else f"model:{name}"
    steps = []
    if commit:
        steps.append(f"git checkout {commit}")
    if env and env.get("python_version"):
        steps.append(
            f"use Python {env['python_version']} with the packages listed under Environment"
        )
    steps.append(f"jupyter-lineage reproduce {target} --run")
    return {
        "notebook": training.get("notebook_path"),
        "training_execution": training.get("execution_id"),
        "commit": commit,
        "python": (env or {}).get("python_version"),
        "steps": steps,
    }
