"""The card's pictures as inline SVG, drawn in Python: metrics against their gates, per-group
results, the metric history across attempts, and the lineage that trained the model.

No script library is embedded, so a card stays small and opens offline; hover text is SVG's
own ``<title>``. Everything but ``lineage_view`` is pure: card data (or a graph view and its
layout) in, markup out, every string escaped. Labels are cut to the room they have, with the
full text on hover, so no two labels meet (``lineage_drawing`` returns the boxes it keeps
apart, for the tests to check).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from .svg import Box, esc, fit, fmt, svg_open, text_width

if TYPE_CHECKING:
    from ..graph.drawing import GraphView
    from ..graph.layout import Layout

FONT = 11.0
LINE = 14.0  # height of a line of text at FONT
INK = "#1f2328"
MUTED = "#59636e"
GRID = "#d1d9e0"
BAR = "#4477aa"
GATE = "#cc3311"
GOOD = "#1a7f37"
SERIES = ("#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb")
OPS = {">=": "\u2265", "<=": "\u2264", ">": ">", "<": "<", "==": "=", "!=": "\u2260"}


# -- metrics against gates ------------------------------------------------------------------


@dataclass(slots=True)
class BarRow:
    """One horizontal bar: a value, its confidence interval and the gate it must pass."""

    label: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    gate: Mapping[str, Any] | None = None


def gate_met(value: float, gate: Mapping[str, Any]) -> bool | None:
    """Whether ``value`` passes ``gate`` (``None`` for an operator this picture does not know)."""
    from ..criteria import Condition

    try:
        return Condition("", str(gate["op"]), float(gate["threshold"])).holds(value)
    except (
        KeyError,
        TypeError,
        ValueError,
    ):  # an unknown operator: say nothing rather than something wrong
        return None


def _domain(rows: Sequence[BarRow]) -> tuple[float, float]:
    points = [0.0]
    for r in rows:
        points += [r.value, *(x for x in (r.ci_low, r.ci_high) if x is not None)]
        if r.gate:
            points.append(float(r.gate["threshold"]))
    low, high = min(points), max(points)
    if low >= 0 and high <= 1:
        return 0.0, 1.0  # scores and rates: the whole scale, so bars compare across cards
    span = (high - low) or 1.0
    return low - (0.05 * span if low < 0 else 0), high + 0.05 * span


def bars_svg(rows: Sequence[BarRow], title: str, css_class: str = "chart") -> str:
    """Horizontal bars with CI whiskers and gate markers; values in a column of their own,
    so a value's label never meets a gate marker."""
    width, label_w, plot_x, plot_w, text_x = 640.0, 166.0, 172.0, 256.0, 444.0
    text_w = width - text_x - 4
    row_h, top = 40.0, 26.0
    low, high = _domain(rows)

    def x(v: float) -> float:
        return plot_x + (v - low) / (high - low) * plot_w

    height = top + row_h * len(rows) + 24
    out = [svg_open(width, height, title, css_class)]
    out.append(f'<text x="0" y="14" font-weight="bold" fill="{INK}">{esc(title)}</text>')
    for i in range(5):  # gridlines and their values under the plot
        v = low + (high - low) * i / 4
        gx = x(v)
        out.append(
            f'<line x1="{gx:.1f}" y1="{top - 4:.1f}" x2="{gx:.1f}" y2="{height - 20:.1f}" stroke="{GRID}"/>'
            f'<text x="{gx:.1f}" y="{height - 6:.1f}" text-anchor="middle" fill="{MUTED}" font-size="10">{esc(fmt(v))}</text>'
        )
    for i, r in enumerate(rows):
        y = top + i * row_h
        mid = y + row_h / 2
        label = fit(r.label, label_w - 6, FONT)
        out.append(
            f'<text x="0" y="{mid + 4:.1f}" fill="{INK}"><title>{esc(r.label)}</title>{esc(label)}</text>'
        )
        x0, x1 = sorted((x(0.0 if low <= 0 <= high else low), x(r.value)))
        tip = [f"{r.label} = {r.value:.6g}"]
        if r.ci_low is not None and r.ci_high is not None:
            tip.append(f"confidence interval {r.ci_low:.6g} to {r.ci_high:.6g}")
        out.append(
            f'<rect class="bar" x="{x0:.1f}" y="{mid - 8:.1f}" width="{max(x1 - x0, 1):.1f}" height="16" '
            f'fill="{BAR}"><title>{esc("; ".join(tip))}</title></rect>'
        )
        if r.ci_low is not None and r.ci_high is not None:
            a, b = x(r.ci_low), x(r.ci_high)
            out.append(
                f'<g class="ci" stroke="{INK}" stroke-width="1.5"><title>{esc(tip[-1])}</title>'
                f'<line x1="{a:.1f}" y1="{mid:.1f}" x2="{b:.1f}" y2="{mid:.1f}"/>'
                f'<line x1="{a:.1f}" y1="{mid - 5:.1f}" x2="{a:.1f}" y2="{mid + 5:.1f}"/>'
                f'<line x1="{b:.1f}" y1="{mid - 5:.1f}" x2="{b:.1f}" y2="{mid + 5:.1f}"/></g>'
            )
        value_text = fmt(r.value)
        if r.ci_low is not None and r.ci_high is not None:
            value_text += f" ({fmt(r.ci_low)}\u2013{fmt(r.ci_high)})"
        lines = [(value_text, INK)]
        if r.gate:
            op = OPS.get(str(r.gate["op"]), str(r.gate["op"]))
            threshold = float(r.gate["threshold"])
            met = gate_met(r.value, r.gate)
            verdict = {True: "met", False: "not met", None: ""}[met]
            gate_text = f"gate {op} {fmt(threshold)}" + (f": {verdict}" if verdict else "")
            lines.append((gate_text, GOOD if met else GATE))
            gx = x(threshold)
            gate_tip = f"gate: {r.label} {r.gate['op']} {threshold:g} ({verdict or 'unknown'})"
            out.append(
                f'<g class="gate"><title>{esc(gate_tip)}</title>'
                f'<line x1="{gx:.1f}" y1="{mid - 13:.1f}" x2="{gx:.1f}" y2="{mid + 13:.1f}" stroke="{GATE}" stroke-width="2.5"/>'
                f'<path d="M{gx - 4:.1f},{mid - 17:.1f}h8l-4,5z" fill="{GATE}"/></g>'
            )
        first = mid + 4 - (LINE / 2 if len(lines) > 1 else 0)
        for j, (text, colour) in enumerate(lines):
            out.append(
                f'<text class="value" x="{text_x:.1f}" y="{first + j * LINE:.1f}" fill="{colour}">'
                f"{esc(fit(text, text_w, FONT))}</text>"
            )
    out.append("</svg>")
    return "".join(out)


