"""Tutorial-style notebooks run with and without capture: the same outputs, and an exact record.

Each notebook in ``tests/notebooks/`` runs twice in a real kernel, in the same directory path
(so paths in outputs match): once as it is, once with ``%load_ext jupyter_lineage`` and
``%lineage on`` in a first inserted cell. Every output of every cell must be the same, bytes
of PNGs and tracebacks included (execution counts, shifted by the inserted cell, are numbered
from the first cell of the notebook in both). The captured run's store must then hold one run
per cell with its status and error, the files the notebook's directory gained or was read from
with their SHA-256, and, for the cells listed below, exactly the values read, assigned,
mutated and deleted.
"""

from __future__ import annotations

import builtins
import copy
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest

from .conftest import NotebookRun, execute_notebook_file

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CAPTURE_ON = "%load_ext jupyter_lineage\n%lineage on"
RAISES = "raises-exception"

# Names IPython or Python put in the user namespace: never a cell's input or output.
IPYTHON_NAMES = frozenset(
    {"In", "Out", "get_ipython", "exit", "quit", "display", "_ih", "_oh", "_dh", "_sh"}
)
NEVER_VALUES = re.compile(r"^(_+|_i+\d*|_\d+|__\w+__)$")


def _never_a_value(name: str) -> bool:
    return name in IPYTHON_NAMES or hasattr(builtins, name) or bool(NEVER_VALUES.match(name))


@dataclass(frozen=True)
class Values:
    """What one cell read, and wrote with which action."""

    inputs: frozenset[str]
    outputs: frozenset[tuple[str, str]]


def cell(
    cell_id: str, *, reads: str = "", assigns: str = "", mutates: str = "", deletes: str = ""
) -> tuple[str, Values]:
    """One row of a values table: space-separated names per role."""
    outputs = {(n, "assigned") for n in assigns.split()}
    outputs |= {(n, "mutated") for n in mutates.split()}
    outputs |= {(n, "deleted") for n in deletes.split()}
    return cell_id, Values(frozenset(reads.split()), frozenset(outputs))


@dataclass(frozen=True)
class Expected:
    """What a notebook's record must hold.

    ``errors``: cell id → the recorded error type, for every cell that raises on purpose.
    ``files``: (cell id, path relative to the notebook, access) for every file in the
    notebook's directory that a cell opened. ``values``: the interesting cells' complete
    inputs and outputs. ``commands``: (cell id, kind, command) of every shell command.
    ``images``: how many PNG images the notebook shows (so their bytes are compared).
    ``hidden_mutations``: (cell id, name) read with a content other than the one last
    recorded for it, because code the recording cell did not name changed it (a method
    changing a global, say), so no record could say so.
    """

    errors: dict[str, str]
    files: frozenset[tuple[str, str, str]]
    values: dict[str, Values]
    commands: frozenset[tuple[str, str, str]] = field(default_factory=frozenset)
    hidden_mutations: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    images: int = 0


def expect(
    *,
    errors: dict[str, str],
    files: Iterable[tuple[str, str, str]],
    values: Iterable[tuple[str, Values]],
    commands: Iterable[tuple[str, str, str]] = (),
    hidden_mutations: Iterable[tuple[str, str]] = (),
    images: int = 0,
) -> Expected:
    return Expected(
        errors,
        frozenset(files),
        dict(values),
        frozenset(commands),
        frozenset(hidden_mutations),
        images,
    )


