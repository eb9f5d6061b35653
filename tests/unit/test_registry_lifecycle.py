"""Every legal and illegal transition, and who may make it."""

from __future__ import annotations

import itertools

import pytest

from jupyter_lineage.errors import RegistryError
from jupyter_lineage.registry.lifecycle import (
    ROLES,
    STATES,
    TRANSITIONS,
    Actor,
    allowed_next,
    check_transition,
)

OWNERS = ("owner@example.com",)


def _actor(role: str) -> Actor:
    return Actor("owner@example.com" if role == "owner" else f"{role}@example.com", role)


@pytest.mark.parametrize(("state", "target"), list(itertools.product(STATES, STATES)))
@pytest.mark.parametrize("role", ROLES)
def test_every_pair_of_states_for_every_role(state: str, target: str, role: str) -> None:
    legal = (state, target) in TRANSITIONS
    allowed_roles = (*TRANSITIONS.get((state, target), ()), "admin")
    if legal and role in allowed_roles:
        check_transition(state, target, _actor(role), OWNERS)
        return
    with pytest.raises(RegistryError) as info:
        check_transition(state, target, _actor(role), OWNERS)
    message = str(info.value)
    assert "\n" not in message
    if not legal:
        assert f"cannot move from {state} to {target}" in message
        for nxt in allowed_next(state):
            assert nxt in message  # names the allowed next states
    else:
        assert f"role {role!r} may not" in message
        assert all(repr(r) in message for r in allowed_roles)  # names the roles that may


def test_the_reviewed_path_to_production_and_retirement() -> None:
    path = [
        ("DRAFT", "SUBMITTED", "owner"),
        ("SUBMITTED", "CHANGES_REQUESTED", "reviewer"),
        ("CHANGES_REQUESTED", "SUBMITTED", "owner"),
        ("SUBMITTED", "APPROVED_STAGING", "reviewer"),
        ("APPROVED_STAGING", "STAGING", "sre"),
        ("STAGING", "APPROVED_PROD", "security"),
        ("APPROVED_PROD", "PRODUCTION", "sre"),
        ("PRODUCTION", "DEPRECATED", "owner"),
        ("DEPRECATED", "RETIRED", "sre"),
    ]
    for state, target, role in path:
        check_transition(state, target, _actor(role), OWNERS)
    assert allowed_next("RETIRED") == {}


def test_auditors_make_no_transitions() -> None:
    for state, target in TRANSITIONS:
        with pytest.raises(RegistryError, match="role 'auditor' may not"):
            check_transition(state, target, _actor("auditor"), OWNERS)


def test_owner_role_needs_a_listed_owner() -> None:
    with pytest.raises(RegistryError, match="is not an owner of this model"):
        check_transition("DRAFT", "SUBMITTED", Actor("mallory@example.com", "owner"), OWNERS)


@pytest.mark.parametrize(
    ("target", "actor", "message"),
    [
        ("LIVE", Actor("a@b.co", "owner"), "unknown state 'LIVE'"),
        ("SUBMITTED", Actor("a@b.co", "boss"), "unknown role 'boss'"),
        ("SUBMITTED", Actor(" ", "owner"), "needs an actor"),
    ],
)
def test_bad_arguments(target: str, actor: Actor, message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        check_transition("DRAFT", target, actor, OWNERS)
