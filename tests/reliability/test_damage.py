"""A damaged database, a corrupt journal line, an unwritable store and a full disk: cells run
unchanged, capture warns once per problem, `doctor` says what is wrong, and nothing is lost
that could be kept."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from jupyter_lineage.journal import iter_lines, journal_files, verify_chain

from .conftest import Kernel, cli

WARNING = "jupyter-lineage: cannot write the journal"
RESUMED = "jupyter-lineage: capture resumed"


def _start(kernel_factory, tmp_path: Path, store: Path) -> Kernel:
    k = kernel_factory(tmp_path, {"JUPYTER_LINEAGE_DIR": str(store)})
    assert k.run("%load_ext jupyter_lineage").status == "ok"
    return k


def _cell(k: Kernel, i: int) -> tuple[str, str]:
    """Run captured cell ``i``; returns its stdout and stderr after checking its result."""
    res = k.run(f"%%lineage --name cell{i}\nv{i} = {i} * {i}\nprint('square', v{i})\nv{i} + 1")
    assert res.status == "ok", res
    assert res.stdout == f"square {i * i}\n"
    assert res.result == str(i * i + 1)
    return res.stdout, res.stderr


def _one_line_error(res) -> str:
    """IPython shows a magic's UsageError as one line on stderr, without a traceback."""
    assert res.status == "error", res
    assert res.stderr.startswith("UsageError: ") and res.stderr.count("\n") == 1, res.stderr
    assert "Traceback" not in res.stdout + res.stderr
    return res.stderr


