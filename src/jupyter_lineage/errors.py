"""Exception types: one base class, one subclass per domain.

Every message names the bad value and says how to fix it, so magics and the
CLI can print it as a single line.
"""

from __future__ import annotations


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
