"""The event catalogue: each type written byte for byte as before, and every type and column ingested."""

from __future__ import annotations

import dataclasses
import datetime
import json
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from jupyter_lineage import events as ev
from jupyter_lineage.events import CATALOGUE, Event, event_data, event_type
from jupyter_lineage.journal import JournalWriter, iter_lines

T0 = "2026-01-02T03:04:05.000006+00:00"
EXEC = "e" * 32
OTHER = "0" * 32  # a second cell, run outside a notebook


# -- the dicts the emitters built before the catalogue, as they built them -----------------


def _without_nulls(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v is not None}


def _old_value(name: str, role: str, action: str, fp: dict[str, Any] | None) -> dict[str, Any]:
    """A value as cell ends listed it before the catalogue (``ValueRecord.to_json``), without
    its None fields."""
    return _without_nulls(
        {
            "name": name,
            "role": role,
            "action": action,
            "fingerprint": fp["digest"] if fp else None,
            "fingerprint_kind": fp["kind"] if fp else None,
            "type_name": fp["type_name"] if fp else None,
            "shape": fp["shape"] if fp else None,
            "length": fp["length"] if fp else None,
            "summary": fp["summary"] if fp else None,
            "note": fp["note"] if fp else None,
        }
    )


def _new_value(name: str, role: str, action: str, fp: dict[str, Any] | None) -> ev.Value:
    if fp is None:
        return ev.Value(name=name, role=role, action=action)
    return ev.Value(
        name=name,
        role=role,
        action=action,
        fingerprint=fp["digest"],
        fingerprint_kind=fp["kind"],
        type_name=fp["type_name"],
        shape=fp["shape"],
        length=fp["length"],
        summary=fp["summary"],
        note=fp["note"],
    )


@dataclasses.dataclass
class _Opaque:
    """A user's object inside a free-form value: the journal writes its text, as always."""

    x: int = 1


class _Float(float):
    """A float subclass (numpy's float64 is one): written as a number, as the json module does."""


_FRAME = {
    "digest": "xxh3:0123456789abcdef",
    "kind": "content",
    "type_name": "pandas.DataFrame",
    "shape": "(3, 2)",
    "length": 3,
    "summary": "",  # an empty summary is kept: only None is left out
    "note": None,
}
_IDENTITY = {
    "digest": "id:1",
    "kind": "identity",
    "type_name": "mod.Thing",
    "shape": None,
    "length": None,
    "summary": "<Thing>",
    "note": "no content hash (C state)",
}
_ENVIRONMENT = {
    "environment_id": "env1",
    "captured_at": T0,
    "python_version": "3.11.9",
    "python_implementation": "CPython",
    "python_executable": "/usr/bin/python3",
    "platform": "Linux-6.1-x86_64",
    "os_name": "Linux",
    "os_release": "6.1",
    "machine": "x86_64",
    "hostname": "box",
    "cpu_model": "Some CPU",
    "cpu_count": 8,
    "ram_bytes": 16 << 30,
    "gpus": [{"name": "GPU", "memory_total_mib": 1024, "driver_version": "1", "uuid": None}],
    "git": {
        "root": "/repo",
        "commit": "c" * 40,
        "branch": "main",
        "dirty": True,
        "diff_sha256": "d" * 64,
        "remote_url": "https://example.com/r.git",
    },
    "container": {"runtime": "docker", "kubernetes": False, "image": "img", "image_digest": None},
    "env_vars": {"CUDA_VISIBLE_DEVICES": "0"},
    "packages": {"numpy": "2.0.0", "pandas": "2.2.0"},
}


