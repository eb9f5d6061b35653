"""Why two runs differ: code, parameters, input data and environment, compared.

Pure functions over plain records (built from the store by ``reproduce.py``):
``cell_record`` and ``side`` shape the rows, ``compare_runs`` says what differs
between two sides, ``check_cell`` compares a re-run cell's results with the
original's, and ``render_text``/``render_html`` print a ``RunDiff`` (HTML
escapes everything it shows).
"""

from __future__ import annotations

import difflib
import html
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

ARROW = "→"

# Environment fields compared, in the order they are reported, with their labels.
ENVIRONMENT_FIELDS: tuple[tuple[str, str], ...] = (
    ("python_version", "Python"),
    ("python_implementation", "Python implementation"),
    ("git_commit", "git commit"),
    ("git_dirty", "git working tree"),
    ("git_diff_sha256", "uncommitted changes"),
    ("git_branch", "git branch"),
    ("git_remote", "git remote"),
    ("os_name", "OS"),
    ("os_release", "OS release"),
    ("platform", "platform"),
    ("machine", "architecture"),
    ("cpu_model", "CPU"),
    ("cpu_count", "CPU count"),
    ("ram_bytes", "RAM"),
    ("gpus", "GPUs"),
    ("container", "container"),
    ("hostname", "host"),
    ("python_executable", "Python executable"),
)
_MODULE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyd", ".so", ".pth")
_MODULE_PARTS = ("/__pycache__/", ".dist-info/", ".egg-info/")
# Results whose fingerprint is not a content hash cannot be compared across kernels.
_COMPARABLE_KINDS = ("content", None)


@dataclass(frozen=True, slots=True)
class ValueState:
    """A value as recorded: its content fingerprint and what kind of fingerprint it is."""

    fingerprint: str | None
    kind: str | None = "content"
    type_name: str | None = None

    @property
    def comparable(self) -> bool:
        return bool(self.fingerprint) and self.kind in _COMPARABLE_KINDS


@dataclass(frozen=True, slots=True)
class FileState:
    """A file as recorded: where it was and its SHA-256 after the cell."""

    path: str
    sha256: str | None


@dataclass(slots=True)
class CellRecord:
    """One captured execution, in the terms a comparison needs."""

    execution_id: str
    label: str
    source: str = ""
    status: str = "ok"
    error: str | None = None
    environment_id: str | None = None
    inputs: dict[str, ValueState] = field(default_factory=dict)
    outputs: dict[str, ValueState] = field(default_factory=dict)
    deleted: tuple[str, ...] = ()
    files_read: dict[str, FileState] = field(default_factory=dict)
    files_written: dict[str, FileState] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RunSide:
    """One side of a comparison: executions in order, with what they ran in."""

    label: str
    cells: list[CellRecord]
    params: dict[str, Any] = field(default_factory=dict)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] | None = None
    packages: dict[str, str] = field(default_factory=dict)

    @property
    def execution_ids(self) -> list[str]:
        return [c.execution_id for c in self.cells]

    def external_files(self) -> dict[str, FileState]:
        """Files read that no earlier cell of this side wrote: the input data."""
        written: set[str] = set()
        found: dict[str, FileState] = {}
        for cell in self.cells:
            for key, state in cell.files_read.items():
                if key not in written and key not in found:
                    found[key] = state
            written.update(cell.files_written)
        return found

    def external_values(self) -> dict[str, ValueState]:
        """Values read that no earlier cell of this side bound: inputs from outside."""
        bound: set[str] = set()
        found: dict[str, ValueState] = {}
        for cell in self.cells:
            for name, state in cell.inputs.items():
                if name not in bound and name not in found:
                    found[name] = state
            bound.update(cell.outputs)
        return found


@dataclass(frozen=True, slots=True)
class Change:
    """One difference: ``what`` was ``before`` on side A and is ``after`` on side B."""

    what: str
    before: Any
    after: Any

    @property
    def kind(self) -> str:
        if self.before is None and self.after is not None:
            return "added"
        if self.after is None and self.before is not None:
            return "removed"
        return "changed"


