"""Values that resist capture must not change what the cell does."""

from __future__ import annotations

from pathlib import Path

from .conftest import execute_notebook
from .test_capture import _strip_outputs

SETUP = (
    "import socket, numpy as np\n"
    "class Nasty:\n"
    "    def __repr__(self):\n"
    "        raise RuntimeError('repr exploded')\n"
    "    def __reduce__(self):\n"
    "        raise RuntimeError('reduce exploded')\n"
    "    def __eq__(self, other):\n"
    "        raise RuntimeError('eq exploded')\n"
    "    __hash__ = None\n"
    "class Proxy:\n"
    "    def __getattr__(self, name):\n"
    "        return lambda *a, **k: self\n"
)

HOSTILE = [
    "nasty = Nasty()\ntype(nasty).__name__",
    "big = np.ones(1 << 27)\nbig.nbytes",  # 1 GiB of float64
    "gen = (i * i for i in range(10))\nnext(gen)",
    "fn = lambda v: v + 1\nfn(1)",
    "circ = [1, 2]\ncirc.append(circ)\nlen(circ)",
    "sock = socket.socket()\nsock.family.name",
    "proxy = Proxy()\ntype(proxy).__name__",
    "try:\n    repr(nasty)\nexcept RuntimeError as e:\n    print('caught', e)",
    "total = float(big[:10].sum()) + next(gen) + fn(2) + len(circ)\ntotal",
    "sock.close()\ndel big",
]


def test_hostile_values_leave_cells_unchanged(tmp_path: Path) -> None:
    plain = execute_notebook(["pass", SETUP, *HOSTILE], tmp_path / "plain")
    captured = execute_notebook(
        ["%load_ext jupyter_lineage", "%%lineage\n" + SETUP, *("%%lineage\n" + c for c in HOSTILE)],
        tmp_path / "captured",
    )
    assert _strip_outputs(captured.nb)[1:] == _strip_outputs(plain.nb)[1:]
    assert (
        captured.text(10) == plain.text(10) == "17.0"
    )  # the generator was not consumed by capture

    runs = captured.sql("SELECT status, capture_errors FROM runs ORDER BY started_at")
    assert list(runs["status"]) == ["ok"] * (len(HOSTILE) + 1)

    outs = captured.sql(
        "SELECT name, fingerprint, fingerprint_kind, type_name, shape, summary, note FROM cell_outputs "
        "WHERE action = 'assigned'"
    )
    by_name = {r["name"]: r for r in outs.to_dict("records")}
    # what could not be hashed by content is said, not hidden
    assert by_name["gen"]["fingerprint_kind"] == "identity"
    assert by_name["sock"]["fingerprint_kind"] == "identity"
    # what can be hashed by content is: Nasty's state is read without its __reduce__
    assert by_name["nasty"]["fingerprint_kind"] == "content"
    assert not isinstance(by_name["nasty"]["note"], str)  # no note: NULL
    assert by_name["nasty"]["summary"]  # a safe summary without calling __repr__
    assert by_name["big"]["fingerprint_kind"] == "content"
    assert by_name["big"]["shape"] == "(134217728,)"
    assert by_name["fn"]["fingerprint_kind"] == "content"
    assert by_name["circ"]["fingerprint_kind"] == "content"
    assert by_name["proxy"]["fingerprint_kind"] == "content"
    # the record of the cell says what was not captured
    errors = captured.sql("SELECT unnest(capture_errors) AS e FROM runs")["e"]
    text = " ".join(errors)
    assert "gen" in text and "sock" in text and "nasty" not in text
