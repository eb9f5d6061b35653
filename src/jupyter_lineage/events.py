"""Every event a journal holds, defined once: its type, its fields, and the store tables it feeds.

An event is one journal line's ``type`` and ``data``. Each class below is one type
(its ``tag``), its fields are the keys of ``data``, in the order they are written,
and ``tables`` names the store tables ingest turns it into (besides ``events``,
which has a row for every line). Emitters build these; :func:`event_data` gives the
``data`` the journal writes, and the store's ingest (``store/ingest.py``) reads the
columns it copies and the handlers it keys from here, so the two cannot drift.

Three conventions keep the JSON exactly what the journal has always held:

- a field that may be ``None`` is written as ``null``, except in the classes made
  with ``omit_defaults=True`` (a cell's start and end, and what they list), whose
  ``None`` fields are left out: they were a sixth of a trivial cell's journal bytes,
  and every reader takes a missing field as ``None``;
- a field whose default is ``UNSET`` is left out when it was not given (a model
  update writes only what changed);
- free-form values (``Any``: a parameter's value, a version's hyperparameters) are
  written as the caller gave them, through the journal's JSON encoder.

Plain module: it imports msgspec and nothing heavier, and nothing of the package.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
from msgspec import UNSET, Struct, UnsetType

__all__ = [
    "CATALOGUE",
    "UNSET",
    "Annotation",
    "ArtifactRegistered",
    "CellEnd",
    "CellStart",
    "Command",
    "Dataset",
    "EnvironmentSnapshot",
    "Event",
    "ExperimentEnd",
    "ExperimentStart",
    "FileAccess",
    "FileHashed",
    "Forget",
    "GateDefined",
    "GateEvaluated",
    "JournalGap",
    "Metric",
    "ModelRegistered",
    "ModelUpdated",
    "Param",
    "Seed",
    "SessionStart",
    "Target",
    "UnsetType",
    "Value",
    "VersionCreated",
    "VersionTransition",
    "WaiverRecorded",
    "event_data",
    "event_type",
]


class Event(Struct, kw_only=True, tag_field="type"):
    """One journal event. ``type`` is the line's ``type``; the fields are its ``data``."""

    # The store tables ingest makes rows of for this type (``events`` aside). An event
    # that names one table and has no handler of its own in ``store/ingest.py`` is
    # copied: its fields are that table's columns, one row per event.
    tables: ClassVar[tuple[str, ...]] = ()


# -- the session ---------------------------------------------------------------------


class SessionStart(Event, tag="session_start", kw_only=True):
    """A journal's first event: which process writes it, where, and with what versions."""

    tables: ClassVar[tuple[str, ...]] = ("sessions",)

    pid: int
    user: str | None
    hostname: str | None
    notebook_path: str | None
    notebook_key: str | None
    """The notebook's name on every machine: ``git:PATH`` in its repository, ``root:PATH``
    below the server's root, or None (``config.notebook_key``)."""
    author: str | None
    """Who runs the session (``Session.author``)."""
    working_dir: str | None
    lineage_version: str
    ipython_version: str | None


class JournalGap(Event, tag="journal_gap", kw_only=True):
    """Events the journal dropped while it could not be written and held more than it may.

    Written by the journal itself, in order, once it can write again; ``doctor``
    counts them. No table but ``events`` keeps it.
    """

    dropped_events: int
    first_dropped_at: str
    reason: str
    last_dropped_at: str


# -- a cell's capture ----------------------------------------------------------------


class CellStart(Event, tag="cell_start", omit_defaults=True, kw_only=True):
    """A captured cell about to run: its source and how it was asked to be captured.

    Written before the cell runs, so a kernel that dies mid-cell still leaves a record
    (its run reads ``incomplete``). ``None`` fields are left out.
    """

    tables: ClassVar[tuple[str, ...]] = ("executions",)

    execution_id: str
    execution_count: int | None = None
    notebook_path: str | None = None
    cell_id: str | None = None
    source: str
    # SHA-256 of the source as written here (after redaction, so no guess can be checked).
    source_hash: str
    name: str | None = None  # %%lineage --name
    tags: list[str]
    model: str | None = None  # --model: the model this cell trains
    base_model: str | None = None
    note: str | None = None
    mode: str  # "magic" (a %%lineage cell) or "auto" (%lineage on)
    capture_values: bool  # False under --no-values: values are recorded by type only
    experiment_id: str | None = None
    started_at: str


class Seed(Struct, kw_only=True):
    """A random seed a cell set: the call, its argument as written, and its value when known."""

    call: str
    argument: str
    value: int | str | float | None


