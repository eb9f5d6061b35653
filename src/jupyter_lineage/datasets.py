"""Datasets logged as the inputs (or outputs) of a run, with a digest of their full content.

``log_dataset(df, "customers", context="training")`` fingerprints every byte of the
value (:func:`jupyter_lineage.capture.fingerprint.fingerprint`: the column buffers of a
frame, the raw buffer of an array) and appends one ``dataset`` event to the session's
journal, linked to the running (or last captured) execution and the open experiment.
The store shows them in the ``datasets`` view. Nothing here imports pandas, numpy or
pyarrow: their types are recognised only when the caller already imported them.
"""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

from .errors import UsageError
from .events import Dataset
from .journal import utc_now

CONTEXTS = ("training", "validation", "test", "evaluation", "inference", "other")
# Beyond this many columns the schema lists the first ones and says how many there are.
MAX_SCHEMA_COLUMNS = 1000
_MAX_LABEL = 200


@dataclass(frozen=True, slots=True)
class LoggedDataset:
    """What ``log_dataset`` recorded."""

    dataset_id: str
    name: str
    context: str
    digest: str
    digest_kind: str
    type_name: str
    shape: str | None
    row_count: int | None
    execution_id: str | None
    note: str | None = None


def log_dataset(
    data: Any,
    name: str,
    context: str = "training",
    *,
    source: str | None = None,
    budget_s: float = 60.0,
) -> LoggedDataset:
    """Record ``data`` as a dataset of the running (or last captured) execution.

    Args:
        data: a DataFrame, Series, numpy array, pyarrow table or any value
            :func:`~jupyter_lineage.capture.fingerprint.fingerprint` takes.
        name: what to call it (``"customers"``).
        context: what it was used for: one of ``training``, ``validation``, ``test``,
            ``evaluation``, ``inference``, ``other``.
        source: where it came from (a path or URI), as free text.
        budget_s: the time allowed to hash it; past it the digest is an identity
            one and ``digest_kind`` says ``timeout``.

    Returns:
        The record, whose ``digest`` covers the whole content (``xxh3:...``).
    """
    from .capture.fingerprint import fingerprint
    from .session import current_session

    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"dataset name must be a non-empty string, not {name!r}")
    if context not in CONTEXTS:
        raise UsageError(f"unknown dataset context {context!r}; use one of: {', '.join(CONTEXTS)}")
    if source is not None and not isinstance(source, str):
        raise UsageError(f"source must be a string (a path or URI), not {type(source).__name__}")
    session = current_session()
    started = time.perf_counter()
    fp = fingerprint(data, budget_s=budget_s)
    hashed_ms = (time.perf_counter() - started) * 1000.0
    dataset = LoggedDataset(
        dataset_id=uuid.uuid4().hex,
        name=name.strip(),
        context=context,
        digest=fp.digest,
        digest_kind=fp.kind,
        type_name=fp.type_name,
        shape=fp.shape,
        row_count=fp.length,
        execution_id=session.current_execution_id,
        note=fp.note,
    )
    columns, schema = _schema(data)
    session.emit(
        Dataset(
            dataset_id=dataset.dataset_id,
            name=dataset.name,
            context=context,
            digest=dataset.digest,
            digest_kind=dataset.digest_kind,
            type_name=dataset.type_name,
            shape=dataset.shape,
            row_count=dataset.row_count,
            column_count=columns,
            schema=schema,
            source=source,
            note=dataset.note,
            hashed_ms=round(hashed_ms, 3),
            execution_id=dataset.execution_id,
            experiment_id=session.experiment.experiment_id if session.experiment else None,
            logged_at=utc_now(),
        )
    )
    return dataset


def _schema(data: Any) -> tuple[int | None, list[dict[str, str]] | None]:
    """(column count, [{"name", "type"}...]) of a frame or table; (None, None) for other values."""
    tp = type(data)
    module = getattr(tp, "__module__", "") or ""
    try:
        pd = sys.modules.get("pandas")
        if pd is not None and module.startswith("pandas") and issubclass(tp, pd.DataFrame):
            dtypes = data.dtypes
            shown = dtypes.iloc[:MAX_SCHEMA_COLUMNS]
            pairs = zip(shown.index, shown, strict=True)
            return len(dtypes), [{"name": _label(c), "type": str(t)} for c, t in pairs]
        if pd is not None and module.startswith("pandas") and issubclass(tp, pd.Series):
            return 1, [{"name": _label(data.name), "type": str(data.dtype)}]
        pa = sys.modules.get("pyarrow")
        if (
            pa is not None
            and module.startswith("pyarrow")
            and issubclass(tp, (pa.Table, pa.RecordBatch))
        ):
            fields = list(data.schema)[:MAX_SCHEMA_COLUMNS]
            return data.num_columns, [{"name": f.name, "type": str(f.type)} for f in fields]
        np = sys.modules.get("numpy")
        if np is not None and issubclass(tp, np.ndarray) and data.dtype.names:
            names = data.dtype.names[:MAX_SCHEMA_COLUMNS]
            return len(data.dtype.names), [
                {"name": n, "type": str(data.dtype.fields[n][0])} for n in names
            ]
    except Exception:
        # A schema is a convenience; the digest above is the record.
        return None, None
    return None, None


def _label(label: Any) -> str:
    """A column label as text, without calling a user class's ``__str__``."""
    if type(label) in (str, int, float, bool) or label is None:
        text = str(label)
    elif type(label) is tuple:
        text = "(" + ", ".join(_label(x) for x in label) + ")"
    else:
        text = f"<{type(label).__qualname__}>"
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1] + "…"


__all__ = ["CONTEXTS", "LoggedDataset", "log_dataset"]
