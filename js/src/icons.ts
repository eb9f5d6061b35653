import { LabIcon } from '@jupyterlab/ui-components';

import lineageSvgstr from '../style/icons/lineage.svg';

/**
 * The Lineage icon: three runs feeding one result.
 */
export const lineageIcon = new LabIcon({
  name: 'jupyter-lineage:lineage',
  svgstr: lineageSvgstr
});
