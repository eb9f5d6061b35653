"""Content fingerprints: equal content gives equal digests, any change a different one,
and no value, however hostile, makes fingerprinting raise."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import fractions
import hashlib
import itertools
import os
import pathlib
import socket
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import uuid
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from jupyter_lineage.capture import fingerprint as fingerprint_module
from jupyter_lineage.capture.fingerprint import fingerprint, is_immutable_value, sha256_file


def digest(obj: object, **kwargs: float) -> str:
    fp = fingerprint(obj, **kwargs)
    assert fp.kind == "content", fp
    assert fp.digest.startswith("xxh3:") and len(fp.digest) == 5 + 32
    return fp.digest


# --- builtins --------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: None,
        lambda: True,
        lambda: 12345,
        lambda: -(10**400),
        lambda: 1.5,
        lambda: float("nan"),
        lambda: 1 + 2j,
        lambda: "héllo \ud800",
        lambda: b"\x00\xff",
        lambda: bytearray(b"abc"),
        lambda: memoryview(b"abc"),
        lambda: range(1, 10, 2),
        lambda: [1, "a", (2.0, None)],
        lambda: {"a": [1, 2], "b": {"c": 3}},
        lambda: {1, 2, "x"},
        lambda: frozenset({"a", "b"}),
        lambda: decimal.Decimal("1.10"),
        lambda: fractions.Fraction(3, 7),
        lambda: dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc),
        lambda: dt.date(2024, 5, 1),
        lambda: dt.time(12, 30, 1, 5),
        lambda: dt.timedelta(days=2, seconds=3),
        lambda: uuid.UUID(int=12345),
        lambda: pathlib.PurePosixPath("/data/train.csv"),
        lambda: pathlib.Path("data"),
        lambda: Color.RED,
    ],
)
def test_equal_content_gives_equal_digest(make: object) -> None:
    first, second = make(), make()  # type: ignore[operator]
    assert digest(first) == digest(second)


class Color(enum.Enum):
    RED = 1
    GREEN = 2


def test_same_bytes_different_types_differ() -> None:
    values = [1, 1.0, "1", True, b"1", bytearray(b"1"), [1], (1,), {1}, frozenset({1}), np.int64(1)]
    digests = [digest(v) for v in values]
    assert len(set(digests)) == len(values)
    assert digest(0.0) != digest(-0.0)
    assert digest(float("nan")) == digest(float("nan"))
    assert digest(pathlib.PurePosixPath("a")) != digest("a")
    assert digest(Color.RED) != digest(Color.GREEN)


def test_changes_give_different_digests() -> None:
    base = {"lr": 0.1, "layers": [64, 32], "name": "m"}
    changed_value = {"lr": 0.2, "layers": [64, 32], "name": "m"}
    changed_nested = {"lr": 0.1, "layers": [64, 33], "name": "m"}
    assert len({digest(base), digest(changed_value), digest(changed_nested)}) == 3
    assert digest([1, 2]) != digest([2, 1])
    assert digest([[1], [2]]) != digest([[1, 2]])
    assert digest(("ab", "c")) != digest(("a", "bc"))
    assert digest(10**400) != digest(10**400 + 1)


def test_dicts_and_sets_ignore_order() -> None:
    assert digest({"a": 1, "b": 2}) == digest({"b": 2, "a": 1})
    words = [f"w{i}" for i in range(200)]
    assert digest(set(words)) == digest(set(reversed(words)))


def test_cycles_are_hashed_without_recursing_forever() -> None:
    a: list[object] = [1]
    a.append(a)
    b: list[object] = [1]
    b.append(b)
    assert digest(a) == digest(b)
    assert digest(a) != digest([1, [1]])
    d: dict[str, object] = {"x": 1}
    d["self"] = d
    assert fingerprint(d).kind == "content"
    nested: list[object] = [d, a, {"back": d}]
    assert fingerprint(nested).kind == "content"


def test_very_deep_nesting_does_not_raise() -> None:
    deep: list[object] = []
    for _ in range(10_000):
        deep = [deep]
    fp = fingerprint(deep)
    assert fp.kind in ("identity", "error")
    assert fp.note


def test_scalar_summaries_and_metadata() -> None:
    assert fingerprint(42).summary == "42"
    assert fingerprint(42).type_name == "int"
    big = fingerprint(10**5000)
    assert "digits" in big.summary and len(big.summary) < 40
    long_text = fingerprint("x" * 10_000)
    assert long_text.length == 10_000 and len(long_text.summary) <= 120
    assert fingerprint([1, 2, 3]).summary == "list[3]"
    assert fingerprint({"a": 1}).length == 1


# --- functions, classes, modules ------------------------------------------------------


def test_lambdas_fingerprint_by_content() -> None:
    f = lambda x: x + 1  # noqa: E731
    g = lambda x: x + 1  # noqa: E731
    h = lambda x: x + 2  # noqa: E731
    assert fingerprint(f).kind == "content"
    assert digest(f) == digest(g)
    assert digest(f) != digest(h)


def test_function_defaults_and_closures_count() -> None:
    def make(scale: float) -> object:
        def apply(x: float, offset: float = 0.0) -> float:
            return x * scale + offset

        return apply

    assert digest(make(2.0)) == digest(make(2.0))
    assert digest(make(2.0)) != digest(make(3.0))

    def f(x: int = 1) -> int:
        return x

    before = digest(f)
    f.__defaults__ = (2,)
    assert digest(f) != before


def test_classes_and_modules_fingerprint_by_name() -> None:
    assert digest(Color) == digest(Color)
    assert digest(Color) != digest(dict)
    fp = fingerprint(np)
    assert fp.kind == "content"
    assert np.__version__ in fp.summary
    assert digest(len) != digest(print)


class Params:
    def __init__(self, lr: float, tags: set[str]) -> None:
        self.lr = lr
        self.tags = tags
        self.loss = lambda y: y * y


def test_plain_objects_are_pickled_into_the_hash() -> None:
    assert digest(Params(0.1, {"a", "b"})) == digest(Params(0.1, {"b", "a"}))
    assert digest(Params(0.1, {"a"})) != digest(Params(0.2, {"a"}))


def test_instances_of_local_classes_are_hashed() -> None:
    class Local:
        def __init__(self, n: int) -> None:
            self.n = n

    assert digest(Local(1)) == digest(Local(1))
    assert digest(Local(1)) != digest(Local(2))


# --- hostile values -------------------------------------------------------------------


class Hostile:
    calls: ClassVar[list[str]] = []

    def __init__(self) -> None:
        self.payload = 1

    def __repr__(self) -> str:
        Hostile.calls.append("repr")
        raise RuntimeError("repr")

    def __str__(self) -> str:
        Hostile.calls.append("str")
        raise RuntimeError("str")

    def __eq__(self, other: object) -> bool:
        Hostile.calls.append("eq")
        raise RuntimeError("eq")

    def __hash__(self) -> int:
        Hostile.calls.append("hash")
        raise RuntimeError("hash")

    def __len__(self) -> int:
        Hostile.calls.append("len")
        raise RuntimeError("len")

    def __reduce__(self) -> object:
        raise RuntimeError("no pickling " * 50)


class BadState:
    def __getstate__(self) -> object:
        raise ValueError("state is secret")


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("cannot print")


class RaisesUnprintable:
    def __reduce__(self) -> object:
        raise UnprintableError()


class Proxy:
    def __getattr__(self, name: str) -> object:
        return lambda *args, **kwargs: self


def test_hostile_objects_never_raise() -> None:
    Hostile.calls.clear()
    fp = fingerprint(Hostile())
    assert fp.kind == "identity"
    assert fp.digest.startswith("id:0x")
    assert fp.note is not None and fp.note.startswith("not picklable: RuntimeError: no pickling")
    assert len(fp.note) <= 200
    assert fp.summary == fp.type_name == f"{__name__}.Hostile"
    assert Hostile.calls == []

    fp = fingerprint(BadState())
    assert fp.kind == "identity"
    assert "ValueError: state is secret" in (fp.note or "")

    fp = fingerprint(RaisesUnprintable())
    assert fp.kind == "identity"
    assert "UnprintableError" in (fp.note or "")

    assert fingerprint(Proxy()).kind in ("content", "identity", "error")
    assert fingerprint([Proxy(), Hostile()]).kind in ("identity", "error")


def test_unpicklable_resources_get_identity_digests(tmp_path: pathlib.Path) -> None:
    def gen() -> object:
        yield 1

    sock = socket.socket()
    try:
        fp = fingerprint(sock)
    finally:
        sock.close()
    assert fp.kind == "identity"
    assert fp.note == "not picklable: TypeError: cannot pickle 'socket' object"

    with open(tmp_path / "f.txt", "w") as handle:
        fp = fingerprint(handle)
    assert fp.kind == "identity" and "TextIOWrapper" in (fp.note or "")

    for value in (gen(), threading.Lock(), {"lock": threading.Lock()}):
        fp = fingerprint(value)
        assert fp.kind == "identity", fp
        assert fp.digest == f"id:{id(value):#x}"


class Exits:
    def __reduce__(self) -> object:
        raise SystemExit(3)


class Interrupts:
    def __reduce__(self) -> object:
        raise KeyboardInterrupt


def test_system_exit_is_contained_but_keyboard_interrupt_propagates() -> None:
    fp = fingerprint(Exits())
    assert fp.kind == "identity"
    assert "SystemExit" in (fp.note or "")
    with pytest.raises(KeyboardInterrupt):
        fingerprint(Interrupts())


class Endless:
    def __reduce__(self) -> object:
        return (list, (), None, itertools.count())


class Slow:
    def __reduce__(self) -> object:
        time.sleep(0.05)
        return (Slow, ())


@pytest.mark.parametrize("value", [Endless(), [Slow() for _ in range(40)]], ids=["endless", "slow"])
def test_pickling_stops_at_the_time_budget(value: object) -> None:
    start = time.perf_counter()
    fp = fingerprint(value, budget_s=0.2)
    elapsed = time.perf_counter() - start
    assert fp.kind == "timeout"
    assert fp.digest.startswith("id:")
    assert elapsed < 0.6


def test_large_containers_stop_at_the_time_budget() -> None:
    big = list(range(3_000_000))
    fp = fingerprint(big, budget_s=0.01)
    assert fp.kind == "timeout"


class Hooked:
    def __init__(self, key: object) -> None:
        self.key = key
        self.cache = object()  # unpicklable noise the hook leaves out

    def __lineage_fingerprint__(self) -> object:
        return self.key


class BrokenHook:
    def __lineage_fingerprint__(self) -> object:
        raise ValueError("hook failed")


def test_lineage_fingerprint_hook_is_used() -> None:
    assert digest(Hooked("v1")) == digest(Hooked("v1"))
    assert digest(Hooked("v1")) != digest(Hooked("v2"))
    assert digest(Hooked(b"raw")) != digest(b"raw")
    assert digest(Hooked({"a": np.arange(3)})) == digest(Hooked({"a": np.arange(3)}))
    fp = fingerprint(BrokenHook())
    assert fp.kind == "error"
    assert fp.note == "__lineage_fingerprint__ raised ValueError: hook failed"


# --- numpy ----------------------------------------------------------------------------


def test_array_digest_depends_on_every_element_dtype_and_shape() -> None:
    a = np.arange(2_000_000, dtype=np.float64)
    b = a.copy()
    assert digest(a) == digest(b)
    b[1_234_567] += 1e-9
    assert digest(a) != digest(b)
    assert digest(a) != digest(a.astype(np.float32))
    assert digest(a) != digest(a.view(np.int64))
    assert digest(a) != digest(a.reshape(1000, 2000))
    assert digest(a.reshape(1000, 2000)) != digest(a.reshape(2000, 1000))


def test_array_digest_ignores_memory_layout() -> None:
    c = np.arange(600, dtype=np.int32).reshape(20, 30)
    fortran = np.asfortranarray(c)
    assert not fortran.flags.c_contiguous
    assert digest(fortran) == digest(c)
    assert digest(c[::2]) == digest(np.ascontiguousarray(c[::2]))
    assert digest(c.T) == digest(np.ascontiguousarray(c.T))
    cube = np.arange(2 * 3 * 4 * 5.0).reshape(2, 3, 4, 5)
    strided = cube.transpose(3, 1, 0, 2)[:, ::2]
    assert digest(strided) == digest(strided.copy())


def test_large_strided_array_matches_its_contiguous_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    # Small chunks so a modest array takes every branch of the chunked copy.
    monkeypatch.setattr(fingerprint_module, "_CHUNK_BYTES", 4096)
    base = np.random.default_rng(1).random((300, 700))
    for view in (base[:, ::3], np.asfortranarray(base), base.T[::2], base[::-1, 1::2]):
        assert digest(view) == digest(np.ascontiguousarray(view))


def test_object_string_and_masked_arrays() -> None:
    objects = np.array([1, "a", None, (1, 2)], dtype=object)
    same = np.array([1, "a", None, (1, 2)], dtype=object)
    other = np.array([1, "a", None, (1, 3)], dtype=object)
    assert digest(objects) == digest(same)
    assert digest(objects) != digest(other)
    strings = np.array(["a", "bb"], dtype=np.dtypes.StringDType())
    assert digest(strings) == digest(np.array(["a", "bb"], dtype=np.dtypes.StringDType()))
    masked = np.ma.masked_array([1, 2, 3], mask=[0, 1, 0])
    assert digest(masked) != digest(np.ma.masked_array([1, 2, 3], mask=[0, 0, 0]))
    assert digest(masked) != digest(np.array([1, 2, 3]))


def test_numpy_scalars() -> None:
    assert digest(np.float64(1.5)) == digest(np.float64(1.5))
    assert digest(np.float64(1.5)) != digest(np.float32(1.5))
    assert digest(np.float64(1.5)) != digest(1.5)
    assert digest(np.datetime64("2024-01-01")) != digest(np.datetime64("2024-01-02"))


def test_fingerprinting_a_large_array_does_not_copy_it() -> None:
    contiguous = np.ones(200 * 2**20 // 8)  # 200 MiB
    fortran = np.asfortranarray(np.ones((5_000, 5_000)))  # 200 MB, not C-contiguous
    for arr in (contiguous, fortran):
        tracemalloc.start()
        try:
            fp = fingerprint(arr, budget_s=30)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert fp.kind == "content"
        assert peak < 64 * 2**20


def test_array_metadata() -> None:
    fp = fingerprint(np.zeros((1000, 3)))
    assert fp.type_name == "numpy.ndarray"
    assert fp.shape == "(1000, 3)"
    assert fp.length == 1000
    assert fp.summary == "ndarray float64 (1000, 3)"


# --- pandas and pyarrow ---------------------------------------------------------------

FRAME_SOURCE = textwrap.dedent(
    """
    import numpy as np
    import pandas as pd

    def make_frame():
        n = 2000
        rng = np.random.default_rng(7)
        return pd.DataFrame(
            {
                "i": rng.integers(0, 100, n),
                "f": rng.random(n),
                "b": rng.random(n) > 0.5,
                "t": pd.date_range("2024-01-01", periods=n, freq="min"),
                "s": [f"row {k}" for k in range(n)],
                "c": pd.Categorical(rng.choice(["x", "y", "z"], n)),
                "o": [{"k": k % 3, "tags": {"a", "b"}} for k in range(n)],
            },
            index=pd.Index([f"id{k}" for k in range(n)], name="key"),
        )

    def make_others():
        return [{"alpha", "beta", "gamma", "delta"}, {"z": {1, 2, 3}, "y": frozenset("abc")}]
    """
)


def make_frame() -> pd.DataFrame:
    namespace: dict[str, object] = {}
    exec(FRAME_SOURCE, namespace)
    return namespace["make_frame"]()  # type: ignore[operator]


def test_frame_digest_is_stable_across_processes_and_hash_seeds() -> None:
    namespace: dict[str, object] = {}
    exec(FRAME_SOURCE, namespace)
    frame = namespace["make_frame"]()  # type: ignore[operator]
    others = namespace["make_others"]()  # type: ignore[operator]
    expected = [digest(frame), *(digest(o) for o in others)]
    script = FRAME_SOURCE + textwrap.dedent(
        """
        from jupyter_lineage.capture.fingerprint import fingerprint
        for value in [make_frame(), *make_others()]:
            print(fingerprint(value).digest)
        """
    )
    src = pathlib.Path(fingerprint_module.__file__).resolve().parents[2]
    children = []
    for seed in ("1", "2"):
        env = {
            **os.environ,
            "PYTHONHASHSEED": seed,
            "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
        }
        children.append(
            subprocess.Popen(
                [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True
            )
        )
    for child in children:
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        assert out.split() == expected


def test_frame_changes_give_different_digests() -> None:
    frame = make_frame()
    base = digest(frame)
    assert digest(make_frame()) == base
    assert digest(frame.copy()) == base

    renamed = frame.rename(columns={"f": "g"})
    retyped = frame.astype({"i": "float64"})
    reindexed = frame.set_axis([f"id{k}" for k in range(1, len(frame) + 1)], axis=0)
    cell = frame.copy()
    cell.loc["id5", "s"] = "changed"
    number = frame.copy()
    number.loc["id1999", "f"] = 0.5
    category = frame.copy()
    category["c"] = category["c"].cat.rename_categories({"x": "xx"})
    reordered = frame[list(reversed(frame.columns))]
    obj = frame.copy()
    obj.at["id3", "o"] = {"k": 0, "tags": {"a"}}
    variants = [renamed, retyped, reindexed, cell, number, category, reordered, obj]
    digests = [digest(v) for v in variants]
    assert base not in digests
    assert len(set(digests)) == len(variants)


def test_frame_digest_ignores_how_string_columns_are_chunked() -> None:
    left = pd.DataFrame({"s": ["a", None, "ccc"], "n": [1, 2, 3]})
    right = pd.DataFrame({"s": ["dd", "", "f"], "n": [4, 5, 6]})
    whole = pd.DataFrame({"s": ["a", None, "ccc", "dd", "", "f"], "n": [1, 2, 3, 4, 5, 6]})
    combined = pd.concat([left, right], ignore_index=True)
    assert digest(combined) == digest(whole)
    sliced = whole.iloc[2:5].reset_index(drop=True)
    assert digest(sliced) == digest(pd.DataFrame({"s": ["ccc", "dd", ""], "n": [3, 4, 5]}))


def test_nullable_and_timezone_columns() -> None:
    a = pd.Series(pd.array([1, None, 3], dtype="Int64"))
    assert digest(a) == digest(pd.Series(pd.array([1, None, 3], dtype="Int64")))
    assert digest(a) != digest(pd.Series(pd.array([1, 2, 3], dtype="Int64")))
    utc = pd.Series(pd.date_range("2024", periods=3, tz="UTC"))
    paris = pd.Series(pd.date_range("2024", periods=3, tz="Europe/Paris"))
    assert digest(utc) != digest(paris)
    arrow = pd.Series(pd.array([1, None, 3], dtype="int64[pyarrow]"))
    assert digest(arrow) == digest(pd.Series(pd.array([1, None, 3], dtype="int64[pyarrow]")))
    assert digest(arrow) != digest(pd.Series(pd.array([1, None, 4], dtype="int64[pyarrow]")))


def test_series_index_and_multiindex() -> None:
    s = pd.Series([1.0, 2.0], index=["a", "b"], name="x")
    assert digest(s) == digest(pd.Series([1.0, 2.0], index=["a", "b"], name="x"))
    assert digest(s) != digest(s.rename("y"))
    assert digest(s) != digest(pd.Series([1.0, 2.0], index=["a", "c"], name="x"))
    assert digest(pd.RangeIndex(10)) != digest(pd.RangeIndex(11))
    mi = pd.MultiIndex.from_product([["a", "b"], [1, 2]], names=["k", "n"])
    assert digest(mi) == digest(pd.MultiIndex.from_product([["a", "b"], [1, 2]], names=["k", "n"]))
    assert digest(mi) != digest(pd.MultiIndex.from_product([["a", "b"], [1, 3]], names=["k", "n"]))


def test_frame_metadata() -> None:
    frame = pd.DataFrame(np.zeros((1000, 5)), columns=list("abcde"))
    fp = fingerprint(frame)
    assert fp.type_name == "pandas.DataFrame"
    assert fp.shape == "(1000, 5)"
    assert fp.length == 1000
    assert fp.summary == "DataFrame 1000\u00d75 [a, b, c, d, e]"


def test_arrow_tables_and_arrays() -> None:
    table = pa.table({"a": [1, 2, 3], "b": ["x", None, "z"]})
    assert digest(table) == digest(pa.table({"a": [1, 2, 3], "b": ["x", None, "z"]}))
    assert digest(table) != digest(pa.table({"a": [1, 2, 3], "b": ["x", None, "y"]}))
    chunked = pa.chunked_array([["x"], [None, "z"]])
    assert digest(chunked) == digest(pa.chunked_array([["x", None, "z"]]))
    assert fingerprint(table).shape == "(3, 2)"


# --- the other public functions -------------------------------------------------------


def test_sha256_file_matches_hashlib(tmp_path: pathlib.Path) -> None:
    data = os.urandom(3 * 2**20 + 17)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert sha256_file(path) == (hashlib.sha256(data).hexdigest(), len(data))
    assert sha256_file(str(path), chunk_size=4096)[1] == len(data)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert sha256_file(empty) == (hashlib.sha256(b"").hexdigest(), 0)


def test_is_immutable_value() -> None:
    for value in (None, True, 1, 1.5, 2j, "s", b"b", (1, ("a", None)), frozenset({1}), np.int64(3)):
        assert is_immutable_value(value), value
    for value in ([], {}, set(), bytearray(b"x"), (1, [2]), np.zeros(3), Params(0.1, set())):
        assert not is_immutable_value(value), value
    assert not is_immutable_value(tuple(range(100_000)))


def test_scalar_fingerprint_is_cheap() -> None:
    start = time.perf_counter()
    for _ in range(10_000):
        fingerprint(12345)
    assert (time.perf_counter() - start) / 10_000 < 50e-6
