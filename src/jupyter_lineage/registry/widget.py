"""An ipywidgets registry browser: search, results, a version's state and the actions allowed next."""

from __future__ import annotations

import html
from typing import Any

from ..errors import LineageError
from . import api
from .lifecycle import ROLES


class RegistryBrowser:
    """Search box, results, version detail with state, and a form for the allowed transitions."""

    def __init__(self, query: str = "") -> None:
        import ipywidgets as w

        self.query = w.Text(
            value=query, placeholder="e.g. tag:nlp AND riskTier:HIGH", description="Search"
        )
        self.search_button = w.Button(description="Search", icon="search")
        self.results = w.Select(
            options=[], description="Models", rows=6, layout=w.Layout(width="100%")
        )
        self.versions = w.Select(
            options=[], description="Versions", rows=5, layout=w.Layout(width="100%")
        )
        self.detail = w.HTML()
        self.target = w.Dropdown(options=[], description="Move to")
        self.actor = w.Text(description="Actor", placeholder="you@example.com")
        self.role = w.Dropdown(options=list(ROLES), description="Role")
        self.justification = w.Text(description="Why")
        self.apply = w.Button(description="Apply transition", button_style="warning")
        self.status = w.HTML()
        self.search_button.on_click(lambda _: self.run_search())
        self.query.on_submit(lambda _: self.run_search())
        self.results.observe(lambda change: self.show_model(change["new"]), names="value")
        self.versions.observe(lambda change: self.show_version(change["new"]), names="value")
        self.apply.on_click(lambda _: self.run_transition())
        self.widget = w.VBox(
            [
                w.HBox([self.query, self.search_button]),
                self.results,
                self.versions,
                self.detail,
                w.HBox([self.target, self.role]),
                w.HBox([self.actor, self.justification]),
                w.HBox([self.apply, self.status]),
            ]
        )
        self.run_search()

    def _error(self, exc: Exception) -> None:
        self.status.value = (
            f'<span style="color:var(--jp-error-color1,#c00)">{html.escape(str(exc))}</span>'
        )

    def run_search(self) -> None:
        try:
            df = api.search(self.query.value) if self.query.value.strip() else api.search("*")
        except LineageError as exc:
            self._error(exc)
            return
        self.status.value = html.escape(f"{len(df)} model(s)")
        self.results.options = [
            (
                f"{r['group_name']}/{r['name']} [{r['risk_tier']}] {r['versions'] or ''}",
                f"{r['group_name']}/{r['name']}",
            )
            for r in df.to_dict("records")
        ]

    def show_model(self, spec: str | None) -> None:
        if not spec:
            return
        info = api.show(spec)
        self.versions.options = [
            (f"{v['version']}  {v['state']}", f"{spec}@{v['version']}")
            for v in reversed(info["versions"])
        ]

    def show_version(self, spec: str | None) -> None:
        if not spec:
            return
        m, v = api.get_version(spec)
        nexts = api.next_actions(spec)
        rows = [
            ("Model", f"{m['group_name']}/{m['name']}"),
            ("Version", v["version"]),
            ("State", v["state"]),
            ("Owners", ", ".join(m["owners"] or [])),
            ("Risk tier", m["risk_tier"]),
            ("Commit", v.get("commit_sha") or ""),
            ("Metrics", v.get("metrics") or ""),
        ]
        rows += [
            ("Next", ", ".join(f"{to} (by {'/'.join(r)})" for to, r in nexts.items()) or "none")
        ]
        self.detail.value = (
            "<table>"
            + "".join(
                f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th><td>{html.escape(str(val))}</td></tr>"
                for k, val in rows
            )
            + "</table>"
        )
        self.target.options = list(nexts)

    def run_transition(self) -> None:
        spec = self.versions.value
        if not spec or not self.target.value:
            self.status.value = "choose a version and a next state first"
            return
        try:
            v = api.transition(
                spec,
                self.target.value,
                actor=self.actor.value,
                role=self.role.value,
                justification=self.justification.value,
            )
        except LineageError as exc:
            self._error(exc)
            return
        self.status.value = html.escape(f"{v['model']} {v['version']} is now {v['state']}")
        self.show_model(spec.split("@")[0])
        self.versions.value = spec
        self.show_version(spec)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def browse(query: str = "") -> RegistryBrowser:
    """Show the registry browser (optionally starting with a search)."""
    return RegistryBrowser(query)
