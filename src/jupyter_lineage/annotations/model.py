"""Annotation kinds, documentation templates and experiment success criteria (pure)."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import UsageError

KINDS: dict[str, str] = {
    "rationale": "why something was built this way",
    "hypothesis": "what a run or experiment tests",
    "alternative": "an option considered and not taken, and why",
    "decision": "a choice that was made",
    "failed_attempt": "why an attempt failed and what was learned",
    "review": "a human judgement or intervention (label fix, manual weight change)",
    "note": "anything else",
}

OUTCOMES = ("success", "failure", "inconclusive")

TARGET_TYPES = ("execution", "value", "file", "model", "model_version", "experiment")


@dataclass(frozen=True, slots=True)
class Question:
    """One gateway question of a documentation template."""

    id: str
    kind: str
    text: str


TEMPLATES: dict[str, tuple[Question, ...]] = {
    "design": (
        Question("model_choice", "rationale", "Why this model type?"),
        Question(
            "alternatives",
            "alternative",
            "Which alternatives were considered, and why were they not taken?",
        ),
        Question("data_quality", "rationale", "How did data quality influence the choice?"),
        Question("risks", "decision", "What are the risks, and how are they mitigated?"),
        Question("success", "hypothesis", "What counts as success, and how is it measured?"),
    ),
}


def check_kind(kind: str) -> str:
    """The kind, or a UsageError listing the valid ones."""
    if kind not in KINDS:
        raise UsageError(f"unknown annotation kind {kind!r}; use one of: {', '.join(KINDS)}")
    return kind


def check_text(text: str) -> str:
    """Annotation text, exactly as given (stored byte for byte); blank text is refused."""
    if text is None or not str(text).strip():
        raise UsageError(
            "annotation text is empty; write what you want to record, e.g. why this model"
        )
    return str(text)


def template(name: str) -> tuple[Question, ...]:
    """The questions of a named template."""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise UsageError(f"unknown template {name!r}; available: {', '.join(TEMPLATES)}") from None


def template_markdown(name: str) -> str:
    """The template as Markdown to fill in: one ``## question`` heading per question."""
    return "\n\n".join(f"## {q.text}\n" for q in template(name))


def split_template_answers(name: str, markdown: str) -> list[tuple[Question, str]]:
    """The non-empty answers in a filled-in template, each with its question."""
    questions = {q.text.strip().lower(): q for q in template(name)}
    answers: list[tuple[Question, str]] = []
    current: Question | None = None
    lines: list[str] = []

    def flush() -> None:
        body = "\n".join(lines).strip()
        if current is not None and body:
            answers.append((current, body))

    for line in markdown.splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*$", line)
        if heading and heading.group(1).strip().lower() in questions:
            flush()
            current = questions[heading.group(1).strip().lower()]
            lines = []
        else:
            lines.append(line)
    flush()
    return answers


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
