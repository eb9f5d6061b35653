"""``%lineage_reproduce`` and ``%lineage_diff``: reproduce a result, or compare two runs, inline.

Registered by ``%load_ext jupyter_lineage``. Importing this module imports
IPython and nothing heavy; nbformat, nbclient and DuckDB load when a magic runs.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError as IPythonUsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..magic_args import parse_magic, usage_errors


def _timeout(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise IPythonUsageError(f"--timeout takes whole seconds, not {text!r}") from None
    if value < 1:
        raise IPythonUsageError(f"--timeout must be 1 second or more, not {value}")
    return value


@magics_class
class ReproduceMagics(Magics):
    """``%lineage_reproduce TARGET [--run]`` and ``%lineage_diff A B``."""

    def __init__(self, shell: Any, session: Any) -> None:
        super().__init__(shell)
        self.session = session

    @magic_arguments()
    @argument(
        "target",
        help="model:NAME, NAME@VERSION, experiment:NAME, an execution id, or a reproduction notebook.",
    )
    @argument("--run", action="store_true", help="Run it in a fresh kernel and compare.")
    @argument("-o", "--output", help="Where to write the notebook.")
    @argument("--cwd", help="Run in this directory instead of the original notebook's.")
    @argument("--timeout", type=_timeout, default=600, help="Seconds allowed per cell.")
    @line_magic
    def lineage_reproduce(self, line: str) -> None:
        """Write a notebook that reproduces TARGET; with --run, execute it and compare.

        Examples::

            %lineage_reproduce model:churn --run
            %lineage_reproduce experiment:depth-8 -o depth-8-again.ipynb
        """
        args = parse_magic(self.lineage_reproduce, line)
        from ..reproduce import reproduce

        with usage_errors():
            result = reproduce(
                args.target,
                store=self.session.store(),
                output=args.output,
                run=args.run,
                cwd=args.cwd,
                timeout=args.timeout,
            )
        print(result.render_text(), end="")

    @magic_arguments()
    @argument("a", help="A run: an execution id, experiment:NAME, model:NAME or NAME@VERSION.")
    @argument("b", help="The run to compare it with.")
    @argument("--no-upstream", action="store_true", help="Compare only the named executions.")
    @line_magic
    def lineage_diff(self, line: str) -> None:
        """Show what differs between two runs: code, parameters, input data, environment.

        Example::

            %lineage_diff experiment:depth-4 experiment:depth-8
        """
        args = parse_magic(self.lineage_diff, line)
        from ..reproduce import diff_targets
        from ..reproduce.diff import render_text

        with usage_errors():
            result = diff_targets(
                args.a, args.b, store=self.session.store(), upstream=not args.no_upstream
            )
        print(render_text(result), end="")
