import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import * as React from 'react';

import {
  baseName,
  formatAgo,
  formatBytes,
  formatDuration,
  formatTime,
  shortId
} from '../format';
import type { LineageModel } from '../model';
import type {
  IAnnotation,
  IEnvironmentSummary,
  IExecutionDetail,
  IFileRecord,
  IValueRecord
} from '../tokens';
import { AnnotationForm } from './AnnotationForm';
import { GraphPanel } from './GraphView';
import {
  current,
  ErrorNote,
  Markdown,
  Section,
  StatusIcon,
  statusTitle,
  Tags
} from './parts';

/**
 * Everything recorded about the selected execution, its annotations, a form
 * to add one, and its lineage graph.
 */
export function ExecutionDetail(props: {
  model: LineageModel;
  rendermime: IRenderMimeRegistry | null;
  onOpenGraphInTab: (() => void) | null;
}): JSX.Element {
  const { model, rendermime, onOpenGraphInTab } = props;
  const loadable = model.detail;
  const detail = current(loadable);
  const back = (
    <button
      className="jp-Lineage-link jp-Lineage-back"
      onClick={() => model.select(null)}
    >
      ‹ All runs
    </button>
  );
  if (loadable.kind === 'error') {
    return (
      <div className="jp-Lineage-detail">
        {back}
        <ErrorNote
          message={loadable.message}
          httpStatus={loadable.httpStatus}
        />
      </div>
    );
  }
  if (!detail) {
    return (
      <div className="jp-Lineage-detail">
        {back}
        <p className="jp-Lineage-muted">Loading the run&hellip;</p>
      </div>
    );
  }
  return (
    <div className="jp-Lineage-detail">
      {back}
      <RunDetail
        detail={detail}
        model={model}
        rendermime={rendermime}
        onOpenGraphInTab={onOpenGraphInTab}
      />
    </div>
  );
}

