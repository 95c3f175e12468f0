/**
 * Signed metadata inside QuickJS: the guest has no WebAssembly and its HAL bridge offers no
 * native signature verifier, so the agent loads the JS verifier chunk (dist/agent-chunks/verify-js-*)
 * and the JS engines chunk, checks the manager's TUF metadata with them and installs exactly the
 * signed packages; a root whose signatures do not hold is refused at start.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signDemoRelease } from '../../cli/demo/trust.ts';
import { utf8Decode } from '../../agent/util/bytes.ts';
import { createNodeDevice } from '../../hal/node/index.ts';
import { QuickJsHost } from '../../hal/quickjs/index.ts';
import { type Rig, acceptOnAll, newRig, startFleetManager } from '../e2e/harness.ts';

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
  const node = await createNodeDevice({ workDir: join(rig.dir, `work-${id}`), board: small, identity: { deviceId: id, model: 'sim' }, log: { level: 'error' } });
  rig.devices.push(node);
  await acceptOnAll(rig, node);
  return node;
}

describe('signed metadata inside QuickJS (JS verifier chunk)', () => {
  it('verifies the manager\'s /metadata/ with the JS verifier and installs the signed packages', async () => {
    let root: Uint8Array | undefined;
    const server = await startFleetManager(rig, {
      deviceIds: ['qjs-trust-1'],
      metadata: async (fleet) => {
        const release = await signDemoRelease(join(rig.dir, 'release'), fleet, () => {});
        root = release.root;
        return release.metadataDir;
      },
    });
    host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
    const config = { logLevel: 'error', trust: { root: utf8Decode(root!) }, delivery: { manager: server.url, allowInsecure: true } };
    const agent = await host.start(await device('qjs-trust-1'), small, config);
    expect(agent.boot).toMatchObject({ engine: 'js', verifier: 'js' });
    const summary = await host.guarded(agent.pollOnce());
    expect(summary.failed).toEqual([]);
    expect([...summary.installed].sort()).toEqual(['base-config@1.0.0', 'diagnostics@0.9.0', 'telemetry@1.0.0', 'ui-fonts@2.3.0']);
    await host.guarded(agent.close());
    console.log(`QuickJS signed pull-model cycle: guest heap peak ${(host.memory.peakBytes / 1024).toFixed(0)} KiB`);

    const forged = JSON.parse(utf8Decode(root!));
    forged.signed.version = 9; // the signature no longer covers it
    host.dispose();
    host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
    const refused = await host.start(await device('qjs-trust-2'), small, { ...config, trust: { root: forged } }).then(() => undefined, (e: unknown) => e);
    expect(String(refused)).toMatch(/trust\.root: not a valid root: badSignature/);
  }, 90_000);
});
