import * as React from 'react';

import { cardFileName, formatAgo } from '../format';
import type { LineageModel } from '../model';
import type { IModelSummary } from '../tokens';
import { current, ErrorNote } from './parts';

/**
 * The models of the notebook's store, and a preview of the selected one's
 * model card with an Export button.
 */
export function ModelsView(props: { model: LineageModel }): JSX.Element {
  const { model } = props;
  const loadable = model.models;
  const answer = current(loadable);
  const request = model.cardRequest;
  return (
    <div className="jp-Lineage-models">
      {loadable.kind === 'error' ? (
        <ErrorNote
          message={loadable.message}
          httpStatus={loadable.httpStatus}
        />
      ) : null}
      {!answer && loadable.kind === 'loading' ? (
        <p className="jp-Lineage-muted">Loading the models&hellip;</p>
      ) : null}
      {answer && answer.models.length === 0 ? (
        <div className="jp-Lineage-emptyState">
          <h3 className="jp-Lineage-subtitle">No models yet</h3>
          <p>Mark the cell that trains a model with its name:</p>
          <pre className="jp-Lineage-code">%%lineage --model churn</pre>
          <p>
            then register it with <code>%lineage_model register</code> to give
            it owners, versions and a reviewed lifecycle.
          </p>
        </div>
      ) : null}
      {answer && answer.models.length > 0 ? (
        <ul className="jp-Lineage-modelList" aria-label="Models">
          {answer.models.map(m => (
            <ModelItem
              key={`${m.group_name ?? ''}/${m.name}`}
              summary={m}
              selected={request?.model === m.name}
              onSelect={version => void model.showCard(m.name, version)}
            />
          ))}
        </ul>
      ) : null}
      {answer && !answer.cards ? (
        <p className="jp-Lineage-muted">
          Model cards are not available in this installation.
        </p>
      ) : null}
      {request && answer?.cards !== false ? (
        <CardPreview model={model} />
      ) : null}
    </div>
  );
}

function ModelItem(props: {
  summary: IModelSummary;
  selected: boolean;
  onSelect: (version: string | null) => void;
}): JSX.Element {
  const { summary, selected, onSelect } = props;
  const latest = summary.versions[summary.versions.length - 1];
  return (
    <li
      className={`jp-Lineage-modelItem${selected ? ' jp-mod-selected' : ''}`}
      data-model={summary.name}
    >
      <button
        className="jp-Lineage-modelButton"
        onClick={() => onSelect(latest ? latest.version : null)}
        title="Preview its model card"
      >
        <span className="jp-Lineage-modelName">{summary.name}</span>
        {summary.risk_tier ? (
          <span className={`jp-Lineage-tag jp-mod-risk-${summary.risk_tier}`}>
            {summary.risk_tier} risk
          </span>
        ) : null}
        {summary.registered ? (
          <span className="jp-Lineage-muted">
            {latest
              ? `${latest.version} · ${latest.state.replace(/_/g, ' ')}`
              : 'no version yet'}
          </span>
        ) : (
          <span className="jp-Lineage-muted">
            not registered · {summary.run_count ?? 0} run(s), last{' '}
            {formatAgo(summary.last_run_at ?? null)}
          </span>
        )}
      </button>
      {summary.description ? (
        <p className="jp-Lineage-modelDescription">{summary.description}</p>
      ) : null}
    </li>
  );
}

function CardPreview(props: { model: LineageModel }): JSX.Element | null {
  const { model } = props;
  const request = model.cardRequest;
  const loadable = model.card;
  const answer = current(model.models);
  if (!request) {
    return null;
  }
  const summary = answer?.models.find(m => m.name === request.model);
  const html = loadable.kind === 'ready' ? loadable.value : null;
  const exportCard = () => {
    if (!html) {
      return;
    }
    const url = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = cardFileName(request.model, request.version);
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  return (
    <section className="jp-Lineage-card" aria-label="Model card">
      <div className="jp-Lineage-cardControls">
        <h3 className="jp-Lineage-subtitle">Model card: {request.model}</h3>
        {summary && summary.versions.length > 1 ? (
          <select
            className="jp-Lineage-select jp-Lineage-cardVersion"
            value={request.version ?? ''}
            aria-label="Version"
            onChange={event =>
              void model.showCard(request.model, event.target.value || null)
            }
          >
            {[...summary.versions].reverse().map(v => (
              <option key={v.version} value={v.version}>
                {v.version} ({v.state.replace(/_/g, ' ')})
              </option>
            ))}
          </select>
        ) : request.version ? (
          <span className="jp-Lineage-muted">{request.version}</span>
        ) : null}
        <button
          className="jp-Lineage-button jp-mod-accept jp-Lineage-exportCard"
          disabled={!html}
          onClick={exportCard}
          title="Download the card as one self-contained HTML file"
        >
          Export HTML
        </button>
      </div>
      {loadable.kind === 'error' ? (
        <ErrorNote
          message={loadable.message}
          httpStatus={loadable.httpStatus}
        />
      ) : null}
      {loadable.kind === 'loading' ? (
        <p className="jp-Lineage-muted">Writing the card&hellip;</p>
      ) : null}
      {html ? (
        <iframe
          className="jp-Lineage-cardFrame"
          title={`Model card of ${request.model}`}
          // Scripts may run (the card's plotly figures) but in an opaque
          // origin: no access to JupyterLab, its cookies or its token.
          sandbox="allow-scripts"
          srcDoc={html}
        />
      ) : null}
    </section>
  );
}
