"""The lineage figure: what to draw (pure), then a plotly figure of it.

``graph_view`` turns rows of ``lineage_nodes`` (with run details for the
executions) and edges into the nodes and edges to draw: hidden kinds left out,
identical re-runs of a cell collapsed into one node with a count, transient
values (bound and never read by another run: loop variables, temporaries)
left out unless asked for, labels and hover text made. ``build_figure`` draws that view where
``layout.layered_layout`` puts it. plotly is imported only by
``build_figure``. ``graph_data`` is the same view as the JSON that JupyterLab's
lineage renderers draw (the sidebar's graph and ``%lineage_graph`` inline), and
``graph_html`` a plain rendering of it for front ends without them.
"""

from __future__ import annotations

import html
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .layout import Layout, layered_layout

if TYPE_CHECKING:
    import plotly.graph_objects as go

KINDS = ("execution", "value", "file", "model", "review", "environment", "code")
# Environments and code versions are one per execution or shared by all of
# them: drawn, they add a node per cell or a fan of edges across the picture.
# Their ids are in the hover text of each execution instead.
DEFAULT_KINDS = ("execution", "value", "file", "model", "review")
FAILED = "failed execution"
TIMES = "\u00d7"  # multiplication sign, as in "load x3" with the proper glyph

# symbol, colour, size
NODE_STYLE: dict[str, tuple[str, str, int]] = {
    "execution": ("square", "#4C78A8", 15),
    FAILED: ("square-x", "#E45756", 17),
    "value": ("circle", "#54A24B", 11),
    "file": ("diamond", "#F58518", 15),
    "model": ("star", "#B279A2", 22),
    "review": ("pentagon", "#72B7B2", 17),
    "environment": ("triangle-up", "#9D755D", 14),
    "code": ("hexagon", "#BAB0AC", 11),
}
# colour, width, dash
EDGE_STYLE: dict[str, tuple[str, float, str]] = {
    "used": ("#9AA5B1", 1.0, "solid"),
    "generated": ("#5F6B77", 1.0, "solid"),
    "derived_from": ("#B279A2", 2.5, "dash"),
    "ran_in": ("#C9B7A7", 0.8, "dot"),
    "reviewed": ("#72B7B2", 2.0, "dash"),
}
# The part of a large graph shown at first; the rest is a pan (or the range slider) away.
MAX_LAYERS = 16
MAX_ROWS = 24
_SOURCE_LINES = 6
_LINE_CHARS = 80


@dataclass(slots=True)
class ViewNode:
    """A node as drawn: one lineage node, or several identical re-runs collapsed."""

    node_id: str
    kind: str
    label: str
    hover: str
    row: Mapping[str, Any]
    failed: bool = False
    target: bool = False
    count: int = 1
    members: list[str] = field(default_factory=list)
    transient: bool = False


# The fields of a node in the graph JSON: what the front end's drawing and tooltips read.
GRAPH_NODE_FIELDS = (
    "node_id",
    "kind",
    "name",
    "version",
    "status",
    "type_name",
    "shape",
    "path",
    "execution_id",
    "execution_count",
    "error_type",
    "created_at",
)
# How the plain HTML rendering marks each kind: a glyph and a colour of the figure's.
_HTML_MARKS = {
    "execution": ("\u25a0", NODE_STYLE["execution"][1]),
    FAILED: ("\u2716", NODE_STYLE[FAILED][1]),
    "value": ("\u25cf", NODE_STYLE["value"][1]),
    "file": ("\u25c6", NODE_STYLE["file"][1]),
    "model": ("\u2605", NODE_STYLE["model"][1]),
    "review": ("\u2b1f", NODE_STYLE["review"][1]),
    "environment": ("\u25b2", NODE_STYLE["environment"][1]),
    "code": ("\u2b22", NODE_STYLE["code"][1]),
}


@dataclass(slots=True)
class GraphView:
    """What a figure draws: nodes in drawing order and ``(src, dst, kind)`` edges between them.

    ``hidden`` counts the transient values left out (after collapsing re-runs).
    """

    nodes: list[ViewNode]
    edges: list[tuple[str, str, str]]
    hidden: int = 0