EXPECTED: dict[str, Expected] = {
    "numpy_arrays": expect(
        errors={"broadcast-error": "ValueError"},
        files=[
            ("save", "grid.npy", "write"),
            ("save", "values.txt", "write"),
            ("load", "grid.npy", "read"),
            ("load", "values.txt", "read"),
        ],
        values=[
            cell("imports"),
            cell("seed", assigns="rng"),
            cell("create", assigns="grid zeros"),
            cell("inspect", reads="grid zeros"),
            cell("broadcast", reads="grid", assigns="offsets shifted column scaled"),
            cell("broadcast-error", reads="grid"),
            # `+=` on an array changes it in place: the same object, new content.
            cell("inplace-add", reads="grid", mutates="grid"),
            # Drawing numbers advances the generator's state.
            cell("sample", reads="rng", assigns="values", mutates="rng"),
            cell("sort", reads="values", mutates="values"),
            # Boolean indexing copies: zeroing the copy leaves `values` as it was.
            cell("mask", reads="values", assigns="mask big"),
            # A row of `grid` is a view of it: changing the view changes `grid`.
            cell("view", reads="grid", assigns="first_row", mutates="grid"),
            cell("stats", reads="values", assigns="summary"),
            cell("save", reads="grid values"),
            cell("load", reads="grid values", assigns="restored from_text"),
        ],
    ),
    "pandas_cleaning": expect(
        errors={"missing-column": "KeyError"},
        files=[
            ("write-raw", "sales.csv", "write"),
            ("read", "sales.csv", "read"),
            ("save", "report.csv", "write"),
            ("save", "pivot.parquet", "write"),
            ("read-back", "pivot.parquet", "read"),
        ],
        values=[
            cell("imports"),
            cell("write-raw", assigns="rows handle"),
            cell("read", assigns="sales"),
            cell("missing", reads="sales"),
            cell("dropna", reads="sales", mutates="sales"),
            cell("revenue", reads="sales", mutates="sales"),
            cell("groupby", reads="sales", assigns="by_region"),
            cell("lookup", assigns="managers"),
            cell("merge", reads="sales managers", assigns="report"),
            cell("missing-column", reads="report"),
            cell("pivot", reads="report", assigns="pivot"),
            cell("save", reads="report pivot"),
            cell("read-back", reads="pivot", assigns="check"),
        ],
    ),
    "sklearn_classification": expect(
        errors={"wrong-shape": "ValueError"},
        files=[("save", "forest.pkl", "write"), ("load", "forest.pkl", "read")],
        values=[
            # Imported classes and functions are values; the numpy module is not.
            cell(
                "imports",
                assigns="make_classification RandomForestClassifier LogisticRegression "
                "accuracy_score classification_report confusion_matrix train_test_split "
                "Pipeline StandardScaler",
            ),
            cell("data", reads="make_classification", assigns="X y"),
            cell("split", reads="train_test_split X y", assigns="X_train X_test y_train y_test"),
            cell("pipeline", reads="Pipeline StandardScaler LogisticRegression", assigns="model"),
            cell("fit", reads="model X_train y_train", mutates="model"),
            cell(
                "score",
                reads="model X_test accuracy_score y_test",
                assigns="predictions accuracy",
            ),
            # A predict that raises leaves the fitted model as it was.
            cell("wrong-shape", reads="model X_test"),
            cell(
                "forest",
                reads="RandomForestClassifier X_train y_train accuracy_score X_test y_test",
                assigns="forest forest_accuracy",
            ),
            cell("importances", reads="forest", assigns="ranked"),
            cell("save", reads="forest", assigns="f"),
            cell("load", reads="X_test forest", assigns="f restored"),
        ],
    ),
    "matplotlib_figures": expect(
        errors={"bad-plot": "ValueError"},
        # savefig opens the PNG with "w+b", which truncates it: nothing was there to read.
        files=[("subplots", "samples.png", "write"), ("png-header", "samples.png", "read")],
        values=[
            cell("setup"),
            cell("data", assigns="x waves"),
            cell("line-plot", reads="waves x", assigns="fig ax label series"),
            cell("subplots", assigns="rng samples fig2 axes"),
            cell("bar", assigns="counts"),
            cell("image", assigns="table"),
            cell("bad-plot"),
            cell("png-header", assigns="png header"),
        ],
        # The failed plt.plot has made a figure with empty axes, which is shown too.
        images=5,
    ),
    "ipython_magics": expect(
        errors={
            "parse-error": "json.decoder.JSONDecodeError",
            # No front end to read debugger commands from: %debug shows the frame and stops.
            "debug": "IPython.core.error.StdinNotImplementedError",
            "divide": "ZeroDivisionError",
        },
        files=[("writefile", "helper.py", "write"), ("run-helper", "helper.py", "read")],
        values=[
            cell("data", assigns="L values"),
            # Magics that run code are seen through: what their code reads and writes.
            cell("time-sort", reads="L", mutates="L"),
            cell("show-sorted", reads="L"),
            # %timeit runs its statement in a namespace of its own: `squares` is not kept.
            cell("timeit", reads="values"),
            cell("timeit-scope"),
            cell("timeit-result", reads="values", assigns="best"),
            cell("prun", reads="values", assigns="total"),
            # `_`, `_i` and `display` are IPython's, not the notebook's values.
            cell("ipython-names", assigns="last previous_input"),
            cell("cell-time", reads="values", assigns="cubes"),
            cell("capture", assigns="greeting captured"),
            cell("capture-show", reads="captured greeting"),
            cell("writefile"),
            # %run binds what the script defines; its module `json` is not a value.
            cell("run-helper", assigns="SCALE triple parse"),
            cell("use-helper", reads="L triple", assigns="tripled"),
            cell("shell-echo"),
            cell("shell-capture", assigns="listing"),
            cell("bash"),
            cell("xmode-minimal"),
            cell("parse-error", reads="parse"),
            cell("debug"),
            cell("divide", reads="triple"),
            cell("who"),
        ],
        commands=[
            ("shell-echo", "shell", "echo hi"),
            ("shell-capture", "shell", "echo one two"),
            ("bash", "bash", "echo \"from bash\"\nprintf '%s\\n' alpha beta"),
        ],
    ),
    "files_and_errors": expect(
        errors={
            "ratio-zero": "ZeroDivisionError",
            "key-error": "KeyError",
            "uncaught-missing": "FileNotFoundError",
        },
        # The two opens of files that do not exist read nothing, so they are not here.
        files=[
            ("config-write", "config.json", "write"),
            ("config-read", "config.json", "read"),
            ("notes-write", "notes.txt", "write"),
            ("notes-append", "notes.txt", "write"),
            ("notes-read", "notes.txt", "read"),
            ("csv-write", "people.csv", "write"),
            ("csv-read", "people.csv", "read"),
        ],
        values=[
            cell("config-write", assigns="config fh"),
            cell("config-read", reads="config", assigns="fh loaded"),
            cell("notes-write", assigns="lines out"),
            cell("notes-append", assigns="out"),
            cell("notes-read", assigns="src notes"),
            cell("define-ratio", assigns="ratio"),
            cell("ratio-ok", reads="ratio"),
            cell("ratio-zero", reads="ratio"),
            # Bound before the failing line: the failed cell did assign it.
            cell("key-error", assigns="inventory"),
            cell("key-fixed", reads="inventory", assigns="pears"),
            # `exc` is unbound again when its except block ends.
            cell("caught-missing", assigns="problem"),
            cell("uncaught-missing"),
            cell("csv-write", assigns="fh writer"),
            cell("csv-read", assigns="fh people"),
            cell("listing"),
        ],
    ),
    "objects_and_state": expect(
        errors={"remove-too-many": "ValueError"},
        files=[("pickle", "shop.pkl", "write"), ("unpickle", "shop.pkl", "read")],
        values=[
            cell("define-class", assigns="Inventory"),
            cell("create", reads="Inventory", assigns="shop"),
            cell("add", reads="shop", mutates="shop"),
            cell("remove", reads="shop", mutates="shop"),
            # The method raises before it changes anything.
            cell("remove-too-many", reads="shop"),
            cell("history", reads="shop", assigns="entry"),
            cell("second", reads="Inventory shop", assigns="warehouse item count"),
            # Changed through another name, `shop` is still changed.
            cell("alias", reads="shop", assigns="same", mutates="shop"),
            cell("define-restock", assigns="restock"),
            cell("restock", reads="restock warehouse", mutates="warehouse"),
            cell("restock-again", reads="restock warehouse"),
            cell("compare", reads="warehouse shop"),
            cell("pickle", reads="shop", assigns="fh"),
            cell("unpickle", reads="shop", assigns="fh copy"),
            cell("calls", reads="Inventory"),
        ],
        # The class's call counters change whenever shop's special methods run (displaying
        # it, pickling it, comparing it), in cells that do not name the class.
        hidden_mutations=[("second", "Inventory"), ("calls", "Inventory")],
    ),
    "text_processing": expect(
        errors={"bad-index": "IndexError"},
        files=[("save", "counts.json", "write"), ("reload", "counts.json", "read")],
        values=[
            cell("text", assigns="text"),
            cell("tokens", reads="text", assigns="Counter words"),
            cell("count", reads="Counter words", assigns="counts"),
            cell("update", reads="counts", mutates="counts"),
            # The comprehension's variable is its own.
            cell("long-words", reads="words", assigns="long_words"),
            cell("sort-in-place", reads="words", mutates="words"),
            cell("global-fn", assigns="seen note"),
            # note() rebinds the global `seen` that this cell reads: the cell wrote it.
            cell("call-global", reads="long_words note seen", assigns="shouted seen"),
            cell("walrus", reads="long_words", assigns="n verdict"),
            cell("save", reads="counts", assigns="fh"),
            cell("reload", reads="counts", assigns="fh reloaded"),
            cell("bad-index", reads="words"),
            cell("cleanup", deletes="shouted verdict"),
        ],
    ),
    "sensor_pipeline": expect(
        errors={"bad-column": "KeyError"},
        files=[
            ("simulate", "readings.csv", "write"),
            ("load", "readings.csv", "read"),
            ("features", "features.npy", "write"),
            ("report", "report.json", "write"),
            ("plot", "readings.png", "write"),
            ("reuse", "features.npy", "read"),
        ],
        values=[
            cell("setup"),
            cell("simulate", assigns="rng n readings"),
            cell("load", assigns="raw"),
            cell("clean", reads="raw", mutates="raw"),
            cell("sites", reads="raw", assigns="sites data"),
            cell("features", reads="data", assigns="features target"),
            # Under %%capture: the body's reads and writes, nothing of the magic's own.
            cell(
                "train",
                reads="features target",
                assigns="RandomForestClassifier train_test_split X_train X_test y_train y_test clf",
            ),
            cell(
                "evaluate",
                reads="clf X_train y_train X_test y_test",
                assigns="f1_score scores",
            ),
            cell("report", reads="data scores", assigns="fh"),
            cell("plot", reads="data", assigns="fig ax site group"),
            cell("reuse", reads="features", assigns="again"),
            cell("bad-column", reads="data"),
        ],
        images=1,
    ),
}


