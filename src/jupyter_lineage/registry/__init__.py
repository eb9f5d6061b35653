"""The model registry: models, versions, a reviewed lifecycle, evaluation gates, artifacts and search."""

from __future__ import annotations

from .api import (
    STATES,
    audit_trail,
    create_version,
    evaluate_gates,
    get_model,
    get_version,
    next_actions,
    register_model,
    retire_model,
    search,
    set_gate,
    show,
    transition,
    update_model,
    waive,
)
from .artifacts import add_artifact, fetch, verify

promote = transition

__all__ = [
    "STATES",
    "add_artifact",
    "audit_trail",
    "create_version",
    "evaluate_gates",
    "fetch",
    "get_model",
    "get_version",
    "next_actions",
    "promote",
    "register_model",
    "retire_model",
    "search",
    "set_gate",
    "show",
    "transition",
    "update_model",
    "verify",
    "waive",
]
