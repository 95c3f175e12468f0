/**
 * `dm-agent omadm-server`: usage errors, package #0 over UDP verified with the server secret, a DM
 * session answered over real HTTP (scripted Get), the FUMO package served with Range, and the
 * journal on stdout without the secrets.
 */
import { createSocket } from 'node:dgram';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../cli/commands/omadm-server.ts';
import { header, packageOne } from '../../agent/omadm/messages.ts';
import { notificationDigest, parseNotification } from '../../agent/omadm/notification.ts';
import { decodeMessage } from '../../agent/syncml/decode.ts';
import { encodeXml } from '../../agent/syncml/encoder.ts';
import type { RunningDmServer } from '../../server/omadm/index.ts';
import { engines, md5 } from '../omadm/session-rig.ts';

const SECRET = 'server-secret-for-the-cli-0123';
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s) } };
}

async function files() {
  const dir = await mkdtemp(join(tmpdir(), 'dm-omadm-cli-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const secret = join(dir, 'server-secret');
  await writeFile(secret, `${SECRET}\n`);
  await chmod(secret, 0o600);
  const pkg = join(dir, 'fw.bin');
  await writeFile(pkg, new Uint8Array(5000).map((_, i) => i & 0xff));
  return { dir, secret, pkg };
}

describe('dm-agent omadm-server', () => {
  it('refuses bad usage with exit 2 and says why', async () => {
    const a = io();
    expect(await run(['--port', '70000'], a.io)).toBe(2);
    expect(a.err.join('')).toMatch(/--port must be an integer.*\n.*--server-secret-file FILE is required/s);
    const { dir } = await files();
    const loose = join(dir, 'loose');
    await writeFile(loose, `${SECRET}\n`);
    await chmod(loose, 0o644);
    const b = io();
    expect(await run(['--server-secret-file', loose], b.io)).toBe(2);
    expect(b.err.join('')).toMatch(/chmod 600/);
    expect(b.err.join('')).not.toContain(SECRET);
    const c = io();
    expect(await run(['--server-secret-file', join(dir, 'missing'), '--notify-udp', 'nohost'], c.io)).toBe(2);
    expect(c.err.join('')).toMatch(/--notify-udp must be HOST:PORT/);
  });

  it('sends package #0 over UDP, answers the session with its script, serves the package with Range', async () => {
    const { secret, pkg } = await files();
    const socket = createSocket('udp4');
    cleanups.push(async () => socket.close());
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const datagram = new Promise<Buffer>((resolve) => socket.once('message', resolve));
    const controller = new AbortController();
    const a = io();
    let running: RunningDmServer | undefined;
    const exited = run(['--server-secret-file', secret, '--package', pkg, '--notify-udp', `127.0.0.1:${socket.address().port}`, '--session-id', '77'], a.io, { signal: controller.signal, onListening: (r) => (running = r) });
    cleanups.push(async () => {
      controller.abort();
      await exited;
    });
    const bytes = new Uint8Array(await datagram);
    const note = parseNotification(bytes);
    expect(note).toMatchObject({ serverId: 'srv1', sessionId: 77, version: 12 });
    expect(Buffer.from(notificationDigest(md5, 'srv1', SECRET, new Uint8Array(0), note.trigger))).toEqual(Buffer.from(note.digest));

    // Package 1 as a device sends it; the server answers 200 and its first step: Get ./DevInfo/….
    const hdr = header({ version: '1.2', sessionId: '4D', msgId: 1, target: running!.url, source: 'IMEI:1', maxMsgSize: 16384 });
    const tree = { begin: () => ({ get: () => undefined }) } as unknown as Parameters<typeof packageOne>[0];
    const body = encodeXml({ hdr, body: { commands: packageOne(tree, 'server').map((c, i) => ({ ...c, cmdID: String(i + 1) })), final: true } });
    const answer = await fetch(running!.url, { method: 'POST', headers: { 'content-type': 'application/vnd.syncml.dm+xml' }, body });
    expect(answer.status).toBe(200);
    const reply = decodeMessage(new Uint8Array(await answer.arrayBuffer()), { tokenize: engines.syncmlTokenize });
    expect(reply.message.body.commands.map((c) => c.cmd)).toEqual(['Status', 'Status', 'Status', 'Get']);

    const ranged = await fetch(running!.server.packageUrl('fw.bin'), { headers: { range: 'bytes=4000-' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe('bytes 4000-4999/5000');
    expect((await ranged.arrayBuffer()).byteLength).toBe(1000);

    controller.abort();
    expect(await exited).toBe(0);
    const log = a.out.join('');
    expect(log).toContain('"kind":"notify","transport":"udp","sessionId":77');
    expect(log).toContain('"kind":"session","sessionId":"4D"');
    expect(log).not.toContain(SECRET);
  });
});
