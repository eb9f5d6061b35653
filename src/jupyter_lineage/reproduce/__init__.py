"""Reproduce a recorded result in a fresh kernel, and say why the re-run differs when it does.

``reproduce(TARGET)`` collects the executions TARGET depends on (its upstream in
its kernel session, plus the earlier cells that bound the modules and names
those read), writes them in order into a new notebook whose cells name the
execution they reproduce (``metadata.jupyter_lineage.reproduces``), and with
``run=True`` executes it with nbclient, captured into the same store, then
compares every cell's status, values, files written and files read with the
original's. Each mismatch is explained by ``diff.compare_runs``: the code,
parameters, input data and environment that changed.

``set_cell_links`` is the notebook side of the round trip: the execution ids
a cell's metadata carries (``metadata.jupyter_lineage.executions``).
"""

from __future__ import annotations

import builtins
import os
import re
import shlex
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..capture.analysis import python_source as python_source
from ..capture.environment import packages_that_matter
from ..config import DB_FILE_NAME
from ..errors import LineageError, UsageError
from ..ids import is_execution_prefix
from ..store.base import UnknownExecutionError, resolve_execution
from .cells import METADATA_KEY
from .cells import link_executed_cells as link_executed_cells
from .cells import set_cell_links as set_cell_links
from .diff import (
    ARROW,
    CellRecord,
    OutputCheck,
    RunDiff,
    RunSide,
    cell_label,
    cell_record,
    check_cell,
    compare_runs,
    format_value,
    short,
)

if TYPE_CHECKING:
    from ..store import Store
    from ..store.reproduce import ReproduceQueries

REPRODUCTION_TAG = "reproduction"
ACCEPTED = (
    "model:NAME, NAME@VERSION (a registry version), experiment:NAME, "
    "an execution id (or a unique prefix of one), or a notebook written by reproduce"
)
_NOT_BOUND_HERE = frozenset(dir(builtins)) | {"display", "get_ipython", "In", "Out", "exit", "quit"}


class ReproduceError(LineageError):
    """A reproduction could not be written or run."""


# -- targets ----------------------------------------------------------------------


@dataclass(slots=True)
class Target:
    """What a user asked to reproduce or compare, and the executions that stand for it."""

    text: str
    kind: str  # execution, model, registry, experiment
    label: str
    execution_ids: list[str]
    experiment_ids: list[str] = field(default_factory=list)
    hyperparameters: dict[str, Any] = field(default_factory=dict)


def resolve_target(q: ReproduceQueries, target: str) -> Target:
    """The executions a TARGET names; raises UsageError naming the target when none match."""
    text = target.strip()
    if not text:
        raise UsageError(f"empty target; give {ACCEPTED}")
    if text.startswith("experiment:"):
        name = text[len("experiment:") :]
        experiment_id, ids = q.experiment_runs(name)
        if experiment_id is None:
            raise UsageError(
                f'no experiment called {name!r}; see jupyter-lineage sql "SELECT name FROM experiments"'
            )
        if not ids:
            raise UsageError(f"experiment {name!r} has no successful captured cell to reproduce")
        return Target(text, "experiment", text, ids, [experiment_id])
    if text.startswith("model:"):
        spec = text[len("model:") :]
        group, _, name = spec.partition("@")[0].rpartition("/")
        if "@" in spec or q.registry_versions(name, group or None):
            return _registry_target(q, text, spec)
        ids = q.model_runs(name)
        if not ids:
            raise UsageError(
                f"no model {name!r}: it is neither registered nor the --model of a cell "
                "that ran without error"
            )
        return Target(text, "model", text, ids)
    bare = text[len("exec:") :] if text.startswith("exec:") else text
    if "@" in bare:
        return _registry_target(q, text, bare)
    if is_execution_prefix(bare):
        try:
            execution_id = resolve_execution(q, bare)
        except UnknownExecutionError:
            pass
        else:
            return Target(text, "execution", execution_id[:12], [execution_id])
    raise UsageError(f"nothing matches {text!r}; give {ACCEPTED}")


