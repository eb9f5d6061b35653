"""What in a notebook is out of date: which cells' results, and which model versions, to redo.

The record already says what each result was made from; this compares that with
what is there now. The latest recorded run of a notebook cell (across kernel
sessions and restarts) is **stale** when

- a file it read now holds other bytes, or is gone: its size, modification time and
  inode recorded after the cell are compared first, and only a file whose stat
  moved is hashed (SHA-256), so an unchanged notebook costs one ``stat`` per file;
- its code changed: the notebook's cell (matched by cell id) holds other code than
  the run executed. The notebook is read from disk, so in a kernel this is the last
  saved version of it;
- a run upstream is stale, or was re-run since and bound what this run read to
  other content (values are compared by fingerprint, files by SHA-256 on disk).

A file the run read and wrote itself is compared with what the run left in it, so
only someone else's change makes the run stale. When nothing above holds but the
packages the notebook imports are at other versions now than when the run ran, the
run is only at the weaker ``environment`` level. A cell whose latest run failed is
``failed``; a cell never captured is ``unknown``, never ``fresh``. A registered model
version is stale when the run that trained it is.

The rows come from one SQL statement (``store/stale.py``); deciding is pure Python
over them and the disk. pandas and nbformat are imported only when needed.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..hashing import sha256_file

if TYPE_CHECKING:
    import pandas as pd

    from ..store import Store

STATES = ("stale", "environment", "failed", "unknown", "fresh")
# Where the code a run is compared with comes from.
CODE_FROM_DISK = "the notebook file on disk (its last saved version)"


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason a run is out of date.

    ``kind`` is ``file``, ``source``, ``upstream`` or ``environment``; ``subject`` the
    file (as shown), value, cell or packages it is about; ``text`` the sentence.
    """

    kind: str
    subject: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "subject": self.subject, "text": self.text}


@dataclass(slots=True)
class CellState:
    """A notebook cell, its latest recorded run, and whether that run is out of date."""

    cell_id: str | None
    index: int | None  # the cell's place among the notebook's code cells, from 1
    name: str | None
    execution_count: int | None
    execution_id: str | None
    started_at: str | None
    state: str
    reasons: list[Reason] = field(default_factory=list)
    upstream: list[str] = field(default_factory=list)  # cell ids this run depends on

    @property
    def stale(self) -> bool:
        return self.state == "stale"

    @property
    def label(self) -> str:
        return cell_label(self.name, self.execution_count, self.cell_id, self.index)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cell_id": self.cell_id,
            "index": self.index,
            "name": self.name,
            "execution_count": self.execution_count,
            "execution_id": self.execution_id,
            "started_at": self.started_at,
            "state": self.state,
            "stale": self.stale,
            "label": self.label,
            "reasons": [r.to_dict() for r in self.reasons],
            "upstream": list(self.upstream),
        }


@dataclass(slots=True)
class VersionState:
    """A registered model version and whether the run that trained it is out of date."""

    model: str
    version: str
    execution_id: str
    cell: str | None
    state: str
    reasons: list[Reason] = field(default_factory=list)

    @property
    def stale(self) -> bool:
        return self.state == "stale"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "execution_id": self.execution_id,
            "cell": self.cell,
            "state": self.state,
            "stale": self.stale,
            "reasons": [r.to_dict() for r in self.reasons],
        }


