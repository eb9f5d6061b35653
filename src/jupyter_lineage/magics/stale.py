"""``%lineage_stale``: what in this notebook is out of date, and re-running it.

Registered by ``%load_ext jupyter_lineage``. Importing this module imports IPython
and nothing heavy; nbformat and DuckDB load when the magic runs.
"""

from __future__ import annotations

import json
import os
from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..magic_args import parse_magic, usage_errors


@magics_class
class StaleMagics(Magics):
    """``%lineage_stale [NOTEBOOK] [--run] [--json]``."""

    def __init__(self, shell: Any, session: Any) -> None:
        super().__init__(shell)
        self.session = session

    @magic_arguments()
    @argument("notebook", nargs="?", help="The notebook to check (default: this kernel's).")
    @argument(
        "--run",
        action="store_true",
        help="Re-run the stale cells here, each after those it depends on.",
    )
    @argument("--json", action="store_true", help="Print the answer as JSON.")
    @line_magic
    def lineage_stale(self, line: str) -> Any:
        """Say which cells' results (and which model versions) are out of date, and why.

        A cell's latest run is stale when a file it read changed, its code in the
        saved notebook changed, or something upstream of it did; packages upgraded
        since are the weaker ``environment`` level. Examples::

            %lineage_stale
            %lineage_stale --run
        """
        args = parse_magic(self.lineage_stale, line)
        from ..graph.staleness import rerun_order, stale

        with usage_errors():
            report = stale(args.notebook, store=self.session.store())
        if not args.run:
            if args.json:
                print(json.dumps(report.to_dict(), indent=2, default=str))
            else:
                print(report.render_text(), end="")
            return None
        own = self.session.notebook_path
        if args.notebook and (
            not own or os.path.realpath(report.notebook) != os.path.realpath(own)
        ):
            print(f"--run re-runs cells of this kernel's notebook only, not {args.notebook}")
            return None
        plan = rerun_order(report)
        if not plan:
            print(report.render_text(), end="")
            print("Nothing to re-run.")
            return None
        print(f"Re-running {len(plan)} stale cell(s), in this order:")
        for cell in plan:
            print(f"  {cell.label}")
        self._rerun(report, plan)
        with usage_errors():
            after = stale(report.notebook, store=self.session.store())
        left = after.stale_cells
        if left:
            print(f"Still out of date: {', '.join(c.label for c in left)}")
        else:
            print("Nothing is stale now.")
        return None

    def _rerun(self, report: Any, plan: list[Any]) -> None:
        """Run each cell's saved code in this kernel under its own cell id, so the capture
        pairs the new run with the cell; stop at the first that fails."""
        from ..capture.magics import split_magic_line
        from ..graph.staleness import read_notebook

        shell = self.shell
        assert shell is not None  # a registered magic always has its shell
        code = {c.cell_id: c.raw for c in read_notebook(report.notebook)}
        for cell in plan:
            raw = code.get(cell.cell_id)
            if raw is None:
                print(f"{cell.label} is no longer in the notebook; stopped")
                return
            if split_magic_line(raw) is None:
                raw = "%%lineage\n" + raw  # captured, whatever `%lineage on|off` says
            result = shell.run_cell(raw, store_history=True, cell_id=cell.cell_id)
            if not result.success:
                print(f"{cell.label} failed; the cells after it were not run")
                return