def _registry_target(q: ReproduceQueries, text: str, spec: str) -> Target:
    from ..registry.validate import semver_key

    name_part, _, version = spec.partition("@")
    group, _, name = name_part.rpartition("/")
    versions = q.registry_versions(name, group or None)
    if not versions:
        raise UsageError(
            f"no registered model {name!r}; see jupyter-lineage model search, "
            "or give model:NAME for a --model name"
        )
    if version:
        chosen = [v for v in versions if v["version"] == version]
        if not chosen:
            known = ", ".join(v["version"] for v in versions)
            raise UsageError(f"model {name!r} has no version {version!r} (versions: {known})")
        row = chosen[-1]
    else:
        row = max(versions, key=lambda v: semver_key(v["version"]))
    label = f"{row['model']}@{row['version']}"
    if not row.get("execution_id"):
        raise UsageError(
            f"{label} records no training execution; give the execution id to reproduce instead"
        )
    experiments = [row["experiment_id"]] if row.get("experiment_id") else []
    return Target(
        text, "registry", label, [row["execution_id"]], experiments, row["hyperparameters"] or {}
    )


# -- which executions -------------------------------------------------------------


def complete_bindings(
    session_rows: Sequence[Mapping[str, Any]], included: Iterable[str]
) -> list[str]:
    """Add the earlier cells that bound names the included cells read but no value record links.

    Modules are never fingerprinted, so ``import numpy as np`` is not a recorded
    value: without this, a reproduction would lack its imports. For each name an
    included cell reads (by static analysis) that no earlier included cell of its
    session binds, the latest earlier cell of that session that binds it (a
    successful one when there is one) is added, and its own reads in turn.
    """
    from ..capture.analysis import analyse

    rows = sorted(session_rows, key=lambda r: (r["started_at"], r["execution_id"]))
    position = {r["execution_id"]: i for i, r in enumerate(rows)}
    wanted = list(included)
    chosen = {position[e] for e in wanted if e in position}
    binds: dict[int, frozenset[str]] = {}
    reads: dict[int, tuple[str, ...]] = {}

    def analysed(i: int) -> None:
        if i not in binds:
            a = analyse(python_source(rows[i].get("source") or ""))
            binds[i] = frozenset(a.binds)
            reads[i] = a.reads

    pending = sorted(chosen)
    while pending:
        i = pending.pop()
        analysed(i)
        session = rows[i]["session_id"]
        for name in reads[i]:
            if name in _NOT_BOUND_HERE:
                continue
            earlier = [j for j in range(i) if rows[j]["session_id"] == session]
            for j in earlier:
                analysed(j)
            if any(j in chosen and name in binds[j] for j in earlier):
                continue
            binders = [j for j in earlier if name in binds[j]]
            ok = [j for j in binders if rows[j].get("status") == "ok"]
            candidates = ok or binders
            pick = candidates[-1] if candidates else None
            if pick is not None and pick not in chosen:
                chosen.add(pick)
                pending.append(pick)
    return [rows[i]["execution_id"] for i in sorted(chosen)] + [
        e for e in wanted if e not in position
    ]


def collect_executions(q: ReproduceQueries, target: Target) -> list[str]:
    """The executions a reproduction of ``target`` replays, oldest first."""
    ids = q.upstream_executions(target.execution_ids)
    runs = q.run_details(ids)
    sessions = sorted({r["session_id"] for r in runs if r["session_id"]})
    return complete_bindings(q.session_sources(sessions), ids)


# -- loading what was recorded ----------------------------------------------------