def metrics_svg(card: Mapping[str, Any]) -> str | None:
    """Each metric as a bar, its confidence interval as a whisker, its gate as a marker."""
    rows = [
        BarRow(m["name"], float(m["value"]), m.get("ci_low"), m.get("ci_high"), m.get("gate"))
        for m in card.get("metrics") or []
        if m.get("value") is not None
    ]
    return bars_svg(rows, "Metrics against their gates", "chart metrics") if rows else None


def groups_svg(card: Mapping[str, Any]) -> str | None:
    """Each metric per group (``accuracy/plan=pro``), against the metric's gate."""
    gates = {m["name"]: m.get("gate") for m in card.get("metrics") or []}
    rows = [
        BarRow(f"{r['metric']} \u00b7 {r['group']}", float(r["value"]), gate=gates.get(r["metric"]))
        for r in card.get("quantitative_analyses") or []
        if r.get("value") is not None
    ]
    return bars_svg(rows, "Metrics per group", "chart groups") if rows else None


# -- history across attempts ----------------------------------------------------------------


def history_series(
    card: Mapping[str, Any],
) -> tuple[list[str], dict[str, list[tuple[int, float, bool]]]]:
    """Attempts in time order, and for each metric seen in at least two of them its points
    ``(attempt index, value, the attempt had a failure)``. One point is no history."""
    attempts: dict[str, int] = {}
    names: list[str] = []
    series: dict[str, dict[int, tuple[float, bool]]] = {}
    for h in card.get("metric_history") or []:
        if h.get("value") is None or "/" in str(h.get("metric")):
            continue  # intervals and groups are shown with the metric, not as history
        key = f"{h.get('session_id')}/{h.get('experiment_id')}"
        if key not in attempts:
            attempts[key] = len(attempts)
            label = h.get("experiment") or f"session {str(h.get('session_id'))[:6]}"
            outcome = f" ({h['outcome']})" if h.get("outcome") else ""
            names.append(f"{len(attempts)}. {label}{outcome}")
        series.setdefault(str(h["metric"]), {})[attempts[key]] = (
            float(h["value"]),
            bool(h.get("had_failure")),
        )
    kept = {
        metric: [(i, v, failed) for i, (v, failed) in sorted(points.items())]
        for metric, points in sorted(series.items())
        if len(points) >= 2
    }
    return names, kept


