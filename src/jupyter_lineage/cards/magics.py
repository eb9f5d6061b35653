"""``%lineage_card``: a model card inline. Imports only IPython at import time."""

from __future__ import annotations

import shlex
from typing import Any

from IPython.core.error import UsageError as IPythonUsageError
from IPython.core.magic import Magics, line_magic, magics_class

from ..errors import LineageError


@magics_class
class CardMagics(Magics):
    """``%lineage_card MODEL[@VERSION] [--check] [--html FILE]``."""

    def __init__(self, shell: Any, recorder: Any) -> None:
        super().__init__(shell)
        self.recorder = recorder

    @line_magic
    def lineage_card(self, line: str) -> None:
        """Show a model's card inline, check it, or export it::

        %lineage_card churn-logreg
        %lineage_card churn-logreg@1.0.0 --check
        %lineage_card churn-logreg --html card.html
        """
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise IPythonUsageError(f"%lineage_card: {exc}") from None
        spec = [w for w in words if not w.startswith("--")]
        check = "--check" in words
        html_out = None
        if "--html" in words:
            i = words.index("--html")
            if i + 1 >= len(words):
                raise IPythonUsageError("%lineage_card --html needs a file name")
            html_out = words[i + 1]
            spec = [w for w in spec if w != html_out]
        unknown = [w for w in words if w.startswith("--") and w not in ("--check", "--html")]
        if unknown or len(spec) != 1:
            raise IPythonUsageError("usage: %lineage_card MODEL[@VERSION] [--check] [--html FILE]")
        from IPython.display import HTML, display

        from . import card_data, missing_sections
        from .figures import groups_figure, history_figure, lineage_figure, metrics_figure
        from .render import render_html

        try:
            card = card_data(spec[0])
        except LineageError as exc:
            raise IPythonUsageError(str(exc)) from None
        if check:
            missing = missing_sections(card)
            for section, how in missing:
                print(f"missing {section}: {how}")
            print(
                "the card is complete"
                if not missing
                else f"{len(missing)} required section(s) empty"
            )
            return
        if html_out:
            with open(html_out, "w", encoding="utf-8") as f:
                f.write(render_html(card))
            print(f"wrote {html_out}")
            return
        display(HTML(render_html(card, embed_figures=False)))
        for make in (metrics_figure, groups_figure, history_figure, lineage_figure):
            fig = make(card)
            if fig is not None:
                display(fig)
