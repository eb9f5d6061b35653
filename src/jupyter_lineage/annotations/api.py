"""Annotations, metrics, parameters and experiments, recorded from Python.

Everything here appends events to the current kernel's journal (the same one
capture writes), so annotations survive exactly like cell records do. Outside
IPython, a script gets a session of its own in the store named by
``JUPYTER_LINEAGE_DIR`` (or ``./.lineage``).
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from ..criteria import check_metric_value, evaluate_criterion, parse_criterion
from ..errors import UsageError
from ..events import Annotation, ExperimentEnd, ExperimentStart, Metric, Param, Target, event_data
from ..ids import is_execution_prefix
from ..journal import utc_now
from ..records import OpenExperiment
from ..session import Session, current_session
from .model import (
    KINDS,
    OUTCOMES,
    check_kind,
    check_text,
    split_template_answers,
    template,
)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def resolve_target(session: Session, target: str) -> dict[str, Any]:
    """Turn ``LAST``, an execution id (or unique prefix), ``var:NAME``, ``file:PATH``,
    ``model:NAME``, ``model:[GROUP/]NAME@VERSION`` (a registered version) or
    ``experiment:NAME`` into a target record; unknown targets raise."""
    spec = target.strip()
    kinds = (
        "LAST, an execution id, var:NAME, file:PATH, model:NAME, model:NAME@VERSION "
        "or experiment:NAME"
    )
    if spec.upper() == "LAST":
        if not session.recent:
            raise UsageError(
                "no captured execution to annotate yet (--on LAST); run a %%lineage cell first"
            )
        return {"type": "execution", "ref": session.recent[-1].execution_id}
    prefix, sep, rest = spec.partition(":")
    if not sep:
        if is_execution_prefix(spec):
            return {"type": "execution", "ref": session.resolve_execution(spec)}
        raise UsageError(f"unknown annotation target {spec!r}; use {kinds}")
    if not rest:
        raise UsageError(f"annotation target {spec!r} names nothing after {prefix}:; use {kinds}")
    if prefix == "var":
        kernel = session.kernel
        if kernel is None or rest not in kernel.user_ns:
            raise UsageError(f"no variable named {rest!r} in this kernel (target {spec!r})")
        from ..capture.fingerprint import fingerprint

        fp = fingerprint(kernel.user_ns[rest], budget_s=kernel.value_budget_s)
        return {"type": "value", "ref": rest, "fingerprint": fp.digest}
    if prefix == "file":
        path = Path(rest).expanduser()
        path = path if path.is_absolute() else Path.cwd() / path
        if not path.is_file():
            raise UsageError(
                f"no file at {path} (target {spec!r}); give the path of an existing file"
            )
        from ..hashing import sha256_file

        digest, _ = sha256_file(path)
        return {"type": "file", "ref": str(path.resolve()), "sha256": digest}
    if prefix == "model" and "@" in rest:
        return _version_target(rest)
    if prefix == "model":
        if not _NAME.match(rest):
            raise UsageError(f"bad model name {rest!r}; use letters, digits, '-', '_' and '.'")
        known = any(r.model == rest for r in session.recent) or (
            session.has_journals and session.store().model_captured(rest)
        )
        if not known:
            raise UsageError(f"unknown model {rest!r}: no cell was captured with --model {rest}")
        return {"type": "model", "ref": rest}
    if prefix == "experiment":
        if session.experiment is not None and session.experiment.name == rest:
            return {"type": "experiment", "ref": session.experiment.experiment_id, "name": rest}
        found = _latest_experiment_id(session, rest)
        if found is None:
            raise UsageError(
                f"unknown experiment {rest!r}; start one with %lineage_experiment start {rest}"
            )
        return {"type": "experiment", "ref": found, "name": rest}
    if prefix in ("exec", "execution"):
        return {"type": "execution", "ref": session.resolve_execution(rest)}
    raise UsageError(f"unknown annotation target {spec!r}; use {kinds}")


def _version_target(spec: str) -> dict[str, Any]:
    """A registered model version, by its id: names and version strings are for people."""
    from ..registry.api import get_version, split_spec

    group, name, version = split_spec(spec)
    if not version or not _NAME.match(name) or (group is not None and not _NAME.match(group)):
        raise UsageError(
            f"bad model version {spec!r}; write model:NAME@VERSION, e.g. model:churn@1.0.0"
        )
    model, found = get_version(spec)
    return {
        "type": "model_version",
        "ref": found["version_id"],
        "name": f"{model['group_name']}/{model['name']}@{found['version']}",
    }


def _latest_experiment_id(session: Session, name: str) -> str | None:
    return session.store().latest_experiment_id(name) if session.has_journals else None


def note(
    text: str,
    kind: str = "note",
    on: str | list[str] | None = None,
    revises: str | None = None,
    question: str | None = None,
    template_name: str | None = None,
    author: str | None = None,
) -> str:
    """Record an annotation; returns its id.

    Args:
        text: Markdown.
        kind: one of rationale, hypothesis, alternative, decision, failed_attempt, review, note.
        on: what it explains: ``LAST``, an execution id, ``var:NAME``, ``file:PATH``,
            ``model:NAME``, ``model:NAME@VERSION``, ``experiment:NAME`` (or a list of them).
            The open experiment, if any, is always linked.
        revises: the id of an earlier annotation this one replaces (both stay queryable).
            A new answer to a template ``question`` on the same target revises the earlier
            answer without it, and writing the current text again (a re-run) adds no revision.
        author: who wrote it (the Jupyter server passes its signed-in user); by default
            the session's author (``JUPYTER_LINEAGE_AUTHOR``, git's user.email, user@host).
    """
    session = current_session()
    kind = check_kind(kind)
    text = check_text(text)
    targets = [
        resolve_target(session, t) for t in ([on] if isinstance(on, str) else list(on or []))
    ]
    annotation_id = uuid.uuid4().hex
    previous, thread = (None, annotation_id)
    if revises:
        previous, thread = _resolve_annotation(session, revises)
    session.emit(
        Annotation(
            annotation_id=annotation_id,
            thread_id=thread,
            revises=previous,
            kind=kind,
            text=text,
            author=author or session.author,
            targets=[Target(**t) for t in targets],
            experiment_id=session.experiment.experiment_id if session.experiment else None,
            question=question,
            template=template_name,
            created_at=utc_now(),
        )
    )
    session.annotation_ids[annotation_id] = thread
    return annotation_id


def _resolve_annotation(session: Session, prefix: str) -> tuple[str, str]:
    """(annotation id, thread id) of the annotation a revision replaces."""
    prefix = prefix.strip()
    local = [a for a in session.annotation_ids if a.startswith(prefix)]
    if len(local) == 1:
        return local[0], session.annotation_ids[local[0]]
    if session.has_journals:
        found = session.store().annotations_by_prefix(prefix)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise UsageError(f"annotation id prefix {prefix!r} is ambiguous; give more characters")
    raise UsageError(
        f"no annotation with id {prefix!r} to revise; see SELECT annotation_id FROM annotations"
    )


def note_template(
    markdown: str, name: str = "design", on: str | list[str] | None = None
) -> list[str]:
    """Record each answered question of a filled-in template as its own annotation."""
    answers = split_template_answers(name, markdown)
    if not answers:
        raise UsageError(
            f"no answers found in the {name!r} template; write below its question headings"
        )
    return [
        note(text, kind=q.kind, on=on, question=q.id, template_name=name) for q, text in answers
    ]


def log_metric(name: str, value: float, step: int | None = None) -> None:
    """Record a metric on the running (or last captured) execution and the open experiment."""
    session = current_session()
    number = check_metric_value(name, value)
    if step is not None and (not isinstance(step, int) or isinstance(step, bool)):
        raise UsageError(f"step must be a whole number, not {step!r}")
    session.emit(
        Metric(
            name=name,
            value=number,
            step=step,
            execution_id=session.current_execution_id,
            experiment_id=session.experiment.experiment_id if session.experiment else None,
            logged_at=utc_now(),
        )
    )
    if session.experiment is not None:
        session.experiment.metrics[name] = number


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    """``log_metric`` for each item."""
    for name, value in metrics.items():
        log_metric(name, value, step)


def log_param(name: str, value: Any) -> None:
    """Record a parameter (any JSON-serialisable value; others are stored as their str)."""
    session = current_session()
    if not name or not isinstance(name, str):
        raise UsageError(f"parameter name must be a non-empty string, not {name!r}")
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        value = str(value)
    session.emit(
        Param(
            name=name,
            value=value,
            execution_id=session.current_execution_id,
            experiment_id=session.experiment.experiment_id if session.experiment else None,
            logged_at=utc_now(),
        )
    )


def log_params(params: dict[str, Any]) -> None:
    """``log_param`` for each item."""
    for name, value in params.items():
        log_param(name, value)


def start_experiment(name: str, hypothesis: str | None = None, success: str | None = None) -> str:
    """Open an experiment: cells captured until ``end_experiment`` belong to it. Returns its id."""
    session = current_session()
    if not name or not _NAME.match(name):
        raise UsageError(f"bad experiment name {name!r}; use letters, digits, '-', '_' and '.'")
    if session.experiment is not None:
        raise UsageError(
            f"experiment {session.experiment.name!r} is still open; end it first with %lineage_experiment end"
        )
    if success:
        parse_criterion(success)
    experiment_id = uuid.uuid4().hex
    session.emit(
        ExperimentStart(
            experiment_id=experiment_id,
            name=name,
            hypothesis=hypothesis,
            success=success,
            notebook_path=session.notebook_path,
            started_at=utc_now(),
        )
    )
    session.experiment = OpenExperiment(experiment_id, name, hypothesis, success)
    return experiment_id


def end_experiment(outcome: str | None = None) -> dict[str, Any]:
    """Close the open experiment, evaluate its success criterion, and record the outcome."""
    session = current_session()
    exp = session.experiment
    if exp is None:
        raise UsageError("no experiment is open; start one with %lineage_experiment start NAME")
    if outcome is not None and outcome not in OUTCOMES:
        raise UsageError(f"unknown outcome {outcome!r}; use one of: {', '.join(OUTCOMES)}")
    evaluation = evaluate_criterion(
        parse_criterion(exp.success) if exp.success else (), exp.metrics
    )
    ended = ExperimentEnd(
        experiment_id=exp.experiment_id,
        name=exp.name,
        outcome=outcome or evaluation.outcome,
        declared_outcome=outcome,
        evaluated_outcome=evaluation.outcome,
        criterion_met=evaluation.met,
        evaluation=evaluation.detail,
        metrics=dict(exp.metrics),
        ended_at=utc_now(),
    )
    session.emit(ended)
    session.experiment = None
    return event_data(ended)


def completeness(target: str, template_name: str = "design") -> list[str]:
    """The questions of a template not yet answered for ``experiment:NAME`` or ``model:NAME``."""
    session = current_session()
    resolved = resolve_target(session, target)
    if resolved["type"] not in ("experiment", "model"):
        raise UsageError(
            f"the completeness check takes experiment:NAME or model:NAME, not {target!r}"
        )
    questions = template(template_name)
    answered: set[str] = set()
    if session.has_journals:
        df = session.store().answered_questions(resolved["type"], resolved["ref"], template_name)
        answered = set(df["question"])
    return [q.text for q in questions if q.id not in answered]


def kinds() -> dict[str, str]:
    """Annotation kinds and what each is for."""
    return dict(KINDS)


__all__ = [
    "completeness",
    "current_session",
    "end_experiment",
    "kinds",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "note",
    "note_template",
    "resolve_target",
    "start_experiment",
]