@dataclass(slots=True)
class StaleReport:
    """The answer for one notebook: every code cell's state, then the model versions."""

    notebook: str
    code_from: str
    cells: list[CellState]
    versions: list[VersionState]
    notes: list[str] = field(default_factory=list)
    hashed_files: int = 0

    @property
    def stale_cells(self) -> list[CellState]:
        return [c for c in self.cells if c.stale]

    def counts(self) -> dict[str, int]:
        return {s: sum(c.state == s for c in self.cells) for s in STATES}

    def to_dict(self) -> dict[str, Any]:
        return {
            "notebook": self.notebook,
            "code_from": self.code_from,
            "counts": self.counts(),
            "cells": [c.to_dict() for c in self.cells],
            "versions": [v.to_dict() for v in self.versions],
            "notes": list(self.notes),
        }

    def frame(self) -> pd.DataFrame:
        """One row per cell: its label, state and reasons (one sentence each, joined)."""
        import pandas as pd

        rows = [
            {
                "cell_id": c.cell_id,
                "name": c.name,
                "execution_count": c.execution_count,
                "state": c.state,
                "reasons": "; ".join(r.text for r in c.reasons),
                "execution_id": c.execution_id,
            }
            for c in self.cells
        ]
        return pd.DataFrame(
            rows,
            columns=["cell_id", "name", "execution_count", "state", "reasons", "execution_id"],
        )

    def render_text(self) -> str:
        """The answer as lines of text: what is out of date and why, then a count of the rest."""
        counts = self.counts()
        lines = [f"{_shown_notebook(self.notebook)}: code read from {self.code_from}"]
        for state in ("stale", "environment", "failed", "unknown"):
            for cell in (c for c in self.cells if c.state == state):
                lines.append(f"{state:<11} {cell.label}")
                lines += [f"    {r.text}" for r in cell.reasons]
        for version in self.versions:
            if version.state in ("stale", "environment"):
                lines.append(f"{version.state:<11} model {version.model}@{version.version}")
                lines += [f"    {r.text}" for r in version.reasons]
        summary = ", ".join(f"{counts[s]} {s}" for s in STATES if counts[s])
        lines.append(f"{len(self.cells)} code cells: {summary or 'none captured'}")
        lines += self.notes
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.render_text()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.render_text().rstrip("\n"))


def cell_label(
    name: str | None, execution_count: int | None, cell_id: str | None, index: int | None = None
) -> str:
    """``load (In [3], cell 1a2b3c4d)``: the cell's name, execution count and cell id."""
    parts = []
    if execution_count is not None:
        parts.append(f"In [{execution_count}]")
    if cell_id:
        parts.append(f"cell {cell_id[:8]}")
    elif index is not None:
        parts.append(f"code cell {index}")
    where = ", ".join(parts)
    if name:
        return f"{name} ({where})" if where else name
    return where or "a cell"


def shown_path(path: str, base: str | None) -> str:
    """A recorded file as shown: relative to ``base`` (the notebook's directory) when inside it,
    else absolute with the home directory as ``~``."""
    if base:
        try:
            relative = os.path.relpath(path, base)
        except ValueError:
            relative = None
        if relative is not None and not relative.startswith(os.pardir):
            return relative
    home = os.path.expanduser("~")
    if home not in ("", "/") and (path == home or path.startswith(home.rstrip(os.sep) + os.sep)):
        return "~" + path[len(home.rstrip(os.sep)) :]
    return path


def _shown_notebook(path: str) -> str:
    return shown_path(path, os.getcwd())


# -- the notebook -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NotebookCell:
    """A code cell of the notebook on disk, and its code as the record would hold it."""

    cell_id: str
    index: int
    source: str  # as captured: without a %%lineage line, secrets redacted
    raw: str  # as in the notebook
    links: tuple[str, ...]  # execution ids its metadata names


def recorded_form(raw: str) -> str:
    """A cell's code as its capture records it: without the ``%%lineage`` line, redacted."""
    from ..capture.magics import split_magic_line
    from ..redact import may_contain_secret, redact_text

    split = split_magic_line(raw)
    source = split[1] if split is not None else raw
    if may_contain_secret(source):
        source, _ = redact_text(source, code=True)
    return source


def captured_ever(raw: str) -> bool:
    """Whether a cell is one the capture can record (not empty, not only lineage magics)."""
    from ..capture.magics import _LINEAGE_ONLY_CELL, split_magic_line

    if split_magic_line(raw) is not None:
        return True
    return bool(raw.strip()) and not _LINEAGE_ONLY_CELL.match(raw)


