"""Check that a store is intact: journals, what was ingested from them, stored artifacts, data files.

Four checks, read-only (nothing is ingested first):

1. every journal's hash chain (an edited, removed or reordered line breaks it);
2. every event in DuckDB still matches the journal line it was ingested from
   (the line at its byte offset has the SHA-256 recorded at ingest), so even a
   journal rewritten with a fresh, valid chain is caught;
3. every artifact copied into the store still has its SHA-256;
4. every file cells read or wrote still has the SHA-256 it had when last seen.

The first three are integrity failures. The fourth is not: data files change
and move for ordinary reasons, so they are listed but do not fail the check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..hashing import sha256_file
from ..journal import iter_lines, journal_files, verify_chain
from .findings import Finding

if TYPE_CHECKING:
    from ..store import DuckDBStore


@dataclass(slots=True)
class VerifyReport:
    """What ``verify_store`` checked and found."""

    store_dir: str
    journals: int = 0
    events: int = 0
    artifacts: int = 0
    files: int = 0
    problems: list[Finding] = field(default_factory=list)
    changed_files: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        text = (
            f"{self.journals} journal(s), {self.events} ingested event(s), "
            f"{self.artifacts} stored artifact(s) and {self.files} recorded file(s) checked, "
            f"{len(self.problems)} problem(s)"
        )
        if self.changed_files:
            text += f"; {len(self.changed_files)} recorded file(s) changed or moved since they were used"
        return text

    def render_text(self) -> str:
        lines = [f"problem: {p.line()}" for p in self.problems]
        lines += [f"changed: {p.line()}" for p in self.changed_files]
        lines.append(self.summary())
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "store_dir": self.store_dir,
            "ok": self.ok,
            "journals": self.journals,
            "events": self.events,
            "artifacts": self.artifacts,
            "files": self.files,
            "problems": [_as_reported(p) for p in self.problems],
            "changed_files": [_as_reported(p) for p in self.changed_files],
            "summary": self.summary(),
        }


def check_journals(journal_dir: Path) -> tuple[int, list[Finding]]:
    """Every journal's hash chain: (journals checked, problems)."""
    journals = journal_files(journal_dir)
    found = [
        Finding("journal", "error", p.problem, where=p.journal, offset=p.offset)
        for path in journals
        for p in verify_chain(path)
    ]
    return len(journals), found


def check_events(journal_dir: Path, events: list[dict[str, Any]]) -> list[Finding]:
    """Each ingested event against the line now at its byte offset in its journal.

    ``events`` are rows of (``journal``, ``byte_offset``, ``line_hash``,
    ``event_id``). Problems are reported once per journal with a count, since
    one removed line shifts every later offset.
    """
    by_journal: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_journal.setdefault(str(e["journal"]), []).append(e)
    found = []
    for name, rows in sorted(by_journal.items()):
        path = journal_dir / name
        if not path.is_file():
            found.append(
                Finding(
                    "event",
                    "error",
                    f"journal missing: {len(rows)} ingested event(s) came from it",
                    where=name,
                )
            )
            continue
        lines = {line.offset: line.line_hash for line in iter_lines(path)}
        bad = [r for r in rows if lines.get(int(r["byte_offset"])) != r["line_hash"]]
        if bad:
            first = min(bad, key=lambda r: int(r["byte_offset"]))
            found.append(
                Finding(
                    "event",
                    "error",
                    f"{len(bad)} ingested event(s) no longer match their journal line "
                    f"(first: event {first['event_id']}): the journal was changed after ingest",
                    where=name,
                    offset=int(first["byte_offset"]),
                )
            )
    return found


def check_artifacts(store_dir: Path, artifacts: list[dict[str, Any]]) -> list[Finding]:
    """Each artifact copied into the store against its recorded SHA-256."""
    found = []
    for a in artifacts:
        label = f"artifact {a['name']} of {a['model']}@{a['version']}"
        path = store_dir / str(a["stored_path"])
        try:
            actual = sha256_file(path)[0]
        except OSError:
            found.append(
                Finding("artifact", "error", f"{label} is missing from the store", where=str(path))
            )
            continue
        if actual != a["sha256"]:
            found.append(
                Finding(
                    "artifact",
                    "error",
                    f"{label} changed: SHA-256 {actual}, recorded {a['sha256']}",
                    where=str(path),
                )
            )
    return found


def check_files(files: list[dict[str, Any]]) -> list[Finding]:
    """Each recorded file path against the SHA-256 it had when a cell last used it."""
    found = []
    for f in files:
        path = str(f["path"])
        try:
            actual = sha256_file(path)[0]
        except OSError:
            found.append(Finding("file", "warning", "gone (moved or deleted)", where=path))
            continue
        if actual != f["sha256"]:
            found.append(
                Finding(
                    "file",
                    "warning",
                    f"changed since execution {str(f['execution_id'])[:12]} used it "
                    f"(SHA-256 {actual[:12]}, recorded {str(f['sha256'])[:12]})",
                    where=path,
                )
            )
    return found


def verify_store(store: DuckDBStore) -> VerifyReport:
    """Run every check over a store; nothing is ingested or written."""
    from ..store.reproduce import open_queries

    report = VerifyReport(str(store.root))
    report.journals, report.problems = check_journals(store.journal_dir)
    if not store.db_path.exists():
        return report
    with open_queries(store, ingest=False) as q:
        events = q.ingested_events()
        artifacts = q.stored_artifacts()
        files = q.recorded_files()
    report.events = len(events)
    report.problems += check_events(store.journal_dir, events)
    report.artifacts = len(artifacts)
    report.problems += check_artifacts(store.root, artifacts)
    report.files = len(files)
    report.changed_files = check_files(files)
    return report


def _as_reported(finding: Finding) -> dict[str, Any]:
    """A finding as ``verify --json`` has always written it."""
    return {
        "check": finding.check,
        "where": finding.where,
        "problem": finding.detail,
        "offset": finding.offset,
    }