def history_svg(card: Mapping[str, Any]) -> str | None:
    """Each metric across the attempts at this model (x: an attempt with a failed run);
    nothing when no metric has two attempts to compare."""
    names, series = history_series(card)
    if not series:
        return None
    width, left, right, top = 640.0, 48.0, 16.0, 24.0
    # the legend, wrapped to the width
    legend: list[tuple[float, float, str, str]] = []
    lx, ly = left, top
    for k, metric in enumerate(series):
        label = fit(metric, 180, FONT)
        w = 18 + text_width(label, FONT) + 14
        if lx + w > width and lx > left:
            lx, ly = left, ly + LINE + 4
        legend.append((lx, ly, label, SERIES[k % len(SERIES)]))
        lx += w
    plot_top = ly + LINE + 10
    plot_h = 160.0
    plot_w = width - left - right
    values = [v for points in series.values() for _, v, _ in points]
    low, high = min(values), max(values)
    if low == high:
        low, high = low - 0.5, high + 0.5
    pad = (high - low) * 0.1
    low, high = low - pad, high + pad
    step = plot_w / max(len(names) - 1, 1)

    def px(i: int) -> float:
        return left + (i * step if len(names) > 1 else plot_w / 2)

    def py(v: float) -> float:
        return plot_top + (high - v) / (high - low) * plot_h

    height = plot_top + plot_h + 30
    title = "Metric history across attempts"
    out = [svg_open(width, height, title, "chart history")]
    out.append(f'<text x="0" y="14" font-weight="bold" fill="{INK}">{esc(title)}</text>')
    for x0, y0, label, colour in legend:
        out.append(
            f'<line x1="{x0:.1f}" y1="{y0 + 6:.1f}" x2="{x0 + 14:.1f}" y2="{y0 + 6:.1f}" stroke="{colour}" stroke-width="2.5"/>'
            f'<text x="{x0 + 18:.1f}" y="{y0 + 10:.1f}" fill="{INK}">{esc(label)}</text>'
        )
    for i in range(4):
        v = low + (high - low) * i / 3
        out.append(
            f'<line x1="{left:.1f}" y1="{py(v):.1f}" x2="{width - right:.1f}" y2="{py(v):.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 4:.1f}" y="{py(v) + 4:.1f}" text-anchor="end" fill="{MUTED}" font-size="10">{esc(fmt(v))}</text>'
        )
    room = step - 8 if len(names) > 1 else plot_w
    for i, name in enumerate(names):
        anchor = (
            "start"
            if i == 0 and len(names) > 1
            else "end"
            if i == len(names) - 1 and len(names) > 1
            else "middle"
        )
        shown = fit(name, min(room, 200), 10)
        out.append(
            f'<text x="{px(i):.1f}" y="{height - 8:.1f}" text-anchor="{anchor}" fill="{MUTED}" font-size="10">'
            f"<title>{esc(name)}</title>{esc(shown)}</text>"
        )
    for k, (metric, points) in enumerate(series.items()):
        colour = SERIES[k % len(SERIES)]
        line = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, v, _ in points)
        out.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for i, v, failed in points:
            tip = f"{names[i]}: {metric} = {v:.6g}" + (
                " (this attempt had a failed run)" if failed else ""
            )
            cx, cy = px(i), py(v)
            mark = (
                f'<path d="M{cx - 5:.1f},{cy - 5:.1f}l10,10m0,-10l-10,10" stroke="{colour}" stroke-width="2.5"/>'
                if failed
                else f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{colour}"/>'
            )
            out.append(f'<g class="point"><title>{esc(tip)}</title>{mark}</g>')
    out.append("</svg>")
    return "".join(out)


