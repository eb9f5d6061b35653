/**
 * Small pieces the sidebar's views share: status glyphs, tags, sections,
 * Markdown, and a host for a Lumino widget inside React.
 */

import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import type { Loadable, RunStatus } from '../tokens';

const STATUS_TITLES: Record<RunStatus, string> = {
  ok: 'Succeeded',
  failed: 'Failed',
  interrupted: 'Interrupted',
  incomplete: 'Incomplete: the kernel stopped before the cell ended'
};

/**
 * A round glyph for a run's status: a tick, a cross, a pause bar or an ellipsis.
 */
export function StatusIcon(props: { status: RunStatus }): JSX.Element {
  const { status } = props;
  let mark: JSX.Element;
  switch (status) {
    case 'ok':
      mark = <path d="M4.5 8.2l2.3 2.3 4.7-4.9" />;
      break;
    case 'failed':
      mark = <path d="M5.3 5.3l5.4 5.4M10.7 5.3l-5.4 5.4" />;
      break;
    case 'interrupted':
      mark = <path d="M6 5v6M10 5v6" />;
      break;
    default:
      mark = <path d="M5 8h.01M8 8h.01M11 8h.01" />;
  }
  return (
    <svg
      className={`jp-Lineage-statusIcon jp-mod-${status}`}
      viewBox="0 0 16 16"
      width="16"
      height="16"
      role="img"
      aria-label={STATUS_TITLES[status]}
    >
      <title>{STATUS_TITLES[status]}</title>
      <circle cx="8" cy="8" r="7.2" />
      {mark}
    </svg>
  );
}

export function statusTitle(status: RunStatus): string {
  return STATUS_TITLES[status];
}

export function Tags(props: { tags: string[] | null }): JSX.Element | null {
  if (!props.tags || props.tags.length === 0) {
    return null;
  }
  return (
    <span className="jp-Lineage-tags">
      {props.tags.map(tag => (
        <span key={tag} className="jp-Lineage-tag">
          {tag}
        </span>
      ))}
    </span>
  );
}

/**
 * A collapsible section with a count in its heading.
 */
export function Section(props: {
  title: string;
  count?: number;
  open?: boolean;
  className?: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <details
      className={`jp-Lineage-section ${props.className ?? ''}`}
      open={props.open}
    >
      <summary className="jp-Lineage-sectionTitle">
        {props.title}
        {props.count !== undefined ? (
          <span className="jp-Lineage-count">{props.count}</span>
        ) : null}
      </summary>
      <div className="jp-Lineage-sectionBody">{props.children}</div>
    </details>
  );
}

/**
 * What a failed request said, as a one-line alert.
 */
export function ErrorNote(props: {
  message: string;
  httpStatus?: number;
}): JSX.Element {
  return (
    <p className="jp-Lineage-error" role="alert">
      {props.message}
      {props.httpStatus ? (
        <span className="jp-Lineage-muted"> (HTTP {props.httpStatus})</span>
      ) : null}
    </p>
  );
}

/**
 * The value of a `Loadable`, or the last one while a newer is on its way.
 */
export function current<T>(loadable: Loadable<T>): T | null {
  if (loadable.kind === 'ready') {
    return loadable.value;
  }
  if (loadable.kind === 'loading') {
    return loadable.previous;
  }
  return null;
}

/**
 * Put a Lumino widget (a MIME renderer) in a React tree; disposed on unmount.
 */
export function WidgetHost(props: {
  widget: Widget;
  className?: string;
}): JSX.Element {
  const host = React.useRef<HTMLDivElement>(null);
  // A layout effect: its cleanup runs while the host is still in the page, which
  // Lumino needs to detach (and so dispose) the widget.
  React.useLayoutEffect(() => {
    const widget = props.widget;
    if (host.current && !widget.isAttached) {
      Widget.attach(widget, host.current);
    }
    return () => {
      if (widget.isAttached && widget.node.isConnected) {
        Widget.detach(widget);
      }
      if (!widget.isAttached) {
        widget.dispose();
      }
    };
  }, [props.widget]);
  return <div className={props.className} ref={host} />;
}

/**
 * Markdown rendered by JupyterLab's own renderer, untrusted (so sanitized);
 * plain text when no renderer is available.
 */
export function Markdown(props: {
  text: string;
  rendermime: IRenderMimeRegistry | null;
}): JSX.Element {
  const { text, rendermime } = props;
  const widget = React.useMemo(() => {
    if (!rendermime || !rendermime.mimeTypes.includes('text/markdown')) {
      return null;
    }
    const renderer = rendermime.createRenderer('text/markdown');
    void renderer.renderModel(
      new MimeModel({ data: { 'text/markdown': text }, trusted: false })
    );
    return renderer;
  }, [text, rendermime]);
  if (!widget) {
    return <div className="jp-Lineage-markdown jp-mod-plain">{text}</div>;
  }
  return <WidgetHost widget={widget} className="jp-Lineage-markdown" />;
}
