/**
 * jupyter-lineage: the Lineage sidebar of JupyterLab.
 *
 * One plugin puts a panel in the left area that follows the active notebook,
 * adds the `jupyter-lineage:open` command to the palette and reads its
 * settings from schema/plugin.json.
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { lineageIcon } from './icons';
import { LineageModel } from './model';
import { CommandIDs, ILineageSettings, PLUGIN_ID, SIDEBAR_ID } from './tokens';
import { LineagePanel } from './widgets/LineagePanel';

/**
 * Rank in the left area: after the file browser, running sessions and
 * table of contents, before the extension manager.
 */
const SIDEBAR_RANK = 600;

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Lineage sidebar: captured runs of the active notebook.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ILayoutRestorer, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null
  ) => {
    const model = new LineageModel(app.serviceManager.serverSettings);
    const panel = new LineagePanel(model);
    app.shell.add(panel, 'left', { rank: SIDEBAR_RANK });
    if (restorer) {
      restorer.add(panel, SIDEBAR_ID);
    }

    followActiveNotebook(tracker, model);

    app.commands.addCommand(CommandIDs.open, {
      label: 'Open Lineage panel',
      caption: 'Show the lineage of the active notebook',
      icon: lineageIcon,
      execute: () => {
        app.shell.activateById(panel.id);
      }
    });
    if (palette) {
      palette.addItem({ command: CommandIDs.open, category: 'Lineage' });
    }

    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const apply = () => {
            const composite =
              settings.composite as unknown as Partial<ILineageSettings>;
            panel.refreshInterval = composite.refreshInterval ?? 30;
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
