"""``%lineage_card``: a model card inline. Imports only IPython at import time."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError as IPythonUsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..magic_args import parse_magic, usage_errors


@magics_class
class CardMagics(Magics):
    """``%lineage_card MODEL[@VERSION] [--check] [--html FILE]``."""

    def __init__(self, shell: Any, session: Any) -> None:
        super().__init__(shell)
        self.session = session

    @magic_arguments()
    @argument("model", nargs="*", help="MODEL[@VERSION]")
    @argument("--check", action="store_true", help="List the required sections still empty.")
    @argument("--html", metavar="FILE", help="Write the card as HTML to FILE.")
    @line_magic
    def lineage_card(self, line: str) -> None:
        """Show a model's card inline, check it, or export it::

        %lineage_card churn-logreg
        %lineage_card churn-logreg@1.0.0 --check
        %lineage_card churn-logreg --html card.html
        """
        args = parse_magic(CardMagics.lineage_card, line)
        if len(args.model) != 1:
            raise IPythonUsageError("usage: %lineage_card MODEL[@VERSION] [--check] [--html FILE]")
        spec, check, html_out = args.model, args.check, args.html
        from IPython.display import display

        from ..cards import card_data, missing_sections
        from ..cards.render import inline_html, render_html

        with usage_errors():
            card = card_data(spec[0])
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
        display(card_bundle(card, inline_html(card)), raw=True)


CARD_MIME = "application/vnd.jupyter-lineage.card+json"


def card_bundle(card: dict[str, Any], html: str) -> dict[str, Any]:
    """The card as a notebook shows it: its JSON (the card's JSON export, for a front end that
    renders it) and the inline HTML (what any other front end shows)."""
    import json

    return {CARD_MIME: json.loads(json.dumps(card, default=str)), "text/html": html}
