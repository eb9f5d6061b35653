"""``jupyter-lineage doctor``: what is wrong with a store, and how to fix it.

Each check looks at the real thing (it writes a probe file rather than trusting
permission bits, opens the database rather than looking at its size) and gives
one finding: ``ok``, ``warning`` (capture still works) or ``error``
(something is lost, hidden or unreadable until it is fixed).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from ..config import DB_FILE_NAME, JOURNAL_DIR_NAME
from ..errors import SchemaVersionError, StoreError, StoreLockedError
from ..journal import complete_length, inspect_journal, journal_files
from .findings import Finding

# Below this much free space a cell's events may no longer fit.
LOW_DISK_BYTES = 100 << 20


def diagnose(store_dir: str | os.PathLike[str], *, lock_wait_s: float = 2.0) -> list[Finding]:
    """Check a store directory: permissions, disk space, journals, database, schema, lock."""
    root = Path(store_dir)
    findings: list[Finding] = []
    if not root.exists():
        return [
            Finding(
                "store directory",
                "warning",
                f"{root} does not exist (nothing was captured into it yet)",
                "run a notebook with %load_ext jupyter_lineage, or pass --store DIR",
            )
        ]
    if not root.is_dir():
        return [
            Finding(
                "store directory",
                "error",
                f"{root} is not a directory, so nothing can be captured into it",
                f"move the file {root} away",
            )
        ]
    findings.append(_permissions(root))
    findings.extend(_disk_space(root))
    findings.extend(_journals(root / JOURNAL_DIR_NAME))
    findings.extend(_database(root, lock_wait_s))
    return findings


def _permissions(root: Path) -> Finding:
    journal_dir = root / JOURNAL_DIR_NAME
    target = journal_dir if journal_dir.is_dir() else root
    probe = target / f".doctor-{uuid.uuid4().hex}"
    try:
        os.listdir(target)
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"probe\n")
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        return Finding(
            "permissions",
            "error",
            f"cannot write in {target}: {exc.strerror or exc}; kernels hold their events in memory "
            "until they can",
            f"make {target} writable by the user running the kernels (and not a read-only mount)",
        )
    return Finding("permissions", "ok", f"{target} is readable and writable")


def _disk_space(root: Path) -> list[Finding]:
    """Free space where the journals and the database are (they may be on different disks)."""
    findings = []
    seen: set[int] = set()
    for place in (root / JOURNAL_DIR_NAME, root):
        try:
            device = place.stat().st_dev
            if device in seen:
                continue
            seen.add(device)
            usage = shutil.disk_usage(place)
        except OSError as exc:
            findings.append(Finding("disk space", "warning", f"cannot tell the free space: {exc}"))
            continue
        detail = (
            f"{usage.free / (1 << 20):,.1f} MB free of {usage.total / (1 << 20):,.0f} MB "
            f"under {place}"
        )
        if usage.free < LOW_DISK_BYTES:
            findings.append(
                Finding(
                    "disk space",
                    "error" if usage.free < (1 << 20) else "warning",
                    detail + "; when it is full, kernels hold events in memory (up to 64 MB each)",
                    "free some space; capture resumes by itself, without restarting the kernel",
                )
            )
        else:
            findings.append(Finding("disk space", "ok", detail))
    return findings


def _journals(journal_dir: Path) -> list[Finding]:
    journals = journal_files(journal_dir)
    if not journals:
        return [Finding("journals", "warning", f"no journal in {journal_dir} yet")]
    findings = []
    total_events = 0
    bad = 0
    for path in journals:
        try:
            report = inspect_journal(path)
        except OSError as exc:
            bad += 1
            findings.append(
                Finding(
                    f"journal {path.name}",
                    "error",
                    f"cannot read it: {exc}",
                    f"make {path} readable",
                )
            )
            continue
        total_events += report.events
        problems = []
        if report.chain:
            first = report.chain[0]
            problems.append(
                f"{len(report.chain)} hash-chain problem(s), first at byte {first.offset}: "
                f"{first.problem}"
            )
        if report.unreadable:
            offsets = ", ".join(str(o) for o in report.unreadable[:5])
            problems.append(f"{len(report.unreadable)} unreadable line(s) at byte {offsets}")
        if report.dropped_events:
            problems.append(
                f"{report.dropped_events} event(s) dropped while the journal could not be written"
            )
        if problems:
            bad += 1
            findings.append(
                Finding(
                    f"journal {path.name}",
                    "error",
                    "; ".join(problems),
                    "the lines that read are still ingested; restore the journal from a backup "
                    "to recover the rest (`jupyter-lineage verify` lists every problem)",
                )
            )
        if report.torn_bytes:
            findings.append(
                Finding(
                    f"journal {path.name}",
                    "warning",
                    f"its last {report.torn_bytes} byte(s) are an unfinished line (a kernel was "
                    "killed or is writing it now); it is never ingested half-written",
                )
            )
    findings.insert(
        0,
        Finding(
            "journals",
            "error" if bad else "ok",
            f"{len(journals)} journal(s), {total_events} event(s)"
            + (f", {bad} with problems" if bad else ", hash chains intact"),
        ),
    )
    return findings


def _database(root: Path, lock_wait_s: float) -> list[Finding]:
    from ..store import DuckDBStore

    store = DuckDBStore(root)
    db = root / DB_FILE_NAME
    if not db.exists():
        return [
            Finding(
                "database",
                "ok",
                f"{db} not created yet; the first query or `jupyter-lineage ingest` creates it",
            )
        ]
    try:
        health = store.health(lock_timeout_s=lock_wait_s)
    except StoreLockedError as exc:
        return [Finding("lock", "error", str(exc), "close that process's connection, or wait")]
    except SchemaVersionError as exc:
        return [Finding("schema version", "error", str(exc), "upgrade jupyter-lineage")]
    except StoreError as exc:
        return [
            Finding(
                "database",
                "error",
                str(exc),
                "`jupyter-lineage rebuild` recreates it from the journals (the old file is kept)",
            )
        ]
    findings = [Finding("database", "ok", f"{db} opens; {health['events']} event(s) ingested")]
    version, current = health["schema_version"], health["current_schema_version"]
    findings.append(
        Finding(
            "schema version",
            "ok",
            f"{version}"
            + (f" (migrated to {current} at the next ingest)" if version < current else ""),
        )
    )
    lag = 0
    for path in journal_files(root / JOURNAL_DIR_NAME):
        try:
            lag += max(0, complete_length(path) - health["offsets"].get(path.name, 0))
        except OSError:
            continue
    findings.append(
        Finding(
            "ingest",
            "ok",
            f"{lag:,} journal byte(s) not ingested yet (any query ingests them)"
            if lag
            else "every complete journal line is ingested",
        )
    )
    if health["ingest_problems"]:
        findings.append(
            Finding(
                "ingest",
                "warning",
                f"{health['ingest_problems']} line(s) could not be ingested, latest: "
                + "; ".join(health["recent_problems"][:2]),
                "see SELECT * FROM ingest_problems",
            )
        )
    holder = store.current_lock_holder(wait_s=min(lock_wait_s, 0.5))
    findings.append(
        Finding(
            "lock",
            "ok",
            f"held right now by {holder} (connections last one query or ingest)"
            if holder
            else "not held by any process",
        )
    )
    return findings
