"""The parse step shared by both stores: journal lines to each table's rows, touching no database.

``Batch`` takes a run of one journal's lines and gives each table's rows (Arrow
tables, or dicts); ``TABLES`` says what each table's rows are made of and
``HANDLERS`` which rows each event type gives. The DuckDB store appends what a
batch gives; the team store copies it into PostgreSQL. After the rows are in,
both run :func:`complete_file_hashes` and :func:`apply_forgets`.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from msgspec import Struct

from ..events import (
    CATALOGUE,
    Annotation,
    CellEnd,
    CellStart,
    Command,
    EnvironmentSnapshot,
    Event,
    ExperimentEnd,
    ExperimentStart,
    FileAccess,
    Forget,
    Metric,
    Param,
    SessionStart,
    Target,
    Value,
    event_type,
)
from ..journal import JournalLine, line_decoder

if TYPE_CHECKING:
    import pyarrow as pa


# Lines a batch takes (from one journal) before it is parsed and staged for writing.
BATCH_EVENTS = 50_000
# How a file record whose hash is computed after its cell starts its note (capture/file_hashing.py).
NOTE_PENDING_PREFIX = "SHA-256 computed after the cell"
# What a forgotten execution's texts read as in every view.
FORGOTTEN = "[forgotten]"


@dataclass(slots=True)
class IngestReport:
    """What one ingest pass did."""

    events: int = 0
    journals: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class FastRows:
    """What the fast path made of a run of lines."""

    tables: dict[str, pa.Table]
    event_ids: set[str]
    lines: set[int]  # the indexes of the lines it read
    last: int  # the index of the last of them
    last_hash: str
    last_seq: int | None


# Reads a run of lines (offset, bytes, hash) of a journal faster than line by line, given
# the ids of the events already taken; None when it cannot read them all exactly.
FastReader = Callable[[list[tuple[int, bytes, str]], str, set[str]], FastRows | None]


class Batch:
    """The rows a run of one journal's lines gives each table: the parse step.

    It touches no database; the DuckDB and PostgreSQL stores both write what it
    gives. ``add`` (a parsed line) or ``add_raw`` (its bytes) takes the lines in
    journal order; then ``tables()`` gives each table's rows as an Arrow table,
    ``rows`` the same rows as dicts (every row of a table with the same keys), and
    ``drop`` forgets the rows of events a store already holds. ``end``,
    ``last_hash`` and ``last_seq`` say where the run stops in its journal,
    ``problems`` which lines gave no rows, as (offset, message): read them after
    ``parse()`` (which ``tables()``, ``rows`` and ``drop`` call). Given ``read_fast``
    (the DuckDB store gives ``fastpath.read_fast``), the lines taken by ``add_raw``
    are read by it where it can, and line by line where it cannot.
    """

    def __init__(
        self, journal: str, end: int | None = None, *, read_fast: FastReader | None = None
    ) -> None:
        self.journal = journal
        self.read_fast = read_fast
        self.problems: list[tuple[int, str]] = []
        self.end = end
        self.last_hash: str | None = None
        self.last_seq: int | None = None
        self.count = 0
        # The events this batch has rows for: a line repeating one adds none.
        self.event_ids: set[str] = set()
        # The time and redactions of the event being added, for its handler.
        self.ts: Any = None
        self.redactions: list[str] | None = None
        self._rows = {table: _Rows(*columns) for table, columns in TABLES.items()}
        # Lines taken by add_raw, not parsed yet, and the rows the fast path made of some.
        self._raw: list[tuple[int, bytes, str]] = []
        self._fast: dict[str, list[pa.Table]] = {}
        self._dropped: set[str] = set()
        self._tables: dict[str, pa.Table] | None = None
        self._dicts: dict[str, list[dict[str, Any]]] | None = None

    def add(self, line: JournalLine) -> None:
        """Turn the journal's next line into rows."""
        if self._raw:
            self.parse()
        self.end = line.offset + len(line.raw) + 1
        self.count += 1
        self._take(line)

    def add_raw(self, offset: int, raw: bytes, line_hash: str) -> None:
        """Take the journal's next line as bytes, to be parsed with those around it."""
        self.end = offset + len(raw) + 1
        self.count += 1
        self._raw.append((offset, raw, line_hash))
        self._tables = self._dicts = None

    def parse(self) -> None:
        """Turn the lines taken by ``add_raw`` into rows."""
        lines, self._raw = self._raw, []
        if not lines:
            return
        fast = self.read_fast(lines, self.journal, self.event_ids) if self.read_fast else None
        if fast is not None:
            for table, data in fast.tables.items():
                self._fast.setdefault(table, []).append(data)
            self.event_ids |= fast.event_ids
        decode = line_decoder()
        last_read = -1
        for i, line in enumerate(lines):
            if fast is None or i not in fast.lines:
                parsed = decode(*line)
                self._take(parsed)
                if parsed.event is not None:
                    last_read = i
        if fast is not None and fast.last > last_read:
            self.last_hash, self.last_seq = fast.last_hash, fast.last_seq

    def _take(self, line: JournalLine) -> None:
        self._tables = self._dicts = None
        event = line.event
        if event is None:
            self.problems.append((line.offset, line.error or "unreadable line"))
            return
        if b"\\ud" in line.raw:
            # Lone surrogates (valid in the ASCII journal, not in DuckDB's UTF-8).
            event = _escape_surrogates(event)
        event_id, type_ = event["id"], event["type"]
        self.last_hash = line.line_hash
        self.last_seq = event.get("seq")
        if not isinstance(event_id, str) or not isinstance(type_, str):
            self.problems.append((line.offset, "an event whose id or type is not a string"))
            return
        if event_id in self.event_ids:
            return
        self.event_ids.add(event_id)
        session = event.get("session")
        redactions = event.get("redactions")
        self.ts = event.get("ts")
        self.redactions = [str(r) for r in redactions] if redactions else None
        self._rows["events"].add(
            event, (event_id, self.journal, line.offset, session, line.line_hash, self.redactions)
        )
        handler = HANDLERS.get(type_)
        if handler is not None:
            try:
                handler(self, event_id, session, event.get("data") or {})
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                self.problems.append(
                    (line.offset, f"event {event_id} of type {type_} is malformed: {exc}")
                )

    def add_row(self, table: str, source: dict[str, Any], given: tuple[Any, ...]) -> None:
        """One row: the columns ``TABLES`` copies from ``source``, and the ``given`` ones."""
        self._rows[table].add(source, given)

    def tables(self) -> dict[str, pa.Table]:
        """Each table's rows as an Arrow table (tables without rows left out)."""
        self.parse()
        if self._tables is None:
            tables = {name: rows.table() for name, rows in self._rows.items() if rows.sources}
            for name, parts in self._fast.items():
                tables[name] = concat([tables[name], *parts] if name in tables else parts)
            if self._dropped:
                tables = {
                    name: parts[0]
                    for name, parts in without_events(
                        {name: [table] for name, table in tables.items()}, self._dropped
                    ).items()
                }
            self._tables = tables
        return self._tables

    @property
    def rows(self) -> dict[str, list[dict[str, Any]]]:
        """Each table's rows as dicts, for a store that writes row by row."""
        if self._dicts is None:
            tables = self.tables()
            self._dicts = {
                name: tables[name].to_pylist() if name in tables else [] for name in self._rows
            }
        return self._dicts

    def drop(self, event_ids: set[str]) -> None:
        """Forget the rows of events that are already in the store."""
        self.parse()
        self._dropped |= event_ids
        self.event_ids -= event_ids
        self._tables = self._dicts = None


