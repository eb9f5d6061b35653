"""Plain records shared by capture, the session and the layers above them (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

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
class Environment:
    """Where code ran. ``environment_id`` is a hash of every field but ``captured_at``."""

    environment_id: str
    captured_at: str
    python_version: str
    python_implementation: str
    python_executable: str
    platform: str
    os_name: str
    os_release: str
    machine: str
    hostname: str
    cpu_model: str | None
    cpu_count: int | None
    ram_bytes: int | None
    gpus: list[dict[str, Any]] = field(default_factory=list)
    git: dict[str, Any] | None = None
    container: dict[str, Any] | None = None
    env_vars: dict[str, str] = field(default_factory=dict)
    packages: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "environment_id": self.environment_id,
            "captured_at": self.captured_at,
            "python_version": self.python_version,
            "python_implementation": self.python_implementation,
            "python_executable": self.python_executable,
            "platform": self.platform,
            "os_name": self.os_name,
            "os_release": self.os_release,
            "machine": self.machine,
            "hostname": self.hostname,
            "cpu_model": self.cpu_model,
            "cpu_count": self.cpu_count,
            "ram_bytes": self.ram_bytes,
            "gpus": self.gpus,
            "git": self.git,
            "container": self.container,
            "env_vars": self.env_vars,
            "packages": self.packages,
        }


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
