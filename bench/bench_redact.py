"""Cost of the redactor, which every event's strings pass through on their way to a journal.

Figures: microseconds per call for a typical 400-character cell (no trigger
word, so only the pre-check runs), the same cell with a word that triggers a
scan but holds no secret, with a secret, a 50-line cell, and the pre-check
the journal runs on each event's JSON. Each is measured three ways in the same
run: the shape rules alone (the baseline: no secret values known, no look at the
environment), with no secret-named environment variable set, and with five set
(their values are then looked for in every text). Run as
``python bench/bench_redact.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from jupyter_lineage import redact
from jupyter_lineage.redact import may_contain_secret, redact_text

TYPICAL = """import pandas as pd
import numpy as np
from sklearn.linear_model import LogisticRegression
df = pd.read_csv("data/customers.csv")
df = df.dropna().reset_index(drop=True)
X = df[["tenure", "monthly_charges", "total_charges"]].to_numpy()
y = (df["churn"] == "Yes").astype(int).to_numpy()
model = LogisticRegression(max_iter=200, C=0.5)
model.fit(X, y)
acc = (model.predict(X) == y).mean()
print(f"accuracy {acc:.3f}")
"""
TRIGGERED = TYPICAL + 'key_columns = ["tenure", "churn"]\n'
SECRET = TYPICAL + 'client = Client(api_key="sk-proj-abcdefghijklmnopqrstuvwxyz0123456789AB")\n'
FIFTY = "\n".join(f"w{i} = v{i % 10} + v{(i + 3) % 10} * 2" for i in range(50))


def _per_call_us(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()
        samples.append((time.perf_counter() - t0) / repeat)
    return statistics.median(samples) * 1e6


SECRET_VARIABLES = (
    "SENSOR_SERVICE_PASSWORD",
    "WAREHOUSE_API_TOKEN",
    "DB_PASSWORD",
    "AWS_SECRET_ACCESS_KEY",
    "HF_TOKEN",
)


def _shapes_only_precheck(text: str) -> bool:
    """The pre-check without known values: the rules' literals only."""
    low = text.lower()
    return any(trigger in low for trigger in redact._ALL_TRIGGERS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    repeat = 2_000 if parser.parse_args().quick else 20_000
    # Measure from an environment with no secret-named variable, then with five.
    saved = {n: v for n, v in os.environ.items() if redact.secret_name_kind(n)}
    for name in saved:
        del os.environ[name]
    planted = {name: secrets.token_urlsafe(24) for name in SECRET_VARIABLES}
    try:
        _run(repeat, planted)
    finally:
        for name in planted:
            os.environ.pop(name, None)
        os.environ.update(saved)


def _run(repeat: int, planted: dict[str, str]) -> None:
    leaked = TYPICAL + f'print("connecting with {next(iter(planted.values()))}")\n'
    rows = [
        (f"typical cell, {len(TYPICAL)} chars, no trigger", TYPICAL),
        ("the same with a trigger word, no secret", TRIGGERED),
        ("the same with an API key", SECRET),
        ("the same with a known secret value", leaked),
        (f"50-line cell, {len(FIFTY)} chars", FIFTY),
        ("x = 1", "x = 1"),
    ]
    values = [
        {
            "name": name,
            "role": "output",
            "action": "assigned",
            "fingerprint": "xxh3:" + "0123456789abcdef" * 2,
            "fingerprint_kind": "content",
            "type_name": "builtins.list",
            "length": 3,
            "summary": "list[3]",
        }
        for name in "abcdef"
    ]
    start = {"execution_id": "0" * 32, "source": TYPICAL, "source_hash": "f" * 64, "tags": []}
    end = {"execution_id": "0" * 32, "status": "ok", "values": values, "files": [], "seeds": []}
    bodies = [
        (f"{label}, {len(body)} chars", body)
        for label, body in (
            ("cell_start", json.dumps(start, separators=(",", ":"))),
            ("cell_end with six values", json.dumps(end, separators=(",", ":"))),
        )
    ]

    nothing = redact._NOTHING_KNOWN
    # (label, shapes-only baseline, the public path) per figure.
    cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        (label, lambda t=t: redact._redact_text(t, nothing), lambda t=t: redact_text(t))
        for label, t in rows
    ] + [
        ("  " + label, lambda b=b: _shapes_only_precheck(b), lambda b=b: may_contain_secret(b))
        for label, b in bodies
    ]
    # The three variants take turns, round after round, so a busy machine slows them alike.
    samples: dict[tuple[int, str], list[float]] = {}
    for _ in range(9):
        for variant in ("shapes only", "0 secrets", "5 secrets"):
            if variant == "5 secrets":
                os.environ.update(planted)
            else:
                for name in planted:
                    os.environ.pop(name, None)
            for i, (_, baseline, public) in enumerate(cases):
                fn = baseline if variant == "shapes only" else public
                fn()  # the environment is read again after a change: not part of the figure
                t0 = time.perf_counter()
                for _ in range(repeat // 5):
                    fn()
                samples.setdefault((i, variant), []).append(
                    (time.perf_counter() - t0) / (repeat // 5) * 1e6
                )

    # The best round: on a shared machine, other processes only ever add time.
    def best(i: int, variant: str) -> float:
        return min(samples[(i, variant)])

    head = f"{'shapes only':>11} {'0 secrets':>10} {'5 secrets':>10} {'5 / shapes':>10}  us/call"
    print(f"{'redact_text':<45} {head}")
    for i, (label, _, _) in enumerate(cases):
        if i == len(rows):
            # What the journal scans per event: the event's JSON (one pre-check; the full
            # rules run only when it finds a literal or a known value's start or end).
            print(f"{'journal pre-check per event':<45} {head}")
        b, z, f = (best(i, v) for v in ("shapes only", "0 secrets", "5 secrets"))
        print(f"{label:<45} {b:11.2f} {z:10.2f} {f:10.2f} {f / b:9.2f}x")
    os.environ.update(planted)

    # The environment is looked at on every call; it is read again only when it changed.
    unchanged = _per_call_us(redact._known, repeat)
    name = SECRET_VARIABLES[0]

    def changed() -> object:
        os.environ[name] = (
            planted[name] if os.environ[name] != planted[name] else "x" + planted[name]
        )
        return redact._known()

    changed_us = _per_call_us(changed, max(repeat // 20, 50))
    print(f"{'environment check, unchanged':<45} {unchanged:11.2f}")
    print(f"{'environment changed: set a variable, re-read':<45} {changed_us:11.2f}")
    print(f"({len(os.environ)} environment variables)")
    _captured_cell(repeat, planted)


def _captured_cell(repeat: int, planted: dict[str, str]) -> None:
    """A whole captured cell binding six strings, with no secret values known and with five."""
    import shutil
    import tempfile

    from IPython.core.interactiveshell import InteractiveShell

    store = tempfile.mkdtemp(prefix="lineage-bench-redact-")
    os.environ["JUPYTER_LINEAGE_DIR"] = store
    shell = InteractiveShell.instance()
    shell.history_manager.enabled = False
    shell.run_cell("%load_ext jupyter_lineage")
    shell.run_cell("%lineage on")
    cell = "\n".join(f"s{i} = 'customer-{i}-' + str({i} * 7)" for i in range(6))
    runs = max(repeat // 100, 20)
    samples: dict[str, list[float]] = {"0 secrets": [], "5 secrets": []}
    try:
        for round_ in range(12):
            # ABBA order, so neither variant always runs after the other.
            for variant in list(samples)[:: 1 if round_ % 2 else -1]:
                if variant == "5 secrets":
                    os.environ.update(planted)
                else:
                    for name in planted:
                        os.environ.pop(name, None)
                shell.run_cell(cell)
                t0 = time.perf_counter()
                for _ in range(runs):
                    shell.run_cell(cell)
                samples[variant].append((time.perf_counter() - t0) / runs * 1e3)
    finally:
        shutil.rmtree(store, ignore_errors=True)
    none, five = (min(v) for v in samples.values())
    print(f"{'captured cell binding six strings':<45} {'':>11} {none:10.3f} {five:10.3f}  ms/cell")
    print(f"{'  with five secret values known':<45} {five / none - 1:+11.1%}")


if __name__ == "__main__":
    main()
