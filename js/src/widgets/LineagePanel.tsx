import { ReactWidget, refreshIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import { lineageIcon } from '../icons';
import type { LineageModel } from '../model';
import { SIDEBAR_ID } from '../tokens';
import { StatusView } from './StatusView';

/**
 * The Lineage sidebar: the followed notebook and what the server knows of it.
 *
 * It refreshes when shown and then every `refreshInterval` seconds while it
 * stays visible, so a hidden panel costs no requests.
 */
export class LineagePanel extends ReactWidget {
  constructor(model: LineageModel) {
    super();
    this.model = model;
    this.id = SIDEBAR_ID;
    this.addClass('jp-Lineage-panel');
    this.title.icon = lineageIcon;
    this.title.caption = 'Lineage';
    model.changed.connect(this.update, this);
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

  dispose(): void {
    this._stopPolling();
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
    const path = this.model.notebookPath;
    return (
      <div className="jp-Lineage-content">
        <header className="jp-Lineage-header">
          <h2 className="jp-Lineage-title">Lineage</h2>
          <button
            className="jp-Lineage-refresh jp-Button jp-mod-minimal"
            title="Refresh"
            aria-label="Refresh"
            onClick={() => void this.model.refresh()}
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
        <section className="jp-Lineage-status">
          <StatusView state={this.model.state} />
        </section>
      </div>
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

  private _refreshInterval = 30;
  private _timer: number | null = null;
}
