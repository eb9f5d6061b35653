/**
 * The lineage graph of a node. In the sidebar it is drawn as SVG (`GraphSvg`):
 * at a sidebar's width plotly's text labels run into each other, where the SVG
 * measures its labels and spaces the layers by them. In a main-area tab it is
 * plotly's figure when JupyterLab can render plotly (the `jupyterlab-plotly`
 * MIME extension that ships with the plotly Python package): the figure
 * `%lineage_graph` draws in the notebook, with hover text holding fingerprints
 * and sources, at no cost to this extension's bundle; else the same SVG.
 *
 * Both draw the nodes the server chose: identical re-runs merged (across
 * kernel sessions too) and transient values (bound, read by no other run)
 * left out until the user asks for them.
 */

import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { MimeModel } from '@jupyterlab/rendermime';
import { ReactWidget } from '@jupyterlab/ui-components';
import type { Widget } from '@lumino/widgets';
import * as React from 'react';

import type { LineageModel } from '../model';
import type { GraphDirection, ILineageGraph } from '../tokens';
import { GraphSvg } from './GraphSvg';
import { current, ErrorNote, WidgetHost } from './parts';

export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

const DEPTHS: (number | null)[] = [1, 2, 3, 5, 10, null];

/**
 * Whether JupyterLab has a renderer for plotly figures.
 */
export function canRenderPlotly(
  rendermime: IRenderMimeRegistry | null
): boolean {
  return !!rendermime && rendermime.mimeTypes.includes(PLOTLY_MIME);
}

/**
 * The graph section of the detail view: direction, depth, the drawing.
 */
export function GraphPanel(props: {
  model: LineageModel;
  rendermime: IRenderMimeRegistry | null;
  onOpenInTab: (() => void) | null;
}): JSX.Element | null {
  const { model, rendermime, onOpenInTab } = props;
  const request = model.graphRequest;
  if (!request) {
    return null;
  }
  const loadable = model.graph;
  const graph = current(loadable);
  return (
    <section className="jp-Lineage-graphPanel" aria-label="Lineage graph">
      <div className="jp-Lineage-graphControls">
        <select
          className="jp-Lineage-select jp-Lineage-direction"
          value={request.direction}
          aria-label="Direction"
          onChange={event =>
            void model.showGraph(
              request.node,
              event.target.value as GraphDirection,
              request.depth
            )
          }
        >
          <option value="both" title="What it came from and what it fed">
            both directions
          </option>
          <option value="upstream" title="What it came from">
            upstream
          </option>
          <option value="downstream" title="What it fed">
            downstream
          </option>
        </select>
        <select
          className="jp-Lineage-select jp-Lineage-depth"
          value={request.depth === null ? '' : String(request.depth)}
          aria-label="Depth"
          onChange={event =>
            void model.showGraph(
              request.node,
              request.direction,
              event.target.value ? Number(event.target.value) : null
            )
          }
        >
          {DEPTHS.map(d => (
            <option key={String(d)} value={d === null ? '' : String(d)}>
              {d === null ? 'all edges' : `${d} edge${d === 1 ? '' : 's'}`}
            </option>
          ))}
        </select>
        {onOpenInTab ? (
          <button
            className="jp-Lineage-button jp-mod-minimal"
            title="Open the graph in a tab of the main area"
            onClick={onOpenInTab}
            disabled={!graph}
          >
            Open in tab
          </button>
        ) : null}
        <button
          className="jp-Lineage-button jp-mod-minimal jp-Lineage-closeGraph"
          title="Close the graph"
          aria-label="Close the graph"
          onClick={() => model.hideGraph()}
        >
          ✕
        </button>
      </div>
      {loadable.kind === 'error' ? (
        <ErrorNote
          message={loadable.message}
          httpStatus={loadable.httpStatus}
        />
      ) : null}
      {loadable.kind === 'loading' ? (
        <p className="jp-Lineage-muted">Walking the lineage&hellip;</p>
      ) : null}
      {graph ? (
        <TransientToggle
          graph={graph}
          onToggle={transient =>
            void model.showGraph(
              request.node,
              request.direction,
              request.depth,
              transient
            )
          }
        />
      ) : null}
      {graph ? (
        <GraphCanvas
          graph={graph}
          rendermime={rendermime}
          compact={true}
          onSelectNode={node =>
            void model.showGraph(node, request.direction, request.depth)
          }
        />
      ) : null}
      <p className="jp-Lineage-muted jp-Lineage-graphHint">
        Click a node to centre the graph on it; drag to pan, scroll to zoom.
      </p>
    </section>
  );
}

/**
 * How many transient values the graph leaves out (or shows), and the switch.
 */
