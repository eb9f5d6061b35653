import * as React from 'react';

import { LineageAPIError } from '../api';
import type { LineageModel } from '../model';
import {
  ANNOTATION_KINDS,
  type AnnotationKind,
  type IAnnotation
} from '../tokens';
import { ErrorNote } from './parts';

/**
 * Write an annotation on the selected execution: a kind, Markdown text, and
 * optionally the annotation it revises.
 */
export function AnnotationForm(props: {
  model: LineageModel;
  executionLabel: string;
  failed: boolean;
  revising: IAnnotation | null;
  onDone: () => void;
}): JSX.Element {
  const { model, executionLabel, failed, revising, onDone } = props;
  const [kind, setKind] = React.useState<AnnotationKind>(
    revising ? revising.kind : failed ? 'failed_attempt' : 'rationale'
  );
  const [text, setText] = React.useState(revising ? revising.text : '');
  const [saving, setSaving] = React.useState(false);
  const [problem, setProblem] = React.useState<string | null>(null);
  const [saved, setSaved] = React.useState(false);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!text.trim()) {
      setProblem('Write something first: the text is Markdown.');
      return;
    }
    setSaving(true);
    setProblem(null);
    setSaved(false);
    try {
      await model.annotate(kind, text, revising?.annotation_id ?? null);
      setText('');
      setSaved(true);
      onDone();
    } catch (error) {
      setProblem(
        error instanceof LineageAPIError ? error.message : String(error)
      );
    } finally {
      setSaving(false);
    }
  };

  return (
    <form className="jp-Lineage-annotationForm" onSubmit={submit}>
      <div className="jp-Lineage-formRow">
        <label className="jp-Lineage-formField">
          <span className="jp-Lineage-label">Kind</span>
          <select
            className="jp-Lineage-select jp-Lineage-kind"
            value={kind}
            onChange={event => setKind(event.target.value as AnnotationKind)}
            title={ANNOTATION_KINDS[kind]}
          >
            {(Object.keys(ANNOTATION_KINDS) as AnnotationKind[]).map(k => (
              <option key={k} value={k} title={ANNOTATION_KINDS[k]}>
                {k.replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
        <span className="jp-Lineage-formTarget" title="What it explains">
          on {executionLabel}
        </span>
      </div>
      <p className="jp-Lineage-muted jp-Lineage-kindHint">
        {ANNOTATION_KINDS[kind]}
        {revising ? ` · revises the annotation of ${revising.author}` : ''}
      </p>
      <textarea
        className="jp-Lineage-textarea"
        value={text}
        rows={4}
        placeholder="Why? What was learned? Markdown works: **bold**, `code`, lists."
        aria-label="Annotation text (Markdown)"
        onChange={event => {
          setText(event.target.value);
          setSaved(false);
        }}
        onKeyDown={event => {
          if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
            void submit(event);
          }
        }}
      />
      {problem ? <ErrorNote message={problem} /> : null}
      <div className="jp-Lineage-formRow jp-Lineage-formActions">
        {saved ? (
          <span className="jp-Lineage-saved" role="status">
            Saved to the lineage store.
          </span>
        ) : (
          <span className="jp-Lineage-muted">Ctrl+Enter saves</span>
        )}
        {revising ? (
          <button
            type="button"
            className="jp-Lineage-button jp-mod-minimal"
            onClick={onDone}
          >
            Cancel
          </button>
        ) : null}
        <button
          type="submit"
          className="jp-Lineage-button jp-mod-accept jp-Lineage-save"
          disabled={saving}
        >
          {saving ? 'Saving…' : revising ? 'Save revision' : 'Save annotation'}
        </button>
      </div>
    </form>
  );
}
