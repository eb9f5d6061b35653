"""An ipywidgets form for writing an annotation: kind, target, Markdown text, Save."""

from __future__ import annotations

from typing import Any

from ..errors import LineageError
from . import api
from .model import KINDS, template_markdown


class AnnotationForm:
    """The form. Its widgets are attributes, so it can be driven from Python as well as clicked."""

    def __init__(
        self, template: str | None = None, on: str | None = None, kind: str = "rationale"
    ) -> None:
        import ipywidgets as w

        self.session = api.current_session()
        self.template = template
        self.kind = w.Dropdown(options=list(KINDS), value=kind, description="Kind")
        options = self.target_options()
        values = [v for _, v in options]
        self.target = w.Dropdown(
            options=options, value=on if on in values else None, description="About"
        )
        self.text = w.Textarea(
            value=template_markdown(template) if template else "",
            placeholder="Markdown: why, what was considered, what was learned…",
            description="Text",
            layout=w.Layout(width="100%", height="12em" if template else "8em"),
        )
        self.save = w.Button(description="Save annotation", button_style="primary", icon="check")
        self.status = w.HTML(value="")
        self.saved: list[str] = []
        self.save.on_click(self._on_save)
        if template:
            self.kind.disabled = True  # each answer is stored with its question's kind
        self.widget = w.VBox([self.kind, self.target, self.text, w.HBox([self.save, self.status])])

    def target_options(self) -> list[tuple[str, str | None]]:
        """(label, target) pairs: recent executions, the values and files they produced, models, the experiment."""
        rec = self.session
        options: list[tuple[str, str | None]] = [("(nothing in particular)", None)]
        seen: set[str] = set()

        def add(label: str, value: str) -> None:
            if value not in seen:
                seen.add(value)
                options.append((label, value))

        if rec.experiment is not None:
            add(f"experiment {rec.experiment.name}", f"experiment:{rec.experiment.name}")
        for r in reversed(rec.recent):
            count = f"[{r.execution_count}] " if r.execution_count is not None else ""
            add(f"cell {count}{r.name or ''} ({r.status}) {r.execution_id[:8]}", r.execution_id)
        for r in reversed(rec.recent):
            if r.model:
                add(f"model {r.model}", f"model:{r.model}")
            for name in r.outputs:
                if rec.kernel is not None and name in rec.kernel.user_ns:
                    add(f"variable {name}", f"var:{name}")
            for path in r.files:
                add(f"file {path}", f"file:{path}")
        return options

    def _on_save(self, _button: Any = None) -> None:
        import html

        try:
            on = self.target.value
            if self.template:
                ids = api.note_template(self.text.value, self.template, on=on)
            else:
                ids = [api.note(self.text.value, kind=self.kind.value, on=on)]
        except LineageError as exc:
            self.status.value = f'<span class="jp-Lineage-error" style="color:var(--jp-error-color1,#c00)">{html.escape(str(exc))}</span>'
            return
        self.saved.extend(ids)
        self.status.value = html.escape(
            f"saved {len(ids)} annotation(s): {', '.join(i[:8] for i in ids)}"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def annotate(
    template: str | None = None, on: str | None = None, kind: str = "rationale"
) -> AnnotationForm:
    """Show a form to write an annotation (``template="design"`` pre-fills the design questions)."""
    if template is not None:
        template_markdown(template)  # unknown templates fail here, with the list of known ones
    return AnnotationForm(template=template, on=on, kind=kind)