def graph_view(
    nodes: Iterable[Mapping[str, Any]],
    edges: Iterable[tuple[str, str, str]],
    *,
    targets: Sequence[str] = (),
    kinds: Sequence[str] = DEFAULT_KINDS,
    collapse: bool = True,
    transient: bool = False,
) -> GraphView:
    """Choose, merge and describe the nodes to draw.

    Args:
        nodes: ``lineage_nodes`` rows; execution rows may add ``cell_key``,
            ``execution_count``, ``source``, ``error_type``, ``error_message``,
            ``duration_ms``, ``environment_id``, ``source_hash`` from ``runs``.
        edges: ``(src, dst, kind)``.
        targets: node ids drawn whatever their kind, and marked.
        kinds: node kinds to draw.
        collapse: merge re-runs of a cell that read the same inputs and produced
            the same outputs (same fingerprints, same status) into one node.
        transient: draw the values rows mark ``transient`` (bound, and read by
            no other run: see ``LineageQueries.transient_values``) too; by
            default they are left out, and counted in ``hidden``. A target is
            always drawn.
    """
    wanted = set(kinds) | {"execution"}
    target_set = set(targets)
    rows = {
        str(n["node_id"]): dict(n)
        for n in nodes
        if n.get("kind") in wanted or n.get("node_id") in target_set
    }
    edge_list = [
        (s, d, k) for s, d, k in dict.fromkeys(edges) if s in rows and d in rows and s != d
    ]
    canon, counts = collapse_reruns(rows, edge_list) if collapse else ({n: n for n in rows}, {})
    order = sorted(rows, key=lambda n: (_time_key(rows[n]), n))
    members: dict[str, list[str]] = defaultdict(list)
    for n in order:
        members[canon[n]].append(n)
    view_nodes = []
    hidden = 0
    for n in order:
        if canon[n] != n:
            continue
        row = rows[n]
        latest = rows[members[n][-1]]
        count = counts.get(n, 1)
        failed = row.get("kind") == "execution" and (row.get("status") or "ok") != "ok"
        is_target = any(m in target_set for m in members[n])
        # A collapsed node stands for all its members: transient only if each of them is.
        is_transient = not is_target and all(_flag(rows[m].get("transient")) for m in members[n])
        if is_transient and not transient:
            hidden += 1
            continue
        view_nodes.append(
            ViewNode(
                node_id=n,
                kind=str(row.get("kind")),
                label=node_label(latest, count),
                hover=node_hover(latest, count),
                row=latest,
                failed=failed,
                target=is_target,
                count=count,
                members=members[n],
                transient=is_transient,
            )
        )
    drawn = {v.node_id for v in view_nodes}
    view_edges = list(
        dict.fromkeys(
            (canon[s], canon[d], k)
            for s, d, k in edge_list
            if canon[s] != canon[d] and canon[s] in drawn and canon[d] in drawn
        )
    )
    return GraphView(view_nodes, view_edges, hidden)


def _flag(value: Any) -> bool:
    return not _missing(value) and bool(value)


