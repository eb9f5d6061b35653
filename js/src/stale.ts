/**
 * What is out of date in one notebook, as the server's stale check says:
 * the latest answer, asked for again on demand, and the sentences the
 * sidebar and the cell marks show of it.
 */

import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { fetchStale, LineageAPIError } from './api';
import type {
  IExecutionSummary,
  IStaleCell,
  IStaleReport,
  Loadable
} from './tokens';

/**
 * The server's stale answer for one notebook path.
 *
 * `check()` coalesces: while a request is on its way, further calls make one
 * more request after it rather than one each. `changed` is emitted only when
 * the answer differs from the one before, so a poll that finds nothing new
 * re-renders nothing.
 */
export class StaleChecker {
  constructor(path: string, serverSettings?: ServerConnection.ISettings) {
    this._path = path;
    this._serverSettings = serverSettings;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get path(): string {
    return this._path;
  }

  /**
   * Follow a renamed or moved notebook; the old answer is dropped.
   */
  set path(path: string) {
    if (path === this._path) {
      return;
    }
    this._path = path;
    this._set({ kind: 'idle' }, '');
    void this.check();
  }

  get report(): Loadable<IStaleReport> {
    return this._report;
  }

  /**
   * The cells whose latest run is stale, in notebook order.
   */
  get staleCells(): IStaleCell[] {
    return this._report.kind === 'ready'
      ? this._report.value.cells.filter(c => c.stale)
      : [];
  }

  /**
   * The cells whose latest run is at the weaker environment level: nothing
   * it read changed, but packages the notebook imports did since it ran.
   */
  get environmentCells(): IStaleCell[] {
    return this._report.kind === 'ready'
      ? this._report.value.cells.filter(c => c.state === 'environment')
      : [];
  }

  /**
   * What the check says about how it judged (which packages it compared with).
   */
  get notes(): string[] {
    return this._report.kind === 'ready' ? this._report.value.notes : [];
  }

  /**
   * The stale cell a run belongs to: by its cell id, else by its execution id.
   */
  staleCellOf(
    run: Pick<IExecutionSummary, 'cell_id' | 'execution_id'>
  ): IStaleCell | null {
    for (const cell of this.staleCells) {
      if (
        (run.cell_id && cell.cell_id === run.cell_id) ||
        cell.execution_id === run.execution_id
      ) {
        return cell;
      }
    }
    return null;
  }

  /**
   * Ask the server again; resolves once the answer (or a later one) is in.
   */
  async check(): Promise<void> {
    if (this._isDisposed) {
      return;
    }
    if (this._inFlight) {
      this._again = true;
      return this._inFlight;
    }
    this._inFlight = (async () => {
      do {
        this._again = false;
        await this._fetch();
      } while (this._again && !this._isDisposed);
    })();
    try {
      await this._inFlight;
    } finally {
      this._inFlight = null;
    }
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    Signal.clearData(this);
  }

  private async _fetch(): Promise<void> {
    const path = this._path;
    try {
      const report = await fetchStale(path, this._serverSettings);
      if (path === this._path) {
        this._set({ kind: 'ready', value: report }, JSON.stringify(report));
      }
    } catch (error) {
      if (path !== this._path) {
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      const status = error instanceof LineageAPIError ? error.status : 0;
      this._set(
        { kind: 'error', message, httpStatus: status },
        `error ${status} ${message}`
      );
    }
  }

  private _set(report: Loadable<IStaleReport>, key: string): void {
    if (this._isDisposed || key === this._key) {
      return;
    }
    this._key = key;
    this._report = report;
    this._changed.emit();
  }

  private _again = false;
  private _changed = new Signal<this, void>(this);
  private _inFlight: Promise<void> | null = null;
  private _isDisposed = false;
  private _key = '';
  private _path: string;
  private _report: Loadable<IStaleReport> = { kind: 'idle' };
  private _serverSettings: ServerConnection.ISettings | undefined;
}

/**
 * What made the cells stale, as a short phrase: `data.csv changed`,
 * `the code of load changed`, `load re-ran with other content`.
 *
 * Only the causes at the root are named: a cell stale because of a cell
 * upstream names that cell's file or code, which the upstream cell's own
 * reasons already do.
 */
export function staleCauses(cells: IStaleCell[]): string {
  const files = new Set<string>();
  const sources = new Set<string>();
  const reruns = new Set<string>();
  for (const cell of cells) {
    for (const reason of cell.reasons) {
      if (reason.kind === 'file') {
        files.add(reason.subject);
      } else if (reason.kind === 'source') {
        sources.add(cell.name ?? reason.subject);
      } else if (
        reason.kind === 'upstream' &&
        reason.text.includes(' re-ran ')
      ) {
        reruns.add(reason.subject);
      }
    }
  }
  const phrases: string[] = [];
  if (files.size > 0) {
    phrases.push(`${listed([...files])} changed`);
  }
  if (sources.size > 0) {
    phrases.push(`the code of ${listed([...sources])} changed`);
  }
  if (reruns.size > 0) {
    phrases.push(`${listed([...reruns])} re-ran with other results`);
  }
  return phrases.join('; ');
}

/**
 * The sidebar's header line: `3 cells out of date: data.csv changed`.
 */
export function staleHeadline(cells: IStaleCell[]): string {
  const count = `${cells.length} ${cells.length === 1 ? 'cell' : 'cells'} out of date`;
  const causes = staleCauses(cells);
  return causes ? `${count}: ${causes}` : count;
}

/**
 * The sidebar's line for the environment level:
 * `2 cells ran with other packages: numpy 2.3.0 → 2.4.0`.
 */
export function environmentHeadline(cells: IStaleCell[]): string {
  const changes = new Set<string>();
  for (const cell of cells) {
    for (const reason of cell.reasons) {
      if (reason.kind === 'environment') {
        changes.add(
          reason.text.replace(/^packages changed since this run: /, '')
        );
      }
    }
  }
  const count = `${cells.length} ${cells.length === 1 ? 'cell' : 'cells'} ran with other packages`;
  return changes.size > 0 ? `${count}: ${listed([...changes])}` : count;
}

/**
 * Every reason of a stale (or environment-level) cell, one per line (a title
 * attribute's text).
 */
export function reasonsText(cell: IStaleCell): string {
  return [
    `${cell.stale ? 'Out of date' : 'Packages changed'}: ${cell.label}`,
    ...cell.reasons.map(r => `• ${r.text}`)
  ].join('\n');
}

/**
 * `a`, `a and b`, `a, b and 2 more`.
 */
function listed(items: string[]): string {
  if (items.length <= 2) {
    return items.join(' and ');
  }
  return `${items.slice(0, 2).join(', ')} and ${items.length - 2} more`;
}
