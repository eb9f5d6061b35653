"""Exception types: one base class, one subclass per domain.

Every message names the bad value and says how to fix it, so magics and the
CLI can print it as a single line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class LineageError(Exception):
    """Base class for every error jupyter-lineage raises on purpose."""


class UsageError(LineageError):
    """Invalid arguments to a magic, CLI command or API function."""


class StoreError(LineageError):
    """The store cannot be opened, read or written."""


class StoreLockedError(StoreError):
    """Another process holds the DuckDB file for longer than we are willing to wait."""


class SchemaVersionError(StoreError):
    """The store was written by a newer jupyter-lineage than this one."""


class QueryError(StoreError):
    """A user-supplied SQL query failed."""


class JournalError(LineageError):
    """A journal file is unreadable or its hash chain does not verify."""


class RegistryError(LineageError):
    """A registry operation was refused (unknown model, illegal transition, failing gate...)."""


class SearchSyntaxError(UsageError):
    """A registry search query could not be parsed; the message points at the position."""


def or_none(fn: Callable[[], T]) -> T | None:
    """``fn()``, or None when it raises: for facts that are nice to have (a host name, a user)."""
    try:
        return fn()
    except Exception:
        return None


def describe(exc: BaseException) -> str:
    """``Type: message`` of an exception, for a one-line report (the message cut at 200 chars)."""
    text = or_none(lambda: str(exc)) or ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__