def collapse_reruns(
    rows: Mapping[str, Mapping[str, Any]], edges: Sequence[tuple[str, str, str]]
) -> tuple[dict[str, str], dict[str, int]]:
    """Map each node to the node drawn for it, and count the runs each execution node stands for.

    Executions are taken in time order; one whose notebook, cell, status, inputs
    (after merging) and outputs (by kind, name and fingerprint) equal an earlier
    one's is merged into it, and so are its outputs. Values whose binding was not
    captured merge by name and fingerprint across sessions.
    """
    canon = {n: n for n in rows}
    counts: dict[str, int] = {}
    first_value: dict[tuple[Any, ...], str] = {}
    for n, row in rows.items():
        if row.get("kind") == "value" and _missing(row.get("execution_id")):
            content = ("value", row.get("name"), row.get("version"))
            canon[n] = first_value.setdefault(content, n)
    into: dict[str, list[tuple[str, str]]] = defaultdict(list)
    out_of: dict[str, list[str]] = defaultdict(list)
    for s, d, k in edges:
        into[d].append((s, k))
        out_of[s].append(d)
    executions = sorted(
        (n for n, r in rows.items() if r.get("kind") == "execution"),
        key=lambda n: (_time_key(rows[n]), n),
    )
    seen: dict[tuple[Any, ...], str] = {}
    outputs_of: dict[str, dict[tuple[Any, ...], str]] = {}
    for e in executions:
        row = rows[e]
        used = frozenset((canon[s], k) for s, k in into[e])
        outputs = {_output_key(rows[d]): d for d in out_of[e]}
        key = (
            row.get("notebook_path"),
            row.get("cell_key") or row.get("name") or e,
            row.get("status"),
            used,
            frozenset(outputs),
        )
        rep = seen.get(key)
        if rep is None:
            seen[key] = e
            outputs_of[e] = outputs
            continue
        canon[e] = rep
        counts[rep] = counts.get(rep, 1) + 1
        for out_key, d in outputs.items():
            canon[d] = canon[outputs_of[rep][out_key]]
    return canon, counts


def _output_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    kind = row.get("kind")
    if kind == "model":
        return ("model", row.get("name"))
    if kind == "file":
        return ("file", row.get("version") or row.get("node_id"))
    if kind == "value" and row.get("fingerprint_kind") == "identity":
        # An identity fingerprint (an object whose content could not be read, such as an
        # open file) is a memory address: it differs between any two runs and says nothing
        # about content, so it neither proves two runs different nor the same.
        return ("value", row.get("name"), "identity")
    return (kind, row.get("name"), row.get("version"))


def _missing(value: Any) -> bool:
    return value is None or value != value  # NaN from a DataFrame


def _text(value: Any) -> str:
    return "" if _missing(value) else str(value)


def _time_key(row: Mapping[str, Any]) -> str:
    return _text(row.get("created_at"))


def _short(value: Any, n: int = 12) -> str:
    text = _text(value)
    return text if len(text) <= n else text[:n] + "…"


def node_label(row: Mapping[str, Any], count: int = 1) -> str:
    """A short label drawn beside a node."""
    kind = row.get("kind")
    name = _text(row.get("name"))
    version = _text(row.get("version"))
    if kind == "execution":
        label = name or _first_line(_text(row.get("source")) or _text(row.get("detail")), 24)
        if not _missing(row.get("execution_count")):
            label = f"[{int(row['execution_count'])}] {label}".strip()
        return f"{label} {TIMES}{count}" if count > 1 else label
    if kind == "file":
        return os.path.basename(_text(row.get("path")) or name) or _short(version)
    if kind == "model":
        return f"{name}@{version[:8]}" if version else name
    if kind == "environment":
        return f"env {version[:8]}"
    if kind == "code":
        return f"code {version[:8]}"
    if kind == "review":
        author = name.split("@", 1)[0]
        return f"review by {author}" if author else "review"
    return name or _short(row.get("node_id"), 24)


