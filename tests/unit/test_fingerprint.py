"""Content fingerprints: equal content gives equal digests, any change a different one,
and no value, however hostile, makes fingerprinting raise."""

from __future__ import annotations

import array
import collections
import copyreg
import datetime as dt
import decimal
import enum
import fractions
import functools
import hashlib
import os
import pathlib
import pickle
import random
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
from jupyter_lineage.capture.fingerprint import fingerprint, is_immutable_value
from jupyter_lineage.hashing import sha256_file


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


def test_plain_objects_are_hashed_by_their_attributes() -> None:
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


def test_hostile_objects_are_read_without_their_code() -> None:
    Hostile.calls.clear()
    fp = fingerprint(Hostile())
    assert fp.kind == "content"
    assert fp.summary == fp.type_name == f"{__name__}.Hostile"
    assert Hostile.calls == []
    # Pickling methods that raise are never reached: the state is read structurally.
    for value in (BadState(), RaisesUnprintable(), Proxy(), [Proxy(), Hostile()]):
        assert fingerprint(value).kind == "content", value
    assert Hostile.calls == []
    assert digest(Hostile()) == digest(Hostile())


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

    def __lineage_fingerprint__(self) -> object:
        raise SystemExit(3)


class Interrupts:
    def __lineage_fingerprint__(self) -> object:
        raise KeyboardInterrupt


def test_system_exit_is_contained_but_keyboard_interrupt_propagates() -> None:
    fp = fingerprint(Exits())
    assert fp.kind == "error"
    assert fp.note == "__lineage_fingerprint__ raised SystemExit: 3"
    with pytest.raises(KeyboardInterrupt):
        fingerprint(Interrupts())


class LoopingHook:
    def __lineage_fingerprint__(self) -> object:
        while True:  # never returns, even when interrupted: stopped by the alarm
            try:
                time.sleep(10)
            except BaseException:
                pass


class SlowHook:
    def __lineage_fingerprint__(self) -> object:
        time.sleep(0.05)
        return 1


@pytest.mark.parametrize(
    "value",
    [LoopingHook(), [SlowHook() for _ in range(40)]],
    ids=["looping", "slow"],
)
def test_hooks_stop_at_the_time_budget(value: object) -> None:
    fp = fingerprint(value, budget_s=0.2)
    assert fp.kind == "timeout"
    assert fp.digest.startswith("id:")
    assert "__lineage_fingerprint__" in (fp.note or "")


def test_hooks_are_not_run_where_they_could_not_be_stopped() -> None:
    results: list[object] = []
    worker = threading.Thread(target=lambda: results.append(fingerprint(Hooked("v1"))))
    worker.start()
    worker.join()
    (fp,) = results
    assert fp.kind == "identity"  # type: ignore[attr-defined]
    assert "run only where it can be stopped" in fp.note  # type: ignore[attr-defined]


def test_a_hook_that_timed_out_is_not_run_again() -> None:
    class Once:
        calls = 0

        def __lineage_fingerprint__(self) -> object:
            Once.calls += 1
            time.sleep(10)
            return None

    assert fingerprint(Once(), budget_s=0.1).kind == "timeout"
    fp = fingerprint(Once(), budget_s=0.1)
    assert fp.kind == "timeout" and "not run again" in (fp.note or "")
    assert Once.calls == 1


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
    chunks: list[int] = []
    assert sha256_file(str(path), progress=chunks.append) == sha256_file(path)
    assert sum(chunks) == len(data) and len(chunks) == 4  # 1 MiB at a time
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


# --- no user code: objects are read structurally ------------------------------------


