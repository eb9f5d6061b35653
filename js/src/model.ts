/**
 * State of the Lineage sidebar: which notebook it follows and what the
 * server said about it. Widgets render this model and never fetch.
 */

import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { fetchStatus, LineageAPIError } from './api';
import type { StatusState } from './tokens';

export class LineageModel {
  constructor(serverSettings?: ServerConnection.ISettings) {
    this._serverSettings = serverSettings;
  }

  /**
   * Emitted whenever `notebookPath` or `state` changes.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * Path of the followed notebook relative to the server root, or `null`.
   */
  get notebookPath(): string | null {
    return this._notebookPath;
  }

  set notebookPath(path: string | null) {
    if (path === this._notebookPath) {
      return;
    }
    this._notebookPath = path;
    this._changed.emit();
    void this.refresh();
  }

  /**
   * The latest answer (or failure) of the status endpoint.
   */
  get state(): StatusState {
    return this._state;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Ask the server again; an answer that arrives after a newer request is dropped.
   */
  async refresh(): Promise<void> {
    const request = ++this._requestId;
    let next: StatusState;
    try {
      const status = await fetchStatus(
        this._notebookPath,
        this._serverSettings
      );
      next = { kind: 'ready', status };
    } catch (error) {
      next = LineageModel._failureState(error);
    }
    if (this._isDisposed || request !== this._requestId) {
      return;
    }
    this._state = next;
    this._changed.emit();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    Signal.clearData(this);
  }

  private static _failureState(error: unknown): StatusState {
    if (error instanceof LineageAPIError) {
      return error.isUnavailable
        ? { kind: 'unavailable', message: error.message }
        : { kind: 'error', message: error.message, httpStatus: error.status };
    }
    return { kind: 'error', message: String(error), httpStatus: 0 };
  }

  private _changed = new Signal<this, void>(this);
  private _isDisposed = false;
  private _notebookPath: string | null = null;
  private _requestId = 0;
  private _serverSettings: ServerConnection.ISettings | undefined;
  private _state: StatusState = { kind: 'loading' };
}
