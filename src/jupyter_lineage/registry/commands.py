"""``model`` commands, shared by ``%lineage_model`` and ``jupyter-lineage model``: one parser, one runner."""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from ..errors import UsageError

EXAMPLES = {
    "register": "jupyter-lineage model register churn --owner ml@example.com --risk-tier HIGH --tag tabular",
    "version": "jupyter-lineage model version churn 1.0.0 --framework numpy --model-type logistic-regression",
    "promote": 'jupyter-lineage model promote churn@1.0.0 SUBMITTED --actor ml@example.com --role owner --justification "ready for review"',
    "gate": 'jupyter-lineage model gate --tier HIGH "accuracy >= 0.85"',
    "waive": 'jupyter-lineage model waive churn@1.0.0 accuracy --actor cro@example.com --reason "pilot" --days 14',
    "artifact": "jupyter-lineage model artifact churn@1.0.0 artifacts/churn.pkl --kind weights",
    "verify": "jupyter-lineage model verify churn@1.0.0",
    "search": 'jupyter-lineage model search "tag:tabular AND riskTier:HIGH"',
    "show": "jupyter-lineage model show churn",
    "audit": "jupyter-lineage model audit churn",
}


# What the magic reads as free text, verbatim to the end of its line (see ``magic_args``);
# the CLI gets its argv from the shell and reads these as any other argument.
TEXT_OPTIONS = {
    "register": ("--description",),
    "version": ("--intended-use", "--limitations", "--ethical-considerations"),
    "promote": ("--justification",),
    "waive": ("--reason",),
}
TEXT_POSITIONALS = {"search": "query"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, no exit: the magic and the CLI report it
        raise UsageError(f"{self.prog}: {message}")


def add_model_commands(sub: Any) -> dict[str, argparse.ArgumentParser]:
    """Add the ``model`` command group to an argparse subparsers object; returns each command's parser."""
    model = sub.add_parser(
        "model",
        help="the model registry: register, version, promote, search...",
        description="Models, versions, their reviewed lifecycle, gates, waivers and artifacts.",
        epilog="example: " + EXAMPLES["search"],
    )
    commands = model.add_subparsers(dest="model_command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    parsers: dict[str, argparse.ArgumentParser] = {}

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = commands.add_parser(
            name, help=help_, description=help_, epilog="example: " + EXAMPLES[name]
        )
        parsers[name] = p
        return p

    p = add("register", "register a model")
    p.add_argument("name")
    p.add_argument("--owner", action="append", required=True, help="owner email (repeatable)")
    p.add_argument("--group", default="default")
    p.add_argument("--description", default="")
    p.add_argument("--risk-tier", default="MEDIUM", help="LOW, MEDIUM or HIGH")
    p.add_argument("--tag", action="append", default=[])
    p.add_argument("--documentation-url")
    p.add_argument("--repository-url")
    p.add_argument("--exist-ok", action="store_true", help="no error if it is already registered")

    p = add("version", "add a version (DRAFT); unspecified fields come from lineage")
    p.add_argument("model", help="[GROUP/]NAME")
    p.add_argument(
        "version", help="semantic version, e.g. 1.0.0, or major/minor/patch to bump the latest"
    )
    p.add_argument(
        "--execution",
        help="training execution id (default: latest cell captured with --model NAME)",
    )
    p.add_argument("--commit")
    p.add_argument("--framework")
    p.add_argument("--framework-version")
    p.add_argument("--model-type")
    p.add_argument("--input-schema", help="JSON Schema (JSON text or @file.json)")
    p.add_argument("--output-schema", help="JSON Schema (JSON text or @file.json)")
    p.add_argument("--hyperparameters", help="JSON object")
    p.add_argument(
        "--metrics", help="JSON object of metric values (default: metrics logged on the execution)"
    )
    p.add_argument("--base-model", help="NAME@VERSION of the model this one was fine-tuned from")
    p.add_argument("--intended-use")
    p.add_argument("--limitations")
    p.add_argument("--ethical-considerations")

    p = add("promote", "move a version to another lifecycle state")
    p.add_argument("model", help="[GROUP/]NAME[@VERSION] (default: latest version)")
    p.add_argument("state", help="target state, e.g. SUBMITTED")
    p.add_argument("--actor", required=True)
    p.add_argument("--role", required=True, help="owner, reviewer, security, sre, auditor or admin")
    p.add_argument("--justification", required=True)
    p.add_argument("--allow-multiple-production", action="store_true")

    p = add("gate", "require metric thresholds before approval, for a model or a risk tier")
    p.add_argument("expression", help='e.g. "accuracy >= 0.85 and fairness_gap <= 0.05"')
    p.add_argument("--model")
    p.add_argument("--tier", help="LOW, MEDIUM or HIGH")

    p = add("waive", "record a waiver for a failing gate")
    p.add_argument("model", help="[GROUP/]NAME[@VERSION]")
    p.add_argument("metric")
    p.add_argument("--actor", required=True)
    p.add_argument("--reason", required=True)
    p.add_argument("--days", type=float, default=30.0, help="days until it expires (default 30)")

    p = add("artifact", "register a file (copied into the store) or a URI to a version")
    p.add_argument("model", help="[GROUP/]NAME[@VERSION]")
    p.add_argument("source", help="file path or URI")
    p.add_argument("--name")
    p.add_argument("--kind", default="weights")
    p.add_argument(
        "--reference", action="store_true", help="do not copy: record the path/URI and hash only"
    )
    p.add_argument("--sha256", help="required for remote URIs")

    p = add("verify", "re-hash a version's artifacts and report mismatches")
    p.add_argument("model", help="[GROUP/]NAME[@VERSION]")

    p = add("search", "search models")
    p.add_argument("query", nargs="+")

    p = add("show", "a model, its versions, their states and next allowed actions")
    p.add_argument("model")

    p = add("audit", "the audit trail: transitions, gate results, waivers, artifacts")
    p.add_argument("model", help="[GROUP/]NAME[@VERSION]")
    return parsers


def parse_magic_line(line: str) -> argparse.Namespace:
    """Parse ``%lineage_model COMMAND ...``: free texts as typed (``magic_args``), the rest as argv.

    Raises:
        UsageError: an unknown command or option, or a bad value; one line.
    """
    from ..magic_args import parse, syntax_of

    parser = _Parser(prog="%lineage_model", add_help=False)
    commands = add_model_commands(parser.add_subparsers(dest="command", parser_class=_Parser))
    command, rest = _first_word(line)
    if command not in commands:
        raise UsageError(
            f"%lineage_model: unknown command {command!r}; use one of "
            f"{', '.join([*commands, 'browse'])}, e.g. %lineage_model show NAME"
        )
    syntax = syntax_of(
        commands[command],
        f"%lineage_model {command}",
        text_options=TEXT_OPTIONS.get(command, ()),
        text_positional=TEXT_POSITIONALS.get(command),
    )
    return parse(parser, rest, syntax, prefix=["model", command])


def _first_word(line: str) -> tuple[str, str]:
    """A command word and the rest of the line after it, as typed."""
    match = re.match(r"\s*(\S*)(.*)", line, re.DOTALL)
    assert match is not None  # the pattern matches any text
    return match.group(1), match.group(2)


def browse_query(line: str) -> str | None:
    """The query of ``%lineage_model browse QUERY``, as typed; ``None`` for another command."""
    command, rest = _first_word(line)
    return rest.strip() if command == "browse" else None


def _json_arg(text: str | None, what: str) -> Any:
    if text is None:
        return None
    if text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise UsageError(f"cannot read {what} from {text[1:]}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{what} is not valid JSON: {exc}") from None


def run(args: argparse.Namespace) -> tuple[str, Any]:
    """Run a parsed ``model`` command; returns (a one-line message, a result to show)."""
    from . import api, artifacts

    c = args.model_command
    if c == "register":
        m = api.register_model(
            args.name,
            args.owner,
            group=args.group,
            description=args.description,
            risk_tier=args.risk_tier,
            tags=args.tag,
            documentation_url=args.documentation_url,
            repository_url=args.repository_url,
            exist_ok=args.exist_ok,
        )
        return f"registered {m['group_name']}/{m['name']} (risk tier {m['risk_tier']})", m
    if c == "version":
        v = api.create_version(
            args.model,
            args.version,
            execution_id=args.execution,
            commit_sha=args.commit,
            framework=args.framework,
            framework_version=args.framework_version,
            model_type=args.model_type,
            input_schema=_json_arg(args.input_schema, "--input-schema"),
            output_schema=_json_arg(args.output_schema, "--output-schema"),
            hyperparameters=_json_arg(args.hyperparameters, "--hyperparameters"),
            metrics=_json_arg(args.metrics, "--metrics"),
            base_model=args.base_model,
            intended_use=args.intended_use,
            limitations=args.limitations,
            ethical_considerations=args.ethical_considerations,
        )
        return f"{v['model']} {v['version']} created in state {v['state']}", v
    if c == "promote":
        v = api.transition(
            args.model,
            args.state,
            actor=args.actor,
            role=args.role,
            justification=args.justification,
            allow_multiple_production=args.allow_multiple_production,
        )
        return f"{v['model']} {v['version']} is now {v['state']}", v
    if c == "gate":
        gates = api.set_gate(args.expression, model=args.model, risk_tier=args.tier)
        scope = f"model {args.model}" if args.model else f"risk tier {args.tier}"
        return f"{len(gates)} gate(s) set for {scope}", gates
    if c == "waive":
        w = api.waive(
            args.model, args.metric, actor=args.actor, reason=args.reason, expires_in_days=args.days
        )
        return f"waiver recorded for {args.metric} until {w['expires_at']}", w
    if c == "artifact":
        a = artifacts.add_artifact(
            args.model,
            args.source,
            name=args.name,
            kind=args.kind,
            copy=not args.reference,
            sha256=args.sha256,
        )
        return f"artifact {a['name']} registered, sha256 {a['sha256']}", a
    if c == "verify":
        results = artifacts.verify(args.model)
        bad = [r for r in results if r["ok"] is False]
        return (f"{len(results)} artifact(s) checked, {len(bad)} problem(s)", results)
    if c == "search":
        df = api.search(" ".join(args.query))
        return f"{len(df)} model(s)", df
    if c == "show":
        info = api.show(args.model)
        return (
            f"{info['model']['group_name']}/{info['model']['name']}: {len(info['versions'])} version(s)",
            info,
        )
    if c == "audit":
        df = api.audit_trail(args.model)
        return f"{len(df)} audit event(s)", df
    raise UsageError(f"unknown model command {c!r}")