def read_notebook(path: str | os.PathLike[str]) -> list[NotebookCell]:
    """The code cells of a notebook file that a capture could have recorded."""
    try:
        with open(path, encoding="utf-8") as f:
            nb = json.load(f)
        if not isinstance(nb, dict) or nb.get("nbformat") != 4:
            # Older formats (or not a notebook at all): nbformat converts or says what is wrong.
            import nbformat

            nb = nbformat.read(os.fspath(path), as_version=4)
    except FileNotFoundError:
        raise UsageError(f"no notebook at {path}: pass the path of an .ipynb file") from None
    except Exception as exc:
        raise UsageError(
            f"{path} is not a readable notebook ({type(exc).__name__}: {exc})"
        ) from None
    cells = []
    index = 0
    for position, cell in enumerate(nb.get("cells") or []):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        index += 1
        raw = cell.get("source") or ""
        if isinstance(raw, list):  # the file format's lines, as nbformat joins them
            raw = "".join(str(line) for line in raw)
        if not captured_ever(raw):
            continue
        meta = (cell.get("metadata") or {}).get("jupyter_lineage")
        links = meta.get("executions") if isinstance(meta, Mapping) else None
        cells.append(
            NotebookCell(
                cell_id=str(cell.get("id") or f"position:{position}"),
                index=index,
                source=recorded_form(raw),
                raw=raw,
                links=tuple(str(e) for e in links) if isinstance(links, list) else (),
            )
        )
    return cells


