"""Validation of lineage API requests and the shape of its answers (pure)."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from jupyter_lineage.errors import UsageError
from jupyter_lineage.server.locate import locate
from jupyter_lineage.server.service import (
    AnnotationRequest,
    check_direction,
    check_model_spec,
    check_node,
    check_status,
    check_whole_number,
    jsonable,
    parse_annotation_request,
)

EXECUTION = "0123456789abcdef0123456789abcdef"


def test_a_full_annotation_request() -> None:
    request = parse_annotation_request(
        {
            "kind": "decision",
            "text": "  Use **AUC**.\n",
            "targets": [{"type": "execution", "ref": EXECUTION}] * 2,
            "revises": "fedcba9876543210fedcba9876543210",
        }
    )

    assert request == AnnotationRequest(
        kind="decision",
        text="  Use **AUC**.\n",
        executions=(EXECUTION,),
        revises="fedcba9876543210fedcba9876543210",
    )


def test_an_annotation_defaults_to_a_note_on_nothing() -> None:
    assert parse_annotation_request({"text": "x"}) == AnnotationRequest("note", "x", ())


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (None, "must be a JSON object"),
        ({"text": "x", "kind": 3}, "kind must be a string"),
        ({"text": "x", "targets": [{"type": "execution"}]}, "target ref must be an execution id"),
        (
            {"text": "x", "targets": [{"type": "execution", "ref": EXECUTION, "x": 1}]},
            "each target",
        ),
        ({"text": "x", "targets": ["LAST"]}, "each target"),
        ({"text": "x", "revises": "not-an-id"}, "annotation id 'not-an-id' is not one"),
    ],
)
def test_bad_annotation_requests_name_the_problem(body: object, complaint: str) -> None:
    with pytest.raises(UsageError, match=complaint):
        parse_annotation_request(body)


def test_query_arguments() -> None:
    assert check_status("") is None and check_status("failed") == "failed"
    assert check_whole_number("limit", None, default=50, most=500) == 50
    assert check_whole_number("limit", "500", default=50, most=500) == 500
    assert check_direction(None) == "both" and check_direction("upstream") == "upstream"
    assert check_node("  var:df ") == "var:df"
    assert check_model_spec("churn", "") == "churn"
    assert check_model_spec("churn", "1.0.0-rc.1") == "churn@1.0.0-rc.1"
    for bad in ("-1", "1.5", "²", "1" * 12):
        with pytest.raises(UsageError, match="whole number"):
            check_whole_number("limit", bad, default=50, most=500)
    with pytest.raises(UsageError, match="not a lineage target"):
        check_node("a\0b")
    with pytest.raises(UsageError, match="bad model name"):
        check_model_spec("../etc", None)


def test_jsonable_turns_store_values_into_json() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    value = {
        "at": when,
        "n": np.int64(3),
        "x": np.float64(math.nan),
        "tags": np.array(["a", "b"], dtype=object),
        "nested": [{"inf": math.inf, "ok": 1.5}],
    }

    assert jsonable(value) == {
        "at": "2026-01-02T03:04:05+00:00",
        "n": 3,
        "x": None,
        "tags": ["a", "b"],
        "nested": [{"inf": None, "ok": 1.5}],
    }


def test_locate_keeps_both_spellings_of_a_root_behind_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(real)

    location = locate(link, "sub/nb.ipynb")

    assert location.recorded_paths == (
        str(real / "sub" / "nb.ipynb"),
        str(link / "sub" / "nb.ipynb"),
    )
    assert location.store_dir == real / "sub" / ".lineage"
    assert location.has_journal is False
    assert locate(real, None).recorded_paths == ()