function RunDetail(props: {
  detail: IExecutionDetail;
  model: LineageModel;
  rendermime: IRenderMimeRegistry | null;
  onOpenGraphInTab: (() => void) | null;
}): JSX.Element {
  const { detail, model, rendermime, onOpenGraphInTab } = props;
  const run = detail.execution;
  const [revising, setRevising] = React.useState<IAnnotation | null>(null);
  const label = `${run.name ?? 'run'} [${run.execution_count ?? ' '}]`;
  const failed = run.status === 'failed' || run.status === 'interrupted';
  return (
    <article
      className={`jp-Lineage-run-detail jp-mod-${run.status}`}
      data-execution-id={run.execution_id}
    >
      <header className="jp-Lineage-detailHeader">
        <StatusIcon status={run.status} />
        <div className="jp-Lineage-detailTitle">
          <h3 className="jp-Lineage-subtitle">
            {run.name ?? 'Unnamed cell'}{' '}
            <span className="jp-Lineage-count">
              [{run.execution_count ?? ' '}]
            </span>
          </h3>
          <p className="jp-Lineage-muted">
            <span className={`jp-Lineage-statusText jp-mod-${run.status}`}>
              {statusTitle(run.status)}
            </span>
            {' · '}
            <span title={formatTime(run.started_at)}>
              {formatAgo(run.started_at)}
            </span>
            {run.duration_ms !== null
              ? ` · ${formatDuration(run.duration_ms)}`
              : ''}
            {run.author ? (
              <>
                {' · '}
                <span className="jp-Lineage-runAuthor" title="Who ran it">
                  {run.author}
                </span>
              </>
            ) : null}
          </p>
          <div className="jp-Lineage-runMeta">
            <Tags tags={run.tags} />
            {run.model ? (
              <span className="jp-Lineage-tag jp-mod-model">
                model {run.model}
              </span>
            ) : null}
          </div>
        </div>
      </header>

      {failed ? (
        <div className="jp-Lineage-failure" role="note">
          <strong>{run.error_type ?? statusTitle(run.status)}</strong>
          {run.error_message ? `: ${run.error_message}` : null}
          {run.traceback ? (
            <details>
              <summary>Traceback</summary>
              <pre className="jp-Lineage-traceback">{run.traceback}</pre>
            </details>
          ) : null}
        </div>
      ) : null}

      <div className="jp-Lineage-actions">
        <button
          className="jp-Lineage-button jp-Lineage-showGraph"
          onClick={() => void model.showGraph(run.execution_id)}
          title="Draw what this run used and what it produced"
        >
          Lineage graph
        </button>
        <button
          className="jp-Lineage-button jp-Lineage-annotate"
          title="Write why this run was made, or what its failure taught"
          onClick={event => {
            const textarea = event.currentTarget
              .closest('article')
              ?.querySelector('textarea');
            textarea?.scrollIntoView({ block: 'center' });
            textarea?.focus();
          }}
        >
          Annotate
        </button>
      </div>

      {model.graphRequest ? (
        <GraphPanel
          model={model}
          rendermime={rendermime}
          onOpenInTab={onOpenGraphInTab}
        />
      ) : null}

      <Section title="Source" open={true}>
        <pre className="jp-Lineage-source">{run.source}</pre>
      </Section>
      <Section title="Inputs" count={detail.inputs.length} open={true}>
        <Values values={detail.inputs} empty="It read no earlier value." />
      </Section>
      <Section title="Outputs" count={detail.outputs.length} open={true}>
        <Values values={detail.outputs} empty="It bound no value." />
      </Section>
      <Section
        title="Files"
        count={detail.files.length}
        open={detail.files.length > 0}
      >
        <Files files={detail.files} />
      </Section>
      {detail.metrics.length + detail.params.length > 0 ? (
        <Section
          title="Metrics and parameters"
          count={detail.metrics.length + detail.params.length}
          open={true}
        >
          <table className="jp-Lineage-table">
            <tbody>
              {detail.metrics.map(m => (
                <tr key={`m-${m.name}-${m.step}-${m.logged_at}`}>
                  <th>{m.name}</th>
                  <td>
                    {m.value}
                    {m.step !== null ? (
                      <span className="jp-Lineage-muted"> step {m.step}</span>
                    ) : null}
                  </td>
                </tr>
              ))}
              {detail.params.map(p => (
                <tr key={`p-${p.name}-${p.logged_at}`}>
                  <th>{p.name}</th>
                  <td>
                    <code>{p.value}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      ) : null}
      <Section title="Environment">
        <Environment environment={detail.environment} />
      </Section>

      <section className="jp-Lineage-annotations">
        <h4 className="jp-Lineage-sectionTitle">
          Annotations
          <span className="jp-Lineage-count">{detail.annotations.length}</span>
        </h4>
        {detail.annotations.length === 0 ? (
          <p className="jp-Lineage-muted">
            {failed
              ? 'Say why it failed and what was learned: a failed attempt is worth keeping.'
              : 'Nothing written yet. Say why this run was made this way.'}
          </p>
        ) : (
          <ul className="jp-Lineage-annotationList">
            {detail.annotations.map(annotation => (
              <AnnotationItem
                key={annotation.annotation_id}
                annotation={annotation}
                rendermime={rendermime}
                onRevise={() => setRevising(annotation)}
              />
            ))}
          </ul>
        )}
        <AnnotationForm
          key={revising?.annotation_id ?? `new-${run.execution_id}`}
          model={model}
          executionLabel={label}
          failed={failed}
          revising={revising}
          onDone={() => setRevising(null)}
        />
      </section>
      <p className="jp-Lineage-muted jp-Lineage-ids">
        execution <code title={run.execution_id}>{run.execution_id}</code>
      </p>
    </article>
  );
}

function AnnotationItem(props: {
  annotation: IAnnotation;
  rendermime: IRenderMimeRegistry | null;
  onRevise: () => void;
}): JSX.Element {
  const { annotation, rendermime, onRevise } = props;
  return (
    <li
      className={`jp-Lineage-annotation jp-mod-${annotation.kind}`}
      data-annotation-id={annotation.annotation_id}
    >
      <div className="jp-Lineage-annotationMeta">
        <span className="jp-Lineage-kindBadge">
          {annotation.kind.replace('_', ' ')}
        </span>
        <span className="jp-Lineage-muted">
          {annotation.author} · {formatAgo(annotation.created_at)}
          {annotation.revision > 1 ? ` · revision ${annotation.revision}` : ''}
        </span>
        <button
          className="jp-Lineage-link jp-Lineage-revise"
          onClick={onRevise}
          title="Write a new revision of this annotation"
        >
          revise
        </button>
      </div>
      <Markdown text={annotation.text} rendermime={rendermime} />
    </li>
  );
}

function Values(props: { values: IValueRecord[]; empty: string }): JSX.Element {
  if (props.values.length === 0) {
    return <p className="jp-Lineage-muted">{props.empty}</p>;
  }
  return (
    <table className="jp-Lineage-table">
      <tbody>
        {props.values.map(v => (
          <tr key={v.name} title={v.note ?? undefined}>
            <th>
              <code>{v.name}</code>
              {v.action && v.action !== 'assigned' ? (
                <span className="jp-Lineage-action"> {v.action}</span>
              ) : null}
            </th>
            <td>
              <span className="jp-Lineage-typeName">{v.type_name}</span>
              {v.shape ? (
                <span className="jp-Lineage-muted"> {v.shape}</span>
              ) : null}
              <br />
              <code
                className={`jp-Lineage-fingerprint jp-mod-${v.fingerprint_kind ?? 'none'}`}
                title={`${v.fingerprint ?? ''} (${v.fingerprint_kind ?? 'no'} fingerprint)`}
              >
                {v.fingerprint_kind === 'content'
                  ? shortId(v.fingerprint, 12)
                  : (v.fingerprint_kind ?? 'not fingerprinted')}
              </code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Files(props: { files: IFileRecord[] }): JSX.Element {
  if (props.files.length === 0) {
    return <p className="jp-Lineage-muted">It opened no file.</p>;
  }
  return (
    <table className="jp-Lineage-table">
      <tbody>
        {props.files.map(f => (
          <tr key={`${f.path}-${f.access}`} title={f.path}>
            <th>
              <span className={`jp-Lineage-access jp-mod-${f.access}`}>
                {f.access}
              </span>
            </th>
            <td>
              <code>{baseName(f.path)}</code>
              <span className="jp-Lineage-muted"> {formatBytes(f.size)}</span>
              <br />
              <code className="jp-Lineage-fingerprint" title={f.sha256 ?? ''}>
                {f.sha256 ? `sha256 ${shortId(f.sha256, 12)}` : (f.note ?? '')}
              </code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Environment(props: {
  environment: IEnvironmentSummary | null;
}): JSX.Element {
  const env = props.environment;
  if (!env) {
    return (
      <p className="jp-Lineage-muted">No environment was recorded for it.</p>
    );
  }
  const rows: [string, React.ReactNode][] = [
    [
      'Python',
      `${env.python_version ?? '?'} (${env.python_implementation ?? '?'})`
    ],
    ['Packages', env.package_count ?? 'unknown'],
    ['Platform', env.platform],
    [
      'Machine',
      `${env.cpu_count ?? '?'} × ${env.cpu_model ?? 'CPU'}, ${formatBytes(env.ram_bytes)} RAM`
    ],
    ['Host', env.hostname],
    [
      'Git',
      env.git_commit
        ? `${shortId(env.git_commit)}${env.git_branch ? ` on ${env.git_branch}` : ''}${env.git_dirty ? ' (uncommitted changes)' : ''}`
        : 'not a git repository'
    ]
  ];
  return (
    <table className="jp-Lineage-table jp-Lineage-environment">
      <tbody>
        {rows.map(([key, value]) => (
          <tr key={key}>
            <th>{key}</th>
            <td>{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
