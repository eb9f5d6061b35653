"""Annotation kinds, documentation templates and experiment success criteria (pure)."""

from __future__ import annotations

import re
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
