"""Model cards, the CycloneDX ML-BOM and OpenLineage events for the quickstart's model."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_lineage import cards
from jupyter_lineage.cards.openlineage import EXECUTION_FACET
from jupyter_lineage.session import use_store
from tests.quickstart import XSS

REPO = Path(__file__).parents[2]
ARTIFACTS = REPO / "test-artifacts" / "cards"


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_lineage.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def quickstart(quickstart_store: Path) -> Path:
    return quickstart_store


@pytest.fixture
def card(quickstart: Path) -> dict:
    use_store(str(quickstart / ".lineage"))
    return cards.card_data("churn-logreg")


def test_every_section_comes_from_the_record(card: dict, quickstart: Path) -> None:
    d = card["model_details"]
    assert (d["name"], d["version"], d["state"], d["risk_tier"]) == (
        "churn-logreg",
        "1.0.0",
        "APPROVED_STAGING",
        "HIGH",
    )
    assert d["owners"] == ["ml-team@example.com"] and d["model_type"] == "logistic-regression"
    assert d["license"] == "Apache-2.0"  # a human addition, merged in
    assert d["commit"] == card["environment"]["git_commit"]
    assert card["intended_use"]["primary_uses"] == "rank customers for retention offers"

    metrics = {m["name"]: m for m in card["metrics"]}
    assert set(metrics) == {"accuracy", "precision", "recall"}
    acc = metrics["accuracy"]
    assert acc["ci_low"] < acc["value"] < acc["ci_high"]
    assert acc["gate"] == {"op": ">=", "threshold": 0.7}
    assert acc["datasets"] == ["X_test", "y_test"]
    assert {g["group"] for g in card["quantitative_analyses"]} == {
        "plan=basic",
        "plan=plus",
        "plan=pro",
    }
    assert card["factors"]["groups"] == ["plan=basic", "plan=plus", "plan=pro"]

    td = card["training_data"]
    by_name = {Path(x["name"]).name: x for x in td["datasets"]}
    csv = quickstart / "data" / "customers.csv"
    assert by_name["customers.csv"]["sha256"] == hashlib.sha256(csv.read_bytes()).hexdigest()
    assert by_name["X_train"]["fingerprint"].startswith("xxh3:")
    assert [p["name"] for p in td["preprocessing"]] == [
        "make-data",
        "load",
        "clean",
        "scale",
        "split",
    ]

    assert "plan list is checked" in card["ethical_considerations"]["risks"]
    kinds = {a["kind"] for a in card["rationale"]}
    assert {"rationale", "alternative", "review"} <= kinds
    assert any("Logistic regression" in a["text"] for a in card["rationale"])
    failed = card["failed_attempts"]
    assert len(failed) == 1 and failed[0]["error_type"] == "ValueError"
    assert "intercept" in failed[0]["explanation"]

    assert card["environment"]["python_version"] == ".".join(map(str, sys.version_info[:3]))
    assert any(p["name"] == "numpy" for p in card["environment"]["packages"])
    life = card["lifecycle"]
    assert [t["to_state"] for t in life["transitions"]] == ["SUBMITTED", "APPROVED_STAGING"]
    assert [g["outcome"] for g in life["gate_results"]] == ["passed"]
    assert life["artifacts"][0]["name"] == "churn-logreg.pkl"
    assert card["reproduction"]["steps"][-1] == "jupyter-lineage reproduce churn-logreg@1.0.0 --run"
    assert (
        card["experiment"]["name"] == "logreg-baseline"
        and card["experiment"]["outcome"] == "success"
    )
    assert cards.missing_sections(card) == []


def test_json_has_stable_documented_keys(card: dict) -> None:
    assert list(card) == [
        "$schema",
        "generated_for",
        "model_details",
        "intended_use",
        "metrics",
        "factors",
        "quantitative_analyses",
        "training_data",
        "ethical_considerations",
        "rationale",
        "failed_attempts",
        "experiment",
        "environment",
        "lifecycle",
        "metric_history",
        "lineage",
        "reproduction",
        "human_additions",
    ]
    json.loads(json.dumps(card, default=str))


def test_html_escapes_user_strings(card: dict) -> None:
    from jupyter_lineage.cards.render import render_html, render_markdown

    html = render_html(card)
    for attack in XSS:
        assert attack not in html
    assert "&lt;script&gt;alert(&quot;card&quot;)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    md = render_markdown(card)
    assert "## Failed attempts" in md and "| accuracy |" in md


def test_html_opens_offline_in_chromium_with_the_figures(card: dict, quickstart: Path) -> None:
    from playwright.sync_api import sync_playwright

    from jupyter_lineage.cards.render import render_html

    if not Path("/usr/bin/chromium").exists():
        if os.environ.get("CI"):
            pytest.fail("/usr/bin/chromium is required on CI")
        pytest.skip("Debian's chromium is not installed")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page_path = ARTIFACTS / "churn-logreg-card.html"
    page_path.write_text(render_html(card), encoding="utf-8")
    requests: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--no-first-run",
            ],
        )
        try:
            context = browser.new_context(offline=True, viewport={"width": 1100, "height": 1400})
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(page_path.as_uri())
            bars = page.locator('[data-figure="metrics"] svg rect.bar').count()
            assert bars == 3
            assert page.locator('[data-figure="lineage"] svg g.node').count() >= 5
            assert "Apache-2.0" in page.locator("#model_details").inner_text()
            review = page.locator("#rationale").inner_text()
            assert '<script>alert("card")</script>' in review  # shown as text
            assert page.locator("#rationale img").count() == 0
            page.screenshot(path=str(ARTIFACTS / "churn-logreg-card.png"), full_page=True)
            page.emulate_media(media="print")
            page.pdf(path=str(ARTIFACTS / "churn-logreg-card.pdf"))  # what "Print to PDF" gives
        finally:
            browser.close()
    assert dialogs == []
    assert all(u.startswith(("file:", "data:", "blob:", "about:")) for u in requests), requests


def test_completeness_check(quickstart: Path) -> None:
    store = str(quickstart / ".lineage")
    ok = cli("--store", store, "card", "churn-logreg", "--check")
    assert "the card is complete" in ok.stdout
    cli("--store", store, "model", "register", "bare", "--owner", "a@example.com")
    cli("--store", store, "model", "version", "bare", "0.1.0")
    bad = cli("--store", store, "card", "bare", "--check", check=False)
    assert bad.returncode == 1
    for section in ("intended_use", "metrics", "training_data", "rationale", "environment"):
        assert f"missing {section}:" in bad.stdout
    unknown = cli("--store", store, "card", "ghost", check=False)
    assert unknown.returncode == 2 and "unknown model 'ghost'" in unknown.stderr


def test_card_exports(quickstart: Path, tmp_path: Path) -> None:
    store = str(quickstart / ".lineage")
    for name in ("card.html", "card.json", "card.md"):
        cli("--store", store, "card", "churn-logreg@1.0.0", "-o", str(tmp_path / name))
    assert (tmp_path / "card.html").read_text().startswith("<!DOCTYPE html>")
    assert json.loads((tmp_path / "card.json").read_text())["model_details"]["version"] == "1.0.0"
    assert (tmp_path / "card.md").read_text().startswith("# Model card: churn-logreg 1.0.0")


def test_bom_validates_against_cyclonedx_1_6(quickstart: Path, tmp_path: Path) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    out = tmp_path / "bom.json"
    cli("--store", str(quickstart / ".lineage"), "bom", "churn-logreg@1.0.0", "-o", str(out))
    text = out.read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    bom = json.loads(text)
    types = [c["type"] for c in bom["components"]]
    assert types[0] == "machine-learning-model" and "data" in types and "library" in types
    model = bom["components"][0]
    assert model["modelCard"]["quantitativeAnalysis"]["performanceMetrics"][0]["type"] == "accuracy"
    assert {
        m.get("slice") for m in model["modelCard"]["quantitativeAnalysis"]["performanceMetrics"]
    } >= {"plan=pro"}
    csv = quickstart / "data" / "customers.csv"
    data = [c for c in bom["components"] if c["type"] == "data"]
    assert any(
        h["content"] == hashlib.sha256(csv.read_bytes()).hexdigest()
        for c in data
        for h in c.get("hashes", [])
    )
    import numpy

    assert any(c.get("purl") == f"pkg:pypi/numpy@{numpy.__version__}" for c in bom["components"])
    assert bom["dependencies"][0]["ref"] == model["bom-ref"]


def _drop_empty(value):
    """Empty facet maps are optional in OpenLineage; compare without them."""
    if isinstance(value, dict):
        return {k: _drop_empty(v) for k, v in value.items() if v != {}}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


def test_openlineage_events_match_the_official_model(quickstart: Path, tmp_path: Path) -> None:
    from openlineage.client.event_v2 import (
        InputDataset,
        Job,
        OutputDataset,
        Run,
        RunEvent,
        RunState,
    )
    from openlineage.client.facet_v2 import (
        dataset_version_dataset,
        error_message_run,
        job_type_job,
        processing_engine_run,
        source_code_job,
    )
    from openlineage.client.serde import Serde

    out = tmp_path / "events.jsonl"
    cli("--store", str(quickstart / ".lineage"), "openlineage", "-o", str(out))
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert {e["eventType"] for e in events} == {"START", "COMPLETE", "FAIL"}
    assert sum(e["eventType"] == "START" for e in events) == 9  # one run per captured execution

    def dataset(cls, d):
        facets = {}
        if "version" in d.get("facets", {}):
            facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=d["facets"]["version"]["datasetVersion"]
            )
        return cls(namespace=d["namespace"], name=d["name"], facets=facets)

    for ev in events:
        jf, rf = ev["job"]["facets"], ev["run"]["facets"]
        run_facets = {
            "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
                version=rf["processing_engine"]["version"],
                name=rf["processing_engine"]["name"],
                openlineageAdapterVersion=rf["processing_engine"]["openlineageAdapterVersion"],
            )
        }
        if "errorMessage" in rf:
            run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=rf["errorMessage"]["message"],
                programmingLanguage="python",
                stackTrace=rf["errorMessage"]["stackTrace"],
            )
        official = RunEvent(
            eventType=RunState(ev["eventType"]),
            eventTime=ev["eventTime"],
            producer=ev["producer"],
            run=Run(runId=ev["run"]["runId"], facets=run_facets),
            job=Job(
                namespace=ev["job"]["namespace"],
                name=ev["job"]["name"],
                facets={
                    "sourceCode": source_code_job.SourceCodeJobFacet(
                        language="python", sourceCode=jf["sourceCode"]["sourceCode"]
                    ),
                    "jobType": job_type_job.JobTypeJobFacet(
                        processingType="BATCH", integration="JUPYTER", jobType="NOTEBOOK_CELL"
                    ),
                },
            ),
            inputs=[dataset(InputDataset, d) for d in ev["inputs"]],
            outputs=[dataset(OutputDataset, d) for d in ev["outputs"]],
        )
        expected = json.loads(Serde.to_json(official))
        ours = json.loads(json.dumps(ev))
        if ev["eventType"] != "START":  # our own facet, beside the standard ones
            ours["run"]["facets"].pop(EXECUTION_FACET)
        for facet in [*expected["run"]["facets"].values(), *expected["job"]["facets"].values()]:
            facet["_producer"] = ev["producer"]
        for d in [*expected["inputs"], *expected["outputs"]]:
            for facet in d.get("facets", {}).values():
                facet["_producer"] = ev["producer"]
        assert _drop_empty(ours) == _drop_empty(expected)
    fail = next(e for e in events if e["eventType"] == "FAIL")
    assert "ValueError" in fail["run"]["facets"]["errorMessage"]["message"]
    assert any(d["name"].endswith("customers.csv") for e in events for d in e["inputs"])


def test_one_card_reads_through_one_connection(quickstart: Path) -> None:
    from jupyter_lineage.session import current_store

    use_store(str(quickstart / ".lineage"))
    store = current_store()
    exports = (
        ("html", lambda: cards.render_html("churn-logreg")),
        ("json", lambda: cards.render_json("churn-logreg")),
        ("markdown", lambda: cards.render_markdown("churn-logreg@1.0.0")),
        ("bom", lambda: cards.bom("churn-logreg@1.0.0")),
        ("openlineage", lambda: cards.openlineage_events()),
    )
    # Once each first: the first ingests what the kernels wrote, the first HTML card brings
    # the graph's index up to date (a read-write connection each), so the count is the card's.
    for _, export in exports:
        export()
    counts = {}
    for name, export in exports:
        before = store.connections_opened
        export()
        counts[name] = store.connections_opened - before
        assert store.unit.reader is None  # closed with the export: nothing left holding the file
    assert counts == {"html": 1, "json": 1, "markdown": 1, "bom": 1, "openlineage": 1}


def test_a_card_after_new_events_ingests_them_then_reads_with_one_connection(
    quickstart: Path,
) -> None:
    from jupyter_lineage.annotations import note
    from jupyter_lineage.session import current_store

    use_store(str(quickstart / ".lineage"))
    store = current_store()
    store.ingest()
    note("Counted connections", kind="rationale", on="model:churn-logreg")
    before = store.connections_opened
    card = cards.card_data("churn-logreg")
    # One read-write connection for the ingest of the new note, one read-only for the card.
    assert store.connections_opened - before == 2
    assert "Counted connections" in [r["text"] for r in card["rationale"]]


def test_the_cli_reads_a_card_in_a_fresh_process_with_one_connection(quickstart: Path) -> None:
    # Every DuckDB connection the command opens, whoever opens it.
    code = (
        "import sys, duckdb\n"
        "opened = []\n"
        "real = duckdb.connect\n"
        "def counted(*args, **kwargs):\n"
        "    opened.append(args)\n"
        "    return real(*args, **kwargs)\n"
        "duckdb.connect = counted\n"
        "from jupyter_lineage.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print('connections', len(opened), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    store = str(quickstart / ".lineage")
    cli("--store", store, "ingest")
    proc = subprocess.run(
        [sys.executable, "-c", code, "--store", store, "card", "churn-logreg", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["model_details"]["name"] == "churn-logreg"
    assert "connections 1" in proc.stderr


def test_a_json_card_imports_no_heavy_library(quickstart: Path) -> None:
    code = (
        "import json, sys\n"
        "from jupyter_lineage.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "heavy = ('pandas', 'plotly', 'networkx', 'IPython', 'nbformat')\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    store = str(quickstart / ".lineage")
    proc = subprocess.run(
        [sys.executable, "-c", code, "--store", store, "card", "churn-logreg", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stderr.strip().splitlines()[-1]) == []


def test_the_magic_shows_the_card_json_and_inline_html(quickstart: Path, tmp_path: Path) -> None:
    from jupyter_lineage.magics.cards import CARD_MIME
    from tests.integration.conftest import execute_notebook

    run = execute_notebook(
        ["%load_ext jupyter_lineage", "%lineage_card churn-logreg@1.0.0"],
        tmp_path,
        store_dir=quickstart / ".lineage",
        allow_errors=False,
    )
    (output,) = run.outputs(1)
    assert output.output_type == "display_data"
    assert set(output.data) == {CARD_MIME, "text/html"}
    exported = tmp_path / "card.json"
    cli("--store", str(quickstart / ".lineage"), "card", "churn-logreg@1.0.0", "-o", str(exported))
    shown = dict(output.data[CARD_MIME])
    expected = json.loads(exported.read_text())
    assert shown["model_details"] == expected["model_details"]
    assert shown["metrics"] == expected["metrics"] and list(shown) == list(expected)
    html = output.data["text/html"]
    assert "<style" not in html and "<script" not in html and "Model card: churn-logreg" in html
