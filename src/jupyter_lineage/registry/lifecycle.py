"""The reviewed lifecycle of a model version: states, legal transitions, and who may make them (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import RegistryError

STATES = (
    "DRAFT",
    "SUBMITTED",
    "CHANGES_REQUESTED",
    "APPROVED_STAGING",
    "STAGING",
    "APPROVED_PROD",
    "PRODUCTION",
    "DEPRECATED",
    "RETIRED",
)
ROLES = ("owner", "reviewer", "security", "sre", "auditor", "admin")

# (from, to) → roles that may make the transition. ``admin`` may make any legal one;
# ``auditor`` reads the trail and makes none.
TRANSITIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("DRAFT", "SUBMITTED"): ("owner",),
    ("SUBMITTED", "CHANGES_REQUESTED"): ("reviewer", "security"),
    ("CHANGES_REQUESTED", "SUBMITTED"): ("owner",),
    ("SUBMITTED", "APPROVED_STAGING"): ("reviewer",),
    ("APPROVED_STAGING", "STAGING"): ("sre",),
    ("STAGING", "APPROVED_PROD"): ("reviewer", "security"),
    ("APPROVED_PROD", "PRODUCTION"): ("sre",),
    ("PRODUCTION", "DEPRECATED"): ("owner", "sre"),
    ("DEPRECATED", "RETIRED"): ("owner", "sre"),
    # abandoning a version that never reached production
    ("DRAFT", "RETIRED"): ("owner",),
    ("CHANGES_REQUESTED", "RETIRED"): ("owner",),
    ("STAGING", "DEPRECATED"): ("owner", "sre"),
}

# Promotions into these states must pass the evaluation gates (or hold a waiver).
GATED_STATES = ("APPROVED_STAGING", "APPROVED_PROD")


def allowed_next(state: str) -> dict[str, tuple[str, ...]]:
    """Next states from ``state``, each with the roles that may move there."""
    return {to: (*roles, "admin") for (frm, to), roles in TRANSITIONS.items() if frm == state}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a transition, in which role."""

    name: str
    role: str


def check_transition(state: str, target: str, actor: Actor, owners: tuple[str, ...] = ()) -> None:
    """Raise RegistryError, naming the allowed next states and roles, unless the transition is legal."""
    if target not in STATES:
        raise RegistryError(f"unknown state {target!r}; states are {', '.join(STATES)}")
    if actor.role not in ROLES:
        raise RegistryError(f"unknown role {actor.role!r}; roles are {', '.join(ROLES)}")
    if not actor.name or not actor.name.strip():
        raise RegistryError("a transition needs an actor: who is making it (e.g. an email address)")
    nexts = allowed_next(state)
    if target not in nexts:
        options = (
            "; ".join(f"{to} (by {'/'.join(roles)})" for to, roles in nexts.items())
            or "none: it is final"
        )
        raise RegistryError(f"cannot move from {state} to {target}; allowed next: {options}")
    roles = nexts[target]
    if actor.role not in roles:
        raise RegistryError(
            f"role {actor.role!r} may not move a version from {state} to {target}; "
            f"that takes the role {' or '.join(repr(r) for r in roles)}"
        )
    if actor.role == "owner" and owners and actor.name not in owners:
        raise RegistryError(
            f"{actor.name} acts as owner but is not an owner of this model (owners: {', '.join(owners)})"
        )
