"""Turn what a user types (a TARGET) into lineage node ids.

Accepted, in this order:

- a node id as ``lineage_nodes`` has it (``exec:…``, ``value:…``, ``file:<sha256>``,
  ``model:NAME@EXECUTION``, ``review:<annotation_id>``, ``env:…``, ``code:…``), or a unique
  prefix of one;
- ``var:NAME`` (the latest version of a variable) or ``var:NAME@FINGERPRINT``;
- ``file:PATH``: every version of the file at that path (absolute, or the end of one);
- ``model:NAME`` (its latest version) or ``model:NAME@VERSION`` (a training execution id
  or its prefix);
- an execution id or a unique prefix of one (at least 4 hex digits, as everywhere);
- a cell name given with ``%%lineage --name``: its latest run.
"""

from __future__ import annotations

import os
import re

from ..errors import UsageError
from ..ids import is_execution_prefix
from ..store.base import UnknownExecutionError, resolve_execution
from ..store.lineage import LineageQueries

ACCEPTED = (
    "an execution id (or a unique prefix), var:NAME, file:PATH, model:NAME[@VERSION], "
    "a cell name from %%lineage --name, or a node id from lineage_nodes"
)
NODE_PREFIXES = ("exec:", "value:", "file:", "model:", "review:", "env:", "code:")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class UnknownTargetError(UsageError):
    """A lineage target that matches no node, or more than one where one is needed."""


def resolve(queries: LineageQueries, target: str) -> list[str]:
    """The node ids ``target`` names (several for ``file:PATH``); raises UnknownTargetError."""
    text = target.strip()
    if not text:
        raise UnknownTargetError(f"empty lineage target; give {ACCEPTED}")
    if text.startswith("var:"):
        return _variable(queries, text, text[4:])
    if text.startswith("model:"):
        name, _, version = text[6:].partition("@")
        versions = queries.model_versions(name, version or None)
        if not versions:
            external = queries.existing([text])  # a declared base model captured nowhere
            if external:
                return external
            which = f" at version {version!r}" if version else ""
            raise UnknownTargetError(
                f"no trained version of model {name!r}{which}; "
                "models are the --model names of %%lineage cells that ran without error"
            )
        return _one(text, versions if version else versions[:1])
    if text.startswith("file:"):
        rest = text[5:]
        if _SHA256.match(rest):
            found = queries.file_version_exists(rest)
            if found:
                return found
        if rest.startswith("missing:"):
            found = queries.existing([text])
            if found:
                return found
        return _file(queries, text, rest)
    if text.startswith("exec:"):
        found = queries.execution_exists(text[5:])
        if found:
            return found
        try:
            return ["exec:" + resolve_execution(queries, text[5:])]
        except UnknownExecutionError:
            raise UnknownTargetError(f"no lineage node matches {text!r}; give {ACCEPTED}") from None
        except UsageError as ambiguous:
            raise UnknownTargetError(str(ambiguous)) from None
    if text.startswith(NODE_PREFIXES):
        found = queries.existing([text])
        if found:
            return found
        return _one(text, queries.nodes_by_prefix(text))
    exact = queries.execution_exists(text)
    if exact:
        return exact
    if is_execution_prefix(text):
        try:
            return ["exec:" + resolve_execution(queries, text)]
        except UnknownExecutionError:
            pass  # perhaps a cell's name
        except UsageError as ambiguous:
            raise UnknownTargetError(str(ambiguous)) from None
    named = queries.latest_execution_named(text)
    if named:
        return ["exec:" + named[0]]
    raise UnknownTargetError(f"no lineage node matches {text!r}; give {ACCEPTED}")


def _one(target: str, found: list[str]) -> list[str]:
    if not found:
        raise UnknownTargetError(f"no lineage node matches {target!r}; give {ACCEPTED}")
    if len(found) > 1:
        shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        raise UnknownTargetError(
            f"{target!r} matches {len(found)}{'+' if len(found) >= 20 else ''} nodes ({shown}); "
            "give more of the id"
        )
    return found


def _variable(queries: LineageQueries, target: str, spec: str) -> list[str]:
    name, _, fingerprint = spec.partition("@")
    if not name.isidentifier():
        raise UnknownTargetError(
            f"{target!r} does not name a variable; write var:NAME or var:NAME@FINGERPRINT"
        )
    found = queries.latest_value_version(name, fingerprint or None)
    if not found:
        which = f" with fingerprint {fingerprint!r}" if fingerprint else ""
        raise UnknownTargetError(
            f"no captured version of variable {name!r}{which}; "
            "check the name in cell_outputs, or give another target"
        )
    return found


def _file(queries: LineageQueries, target: str, path: str) -> list[str]:
    if not path:
        raise UnknownTargetError(f"{target!r} has no path; write file:PATH")
    absolute = os.path.normpath(os.path.abspath(os.path.expanduser(path)))
    suffix = os.path.normpath(path).lstrip("./") if not os.path.isabs(path) else absolute
    paths = queries.file_paths(absolute, suffix)
    if absolute in paths:
        paths = [absolute]
    if not paths:
        raise UnknownTargetError(
            f"no captured file at {path!r}; see the files view for the paths cells read and wrote"
        )
    if len(paths) > 1:
        shown = ", ".join(paths[:3]) + (", ..." if len(paths) > 3 else "")
        raise UnknownTargetError(
            f"{target!r} matches {len(paths)} paths ({shown}); give more of the path"
        )
    return queries.file_versions(paths[0])
