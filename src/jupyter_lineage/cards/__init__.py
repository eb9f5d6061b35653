"""Model cards, the AI bill of materials (CycloneDX 1.6) and OpenLineage events, from what was recorded."""

from __future__ import annotations

import json
import os
from typing import Any

from ..errors import UsageError
from .check import missing_sections
from .data import SECTIONS, card_data

__all__ = [
    "SECTIONS",
    "add_text",
    "bom",
    "card_data",
    "missing_sections",
    "openlineage_events",
    "render_html",
    "render_json",
    "render_markdown",
]

HUMAN_SECTIONS = (
    "description",
    "intended_use",
    "primary_users",
    "out_of_scope",
    "factors",
    "ethical_considerations",
    "limitations",
    "license",
)


def render_html(spec: str) -> str:
    """The card of ``[GROUP/]NAME[@VERSION]`` as one self-contained HTML document."""
    from ..session import current_store
    from .render import render_html as _render

    # One unit of work: the card's figures read the store too.
    with current_store().reading():
        return _render(card_data(spec))


def render_json(spec: str) -> str:
    """The card as JSON (stable keys, documented in docs/guide/cards.md)."""
    return json.dumps(card_data(spec), indent=2, default=str, sort_keys=False)


def render_markdown(spec: str) -> str:
    from ..session import current_store
    from .render import render_markdown as _render

    with current_store().reading():
        return _render(card_data(spec))


def add_text(model: str, section: str, text: str) -> str:
    """Add your own words to a section of a model's card (stored as an annotation on the model)."""
    from ..annotations.api import note

    if section not in HUMAN_SECTIONS:
        raise UsageError(
            f"cannot add text to {section!r}; sections open to text: {', '.join(HUMAN_SECTIONS)}"
        )
    return note(
        text,
        kind="note",
        on=f"model:{model.split('@')[0].split('/')[-1]}",
        question=f"card:{section}",
    )


def bom(spec: str) -> dict[str, Any]:
    """The CycloneDX 1.6 ML-BOM of a model version."""
    from ..session import current_store
    from ..store import cards as q
    from .cyclonedx import build_bom
    from .data import resolve

    store = current_store()
    with store.reading():
        card = card_data(spec)
        target = resolve(spec)
        artifacts = (
            q.lifecycle(store, target["version"]["version_id"])["artifacts"]
            if target["registered"]
            else []
        )
    return build_bom(card, artifacts)


def openlineage_events(since: str | None = None) -> list[dict[str, Any]]:
    """OpenLineage RunEvents (START, then COMPLETE/FAIL/ABORT) for every captured execution."""
    from ..session import current_store
    from ..store import cards as q
    from .data import card_locations
    from .openlineage import run_events

    events = []
    seen: dict[tuple[Any, Any], Any] = {}  # one look on disk per notebook and Python
    store = current_store()
    with store.reading():
        runs = q.openlineage_runs(store, since)
    for run in runs:
        key = (run.get("notebook_path"), run.get("python_executable"))
        if key not in seen:
            seen[key] = card_locations([key[0]], [key[1]])
        events.extend(run_events(run, seen[key]))
    return events


def write(text: str, path: str | os.PathLike[str]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
