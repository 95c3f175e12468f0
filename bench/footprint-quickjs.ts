/**
 * `quickjs-heap` (KB): the peak guest heap (`memory_used_size`, read by the QuickJS host after
 * every job) over a pull-model convergence, a firmware update (check, download, install, reboot,
 * confirm, report) and an OMA DM + FUMO cycle (Exec Download, hold, Exec Update, reboot, commit,
 * Generic Alerts), all inside QuickJS on a host-side Node HAL against the reference servers on
 * loopback, on the quickjs-small board as it is declared: its firmware's native engines and
 * verifier (`nativeServices`) offered to the guest. Peer `target`: 512 KB (the budget for
 * the guest heap). Each cycle's peak is printed with what the heap held then.
 *
 * Two more results in the same form: `quickjs-heap-js-engines`, the same cycles with the guest on
 * its own JS engines (a board whose firmware offers none), and `quickjs-heap-signed`, a pull-model
 * cycle against a manager serving signed TUF metadata (trust root configured).
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeDevice } from '../hal/node/index.ts';
import { type GuestMemoryUsage, QuickJsHost } from '../hal/quickjs/index.ts';
import { Users, startUpdateServer } from '../server/updates/index.ts';
import { newRig, startFleetManager } from '../test/e2e/harness.ts';
import { ADMIN_TOKEN, usersJson, writeImageFolder } from '../test/server/updates-fixture.ts';
import { fumoDownload, fumoUpdate, get, startDmServer } from '../server/omadm/index.ts';
import { createJsEngines } from '../wasm/src/engines.ts';
import type { GuestOffer } from '../hal/quickjs/offer.ts';
import { signDemoRelease } from '../cli/demo/trust.ts';
import { utf8Decode } from '../agent/util/bytes.ts';

// The board the QuickJS tests run on: its budget, and its small package-DB and state partitions.
const SMALL = JSON.parse(await readFile(new URL('../boards/quickjs-small.json', import.meta.url), 'utf8'));
const BUDGET = SMALL.memoryBudgetBytes as number;

type Peak = { peak: number; atPeak: GuestMemoryUsage | undefined };
type Agent = Awaited<ReturnType<QuickJsHost['start']>>;
type Result = { name: string; value: number; peers: Record<string, number> };

async function inQuickJs<T>(offer: GuestOffer | undefined, workDir: string, identity: Record<string, string>, config: unknown, body: (agent: Agent, host: QuickJsHost) => Promise<T>): Promise<Peak & { value: T }> {
  const device = await createNodeDevice({ workDir, board: SMALL, identity: identity as never, log: { level: 'error' }, location: 'inside', onReboot: () => {} });
  const host = await QuickJsHost.create({ budgetBytes: BUDGET });
  try {
    const agent = await host.start(device, SMALL, config, offer);
    const value = await body(agent, host);
    await host.guarded(agent.close());
    return { peak: host.memory.peakBytes, atPeak: host.memory.atPeak, value };
  } finally {
    host.dispose();
    await device.close();
  }
}

export async function benchQuickJsHeap(): Promise<Result[]> {
  const rig = await newRig();
  const dir = await mkdtemp(join(tmpdir(), 'dm-bench-qjs-'));
  try {
    const declared = await cycles(rig, join(dir, 'declared'), 'board as declared', undefined);
    const js = await cycles(rig, join(dir, 'js'), 'guest JS engines', { engines: false });
    const signed = await signedCycle(rig, join(dir, 'signed'));
    return [
      { name: 'quickjs-heap', value: declared / 1024, peers: { target: 512 } },
      { name: 'quickjs-heap-js-engines', value: js / 1024, peers: { target: 512 } },
      { name: 'quickjs-heap-signed', value: signed / 1024, peers: { target: 512 } },
    ];
  } finally {
    await rig.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The pull-model, firmware and OMA DM + FUMO cycles with the guest offered `offer`; each printed, the highest peak returned. */
async function cycles(rig: Awaited<ReturnType<typeof newRig>>, dir: string, label: string, offer: GuestOffer | undefined): Promise<number> {
  const deviceId = `bench-qjs-${offer ? 'js' : 'native'}`;
  const manager = await startFleetManager(rig, { deviceIds: [deviceId], deviceAuth: 'off' });
  const pull = await inQuickJs(offer, join(dir, 'pull'), { deviceId }, { logLevel: 'error', trust: { allowUnsigned: true }, delivery: { manager: manager.url, allowInsecure: true, deviceAuth: false } }, (agent, host) => host.guarded(agent.pollOnce()));
  if (pull.value.failed.length > 0) throw new Error(`quickjs-heap: pull-model cycle failed: ${JSON.stringify(pull.value.failed)}`);

  const bytes = new Uint8Array(64 * 1024).map((_, i) => (i * 7 + 3) & 0xff);
  const { folder } = await writeImageFolder(dir, 'images', [{ model: 'CX600', version: '4.1.0', from: ['4.0.1'], bytes }]);
  const updates = await startUpdateServer({ adminToken: ADMIN_TOKEN, users: Users.parse(await usersJson()), internal: {}, importFolders: [folder] });
  try {
    updates.service.decide(updates.service.rules()[0]!.id, 'approved');
    const identity = { deviceId: `${deviceId}-fw`, model: 'CX600', hardwareId: 'hw-1', firmwareVersion: '4.0.1' };
    const config = { logLevel: 'error', trust: { allowUnsigned: true }, firmware: { service: updates.service.serviceUrls(), allowInsecure: true, idleRebootMs: 0 } };
    const trigger = (agent: Agent, host: QuickJsHost) => host.guarded(agent.trigger('firmware', 'boot'));
    const install = await inQuickJs(offer, join(dir, 'fw'), identity, config, trigger);
    const confirm = await inQuickJs(offer, join(dir, 'fw'), identity, config, trigger);
    if (!updates.service.journal().some((e) => e.type === 'report')) throw new Error('quickjs-heap: the firmware update did not report');
    const omadm = await omadmCycle(offer, join(dir, 'omadm'));
    const firmware = install.peak >= confirm.peak ? install : confirm;
    for (const [name, cycle] of [['pull', pull], ['firmware', firmware], ['OMA DM + FUMO', omadm]] as const) console.log(`quickjs-heap (${label}) ${name}: peak ${kb(cycle.peak)} KB (${breakdown(cycle.atPeak)})`);
    return Math.max(pull.peak, firmware.peak, omadm.peak);
  } finally {
    await updates.close();
  }
}

