"""The model registry's operations. Every change is an appended event; current state is a view."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import RegistryError, UsageError
from ..events import (
    Event,
    GateDefined,
    GateEvaluated,
    ModelRegistered,
    ModelUpdated,
    VersionCreated,
    VersionTransition,
    WaiverRecorded,
    event_data,
)
from ..journal import utc_now
from ..session import current_session, current_store
from ..store import Store
from ..store import registry as q
from ..store.rows import json_column
from .lifecycle import GATED_STATES, STATES, Actor, allowed_next, check_transition
from .validate import (
    check_json_schema,
    check_name,
    check_newer,
    check_owners,
    check_risk_tier,
    check_semver,
    semver_key,
)

ARTIFACT_KINDS = ("weights", "tokenizer", "config", "container", "data", "other")


def _store() -> Store:
    return current_store()


def _emit(event: Event) -> None:
    current_session().emit(event)


def split_spec(spec: str) -> tuple[str | None, str, str | None]:
    """``[GROUP/]NAME[@VERSION]`` → (group, name, version)."""
    name, _, version = spec.partition("@")
    group, _, name = name.rpartition("/")
    return (group or None), name, (version or None)


def get_model(name: str, group: str | None = None) -> dict[str, Any]:
    """A registered model by name (and group when names repeat across groups)."""
    if group is None and "/" in name:
        group, name, _ = split_spec(name)
    found = q.find_models(_store(), name, group)
    if not found:
        raise RegistryError(
            f"unknown model {name!r}; register it first (jupyter-lineage model register {name} --owner EMAIL)"
        )
    if len(found) > 1:
        groups = ", ".join(sorted(m["group_name"] for m in found))
        raise RegistryError(
            f"model name {name!r} exists in several groups ({groups}); write GROUP/{name}"
        )
    return found[0]


def get_version(model: str, version: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(model, version) for ``model`` and ``version`` (default: the latest version)."""
    group, name, spec_version = split_spec(model)
    version = version or spec_version
    m = get_model(name, group)
    versions = q.versions(_store(), m["model_id"])
    if not versions:
        raise RegistryError(
            f"model {name!r} has no versions yet; create one with jupyter-lineage model version {name} 1.0.0"
        )
    if version is None:
        return m, max(versions, key=lambda v: semver_key(v["version"]))
    for v in versions:
        if v["version"] == version:
            return m, v
    known = ", ".join(v["version"] for v in versions)
    raise RegistryError(f"model {name!r} has no version {version!r} (versions: {known})")


def register_model(
    name: str,
    owners: list[str] | str,
    *,
    group: str = "default",
    description: str = "",
    risk_tier: str = "MEDIUM",
    tags: list[str] | tuple[str, ...] = (),
    documentation_url: str | None = None,
    repository_url: str | None = None,
    actor: str | None = None,
    exist_ok: bool = False,
) -> dict[str, Any]:
    """Register a model; names are unique within their group (``exist_ok`` returns the existing one)."""
    check_name(name)
    check_name(group, "group name")
    owner_list = check_owners(owners)
    tier = check_risk_tier(risk_tier)
    if q.find_models(_store(), name, group):
        if exist_ok:
            return get_model(name, group)
        raise RegistryError(f"model {group}/{name} is already registered; add a version instead")
    _emit(
        ModelRegistered(
            model_id=uuid.uuid4().hex,
            name=name,
            group_name=group,
            description=description or "",
            owners=list(owner_list),
            risk_tier=tier,
            tags=sorted({t.strip() for t in tags if t and t.strip()}),
            documentation_url=documentation_url,
            repository_url=repository_url,
            created_by=actor or current_session().author,
            created_at=utc_now(),
        )
    )
    return get_model(name, group)