def samples() -> Iterator[tuple[str, Event, dict[str, Any], list[str] | None]]:
    """(name, event built as the emitters now build it, the dict they built before, redactions)."""
    yield (
        "session_start",
        ev.SessionStart(
            pid=12,
            user="ana",
            hostname="box",
            notebook_path="/work/nb.ipynb",
            notebook_key="git:nb.ipynb",
            author="ana@example.com",
            working_dir="/work",
            lineage_version="0.9.0",
            ipython_version="8.20.0",
        ),
        {
            "pid": 12,
            "user": "ana",
            "hostname": "box",
            "notebook_path": "/work/nb.ipynb",
            "notebook_key": "git:nb.ipynb",
            "author": "ana@example.com",
            "working_dir": "/work",
            "lineage_version": "0.9.0",
            "ipython_version": "8.20.0",
        },
        None,
    )
    for name, execution_id, count, cell_id, note in (
        ("cell_start", EXEC, 3, "cell-a", "why"),
        ("cell_start, unnamed and outside a notebook", OTHER, None, None, None),
    ):
        yield (
            name,
            ev.CellStart(
                execution_id=execution_id,
                execution_count=count,
                notebook_path="/work/nb.ipynb" if cell_id else None,
                cell_id=cell_id,
                source="password = '[REDACTED]'\nx = 1",
                source_hash="f" * 64,
                name="train" if note else None,
                tags=["a", "b"] if note else [],
                model="churn" if note else None,
                base_model="base@1.0.0" if note else None,
                note=note,
                mode="magic" if note else "auto",
                capture_values=bool(note),
                experiment_id="x1" if note else None,
                started_at=T0,
            ),
            _without_nulls(
                {
                    "execution_id": execution_id,
                    "execution_count": count,
                    "notebook_path": "/work/nb.ipynb" if cell_id else None,
                    "cell_id": cell_id,
                    "source": "password = '[REDACTED]'\nx = 1",
                    "source_hash": "f" * 64,
                    "name": "train" if note else None,
                    "tags": list(("a", "b") if note else ()),
                    "model": "churn" if note else None,
                    "base_model": "base@1.0.0" if note else None,
                    "note": note,
                    "mode": "magic" if note else "auto",
                    "capture_values": bool(note),
                    "experiment_id": "x1" if note else None,
                    "started_at": T0,
                }
            ),
            ["source:password"] if note else None,
        )
    values = [
        ("df", "input", "read", _FRAME),
        ("df", "output", "mutated", _FRAME),
        ("thing", "output", "assigned", _IDENTITY),
        ("gone", "output", "deleted", None),
    ]
    files = [
        ("/data/in.csv", "read", 10, "a" * 64, None, 1_700_000_000_123_456_789, 42),
        (
            "/data/big.bin",
            "write",
            1 << 30,
            None,
            "SHA-256 computed after the cell (...)",
            None,
            None,
        ),
        (
            "/data/tmp.txt",
            "write",
            None,
            None,
            "gone after the cell (deleted or moved)",
            None,
            None,
        ),
    ]
    for name, execution_id, failed, commands in (
        ("cell_end", EXEC, True, [("shell", "ls -l"), ("bash", "echo hi")]),
        ("cell_end, ok and without commands", OTHER, False, []),
    ):
        yield (
            name,
            ev.CellEnd(
                execution_id=execution_id,
                execution_count=3,
                ended_at=T0,
                duration_ms=12.346,
                status="failed" if failed else "ok",
                error_type="ValueError" if failed else None,
                error_message="bad token [REDACTED]" if failed else None,
                traceback="Traceback ...\nValueError: bad" if failed else None,
                environment_id="env1",
                seeds=[
                    ev.Seed(call="numpy.random.seed", argument="42", value=42),
                    ev.Seed(call="random.seed", argument="s", value=_Float(0.5)),
                    ev.Seed(call="torch.manual_seed", argument="f()", value=None),
                ],
                values=[_new_value(*v) for v in values],
                files=[
                    ev.FileAccess(path=p, access=a, size=s, sha256=h, note=n, mtime_ns=m, inode=i)
                    for p, a, s, h, n, m, i in files
                ],
                commands=[ev.Command(kind=k, command=c) for k, c in commands] or None,
                capture_errors=["thing: identity fingerprint (no content hash)"],
            ),
            _without_nulls(
                {
                    "execution_id": execution_id,
                    "execution_count": 3,
                    "ended_at": T0,
                    "duration_ms": 12.346,
                    "status": "failed" if failed else "ok",
                    "error_type": "ValueError" if failed else None,
                    "error_message": "bad token [REDACTED]" if failed else None,
                    "traceback": "Traceback ...\nValueError: bad" if failed else None,
                    "environment_id": "env1",
                    "seeds": [
                        {"call": "numpy.random.seed", "argument": "42", "value": 42},
                        {"call": "random.seed", "argument": "s", "value": _Float(0.5)},
                        {"call": "torch.manual_seed", "argument": "f()", "value": None},
                    ],
                    "values": [_old_value(*v) for v in values],
                    "files": [
                        {"path": p, "access": a, "size": s, "sha256": h, "note": n}
                        | ({"mtime_ns": m, "inode": i} if m is not None else {})
                        for p, a, s, h, n, m, i in files
                    ],
                    "commands": [{"kind": k, "command": c} for k, c in commands] or None,
                    "capture_errors": ["thing: identity fingerprint (no content hash)"],
                }
            ),
            ["error_message:token"] if failed else None,
        )
    yield (
        "file_hashed",
        ev.FileHashed(
            execution_id=EXEC,
            path="/data/big.bin",
            size=1 << 30,
            sha256="b" * 64,
            note=None,
            hashed_at=T0,
        ),
        {
            "execution_id": EXEC,
            "path": "/data/big.bin",
            "size": 1 << 30,
            "sha256": "b" * 64,
            "note": None,
            "hashed_at": T0,
        },
        None,
    )
    yield (
        "file_hashed, changed before it was hashed",
        ev.FileHashed(
            execution_id=EXEC,
            path="/data/big.bin",
            size=1 << 30,
            sha256=None,
            note="changed while it was hashed",
            hashed_at=T0,
        ),
        {
            "execution_id": EXEC,
            "path": "/data/big.bin",
            "size": 1 << 30,
            "sha256": None,
            "note": "changed while it was hashed",
            "hashed_at": T0,
        },
        None,
    )
    yield "environment", ev.EnvironmentSnapshot(**_ENVIRONMENT), dict(_ENVIRONMENT), None
    targets = [
        {"type": "execution", "ref": EXEC},
        {"type": "value", "ref": "df", "fingerprint": "xxh3:0123456789abcdef"},
        {"type": "file", "ref": "/data/in.csv", "sha256": "a" * 64},
        {"type": "model_version", "ref": "v1", "name": "default/churn@1.0.0"},
        {"type": "experiment", "ref": "x1", "name": "lr-sweep"},
    ]
    yield (
        "annotation",
        ev.Annotation(
            annotation_id="n2",
            thread_id="n1",
            revises="n1",
            kind="decision",
            text="**Keep** it\r\n\ttabs, `code` and é",
            author="ana@example.com",
            targets=[ev.Target(**t) for t in targets],
            experiment_id="x1",
            question="why",
            template="design",
            created_at=T0,
        ),
        {
            "annotation_id": "n2",
            "thread_id": "n1",
            "revises": "n1",
            "kind": "decision",
            "text": "**Keep** it\r\n\ttabs, `code` and é",
            "author": "ana@example.com",
            "targets": targets,
            "experiment_id": "x1",
            "question": "why",
            "template": "design",
            "created_at": T0,
        },
        None,
    )
    yield (
        "annotation, from %%lineage --note",
        ev.Annotation(
            annotation_id="n3",
            thread_id="n3",
            kind="note",
            text="tried a smaller learning rate",
            author="ana@example.com",
            targets=[ev.Target(type="execution", ref=EXEC)],
            experiment_id=None,
        ),
        {
            "annotation_id": "n3",
            "thread_id": "n3",
            "kind": "note",
            "text": "tried a smaller learning rate",
            "author": "ana@example.com",
            "targets": [{"type": "execution", "ref": EXEC}],
            "experiment_id": None,
        },
        None,
    )
    yield (
        "experiment_start",
        ev.ExperimentStart(
            experiment_id="x1",
            name="lr-sweep",
            hypothesis="smaller is better",
            success="auc >= 0.8",
            notebook_path="/work/nb.ipynb",
            started_at=T0,
        ),
        {
            "experiment_id": "x1",
            "name": "lr-sweep",
            "hypothesis": "smaller is better",
            "success": "auc >= 0.8",
            "notebook_path": "/work/nb.ipynb",
            "started_at": T0,
        },
        None,
    )
    yield (
        "experiment_end",
        ev.ExperimentEnd(
            experiment_id="x1",
            name="lr-sweep",
            outcome="success",
            declared_outcome="success",
            evaluated_outcome="success",
            criterion_met=True,
            evaluation="auc 0.83 >= 0.8",
            metrics={"auc": 0.83},
            ended_at=T0,
        ),
        {
            "experiment_id": "x1",
            "name": "lr-sweep",
            "outcome": "success",
            "declared_outcome": "success",
            "evaluated_outcome": "success",
            "criterion_met": True,
            "evaluation": "auc 0.83 >= 0.8",
            "metrics": {"auc": 0.83},
            "ended_at": T0,
        },
        None,
    )
    yield (
        "metric",
        ev.Metric(
            name="auc", value=0.83, step=2, execution_id=EXEC, experiment_id="x1", logged_at=T0
        ),
        {
            "name": "auc",
            "value": 0.83,
            "step": 2,
            "execution_id": EXEC,
            "experiment_id": "x1",
            "logged_at": T0,
        },
        None,
    )
    # A parameter's value is the caller's: a tuple, integer keys, a float subclass, a huge
    # integer and a NaN are written by the json module, as before.
    value = {"layers": (64, 32), 1: _Float(0.1), "big": 2**70, "nan": float("nan")}
    yield (
        "param",
        ev.Param(name="arch", value=value, execution_id=EXEC, experiment_id="x1", logged_at=T0),
        {
            "name": "arch",
            "value": value,
            "execution_id": EXEC,
            "experiment_id": "x1",
            "logged_at": T0,
        },
        None,
    )
    yield (
        "forget",
        ev.Forget(execution_id=OTHER, reason="typo", forgotten_at=T0),
        {"execution_id": OTHER, "reason": "typo", "forgotten_at": T0},
        None,
    )
    schema = [{"name": "a", "type": "int64"}, {"name": "(1, 'b')", "type": "object"}]
    yield (
        "dataset",
        ev.Dataset(
            dataset_id="d1",
            name="customers",
            context="training",
            digest="xxh3:00",
            digest_kind="content",
            type_name="pandas.DataFrame",
            shape="(3, 2)",
            row_count=3,
            column_count=2,
            schema=schema,
            source="s3://bucket/customers.parquet",
            note="hashed in full",
            hashed_ms=0.123,
            execution_id=EXEC,
            experiment_id="x1",
            logged_at=T0,
        ),
        {
            "dataset_id": "d1",
            "name": "customers",
            "context": "training",
            "digest": "xxh3:00",
            "digest_kind": "content",
            "type_name": "pandas.DataFrame",
            "shape": "(3, 2)",
            "row_count": 3,
            "column_count": 2,
            "schema": schema,
            "source": "s3://bucket/customers.parquet",
            "note": "hashed in full",
            "hashed_ms": 0.123,
            "execution_id": EXEC,
            "experiment_id": "x1",
            "logged_at": T0,
        },
        None,
    )
    yield (
        "model_registered",
        ev.ModelRegistered(
            model_id="m1",
            name="churn",
            group_name="default",
            description="",
            owners=["ana@example.com"],
            risk_tier="HIGH",
            tags=["tabular"],
            documentation_url="https://example.com/doc",
            repository_url="https://example.com/repo",
            created_by="ana@example.com",
            created_at=T0,
        ),
        {
            "model_id": "m1",
            "name": "churn",
            "group_name": "default",
            "description": "",
            "owners": ["ana@example.com"],
            "risk_tier": "HIGH",
            "tags": ["tabular"],
            "documentation_url": "https://example.com/doc",
            "repository_url": "https://example.com/repo",
            "created_by": "ana@example.com",
            "created_at": T0,
        },
        None,
    )
    every = {
        "description": "new",
        "owners": ["bo@example.com"],
        "risk_tier": "LOW",
        "tags": ["x"],
        "documentation_url": "https://example.com/doc2",
        "repository_url": "https://example.com/repo2",
    }
    for name, changed in (
        ("model_updated", every),
        ("model_updated, a description cleared", {"description": None}),
    ):
        yield (
            name,
            ev.ModelUpdated(
                model_id="m1",
                **changed,
                updated_by="ana@example.com",
                justification=None,
                updated_at=T0,
            ),
            {
                "model_id": "m1",
                **changed,
                "updated_by": "ana@example.com",
                "justification": None,
                "updated_at": T0,
            },
            None,
        )
    yield (
        "model_updated, retired",
        ev.ModelUpdated(
            model_id="m1",
            retired=True,
            updated_by="ana@example.com",
            justification="replaced",
            updated_at=T0,
        ),
        {
            "model_id": "m1",
            "retired": True,
            "updated_by": "ana@example.com",
            "justification": "replaced",
            "updated_at": T0,
        },
        None,
    )
    # Hyperparameters as a caller may hand them: a dataclass and a date are written as
    # their text, as the journal's encoder always wrote what JSON has no form for.
    hyper = {
        "C": _Float(1.5),
        "penalty": ("l2",),
        "cfg": _Opaque(),
        "day": datetime.date(2026, 1, 2),
    }
    version = {
        "version_id": "v1",
        "model_id": "m1",
        "version": "1.0.0",
        "commit_sha": "c" * 40,
        "execution_id": EXEC,
        "experiment_id": "x1",
        "framework": "sklearn",
        "framework_version": "1.5",
        "model_type": "classifier",
        "input_schema": {"type": "object"},
        "output_schema": {"type": "number"},
        "hyperparameters": hyper,
        "datasets": {"training": [{"kind": "file", "path": "/data/in.csv", "sha256": "a" * 64}]},
        "base_model_version": "default/base@1.0.0",
        "intended_use": "ranking",
        "limitations": "small data",
        "ethical_considerations": "none known",
        "metrics": {"auc": 0.83},
        "created_by": "ana@example.com",
        "created_at": T0,
    }
    yield "version_created", ev.VersionCreated(**version), dict(version), None
    transition = {
        "version_id": "v1",
        "from_state": "DRAFT",
        "to_state": "SUBMITTED",
        "actor": "ana@example.com",
        "role": "owner",
        "justification": "ready",
        "allow_multiple_production": False,
        "occurred_at": T0,
    }
    yield "version_transition", ev.VersionTransition(**transition), dict(transition), None
    gate = {
        "gate_id": "g1",
        "scope_type": "model",
        "scope": "m1",
        "metric": "auc",
        "op": ">=",
        "threshold": 0.8,
        "created_by": "ana@example.com",
        "created_at": T0,
    }
    yield "gate_defined", ev.GateDefined(**gate), dict(gate), None
    result = {
        "version_id": "v1",
        "target_state": "APPROVED_STAGING",
        "gate_id": "g1",
        "metric": "auc",
        "op": ">=",
        "threshold": 0.8,
        "value": 0.7,
        "passed": False,
        "waiver_id": "w1",
        "outcome": "waived",
        "actor": "bo@example.com",
        "occurred_at": T0,
    }
    yield "gate_evaluated", ev.GateEvaluated(**result), dict(result), None
    waiver = {
        "waiver_id": "w1",
        "version_id": "v1",
        "metric": "auc",
        "actor": "bo@example.com",
        "reason": "pilot",
        "expires_at": T0,
        "created_at": T0,
    }
    yield "waiver_recorded", ev.WaiverRecorded(**waiver), dict(waiver), None
    artifact = {
        "artifact_id": "a1",
        "version_id": "v1",
        "name": "model.pkl",
        "kind": "weights",
        "uri": "file:///work/model.pkl",
        "stored_path": "artifacts/sha256/aa/aaaa",
        "sha256": "a" * 64,
        "size": 1234,
        "created_by": "ana@example.com",
        "created_at": T0,
    }
    yield "artifact_registered", ev.ArtifactRegistered(**artifact), dict(artifact), None
    gap = {
        "dropped_events": 7,
        "first_dropped_at": T0,
        "reason": "[Errno 28] No space left on device",
        "last_dropped_at": T0,
    }
    yield "journal_gap", ev.JournalGap(**gap), dict(gap), None


