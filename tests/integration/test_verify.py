"""``jupyter-lineage verify`` on a real store: tampering is found, an untouched store passes."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from jupyter_lineage import registry
from jupyter_lineage.cli import main
from jupyter_lineage.journal import encode_event, genesis_hash
from jupyter_lineage.session import use_store
from jupyter_lineage.store import DuckDBStore

from .conftest import execute_notebook


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with captured cells, a file read and one written, and a stored model artifact."""
    work = tmp_path_factory.mktemp("verify")
    (work / "data.csv").write_text("a,b\n1,2\n")
    execute_notebook(
        [
            "%load_ext jupyter_lineage",
            "%%lineage --name load\nwith open('data.csv') as f:\n    text = f.read()",
            "%%lineage --name fit --model m\n"
            "weights = text.upper()\n"
            "with open('weights.bin', 'w') as f:\n"
            "    f.write(weights)",
            "%%lineage --name report\nsummary = len(weights)",
        ],
        work,
    )
    store = work / ".lineage"
    use_store(str(store))
    try:
        registry.register_model("m", ["ml@example.com"])
        registry.create_version("m", "1.0.0")
        registry.add_artifact("m", work / "weights.bin", progress=False)
    finally:
        use_store(None)
    DuckDBStore(store).ingest()
    return work


@pytest.fixture
def store(original: Path, tmp_path: Path) -> Path:
    """A copy of the store to tamper with (its records still name the original's files)."""
    copy = tmp_path / "store"
    shutil.copytree(original / ".lineage", copy)
    return copy


def verify(store: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["--store", str(store), "verify", "--json"])
    return code, json.loads(capsys.readouterr().out)


def kernel_journal(store: Path) -> Path:
    return next(p for p in (store / "journal").glob("*.jsonl") if b'"cell_start"' in p.read_bytes())


def checks(report: dict[str, Any]) -> set[str]:
    return {p["check"] for p in report["problems"]}


def test_an_untouched_store_passes(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = verify(store, capsys)

    assert code == 0 and report["ok"] is True
    assert report["problems"] == [] and report["changed_files"] == []
    assert report["journals"] == 2  # the kernel's and the registry's
    assert report["events"] > 10 and report["artifacts"] == 1 and report["files"] == 2
    assert main(["--store", str(store), "verify"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"2 journal(s), {report['events']} ingested event(s), 1 stored artifact(s) and "
        "2 recorded file(s) checked, 0 problem(s)"
    )


def test_an_edited_line_is_found(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = kernel_journal(store)
    journal.write_bytes(journal.read_bytes().replace(b'"name":"load"', b'"name":"lost"'))

    code, report = verify(store, capsys)

    assert code == 1 and checks(report) == {"journal", "event"}
    assert any("hash chain broken" in p["problem"] for p in report["problems"])
    assert any("changed after ingest" in p["problem"] for p in report["problems"])


def test_an_edited_last_line_is_found_through_what_was_ingested(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No later line carries the last line's hash, so the chain alone cannot see this.
    journal = kernel_journal(store)
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[-1] = lines[-1].replace(b'"seq":', b'"seq": ', 1)
    journal.write_bytes(b"".join(lines))

    code, report = verify(store, capsys)

    assert code == 1 and checks(report) == {"event"}
    assert report["problems"][0]["where"] == journal.name


def test_a_deleted_line_is_found(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = kernel_journal(store)
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:3] + lines[4:]))

    code, report = verify(store, capsys)

    assert code == 1 and checks(report) == {"journal", "event"}


def test_reordered_lines_are_found(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = kernel_journal(store)
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[2], lines[3] = lines[3], lines[2]
    journal.write_bytes(b"".join(lines))

    code, report = verify(store, capsys)

    assert code == 1 and checks(report) == {"journal", "event"}
    assert any("sequence number" in p["problem"] for p in report["problems"])


def test_a_journal_rewritten_with_a_fresh_chain_is_found(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = kernel_journal(store)
    session = journal.name.removesuffix(".jsonl")
    prev = genesis_hash(session)
    out: list[bytes] = []
    forged_at = -1
    for raw in journal.read_bytes().splitlines():
        event = json.loads(raw)
        if event["type"] == "cell_start" and event["data"].get("name") == "fit":
            event["data"]["source"] = "weights = 'something else'"
            forged_at = sum(map(len, out))
        event["prev"] = prev
        line = encode_event(event)
        prev = hashlib.sha256(line).hexdigest()
        out.append(line)
    journal.write_bytes(b"".join(out))

    code, report = verify(store, capsys)

    assert code == 1 and checks(report) == {"event"}
    assert "no longer match their journal line" in report["problems"][0]["problem"]
    assert report["problems"][0]["offset"] == forged_at


def test_a_changed_artifact_byte_is_found(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (blob,) = [p for p in (store / "artifacts").rglob("*") if p.is_file()]
    data = bytearray(blob.read_bytes())
    data[0] ^= 0x01
    blob.write_bytes(bytes(data))

    code, report = verify(store, capsys)

    assert code == 1 and checks(report) == {"artifact"}
    assert "artifact weights.bin of m@1.0.0 changed" in report["problems"][0]["problem"]

    blob.unlink()
    code, report = verify(store, capsys)
    assert code == 1 and "missing from the store" in report["problems"][0]["problem"]


def test_changed_or_moved_data_files_are_listed_not_failed(
    original: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = original / "weights.bin"
    data = original / "data.csv"
    saved = weights.read_bytes()
    try:
        weights.write_bytes(b"retrained")
        data.rename(original / "data-moved.csv")

        code, report = verify(store, capsys)
        main(["--store", str(store), "verify"])
        text = capsys.readouterr().out
    finally:
        weights.write_bytes(saved)
        (original / "data-moved.csv").rename(data)

    assert code == 0 and report["problems"] == []
    found = {p["where"]: p["problem"] for p in report["changed_files"]}
    assert found[str(data)] == "gone (moved or deleted)"
    assert found[str(weights)].startswith("changed since execution")
    assert f"changed: {weights}: changed since execution" in text
    assert text.splitlines()[-1].endswith(
        "0 problem(s); 2 recorded file(s) changed or moved since they were used"
    )
