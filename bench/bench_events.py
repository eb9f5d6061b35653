"""Cost of building a cell's events from the catalogue and encoding them, against the dicts they replace.

Figures: microseconds to build and encode a ``cell_end`` with 20 values and 5 files
(and a ``cell_start``) the way the recorder does, from ``events.py``'s structs through
``event_data`` and the journal's JSON encoder, against the baseline measured in the
same run: the dicts the recorder built before the catalogue (a value record's
``to_json`` without its None fields), encoded the same way. Both give the same bytes,
which the benchmark checks before timing. Rounds alternate between the two, and each
figure is the best round, so a busy moment slows neither alone. Run as
``python bench/bench_events.py [--quick]``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from jupyter_lineage import events as ev
from jupyter_lineage.journal import _dumps
from jupyter_lineage.records import Fingerprint

VALUES = 20
FILES = 5
# A few microseconds per cell: the most the catalogue may add to a cell's capture.
ALLOWED_US = 3.0

FINGERPRINTS = [
    Fingerprint(
        digest=f"xxh3:{i:016x}",
        kind="content",
        type_name="pandas.DataFrame" if i % 4 == 0 else "builtins.int",
        shape="(1000, 5)" if i % 4 == 0 else None,
        length=1000 if i % 4 == 0 else None,
        summary=f"value {i}",
        note=None,
    )
    for i in range(VALUES)
]
NAMES = [f"v{i}" for i in range(VALUES)]
PATHS = [
    (f"/data/file{i}.csv", "read" if i % 2 else "write", 1000 + i, "ab" * 32) for i in range(FILES)
]
SOURCE = "\n".join(f"v{i} = f(v{(i + 1) % VALUES})" for i in range(VALUES))
T0 = "2026-01-02T03:04:05.000006+00:00"


def _without_nulls(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v is not None}


def _value_dict(name: str, fp: Fingerprint | None) -> dict[str, Any]:
    return {
        "name": name,
        "role": "output",
        "action": "assigned",
        "fingerprint": fp.digest if fp else None,
        "fingerprint_kind": fp.kind if fp else None,
        "type_name": fp.type_name if fp else None,
        "shape": fp.shape if fp else None,
        "length": fp.length if fp else None,
        "summary": fp.summary if fp else None,
        "note": fp.note if fp else None,
    }


def dict_cell_end() -> str:
    """A cell's end as the recorder built it before the catalogue, encoded."""
    values = [_without_nulls(_value_dict(n, fp)) for n, fp in zip(NAMES, FINGERPRINTS, strict=True)]
    files = []
    for path, access, size, digest in PATHS:
        entry: dict[str, Any] = {
            "path": path,
            "access": access,
            "size": None,
            "sha256": None,
            "note": None,
        }
        entry["size"], entry["sha256"] = size, digest
        files.append(entry)
    data = _without_nulls(
        {
            "execution_id": "e" * 32,
            "execution_count": 7,
            "ended_at": T0,
            "duration_ms": 12.5,
            "status": "ok",
            "error_type": None,
            "error_message": None,
            "traceback": None,
            "environment_id": "env",
            "seeds": [],
            "values": values,
            "files": files,
            "commands": None,
            "capture_errors": [],
        }
    )
    return _dumps(data)


def catalogue_cell_end() -> str:
    """A cell's end as the recorder builds it now, encoded."""
    values = [
        ev.Value(
            name=n,
            role="output",
            action="assigned",
            fingerprint=fp.digest,
            fingerprint_kind=fp.kind,
            type_name=fp.type_name,
            shape=fp.shape,
            length=fp.length,
            summary=fp.summary,
            note=fp.note,
        )
        for n, fp in zip(NAMES, FINGERPRINTS, strict=True)
    ]
    files = []
    for path, access, size, digest in PATHS:
        entry = ev.FileAccess(path=path, access=access, size=None, sha256=None, note=None)
        entry.size, entry.sha256 = size, digest
        files.append(entry)
    event = ev.CellEnd(
        execution_id="e" * 32,
        execution_count=7,
        ended_at=T0,
        duration_ms=12.5,
        status="ok",
        environment_id="env",
        seeds=[],
        values=values,
        files=files,
        commands=None,
        capture_errors=[],
    )
    return _dumps(ev.event_data(event))


def dict_cell_start() -> str:
    return _dumps(
        _without_nulls(
            {
                "execution_id": "e" * 32,
                "execution_count": 7,
                "notebook_path": "/work/nb.ipynb",
                "cell_id": "cell-1",
                "source": SOURCE,
                "source_hash": "f" * 64,
                "name": None,
                "tags": [],
                "model": None,
                "base_model": None,
                "note": None,
                "mode": "auto",
                "capture_values": True,
                "experiment_id": None,
                "started_at": T0,
            }
        )
    )


def catalogue_cell_start() -> str:
    return _dumps(
        ev.event_data(
            ev.CellStart(
                execution_id="e" * 32,
                execution_count=7,
                notebook_path="/work/nb.ipynb",
                cell_id="cell-1",
                source=SOURCE,
                source_hash="f" * 64,
                name=None,
                tags=[],
                model=None,
                base_model=None,
                note=None,
                mode="auto",
                capture_values=True,
                experiment_id=None,
                started_at=T0,
            )
        )
    )


def _best_us(
    fns: tuple[Callable[[], str], Callable[[], str]], repeat: int, rounds: int
) -> list[float]:
    """The best round of each function, in microseconds per call; rounds alternate between them."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            for _ in range(repeat):
                fn()
            best[i] = min(best[i], (time.perf_counter() - t0) / repeat * 1e6)
    return best


def run(quick: bool) -> list[dict[str, Any]]:
    """Measure every figure; one row per figure."""
    repeat, rounds = (500, 5) if quick else (5_000, 9)
    rows = []
    for label, catalogue, dicts in (
        (
            f"build and encode a cell_end with {VALUES} values and {FILES} files",
            catalogue_cell_end,
            dict_cell_end,
        ),
        ("build and encode a cell_start", catalogue_cell_start, dict_cell_start),
    ):
        assert catalogue() == dicts(), label  # the same bytes, or the comparison means nothing
        value, baseline = _best_us((catalogue, dicts), repeat, rounds)
        rows.append(
            {
                "figure": f"{label}: the catalogue's structs vs the dicts they replace",
                "value": round(value, 2),
                "baseline": round(baseline, 2),
                "ratio": round(value / baseline, 3),
                "unit": "us/cell",
                "target": f"<= baseline + {ALLOWED_US:g} us",
                "pass": value <= baseline + ALLOWED_US,
            }
        )
    return rows


if __name__ == "__main__":
    from bench.suite import module_main

    sys.exit(module_main(__doc__ or "", run, "fewer rounds, for a smoke run"))