class Counted:
    """Counts every call to the methods fingerprinting must never make."""

    calls: ClassVar[dict[str, int]] = {}

    def __init__(self, **attributes: object) -> None:
        for name, value in attributes.items():
            object.__setattr__(self, name, value)

    @classmethod
    def tally(cls, name: str) -> None:
        cls.calls[name] = cls.calls.get(name, 0) + 1

    @property
    def prop(self) -> int:
        Counted.tally("property")
        return 1

    def __getattr__(self, name: str) -> object:
        Counted.tally("__getattr__")
        raise AttributeError(name)

    def __getstate__(self) -> object:
        Counted.tally("__getstate__")
        return {}

    def __setstate__(self, state: object) -> None:
        Counted.tally("__setstate__")

    def __reduce__(self) -> object:
        Counted.tally("__reduce__")
        return (Counted, ())

    def __reduce_ex__(self, protocol: object) -> object:
        Counted.tally("__reduce_ex__")
        return (Counted, ())

    def __eq__(self, other: object) -> bool:
        Counted.tally("__eq__")
        return self is other

    def __hash__(self) -> int:
        Counted.tally("__hash__")
        return 1

    def __len__(self) -> int:
        Counted.tally("__len__")
        return 0

    def __iter__(self) -> object:
        Counted.tally("__iter__")
        return iter(())

    def __repr__(self) -> str:
        Counted.tally("__repr__")
        return "Counted"

    def __str__(self) -> str:
        Counted.tally("__str__")
        return "Counted"

    def __bool__(self) -> bool:
        Counted.tally("__bool__")
        return True

    def __format__(self, spec: str) -> str:
        Counted.tally("__format__")
        return "Counted"

    def __sizeof__(self) -> int:
        Counted.tally("__sizeof__")
        return 0

    def __copy__(self) -> object:
        Counted.tally("__copy__")
        return self

    def __deepcopy__(self, memo: object) -> object:
        Counted.tally("__deepcopy__")
        return self

    def __class_getitem__(cls, item: object) -> object:
        Counted.tally("__class_getitem__")
        return cls


class CountedSlots:
    __slots__ = ("__weakref__", "a", "b")

    def __getattribute__(self, name: str) -> object:
        Counted.tally("__getattribute__")
        return object.__getattribute__(self, name)


class SlotsOnly:
    __slots__ = ("a", "b")

    def __init__(self, a: object) -> None:
        self.a = a


class CountedList(list):  # type: ignore[type-arg]
    def __iter__(self) -> object:
        Counted.tally("list.__iter__")
        return super().__iter__()

    def __len__(self) -> int:
        Counted.tally("list.__len__")
        return super().__len__()


def test_fingerprints_and_summaries_run_no_method_of_the_users_class() -> None:
    inner = Counted(x=1, y=[1, 2])
    outer = Counted(child=inner, items=[inner, {"k": inner}])
    outer.loop = outer  # type: ignore[attr-defined]
    keyed = {}
    keyed[Counted(n=1)] = "value"  # hashes the key, as the user's own code does
    listed = CountedList([inner, 2])
    Counted.calls.clear()
    values: list[object] = [inner, outer, keyed, listed, [outer, keyed], (inner,), {1: outer}]
    for value in values:
        fp = fingerprint(value)
        assert fp.kind == "content", (value, fp.note)
    assert Counted.calls == {}


def test_equal_attributes_give_equal_digests_and_a_change_a_new_one() -> None:
    a, b = Counted(x=1, tags={"a", "b"}), Counted(tags={"b", "a"}, x=1)
    assert digest(a) == digest(b)
    b.x = 2  # type: ignore[attr-defined]
    assert digest(a) != digest(b)
    before = digest(a)
    a.tags.add("c")  # type: ignore[attr-defined]
    assert digest(a) != before
    # The type's qualified name is part of the content.
    assert digest(Counted(x=1)) != digest(Params(0.1, set()))
    assert digest(Counted(x=1)) != digest({"x": 1})


def test_slots_are_read_through_their_descriptors() -> None:
    one, other = SlotsOnly(1), SlotsOnly(1)
    assert digest(one) == digest(other)
    other.b = None
    assert digest(one) != digest(other)  # an unset slot differs from one set to None
    one.b = None
    assert digest(one) == digest(other)
    one.a = [1]
    assert digest(one) != digest(other)


def test_cycles_between_objects() -> None:
    def ring(n: int) -> Counted:
        first = node = Counted(i=0)
        for i in range(1, n):
            node.next = Counted(i=i)  # type: ignore[attr-defined]
            node = node.next  # type: ignore[attr-defined]
        node.next = first  # type: ignore[attr-defined]
        return first

    assert digest(ring(3)) == digest(ring(3))
    assert digest(ring(3)) != digest(ring(4))


def test_a_class_defining_getattribute_gets_an_identity_fingerprint() -> None:
    value = CountedSlots()
    Counted.calls.clear()
    fp = fingerprint(value)
    assert fp.kind == "identity"
    assert fp.note == (
        f"{__name__}.CountedSlots defines __getattribute__, so what its attributes hold is its "
        "own code's answer (define __lineage_fingerprint__)"
    )
    assert Counted.calls == {}


class MyArray(array.array):  # type: ignore[type-arg]
    def describe(self) -> str:
        return "mine"