# -- running ---------------------------------------------------------------------------


@dataclass
class CorpusRun:
    """A notebook's plain and captured runs, and its cells by id in the captured run."""

    name: str
    directory: Path
    plain: NotebookRun
    captured: NotebookRun
    cells: list[Any]  # the notebook's own code cells in the captured run (inserted one left out)

    @property
    def plain_cells(self) -> list[Any]:
        return self.plain.code_cells

    def cell_id_by_count(self) -> dict[int, str]:
        return {c.execution_count: c.id for c in self.cells}


def _run_both(name: str, root: Path) -> CorpusRun:
    source = NOTEBOOKS / f"{name}.ipynb"
    work = root / "work"
    # Both runs use the same directory path, so that a path an output shows (a traceback
    # through a script run with %run, say) is the same; the plain run's files move aside.
    plain = execute_notebook_file(source, work, store_dir=root / "plain-store")
    work.rename(root / "plain")
    captured = execute_notebook_file(
        source, work, first_cells=[CAPTURE_ON], store_dir=root / "store"
    )
    return CorpusRun(name, work, plain, captured, captured.code_cells[1:])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], CorpusRun]:
    """Each notebook's two runs, made on first use and shared by the tests of this module."""
    # A kernel that builds matplotlib's font cache says so on stderr, once: build it here so
    # that the first run of a plotting notebook does not differ from the second for that.
    import matplotlib.font_manager  # noqa: F401

    runs: dict[str, CorpusRun] = {}

    def get(name: str) -> CorpusRun:
        if name not in runs:
            runs[name] = _run_both(name, tmp_path_factory.mktemp(name))
        return runs[name]

    return get