@dataclass(slots=True)
class LoadedRuns:
    """Executions as recorded: ``runs`` rows, comparable cells, environments."""

    runs: list[dict[str, Any]]
    cells: dict[str, CellRecord]
    environments: dict[str, dict[str, Any]]
    params: list[dict[str, Any]]

    def side(
        self,
        label: str,
        execution_ids: Sequence[str] | None = None,
        hyperparameters: Mapping[str, Any] | None = None,
    ) -> RunSide:
        """These executions (all, or ``execution_ids`` in that order) as one side of a diff."""
        ids = (
            list(execution_ids)
            if execution_ids is not None
            else [r["execution_id"] for r in self.runs]
        )
        cells = [self.cells[i] for i in ids if i in self.cells]
        params: dict[str, Any] = {}
        wanted = set(ids)
        for p in self.params:
            if p.get("execution_id") in wanted or p.get("execution_id") is None:
                params[str(p["name"])] = p.get("value")
        env = None
        for cell in reversed(cells):
            if cell.environment_id in self.environments:
                env = self.environments[cell.environment_id]
                break
        return RunSide(
            label,
            cells,
            params=params,
            hyperparameters=dict(hyperparameters or {}),
            environment=env,
            packages=dict((env or {}).get("packages") or {}),
        )

    def cell_side(self, execution_id: str, label: str) -> RunSide:
        """One execution as a side, in the environment it ran in."""
        cell = self.cells[execution_id]
        env = self.environments.get(cell.environment_id or "")
        return RunSide(
            label,
            [cell],
            params=dict(cell.params),
            environment=env,
            packages=dict((env or {}).get("packages") or {}),
        )


def load_runs(
    q: ReproduceQueries, execution_ids: Sequence[str], experiment_ids: Sequence[str] = ()
) -> LoadedRuns:
    """Everything recorded about these executions that a reproduction or a diff needs."""
    ids = list(dict.fromkeys(execution_ids))
    runs = q.run_details(ids)
    order = {e: i for i, e in enumerate(ids)}
    runs.sort(key=lambda r: order.get(r["execution_id"], len(order)))
    values: dict[str, list[dict[str, Any]]] = {}
    for v in q.value_records(ids):
        values.setdefault(v["execution_id"], []).append(v)
    files: dict[str, list[dict[str, Any]]] = {}
    for f in q.file_records(ids):
        files.setdefault(f["execution_id"], []).append(f)
    params = q.params(ids, experiment_ids)
    by_exec: dict[str, list[dict[str, Any]]] = {}
    for p in params:
        if p.get("execution_id"):
            by_exec.setdefault(p["execution_id"], []).append(p)
    cells = {
        r["execution_id"]: cell_record(
            r,
            values.get(r["execution_id"], []),
            files.get(r["execution_id"], []),
            by_exec.get(r["execution_id"], []),
            label=cell_label(r, i),
        )
        for i, r in enumerate(runs)
    }
    envs = q.environments([r["environment_id"] for r in runs if r["environment_id"]])
    return LoadedRuns(runs, cells, envs, params)


# -- the notebook -----------------------------------------------------------------


@dataclass(slots=True)
class Plan:
    """A reproduction to write: the target and the recorded executions, in order."""

    target: Target
    store_dir: str
    recorded: LoadedRuns

    @property
    def runs(self) -> list[dict[str, Any]]:
        return self.recorded.runs

    @property
    def original_notebook(self) -> str | None:
        paths = [r["notebook_path"] for r in self.runs if r.get("notebook_path")]
        return paths[-1] if paths else None

    @property
    def working_dir(self) -> str | None:
        """Where the original ran: its notebook's directory, else its kernel's working directory."""
        nb = self.original_notebook
        if nb and os.path.isabs(nb):
            return os.path.dirname(nb)
        dirs = [r["working_dir"] for r in self.runs if r.get("working_dir")]
        return dirs[-1] if dirs else None

    @property
    def environment(self) -> dict[str, Any] | None:
        return self.recorded.side("original").environment


def plan(q: ReproduceQueries, target: str | Target, store_dir: str | os.PathLike[str]) -> Plan:
    """Resolve ``target`` and load the executions a reproduction of it replays."""
    t = resolve_target(q, target) if isinstance(target, str) else target
    ids = collect_executions(q, t)
    return Plan(t, str(Path(store_dir).resolve()), load_runs(q, ids))