SAMPLES = list(samples())


def _data_bytes(raw: bytes) -> bytes:
    """The ``data`` of a journal line as written (and what follows it: the redactions)."""
    return raw.split(b',"data":', 1)[1]


@pytest.mark.parametrize("sample", SAMPLES, ids=[s[0] for s in SAMPLES])
def test_each_type_is_written_byte_for_byte_as_before(
    tmp_path: Path, sample: tuple[str, Event, dict[str, Any], list[str] | None]
) -> None:
    name, event, old, redactions = sample
    type_ = name.split(",")[0]
    new_journal = JournalWriter(tmp_path / "new", "s")
    old_journal = JournalWriter(tmp_path / "old", "s")
    new_journal.append_event(event, redactions=redactions)
    old_journal.append(type_, old, redactions=redactions)
    new_journal.close()
    old_journal.close()
    [new_line], [old_line] = list(iter_lines(new_journal.path)), list(iter_lines(old_journal.path))
    assert new_line.event is not None and new_line.event["type"] == type_ == event_type(event)
    assert _data_bytes(new_line.raw) == _data_bytes(old_line.raw)


def test_every_event_type_has_a_sample_here() -> None:
    assert {name.split(",")[0] for name, *_ in SAMPLES} == set(CATALOGUE)


def test_the_catalogue_holds_every_event_class_once_and_says_what_each_records() -> None:
    classes: list[type[Event]] = []
    pending = list(Event.__subclasses__())
    while pending:
        cls = pending.pop()
        classes.append(cls)
        pending += cls.__subclasses__()
    assert sorted(CATALOGUE.values(), key=event_type) == sorted(classes, key=event_type)
    assert all(CATALOGUE[event_type(cls)] is cls for cls in classes)
    for cls in classes:
        assert cls.__doc__ and cls.__doc__ != Event.__doc__, cls
        fields = msgspec.structs.fields(cls)
        # A field may be left out only where the class says None or UNSET is left out.
        omitted = {f.name for f in fields if f.default is not msgspec.NODEFAULT}
        if omitted and not cls.__struct_config__.omit_defaults:
            assert all(f.default is ev.UNSET for f in fields if f.name in omitted), cls
        if cls.__struct_config__.omit_defaults:
            assert all(f.default is None for f in fields if f.name in omitted), cls