def update_model(
    name: str, *, actor: str | None = None, justification: str | None = None, **fields: Any
) -> dict[str, Any]:
    """Change a model's description, owners, risk tier, tags or URLs (recorded as a new event)."""
    m = get_model(name)
    allowed = {"description", "owners", "risk_tier", "tags", "documentation_url", "repository_url"}
    unknown = set(fields) - allowed
    if unknown:
        raise UsageError(
            f"cannot update {', '.join(sorted(unknown))}; updatable: {', '.join(sorted(allowed))}"
        )
    if "owners" in fields:
        fields["owners"] = list(check_owners(fields["owners"]))
    if "risk_tier" in fields:
        fields["risk_tier"] = check_risk_tier(fields["risk_tier"])
    if "tags" in fields:
        fields["tags"] = sorted({t.strip() for t in fields["tags"] if t and t.strip()})
    _emit(
        ModelUpdated(
            model_id=m["model_id"],
            **fields,
            updated_by=actor or current_session().author,
            justification=justification,
            updated_at=utc_now(),
        )
    )
    return get_model(m["name"], m["group_name"])


def retire_model(name: str, *, actor: str, justification: str) -> dict[str, Any]:
    """Retire a model (models are never deleted)."""
    if not justification or not justification.strip():
        raise UsageError("retiring a model needs a justification")
    m = get_model(name)
    _emit(
        ModelUpdated(
            model_id=m["model_id"],
            retired=True,
            updated_by=actor,
            justification=justification,
            updated_at=utc_now(),
        )
    )
    return get_model(m["name"], m["group_name"])


