/**
 * Public identifiers and data shapes of the jupyter-lineage frontend.
 *
 * Everything the server returns is described here, so widgets and the
 * `api` module agree on one typed shape per endpoint. Times are ISO 8601
 * strings with an offset; missing values are `null`.
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
  /**
   * Ask the server again for the active notebook's runs.
   */
  export const refresh = 'jupyter-lineage:refresh';
  /**
   * Show the Models view of the sidebar (registered models and their cards).
   */
  export const showModels = 'jupyter-lineage:show-models';
  /**
   * Open the graph shown in the sidebar in a main-area tab.
   */
  export const openGraph = 'jupyter-lineage:open-graph';
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
 * Status of a captured execution, as the `runs` view has it.
 */
export type RunStatus = 'ok' | 'failed' | 'interrupted' | 'incomplete';

export const RUN_STATUSES: readonly RunStatus[] = [
  'ok',
  'failed',
  'interrupted',
  'incomplete'
];

/**
 * One entry of a notebook's timeline (`GET lineage/api/executions`).
 */
export interface IExecutionSummary {
  execution_id: string;
  session_id: string;
  cell_id: string | null;
  execution_count: number | null;
  name: string | null;
  tags: string[] | null;
  model: string | null;
  status: RunStatus;
  started_at: string;
  ended_at: string | null;
  duration_ms: number | null;
  error_type: string | null;
  error_message: string | null;
  experiment_id: string | null;
  mode: 'magic' | 'auto' | null;
  /**
   * Who ran it: the author of its kernel session (`JUPYTER_LINEAGE_AUTHOR`,
   * git's user.email, user@host), or the OS user for older sessions.
   */
  author: string | null;
  /**
   * The first line of the cell's source, at most 200 characters.
   */
  first_line: string;
  /**
   * How many current annotations are linked to this execution.
   */
  annotation_count: number;
}

/**
 * Answer of `GET lineage/api/executions?path=...`: one page, newest first.
 */
export interface IExecutionsPage {
  notebook_path: string;
  /**
   * The absolute paths kernels record for this notebook.
   */
  recorded_paths: string[];
  /**
   * The notebook's name on every machine: `git:<path in its repository>`, or
   * `root:<path below the server root>` outside one; `null` when it has none.
   * Runs recorded under it are the notebook's too, whoever ran them where.
   */
  notebook_key: string | null;
  store_dir: string;
  store_exists: boolean;
  executions: IExecutionSummary[];
  /**
   * Pass as `before` to get the next (older) page; `null` on the last page.
   */
  next_before: string | null;
  /**
   * Counts over the whole notebook, whatever the filters.
   */
  total: number;
  failed: number;
  last_started_at: string | null;
  /**
   * Every tag used in the notebook, for the filter.
   */
  tags: string[];
  /**
   * Everyone who ran the notebook, for the filter.
   */
  authors: string[];
  /**
   * The kernel sessions the page's runs ran in, newest first (absent from older servers).
   */
  sessions?: IKernelSession[];
}

/**
 * Filters of the timeline; `null` means all.
 */
export interface IRunFilters {
  status: RunStatus | null;
  tag: string | null;
  author: string | null;
}

/**
 * A `runs` row: one captured execution in full.
 */
export interface IRun extends Omit<
  IExecutionSummary,
  'first_line' | 'annotation_count'
> {
  notebook_path: string | null;
  notebook_key: string | null;
  base_model: string | null;
  note: string | null;
  source: string;
  source_hash: string;
  traceback: string | null;
  environment_id: string | null;
  /**
   * JSON list of seed-setting calls.
   */
  seeds: string | null;
  capture_errors: string[] | null;
}

/**
 * A value an execution read (`cell_inputs`) or wrote (`cell_outputs`).
 */
export interface IValueRecord {
  name: string;
  /**
   * Outputs only: `assigned`, `mutated` or `deleted`.
   */
  action?: string | null;
  type_name: string | null;
  fingerprint: string | null;
  fingerprint_kind: string | null;
  shape: string | null;
  length: number | null;
  summary: string | null;
  note: string | null;
}

/**
 * A file an execution opened (`files` view).
 */
export interface IFileRecord {
  path: string;
  access: 'read' | 'write' | 'readwrite';
  size: number | null;
  sha256: string | null;
  note: string | null;
}

/**
 * The environment an execution ran in, without its package list.
 */
