"""The card's SVG pictures and its inline HTML, from card data (no store, no browser)."""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET

import pytest

from jupyter_lineage.cards import figures
from jupyter_lineage.cards.render import STYLES, inline_html
from jupyter_lineage.cards.svg import Box, fit, overlapping, text_width
from jupyter_lineage.graph.drawing import GraphView, ViewNode
from jupyter_lineage.graph.layout import layered_layout

ATTACK = '<script>alert("x")</script>&"\'\x01'
SVG = "{http://www.w3.org/2000/svg}"


def _card(**overrides: object) -> dict:
    card = {
        "generated_for": "m",
        "model_details": {"name": "m", "version": "1.0.0", "owners": ["a@example.com"]},
        "intended_use": {},
        "factors": {},
        "metrics": [
            {
                "name": "accuracy",
                "value": 0.701,
                "ci_low": 0.66,
                "ci_high": 0.75,
                "gate": {"op": ">=", "threshold": 0.7},
                "datasets": ["X_test"],
            },
            {"name": ATTACK, "value": 0.4, "ci_low": None, "ci_high": None, "gate": None},
        ],
        "quantitative_analyses": [{"metric": "accuracy", "group": "plan=pro", "value": 0.82}],
        "training_data": {
            "datasets": [
                {
                    "role": "source",
                    "kind": "file",
                    "name": "data/a-very-long-directory-name/" * 6 + "customers.csv",
                    "path": "data/a-very-long-directory-name/" * 6 + "customers.csv",
                    "sha256": "ab" * 32,
                    "size": 36061,
                }
            ],
            "preprocessing": [],
        },
        "ethical_considerations": {},
        "rationale": [],
        "failed_attempts": [],
        "environment": None,
        "lifecycle": None,
        "metric_history": [],
        "lineage": {"training_execution": None, "executions": []},
        "reproduction": None,
    }
    card.update(overrides)
    return card


def _parse(svg: str) -> ET.Element:
    """The SVG parsed as XML, as an image of it is: one bad character and it would not load."""
    return ET.fromstring(svg)


def test_bars_escape_every_string_and_parse_as_xml() -> None:
    svg = figures.metrics_svg(_card())
    assert svg is not None and "<script" not in svg
    root = _parse(svg)
    texts = "".join(root.itertext())
    assert '<script>alert("x")</script>' in texts  # shown as text, not markup
    assert "\x01" not in svg


def test_the_value_label_sits_in_its_own_column_clear_of_the_gate() -> None:
    root = _parse(figures.metrics_svg(_card()) or "")
    gates = [
        float(line.get("x1", 0))
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "gate"
        for line in g.iter(f"{SVG}line")
    ]
    values = [t for t in root.iter(f"{SVG}text") if t.get("class") == "value"]
    assert gates and values
    assert min(float(t.get("x", 0)) for t in values) > max(gates) + 8
    assert any("gate \u2265 0.7: met" in (t.text or "") for t in values)


def test_a_single_point_is_no_history() -> None:
    one = [
        {
            "session_id": "s1",
            "experiment_id": "e1",
            "experiment": "first",
            "metric": "accuracy",
            "value": 0.7,
        },
        {
            "session_id": "s1",
            "experiment_id": "e1",
            "experiment": "first",
            "metric": "accuracy/ci_low",
            "value": 0.6,
        },
    ]
    assert figures.history_svg(_card(metric_history=one)) is None
    two = [
        *one,
        {
            "session_id": "s2",
            "experiment_id": "e2",
            "experiment": ATTACK,
            "metric": "accuracy",
            "value": 0.72,
            "had_failure": True,
        },
    ]
    names, series = figures.history_series(_card(metric_history=two))
    assert list(series) == ["accuracy"] and [i for i, _, _ in series["accuracy"]] == [0, 1]
    assert names[0] == "1. first" and len(names) == 2
    svg = figures.history_svg(_card(metric_history=two))
    assert svg is not None and "<script>" not in svg
    assert ATTACK.split("\x01")[0] in "".join(_parse(svg).itertext())


