import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNodeDevice } from '../../hal/node/index.ts';
import { QuickJsHost, QuickJsMemoryError } from '../../hal/quickjs/index.ts';
import { type Rig, api, newRig, sim, startFleetManager } from '../e2e/harness.ts';

const small = JSON.parse(await readFile(new URL('../../boards/quickjs-small.json', import.meta.url), 'utf8'));

let rig: Rig;
let host: QuickJsHost | undefined;
beforeEach(async () => {
  rig = await newRig();
});
afterEach(async () => {
  host?.dispose();
  host = undefined;
  await rig.cleanup();
});

async function device(id: string) {
  const node = await createNodeDevice({ workDir: join(rig.dir, `work-${id}`), board: sim, identity: { deviceId: id, model: 'sim' }, log: { level: 'error' } });
  rig.devices.push(node);
  return node;
}

describe('dist/agent.js inside QuickJS on a host-side Node HAL', () => {
  it('converges against the reference manager (pull model), within the quickjs-small memory budget', async () => {
    const server = await startFleetManager(rig, { deviceIds: ['qjs-1'] });
    host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
    const agent = await host.start(await device('qjs-1'), sim, { logLevel: 'error', delivery: { manager: server.url, download: { checkpointBytes: 64 * 1024 } } });
    expect(agent.boot).toMatchObject({ engine: 'js', fresh: true });
    const summary = await host.guarded(agent.pollOnce());
    expect([...summary.installed].sort()).toEqual(['base-config@1.0.0', 'diagnostics@0.9.0', 'telemetry@1.0.0', 'ui-fonts@2.3.0']);
    expect(summary.failed).toEqual([]);
    const history = await api<any[]>(server, 'GET', '/api/devices/qjs-1/status');
    expect(history.filter((s) => s.name === 'telemetry').map((s) => `${s.phase}:${s.outcome}`)).toEqual(['downloadBegin:success', 'downloadEnd:success', 'postInstallEnd:success']);
    expect(await readdir(join(rig.dir, 'work-qjs-1', 'staging'))).toEqual([]);
    const again = await host.guarded(agent.pollOnce());
    expect(again.kept).toBe(4);
    await host.guarded(agent.close());
    const memory = host.memory;
    console.log(`QuickJS pull-model cycle: guest heap peak ${(memory.peakBytes / 1024).toFixed(0)} KiB (budget ${memory.budgetBytes / 1024} KiB)`);
    expect(memory.peakBytes).toBeGreaterThan(0);
    expect(memory.peakBytes).toBeLessThanOrEqual(memory.budgetBytes);
  }, 60_000);

  it('fails the run with QuickJsMemoryError when the guest heap passes the budget', async () => {
    const server = await startFleetManager(rig, { deviceIds: ['qjs-2'] });
    host = await QuickJsHost.create({ budgetBytes: 600 * 1024 });
    const started = host.start(await device('qjs-2'), sim, { logLevel: 'error', delivery: { manager: server.url } }).then((agent) => host!.guarded(agent.pollOnce()));
    const error = await started.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(QuickJsMemoryError);
    expect((error as QuickJsMemoryError).usedBytes).toBeGreaterThan(600 * 1024);
    expect(host.memory.peakBytes).toBeGreaterThan(600 * 1024);
  }, 60_000);
});