class _Rows:
    """One table's rows as they arrive, made an Arrow table at the end.

    Each row copies the ``copied`` columns from a dict of its event, under their
    own names, and is given the others as a tuple in the order of ``given``.
    """

    __slots__ = ("copied", "given", "sources", "values")

    def __init__(self, copied: dict[str, str | None], given: tuple[str, ...]) -> None:
        self.copied = copied
        self.given = given
        self.sources: list[dict[str, Any]] = []
        self.values: list[tuple[Any, ...]] = []

    def add(self, source: dict[str, Any], given: tuple[Any, ...]) -> None:
        self.sources.append(source)
        self.values.append(given)

    def table(self) -> pa.Table:
        import pyarrow as pa

        columns: dict[str, pa.Array] = {}
        # The columns of a known type are read from the dicts in one pass over them.
        typed = {name: alias for name, alias in self.copied.items() if alias}
        if typed:
            fields = [(name, pa.type_for_alias(alias)) for name, alias in typed.items()]
            try:
                struct = pa.array(self.sources, pa.struct(fields))
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                pass  # a value of another type: every column as Arrow infers it, below
            else:
                columns.update(zip(typed, struct.flatten(), strict=True))
        for name in self.copied:
            if name not in columns:
                columns[name] = _arrow_array([source.get(name) for source in self.sources])
        for name, values in zip(self.given, zip(*self.values, strict=True), strict=True):
            columns[name] = _arrow_array(values)
        return pa.table(columns)