@pytest.mark.parametrize("damage", ["garbage", "truncated", "bad-block"])
def test_damaged_database_is_reported_and_rebuilt(
    kernel_factory, tmp_path: Path, damage: str
) -> None:
    store = tmp_path / ".lineage"
    k = _start(kernel_factory, tmp_path, store)
    for i in range(3):
        _cell(k, i)
    assert k.run("%lineage_sql SELECT count(*) AS n FROM runs").status == "ok"
    db = store / "lineage.duckdb"
    data = bytearray(db.read_bytes())
    if damage == "garbage":
        db.write_bytes(os.urandom(len(data)))
    elif damage == "truncated":
        db.write_bytes(data[:4096])
    else:
        # One block after the headers overwritten: checksums catch it when it is read.
        data[12288:16384] = os.urandom(4096)
        db.write_bytes(bytes(data))

    # Capture never opens the database: cells still run and are recorded, silently.
    for i in range(3, 6):
        _, err = _cell(k, i)
        assert err == ""
    message = _one_line_error(k.run("%lineage_sql SELECT count(*) AS n FROM runs"))
    assert "rebuild" in message

    doctor = cli("--store", str(store), "doctor")
    assert doctor.returncode == 1, doctor.stdout
    assert "error    database" in doctor.stdout and "jupyter-lineage rebuild" in doctor.stdout

    rebuilt = cli("--store", str(store), "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    res = k.run("%lineage_sql SELECT name FROM runs ORDER BY started_at")
    assert res.status == "ok" and all(f"cell{i}" in res.result for i in range(6)), res.result
    assert cli("--store", str(store), "doctor").returncode == 0
    assert list(store.glob("lineage.broken-*")), "the damaged file is kept beside the new one"


def test_corrupt_journal_line_is_skipped_and_reported(kernel_factory, tmp_path: Path) -> None:
    store = tmp_path / ".lineage"
    k = _start(kernel_factory, tmp_path, store)
    for i in range(4):
        _cell(k, i)
    journal = journal_files(store / "journal")[0]
    lines = journal.read_bytes().split(b"\n")
    # The cell_end of cell 1 becomes unreadable (same length, so offsets stay).
    target = next(i for i, line in enumerate(lines) if b'"cell_end"' in line and b"v1" in line)
    lines[target] = b"#" * len(lines[target])
    journal.write_bytes(b"\n".join(lines))

    for i in range(4, 6):
        _, err = _cell(k, i)
        assert err == ""
    res = k.run(
        "%lineage_sql SELECT name, status FROM runs ORDER BY started_at",
    )
    assert res.status == "ok"
    assert "cell1" in res.result and "incomplete" in res.result and "cell5" in res.result

    doctor = cli("--store", str(store), "doctor", "--json")
    assert doctor.returncode == 1
    findings = json.loads(doctor.stdout)
    journal_errors = [f for f in findings if f["check"] == f"journal {journal.name}"]
    assert journal_errors and "unreadable line" in journal_errors[0]["detail"]
    assert cli("--store", str(store), "verify").returncode == 1


def test_unwritable_store_warns_once_and_resumes(kernel_factory, tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.write_text("a file where the store directory should be\n")
    k = _start(kernel_factory, tmp_path, store)
    errs = [_cell(k, i)[1] for i in range(5)]
    assert sum(e.count(WARNING) for e in errs) == 1, errs
    assert "".join(errs).strip().count("\n") == 0  # one line, nothing else

    doctor = cli("--store", str(store), "doctor")
    assert doctor.returncode == 1 and "not a directory" in doctor.stdout

    store.unlink()  # fixed: the next cell writes everything held meanwhile
    _, err = _cell(k, 5)
    assert err.count(RESUMED) == 1
    res = k.run("%lineage_sql SELECT name, status FROM runs ORDER BY started_at")
    assert all(f"cell{i}" in res.result for i in range(6)), res.result
    assert "incomplete" not in res.result
    for path in journal_files(store / "journal"):
        assert verify_chain(path) == []


def _fill(directory: Path) -> Path:
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


def test_full_disk_warns_once_keeps_events_and_resumes(
    kernel_factory, tmp_path: Path, small_disk: Path
) -> None:
    store = tmp_path / ".lineage"
    (store / "journal").mkdir(parents=True)
    journal_dir = store / "journal"
    shutil.rmtree(journal_dir)
    journal_dir.symlink_to(small_disk, target_is_directory=True)
    k = _start(kernel_factory, tmp_path, store)
    _cell(k, 0)
    filler = _fill(small_disk)

    errs = [_cell(k, i)[1] for i in range(1, 11)]
    assert sum(e.count(WARNING) for e in errs) == 1, errs
    assert "No space left on device" in "".join(errs)
    doctor = cli("--store", str(store), "doctor")
    assert doctor.returncode == 1 and "disk space" in doctor.stdout, doctor.stdout

    filler.unlink()  # space freed: the next cell writes what was held, without a restart
    _, err = _cell(k, 11)
    assert err.count(RESUMED) == 1
    res = k.run("%lineage_sql SELECT name, status FROM runs ORDER BY started_at")
    assert all(f"cell{i}" in res.result for i in range(12)), res.result
    assert "incomplete" not in res.result
    for path in journal_files(small_disk):
        assert verify_chain(path) == []
        assert all(line.event is not None for line in iter_lines(path))
    assert cli("--store", str(store), "doctor").returncode == 0


def test_full_disk_under_the_database_gives_one_line(
    kernel_factory, tmp_path: Path, small_disk: Path
) -> None:
    # The whole store on 2 MB: the journal fits, the database (1.5 MB empty) soon does not.
    k = _start(kernel_factory, tmp_path, small_disk)
    for i in range(3):
        _cell(k, i)
    filler = _fill(small_disk)
    res = k.run("%lineage_sql SELECT count(*) AS n FROM runs")
    if res.status == "error":
        _one_line_error(res)
    for i in range(3, 6):
        _cell(k, i)  # the cells themselves are never affected
    filler.unlink()
    res = k.run("%lineage_sql SELECT count(*) AS n FROM runs")
    if RESUMED in res.stderr:  # the journal took what it held before the query ran
        res.stderr = "".join(
            line for line in res.stderr.splitlines(True) if not line.startswith(RESUMED)
        )
    if res.status != "ok":
        # A database file DuckDB could not finish creating on the full disk.
        assert "rebuild" in _one_line_error(res)
        assert cli("--store", str(small_disk), "rebuild").returncode == 0
        res = k.run("%lineage_sql SELECT count(*) AS n FROM runs")
    assert res.status == "ok" and "6" in res.result, res


def test_journal_deleted_while_the_kernel_runs_is_started_again(
    kernel_factory, tmp_path: Path
) -> None:
    store = tmp_path / ".lineage"
    k = _start(kernel_factory, tmp_path, store)
    for i in range(3):
        _cell(k, i)
    assert k.run("%lineage_sql SELECT count(*) FROM runs").status == "ok"
    for path in journal_files(store / "journal"):
        path.unlink()
    for i in range(3, 6):
        _, err = _cell(k, i)
        assert err == ""
    res = k.run("%lineage_sql SELECT name FROM runs ORDER BY started_at")
    # What was ingested before stays; what came after went to a new journal and is there too.
    assert res.status == "ok" and all(f"cell{i}" in res.result for i in range(6)), res.result
