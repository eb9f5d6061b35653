"""What a check found: one record for ``doctor`` (can the store be used?) and ``verify``
(is the record intact?)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Status = Literal["ok", "warning", "error"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's verdict: ``ok``, ``warning`` (still usable) or ``error``."""

    check: str
    """What was checked: ``database``, ``journal``, ``artifact``, ``file``..."""
    status: Status
    detail: str
    """What was found, in one line."""
    fix: str | None = None
    """How to fix it, when there is something to do."""
    where: str | None = None
    """The journal, artifact or path it concerns."""
    offset: int | None = None
    """The byte offset in a journal."""

    def line(self) -> str:
        where = f"{self.where}" if self.where is not None else self.check
        at = f" at byte {self.offset}" if self.offset is not None else ""
        return f"{where}{at}: {self.detail}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
