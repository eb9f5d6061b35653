/**
 * jupyter-lineage's MIME renderers: the outputs of `%lineage_graph` and
 * `%lineage_card`, drawn inline with the sidebar's own components.
 *
 * The magics display a bundle: the lineage JSON under the types below, plotly's
 * figure or HTML for other front ends. These renderers rank ahead of plotly's
 * and of HTML, and are safe (they draw JSON as React elements, never as HTML),
 * so JupyterLab uses them in trusted and untrusted notebooks alike, styled by
 * this extension's CSS rather than by a `<style>` block that an untrusted
 * notebook drops.
 */

import type { IRenderMime } from '@jupyterlab/rendermime';
import { ReactWidget } from '@jupyterlab/ui-components';
import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import type { ILineageGraph } from './tokens';
import { CardView, type ICardData } from './widgets/CardView';
import { GraphSvg } from './widgets/GraphSvg';

export const GRAPH_MIME = 'application/vnd.jupyter-lineage.graph+json';
export const CARD_MIME = 'application/vnd.jupyter-lineage.card+json';

/**
 * Ahead of plotly's renderer (2) and of HTML's (50); JupyterLab picks the
 * lowest rank among the types of a bundle.
 */
const RANK = 0;

/**
 * The graph JSON of a bundle: the graph the server sends the sidebar, without
 * the plotly figure (the bundle has it under plotly's own type).
 */
export type IInlineGraph = Omit<ILineageGraph, 'figure'> &
  Partial<Pick<ILineageGraph, 'figure'>>;

const NO_FIGURE: ILineageGraph['figure'] = { data: [], layout: {} };

function InlineGraph(props: { graph: IInlineGraph }): JSX.Element {
  const { graph } = props;
  if (!Array.isArray(graph.nodes) || graph.nodes.length === 0) {
    return (
      <p className="jp-Lineage-muted">
        {graph.node
          ? `${graph.node} has no recorded lineage.`
          : 'Nothing recorded yet.'}
      </p>
    );
  }
  const kinds = new Set(graph.nodes.map(n => n.kind));
  return (
    <figure className="jp-Lineage-inlineGraph">
      <figcaption className="jp-Lineage-inlineGraphTitle">
        {graph.node ? `Lineage of ${graph.node}` : 'Lineage of this notebook'}
        {graph.direction && graph.direction !== 'both'
          ? `, ${graph.direction}`
          : ''}
        <span className="jp-Lineage-muted">
          {' '}
          {graph.nodes.length} nodes, {graph.edges.length} edges · drag to pan,
          scroll to zoom, double-click to fit
        </span>
      </figcaption>
      <div className="jp-Lineage-graph jp-Lineage-svgGraph">
        <GraphSvg graph={{ figure: NO_FIGURE, ...graph }} onSelectNode={null} />
      </div>
      <ul className="jp-Lineage-legend" aria-label="Legend">
        {['execution', 'value', 'file', 'model', 'review'].map(kind =>
          kinds.has(kind as any) ? (
            <li key={kind} className={`jp-mod-${kind}`}>
              {kind}
            </li>
          ) : null
        )}
      </ul>
    </figure>
  );
}

/**
 * One renderer class for both types: React draws the JSON of the model.
 */
class LineageRenderer extends ReactWidget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._mimeType = options.mimeType;
    this.addClass('jp-Lineage-inline');
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this._data = model.data[this._mimeType] ?? null;
    // Render now rather than on the next animation frame, so the output has
    // its size when the output area measures it.
    MessageLoop.sendMessage(this, Widget.Msg.UpdateRequest);
    return this.renderPromise ?? Promise.resolve();
  }

  protected render(): JSX.Element | null {
    const data = this._data;
    if (!data || typeof data !== 'object') {
      return (
        <p className="jp-Lineage-error">
          This lineage output holds no data: run the cell again.
        </p>
      );
    }
    if (this._mimeType === CARD_MIME) {
      return <CardView card={data as ICardData} />;
    }
    return <InlineGraph graph={data as unknown as IInlineGraph} />;
  }

  private _mimeType: string;
  private _data: unknown = null;
}

const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [GRAPH_MIME, CARD_MIME],
  createRenderer: options => new LineageRenderer(options)
};

const extension: IRenderMime.IExtension = {
  id: 'jupyter-lineage:mime',
  description:
    'Draws the lineage graphs and model cards that the magics display.',
  rendererFactory,
  rank: RANK,
  dataType: 'json'
};

export default extension;