def _arrow_array(values: Sequence[Any]) -> pa.Array:
    """``pa.array(values)``, typed by the first value that is not None when that fits.

    Arrow's type inference looks at every value, at five times the cost of a typed
    conversion for text. Integers are left to it: a typed conversion would cut a
    float that follows them down to an integer without a word.
    """
    import pyarrow as pa

    first = next((v for v in values if v is not None), None)
    type_ = (
        pa.list_(pa.string())
        if isinstance(first, list)
        else {str: pa.string(), float: pa.float64(), bool: pa.bool_()}.get(type(first))
    )
    if type_ is not None:
        try:
            return pa.array(values, type_)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass
    return pa.array(values)


def copied(source: type[Struct], *, but: tuple[str, ...] = ()) -> dict[str, str | None]:
    """The fields of a catalogue struct that a table copies under their own names (all but
    ``but``), each with the Arrow type it is read as (None: as Arrow infers it)."""
    fields = _fields(source)
    unknown = set(but) - set(fields)
    if unknown:
        raise TypeError(f"{source.__name__} has no field {', '.join(sorted(unknown))}")
    return {name: _arrow_alias(type_) for name, type_ in fields.items() if name not in but}


@functools.cache
def _fields(source: type[Struct]) -> dict[str, str]:
    """A catalogue struct's fields, in order, each with its type as ``events.py`` writes it,
    without the None and UnsetType it may also be (``str``, ``list[str]``, ``dict[str, Any]``).

    The text is read, not evaluated: evaluating every annotation of the catalogue would cost
    each process that imports the store (a kernel does, on ``%load_ext``) milliseconds.
    """
    written: dict[str, Any] = {}
    for cls in reversed(source.__mro__):
        written.update(inspect.get_annotations(cls))
    return {name: _given(written[name]) for name in source.__struct_fields__}


def _given(annotation: Any) -> str:
    """``str | None`` → ``str``: a type as written, without None and UnsetType."""
    if not isinstance(annotation, str):  # a module without postponed annotations
        annotation = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    parts, depth, start = [], 0, 0
    for i, char in enumerate(annotation):
        depth += (char == "[") - (char == "]")
        if char == "|" and depth == 0:
            parts.append(annotation[start:i].strip())
            start = i + 1
    parts.append(annotation[start:].strip())
    return " | ".join(p for p in parts if p not in ("None", "UnsetType"))


def _arrow_alias(type_: str) -> str | None:
    """Text, booleans and floats by their type; integers and the rest as Arrow infers them
    (a typed conversion would cut a float among integers down without a word)."""
    if type_.startswith("Literal["):
        return "string"
    return {"str": "string", "bool": "bool", "float": "double"}.get(type_)


def _is_json(type_: str) -> bool:
    """Whether a field is kept as JSON text: an object, any value, or a list of other than text."""
    if type_ in ("Any", "dict") or type_.startswith("dict["):
        return True
    return type_.startswith("list[") and type_ != "list[str]"


