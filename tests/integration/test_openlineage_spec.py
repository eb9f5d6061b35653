"""OpenLineage events checked against the official OpenLineage spec.

Every exported event is validated against the spec's ``OpenLineage.json`` (JSON Schema draft
2020-12) with its date-time, URI and UUID formats checked, and every facet against its own
schema: the spec's facet schemas for the standard facets, the schema shipped in the package for
``jupyterLineage_execution``. The spec is read from a copy of its ``spec/`` directory beside the
repository, or from ``OPENLINEAGE_SPEC_DIR`` (``_spec_root``); without it the spec tests skip,
except in CI, where they fail.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable

from jupyter_lineage.cards import openlineage

from ..reliability.conftest import Kernel

REPO = Path(__file__).parents[2]
SPEC_VERSION = "2-0-2"
SPEC_ID = f"https://openlineage.io/spec/{SPEC_VERSION}/OpenLineage.json"
# A facet the spec does not define is named {prefix}_{name} (camelCase prefix and name).
CUSTOM_FACET_KEY = re.compile(r"^[a-z][A-Za-z0-9]*_[a-z][A-Za-z0-9]*$")
FORMATS = Draft202012Validator.FORMAT_CHECKER


def _spec_root() -> Path:
    configured = os.environ.get("OPENLINEAGE_SPEC_DIR")
    return Path(configured) if configured else REPO / ".." / "shared" / "openlineage-spec"


def _spec_dir(root: Path) -> Path | None:
    """The directory holding ``OpenLineage.json`` and ``facets/``: the checkout's ``spec/``, or ``root``."""
    for candidate in (root / "spec", root):
        if (candidate / "OpenLineage.json").is_file() and (candidate / "facets").is_dir():
            return candidate
    return None