def node_hover(row: Mapping[str, Any], count: int = 1) -> str:
    """Hover text (plotly's HTML subset) with the node's identity, time, status and content."""
    kind = _text(row.get("kind"))
    e = html.escape
    lines = [f"<b>{e(node_label(row))}</b>  <i>{e(kind)}</i>"]
    when = _text(row.get("created_at"))[:19]
    if kind == "execution":
        status = _text(row.get("status")) or "incomplete"
        took = row.get("duration_ms")
        timing = "" if took is None or _missing(took) else f" · {float(took):.1f} ms"
        lines.append(f"status <b>{e(status)}</b> · {e(when)}{timing}")
        if count > 1:
            lines.append(f"{count} identical runs (latest shown)")
        if _text(row.get("error_type")):
            lines.append(e(_short(f"{row['error_type']}: {_text(row.get('error_message'))}", 120)))
        lines.append(f"execution {e(_text(row.get('version')))}")
        if _text(row.get("environment_id")):
            lines.append(f"environment {e(_short(row.get('environment_id'), 16))}")
        if _text(row.get("source_hash")):
            lines.append(f"code {e(_short(row.get('source_hash'), 16))}")
        lines.append(_source_excerpt(_text(row.get("source")) or _text(row.get("detail"))))
    elif kind == "value":
        shape = f" {_text(row.get('shape'))}" if _text(row.get("shape")) else ""
        lines.append(f"{e(_text(row.get('type_name')))}{e(shape)}")
        fp_kind = _text(row.get("fingerprint_kind"))
        extra = f" ({e(fp_kind)})" if fp_kind and fp_kind != "content" else ""
        lines.append(f"fingerprint {e(_text(row.get('version')))}{extra}")
        lines.append(
            f"bound {e(when)}" if _text(row.get("execution_id")) else "bound outside capture"
        )
        if _text(row.get("detail")):
            lines.append(e(_short(row.get("detail"), 100)))
    elif kind == "file":
        lines.append(e(_text(row.get("path"))))
        lines.append(f"sha256 {e(_short(row.get('version'), 16))} · {e(_text(row.get('detail')))}")
        lines.append(f"first seen {e(when)}")
    elif kind == "review":
        by = f"by {e(_text(row.get('name')))} · " if _text(row.get("name")) else ""
        lines.append(f"{by}{e(when)}")
        lines.append(_text_excerpt(_text(row.get("detail"))))
        lines.append(f"annotation {e(_text(row.get('version')))}")
    elif kind == "model":
        if _text(row.get("version")):
            lines.append(f"version {e(_text(row.get('version')))} (its training execution)")
            lines.append(f"trained {e(when)}")
        else:
            lines.append(e(_text(row.get("detail"))))
    else:
        lines.append(e(_text(row.get("version"))))
        if kind == "code":
            lines.append(_source_excerpt(_text(row.get("detail"))))
        else:
            lines.append(e(_text(row.get("detail"))))
    return "<br>".join(line for line in lines if line)


def _first_line(text: str, n: int) -> str:
    line = text.strip().split("\n", 1)[0] if text.strip() else ""
    return line if len(line) <= n else line[: n - 1] + "…"


def _first_lines(text: str) -> list[str]:
    """The first lines of ``text``, escaped and cut to a readable width, then how many more."""
    lines = text.strip("\n").split("\n")
    shown = [
        html.escape(line if len(line) <= _LINE_CHARS else line[: _LINE_CHARS - 1] + "…")
        for line in lines[:_SOURCE_LINES]
    ]
    if len(lines) > _SOURCE_LINES:
        shown.append(f"… {len(lines) - _SOURCE_LINES} more line(s)")
    return shown


def _text_excerpt(text: str) -> str:
    return "<br>".join(_first_lines(text.strip())) if text.strip() else ""


def _source_excerpt(source: str) -> str:
    if not source.strip():
        return ""
    body = "<br>".join(s.replace(" ", "&nbsp;") for s in _first_lines(source))
    return f"<span style='font-family:monospace'>{body}</span>"