export function TransientToggle(props: {
  graph: ILineageGraph;
  onToggle: (transient: boolean) => void;
}): JSX.Element | null {
  const { graph, onToggle } = props;
  const shown = graph.nodes.filter(n => n.transient).length;
  const hidden = graph.hidden ?? 0;
  if (hidden === 0 && shown === 0) {
    return null;
  }
  const values = (n: number) => `${n} transient value${n === 1 ? '' : 's'}`;
  return (
    <p
      className="jp-Lineage-muted jp-Lineage-transient"
      data-hidden={hidden}
      data-shown={shown}
      title="Values bound by a run and read by no other run: loop variables, temporaries, open files"
    >
      {hidden > 0 ? `${values(hidden)} hidden` : `${values(shown)} shown`}
      {' · '}
      <button
        className="jp-Lineage-link jp-Lineage-transientToggle"
        onClick={() => onToggle(hidden > 0)}
      >
        {hidden > 0 ? `show ${hidden} hidden` : 'hide them'}
      </button>
    </p>
  );
}

/**
 * The drawing itself.
 *
 * @param compact Sized for the sidebar: always SVG.
 */
export function GraphCanvas(props: {
  graph: ILineageGraph;
  rendermime: IRenderMimeRegistry | null;
  compact: boolean;
  onSelectNode: ((nodeId: string) => void) | null;
}): JSX.Element {
  const { graph, rendermime, compact, onSelectNode } = props;
  const renderer = React.useMemo(
    () =>
      !compact && canRenderPlotly(rendermime)
        ? plotlyRenderer(rendermime!, graph, compact, onSelectNode)
        : null,
    // A new renderer per graph: onSelectNode changes on every render.
    [graph, rendermime, compact]
  );
  if (graph.nodes.length === 0) {
    return (
      <p className="jp-Lineage-muted">This node has no recorded lineage.</p>
    );
  }
  if (renderer) {
    return (
      <WidgetHost
        widget={renderer}
        className="jp-Lineage-graph jp-Lineage-plotly"
      />
    );
  }
  return (
    <div className="jp-Lineage-graph jp-Lineage-svgGraph">
      <GraphSvg graph={graph} onSelectNode={onSelectNode} />
    </div>
  );
}

/**
 * A plotly renderer for the figure, restyled for the sidebar and the theme.
 */
function plotlyRenderer(
  rendermime: IRenderMimeRegistry,
  graph: ILineageGraph,
  compact: boolean,
  onSelectNode: ((nodeId: string) => void) | null
): Widget {
  const style = getComputedStyle(document.body);
  const colour = (name: string, fallback: string) =>
    style.getPropertyValue(name).trim() || fallback;
  const text = colour('--jp-ui-font-color1', '#333333');
  const background = colour('--jp-layout-color1', '#ffffff');
  const data = graph.figure.data.map(trace => {
    if (trace.meta?.role === 'target') {
      // The ring around the requested node, drawn in the theme's ink.
      return {
        ...trace,
        marker: {
          ...trace.marker,
          color: text,
          line: { color: text, width: 2 }
        }
      };
    }
    return trace.textfont
      ? { ...trace, textfont: { ...trace.textfont, color: text } }
      : trace;
  });
  const layout: Record<string, any> = {
    ...graph.figure.layout,
    paper_bgcolor: background,
    plot_bgcolor: background,
    font: { ...(graph.figure.layout.font ?? {}), color: text },
    autosize: true,
    width: undefined
  };
  if (compact) {
    layout.title = { text: '' };
    layout.margin = { l: 8, r: 8, t: 8, b: 8 };
    layout.legend = {
      orientation: 'h',
      x: 0,
      y: -0.02,
      yanchor: 'top',
      font: { size: 10, color: text }
    };
    layout.height = Math.min(Math.max(260, graph.nodes.length * 28), 520);
  }
  const renderer = rendermime.createRenderer(PLOTLY_MIME);
  const model = new MimeModel({
    data: {
      [PLOTLY_MIME]: {
        data,
        layout,
        config: { displaylogo: false, responsive: true, scrollZoom: true }
      }
    },
    trusted: true
  });
  void renderer.renderModel(model).then(() => {
    // Plotly sized the figure before it was in the page: fit it to the panel.
    renderer.update();
    const plot = renderer.node as HTMLElement & {
      on?: (event: string, handler: (data: any) => void) => void;
    };
    if (onSelectNode && typeof plot.on === 'function') {
      plot.on('plotly_click', (event: any) => {
        const point = event?.points?.[0];
        const node = point?.customdata;
        if (typeof node === 'string' && node.includes(':')) {
          onSelectNode(node);
        }
      });
    }
  });
  return renderer;
}

/**
 * A main-area tab showing one graph at full size.
 */
export class GraphTab extends ReactWidget {
  constructor(graph: ILineageGraph, rendermime: IRenderMimeRegistry | null) {
    super();
    this._graph = graph;
    this._rendermime = rendermime;
    this.addClass('jp-Lineage-graphTab');
  }

  protected render(): JSX.Element {
    return (
      <GraphCanvas
        graph={this._graph}
        rendermime={this._rendermime}
        compact={false}
        onSelectNode={null}
      />
    );
  }

  private _graph: ILineageGraph;
  private _rendermime: IRenderMimeRegistry | null;
}
