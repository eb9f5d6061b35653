"""Render card data as one self-contained HTML file, as HTML for a notebook's output, or as
Markdown.

Every user-supplied string is escaped; Markdown from annotations is rendered with
raw HTML disabled, so an annotation can never inject markup or script. Tables fit the
page: long values wrap, hashes are shortened (the whole value on hover, and a copy
button where script runs), and no column repeats another.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from . import figures
from .check import missing_sections

# One look, written once and used two ways: as the stylesheet of the HTML document (by
# class), and as style attributes on each element of the inline card a notebook shows,
# since JupyterLab's sanitiser drops <style> from untrusted output but keeps style
# attributes whose properties and values are on its allow-list. Everything here is on it;
# where a better value is not (``overflow-wrap:anywhere``), the allowed one comes first and
# the better one second: the sanitiser keeps the first, a browser uses the last it knows.
# Cells say ``text-align:left`` themselves because JupyterLab right-aligns table cells.
_WRAP = "overflow-wrap:break-word;overflow-wrap:anywhere"
_CELL = f"border:1px solid #d1d9e0;padding:4px 8px;text-align:left;vertical-align:top;{_WRAP}"
_MONO = "font-family:ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;font-size:12.5px"
STYLES: dict[str, str] = {
    "card": "text-align:left;color:#1f2328;line-height:1.5",
    "card-head": "border-bottom:2px solid #d1d9e0;margin-bottom:16px",
    "h1": "font-size:26px;line-height:1.25;margin:0 0 6px;text-align:left",
    "h2": "font-size:20px;border-bottom:1px solid #d1d9e0;padding-bottom:4px;margin:32px 0 8px;text-align:left",
    "h3": "font-size:16px;margin:16px 0 6px;text-align:left",
    "sub": "color:#59636e;margin:0 0 12px;text-align:left",
    "badge": "display:inline-block;padding:1px 8px;border-radius:10px;border:1px solid #d1d9e0;"
    "font-size:12px;line-height:18px;margin:0 6px 6px 0;background-color:#f6f8fa",
    "badge-state": "background-color:#ddf4ff",
    "badge-high": "background-color:#ffebe9",
    "toc": "margin:0 0 12px;text-align:left",
    "toc-link": "display:inline-block;margin:0 14px 4px 0;font-size:13px",
    "table": "border-collapse:collapse;width:100%;table-layout:fixed;margin:8px 0;font-size:14px",
    "th": f"{_CELL};background-color:#f6f8fa;font-weight:600",
    "td": _CELL,
    "failed": "color:#cf222e",
    "empty": "color:#9a6700;font-style:italic;text-align:left",
    "muted": "color:#59636e;font-size:12px",
    "hash": f"{_MONO};white-space:nowrap",
    "copy": "font-size:11px;line-height:16px;margin:0 0 0 6px;padding:0 6px;cursor:pointer;"
    "border:1px solid #d1d9e0;border-radius:4px;background-color:#f6f8fa",
    "pre": f"{_MONO};line-height:1.4;background-color:#f6f8fa;padding:8px;margin:4px 0;"
    f"white-space:pre-wrap;{_WRAP};text-align:left",
    "note": f"border-left:3px solid #0969da;padding:2px 12px;margin:8px 0;text-align:left;{_WRAP}",
    "note-failed": "border-left:3px solid #cf222e",
    "missing": "background-color:#fff8c5;border:1px solid #d4a72c;padding:8px 12px;text-align:left",
    "figure": "margin:12px 0;max-width:100%",
    "summary": "cursor:pointer;color:#0969da",
    "footer": "color:#59636e;margin:32px 0 0;font-size:13px",
}
_DOCUMENT_CSS = """
* { box-sizing: border-box; }
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; background: #fff; margin: 0; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 32px 64px; }
@media (max-width: 720px) { main { padding: 16px; } }
.toc-link { color: #0969da; }
.copy[hidden] { display: none; }
svg a .node-label { text-decoration: underline; }
@media print {
  nav.toc, details summary, .copy { display: none !important; }
  details > * { display: block !important; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; } table, .figure, .note { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""
# Copy buttons stay hidden without script; the full value is on the shortened one's hover.
_COPY_SCRIPT = """
document.querySelectorAll("button.copy").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    var text = button.getAttribute("data-copy");
    function done() { button.textContent = "copied"; setTimeout(function () { button.textContent = "copy"; }, 1500); }
    function fallback() {
      var area = document.createElement("textarea");
      area.value = text; document.body.appendChild(area); area.select();
      try { document.execCommand("copy"); done(); } finally { area.remove(); }
    }
    if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done, fallback); }
    else { fallback(); }
  });
});
"""


def stylesheet() -> str:
    """The HTML document's stylesheet: the shared look by class, and what only a page has."""
    return "".join(f".{name}{{{css}}}" for name, css in STYLES.items()) + _DOCUMENT_CSS


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


class _Look:
    """How an element gets its look: a class of the document's stylesheet, or (``inline``) the
    same declarations as its own style attribute."""

    def __init__(self, inline: bool) -> None:
        self.inline = inline

    def __call__(self, *names: str) -> str:
        known = [n for n in names if n in STYLES]
        if not known:
            return ""
        if self.inline:
            return f' style="{e(";".join(STYLES[n] for n in known))}"'
        return f' class="{" ".join(known)}"'


Cell = Callable[[dict[str, Any]], str]
HASH_CHARS = 12


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return value


def when(value: Any) -> str:
    """A recorded time, as a reader takes it in (to the second, in UTC), the exact value on hover."""
    if not value:
        return ""
    text = str(value)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return e(text)
    shown = (
        moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        if moment.tzinfo
        else moment.strftime("%Y-%m-%d %H:%M:%S")
    )
    return f'<time datetime="{e(text)}" title="{e(text)}">{e(shown)}</time>'


class _Page:
    """The card's body, written once for the HTML document and for a notebook's inline card."""

    def __init__(self, card: dict[str, Any], inline: bool) -> None:
        self.card = card
        self.inline = inline
        self.look = _Look(inline)

    # -- pieces ------------------------------------------------------------------------------

    def empty(self, text: str = "Nothing recorded.") -> str:
        return f"<p{self.look('empty')}>{e(text)}</p>"

    def hashed(self, value: Any) -> str:
        """A hash shortened to its algorithm and first hex digits, the whole on hover and a copy button."""
        if not value:
            return ""
        full = str(value)
        algorithm, sep, digest = full.rpartition(":")
        short = f"{algorithm}{sep}{digest[:HASH_CHARS]}"
        short += "\u2026" if len(digest) > HASH_CHARS else ""
        out = f'<code{self.look("hash")} title="{e(full)}">{e(short)}</code>'
        if not self.inline:  # a notebook's output runs no script
            out += f'<button type="button"{self.look("copy")} data-copy="{e(full)}" hidden title="copy {e(full)}">copy</button>'
        return out

    def rows(self, pairs: list[tuple[str, Any]]) -> str:
        """A two-column table of facts; a value is text, or markup when ``_Markup``."""
        out = []
        for key, value in pairs:
            if value in (None, "", [], {}):
                continue
            if isinstance(value, _Markup):
                cell = str(value)
            elif isinstance(value, dict):
                cell = (
                    f"<pre{self.look('pre')}>{e(json.dumps(value, indent=1, sort_keys=True))}</pre>"
                )
            else:
                cell = e(_fmt(value))
            out.append(
                f"<tr><th{self.look('th')}>{e(key)}</th><td{self.look('td')}>{cell}</td></tr>"
            )
        if not out:
            return self.empty()
        return (
            f'<table{self.look("table")}><colgroup><col style="width:24%"><col></colgroup>'
            + "".join(out)
            + "</table>"
        )

    def table(
        self,
        rows: list[dict[str, Any]],
        columns: list[tuple[str, int, str | Cell]],
        row_id: Callable[[dict[str, Any]], str | None] | None = None,
    ) -> str:
        """Rows under ``columns``: (title, width in percent, key or cell function)."""
        if not rows:
            return self.empty()
        cols = "".join(f'<col style="width:{width}%">' for _, width, _ in columns)
        head = "".join(f"<th{self.look('th')}>{e(title)}</th>" for title, _, _ in columns)
        body = []
        for r in rows:
            failed = r.get("status") in ("failed", "interrupted") or r.get("outcome") == "failed"
            anchor = row_id(r) if row_id else None
            attrs = (f' id="{e(anchor)}"' if anchor else "") + (
                self.look("failed") if failed else ""
            )
            cells = "".join(
                f"<td{self.look('td')}>{how(r) if callable(how) else e(_fmt(r.get(how)))}</td>"
                for _, _, how in columns
            )
            body.append(f"<tr{attrs}>{cells}</tr>")
        return (
            f"<table{self.look('table')}><colgroup>{cols}</colgroup>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )

    def notes(self, items: list[dict[str, Any]], text_key: str = "text") -> str:
        if not items:
            return self.empty()
        out = []
        for a in items:
            label = a.get("kind") or a.get("origin") or ""
            meta = " · ".join(
                x
                for x in (
                    e(label),
                    e(a.get("author")),
                    when(a.get("created_at") or a.get("started_at")),
                )
                if x
            )
            question = f" <strong>{e(a['question'])}</strong>" if a.get("question") else ""
            look = self.look("note", "note-failed" if label == "failed_attempt" else "")
            out.append(
                f"<div{look}><div{self.look('muted')}>{meta}{question}</div>{markdown(a.get(text_key))}</div>"
            )
        return "".join(out)

    def figure(self, svg: str | None, name: str, alt: str) -> str:
        """A picture: inline SVG in the document; in a notebook an image of it, since the
        sanitiser keeps no SVG element in untrusted output but keeps an image's data URI."""
        if not svg:
            return ""
        if self.inline:
            data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
            body = (
                f'<img src="data:image/svg+xml;base64,{data}" alt="{e(alt)}" title="{e(alt)}" '
                'style="max-width:100%;height:auto">'
            )
        else:
            body = svg
        return f'<div{self.look("figure")} data-figure="{e(name)}">{body}</div>'

    # -- the body ----------------------------------------------------------------------------

    def body(self) -> str:
        card, look = self.card, self.look
        d = card["model_details"]
        title = f"{d['name']} {d.get('version') or ''}".strip()
        risk = d.get("risk_tier")
        parts = [
            f"<header{look('card-head')}>",
            f"<h1{look('h1')}>Model card: {e(title)}</h1>",
            f"<p{look('sub')}>",
            f"<span{look('badge', 'badge-state')}>{e(d.get('state') or 'not registered')}</span>",
            f"<span{look('badge', 'badge-high' if risk == 'HIGH' else '')}>risk {e(risk or 'unknown')}</span>",
            "".join(f"<span{look('badge')}>{e(t)}</span>" for t in d.get("tags") or []),
            "</p>",
            f"<p{look('sub')}>{e(d.get('description'))}</p>" if d.get("description") else "",
            "</header>",
        ]
        if not self.inline:  # the sanitiser renames ids in untrusted output: links would go nowhere
            parts.append(
                f"<nav{look('toc')}>"
                + "".join(f'<a{look("toc-link")} href="#{k}">{e(v)}</a>' for k, v in TITLES.items())
                + "</nav>"
            )
        missing = missing_sections(card)
        if missing:
            items = "".join(
                f"<li><strong>{e(TITLES[s])}</strong>: {e(how)}</li>" for s, how in missing
            )
            parts.append(
                f'<div{look("missing")} id="missing-sections"><strong>Incomplete card.</strong><ul>{items}</ul></div>'
            )

        def section(key: str, content: str) -> None:
            parts.append(
                f'<section id="{key}"><h2{look("h2")}>{e(TITLES[key])}</h2>{content}</section>'
            )

        section("model_details", self.details(d))
        iu = card["intended_use"]
        section(
            "intended_use",
            self.rows(
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
            self.rows([("Groups evaluated", factors.get("groups"))])
            + markdown(factors.get("text")),
        )
        section("metrics", self.metrics())
        section("training_data", self.training_data())
        section(
            "quantitative_analyses",
            self.table(
                card["quantitative_analyses"],
                [("Metric", 40, "metric"), ("Group", 35, "group"), ("Value", 25, "value")],
            )
            + self.figure(figures.groups_svg(card), "groups", "Metrics per group"),
        )
        ec = card["ethical_considerations"]
        considered = "".join(
            f"<h3{look('h3')}>{e(label)}</h3>{markdown(ec.get(key))}"
            for key, label in (
                ("text", "Considerations"),
                ("risks", "Risks and mitigations"),
                ("limitations", "Limitations"),
                ("data_quality", "Data quality"),
            )
            if ec.get(key)
        )
        section("ethical_considerations", considered or self.empty())
        section("lineage", self.lineage())
        section("rationale", self.notes(card["rationale"]))
        section("failed_attempts", self.failed_attempts())
        section("environment", self.environment())
        section("lifecycle", self.lifecycle())
        section("reproduction", self.reproduction())
        parts.append(
            f"<footer{look('footer')}>Generated by jupyter-lineage from the recorded lineage of "
            f"{e(card.get('generated_for'))}.</footer>"
        )
        return "\n".join(parts)

    def details(self, d: dict[str, Any]) -> str:
        name = f"{d['group']}/{d['name']}" if d.get("group") else d["name"]
        version = f"version {d['version']}" if d.get("version") else "this model"
        return self.rows(
            [
                ("Name", name),
                ("Version", d.get("version")),
                ("State", d.get("state")),
                ("Type", d.get("model_type")),
                (
                    "Framework",
                    " ".join(x for x in (d.get("framework"), d.get("framework_version")) if x),
                ),
                ("Owners", d.get("owners")),
                ("Risk tier", d.get("risk_tier")),
                (f"Created ({version})", _Markup(when(d.get("created_at")))),
                (f"Registered (model {d['name']})", _Markup(when(d.get("registered_at")))),
                ("Commit", _Markup(self.hashed(d.get("commit")))),
                ("License", d.get("license")),
                ("Base model", d.get("base_model")),
                ("Repository", d.get("repository_url")),
                ("Documentation", d.get("documentation_url")),
                ("Hyperparameters", d.get("hyperparameters")),
                ("Input schema", d.get("input_schema")),
                ("Output schema", d.get("output_schema")),
                ("Training execution", _Markup(self.run_link(d.get("training_execution")))),
                ("Notebook", d.get("notebook")),
            ]
        )

    def run_link(self, execution_id: Any) -> str:
        """An execution id, shortened, linking to its row in the lineage table when it has one."""
        if not execution_id:
            return ""
        code = self.hashed(execution_id)
        listed = {x.get("execution_id") for x in self.card["lineage"]["executions"]}
        if self.inline or execution_id not in listed:
            return code
        return f'<a href="#run-{e(execution_id)}">{code}</a>'

    def metrics(self) -> str:
        def interval(m: dict[str, Any]) -> str:
            if m.get("ci_low") is None or m.get("ci_high") is None:
                return ""
            return e(f"{m['ci_low']:.4g} \u2013 {m['ci_high']:.4g}")

        def gate(m: dict[str, Any]) -> str:
            g = m.get("gate")
            if not g:
                return ""
            met = figures.gate_met(m["value"], g) if m.get("value") is not None else None
            verdict = {True: " (met)", False: " (not met)", None: ""}[met]
            return e(f"{g['op']} {g['threshold']:g}{verdict}")

        return (
            self.table(
                self.card["metrics"],
                [
                    ("Metric", 22, "name"),
                    ("Value", 14, "value"),
                    ("Confidence interval", 22, interval),
                    ("Gate", 20, gate),
                    ("Evaluated on", 22, "datasets"),
                ],
            )
            + self.figure(figures.metrics_svg(self.card), "metrics", "Metrics against their gates")
            + self.figure(
                figures.history_svg(self.card), "history", "Metric history across attempts"
            )
        )

    def training_data(self) -> str:
        td = self.card["training_data"]

        def data(x: dict[str, Any]) -> str:
            name, path = x.get("name"), x.get("path")
            shown = e(name or path)
            if name and path and path != name:  # a value's name, and where it was read from
                shown += f"<br><span{self.look('muted')}>{e(path)}</span>"
            return shown

        def kind(x: dict[str, Any]) -> str:
            return e(" \u00b7 ".join(str(v) for v in (x.get("kind"), x.get("type")) if v))

        def extent(x: dict[str, Any]) -> str:
            if x.get("shape"):
                return e(x["shape"])
            return e(f"{x['size']:,} bytes") if isinstance(x.get("size"), int) else ""

        def content(x: dict[str, Any]) -> str:
            if x.get("sha256"):
                return self.hashed(f"sha256:{x['sha256']}")
            return self.hashed(x.get("fingerprint"))

        steps = td["preprocessing"]
        return (
            self.table(
                td["datasets"],
                [
                    ("Role", 12, "role"),
                    ("Data", 30, data),
                    ("Kind", 20, kind),
                    ("Shape or size", 14, extent),
                    ("Content hash", 24, content),
                ],
            )
            + f"<h3{self.look('h3')}>Preprocessing</h3>"
            + "".join(
                f"<details><summary{self.look('summary')}>[{e(p.get('execution_count'))}] {e(p.get('name') or 'cell')}</summary>"
                f"<pre{self.look('pre')}>{e(p.get('source'))}</pre></details>"
                for p in steps
            )
            + ("" if steps else self.empty("No preprocessing cells recorded."))
        )

    def lineage(self) -> str:
        runs = self.card["lineage"]["executions"]
        svg = None
        drawn = figures.lineage_view(self.card)
        if drawn is not None:
            view, layout = drawn
            listed = {x.get("execution_id") for x in runs}
            links = {}
            if not self.inline:
                for node in view.nodes:
                    ids = [m[5:] for m in node.members if m.startswith("exec:") and m[5:] in listed]
                    if ids:
                        links[node.node_id] = f"#run-{ids[-1]}"
            svg = figures.lineage_svg(figures.lineage_drawing(view, layout), links)
        return self.figure(svg, "lineage", "Lineage of the training run") + self.table(
            runs,
            [
                ("Cell", 10, "execution_count"),
                ("Name", 26, "name"),
                ("Status", 14, "status"),
                ("Started", 26, lambda r: when(r.get("started_at"))),
                ("Execution", 24, lambda r: self.hashed(r.get("execution_id"))),
            ],
            row_id=None if self.inline else lambda r: f"run-{r['execution_id']}",
        )

    def failed_attempts(self) -> str:
        out = []
        for f in self.card["failed_attempts"]:
            meta = " · ".join(
                x for x in (e(f.get("origin")), e(f.get("name")), when(f.get("started_at"))) if x
            )
            out.append(
                f"<div{self.look('note', 'note-failed')}><div{self.look('muted')}>{meta}</div>"
                f"<p{self.look('failed')}>{e(f.get('error_type'))} {e(f.get('error_message'))}</p>"
                f"{markdown(f.get('explanation'))}</div>"
            )
        return "".join(out) or self.empty("No failed attempts recorded.")

    def environment(self) -> str:
        env = self.card["environment"]
        if not env:
            return self.empty()
        packages = env.get("packages") or []
        git = " ".join(
            x
            for x in (
                self.hashed(env.get("git_commit")),
                "(dirty)" if env.get("git_dirty") else "",
                e(env.get("git_branch")),
            )
            if x
        )
        return (
            self.rows(
                [
                    (
                        "Python",
                        f"{env.get('python_implementation') or ''} {env.get('python_version') or ''}".strip(),
                    ),
                    ("Platform", env.get("platform")),
                    ("CPU", f"{env.get('cpu_model') or ''}, {env.get('cpu_count') or '?'} cores"),
                    ("RAM", f"{(env.get('ram_bytes') or 0) / 2**30:.1f} GiB"),
                    ("GPUs", [g.get("name") for g in env.get("gpus") or []]),
                    ("Git", _Markup(git)),
                    ("Environment variables", env.get("env_vars")),
                    ("Environment id", _Markup(self.hashed(env.get("environment_id")))),
                ]
            )
            + f"<details><summary{self.look('summary')}>{len(packages)} packages</summary>"
            + self.table(packages, [("Package", 60, "name"), ("Version", 40, "version")])
            + "</details>"
        )

    def lifecycle(self) -> str:
        life = self.card.get("lifecycle")
        if not life:
            return self.empty("Not registered yet: no lifecycle.")
        h3 = self.look("h3")

        def actor(r: dict[str, Any]) -> str:
            return e(r.get("actor")) + (f" ({e(r['role'])})" if r.get("role") else "")

        return (
            self.rows([("State", life["state"])])
            + f"<h3{h3}>Transitions</h3>"
            + self.table(
                life["transitions"],
                [
                    ("When", 24, lambda r: when(r.get("occurred_at"))),
                    (
                        "From \u2192 to",
                        28,
                        lambda r: e(f"{r.get('from_state')} \u2192 {r.get('to_state')}"),
                    ),
                    ("By", 22, actor),
                    ("Justification", 26, "justification"),
                ],
            )
            + f"<h3{h3}>Gate results</h3>"
            + self.table(
                life["gate_results"],
                [
                    ("When", 24, lambda r: when(r.get("occurred_at"))),
                    ("For", 20, "target_state"),
                    (
                        "Gate",
                        24,
                        lambda r: e(f"{r.get('metric')} {r.get('op')} {_fmt(r.get('threshold'))}"),
                    ),
                    ("Value", 14, "value"),
                    ("Outcome", 18, "outcome"),
                ],
            )
            + f"<h3{h3}>Waivers</h3>"
            + self.table(
                life["waivers"],
                [
                    ("Metric", 20, "metric"),
                    ("By", 22, "actor"),
                    ("Reason", 34, "reason"),
                    ("Expires", 24, lambda r: when(r.get("expires_at"))),
                ],
            )
            + f"<h3{h3}>Artifacts</h3>"
            + self.table(
                life["artifacts"],
                [
                    ("Name", 32, "name"),
                    ("Kind", 16, "kind"),
                    ("SHA-256", 34, lambda r: self.hashed(r.get("sha256"))),
                    (
                        "Bytes",
                        18,
                        lambda r: e(f"{r['size']:,}") if isinstance(r.get("size"), int) else "",
                    ),
                ],
            )
        )

    def reproduction(self) -> str:
        rep = self.card.get("reproduction")
        if not rep:
            return self.empty()
        return (
            self.rows(
                [
                    ("Notebook", rep.get("notebook")),
                    ("Commit", _Markup(self.hashed(rep.get("commit")))),
                    ("Python", rep.get("python")),
                ]
            )
            + f"<pre{self.look('pre')}>{e(chr(10).join(rep['steps']))}</pre>"
        )


class _Markup(str):
    """Markup already escaped, to put in a table cell as it is."""


def render_html(card: dict[str, Any]) -> str:
    """The whole card as one self-contained HTML document: its pictures are inline SVG, so it
    loads nothing, opens offline and prints cleanly."""
    d = card["model_details"]
    title = f"{d['name']} {d.get('version') or ''}".strip()
    return "\n".join(
        [
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
            "<meta name='viewport' content='width=device-width, initial-scale=1'>",
            f"<meta name='generator' content='jupyter-lineage'><title>Model card: {e(title)}</title>",
            f"<style>{stylesheet()}</style></head><body><main class='card'>",
            _Page(card, inline=False).body(),
            f"</main><script>{_COPY_SCRIPT}</script></body></html>",
        ]
    )


def inline_html(card: dict[str, Any]) -> str:
    """The card for a notebook's output: no <style>, no script, only style attributes, which
    JupyterLab keeps even when the output is not trusted; cells aligned left explicitly."""
    return f'<div{_Look(True)("card")} class="jupyter-lineage-card">{_Page(card, inline=True).body()}</div>'


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
