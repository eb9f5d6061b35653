"""Success criteria and metric values: ``"accuracy >= 0.85 and loss < 0.3"`` (pure).

An experiment's success criterion and a model version's promotion gates are both
written in this language; experiments evaluate it against their logged metrics,
and gates against a version's.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from .errors import UsageError

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_TERM = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_.\-/]*)\s*(>=|<=|==|!=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)


@dataclass(frozen=True, slots=True)
class Condition:
    """``metric OP threshold``."""

    metric: str
    op: str
    threshold: float

    def holds(self, value: float) -> bool:
        return _OPERATORS[self.op](value, self.threshold)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.threshold:g}"


def parse_criterion(text: str) -> tuple[Condition, ...]:
    """Parse ``"accuracy >= 0.85 and loss < 0.3"`` into conditions (all must hold)."""
    if not text or not text.strip():
        raise UsageError(
            'empty success criterion; write it as "metric >= value", e.g. "accuracy >= 0.85"'
        )
    conditions = []
    for part in re.split(r"\s+(?:and|AND)\s+|\s*&&\s*", text.strip()):
        m = _TERM.match(part)
        if m is None:
            raise UsageError(
                f'malformed success criterion {part.strip()!r}; write "metric OP number" with OP one of '
                '>=, <=, >, <, ==, != (join several with "and"), e.g. "accuracy >= 0.85"'
            )
        conditions.append(Condition(m.group(1), m.group(2), float(m.group(3))))
    return tuple(conditions)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The outcome of checking a criterion against the latest metric values."""

    met: bool | None
    outcome: str
    detail: str


def evaluate_criterion(conditions: tuple[Condition, ...], metrics: dict[str, float]) -> Evaluation:
    """success when every condition holds, failure when one does not, inconclusive when a metric is missing."""
    if not conditions:
        return Evaluation(None, "inconclusive", "no success criterion was set")
    parts, met = [], True
    for cond in conditions:
        value = metrics.get(cond.metric)
        if value is None:
            return Evaluation(None, "inconclusive", f"metric {cond.metric!r} was never logged")
        ok = cond.holds(value)
        met = met and ok
        parts.append(f"{cond.metric} = {value:g} ({'meets' if ok else 'misses'} {cond})")
    return Evaluation(met, "success" if met else "failure", "; ".join(parts))


def check_metric_value(name: str, value: object) -> float:
    """A finite number, or a UsageError naming the metric."""
    if not name or not re.match(r"^[A-Za-z_][A-Za-z0-9_.\-/=]*$", str(name)):
        raise UsageError(
            f"bad metric name {name!r}; use letters, digits and _ . - / =, starting with a letter (accuracy/plan=pro is accuracy for one group)"
        )
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UsageError(f"metric {name!r} needs a number, not {value!r}") from None
    if not math.isfinite(number):
        raise UsageError(f"metric {name!r} is {number}; log a finite number")
    return number
