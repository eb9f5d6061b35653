/**
 * The lineage graph as SVG: nodes in layers from sources (left) to results
 * (right), shape and colour by kind, failed runs in the error colour; drag to
 * pan, wheel to zoom, double-click to fit again.
 *
 * Readable in a narrow sidebar: every label is measured, cut with an ellipsis
 * beyond `MAX_LABEL_PX` (the full name is in the node's tooltip), and layers
 * are spaced by the widest labels on either side, so no two labels overlap at
 * any zoom. The requested node is ringed behind its shape, its label below the
 * ring. Layers and rows come from the server's layered layout (the one the
 * notebook's figure uses, crossings reduced) when the answer has them, else
 * from a longest-path layering made here.
 */

import * as React from 'react';

import { shortId } from '../format';
import type { IGraphEdge, IGraphNode, ILineageGraph } from '../tokens';

const ROW_GAP = 60;
const MARGIN = 24;
// Horizontal room between the labels of neighbouring layers, and the least
// distance between layers (so that edges stay visible).
const LABEL_GAP = 14;
const MIN_LAYER_GAP = 64;
const NODE_HALF_WIDTH = 14;
// Labels longer than this are cut with an ellipsis.
export const MAX_LABEL_PX = 118;
const LABEL_FONT_PX = 10;
const LABEL_Y = 25;
const TARGET_RING = 17;
const TARGET_LABEL_Y = TARGET_RING + 13;
// The first view shrinks a wide graph down to this scale (labels stay legible),
// and enlarges a small one up to this.
const MIN_FIT_SCALE = 0.7;
const MAX_FIT_SCALE = 1.25;

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), Math.max(low, high));
}

export interface INodePosition {
  x: number;
  y: number;
}

/**
 * Where each node goes, in pixels, with its label as drawn.
 */
export interface IGraphLayout {
  positions: Map<string, INodePosition>;
  labels: Map<string, string>;
  /**
   * Bend points of edges spanning layers, by `src>dst>kind`.
   */
  routes: Map<string, INodePosition[]>;
  width: number;
  height: number;
}

/**
 * A function giving the width in pixels of a label.
 */
export type MeasureText = (text: string) => number;

/**
 * Widths of labels as the sidebar draws them (a canvas measures them in the
 * theme's UI font); an estimate where no canvas is available.
 */
export function labelMeasure(): MeasureText {
  const canvas =
    typeof document !== 'undefined' ? document.createElement('canvas') : null;
  const context = canvas?.getContext('2d') ?? null;
  if (!context) {
    return text => text.length * LABEL_FONT_PX * 0.62;
  }
  const family =
    getComputedStyle(document.body)
      .getPropertyValue('--jp-ui-font-family')
      .trim() || 'sans-serif';
  context.font = `${LABEL_FONT_PX}px ${family}`;
  // A pixel either side: text rendering rounds differently from the canvas.
  return text => context.measureText(text).width + 2;
}

/**
 * `text` cut with an ellipsis to fit `most` pixels.
 */
export function fitLabel(
  text: string,
  most: number,
  measure: MeasureText
): string {
  if (measure(text) <= most) {
    return text;
  }
  let low = 0;
  let high = text.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (measure(text.slice(0, mid) + '…') <= most) {
      low = mid;
    } else {
      high = mid - 1;
    }
  }
  return text.slice(0, low).trimEnd() + '…';
}

export function edgeKey(edge: IGraphEdge): string {
  return `${edge.src}>${edge.dst}>${edge.kind}`;
}

/**
 * Layers by longest path from the sources (edges that close a cycle are
 * ignored), rows in time order within a layer. Pure; in layer and row units.
 */