class Value(Struct, omit_defaults=True, kw_only=True):
    """A variable a cell read (role ``input``) or bound, changed or deleted (role ``output``).

    ``None`` fields are left out (a deleted name has no fingerprint).
    """

    name: str
    role: str  # "input" or "output"
    action: str  # "read", "assigned", "mutated" or "deleted"
    fingerprint: str | None = None  # the content hash (kind "content") or an identity
    fingerprint_kind: str | None = None  # "content", "identity", "timeout" or "error"
    type_name: str | None = None
    shape: str | None = None
    length: int | None = None
    summary: str | None = None
    note: str | None = None  # why a fingerprint is not a content hash


class FileAccess(Struct, kw_only=True, omit_defaults=True):
    """A file a cell opened, with its SHA-256 after the cell (``note`` says why none).

    ``mtime_ns`` and ``inode`` are the version of the file that was hashed: a later
    look at the file (is it still what the cell saw?) compares them before reading
    its bytes. Left out when unknown (records written before they were kept).
    """

    path: str
    access: str  # "read" or "write"
    size: int | None
    sha256: str | None
    note: str | None
    mtime_ns: int | None = None
    inode: int | None = None


class Command(Struct, kw_only=True):
    """A shell command a cell ran (``!cmd``, ``%%bash``...), as written."""

    kind: str
    command: str


class CellEnd(Event, tag="cell_end", omit_defaults=True, kw_only=True):
    """A captured cell's result: status, error, what it read and wrote, where it ran.

    ``None`` fields are left out.
    """

    tables: ClassVar[tuple[str, ...]] = (
        "execution_results",
        "value_records",
        "file_records",
        "command_records",
    )

    execution_id: str
    execution_count: int | None = None
    ended_at: str
    duration_ms: float
    status: str  # "ok", "failed" or "interrupted"
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    environment_id: str | None = None  # an environment event of this journal
    seeds: list[Seed]
    values: list[Value]
    files: list[FileAccess]
    commands: list[Command] | None = None
    capture_errors: list[str]  # problems with a value or file; the cell itself was unaffected


class FileHashed(Event, tag="file_hashed", kw_only=True):
    """The SHA-256 of a large file a cell wrote, computed after the cell returned.

    Ingest completes the cell's file record from it, saying when it was hashed.
    """

    tables: ClassVar[tuple[str, ...]] = ("file_hash_records",)

    execution_id: str
    path: str
    size: int
    sha256: str | None
    note: str | None
    hashed_at: str


class EnvironmentSnapshot(Event, tag="environment", kw_only=True):
    """Where code ran: interpreter, machine, git state, container, packages.

    Written once per content (``environment_id`` is a hash of every field but
    ``captured_at``); cell ends name it.
    """

    tables: ClassVar[tuple[str, ...]] = ("environment_records", "package_records")

    environment_id: str
    captured_at: str
    python_version: str
    python_implementation: str
    python_executable: str
    platform: str
    os_name: str
    os_release: str
    machine: str
    hostname: str
    cpu_model: str | None
    cpu_count: int | None
    ram_bytes: int | None
    gpus: list[dict[str, Any]]  # name, memory_total_mib, driver_version, uuid
    # root, commit, branch, dirty, diff_sha256, remote_url (without credentials)
    git: dict[str, Any] | None
    container: dict[str, Any] | None  # runtime, kubernetes, image, image_digest
    env_vars: dict[str, str]  # the allow-listed variables
    packages: dict[str, str]  # distribution name -> version

    def to_json(self) -> dict[str, Any]:
        """Its fields as a plain dict (what ``environment_id`` is computed from, less the id
        and time)."""
        return msgspec.structs.asdict(self)


# -- annotations and experiments -------------------------------------------------------


class Target(Struct, omit_defaults=True, kw_only=True):
    """What an annotation is about. ``None`` fields are left out."""

    type: str  # "execution", "value", "file", "model", "model_version" or "experiment"
    ref: str  # an execution id, variable name, path, model name, version id or experiment id
    fingerprint: str | None = None  # a value's content hash when annotated
    sha256: str | None = None  # a file's, when annotated
    name: str | None = None  # how people name a version or experiment


class Annotation(Event, tag="annotation", kw_only=True):
    """A note, rationale, decision... on executions, values, files, models or experiments.

    Revisions share a ``thread_id``. A note written with ``%%lineage --note`` has no
    ``revises``, ``question``, ``template`` or ``created_at`` (ingest takes the
    event's time).
    """

    tables: ClassVar[tuple[str, ...]] = ("annotation_records", "annotation_targets")

    annotation_id: str
    thread_id: str
    revises: str | UnsetType | None = UNSET  # the annotation this one replaces
    kind: str
    text: str  # Markdown, as written
    author: str
    targets: list[Target]
    experiment_id: str | None
    question: str | UnsetType | None = UNSET  # the template question it answers
    template: str | UnsetType | None = UNSET
    created_at: str | UnsetType = UNSET