def _md(text: Any) -> str:
    """Text for a Markdown table cell: one line, pipes escaped."""
    return str(text).replace("\r", " ").replace("\n", " ").replace("|", "\\|")


def _code(text: Any) -> str:
    return "`" + _md(text).replace("`", "'") + "`"


def header_markdown(plan: Plan, generated_at: str) -> str:
    """The first cell: what is reproduced, the original environment, parameters, expected results."""
    t = plan.target
    env = plan.environment or {}
    runs = plan.runs
    out = [
        f"# Reproduction of {_code(t.label)}",
        "",
        f"Written by jupyter-lineage on {generated_at} from the record in {_code(plan.store_dir)}. "
        f"Each code cell below re-runs one recorded execution, named in its metadata "
        f"(`jupyter_lineage.reproduces`); `%%lineage` captures the re-run so that "
        f"`jupyter-lineage reproduce THIS_NOTEBOOK --run` can compare every result with the "
        f"original and explain any difference.",
        "",
        "## Original run",
        "",
        "| | |",
        "|---|---|",
        f"| target | {_code(t.text)} ({t.kind}) |",
        f"| notebook | {_code(plan.original_notebook or 'unknown')} |",
        f"| working directory | {_code(plan.working_dir or 'unknown')} |",
        f"| executions | {len(runs)}, from {_md(runs[0]['started_at'] if runs else '-')} |",
        "",
        "## Environment",
        "",
        "| | |",
        "|---|---|",
    ]
    if env:
        out += [
            f"| Python | {_md(env.get('python_version'))} ({_md(env.get('python_implementation'))}) |",
            f"| platform | {_md(env.get('platform'))} |",
            f"| hardware | {_md(env.get('machine'))}, {_md(env.get('cpu_model'))}, "
            f"{_md(env.get('cpu_count'))} CPU(s) |",
            f"| git | commit {_code(env.get('git_commit') or 'none')}, branch "
            f"{_code(env.get('git_branch') or 'none')}"
            f"{', with uncommitted changes' if env.get('git_dirty') else ''} |",
        ]
        if env.get("env_vars"):
            shown = ", ".join(f"{k}={v}" for k, v in sorted(env["env_vars"].items()))
            out.append(f"| variables | {_code(shown)} |")
        matter = packages_that_matter(
            (r.get("source") or "" for r in runs), env.get("packages") or {}
        )
        pins = ", ".join(f"{_code(f'{n}=={v}')}" for n, v in matter.items()) or "none recorded"
        out += [
            f"| packages these cells import | {pins} |",
            f"| all {len(env.get('packages') or {})} packages | "
            f"{_code(_packages_query(env.get('environment_id') or ''))} |",
        ]
    else:
        out.append("| environment | not recorded |")
    params = [p for p in plan.recorded.params if p.get("execution_id") in plan.recorded.cells]
    out += ["", "## Parameters", ""]
    if params:
        out += ["| name | value | cell |", "|---|---|---|"]
        for p in params:
            cell = plan.recorded.cells[p["execution_id"]]
            out.append(
                f"| {_code(p['name'])} | {_code(format_value(p.get('value')))} | {_md(cell.label)} |"
            )
    else:
        out.append("No parameters were logged by these cells.")
    out += [
        "",
        "## Expected results",
        "",
        "| cell | result | expected fingerprint / SHA-256 |",
        "|---|---|---|",
    ]
    for r in runs:
        cell = plan.recorded.cells[r["execution_id"]]
        out.append(f"| {_md(cell.label)} | status | {_code(cell.status)} |")
        for name, v in cell.outputs.items():
            shown = _code(v.fingerprint or "-") + (
                "" if v.comparable else " (identity only, not compared)"
            )
            out.append(f"| {_md(cell.label)} | value {_code(name)} | {shown} |")
        for key, f in cell.files_written.items():
            out.append(
                f"| {_md(cell.label)} | file {_code(key)} written | {_code(f.sha256 or '-')} |"
            )
        for key, f in cell.files_read.items():
            out.append(f"| {_md(cell.label)} | file {_code(key)} read | {_code(f.sha256 or '-')} |")
    return "\n".join(out) + "\n"


