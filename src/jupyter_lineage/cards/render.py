"""Render card data as one self-contained HTML file, or as Markdown.

Every user-supplied string is escaped; Markdown from annotations is rendered with
raw HTML disabled, so an annotation can never inject markup or script.
"""

from __future__ import annotations

import html
import json
from typing import Any

from . import figures
from .check import missing_sections

_CSS = """
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#fff; --accent:#0969da; --bad:#cf222e; --good:#1a7f37; --warn:#9a6700; }
* { box-sizing: border-box; }
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg); background: var(--bg); margin: 0; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 32px 64px; }
header.card-head { border-bottom: 2px solid var(--line); margin-bottom: 16px; }
h1 { font-size: 28px; margin: 0 0 4px; } h2 { font-size: 20px; border-bottom: 1px solid var(--line); padding-bottom: 4px; margin-top: 32px; }
.sub { color: var(--muted); margin: 0 0 12px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; border: 1px solid var(--line); font-size: 12px; margin-right: 4px; }
.badge.state { background: #ddf4ff; } .badge.HIGH { background: #ffebe9; } .badge.failed, .badge.FAIL { background: #ffebe9; color: var(--bad); }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 14px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; width: 22%; }
.empty { color: var(--warn); font-style: italic; }
.failed { color: var(--bad); }
pre, code { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
pre { background: #f6f8fa; padding: 8px; overflow-x: auto; white-space: pre-wrap; }
.note { border-left: 3px solid var(--accent); padding: 2px 12px; margin: 8px 0; }
.note.failed_attempt { border-color: var(--bad); }
.note .meta { color: var(--muted); font-size: 12px; }
nav.toc a { margin-right: 10px; font-size: 13px; }
details summary { cursor: pointer; color: var(--accent); }
.missing { background: #fff8c5; border: 1px solid #d4a72c; padding: 8px 12px; }
@media print {
  nav.toc, details summary { display: none; }
  details > * { display: block !important; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; } table, .figure, .note { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""

TITLES = {
    "model_details": "Model details",
    "intended_use": "Intended use",
    "factors": "Factors",
    "metrics": "Metrics",
    "training_data": "Training data",
    "quantitative_analyses": "Quantitative analyses",
    "ethical_considerations": "Ethical considerations",
    "lineage": "Lineage",
    "rationale": "Design rationale and alternatives",
    "failed_attempts": "Failed attempts",
    "environment": "Environment",
    "lifecycle": "Lifecycle and audit trail",
    "reproduction": "Reproduction",
}


def e(value: Any) -> str:
    """Escape anything for HTML text or attribute context."""
    if value is None:
        return ""
    return html.escape(str(value), quote=True)


def markdown(text: str | None) -> str:
    """Markdown → HTML with raw HTML disabled and unsafe links refused."""
    if not text:
        return ""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False}).render(text)


def _rows(pairs: list[tuple[str, Any]]) -> str:
    out = []
    for key, value in pairs:
        if value in (None, "", [], {}):
            continue
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = json.dumps(value, indent=1, sort_keys=True)
            out.append(f"<tr><th>{e(key)}</th><td><pre>{e(value)}</pre></td></tr>")
            continue
        out.append(f"<tr><th>{e(key)}</th><td>{e(value)}</td></tr>")
    return (
        "<table>" + "".join(out) + "</table>" if out else '<p class="empty">Nothing recorded.</p>'
    )


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    if not rows:
        return '<p class="empty">Nothing recorded.</p>'
    head = "".join(f"<th>{e(title)}</th>" for _, title in columns)
    body = []
    for r in rows:
        css = (
            ' class="failed"'
            if r.get("status") in ("failed", "interrupted") or r.get("outcome") == "failed"
            else ""
        )
        cells = "".join(f"<td>{e(_fmt(r.get(key)))}</td>" for key, _ in columns)
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return value


def _notes(items: list[dict[str, Any]], text_key: str = "text") -> str:
    if not items:
        return '<p class="empty">Nothing recorded.</p>'
    out = []
    for a in items:
        label = a.get("kind") or a.get("origin") or ""
        meta = " · ".join(
            e(x) for x in (label, a.get("author"), a.get("created_at") or a.get("started_at")) if x
        )
        question = f"<strong>{e(a['question'])}</strong>" if a.get("question") else ""
        out.append(
            f'<div class="note {e(label)}"><div class="meta">{meta} {question}</div>{markdown(a.get(text_key))}</div>'
        )
    return "".join(out)


class _Figures:
    """Embeds plotly figures; plotly.js is inlined once, with the first figure, so the file works offline."""

    def __init__(self, embed: bool = True) -> None:
        self.inlined = False
        self.embed = embed
        self.count = 0

    def __call__(self, fig: Any, name: str) -> str:
        if fig is None or not self.embed:
            return ""
        self.count += 1
        div = fig.to_html(
            full_html=False,
            include_plotlyjs=not self.inlined,
            div_id=f"figure-{name}",
            config={"displaylogo": False, "responsive": True},
        )
        self.inlined = True
        return f'<div class="figure" data-figure="{e(name)}">{div}</div>'


def render_html(card: dict[str, Any], *, embed_figures: bool = True) -> str:
    """The whole card as one self-contained HTML document (opens offline; prints cleanly).

    ``embed_figures=False`` leaves the figures out (a notebook displays them itself).
    """
    d = card["model_details"]
    fig = _Figures(embed_figures)
    title = f"{d['name']} {d.get('version') or ''}".strip()
    missing = missing_sections(card)
    parts: list[str] = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<meta name='generator' content='jupyter-lineage'><title>Model card: {e(title)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        '<header class="card-head">',
        f"<h1>Model card: {e(title)}</h1>",
        '<p class="sub">',
        f'<span class="badge state">{e(d.get("state") or "not registered")}</span>',
        f'<span class="badge {e(d.get("risk_tier"))}">risk {e(d.get("risk_tier") or "unknown")}</span>',
        "".join(f'<span class="badge">{e(t)}</span>' for t in d.get("tags") or []),
        "</p>",
        f"<p>{e(d.get('description'))}</p>" if d.get("description") else "",
        "</header>",
        '<nav class="toc">'
        + "".join(f'<a href="#{k}">{e(v)}</a>' for k, v in TITLES.items())
        + "</nav>",
    ]
    if missing:
        items = "".join(f"<li><strong>{e(TITLES[s])}</strong>: {e(how)}</li>" for s, how in missing)
        parts.append(
            f'<div class="missing" id="missing-sections"><strong>Incomplete card.</strong><ul>{items}</ul></div>'
        )

    def section(key: str, body: str) -> None:
        parts.append(f'<section id="{key}"><h2>{e(TITLES[key])}</h2>{body}</section>')

    section(
        "model_details",
        _rows(
            [
                ("Name", f"{d.get('group') + '/' if d.get('group') else ''}{d['name']}"),
                ("Version", d.get("version")),
                ("State", d.get("state")),
                ("Type", d.get("model_type")),
                (
                    "Framework",
                    " ".join(x for x in (d.get("framework"), d.get("framework_version")) if x),
                ),
                ("Owners", d.get("owners")),
                ("Risk tier", d.get("risk_tier")),
                ("Created", d.get("created_at")),
                ("Registered", d.get("registered_at")),
                ("Commit", d.get("commit")),
                ("License", d.get("license")),
                ("Base model", d.get("base_model")),
                ("Repository", d.get("repository_url")),
                ("Documentation", d.get("documentation_url")),
                ("Hyperparameters", d.get("hyperparameters")),
                ("Input schema", d.get("input_schema")),
                ("Output schema", d.get("output_schema")),
                ("Training execution", d.get("training_execution")),
                ("Notebook", d.get("notebook")),
            ]
        ),
    )
    iu = card["intended_use"]
    section(
        "intended_use",
        _rows(
            [
                ("Primary uses", iu.get("primary_uses")),
                ("Primary users", iu.get("primary_users")),
                ("Out of scope", iu.get("out_of_scope")),
            ]
        )
        + markdown(iu.get("text")),
    )
    factors = card["factors"]
    section(
        "factors",
        _rows([("Groups evaluated", factors.get("groups"))]) + markdown(factors.get("text")),
    )
    metric_rows = [
        {
            **m,
            "gate": f"{m['gate']['op']} {m['gate']['threshold']:g}" if m.get("gate") else "",
            "ci": f"[{m['ci_low']:.4g}, {m['ci_high']:.4g}]"
            if m.get("ci_low") is not None and m.get("ci_high") is not None
            else "",
        }
        for m in card["metrics"]
    ]
    section(
        "metrics",
        _table(
            metric_rows,
            [
                ("name", "Metric"),
                ("value", "Value"),
                ("ci", "Confidence interval"),
                ("gate", "Gate"),
                ("datasets", "Evaluated on"),
            ],
        )
        + fig(figures.metrics_figure(card), "metrics")
        + fig(figures.history_figure(card), "history"),
    )
    td = card["training_data"]
    section(
        "training_data",
        _table(
            td["datasets"],
            [
                ("role", "Role"),
                ("kind", "Kind"),
                ("name", "Name / path"),
                ("path", "Path"),
                ("sha256", "SHA-256"),
                ("fingerprint", "Fingerprint"),
                ("shape", "Shape"),
            ],
        )
        + "<h3>Preprocessing</h3>"
        + "".join(
            f"<details><summary>[{e(p.get('execution_count'))}] {e(p.get('name') or 'cell')}</summary><pre>{e(p.get('source'))}</pre></details>"
            for p in td["preprocessing"]
        )
        + ("" if td["preprocessing"] else '<p class="empty">No preprocessing cells recorded.</p>'),
    )
    section(
        "quantitative_analyses",
        _table(
            card["quantitative_analyses"],
            [("metric", "Metric"), ("group", "Group"), ("value", "Value")],
        )
        + fig(figures.groups_figure(card), "groups"),
    )
    ec = card["ethical_considerations"]
    body = "".join(
        f"<h3>{e(label)}</h3>{markdown(ec.get(key))}"
        for key, label in (
            ("text", "Considerations"),
            ("risks", "Risks and mitigations"),
            ("limitations", "Limitations"),
            ("data_quality", "Data quality"),
        )
        if ec.get(key)
    )
    section("ethical_considerations", body or '<p class="empty">Nothing recorded.</p>')
    lineage_fig = figures.lineage_figure(card)
    section(
        "lineage",
        (fig(lineage_fig, "lineage") if lineage_fig is not None else "")
        + _table(
            card["lineage"]["executions"],
            [
                ("execution_count", "Cell"),
                ("name", "Name"),
                ("status", "Status"),
                ("started_at", "Started"),
                ("execution_id", "Execution"),
            ],
        ),
    )
    section("rationale", _notes(card["rationale"]))
    section(
        "failed_attempts",
        "".join(
            f'<div class="note failed_attempt"><div class="meta">{e(f.get("origin"))} · {e(f.get("name") or "")} · {e(f.get("started_at"))}</div>'
            f"<p class='failed'>{e(f.get('error_type'))} {e(f.get('error_message'))}</p>{markdown(f.get('explanation'))}</div>"
            for f in card["failed_attempts"]
        )
        or '<p class="empty">No failed attempts recorded.</p>',
    )
    env = card["environment"]
    if env:
        packages = env.get("packages") or []
        section(
            "environment",
            _rows(
                [
                    (
                        "Python",
                        f"{env.get('python_implementation') or ''} {env.get('python_version') or ''}",
                    ),
                    ("Platform", env.get("platform")),
                    ("CPU", f"{env.get('cpu_model') or ''}, {env.get('cpu_count') or '?'} cores"),
                    ("RAM", f"{(env.get('ram_bytes') or 0) / 2**30:.1f} GiB"),
                    ("GPUs", [g.get("name") for g in env.get("gpus") or []]),
                    (
                        "Git",
                        f"{env.get('git_commit') or ''} {'(dirty)' if env.get('git_dirty') else ''} {env.get('git_branch') or ''}",
                    ),
                    ("Environment variables", env.get("env_vars")),
                    ("Environment id", env.get("environment_id")),
                ]
            )
            + f"<details><summary>{len(packages)} packages</summary>"
            + _table(packages, [("name", "Package"), ("version", "Version")])
            + "</details>",
        )
    else:
        section("environment", '<p class="empty">Nothing recorded.</p>')
    life = card.get("lifecycle")
    if life:
        section(
            "lifecycle",
            _rows([("State", life["state"])])
            + "<h3>Transitions</h3>"
            + _table(
                life["transitions"],
                [
                    ("occurred_at", "When"),
                    ("from_state", "From"),
                    ("to_state", "To"),
                    ("actor", "Actor"),
                    ("role", "Role"),
                    ("justification", "Justification"),
                ],
            )
            + "<h3>Gate results</h3>"
            + _table(
                life["gate_results"],
                [
                    ("occurred_at", "When"),
                    ("target_state", "For"),
                    ("metric", "Metric"),
                    ("op", "Op"),
                    ("threshold", "Threshold"),
                    ("value", "Value"),
                    ("outcome", "Outcome"),
                ],
            )
            + "<h3>Waivers</h3>"
            + _table(
                life["waivers"],
                [
                    ("metric", "Metric"),
                    ("actor", "By"),
                    ("reason", "Reason"),
                    ("expires_at", "Expires"),
                ],
            )
            + "<h3>Artifacts</h3>"
            + _table(
                life["artifacts"],
                [("name", "Name"), ("kind", "Kind"), ("sha256", "SHA-256"), ("size", "Bytes")],
            ),
        )
    else:
        section("lifecycle", '<p class="empty">Not registered yet: no lifecycle.</p>')
    rep = card.get("reproduction")
    section(
        "reproduction",
        (
            _rows(
                [
                    ("Notebook", rep.get("notebook")),
                    ("Commit", rep.get("commit")),
                    ("Python", rep.get("python")),
                ]
            )
            + "<pre>"
            + e("\n".join(rep["steps"]))
            + "</pre>"
        )
        if rep
        else '<p class="empty">Nothing recorded.</p>',
    )
    parts.append(
        f"<footer class='sub'>Generated by jupyter-lineage from the recorded lineage of {e(card.get('generated_for'))}.</footer>"
    )
    parts.append("</main></body></html>")
    return "\n".join(parts)


def render_markdown(card: dict[str, Any]) -> str:
    """The card as Markdown (text only: figures are in the HTML)."""
    d = card["model_details"]

    def md(value: Any) -> str:
        text = "" if value is None else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [f"# Model card: {md(d['name'])} {md(d.get('version') or '')}".rstrip(), ""]
    lines += [
        f"- **{k}:** {md(v if not isinstance(v, list) else ', '.join(map(str, v)))}"
        for k, v in (
            ("State", d.get("state")),
            ("Owners", d.get("owners")),
            ("Risk tier", d.get("risk_tier")),
            ("Type", d.get("model_type")),
            ("Framework", d.get("framework")),
            ("Commit", d.get("commit")),
            ("Repository", d.get("repository_url")),
            ("Notebook", d.get("notebook")),
            ("License", d.get("license")),
        )
        if v
    ]
    lines += [
        "",
        "## Intended use",
        "",
        md(card["intended_use"].get("primary_uses") or "_Nothing recorded._"),
        "",
    ]
    lines += ["## Metrics", "", "| metric | value | gate |", "|---|---|---|"]
    lines += [
        f"| {md(m['name'])} | {m['value']:.4g} | {md(m['gate']['op'] + ' ' + format(m['gate']['threshold'], 'g')) if m.get('gate') else ''} |"
        for m in card["metrics"]
        if m.get("value") is not None
    ]
    lines += ["", "## Training data", "", "| role | name | hash |", "|---|---|---|"]
    lines += [
        f"| {md(x.get('role'))} | {md(x.get('name') or x.get('path'))} | {md(x.get('sha256') or x.get('fingerprint'))} |"
        for x in card["training_data"]["datasets"]
    ]
    ec = card["ethical_considerations"]
    lines += ["", "## Ethical considerations", ""]
    lines += [f"{v}" for v in (ec.get("text"), ec.get("risks"), ec.get("limitations")) if v] or [
        "_Nothing recorded._"
    ]
    lines += ["", "## Design rationale", ""]
    lines += [
        f"- **{md(a['kind'])}** ({md(a.get('author'))}): {md(a['text'])}" for a in card["rationale"]
    ] or ["_Nothing recorded._"]
    lines += ["", "## Failed attempts", ""]
    lines += [
        f"- {md(f.get('name'))}: {md(f.get('error_type'))} {md(f.get('error_message'))} {md(f.get('explanation'))}"
        for f in card["failed_attempts"]
    ] or ["_None recorded._"]
    rep = card.get("reproduction")
    if rep:
        lines += ["", "## Reproduction", "", "```", *rep["steps"], "```"]
    missing = missing_sections(card)
    if missing:
        lines += ["", "## Missing", ""] + [f"- {s}: {how}" for s, how in missing]
    return "\n".join(lines) + "\n"
