"""Plain records shared by capture, the session and the layers above them (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FingerprintKind = Literal["content", "identity", "timeout", "error"]
ExecutionStatus = Literal["ok", "failed", "interrupted"]


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A content fingerprint of one in-memory value, with a short description of it.

    ``kind`` is ``content`` when ``digest`` is a hash of the value's content;
    ``identity`` when the value could not be hashed by content and ``digest``
    only identifies the object; ``timeout`` when hashing ran out of its time
    budget; ``error`` when hashing raised (``note`` says why).
    """

    digest: str
    kind: FingerprintKind
    type_name: str
    shape: str | None = None
    length: int | None = None
    summary: str = ""
    note: str | None = None


@dataclass(slots=True)
class OpenExperiment:
    """The experiment cells currently belong to, with the latest value of each metric logged in it."""

    experiment_id: str
    name: str
    hypothesis: str | None
    success: str | None
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RecentExecution:
    """A captured execution of this kernel session, kept for annotation targets and pickers."""

    execution_id: str
    execution_count: int | None
    name: str | None
    model: str | None
    status: str
    outputs: tuple[str, ...]
    files: tuple[str, ...]