class ExperimentStart(Event, tag="experiment_start", kw_only=True):
    """An experiment opened: cells captured until it ends belong to it."""

    tables: ClassVar[tuple[str, ...]] = ("experiment_records",)

    experiment_id: str
    name: str
    hypothesis: str | None
    success: str | None  # the success criterion, e.g. "auc >= 0.8"
    notebook_path: str | None
    started_at: str


class ExperimentEnd(Event, tag="experiment_end", kw_only=True):
    """An experiment closed, with its criterion evaluated against the metrics logged in it."""

    tables: ClassVar[tuple[str, ...]] = ("experiment_ends",)

    experiment_id: str
    name: str
    outcome: str  # the declared outcome, else the evaluated one
    declared_outcome: str | None
    evaluated_outcome: str
    criterion_met: bool | None  # None: no criterion
    evaluation: str
    metrics: dict[str, float]  # the latest value of each metric logged in it
    ended_at: str


class Metric(Event, tag="metric", kw_only=True):
    """A metric logged on the running (or last captured) execution and the open experiment."""

    tables: ClassVar[tuple[str, ...]] = ("metric_records",)

    name: str
    value: float
    step: int | None
    execution_id: str | None
    experiment_id: str | None
    logged_at: str


class Param(Event, tag="param", kw_only=True):
    """A parameter logged, any JSON value (what JSON cannot hold is logged as its text)."""

    tables: ClassVar[tuple[str, ...]] = ("param_records",)

    name: str
    value: Any
    execution_id: str | None
    experiment_id: str | None
    logged_at: str


class Forget(Event, tag="forget", kw_only=True):
    """An execution whose texts must no longer be shown; the store blanks them everywhere."""

    tables: ClassVar[tuple[str, ...]] = ("forget_records",)

    execution_id: str
    reason: str | None
    forgotten_at: str


class Dataset(Event, tag="dataset", kw_only=True):
    """A dataset logged as an input (or output) of a run, with a digest of all its content."""

    tables: ClassVar[tuple[str, ...]] = ("dataset_records",)

    dataset_id: str
    name: str
    context: str  # training, validation, test, evaluation, inference or other
    digest: str
    digest_kind: str  # "content", or why the digest is not one
    type_name: str
    shape: str | None
    row_count: int | None
    column_count: int | None
    schema: list[dict[str, str]] | None  # [{"name", "type"}...] of a frame or table
    source: str | None  # where it came from, as the caller wrote it
    note: str | None
    hashed_ms: float
    execution_id: str | None
    experiment_id: str | None
    logged_at: str


# -- the model registry ----------------------------------------------------------------


class ModelRegistered(Event, tag="model_registered", kw_only=True):
    """A model registered: its name within its group, owners and risk tier."""

    tables: ClassVar[tuple[str, ...]] = ("model_records",)

    model_id: str
    name: str
    group_name: str
    description: str
    owners: list[str]
    risk_tier: str
    tags: list[str]
    documentation_url: str | None
    repository_url: str | None
    created_by: str
    created_at: str


class ModelUpdated(Event, tag="model_updated", kw_only=True):
    """A change to a model: only the fields that changed are written (or ``retired``)."""

    tables: ClassVar[tuple[str, ...]] = ("model_updates",)

    model_id: str
    description: str | UnsetType | None = UNSET
    owners: list[str] | UnsetType = UNSET
    risk_tier: str | UnsetType = UNSET
    tags: list[str] | UnsetType = UNSET
    documentation_url: str | UnsetType | None = UNSET
    repository_url: str | UnsetType | None = UNSET
    retired: bool | UnsetType = UNSET
    updated_by: str
    justification: str | None
    updated_at: str


class VersionCreated(Event, tag="version_created", kw_only=True):
    """A model version added in state DRAFT, with what lineage says trained it."""

    tables: ClassVar[tuple[str, ...]] = ("version_records",)

    version_id: str
    model_id: str
    version: str  # semantic version
    commit_sha: str | None
    execution_id: str | None  # the training execution
    experiment_id: str | None
    framework: str | None
    framework_version: str | None
    model_type: str | None
    input_schema: dict[str, Any] | None  # JSON Schema
    output_schema: dict[str, Any] | None
    hyperparameters: dict[str, Any] | None
    datasets: dict[str, Any]  # context -> [{"kind": "file" | "value", ...}]
    base_model_version: str | None
    intended_use: str | None
    limitations: str | None
    ethical_considerations: str | None
    metrics: dict[str, Any]
    created_by: str
    created_at: str


