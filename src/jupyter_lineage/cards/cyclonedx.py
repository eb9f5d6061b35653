"""The AI bill of materials of a model version, as CycloneDX 1.6 JSON (an ML-BOM with a modelCard)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..version import __version__

PERFORMANCE_QUALIFIERS = ("ci_low", "ci_high")


def _purl(name: str, version: str) -> str:
    return f"pkg:pypi/{quote(name.lower())}@{quote(version)}"


def _prop(name: str, value: Any) -> dict[str, str]:
    return {"name": f"jupyter-lineage:{name}", "value": str(value)}


def build_bom(
    card: dict[str, Any], artifacts: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """CycloneDX 1.6: the model as a ``machine-learning-model`` component with its ``modelCard``,
    datasets as ``data`` components with hashes, the training environment's packages as
    ``library`` components with purls, and the dependencies between them."""
    d = card["model_details"]
    version = d.get("version") or "unregistered"
    model_ref = f"model:{d.get('group') or 'default'}/{d['name']}@{version}"
    datasets = card["training_data"]["datasets"]
    data_components = []
    for i, ds in enumerate(datasets):
        name = Path(ds.get("path") or ds.get("name") or f"dataset-{i}").name
        comp: dict[str, Any] = {
            "type": "data",
            "bom-ref": f"data:{ds.get('sha256') or ds.get('fingerprint') or i}:{i}",
            "name": name,
            "data": [
                {
                    "type": "dataset",
                    "name": name,
                    "description": f"{ds.get('role', 'training')} data",
                }
            ],
            "properties": [
                _prop("role", ds.get("role", "training")),
                _prop("kind", ds.get("kind", "file")),
            ],
        }
        if ds.get("sha256"):
            comp["hashes"] = [{"alg": "SHA-256", "content": ds["sha256"]}]
        if ds.get("path"):
            # The card shows paths relative to the repository: no URL a reader elsewhere
            # could open, so the path is a property rather than ``contents.url``.
            comp["properties"].append(_prop("path", ds["path"]))
        if ds.get("fingerprint"):
            comp["properties"].append(_prop("fingerprint", ds["fingerprint"]))
        if ds.get("shape"):
            comp["properties"].append(_prop("shape", ds["shape"]))
        data_components.append(comp)
    env = card.get("environment") or {}
    libraries = [
        {
            "type": "library",
            "bom-ref": _purl(p["name"], p["version"]),
            "name": p["name"],
            "version": p["version"],
            "purl": _purl(p["name"], p["version"]),
        }
        for p in env.get("packages") or []
    ]
    metrics = []
    for m in card["metrics"]:
        if m.get("value") is None:
            continue
        entry: dict[str, Any] = {"type": m["name"], "value": f"{m['value']:.6g}"}
        if m.get("ci_low") is not None and m.get("ci_high") is not None:
            entry["confidenceInterval"] = {
                "lowerBound": f"{m['ci_low']:.6g}",
                "upperBound": f"{m['ci_high']:.6g}",
            }
        metrics.append(entry)
    for g in card["quantitative_analyses"]:
        if g.get("value") is not None:
            metrics.append({"type": g["metric"], "value": f"{g['value']:.6g}", "slice": g["group"]})
    ec = card["ethical_considerations"]
    considerations: dict[str, Any] = {}
    iu = card["intended_use"]
    if iu.get("primary_users"):
        considerations["users"] = [iu["primary_users"]]
    if iu.get("primary_uses"):
        considerations["useCases"] = [iu["primary_uses"]]
    if ec.get("limitations"):
        considerations["technicalLimitations"] = [ec["limitations"]]
    ethical = [{"name": text} for text in (ec.get("text"), ec.get("risks")) if text]
    if ethical:
        considerations["ethicalConsiderations"] = ethical
    parameters: dict[str, Any] = {
        "datasets": [{"ref": c["bom-ref"]} for c in data_components],
    }
    if d.get("model_type"):
        parameters["architectureFamily"] = d["model_type"]
    model_card: dict[str, Any] = {"modelParameters": parameters}
    if metrics:
        model_card["quantitativeAnalysis"] = {"performanceMetrics": metrics}
    if considerations:
        model_card["considerations"] = considerations
    model: dict[str, Any] = {
        "type": "machine-learning-model",
        "bom-ref": model_ref,
        "name": d["name"],
        "version": version,
        "modelCard": model_card,
        "properties": [
            p
            for p in (
                _prop("state", d.get("state")) if d.get("state") else None,
                _prop("risk_tier", d.get("risk_tier")) if d.get("risk_tier") else None,
                _prop("commit", d.get("commit")) if d.get("commit") else None,
                _prop("training_execution", d.get("training_execution"))
                if d.get("training_execution")
                else None,
                _prop("framework", d.get("framework")) if d.get("framework") else None,
            )
            if p
        ],
    }
    if d.get("group"):
        model["group"] = d["group"]
    if d.get("description"):
        model["description"] = d["description"]
    if d.get("owners"):
        model["authors"] = [{"email": o} for o in d["owners"]]
    hashes = [
        {"alg": "SHA-256", "content": a["sha256"]} for a in artifacts or [] if a.get("sha256")
    ]
    if hashes:
        model["hashes"] = hashes[:1]
        for a in artifacts or []:
            model["properties"].append(_prop(f"artifact:{a['name']}", f"sha256:{a['sha256']}"))
    if d.get("repository_url"):  # the card's: the remote, without credentials
        model["externalReferences"] = [{"type": "vcs", "url": d["repository_url"]}]
    if d.get("license"):
        model["licenses"] = [{"license": {"name": d["license"]}}]
    if not model["properties"]:
        del model["properties"]
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
            "tools": {
                "components": [
                    {"type": "application", "name": "jupyter-lineage", "version": __version__}
                ]
            },
            "component": {
                "type": "machine-learning-model",
                "bom-ref": f"{model_ref}#meta",
                "name": d["name"],
                "version": version,
            },
        },
        "components": [model, *data_components, *libraries],
        "dependencies": [
            {
                "ref": model_ref,
                "dependsOn": [c["bom-ref"] for c in data_components]
                + [lib["bom-ref"] for lib in libraries],
            },
            *({"ref": c["bom-ref"]} for c in data_components),
            *({"ref": lib["bom-ref"]} for lib in libraries),
        ],
    }
