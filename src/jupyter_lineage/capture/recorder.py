"""One cell's life under capture: before → run → after → journal events.

The recorder hangs off IPython's ``pre_run_cell`` / ``post_run_cell`` events.
Both ``%%lineage`` and ``%lineage on`` go through this one path; the cell itself
runs exactly as IPython would run it without the extension (the ``%%lineage``
line is stripped by an input transformer), so its result, display output,
exception and traceback are the user's own. Every step here is guarded: a
capture problem becomes a ``capture_errors`` entry and one warning, never an
exception in the user's cell.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import gc
import hashlib
import os
import pathlib
import stat
import time
import types
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..errors import describe
from ..events import (
    Annotation,
    CellEnd,
    CellStart,
    Command,
    EnvironmentSnapshot,
    FileAccess,
    FileHashed,
    Seed,
    Target,
    Value,
)
from ..hashing import sha256_file
from ..journal import utc_now
from ..records import Fingerprint, RecentExecution
from ..redact import may_contain_secret, redact_text
from .analysis import CellAnalysis, analyse, is_ipython_name
from .environment import EnvironmentCapture
from .failure import PATH_TYPES, describe_error, error_type_name
from .file_hashing import DEFER_BYTES, NOTE_PENDING, DeferredHasher, HashJob
from .files import FileTracker, ignored_prefixes
from .fingerprint import fingerprint, is_immutable_value, type_name

if TYPE_CHECKING:
    from ..session import Session

MAX_TRACEBACK_CHARS = 20_000
MAX_MESSAGE_CHARS = 2_000
RECENT_EXECUTIONS = 200
ENVIRONMENT_RECHECK_S = 1.0


@dataclass(slots=True)
class CaptureOptions:
    """What ``%%lineage`` was asked for (``mode`` is ``magic`` or ``auto``)."""

    mode: str = "auto"
    name: str | None = None
    tags: tuple[str, ...] = ()
    model: str | None = None
    base_model: str | None = None
    note: str | None = None
    capture_values: bool = True


@dataclass(slots=True)
class _CellCapture:
    execution_id: str
    options: CaptureOptions
    analysis: CellAnalysis
    inputs: dict[str, tuple[Fingerprint | None, int]]
    files: FileTracker
    started: float
    errors: list[str] = field(default_factory=list)
    # For a cell that runs scripts (``%run``): id of each user name's object before it.
    namespace_before: dict[str, int] | None = None
    # Wall-clock start, for files written by native code (their mtime is after it).
    started_ns: int = 0


class Recorder:
    """Captures executions of one IPython shell into its journal."""

    def __init__(self, shell: Any, session: Session) -> None:
        self.shell = shell
        self.session = session
        session.kernel = self
        self.auto = False
        self.value_budget_s = 2.0
        notebook = self.session.notebook_path
        repo_dir = Path(notebook).parent if notebook else Path.cwd()
        self.environment = EnvironmentCapture(repo_dir=repo_dir)
        self._emitted_environments: set[str] = set()
        self._stack: list[_CellCapture | None] = []
        self._file_hashes: dict[tuple[str, int, int, int], str] = {}
        self._hasher: DeferredHasher | None = None
        self._ignored_paths: tuple[str, ...] | None = None
        self._environment_checked = 0.0
        self._current_environment: EnvironmentSnapshot | None = None
        self.captured_count = 0
        self.recent: deque[RecentExecution] = deque(maxlen=RECENT_EXECUTIONS)

    @property
    def user_ns(self) -> dict[str, Any]:
        return self.shell.user_ns  # type: ignore[no-any-return]

    def set_store_dir(self, store_dir: str | os.PathLike[str]) -> None:
        """Send future events to another store (a new journal there, same session)."""
        self._close_hasher()
        self.session.set_store_dir(store_dir)
        self._emitted_environments.clear()
        self._ignored_paths = None

    @property
    def current_execution_id(self) -> str | None:
        """The execution running now, else the last one captured in this session."""
        for capture in reversed(self._stack):
            if capture is not None:
                return capture.execution_id
        return self.recent[-1].execution_id if self.recent else None

    def _close_hasher(self) -> None:
        if self._hasher is not None:
            # Files still being hashed complete their records in this journal first.
            self._hasher.close(timeout=60.0)
            self._hasher = None

    def close(self) -> None:
        self._close_hasher()
        self.session.close()

    def warn_once(self, key: str, message: str) -> None:
        """Print a one-line capture warning the first time a kind of problem happens."""
        self.session.warn_once(key, message)

    def prepare(self) -> None:
        """Get ready to capture, so the first captured cell costs what any other does.

        ``%lineage on`` calls it: the session's journal is opened, the environment is
        read (git runs here) and recorded, and the paths capture ignores are worked
        out. Never raises: whatever fails here is done, and reported, by the first cell.
        """
        try:
            self._ignored()
            self.session.journal()
            self._environment_id(None, [])
        except Exception:
            pass

    def _ignored(self) -> tuple[str, ...]:
        """The path prefixes whose files are never a cell's (worked out once per store)."""
        if self._ignored_paths is None:
            self._ignored_paths = ignored_prefixes([str(self.session.store_dir)])
        return self._ignored_paths

    # -- the cell's life -----------------------------------------------------

    def begin(
        self,
        options: CaptureOptions,
        source: str,
        code: str,
        transformed: str | None,
        cell_id: str | None,
        execution_count: int | None,
    ) -> None:
        """Start capturing a cell that is about to run. Never raises.

        ``source`` is what the record shows; ``code`` is the Python to analyse
        and ``transformed`` its IPython-transformed form when already known.
        """
        capture = None
        try:
            with collections_paused():
                capture = self._begin(options, source, code, transformed, cell_id, execution_count)
        except Exception as exc:
            self.warn_once(
                f"begin:{type(exc).__name__}",
                f"could not start capturing this cell ({describe(exc)}); it runs as usual",
            )
        self._stack.append(capture)

    def skip(self) -> None:
        """Mark a cell that is not captured, so begin/end stay paired."""
        self._stack.append(None)

    @property
    def in_cell(self) -> bool:
        """Whether a cell is running: a cell that starts now runs inside it (``%%capture``)."""
        return bool(self._stack)

    def is_user_value(self, name: str, obj: object) -> bool:
        """Whether ``name`` holds the user's own value, not a builtin or what IPython put there."""
        hidden = getattr(self.shell, "user_ns_hidden", None) or {}
        if name in hidden and hidden[name] is obj:
            return False
        return builtins.__dict__.get(name, _MISSING) is not obj

    def _begin(
        self,
        options: CaptureOptions,
        source: str,
        code: str,
        transformed: str | None,
        cell_id: str | None,
        execution_count: int | None,
    ) -> _CellCapture:
        errors: list[str] = []
        if transformed is None:
            try:
                transformed = self.shell.transform_cell(code)
            except Exception as exc:
                transformed = code
                errors.append(f"transform: {describe(exc)}")
        analysis = analyse(transformed)
        user_ns = self.shell.user_ns
        inputs: dict[str, tuple[Fingerprint | None, int]] = {}
        for name in analysis.reads:
            if name not in user_ns:
                continue
            obj = user_ns[name]
            if _is_module(obj) or not self.is_user_value(name, obj):
                continue
            inputs[name] = (self._fingerprint(obj, options, errors, name), id(obj))
        namespace_before = None
        if analysis.scripts:
            namespace_before = {name: id(obj) for name, obj in user_ns.items()}
        execution_id = uuid.uuid4().hex
        journal = self.session.journal()
        # Redacted here rather than only in the journal, so the hash is of what is
        # stored: a hash of the original would let a guessed password be checked.
        redactions = None
        if may_contain_secret(source):
            source, found = redact_text(source, code=True)
            redactions = [f"source:{kind}" for kind in found]
        journal.append_event(
            CellStart(
                execution_id=execution_id,
                execution_count=execution_count,
                notebook_path=self.session.notebook_path,
                cell_id=cell_id,
                source=source,
                source_hash=hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest(),
                name=options.name,
                tags=list(options.tags),
                model=options.model,
                base_model=options.base_model,
                note=options.note,
                mode=options.mode,
                capture_values=options.capture_values,
                experiment_id=self._experiment_id(),
                started_at=utc_now(),
            ),
            redactions=redactions,
        )
        self.session.check_journal(journal)
        tracker = FileTracker(self._ignored())
        tracker.__enter__()
        return _CellCapture(
            execution_id,
            options,
            analysis,
            inputs,
            tracker,
            time.perf_counter(),
            errors,
            namespace_before,
            time.time_ns(),
        )

    def end(self, error: BaseException | None, execution_count: int | None) -> None:
        """Finish the innermost capture after its cell ran. Never raises."""
        if not self._stack:
            return  # e.g. the cell that loaded the extension
        capture = self._stack.pop()
        if capture is None:
            return
        ended = time.perf_counter()
        capture.files.__exit__(None, None, None)
        try:
            with collections_paused():
                self._end(capture, ended, error, execution_count)
            self.captured_count += 1
            self.session.ship()
        except Exception as exc:
            self.warn_once(
                f"end:{type(exc).__name__}",
                f"could not record this cell ({describe(exc)}); the cell itself ran as usual",
            )

    def _end(
        self,
        capture: _CellCapture,
        ended: float,
        error: BaseException | None,
        execution_count: int | None,
    ) -> None:
        errors = capture.errors
        values = self._values_after(capture, errors)
        accesses = capture.files.results()
        if capture.analysis.native_files:
            accesses.update(self._native_files(capture, accesses))
        files = self._file_records(accesses, errors, capture.execution_id)
        environment_id = self._environment_id(capture.analysis, errors)
        status, error_type, message, tb, redactions = _error_fields(error, self.shell, errors)
        journal = self.session.journal()
        journal.append_event(
            CellEnd(
                execution_id=capture.execution_id,
                execution_count=execution_count,
                ended_at=utc_now(),
                duration_ms=round((ended - capture.started) * 1000.0, 3),
                status=status,
                error_type=error_type,
                error_message=message,
                traceback=tb,
                environment_id=environment_id,
                seeds=self._seeds(capture.analysis),
                values=values,
                files=files,
                commands=[
                    Command(kind=kind, command=command)
                    for kind, command in capture.analysis.commands
                ]
                or None,
                capture_errors=errors,
            ),
            redactions=redactions,
        )
        if capture.options.note:
            annotation_id = uuid.uuid4().hex
            self.session.annotation_ids[annotation_id] = annotation_id
            journal.append_event(
                Annotation(
                    annotation_id=annotation_id,
                    thread_id=annotation_id,
                    kind="note",
                    text=capture.options.note,
                    author=self.session.author,
                    targets=[Target(type="execution", ref=capture.execution_id)],
                    experiment_id=self._experiment_id(),
                )
            )
        journal.request_sync()
        self.session.check_journal(journal)
        self.recent.append(
            RecentExecution(
                capture.execution_id,
                execution_count,
                capture.options.name,
                capture.options.model,
                status,
                tuple(v.name for v in values if v.role == "output"),
                tuple(f.path for f in files),
            )
        )
        sync_error = journal.take_sync_error()
        if sync_error is not None:
            self.warn_once(
                "fsync", f"the journal could not be flushed to disk ({describe(sync_error)})"
            )
        # Values that could only be identified, not hashed, are recorded in
        # ``capture_errors``; they are not failures worth interrupting the user for.

    # -- pieces --------------------------------------------------------------

    def _fingerprint(
        self, obj: object, options: CaptureOptions, errors: list[str], name: str
    ) -> Fingerprint | None:
        if not options.capture_values:
            return None
        fp = fingerprint(obj, budget_s=self.value_budget_s)
        if fp.kind != "content":
            errors.append(f"{name}: {fp.kind} fingerprint ({fp.note or 'no content hash'})")
        return fp

    def _values_after(self, capture: _CellCapture, errors: list[str]) -> list[Value]:
        user_ns = self.shell.user_ns
        options = capture.options
        records: list[Value] = []
        for name, (fp, _) in capture.inputs.items():
            records.append(_value(name, "input", "read", fp or _type_only(user_ns.get(name))))
        bound = set()
        for name in _bound_names(capture, user_ns):
            if name not in user_ns:
                continue
            obj = user_ns[name]
            if _is_module(obj) or not self.is_user_value(name, obj):
                continue
            bound.add(name)
            fp = (
                self._fingerprint(obj, options, errors, name)
                if options.capture_values
                else _type_only(obj)
            )
            action: Literal["assigned", "mutated"] = "assigned"
            if name in capture.inputs and fp is not None:
                # ``grid += 1`` on an array binds the name to the object it already held:
                # the object was changed in place.
                before, obj_id = capture.inputs[name]
                if (
                    id(obj) == obj_id
                    and before is not None
                    and before.kind == fp.kind == "content"
                    and before.digest != fp.digest
                ):
                    action = "mutated"
            records.append(_value(name, "output", action, fp))
        for name in capture.analysis.deletes:
            if name not in user_ns:
                records.append(_value(name, "output", "deleted", None))
        for name, (before, obj_id) in capture.inputs.items():
            if name in bound or name not in user_ns:
                continue
            obj = user_ns[name]
            if id(obj) != obj_id:
                # Rebound by code the cell called (a function's ``global`` statement).
                fp = (
                    self._fingerprint(obj, options, errors, name)
                    if options.capture_values
                    else _type_only(obj)
                )
                records.append(_value(name, "output", "assigned", fp))
            elif (
                options.capture_values
                and before is not None
                and before.kind == "content"
                and not is_immutable_value(obj)
            ):
                # In-place mutation: still the same object, whose content changed.
                after = fingerprint(obj, budget_s=self.value_budget_s)
                if after.digest != before.digest:
                    records.append(_value(name, "output", "mutated", after))
        return records

    def _native_files(self, capture: _CellCapture, seen: dict[str, str]) -> dict[str, str]:
        """Files the cell's calls opened in native code, where the path is known without running
        anything: a literal, or a name holding a ``str`` or a ``pathlib`` path."""
        found: dict[str, str] = {}
        ignored = self._ignored()
        for access, kind, value in capture.analysis.native_files:
            path: Any = value
            if kind == "name":
                obj = self.shell.user_ns.get(value)
                if type(obj) is str:
                    path = obj
                elif type(obj) in PATH_TYPES:
                    # Exact types: a subclass's __str__, which __fspath__ calls, is the user's.
                    path = pathlib.PurePath.__fspath__(obj)  # type: ignore[arg-type]
                else:
                    continue
            if not path or "://" in path:
                continue
            path = os.path.normpath(os.path.join(os.getcwd(), os.path.expanduser(path)))
            if path in seen or path in found or path.startswith(ignored):
                continue
            try:
                st = os.stat(path)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            if access == "write" and st.st_mtime_ns < capture.started_ns:
                continue  # not written by this cell (the call failed, or wrote elsewhere)
            found[path] = access
        return found

    def _file_records(
        self, accesses: dict[str, str], errors: list[str], execution_id: str | None = None
    ) -> list[FileAccess]:
        records = []
        for path, access in accesses.items():
            entry = FileAccess(path=path, access=access, size=None, sha256=None, note=None)
            try:
                st = os.stat(path)
                key = (path, st.st_size, st.st_mtime_ns, st.st_ino)
                digest = self._file_hashes.get(key)
                entry.size, entry.mtime_ns, entry.inode = st.st_size, st.st_mtime_ns, st.st_ino
                if digest is None and execution_id and self._defer_hash(execution_id, key, access):
                    entry.note = NOTE_PENDING
                    records.append(entry)
                    continue
                if digest is None:
                    digest, _ = sha256_file(path)
                    self._file_hashes[key] = digest
                entry.sha256 = digest
            except FileNotFoundError:
                entry.note = "gone after the cell (deleted or moved)"
            except OSError as exc:
                entry.note = f"not hashed: {describe(exc)}"
                errors.append(f"file {path}: {describe(exc)}")
            records.append(entry)
        return records

    def _defer_hash(self, execution_id: str, key: tuple[str, int, int, int], access: str) -> bool:
        """Hash a large file the cell wrote (or one already being hashed) after the cell instead."""
        pending = self._hasher is not None and self._hasher.pending(key)
        if not pending and (access == "read" or key[1] < DEFER_BYTES):
            return False
        if self._hasher is None:
            self._hasher = DeferredHasher(self._file_hashed)
            atexit.register(self._hasher.wait, 10.0)
        self._hasher.submit(HashJob(execution_id, key[0], key))
        return True

    def _file_hashed(self, job: HashJob, digest: str | None, note: str | None) -> None:
        """Complete a file record whose hash was computed after its cell (background thread)."""
        if digest is not None:
            self._file_hashes[job.key] = digest
        self.session.emit(
            FileHashed(
                execution_id=job.execution_id,
                path=job.path,
                size=job.key[1],
                sha256=digest,
                note=note,
                hashed_at=utc_now(),
            )
        )

    def _environment_id(self, analysis: CellAnalysis | None, errors: list[str]) -> str | None:
        """The environment a cell ran in (``None``: before any cell), recorded once."""
        installs = analysis is not None and analysis.installs_packages
        try:
            if installs:
                self.environment.invalidate()
            now = time.monotonic()
            if (
                self._current_environment is None
                or installs
                or (analysis is not None and analysis.imports)
                or now - self._environment_checked > ENVIRONMENT_RECHECK_S
            ):
                # Checking for change costs ~40 µs of stat calls: do it at most
                # once a second, and always after imports or package installs.
                self._current_environment = self.environment.snapshot()
                self._environment_checked = now
            env = self._current_environment
        except Exception as exc:
            errors.append(f"environment: {describe(exc)}")
            return None
        if env.environment_id not in self._emitted_environments:
            self.session.journal().append_event(env)
            self._emitted_environments.add(env.environment_id)
        return env.environment_id

    def _experiment_id(self) -> str | None:
        experiment = self.session.experiment
        return experiment.experiment_id if experiment is not None else None

    def _seeds(self, analysis: CellAnalysis) -> list[Seed]:
        seeds = []
        for seed in analysis.seeds:
            value = seed.literal
            if value is None and seed.argument.isidentifier():
                candidate = self.shell.user_ns.get(seed.argument)
                # Exact types: isinstance would consult a user object's __class__.
                if type(candidate) in (int, str):
                    value = candidate
            seeds.append(
                Seed(
                    call=seed.call,
                    argument=seed.argument,
                    value=value if isinstance(value, (int, str, float)) else None,
                )
            )
        return seeds