class EqualMeta(type):
    def __eq__(cls, other: object) -> bool:
        Counted.tally("meta.__eq__")
        return True

    def __hash__(cls) -> int:
        Counted.tally("meta.__hash__")
        return 1


class WithEqualMeta(metaclass=EqualMeta):
    pass


def test_state_hidden_in_c_gets_an_identity_fingerprint_naming_the_way_out() -> None:
    fp = fingerprint(MyArray("i", [1, 2]))
    assert fp.kind == "identity"
    assert fp.note == (
        f"{__name__}.MyArray has no readable state without running its own code: "
        "array.array keeps it in C (define __lineage_fingerprint__)"
    )
    Counted.calls.clear()
    fp = fingerprint(WithEqualMeta())
    assert fp.kind == "identity" and "metaclass" in (fp.note or "")
    assert not is_immutable_value(WithEqualMeta())
    assert Counted.calls == {}


class PrintsWhenPickled:
    def __init__(self) -> None:
        self.payload = [1, 2, 3]

    def __reduce__(self) -> object:
        print("pickled!")
        return (PrintsWhenPickled, ())


class BuggyGetstate:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.data = [1, 2]

    def __getstate__(self) -> object:
        state = self.__dict__
        state.pop("lock")  # the latent bug: it empties the live object
        return state


def test_pickling_methods_are_never_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert fingerprint(PrintsWhenPickled()).kind == "content"
    assert capsys.readouterr().out == ""
    buggy = BuggyGetstate()
    fp = fingerprint(buggy)
    assert "lock" in buggy.__dict__
    # A lock has no content: the whole object is identified, and the note says why.
    assert fp.kind == "identity" and "lock" in (fp.note or "")


def test_trusted_c_types_are_pickled_with_their_contents_walked() -> None:
    Counted.calls.clear()
    bound = functools.partial(max, Counted(x=1))
    assert digest(bound) == digest(functools.partial(max, Counted(x=1)))
    assert digest(bound) != digest(functools.partial(max, Counted(x=2)))
    assert digest(collections.deque([Counted(x=1)])) != digest(collections.deque([Counted(x=2)]))
    assert digest(random.Random(1)) == digest(random.Random(1))
    assert digest(random.Random(1)) != digest(random.Random(2))
    # numpy's generators pickle through Cython functions, hashed by name.
    rng = np.random.default_rng(0)
    before = digest(rng)
    assert digest(np.random.default_rng(0)) == before
    rng.random(3)
    assert digest(rng) != before
    assert Counted.calls == {}


def test_reducers_registered_by_user_code_are_not_run() -> None:
    def reducer(value: object) -> object:
        Counted.tally("copyreg reducer")
        return (functools.partial, (max,))

    copyreg.pickle(functools.partial, reducer)
    try:
        pickle.dumps(functools.partial(min, 1))
        assert Counted.calls.pop("copyreg reducer") == 1  # what pickling would run
        assert fingerprint(functools.partial(min, 1)).kind == "content"
        assert "copyreg reducer" not in Counted.calls
    finally:
        del copyreg.dispatch_table[functools.partial]


def test_builtin_subclasses_keep_their_extra_state() -> None:
    assert digest(collections.defaultdict(list)) != digest(collections.defaultdict(int))
    assert digest(collections.OrderedDict(a=1)) == digest(collections.OrderedDict(a=1))
    tagged = CountedList([1])
    tagged.note = "x"  # type: ignore[attr-defined]
    assert digest(tagged) != digest(CountedList([1]))


class Problem(ValueError):
    pass


def test_exceptions_by_type_arguments_and_fields() -> None:
    assert digest(Problem("bad", 1)) == digest(Problem("bad", 1))
    assert digest(Problem("bad", 1)) != digest(Problem("bad", 2))
    assert digest(Problem("bad")) != digest(ValueError("bad"))
    missing = FileNotFoundError(2, "No such file", "a.csv")
    assert digest(missing) != digest(FileNotFoundError(2, "No such file", "b.csv"))


class UserZone(dt.tzinfo):
    def utcoffset(self, when: object) -> dt.timedelta:
        Counted.tally("utcoffset")
        return dt.timedelta(hours=1)

    def __repr__(self) -> str:
        Counted.tally("tz.__repr__")
        return "UserZone()"