def test_the_data_of_an_event_is_a_fresh_dict_of_plain_values() -> None:
    _, event, _, _ = next(s for s in SAMPLES if s[0] == "cell_end")
    data = event_data(event)
    assert data is not event_data(event)
    json.dumps(data)  # nothing in it needs the journal encoder's fallback
    assert all(type(v) is dict for v in data["values"] + data["files"] + data["seeds"])
    # The seed value of a float subclass is written as the number it is, not its text.
    assert data["seeds"][1]["value"] == 0.5 and type(data["seeds"][1]["value"]) is float


def test_a_field_holding_structs_holds_a_list_of_them() -> None:
    """event_data tells such a field by its value (a list whose items are structs), so no
    other shape may hold one: a single struct, a dict of them, a list mixing them."""

    def mentions_struct(tp: Any) -> bool:
        if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
            return True
        return any(mentions_struct(arg) for arg in typing.get_args(tp))

    def list_of_structs(tp: Any) -> bool:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if typing.get_origin(tp) is list:
            return len(args) == 1 and issubclass(args[0], msgspec.Struct)
        return len(args) == 1 and list_of_structs(args[0])  # ``list[...] | None``

    holding = []
    for cls in CATALOGUE.values():
        for field in msgspec.structs.fields(cls):
            if mentions_struct(field.type):
                holding.append(field.name)
                assert list_of_structs(field.type), (cls.__name__, field.name, field.type)
    assert {"values", "files", "targets"} <= set(holding)


