import * as React from 'react';

import type { IServerStatus, StatusState } from '../tokens';

/**
 * The command that enables the server extension, shown when it is missing.
 */
export const ENABLE_COMMAND = 'jupyter server extension enable jupyter_lineage';

/**
 * What the server said, rendered for each kind of `StatusState`.
 */
export function StatusView(props: { state: StatusState }): JSX.Element {
  const { state } = props;
  switch (state.kind) {
    case 'loading':
      return (
        <p className="jp-Lineage-muted">
          Asking the lineage server extension&hellip;
        </p>
      );
    case 'ready':
      return <StoreInfo status={state.status} />;
    case 'unavailable':
      return (
        <ServerProblem
          title="The lineage server extension is not enabled"
          detail={null}
        />
      );
    case 'error':
      return (
        <ServerProblem
          title="The lineage server extension answered with an error"
          detail={
            state.httpStatus
              ? `${state.message} (HTTP ${state.httpStatus})`
              : state.message
          }
        />
      );
  }
}

/**
 * Where the store is and which version answered.
 */
export function StoreInfo(props: { status: IServerStatus }): JSX.Element {
  const { status } = props;
  return (
    <dl className="jp-Lineage-facts">
      <dt>Store</dt>
      <dd>
        <code className="jp-Lineage-storeDir" title={status.store_dir}>
          {status.store_dir}
        </code>
        {status.store_exists ? null : (
          <span className="jp-Lineage-muted"> (not created yet)</span>
        )}
      </dd>
      <dt>Version</dt>
      <dd className="jp-Lineage-version">jupyter-lineage {status.version}</dd>
    </dl>
  );
}

function ServerProblem(props: {
  title: string;
  detail: string | null;
}): JSX.Element {
  return (
    <div className="jp-Lineage-problem" role="alert">
      <h3 className="jp-Lineage-subtitle">{props.title}</h3>
      {props.detail ? (
        <p className="jp-Lineage-errorDetail">{props.detail}</p>
      ) : null}
      <p>
        The sidebar needs the <code>jupyter_lineage</code> server extension.
        Enable it, then restart JupyterLab:
      </p>
      <pre className="jp-Lineage-code">{ENABLE_COMMAND}</pre>
    </div>
  );
}
