"""Magics for annotations, metrics, parameters and experiments.

Imports only IPython at module level: loading the extension stays light.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError as IPythonUsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments

from ..magic_args import parse_magic, usage_errors
from ..magic_input import raw_cell_magic


def _api() -> Any:
    from ..annotations import api

    return api


@magics_class
class AnnotateMagics(Magics):
    """``%lineage_note``, ``%lineage_experiment``, ``%lineage_metric``, ``%lineage_param``,
    ``%lineage_annotate`` and ``%lineage_show``."""

    def __init__(self, shell: Any, session: Any) -> None:
        super().__init__(shell)
        self.session = session

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
    @argument(
        "text",
        nargs="*",
        help="Markdown text, as typed to the end of the line (or the cell body with %%lineage_note)",
    )
    @no_var_expand
    @line_cell_magic
    def lineage_note(self, line: str, cell: str | None = None) -> None:
        """Record why: ``%lineage_note --kind rationale --on LAST Chose trees: the data is tabular``.

        The text runs from its first character to the end of the line, as typed
        (``--`` before it when it starts with ``-``). As a cell magic the body is
        the (Markdown) text, exactly as typed::

            %%lineage_note --kind failed_attempt --on LAST
            Forgot the intercept column; the weights were one short.
        """
        if cell is not None:
            line, cell = raw_cell_magic(self.shell, "lineage_note", line, cell)
        args = parse_magic(AnnotateMagics.lineage_note, line, text_positional="text")
        line_text = args.text[0] if args.text else ""
        if cell is not None and line_text:
            raise IPythonUsageError(
                "%%lineage_note takes its text from the cell body; "
                "keep the first line for options (--kind, --on, --revises)"
            )
        text = cell if cell is not None else line_text
        with usage_errors():
            annotation_id = _api().note(text, kind=args.kind, on=args.on, revises=args.revises)
        print(f"annotation {annotation_id} recorded ({args.kind})")

    @magic_arguments()
    @argument("action", choices=["start", "end", "status"], help="start NAME, end, or status")
    @argument("name", nargs="?", help="the experiment's name (start)")
    @argument("--hypothesis", help="what the experiment tests, as typed to the end of the line")
    @argument("--success", help='criterion, e.g. "accuracy >= 0.85" (several joined with "and")')
    @argument(
        "--outcome", help="end only: success, failure or inconclusive, overriding the criterion"
    )
    @no_var_expand
    @line_magic
    def lineage_experiment(self, line: str) -> None:
        """Group the cells that test one hypothesis::

        %lineage_experiment start deeper-trees --hypothesis "depth 8 beats 4" --success "accuracy >= 0.85"
        ...
        %lineage_experiment end
        """
        args = parse_magic(AnnotateMagics.lineage_experiment, line, text_options=["--hypothesis"])
        api = _api()
        if args.action == "start":
            if not args.name:
                raise IPythonUsageError(
                    "%lineage_experiment start needs a NAME, e.g. %lineage_experiment start baseline"
                )
            with usage_errors():
                api.start_experiment(args.name, args.hypothesis, args.success)
            print(f"experiment {args.name} started; captured cells now belong to it")
        elif args.action == "end":
            with usage_errors():
                result = api.end_experiment(args.outcome)
            print(
                f"experiment {result['name']} ended: {result['outcome']} ({result['evaluation']})"
            )
        else:
            exp = self.session.experiment
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
        args = parse_magic(AnnotateMagics.lineage_metric, line)
        with usage_errors():
            _api().log_metric(args.name, args.value, args.step)

    @magic_arguments()
    @argument("name", help="parameter name")
    @argument("value", help="its value (JSON if it parses, else text)")
    @line_magic
    def lineage_param(self, line: str) -> None:
        """Record a parameter: ``%lineage_param learning_rate 0.1``."""
        import json

        args = parse_magic(AnnotateMagics.lineage_param, line)
        try:
            value = json.loads(args.value)
        except ValueError:
            value = args.value
        with usage_errors():
            _api().log_param(args.name, value)

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
        args = parse_magic(AnnotateMagics.lineage_annotate, line)
        if args.check:
            with usage_errors():
                missing = _api().completeness(args.check, args.template or "design")
            if missing:
                print(f"{args.check}: {len(missing)} question(s) not answered yet:")
                for question in missing:
                    print(f"  - {question}")
            else:
                print(
                    f"{args.check}: every question of the {args.template or 'design'} template is answered"
                )
            return None
        from ..annotations.widget import annotate

        with usage_errors():
            return annotate(template=args.template, on=args.on)

    @magic_arguments()
    @argument("what", choices=["experiment"], help="what to show")
    @argument("name", help="its name")
    @line_magic
    def lineage_show(self, line: str) -> Any:
        """Show a summary inline: ``%lineage_show experiment NAME``."""
        from IPython.display import HTML

        from ..annotations.show import experiment_html

        args = parse_magic(AnnotateMagics.lineage_show, line)
        with usage_errors():
            report = self.session.store().experiment_report(args.name)
        if report is None:
            raise IPythonUsageError(
                f"unknown experiment {args.name!r}; see SELECT name FROM experiments"
            )
        return HTML(experiment_html(report))
