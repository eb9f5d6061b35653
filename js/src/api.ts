/**
 * The only module that talks to the server: one `requestAPI` helper and one
 * typed function per endpoint of the `jupyter_lineage` server extension.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { IServerStatus } from './tokens';

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
 * Call an endpoint of the lineage API and return its JSON answer.
 *
 * @param endPoint Path below `lineage/api/`, with an optional query string.
 * @param init Fetch options (method, body, headers).
 * @param settings Server connection settings; the page's defaults if omitted.
 * @returns The decoded JSON body.
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
  const query = notebookPath
    ? URLExt.objectToQueryString({ path: notebookPath })
    : '';
  return requestAPI<IServerStatus>(
    `status${query}`,
    { method: 'GET' },
    settings
  );
}