export function layeredPositions(
  nodes: IGraphNode[],
  edges: IGraphEdge[]
): Map<string, INodePosition> {
  const ids = new Set(nodes.map(n => n.node_id));
  const incoming = new Map<string, string[]>();
  const outgoing = new Map<string, string[]>();
  for (const id of ids) {
    incoming.set(id, []);
    outgoing.set(id, []);
  }
  for (const e of edges) {
    if (ids.has(e.src) && ids.has(e.dst) && e.src !== e.dst) {
      outgoing.get(e.src)!.push(e.dst);
      incoming.get(e.dst)!.push(e.src);
    }
  }
  // Kahn's order; nodes left on a cycle are placed after the rest.
  const pending = new Map([...ids].map(id => [id, incoming.get(id)!.length]));
  const queue = [...ids].filter(id => pending.get(id) === 0);
  const layer = new Map<string, number>();
  for (const id of queue) {
    layer.set(id, 0);
  }
  while (queue.length > 0) {
    const id = queue.shift()!;
    for (const next of outgoing.get(id)!) {
      layer.set(next, Math.max(layer.get(next) ?? 0, layer.get(id)! + 1));
      const left = pending.get(next)! - 1;
      pending.set(next, left);
      if (left === 0) {
        queue.push(next);
      }
    }
  }
  const deepest = Math.max(0, ...layer.values());
  for (const id of ids) {
    if (!layer.has(id)) {
      layer.set(id, deepest + 1);
    }
  }
  const byLayer = new Map<number, IGraphNode[]>();
  for (const node of nodes) {
    const l = layer.get(node.node_id)!;
    byLayer.set(l, [...(byLayer.get(l) ?? []), node]);
  }
  const positions = new Map<string, INodePosition>();
  for (const [l, members] of byLayer) {
    members.sort((a, b) =>
      (a.created_at ?? '').localeCompare(b.created_at ?? '')
    );
    members.forEach((node, row) => {
      positions.set(node.node_id, { x: l, y: row });
    });
  }
  return positions;
}

/**
 * Pixel positions of every node and bend point: rows `ROW_GAP` apart, layers
 * as far apart as the widest labels either side need. Pure.
 */
export function graphLayout(
  graph: Pick<ILineageGraph, 'nodes' | 'edges'>,
  measure: MeasureText
): IGraphLayout {
  const { nodes, edges } = graph;
  const placed = nodes.every(
    n => typeof n.layer === 'number' && typeof n.row === 'number'
  );
  const grid = placed
    ? new Map(nodes.map(n => [n.node_id, { x: n.layer!, y: n.row! }]))
    : layeredPositions(nodes, edges);
  const labels = new Map<string, string>();
  const halfWidth = new Map<number, number>();
  for (const node of nodes) {
    const label = fitLabel(nodeLabel(node), MAX_LABEL_PX, measure);
    labels.set(node.node_id, label);
    const layer = Math.round(grid.get(node.node_id)!.x);
    halfWidth.set(
      layer,
      Math.max(halfWidth.get(layer) ?? NODE_HALF_WIDTH, measure(label) / 2)
    );
  }
  const routesInGrid = new Map<string, INodePosition[]>();
  if (placed) {
    for (const edge of edges) {
      if (edge.route && edge.route.length > 0) {
        routesInGrid.set(
          edgeKey(edge),
          edge.route.map(([x, y]) => ({ x, y }))
        );
      }
    }
  }
  const layers = Math.max(
    0,
    ...[...grid.values()].map(p => Math.round(p.x) + 1)
  );
  // x of each layer: the widest half labels of two neighbours, and a gap.
  const layerX: number[] = [];
  let x = MARGIN + (halfWidth.get(0) ?? NODE_HALF_WIDTH);
  for (let l = 0; l < layers; l++) {
    if (l > 0) {
      const before = halfWidth.get(l - 1) ?? NODE_HALF_WIDTH;
      const here = halfWidth.get(l) ?? NODE_HALF_WIDTH;
      x += Math.max(MIN_LAYER_GAP, before + here + LABEL_GAP);
    }
    layerX.push(x);
  }
  const toPixels = (p: INodePosition): INodePosition => ({
    x: layerX[Math.round(p.x)] ?? MARGIN,
    y: MARGIN + TARGET_RING + p.y * ROW_GAP
  });
  const positions = new Map(
    [...grid.entries()].map(([id, p]) => [id, toPixels(p)])
  );
  const routes = new Map(
    [...routesInGrid.entries()].map(([key, points]) => [
      key,
      points.map(toPixels)
    ])
  );
  const lastLayer = layers - 1;
  const width =
    (layerX[lastLayer] ?? MARGIN) +
    (halfWidth.get(lastLayer) ?? NODE_HALF_WIDTH) +
    MARGIN;
  const lowest = Math.max(0, ...[...positions.values()].map(p => p.y));
  const height = lowest + TARGET_LABEL_Y + MARGIN;
  return { positions, labels, routes, width, height };
}

