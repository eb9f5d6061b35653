/**
 * A model card as a compact view: the header with the model, its version,
 * state and risk tier, then its details, metrics against their gates, the
 * training data with short content hashes, the lineage of the training run
 * and the failed attempts. It draws the card JSON that `%lineage_card`
 * displays (`cards.render_json`); the full card is its HTML export.
 *
 * What people wrote (descriptions, explanations, error messages) is shown as
 * written, as text; hashes and ids are shortened on screen and given whole in
 * their tooltips.
 */

import * as React from 'react';

import { formatBytes, formatDuration, formatTime, shortId } from '../format';
import type { RunStatus } from '../tokens';
import { Section, StatusIcon } from './parts';

/**
 * The parts of the card JSON this view reads (docs/guide/cards.md has them all).
 */
export interface ICardData {
  generated_for?: string;
  model_details?: {
    name?: string;
    group?: string | null;
    version?: string | null;
    state?: string | null;
    registered?: boolean;
    description?: string | null;
    model_type?: string | null;
    framework?: string | null;
    framework_version?: string | null;
    owners?: string[] | null;
    risk_tier?: string | null;
    tags?: string[] | null;
    created_at?: string | null;
    registered_at?: string | null;
    training_execution?: string | null;
    notebook?: string | null;
  };
  intended_use?: { primary_uses?: string | null } | null;
  metrics?: ICardMetric[] | null;
  training_data?: {
    datasets?: ICardDataset[] | null;
    preprocessing?: ICardRun[] | null;
  } | null;
  lineage?: { executions?: ICardRun[] | null } | null;
  failed_attempts?: ICardFailure[] | null;
}

export interface ICardMetric {
  name: string;
  value: number | null;
  ci_low?: number | null;
  ci_high?: number | null;
  gate?: { op: string; threshold: number } | null;
}

export interface ICardDataset {
  role?: string | null;
  kind?: string | null;
  name?: string | null;
  path?: string | null;
  fingerprint?: string | null;
  sha256?: string | null;
  type?: string | null;
  shape?: string | null;
  size?: number | null;
}

export interface ICardRun {
  execution_id: string;
  execution_count?: number | null;
  name?: string | null;
  status?: string | null;
  started_at?: string | null;
  duration_ms?: number | null;
  depth?: number | null;
}

export interface ICardFailure {
  execution_id?: string | null;
  execution_count?: number | null;
  name?: string | null;
  started_at?: string | null;
  error_type?: string | null;
  error_message?: string | null;
  explanation?: string | null;
}

const RUN_STATUSES: RunStatus[] = ['ok', 'failed', 'interrupted', 'incomplete'];

function runStatus(status: string | null | undefined): RunStatus {
  return RUN_STATUSES.includes(status as RunStatus)
    ? (status as RunStatus)
    : 'incomplete';
}

/**
 * A metric's value on screen: four significant digits (the tooltip has all).
 */
export function formatMetric(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return '';
  }
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}

/**
 * Whether `value` meets the gate `op threshold`; null when it cannot be told.
 */
export function meetsGate(
  value: number | null | undefined,
  gate: { op: string; threshold: number }
): boolean | null {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return null;
  }
  switch (gate.op) {
    case '>=':
      return value >= gate.threshold;
    case '>':
      return value > gate.threshold;
    case '<=':
      return value <= gate.threshold;
    case '<':
      return value < gate.threshold;
    case '==':
      return value === gate.threshold;
    case '!=':
      return value !== gate.threshold;
    default:
      return null;
  }
}

function runLabel(run: {
  name?: string | null;
  execution_count?: number | null;
  execution_id?: string | null;
}): string {
  const count =
    run.execution_count !== null && run.execution_count !== undefined
      ? `[${run.execution_count}] `
      : '';
  return `${count}${run.name || shortId(run.execution_id ?? null)}`;
}

function Badge(props: {
  className: string;
  title?: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <span className={`jp-Lineage-badge ${props.className}`} title={props.title}>
      {props.children}
    </span>
  );
}

/**
 * An id or hash shortened on screen, whole in its tooltip and when copied.
 */
function ShortHash(props: { value: string | null | undefined }): JSX.Element {
  const { value } = props;
  if (!value) {
    return <span className="jp-Lineage-muted">none</span>;
  }
  return (
    <code className="jp-Lineage-hash" title={value}>
      {shortId(value, 12)}
    </code>
  );
}

function When(props: { iso: string | null | undefined }): JSX.Element {
  return (
    <time dateTime={props.iso ?? undefined}>
      {formatTime(props.iso ?? null)}
    </time>
  );
}