class VersionTransition(Event, tag="version_transition", kw_only=True):
    """A version moved to another lifecycle state, by whom, in what role, and why."""

    tables: ClassVar[tuple[str, ...]] = ("transition_records",)

    version_id: str
    from_state: str
    to_state: str
    actor: str
    role: str
    justification: str
    allow_multiple_production: bool
    occurred_at: str


class GateDefined(Event, tag="gate_defined", kw_only=True):
    """A gate: ``metric op threshold`` required before approval, for a model or a risk tier."""

    tables: ClassVar[tuple[str, ...]] = ("gate_records",)

    gate_id: str
    scope_type: str  # "model" or "tier"
    scope: str  # a model id or a risk tier
    metric: str
    op: str
    threshold: float
    created_by: str
    created_at: str


class GateEvaluated(Event, tag="gate_evaluated", kw_only=True):
    """A gate checked against a version on its way to a gated state (refusals included)."""

    tables: ClassVar[tuple[str, ...]] = ("gate_evaluations",)

    version_id: str
    target_state: str
    gate_id: str
    metric: str
    op: str
    threshold: float
    value: float | None  # None: the version has no such metric
    passed: bool
    waiver_id: str | None  # the waiver that let a failing gate through
    outcome: str  # "passed", "waived" or "failed"
    actor: str
    occurred_at: str


class WaiverRecorded(Event, tag="waiver_recorded", kw_only=True):
    """A waiver: a failing gate on ``metric`` does not block the version until it expires."""

    tables: ClassVar[tuple[str, ...]] = ("waiver_records",)

    waiver_id: str
    version_id: str
    metric: str
    actor: str
    reason: str
    expires_at: str
    created_at: str


class ArtifactRegistered(Event, tag="artifact_registered", kw_only=True):
    """A file or URI registered with a version, by SHA-256 (``stored_path``: copied into the store)."""

    tables: ClassVar[tuple[str, ...]] = ("artifact_records",)

    artifact_id: str
    version_id: str
    name: str
    kind: str  # weights, tokenizer, config, container, data or other
    uri: str
    stored_path: str | None  # relative to the store directory
    sha256: str
    size: int | None
    created_by: str
    created_at: str


# -- the catalogue ---------------------------------------------------------------------


def _catalogue() -> dict[str, type[Event]]:
    found: dict[str, type[Event]] = {}
    pending = list(Event.__subclasses__())
    while pending:
        cls = pending.pop(0)
        found[event_type(cls)] = cls
        pending += cls.__subclasses__()
    return found


def event_type(event: Event | type[Event]) -> str:
    """The journal ``type`` of an event or event class (``cell_end``)."""
    tag = event.__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def event_data(event: Event) -> dict[str, Any]:
    """The ``data`` of an event's journal line: its fields, in order, as the conventions above say.

    Fields that hold the catalogue's own structs (a cell end's values...) are made
    plain dicts and lists; every other value is passed as given, for the journal's
    JSON encoder to write as it always has.
    """
    cls = type(event)
    plan = _PLANS.get(cls)
    if plan is None:
        unset = any(default is UNSET for default in cls.__struct_defaults__)
        plan = _PLANS[cls] = (bool(cls.__struct_config__.omit_defaults), unset)
    omit_none, unset = plan
    data = msgspec.structs.asdict(event)
    for name, value in data.items():
        # A struct field holds a list of structs (by its type): told apart by the value
        # itself, without reading the type annotations, which costs milliseconds a class.
        if type(value) is list and value and issubclass(type(value[0]), Struct):
            data[name] = msgspec.to_builtins(value, enc_hook=_as_the_json_module_would)
    if omit_none:
        return {k: v for k, v in data.items() if v is not None and v is not UNSET}
    if unset:
        return {k: v for k, v in data.items() if v is not UNSET}
    return data


# Per event class: whether None or UNSET values are dropped.
_PLANS: dict[type[Event], tuple[bool, bool]] = {}


def _as_the_json_module_would(obj: Any) -> Any:
    """A value inside a catalogue struct that msgspec leaves to us: what ``json.dumps`` writes.

    Subclasses of str, int and float are written as their plain value (without running
    any method they override); anything else as its text, as the journal's encoder does.
    """
    if isinstance(obj, str):
        return str.__str__(obj)
    if isinstance(obj, int):
        return int.__int__(obj)
    if isinstance(obj, float):
        return float.__float__(obj)
    if isinstance(obj, (list, tuple, set, frozenset)):
        return list(obj)
    return str(obj)


CATALOGUE: dict[str, type[Event]] = _catalogue()
"""Every event type, by its journal ``type``."""
