/**
 * Out-of-date cells marked where people work: in the notebook itself.
 *
 * One `NotebookStaleness` per open notebook asks the server's stale check
 * (`GET lineage/api/stale`) when it can have changed, and marks the cells
 * whose latest run is stale: a class on the cell and a marker in its input
 * prompt whose title gives the reasons. It also selects those cells and
 * re-runs them (`%lineage_stale --run`) for the sidebar.
 *
 * When it asks: after each cell of the notebook runs, when the window
 * regains focus, and every few seconds while the notebook is on screen and
 * the browser tab has focus, so a data file changed on disk shows within
 * seconds. All of it only while the notebook's kernel has the extension
 * loaded. A poll that finds nothing new changes nothing in the page, and the
 * server answers it with a `stat` per file read, hashing only files whose
 * size, modification time or inode moved.
 */

import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import type { Cell } from '@jupyterlab/cells';
import {
  INotebookTracker,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';
import { KernelMessage, ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { reasonsText, StaleChecker } from './stale';
import type { IStaleCell } from './tokens';

/**
 * On a cell whose latest run is stale.
 */
export const STALE_CELL_CLASS = 'jp-Lineage-staleCell';

/**
 * The marker inside the stale cell's input prompt.
 */
export const STALE_MARK_CLASS = 'jp-Lineage-staleMark';

/**
 * Between polls while the notebook is on screen and focused.
 */
const POLL_INTERVAL_MS = 5000;

/**
 * Between a cell finishing and the check it causes, so "Run All" costs one
 * request rather than one per cell.
 */
const EXECUTED_DELAY_MS = 400;

/**
 * Evaluated as a silent user expression: whether `%load_ext jupyter_lineage`
 * ran in this kernel. It reads IPython's own state and binds nothing.
 */
const LOADED_EXPRESSION =
  "'jupyter_lineage' in get_ipython().extension_manager.loaded";

const RERUN_CODE = '%lineage_stale --run';

export interface INotebookStalenessOptions {
  serverSettings?: ServerConnection.ISettings;
  /**
   * Brings the notebook's tab to the front (the shell's `activateById`).
   */
  activate?: (panel: NotebookPanel) => void;
}

export class NotebookStaleness {
  constructor(panel: NotebookPanel, options: INotebookStalenessOptions = {}) {
    this.panel = panel;
    this._activate = options.activate ?? null;
    this.checker = new StaleChecker(panel.context.path, options.serverSettings);
    this.checker.changed.connect(this._onReport, this);
    panel.context.pathChanged.connect(this._onPathChanged, this);
    panel.sessionContext.kernelChanged.connect(this._onKernelChanged, this);
    panel.sessionContext.statusChanged.connect(this._onStatus, this);
    NotebookActions.executed.connect(this._onExecuted, this);
    panel.content.model?.cells.changed.connect(this._apply, this);
    window.addEventListener('focus', this._onFocus);
    this._timer = window.setInterval(this._onTick, POLL_INTERVAL_MS);
    void panel.sessionContext.ready.then(() => this._probe());
  }

  readonly panel: NotebookPanel;
  readonly checker: StaleChecker;

  /**
   * Emitted when the answer, `recording` or `rerunning` change.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * Whether the notebook's kernel has the extension loaded; cells are
   * marked only then.
   */
  get recording(): boolean {
    return this._recording;
  }

  /**
   * Whether `%lineage_stale --run` is running in the kernel.
   */
  get rerunning(): boolean {
    return this._rerunning;
  }

  /**
   * Ask the server again now, if the kernel records.
   */
  async check(): Promise<void> {
    if (this._recording) {
      await this.checker.check();
    }
  }

  /**
   * Select these cells (by cell id) in the notebook and scroll to the first.
   */
  selectCells(cellIds: (string | null)[]): void {
    const notebook = this.panel.content;
    const wanted = new Set(cellIds.filter(id => id));
    const indices: number[] = [];
    notebook.widgets.forEach((cell, index) => {
      if (wanted.has(cell.model.id)) {
        indices.push(index);
      }
    });
    if (indices.length === 0) {
      return;
    }
    this._activate?.(this.panel);
    notebook.mode = 'command';
    notebook.activeCellIndex = indices[0];
    notebook.deselectAll();
    for (const index of indices) {
      notebook.select(notebook.widgets[index]);
    }
    // Not scrollToCell, which selects only the cell it scrolls to.
    void notebook.scrollToItem(indices[0], 'center');
  }

  /**
   * Ask to confirm, listing the stale cells, then run `%lineage_stale --run`
   * in the notebook's kernel and check again. Resolves to whether it ran.
   */
  async rerun(): Promise<boolean> {
    const cells = this.checker.staleCells;
    const kernel = this.panel.sessionContext.session?.kernel;
    if (cells.length === 0 || this._rerunning) {
      return false;
    }
    if (!kernel || !this._recording) {
      await showDialog({
        title: 'Cannot re-run the stale cells',
        body: 'The notebook’s kernel must be running with the extension loaded: run %load_ext jupyter_lineage in it first.',
        buttons: [Dialog.okButton()]
      });
      return false;
    }
    const result = await showDialog({
      title: `Re-run ${cells.length} stale ${cells.length === 1 ? 'cell' : 'cells'}?`,
      body: rerunList(cells),
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Re-run' })]
    });
    if (!result.button.accept) {
      return false;
    }
    this._setRerunning(true);
    const printed: string[] = [];
    try {
      // Silent: the call itself is neither captured nor in the history; the
      // cells it runs are, under their own cell ids.
      const future = kernel.requestExecute({
        code: RERUN_CODE,
        silent: true,
        store_history: false,
        allow_stdin: false
      });
      future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
        if (KernelMessage.isStreamMsg(msg)) {
          printed.push(msg.content.text);
        } else if (KernelMessage.isErrorMsg(msg)) {
          printed.push(`${msg.content.ename}: ${msg.content.evalue}`);
        }
      };
      await future.done;
    } catch (error) {
      printed.push(String(error));
    } finally {
      this._setRerunning(false);
    }
    await this.checker.check();
    const last = printed.join('').trim().split('\n').pop() ?? '';
    const left = this.checker.staleCells.length;
    if (left === 0) {
      Notification.success(last || 'Nothing is stale now.', {
        autoClose: 5000
      });
    } else {
      Notification.warning(last || `${left} cells are still out of date.`, {
        autoClose: 8000
      });
    }
    return true;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    window.clearInterval(this._timer);
    window.clearTimeout(this._executedTimer);
    window.removeEventListener('focus', this._onFocus);
    NotebookActions.executed.disconnect(this._onExecuted, this);
    this.checker.dispose();
    Signal.clearData(this);
  }

  /**
   * Ask the kernel whether it has the extension loaded.
   */
  private async _probe(): Promise<void> {
    const kernel = this.panel.sessionContext.session?.kernel;
    if (!kernel || this._isDisposed) {
      return;
    }
    let loaded = false;
    try {
      const reply = await kernel.requestExecute({
        code: '',
        silent: true,
        store_history: false,
        user_expressions: { lineage: LOADED_EXPRESSION }
      }).done;
      const content = reply.content as KernelMessage.IExecuteReply;
      const answer = (content.user_expressions ?? {})['lineage'] as
        { status?: string; data?: Record<string, string> } | undefined;
      loaded =
        answer?.status === 'ok' && answer.data?.['text/plain'] === 'True';
    } catch {
      loaded = false; // a kernel that is not IPython, or went away
    }
    if (
      this._isDisposed ||
      kernel !== this.panel.sessionContext.session?.kernel
    ) {
      return;
    }
    this._setRecording(loaded);
    if (loaded) {
      await this.checker.check();
    }
  }

  private _onExecuted(
    _: unknown,
    args: { notebook: unknown; cell: Cell }
  ): void {
    if (args.notebook !== this.panel.content) {
      return;
    }
    // Running the cell reset its prompt; put the mark back until the check says.
    this._apply();
    window.clearTimeout(this._executedTimer);
    this._executedTimer = window.setTimeout(() => {
      // The extension may have been loaded by the cell that just ran.
      void (this._recording ? this.checker.check() : this._probe());
    }, EXECUTED_DELAY_MS);
  }

  private _onTick = (): void => {
    if (
      this._recording &&
      this.panel.isVisible &&
      document.visibilityState === 'visible' &&
      document.hasFocus()
    ) {
      void this.checker.check();
    }
  };

  private _onFocus = (): void => {
    if (this._recording && this.panel.isVisible) {
      void this.checker.check();
    }
  };

  private _onPathChanged(_: unknown, path: string): void {
    this.checker.path = path;
  }

  private _onKernelChanged(): void {
    this._setRecording(false);
    void this.panel.sessionContext.ready.then(() => this._probe());
  }

  private _onStatus(_: unknown, status: string): void {
    // A restarted kernel starts without the extension.
    if (status === 'restarting' || status === 'dead') {
      this._setRecording(false);
    }
  }

  private _onReport(): void {
    this._apply();
    this._changed.emit();
  }

  private _setRecording(recording: boolean): void {
    if (recording !== this._recording) {
      this._recording = recording;
      this._apply();
      this._changed.emit();
    }
  }

  private _setRerunning(rerunning: boolean): void {
    this._rerunning = rerunning;
    this._changed.emit();
  }

  /**
   * Mark the stale cells and unmark the others; touches only cells whose
   * mark changes.
   */
  private _apply(): void {
    if (this._isDisposed) {
      return;
    }
    const stale = new Map<string, IStaleCell>();
    if (this._recording) {
      for (const cell of this.checker.staleCells) {
        if (cell.cell_id) {
          stale.set(cell.cell_id, cell);
        }
      }
    }
    for (const cell of this.panel.content.widgets) {
      const info = stale.get(cell.model.id);
      const prompt = cell.inputArea?.promptNode ?? null;
      const mark = prompt?.querySelector(`.${STALE_MARK_CLASS}`) ?? null;
      if (!info) {
        if (cell.hasClass(STALE_CELL_CLASS)) {
          cell.removeClass(STALE_CELL_CLASS);
        }
        mark?.remove();
        continue;
      }
      const title = reasonsText(info);
      cell.addClass(STALE_CELL_CLASS);
      if (!prompt) {
        continue;
      }
      if (mark) {
        if (mark.getAttribute('title') !== title) {
          mark.setAttribute('title', title);
        }
        continue;
      }
      const marker = document.createElement('span');
      marker.className = STALE_MARK_CLASS;
      marker.setAttribute('title', title);
      marker.setAttribute('role', 'img');
      marker.setAttribute('aria-label', title);
      marker.textContent = '⟳';
      prompt.prepend(marker);
    }
  }

  private _activate: ((panel: NotebookPanel) => void) | null;
  private _changed = new Signal<this, void>(this);
  private _executedTimer = 0;
  private _isDisposed = false;
  private _recording = false;
  private _rerunning = false;
  private _timer: number;
}

/**
 * The confirmation's body: what will run, and why each is out of date.
 */
function rerunList(cells: IStaleCell[]): Widget {
  const body = new Widget();
  body.addClass('jp-Lineage-rerunList');
  const intro = document.createElement('p');
  intro.textContent =
    'These cells run again in the notebook’s kernel, from the notebook’s saved code, each after the cells it depends on:';
  const list = document.createElement('ul');
  for (const cell of cells) {
    const item = document.createElement('li');
    const label = document.createElement('code');
    label.textContent = cell.label;
    item.appendChild(label);
    if (cell.reasons.length > 0) {
      const why = document.createElement('span');
      why.className = 'jp-Lineage-muted';
      why.textContent = ` — ${cell.reasons[0].text}`;
      item.appendChild(why);
    }
    list.appendChild(item);
  }
  body.node.append(intro, list);
  return body;
}

/**
 * Keep a `NotebookStaleness` for each open notebook, and hand the current
 * notebook's to `follow` (the sidebar's model) whenever it changes.
 */
export function trackStaleness(
  tracker: INotebookTracker,
  follow: (staleness: NotebookStaleness | null) => void,
  options: INotebookStalenessOptions
): void {
  const open = new Map<NotebookPanel, NotebookStaleness>();
  const add = (notebook: NotebookPanel) => {
    if (open.has(notebook)) {
      return;
    }
    const staleness = new NotebookStaleness(notebook, options);
    open.set(notebook, staleness);
    notebook.disposed.connect(() => {
      open.delete(notebook);
      if (tracker.currentWidget === notebook || open.size === 0) {
        follow(null);
      }
      staleness.dispose();
    });
    if (tracker.currentWidget === notebook) {
      follow(staleness);
    }
  };
  tracker.forEach(add);
  tracker.widgetAdded.connect((_, notebook) => add(notebook));
  tracker.currentChanged.connect((_, notebook) => {
    if (notebook) {
      add(notebook);
    }
    follow(notebook ? (open.get(notebook) ?? null) : null);
  });
}
