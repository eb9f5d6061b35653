from __future__ import annotations

import os

import pytest

from jupyter_lineage.capture.analysis import analyse, is_ipython_name


@pytest.mark.parametrize(
    ("source", "reads", "binds"),
    [
        ("y = x + 1", ["x"], ["y"]),
        ("x = 1\ny = x", [], ["x", "y"]),
        ("y = x\nx = 2", ["x"], ["y", "x"]),
        ("x += 1", ["x"], ["x"]),
        ("df.dropna(inplace=True)", ["df"], []),
        ("df['c'] = df['a'] * k", ["df", "k"], []),
        ("import numpy as np\na = np.zeros(3)", [], ["np", "a"]),
        ("from os import path as p", [], ["p"]),
        ("def f(a, b=default):\n    return a + g(b) + c\n", ["default", "g", "c"], ["f"]),
        ("squares = [i * i for i in items if i > lim]", ["items", "lim"], ["squares"]),
        ("{k: v for k, v in pairs}", ["pairs"], []),
        ("f = lambda q: q + offset", ["offset"], ["f"]),
        ("for i in range(n):\n    total = total + i", ["n", "total"], ["i", "total"]),
        ("x = x + 1", ["x"], ["x"]),
        ("with open(p) as fh:\n    data = fh.read()", ["p"], ["fh", "data"]),
        ("try:\n    pass\nexcept ValueError as e:\n    msg = str(e)", [], ["e", "msg"]),
        ("class A(Base):\n    attr = other\n", ["Base", "other"], ["A"]),
        ("def g():\n    global counter\n    counter = 1\n", [], ["g", "counter"]),
        ("print(_, _i3, Out, In)", [], []),
    ],
)
def test_reads_and_binds(source: str, reads: list[str], binds: list[str]) -> None:
    result = analyse(source)
    assert [
        r for r in result.reads if r not in ("print", "range", "open", "str", "ValueError")
    ] == reads
    assert list(result.binds) == binds


def test_function_body_reads_globals_it_uses() -> None:
    # Calling the function later reads `c` and `g`: the cell's code depends on them.
    result = analyse("def f(a):\n    return g(a) + c\n")
    assert {"g", "c"} <= set(result.reads)
    assert "a" not in result.reads


def test_deletes() -> None:
    result = analyse("del x, y[0]")
    assert result.deletes == ("x",)
    assert "y" in result.reads


def test_seed_calls_found_with_values() -> None:
    result = analyse(
        "import random, numpy as np\nrandom.seed(1)\nnp.random.seed(seed=SEED)\n"
        "rng = np.random.default_rng(7)\ntorch.manual_seed(3)\nother.seed(9)\n"
    )
    calls = {(s.call, s.argument, s.literal) for s in result.seeds}
    assert ("random.seed", "1", 1) in calls
    assert ("np.random.seed", "SEED", None) in calls
    assert ("np.random.default_rng", "7", 7) in calls
    assert ("torch.manual_seed", "3", 3) in calls
    assert not any(s.call == "other.seed" for s in result.seeds)


@pytest.mark.parametrize(
    "source",
    [
        "get_ipython().run_line_magic('pip', 'install foo')",
        "get_ipython().system('pip install foo')",
        "!pip install foo",
        "%pip install foo",
    ],
)
def test_package_installs_detected(source: str) -> None:
    assert analyse(source).installs_packages


def test_imports_listed() -> None:
    assert analyse("import a.b\nfrom c.d import e\nfrom . import f").imports == ("a", "c")


def test_syntax_error_is_reported_not_raised() -> None:
    result = analyse("def (:")
    assert result.syntax_error and result.syntax_error.startswith("SyntaxError")
    assert result.reads == ()


def test_cached_by_source() -> None:
    assert analyse("a = b") is analyse("a = b")


def test_ipython_names() -> None:
    for name in ("_", "__", "___", "_i", "_ii", "_i12", "_12", "Out", "In", "_oh"):
        assert is_ipython_name(name), name
    for name in ("_private", "x", "i12", "data_1"):
        assert not is_ipython_name(name), name


def _magic(cell: str):
    from IPython.core.inputtransformer2 import TransformerManager

    return analyse(TransformerManager().transform_cell(cell))


@pytest.mark.parametrize(
    ("cell", "reads", "binds"),
    [
        ("%%time\ntotal = sum(L)\n", ["sum", "L"], ["total"]),
        ("%time L.sort()", ["L"], []),
        ("%time -x", ["x"], []),  # %time takes no options: this times `-x`
        ("r = %time f(z)", ["f", "z"], ["r"]),
        ("%prun -q -s cumulative -l 5 f(x)", ["f", "x"], []),
        ("%%prun -q\nz = f(y)", ["f", "y"], ["z"]),
        ("%timeit -n 3 -r1 q = g(h)", ["g", "h"], []),
        ("t = %timeit -o -n1 f(x)", ["f", "x"], ["t"]),
        ("%%timeit -n1 y = 2\nz = y + w", ["w"], []),
        ("%%capture out --no-stderr\nv = g(u)", ["g", "u"], ["v", "out"]),
        ("%%time\n%%capture\nr = k + 1", ["k"], ["r"]),
        ("%%writefile f.py\nx = secret_name\n", [], []),
        ("%%html\n<b>{x}</b>\n", [], []),
        ("%time %timeit f(x)", ["f", "x"], []),
    ],
)
def test_magics_that_run_python_are_seen_through(
    cell: str, reads: list[str], binds: list[str]
) -> None:
    a = _magic(cell)
    assert list(a.reads) == reads
    assert list(a.binds) == binds


def test_shell_commands_and_scripts_are_collected() -> None:
    a = _magic("!echo hi\nx = !ls -l\n%sx date\n")
    assert a.commands == (("shell", "echo hi"), ("shell", "ls -l"), ("shell", "date"))
    assert a.binds == ("x",)
    assert _magic("%%bash\necho $HOME\n").commands == (("bash", "echo $HOME\n"),)
    assert _magic("%%script sh -e\nls\n").commands == (("script sh -e", "ls\n"),)
    assert _magic("%run -i -N 3 'my script.py' arg").scripts == ("my script.py",)
    assert _magic("%run -m package.module").scripts == ()
    assert _magic("%time !ls").commands == (("shell", "ls"),)


def test_paths_given_to_native_readers_and_writers_are_collected() -> None:
    a = analyse(
        "df.to_parquet('out/x.parquet')\n"
        "t = pq.read_table(source=src)\n"
        "pq.write_table(t, 'y.parquet')\n"
        "pd.read_feather(folder / 'z.feather')\n"  # an expression: not evaluated, not collected
    )
    assert a.native_files == (
        ("write", "literal", "out/x.parquet"),
        ("read", "name", "src"),
        ("write", "literal", "y.parquet"),
    )


@pytest.mark.parametrize(
    ("mode", "flags", "access"),
    [
        ("r", None, "read"),
        ("rb", None, "read"),
        ("w", None, "write"),
        ("w+b", None, "write"),  # emptied first: nothing could be read
        ("x+", None, "write"),
        ("a", None, "write"),
        ("a+", None, "readwrite"),
        ("r+b", None, "readwrite"),
        (None, 0, "read"),
        (None, os.O_WRONLY | os.O_CREAT, "write"),
        (None, os.O_RDWR, "readwrite"),
        (None, os.O_RDWR | os.O_TRUNC, "write"),
    ],
)
def test_file_access_from_mode(mode: str | None, flags: int | None, access: str) -> None:
    from jupyter_lineage.capture.files import _access_of

    assert _access_of(mode, flags) == access
