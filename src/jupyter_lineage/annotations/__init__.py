"""Rationale, hypotheses, failed attempts and experiments, recorded beside the captured work."""

from __future__ import annotations

from .api import (
    completeness,
    end_experiment,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    note,
    note_template,
    start_experiment,
)
from .model import KINDS, TEMPLATES

__all__ = [
    "KINDS",
    "TEMPLATES",
    "annotate",
    "completeness",
    "end_experiment",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "note",
    "note_template",
    "start_experiment",
]


def annotate(template: str | None = None, on: str | None = None, kind: str = "rationale") -> object:
    """Show a form to write an annotation (``template="design"`` pre-fills the design questions)."""
    from .widget import annotate as _annotate

    return _annotate(template=template, on=on, kind=kind)
