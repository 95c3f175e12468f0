/**
 * Parts of the OMA DM family that most sessions never need are lazy chunks of their own:
 *  - package #0's parsing and digest check (notification.ts), loaded with the first package #0;
 *  - incoming large objects (large-object.ts), loaded by the first MoreData chunk;
 *  - inline FUMO packages on staging (fumo/pkgdata-staging.ts), loaded by the first PkgData;
 *  - download descriptors (fumo/descriptor.ts), loaded by the first PkgURL answering with one;
 *  - Atomic and Sequence (containers.ts), loaded by the first container;
 *  - splitting a Results that does not fit a message (message-split.ts), loaded by the first one;
 *  - Add of a new node, Delete, Copy, ACL edits and user alerts (rare-commands.ts), loaded by the first one;
 *  - Get, with its ?prop= and ?list= queries (get.ts), loaded by the first Get;
 *  - inline FUMO packages in the FUMO CSP (fumo/inline-package.ts), loaded by the first Replace of PkgData.
 * And the family chunk does not load the push channel's wire format (agent/push/message.ts: only
 * the MQTT topic helper of push.ts needs it). Checked on the bundle and inside QuickJS: a plain
 * session (the FUMO cycle's: Replace, Exec) loads none of them; each is loaded when its case
 * comes, and the case is handled.
 */
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import type { Command } from '../../agent/syncml/model.ts';
import { loadGuestCode } from '../../hal/quickjs/bundle.ts';
import { add, atomic, del, fumoDownload, fumoPkgData, get, replace, sendUdpPush, startDmServer, userAlert } from '../../server/omadm/index.ts';
import { CLIENT, DEVICE_ID, engines as jsEngines, familySection, md5, notification, SERVER, waitFor } from '../omadm/session-rig.ts';
import { bootPhone, small } from './phone.ts';
import { agentChunks } from '../support/agent-chunks.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