/** A pull-model cycle against a manager serving signed TUF metadata (the board as declared: the native verifier). */
async function signedCycle(rig: Awaited<ReturnType<typeof newRig>>, dir: string): Promise<number> {
  let root: Uint8Array | undefined;
  const manager = await startFleetManager(rig, {
    deviceIds: ['bench-qjs-signed'],
    deviceAuth: 'off',
    metadata: async (fleet) => {
      const release = await signDemoRelease(join(dir, 'release'), fleet, () => {});
      root = release.root;
      return release.metadataDir;
    },
  });
  const config = { logLevel: 'error', trust: { root: utf8Decode(root!) }, delivery: { manager: manager.url, allowInsecure: true, deviceAuth: false } };
  const pull = await inQuickJs(undefined, join(dir, 'pull'), { deviceId: 'bench-qjs-signed' }, config, (agent, host) => host.guarded(agent.pollOnce()));
  if (pull.value.failed.length > 0 || pull.value.installed.length === 0) throw new Error(`quickjs-heap: signed pull-model cycle failed: ${JSON.stringify(pull.value)}`);
  console.log(`quickjs-heap (board as declared) signed pull: peak ${kb(pull.peak)} KB (${breakdown(pull.atPeak)})`);
  return pull.peak;
}

const kb = (bytes: number) => (bytes / 1024).toFixed(0);

/**
 * What the heap held at the peak (KB): code (function objects' bytecode, constant pools, variable
 * tables, debug info), atoms (identifiers, property names and every string literal of the code),
 * objects with their properties and shapes, strings, buffers, and the rest (malloc overhead,
 * arrays' element storage, the runtime's own tables).
 */
export function breakdown(usage: GuestMemoryUsage | undefined): string {
  if (!usage) return 'no reading';
  const code = usage.js_func_size + usage.js_func_code_size + usage.js_func_pc2line_size;
  const objects = usage.obj_size + usage.prop_size + usage.shape_size;
  const rest = usage.memory_used_size - code - usage.atom_size - objects - usage.str_size - usage.binary_object_size;
  return `code ${kb(code)}, atoms ${kb(usage.atom_size)} (${usage.atom_count}), objects ${kb(objects)} (${usage.obj_count}), strings ${kb(usage.str_size)}, buffers ${kb(usage.binary_object_size)}, other ${kb(rest)}`;
}

/** Exec Download → hold → Exec Update → reboot → commit against the reference DM server; the peak over both boots. */
async function omadmCycle(offer: GuestOffer | undefined, dir: string): Promise<Peak> {
  const engines = createJsEngines();
  const image = new Uint8Array(64 * 1024).map((_, i) => (i * 31 + 7) & 0xff);
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'fw-2.0.bin');
  await writeFile(path, image);
  const pkg = { name: 'fw-2.0.bin', version: '1', path, size: image.length, digest: createHash('sha256').update(image).digest('hex') };
  const client = { name: 'bench-device', secret: 'client-secret-0123' };
  const serverAccount = { serverId: 'srv1', name: 'srv1', secret: 'server-secret-0123' };
  const running = await startDmServer({ serverId: serverAccount.serverId, clients: [client], packages: [pkg], md5: (bytes) => engines.hash('md5', bytes), tokenize: engines.syncmlTokenize });
  try {
    const server = running.server;
    const identity = { deviceId: 'IMEI:000000011234564', model: 'Widget', hardwareId: 'hw-1', firmwareVersion: '1.0.0' };
    const account = { id: 'srv1', serverId: serverAccount.serverId, addr: server.url, allowInsecure: true, authPref: 'DIGEST', client, server: { name: serverAccount.name, secret: serverAccount.secret } };
    const config = { logLevel: 'error', trust: { allowUnsigned: true }, omadm: { accounts: [account], udpPort: 0, retries: 0, schedule: { jitterMs: 0 }, manufacturer: 'Acme' } };
    server.script([get('./DevDetail/SwV', './FUMO/1/State')], fumoDownload('1', server.packageUrl(pkg.name), 'corr-dl', 'Download', { version: '2.0.0', size: pkg.size, sha256: pkg.digest }));
    const held = await inQuickJs(offer, dir, identity, config, async (agent, host) => {
      await host.guarded(agent.trigger('omadm', 'manual'));
      server.script([fumoUpdate('1', 'corr-up')]);
      await host.guarded(agent.trigger('omadm', 'manual'));
    });
    const committed = await inQuickJs(offer, dir, identity, config, (agent, host) => host.guarded(agent.trigger('omadm', 'boot')));
    const alerts = server.journal.genericAlerts().map((a) => `${a.correlator} ${a.result}`);
    if (alerts.join() !== 'corr-dl 200,corr-up 200') throw new Error(`quickjs-heap: the OMA DM + FUMO cycle did not complete: ${alerts.join()}`);
    return held.peak >= committed.peak ? held : committed;
  } finally {
    await running.close();
  }
}