_MISSING = object()


@contextlib.contextmanager
def collections_paused() -> Iterator[None]:
    """Hold off the interpreter's cyclic collections while the capture works.

    A collection that falls inside the capture's hooks would run the finalizers
    (``__del__``) of the user's garbage there, and would promote the capture's
    short-lived objects into older generations, bringing the next full
    collection closer. Paused, the capture's objects are freed by reference
    counting before the collector next looks. Left as it is if the user turned
    collection off.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _bound_names(capture: _CellCapture, user_ns: dict[str, Any]) -> list[str]:
    """The names the cell bound: from its code, and for ``%run``, those the script bound."""
    names = list(capture.analysis.binds)
    before = capture.namespace_before
    if before is not None:
        known = set(names)
        for name, obj in list(user_ns.items()):
            if name in known or (name.startswith("__") and name.endswith("__")):
                continue
            if before.get(name) != id(obj) and not is_ipython_name(name):
                names.append(name)
    return names


def _is_module(obj: object) -> bool:
    # type(), not isinstance(): isinstance consults obj.__class__, which a hostile
    # object can make run code (a property that hangs or raises).
    return issubclass(type(obj), types.ModuleType)


def _value(name: str, role: str, action: str, fp: Fingerprint | None) -> Value:
    """The record of a variable a cell read or bound, with its fingerprint's description."""
    if fp is None:
        return Value(name=name, role=role, action=action)
    return Value(
        name=name,
        role=role,
        action=action,
        fingerprint=fp.digest,
        fingerprint_kind=fp.kind,
        type_name=fp.type_name,
        shape=fp.shape,
        length=fp.length,
        summary=fp.summary,
        note=fp.note,
    )


def _type_only(obj: object) -> Fingerprint | None:
    if obj is None:
        return None
    return Fingerprint(
        digest="",
        kind="identity",
        type_name=type_name(type(obj)),
        note="values not captured (--no-values)",
    )


def _error_fields(
    error: BaseException | None, shell: Any, errors: list[str]
) -> tuple[str, str | None, str | None, str | None, list[str]]:
    """status, error type, message, traceback, and what was redacted from them."""
    if error is None:
        return "ok", None, None, None, []
    status = "interrupted" if issubclass(type(error), KeyboardInterrupt) else "failed"
    message, tb, note = describe_error(error, shell)
    if note:
        errors.append(note)
    # Redacted before they are cut to size, so no secret is left half-visible at a cut.
    redactions: list[str] = []
    if may_contain_secret(message):
        message, found = redact_text(message)
        redactions += [f"error_message:{kind}" for kind in found]
    if may_contain_secret(tb):
        tb, found = redact_text(tb)
        redactions += [f"traceback:{kind}" for kind in found]
    return (
        status,
        error_type_name(error),
        message[:MAX_MESSAGE_CHARS],
        tb[-MAX_TRACEBACK_CHARS:],
        redactions,
    )
