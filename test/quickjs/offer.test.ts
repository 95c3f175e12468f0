/**
 * What the QuickJS host hands the guest follows the board's `nativeServices` (hal/quickjs/offer.ts):
 * a board whose firmware offers the engines and a verifier gets the host's, so the guest loads
 * neither JS chunk; a board without the declaration runs the guest's JS engines; the caller can
 * override either way; a malformed declaration is the guest's typed board error.
 */
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { MockHardware, mockOptionsFromBoard } from '../../hal/mock/index.ts';
import { QuickJsHost, type GuestOffer } from '../../hal/quickjs/host.ts';
import { declaredServices } from '../../hal/quickjs/offer.ts';
import { createNodeSignatureHost } from '../../hal/node/signatures.ts';
import { createNodeWasmHost } from '../../wasm/node-host.ts';

const small = JSON.parse(await readFile(new URL('../../boards/quickjs-small.json', import.meta.url), 'utf8'));
const { nativeServices: _, ...undeclared } = small;
const ENGINES_JS = /\/engines-js-\w+\.js$/;

const hosts: QuickJsHost[] = [];
afterEach(() => {
  for (const host of hosts.splice(0)) host.dispose();
});

/** Starts the agent (delivery family, no network needed to start) on a mock device with WASM and a native verifier. */
async function start(board: unknown, offer?: GuestOffer) {
  const host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
  hosts.push(host);
  const hardware = new MockHardware({ ...mockOptionsFromBoard(small), identity: { deviceId: 'offer-1' }, wasm: createNodeWasmHost(), signatures: createNodeSignatureHost() });
  const config = { logLevel: 'error', trust: { allowUnsigned: true }, delivery: { manager: 'https://manager.invalid', deviceAuth: false } };
  const agent = await host.start(hardware.boot(), board, config, offer);
  const engine = agent.boot.engine;
  await host.guarded(agent.close());
  return { engine, jsChunk: host.loadedModules.some((name) => ENGINES_JS.test(name)) };
}

describe('what the QuickJS host offers the guest', () => {
  it('reads the declaration: only the known services, nothing for a board without one', () => {
    expect(declaredServices(small)).toEqual(['engines', 'signatures']);
    expect(declaredServices(undeclared)).toEqual([]);
    expect(declaredServices({ nativeServices: ['signatures', 'bogus'] })).toEqual(['signatures']);
    expect(declaredServices(null)).toEqual([]);
  });

  it('the declared board: the host engines (WASM), the JS engines chunk never loads', async () => {
    expect(await start(small)).toEqual({ engine: 'wasm', jsChunk: false });
  });

  it('a board without the declaration, or an explicit override: the guest runs its JS engines chunk', async () => {
    expect(await start(undeclared)).toEqual({ engine: 'js', jsChunk: true });
    expect(await start(small, { engines: false })).toEqual({ engine: 'js', jsChunk: true });
  });

  it('a malformed declaration is refused by the guest as a typed board error, before the device is touched', async () => {
    const error = await start({ ...small, nativeServices: ['engines', 'gpu'] }).then(() => undefined, (e: unknown) => e);
    expect(String(error)).toMatch(/nativeServices\[1\]: must be one of engines, signatures/);
  });
});
