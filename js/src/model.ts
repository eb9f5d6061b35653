/**
 * State of the Lineage sidebar: which notebook it follows, what the server
 * said about it, and what the user selected. Widgets render this model and
 * never fetch; every request goes through the `api` module.
 */

import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import {
  fetchExecution,
  fetchExecutions,
  fetchGraph,
  fetchModelCard,
  fetchModels,
  fetchStatus,
  LineageAPIError,
  postAnnotation
} from './api';
import type { NotebookStaleness } from './cellMarks';
import type {
  AnnotationKind,
  GraphDirection,
  IAnnotation,
  IExecutionDetail,
  IExecutionsPage,
  IGraphRequest,
  ILineageGraph,
  IModelsAnswer,
  IRunFilters,
  Loadable,
  StatusState
} from './tokens';

/**
 * The two views of the sidebar.
 */
export type SidebarView = 'runs' | 'models';

/**
 * Which model card is shown.
 */
export interface ICardRequest {
  model: string;
  version: string | null;
}

/**
 * The most executions one refresh asks for (the server's page limit).
 */
const MAX_PAGE = 500;

export class LineageModel {
  constructor(serverSettings?: ServerConnection.ISettings) {
    this._serverSettings = serverSettings;
  }

  /**
   * Emitted whenever anything the sidebar shows changes.
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
    this._executions = { kind: 'idle' };
    this._filters = { status: null, tag: null, author: null };
    this._clearSelection();
    this._models = { kind: 'idle' };
    this._card = { kind: 'idle' };
    this._cardRequest = null;
    this._emit();
    void this.refresh();
  }

  /**
   * The latest answer (or failure) of the status endpoint.
   */
  get state(): StatusState {
    return this._state;
  }

  get view(): SidebarView {
    return this._view;
  }

  set view(view: SidebarView) {
    if (view === this._view) {
      return;
    }
    this._view = view;
    this._emit();
    if (view === 'models') {
      void this.loadModels();
    }
  }

  /**
   * Executions fetched per page of the timeline.
   */
  get pageSize(): number {
    return this._pageSize;
  }

  set pageSize(size: number) {
    this._pageSize = Math.min(MAX_PAGE, Math.max(1, Math.round(size)));
  }

  /**
   * How far from the selected execution the graph reaches; `null` for all.
   */
  get graphDepth(): number | null {
    return this._graphDepth;
  }

  set graphDepth(depth: number | null) {
    this._graphDepth = depth && depth > 0 ? Math.round(depth) : null;
  }

  get filters(): IRunFilters {
    return this._filters;
  }

  /**
   * The timeline: the notebook's executions, newest first.
   */
  get executions(): Loadable<IExecutionsPage> {
    return this._executions;
  }

  get selectedId(): string | null {
    return this._selectedId;
  }

  get detail(): Loadable<IExecutionDetail> {
    return this._detail;
  }

  get graphRequest(): IGraphRequest | null {
    return this._graphRequest;
  }

  get graph(): Loadable<ILineageGraph> {
    return this._graph;
  }

  get models(): Loadable<IModelsAnswer> {
    return this._models;
  }

  get cardRequest(): ICardRequest | null {
    return this._cardRequest;
  }

  get card(): Loadable<string> {
    return this._card;
  }

  // -- what is out of date (cellMarks.ts keeps one per open notebook) --

  /**
   * The followed notebook's stale cells and the actions on them, or `null`.
   */
  get staleness(): NotebookStaleness | null {
    return this._staleness;
  }

  set staleness(staleness: NotebookStaleness | null) {
    this._staleness?.changed.disconnect(this._emit, this);
    this._staleness = staleness;
    this._staleness?.changed.connect(this._emit, this);
    this._staleOnly = false;
    this._emit();
  }

  /**
   * Whether the timeline shows only the runs of stale cells.
   */
  get staleOnly(): boolean {
    return this._staleOnly;
  }

  set staleOnly(staleOnly: boolean) {
    this._staleOnly = staleOnly;
    this._emit();
  }

  private _staleness: NotebookStaleness | null = null;
  private _staleOnly = false;

  // --

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Ask the server again: its status, the timeline and the selected execution.
   * An answer that arrives after a newer request is dropped.
   */
  async refresh(): Promise<void> {
    const request = ++this._statusRequest;
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
    if (this._isDisposed || request !== this._statusRequest) {
      return;
    }
    this._state = next;
    this._emit();
    if (next.kind !== 'ready' || !this._notebookPath) {
      return;
    }
    const loaded =
      this._executions.kind === 'ready'
        ? this._executions.value.executions.length
        : 0;
    await Promise.all([
      this._staleness?.check(),
      this._loadExecutions(Math.max(this._pageSize, loaded)),
      this._selectedId ? this._loadDetail(this._selectedId) : null,
      this._view === 'models' ? this.loadModels() : null
    ]);
  }

