/**
 * Runs inside QuickJS (bundled for the neutral platform by test/portability.test.ts): the agent
 * core on the mock HAL, with none of Node's globals. Returns what it observed as plain data.
 */
import { createAgent } from '../../agent/index.ts';
import { KeyValueStore } from '../../agent/store/index.ts';
import { StateMachine, updateFlow } from '../../agent/machine/index.ts';
import { toHex, utf8Encode } from '../../agent/util/bytes.ts';
import { loadEngines } from '../../wasm/index.ts';
import { createMockFlash, MockFlashMemory } from '../../hal/mock/flash.ts';
import { PowerCut } from '../../hal/mock/power-cut.ts';
import { MockHardware, mockOptionsFromBoard } from '../../hal/mock/index.ts';
import board from '../../boards/quickjs-small.json';

export async function run(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  out.globals = ['setTimeout', 'TextEncoder', 'URL', 'WebAssembly', 'process', 'Buffer', 'crypto'].filter((name) => name in globalThis);

  // Store with a power cut in the middle of a workload, reopened.
  const memory = new MockFlashMemory({ blockLength: 256, writeAlign: 8, partitions: [{ name: 'state', size: 1024 }] });
  const power = new PowerCut();
  const flash = createMockFlash(memory, power);
  let store = await KeyValueStore.open(await flash.open({ partition: 'state' }));
  for (let i = 0; i < 40; i++) await store.put(`k${i % 4}`, utf8Encode(`value-${i}`));
  power.cutAfter(3);
  try {
    for (let i = 40; i < 80; i++) await store.put(`k${i % 4}`, utf8Encode(`value-${i}`));
  } catch (error) {
    out.cutError = (error as Error).name;
  }
  power.restore();
  store = await KeyValueStore.open(await flash.open({ partition: 'state' }));
  out.storeKeys = store.keys();
  out.storeCorruption = store.report.corruption.length;

  // Engines: no WebAssembly here, so 'auto' must pick the JS fallback.
  const engines = await loadEngines({ engine: 'auto' });
  out.engine = engines.kind;
  out.sha256 = toHex(engines.hash('sha256', utf8Encode('abc')));
  out.md5 = toHex(engines.hash('md5', utf8Encode('abc')));
  const plan = engines.diff([{ name: 'a', version: '1' }, { name: 'gone', version: '1' }], [{ name: 'a', version: '2' }, { name: 'ñ', version: '1' }]);
  out.diff = { install: plan.install.map((p) => p.name), upgrade: plan.upgrade.map((p) => p.to.name), remove: plan.remove.map((p) => p.name) };
  // SyncML tokenizer, JS engine: XML and WBXML (<SyncML><Final/></SyncML>, WBXML 1.2, SyncML 1.2), and a typed error.
  const xml = engines.syncmlTokenize(utf8Encode('<SyncML xmlns="SYNCML:SYNCML1.2"><Data>a&amp;b</Data><Final/></SyncML>'));
  const wbxml = engines.syncmlTokenize(Uint8Array.from([0x02, 0xa4, 0x01, 0x6a, 0x00, 0x6d, 0x12, 0x01]));
  let syncmlError = '';
  try {
    engines.syncmlTokenize(utf8Encode('<SyncML>a & b</SyncML>'), { strict: true });
  } catch (error) {
    syncmlError = `${(error as Error).name} ${(error as { code?: string }).code} ${(error as { offset?: number }).offset}`;
  }
  out.syncml = { xml: Array.from(xml.tokens), wbxml: Array.from(wbxml.tokens), publicId: wbxml.publicId, error: syncmlError };

  // The state machine engine with a trivial handler set.
  const machine = new StateMachine({
    table: updateFlow,
    store,
    key: 'job',
    handlers: {
      downloading: async () => ({ event: 'failed' }),
      activating: async () => ({ event: 'failed' }),
      rebooting: async () => ({ suspend: 'reboot' }),
      verifyingBoot: async () => ({ event: 'unhealthy' }),
      committing: async () => ({ event: 'committed' }),
      rollingBack: async () => ({ suspend: 'reboot' }),
      verifyingRollback: async () => ({ event: 'rolledBack' }),
      reportingSuccess: async () => ({ event: 'reported' }),
      reportingFailure: async () => ({ event: 'reported' }),
    },
  });
  await machine.start({});
  out.machine = (await machine.run()).state;

  // The whole agent on the mock HAL of the quickjs-small board.
  const hardware = new MockHardware({ ...mockOptionsFromBoard(board), identity: { deviceId: 'qjs-1' } });
  const agent = await createAgent(hardware.boot(), board, { engine: 'auto', users: ['alice'] });
  // run() imports the scheduler's loops (a chunk of dist/agent.js; inlined in this bundle) and ends at stop().
  const running = agent.run();
  agent.stop();
  await running;
  out.agent = { engine: agent.boot.engine, targets: agent.targets.map((t) => t.id), fresh: agent.boot.store.fresh, version: agent.version, ran: true };
  await agent.close();
  return out;
}
