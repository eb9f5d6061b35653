"""Values that fight back: every cell gives the output it gives without the extension, and
capture takes a bounded time and memory for each value."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Kernel

SETUP = """
import resource, socket, time
import numpy as np

class ReprRaises:
    def __repr__(self):
        raise RuntimeError("repr exploded")

class ReprHangs:
    def __repr__(self):
        time.sleep(10**6)

class EqHashRaise:
    def __eq__(self, other):
        raise RuntimeError("eq exploded")
    def __hash__(self):
        raise RuntimeError("hash exploded")

class EqHashHang:
    def __eq__(self, other):
        time.sleep(10**6)
    def __hash__(self):
        time.sleep(10**6)

class ReduceRaises:
    def __reduce__(self):
        raise RuntimeError("reduce exploded")

class ReduceHangs:
    def __reduce__(self):
        time.sleep(10**6)

class ReduceGarbage:
    def __reduce__(self):
        return 42

class GetstateHangs:
    def __getstate__(self):
        while True:
            pass

class GetstateGarbage:
    def __getstate__(self):
        return (lambda: None, socket.socket)

class SwallowsInterrupts:
    def __reduce__(self):
        while True:
            try:
                time.sleep(10**6)
            except BaseException:
                pass

class Proxy:
    def __getattr__(self, name):
        return lambda *args, **kwargs: self

class ClassPropertyHangs:
    @property
    def __class__(self):
        time.sleep(10**6)

class HookHangs:
    def __lineage_fingerprint__(self):
        time.sleep(10**6)

class HookSwallows:
    def __lineage_fingerprint__(self):
        while True:
            try:
                time.sleep(10**6)
            except BaseException:
                pass

def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

# (cell in the plain run, the same cell captured). Values are bound in one cell and read in
# the next, so each is fingerprinted as an output and again as an input.
CELLS: list[tuple[str, str]] = [
    ("pass", "%load_ext jupyter_lineage"),
    ("pass", "%lineage_config value_budget=0.5"),
    (SETUP, SETUP),
    *[
        (
            f"{name} = {cls}()\ntype({name}).__name__",
            f"%%lineage\n{name} = {cls}()\ntype({name}).__name__",
        )
        for name, cls in [
            ("repr_raises", "ReprRaises"),
            ("repr_hangs", "ReprHangs"),
            ("eq_hash_raise", "EqHashRaise"),
            ("eq_hash_hang", "EqHashHang"),
            ("reduce_raises", "ReduceRaises"),
            ("reduce_hangs", "ReduceHangs"),
            ("reduce_garbage", "ReduceGarbage"),
            ("getstate_hangs", "GetstateHangs"),
            ("getstate_garbage", "GetstateGarbage"),
            ("swallows", "SwallowsInterrupts"),
            ("proxy", "Proxy"),
            ("class_property", "ClassPropertyHangs"),
            ("hook_hangs", "HookHangs"),
            ("hook_swallows", "HookSwallows"),
        ]
    ],
    (
        "gen = (i * i for i in range(10))\nnext(gen)",
        "%%lineage\ngen = (i * i for i in range(10))\nnext(gen)",
    ),
    ("fn = lambda v: v + 1\nfn(1)", "%%lineage\nfn = lambda v: v + 1\nfn(1)"),
    (
        "circ = [1, 2]\ncirc.append(circ)\nlen(circ)",
        "%%lineage\ncirc = [1, 2]\ncirc.append(circ)\nlen(circ)",
    ),
    (
        "sock = socket.socket()\nsock.family.name",
        "%%lineage\nsock = socket.socket()\nsock.family.name",
    ),
    (
        "fh = open('scratch.txt', 'w+')\nfh.write('x')",
        "%%lineage\nfh = open('scratch.txt', 'w+')\nfh.write('x')",
    ),
    (
        "huge = {i: i for i in range(10_000_000)}\nlen(huge)",
        "%%lineage\nhuge = {i: i for i in range(10_000_000)}\nlen(huge)",
    ),
    (
        "reads = [repr_raises, repr_hangs, eq_hash_raise, eq_hash_hang, reduce_raises, reduce_hangs,"
        " reduce_garbage, getstate_hangs, getstate_garbage, swallows, proxy, class_property,"
        " hook_hangs, hook_swallows, gen, fn, circ, sock, fh, huge]\nlen(reads)",
        "%%lineage\nreads = [repr_raises, repr_hangs, eq_hash_raise, eq_hash_hang, reduce_raises,"
        " reduce_hangs, reduce_garbage, getstate_hangs, getstate_garbage, swallows, proxy,"
        " class_property, hook_hangs, hook_swallows, gen, fn, circ, sock, fh, huge]\nlen(reads)",
    ),
    (
        "total = next(gen) + fn(2) + len(circ) + len(huge)\ntotal",
        "%%lineage\ntotal = next(gen) + fn(2) + len(circ) + len(huge)\ntotal",
    ),
    (
        "del huge, reads\nsock.close(); fh.close()",
        "%%lineage\ndel huge, reads\nsock.close(); fh.close()",
    ),
    # 1 GiB, hashed in place: the peak memory of the capturing kernel grows by less than 64 MB.
    ("pass", "%lineage_config value_budget=20"),
    ("big = np.ones(1 << 27)\nbefore = rss_mb()", "big = np.ones(1 << 27)\nbefore = rss_mb()"),
    (
        "view = big.reshape(1 << 13, 1 << 14).T\nfloat(big[:3].sum()) + view.shape[0]",
        "%%lineage\nview = big.reshape(1 << 13, 1 << 14).T\nfloat(big[:3].sum()) + view.shape[0]",
    ),
    ("rss_mb() - before < 64", "rss_mb() - before < 64"),
]


