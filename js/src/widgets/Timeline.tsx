import * as React from 'react';

import { formatAgo, formatDuration, formatTime } from '../format';
import type { LineageModel } from '../model';
import {
  RUN_STATUSES,
  type IExecutionSummary,
  type IExecutionsPage,
  type IKernelSession,
  type IStaleCell,
  type RunStatus
} from '../tokens';
import { current, ErrorNote, StatusIcon, statusTitle, Tags } from './parts';
import { StaleBadge, StaleFilter, StaleHeader, staleRuns } from './StaleBadge';

/**
 * The notebook's captured executions, newest first, with filters and paging,
 * grouped by the kernel session they ran in: each group under a header with
 * the session's start, Python and host, its runs and failures, and what
 * changed in the environment since the notebook's previous session.
 */
export function Timeline(props: { model: LineageModel }): JSX.Element {
  const { model } = props;
  const loadable = model.executions;
  const page = current(loadable);
  const filtered =
    model.filters.status !== null ||
    model.filters.tag !== null ||
    model.filters.author !== null;
  const staleness = model.staleness;
  const runs = page
    ? model.staleOnly
      ? staleRuns(page.executions, staleness)
      : page.executions
    : [];
  return (
    <div className="jp-Lineage-timeline">
      <StaleHeader staleness={staleness} onRerun={() => void model.refresh()} />
      {page ? <Summary page={page} /> : null}
      {page && (page.total > 0 || filtered) ? (
        <Filters
          model={model}
          tags={page.tags}
          // A server from before authors were recorded sends none.
          authors={page.authors ?? []}
        />
      ) : null}
      {loadable.kind === 'error' ? (
        <ErrorNote
          message={loadable.message}
          httpStatus={loadable.httpStatus}
        />
      ) : null}
      {page === null && loadable.kind === 'loading' ? (
        <p className="jp-Lineage-muted">Loading the captured runs&hellip;</p>
      ) : null}
      {page && runs.length > 0 ? (
        <ol className="jp-Lineage-sessions" aria-label="Captured executions">
          {sessionGroups({ ...page, executions: runs }).map(group => (
            <li
              key={`${group.sessionId}@${group.runs[0].execution_id}`}
              className="jp-Lineage-sessionGroup"
              data-session-id={group.sessionId}
            >
              {group.session ? <SessionHeader session={group.session} /> : null}
              <ol className="jp-Lineage-runs">
                {group.runs.map(run => (
                  <RunItem
                    key={run.execution_id}
                    run={run}
                    stale={staleness?.checker.staleCellOf(run) ?? null}
                    onSelect={() => model.select(run.execution_id)}
                  />
                ))}
              </ol>
            </li>
          ))}
        </ol>
      ) : null}
      {page && model.staleOnly && runs.length === 0 ? (
        <p className="jp-Lineage-muted">No loaded run is of a stale cell.</p>
      ) : null}
      {page && page.executions.length === 0 && page.total > 0 ? (
        <p className="jp-Lineage-muted">
          No run matches these filters.{' '}
          <button
            className="jp-Lineage-link"
            onClick={() =>
              model.setFilters({ status: null, tag: null, author: null })
            }
          >
            Show all runs
          </button>
        </p>
      ) : null}
      {page && page.total === 0 && !filtered ? (
        <NoRunsYet storeExists={page.store_exists} />
      ) : null}
      {page && page.next_before ? (
        <button
          className="jp-Lineage-button jp-Lineage-older"
          disabled={loadable.kind === 'loading'}
          onClick={() => void model.loadOlder()}
        >
          Show older runs
        </button>
      ) : null}
    </div>
  );
}

interface ISessionGroup {
  sessionId: string;
  session: IKernelSession | null;
  runs: IExecutionSummary[];
}

/**
 * The page's runs in groups of consecutive runs of one kernel session. Pure.
 */
export function sessionGroups(page: IExecutionsPage): ISessionGroup[] {
  const sessions = new Map(
    (page.sessions ?? []).map(s => [s.session_id, s] as const)
  );
  const groups: ISessionGroup[] = [];
  for (const run of page.executions) {
    const last = groups[groups.length - 1];
    if (last && last.sessionId === run.session_id) {
      last.runs.push(run);
    } else {
      groups.push({
        sessionId: run.session_id,
        session: sessions.get(run.session_id) ?? null,
        runs: [run]
      });
    }
  }
  return groups;
}

