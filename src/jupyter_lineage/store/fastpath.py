"""The fast path of the parse step: runs of cells' starts and ends, and metrics, read by Arrow.

Most lines are cells' starts and ends, and metrics, as the recorder writes them.
Arrow's JSON reader makes columns of a run of those in C++, several times faster
than decoding each into Python objects and converting those. It is as strict as
the Python path and checks every value against the column's type (lone surrogates,
which the Python path escapes, it refuses); lines with bytes beyond ASCII never
reach it, and when anything in a run fails a check below, the whole run goes the
Python way. The DuckDB store hands :func:`read_fast` to each ``Batch`` it parses.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from .ingest import CELL_END_LISTS, TABLES, FastRows, concat

if TYPE_CHECKING:
    import pyarrow as pa

_FAST_TYPES = {b"cell_start": "cell_start", b"cell_end": "cell_end", b"metric": "metric"}


def _fast_type(raw: bytes) -> str | None:
    """The type of a line as the recorder writes it, when the fast path reads that type."""
    start = raw.find(b',"type":"') + 9
    return _FAST_TYPES.get(raw[start : raw.find(b'"', start)]) if start > 8 else None


def read_fast(
    lines: list[tuple[int, bytes, str]], journal: str, known: set[str]
) -> FastRows | None:
    """Rows of the lines the fast path reads, or None when it cannot read all of them
    exactly as the Python path would (which then reads them all)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj

    runs: dict[str, list[int]] = {}
    for i, (_, raw, _) in enumerate(lines):
        type_ = _fast_type(raw)
        if type_ is not None:
            runs.setdefault(type_, []).append(i)
    if not runs:
        return None
    parts: dict[str, list[pa.Table]] = {}
    event_ids: list[str] = []
    last, last_seq = -1, None
    for type_, indexes in list(runs.items()):
        data = b"\n".join([lines[i][1] for i in indexes])
        if not data.isascii():
            # Bytes beyond ASCII (the recorder writes none): the Python path says what they are.
            runs[type_] = indexes = [i for i in indexes if lines[i][1].isascii()]
            if not indexes:
                continue
            data = b"\n".join([lines[i][1] for i in indexes])
        try:
            read = pj.read_json(
                pa.BufferReader(data),
                parse_options=pj.ParseOptions(
                    explicit_schema=_fast_schemas()[type_], unexpected_field_behavior="ignore"
                ),
            )
            if read.num_rows != len(indexes) or read["id"].null_count:
                return None
            if read["type"].unique().to_pylist() != [type_]:
                return None
            redactions = read["redactions"]
            unset = pc.fill_null(pc.equal(pc.list_value_length(redactions), 0), True)
            read = read.set_column(
                read.schema.get_field_index("redactions"),
                "redactions",
                pc.if_else(unset, pa.scalar(None, redactions.type), redactions),
            )
            rows = _FAST_ROWS[type_](read)
        except pa.ArrowException:
            return None
        if rows is None:
            return None
        n = len(indexes)
        rows["events"] = pa.table(
            {
                "event_id": read["id"],
                "journal": pa.array([journal] * n, pa.string()),
                "byte_offset": pa.array([lines[i][0] for i in indexes], pa.int64()),
                "seq": read["seq"],
                "ts": read["ts"],
                "type": read["type"],
                "session_id": read["session"],
                "line_hash": pa.array([lines[i][2] for i in indexes], pa.string()),
                "redactions": read["redactions"],
            }
        )
        for table, table_rows in rows.items():
            parts.setdefault(table, []).append(table_rows)
        event_ids += read["id"].to_pylist()
        if indexes[-1] > last:
            last, last_seq = indexes[-1], read["seq"][n - 1].as_py()
    unique = set(event_ids)
    if not parts or len(unique) != len(event_ids) or unique & known:
        return None  # an event twice: the Python path keeps its first line
    return FastRows(
        {table: concat(tables) for table, tables in parts.items()},
        unique,
        {i for indexes in runs.values() for i in indexes},
        last,
        lines[last][2],
        last_seq,
    )


