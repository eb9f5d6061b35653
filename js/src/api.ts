/**
 * The only module that talks to the server: one `requestAPI` helper and one
 * typed function per endpoint of the `jupyter_lineage` server extension.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type {
  GraphDirection,
  IExecutionDetail,
  IExecutionsPage,
  IAnnotation,
  ILineageGraph,
  IModelsAnswer,
  INewAnnotation,
  IRunFilters,
  IServerStatus,
  IStaleReport
} from './tokens';

/**
 * URL namespace of the server extension's REST API, below the base URL.
 */
export const API_NAMESPACE = 'lineage/api';

/**
 * A failed request to the lineage API.
 *
 * `status` is the HTTP status code, or 0 when no answer arrived at all.
 * `message` is the server's JSON `message` when it sent one.
 */
export class LineageAPIError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
    this.name = 'LineageAPIError';
  }

  /**
   * True when the server extension is missing (404) or the server is unreachable.
   */
  get isUnavailable(): boolean {
    return this.status === 0 || this.status === 404;
  }
}

/**
 * Call an endpoint of the lineage API and return its answer.
 *
 * @param endPoint Path below `lineage/api/`, with an optional query string.
 * @param init Fetch options (method, body, headers).
 * @param settings Server connection settings; the page's defaults if omitted.
 * @returns The decoded JSON body, or the text of a non-JSON answer (the
 *   model card's HTML).
 * @throws {LineageAPIError} On a network failure or a non-2xx answer.
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new LineageAPIError(
      `Could not reach the Jupyter server: ${String(error)}`,
      0
    );
  }

  const text = await response.text();
  const contentType = response.headers.get('Content-Type') ?? '';
  if (response.ok && contentType.startsWith('text/')) {
    return text as T;
  }
  let data: any = undefined;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      // Not JSON, e.g. the server's HTML 404 page when the extension is off.
      data = undefined;
    }
  }

  if (!response.ok) {
    const message =
      data && typeof data.message === 'string'
        ? data.message
        : `${response.status} ${response.statusText}`.trim();
    throw new LineageAPIError(message, response.status);
  }
  return data as T;
}

/**
 * `GET lineage/api/status`: version and store location.
 *
 * @param notebookPath Notebook path relative to the server root; the store
 *   beside it is described. `null` describes the store of the server root.
 */
export function fetchStatus(
  notebookPath: string | null,
  settings?: ServerConnection.ISettings
): Promise<IServerStatus> {
  return requestAPI<IServerStatus>(
    'status' + query({ path: notebookPath }),
    { method: 'GET' },
    settings
  );
}

/**
 * A query string of the given arguments, leaving out the empty ones.
 */
function query(
  args: Record<string, string | number | null | undefined>
): string {
  const present: Record<string, string> = {};
  for (const [key, value] of Object.entries(args)) {
    if (value !== null && value !== undefined && value !== '') {
      present[key] = String(value);
    }
  }
  return URLExt.objectToQueryString(present);
}

/**
 * `GET lineage/api/executions`: a page of a notebook's captured executions,
 * newest first.
 *
 * @param before An execution id: the page of those that started before it.
 */
export function fetchExecutions(
  notebookPath: string,
  filters: IRunFilters,
  limit: number,
  before: string | null = null,
  settings?: ServerConnection.ISettings
): Promise<IExecutionsPage> {
  return requestAPI<IExecutionsPage>(
    'executions' +
      query({
        path: notebookPath,
        status: filters.status,
        tag: filters.tag,
        author: filters.author,
        limit,
        before
      }),
    { method: 'GET' },
    settings
  );
}

/**
 * `GET lineage/api/executions/<id>`: one execution in full.
 */
export function fetchExecution(
  notebookPath: string,
  executionId: string,
  settings?: ServerConnection.ISettings
): Promise<IExecutionDetail> {
  return requestAPI<IExecutionDetail>(
    `executions/${encodeURIComponent(executionId)}` +
      query({ path: notebookPath }),
    { method: 'GET' },
    settings
  );
}

/**
 * `POST lineage/api/annotations`: record an annotation; returns it as stored.
 */
export async function postAnnotation(
  notebookPath: string,
  annotation: INewAnnotation,
  settings?: ServerConnection.ISettings
): Promise<IAnnotation> {
  const answer = await requestAPI<{ annotation: IAnnotation }>(
    'annotations' + query({ path: notebookPath }),
    { method: 'POST', body: JSON.stringify(annotation) },
    settings
  );
  return answer.annotation;
}

/**
 * `GET lineage/api/graph`: the lineage figure around a node.
 *
 * @param node An execution id, a node id, `var:NAME`, `file:PATH` or `model:NAME`.
 * @param depth Edges away from the node; `null` for no limit.
 * @param transient Draw values no other run read too.
 */
export function fetchGraph(
  notebookPath: string,
  node: string,
  direction: GraphDirection,
  depth: number | null,
  settings?: ServerConnection.ISettings,
  transient = false
): Promise<ILineageGraph> {
  return requestAPI<ILineageGraph>(
    'graph' +
      query({
        path: notebookPath,
        node,
        direction,
        depth,
        transient: transient ? 1 : null
      }),
    { method: 'GET' },
    settings
  );
}

/**
 * `GET lineage/api/models`: the models a card can be made for.
 */
export function fetchModels(
  notebookPath: string,
  settings?: ServerConnection.ISettings
): Promise<IModelsAnswer> {
  return requestAPI<IModelsAnswer>(
    'models' + query({ path: notebookPath }),
    { method: 'GET' },
    settings
  );
}

/**
 * `GET lineage/api/models/<name>/card`: the model card as one HTML document.
 *
 * @param version A registered version; `null` for the latest.
 */
export function fetchModelCard(
  notebookPath: string,
  model: string,
  version: string | null,
  settings?: ServerConnection.ISettings
): Promise<string> {
  return requestAPI<string>(
    `models/${encodeURIComponent(model)}/card` +
      query({ path: notebookPath, version }),
    { method: 'GET' },
    settings
  );
}

/**
 * `GET lineage/api/stale`: which of the notebook's cells are out of date, and why.
 */
export function fetchStale(
  notebookPath: string,
  settings?: ServerConnection.ISettings
): Promise<IStaleReport> {
  return requestAPI<IStaleReport>(
    'stale' + query({ path: notebookPath }),
    { method: 'GET' },
    settings
  );
}