def test_a_journal_that_drops_events_says_so_with_a_catalogue_gap(tmp_path: Path) -> None:
    blocked = tmp_path / "store"
    blocked.write_text("a file where the journal directory should be")
    journal = JournalWriter(blocked / "journal", "s", max_pending_bytes=1)
    journal.append_event(ev.Forget(execution_id=EXEC, reason=None, forgotten_at=T0))
    journal.append_event(ev.Forget(execution_id=EXEC, reason="again", forgotten_at=T0))
    assert journal.dropped == 1
    blocked.unlink()
    assert journal.flush()
    journal.close()
    lines = [line.event for line in iter_lines(journal.path)]
    assert [e["type"] for e in lines if e] == ["forget", "journal_gap"]
    gap = lines[1]["data"] if lines[1] else {}
    assert list(gap) == list(ev.JournalGap.__struct_fields__) and gap["dropped_events"] == 1
    assert "Not a directory" in gap["reason"] or "File exists" in gap["reason"]


# -- the emitters: what a kernel, the API and the registry write is what the catalogue says ----


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An in-process IPython shell with the extension loaded, writing to a store in tmp_path."""
    from IPython.core.interactiveshell import InteractiveShell

    from jupyter_lineage.capture import recorder

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JUPYTER_LINEAGE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("JUPYTER_LINEAGE_AUTHOR", "ana@example.com")
    # Files of a few bytes are hashed after their cell, as large ones are.
    monkeypatch.setattr(recorder, "DEFER_BYTES", 4)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_lineage")
    yield shell
    shell.run_line_magic("unload_ext", "jupyter_lineage")
    InteractiveShell.clear_instance()


def _run(shell: Any, cell: str, *, fails: bool = False) -> None:
    result = shell.run_cell(cell, store_history=True)
    assert result.success is not fails, (cell, result.error_before_exec, result.error_in_exec)


def test_every_emitter_writes_what_the_catalogue_defines(shell: Any, tmp_path: Path) -> None:
    import jupyter_lineage as jl
    from jupyter_lineage import registry
    from jupyter_lineage.session import current_session

    owner = "ana@example.com"
    _run(shell, "%lineage on")
    _run(shell, "import random\nrandom.seed(7)\nrows = [1, 2, 3]")
    _run(shell, "rows.append(4)\nopen('out.txt', 'w').write('hello')\n!echo hi")
    _run(shell, "del rows\nraise ValueError('boom')", fails=True)
    _run(shell, '%%lineage --name fit --tag a --tag b --model churn --note "why this"\nmodel = 1')
    jl.start_experiment("sweep", hypothesis="smaller is better", success="auc >= 0.5")
    jl.log_metric("auc", 0.8, step=1)
    jl.log_param("layers", (64, 32))
    jl.log_dataset([1, 2, 3], "numbers", source="made up")
    first = jl.note("first thought", kind="rationale", on="LAST")
    jl.note("second thought", kind="rationale", on=["LAST", "var:model"], revises=first)
    jl.end_experiment()
    registry.register_model("churn", [owner], risk_tier="HIGH")
    registry.update_model("churn", description="predicts churn", tags=["tabular"])
    registry.create_version("churn", "1.0.0", metrics={"auc": 0.8})
    registry.set_gate("auc >= 0.9", model="churn")
    registry.waive("churn", "auc", actor="lead@example.com", reason="pilot")
    (tmp_path / "model.bin").write_bytes(b"weights")
    registry.add_artifact("churn", tmp_path / "model.bin", progress=False)
    registry.transition("churn", "SUBMITTED", actor=owner, role="owner", justification="ready")
    registry.transition(
        "churn", "APPROVED_STAGING", actor="rev@example.com", role="reviewer", justification="ok"
    )
    registry.register_model("old", [owner])
    registry.retire_model("old", actor=owner, justification="replaced")
    session = current_session()
    session.forget(session.recent[0].execution_id, reason="typo")
    shell._jupyter_lineage_recorder.close()  # waits for the files hashed after their cell

    seen: dict[str, int] = {}
    for path in sorted((tmp_path / "store" / "journal").glob("*.jsonl")):
        for line in iter_lines(path):
            assert line.event is not None, line.error
            type_, data = line.event["type"], line.event["data"]
            typed = msgspec.convert(data, CATALOGUE[type_])
            assert list(event_data(typed)) == list(data), type_  # the same keys, in order
            assert event_data(typed) == data, type_
            seen[type_] = seen.get(type_, 0) + 1
    assert set(seen) == set(CATALOGUE) - {"journal_gap"}
    assert seen["annotation"] == 3 and seen["model_updated"] == 2


# -- the store's ingest reads the catalogue ------------------------------------------------


def _journal_of(
    tmp_path: Path, chosen: list[tuple[str, Event, dict[str, Any], list[str] | None]]
) -> Path:
    """A store directory whose one journal holds the chosen samples, as emitters write them."""
    journal = JournalWriter(tmp_path / "journal", "s")
    for _, event, _, redactions in chosen:
        journal.append_event(event, redactions=redactions)
    journal.close()
    return journal.path


def test_every_type_is_ingested_except_the_journals_own_gap_record() -> None:
    from jupyter_lineage.store.ingest import HANDLERS, TABLES

    # A journal_gap is the journal's note of what it dropped: doctor reads it from the
    # journal, and the events table keeps it, as it keeps every line.
    assert set(HANDLERS) == set(CATALOGUE) - {"journal_gap"}
    assert CATALOGUE["journal_gap"].tables == ()
    for type_ in HANDLERS:
        tables = CATALOGUE[type_].tables
        assert tables and set(tables) <= set(TABLES), type_


def test_each_type_gives_rows_in_the_tables_the_catalogue_names(tmp_path: Path) -> None:
    from jupyter_lineage.store.ingest import Batch

    filled: dict[str, set[str]] = {}
    for n, sample in enumerate(SAMPLES):
        path = _journal_of(tmp_path / str(n), [sample])
        batch = Batch(path.name)
        for line in iter_lines(path):
            batch.add(line)
        assert batch.problems == [], sample[0]
        assert len(batch.rows["events"]) == 1, sample[0]
        tables = {table for table, rows in batch.rows.items() if rows} - {"events"}
        assert tables <= set(type(sample[1]).tables), sample[0]
        filled.setdefault(event_type(sample[1]), set()).update(tables)
    assert filled == {type_: set(cls.tables) for type_, cls in CATALOGUE.items()}


def _schema_columns(store_dir: Path) -> dict[str, dict[str, str]]:
    """Every base table of a real store's schema: column name -> its type."""
    import duckdb

    con = duckdb.connect(str(store_dir / "lineage.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_name) WHERE t.table_type = 'BASE TABLE'"
        ).fetchall()
    finally:
        con.close()
    tables: dict[str, dict[str, str]] = {}
    for table, column, type_ in rows:
        tables.setdefault(table, {})[column] = type_
    return tables


# Tables no event feeds: the store's own bookkeeping, and a copy ingest makes of rows above.
BOOKKEEPING = {"schema_info", "journal_offsets", "ingest_problems", "failed_run_copies"}


def test_every_column_of_the_schema_is_fed_by_an_event_field_or_a_handler(tmp_path: Path) -> None:
    from jupyter_lineage.store import DuckDBStore
    from jupyter_lineage.store.ingest import TABLES
    from jupyter_lineage.store.schema import DERIVED_COLUMNS

    _journal_of(tmp_path, SAMPLES)
    store = DuckDBStore(tmp_path)
    report = store.ingest()
    assert report.problems == [] and report.events == len(SAMPLES)
    schema = _schema_columns(tmp_path)
    assert set(schema) - BOOKKEEPING == set(TABLES)
    for table, (copied, given) in TABLES.items():
        columns = set(schema[table])
        derived = DERIVED_COLUMNS.get(table, frozenset())
        assert set(copied) | set(given) == columns - derived, table
        # Every column holds a value from the samples, which fill every field.
        counts = ", ".join(f'count("{column}")' for column in sorted(columns))
        found = store.query(f"SELECT {counts} FROM {table}", ingest=False).iloc[0]
        empty = [column for column, n in zip(sorted(columns), found, strict=True) if not n]
        assert empty == [], f"{table}: {', '.join(empty)} fed by no event"
    failed = store.query("SELECT * FROM failed_run_copies", ingest=False)
    assert failed["execution_id"].tolist() == [EXEC] and failed.notna().all(axis=None)


def test_a_copied_events_object_fields_are_its_tables_json_columns(tmp_path: Path) -> None:
    from jupyter_lineage.store import DuckDBStore
    from jupyter_lineage.store.ingest import COPIED, TABLES

    _journal_of(tmp_path, [])
    DuckDBStore(tmp_path).ingest()
    schema = _schema_columns(tmp_path)
    for type_, cls in COPIED.items():
        [table] = cls.tables
        assert set(schema[table]) == {"event_id", *cls.__struct_fields__}, type_
        json_columns = {c for c, t in schema[table].items() if t == "JSON"}
        assert json_columns == set(TABLES[table][1]) - {"event_id"}, type_
        # The rest are read with the Arrow type the catalogue gives: text as text...
        for column, alias in TABLES[table][0].items():
            assert alias is None or (alias, schema[table][column]) in {
                ("string", "VARCHAR"),
                ("string", "TIMESTAMP WITH TIME ZONE"),
                ("double", "DOUBLE"),
                ("bool", "BOOLEAN"),
            }, (table, column)


def test_a_copied_column_list_names_only_fields_the_struct_has() -> None:
    from jupyter_lineage.store.ingest import copied

    assert list(copied(ev.Forget, but=("execution_id",))) == ["reason", "forgotten_at"]
    with pytest.raises(TypeError, match="Forget has no field executionid"):
        copied(ev.Forget, but=("executionid",))


def test_the_architecture_documents_every_event_type_and_its_tables() -> None:
    text = (Path(__file__).resolve().parents[2] / "ARCHITECTURE.md").read_text(encoding="utf-8")
    documented = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 3:
            documented[cells[0].strip("`")] = tuple(
                t.strip("` ") for t in cells[2].split(",") if t.strip("` —")
            )
    assert documented == {type_: cls.tables for type_, cls in CATALOGUE.items()}