/**
 * A short label for a node: the server's (a cell's execution count and name,
 * with a count when it stands for several runs), else a cell's name, a
 * variable's name, a file's name.
 */
export function nodeLabel(node: IGraphNode): string {
  if (node.label) {
    return node.label;
  }
  const name = node.name ?? shortId(node.node_id.split(':').pop() ?? '');
  return node.kind === 'execution' && node.execution_count !== null
    ? `[${node.execution_count}] ${name}`
    : node.kind === 'file'
      ? (name.split(/[\\/]/).pop() ?? name)
      : name;
}

function nodeTitle(node: IGraphNode): string {
  const lines = [`${nodeLabel(node)} (${node.kind})`];
  if (node.name && node.name !== nodeLabel(node)) {
    lines.push(node.name);
  }
  if (node.count && node.count > 1) {
    lines.push(`${node.count} identical runs (the latest shown)`);
  }
  if (node.transient) {
    lines.push('transient: no other run read it');
  }
  if (node.type_name) {
    lines.push(`type ${node.type_name}${node.shape ? ` ${node.shape}` : ''}`);
  }
  if (node.path) {
    lines.push(node.path);
  }
  if (node.status && node.status !== 'ok') {
    lines.push(
      `${node.status}${node.error_type ? `: ${node.error_type}` : ''}`
    );
  }
  if (node.created_at) {
    lines.push(new Date(node.created_at).toLocaleString());
  }
  lines.push(node.node_id);
  return lines.join('\n');
}

function NodeShape(props: { node: IGraphNode; failed: boolean }): JSX.Element {
  switch (props.node.kind) {
    case 'execution':
      return <rect x={-9} y={-9} width={18} height={18} rx={3} />;
    case 'file':
      return <path d="M0 -11L11 0L0 11L-11 0Z" />;
    case 'model':
      return (
        <path d="M0 -13L3.8 -4.2L13 -4L5.8 2.2L8 11.5L0 6.4L-8 11.5L-5.8 2.2L-13 -4L-3.8 -4.2Z" />
      );
    default:
      return <circle r={8} />;
  }
}

function edgePath(points: INodePosition[]): string {
  // Out of the source's right side, into the target's left side, through the bends.
  const [first, ...rest] = points;
  let d = `M${first.x + 12} ${first.y}`;
  let previous = { x: first.x + 12, y: first.y };
  rest.forEach((point, index) => {
    const end =
      index === rest.length - 1 ? { x: point.x - 14, y: point.y } : point;
    const mid = (previous.x + end.x) / 2;
    d += `C${mid} ${previous.y} ${mid} ${end.y} ${end.x} ${end.y}`;
    previous = end;
  });
  return d;
}

