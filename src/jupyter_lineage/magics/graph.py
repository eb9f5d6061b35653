"""Graph magics: ``%lineage_graph`` draws, the others answer with a DataFrame.

Registered by ``%load_ext jupyter_lineage``. Importing this module imports
IPython and nothing heavy; pandas, DuckDB and plotly load when a magic runs.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError as IPythonUsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..magic_args import parse_magic, usage_errors


def _depth(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise IPythonUsageError(f"--depth takes a whole number of edges, not {text!r}") from None
    if value < 1:
        raise IPythonUsageError(f"--depth must be 1 or more, not {value}")
    return value


@magics_class
class GraphMagics(Magics):
    """``%lineage_graph``, ``%lineage_upstream``, ``%lineage_downstream``, ``%lineage_impact``,
    ``%lineage_path`` and ``%lineage_training_data``."""

    def __init__(self, shell: Any, session: Any) -> None:
        super().__init__(shell)
        self.session = session

    def _store(self) -> Any:
        return self.session.store()

    @magic_arguments()
    @argument("target", nargs="?", help="What to draw around: a TARGET (default: this notebook).")
    @argument("--upstream", action="store_true", help="Only what the target was made from.")
    @argument("--downstream", action="store_true", help="Only what was made from the target.")
    @argument("--depth", type=_depth, help="Stop N edges away from the target.")
    @argument("--failed", action="store_true", help="Add the failed runs of the cells shown.")
    @argument("--all-runs", action="store_true", help="Draw every re-run of a cell separately.")
    @argument(
        "--transient",
        action="store_true",
        help="Also draw values no other run read (loop variables, temporaries).",
    )
    @argument("--all-kinds", action="store_true", help="Also draw environments and code versions.")
    @line_magic
    def lineage_graph(self, line: str) -> Any:
        """Draw the lineage graph around TARGET (default: this notebook) as an interactive figure.

        Returns the plotly figure; shown, it is drawn by the JupyterLab extension whether or
        not the notebook is trusted, and as plotly's figure or plain HTML elsewhere.

        TARGET is an execution id or prefix, var:NAME, file:PATH, model:NAME[@VERSION],
        or a cell name from ``%%lineage --name``. Examples::

            %lineage_graph model:churn-logreg --upstream
            %lineage_graph file:data/customers.csv --downstream --failed
        """
        args = parse_magic(self.lineage_graph, line)
        if args.upstream and args.downstream:
            raise IPythonUsageError(
                "give --upstream or --downstream, not both (neither draws both directions)"
            )
        if args.depth is not None and not args.target:
            raise IPythonUsageError("--depth needs a TARGET to count edges from")
        from ..graph import DEFAULT_KINDS, KINDS, figure

        direction = "upstream" if args.upstream else "downstream" if args.downstream else "both"
        notebook = None if args.target else self.session.notebook_path
        with usage_errors():
            return figure(
                args.target,
                direction=direction,
                depth=args.depth,
                failed=args.failed,
                all_runs=args.all_runs,
                kinds=KINDS if args.all_kinds else DEFAULT_KINDS,
                transient=args.transient,
                notebook=notebook,
                store=self._store(),
            )

    @magic_arguments()
    @argument("target", help="A TARGET: execution id, var:NAME, file:PATH, model:NAME, cell name.")
    @argument("--depth", type=_depth, help="Stop N edges away.")
    @line_magic
    def lineage_upstream(self, line: str) -> Any:
        """What TARGET was made from, nearest first: ``%lineage_upstream model:churn-logreg``."""
        args = parse_magic(self.lineage_upstream, line)
        from ..graph import upstream

        return self._call(upstream, args.target, args.depth)

    @magic_arguments()
    @argument("target", help="A TARGET: execution id, var:NAME, file:PATH, model:NAME, cell name.")
    @argument("--depth", type=_depth, help="Stop N edges away.")
    @line_magic
    def lineage_downstream(self, line: str) -> Any:
        """What was made from TARGET, nearest first: ``%lineage_downstream var:raw``."""
        args = parse_magic(self.lineage_downstream, line)
        from ..graph import downstream

        return self._call(downstream, args.target, args.depth)

    @magic_arguments()
    @argument("target", help="A file (file:PATH), dataset (var:NAME) or any TARGET.")
    @line_magic
    def lineage_impact(self, line: str) -> Any:
        """Executions and models to re-run if TARGET changes: ``%lineage_impact file:data/customers.csv``."""
        args = parse_magic(self.lineage_impact, line)
        from ..graph import impact

        return self._call(impact, args.target)

    @magic_arguments()
    @argument("a", help="One end (a TARGET).")
    @argument("b", help="The other end (a TARGET).")
    @line_magic
    def lineage_path(self, line: str) -> Any:
        """The shortest chain of edges between two nodes: ``%lineage_path file:data/x.csv model:m``."""
        args = parse_magic(self.lineage_path, line)
        from ..graph import path

        return self._call(path, args.a, args.b)

    @magic_arguments()
    @argument("model", help="A model name, NAME@VERSION, or any TARGET.")
    @line_magic
    def lineage_training_data(self, line: str) -> Any:
        """The file and data versions a model was trained from: ``%lineage_training_data churn-logreg``."""
        args = parse_magic(self.lineage_training_data, line)
        from ..graph import training_data

        return self._call(training_data, args.model)

    def _call(self, fn: Any, *args: Any) -> Any:
        with usage_errors():
            return fn(*args, store=self._store())
