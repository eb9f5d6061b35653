/**
 * Public identifiers and data shapes of the jupyter-lineage frontend.
 *
 * Everything the server returns is described here, so widgets and the
 * `api` module agree on one typed shape per endpoint.
 */

/**
 * Id of the main plugin; also the id of its settings (schema/plugin.json).
 */
export const PLUGIN_ID = 'jupyter-lineage:plugin';

/**
 * Id of the sidebar panel in the shell's left area.
 */
export const SIDEBAR_ID = 'jupyter-lineage:sidebar';

/**
 * Command ids, all under the `jupyter-lineage:` namespace.
 */
export namespace CommandIDs {
  /**
   * Reveal and activate the Lineage sidebar panel.
   */
  export const open = 'jupyter-lineage:open';
}

/**
 * Answer of `GET lineage/api/status[?path=<notebook path>]`.
 */
export interface IServerStatus {
  /**
   * Version of the installed `jupyter_lineage` Python package.
   */
  version: string;
  /**
   * Absolute path of the lineage store on the server: `JUPYTER_LINEAGE_DIR`
   * when set, else `.lineage/` beside the notebook (or in the server root).
   */
  store_dir: string;
  /**
   * Whether the store directory exists yet (it is created on first capture).
   */
  store_exists: boolean;
}

/**
 * The user settings of the Lineage sidebar (see schema/plugin.json).
 */
export interface ILineageSettings {
  /**
   * Seconds between refreshes while the panel is visible; 0 turns polling off.
   */
  refreshInterval: number;
}

/**
 * What the sidebar knows about the server, as a tagged union.
 *
 * - `loading`: the first answer has not arrived yet.
 * - `ready`: the server extension answered.
 * - `unavailable`: the server extension is not installed or not enabled
 *   (the route answered 404), or the server could not be reached.
 * - `error`: the server extension answered with an error.
 */
export type StatusState =
  | { kind: 'loading' }
  | { kind: 'ready'; status: IServerStatus }
  | { kind: 'unavailable'; message: string }
  | { kind: 'error'; message: string; httpStatus: number };
