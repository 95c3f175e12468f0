/**
 * What every board loads (dist/agent.js and its static imports, the "core") leaves out the
 * features a config may not use: the WASM engine drivers (a board without WebAssembly), signed
 * metadata (TUF: a config with `trust.allowUnsigned`), the push channel (no `push` section) and the
 * canonical-JSON writer (no device auth). Checked twice: in the build's module graph
 * (dist/agent.meta.json), and in the QuickJS guest, by the modules its loader is asked for, for
 * configs that need each chunk and configs that do not.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MockHardware, mockOptionsFromBoard } from '../../hal/mock/index.ts';
import { QuickJsHost } from '../../hal/quickjs/index.ts';
import { loadGuestCode } from '../../hal/quickjs/bundle.ts';
import { utf8Decode } from '../../agent/util/bytes.ts';
import { TestRepo } from '../trust/fixture.ts';
import { chunkOf, closure, entry, moduleName, outDir, outputs, sources } from '../support/agent-build.ts';

const small = JSON.parse(await readFile(new URL('../../boards/quickjs-small.json', import.meta.url), 'utf8'));

const LAZY = {
  wasmDrivers: /^wasm\/src\/(engines-wasm|diff-wasm|wasm-hash|syncml-wasm|native|hmac|hash-state|diff-input|syncml-out|syncml-tokens|delta-applier|delta-exports)\.ts$/,
  signedMetadata: /^agent\/(trust\/(signed|metadata|trusted-set|canonical-json|keys|target-deltas|updater|state|http-source|artifact|verify)|pipeline\/signed-gate)\.ts$/,
  push: /^agent\/push\/(index|channel|router|message)\.ts$/,
};
/** The WASM drivers proper (the JS engines share the hash-state, HMAC, diff-input and token modules with them). */
const WASM_DRIVERS = /^wasm\/src\/(engines-wasm|diff-wasm|wasm-hash|syncml-wasm|native|delta-exports)\.ts$/;

describe('the core of the build (dist/agent.js and its static imports)', () => {
  const core = sources(closure(entry));

  it('holds none of the WASM drivers, signed metadata or push modules; each is a dynamic chunk of its own', () => {
    for (const [feature, pattern] of Object.entries(LAZY)) expect(core.filter((input) => pattern.test(input)), feature).toEqual([]);
    // They are in the build, reachable only through the dynamic imports of agent/index.ts and wasm/load.ts.
    for (const source of ['wasm/src/engines-wasm.ts', 'wasm/src/native.ts', 'agent/trust/signed.ts', 'agent/push/index.ts', 'agent/trust/canonical-json.ts']) expect(outputs[chunkOf(source)]).toBeDefined();
    expect(sources(closure(chunkOf('agent/trust/signed.ts')))).toEqual(expect.arrayContaining(['agent/trust/metadata.ts', 'agent/trust/trusted-set.ts', 'agent/pipeline/signed-gate.ts', 'agent/trust/updater.ts']));
    expect(sources(closure(chunkOf('wasm/src/engines-wasm.ts')))).toEqual(expect.arrayContaining(['wasm/src/diff-wasm.ts', 'wasm/src/wasm-hash.ts', 'wasm/src/syncml-wasm.ts']));
  });

  it('the families (what an unsigned cycle loads) link no metadata parser, no canonical JSON and no WASM driver', () => {
    for (const family of ['agent/delivery/family.ts', 'agent/firmware/family.ts', 'agent/omadm/family.ts']) {
      const loaded = sources(closure(chunkOf(family), new Set(closure(entry))));
      expect(loaded.filter((input) => LAZY.signedMetadata.test(input)), family).toEqual([]);
      expect(loaded.filter((input) => WASM_DRIVERS.test(input)), family).toEqual([]);
    }
  });
});

describe('the QuickJS guest loads a feature chunk only when the config needs it', async () => {
  // Every module the guest's loader serves goes through GuestCode.module (hal/quickjs/loader.ts).
  const code = await loadGuestCode();
  const serve = code.module.bind(code);
  let requested = new Set<string>();
  code.module = (name) => {
    requested.add(name);
    return serve(name);
  };
  afterAll(() => {
    code.module = serve;
  });
  const hosts: QuickJsHost[] = [];
  afterEach(() => {
    for (const host of hosts.splice(0)) host.dispose();
  });

  /** Starts the agent in a fresh guest; the modules it loaded, and what they hold. */
  async function start(id: string, config: Record<string, unknown>) {
    requested = new Set();
    const host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
    hosts.push(host);
    const hardware = new MockHardware({ ...mockOptionsFromBoard(small), identity: { deviceId: id } });
    const agent = await host.start(hardware.boot(), small, { logLevel: 'error', ...config });
    const boot = agent.boot;
    await host.guarded(agent.close());
    const files = [...requested].map((name) => `${outDir}${name}`);
    return { boot, modules: [...requested], inputs: sources(files) };
  }
  const delivery = { manager: 'https://manager.invalid', deviceAuth: false };

  it('unsigned, no push: neither the signed-metadata, push, WASM-driver nor canonical-JSON chunk', async () => {
    const { boot, modules, inputs } = await start('lazy-unsigned', { trust: { allowUnsigned: true }, delivery });
    expect(boot.verifier).toBeUndefined();
    expect(modules).toContain(moduleName(chunkOf('agent/delivery/family.ts')));
    for (const source of ['agent/trust/signed.ts', 'agent/push/index.ts', 'wasm/src/engines-wasm.ts', 'wasm/src/native.ts', 'agent/trust/canonical-json.ts']) expect(modules).not.toContain(moduleName(chunkOf(source)));
    for (const [feature, pattern] of Object.entries({ ...LAZY, wasmDrivers: WASM_DRIVERS })) expect(inputs.filter((input) => pattern.test(input)), feature).toEqual([]);
  }, 60_000);

  it('a root of trust: the signed-metadata chunk loads and checks the root at start (a forged one is refused)', async () => {
    const repo = new TestRepo();
    const root = utf8Decode(repo.rootBytes());
    const { boot, modules, inputs } = await start('lazy-signed', { trust: { root }, delivery });
    expect(boot.verifier).toBeDefined();
    expect(modules).toContain(moduleName(chunkOf('agent/trust/signed.ts')));
    expect(inputs).toEqual(expect.arrayContaining(['agent/trust/trusted-set.ts', 'agent/pipeline/signed-gate.ts']));
    expect(modules).not.toContain(moduleName(chunkOf('agent/push/index.ts')));

    const forged = JSON.parse(root);
    forged.signed.version = 9;
    await expect(start('lazy-forged', { trust: { root: forged }, delivery })).rejects.toThrow(/trust\.root: not a valid root: badSignature/);
  }, 60_000);

  it('a push section: the push chunk loads', async () => {
    const { modules } = await start('lazy-push', { trust: { allowUnsigned: true }, delivery, push: { mqtt: { url: 'mqtt://broker.invalid:1883' } } });
    expect(modules).toContain(moduleName(chunkOf('agent/push/index.ts')));
    expect(modules).not.toContain(moduleName(chunkOf('agent/trust/signed.ts')));
  }, 60_000);
});