/**
 * What changed in a session's environment since the notebook's previous session,
 * in a few words: "numpy 1.26.4 → 2.0.0", "environment unchanged".
 */
export function environmentChange(session: IKernelSession): string {
  if (session.previous_session === null) {
    return "the notebook's first session";
  }
  if (session.environment_changed === null) {
    return 'environment not recorded';
  }
  if (!session.environment_changed) {
    return 'environment unchanged';
  }
  const changes: string[] = [];
  if (session.previous_python_version) {
    changes.push(
      `Python ${session.previous_python_version} → ${session.python_version ?? '?'}`
    );
  }
  if (session.previous_git_commit || session.git_commit) {
    changes.push(
      `git ${(session.previous_git_commit ?? 'none').slice(0, 7)} → ${(session.git_commit ?? 'none').slice(0, 7)}`
    );
  }
  for (const p of session.package_changes) {
    changes.push(
      p.before === null
        ? `${p.name} ${p.after} added`
        : p.after === null
          ? `${p.name} ${p.before} removed`
          : `${p.name} ${p.before} → ${p.after}`
    );
  }
  const more = session.package_change_count - session.package_changes.length;
  if (more > 0) {
    changes.push(`${more} more package${more === 1 ? '' : 's'}`);
  }
  return changes.length > 0
    ? changes.join(', ')
    : 'environment changed (variables or machine)';
}

function SessionHeader(props: { session: IKernelSession }): JSX.Element {
  const { session } = props;
  const change = environmentChange(session);
  const where = [
    session.python_version ? `Python ${session.python_version}` : null,
    session.hostname ? `on ${session.hostname}` : null
  ]
    .filter(Boolean)
    .join(' ');
  return (
    <div
      className={`jp-Lineage-sessionHeader${session.environment_changed ? ' jp-mod-changed' : ''}`}
      title={`Kernel session ${session.session_id}`}
    >
      <div className="jp-Lineage-sessionTitle">
        <strong>Session {session.number}</strong>
        <span title={formatTime(session.started_at)}>
          {' · started '}
          {formatAgo(session.started_at)}
        </span>
        {where ? (
          <span className="jp-Lineage-muted">
            {' · '}
            {where}
          </span>
        ) : null}
      </div>
      <div className="jp-Lineage-sessionCounts">
        <span className="jp-Lineage-sessionRuns">
          {session.runs} {session.runs === 1 ? 'run' : 'runs'}
        </span>
        {session.failed > 0 ? (
          <span className="jp-Lineage-failedCount jp-Lineage-sessionFailed">
            {' · '}
            {session.failed} did not succeed
          </span>
        ) : null}
      </div>
      <div className="jp-Lineage-sessionEnv" title={change}>
        {change}
      </div>
    </div>
  );
}

function Summary(props: { page: IExecutionsPage }): JSX.Element | null {
  const { page } = props;
  if (page.total === 0) {
    return null;
  }
  const sessions = Math.max(0, ...(page.sessions ?? []).map(s => s.number));
  return (
    <p className="jp-Lineage-summary">
      <strong>{page.total}</strong> captured {page.total === 1 ? 'run' : 'runs'}
      {sessions > 1 ? ` in ${sessions} kernel sessions` : null}
      {page.failed > 0 ? (
        <>
          {' · '}
          <span className="jp-Lineage-failedCount">
            {page.failed} did not succeed
          </span>
        </>
      ) : null}
      {page.last_started_at ? (
        <span
          className="jp-Lineage-muted"
          title={formatTime(page.last_started_at)}
        >
          {' · last '}
          {formatAgo(page.last_started_at)}
        </span>
      ) : null}
    </p>
  );
}