def _outputs(k: Kernel, cells: list[str]) -> list[list[tuple[str, str]]]:
    out = []
    for cell in cells:
        res = k.run(cell, timeout=300)
        items = []
        for o in res.outputs:
            if o["type"] == "stream":
                items.append((o["name"], o["text"]))
            elif o["type"] in ("execute_result", "display_data"):
                items.append((o["type"], o["data"].get("text/plain", "")))
            else:
                items.append(("error", f"{o['ename']}: {o['evalue']}"))
        out.append(items)
    return out


@pytest.mark.heavy
def test_hostile_values_change_nothing_and_are_bounded(kernel_factory, tmp_path: Path) -> None:
    plain_dir, captured_dir = tmp_path / "plain", tmp_path / "captured"
    plain_dir.mkdir()
    captured_dir.mkdir()
    store = captured_dir / ".lineage"
    plain = _outputs(kernel_factory(plain_dir), [p for p, _ in CELLS])
    captured_kernel = kernel_factory(captured_dir, {"JUPYTER_LINEAGE_DIR": str(store)})
    captured = _outputs(captured_kernel, [c for _, c in CELLS])

    # Drop the settings cells' own output; every other cell matches the plain run exactly.
    for i, (p, c) in enumerate(CELLS):
        if p == "pass":
            continue
        assert captured[i] == plain[i], (c, captured[i], plain[i])
    assert captured[-1] == [("execute_result", "True")], "fingerprinting 1 GiB used 64 MB or more"

    from jupyter_lineage.store import DuckDBStore

    db = DuckDBStore(store)
    runs = db.query("SELECT status FROM runs")
    assert set(runs["status"]) == {"ok"}
    values = db.query(
        "SELECT name, fingerprint_kind AS kind, note FROM cell_outputs WHERE action = 'assigned'",
        ingest=False,
    )
    kinds = dict(zip(values["name"], values["kind"], strict=True))
    notes = dict(zip(values["name"], values["note"], strict=True))
    # A hook is the only code of the user's that fingerprinting runs; it is stopped at the budget.
    for name in ("hook_hangs", "hook_swallows", "huge"):
        assert kinds[name] == "timeout", (name, notes[name])
    for name in ("gen", "sock", "fh"):
        assert kinds[name] == "identity", (name, notes[name])
    # Everything else is read structurally: its pickling, repr, eq and hash never run.
    for name in (
        "repr_raises",
        "repr_hangs",
        "eq_hash_raise",
        "eq_hash_hang",
        "reduce_raises",
        "reduce_hangs",
        "reduce_garbage",
        "getstate_hangs",
        "getstate_garbage",
        "swallows",
        "proxy",
        "class_property",
        "fn",
        "circ",
    ):
        assert kinds[name] == "content", (name, notes[name])
    assert kinds["view"] == "content"
