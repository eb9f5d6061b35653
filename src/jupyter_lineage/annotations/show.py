"""HTML summary of an experiment (every user string escaped)."""

from __future__ import annotations

import html
import math
from typing import Any

_STYLE = """
<style>
.jp-Lineage-report { font-family: var(--jp-ui-font-family, sans-serif); line-height: 1.4; max-width: 60em; }
.jp-Lineage-report table { border-collapse: collapse; margin: .4em 0; }
.jp-Lineage-report td, .jp-Lineage-report th { border: 1px solid var(--jp-border-color2, #ccc); padding: 2px 8px; text-align: left; vertical-align: top; }
.jp-Lineage-report .outcome-success { color: var(--jp-success-color1, #080); font-weight: bold; }
.jp-Lineage-report .outcome-failure { color: var(--jp-error-color1, #c00); font-weight: bold; }
.jp-Lineage-report .outcome-inconclusive, .jp-Lineage-report .outcome-open { color: var(--jp-warn-color1, #a60); font-weight: bold; }
.jp-Lineage-report .text { white-space: pre-wrap; }
.jp-Lineage-report .failed { color: var(--jp-error-color1, #c00); }
</style>
"""


def _e(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value))


def experiment_html(report: dict[str, Any]) -> str:
    """Hypothesis, criterion, outcome, metrics table, and the runs, failed attempts and rationale in time order."""
    x = report["experiment"]
    outcome = x.get("outcome") or ("open" if x.get("state") == "open" else "")
    parts = [
        _STYLE,
        '<div class="jp-Lineage-report">',
        f"<h3>Experiment {_e(x['name'])}</h3>",
        "<table>",
        f"<tr><th>Hypothesis</th><td class='text'>{_e(x.get('hypothesis'))}</td></tr>",
        f"<tr><th>Success criterion</th><td>{_e(x.get('success_criterion'))}</td></tr>",
        f"<tr><th>Outcome</th><td><span class='outcome-{_e(outcome)}'>{_e(outcome)}</span> {_e(x.get('evaluation'))}</td></tr>",
        f"<tr><th>Started / ended</th><td>{_e(x.get('started_at'))} / {_e(x.get('ended_at'))}</td></tr>",
        f"<tr><th>Cells</th><td>{_e(x.get('execution_count'))} run, {_e(x.get('failed_count'))} failed</td></tr>",
        "</table>",
    ]
    metrics = report["metrics"]
    if len(metrics):
        parts.append(
            "<h4>Metrics</h4><table><tr><th>metric</th><th>value</th><th>step</th><th>logged</th></tr>"
        )
        for m in metrics.to_dict("records"):
            parts.append(
                f"<tr><td>{_e(m['name'])}</td><td>{_e(m['value'])}</td><td>{_e(m['step'])}</td><td>{_e(m['logged_at'])}</td></tr>"
            )
        parts.append("</table>")
    timeline = report["timeline"]
    if len(timeline):
        parts.append(
            "<h4>What happened, in order</h4><table><tr><th>when</th><th>what</th><th></th><th>details</th></tr>"
        )
        for t in timeline.to_dict("records"):
            css = (
                " class='failed'"
                if t["kind"] in ("failed", "interrupted", "failed_attempt")
                else ""
            )
            title = f"{t['what']} {t['kind']}" + (f" · {t['title']}" if t["title"] else "")
            parts.append(
                f"<tr{css}><td>{_e(t['ts'])}</td><td>{_e(title)}</td><td>{_e(str(t['ref'])[:8])}</td>"
                f"<td class='text'>{_e(t['text'])}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</div>")
    return "\n".join(parts)
