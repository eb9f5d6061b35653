/**
 * jupyter-lineage: the Lineage sidebar of JupyterLab.
 *
 * One plugin puts a panel in the left area that follows the active notebook
 * (refreshing after each of its cells runs), adds `jupyter-lineage:*`
 * commands to the palette and reads its settings from schema/plugin.json.
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget } from '@jupyterlab/apputils';
import {
  INotebookTracker,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { trackStaleness } from './cellMarks';
import { lineageIcon } from './icons';
import { LineageModel } from './model';
import { CommandIDs, ILineageSettings, PLUGIN_ID, SIDEBAR_ID } from './tokens';
import { nodeLabel } from './widgets/GraphSvg';
import { GraphTab } from './widgets/GraphView';
import { LineagePanel } from './widgets/LineagePanel';

/**
 * Rank in the left area: after the file browser, running sessions and
 * table of contents, before the extension manager.
 */
const SIDEBAR_RANK = 600;

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Lineage sidebar: captured runs of the active notebook, annotations, graph and model cards.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [
    ICommandPalette,
    ILayoutRestorer,
    ISettingRegistry,
    IRenderMimeRegistry
  ],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    rendermime: IRenderMimeRegistry | null
  ) => {
    const model = new LineageModel(app.serviceManager.serverSettings);
    const panel = new LineagePanel({
      model,
      rendermime,
      openGraphInTab: () => void app.commands.execute(CommandIDs.openGraph)
    });
    app.shell.add(panel, 'left', { rank: SIDEBAR_RANK });
    if (restorer) {
      restorer.add(panel, SIDEBAR_ID);
    }

    followActiveNotebook(tracker, model);
    // Out-of-date cells: marked in each open notebook, listed in the sidebar.
    trackStaleness(tracker, staleness => (model.staleness = staleness), {
      serverSettings: app.serviceManager.serverSettings,
      activate: notebook => app.shell.activateById(notebook.id)
    });
    // Runs of the followed notebook show up without a reload.
    NotebookActions.executed.connect((_, { notebook }) => {
      if (tracker.currentWidget?.content === notebook) {
        panel.cellExecuted();
      }
    });

    app.commands.addCommand(CommandIDs.open, {
      label: 'Open Lineage panel',
      caption: 'Show the lineage of the active notebook',
      icon: lineageIcon,
      execute: () => {
        app.shell.activateById(panel.id);
      }
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh Lineage panel',
      caption: 'Ask the server again for the active notebook’s runs',
      execute: () => model.refresh()
    });
    app.commands.addCommand(CommandIDs.showModels, {
      label: 'Show models and model cards',
      caption: 'Open the Models view of the Lineage panel',
      execute: () => {
        model.view = 'models';
        app.shell.activateById(panel.id);
      }
    });
    app.commands.addCommand(CommandIDs.openGraph, {
      label: 'Open lineage graph in a tab',
      caption: 'Show the graph of the selected run in the main area',
      isEnabled: () => model.graph.kind === 'ready',
      execute: () => {
        const graph = model.graph;
        if (graph.kind !== 'ready') {
          return;
        }
        const content = new GraphTab(graph.value, rendermime);
        const widget = new MainAreaWidget({ content });
        const start = graph.value.nodes.find(
          n => n.node_id === graph.value.start[0]
        );
        widget.title.label = `Lineage: ${start ? nodeLabel(start) : graph.value.node.slice(0, 24)}`;
        widget.title.caption = `Lineage graph of ${graph.value.node}`;
        widget.title.icon = lineageIcon;
        app.shell.add(widget, 'main');
      }
    });
    if (palette) {
      for (const command of [
        CommandIDs.open,
        CommandIDs.refresh,
        CommandIDs.showModels,
        CommandIDs.openGraph
      ]) {
        palette.addItem({ command, category: 'Lineage' });
      }
    }

    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const apply = () => {
            const composite =
              settings.composite as unknown as Partial<ILineageSettings>;
            panel.refreshInterval = composite.refreshInterval ?? 30;
            model.pageSize = composite.pageSize ?? 50;
            model.graphDepth = composite.graphDepth ?? 3;
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch(reason => {
          console.error('jupyter-lineage: could not load settings.', reason);
        });
    }
  }
};

/**
 * Keep `model.notebookPath` equal to the path of the active notebook,
 * including when that notebook is renamed or moved.
 */
function followActiveNotebook(
  tracker: INotebookTracker,
  model: LineageModel
): void {
  let followed: NotebookPanel | null = null;
  const onPathChanged = (_: unknown, path: string) => {
    model.notebookPath = path;
  };
  const follow = (notebook: NotebookPanel | null) => {
    if (followed) {
      followed.context.pathChanged.disconnect(onPathChanged);
    }
    followed = notebook;
    if (notebook) {
      notebook.context.pathChanged.connect(onPathChanged);
    }
    model.notebookPath = notebook ? notebook.context.path : null;
  };
  tracker.currentChanged.connect((_, notebook) => follow(notebook));
  follow(tracker.currentWidget);
}

export default plugin;
