/** Shared fixtures of the OMA DM tests: a store on mock flash, the JS engines' MD5, a seeded tree. */
import { KeyValueStore } from '../../agent/store/index.ts';
import { createMockFlash, MockFlashMemory } from '../../hal/mock/flash.ts';
import { PowerCut } from '../../hal/mock/power-cut.ts';
import { createJsEngines } from '../../wasm/src/engines.ts';
import { type Csp, CspRegistry, seedTree } from '../../agent/omadm/csp/api.ts';
import { devDetailCsp, devInfoCsp } from '../../agent/omadm/csp/devinfo.ts';
import { dmAccCsp, type DmAccountConfig } from '../../agent/omadm/csp/dmacc.ts';
import { DmTree } from '../../agent/omadm/tree.ts';
import { utf8Encode } from '../../agent/util/bytes.ts';

export const engines = createJsEngines();
export const md5 = (data: Uint8Array) => engines.hash('md5', data);

export const LAYOUT = { blockLength: 4096, writeAlign: 8, partitions: [{ name: 'state', size: 4096 * 16 }] };

export function newMedium(): { memory: MockFlashMemory; power: PowerCut; open: () => Promise<KeyValueStore> } {
  const memory = new MockFlashMemory(LAYOUT);
  const power = new PowerCut();
  const flash = createMockFlash(memory, power);
  return { memory, power, open: async () => KeyValueStore.open(await flash.open({ partition: 'state' })) };
}

export const ACCOUNT: DmAccountConfig = {
  id: 'srv1',
  serverId: 'srv1',
  addr: 'https://dm.example/dm',
  authPref: 'DIGEST',
  client: { name: 'device-1', secret: 'client-secret', nonce: utf8Encode('cnonce') },
  server: { name: 'srv1', secret: 'server-secret', nonce: utf8Encode('snonce') },
};

export const FACTS = { devId: 'IMEI:000000011234564', man: 'Acme', mod: 'Widget', fwV: () => '1.0.0' };

/**
 * Subtrees the command tests write freely: custom CSPs without a node description (ddf.ts: the
 * root only takes the registered CSPs' roots, an undescribed CSP keeps its subtree open).
 */
export const OPEN_AREAS: Csp[] = ['App', 'S', 'Big'].map((root) => ({ root }));

/** A tree with DevInfo, DevDetail, DMAcc and the open areas seeded, plus extra CSPs. */
export async function seededTree(store: KeyValueStore, extra: Csp[] = [], facts: Partial<typeof FACTS> = {}): Promise<{ tree: DmTree; csps: CspRegistry }> {
  const csps = new CspRegistry();
  const all = { ...FACTS, ...facts };
  for (const csp of [devInfoCsp(all), devDetailCsp(all), dmAccCsp([ACCOUNT]), ...OPEN_AREAS, ...extra]) csps.register(csp);
  const tree = DmTree.open(store);
  await seedTree(tree, csps);
  return { tree, csps };
}