def test_summaries_call_no_user_code() -> None:
    Counted.calls.clear()
    when = dt.datetime(2024, 1, 1, tzinfo=UserZone())
    fp = fingerprint(when)
    assert fp.kind == "content"
    assert fp.summary == f"datetime.datetime(2024, 1, 1, 0, 0) tzinfo={__name__}.UserZone"
    assert Counted.calls == {}


class ShapeShifter(np.ndarray):  # type: ignore[type-arg]
    finalized = 0

    @property
    def shape(self) -> object:  # type: ignore[override]
        Counted.tally("ndarray.shape")
        raise RuntimeError("shape")

    def __array_finalize__(self, obj: object) -> None:
        ShapeShifter.finalized += 1


def test_array_subclasses_are_read_through_ndarray_itself() -> None:
    arr = np.arange(6.0).view(ShapeShifter)
    arr.info = "meta"  # type: ignore[attr-defined]
    Counted.calls.clear()
    finalized = ShapeShifter.finalized
    fp = fingerprint(arr)
    assert fp.kind == "content" and fp.shape == "(6,)"
    assert Counted.calls == {} and ShapeShifter.finalized == finalized
    other = np.arange(6.0).view(ShapeShifter)
    other.info = "other"  # type: ignore[attr-defined]
    assert fingerprint(other).digest != fp.digest
    assert fingerprint(other).digest != digest(np.arange(6.0))


def test_a_class_made_by_exec_is_not_taken_for_a_builtin() -> None:
    # Without __name__ in its globals, a class says its module is "builtins".
    namespace: dict[str, object] = {"np": np, "tally": Counted.tally}
    exec(
        "class Sneaky(np.ndarray):\n"
        "    @property\n"
        "    def dtype(self):\n"
        "        tally('Sneaky.dtype')\n"
        "        return np.dtype('f8')\n",
        namespace,
    )
    sneaky = np.arange(3).view(namespace["Sneaky"])  # type: ignore[call-overload]
    assert type(sneaky).__module__ == "builtins"
    Counted.calls.clear()
    assert digest(sneaky) != digest(np.arange(3))
    assert fingerprint(sneaky).summary == "ndarray int64 (3,)"
    assert Counted.calls == {}


class Frame(pd.DataFrame):
    _metadata: ClassVar[list[str]] = ["source"]

    @property
    def _constructor(self) -> type:
        Counted.tally("_constructor")
        return Frame


@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_frame_subclasses_are_read_without_their_overrides() -> None:
    frame = Frame({"a": [1.0, 2.0, None]})
    frame.source = "lab"
    Counted.calls.clear()
    before = digest(frame)
    assert Counted.calls == {}
    assert before != digest(pd.DataFrame({"a": [1.0, 2.0, None]}))
    frame.dropna(inplace=True)
    Counted.calls.clear()
    assert digest(frame) != before
    frame.source = "field"
    changed = digest(frame)
    assert Counted.calls == {}
    assert changed != digest(Frame({"a": [1.0, 2.0]}))


# --- matplotlib ---------------------------------------------------------------------


def _grid_figure(title: str = "t", bump: float = 0.0) -> object:
    from matplotlib.figure import Figure

    fig = Figure()
    axes = fig.subplots(2, 2)
    for k, ax in enumerate(axes.flat):
        ax.plot(np.arange(10), np.arange(10) * k + bump, label=f"line {k}")
        ax.set_title(title)
    axes[0, 0].scatter([1, 2, 3], [3, 2, 1], c=[0.1, 0.5, 0.9])
    axes[0, 1].bar(["a", "b"], [3, 4])
    axes[1, 0].imshow(np.eye(3))
    axes[1, 1].annotate("peak", xy=(3, 3))
    axes[1, 1].legend()
    return fig


def test_figures_fingerprint_by_what_they_draw() -> None:
    pytest.importorskip("matplotlib")
    fig = _grid_figure()
    fp = fingerprint(fig)
    assert fp.kind == "content", fp.note
    assert fp.summary == "matplotlib.figure.Figure with 4 Axes"
    assert digest(_grid_figure()) == fp.digest
    assert digest(_grid_figure(title="other")) != fp.digest
    assert digest(_grid_figure(bump=1e-9)) != fp.digest
    # Drawing computes limits, ticks and colours, but changes nothing the picture is made of.
    fig.canvas.draw()  # type: ignore[attr-defined]
    assert digest(fig) == fp.digest
    fig.axes[0].set_xlim(0, 5)  # type: ignore[attr-defined]
    assert digest(fig) != fp.digest
    line = fig.axes[1].lines[0]  # type: ignore[attr-defined]
    before = digest(fig)
    line.set_color("red")
    assert digest(fig) != before
    assert digest(line) != digest(_grid_figure().axes[1].lines[0])  # type: ignore[attr-defined]


