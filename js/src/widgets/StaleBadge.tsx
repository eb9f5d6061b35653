/**
 * The sidebar's view of what is out of date: a header line with the count
 * and the cause, a badge on each run of a stale cell, and the filter that
 * shows only those runs.
 */

import * as React from 'react';

import type { NotebookStaleness } from '../cellMarks';
import { environmentHeadline, reasonsText, staleHeadline } from '../stale';
import type { IExecutionSummary, IStaleCell } from '../tokens';

/**
 * `3 cells out of date: data.csv changed`, with the actions on them: select
 * them in the notebook, re-run them; below it, the cells at the weaker
 * environment level (`2 cells ran with other packages: …`) and the check's
 * notes. Nothing when every cell is fresh.
 */
export function StaleHeader(props: {
  staleness: NotebookStaleness | null;
  /**
   * Called once the re-run is over, to show its new runs.
   */
  onRerun: () => void;
}): JSX.Element | null {
  const { staleness, onRerun } = props;
  if (!staleness) {
    return null;
  }
  const cells = staleness.checker.staleCells;
  const moved = staleness.checker.environmentCells;
  if (cells.length === 0 && moved.length === 0) {
    return null;
  }
  return (
    <>
      {cells.length > 0 && (
        <div className="jp-Lineage-staleHeader" role="status">
          <button
            className="jp-Lineage-link jp-Lineage-staleHeadline"
            title={`${cells.map(reasonsText).join('\n\n')}\n\nClick to select these cells in the notebook.`}
            onClick={() => staleness.selectCells(cells.map(c => c.cell_id))}
          >
            <span className="jp-Lineage-staleIcon" aria-hidden="true">
              ⟳
            </span>
            {staleHeadline(cells)}
          </button>
          <button
            className="jp-Lineage-button jp-Lineage-rerunStale"
            disabled={staleness.rerunning}
            title="Run %lineage_stale --run in the notebook’s kernel, after confirming"
            onClick={() =>
              void staleness.rerun().then(ran => (ran ? onRerun() : undefined))
            }
          >
            {staleness.rerunning ? 'Re-running…' : 'Re-run stale cells'}
          </button>
        </div>
      )}
      {moved.length > 0 && (
        <div className="jp-Lineage-environmentHeader" role="status">
          <button
            className="jp-Lineage-link jp-Lineage-environmentHeadline"
            title={`${moved.map(reasonsText).join('\n\n')}\n\nWhat these cells read is unchanged; re-run them to record them with the packages installed now. Click to select them in the notebook.`}
            onClick={() => staleness.selectCells(moved.map(c => c.cell_id))}
          >
            {environmentHeadline(moved)}
          </button>
        </div>
      )}
      {staleness.checker.notes.map(note => (
        <div className="jp-Lineage-staleNote" key={note}>
          {note}
        </div>
      ))}
    </>
  );
}

/**
 * The badge on a run whose cell's latest run is stale; its title gives
 * every reason.
 */
export function StaleBadge(props: {
  cell: IStaleCell | null;
}): JSX.Element | null {
  const { cell } = props;
  if (!cell) {
    return null;
  }
  const first = cell.reasons[0];
  return (
    <span className="jp-Lineage-staleBadge" title={reasonsText(cell)}>
      stale{first ? `: ${shortReason(first.kind, first.subject)}` : ''}
    </span>
  );
}

/**
 * The "Stale" filter: show only the runs of stale cells.
 */
export function StaleFilter(props: {
  checked: boolean;
  count: number;
  onChange: (checked: boolean) => void;
}): JSX.Element | null {
  const { checked, count, onChange } = props;
  if (count === 0 && !checked) {
    return null;
  }
  return (
    <label title="Show only the runs of cells whose latest run is out of date">
      <input
        type="checkbox"
        className="jp-Lineage-staleFilter"
        checked={checked}
        onChange={event => onChange(event.target.checked)}
      />
      <span className="jp-Lineage-label">Stale</span>
    </label>
  );
}

/**
 * The runs a timeline shows under the "Stale" filter.
 */
export function staleRuns(
  runs: IExecutionSummary[],
  staleness: NotebookStaleness | null
): IExecutionSummary[] {
  return staleness ? runs.filter(r => staleness.checker.staleCellOf(r)) : [];
}

function shortReason(kind: string, subject: string): string {
  switch (kind) {
    case 'file':
      return `${subject} changed`;
    case 'source':
      return 'code changed';
    case 'upstream':
      // `load (In [2], cell 1a2b3c4d)`: the name is enough here.
      return `upstream ${subject.split(' (')[0]}`;
    default:
      return kind;
  }
}