# What each table's rows are made of: the columns copied from a dict of the event,
# with the Arrow type each is read as (None: as Arrow infers it; integers always, see
# ``_arrow_array``), and the columns its handler gives, in the order it gives them.
# Together they are the table's columns in schema.sql. The copied columns are the
# event's fields (or those of what it lists), all but those its handler reads itself.
TABLES: dict[str, tuple[dict[str, str | None], tuple[str, ...]]] = {
    "events": (
        {"seq": None, "ts": "string", "type": "string"},
        ("event_id", "journal", "byte_offset", "session_id", "line_hash", "redactions"),
    ),
    "sessions": (
        copied(SessionStart, but=("user",)),
        ("session_id", "event_id", "started_at", "user_name"),
    ),
    "executions": (
        copied(CellStart, but=("execution_id", "tags")),
        ("execution_id", "event_id", "session_id", "tags", "redactions"),
    ),
    "execution_results": (
        copied(
            CellEnd,
            but=("execution_id", "seeds", "values", "files", "commands", "capture_errors"),
        ),
        ("execution_id", "event_id", "seeds", "capture_errors", "redactions"),
    ),
    "value_records": (copied(Value), ("execution_id", "event_id", "ordinal")),
    "file_records": (copied(FileAccess), ("execution_id", "event_id", "ordinal")),
    "command_records": (copied(Command), ("execution_id", "event_id", "ordinal")),
    "environment_records": (
        copied(
            EnvironmentSnapshot,
            but=("environment_id", "gpus", "git", "container", "env_vars", "packages"),
        ),
        (
            "environment_id",
            "event_id",
            "gpus",
            "git_commit",
            "git_branch",
            "git_dirty",
            "git_diff_sha256",
            "git_remote",
            "container",
            "env_vars",
            "package_count",
        ),
    ),
    "package_records": ({}, ("environment_id", "name", "version")),
    "annotation_records": (
        copied(Annotation, but=("annotation_id", "thread_id", "targets", "created_at")),
        ("annotation_id", "event_id", "session_id", "thread_id", "created_at"),
    ),
    "annotation_targets": (
        copied(Target, but=("type", "ref", "name")),
        ("annotation_id", "event_id", "ordinal", "target_type", "target"),
    ),
    "experiment_records": (
        copied(ExperimentStart, but=("experiment_id", "success", "started_at")),
        ("experiment_id", "event_id", "session_id", "success_criterion", "started_at"),
    ),
    "experiment_ends": (
        copied(ExperimentEnd, but=("experiment_id", "name", "metrics", "ended_at")),
        ("experiment_id", "event_id", "ended_at", "final_metrics"),
    ),
    "metric_records": (
        copied(Metric, but=("name", "value", "logged_at")),
        ("event_id", "session_id", "name", "value", "logged_at"),
    ),
    "param_records": (
        copied(Param, but=("name", "value", "logged_at")),
        ("event_id", "session_id", "name", "value", "logged_at"),
    ),
    "forget_records": (
        copied(Forget, but=("execution_id", "forgotten_at")),
        ("execution_id", "event_id", "session_id", "forgotten_at"),
    ),
}


# The lists of a cell_end event, each a table of rows numbered by their place in it.
CELL_END_LISTS = (
    ("value_records", "values"),
    ("file_records", "files"),
    ("command_records", "commands"),
)
# A row that copies nothing.
_NOTHING: dict[str, Any] = {}


