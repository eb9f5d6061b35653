"""Magics that run Python are seen through; shell commands, %run and failed opens are recorded as they are.

Real kernels (nbclient) and a real DuckDB store. Each notebook under ``%lineage on`` is compared with
``%%lineage`` over the bare bodies of the same cells: the recorded inputs and outputs must be the same.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .conftest import NotebookRun, execute_notebook

SETUP = "L = [3, 1, 2]\ndef f(v):\n    return v * 2\nx = 5"
# (cell under a magic, the bare body that %%lineage records the same way)
MAGIC_CELLS = [
    ("%%time\ntotal = sum(L)", "total = sum(L)"),
    ("%time L.sort()", "L.sort()"),
    ("%prun -q f(x)", "f(x)"),
    ("%%capture\ny = f(total)\nprint(y)", "y = f(total)\nprint(y)"),
    ("%%prun -q\nz = f(y) + x", "z = f(y) + x"),
    ("r = %time f(z)", "r = f(z)"),
    ("%%time\n%%capture\nq = [v for v in L if v > r]", "q = [v for v in L if v > r]"),
]
# timeit runs its code in a namespace of its own: the reads are the body's, the bindings do not persist.
TIMEIT_CELLS = [
    ("%timeit -n1 -r1 f(x)", "f(x)"),
    ("%%timeit -n1 -r1 seed = x\nw = f(seed) + total", "f(x) + total"),
    ("t = %timeit -q -o -n1 -r1 f(q)", "t = f(q)"),
]


def _values(run: NotebookRun) -> list[set[tuple[str, str, str]]]:
    """Per captured cell, in order: the (name, role, action) of every value recorded."""
    df = run.sql(
        "SELECT r.execution_count, v.name, v.role, v.action FROM runs r "
        "LEFT JOIN value_records v USING (execution_id) ORDER BY r.execution_count"
    )
    cells: dict[int, set[tuple[str, str, str]]] = {}
    for count, name, role, action in df.itertuples(index=False):
        cells.setdefault(int(count), set())
        if isinstance(name, str):
            cells[int(count)].add((name, role, action))
    return [cells[k] for k in sorted(cells)]


def test_magics_are_transparent_under_lineage_on(tmp_path: Path) -> None:
    cells = [SETUP, *(magic for magic, _ in MAGIC_CELLS + TIMEIT_CELLS)]
    auto = execute_notebook(
        ["%load_ext jupyter_lineage\n%lineage on", *cells], tmp_path / "auto", allow_errors=False
    )
    bare = execute_notebook(
        [
            "%load_ext jupyter_lineage",
            *("%%lineage\n" + body for body in [SETUP, *(b for _, b in MAGIC_CELLS)]),
            *("%%lineage\n" + body for _, body in TIMEIT_CELLS),
        ],
        tmp_path / "bare",
        allow_errors=False,
    )
    wrapped = execute_notebook(
        ["%load_ext jupyter_lineage", *("%%lineage\n" + cell for cell in cells)],
        tmp_path / "wrapped",
        allow_errors=False,
    )
    got, expected, magic = _values(auto), _values(bare), _values(wrapped)
    assert len(got) == len(expected) == len(cells)
    assert magic == got
    n = 1 + len(MAGIC_CELLS)
    for cell, seen, want in zip(cells[:n], got[:n], expected[:n], strict=True):
        assert seen == want, cell
    # %time L.sort(): L read and changed in place; %prun f(x): f and x read.
    assert got[2] == {("L", "input", "read"), ("L", "output", "mutated")}
    assert got[3] == {("f", "input", "read"), ("x", "input", "read")}
    for (cell, _), seen, want in zip(TIMEIT_CELLS, got[n:], expected[n:], strict=True):
        inputs = {v for v in seen if v[1] == "input"}
        assert inputs == {v for v in want if v[1] == "input"}, cell
        outputs = {v[0] for v in seen if v[1] == "output"}
        # Only the result a cell assigns from %timeit -o persists; timeit's own bindings do not.
        assert outputs == ({"t"} if cell.startswith("t =") else set()), cell
    # what timeit bound did not reach the namespace, and nothing was recorded as if it had
    assert "seed" not in auto.text(len(cells))


def test_run_shell_commands_and_failed_opens(tmp_path: Path) -> None:
    cells = [
        "%load_ext jupyter_lineage\n%lineage on",
        "%%writefile helper.py\nHELPER_CONSTANT = 41\n\ndef helper(v):\n    return v + 1\n",
        "%run helper.py",
        "!echo hello from the shell",
        "listing = !echo a b",
        "%%bash\necho from bash",
        "try:\n    open('never-existed.txt')\nexcept FileNotFoundError:\n    missing = True",
        "with open('helper.py') as fh:\n    text = fh.read()\nprint(len(text), display is not None)",
        "open = 'shadowed'\nexit_code = len(open)",
        "print(open, exit_code, In[1][:5], _i1[:5])",
    ]
    run = execute_notebook(cells, tmp_path, allow_errors=False)
    assert "hello from the shell" in run.text(3)
    assert "from bash" in run.text(5)
    ids = dict(run.sql("SELECT execution_count, execution_id FROM runs").itertuples(index=False))
    assert sorted(ids) == list(range(2, len(cells) + 1))

    def values(count: int) -> set[tuple[str, str, str]]:
        df = run.sql(
            "SELECT name, role, action FROM value_records WHERE execution_id = ?", [ids[count]]
        )
        return set(df.itertuples(index=False, name=None))

    def files(count: int) -> set[tuple[str, str, str]]:
        df = run.sql("SELECT path, access, sha256 FROM files WHERE execution_id = ?", [ids[count]])
        return set(df.itertuples(index=False, name=None))

    helper = tmp_path / "helper.py"
    digest = hashlib.sha256(helper.read_bytes()).hexdigest()
    assert files(2) == {(str(helper), "write", digest)}
    # %run: the script read, with its hash, and the names it bound
    assert files(3) == {(str(helper), "read", digest)}
    assert values(3) == {
        ("HELPER_CONSTANT", "output", "assigned"),
        ("helper", "output", "assigned"),
    }
    commands = run.sql(
        "SELECT execution_count, ordinal, kind, command FROM shell_commands ORDER BY execution_count"
    )
    assert list(commands.itertuples(index=False, name=None)) == [
        (4, 0, "shell", "echo hello from the shell"),
        (5, 0, "shell", "echo a b"),
        (6, 0, "bash", "echo from bash\n"),
    ]
    assert values(5) == {("listing", "output", "assigned")}
    # a failed open read nothing: no file record at all
    assert files(7) == set()
    assert values(7) == {("missing", "output", "assigned")}
    # IPython's open and display are not inputs; the file really read is
    assert values(8) == {("fh", "output", "assigned"), ("text", "output", "assigned")}
    assert files(8) == {(str(helper), "read", digest)}
    # a name the user binds is theirs, even when IPython had put one there
    assert values(9) == {("open", "output", "assigned"), ("exit_code", "output", "assigned")}
    assert values(10) == {("open", "input", "read"), ("exit_code", "input", "read")}
    everything = run.sql("SELECT DISTINCT name FROM value_records")["name"]
    injected = {"In", "Out", "_i1", "_", "get_ipython", "display", "exit", "quit", "print", "len"}
    assert injected.isdisjoint(set(everything))