def _packages_query(environment_id: str) -> str:
    return (
        'jupyter-lineage sql "SELECT name, version FROM packages WHERE environment_id = '
        f"'{environment_id}'\""
    )


def cell_source(run: Mapping[str, Any]) -> str:
    """The recorded source under a ``%%lineage`` line with its name and tags (and ``reproduction``)."""
    args: list[str] = []
    if run.get("name"):
        args += ["--name", str(run["name"])]
    for tag in run.get("tags") or []:
        if tag and tag != REPRODUCTION_TAG:
            args += ["--tag", str(tag)]
    args += ["--tag", REPRODUCTION_TAG]
    return "%%lineage " + " ".join(shlex.quote(a) for a in args) + "\n" + (run.get("source") or "")


def cell_metadata(run: Mapping[str, Any], cell: CellRecord) -> dict[str, Any]:
    """What a reproducing cell records about the execution it reproduces."""
    meta: dict[str, Any] = {
        METADATA_KEY: {
            "reproduces": run["execution_id"],
            "original": {
                "notebook_path": run.get("notebook_path"),
                "cell_id": run.get("cell_id"),
                "execution_count": run.get("execution_count"),
                "session_id": run.get("session_id"),
                "started_at": str(run.get("started_at")),
                "status": cell.status,
                "model": run.get("model"),
            },
            "expected": {
                "outputs": {n: v.fingerprint for n, v in cell.outputs.items()},
                "files_written": {k: f.sha256 for k, f in cell.files_written.items()},
                "files_read": {k: f.sha256 for k, f in cell.files_read.items()},
            },
        }
    }
    if cell.status != "ok":
        meta["tags"] = ["raises-exception"]
    return meta


def build_notebook(plan: Plan, generated_at: str | None = None) -> Any:
    """The reproduction notebook (an nbformat v4 ``NotebookNode``)."""
    import nbformat

    when = generated_at or datetime.now(timezone.utc).isoformat(timespec="seconds")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata[METADATA_KEY] = {
        "reproduction": {
            "target": plan.target.text,
            "label": plan.target.label,
            "store": plan.store_dir,
            "original_notebook": plan.original_notebook,
            "working_dir": plan.working_dir,
            "executions": [r["execution_id"] for r in plan.runs],
            "written_at": when,
        }
    }
    cells = [
        nbformat.v4.new_markdown_cell(header_markdown(plan, when)),
        nbformat.v4.new_code_cell(
            "%load_ext jupyter_lineage", metadata={METADATA_KEY: {"role": "setup"}}
        ),
    ]
    for run in plan.runs:
        cell = plan.recorded.cells[run["execution_id"]]
        cells.append(nbformat.v4.new_code_cell(cell_source(run), metadata=cell_metadata(run, cell)))
    nb.cells = cells
    nbformat.validate(nb)
    return nb


def default_output(target: Target) -> Path:
    """``reproduce-<target>.ipynb`` in the current directory."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", target.label).strip("-.") or "run"
    return Path.cwd() / f"reproduce-{slug}.ipynb"


# -- comparing a re-run with the original -----------------------------------------


@dataclass(slots=True)
class CellComparison:
    """One reproduced cell: its checks against the original, and why they differ."""

    label: str
    original: str
    rerun: str | None
    checks: list[OutputCheck]
    causes: list[str] = field(default_factory=list)
    diff: RunDiff | None = None
    failure: str | None = (
        None  # "cell X failed: ..." when the re-run failed and the original did not
    )

    @property
    def differs(self) -> bool:
        return any(c.differs for c in self.checks)


@dataclass(slots=True)
class Comparison:
    """A re-run against the original: every cell's checks, and the overall diff."""

    cells: list[CellComparison]
    diff: RunDiff

    @property
    def identical(self) -> bool:
        return not any(c.differs for c in self.cells)

    def causes(self) -> list[str]:
        """Why it differs: what changed between the two runs as a whole, and cells that failed."""
        found = list(self.diff.causes())
        for cell in self.cells:
            if cell.failure and cell.failure not in found:
                found.append(cell.failure)
        return found

    def environment_notes(self) -> list[str]:
        """Environment differences, worth knowing even when every result matched."""
        return self.diff.environment_causes()


