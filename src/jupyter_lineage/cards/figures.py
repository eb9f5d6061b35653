"""The card's pictures, as plotly figures: metrics against gate thresholds, per-group results,
the metric history across attempts, and the lineage graph."""

from __future__ import annotations

from typing import Any


def metrics_figure(card: dict[str, Any]) -> Any | None:
    """Bar per metric, error bars for confidence intervals, the gate threshold drawn as a marker."""
    metrics = [m for m in card.get("metrics") or [] if m.get("value") is not None]
    if not metrics:
        return None
    import plotly.graph_objects as go

    names = [m["name"] for m in metrics]
    values = [m["value"] for m in metrics]
    error = None
    if any(m.get("ci_low") is not None and m.get("ci_high") is not None for m in metrics):
        error = {
            "type": "data",
            "symmetric": False,
            "array": [
                (m["ci_high"] - m["value"]) if m.get("ci_high") is not None else 0 for m in metrics
            ],
            "arrayminus": [
                (m["value"] - m["ci_low"]) if m.get("ci_low") is not None else 0 for m in metrics
            ],
        }
    fig = go.Figure(
        go.Bar(
            x=names,
            y=values,
            error_y=error,
            name="value",
            marker_color="#4477aa",
            text=[f"{v:.3g}" for v in values],
            textposition="outside",
        )
    )
    gated = [m for m in metrics if m.get("gate")]
    if gated:
        fig.add_trace(
            go.Scatter(
                x=[m["name"] for m in gated],
                y=[m["gate"]["threshold"] for m in gated],
                mode="markers",
                marker={
                    "symbol": "line-ew-open",
                    "size": 40,
                    "line": {"width": 3, "color": "#cc3311"},
                },
                name="gate threshold",
                text=[
                    f"gate: {m['name']} {m['gate']['op']} {m['gate']['threshold']:g}" for m in gated
                ],
                hoverinfo="text",
            )
        )
    fig.update_layout(
        title="Metrics (with evaluation gates)",
        height=340,
        margin={"t": 50, "b": 40},
        template="plotly_white",
        showlegend=bool(gated),
    )
    return fig


def groups_figure(card: dict[str, Any]) -> Any | None:
    """Per-group values of each metric, with the overall value and gate as reference lines."""
    rows = [r for r in card.get("quantitative_analyses") or [] if r.get("value") is not None]
    if not rows:
        return None
    import plotly.graph_objects as go

    fig = go.Figure()
    for metric in sorted({r["metric"] for r in rows}):
        sub = [r for r in rows if r["metric"] == metric]
        fig.add_trace(go.Bar(x=[r["group"] for r in sub], y=[r["value"] for r in sub], name=metric))
        gate = next(
            (
                m.get("gate")
                for m in card.get("metrics") or []
                if m["name"] == metric and m.get("gate")
            ),
            None,
        )
        if gate:
            fig.add_hline(
                y=gate["threshold"],
                line_dash="dash",
                line_color="#cc3311",
                annotation_text=f"gate {metric} {gate['op']} {gate['threshold']:g}",
            )
    fig.update_layout(
        title="Metrics per group",
        barmode="group",
        height=340,
        template="plotly_white",
        margin={"t": 50, "b": 40},
    )
    return fig


def history_figure(card: dict[str, Any]) -> Any | None:
    """Each metric across the attempts at this model, failed attempts marked."""
    history = card.get("metric_history") or []
    if not history:
        return None
    import plotly.graph_objects as go

    attempts: dict[str, str] = {}
    for h in history:  # one category per attempt, in time order
        key = f"{h.get('session_id')}/{h.get('experiment_id')}"
        if key not in attempts:
            label = h.get("experiment") or f"session {str(h.get('session_id'))[:6]}"
            attempts[key] = f"{len(attempts) + 1}. {label}" + (
                f" ({h['outcome']})" if h.get("outcome") else ""
            )
    fig = go.Figure()
    for metric in sorted({h["metric"] for h in history if "/" not in h["metric"]}):
        points = [h for h in history if h["metric"] == metric]
        fig.add_trace(
            go.Scatter(
                x=[attempts[f"{h.get('session_id')}/{h.get('experiment_id')}"] for h in points],
                y=[h["value"] for h in points],
                mode="lines+markers",
                name=metric,
                text=["had a failed attempt" if h.get("had_failure") else "" for h in points],
                marker={
                    "symbol": ["x" if h.get("had_failure") else "circle" for h in points],
                    "size": 10,
                },
            )
        )
    fig.update_xaxes(type="category")
    fig.update_layout(
        title="Metric history across attempts (x: an attempt with a failure)",
        height=320,
        template="plotly_white",
        margin={"t": 50, "b": 40},
    )
    return fig


def lineage_figure(card: dict[str, Any]) -> Any | None:
    """The upstream lineage of the training execution, when the graph module is installed."""
    execution = (card.get("lineage") or {}).get("training_execution")
    if not execution:
        return None
    try:
        from ..graph import figure
    except ImportError:
        return None
    from ..session import current_store

    store = current_store()
    try:
        fig = figure(f"model:{card['model_details']['name']}", direction="upstream", store=store)
    except Exception:  # the card must render even when the graph cannot be drawn
        try:
            fig = figure(f"exec:{execution}", direction="upstream", store=store)
        except Exception:
            return None
    try:
        return _without_local_paths(fig, execution, store)
    except Exception:
        return None  # a figure that might show this machine's paths is left out


def _without_local_paths(fig: Any, execution: str, store: Any) -> Any:
    """The graph's labels and hover texts with paths shown as the card shows them."""
    from ..store import cards as q
    from .data import card_locations

    run = q.execution(store, execution) or {}
    env = q.environment(store, run.get("environment_id")) or {}
    where = card_locations([run.get("notebook_path")], [env.get("python_executable")])
    for trace in fig.data:
        for attr in ("text", "hovertext"):
            value = getattr(trace, attr, None)
            if isinstance(value, str):
                setattr(trace, attr, where.text(value))
            elif value is not None:
                setattr(trace, attr, [where.text(v) for v in value])
    return fig