def test_labels_are_cut_to_their_room_with_an_ellipsis() -> None:
    text = "a label much too long to fit in the room it has"
    cut = fit(text, 80, 11)
    assert cut.endswith("\u2026") and text_width(cut, 11) <= 80
    assert fit("short", 80, 11) == "short"
    assert text_width("WWW", 11) > text_width("iii", 11)


def _random_view(seed: int, size: int) -> figures.LineageDrawing:
    rng = random.Random(seed)
    ids = [f"n{i}" for i in range(size)]
    edges = [
        (ids[rng.randrange(i)], ids[i], "used")
        for i in range(1, size)
        for _ in range(rng.randint(1, 2))
    ]
    kinds = ["execution", "value", "file", "model", "review"]
    nodes = [
        ViewNode(
            node_id=n,
            kind=rng.choice(kinds),
            label=rng.choice(
                ["x", "[12] train-a-model-on-everything", "W" * 30, ATTACK, "customers.csv"]
            ),
            hover=f"<b>{n}</b><br>detail &amp; more",
            failed=rng.random() < 0.1,
            target=n == ids[-1],
        )
        for n in ids
    ]
    view = GraphView(nodes, list(dict.fromkeys(edges)))
    layout = layered_layout(ids, [(s, d) for s, d, _ in view.edges])
    return figures.lineage_drawing(view, layout)


@pytest.mark.parametrize("seed", range(8))
def test_no_two_graph_labels_overlap(seed: int) -> None:
    drawing = _random_view(seed, 12 + seed * 6)
    boxes = [n.label_box for n in drawing.nodes]
    assert overlapping(boxes) == []
    # nor does a label cover a node, its own or another's
    shapes = [n.node_box for n in drawing.nodes]
    assert not any(label.overlaps(shape) for label in boxes for shape in shapes)
    assert all(b.x + b.w <= drawing.width and b.y + b.h <= drawing.height for b in boxes)
    cut = [n for n in drawing.nodes if n.label != n.full_label]
    assert all(n.label.endswith("\u2026") for n in cut)


def test_the_lineage_svg_escapes_and_keeps_full_text_on_hover() -> None:
    drawing = _random_view(3, 30)
    svg = figures.lineage_svg(drawing, {drawing.nodes[0].node_id: "#run-abc"})
    root = _parse(svg)
    assert "<script>" not in svg
    titles = [t.text or "" for t in root.iter(f"{SVG}title")]
    assert any("detail & more" in t for t in titles)  # the hover's HTML made plain text
    assert len(list(root.iter(f"{SVG}a"))) == 1
    labels = [t for t in root.iter(f"{SVG}text") if t.get("class") == "node-label"]
    assert len(labels) == len(drawing.nodes)


def test_overlap_detection_finds_overlaps() -> None:
    assert overlapping([Box(0, 0, 10, 10), Box(5, 5, 10, 10), Box(20, 0, 5, 5)]) == [(0, 1)]


def test_inline_html_has_no_style_block_and_aligns_cells_left() -> None:
    html = inline_html(_card())
    assert "<style" not in html and "<script" not in html and "<svg" not in html
    assert ATTACK.split("\x01")[0] not in html  # escaped
    cells = re.findall(r"<t[dh]\b[^>]*>", html)
    assert cells and all("text-align:left" in c for c in cells)
    assert "class=" not in html.replace('class="jupyter-lineage-card"', "")
    # the hash is shortened, its whole value on hover; the long path shown once
    assert html.count("ab" * 32) == 1 and 'title="sha256:' + "ab" * 32 in html
    assert html.count("customers.csv") == 1
    assert html.count('<img src="data:image/svg+xml;base64,') == 2  # metrics and groups


def test_styles_use_no_css_variables() -> None:
    # a style attribute with a variable is dropped by JupyterLab's sanitiser
    assert not any("var(" in css for css in STYLES.values())
