"""The identifiers the record uses, and the one rule for what an execution id looks like.

An execution id is 32 lowercase hex digits (a UUID4 without dashes), and so is an
annotation id. Wherever a person types one, a unique prefix of at least 4 digits will do;
``LAST`` names the last captured execution of the kernel session where the kernel knows it.
"""

from __future__ import annotations

import re

EXECUTION_ID_LENGTH = 32
MIN_PREFIX = 4
_EXECUTION_ID = re.compile(r"[0-9a-f]{32}")
_EXECUTION_PREFIX = re.compile(r"[0-9a-f]{4,32}")


def is_execution_id(text: str) -> bool:
    """Whether ``text`` is a whole execution id."""
    return _EXECUTION_ID.fullmatch(text) is not None


def is_execution_prefix(text: str) -> bool:
    """Whether ``text`` can stand for an execution id: 4 to 32 lowercase hex digits."""
    return _EXECUTION_PREFIX.fullmatch(text) is not None