  /**
   * Show only the runs with this status, tag and author.
   */
  setFilters(filters: Partial<IRunFilters>): void {
    this._filters = { ...this._filters, ...filters };
    this._emit();
    void this._loadExecutions(this._pageSize);
  }

  /**
   * Fetch the next page of older executions and append it to the timeline.
   */
  async loadOlder(): Promise<void> {
    const path = this._notebookPath;
    const current = this._executions;
    if (!path || current.kind !== 'ready' || !current.value.next_before) {
      return;
    }
    const request = ++this._executionsRequest;
    this._executions = { kind: 'loading', previous: current.value };
    this._emit();
    try {
      const page = await fetchExecutions(
        path,
        this._filters,
        this._pageSize,
        current.value.next_before,
        this._serverSettings
      );
      if (this._stale(request, this._executionsRequest, path)) {
        return;
      }
      this._executions = {
        kind: 'ready',
        value: {
          ...page,
          executions: [...current.value.executions, ...page.executions]
        }
      };
    } catch (error) {
      if (this._stale(request, this._executionsRequest, path)) {
        return;
      }
      this._executions = LineageModel._failure(error);
    }
    this._emit();
  }

  /**
   * Select an execution of the timeline (or none) and load its detail.
   */
  select(executionId: string | null): void {
    if (executionId === this._selectedId) {
      return;
    }
    this._clearSelection();
    this._selectedId = executionId;
    this._emit();
    if (executionId) {
      void this._loadDetail(executionId);
    }
  }

  /**
   * Draw the lineage around a node (by default the selected execution).
   */
  async showGraph(
    node: string | null = this._selectedId,
    direction: GraphDirection = this._graphRequest?.direction ?? 'both',
    depth: number | null = this._graphRequest
      ? this._graphRequest.depth
      : this._graphDepth,
    transient: boolean = this._graphRequest?.transient ?? false
  ): Promise<void> {
    const path = this._notebookPath;
    if (!path || !node) {
      return;
    }
    const request = ++this._graphRequestId;
    this._graphRequest = { node, direction, depth, transient };
    this._graph = {
      kind: 'loading',
      previous: this._graph.kind === 'ready' ? this._graph.value : null
    };
    this._emit();
    try {
      const graph = await fetchGraph(
        path,
        node,
        direction,
        depth,
        this._serverSettings,
        transient
      );
      if (this._stale(request, this._graphRequestId, path)) {
        return;
      }
      this._graph = { kind: 'ready', value: graph };
    } catch (error) {
      if (this._stale(request, this._graphRequestId, path)) {
        return;
      }
      this._graph = LineageModel._failure(error);
    }
    this._emit();
  }

  /**
   * Close the graph view.
   */
  hideGraph(): void {
    this._graphRequestId++;
    this._graphRequest = null;
    this._graph = { kind: 'idle' };
    this._emit();
  }

  /**
   * Record an annotation on the selected execution, then show it.
   *
   * @throws {LineageAPIError} When the server refuses it; the message says why.
   */
  async annotate(
    kind: AnnotationKind,
    text: string,
    revises: string | null = null
  ): Promise<IAnnotation> {
    const path = this._notebookPath;
    const executionId = this._selectedId;
    if (!path || !executionId) {
      throw new LineageAPIError('Select an execution to annotate first.', 0);
    }
    const annotation = await postAnnotation(
      path,
      {
        kind,
        text,
        targets: [{ type: 'execution', ref: executionId }],
        ...(revises ? { revises } : {})
      },
      this._serverSettings
    );
    await Promise.all([
      this._loadDetail(executionId),
      this._loadExecutions(
        Math.max(
          this._pageSize,
          this._executions.kind === 'ready'
            ? this._executions.value.executions.length
            : 0
        )
      )
    ]);
    return annotation;
  }

  /**
   * Fetch the models a card can be made for.
   */
  async loadModels(): Promise<void> {
    const path = this._notebookPath;
    if (!path) {
      return;
    }
    const request = ++this._modelsRequest;
    this._models = {
      kind: 'loading',
      previous: this._models.kind === 'ready' ? this._models.value : null
    };
    this._emit();
    try {
      const models = await fetchModels(path, this._serverSettings);
      if (this._stale(request, this._modelsRequest, path)) {
        return;
      }
      this._models = { kind: 'ready', value: models };
    } catch (error) {
      if (this._stale(request, this._modelsRequest, path)) {
        return;
      }
      this._models = LineageModel._failure(error);
    }
    this._emit();
  }

