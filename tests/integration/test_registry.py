"""The registry against a real store: versions, gates, waivers, artifacts, search, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_lineage import registry as r
from jupyter_lineage.errors import RegistryError, SearchSyntaxError, UsageError
from jupyter_lineage.session import use_store

OWNER = "ml@example.com"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / ".lineage"
    use_store(str(root))
    yield root
    use_store(None)


def _to(model: str, *steps: tuple[str, str]) -> None:
    for state, role in steps:
        actor = OWNER if role == "owner" else f"{role}@example.com"
        r.transition(model, state, actor=actor, role=role, justification=f"to {state}")


def test_versions_are_semver_and_strictly_increasing(store: Path) -> None:
    r.register_model("m", [OWNER])
    for v in ("0.9.0", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.10.0"):
        r.create_version("m", v)
    assert r.get_version("m")[1]["version"] == "1.10.0"  # 1.10.0 > 1.9 > 1.0.1: not string order
    for bad, message in [
        ("1.2.0", "not newer than the latest, 1.10.0"),
        ("1.10.0", "not newer"),
        ("2.0", "not a semantic version"),
        ("v3.0.0", "not a semantic version"),
    ]:
        with pytest.raises(UsageError, match=message):
            r.create_version("m", bad)


def test_model_validation(store: Path) -> None:
    with pytest.raises(UsageError, match="bad model name 'my model'"):
        r.register_model("my model", [OWNER])
    with pytest.raises(UsageError, match="at least one owner"):
        r.register_model("x", [])
    with pytest.raises(UsageError, match="'nobody' is not an email"):
        r.register_model("x", ["nobody"])
    with pytest.raises(UsageError, match="unknown risk tier 'EXTREME'"):
        r.register_model("x", [OWNER], risk_tier="EXTREME")
    r.register_model("x", [OWNER])
    with pytest.raises(RegistryError, match="already registered"):
        r.register_model("x", [OWNER])
    r.register_model("x", [OWNER], group="other")  # unique within a group only
    with pytest.raises(RegistryError, match="several groups"):
        r.get_model("x")
    assert r.get_model("other/x")["group_name"] == "other"
    with pytest.raises(RegistryError, match="unknown model 'ghost'"):
        r.get_model("ghost")


def test_json_schemas_are_validated(store: Path) -> None:
    r.register_model("s", [OWNER])
    good = {"type": "object", "properties": {"age": {"type": "integer", "minimum": 0}}}
    v = r.create_version("s", "1.0.0", input_schema=good, output_schema={"type": "number"})
    assert json.loads(v["input_schema"]) == good
    with pytest.raises(
        UsageError, match="input schema is not a valid JSON Schema at properties/age/type"
    ):
        r.create_version(
            "s", "1.0.1", input_schema={"type": "object", "properties": {"age": {"type": "int"}}}
        )
    with pytest.raises(UsageError, match="output schema must be a JSON Schema object"):
        r.create_version("s", "1.0.1", output_schema=[1, 2])


def test_gates_block_promotion_until_met_or_waived(store: Path) -> None:
    r.register_model("g", [OWNER], risk_tier="HIGH")
    r.set_gate("accuracy >= 0.85", risk_tier="HIGH")
    r.set_gate("fairness_gap <= 0.05", model="g")
    r.create_version("g", "1.0.0", metrics={"accuracy": 0.8, "fairness_gap": 0.02})
    _to("g", ("SUBMITTED", "owner"))
    with pytest.raises(
        RegistryError, match=r"blocked by failing gate\(s\): accuracy >= 0.85 \(is 0.8\)"
    ):
        _to("g", ("APPROVED_STAGING", "reviewer"))
    assert r.get_version("g")[1]["state"] == "SUBMITTED"
    with pytest.raises(UsageError, match="needs a reason"):
        r.waive("g", "accuracy", actor="cro@example.com", reason=" ")
    r.waive(
        "g",
        "accuracy",
        actor="cro@example.com",
        reason="pilot with 100 customers",
        expires_in_days=7,
    )
    _to("g", ("APPROVED_STAGING", "reviewer"), ("STAGING", "sre"))
    # a waiver covers only the metric it names; a missing metric fails its gate
    r.set_gate("recall >= 0.7", model="g")
    with pytest.raises(RegistryError, match=r"recall >= 0.7 \(is not measured\)"):
        _to("g", ("APPROVED_PROD", "reviewer"))
    # a version that meets every gate needs no waiver
    r.create_version("g", "1.1.0", metrics={"accuracy": 0.9, "fairness_gap": 0.01, "recall": 0.75})
    _to("g", ("SUBMITTED", "owner"), ("APPROVED_STAGING", "reviewer"))
    results = r.audit_trail("g")
    gate_rows = results[results["event"].str.startswith("gate")]
    assert set(gate_rows["event"]) == {"gate failed", "gate waived", "gate passed"}
    assert "waiver" in set(results["event"])
    assert "pilot with 100 customers" in set(results["reason"].dropna())


def test_expired_waivers_do_not_count(store: Path) -> None:
    r.register_model("e", [OWNER])
    r.set_gate("accuracy >= 0.9", model="e")
    r.create_version("e", "1.0.0", metrics={"accuracy": 0.5})
    _to("e", ("SUBMITTED", "owner"))
    from jupyter_lineage.events import WaiverRecorded
    from jupyter_lineage.session import current_session

    v = r.get_version("e")[1]
    current_session().emit(
        WaiverRecorded(
            waiver_id="old",
            version_id=v["version_id"],
            metric="accuracy",
            actor="a@b.co",
            reason="long ago",
            expires_at="2020-01-01T00:00:00+00:00",
            created_at="2019-12-01T00:00:00+00:00",
        )
    )
    with pytest.raises(RegistryError, match="blocked by failing gate"):
        _to("e", ("APPROVED_STAGING", "reviewer"))


def test_one_production_version_unless_allowed(store: Path) -> None:
    r.register_model("p", [OWNER])
    path = (
        ("SUBMITTED", "owner"),
        ("APPROVED_STAGING", "reviewer"),
        ("STAGING", "sre"),
        ("APPROVED_PROD", "reviewer"),
        ("PRODUCTION", "sre"),
    )
    r.create_version("p", "1.0.0")
    _to("p@1.0.0", *path)
    r.create_version("p", "2.0.0")
    _to("p@2.0.0", *path[:-1])
    with pytest.raises(RegistryError, match=r"1.0.0 is already in PRODUCTION; deprecate it first"):
        _to("p@2.0.0", ("PRODUCTION", "sre"))
    r.transition(
        "p@2.0.0",
        "PRODUCTION",
        actor="sre@example.com",
        role="sre",
        justification="canary",
        allow_multiple_production=True,
    )
    _to("p@1.0.0", ("DEPRECATED", "owner"), ("RETIRED", "owner"))
    states = {v["version"]: v["state"] for v in r.show("p")["versions"]}
    assert states == {"1.0.0": "RETIRED", "2.0.0": "PRODUCTION"}
    trail = r.audit_trail("p@1.0.0")
    assert list(trail[trail["event"] == "transition"]["detail"]) == [
        "DRAFT -> SUBMITTED",
        "SUBMITTED -> APPROVED_STAGING",
        "APPROVED_STAGING -> STAGING",
        "STAGING -> APPROVED_PROD",
        "APPROVED_PROD -> PRODUCTION",
        "PRODUCTION -> DEPRECATED",
        "DEPRECATED -> RETIRED",
    ]
    with pytest.raises(UsageError, match="needs a justification"):
        r.transition("p@2.0.0", "DEPRECATED", actor=OWNER, role="owner", justification="")
    r.retire_model("p", actor=OWNER, justification="replaced by q")
    assert r.get_model("p")["retired"]
    with pytest.raises(RegistryError, match="is retired"):
        r.create_version("p", "3.0.0")


def test_artifacts_are_copied_hashed_verified_and_fetched(store: Path, tmp_path: Path) -> None:
    import hashlib

    r.register_model("a", [OWNER])
    r.create_version("a", "1.0.0")
    weights = tmp_path / "weights.bin"
    weights.write_bytes(os.urandom(3 << 20))
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    rec = r.add_artifact("a", weights, kind="weights")
    assert rec["sha256"] == digest and rec["size"] == 3 << 20
    stored = store / rec["stored_path"]
    assert stored == store / "artifacts" / "sha256" / digest[:2] / digest
    ref = tmp_path / "config.json"
    ref.write_text('{"layers": 3}')
    r.add_artifact("a", ref, kind="config", copy=False)
    r.add_artifact("a", "s3://bucket/tokenizer.json", kind="tokenizer", sha256="ab" * 32)
    with pytest.raises(UsageError, match="give its SHA-256"):
        r.add_artifact("a", "s3://bucket/x.bin")
    with pytest.raises(UsageError, match="unknown artifact kind 'brain'"):
        r.add_artifact("a", weights, kind="brain")
    results = {x["name"]: x for x in r.verify("a")}
    assert results["weights.bin"]["ok"] and results["config.json"]["ok"]
    assert results["tokenizer.json"]["ok"] is None  # remote: not checked here
    assert r.fetch("a", "weights.bin").read_bytes() == weights.read_bytes()

    # corrupt the stored copy and change the referenced file: both are reported
    os.chmod(stored, 0o644)
    data = bytearray(stored.read_bytes())
    data[1000] ^= 0xFF
    stored.write_bytes(bytes(data))
    ref.write_text('{"layers": 4}')
    results = {x["name"]: x for x in r.verify("a")}
    assert (
        results["weights.bin"]["ok"] is False
        and "content changed" in results["weights.bin"]["problem"]
    )
    assert results["config.json"]["ok"] is False
    with pytest.raises(RegistryError, match="is corrupted"):
        r.fetch("a", "weights.bin")
    stored.unlink()
    assert "missing" in {x["name"]: x for x in r.verify("a")}["weights.bin"]["problem"]


SEARCH_MODELS = [
    # name, group, tier, owners, tags, description
    (
        "fraud-detector",
        "risk",
        "HIGH",
        ["risk-team@company.com"],
        ["nlp", "production"],
        "Fraud detection on claims",
    ),
    (
        "fraud-rules",
        "risk",
        "MEDIUM",
        ["risk-team@company.com"],
        ["rules"],
        "Hand-written fraud rules",
    ),
    ("churn", "growth", "LOW", ["growth@company.com"], ["tabular", "production"], "Customer churn"),
    (
        "sentiment",
        "growth",
        "MEDIUM",
        ["nlp@company.com"],
        ["nlp", "experimental"],
        "Review sentiment",
    ),
    (
        "model-x",
        "lab",
        "LOW",
        ["lab@company.com"],
        ["experimental"],
        "A model for fraud 100% experimental",
    ),
]

SEARCHES = [
    ("tag:nlp AND tag:production", {"fraud-detector"}),
    ("riskTier:HIGH AND owner:risk-team@company.com", {"fraud-detector"}),
    ("fraud", {"fraud-detector", "fraud-rules", "model-x"}),
    ('"fraud detection"', {"fraud-detector"}),
    ('fraud OR "fraud detection"', {"fraud-detector", "fraud-rules", "model-x"}),
    ("-tag:experimental", {"fraud-detector", "fraud-rules", "churn"}),
    ("NOT tag:experimental AND fraud", {"fraud-detector", "fraud-rules"}),
    ("model*", {"model-x"}),
    ("fraud*", {"fraud-detector", "fraud-rules"}),
    ("state:PRODUCTION", {"churn"}),
    ("group:growth", {"churn", "sentiment"}),
    ("tag:nlp OR tag:rules AND riskTier:MEDIUM", {"fraud-detector", "sentiment", "fraud-rules"}),
    ("(tag:nlp OR tag:rules) AND riskTier:MEDIUM", {"sentiment", "fraud-rules"}),
    ("tag:NLP", {"fraud-detector", "sentiment"}),
    ('"100%"', {"model-x"}),
    ("created:>2000-01-01", {m[0] for m in SEARCH_MODELS}),
    ("created:<2000-01-01", set()),
    ("created:2000-01-01..2999-01-01 riskTier:LOW", {"churn", "model-x"}),
    ("name:churn", {"churn"}),
    ("owner:*@company.com riskTier:LOW", {"churn", "model-x"}),
]


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("catalogue") / ".lineage"
    use_store(str(store))
    for name, group, tier, owners, tags, description in SEARCH_MODELS:
        r.register_model(
            name, owners, group=group, risk_tier=tier, tags=tags, description=description
        )
    r.create_version("churn", "1.0.0")
    owner = "growth@company.com"
    for state, role in (
        ("SUBMITTED", "owner"),
        ("APPROVED_STAGING", "reviewer"),
        ("STAGING", "sre"),
        ("APPROVED_PROD", "reviewer"),
        ("PRODUCTION", "sre"),
    ):
        r.transition(
            "churn",
            state,
            actor=owner if role == "owner" else f"{role}@c.com",
            role=role,
            justification="ok",
        )
    return store


@pytest.mark.parametrize(("query", "expected"), SEARCHES)
def test_search_language(catalogue: Path, query: str, expected: set[str]) -> None:
    use_store(str(catalogue))
    assert set(r.search(query)["name"]) == expected


def test_malformed_search_points_at_the_problem(catalogue: Path) -> None:
    use_store(str(catalogue))
    with pytest.raises(SearchSyntaxError, match=r"OR needs something on its right at position 16"):
        r.search("tag:nlp (fraud OR")
    with pytest.raises(SearchSyntaxError, match=r"unclosed parenthesis at position 9"):
        r.search("tag:nlp (fraud")


def test_version_defaults_come_from_lineage(run_cells, tmp_path: Path) -> None:
    run = run_cells(
        [
            "%load_ext jupyter_lineage\nimport jupyter_lineage as jl\nimport numpy as np",
            "%%lineage --name data\nX = np.arange(12.0).reshape(6, 2)\ny = np.array([0, 1, 0, 1, 0, 1])",
            "%%lineage --name fit --model tiny\nw = np.linalg.lstsq(X, y, rcond=None)[0]\njl.log_metric('accuracy', 0.9)",
            "%lineage_model register tiny --owner ml@example.com --tag demo",
            "%lineage_model version tiny 1.0.0 --framework numpy --model-type least-squares",
            '%lineage_model gate --model tiny "accuracy >= 0.8"',
            '%lineage_model promote tiny SUBMITTED --actor ml@example.com --role owner --justification "ready"',
            '%lineage_model promote tiny APPROVED_STAGING --actor rev@example.com --role reviewer --justification "gate met"',
            '%lineage_model promote tiny PRODUCTION --actor rev@example.com --role reviewer --justification "skip"',
            "%lineage_model show tiny",
            "%lineage_model search tag:demo",
            "%lineage_model audit tiny",
        ]
    )
    assert "created in state DRAFT" in run.text(4)
    assert "is now APPROVED_STAGING" in run.text(7)
    assert (
        "cannot move from APPROVED_STAGING to PRODUCTION; allowed next: STAGING (by sre/admin)"
        in run.text(8)
    )
    assert "UsageError" in json.dumps(run.outputs(8)) and "Traceback" not in run.text(8)
    v = run.sql("SELECT * FROM model_versions WHERE model = 'tiny'").iloc[0]
    fit = run.sql("SELECT execution_id FROM runs WHERE name = 'fit'").iloc[0, 0]
    assert v["execution_id"] == fit
    assert json.loads(v["metrics"]) == {"accuracy": 0.9}
    training = json.loads(v["datasets"])["training"]
    assert {d["name"] for d in training} == {"X", "y"}
    assert all(d["fingerprint"].startswith("xxh3:") for d in training)
    assert v["framework"] == "numpy" and v["state"] == "APPROVED_STAGING"
    assert "gate passed" in run.text(11)


def test_cli_model_commands(tmp_path: Path) -> None:
    store = str(tmp_path / ".lineage")

    def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "jupyter_lineage.cli", "--store", store, "model", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check:
            assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    cli("register", "cli-model", "--owner", OWNER, "--risk-tier", "HIGH", "--tag", "cli")
    cli("version", "cli-model", "1.0.0", "--metrics", '{"accuracy": 0.7}')
    cli("gate", "--tier", "HIGH", "accuracy >= 0.8")
    cli(
        "promote",
        "cli-model",
        "SUBMITTED",
        "--actor",
        OWNER,
        "--role",
        "owner",
        "--justification",
        "ready",
    )
    blocked = cli(
        "promote",
        "cli-model",
        "APPROVED_STAGING",
        "--actor",
        "r@x.com",
        "--role",
        "reviewer",
        "--justification",
        "ok",
        check=False,
    )
    assert blocked.returncode == 2 and "blocked by failing gate" in blocked.stderr
    assert blocked.stderr.count("\n") == 1
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"w" * 1000)
    cli("artifact", "cli-model@1.0.0", str(weights))
    assert "0 problem(s)" in cli("verify", "cli-model").stdout
    assert "cli-model" in cli("search", "tag:cli").stdout
    assert "DRAFT -> SUBMITTED" in cli("audit", "cli-model").stdout
    shown = cli("show", "cli-model").stdout
    assert "SUBMITTED" in shown and "APPROVED_STAGING (reviewer/admin)" in shown
    bad = cli("search", "tag:cli AND", check=False)
    assert bad.returncode == 2 and "AND needs something on its right" in bad.stderr
