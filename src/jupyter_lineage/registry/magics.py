"""``%lineage_model``: the registry commands from a notebook. Imports only IPython at import time."""

from __future__ import annotations

import shlex
from typing import Any

from IPython.core.error import UsageError as IPythonUsageError
from IPython.core.magic import Magics, line_magic, magics_class

from ..errors import LineageError


@magics_class
class RegistryMagics(Magics):
    """``%lineage_model register|version|promote|gate|waive|artifact|verify|search|show|audit|browse``."""

    def __init__(self, shell: Any, recorder: Any) -> None:
        super().__init__(shell)
        self.recorder = recorder

    @line_magic
    def lineage_model(self, line: str) -> Any:
        """The model registry, as ``jupyter-lineage model`` does it::

        %lineage_model register churn --owner ml@example.com --risk-tier HIGH
        %lineage_model version churn 1.0.0 --framework numpy
        %lineage_model promote churn@1.0.0 SUBMITTED --actor ml@example.com --role owner --justification "ready"
        %lineage_model search tag:tabular AND riskTier:HIGH
        %lineage_model browse
        """
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise IPythonUsageError(f"%lineage_model: {exc}") from None
        if words[:1] == ["browse"]:
            from .widget import browse

            return browse(" ".join(words[1:]))
        from .commands import parser_for_magic, run

        try:
            args = parser_for_magic().parse_args(["model", *words])
            message, result = run(args)
        except LineageError as exc:
            raise IPythonUsageError(str(exc)) from None
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