def compare(
    q: ReproduceQueries,
    pairs: Sequence[tuple[str, str | None]],
    original: LoadedRuns | None = None,
) -> Comparison:
    """Compare each (original execution, re-run execution) pair; None when the cell did not run."""
    orig = original or load_runs(q, [a for a, _ in pairs])
    new = load_runs(q, [b for _, b in pairs if b])
    cells = []
    bound_by: dict[str, str] = {}
    for orig_id, new_id in pairs:
        if orig_id not in orig.cells:
            continue
        o = orig.cells[orig_id]
        n = new.cells.get(new_id) if new_id else None
        result = CellComparison(o.label, orig_id, new_id, check_cell(o, n))
        if result.differs and n is not None:
            result.diff = compare_runs(
                orig.cell_side(orig_id, "original"), new.cell_side(n.execution_id, "re-run")
            )
            result.diff.value_origins = {k: v for k, v in bound_by.items() if k in o.inputs}
            result.causes = result.diff.causes()
            if n.status != o.status and n.status != "ok":
                result.failure = f"cell {o.label} {n.status}" + (f": {n.error}" if n.error else "")
                result.causes.insert(0, result.failure)
        bound_by.update({name: o.label for name in o.outputs})
        cells.append(result)
    ran = [(a, b) for a, b in pairs if b and a in orig.cells and b in new.cells]
    overall = compare_runs(
        orig.side("original", [a for a, _ in ran]), new.side("re-run", [b for _, b in ran])
    )
    return Comparison(cells, overall)


def _check_line(check: OutputCheck) -> str:
    what = {
        "status": "status",
        "value": f"value {check.name}",
        "file-written": f"file {check.name} (written)",
        "file-read": f"file {check.name} (read)",
    }[check.kind]
    kind = "sha256 " if check.kind.startswith("file") else ""
    if check.verdict == "same":
        detail = str(check.expected) if check.kind == "status" else f"{kind}{short(check.expected)}"
        if check.kind == "file-read":
            detail = "same bytes, " + detail
    elif check.verdict == "different":
        if check.kind == "status":
            detail = f"{check.expected} {ARROW} {check.actual}"
        else:
            detail = f"{kind}{short(check.expected)} {ARROW} {short(check.actual)}"
            if check.kind == "file-read":
                detail = "different bytes, " + detail
    elif check.verdict == "missing":
        detail = "not produced by the re-run" if check.kind != "status" else "the cell did not run"
    elif check.verdict == "extra":
        detail = "not in the original"
    else:
        detail = "no content fingerprint to compare"
    return f"    {what:<32} {check.verdict:<15} {detail}"


def render_comparison(comparison: Comparison) -> list[str]:
    """Text lines: each cell's checks, a ``why:`` line for each differing cell, a verdict."""
    lines = []
    for cell in comparison.cells:
        rerun = cell.rerun[:12] if cell.rerun else "not run"
        lines.append(f"  cell {cell.label} ({cell.original[:12]} {ARROW} {rerun})")
        lines.extend(_check_line(c) for c in cell.checks)
        if cell.differs:
            lines.append("    why: " + ("; ".join(cell.causes) or _no_cause(cell)))
    if comparison.identical:
        unsure = sum(1 for c in comparison.cells for x in c.checks if x.verdict == "not comparable")
        note = f" ({unsure} result(s) without a content fingerprint not compared)" if unsure else ""
        lines.append(f"identical: every cell's status, values and files match the original{note}")
        if comparison.environment_notes():
            lines.append(
                "  although the environment differs: " + "; ".join(comparison.environment_notes())
            )
    else:
        causes = comparison.causes()
        lines.append(
            "DIFFERENT: "
            + (
                "; ".join(causes)
                if causes
                else "no recorded cause (same code, parameters, input data and environment); "
                "the computation may not be deterministic: check its seeds"
            )
        )
    return lines