@functools.cache
def _fast_schemas() -> dict[str, pa.Schema]:
    """The shape the fast path reads each type of line as."""
    import pyarrow as pa

    text = pa.string()

    def fields(table: str, *more: tuple[str, pa.DataType]) -> list[tuple[str, pa.DataType]]:
        copied = TABLES[table][0]
        return [(c, pa.type_for_alias(alias or "int64")) for c, alias in copied.items()] + [*more]

    data = {
        "cell_start": fields("executions", ("execution_id", text), ("tags", pa.list_(text))),
        "cell_end": fields(
            "execution_results",
            ("execution_id", text),
            ("seeds", pa.list_(pa.null())),
            ("capture_errors", pa.list_(text)),
            ("values", pa.list_(pa.struct(fields("value_records")))),
            ("files", pa.list_(pa.struct(fields("file_records")))),
            ("commands", pa.list_(pa.struct(fields("command_records")))),
        ),
        "metric": fields(
            "metric_records", ("name", text), ("value", pa.float64()), ("logged_at", text)
        ),
    }
    return {
        type_: pa.schema(
            [
                ("id", text),
                ("seq", pa.int64()),
                ("ts", text),
                ("type", text),
                ("session", text),
                ("redactions", pa.list_(text)),
                ("data", pa.struct(shape)),
            ]
        )
        for type_, shape in data.items()
    }


def _data(read: pa.Table) -> dict[str, pa.Array]:
    """The fields of the events' data, each a column (null where the data is)."""
    data = read["data"].combine_chunks()
    return dict(zip([f.name for f in data.type], data.flatten(), strict=True))


def _fast_cell_starts(read: pa.Table) -> dict[str, pa.Table] | None:
    import pyarrow as pa
    import pyarrow.compute as pc

    fields = _data(read)
    if fields["execution_id"].null_count:
        return None
    columns = {name: fields[name] for name in TABLES["executions"][0]}
    tags = fields["tags"]
    columns |= {
        "execution_id": fields["execution_id"],
        "event_id": read["id"],
        "session_id": read["session"],
        "tags": pc.fill_null(tags, pa.scalar([], tags.type)),
        "redactions": read["redactions"],
    }
    return {"executions": pa.table(columns)}


def _fast_cell_ends(read: pa.Table) -> dict[str, pa.Table] | None:
    import pyarrow as pa
    import pyarrow.compute as pc

    fields = _data(read)
    seeds = pc.max(pc.list_value_length(fields["seeds"])).as_py()
    if fields["execution_id"].null_count or seeds:
        return None  # seeds are kept as the JSON the Python path writes of them
    errors = fields["capture_errors"]
    columns = {name: fields[name] for name in TABLES["execution_results"][0]}
    columns |= {
        "execution_id": fields["execution_id"],
        "event_id": read["id"],
        "seeds": pa.array(["[]"] * read.num_rows, pa.string()),
        "capture_errors": pc.fill_null(errors, pa.scalar([], errors.type)),
        "redactions": read["redactions"],
    }
    tables = {"execution_results": pa.table(columns)}
    for table, key in CELL_END_LISTS:
        items = fields[key]
        flat = pc.list_flatten(items)
        if flat.null_count:
            return None  # an entry that is not an object
        parents = pc.list_parent_indices(items)
        starts = pc.take(items.offsets, parents)
        first = items.offsets[0].as_py()
        position = pa.array(range(first, first + len(flat)), pa.int64())
        entries = dict(zip([f.name for f in flat.type], flat.flatten(), strict=True))
        tables[table] = pa.table(
            {
                **{name: entries[name] for name in TABLES[table][0]},
                "execution_id": pc.take(fields["execution_id"], parents),
                "event_id": pc.take(read["id"], parents),
                "ordinal": pc.subtract(position, pc.cast(starts, pa.int64())),
            }
        )
    return tables


def _fast_metrics(read: pa.Table) -> dict[str, pa.Table] | None:
    import pyarrow as pa
    import pyarrow.compute as pc

    fields = _data(read)
    if fields["name"].null_count or fields["value"].null_count:
        return None
    logged_at = fields["logged_at"]
    unset = pc.fill_null(pc.equal(logged_at, ""), True)  # `or`: an empty string is unset too
    columns = {name: fields[name] for name in TABLES["metric_records"][0]}
    columns |= {
        "event_id": read["id"],
        "session_id": read["session"],
        "name": fields["name"],
        "value": fields["value"],
        "logged_at": pc.if_else(unset, read["ts"], logged_at),
    }
    return {"metric_records": pa.table(columns)}


_FAST_ROWS: dict[str, Callable[[pa.Table], dict[str, pa.Table] | None]] = {
    "cell_start": _fast_cell_starts,
    "cell_end": _fast_cell_ends,
    "metric": _fast_metrics,
}