# -- the lineage ----------------------------------------------------------------------------

SLOT = 190.0  # pixels between two nodes side by side (one unit of the layout's rows)
LAYER = 54.0  # pixels between layers, drawn top to bottom so the picture fits a page's width
RADIUS = 7.0
LABEL_GAP = 9.0  # from the node's edge to its label: clear of the target ring (RADIUS + 5)
MARGIN = 12.0
MAX_LABEL = 170.0


@dataclass(slots=True)
class DrawnNode:
    """A node where it is drawn, its label as cut to fit, and the boxes they take."""

    node_id: str
    kind: str
    x: float
    y: float
    label: str
    full_label: str
    hover: str
    failed: bool
    target: bool
    count: int
    label_box: Box
    node_box: Box


@dataclass(slots=True)
class LineageDrawing:
    """A lineage picture in pixels: nodes with their label boxes, edges as SVG paths."""

    width: float
    height: float
    nodes: list[DrawnNode] = field(default_factory=list)
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # (path d, kind, title)
    legend: list[tuple[float, float, str]] = field(default_factory=list)  # (x, y, kind)


def plain(hover: str) -> str:
    """Hover text written in plotly's HTML subset, as the plain text of an SVG ``<title>``."""
    text = re.sub(r"<br\s*/?>", "\n", hover)
    text = re.sub(r"<[^>]+>", "", text)
    return html.unescape(text).replace("\u00a0", " ")


def lineage_drawing(view: GraphView, layout: Layout) -> LineageDrawing:
    """Place ``view`` where ``layout`` puts it, turned a quarter: layers run down the page
    and a layer's nodes side by side, each label right of its node and cut to the room
    before the next node of its layer."""
    from ..graph.drawing import FAILED

    kinds = sorted({FAILED if n.failed else n.kind for n in view.nodes})
    legend: list[tuple[float, float, str]] = []
    lx, ly = MARGIN, MARGIN
    for kind in kinds:
        w = 2 * RADIUS + 6 + text_width(kind, FONT) + 16
        legend.append((lx, ly, kind))
        lx += w
    legend_w = lx
    top = ly + LINE + 18
    pos = layout.positions
    ys = [y for _, y in pos.values()] or [0.0]
    high = max(ys)

    def place(point: tuple[float, float]) -> tuple[float, float]:
        layer, row = point
        return MARGIN + RADIUS + 4 + (high - row) * SLOT, top + RADIUS + 6 + layer * LAYER

    # the room of each label: up to the next node (or bend) of its layer
    by_layer: dict[float, list[float]] = {}
    for point in [*pos.values(), *(p for route in layout.routes.values() for p in route)]:
        x, y = place(point)
        by_layer.setdefault(y, []).append(x)
    for xs in by_layer.values():
        xs.sort()
    nodes: list[DrawnNode] = []
    for n in view.nodes:
        x, y = place(pos[n.node_id])
        after = [other for other in by_layer[y] if other > x + 0.5]
        room = min(
            MAX_LABEL, (after[0] - x - RADIUS - 6 - LABEL_GAP - RADIUS) if after else MAX_LABEL
        )
        label = fit(n.label, max(room, 12.0), FONT)
        lx0 = x + RADIUS + LABEL_GAP
        nodes.append(
            DrawnNode(
                node_id=n.node_id,
                kind=n.kind,
                x=x,
                y=y,
                label=label,
                full_label=n.label,
                hover=plain(n.hover),
                failed=n.failed,
                target=n.target,
                count=n.count,
                label_box=Box(lx0, y - LINE / 2, text_width(label, FONT), LINE),
                node_box=Box(x - RADIUS, y - RADIUS, 2 * RADIUS, 2 * RADIUS),
            )
        )
    edges = []
    names = {n.node_id: n.label for n in view.nodes}
    for s, d, kind in view.edges:
        points = [place(p) for p in (pos[s], *layout.routes.get((s, d), ()), pos[d])]
        edges.append((_edge_path(points), kind, f"{names[s]} \u2192 {names[d]} ({kind})"))
    right = max([legend_w, *(n.label_box.x + n.label_box.w for n in nodes)], default=legend_w)
    bottom = max((n.y + RADIUS + 6 for n in nodes), default=top)
    return LineageDrawing(right + MARGIN, bottom + MARGIN, nodes, edges, legend)


