/**
 * The lineage graph as SVG, for when JupyterLab cannot render plotly: nodes
 * in layers from sources (left) to results (right), shape and colour by kind,
 * failed runs in the error colour; drag to pan, wheel to zoom.
 */

import * as React from 'react';

import { shortId } from '../format';
import type { IGraphEdge, IGraphNode, ILineageGraph } from '../tokens';

const LAYER_GAP = 130;
const ROW_GAP = 56;
const MARGIN = 40;
// The first view shrinks a wide graph down to this scale (labels stay legible),
// and enlarges a small one up to this.
const MIN_FIT_SCALE = 0.75;
const MAX_FIT_SCALE = 1.3;

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), Math.max(low, high));
}

export interface INodePosition {
  x: number;
  y: number;
}

/**
 * Layers by longest path from the sources (edges that close a cycle are
 * ignored), rows in time order within a layer. Pure.
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
      positions.set(node.node_id, {
        x: MARGIN + l * LAYER_GAP,
        y: MARGIN + row * ROW_GAP
      });
    });
  }
  return positions;
}

/**
 * A short label for a node: a cell's name, a variable's name, a file's name.
 */
export function nodeLabel(node: IGraphNode): string {
  const name = node.name ?? shortId(node.node_id.split(':').pop() ?? '');
  const label =
    node.kind === 'execution' && node.execution_count !== null
      ? `${name} [${node.execution_count}]`
      : node.kind === 'file'
        ? (name.split(/[\\/]/).pop() ?? name)
        : name;
  return label.length > 22 ? label.slice(0, 21) + '…' : label;
}

function nodeTitle(node: IGraphNode): string {
  const lines = [`${node.kind}: ${node.name ?? node.node_id}`];
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

export function GraphSvg(props: {
  graph: ILineageGraph;
  onSelectNode: ((nodeId: string) => void) | null;
}): JSX.Element {
  const { graph, onSelectNode } = props;
  const positions = React.useMemo(
    () => layeredPositions(graph.nodes, graph.edges),
    [graph]
  );
  const width =
    Math.max(...[...positions.values()].map(p => p.x), 0) + MARGIN * 2;
  const height =
    Math.max(...[...positions.values()].map(p => p.y), 0) + MARGIN * 2;
  const start = new Set(graph.start);
  const element = React.useRef<SVGSVGElement>(null);
  const [shownWidth, setShownWidth] = React.useState(360);
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

  // At first: the whole graph if its labels stay readable, else the part
  // around the requested node.
  const fitted = React.useMemo(() => {
    const scale = clamp(shownWidth / width, MIN_FIT_SCALE, MAX_FIT_SCALE);
    const visible = shownWidth / scale;
    const focus = positions.get(graph.start[0] ?? '');
    const x =
      visible >= width
        ? (width - visible) / 2
        : clamp((focus?.x ?? 0) - visible / 2, 0, width - visible);
    return { x, y: 0, scale };
  }, [graph, positions, width, shownWidth]);
  const shownHeight = clamp(height * fitted.scale, 200, 480);
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
      viewBox={`${view.x} ${view.y} ${shownWidth / view.scale} ${shownHeight / view.scale}`}
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
          const mid = (a.x + b.x) / 2;
          return (
            <path
              key={`${edge.src}>${edge.dst}>${edge.kind}`}
              className={`jp-Lineage-edge jp-mod-${edge.kind}`}
              d={`M${a.x + 12} ${a.y}C${mid} ${a.y} ${mid} ${b.y} ${b.x - 14} ${b.y}`}
              markerEnd="url(#jp-Lineage-arrow)"
            />
          );
        })}
        {graph.nodes.map(node => {
          const p = positions.get(node.node_id)!;
          const failed =
            node.kind === 'execution' && !!node.status && node.status !== 'ok';
          return (
            <g
              key={node.node_id}
              className={`jp-Lineage-node jp-mod-${node.kind}${failed ? ' jp-mod-failed' : ''}${start.has(node.node_id) ? ' jp-mod-start' : ''}`}
              transform={`translate(${p.x} ${p.y})`}
              data-node-id={node.node_id}
              onClick={() => onSelectNode?.(node.node_id)}
            >
              <title>{nodeTitle(node)}</title>
              {start.has(node.node_id) ? (
                <circle r={17} className="jp-Lineage-startRing" />
              ) : null}
              <NodeShape node={node} failed={failed} />
              <text y={26} textAnchor="middle">
                {nodeLabel(node)}
              </text>
            </g>
          );
        })}
      </g>
    </svg>
  );
}