def _source_hash(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()


def cell_matching(cells: Sequence[NotebookCell]) -> tuple[dict[str, str], dict[str, str]]:
    """Execution id → cell id from the cells' metadata, and code hash → cell id for the cells
    whose code no other cell shares (a run that recorded no cell id is matched by them)."""
    links = {e: c.cell_id for c in cells for e in c.links}
    by_hash: dict[str, list[str]] = {}
    for c in cells:
        by_hash.setdefault(_source_hash(c.source), []).append(c.cell_id)
    return links, {h: ids[0] for h, ids in by_hash.items() if len(ids) == 1}


# -- files on disk ------------------------------------------------------------------------


class FileCheck:
    """Whether files still hold the bytes a record names: by stat first, hashing only what moved."""

    def __init__(self) -> None:
        self._digests: dict[tuple[str, int, int, int], str] = {}
        self.hashed = 0

    def change(
        self,
        path: str,
        sha256: str,
        size: int | None,
        mtime_ns: int | None,
        inode: int | None,
    ) -> str | None:
        """None when the file is as recorded, else ``changed``, ``gone`` or why it cannot be read."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return "gone"
        except OSError as exc:
            return f"unreadable ({type(exc).__name__})"
        if mtime_ns is not None and (st.st_size, st.st_mtime_ns, st.st_ino) == (
            size,
            mtime_ns,
            inode,
        ):
            return None
        if size is not None and st.st_size != size:
            return "changed"
        key = (path, st.st_size, st.st_mtime_ns, st.st_ino)
        digest = self._digests.get(key)
        if digest is None:
            try:
                digest, _ = sha256_file(path)
            except OSError as exc:
                return f"unreadable ({type(exc).__name__})"
            self._digests[key] = digest
            self.hashed += 1
        return None if digest == sha256 else "changed"


# -- deciding -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Run:
    row: dict[str, Any]
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)


def _gather(
    rows: Iterable[Mapping[str, Any]],
) -> tuple[dict[str, _Run], dict[str, dict[str, str]], list[dict[str, Any]]]:
    runs: dict[str, _Run] = {}
    packages: dict[str, dict[str, str]] = {}
    versions: list[dict[str, Any]] = []
    pending: list[Mapping[str, Any]] = []
    for row in rows:
        kind = row["kind"]
        if kind == "run":
            runs[row["execution_id"]] = _Run(dict(row))
        elif kind == "package":
            packages.setdefault(row["environment_id"], {})[row["a"]] = row["b"]
        elif kind == "version":
            versions.append(
                {"execution_id": row["execution_id"], "model": row["a"], "version": row["b"]}
            )
        else:
            pending.append(row)
    for row in pending:
        run = runs.get(row["execution_id"])
        if run is None:
            continue
        if row["kind"] == "input":
            run.inputs.append(
                {"name": row["a"], "fingerprint": row["b"], "kind": row["c"], "producer": row["d"]}
            )
        elif row["kind"] == "output":
            run.outputs[row["a"]] = {"fingerprint": row["b"], "action": row["c"]}
        elif row["kind"] == "file":
            run.files.append(
                {
                    "path": row["a"],
                    "sha256": row["b"],
                    "access": row["c"],
                    "note": row["d"],
                    "size": row["n1"],
                    "mtime_ns": row["n2"],
                    "inode": row["n3"],
                }
            )
    return runs, packages, versions


class Decider:
    """Decides, from a notebook's rows and the disk, which runs are out of date (memoized)."""

    def __init__(
        self,
        rows: Iterable[Mapping[str, Any]],
        cells: Sequence[NotebookCell] | None,
        *,
        base_dir: str | None,
        packages_now: Mapping[str, str] | None,
        files: FileCheck | None = None,
        package_filter: Callable[[Iterable[str], Mapping[str, str]], Mapping[str, str]]
        | None = None,
    ) -> None:
        self.runs, self.packages, self.versions = _gather(rows)
        self.cells = {c.cell_id: c for c in cells} if cells is not None else None
        self.base_dir = base_dir
        self.packages_now = packages_now
        self.files = files or FileCheck()
        self._package_filter = package_filter
        self.latest: dict[str, _Run] = {}
        for run in self.runs.values():
            cell = run.row["cell"]
            if cell is None or (self.cells is not None and cell not in self.cells):
                continue
            best = self.latest.get(cell)
            if best is None or (run.row["started_at"], run.row["execution_id"]) > (
                best.row["started_at"],
                best.row["execution_id"],
            ):
                self.latest[cell] = run
        self.writers: dict[str, set[str]] = {}
        for cell, run in self.latest.items():
            for f in run.files:
                if f["access"] in ("write", "readwrite"):
                    self.writers.setdefault(f["path"], set()).add(cell)
        self._decided: dict[str, tuple[str, list[Reason], list[str], list[str]]] = {}
        self._visiting: set[str] = set()
        self._matter: dict[str, str] | None = None

    def label(self, cell: str) -> str:
        run = self.latest.get(cell)
        nb = self.cells.get(cell) if self.cells is not None else None
        return cell_label(
            run.row["name"] if run else None,
            run.row["execution_count"] if run else None,
            None if cell.startswith("position:") else cell,
            nb.index if nb else None,
        )

    def decide(self, run: _Run) -> tuple[str, list[Reason], list[str], list[str]]:
        """(state, reasons, root causes, upstream cells) of one run."""
        key = run.row["execution_id"]
        if key in self._decided:
            return self._decided[key]
        if key in self._visiting:  # a cycle through re-runs: judged by its own reasons only
            return ("fresh", [], [], [])
        self._visiting.add(key)
        try:
            result = self._decide(run)
        finally:
            self._visiting.discard(key)
        self._decided[key] = result
        return result

    def _decide(self, run: _Run) -> tuple[str, list[Reason], list[str], list[str]]:
        row = run.row
        status = row["status"]
        if status in ("failed", "interrupted"):
            return ("failed", [Reason("status", status, f"its latest run {status}")], [], [])
        if status != "ok":
            return ("unknown", [Reason("status", status, "its latest run never finished")], [], [])
        own = row["cell"]
        reasons: list[Reason] = []
        causes: list[str] = []
        upstream: list[str] = []
        # The files it read (its own writes are in what the record holds after it).
        for f in run.files:
            if f["access"] not in ("read", "readwrite") or not f["sha256"]:
                continue
            change = self.files.change(f["path"], f["sha256"], f["size"], f["mtime_ns"], f["inode"])
            if change is not None:
                shown = shown_path(f["path"], self.base_dir)
                if change == "changed":
                    text = f"file {shown} changed since this run read it"
                else:
                    text = f"file {shown} is {change}"
                reasons.append(Reason("file", shown, text))
                causes.append(f"file {shown} {change}")
        # Its code.
        nb = self.cells.get(own) if self.cells is not None and own else None
        if nb is not None and nb.source != (row["source"] or ""):
            reasons.append(Reason("source", self.label(own), "its code changed since this run"))
            causes.append(f"the code of {self.label(own)} changed")
        # What it read from other cells: values, then files they write.
        for value in run.inputs:
            producer = value["producer"]
            if not producer or producer == own or producer not in self.latest:
                continue
            if producer not in upstream:
                upstream.append(producer)
            latest = self.latest[producer]
            out = latest.outputs.get(value["name"])
            if latest.row["status"] == "ok" and value["kind"] == "content":
                if out is None and latest.row["execution_id"] != row["execution_id"]:
                    reasons.append(
                        Reason(
                            "upstream",
                            self.label(producer),
                            f"{self.label(producer)} re-ran and no longer binds {value['name']}",
                        )
                    )
                    causes.append(f"{self.label(producer)} no longer binds {value['name']}")
                elif out is not None and out["fingerprint"] != value["fingerprint"]:
                    reasons.append(
                        Reason(
                            "upstream",
                            self.label(producer),
                            f"{self.label(producer)} re-ran and bound {value['name']} to other content",
                        )
                    )
                    causes.append(f"{self.label(producer)} re-ran with other {value['name']}")
        for f in run.files:
            if f["access"] != "read":
                continue
            for writer in sorted(self.writers.get(f["path"], ())):
                if writer != own and writer not in upstream:
                    upstream.append(writer)
        for cell in upstream:
            state, _, their_causes, _ = self.decide(self.latest[cell])
            if state == "stale":
                why = "; ".join(dict.fromkeys(their_causes)) or "it is out of date"
                reasons.append(
                    Reason(
                        "upstream",
                        self.label(cell),
                        f"upstream {self.label(cell)} is out of date: {why}",
                    )
                )
                causes.extend(their_causes)
        if reasons:
            return ("stale", reasons, list(dict.fromkeys(causes)), upstream)
        moved = self._packages_moved(row["environment_id"])
        if moved:
            names = ", ".join(
                f"{n} {old or '(none)'} → {new or '(none)'}" for n, (old, new) in moved.items()
            )
            return (
                "environment",
                [
                    Reason(
                        "environment", ", ".join(moved), f"packages changed since this run: {names}"
                    )
                ],
                [],
                upstream,
            )
        return ("fresh", [], [], upstream)

    def _packages_moved(
        self, environment_id: str | None
    ) -> dict[str, tuple[str | None, str | None]]:
        if self.packages_now is None or not environment_id:
            return {}
        then = self.packages.get(environment_id)
        if not then or then == self.packages_now:
            return {}
        moved = {
            name: (then.get(name), self.packages_now.get(name))
            for name in sorted(set(then) | set(self.packages_now))
            if then.get(name) != self.packages_now.get(name)
        }
        matter = self._packages_that_matter()
        return {n: v for n, v in moved.items() if n in matter}

    def _packages_that_matter(self) -> Mapping[str, str]:
        """The packages any of the notebook's runs import, computed once and only when needed."""
        if self._matter is None:
            names = {n for p in self.packages.values() for n in p} | set(self.packages_now or {})
            sources = [r.row["source"] or "" for r in self.runs.values()]
            universe = {n: "" for n in names}
            if self._package_filter is None:
                from ..capture.environment import packages_that_matter

                self._matter = dict(packages_that_matter(sources, universe))
            else:
                self._matter = dict(self._package_filter(sources, universe))
        return self._matter

    def cell_states(self, cells: Sequence[NotebookCell] | None) -> list[CellState]:
        """Every cell of the notebook (or, without one, every cell the record names)."""
        order: list[tuple[str, int | None]]
        if cells is not None:
            order = [(c.cell_id, c.index) for c in cells]
        else:
            ordered = sorted(self.latest.items(), key=lambda kv: (kv[1].row["started_at"], kv[0]))
            order = [(cell, None) for cell, _ in ordered]
        states = []
        for cell, index in order:
            run = self.latest.get(cell)
            shown_id = None if cell.startswith("position:") else cell
            if run is None:
                states.append(
                    CellState(
                        shown_id,
                        index,
                        None,
                        None,
                        None,
                        None,
                        "unknown",
                        [Reason("record", "", "never captured")],
                    )
                )
                continue
            state, reasons, _, upstream = self.decide(run)
            states.append(
                CellState(
                    shown_id,
                    index,
                    run.row["name"],
                    run.row["execution_count"],
                    run.row["execution_id"],
                    str(run.row["started_at"]) if run.row["started_at"] is not None else None,
                    state,
                    reasons,
                    upstream,
                )
            )
        return states

    def version_states(self) -> list[VersionState]:
        out = []
        for v in self.versions:
            run = self.runs.get(v["execution_id"])
            if run is None:
                continue
            state, reasons, _, _ = self.decide(run)
            cell = run.row["cell"]
            out.append(
                VersionState(
                    v["model"],
                    str(v["version"]),
                    v["execution_id"],
                    self.label(cell) if cell in self.latest else None,
                    state,
                    reasons,
                )
            )
        return out


# -- the entry point ----------------------------------------------------------------------


def notebook_of_process() -> str:
    """The notebook this process's session belongs to (a kernel's), or a usage error."""
    from ..session import current_session

    path = current_session().notebook_path
    if not path:
        raise UsageError(
            "this process belongs to no notebook: name one, e.g. stale('analysis.ipynb')"
        )
    return path


def stale(
    notebook: str | os.PathLike[str] | None = None,
    *,
    store: Store | None = None,
    packages: Mapping[str, str] | None = None,
) -> StaleReport:
    """Which cells of ``notebook`` (and which model versions trained there) are out of date, and why.

    ``notebook`` defaults to the kernel's own notebook. ``packages`` is the environment
    to compare with (name → version), by default this process's when it is the Python of
    the notebook's latest run, else the packages recorded at that run. Example:
    ``stale("analysis.ipynb").stale_cells``.
    """
    path = os.path.abspath(os.fspath(notebook)) if notebook is not None else notebook_of_process()
    if not os.path.exists(path):
        raise UsageError(f"no notebook at {path}: pass the path of an .ipynb file")
    cells = read_notebook(path)
    links, sources = cell_matching(cells)
    paths = list(dict.fromkeys([path, os.path.realpath(path)]))
    if store is None:
        from . import default_store

        store = default_store()
    from ..store.stale import stale_rows

    rows = stale_rows(store, paths, links=links, sources=sources)
    notes = []
    if packages is None:
        packages, note = _packages_to_compare(rows)
        notes += [note] if note else []
    files = FileCheck()
    decider = Decider(
        rows, cells, base_dir=str(Path(path).parent), packages_now=packages, files=files
    )
    report = StaleReport(
        notebook=path,
        code_from=CODE_FROM_DISK,
        cells=decider.cell_states(cells),
        versions=decider.version_states(),
        notes=notes,
        hashed_files=files.hashed,
    )
    return report


def _packages_to_compare(rows: Sequence[Mapping[str, Any]]) -> tuple[Mapping[str, str], str]:
    """The installed packages the runs are compared with, and a note when not this process's.

    This process's packages, when it is the Python the notebook's latest run used (a kernel
    asking about its own notebook). A server or a command line may run in an environment of
    its own, beside kernels in others: its packages would call every run out of date, so
    the latest run's recorded packages stand for the notebook's environment.
    """
    from ..capture.environment import installed_packages

    runs = [r for r in rows if r["kind"] == "run" and r["environment_id"]]
    if not runs:
        return installed_packages(), ""
    latest = max(runs, key=lambda r: (r["started_at"] is not None, r["started_at"] or 0))
    environment_id = latest["environment_id"]
    python = next(
        (r["a"] for r in rows if r["kind"] == "python" and r["environment_id"] == environment_id),
        None,
    )
    if not python or _same_python(python, sys.executable):
        return installed_packages(), ""
    recorded = {
        r["a"]: r["b"]
        for r in rows
        if r["kind"] == "package" and r["environment_id"] == environment_id
    }
    return recorded, (
        f"packages compared with those of the latest run's Python ({python}), "
        f"not this process's ({sys.executable})"
    )


def _same_python(a: str, b: str) -> bool:
    # By the directory it is in (bin/python and bin/python3 are one environment), not by the
    # file it leads to: every virtual environment's python links to its base interpreter,
    # and each has packages of its own.
    return os.path.dirname(os.path.normpath(a)) == os.path.dirname(os.path.normpath(b))


def rerun_order(report: StaleReport) -> list[CellState]:
    """The stale cells in the order to run them: each after the cells it depends on, otherwise
    in notebook order."""
    stale_ids = {c.cell_id for c in report.cells if c.stale}
    by_id = {c.cell_id: c for c in report.cells}
    done: list[CellState] = []
    seen: set[str | None] = set()

    def visit(cell: CellState) -> None:
        if cell.cell_id in seen:
            return
        seen.add(cell.cell_id)
        for up in cell.upstream:
            if up in stale_ids and up in by_id:
                visit(by_id[up])
        done.append(cell)

    for cell in report.cells:
        if cell.cell_id in stale_ids:
            visit(cell)
    return done
