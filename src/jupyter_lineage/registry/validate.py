"""Checks on what goes into the registry: names, owners, versions, JSON schemas (pure)."""

from __future__ import annotations

import re
from typing import Any

from ..errors import UsageError

NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
RISK_TIERS = ("LOW", "MEDIUM", "HIGH")


def check_name(name: str, what: str = "model name") -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise UsageError(f"bad {what} {name!r}: use letters, digits, '-' and '_' only")
    return name


def check_owners(owners: list[str] | tuple[str, ...] | str) -> tuple[str, ...]:
    if isinstance(owners, str):
        owners = [o.strip() for o in owners.split(",") if o.strip()]
    owners = tuple(owners)
    if not owners:
        raise UsageError("a model needs at least one owner (an email address)")
    for owner in owners:
        if not EMAIL_RE.match(owner):
            raise UsageError(f"owner {owner!r} is not an email address")
    return owners


def check_risk_tier(tier: str) -> str:
    value = (tier or "").upper()
    if value not in RISK_TIERS:
        raise UsageError(f"unknown risk tier {tier!r}; use LOW, MEDIUM or HIGH")
    return value


def check_semver(version: str) -> str:
    """A valid semantic version (``1.2.3``, ``1.0.0-rc.1``, ``2.0.0+build.5``)."""
    import semver

    try:
        semver.Version.parse(version)
    except (ValueError, TypeError):
        raise UsageError(
            f"{version!r} is not a semantic version; write MAJOR.MINOR.PATCH, e.g. 1.0.0"
        ) from None
    return version


def semver_key(version: str) -> Any:
    """A sort key in semantic-version precedence (1.0.0-rc.1 < 1.0.0 < 1.0.1 < 1.10.0)."""
    import semver

    return semver.Version.parse(version)


def check_newer(version: str, existing: list[str]) -> None:
    """Versions of a model must strictly increase."""
    if not existing:
        return
    latest = max(existing, key=semver_key)
    if semver_key(version) <= semver_key(latest):
        raise UsageError(
            f"version {version} is not newer than the latest, {latest}; versions must increase"
        )


def check_json_schema(schema: Any, what: str) -> Any:
    """A JSON Schema document (checked against its metaschema), or None."""
    if schema is None:
        return None
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    if not isinstance(schema, dict):
        raise UsageError(f"{what} must be a JSON Schema object, not {type(schema).__name__}")
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(top level)"
        raise UsageError(f"{what} is not a valid JSON Schema at {where}: {exc.message}") from None
    return schema