def test_3d_figures_fingerprint_by_their_3d_data() -> None:
    pytest.importorskip("mpl_toolkits.mplot3d")
    from matplotlib.figure import Figure

    def build(top: float = 1.0) -> object:
        fig = Figure()
        ax = fig.add_subplot(projection="3d")
        ax.plot([0, 1], [0, 1], [0, top])
        ax.scatter([0, 1], [1, 0], [0, 1], c=[1, 2])
        grid_x, grid_y = np.meshgrid([0, 1, 2], [0, 1])
        ax.plot_surface(grid_x, grid_y, grid_x * grid_y)
        return fig

    fig = build()
    fp = fingerprint(fig)
    assert fp.kind == "content", fp.note
    # Drawing projects the 3D data to 2D and sorts by depth; the fingerprint stays.
    fig.canvas.draw()  # type: ignore[attr-defined]
    assert digest(fig) == fp.digest == digest(build())
    assert digest(build(top=2.0)) != fp.digest
    fig.axes[0].view_init(elev=10)  # type: ignore[attr-defined]
    assert digest(fig) != fp.digest


def test_figure_artists_overriding_matplotlib_are_not_called() -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    class MyLine(Line2D):
        def get_xdata(self, orig: bool = True) -> object:
            Counted.tally("get_xdata")
            return []

    fig = Figure()
    ax = fig.subplots()
    ax.add_line(MyLine([0, 1], [0, 1]))
    Counted.calls.clear()
    fp = fingerprint(fig)
    assert fp.kind == "identity"
    assert "overrides matplotlib's get_xdata" in (fp.note or "")
    assert Counted.calls == {}


# --- scikit-learn -------------------------------------------------------------------


def test_estimators_fingerprint_by_parameters_and_fit() -> None:
    sklearn_ensemble = pytest.importorskip("sklearn.ensemble")
    rng = np.random.default_rng(0)
    features = rng.random((200, 4))
    labels = (features[:, 0] > 0.5).astype(int)

    def forest() -> object:
        return sklearn_ensemble.RandomForestClassifier(n_estimators=10, random_state=0)

    unfitted = fingerprint(forest())
    assert (
        unfitted.kind == "content"
        and unfitted.summary == "sklearn.ensemble._forest.RandomForestClassifier"
    )
    assert digest(sklearn_ensemble.RandomForestClassifier(n_estimators=11)) != unfitted.digest
    model = forest()
    model.fit(features, labels)  # type: ignore[attr-defined]
    fitted = fingerprint(model)
    assert fitted.kind == "content" and fitted.summary.endswith("(fitted)")
    assert fitted.digest != unfitted.digest
    assert digest(forest().fit(features, labels)) == fitted.digest  # type: ignore[attr-defined]
    assert digest(forest().fit(features, 1 - labels)) != fitted.digest  # type: ignore[attr-defined]


def test_user_estimators_are_read_without_their_methods() -> None:
    base = pytest.importorskip("sklearn.base")

    class Thresholder(base.BaseEstimator):  # type: ignore[misc]
        def __init__(self, cut: float = 0.5) -> None:
            self.cut = cut

        def get_params(self, deep: bool = True) -> dict[str, object]:
            Counted.tally("get_params")
            return {"cut": self.cut}

        def fit(self, features: object) -> Thresholder:
            self.mean_ = float(np.mean(features))  # type: ignore[call-overload]
            return self

    model = Thresholder()
    Counted.calls.clear()
    before = digest(model)
    model.fit([1.0, 2.0])
    assert digest(model) != before
    assert Counted.calls == {}


# --- torch ----------------------------------------------------------------------------


def test_torch_modules_by_parameters_buffers_and_mode() -> None:
    torch = pytest.importorskip("torch")

    def net() -> object:
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))

    model = net()
    base = digest(model)
    assert digest(net()) == base
    model.eval()  # type: ignore[attr-defined]
    assert digest(model) != base
    model.train()  # type: ignore[attr-defined]
    assert digest(model) == base
    with torch.no_grad():
        model[0].weight[0, 0] += 1  # type: ignore[index]
    assert digest(model) != base
    assert digest(torch.ones(3, dtype=torch.bfloat16)) != digest(
        torch.zeros(3, dtype=torch.bfloat16)
    )