def cli(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_lineage.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def export(store: Path, out: Path) -> list[dict[str, Any]]:
    """The events ``jupyter-lineage openlineage`` writes for ``store``, parsed."""
    cli("--store", str(store), "openlineage", "-o", str(out))
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


class Spec:
    """The spec's schemas and the package's facet schema, resolved locally by their ``$id``s."""

    def __init__(self, directory: Path) -> None:
        documents = [
            json.loads(path.read_text(encoding="utf-8"))
            for path in [directory / "OpenLineage.json", *sorted(directory.glob("facets/*.json"))]
        ]
        documents.append(openlineage.execution_facet_schema())
        # No retrieval function: a $ref to anything not loaded here is an error, never a download.
        self.registry: Registry = Registry().with_resources(
            (doc["$id"], Resource.from_contents(doc)) for doc in documents
        )
        self.version_id = documents[0]["$id"]

    def errors(self, instance: Any, url: str) -> list[str]:
        """Why ``instance`` is not valid under the schema at ``url`` (a JSON pointer URL)."""
        validator = Draft202012Validator(
            {"$ref": url}, registry=self.registry, format_checker=FORMATS
        )
        try:
            return [
                f"{'/'.join(map(str, e.absolute_path)) or '(event)'}: {e.message}"
                for e in validator.iter_errors(instance)
            ]
        except Unresolvable as e:
            return [f"{url}: no such schema in the spec ({e})"]

    def facet_errors(self, where: str, key: str, facet: dict[str, Any]) -> list[str]:
        """``facet`` against the schema its ``_schemaURL`` names, and ``key`` against the key it gives."""
        url = facet.get("_schemaURL")
        if not isinstance(url, str):
            return [f"{where}/{key}: no _schemaURL"]
        document_url = url.partition("#")[0]
        found = [f"{where}/{key}: {e}" for e in self.errors(facet, url)]
        try:
            document = self.registry.contents(document_url)
        except NoSuchResource as e:
            return [*found, f"{where}/{key}: {document_url} is no schema of the spec ({e})"]
        keys = list(document.get("properties", {}))
        if key not in keys:
            found.append(f"{where}/{key}: {document_url} names this facet {keys}")
        if not url.startswith("https://openlineage.io/") and not CUSTOM_FACET_KEY.match(key):
            found.append(f"{where}/{key}: a custom facet is keyed prefix_name")
        # The facet document's own top level: the facet under its key.
        found += [f"{where}/{key}: {e}" for e in self.errors({key: facet}, document_url)]
        return found

    def event_errors(self, event: dict[str, Any]) -> list[str]:
        """Everything wrong with ``event``: as any OpenLineage event, as the event its
        ``schemaURL`` names, and facet by facet."""
        found = self.errors(event, self.version_id)
        schema_url = event.get("schemaURL")
        if isinstance(schema_url, str) and schema_url.startswith(self.version_id + "#"):
            found += self.errors(event, schema_url)
        else:
            found.append(f"schemaURL: {schema_url!r} is not a definition of {self.version_id}")
        facet_maps = [
            ("run/facets", (event.get("run") or {}).get("facets")),
            ("job/facets", (event.get("job") or {}).get("facets")),
        ]
        for side in ("inputs", "outputs"):
            for i, dataset in enumerate(event.get(side) or []):
                for kind in ("facets", "inputFacets", "outputFacets"):
                    facet_maps.append((f"{side}/{i}/{kind}", dataset.get(kind)))
        for where, facets in facet_maps:
            for key, facet in (facets or {}).items():
                found += self.facet_errors(where, key, facet)
        return found


@pytest.fixture(scope="module")
def spec() -> Spec:
    root = _spec_root()
    directory = _spec_dir(root)
    if directory is None:
        why = (
            f"the OpenLineage spec is not at {root.resolve()}: put a checkout of "
            "https://github.com/OpenLineage/OpenLineage there (its spec/ directory is read), "
            "or set OPENLINEAGE_SPEC_DIR to one"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    loaded = Spec(directory)
    assert loaded.version_id == SPEC_ID, (
        f"{directory} holds the spec {loaded.version_id}; these tests check against {SPEC_ID}: "
        "check out the spec at that version"
    )
    return loaded


@pytest.fixture(scope="module")
def quickstart_events(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    work = tmp_path_factory.mktemp("ol-quickstart")
    shutil.copy(REPO / "notebooks" / "quickstart.ipynb", work / "quickstart.ipynb")
    cli("run", str(work / "quickstart.ipynb"), "--quiet")
    return export(work / ".lineage", work / "events.jsonl")


def _interrupt(kernel: Kernel, code: str) -> dict[str, Any]:
    """Send ``code``, interrupt the kernel once the cell says it has started, return the reply."""
    msg_id = kernel.kc.execute(code, stop_on_error=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        msg = kernel.kc.get_iopub_msg(timeout=60)
        if msg["msg_type"] == "stream" and "started" in msg["content"]["text"]:
            break
    kernel.km.interrupt_kernel()
    while True:
        reply = kernel.kc.get_shell_msg(timeout=60)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


@pytest.fixture
def kernel() -> Iterator[Callable[[Path, dict[str, str]], Kernel]]:
    started: list[Kernel] = []

    def start(cwd: Path, env: dict[str, str]) -> Kernel:
        started.append(Kernel(cwd, env))
        return started[-1]

    yield start
    for k in started:
        k.shutdown()


def test_format_checks_are_really_made() -> None:
    """Without its optional packages jsonschema passes every date-time and URI unchecked."""
    assert {"date-time", "uri", "uuid"} <= set(FORMATS.checkers)
    for fmt, good, bad in [
        ("date-time", "2026-01-02T03:04:05.678+00:00", "2026-01-02 03:04:05"),
        ("uri", "urn:jupyter-lineage:0.1.0", "no scheme/path"),
        ("uuid", "84b96492-1c03-4b4e-be01-ca1b6d0c11df", "84b964921c034b4ebe01ca1b6d0c11df"),
    ]:
        assert FORMATS.conforms(good, fmt), (fmt, good)
        assert not FORMATS.conforms(bad, fmt), (fmt, bad)


def test_the_execution_facet_schema_is_served_by_the_docs() -> None:
    """The facet's ``_schemaURL`` is the documentation site's copy of the schema the package ships."""
    package_copy = Path(openlineage.__file__).parent / "schemas" / openlineage.EXECUTION_FACET_FILE
    docs_copy = REPO / "docs" / "schemas" / openlineage.EXECUTION_FACET_FILE
    assert docs_copy.read_bytes() == package_copy.read_bytes(), (
        f"copy {package_copy} to {docs_copy}"
    )
    site_url = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))["site_url"]
    document_url, _, pointer = openlineage.EXECUTION_FACET_SCHEMA.partition("#")
    assert document_url == f"{site_url.rstrip('/')}/schemas/{openlineage.EXECUTION_FACET_FILE}"

    schema = openlineage.execution_facet_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == document_url
    assert pointer == "/$defs/JupyterLineageExecutionRunFacet"
    definition = schema["$defs"]["JupyterLineageExecutionRunFacet"]
    # It extends the spec's RunFacet, as the spec's own run facets do.
    assert {"$ref": f"{SPEC_ID}#/$defs/RunFacet"} in definition["allOf"]
    assert schema["properties"] == {
        openlineage.EXECUTION_FACET: {"$ref": "#/$defs/JupyterLineageExecutionRunFacet"}
    }
    assert CUSTOM_FACET_KEY.match(openlineage.EXECUTION_FACET)


def test_the_quickstarts_events_follow_the_spec(
    spec: Spec, quickstart_events: list[dict[str, Any]]
) -> None:
    events = quickstart_events
    assert {e["eventType"] for e in events} == {"START", "COMPLETE", "FAIL"}
    for event in events:
        assert spec.event_errors(event) == [], (event["eventType"], event["job"]["name"])

    # Every standard facet the export writes was checked against its own schema above.
    used = {
        facet["_schemaURL"]
        for e in events
        for facets in [
            e["run"].get("facets", {}),
            e["job"].get("facets", {}),
            *(d.get("facets", {}) for d in e["inputs"] + e["outputs"]),
        ]
        for facet in facets.values()
    }
    assert used == {*openlineage.FACETS.values(), openlineage.EXECUTION_FACET_SCHEMA}

    ends = [e for e in events if e["eventType"] != "START"]
    schema = openlineage.execution_facet_schema()
    documented = set(schema["$defs"]["JupyterLineageExecutionRunFacet"]["allOf"][1]["properties"])
    for end in ends:
        facet = end["run"]["facets"][openlineage.EXECUTION_FACET]
        assert "jupyterLineage" not in end["run"]["facets"]
        assert str(end["run"]["runId"]).replace("-", "") == facet["executionId"]
        assert set(facet) - {"_producer", "_schemaURL"} <= documented  # no field undocumented
    (fail,) = [e for e in ends if e["eventType"] == "FAIL"]
    assert fail["run"]["facets"]["errorMessage"]["message"].startswith("ValueError")


def test_failed_interrupted_and_file_writing_cells_follow_the_spec(
    spec: Spec, kernel: Callable[[Path, dict[str, str]], Kernel], tmp_path: Path
) -> None:
    store = tmp_path / ".lineage"
    notebook = tmp_path / "cells.ipynb"
    notebook.write_text("{}", encoding="utf-8")
    k = kernel(tmp_path, {"JUPYTER_LINEAGE_DIR": str(store), "JPY_SESSION_NAME": str(notebook)})
    assert k.run("%load_ext jupyter_lineage").status == "ok"
    assert k.run("%lineage on").status == "ok"
    writes = (
        "%%lineage --name write --tag files\n"
        "with open('out.csv', 'w') as f:\n"
        "    f.write('a,b\\n1,2\\n')"
    )
    assert k.run(writes).status == "ok"
    reads = "%%lineage --name read\nrows = open('out.csv').read().splitlines()\nrows"
    assert k.run(reads).status == "ok"
    fails = k.run("%%lineage --name fails\nnumber = int(rows[1])")
    assert fails.error == ("ValueError", "invalid literal for int() with base 10: '1,2'")
    loop = (
        "%%lineage --name stopped\n"
        "import time\n"
        "print('started', flush=True)\n"
        "while True:\n"
        "    time.sleep(0.05)"
    )
    assert _interrupt(k, loop)["content"]["ename"] == "KeyboardInterrupt"
    assert k.run("%%lineage --name after\ndel rows\ndone = 'é ☃'").status == "ok"

    events = export(store, tmp_path / "events.jsonl")
    for event in events:
        assert spec.event_errors(event) == [], (event["eventType"], event["job"]["name"])

    ends = {e["job"]["name"].rpartition(":")[2]: e for e in events if e["eventType"] != "START"}
    assert {name: e["eventType"] for name, e in ends.items()} == {
        "write": "COMPLETE",
        "read": "COMPLETE",
        "fails": "FAIL",
        "stopped": "ABORT",
        "after": "COMPLETE",
    }
    written = hashlib.sha256((tmp_path / "out.csv").read_bytes()).hexdigest()
    (output,) = [d for d in ends["write"]["outputs"] if d["namespace"] == "file"]
    assert (output["name"], output["facets"]["version"]["datasetVersion"]) == ("out.csv", written)
    assert ends["write"]["run"]["facets"][openlineage.EXECUTION_FACET]["tags"] == ["files"]
    stopped = ends["stopped"]["run"]["facets"]["errorMessage"]
    assert stopped["message"].startswith("KeyboardInterrupt")


def _without(path: tuple[str, ...]) -> Callable[[dict[str, Any]], None]:
    def change(event: dict[str, Any]) -> None:
        *parents, last = path
        for key in parents:
            event = event[key]
        del event[last]

    return change


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(event: dict[str, Any]) -> None:
        *parents, last = path
        for key in parents:
            event = event[key]
        event[last] = value

    return change


def _rekey(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def change(event: dict[str, Any]) -> None:
        facets = event["run"]["facets"]
        facets[new] = facets.pop(old)

    return change


INVALID = {
    "missing eventTime": (_without(("eventTime",)), "'eventTime' is a required property"),
    "eventTime without a time zone": (
        _set(("eventTime",), "2026-01-02T03:04:05"),
        "is not a 'date-time'",
    ),
    "runId that is no UUID": (
        _set(("run", "runId"), "84b964921c034b4ebe01ca1b6d0c11df"),
        "is not a 'uuid'",
    ),
    "unknown eventType": (_set(("eventType",), "FINISHED"), "'FINISHED' is not one of"),
    "producer that is no URI": (_set(("producer",), "jupyter lineage"), "is not a 'uri'"),
    "execution facet field of the wrong type": (
        _set(("run", "facets", openlineage.EXECUTION_FACET, "executionCount"), "three"),
        "'three' is not of type 'integer'",
    ),
    "execution facet without its executionId": (
        _without(("run", "facets", openlineage.EXECUTION_FACET, "executionId")),
        "'executionId' is a required property",
    ),
    "standard facet under another key": (
        _rekey("errorMessage", "error"),
        "names this facet ['errorMessage']",
    ),
    "custom facet keyed without a prefix": (
        _rekey(openlineage.EXECUTION_FACET, "execution"),
        "a custom facet is keyed prefix_name",
    ),
    "facet schema the spec does not have": (
        _set(
            ("run", "facets", "errorMessage", "_schemaURL"),
            "https://openlineage.io/spec/facets/9-9-9/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
        ),
        "no such schema in the spec",
    ),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_an_invalid_event_is_rejected(
    spec: Spec, quickstart_events: list[dict[str, Any]], case: str
) -> None:
    """The validation above can fail: each of these changes to a valid event is caught."""
    change, expected = INVALID[case]
    valid = next(e for e in quickstart_events if e["eventType"] == "FAIL")
    assert spec.event_errors(valid) == []
    event = copy.deepcopy(valid)
    change(event)
    found = spec.event_errors(event)
    assert any(expected in error for error in found), found