@dataclass(slots=True)
class RunDiff:
    """Everything that differs between two sides, by kind."""

    a: str
    b: str
    code: list[str] = field(default_factory=list)
    changed_cells: list[str] = field(default_factory=list)
    params: list[Change] = field(default_factory=list)
    hyperparameters: list[Change] = field(default_factory=list)
    data: list[Change] = field(default_factory=list)
    values: list[Change] = field(default_factory=list)
    packages: list[Change] = field(default_factory=list)
    environment: list[Change] = field(default_factory=list)
    # input value name -> the cell that bound it, for naming where a changed input came from
    value_origins: dict[str, str] = field(default_factory=dict)

    @property
    def same(self) -> bool:
        return not (
            self.code
            or self.params
            or self.hyperparameters
            or self.data
            or self.values
            or self.packages
            or self.environment
        )

    def causes(self) -> list[str]:
        """Short phrases naming each difference, e.g. ``numpy 1.26 → 2.1``, ``data.csv changed``."""
        out = [_data_phrase(c) for c in self.data]
        out += [_param_phrase("parameter", c) for c in self.params]
        out += [_param_phrase("hyperparameter", c) for c in self.hyperparameters]
        if self.code:
            out += (
                [f"code of cell {name} changed" for name in self.changed_cells]
                if self.changed_cells
                else ["code changed"]
            )
        out += self.environment_causes()
        out += [
            f"input {c.what} changed"
            + (
                f" (bound by cell {self.value_origins[c.what]})"
                if c.what in self.value_origins
                else ""
            )
            for c in self.values
        ]
        return out

    def environment_causes(self) -> list[str]:
        """The phrases for packages and environment fields that differ."""
        return [_package_phrase(c) for c in self.packages] + [
            _environment_phrase(c) for c in self.environment
        ]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("params", "hyperparameters", "data", "values", "packages", "environment"):
            for change, item in zip(getattr(self, key), data[key], strict=True):
                item["kind"] = change.kind
        data["same"] = self.same
        data["causes"] = self.causes()
        return data


@dataclass(frozen=True, slots=True)
class OutputCheck:
    """One result of a re-run cell against the original's: same, different, missing..."""

    kind: str  # status, value, file-read, file-written
    name: str
    expected: str | None
    actual: str | None
    verdict: str  # same, different, missing, extra, not comparable

    @property
    def differs(self) -> bool:
        return self.verdict in ("different", "missing", "extra")


# -- building records -------------------------------------------------------------


def file_key(path: str, working_dir: str | None) -> str:
    """A file's name for matching across runs: relative to the working directory when inside it."""
    if working_dir:
        try:
            rel = os.path.relpath(path, working_dir)
        except ValueError:
            return path
        if not rel.startswith(".." + os.sep) and rel != ".." and not os.path.isabs(rel):
            return rel.replace(os.sep, "/")
    return path


def is_installed_code(key: str) -> bool:
    """A Python module file outside the working directory: installed code, not data.

    Imports open module files through the same audit hook as data files; those of
    installed packages are covered by the package list (and their paths differ
    between installations), while a module beside the notebook is compared as a file.
    """
    if not os.path.isabs(key):
        return False
    return key.endswith(_MODULE_SUFFIXES) or any(part in key for part in _MODULE_PARTS)


def cell_label(run: Mapping[str, Any], index: int | None = None) -> str:
    """How a cell is named in reports: its ``--name``, else its ``In [n]`` number."""
    if run.get("name"):
        return str(run["name"])
    if run.get("execution_count") is not None:
        return f"[{run['execution_count']}]"
    return f"#{index + 1}" if index is not None else str(run.get("execution_id", "?"))[:12]


def cell_record(
    run: Mapping[str, Any],
    values: Iterable[Mapping[str, Any]] = (),
    files: Iterable[Mapping[str, Any]] = (),
    params: Iterable[Mapping[str, Any]] = (),
    label: str | None = None,
) -> CellRecord:
    """A ``CellRecord`` from a ``runs`` row and its value, file and parameter rows."""
    working_dir = run.get("working_dir")
    record = CellRecord(
        execution_id=str(run["execution_id"]),
        label=label or cell_label(run),
        source=run.get("source") or "",
        status=run.get("status") or "incomplete",
        error=": ".join(x for x in (run.get("error_type"), run.get("error_message")) if x) or None,
        environment_id=run.get("environment_id"),
    )
    deleted = []
    for v in values:
        state = ValueState(v.get("fingerprint"), v.get("fingerprint_kind"), v.get("type_name"))
        if v.get("role") == "input":
            record.inputs.setdefault(str(v["name"]), state)
        elif v.get("action") == "deleted":
            deleted.append(str(v["name"]))
        else:
            record.outputs[str(v["name"])] = state
    record.deleted = tuple(deleted)
    for f in files:
        key = file_key(str(f["path"]), working_dir)
        if f.get("access") == "read" and is_installed_code(key):
            continue
        state_f = FileState(str(f["path"]), f.get("sha256"))
        if f.get("access") == "read":
            record.files_read[key] = state_f
        else:
            record.files_written[key] = state_f
    for p in params:
        record.params[str(p["name"])] = p.get("value")
    return record


# -- comparing --------------------------------------------------------------------


def compare_mappings(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Change]:
    """Keys whose values differ, were added or were removed, sorted by key."""
    changes = []
    for key in sorted(set(a) | set(b)):
        before, after = a.get(key), b.get(key)
        if before != after:
            changes.append(Change(key, before, after))
    return changes