export function GraphSvg(props: {
  graph: ILineageGraph;
  onSelectNode: ((nodeId: string) => void) | null;
}): JSX.Element {
  const { graph, onSelectNode } = props;
  const layout = React.useMemo(
    () => graphLayout(graph, labelMeasure()),
    [graph]
  );
  const { positions, labels, routes, width, height } = layout;
  const start = new Set(graph.start);
  const isTarget = (node: IGraphNode) => node.target ?? start.has(node.node_id);
  const element = React.useRef<SVGSVGElement>(null);
  const [shownWidth, setShownWidth] = React.useState(0);
  React.useLayoutEffect(() => {
    const svg = element.current;
    if (!svg) {
      return;
    }
    const measure = () => setShownWidth(w => svg.clientWidth || w);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(svg);
    return () => observer.disconnect();
  }, []);
  const available = shownWidth || 300;

  // At first: the whole graph if its labels stay readable, else the part
  // around the requested node.
  const fitted = React.useMemo(() => {
    const scale = clamp(available / width, MIN_FIT_SCALE, MAX_FIT_SCALE);
    const visible = available / scale;
    const focusNode = graph.nodes.find(isTarget);
    const focus = focusNode ? positions.get(focusNode.node_id) : undefined;
    const x =
      visible >= width
        ? (width - visible) / 2
        : clamp((focus?.x ?? 0) - visible / 2, 0, width - visible);
    return { x, y: 0, scale };
  }, [graph, layout, available]);
  const shownHeight = clamp(height * fitted.scale, 160, 520);
  const [view, setView] = React.useState(fitted);
  React.useEffect(() => setView(fitted), [fitted]);
  const drag = React.useRef<{ x: number; y: number } | null>(null);

  const onWheel = (event: React.WheelEvent<SVGSVGElement>) => {
    event.preventDefault();
    const factor = event.deltaY < 0 ? 1.15 : 1 / 1.15;
    const box = event.currentTarget.getBoundingClientRect();
    const px = event.clientX - box.left;
    const py = event.clientY - box.top;
    setView(v => {
      const scale = clamp(v.scale * factor, 0.2, 4);
      // Zoom around the pointer: the point under it stays put.
      return {
        scale,
        x: v.x + px / v.scale - px / scale,
        y: v.y + py / v.scale - py / scale
      };
    });
  };
  const onPointerDown = (event: React.PointerEvent<SVGSVGElement>) => {
    drag.current = { x: event.clientX, y: event.clientY };
  };
  const onPointerMove = (event: React.PointerEvent<SVGSVGElement>) => {
    if (!drag.current) {
      return;
    }
    const dx = event.clientX - drag.current.x;
    const dy = event.clientY - drag.current.y;
    drag.current = { x: event.clientX, y: event.clientY };
    setView(v => ({ ...v, x: v.x - dx / v.scale, y: v.y - dy / v.scale }));
  };
  const stop = () => {
    drag.current = null;
  };

  return (
    <svg
      ref={element}
      className="jp-Lineage-svg"
      viewBox={`${view.x} ${view.y} ${available / view.scale} ${shownHeight / view.scale}`}
      style={{ height: shownHeight }}
      onWheel={onWheel}
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={stop}
      onPointerLeave={stop}
      onDoubleClick={() => setView(fitted)}
      role="img"
      aria-label={`Lineage graph: ${graph.nodes.length} nodes, ${graph.edges.length} edges`}
    >
      <defs>
        <marker
          id="jp-Lineage-arrow"
          viewBox="0 0 10 10"
          refX="10"
          refY="5"
          markerWidth="7"
          markerHeight="7"
          orient="auto-start-reverse"
        >
          <path d="M0 0L10 5L0 10z" className="jp-Lineage-arrowHead" />
        </marker>
      </defs>
      <g>
        {graph.edges.map(edge => {
          const a = positions.get(edge.src);
          const b = positions.get(edge.dst);
          if (!a || !b) {
            return null;
          }
          const key = edgeKey(edge);
          return (
            <path
              key={key}
              className={`jp-Lineage-edge jp-mod-${edge.kind}`}
              d={edgePath([a, ...(routes.get(key) ?? []), b])}
              markerEnd="url(#jp-Lineage-arrow)"
            />
          );
        })}
        {graph.nodes.map(node => {
          const p = positions.get(node.node_id)!;
          const failed =
            node.kind === 'execution' && !!node.status && node.status !== 'ok';
          const target = isTarget(node);
          const classes = [
            'jp-Lineage-node',
            `jp-mod-${node.kind}`,
            failed ? 'jp-mod-failed' : '',
            target ? 'jp-mod-start' : '',
            node.transient ? 'jp-mod-transient' : ''
          ].filter(Boolean);
          return (
            <g
              key={node.node_id}
              className={classes.join(' ')}
              transform={`translate(${p.x} ${p.y})`}
              data-node-id={node.node_id}
              onClick={() => onSelectNode?.(node.node_id)}
            >
              <title>{nodeTitle(node)}</title>
              {target ? (
                <circle r={TARGET_RING} className="jp-Lineage-startRing" />
              ) : null}
              <NodeShape node={node} failed={failed} />
              <text
                className="jp-Lineage-nodeLabel"
                y={target ? TARGET_LABEL_Y : LABEL_Y}
                textAnchor="middle"
              >
                {labels.get(node.node_id)}
              </text>
            </g>
          );
        })}
      </g>
    </svg>
  );
}