def create_version(
    model: str,
    version: str,
    *,
    execution_id: str | None = None,
    commit_sha: str | None = None,
    experiment_id: str | None = None,
    framework: str | None = None,
    framework_version: str | None = None,
    model_type: str | None = None,
    input_schema: dict[str, Any] | None = None,
    output_schema: dict[str, Any] | None = None,
    hyperparameters: dict[str, Any] | None = None,
    datasets: dict[str, list[dict[str, Any]]] | None = None,
    base_model: str | None = None,
    intended_use: str | None = None,
    limitations: str | None = None,
    ethical_considerations: str | None = None,
    metrics: dict[str, float] | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    """Add a version in state DRAFT.

    What is not given is taken from lineage: the training execution defaults to the
    latest successful cell captured with ``--model NAME``; its commit, experiment,
    metrics and the datasets it read (by fingerprint or SHA-256) fill the gaps.
    """
    m = get_model(model)
    if m["retired"]:
        raise RegistryError(f"model {m['name']!r} is retired; it takes no new versions")
    store = _store()
    existing = [v["version"] for v in q.versions(store, m["model_id"])]
    version = bump(version, existing)
    check_semver(version)
    check_newer(version, existing)
    check_json_schema(input_schema, "input schema")
    check_json_schema(output_schema, "output schema")
    execution_id = execution_id or q.latest_model_execution(store, m["name"])
    lineage: dict[str, Any] = {"values": [], "files": [], "run": None, "metrics": {}}
    if execution_id:
        lineage = q.execution_inputs(store, execution_id)
        if lineage["run"] is None:
            raise RegistryError(f"no captured execution {execution_id!r} to link the version to")
    run = lineage["run"] or {}
    if datasets is None and execution_id:
        datasets = {
            "training": [
                {"kind": "file", "path": f["path"], "sha256": f["sha256"]} for f in lineage["files"]
            ]
            + [
                {
                    "kind": "value",
                    "name": v["name"],
                    "fingerprint": v["fingerprint"],
                    "type": v["type_name"],
                    "shape": v["shape"],
                }
                for v in lineage["values"]
                if _looks_like_data(v["type_name"])
            ]
        }
    base = base_model or run.get("base_model")
    if base:
        base = _resolve_base(base)
    _emit(
        VersionCreated(
            version_id=uuid.uuid4().hex,
            model_id=m["model_id"],
            version=version,
            commit_sha=commit_sha or run.get("git_commit"),
            execution_id=execution_id,
            experiment_id=experiment_id or run.get("experiment_id"),
            framework=framework,
            framework_version=framework_version,
            model_type=model_type,
            input_schema=input_schema,
            output_schema=output_schema,
            hyperparameters=hyperparameters,
            datasets=datasets or {},
            base_model_version=base,
            intended_use=intended_use,
            limitations=limitations,
            ethical_considerations=ethical_considerations,
            metrics=metrics if metrics is not None else lineage["metrics"],
            created_by=actor or current_session().author,
            created_at=utc_now(),
        )
    )
    return get_version(m["name"], version)[1]


def bump(version: str, existing: list[str]) -> str:
    """``major``, ``minor`` or ``patch`` → the next such version after the latest (1.0.0 for the first)."""
    if version not in ("major", "minor", "patch"):
        return version
    if not existing:
        return "1.0.0"
    latest = max(existing, key=semver_key)
    return str(getattr(semver_key(latest), f"bump_{version}")())


def _looks_like_data(type_name: str | None) -> bool:
    kinds = ("DataFrame", "Series", "ndarray", "Table", "Dataset", "Tensor")
    return type_name is not None and any(k in type_name for k in kinds)


def _resolve_base(base: str) -> str:
    """A base model given as NAME@VERSION must exist; a path or free text is kept as given."""
    if "@" in base and os.path.sep not in base.split("@")[0]:
        try:
            m, v = get_version(base)
            return f"{m['group_name']}/{m['name']}@{v['version']}"
        except RegistryError:
            return base
    return base


def set_gate(
    expression: str,
    *,
    model: str | None = None,
    risk_tier: str | None = None,
    actor: str | None = None,
) -> list[dict[str, Any]]:
    """Require ``metric OP value`` before approval, for one model or a whole risk tier."""
    from ..criteria import parse_criterion

    if (model is None) == (risk_tier is None):
        raise UsageError(
            "a gate applies to one model (model=NAME) or one risk tier (risk_tier=HIGH), exactly one"
        )
    scope_type, scope = (
        ("model", get_model(model)["model_id"])
        if model
        else ("tier", check_risk_tier(risk_tier or ""))
    )
    gates = []
    for cond in parse_criterion(expression):
        gate = GateDefined(
            gate_id=uuid.uuid4().hex,
            scope_type=scope_type,
            scope=scope,
            metric=cond.metric,
            op=cond.op,
            threshold=cond.threshold,
            created_by=actor or current_session().author,
            created_at=utc_now(),
        )
        _emit(gate)
        gates.append(event_data(gate))
    return gates


def waive(
    model: str,
    metric: str,
    *,
    actor: str,
    reason: str,
    expires_in_days: float = 30.0,
    version: str | None = None,
) -> dict[str, Any]:
    """Record a waiver: a failing gate on ``metric`` will not block this version until it expires."""
    if not reason or not reason.strip():
        raise UsageError(
            "a waiver needs a reason: why is it acceptable to promote despite the gate?"
        )
    if not actor or not actor.strip():
        raise UsageError("a waiver needs an actor: who grants it")
    if expires_in_days <= 0:
        raise UsageError(f"expires_in_days must be positive, not {expires_in_days}")
    _, v = get_version(model, version)
    waiver = WaiverRecorded(
        waiver_id=uuid.uuid4().hex,
        version_id=v["version_id"],
        metric=metric,
        actor=actor,
        reason=reason,
        expires_at=(datetime.now(timezone.utc) + timedelta(days=expires_in_days)).isoformat(),
        created_at=utc_now(),
    )
    _emit(waiver)
    return event_data(waiver)


def evaluate_gates(
    model: str, version: str | None, target_state: str, actor: str = ""
) -> list[dict[str, Any]]:
    """Check every gate of the model and its risk tier against the version's metrics."""
    m, v = get_version(model, version)
    store = _store()
    gates = q.applicable_gates(store, m["model_id"], m["risk_tier"])
    waivers = q.valid_waivers(store, v["version_id"])
    metrics = json_column(v.get("metrics")) or {}
    from ..criteria import Condition

    results = []
    for g in gates:
        value = metrics.get(g["metric"])
        passed = value is not None and Condition(g["metric"], g["op"], g["threshold"]).holds(
            float(value)
        )
        waiver = waivers.get(g["metric"]) if not passed else None
        result = GateEvaluated(
            version_id=v["version_id"],
            target_state=target_state,
            gate_id=g["gate_id"],
            metric=g["metric"],
            op=g["op"],
            threshold=g["threshold"],
            value=None if value is None else float(value),
            passed=passed,
            waiver_id=waiver["waiver_id"] if waiver else None,
            outcome="passed" if passed else ("waived" if waiver else "failed"),
            actor=actor,
            occurred_at=utc_now(),
        )
        results.append(event_data(result))
    return results


def _check_bound_role(actor: str, role: str) -> None:
    """On a team store that binds roles to its users, the actor must be the database user
    this process connects as, acting in a role bound to that user."""
    from ..store.postgres import PostgresStore

    store = _store()
    if not isinstance(store, PostgresStore):
        return
    roles = store.bound_roles(actor)
    if roles is None:
        return  # the team store binds no roles: any actor may take any role
    user = store.current_user()
    if actor != user:
        raise RegistryError(
            f"the team store {store.location} binds roles to its users: act as {user!r} "
            f"(the user this connection logs in as), not {actor!r}"
        )
    if role not in roles:
        held = ", ".join(sorted(roles)) or "none"
        raise RegistryError(
            f"{actor} does not hold the role {role!r} on the team store (held: {held}); "
            f"an admin grants it with `jupyter-lineage roles grant {actor} {role}`"
        )


def transition(
    model: str,
    to_state: str,
    *,
    actor: str,
    role: str,
    justification: str,
    version: str | None = None,
    allow_multiple_production: bool = False,
) -> dict[str, Any]:
    """Move a version to ``to_state`` if the lifecycle, the role and the gates allow it."""
    if not justification or not justification.strip():
        raise UsageError("a transition needs a justification: why is this version moving?")
    to_state = to_state.upper()
    m, v = get_version(model, version)
    check_transition(v["state"], to_state, Actor(actor, role), tuple(m["owners"] or ()))
    _check_bound_role(actor, role)
    if to_state == "PRODUCTION" and not allow_multiple_production:
        live = [
            x["version"] for x in q.versions(_store(), m["model_id"]) if x["state"] == "PRODUCTION"
        ]
        if live:
            raise RegistryError(
                f"{m['name']} {', '.join(live)} is already in PRODUCTION; deprecate it first, "
                "or allow several production versions explicitly (--allow-multiple-production)"
            )
    if to_state in GATED_STATES:
        results = evaluate_gates(m["name"], v["version"], to_state, actor)
        for r in results:
            _emit(GateEvaluated(**r))
        failing = [r for r in results if r["outcome"] == "failed"]
        if failing:
            detail = "; ".join(_failure(r) for r in failing)
            raise RegistryError(
                f"promotion of {m['name']} {v['version']} to {to_state} blocked by failing gate(s): {detail}; "
                "improve the model or record a waiver with a reason"
            )
    _emit(
        VersionTransition(
            version_id=v["version_id"],
            from_state=v["state"],
            to_state=to_state,
            actor=actor,
            role=role,
            justification=justification,
            allow_multiple_production=allow_multiple_production,
            occurred_at=utc_now(),
        )
    )
    return get_version(m["name"], v["version"])[1]


def _failure(result: dict[str, Any]) -> str:
    value = "not measured" if result["value"] is None else f"{result['value']:g}"
    return f"{result['metric']} {result['op']} {result['threshold']:g} (is {value})"


def next_actions(model: str, version: str | None = None) -> dict[str, tuple[str, ...]]:
    """The states a version can move to next, with the roles that may move it."""
    _, v = get_version(model, version)
    return allowed_next(v["state"])


def search(query: str) -> Any:
    """Models matching a search query (see ``search_syntax`` for the language)."""
    from ..search_syntax import parse
    from ..store.search import compile_search

    condition, params = compile_search(parse(query))
    return q.search_models(_store(), condition, params)


def audit_trail(model: str, version: str | None = None) -> Any:
    """Every transition, gate result, waiver and artifact of a model (or one version), in time order."""
    group, name, spec_version = split_spec(model)
    m = get_model(name, group)
    return q.audit(_store(), m["name"], version or spec_version)


def show(model: str) -> dict[str, Any]:
    """A model with its versions (and each version's allowed next states)."""
    group, name, _ = split_spec(model)
    m = get_model(name, group)
    versions = q.versions(_store(), m["model_id"])
    for v in versions:
        v["next"] = allowed_next(v["state"])
    return {"model": m, "versions": versions}


__all__ = [
    "ARTIFACT_KINDS",
    "STATES",
    "audit_trail",
    "create_version",
    "evaluate_gates",
    "get_model",
    "get_version",
    "next_actions",
    "register_model",
    "retire_model",
    "search",
    "set_gate",
    "show",
    "transition",
    "update_model",
    "waive",
]
