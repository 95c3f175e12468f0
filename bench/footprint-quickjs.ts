/**
 * `quickjs-heap` (KB): the peak guest heap (`memory_used_size`, read by the QuickJS host after
 * every job) over a pull-model convergence and a firmware update (check, download, install,
 * reboot, confirm, report), both inside QuickJS on a host-side Node HAL against the reference
 * servers on loopback. Peer `target`: 512 KB (the budget for the guest heap).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeDevice } from '../hal/node/index.ts';
import { QuickJsHost } from '../hal/quickjs/index.ts';
import { Users, startUpdateServer } from '../server/updates/index.ts';
import { newRig, sim, startFleetManager } from '../test/e2e/harness.ts';
import { ADMIN_TOKEN, usersJson, writeImageFolder } from '../test/server/updates-fixture.ts';

const BUDGET = JSON.parse(await readFile(new URL('../boards/quickjs-small.json', import.meta.url), 'utf8')).memoryBudgetBytes as number;

async function inQuickJs<T>(workDir: string, identity: Record<string, string>, config: unknown, body: (agent: Awaited<ReturnType<QuickJsHost['start']>>, host: QuickJsHost) => Promise<T>): Promise<{ peak: number; value: T }> {
  const device = await createNodeDevice({ workDir, board: sim, identity: identity as never, log: { level: 'error' }, location: 'inside', onReboot: () => {} });
  const host = await QuickJsHost.create({ budgetBytes: BUDGET });
  try {
    const agent = await host.start(device, sim, config);
    const value = await body(agent, host);
    await host.guarded(agent.close());
    return { peak: host.memory.peakBytes, value };
  } finally {
    host.dispose();
    await device.close();
  }
}

export async function benchQuickJsHeap(): Promise<{ name: string; value: number; peers: Record<string, number> }> {
  const rig = await newRig();
  const dir = await mkdtemp(join(tmpdir(), 'dm-bench-qjs-'));
  try {
    const manager = await startFleetManager(rig, { deviceIds: ['bench-qjs'], deviceAuth: 'off' });
    const pull = await inQuickJs(join(dir, 'pull'), { deviceId: 'bench-qjs' }, { logLevel: 'error', delivery: { manager: manager.url, allowInsecure: true, deviceAuth: false } }, (agent, host) => host.guarded(agent.pollOnce()));
    if (pull.value.failed.length > 0) throw new Error(`quickjs-heap: pull-model cycle failed: ${JSON.stringify(pull.value.failed)}`);

    const bytes = new Uint8Array(64 * 1024).map((_, i) => (i * 7 + 3) & 0xff);
    const { folder } = await writeImageFolder(dir, 'images', [{ model: 'CX600', version: '4.1.0', from: ['4.0.1'], bytes }]);
    const updates = await startUpdateServer({ adminToken: ADMIN_TOKEN, users: Users.parse(await usersJson()), internal: {}, importFolders: [folder] });
    try {
      updates.service.decide(updates.service.rules()[0]!.id, 'approved');
      const identity = { deviceId: 'bench-qjs-fw', model: 'CX600', hardwareId: 'hw-1', firmwareVersion: '4.0.1' };
      const config = { logLevel: 'error', firmware: { service: updates.service.serviceUrls(), allowInsecure: true, idleRebootMs: 0 } };
      const trigger = (agent: Awaited<ReturnType<QuickJsHost['start']>>, host: QuickJsHost) => host.guarded(agent.trigger('firmware', 'boot'));
      const install = await inQuickJs(join(dir, 'fw'), identity, config, trigger);
      const confirm = await inQuickJs(join(dir, 'fw'), identity, config, trigger);
      if (!updates.service.journal().some((e) => e.type === 'report')) throw new Error('quickjs-heap: the firmware update did not report');
      return { name: 'quickjs-heap', value: Math.max(pull.peak, install.peak, confirm.peak) / 1024, peers: { target: 512 } };
    } finally {
      await updates.close();
    }
  } finally {
    await rig.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}
