/**
 * A phone for the QuickJS tests: a Node HAL device on the quickjs-small board (its flash image
 * under `workDir`, so a second boot on the same folder is the reboot) and a fresh QuickJS host.
 */
import { readFile } from 'node:fs/promises';
import { createNodeDevice, type NodeDevice } from '../../hal/node/index.ts';
import { QuickJsHost } from '../../hal/quickjs/index.ts';

export const small = JSON.parse(await readFile(new URL('../../boards/quickjs-small.json', import.meta.url), 'utf8'));

export async function bootPhone(workDir: string, identity: Record<string, string>, cleanups: (() => unknown)[]): Promise<{ phone: NodeDevice; host: QuickJsHost }> {
  const phone = await createNodeDevice({
    workDir,
    board: small,
    identity: identity as never,
    log: { level: 'error' },
    location: 'inside',
    onReboot: () => {}, // the test plays the reboot
  });
  const host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
  cleanups.push(() => phone.close(), () => host.dispose());
  return { phone, host };
}
