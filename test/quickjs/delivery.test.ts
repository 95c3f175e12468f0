import { generateKeyPairSync, sign } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNodeDevice } from '../../hal/node/index.ts';
import { QuickJsHost, QuickJsMemoryError } from '../../hal/quickjs/index.ts';
import { guestView } from '../../hal/quickjs/host.ts';
import { InvalidOptionsError } from '../../hal/errors.ts';
import { type Rig, acceptOnAll, api, newRig, startFleetManager } from '../e2e/harness.ts';
import { SyncmlError, loadEngines } from '../../wasm/index.ts';
import { createNodeWasmHost } from '../../wasm/node-host.ts';
import { utf8Decode, utf8Encode } from '../../agent/util/bytes.ts';
import { signDemoRelease } from '../../cli/demo/trust.ts';

const small = JSON.parse(await readFile(new URL('../../boards/quickjs-small.json', import.meta.url), 'utf8'));

/** The lazily loaded chunks of the JS engines and the JS signature verifier (dist/agent-chunks/). */
const ENGINES_JS = /\/engines-js-\w+\.js$/;
const VERIFY_JS = /\/verify-js-\w+\.js$/;

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
  it('converges against the reference manager (pull model), within the quickjs-small memory budget, on the engines the board declares (no JS engines chunk)', async () => {
    const server = await startFleetManager(rig, { deviceIds: ['qjs-1'] });
    host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
    const agent = await host.start(await device('qjs-1'), small, { logLevel: 'error', trust: { allowUnsigned: true }, delivery: { manager: server.url, allowInsecure: true, download: { checkpointBytes: 64 * 1024 } } });
    expect(agent.boot).toMatchObject({ fresh: true });
    expect(agent.boot.engine).not.toBe('js');
    const summary = await host.guarded(agent.pollOnce());
    expect([...summary.installed].sort()).toEqual(['base-config@1.0.0', 'diagnostics@0.9.0', 'telemetry@1.0.0', 'ui-fonts@2.3.0']);
    expect(summary.failed).toEqual([]);
    const history = await api<any[]>(server, 'GET', '/api/devices/qjs-1/status');
    expect(history.filter((s) => s.name === 'telemetry').map((s) => `${s.phase}:${s.outcome}`)).toEqual(['downloadBegin:success', 'downloadEnd:success', 'postInstallEnd:success']);
    expect(await readdir(join(rig.dir, 'work-qjs-1', 'staging'))).toEqual([]);
    const again = await host.guarded(agent.pollOnce());
    expect(again.kept).toBe(4);
    await host.guarded(agent.close());
    expect(host.loadedModules.filter((name) => ENGINES_JS.test(name) || VERIFY_JS.test(name))).toEqual([]);
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
    const agent = await host.start(await device('qjs-3'), small, { logLevel: 'error', trust: { allowUnsigned: true }, delivery: { manager: server.url, allowInsecure: true } }, { engines });
    expect(agent.boot.engine).toBe('wasm');
    const summary = await host.guarded(agent.pollOnce());
    expect(summary.installed).toHaveLength(4);
    expect(summary.failed).toEqual([]);
    await host.guarded(agent.close());
  }, 120_000);

  it.each([
    ['the guest (no WebAssembly, no native verifier) loads the JS verifier and engines chunks', { engines: false, signatures: false } as const, 'js', true],
    ["the guest verifies with the board's native verifier (the device's, through the bridge) and hashes on its engines: neither JS chunk loads", undefined, 'native', false],
  ] as const)('signed metadata: %s, verifies the manager\'s /metadata/ and installs the signed packages; a forged root is refused at start', async (_, offer, verifier, jsChunks) => {
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
    const agent = await host.start(await device('qjs-trust-1'), small, config, offer);
    expect(agent.boot.verifier).toBe(verifier);
    expect(agent.boot.engine === 'js').toBe(jsChunks);
    const summary = await host.guarded(agent.pollOnce());
    expect(summary.failed).toEqual([]);
    expect([...summary.installed].sort()).toEqual(['base-config@1.0.0', 'diagnostics@0.9.0', 'telemetry@1.0.0', 'ui-fonts@2.3.0']);
    await host.guarded(agent.close());
    expect(host.loadedModules.some((name) => VERIFY_JS.test(name))).toBe(jsChunks);
    expect(host.loadedModules.some((name) => ENGINES_JS.test(name))).toBe(jsChunks);
    console.log(`QuickJS signed pull-model cycle (${verifier} verifier): guest heap peak ${(host.memory.peakBytes / 1024).toFixed(0)} KiB`);

    const forged = JSON.parse(utf8Decode(root!));
    forged.signed.version = 9; // the signature no longer covers it
    host.dispose();
    host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
    const refused = await host.start(await device('qjs-trust-2'), small, { ...config, trust: { root: forged } }, offer).then(() => undefined, (e: unknown) => e);
    expect(String(refused)).toMatch(/trust\.root: not a valid root: badSignature/);
  }, 90_000);

  it('a native verifier crosses the bridge: bytes in, a boolean out, a typed error for a scheme it does not offer', async () => {
    const node = await device('qjs-verify');
    host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
    const bridged = host.mirror(guestView(node, { signatures: true })).signatures!;
    expect(bridged.schemes).toEqual(['ed25519', 'ecdsa-p256-sha256']);
    const message = utf8Encode('signed bytes');
    const pair = generateKeyPairSync('ed25519');
    const key = new Uint8Array(Buffer.from(pair.publicKey.export({ format: 'jwk' }).x!, 'base64url'));
    const signature = new Uint8Array(sign(null, message, pair.privateKey));
    expect(bridged.verify('ed25519', key, message, signature)).toBe(true);
    // A view into a larger buffer crosses as its own bytes only.
    const padded = new Uint8Array(signature.length + 8);
    padded.set(signature, 4);
    expect(bridged.verify('ed25519', key, message, padded.subarray(4, 4 + signature.length))).toBe(true);
    signature[0]! ^= 1;
    expect(bridged.verify('ed25519', key, message, signature)).toBe(false);
    expect(bridged.verify('ed25519', key.subarray(1), message, signature)).toBe(false);
    expect(() => bridged.verify('rsa' as never, key, message, signature)).toThrow(InvalidOptionsError);
    expect(host.mirror(guestView(node)).signatures).toBeUndefined();
  });
});
