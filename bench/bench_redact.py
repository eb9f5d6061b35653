"""Cost of the redactor, which every event's strings pass through on their way to a journal.

Figures: microseconds per call for a typical 400-character cell (no trigger
word, so only the pre-check runs), the same cell with a word that triggers a
scan but holds no secret, with a secret, a 50-line cell, and the pre-check
the journal runs on each event's JSON. Run as ``python bench/bench_redact.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    repeat = 2_000 if parser.parse_args().quick else 20_000
    rows = [
        (f"typical cell, {len(TYPICAL)} chars, no trigger", TYPICAL),
        ("the same with a trigger word, no secret", TRIGGERED),
        ("the same with an API key", SECRET),
        (f"50-line cell, {len(FIFTY)} chars", FIFTY),
        ("x = 1", "x = 1"),
    ]
    print(f"{'redact_text':<45} us/call")
    for label, text in rows:
        print(f"{label:<45} {_per_call_us(lambda text=text: redact_text(text), repeat):8.2f}")
    # What the journal scans per event: the event's JSON (one pre-check; the full rules
    # run only when it finds a literal).
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
    print(f"{'journal pre-check per event':<45} us/call")
    for label, data in (("cell_start", start), ("cell_end with six values", end)):
        body = json.dumps(data, separators=(",", ":"))
        us = _per_call_us(lambda body=body: may_contain_secret(body), repeat)
        print(f"{f'  {label}, {len(body)} chars':<45} {us:8.2f}")


if __name__ == "__main__":
    main()
