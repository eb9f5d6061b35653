"""Which required sections of a card are empty (pure)."""

from __future__ import annotations

from typing import Any

from .data import REQUIRED

_HOW = {
    "model_details": "register the model with at least one owner (jupyter-lineage model register NAME --owner EMAIL)",
    "intended_use": "give the version an intended use (--intended-use) or add one with cards.add_text(MODEL, 'intended_use', TEXT)",
    "metrics": "log metrics on the training or evaluation cells (jl.log_metric / %lineage_metric)",
    "training_data": "capture the training cell with %%lineage --model NAME so the data it reads is recorded",
    "ethical_considerations": "answer the design template's risk question or add cards.add_text(MODEL, 'ethical_considerations', TEXT)",
    "rationale": "record why: %lineage_note --kind rationale --on model:NAME ...",
    "environment": "capture the training cell so its environment is recorded",
    "reproduction": "capture the training cell so the card can say how to reproduce it",
}


def missing_sections(card: dict[str, Any]) -> list[tuple[str, str]]:
    """(section, how to fill it) for every required section that is empty."""
    missing = []
    for section in REQUIRED:
        value = card.get(section)
        empty = not value
        if section == "model_details":
            empty = not value or not value.get("owners") or not value.get("version")
        elif section == "intended_use":
            empty = not value or not (value.get("primary_uses") or value.get("text"))
        elif section == "training_data":
            empty = not value or not value.get("datasets")
        elif section == "ethical_considerations":
            empty = not value or not any(value.get(k) for k in ("text", "limitations", "risks"))
        if empty:
            missing.append((section, _HOW[section]))
    return missing
