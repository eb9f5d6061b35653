"""A capturing kernel SIGKILLed at random moments leaves a store that opens, verifies, and
holds every event written before the kill, each once."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from jupyter_lineage.checks.doctor import diagnose
from jupyter_lineage.journal import complete_length, iter_lines, journal_files, verify_chain
from jupyter_lineage.store import DuckDBStore

from .conftest import cli

ROUNDS = 60
SEED = 20260518


def _complete_events(store: DuckDBStore) -> set[str]:
    return {
        line.event["id"]
        for path in journal_files(store.journal_dir)
        for line in iter_lines(path)
        if line.event is not None
    }


@pytest.mark.heavy
def test_sigkill_at_random_moments_loses_nothing_written(tmp_path: Path) -> None:
    store_dir = tmp_path / ".lineage"
    driver = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("kill_driver.py")), str(store_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert driver.stdin is not None and driver.stdout is not None
    rng = random.Random(SEED)
    store = DuckDBStore(store_dir, lock_timeout_s=10)
    acked_total = 0
    torn_seen = 0
    wal_seen = 0
    try:
        for _ in range(ROUNDS):
            # Early kills land in start-up and the first cells, late ones among many cells,
            # queries and multi-megabyte writes.
            delay = rng.choice([rng.uniform(0.01, 0.15), rng.uniform(0.15, 0.8)])
            driver.stdin.write(f"round {rng.randrange(1 << 30)} {delay:.3f}\n")
            driver.stdin.flush()
            result = json.loads(driver.stdout.readline())
            acked = set(result["acked"])
            acked_total += len(acked)

            torn_seen += sum(
                1 for p in journal_files(store.journal_dir) if complete_length(p) < p.stat().st_size
            )
            wal_seen += store.db_path.with_name(store.db_path.name + ".wal").exists()
            report = store.ingest()  # opens the database, recovering its WAL if a kill hit it
            assert report.problems == [], result
            ids = Counter(store.query("SELECT event_id FROM events", ingest=False)["event_id"])
            assert max(ids.values(), default=1) == 1, "an event was ingested twice"
            assert acked <= set(ids), f"events written before the kill are missing ({result})"
            assert set(ids) == _complete_events(store)
            for path in journal_files(store.journal_dir):
                assert verify_chain(path) == [], path.name
    finally:
        driver.stdin.write("quit\n")
        driver.stdin.flush()
        driver.wait(timeout=30)

    assert acked_total > ROUNDS  # the kills interrupted real work
    runs = store.query("SELECT status, count(*) AS n FROM runs GROUP BY ALL", ingest=False)
    statuses = dict(zip(runs["status"], runs["n"], strict=True))
    assert statuses.get("ok", 0) > 0 and statuses.get("incomplete", 0) > 0
    assert cli("--store", str(store_dir), "verify").returncode == 0
    findings = diagnose(store_dir)
    assert not [f for f in findings if f.status == "error"], findings
    print(
        f"{ROUNDS} kills, {acked_total} events acknowledged, {torn_seen} torn journal tails, "
        f"{wal_seen} kills during a DuckDB write"
    )
