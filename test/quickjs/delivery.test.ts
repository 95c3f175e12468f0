import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNodeDevice } from '../../hal/node/index.ts';
import { QuickJsHost, QuickJsMemoryError } from '../../hal/quickjs/index.ts';
import { type Rig, acceptOnAll, api, newRig, startFleetManager } from '../e2e/harness.ts';
import { SyncmlError, loadEngines } from '../../wasm/index.ts';
import { createNodeWasmHost } from '../../wasm/node-host.ts';
import { utf8Decode, utf8Encode } from '../../agent/util/bytes.ts';
import { signDemoRelease } from '../../cli/demo/trust.ts';

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
  // The key is made host-side (the keystore lives in the HAL); the admin accepts it on the rig's managers.
  await acceptOnAll(rig, node);
  return node;
}

describe('dist/agent.js inside QuickJS on a host-side Node HAL', () => {
  it('converges against the reference manager (pull model), within the quickjs-small memory budget', async () => {
    const server = await startFleetManager(rig, { deviceIds: ['qjs-1'] });
    host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
    const agent = await host.start(await device('qjs-1'), small, { logLevel: 'error', trust: { allowUnsigned: true }, delivery: { manager: server.url, allowInsecure: true, download: { checkpointBytes: 64 * 1024 } } });
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
    host = await QuickJsHost.create({ budgetBytes: 400 * 1024 });
    const started = host.start(await device('qjs-2'), small, { logLevel: 'error', trust: { allowUnsigned: true }, delivery: { manager: server.url, allowInsecure: true } }).then((agent) => host!.guarded(agent.pollOnce()));
    const error = await started.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(QuickJsMemoryError);
    expect((error as QuickJsMemoryError).usedBytes).toBeGreaterThan(400 * 1024);
    expect(host.memory.peakBytes).toBeGreaterThan(400 * 1024);
  }, 60_000);

  it('runs on the host WASM engines offered through the bridge (the guest has no WebAssembly)', async () => {
    const engines = await loadEngines({ wasm: createNodeWasmHost(), engine: 'wasm' });
    host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
    // The engines as the guest sees them, handed back: results, typed arrays and typed errors cross.
    const bridged = host.mirror(engines);
    expect(bridged.kind).toBe('wasm');
    const bytes = utf8Encode('abc'.repeat(1000));
    expect(bridged.hash('sha256', bytes)).toEqual(engines.hash('sha256', bytes));
    const streaming = bridged.createHash('md5');
    streaming.update(bytes.subarray(0, 100));
    streaming.update(bytes.subarray(100));
    expect(streaming.digest()).toEqual(engines.hash('md5', bytes));
    const xml = utf8Encode('<SyncML xmlns="SYNCML:SYNCML1.2"><Final/></SyncML>');
    const tokens = bridged.syncmlTokenize(xml);
    const local = engines.syncmlTokenize(xml);
    expect(tokens.tokens.constructor).toBe(local.tokens.constructor); // a typed array keeps its type
    expect(tokens.tokens).toEqual(local.tokens);
    expect(() => bridged.syncmlTokenize(utf8Encode('<SyncML>a & b</SyncML>'), { strict: true })).toThrow(SyncmlError);

    const server = await startFleetManager(rig, { deviceIds: ['qjs-3'] });
    const agent = await host.start(await device('qjs-3'), small, { logLevel: 'error', trust: { allowUnsigned: true }, delivery: { manager: server.url, allowInsecure: true } }, engines);
    expect(agent.boot.engine).toBe('wasm');
    const summary = await host.guarded(agent.pollOnce());
    expect(summary.installed).toHaveLength(4);
    expect(summary.failed).toEqual([]);
    await host.guarded(agent.close());
  }, 120_000);

  it('signed metadata: the guest (no WebAssembly, no native verifier) loads the JS verifier and engines chunks, verifies the manager\'s /metadata/ and installs the signed packages; a forged root is refused at start', async () => {
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