export interface IEnvironmentSummary {
  environment_id: string;
  captured_at: string | null;
  python_version: string | null;
  python_implementation: string | null;
  python_executable: string | null;
  platform: string | null;
  os_name: string | null;
  os_release: string | null;
  machine: string | null;
  hostname: string | null;
  cpu_model: string | null;
  cpu_count: number | null;
  ram_bytes: number | null;
  git_commit: string | null;
  git_branch: string | null;
  git_dirty: boolean | null;
  git_diff_sha256: string | null;
  git_remote: string | null;
  package_count: number | null;
}

export interface IMetric {
  name: string;
  value: number;
  step: number | null;
  logged_at: string;
}

export interface IParam {
  name: string;
  /**
   * The value as JSON text.
   */
  value: string;
  logged_at: string;
}

/**
 * Kinds of annotation, and what each is for (as `jupyter_lineage.annotations`).
 */
export const ANNOTATION_KINDS = {
  note: 'anything else',
  rationale: 'why something was built this way',
  hypothesis: 'what a run or experiment tests',
  alternative: 'an option considered and not taken, and why',
  decision: 'a choice that was made',
  failed_attempt: 'why an attempt failed and what was learned',
  review: 'a human judgement or intervention'
} as const;

export type AnnotationKind = keyof typeof ANNOTATION_KINDS;

export interface IAnnotationTarget {
  type: 'execution' | 'value' | 'file' | 'model' | 'experiment';
  target: string;
  fingerprint: string | null;
  sha256: string | null;
}

/**
 * The current revision of an annotation (`annotations` view).
 */
export interface IAnnotation {
  annotation_id: string;
  thread_id: string;
  revises: string | null;
  revision: number;
  kind: AnnotationKind;
  /**
   * Markdown.
   */
  text: string;
  author: string;
  created_at: string;
  experiment_id: string | null;
  question: string | null;
  template: string | null;
  session_id: string;
  targets: IAnnotationTarget[];
}

/**
 * Answer of `GET lineage/api/executions/<id>`.
 */
export interface IExecutionDetail {
  execution: IRun;
  inputs: IValueRecord[];
  outputs: IValueRecord[];
  files: IFileRecord[];
  environment: IEnvironmentSummary | null;
  metrics: IMetric[];
  params: IParam[];
  annotations: IAnnotation[];
}

/**
 * Body of `POST lineage/api/annotations`.
 */
export interface INewAnnotation {
  kind: AnnotationKind;
  text: string;
  targets: { type: 'execution'; ref: string }[];
  /**
   * The annotation this one replaces, as a new revision.
   */
  revises?: string;
}

export type GraphDirection = 'upstream' | 'downstream' | 'both';

export type GraphNodeKind =
  'execution' | 'value' | 'file' | 'model' | 'review' | 'environment' | 'code';

/**
 * A package whose version changed between two kernel sessions; `null` where it was not
 * installed.
 */
export interface IPackageChange {
  name: string;
  before: string | null;
  after: string | null;
}

/**
 * A kernel session of the notebook, as the timeline heads its runs.
 */
export interface IKernelSession {
  session_id: string;
  /**
   * 1 for the notebook's first session.
   */
  number: number;
  started_at: string;
  runs: number;
  failed: number;
  hostname: string | null;
  python_version: string | null;
  ipython_version: string | null;
  previous_session: string | null;
  /**
   * Against the previous session; `null` for the first one, or when unknown.
   */
  environment_changed: boolean | null;
  previous_python_version: string | null;
  previous_git_commit: string | null;
  git_commit: string | null;
  package_change_count: number;
  package_changes: IPackageChange[];
}

/**
 * A node of the lineage graph (`lineage_nodes`), as the sidebar draws it.
 */
export interface IGraphNode {
  node_id: string;
  kind: GraphNodeKind;
  name: string | null;
  version: string | null;
  status: string | null;
  type_name: string | null;
  shape: string | null;
  path: string | null;
  execution_id: string | null;
  execution_count: number | null;
  error_type: string | null;
  created_at: string | null;
  /**
   * The label the figure draws (a merged node's count included).
   */
  label?: string;
  /**
   * How many identical runs the node stands for.
   */
  count?: number;
  /**
   * Whether the request named this node.
   */
  target?: boolean;
  /**
   * A value no other run read (drawn only when asked for).
   */
  transient?: boolean;
  /**
   * Where the server's layered layout put it: layer (left to right) and row (top down).
   */
  layer?: number;
  row?: number;
}