def build_figure(view: GraphView, layout: Layout | None = None, *, title: str = "") -> go.Figure:
    """A plotly figure of ``view``: one trace per edge kind, one per node kind, failures marked."""
    import plotly.graph_objects as go

    if layout is None:
        layout = layered_layout([n.node_id for n in view.nodes], [(s, d) for s, d, _ in view.edges])
    positions = layout.positions
    fig = go.Figure()
    by_kind: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for s, d, k in view.edges:
        by_kind[k].append((s, d))
    for kind, pairs in by_kind.items():
        colour, width, dash = EDGE_STYLE.get(kind, ("#9AA5B1", 1.0, "solid"))
        xs: list[float | None] = []
        ys: list[float | None] = []
        sizes: list[float] = []
        for s, d in pairs:
            points = [positions[s], *layout.routes.get((s, d), ()), positions[d]]
            (x0, y0), (x1, y1) = points[-2], points[-1]
            # an arrowhead three quarters along the last stretch, pointing the way the edge goes
            xs += [x for x, _ in points[:-1]] + [x0 + 0.75 * (x1 - x0), x1, None]
            ys += [y for _, y in points[:-1]] + [y0 + 0.75 * (y1 - y0), y1, None]
            sizes += [0] * (len(points) - 1) + [8, 0, 0]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines+markers",
                name=f"{kind} ({len(pairs)})",
                legendrank=2000,
                meta={"role": "edge", "kind": kind, "count": len(pairs)},
                line={"color": colour, "width": width, "dash": dash, "shape": "spline"},
                marker={"symbol": "arrow", "size": sizes, "angleref": "previous", "color": colour},
                hoverinfo="skip",
                opacity=0.8,
            )
        )
    groups: dict[str, list[ViewNode]] = defaultdict(list)
    for node in view.nodes:
        groups[FAILED if node.failed else node.kind].append(node)
    for kind in (*KINDS, FAILED):
        members = groups.get(kind)
        if not members:
            continue
        symbol, colour, size = NODE_STYLE.get(kind, ("circle", "#888888", 11))
        fig.add_trace(
            go.Scatter(
                x=[positions[n.node_id][0] for n in members],
                y=[positions[n.node_id][1] for n in members],
                mode="markers+text",
                name=f"{kind} ({len(members)})",
                legendrank=1000,
                meta={"role": "node", "kind": kind, "count": len(members)},
                text=[n.label for n in members],
                textposition="bottom center",
                textfont={"size": 10, "color": "#333333"},
                hovertext=[n.hover for n in members],
                hoverinfo="text",
                customdata=[n.node_id for n in members],
                marker={
                    "symbol": symbol,
                    "size": [size + (4 if n.count > 1 else 0) for n in members],
                    "color": colour,
                    "line": {"color": "#7A1F1F" if kind == FAILED else "#333333", "width": 1},
                },
            )
        )
    targets = [n for n in view.nodes if n.target]
    if targets:
        fig.add_trace(
            go.Scatter(
                x=[positions[n.node_id][0] for n in targets],
                y=[positions[n.node_id][1] for n in targets],
                mode="markers",
                name="target",
                meta={"role": "target", "count": len(targets)},
                hoverinfo="skip",
                marker={
                    "symbol": "circle-open",
                    "size": 30,
                    "color": "#222222",
                    "line": {"width": 2},
                },
            )
        )
    rows = _row_count(positions)
    layers = int(max((x for x, _ in positions.values()), default=0)) + 1
    focus = [positions[n.node_id] for n in targets] or [(layers - 1.0, 0.0)]
    fx = sum(x for x, _ in focus) / len(focus)
    fy = sum(y for _, y in focus) / len(focus)
    x_range = _window(fx, layers, MAX_LAYERS)
    y_low, y_high = _window(-fy, rows, MAX_ROWS)
    xaxis: dict[str, Any] = {
        "range": list(x_range),
        "showgrid": False,
        "zeroline": False,
        "showticklabels": False,
        "fixedrange": False,
    }
    if layers > MAX_LAYERS:
        # an overview of the whole graph under the figure, with the part shown framed
        xaxis["rangeslider"] = {"visible": True, "thickness": 0.08, "bgcolor": "#F4F6F8"}
    fig.update_layout(
        title={"text": html.escape(title), "x": 0.01, "font": {"size": 15}},
        showlegend=True,
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0.0},
        hovermode="closest",
        hoverlabel={"align": "left", "font": {"size": 11}},
        dragmode="pan",
        clickmode="event+select",
        plot_bgcolor="white",
        paper_bgcolor="white",
        margin={"l": 20, "r": 20, "t": 90, "b": 20},
        height=int(150 + 36 * min(rows, MAX_ROWS) + (80 if layers > MAX_LAYERS else 0)),
        xaxis=xaxis,
        yaxis={"visible": False, "range": [-y_high, -y_low]},
    )
    return fig