def compare_packages(a: Mapping[str, str], b: Mapping[str, str]) -> list[Change]:
    """Packages added, removed or at another version (``before``/``after`` are versions)."""
    return compare_mappings(a, b)


def compare_environments(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> list[Change]:
    """The environment fields that differ, then the allow-listed variables that differ."""
    if a is None or b is None:
        return []
    changes = []
    for key, label in ENVIRONMENT_FIELDS:
        if _norm(a.get(key)) != _norm(b.get(key)):
            changes.append(Change(label, a.get(key), b.get(key)))
    vars_a = a.get("env_vars") or {}
    vars_b = b.get("env_vars") or {}
    if isinstance(vars_a, dict) and isinstance(vars_b, dict):
        changes += [
            Change(f"${c.what}", c.before, c.after) for c in compare_mappings(vars_a, vars_b)
        ]
    return changes


def source_text(cells: Sequence[CellRecord]) -> list[str]:
    """The sources of a side as lines, each cell under a ``# cell N: LABEL`` header."""
    lines: list[str] = []
    for i, cell in enumerate(cells):
        lines.append(f"# cell {i + 1}: {cell.label}\n")
        body = cell.source if cell.source.endswith("\n") else cell.source + "\n"
        lines.extend(body.splitlines(keepends=True))
    return lines


def compare_code(a: RunSide, b: RunSide) -> tuple[list[str], list[str]]:
    """A unified diff of the two sides' sources, and the labels of cells whose code changed."""
    diff = list(
        difflib.unified_diff(source_text(a.cells), source_text(b.cells), a.label, b.label, n=2)
    )
    changed = []
    if len(a.cells) == len(b.cells):
        changed = [x.label for x, y in zip(a.cells, b.cells, strict=True) if x.source != y.source]
    return [line.rstrip("\n") for line in diff], changed


def compare_runs(a: RunSide, b: RunSide) -> RunDiff:
    """What differs between two runs: code, parameters, input data and environment."""
    code, changed = compare_code(a, b)
    files_a = {k: f.sha256 for k, f in a.external_files().items()}
    files_b = {k: f.sha256 for k, f in b.external_files().items()}
    values_a = a.external_values()
    values_b = b.external_values()
    value_changes = [
        Change(name, values_a[name].fingerprint, values_b[name].fingerprint)
        for name in sorted(set(values_a) & set(values_b))
        if values_a[name].comparable
        and values_b[name].comparable
        and values_a[name].fingerprint != values_b[name].fingerprint
    ]
    return RunDiff(
        a=a.label,
        b=b.label,
        code=code,
        changed_cells=changed,
        params=compare_mappings(a.params, b.params),
        hyperparameters=compare_mappings(a.hyperparameters, b.hyperparameters),
        data=compare_mappings(files_a, files_b),
        values=value_changes,
        packages=compare_packages(a.packages, b.packages),
        environment=compare_environments(a.environment, b.environment),
    )


def check_cell(original: CellRecord, rerun: CellRecord | None) -> list[OutputCheck]:
    """The re-run's status, values bound, files written and files read against the original's."""
    if rerun is None:
        return [OutputCheck("status", "status", original.status, None, "missing")]
    checks = [
        OutputCheck(
            "status",
            "status",
            original.status,
            rerun.status,
            "same" if original.status == rerun.status else "different",
        )
    ]
    for name in sorted(set(original.outputs) | set(rerun.outputs)):
        before, after = original.outputs.get(name), rerun.outputs.get(name)
        checks.append(
            OutputCheck(
                "value",
                name,
                before.fingerprint if before else None,
                after.fingerprint if after else None,
                _value_verdict(before, after),
            )
        )
    for kind, mine, theirs in (
        ("file-written", original.files_written, rerun.files_written),
        ("file-read", original.files_read, rerun.files_read),
    ):
        for key in sorted(set(mine) | set(theirs)):
            f_before, f_after = mine.get(key), theirs.get(key)
            checks.append(
                OutputCheck(
                    kind,
                    key,
                    f_before.sha256 if f_before else None,
                    f_after.sha256 if f_after else None,
                    _file_verdict(f_before, f_after),
                )
            )
    return checks


def _value_verdict(before: ValueState | None, after: ValueState | None) -> str:
    if before is None:
        return "extra"
    if after is None:
        return "missing"
    if not (before.comparable and after.comparable):
        return "not comparable"
    return "same" if before.fingerprint == after.fingerprint else "different"


def _file_verdict(before: FileState | None, after: FileState | None) -> str:
    if before is None:
        return "extra"
    if after is None:
        return "missing"
    if before.sha256 is None or after.sha256 is None:
        return "not comparable"
    return "same" if before.sha256 == after.sha256 else "different"


# -- phrases ----------------------------------------------------------------------


def format_value(value: Any) -> str:
    """A parameter or field value as a user wrote it: strings bare, the rest as JSON."""
    if value is None:
        return "none"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


def short(digest: str | None, n: int = 12) -> str:
    """A fingerprint or SHA-256 shortened for reading (``xxh3:`` prefixes kept)."""
    if not digest:
        return "-"
    prefix, sep, rest = digest.partition(":")
    return f"{prefix}:{rest[:n]}" if sep else digest[:n]


def _norm(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def _param_phrase(kind: str, c: Change) -> str:
    if c.kind == "added":
        return f"{kind} {c.what} added ({format_value(c.after)})"
    if c.kind == "removed":
        return f"{kind} {c.what} removed (was {format_value(c.before)})"
    return f"{kind} {c.what} {format_value(c.before)} {ARROW} {format_value(c.after)}"


def _data_phrase(c: Change) -> str:
    if c.kind == "added":
        return f"{c.what} newly read"
    if c.kind == "removed":
        return f"{c.what} no longer read"
    return f"{c.what} changed"


def _package_phrase(c: Change) -> str:
    if c.kind == "added":
        return f"{c.what} {c.after} added"
    if c.kind == "removed":
        return f"{c.what} {c.before} removed"
    return f"{c.what} {c.before} {ARROW} {c.after}"


def _environment_value(what: str, value: Any) -> str:
    if what.startswith("$") and value is None:
        return "unset"
    if what == "git working tree" and isinstance(value, bool):
        return "dirty" if value else "clean"
    if what in ("git commit", "uncommitted changes") and isinstance(value, str):
        return value[:10]
    if what == "RAM" and isinstance(value, (int, float)):
        return f"{value / 2**30:.1f} GiB"
    return format_value(value)


def _environment_phrase(c: Change) -> str:
    before, after = _environment_value(c.what, c.before), _environment_value(c.what, c.after)
    return f"{c.what} {before} {ARROW} {after}"


# -- rendering --------------------------------------------------------------------


def _section_lines(diff: RunDiff) -> list[tuple[str, list[str]]]:
    """(heading, lines) for each kind of difference, empty kinds included."""
    return [
        ("code", diff.code),
        (
            "parameters",
            [_param_phrase("", c).strip() for c in diff.params]
            + [_param_phrase("hyperparameter", c) for c in diff.hyperparameters],
        ),
        (
            "input data",
            [f"{_data_phrase(c)} ({short(c.before)} {ARROW} {short(c.after)})" for c in diff.data]
            + [
                f"value {c.what} changed ({short(c.before)} {ARROW} {short(c.after)})"
                for c in diff.values
            ],
        ),
        (
            "environment",
            [f"package {_package_phrase(c)}" for c in diff.packages]
            + [_environment_phrase(c) for c in diff.environment],
        ),
    ]


def render_text(diff: RunDiff) -> str:
    """The diff for a terminal: one section per kind, then a summary line."""
    out = [f"--- {diff.a}", f"+++ {diff.b}"]
    for heading, lines in _section_lines(diff):
        if not lines:
            out.append(f"{heading}: same")
            continue
        out.append(f"{heading}:")
        out.extend(f"  {line}" for line in lines)
    out.append("same" if diff.same else "differs: " + "; ".join(diff.causes()))
    return "\n".join(out) + "\n"


def render_html(diff: RunDiff) -> str:
    """The diff as one self-contained HTML page; every recorded string is escaped."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(diff.a)} vs {e(diff.b)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}"
        "pre{background:#f6f8fa;padding:1em;overflow:auto}.add{color:#1a7f37}"
        ".del{color:#cf222e}.same{color:#57606a}</style></head><body>",
        f"<h1>{e(diff.a)} <span class='same'>vs</span> {e(diff.b)}</h1>",
        f"<p><strong>{'same' if diff.same else 'differs'}</strong>"
        + ("" if diff.same else ": " + e("; ".join(diff.causes())))
        + "</p>",
    ]
    for heading, lines in _section_lines(diff):
        parts.append(f"<h2>{e(heading)}</h2>")
        if not lines:
            parts.append("<p class='same'>same</p>")
        elif heading == "code":
            rows = []
            for line in lines:
                cls = (
                    "add"
                    if line.startswith("+") and not line.startswith("+++")
                    else "del"
                    if line.startswith("-") and not line.startswith("---")
                    else ""
                )
                rows.append(f"<span class='{cls}'>{e(line)}</span>" if cls else e(line))
            parts.append("<pre>" + "\n".join(rows) + "</pre>")
        else:
            parts.append("<ul>" + "".join(f"<li>{e(line)}</li>" for line in lines) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render_json(diff: RunDiff) -> str:
    """The diff as JSON: every section, ``same`` and ``causes``."""
    return json.dumps(diff.to_dict(), indent=2, default=str, ensure_ascii=False) + "\n"
