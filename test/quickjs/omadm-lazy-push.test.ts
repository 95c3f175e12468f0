/**
 * Package #0 is a lazy part of the OMA DM family: its parsing and digest check (notification.ts)
 * are a chunk of their own, loaded with the first package #0, and the family chunk does not load
 * the push channel's wire format (agent/push/message.ts: only the MQTT topic helper of push.ts
 * needs it). Checked on the bundle and inside QuickJS: a client-initiated session loads neither;
 * a package #0 over UDP loads the notification chunk and starts the server-initiated session.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { loadGuestCode } from '../../hal/quickjs/bundle.ts';
import { get, sendUdpPush, startDmServer } from '../../server/omadm/index.ts';
import { CLIENT, DEVICE_ID, engines as jsEngines, familySection, md5, notification, SERVER, waitFor } from '../omadm/session-rig.ts';
import { bootPhone, small } from './phone.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

const meta = JSON.parse(readFileSync(new URL('../../dist/agent.meta.json', import.meta.url), 'utf8')) as Metafile;
const outputs = Object.entries(meta.outputs).filter(([path]) => path.endsWith('.js'));
const chunkOf = (input: string): string => {
  const found = outputs.find(([, output]) => Object.keys(output.inputs).includes(input));
  if (!found) throw new Error(`no chunk holds ${input}`);
  return found[0];
};
const staticClosure = (start: string, seen = new Set<string>()): Set<string> => {
  if (seen.has(start)) return seen;
  seen.add(start);
  for (const imported of meta.outputs[start]?.imports ?? []) if (imported.kind === 'import-statement') staticClosure(imported.path, seen);
  return seen;
};
const FAMILY_CHUNK = chunkOf('agent/omadm/family.ts');
const NOTIFICATION_CHUNK = chunkOf('agent/omadm/notification.ts');
const moduleName = (chunk: string) => chunk.replace(/^dist\//, '');

/** A UDP port free right now on loopback (bound and released). */
async function freePort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

describe('package #0 in the OMA DM family is loaded lazily', () => {
  it('notification.ts is its own chunk, imported dynamically by the family; the family chunk does not load agent/push/message.ts', () => {
    const loadedWithFamily = new Set([...staticClosure('dist/agent.js'), ...staticClosure(FAMILY_CHUNK)]);
    expect(NOTIFICATION_CHUNK).not.toBe(FAMILY_CHUNK);
    expect(loadedWithFamily.has(NOTIFICATION_CHUNK)).toBe(false);
    expect(meta.outputs[FAMILY_CHUNK]!.imports).toContainEqual(expect.objectContaining({ path: NOTIFICATION_CHUNK, kind: 'dynamic-import' }));
    expect(loadedWithFamily.has(chunkOf('agent/push/message.ts'))).toBe(false);
  });

  /** The agent inside QuickJS listening for package #0 on a UDP port; the chunks the guest loaded. */
  async function phone() {
    const dir = await mkdtemp(join(tmpdir(), 'dm-qjs-pkg0-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const running = await startDmServer({ serverId: SERVER.serverId, clients: [CLIENT], packages: [], md5, tokenize: jsEngines.syncmlTokenize });
    cleanups.push(() => running.close());
    const server = running.server;
    const udpPort = await freePort();
    const config = { logLevel: 'error', trust: { allowUnsigned: true }, omadm: familySection(server.url, { udpPort }) };
    const code = await loadGuestCode();
    const requested: string[] = [];
    const read = code.module;
    code.module = (name) => (requested.push(name), read(name));
    cleanups.push(() => (code.module = read));
    const { phone: device, host } = await bootPhone(join(dir, 'phone'), { deviceId: DEVICE_ID, model: 'Widget', hardwareId: 'hw-1', firmwareVersion: '1.0.0' }, cleanups);
    const agent = await host.start(device, small, config);
    cleanups.push(() => host.guarded(agent.close()));
    return { server, agent, host, udpPort, loaded: (chunk: string) => requested.includes(moduleName(chunk)) };
  }

  it('a client-initiated session loads neither the notification chunk nor the push wire format', async () => {
    const { server, agent, host, loaded } = await phone();
    server.script([get('./DevInfo/Mod')]);
    await host.guarded(agent.trigger('omadm', 'manual'));
    expect(server.journal.statuses()).toEqual(['Get:200']);
    expect(loaded(FAMILY_CHUNK)).toBe(true);
    expect(loaded(NOTIFICATION_CHUNK)).toBe(false);
    expect(loaded(chunkOf('agent/push/message.ts'))).toBe(false);
  }, 60_000);

  it('a package #0 over UDP loads the notification chunk and runs the server-initiated session', async () => {
    const { server, host, udpPort, loaded } = await phone();
    expect(loaded(NOTIFICATION_CHUNK)).toBe(false);
    server.script([get('./DevInfo/Mod')]);
    await sendUdpPush(notification(0x2a), { host: '127.0.0.1', port: udpPort });
    await host.guarded(waitFor(() => server.journal.of('end').length > 0, 20_000));
    expect(server.journal.of('session')).toEqual([expect.objectContaining({ sessionId: '2A', initiated: 'server' })]);
    expect(server.journal.statuses()).toEqual(['Get:200']);
    expect(loaded(NOTIFICATION_CHUNK)).toBe(true);
  }, 60_000);
});