function Header(props: { card: ICardData }): JSX.Element {
  const details = props.card.model_details ?? {};
  const name = details.name ?? props.card.generated_for ?? 'model';
  const state = details.state ?? null;
  return (
    <header className="jp-Lineage-cardHeader">
      <span className="jp-Lineage-cardName">
        {details.group && details.group !== 'default'
          ? `${details.group}/${name}`
          : name}
      </span>
      {details.version ? (
        <Badge className="jp-mod-version" title="Version">
          {details.version}
        </Badge>
      ) : null}
      {state ? (
        <Badge
          className={`jp-mod-state jp-mod-state-${state}`}
          title="Lifecycle state"
        >
          {state.replace(/_/g, ' ').toLowerCase()}
        </Badge>
      ) : null}
      {details.risk_tier ? (
        <Badge
          className={`jp-mod-risk jp-mod-risk-${details.risk_tier}`}
          title="Risk tier"
        >
          {details.risk_tier} risk
        </Badge>
      ) : null}
      {details.registered === false ? (
        <Badge className="jp-mod-unregistered">not registered</Badge>
      ) : null}
    </header>
  );
}

function Details(props: { card: ICardData }): JSX.Element {
  const details = props.card.model_details ?? {};
  const kind = [
    details.model_type,
    details.framework
      ? `${details.framework}${details.framework_version ? ' ' + details.framework_version : ''}`
      : null
  ]
    .filter(Boolean)
    .join(' · ');
  const facts: [string, React.ReactNode][] = [];
  if (details.owners && details.owners.length > 0) {
    facts.push(['Owners', details.owners.join(', ')]);
  }
  if (kind) {
    facts.push(['Model type', kind]);
  }
  if (props.card.intended_use?.primary_uses) {
    facts.push(['Intended use', props.card.intended_use.primary_uses]);
  }
  // In the order they happened, each saying what it dates.
  if (details.registered_at) {
    facts.push(['Model registered', <When iso={details.registered_at} />]);
  }
  if (details.created_at) {
    facts.push(['Version created', <When iso={details.created_at} />]);
  }
  if (details.training_execution) {
    facts.push([
      'Trained by run',
      <ShortHash value={details.training_execution} />
    ]);
  }
  if (details.notebook) {
    facts.push(['Notebook', <code>{details.notebook}</code>]);
  }
  if (details.tags && details.tags.length > 0) {
    facts.push([
      'Tags',
      <span className="jp-Lineage-tags">
        {details.tags.map(tag => (
          <span key={tag} className="jp-Lineage-tag">
            {tag}
          </span>
        ))}
      </span>
    ]);
  }
  return (
    <>
      {details.description ? (
        <p className="jp-Lineage-cardDescription">{details.description}</p>
      ) : null}
      <table className="jp-Lineage-cardFacts">
        <tbody>
          {facts.map(([label, value]) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              <td>{value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Metrics(props: { metrics: ICardMetric[] }): JSX.Element {
  return (
    <Section title="Metrics" count={props.metrics.length} open={true}>
      <table className="jp-Lineage-cardTable jp-Lineage-cardMetrics">
        <thead>
          <tr>
            <th>Metric</th>
            <th>Value</th>
            <th>Gate</th>
          </tr>
        </thead>
        <tbody>
          {props.metrics.map(metric => {
            const met = metric.gate
              ? meetsGate(metric.value, metric.gate)
              : null;
            const interval =
              metric.ci_low !== null &&
              metric.ci_low !== undefined &&
              metric.ci_high !== null &&
              metric.ci_high !== undefined
                ? ` (${formatMetric(metric.ci_low)}–${formatMetric(metric.ci_high)})`
                : '';
            return (
              <tr key={metric.name}>
                <td>{metric.name}</td>
                <td title={String(metric.value)}>
                  {formatMetric(metric.value)}
                  {interval ? (
                    <span
                      className="jp-Lineage-muted"
                      title="95% confidence interval"
                    >
                      {interval}
                    </span>
                  ) : null}
                </td>
                <td>
                  {metric.gate ? (
                    <>
                      <code>
                        {metric.gate.op} {metric.gate.threshold}
                      </code>{' '}
                      {met === null ? null : (
                        <Badge className={met ? 'jp-mod-pass' : 'jp-mod-fail'}>
                          {met ? 'met' : 'not met'}
                        </Badge>
                      )}
                    </>
                  ) : (
                    <span className="jp-Lineage-muted">none</span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </Section>
  );
}

function TrainingData(props: { datasets: ICardDataset[] }): JSX.Element {
  return (
    <Section title="Training data" count={props.datasets.length} open={true}>
      <table className="jp-Lineage-cardTable jp-Lineage-cardData">
        <thead>
          <tr>
            <th>Data</th>
            <th>Content hash</th>
            <th>What</th>
          </tr>
        </thead>
        <tbody>
          {props.datasets.map((data, index) => {
            const file = data.kind === 'file';
            const what = file
              ? formatBytes(data.size ?? null)
              : [data.type, data.shape].filter(Boolean).join(' ');
            return (
              <tr key={`${data.name ?? ''}-${index}`}>
                <td>
                  <code className="jp-Lineage-dataName">
                    {data.path ?? data.name}
                  </code>
                  <span className="jp-Lineage-muted">
                    {' '}
                    {[data.role, data.kind].filter(Boolean).join(' ')}
                  </span>
                </td>
                <td>
                  <ShortHash value={file ? data.sha256 : data.fingerprint} />
                </td>
                <td>{what}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </Section>
  );
}

function Lineage(props: { runs: ICardRun[] }): JSX.Element {
  return (
    <Section title="Lineage" count={props.runs.length} open={true}>
      <ol className="jp-Lineage-cardSteps" aria-label="Runs, in order">
        {props.runs.map(run => (
          <li
            key={run.execution_id}
            className="jp-Lineage-cardStep"
            title={`execution ${run.execution_id}${run.started_at ? '\n' + formatTime(run.started_at) : ''}`}
          >
            <StatusIcon status={runStatus(run.status)} />
            <span>{runLabel(run)}</span>
            {run.duration_ms !== null && run.duration_ms !== undefined ? (
              <span className="jp-Lineage-muted">
                {formatDuration(run.duration_ms)}
              </span>
            ) : null}
          </li>
        ))}
      </ol>
    </Section>
  );
}

function FailedAttempts(props: { failures: ICardFailure[] }): JSX.Element {
  return (
    <Section
      title="Failed attempts"
      count={props.failures.length}
      open={true}
      className="jp-Lineage-cardFailures"
    >
      <ul className="jp-Lineage-cardFailureList">
        {props.failures.map((failure, index) => (
          <li key={failure.execution_id ?? index}>
            <div className="jp-Lineage-cardFailureTitle">
              <StatusIcon status="failed" />
              <span>{runLabel(failure)}</span>
              {failure.started_at ? (
                <span className="jp-Lineage-muted">
                  <When iso={failure.started_at} />
                </span>
              ) : null}
            </div>
            {failure.error_type || failure.error_message ? (
              <div className="jp-Lineage-cardError">
                {failure.error_type ? `${failure.error_type}: ` : ''}
                {failure.error_message ?? ''}
              </div>
            ) : null}
            {failure.explanation ? (
              <div className="jp-Lineage-cardExplanation">
                {failure.explanation}
              </div>
            ) : null}
          </li>
        ))}
      </ul>
    </Section>
  );
}

/**
 * The runs from the data to the model: the preprocessing steps furthest
 * upstream first, then the training run and the runs that used the model.
 */
export function lineageRuns(card: ICardData): ICardRun[] {
  const steps = [...(card.training_data?.preprocessing ?? [])].sort(
    (a, b) =>
      (b.depth ?? 0) - (a.depth ?? 0) ||
      (a.started_at ?? '').localeCompare(b.started_at ?? '')
  );
  const seen = new Set(steps.map(s => s.execution_id));
  const later = (card.lineage?.executions ?? []).filter(
    run => !seen.has(run.execution_id)
  );
  return [...steps, ...later];
}

export function CardView(props: { card: ICardData }): JSX.Element {
  const { card } = props;
  const metrics = card.metrics ?? [];
  const datasets = card.training_data?.datasets ?? [];
  const runs = lineageRuns(card);
  const failures = card.failed_attempts ?? [];
  const name = card.model_details?.name ?? card.generated_for ?? 'MODEL';
  return (
    <article
      className="jp-Lineage-inlineCard"
      aria-label={`Model card of ${name}`}
    >
      <Header card={card} />
      <Details card={card} />
      {metrics.length > 0 ? <Metrics metrics={metrics} /> : null}
      {datasets.length > 0 ? <TrainingData datasets={datasets} /> : null}
      {runs.length > 0 ? <Lineage runs={runs} /> : null}
      {failures.length > 0 ? <FailedAttempts failures={failures} /> : null}
      <p className="jp-Lineage-muted jp-Lineage-cardFooter">
        The whole card, with the rationale, environment and audit trail:{' '}
        <code>
          jupyter-lineage card {card.generated_for ?? name}
          {' -o card.html'}
        </code>
      </p>
    </article>
  );
}