function Filters(props: {
  model: LineageModel;
  tags: string[];
  authors: string[];
}): JSX.Element {
  const { model, tags, authors } = props;
  const { status, tag, author } = model.filters;
  return (
    <div className="jp-Lineage-filters">
      <label>
        <span className="jp-Lineage-label">Status</span>
        <select
          className="jp-Lineage-select jp-Lineage-statusFilter"
          value={status ?? ''}
          onChange={event =>
            model.setFilters({
              status: (event.target.value || null) as RunStatus | null
            })
          }
        >
          <option value="">all</option>
          {RUN_STATUSES.map(s => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span className="jp-Lineage-label">Tag</span>
        <select
          className="jp-Lineage-select jp-Lineage-tagFilter"
          value={tag ?? ''}
          disabled={tags.length === 0 && tag === null}
          onChange={event =>
            model.setFilters({ tag: event.target.value || null })
          }
        >
          <option value="">all</option>
          {[...new Set([...tags, ...(tag ? [tag] : [])])].map(t => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span className="jp-Lineage-label">Author</span>
        <select
          className="jp-Lineage-select jp-Lineage-authorFilter"
          value={author ?? ''}
          disabled={authors.length === 0 && author === null}
          onChange={event =>
            model.setFilters({ author: event.target.value || null })
          }
        >
          <option value="">all</option>
          {[...new Set([...authors, ...(author ? [author] : [])])].map(a => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
      </label>
      <StaleFilter
        checked={model.staleOnly}
        count={model.staleness?.checker.staleCells.length ?? 0}
        onChange={checked => (model.staleOnly = checked)}
      />
    </div>
  );
}

function RunItem(props: {
  run: IExecutionSummary;
  stale?: IStaleCell | null;
  onSelect: () => void;
}): JSX.Element {
  const { run, onSelect } = props;
  const title = run.name ?? run.first_line ?? '';
  return (
    <li
      className={`jp-Lineage-run jp-mod-${run.status}`}
      data-execution-id={run.execution_id}
    >
      <button
        className="jp-Lineage-runButton"
        onClick={onSelect}
        title={`${statusTitle(run.status)}: open this run`}
      >
        <StatusIcon status={run.status} />
        <span className="jp-Lineage-runMain">
          <span className="jp-Lineage-runTitle">
            <span className="jp-Lineage-count" title="Execution count">
              [{run.execution_count ?? ' '}]
            </span>
            <span
              className={
                run.name ? 'jp-Lineage-runName' : 'jp-Lineage-runSource'
              }
            >
              {title || '(empty cell)'}
            </span>
          </span>
          {run.status !== 'ok' ? (
            <span className="jp-Lineage-runError">
              {run.error_type
                ? `${run.error_type}: ${run.error_message ?? ''}`
                : statusTitle(run.status)}
            </span>
          ) : null}
          <span className="jp-Lineage-runMeta">
            <StaleBadge cell={props.stale ?? null} />
            {run.author ? (
              <span className="jp-Lineage-runAuthor" title="Who ran it">
                {run.author}
              </span>
            ) : null}
            <Tags tags={run.tags} />
            {run.model ? (
              <span className="jp-Lineage-tag jp-mod-model" title="Model">
                {run.model}
              </span>
            ) : null}
            {run.annotation_count > 0 ? (
              <span
                className="jp-Lineage-noteCount"
                title={`${run.annotation_count} annotation(s)`}
              >
                ✎ {run.annotation_count}
              </span>
            ) : null}
          </span>
        </span>
        <span className="jp-Lineage-runWhen">
          <span className="jp-Lineage-duration">
            {formatDuration(run.duration_ms)}
          </span>
          <span className="jp-Lineage-muted" title={formatTime(run.started_at)}>
            {formatAgo(run.started_at)}
          </span>
        </span>
      </button>
    </li>
  );
}

/**
 * What a new user does to see runs here.
 */
export function NoRunsYet(props: { storeExists: boolean }): JSX.Element {
  return (
    <div className="jp-Lineage-emptyState">
      <h3 className="jp-Lineage-subtitle">No captured runs yet</h3>
      <p>
        {props.storeExists
          ? 'Nothing was captured from this notebook so far. '
          : null}
        To start capturing, load the extension in the notebook:
      </p>
      <pre className="jp-Lineage-code">%load_ext jupyter_lineage</pre>
      <p>
        then put <code>%%lineage</code> on the first line of a cell to capture
        that cell, or run <code>%lineage on</code> to capture every cell. Runs
        appear here as soon as they finish.
      </p>
    </div>
  );
}