  /**
   * Fetch and show the card of a model (its latest version without `version`).
   */
  async showCard(model: string, version: string | null): Promise<void> {
    const path = this._notebookPath;
    if (!path) {
      return;
    }
    const request = ++this._cardRequestId;
    this._cardRequest = { model, version };
    this._card = { kind: 'loading', previous: null };
    this._emit();
    try {
      const html = await fetchModelCard(
        path,
        model,
        version,
        this._serverSettings
      );
      if (this._stale(request, this._cardRequestId, path)) {
        return;
      }
      this._card = { kind: 'ready', value: html };
    } catch (error) {
      if (this._stale(request, this._cardRequestId, path)) {
        return;
      }
      this._card = LineageModel._failure(error);
    }
    this._emit();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    Signal.clearData(this);
  }

  private async _loadExecutions(limit: number): Promise<void> {
    const path = this._notebookPath;
    if (!path) {
      return;
    }
    const request = ++this._executionsRequest;
    const previous =
      this._executions.kind === 'ready'
        ? this._executions.value
        : this._executions.kind === 'loading'
          ? this._executions.previous
          : null;
    this._executions = { kind: 'loading', previous };
    this._emit();
    try {
      const page = await fetchExecutions(
        path,
        this._filters,
        Math.min(MAX_PAGE, limit),
        null,
        this._serverSettings
      );
      if (this._stale(request, this._executionsRequest, path)) {
        return;
      }
      this._executions = { kind: 'ready', value: page };
    } catch (error) {
      if (this._stale(request, this._executionsRequest, path)) {
        return;
      }
      this._executions = LineageModel._failure(error);
    }
    this._emit();
  }

  private async _loadDetail(executionId: string): Promise<void> {
    const path = this._notebookPath;
    if (!path) {
      return;
    }
    const request = ++this._detailRequest;
    const previous =
      this._detail.kind === 'ready' &&
      this._detail.value.execution.execution_id === executionId
        ? this._detail.value
        : null;
    this._detail = { kind: 'loading', previous };
    this._emit();
    try {
      const detail = await fetchExecution(
        path,
        executionId,
        this._serverSettings
      );
      if (
        this._stale(request, this._detailRequest, path) ||
        executionId !== this._selectedId
      ) {
        return;
      }
      this._detail = { kind: 'ready', value: detail };
    } catch (error) {
      if (
        this._stale(request, this._detailRequest, path) ||
        executionId !== this._selectedId
      ) {
        return;
      }
      this._detail = LineageModel._failure(error);
    }
    this._emit();
  }

  private _clearSelection(): void {
    this._selectedId = null;
    this._detailRequest++;
    this._detail = { kind: 'idle' };
    this._graphRequestId++;
    this._graphRequest = null;
    this._graph = { kind: 'idle' };
  }

  /**
   * Whether an answer is out of date: a newer request of its kind was made,
   * the notebook changed, or the model is gone.
   */
  private _stale(request: number, latest: number, path: string): boolean {
    return (
      this._isDisposed || request !== latest || path !== this._notebookPath
    );
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  private static _failure<T>(error: unknown): Loadable<T> {
    if (error instanceof LineageAPIError) {
      return {
        kind: 'error',
        message: error.message,
        httpStatus: error.status
      };
    }
    return { kind: 'error', message: String(error), httpStatus: 0 };
  }

  private static _failureState(error: unknown): StatusState {
    if (error instanceof LineageAPIError) {
      return error.isUnavailable
        ? { kind: 'unavailable', message: error.message }
        : { kind: 'error', message: error.message, httpStatus: error.status };
    }
    return { kind: 'error', message: String(error), httpStatus: 0 };
  }

  private _card: Loadable<string> = { kind: 'idle' };
  private _cardRequest: ICardRequest | null = null;
  private _cardRequestId = 0;
  private _changed = new Signal<this, void>(this);
  private _detail: Loadable<IExecutionDetail> = { kind: 'idle' };
  private _detailRequest = 0;
  private _executions: Loadable<IExecutionsPage> = { kind: 'idle' };
  private _executionsRequest = 0;
  private _filters: IRunFilters = { status: null, tag: null, author: null };
  private _graph: Loadable<ILineageGraph> = { kind: 'idle' };
  private _graphDepth: number | null = 3;
  private _graphRequest: IGraphRequest | null = null;
  private _graphRequestId = 0;
  private _isDisposed = false;
  private _models: Loadable<IModelsAnswer> = { kind: 'idle' };
  private _modelsRequest = 0;
  private _notebookPath: string | null = null;
  private _pageSize = 50;
  private _selectedId: string | null = null;
  private _serverSettings: ServerConnection.ISettings | undefined;
  private _state: StatusState = { kind: 'loading' };
  private _statusRequest = 0;
  private _view: SidebarView = 'runs';
}