def _edge_path(points: list[tuple[float, float]]) -> str:
    """A smooth path through ``points`` that leaves and meets the nodes at their edges."""
    (x0, y0), (x1, y1) = points[0], points[-1]
    down0 = 1.0 if points[1][1] >= y0 else -1.0
    down1 = 1.0 if y1 >= points[-2][1] else -1.0
    points = [(x0, y0 + down0 * RADIUS), *points[1:-1], (x1, y1 - down1 * (RADIUS + 3))]
    d = [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
    for (ax, ay), (bx, by) in pairwise(points):
        my = (ay + by) / 2
        d.append(f"C{ax:.1f},{my:.1f} {bx:.1f},{my:.1f} {bx:.1f},{by:.1f}")
    return "".join(d)


def _shape(kind: str, x: float, y: float) -> str:
    from ..graph.drawing import FAILED, NODE_STYLE

    _, colour, _ = NODE_STYLE.get(kind, ("circle", "#888888", 11))
    r = RADIUS
    stroke = (
        f'fill="{colour}" stroke="{"#7a1f1f" if kind == FAILED else "#333333"}" stroke-width="1"'
    )
    if kind == "execution":
        return f'<rect x="{x - r + 1:.1f}" y="{y - r + 1:.1f}" width="{2 * r - 2:.1f}" height="{2 * r - 2:.1f}" {stroke}/>'
    if kind == FAILED:
        return (
            f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" {stroke}/>'
            f'<path d="M{x - r + 3:.1f},{y - r + 3:.1f}l{2 * r - 6:.1f},{2 * r - 6:.1f}m0,-{2 * r - 6:.1f}l-{2 * r - 6:.1f},{2 * r - 6:.1f}" stroke="#fff" stroke-width="1.5"/>'
        )
    if kind == "file":
        return f'<path d="M{x:.1f},{y - r:.1f}L{x + r:.1f},{y:.1f}L{x:.1f},{y + r:.1f}L{x - r:.1f},{y:.1f}z" {stroke}/>'
    if kind in ("model", "review", "environment", "code"):
        import math

        spikes = {"model": 5, "review": 5, "environment": 3, "code": 6}[kind]
        inner = 0.45 if kind == "model" else 1.0
        corners = []
        for i in range(spikes * 2 if kind == "model" else spikes):
            radius = r + 2 if (kind != "model" or i % 2 == 0) else (r + 2) * inner
            angle = -math.pi / 2 + i * math.pi / (spikes if kind == "model" else spikes / 2)
            corners.append(f"{x + radius * math.cos(angle):.1f},{y + radius * math.sin(angle):.1f}")
        return f'<polygon points="{" ".join(corners)}" {stroke}/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r - 1:.1f}" {stroke}/>'


def lineage_svg(drawing: LineageDrawing, links: Mapping[str, str] | None = None) -> str:
    """The drawing as SVG: hover any node or edge for what it is; a node that ``links``
    maps to an anchor (``#run-...``) is a link to the card's row for it."""
    from ..graph.drawing import EDGE_STYLE, FAILED

    links = links or {}
    out = [
        svg_open(drawing.width, drawing.height, "Lineage of the training run", "chart lineage"),
        '<defs><marker id="jl-card-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#5f6b77"/></marker></defs>',
    ]
    for x, y, kind in drawing.legend:
        out.append(
            f'<g class="legend">{_shape(kind, x + RADIUS, y + RADIUS)}'
            f'<text x="{x + 2 * RADIUS + 6:.1f}" y="{y + RADIUS + 4:.1f}" fill="{MUTED}">{esc(kind)}</text></g>'
        )
    for d, kind, title in drawing.edges:
        colour, width, dash = EDGE_STYLE.get(kind, ("#9AA5B1", 1.0, "solid"))
        dashes = {"dash": ' stroke-dasharray="6 4"', "dot": ' stroke-dasharray="2 3"'}.get(dash, "")
        out.append(
            f'<path class="edge" d="{d}" fill="none" stroke="{colour}" stroke-width="{max(width, 1.2):g}"{dashes} '
            f'marker-end="url(#jl-card-arrow)"><title>{esc(title)}</title></path>'
        )
    for n in drawing.nodes:
        kind = FAILED if n.failed else n.kind
        ring = (
            f'<circle cx="{n.x:.1f}" cy="{n.y:.1f}" r="{RADIUS + 5:.1f}" fill="none" stroke="#222" stroke-width="1.5"/>'
            if n.target
            else ""
        )
        body = (
            f"<title>{esc(n.hover)}</title>{ring}{_shape(kind, n.x, n.y)}"
            f'<text class="node-label" x="{n.label_box.x:.1f}" y="{n.y + 4:.1f}" fill="{INK}" '
            f'stroke="#fff" stroke-width="3" paint-order="stroke">{esc(n.label)}</text>'
        )
        href = links.get(n.node_id)
        group = f'<g class="node" data-kind="{esc(kind)}">{body}</g>'
        out.append(f'<a href="{esc(href)}">{group}</a>' if href else group)
    out.append("</svg>")
    return "".join(out)


def lineage_view(card: Mapping[str, Any]) -> tuple[GraphView, Layout] | None:
    """What the card draws of the lineage: the model's upstream (or its training run's), as
    the sidebar's graph shows it, with paths shown as the card shows them. Reads the store."""
    execution = (card.get("lineage") or {}).get("training_execution")
    if not execution:
        return None
    from ..graph import subgraph
    from ..graph.drawing import graph_view
    from ..graph.layout import layered_layout
    from ..session import current_store

    store = current_store()
    try:
        start, sub = subgraph(
            f"model:{card['model_details']['name']}", direction="upstream", store=store
        )
    except Exception:  # the card must render even when the model's node cannot be found
        try:
            start, sub = subgraph(f"exec:{execution}", direction="upstream", store=store)
        except Exception:
            return None
    try:
        rows = sub.nodes.to_dict("records")
        edges = list(zip(sub.edges["src"], sub.edges["dst"], sub.edges["kind"], strict=True))
        view = graph_view(rows, edges, targets=start)
        where = _locations(execution, store)
    except Exception:
        return None  # a picture that might show this machine's paths is left out
    for node in view.nodes:
        node.label = where.text(node.label) or ""
        node.hover = where.text(node.hover) or ""
    layout = layered_layout([n.node_id for n in view.nodes], [(s, d) for s, d, _ in view.edges])
    return view, layout


def _locations(execution: str, store: Any) -> Any:
    from ..store import cards as q
    from .data import card_locations

    run = q.execution(store, execution) or {}
    env = q.environment(store, run.get("environment_id")) or {}
    return card_locations([run.get("notebook_path")], [env.get("python_executable")])
