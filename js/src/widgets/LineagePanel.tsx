import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ReactWidget, refreshIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import { lineageIcon } from '../icons';
import type { LineageModel, SidebarView } from '../model';
import { SIDEBAR_ID } from '../tokens';
import { ExecutionDetail } from './ExecutionDetail';
import { ModelsView } from './ModelsView';
import { current } from './parts';
import { StatusView } from './StatusView';
import { NoRunsYet, Timeline } from './Timeline';

/**
 * Delay between a cell finishing and the refresh it causes, so that "Run All"
 * costs one request rather than one per cell.
 */
const EXECUTED_REFRESH_DELAY_MS = 400;

export interface ILineagePanelOptions {
  model: LineageModel;
  /**
   * Renders annotations' Markdown and plotly graphs; plain text and SVG without.
   */
  rendermime: IRenderMimeRegistry | null;
  /**
   * Opens the current graph in a main-area tab; no button without.
   */
  openGraphInTab: (() => void) | null;
}

/**
 * The Lineage sidebar: the followed notebook's captured runs, one run in
 * detail with its annotations and graph, and the models with their cards.
 *
 * It refreshes when shown, after a cell of the followed notebook runs, and
 * every `refreshInterval` seconds while it stays visible, so a hidden panel
 * costs no requests.
 */
export class LineagePanel extends ReactWidget {
  constructor(options: ILineagePanelOptions) {
    super();
    this.model = options.model;
    this._rendermime = options.rendermime;
    this._openGraphInTab = options.openGraphInTab;
    this.id = SIDEBAR_ID;
    this.addClass('jp-Lineage-panel');
    this.title.icon = lineageIcon;
    this.title.caption = 'Lineage';
    this.model.changed.connect(this.update, this);
  }

  readonly model: LineageModel;

  /**
   * Seconds between refreshes while visible; 0 turns polling off.
   */
  get refreshInterval(): number {
    return this._refreshInterval;
  }

  set refreshInterval(seconds: number) {
    this._refreshInterval = Math.max(0, seconds);
    if (this.isVisible) {
      this._startPolling();
    }
  }

  /**
   * A cell of the followed notebook finished: refresh soon, if visible.
   */
  cellExecuted(): void {
    if (this._executedTimer !== null) {
      window.clearTimeout(this._executedTimer);
    }
    this._executedTimer = window.setTimeout(() => {
      this._executedTimer = null;
      // A hidden panel catches up when it is shown again.
      if (this.isVisible) {
        void this.model.refresh();
      }
    }, EXECUTED_REFRESH_DELAY_MS);
  }

  dispose(): void {
    this._stopPolling();
    if (this._executedTimer !== null) {
      window.clearTimeout(this._executedTimer);
    }
    this.model.changed.disconnect(this.update, this);
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.model.refresh();
    this._startPolling();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._stopPolling();
  }

  protected render(): JSX.Element {
    const model = this.model;
    const path = model.notebookPath;
    const state = model.state;
    return (
      <div className="jp-Lineage-content">
        <header className="jp-Lineage-header">
          <h2 className="jp-Lineage-title">Lineage</h2>
          <button
            className="jp-Lineage-refresh jp-Button jp-mod-minimal"
            title="Refresh"
            aria-label="Refresh"
            onClick={() => void model.refresh()}
          >
            <refreshIcon.react tag="span" />
          </button>
        </header>
        <section className="jp-Lineage-notebook">
          {path ? (
            <>
              <span className="jp-Lineage-label">Notebook</span>
              <code className="jp-Lineage-notebookPath" title={path}>
                {path}
              </code>
            </>
          ) : (
            <p className="jp-Lineage-muted">
              Open a notebook to follow its lineage.
            </p>
          )}
        </section>
        {state.kind === 'ready' ? (
          <>
            {path ? this._renderViews(path) : null}
            <footer className="jp-Lineage-footer">
              <StatusView state={state} />
            </footer>
          </>
        ) : (
          <section className="jp-Lineage-status">
            <StatusView state={state} />
          </section>
        )}
      </div>
    );
  }

  private _renderViews(path: string): JSX.Element {
    const model = this.model;
    const page = current(model.executions);
    const tab = (view: SidebarView, label: string, count?: number) => (
      <button
        role="tab"
        aria-selected={model.view === view}
        className={`jp-Lineage-tab${model.view === view ? ' jp-mod-active' : ''}`}
        onClick={() => {
          model.view = view;
        }}
      >
        {label}
        {count !== undefined ? (
          <span className="jp-Lineage-count">{count}</span>
        ) : null}
      </button>
    );
    let body: JSX.Element;
    if (model.view === 'models') {
      body = <ModelsView model={model} />;
    } else if (model.selectedId) {
      body = (
        <ExecutionDetail
          model={model}
          rendermime={this._rendermime}
          onOpenGraphInTab={this._openGraphInTab}
        />
      );
    } else {
      body = <Timeline model={model} />;
    }
    if (page && !page.store_exists && model.view === 'runs') {
      body = <NoRunsYet storeExists={false} />;
    }
    return (
      <>
        <nav className="jp-Lineage-tabs" role="tablist" aria-label={path}>
          {tab('runs', 'Runs', page ? page.total : undefined)}
          {tab('models', 'Models')}
        </nav>
        <section className="jp-Lineage-view">{body}</section>
      </>
    );
  }

  private _startPolling(): void {
    this._stopPolling();
    if (this._refreshInterval > 0) {
      this._timer = window.setInterval(
        () => void this.model.refresh(),
        this._refreshInterval * 1000
      );
    }
  }

  private _stopPolling(): void {
    if (this._timer !== null) {
      window.clearInterval(this._timer);
      this._timer = null;
    }
  }

  private _executedTimer: number | null = null;
  private _openGraphInTab: (() => void) | null;
  private _refreshInterval = 30;
  private _rendermime: IRenderMimeRegistry | null;
  private _timer: number | null = null;
}