def _window(centre: float, size: int, most: int) -> tuple[float, float]:
    """An axis range showing at most ``most`` of ``size`` layers or rows, around ``centre``."""
    if size <= most:
        return (-0.6, size - 0.4)
    low = min(max(centre - most / 2, -0.6), size - 0.4 - most)
    return (low, low + most)


def _row_count(positions: Mapping[str, tuple[float, float]]) -> int:
    if not positions:
        return 1
    return round(-min(y for _, y in positions.values())) + 1


def _plain(value: Any) -> Any:
    """A field as JSON has it: ISO 8601 times, ``None`` for NaN and NaT, Python numbers."""
    if _missing(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def graph_data(
    view: GraphView,
    layout: Layout,
    *,
    node: str | None,
    start: Sequence[str],
    direction: str,
    depth: int | None,
    transient: bool,
) -> dict[str, Any]:
    """The graph JSON that JupyterLab's lineage renderers draw (the sidebar's graph and
    ``%lineage_graph`` inline): ``node``, ``start`` (the drawn nodes standing for the ones
    named), ``direction``, ``depth``, ``transient``, ``hidden`` (transient values left out),
    ``nodes`` (``GRAPH_NODE_FIELDS`` of the latest run of a node standing for several
    identical runs, with its ``label``, the ``count`` of runs, ``target``, ``transient``, and
    the ``layer`` and ``row`` of the layered layout) and ``edges`` (``src``, ``dst``,
    ``kind``, ``route``: bend points)."""
    drawn = {member: n.node_id for n in view.nodes for member in n.members}
    positions = layout.positions
    nodes = []
    for n in view.nodes:
        x, y = positions[n.node_id]
        nodes.append(
            {
                **{key: _plain(n.row.get(key)) for key in GRAPH_NODE_FIELDS},
                "node_id": n.node_id,  # the edges name the node drawn, not its latest member
                "label": n.label,
                "count": n.count,
                "target": n.target,
                "transient": n.transient,
                "layer": x,
                "row": -y,
            }
        )
    return {
        "node": node,
        # A named node merged into an identical earlier run is drawn as that run.
        "start": list(dict.fromkeys(drawn.get(s, s) for s in start)),
        "direction": direction,
        "depth": depth,
        "transient": transient,
        "hidden": view.hidden,
        "nodes": nodes,
        "edges": [
            {
                "src": s,
                "dst": d,
                "kind": k,
                "route": [[x, -y] for x, y in layout.routes.get((s, d), ())],
            }
            for s, d, k in view.edges
        ],
    }


def graph_html(view: GraphView, title: str) -> str:
    """The graph as a plain HTML list for front ends without the lineage renderer or plotly:
    each node with what it was made from. Styles are inline attributes only, since a
    ``<style>`` block is dropped by some front ends and leaks into the page in others."""
    e = html.escape
    labels = {n.node_id: n.label for n in view.nodes}
    sources: dict[str, list[str]] = defaultdict(list)
    for s, d, _ in view.edges:
        sources[d].append(labels[s])
    cell = "padding:2px 10px 2px 0;text-align:left;vertical-align:top;border:none"
    rows = []
    for n in view.nodes:
        glyph, colour = _HTML_MARKS.get(FAILED if n.failed else n.kind, ("\u25cf", "#888888"))
        target = " <b>(target)</b>" if n.target else ""
        made_from = ", ".join(e(label) for label in sources.get(n.node_id, []))
        rows.append(
            f'<tr><td style="{cell};white-space:nowrap">'
            f'<span style="color:{colour}" title="{e(n.kind)}">{glyph}</span> '
            f"{e(n.label)}{target}</td>"
            f'<td style="{cell};color:#777777">{e(FAILED if n.failed else n.kind)}</td>'
            f'<td style="{cell}">{made_from}</td></tr>'
        )
    head = "".join(
        f'<th style="{cell};font-weight:600">{name}</th>' for name in ("node", "kind", "made from")
    )
    return (
        f'<div style="font-family:sans-serif;font-size:13px">'
        f'<p style="margin:0 0 4px 0;font-weight:600">{e(title)}</p>'
        f'<table style="border-collapse:collapse;margin:0">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )
