"""``%lineage_model``: the registry commands from a notebook. Imports only IPython at import time."""

from __future__ import annotations

from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand

from ..magic_args import usage_errors


@magics_class
class RegistryMagics(Magics):
    """``%lineage_model register|version|promote|gate|waive|artifact|verify|search|show|audit|browse``."""

    def __init__(self, shell: Any, session: Any) -> None:
        super().__init__(shell)
        self.session = session

    @no_var_expand
    @line_magic
    def lineage_model(self, line: str) -> Any:
        """The model registry, as ``jupyter-lineage model`` does it::

        %lineage_model register churn --owner ml@example.com --risk-tier HIGH
        %lineage_model version churn 1.0.0 --framework numpy
        %lineage_model promote churn@1.0.0 SUBMITTED --actor ml@example.com --role owner --justification it's ready
        %lineage_model search tag:tabular AND riskTier:HIGH
        %lineage_model browse

        Free texts (--description, --intended-use, --limitations, --ethical-considerations,
        --justification, --reason, and search's query) run as typed to the end of the line.
        """
        from ..registry.commands import browse_query, parse_magic_line, run

        query = browse_query(line)
        if query is not None:
            from ..registry.widget import browse

            return browse(query)
        with usage_errors("%lineage_model"):
            args = parse_magic_line(line)
            message, result = run(args)
        print(message)
        if args.model_command in ("search", "audit"):
            return result
        if args.model_command == "verify":
            import pandas as pd

            return pd.DataFrame(result)
        if args.model_command == "show":
            import pandas as pd

            rows = [
                {
                    "version": v["version"],
                    "state": v["state"],
                    "created_at": v["created_at"],
                    "next": ", ".join(f"{to} ({'/'.join(r)})" for to, r in v["next"].items()),
                }
                for v in result["versions"]
            ]
            return pd.DataFrame(rows)
        return None