def _no_cause(cell: CellComparison) -> str:
    if cell.rerun is None:
        return "the cell did not run (an earlier cell failed or the run stopped)"
    return "no recorded cause in this cell (same code, parameters, inputs and environment)"


# -- the whole operation ----------------------------------------------------------


@dataclass(slots=True)
class ReproduceResult:
    """What ``reproduce`` did: the notebook it wrote, and the comparison when it ran."""

    target: str
    notebook: Path
    cells: int
    original_notebook: str | None
    cwd: Path | None = None
    seconds: float | None = None
    run_error: str | None = None
    comparison: Comparison | None = None

    @property
    def identical(self) -> bool | None:
        return None if self.comparison is None else self.comparison.identical

    @property
    def exit_code(self) -> int:
        """0 when written (and identical when run), 1 when something differs."""
        return 1 if self.comparison is not None and not self.comparison.identical else 0

    def render_text(self) -> str:
        lines = [
            f"wrote {self.notebook}: {self.cells} cell(s) reproducing {self.target}"
            + (f" from {self.original_notebook}" if self.original_notebook else "")
        ]
        if self.comparison is None:
            lines.append(
                f"run it and compare: jupyter-lineage reproduce {shlex.quote(str(self.notebook))} --run"
            )
            return "\n".join(lines) + "\n"
        lines.append(f"ran in {self.cwd} ({self.seconds or 0:.1f} s)")
        if self.run_error:
            lines.append(f"the run stopped: {self.run_error}")
        lines += render_comparison(self.comparison)
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target": self.target,
            "notebook": str(self.notebook),
            "cells": self.cells,
            "original_notebook": self.original_notebook,
            "ran": self.comparison is not None,
        }
        if self.comparison is not None:
            out.update(
                cwd=str(self.cwd),
                seconds=self.seconds,
                run_error=self.run_error,
                identical=self.comparison.identical,
                causes=self.comparison.causes(),
                cells_compared=[
                    {
                        "label": c.label,
                        "original": c.original,
                        "rerun": c.rerun,
                        "differs": c.differs,
                        "causes": c.causes,
                        "checks": [
                            {
                                "kind": x.kind,
                                "name": x.name,
                                "expected": x.expected,
                                "actual": x.actual,
                                "verdict": x.verdict,
                            }
                            for x in c.checks
                        ],
                    }
                    for c in self.comparison.cells
                ],
                diff=self.comparison.diff.to_dict(),
            )
        return out


def _store_of(store: Store | str | os.PathLike[str] | None) -> Store:
    """The store to reproduce from: given, in a directory (its team store when configured), or
    the current session's."""
    from ..session import store_at

    if store is None or isinstance(store, (str, os.PathLike)):
        return store_at(store)
    return store


def reproduce(
    target: str,
    *,
    store: Store | str | os.PathLike[str] | None = None,
    output: str | os.PathLike[str] | None = None,
    run: bool = False,
    cwd: str | os.PathLike[str] | None = None,
    timeout: int = 600,
    progress: bool = False,
) -> ReproduceResult:
    """Write a notebook that reproduces ``target``; with ``run``, execute it and compare.

    ``target`` is ``model:NAME``, ``NAME@VERSION``, ``experiment:NAME``, an
    execution id or prefix, or the path of a notebook this function wrote (run
    as it is now, edits included). The re-run executes in the original
    notebook's directory unless ``cwd`` is given, captured into ``store``.
    """
    s = _store_of(store)
    if not s.journal_dir.is_dir() and not (s.root / DB_FILE_NAME).exists():
        raise UsageError(f"no store at {s.root}; pass --store DIR (or set JUPYTER_LINEAGE_DIR)")
    if target.endswith(".ipynb") and Path(target).is_file():
        return _rerun_notebook(s, Path(target), cwd, timeout, progress)
    from ..store.reproduce import open_queries

    with open_queries(s) as q:
        p = plan(q, target, s.root)
    nb = build_notebook(p)
    path = Path(output) if output else default_output(p.target)
    import nbformat

    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    result = ReproduceResult(p.target.label, path.resolve(), len(p.runs), p.original_notebook)
    if run:
        _run_and_compare(s, result, nb_meta_dir(p.working_dir, cwd), timeout, progress, p.recorded)
    return result