def _on_session(batch: Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    batch.add_row("sessions", d, (session, event_id, batch.ts, d.get("user")))


def _on_cell_start(batch: Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    tags = list(d.get("tags") or [])
    batch.add_row("executions", d, (d["execution_id"], event_id, session, tags, batch.redactions))


def _on_cell_end(batch: Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    execution_id = d["execution_id"]
    seeds = d.get("seeds")
    seeds = json.dumps(seeds) if seeds else "[]"  # json.dumps costs microseconds even for []
    capture_errors = [str(e) for e in d.get("capture_errors") or []]
    batch.add_row(
        "execution_results", d, (execution_id, event_id, seeds, capture_errors, batch.redactions)
    )
    for table, key in CELL_END_LISTS:
        for i, item in enumerate(d.get(key) or []):
            if not isinstance(item, dict):
                raise TypeError(f"{table} entry {i} is {type(item).__name__}, not an object")
            batch.add_row(table, item, (execution_id, event_id, i))


def _on_environment(batch: Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    git = d.get("git") or {}
    packages = d.get("packages") or {}
    env_id = d["environment_id"]
    batch.add_row(
        "environment_records",
        d,
        (
            env_id,
            event_id,
            json.dumps(d.get("gpus") or []),
            git.get("commit"),
            git.get("branch"),
            git.get("dirty"),
            git.get("diff_sha256"),
            git.get("remote_url"),
            json.dumps(d.get("container")) if d.get("container") else None,
            json.dumps(d.get("env_vars") or {}),
            len(packages),
        ),
    )
    for name, version in packages.items():
        batch.add_row("package_records", _NOTHING, (env_id, name, version))


def _on_annotation(batch: Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    annotation_id = d["annotation_id"]
    thread_id = d.get("thread_id") or annotation_id
    created_at = d.get("created_at") or batch.ts
    batch.add_row(
        "annotation_records", d, (annotation_id, event_id, session, thread_id, created_at)
    )
    for i, t in enumerate(d.get("targets") or []):
        if not isinstance(t, dict):
            raise TypeError(f"target {i} is {type(t).__name__}, not an object")
        batch.add_row(
            "annotation_targets", t, (annotation_id, event_id, i, t.get("type"), t.get("ref"))
        )


def _on_experiment_start(
    batch: Batch, event_id: str, session: str | None, d: dict[str, Any]
) -> None:
    started_at = d.get("started_at") or batch.ts
    batch.add_row(
        "experiment_records",
        d,
        (d["experiment_id"], event_id, session, d.get("success"), started_at),
    )


def _on_experiment_end(batch: Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    ended_at = d.get("ended_at") or batch.ts
    final_metrics = json.dumps(d.get("metrics") or {})
    batch.add_row("experiment_ends", d, (d["experiment_id"], event_id, ended_at, final_metrics))


def _on_metric(batch: Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    logged_at = d.get("logged_at") or batch.ts
    batch.add_row("metric_records", d, (event_id, session, d["name"], float(d["value"]), logged_at))


def _on_param(batch: Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    logged_at = d.get("logged_at") or batch.ts
    batch.add_row(
        "param_records", d, (event_id, session, d["name"], json.dumps(d.get("value")), logged_at)
    )


def _on_forget(batch: Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    forgotten_at = d.get("forgotten_at") or batch.ts
    batch.add_row("forget_records", d, (str(d["execution_id"]), event_id, session, forgotten_at))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogates(value: Any) -> Any:
    """Strings with lone surrogates, written as JSON writes them (``\\udc80``), for DuckDB."""
    if isinstance(value, str):
        return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    if isinstance(value, list):
        return [_escape_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {k: _escape_surrogates(v) for k, v in value.items()}
    return value


Handler = Callable[[Batch, str, str | None, dict[str, Any]], None]
# The events whose rows their handler makes.
_HANDLED: dict[type[Event], Handler] = {
    SessionStart: _on_session,
    CellStart: _on_cell_start,
    CellEnd: _on_cell_end,
    EnvironmentSnapshot: _on_environment,
    Annotation: _on_annotation,
    ExperimentStart: _on_experiment_start,
    ExperimentEnd: _on_experiment_end,
    Metric: _on_metric,
    Param: _on_param,
    Forget: _on_forget,
}
# Every other event of the catalogue that names one table is copied: its fields are that
# table's columns, one row per event, and those holding objects or lists of them are kept
# as JSON text. Adding such an event is its catalogue entry, its table and its view.
COPIED: dict[str, type[Event]] = {
    type_: cls for type_, cls in CATALOGUE.items() if cls not in _HANDLED and len(cls.tables) == 1
}


def _json_fields(cls: type[Event]) -> tuple[str, ...]:
    return tuple(name for name, type_ in _fields(cls).items() if _is_json(type_))


def _copier(table: str, json_columns: tuple[str, ...]) -> Handler:
    def handle(batch: Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
        encoded = tuple(json.dumps(d[c]) if d.get(c) is not None else None for c in json_columns)
        batch.add_row(table, d, (event_id, *encoded))

    return handle


# The copied tables' rows: their columns typed as the catalogue says, the JSON ones given, encoded.
TABLES.update(
    {
        cls.tables[0]: (copied(cls, but=_json_fields(cls)), ("event_id", *_json_fields(cls)))
        for cls in COPIED.values()
    }
)

# What each event type gives, by its type in the catalogue.
HANDLERS: dict[str, Handler] = {
    **{event_type(cls): handler for cls, handler in _HANDLED.items()},
    **{type_: _copier(cls.tables[0], _json_fields(cls)) for type_, cls in COPIED.items()},
}


def concat(tables: list[pa.Table]) -> pa.Table:
    """One table of several with the same columns, as if Arrow had inferred them all at once."""
    import pyarrow as pa

    if len(tables) == 1:
        return tables[0]
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        names = list(dict.fromkeys(name for t in tables for name in t.column_names))
        return pa.table(
            {
                name: _arrow_array(
                    [
                        v
                        for t in tables
                        for v in (
                            t[name].to_pylist() if name in t.column_names else [None] * t.num_rows
                        )
                    ]
                )
                for name in names
            }
        )


def without_events(
    tables: dict[str, list[pa.Table]], event_ids: Collection[str]
) -> dict[str, list[pa.Table]]:
    """The tables without the rows of these events (packages have none: they are deduplicated on insert)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    drop = pa.array(list(event_ids), pa.string())
    kept: dict[str, list[pa.Table]] = {}
    for table, parts in tables.items():
        if table != "package_records":
            parts = [p.filter(pc.invert(pc.is_in(p["event_id"], value_set=drop))) for p in parts]
        parts = [p for p in parts if p.num_rows]
        if parts:
            kept[table] = parts
    return kept


def _distinct(parts: Sequence[pa.Table], column: str) -> set[Any]:
    return {value for part in parts for value in part[column].unique().to_pylist()}


def apply_forgets(con: Any, tables: dict[str, list[pa.Table]]) -> None:
    """Blank the texts of forgotten executions: ones forgotten in these rows, everywhere;
    ones forgotten earlier, in the rows these brought (journals ingest in any order)."""
    ids = _distinct(tables.get("forget_records", ()), "execution_id")
    forgotten = {
        row[0] for row in con.execute("SELECT DISTINCT execution_id FROM forget_records").fetchall()
    }
    if forgotten:
        arrived: set[Any] = set()
        for table in ("executions", "execution_results", "value_records"):
            arrived |= _distinct(tables.get(table, ()), "execution_id")
        for part in tables.get("annotation_targets", ()):
            kinds, targets = part["target_type"].to_pylist(), part["target"].to_pylist()
            arrived.update(t for k, t in zip(kinds, targets, strict=True) if k == "execution")
        ids |= arrived & forgotten
    if not ids:
        return
    params = [FORGOTTEN, sorted(ids)]
    con.execute(
        "UPDATE executions SET source = $1, note = CASE WHEN note IS NULL THEN NULL ELSE $1 END, "
        "result_error_message = CASE WHEN result_error_message IS NULL THEN NULL ELSE $1 END, "
        "result_traceback = CASE WHEN result_traceback IS NULL THEN NULL ELSE $1 END, "
        "result_capture_errors = CASE WHEN result_event_id IS NULL THEN NULL ELSE CAST([] AS VARCHAR[]) END "
        "WHERE list_contains($2, execution_id)",
        params,
    )
    con.execute(
        "UPDATE failed_run_copies SET source = $1, "
        "error_message = CASE WHEN error_message IS NULL THEN NULL ELSE $1 END, "
        "traceback = CASE WHEN traceback IS NULL THEN NULL ELSE $1 END "
        "WHERE list_contains($2, execution_id)",
        params,
    )
    con.execute(
        "UPDATE execution_results SET "
        "error_message = CASE WHEN error_message IS NULL THEN NULL ELSE $1 END, "
        "traceback = CASE WHEN traceback IS NULL THEN NULL ELSE $1 END, capture_errors = CAST([] AS VARCHAR[]) "
        "WHERE list_contains($2, execution_id)",
        params,
    )
    con.execute(
        "UPDATE value_records SET summary = CASE WHEN summary IS NULL THEN NULL ELSE $1 END, "
        "note = CASE WHEN note IS NULL THEN NULL ELSE $1 END "
        "WHERE list_contains($2, execution_id)",
        params,
    )
    con.execute(
        "UPDATE command_records SET command = $1 WHERE list_contains($2, execution_id)", params
    )
    con.execute(
        "UPDATE annotation_records SET text = $1 WHERE annotation_id IN ("
        "SELECT annotation_id FROM annotation_targets "
        "WHERE target_type = 'execution' AND list_contains($2, target))",
        params,
    )


def complete_file_hashes(con: Any) -> None:
    """Fill in file records whose SHA-256 was computed after their cell, saying when."""
    con.execute(
        """
        UPDATE file_records SET
            sha256 = h.sha256,
            note = CASE WHEN h.sha256 IS NULL THEN h.note
                        ELSE 'SHA-256 computed after the cell, at '
                             || strftime(timezone('UTC', h.hashed_at), '%Y-%m-%d %H:%M:%S UTC') END
        FROM file_hash_records h
        WHERE file_records.execution_id = h.execution_id AND file_records.path = h.path
          AND file_records.sha256 IS NULL AND starts_with(file_records.note, ?)
        """,
        [NOTE_PENDING_PREFIX],
    )
