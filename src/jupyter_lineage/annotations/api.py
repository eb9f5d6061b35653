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

from ..capture.recorder import OpenExperiment, Recorder
from ..errors import UsageError
from ..journal import utc_now
from ..sessions import current_recorder, current_store
from .model import (
    KINDS,
    OUTCOMES,
    check_kind,
    check_metric_value,
    check_text,
    evaluate_criterion,
    parse_criterion,
    split_template_answers,
    template,
)

_HEX_ID = re.compile(r"^[0-9a-f]{4,32}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def _store(recorder: Recorder) -> Any:
    return current_store()


def resolve_target(recorder: Recorder, target: str) -> dict[str, Any]:
    """Turn ``LAST``, an execution id (or unique prefix), ``var:NAME``, ``file:PATH``,
    ``model:NAME``, ``model:[GROUP/]NAME@VERSION`` (a registered version) or
    ``experiment:NAME`` into a target record; unknown targets raise."""
    spec = target.strip()
    kinds = (
        "LAST, an execution id, var:NAME, file:PATH, model:NAME, model:NAME@VERSION "
        "or experiment:NAME"
    )
    if spec.upper() == "LAST":
        if not recorder.recent:
            raise UsageError(
                "no captured execution to annotate yet (--on LAST); run a %%lineage cell first"
            )
        return {"type": "execution", "ref": recorder.recent[-1].execution_id}
    prefix, sep, rest = spec.partition(":")
    if not sep:
        if _HEX_ID.match(spec):
            return {"type": "execution", "ref": _resolve_execution(recorder, spec)}
        raise UsageError(f"unknown annotation target {spec!r}; use {kinds}")
    if not rest:
        raise UsageError(f"annotation target {spec!r} names nothing after {prefix}:; use {kinds}")
    if prefix == "var":
        shell = recorder.shell
        if shell is None or rest not in shell.user_ns:
            raise UsageError(f"no variable named {rest!r} in this kernel (target {spec!r})")
        from ..capture.fingerprint import fingerprint

        fp = fingerprint(shell.user_ns[rest], budget_s=recorder.value_budget_s)
        return {"type": "value", "ref": rest, "fingerprint": fp.digest}
    if prefix == "file":
        path = Path(rest).expanduser()
        path = path if path.is_absolute() else Path.cwd() / path
        if not path.is_file():
            raise UsageError(
                f"no file at {path} (target {spec!r}); give the path of an existing file"
            )
        from ..capture.fingerprint import sha256_file

        digest, _ = sha256_file(path)
        return {"type": "file", "ref": str(path.resolve()), "sha256": digest}
    if prefix == "model" and "@" in rest:
        return _version_target(rest)
    if prefix == "model":
        if not _NAME.match(rest):
            raise UsageError(f"bad model name {rest!r}; use letters, digits, '-', '_' and '.'")
        known = any(r.model == rest for r in recorder.recent) or _exists(
            recorder, "SELECT 1 FROM runs WHERE model = ? LIMIT 1", rest
        )
        if not known:
            raise UsageError(f"unknown model {rest!r}: no cell was captured with --model {rest}")
        return {"type": "model", "ref": rest}
    if prefix == "experiment":
        if recorder.experiment is not None and recorder.experiment.name == rest:
            return {"type": "experiment", "ref": recorder.experiment.experiment_id, "name": rest}
        found = _latest_experiment_id(recorder, rest)
        if found is None:
            raise UsageError(
                f"unknown experiment {rest!r}; start one with %lineage_experiment start {rest}"
            )
        return {"type": "experiment", "ref": found, "name": rest}
    if prefix in ("exec", "execution"):
        return {"type": "execution", "ref": _resolve_execution(recorder, rest)}
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


def _exists(recorder: Recorder, sql: str, *params: Any) -> bool:
    if not (recorder.store_dir / "journal").is_dir():
        return False
    return not _store(recorder).query(sql, list(params)).empty


def _latest_experiment_id(recorder: Recorder, name: str) -> str | None:
    if not (recorder.store_dir / "journal").is_dir():
        return None
    df = _store(recorder).query(
        "SELECT experiment_id FROM experiments WHERE name = ? ORDER BY started_at DESC LIMIT 1",
        [name],
    )
    return None if df.empty else str(df.iloc[0, 0])


def _resolve_execution(recorder: Recorder, prefix: str) -> str:
    local = [r.execution_id for r in recorder.recent if r.execution_id.startswith(prefix)]
    if len(local) == 1:
        return local[0]
    matches = local
    if not local and (recorder.store_dir / "journal").is_dir():
        df = _store(recorder).query(
            "SELECT DISTINCT execution_id FROM runs WHERE starts_with(execution_id, ?) LIMIT 3",
            [prefix],
        )
        matches = list(df["execution_id"])
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(
            f"no captured execution with id {prefix!r}; see SELECT execution_id, name FROM runs"
        )
    raise UsageError(f"execution id prefix {prefix!r} is ambiguous; give more characters")


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
    recorder = current_recorder()
    kind = check_kind(kind)
    text = check_text(text)
    targets = [
        resolve_target(recorder, t) for t in ([on] if isinstance(on, str) else list(on or []))
    ]
    annotation_id = uuid.uuid4().hex
    previous, thread = (None, annotation_id)
    if revises:
        previous, thread = _resolve_annotation(recorder, revises)
    recorder.emit(
        "annotation",
        {
            "annotation_id": annotation_id,
            "thread_id": thread,
            "revises": previous,
            "kind": kind,
            "text": text,
            "author": author or recorder.author,
            "targets": targets,
            "experiment_id": recorder.experiment.experiment_id if recorder.experiment else None,
            "question": question,
            "template": template_name,
            "created_at": utc_now(),
        },
    )
    recorder.annotation_ids[annotation_id] = thread
    return annotation_id


def _resolve_annotation(recorder: Recorder, prefix: str) -> tuple[str, str]:
    """(annotation id, thread id) of the annotation a revision replaces."""
    prefix = prefix.strip()
    local = [a for a in recorder.annotation_ids if a.startswith(prefix)]
    if len(local) == 1:
        return local[0], recorder.annotation_ids[local[0]]
    if (recorder.store_dir / "journal").is_dir():
        # The records, not annotation_history: a repeat (the same text written again by a
        # re-run) is no revision there, but its id is still one the user was given.
        df = _store(recorder).query(
            "SELECT annotation_id, thread_id FROM annotation_records "
            "WHERE starts_with(annotation_id, ?) LIMIT 3",
            [prefix],
        )
        if len(df) == 1:
            return str(df.iloc[0, 0]), str(df.iloc[0, 1])
        if len(df) > 1:
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
    recorder = current_recorder()
    number = check_metric_value(name, value)
    if step is not None and (not isinstance(step, int) or isinstance(step, bool)):
        raise UsageError(f"step must be a whole number, not {step!r}")
    recorder.emit(
        "metric",
        {
            "name": name,
            "value": number,
            "step": step,
            "execution_id": recorder.current_execution_id,
            "experiment_id": recorder.experiment.experiment_id if recorder.experiment else None,
            "logged_at": utc_now(),
        },
    )
    if recorder.experiment is not None:
        recorder.experiment.metrics[name] = number


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    """``log_metric`` for each item."""
    for name, value in metrics.items():
        log_metric(name, value, step)


def log_param(name: str, value: Any) -> None:
    """Record a parameter (any JSON-serialisable value; others are stored as their str)."""
    recorder = current_recorder()
    if not name or not isinstance(name, str):
        raise UsageError(f"parameter name must be a non-empty string, not {name!r}")
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        value = str(value)
    recorder.emit(
        "param",
        {
            "name": name,
            "value": value,
            "execution_id": recorder.current_execution_id,
            "experiment_id": recorder.experiment.experiment_id if recorder.experiment else None,
            "logged_at": utc_now(),
        },
    )


def log_params(params: dict[str, Any]) -> None:
    """``log_param`` for each item."""
    for name, value in params.items():
        log_param(name, value)


def start_experiment(name: str, hypothesis: str | None = None, success: str | None = None) -> str:
    """Open an experiment: cells captured until ``end_experiment`` belong to it. Returns its id."""
    recorder = current_recorder()
    if not name or not _NAME.match(name):
        raise UsageError(f"bad experiment name {name!r}; use letters, digits, '-', '_' and '.'")
    if recorder.experiment is not None:
        raise UsageError(
            f"experiment {recorder.experiment.name!r} is still open; end it first with %lineage_experiment end"
        )
    if success:
        parse_criterion(success)
    experiment_id = uuid.uuid4().hex
    recorder.emit(
        "experiment_start",
        {
            "experiment_id": experiment_id,
            "name": name,
            "hypothesis": hypothesis,
            "success": success,
            "notebook_path": recorder.notebook_path,
            "started_at": utc_now(),
        },
    )
    recorder.experiment = OpenExperiment(experiment_id, name, hypothesis, success)
    return experiment_id


def end_experiment(outcome: str | None = None) -> dict[str, Any]:
    """Close the open experiment, evaluate its success criterion, and record the outcome."""
    recorder = current_recorder()
    exp = recorder.experiment
    if exp is None:
        raise UsageError("no experiment is open; start one with %lineage_experiment start NAME")
    if outcome is not None and outcome not in OUTCOMES:
        raise UsageError(f"unknown outcome {outcome!r}; use one of: {', '.join(OUTCOMES)}")
    evaluation = evaluate_criterion(
        parse_criterion(exp.success) if exp.success else (), exp.metrics
    )
    result = {
        "experiment_id": exp.experiment_id,
        "name": exp.name,
        "outcome": outcome or evaluation.outcome,
        "declared_outcome": outcome,
        "evaluated_outcome": evaluation.outcome,
        "criterion_met": evaluation.met,
        "evaluation": evaluation.detail,
        "metrics": dict(exp.metrics),
        "ended_at": utc_now(),
    }
    recorder.emit("experiment_end", result)
    recorder.experiment = None
    return result


def completeness(target: str, template_name: str = "design") -> list[str]:
    """The questions of a template not yet answered for ``experiment:NAME`` or ``model:NAME``."""
    recorder = current_recorder()
    resolved = resolve_target(recorder, target)
    if resolved["type"] not in ("experiment", "model"):
        raise UsageError(
            f"the completeness check takes experiment:NAME or model:NAME, not {target!r}"
        )
    questions = template(template_name)
    answered: set[str] = set()
    if (recorder.store_dir / "journal").is_dir():
        df = _store(recorder).answered_questions(resolved["type"], resolved["ref"], template_name)
        answered = set(df["question"])
    return [q.text for q in questions if q.id not in answered]


def kinds() -> dict[str, str]:
    """Annotation kinds and what each is for."""
    return dict(KINDS)


__all__ = [
    "completeness",
    "current_recorder",
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