const meta = JSON.parse(readFileSync(new URL('../../dist/agent.meta.json', import.meta.url), 'utf8')) as Metafile;
/** The built chunk (dist/agent-chunks/x.js) holding a source, to recognise it among the modules the guest asks for. */
function chunkOf(source: string): string {
  const path = Object.keys(meta.outputs).find((output) => output.endsWith('.js') && source in meta.outputs[output]!.inputs);
  if (!path) throw new Error(`no chunk holds ${source}`);
  return path;
}
const FAMILY_CHUNK = chunkOf('agent/omadm/family.ts');
const LAZY_SOURCES = ['notification.ts', 'large-object.ts', 'fumo/pkgdata-staging.ts', 'fumo/descriptor.ts', 'containers.ts', 'message-split.ts', 'rare-commands.ts', 'get.ts', 'fumo/inline-package.ts'].map((file) => `agent/omadm/${file}`);
const LAZY = LAZY_SOURCES.map(chunkOf);
const [NOTIFICATION_CHUNK, LARGE_OBJECT_CHUNK, PKGDATA_CHUNK, DESCRIPTOR_CHUNK, CONTAINERS_CHUNK, SPLIT_CHUNK, RARE_CHUNK, GET_CHUNK, INLINE_CHUNK] = LAZY as [string, string, string, string, string, string, string, string, string];
const PACKAGE = new Uint8Array(3000).map((_, i) => (i * 13 + 5) & 0xff);
const SHA256 = createHash('sha256').update(PACKAGE).digest('hex');
const moduleName = (chunk: string) => chunk.replace(/^dist\//, '');

/** A UDP port free right now on loopback (bound and released). */
async function freePort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

describe('the OMA DM family loads its rarely needed parts lazily', () => {
  it('each is the entry of a lazy chunk, none is loaded statically with the family, nor is agent/push/message.ts', async () => {
    const { familySources, lazyEntries } = await agentChunks();
    expect(new Set([FAMILY_CHUNK, ...LAZY]).size).toBe(LAZY.length + 1);
    for (const source of LAZY_SOURCES) {
      expect(lazyEntries.has(source)).toBe(true);
      expect(familySources.omadm!.has(source)).toBe(false);
    }
    expect(familySources.omadm!.has('agent/push/message.ts')).toBe(false);
    // Reading and answering a user alert comes with the rare commands; the family keeps only the headless policy.
    expect(familySources.omadm!.has('agent/omadm/alert-answer.ts')).toBe(false);
    expect(familySources.omadm!.has('agent/omadm/alerts.ts')).toBe(true);
    expect(chunkOf('agent/omadm/alert-answer.ts')).toBe(RARE_CHUNK);
    // The SyncML builder's rare part: the session decodes through lazy-decode.ts.
    expect(lazyEntries.has('agent/syncml/build-rare.ts')).toBe(true);
    expect(familySources.omadm!.has('agent/syncml/build-rare.ts')).toBe(false);
  });

  /** The agent inside QuickJS listening for package #0 on a UDP port; the chunks the guest loaded. */
  async function phone(maxMsgSize?: number) {
    const dir = await mkdtemp(join(tmpdir(), 'dm-qjs-pkg0-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'fw-2.0.bin');
    await writeFile(path, PACKAGE);
    const pkg = { name: 'fw-2.0.bin', version: '1', path, size: PACKAGE.length, digest: SHA256 };
    const running = await startDmServer({ serverId: SERVER.serverId, clients: [CLIENT], packages: [pkg], md5, tokenize: jsEngines.syncmlTokenize, ...(maxMsgSize ? { maxMsgSize } : {}) });
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

  it('a client-initiated FUMO session (Replace, Exec Download) loads none of them, nor the push wire format; the first Get loads get.ts and is answered', async () => {
    const { server, agent, host, loaded } = await phone();
    server.script(fumoDownload('1', server.packageUrl('fw-2.0.bin'), 'corr-dl', 'Download', { version: '2.0', size: PACKAGE.length, sha256: SHA256 }));
    await host.guarded(agent.trigger('omadm', 'manual'));
    expect(server.journal.statuses()).toEqual(['Replace:200', 'Replace:200', 'Replace:200', 'Replace:200', 'Exec:202']);
    expect(server.journal.of('download').length).toBeGreaterThan(0);
    expect(loaded(FAMILY_CHUNK)).toBe(true);
    for (const chunk of LAZY) expect(loaded(chunk)).toBe(false);
    expect(loaded(chunkOf('agent/push/message.ts'))).toBe(false);
    expect(loaded(chunkOf('agent/syncml/build-rare.ts'))).toBe(false);
    // The next session reads: a leaf's value, an interior node's children, a property.
    server.script([get('./DevInfo/Mod', './FUMO/1/Download', './FUMO/1/State', './DevInfo/Man?prop=Format')]);
    await host.guarded(agent.trigger('omadm', 'manual'));
    expect(server.journal.statuses().slice(-4)).toEqual(['Get:200', 'Get:200', 'Get:200', 'Get:200']);
    expect(server.journal.of('result').map((e) => `${e.uri}=${e.data}`)).toEqual(['./DevInfo/Mod=Widget', './FUMO/1/Download=PkgURL', './FUMO/1/State=40', './DevInfo/Man?prop=Format=chr']);
    expect(loaded(GET_CHUNK)).toBe(true);
    for (const chunk of LAZY.filter((c) => c !== GET_CHUNK)) expect(loaded(chunk)).toBe(false);
  }, 60_000);

  it('an Add of a new node with missing parents (rare commands) creates them, inside QuickJS as on Node; a second Add of it is 418', async () => {
    const { server, agent, host, loaded } = await phone();
    // FUMO/1/Ext is the vendor area (an open description); the server first grants itself Add there.
    server.script([
      replace({ uri: './FUMO/1?prop=ACL', data: 'Add=*&Get=*&Replace=*&Exec=*' }),
      add({ uri: './FUMO/1/Ext/Acme/Level', data: '3', format: 'int' }),
      add({ uri: './FUMO/1/Ext/Acme/Level', data: '4', format: 'int' }),
      add({ uri: './FUMO/1/Ext/Acme/Mode', data: 'x', format: 'bool' }),
      get('./FUMO/1/Ext/Acme/Level', './FUMO/1/Ext/Acme'),
    ]);
    await host.guarded(agent.trigger('omadm', 'manual'));
    expect(server.journal.statuses()).toEqual(['Replace:200', 'Add:200', 'Add:418', 'Add:400', 'Get:200', 'Get:200']);
    expect(server.journal.of('result').map((e) => `${e.uri}=${e.data}`)).toEqual(['./FUMO/1/Ext/Acme/Level=3', './FUMO/1/Ext/Acme=Level']);
    expect(loaded(RARE_CHUNK)).toBe(true);
    expect(loaded(GET_CHUNK)).toBe(true);
    expect(loaded(CONTAINERS_CHUNK)).toBe(false);
  }, 60_000);

  it('an inline package in MoreData chunks loads large objects and the staging part, and is taken in', async () => {
    const { server, agent, host, loaded } = await phone();
    // Base64 (an XML session): 4000 characters in chunks of 1024, after the Replace of Ext/SHA256.
    server.script(...fumoPkgData('1', PACKAGE, 'corr-pd', 1024, { sha256: SHA256 }, 'b64'));
    await host.guarded(agent.trigger('omadm', 'manual'));
    expect(server.journal.statuses()).toEqual(['Replace:200', 'Replace:213', 'Replace:213', 'Replace:213', 'Replace:200', 'Exec:202']);
    expect(loaded(LARGE_OBJECT_CHUNK)).toBe(true);
    expect(loaded(PKGDATA_CHUNK)).toBe(true);
    expect(loaded(INLINE_CHUNK)).toBe(true);
    expect(loaded(DESCRIPTOR_CHUNK)).toBe(false);
    expect(loaded(NOTIFICATION_CHUNK)).toBe(false);
  }, 60_000);

  it('a PkgURL answering with a download descriptor loads the descriptor parser and downloads the package it names', async () => {
    const { server, agent, host, loaded } = await phone();
    server.script(fumoDownload('1', server.descriptorUrl('fw-2.0.bin'), 'corr-dd', 'Download', { version: '2.0', size: PACKAGE.length, sha256: SHA256 }));
    await host.guarded(agent.trigger('omadm', 'manual'));
    expect(server.journal.of('descriptor')).toHaveLength(1);
    expect(server.journal.of('download').length).toBeGreaterThan(0);
    expect(loaded(DESCRIPTOR_CHUNK)).toBe(true);
    expect(loaded(LARGE_OBJECT_CHUNK)).toBe(false);
    expect(loaded(PKGDATA_CHUNK)).toBe(false);
  }, 60_000);

  it('an Atomic loads the containers; a listing larger than the server\'s MaxMsgSize loads the splitting and arrives whole', async () => {
    const { server, agent, host, loaded } = await phone(1500);
    server.script([atomic(get('./DevInfo/Mod'), get('./DevInfo/Man'))], [get('./DevDetail?list=StructData')]);
    await host.guarded(agent.trigger('omadm', 'manual'));
    expect(server.journal.statuses().slice(0, 3)).toEqual(['Atomic:200', 'Get:200', 'Get:200']);
    expect(loaded(CONTAINERS_CHUNK)).toBe(true);
    expect(loaded(SPLIT_CHUNK)).toBe(true);
    const listed = server.journal.of('result').map((e) => e.uri).filter((uri) => uri.startsWith('./DevDetail'));
    expect(listed).toEqual(expect.arrayContaining(['./DevDetail', './DevDetail/FwV', './DevDetail/URI/MaxSegLen']));
    expect(listed).toHaveLength(11);
  }, 60_000);

  it('user interaction alerts load the rare commands and are answered by the board policy, as on Node', async () => {
    const { server, agent, host, loaded } = await phone();
    server.script([userAlert('1101', 'Install the update?', { defaultResponse: '1' }), userAlert('1100', 'Hello', { maxDisplayTime: 5 }), get('./DevInfo/Mod')]);
    await host.guarded(agent.trigger('omadm', 'manual'));
    expect(server.journal.statuses()).toEqual(['Alert:200', 'Alert:200', 'Get:200']);
    expect(loaded(RARE_CHUNK)).toBe(true);
    expect(loaded(CONTAINERS_CHUNK)).toBe(false);
  });

  it('a property Get (get.ts), a Delete and a Copy (the rare commands) are answered as before', async () => {
    const { server, agent, host, loaded } = await phone();
    const copy: Command = { cmd: 'Copy', items: [{ source: { locURI: './DevInfo/Mod' }, target: { locURI: './DevInfo/ModCopy' } }] };
    server.script([get('./DevInfo/Mod?prop=Format'), del('./DevInfo/Mod'), copy]);
    await host.guarded(agent.trigger('omadm', 'manual'));
    // DevInfo is read-only for a server (ACL Get=*): the Delete and the Copy's Add are refused.
    expect(server.journal.statuses()).toEqual(['Get:200', 'Delete:425', 'Copy:425']);
    expect(server.journal.of('result').map((e) => e.data)).toEqual(['chr']);
    expect(loaded(GET_CHUNK)).toBe(true);
    expect(loaded(RARE_CHUNK)).toBe(true);
    expect(loaded(CONTAINERS_CHUNK)).toBe(false);
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