def _notebook_names() -> list[str]:
    return sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))


def test_every_notebook_has_expectations() -> None:
    assert len(_notebook_names()) >= 8
    assert set(_notebook_names()) == set(EXPECTED)


# -- outputs -----------------------------------------------------------------------------

_IN_COUNT = re.compile(r"In\[(\d+)\]")


def _normalised(cells: list[Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Each cell's id and outputs, execution counts renumbered from 1 at the notebook's first cell."""
    ordinal = {c.execution_count: i for i, c in enumerate(cells, 1) if c.execution_count}

    def renumber(value: Any) -> Any:
        if isinstance(value, str):
            return _IN_COUNT.sub(lambda m: f"In[{ordinal.get(int(m[1]), 'other ' + m[1])}]", value)
        if isinstance(value, list):
            return [renumber(v) for v in value]
        if isinstance(value, dict):
            return {k: renumber(v) for k, v in value.items()}
        return value

    result = []
    for c in cells:
        outputs: list[dict[str, Any]] = []
        for out in copy.deepcopy(c.outputs):
            out = renumber(dict(out))
            if out.get("execution_count") is not None:
                out["execution_count"] = ordinal.get(out["execution_count"], -1)
            previous = outputs[-1] if outputs else {}
            if out["output_type"] == previous.get("output_type") == "stream" and (
                out["name"] == previous["name"]
            ):
                # How a process's output is cut into messages depends on when it is read
                # (a %%bash cell's lines come one or two at a time): the text is what counts.
                previous["text"] += out["text"]
                continue
            outputs.append(out)
        result.append((c.id, outputs))
    return result


def _error_cells(cells: list[Any]) -> set[str]:
    return {c.id for c in cells if any(o.output_type == "error" for o in c.outputs)}


def _tagged(cells: list[Any]) -> set[str]:
    return {c.id for c in cells if RAISES in c.metadata.get("tags", [])}


def _brief(outputs: list[dict[str, Any]]) -> str:
    text = json.dumps(outputs, sort_keys=True)
    return text if len(text) < 1500 else text[:1500] + f"... ({len(text)} chars)"


@pytest.mark.parametrize("name", _notebook_names())
def test_outputs_are_the_same_with_capture_on(
    name: str, corpus: Callable[[str], CorpusRun]
) -> None:
    run = corpus(name)
    assert not run.plain.store.root.exists(), "the plain run captured something"
    images = [o for c in run.plain_cells for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(images) == EXPECTED[name].images
    # The notebook fails only where it says it will, with capture and without.
    assert _error_cells(run.plain_cells) == _tagged(run.plain_cells)
    assert _error_cells(run.cells) == _tagged(run.cells)
    inserted = run.captured.code_cells[0]
    assert not any(o.output_type == "error" for o in inserted.outputs), inserted.outputs
    assert [c.id for c in run.cells] == [c.id for c in run.plain_cells]
    assert all(c.execution_count for c in run.cells), "a cell did not run"
    plain, captured = _normalised(run.plain_cells), _normalised(run.cells)
    different = [
        f"cell {cid}:\n  plain:    {_brief(a)}\n  captured: {_brief(b)}"
        for (cid, a), (_, b) in zip(plain, captured, strict=True)
        if a != b
    ]
    assert not different, f"{name}: outputs differ with capture on\n" + "\n".join(different)


# -- the record ----------------------------------------------------------------------------


def _rows(frame: Any) -> list[dict[str, Any]]:
    """A query's rows as dicts, with None (not NaN) where a value is missing."""
    return [
        {k: (None if v is None or (isinstance(v, float) and v != v) else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]


def _runs(run: CorpusRun) -> list[dict[str, Any]]:
    return _rows(
        run.captured.sql(
            "SELECT execution_id, execution_count, cell_id, notebook_path, mode, source, "
            "source_hash, status, error_type, error_message, capture_errors FROM runs "
            "ORDER BY started_at"
        )
    )


@pytest.mark.parametrize("name", _notebook_names())
def test_every_cell_is_recorded_once(name: str, corpus: Callable[[str], CorpusRun]) -> None:
    run, expected = corpus(name), EXPECTED[name]
    runs = _runs(run)
    counts = [c.execution_count for c in run.cells]
    assert sorted(r["execution_count"] or 0 for r in runs) == counts, (
        "a cell was recorded more than once, or not at all"
    )
    assert set(expected.errors) == _tagged(run.cells)
    by_count = {r["execution_count"]: r for r in runs}
    for c in run.cells:
        record = by_count[c.execution_count]
        where = f"{name}, cell {c.id}"
        assert record["mode"] == "auto", where
        # nbclient sends no cell ids today; one that does must send the notebook's own.
        assert record["cell_id"] in (None, c.id), where
        assert record["notebook_path"] == str(run.captured.path), where
        # Free text is kept byte for byte.
        assert record["source"] == c.source, where
        assert record["source_hash"] == hashlib.sha256(c.source.encode()).hexdigest(), where
        if c.id in expected.errors:
            error = next(o for o in c.outputs if o.output_type == "error")
            assert (record["status"], record["error_type"]) == ("failed", expected.errors[c.id]), (
                where
            )
            assert record["error_type"].rsplit(".", 1)[-1] == error.ename, where
            assert record["error_message"] == error.evalue, where
        else:
            assert (record["status"], record["error_type"]) == ("ok", None), where


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", _notebook_names())
def test_files_are_recorded_with_their_hashes(
    name: str, corpus: Callable[[str], CorpusRun]
) -> None:
    run, expected = corpus(name), EXPECTED[name]
    cell_of = run.cell_id_by_count()
    files = _rows(
        run.captured.sql(
            "SELECT execution_count, path, access, size, sha256, note FROM files "
            "ORDER BY started_at, path"
        )
    )
    root = run.directory.resolve()
    problems = []
    mine = []
    for f in files:
        path, cid = Path(f["path"]), cell_of.get(f["execution_count"])
        if not path.exists():
            # Nothing in the corpus deletes a file: this one was never there (a failed open).
            problems.append(f"cell {cid}: {path} recorded ({f['access']}), but it does not exist")
        elif path.resolve().is_relative_to(root):
            # Files elsewhere (matplotlib's font cache, say) are real but not the corpus's.
            mine.append({**f, "cell": cid, "rel": str(path.resolve().relative_to(root))})
    recorded = {(f["cell"], f["rel"], f["access"]) for f in mine}
    problems += [f"not recorded: {m}" for m in sorted(expected.files - recorded)]
    problems += [f"recorded, not expected: {e}" for e in sorted(recorded - expected.files)]
    # Each hash is of the content at the time: a read has the hash of what was last written
    # before it, and the last record of a file has the hash and size of the file on disk.
    last: dict[str, dict[str, Any]] = {}
    for f in mine:
        if not f["sha256"] or f["note"]:
            problems.append(f"cell {f['cell']}: {f['rel']} has no hash ({f['note']})")
            continue
        before = last.get(f["rel"])
        if f["access"] == "read" and before is not None and f["sha256"] != before["sha256"]:
            problems.append(f"cell {f['cell']}: {f['rel']} read with another hash than written")
        last[f["rel"]] = f
    for rel, f in last.items():
        on_disk = run.directory / rel
        if (f["sha256"], f["size"]) != (_sha256(on_disk), on_disk.stat().st_size):
            problems.append(f"cell {f['cell']}: {rel} recorded with a hash or size not the file's")
    assert not problems, f"{name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", _notebook_names())
def test_shell_commands_are_recorded(name: str, corpus: Callable[[str], CorpusRun]) -> None:
    run, expected = corpus(name), EXPECTED[name]
    cell_of = run.cell_id_by_count()
    rows = _rows(run.captured.sql("SELECT execution_count, kind, command FROM shell_commands"))
    # IPython hands a cell magic its body with a final newline added; the cell has none.
    recorded = {
        (cell_of.get(r["execution_count"]), r["kind"], r["command"].removesuffix("\n"))
        for r in rows
    }
    assert recorded == expected.commands


def _values(run: CorpusRun) -> list[dict[str, Any]]:
    """Every value record with its cell id, in execution order (inputs before outputs)."""
    rows = _rows(
        run.captured.sql(
            "SELECT started_at, execution_count, 'input' AS role, 'read' AS action, name, "
            "fingerprint, fingerprint_kind FROM cell_inputs UNION ALL "
            "SELECT started_at, execution_count, 'output', action, name, fingerprint, "
            "fingerprint_kind FROM cell_outputs ORDER BY started_at, role, name"
        )
    )
    cell_of = run.cell_id_by_count()
    return [{**r, "cell": cell_of.get(r["execution_count"])} for r in rows]


@pytest.mark.parametrize("name", _notebook_names())
def test_values_read_and_written_are_recorded(
    name: str, corpus: Callable[[str], CorpusRun]
) -> None:
    run, expected = corpus(name), EXPECTED[name]
    records = _values(run)
    problems = []
    recorded: dict[str, Values] = {}
    for cid in {r["cell"] for r in records} | set(expected.values):
        mine = [r for r in records if r["cell"] == cid]
        recorded[cid] = Values(
            frozenset(r["name"] for r in mine if r["role"] == "input"),
            frozenset((r["name"], r["action"]) for r in mine if r["role"] == "output"),
        )
    for cid, want in expected.values.items():
        got = recorded[cid]
        if got.inputs != want.inputs:
            problems.append(
                f"cell {cid}: inputs {sorted(got.inputs)}, expected {sorted(want.inputs)}"
            )
        if got.outputs != want.outputs:
            problems.append(
                f"cell {cid}: outputs {sorted(got.outputs)}, expected {sorted(want.outputs)}"
            )
    for r in records:
        if _never_a_value(r["name"]):
            problems.append(f"cell {r['cell']}: {r['name']!r} recorded as {r['role']}")
    # A value read has the content last recorded for it: every change is on the record.
    latest: dict[str, str] = {}
    for r in records:
        key = (r["cell"], r["name"])
        if r["role"] == "input" and r["fingerprint_kind"] == "content":
            if key in expected.hidden_mutations:
                continue
            if r["name"] not in latest:
                problems.append(f"cell {r['cell']}: reads {r['name']}, which no cell recorded")
            elif latest[r["name"]] != r["fingerprint"]:
                problems.append(
                    f"cell {r['cell']}: reads {r['name']} with content no cell recorded writing"
                )
        elif r["role"] == "output" and r["action"] == "mutated":
            before = next(
                (i for i in records if (i["cell"], i["name"], i["role"]) == (*key, "input")), None
            )
            if before is not None and before["fingerprint"] == r["fingerprint"]:
                problems.append(f"cell {r['cell']}: {r['name']} mutated with the same content")
        if r["role"] == "output" and r["fingerprint"]:
            latest[r["name"]] = r["fingerprint"]
    assert not problems, f"{name}:\n" + "\n".join(problems)


def test_corpus_directory_holds_only_notebooks_and_their_notes() -> None:
    """Running a notebook in place would leave its files here, and a later copy would differ."""
    allowed = {".ipynb", ".md"}
    stray = [p.name for p in NOTEBOOKS.iterdir() if p.suffix not in allowed and p.name[0] != "."]
    assert not stray, f"files left in {NOTEBOOKS}: {stray}; remove them"
    for path in NOTEBOOKS.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), path.name