def nb_meta_dir(working_dir: str | None, cwd: str | os.PathLike[str] | None) -> Path:
    """The directory a re-run executes in: ``cwd`` when given, else the original's."""
    if cwd is not None:
        chosen = Path(cwd).expanduser().resolve()
        if not chosen.is_dir():
            raise UsageError(f"--cwd {cwd} is not a directory; give the directory the data is in")
        return chosen
    if working_dir and Path(working_dir).is_dir():
        return Path(working_dir)
    raise UsageError(
        f"the original ran in {working_dir or 'an unknown directory'}, which does not exist here; "
        "pass --cwd DIR with the files it reads"
    )


def _rerun_notebook(
    store: Store, path: Path, cwd: str | os.PathLike[str] | None, timeout: int, progress: bool
) -> ReproduceResult:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    info = nb.metadata.get(METADATA_KEY, {}).get("reproduction", {})
    reproduces = [
        c.metadata[METADATA_KEY]["reproduces"]
        for c in nb.cells
        if c.cell_type == "code"
        and isinstance(c.metadata.get(METADATA_KEY), Mapping)
        and c.metadata[METADATA_KEY].get("reproduces")
    ]
    if not reproduces:
        raise UsageError(
            f"{path} has no cell reproducing an execution (metadata.jupyter_lineage.reproduces); "
            "give a model, experiment or execution instead"
        )
    result = ReproduceResult(
        info.get("label") or info.get("target") or path.name,
        path.resolve(),
        len(reproduces),
        info.get("original_notebook"),
    )
    _run_and_compare(
        store, result, nb_meta_dir(info.get("working_dir"), cwd), timeout, progress, None
    )
    return result


def _run_and_compare(
    store: Store,
    result: ReproduceResult,
    cwd: Path,
    timeout: int,
    progress: bool,
    original: LoadedRuns | None,
) -> None:
    import nbformat

    from .runner import run_notebook

    started = time.perf_counter()
    try:
        run = run_notebook(
            result.notebook,
            output=result.notebook,
            store_dir=store.root,
            timeout=timeout,
            progress=progress,
            cwd=cwd,
        )
    except LineageError:
        raise
    except Exception as exc:  # a dead kernel, a timeout: report it in one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        raise ReproduceError(f"could not run {result.notebook}: {first}") from None
    result.seconds = time.perf_counter() - started
    result.cwd = cwd
    result.run_error = run.error
    nb = nbformat.read(result.notebook, as_version=4)
    pairs = []
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get(METADATA_KEY) if cell.cell_type == "code" else None
        if isinstance(meta, Mapping) and meta.get("reproduces"):
            pairs.append((str(meta["reproduces"]), run.cell_executions.get(index)))
    from ..store.reproduce import open_queries

    with open_queries(store) as q:
        result.comparison = compare(q, pairs, original)


# -- diff ------------------------------------------------------------------------


def diff_targets(
    a: str,
    b: str,
    *,
    store: Store | str | os.PathLike[str] | None = None,
    upstream: bool = True,
) -> RunDiff:
    """What differs between two runs (executions, experiments or model versions) and why.

    With ``upstream`` (the default) each side is the run with the executions it
    depends on, so data read by an earlier cell counts as the run's input data.
    """
    from ..store.reproduce import open_queries

    sides = []
    with open_queries(_store_of(store)) as q:
        for text in (a, b):
            t = resolve_target(q, text)
            ids = collect_executions(q, t) if upstream else t.execution_ids
            sides.append(load_runs(q, ids, t.experiment_ids).side(t.label, ids, t.hyperparameters))
    return compare_runs(sides[0], sides[1])
