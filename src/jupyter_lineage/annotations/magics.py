"""Magics for annotations, metrics, parameters and experiments.

Imports only IPython at module level: loading the extension stays light.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError as IPythonUsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..errors import LineageError


def _parse(magic: Callable[..., Any], line: str) -> Any:
    try:
        argv = shlex.split(line)
    except ValueError as exc:
        raise IPythonUsageError(f"{exc} in {line!r}") from None
    return magic.parser.parse_args(argv)  # type: ignore[attr-defined]


def _api() -> Any:
    from . import api

    return api


def _one_line(fn: Callable[[], Any]) -> Any:
    """Run an API call; a LineageError becomes IPython's one-line UsageError."""
    try:
        return fn()
    except LineageError as exc:
        raise IPythonUsageError(str(exc)) from None


@magics_class
class AnnotateMagics(Magics):
    """``%lineage_note``, ``%lineage_experiment``, ``%lineage_metric``, ``%lineage_param``,
    ``%lineage_annotate`` and ``%lineage_show``."""

    def __init__(self, shell: Any, recorder: Any) -> None:
        super().__init__(shell)
        self.recorder = recorder

    @magic_arguments()
    @argument(
        "--kind",
        "-k",
        default="note",
        help="rationale, hypothesis, alternative, decision, failed_attempt, review or note",
    )
    @argument(
        "--on",
        action="append",
        default=[],
        help="LAST, an execution id, var:NAME, file:PATH, model:NAME or experiment:NAME (repeatable)",
    )
    @argument("--revises", help="id of the annotation this one replaces")
    @argument("text", nargs="*", help="Markdown text (or the cell body with %%lineage_note)")
    @line_cell_magic
    def lineage_note(self, line: str, cell: str | None = None) -> None:
        """Record why: ``%lineage_note --kind rationale --on LAST Chose trees: the data is tabular``.

        As a cell magic the body is the (Markdown) text::

            %%lineage_note --kind failed_attempt --on LAST
            Forgot the intercept column; the weights were one short.
        """
        args = _parse(AnnotateMagics.lineage_note, line)
        text = cell if cell is not None else " ".join(args.text)
        annotation_id = _one_line(
            lambda: _api().note(text, kind=args.kind, on=args.on, revises=args.revises)
        )
        print(f"annotation {annotation_id} recorded ({args.kind})")

    @magic_arguments()
    @argument("action", choices=["start", "end", "status"], help="start NAME, end, or status")
    @argument("name", nargs="?", help="the experiment's name (start)")
    @argument("--hypothesis", help="what the experiment tests")
    @argument("--success", help='criterion, e.g. "accuracy >= 0.85" (several joined with "and")')
    @argument(
        "--outcome", help="end only: success, failure or inconclusive, overriding the criterion"
    )
    @line_magic
    def lineage_experiment(self, line: str) -> None:
        """Group the cells that test one hypothesis::

        %lineage_experiment start deeper-trees --hypothesis "depth 8 beats 4" --success "accuracy >= 0.85"
        ...
        %lineage_experiment end
        """
        args = _parse(AnnotateMagics.lineage_experiment, line)
        api = _api()
        if args.action == "start":
            if not args.name:
                raise IPythonUsageError(
                    "%lineage_experiment start needs a NAME, e.g. %lineage_experiment start baseline"
                )
            _one_line(lambda: api.start_experiment(args.name, args.hypothesis, args.success))
            print(f"experiment {args.name} started; captured cells now belong to it")
        elif args.action == "end":
            result = _one_line(lambda: api.end_experiment(args.outcome))
            print(
                f"experiment {result['name']} ended: {result['outcome']} ({result['evaluation']})"
            )
        else:
            exp = self.recorder.experiment
            if exp is None:
                print("no experiment is open")
            else:
                print(
                    f"experiment {exp.name} is open; criterion {exp.success or '(none)'}; metrics {exp.metrics}"
                )

    @magic_arguments()
    @argument("name", help="metric name")
    @argument("value", help="a number")
    @argument("--step", type=int, help="step or epoch")
    @line_magic
    def lineage_metric(self, line: str) -> None:
        """Record a metric: ``%lineage_metric accuracy 0.91``."""
        args = _parse(AnnotateMagics.lineage_metric, line)
        _one_line(lambda: _api().log_metric(args.name, args.value, args.step))

    @magic_arguments()
    @argument("name", help="parameter name")
    @argument("value", help="its value (JSON if it parses, else text)")
    @line_magic
    def lineage_param(self, line: str) -> None:
        """Record a parameter: ``%lineage_param learning_rate 0.1``."""
        import json

        args = _parse(AnnotateMagics.lineage_param, line)
        try:
            value = json.loads(args.value)
        except ValueError:
            value = args.value
        _one_line(lambda: _api().log_param(args.name, value))

    @magic_arguments()
    @argument("--template", help="pre-fill a documentation template, e.g. design")
    @argument("--on", help="the target to preselect")
    @argument(
        "--check",
        metavar="TARGET",
        help="list the template questions not yet answered for experiment:NAME or model:NAME",
    )
    @line_magic
    def lineage_annotate(self, line: str) -> Any:
        """Show the annotation form, or check a template's completeness::

        %lineage_annotate --template design
        %lineage_annotate --check model:churn-logreg
        """
        args = _parse(AnnotateMagics.lineage_annotate, line)
        if args.check:
            missing = _one_line(lambda: _api().completeness(args.check, args.template or "design"))
            if missing:
                print(f"{args.check}: {len(missing)} question(s) not answered yet:")
                for question in missing:
                    print(f"  - {question}")
            else:
                print(
                    f"{args.check}: every question of the {args.template or 'design'} template is answered"
                )
            return None
        from .widget import annotate

        return _one_line(lambda: annotate(template=args.template, on=args.on))

    @magic_arguments()
    @argument("what", choices=["experiment"], help="what to show")
    @argument("name", help="its name")
    @line_magic
    def lineage_show(self, line: str) -> Any:
        """Show a summary inline: ``%lineage_show experiment NAME``."""
        from IPython.display import HTML

        from ..store import DuckDBStore
        from .show import experiment_html

        args = _parse(AnnotateMagics.lineage_show, line)
        report = _one_line(
            lambda: DuckDBStore(self.recorder.store_dir).experiment_report(args.name)
        )
        if report is None:
            raise IPythonUsageError(
                f"unknown experiment {args.name!r}; see SELECT name FROM experiments"
            )
        return HTML(experiment_html(report))