/**
 * An edge of the lineage graph; it points downstream.
 */
export interface IGraphEdge {
  src: string;
  dst: string;
  kind: 'used' | 'generated' | 'derived_from' | 'ran_in' | 'reviewed';
  /**
   * Bend points (layer, row) of an edge spanning several layers.
   */
  route?: [number, number][];
}

/**
 * Answer of `GET lineage/api/graph`.
 */
export interface ILineageGraph {
  node: string;
  /**
   * The node ids the request named.
   */
  start: string[];
  direction: GraphDirection;
  depth: number | null;
  /**
   * The plotly figure (`data`, `layout`) the notebook's `%lineage_graph` draws.
   */
  figure: { data: any[]; layout: Record<string, any> };
  nodes: IGraphNode[];
  edges: IGraphEdge[];
  /**
   * Whether transient values were asked for.
   */
  transient?: boolean;
  /**
   * How many transient values were left out.
   */
  hidden?: number;
}

/**
 * What the graph view was asked to draw.
 */
export interface IGraphRequest {
  node: string;
  direction: GraphDirection;
  depth: number | null;
  /**
   * Draw transient values too (values no other run read).
   */
  transient?: boolean;
}

export interface IModelVersionSummary {
  version: string;
  state: string;
  created_at: string;
}

/**
 * A model a card can be made for (`GET lineage/api/models`).
 */
export interface IModelSummary {
  name: string;
  /**
   * False for `--model` names of captured cells that were never registered.
   */
  registered: boolean;
  versions: IModelVersionSummary[];
  group_name?: string;
  description?: string | null;
  owners?: string[] | null;
  risk_tier?: string | null;
  tags?: string[] | null;
  retired?: boolean;
  version_count?: number;
  run_count?: number;
  last_run_at?: string | null;
}

export interface IModelsAnswer {
  models: IModelSummary[];
  /**
   * Whether this installation can render model cards.
   */
  cards: boolean;
}

/**
 * The user settings of the Lineage sidebar (see schema/plugin.json).
 */
export interface ILineageSettings {
  /**
   * Seconds between refreshes while the panel is visible; 0 turns polling off.
   */
  refreshInterval: number;
  /**
   * Executions fetched per page of the timeline.
   */
  pageSize: number;
  /**
   * How many edges away from the selected execution the graph reaches; 0 for all.
   */
  graphDepth: number;
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

/**
 * Something fetched on demand: not asked for, on its way, there, or failed.
 */
export type Loadable<T> =
  | { kind: 'idle' }
  | { kind: 'loading'; previous: T | null }
  | { kind: 'ready'; value: T }
  | { kind: 'error'; message: string; httpStatus: number };

/**
 * Where a cell's latest run stands (`GET lineage/api/stale`): `stale` when a
 * file it read, its code or something upstream changed; `environment` when
 * only package versions moved; `failed` or `unknown` (never captured).
 */
export type StaleState =
  'fresh' | 'stale' | 'environment' | 'failed' | 'unknown';

/**
 * One reason a run is out of date: `kind` is `file`, `source`, `upstream`,
 * `environment`, `status` or `record`; `subject` the file, cell or packages.
 */
export interface IStaleReason {
  kind: string;
  subject: string;
  text: string;
}

/**
 * A code cell of the notebook on disk and its latest recorded run.
 */
export interface IStaleCell {
  cell_id: string | null;
  index: number | null;
  name: string | null;
  execution_count: number | null;
  execution_id: string | null;
  started_at: string | null;
  state: StaleState;
  stale: boolean;
  /**
   * `load (In [3], cell 1a2b3c4d)`.
   */
  label: string;
  reasons: IStaleReason[];
  /**
   * Ids of the cells this run depends on.
   */
  upstream: string[];
}

export interface IStaleVersion {
  model: string;
  version: string;
  execution_id: string;
  cell: string | null;
  state: StaleState;
  stale: boolean;
  reasons: IStaleReason[];
}

/**
 * Answer of `GET lineage/api/stale?path=...`.
 */
export interface IStaleReport {
  notebook: string;
  code_from: string;
  counts: Record<StaleState, number>;
  cells: IStaleCell[];
  versions: IStaleVersion[];
  notes: string[];
}
