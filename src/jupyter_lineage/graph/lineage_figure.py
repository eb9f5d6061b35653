"""``LineageFigure``: the plotly figure ``figure()`` returns, which also carries the graph it draws.

Displayed in a notebook, it is a bundle of three renderings of one graph: the graph JSON
(``GRAPH_MIME``) that the jupyter-lineage JupyterLab extension draws with the sidebar's own
components, plotly's figure for front ends with a plotly renderer, and a plain HTML list for
the rest. JupyterLab picks the first (its renderer ranks ahead of plotly's and of HTML), in
trusted and untrusted notebooks alike. Everything else about it is plotly's ``go.Figure``.

This module imports plotly, so it is imported only when a figure is made.
"""

from __future__ import annotations

import hashlib
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

GRAPH_MIME = "application/vnd.jupyter-lineage.graph+json"
PLOTLY_MIME = "application/vnd.plotly.v1+json"


def _digest(spec: dict[str, Any]) -> str:
    """What a figure draws, as a hash of its data and layout (the config is left out)."""
    drawn = {"data": spec.get("data"), "layout": spec.get("layout")}
    return hashlib.sha256(pio.to_json(drawn, validate=False).encode()).hexdigest()


class LineageFigure(go.Figure):
    """A plotly figure of lineage that also displays as the graph JSON and plain HTML.

    The extra renderings describe the figure as it was made: once the figure is changed
    (``update_layout``, a trace added...), it displays as plotly's figure alone, so what is
    shown is always the figure as it is.
    """

    def __init__(
        self,
        data: Any = None,
        layout: Any = None,
        frames: Any = None,
        skip_invalid: bool = False,
        *,
        graph: dict[str, Any] | None = None,
        html: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, layout, frames, skip_invalid, **kwargs)
        self._lineage_graph = graph
        self._lineage_html = html
        self._lineage_digest = _digest(self.to_plotly_json()) if graph is not None else None

    @property
    def lineage_graph(self) -> dict[str, Any] | None:
        """The nodes and edges drawn (the graph JSON), or None for a figure made otherwise."""
        return self._lineage_graph

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None, validate: bool = True, **kwargs: Any
    ) -> dict[str, Any]:
        bundle: dict[str, Any] = super()._repr_mimebundle_(include, exclude, validate, **kwargs)
        spec = bundle.get(PLOTLY_MIME)
        if self._lineage_graph is None or not isinstance(spec, dict):
            return bundle
        if _digest(spec) != self._lineage_digest:
            return bundle
        extra: dict[str, Any] = {GRAPH_MIME: self._lineage_graph}
        if self._lineage_html is not None and "text/html" not in bundle:
            # A renderer the user chose that writes HTML (plotly's "notebook") keeps its own.
            extra["text/html"] = self._lineage_html
        wanted = {
            mime: value
            for mime, value in extra.items()
            if (not include or mime in include) and not (exclude and mime in exclude)
        }
        return {**wanted, **bundle}

    def _ipython_display_(self) -> None:
        # IPython asks plotly's _ipython_display_ before any _repr_mimebundle_, and plotly's
        # shows its own bundle: show ours, with plotly's in it, when plotly would show one.
        bundle = self._repr_mimebundle_() if pio.renderers.render_on_display else {}
        if GRAPH_MIME not in bundle:
            super()._ipython_display_()
            return
        from IPython.display import display

        display(bundle, raw=True)
        # Renderers that open a browser or write a file, as plotly's own display runs them.
        external = getattr(pio.renderers, "_perform_external_rendering", None)
        if external is not None:
            external(self.to_dict(), renderers_string=pio.renderers.default)
