// `dm-agent updates-server`: start with an import, the admin token file, a users file; the
// discovery record it prints; --hash-password; usage errors.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../cli/commands/updates-server.ts';
import { parseDiscoveryRecords } from '../../agent/firmware/messages.ts';
import { UpdateClient } from '../../agent/firmware/client.ts';
import { createNodeNet } from '../../hal/node/net.ts';
import { Users, type RunningUpdateServer } from '../../server/updates/index.ts';
import { generateCertificates } from '../support/tls.ts';
import { ALICE, tempDir, usersJson, writeImageFolder } from './updates-fixture.ts';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir: root, cleanup } = await tempDir()));
afterEach(() => cleanup());

function capture(): { io: { stdout: (t: string) => void; stderr: (t: string) => void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (text) => out.push(text), stderr: (text) => err.push(text) }, out, err };
}

describe('dm-agent updates-server', () => {
  it('starts, imports, creates a 0600 admin token, prints the discovery record, answers, and stops on abort', async () => {
    const { folder } = await writeImageFolder(root, 'cab', [{ model: 'CX600', version: '4.0.2' }]);
    const usersFile = join(root, 'users.json');
    await writeFile(usersFile, JSON.stringify(await usersJson()));
    const dataDir = join(root, 'data');
    const { io, out, err } = capture();
    const abort = new AbortController();
    let running: RunningUpdateServer | undefined;
    const listening = new Promise<void>((resolve) => {
      void run(['--data-dir', dataDir, '--import', folder, '--users', usersFile, '--test-devices', 'phone-test', '--quiet'], io, {
        signal: abort.signal,
        onListening: (server) => {
          running = server;
          resolve();
        },
      }).then((code) => out.push(`exit ${code}`));
    });
    await listening;
    const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    expect((await stat(join(dataDir, 'admin-token'))).mode & 0o777).toBe(0o600);
    expect(out.join('')).toContain(`admin token created in ${join(dataDir, 'admin-token')}`);
    expect(out.join('')).not.toContain(token);
    const record = /TXT (".*")\n/.exec(out.join(''))![1]!;
    const urls = parseDiscoveryRecords([JSON.parse(`[${record.replaceAll('" "', '","')}]`)]);
    expect(urls).toEqual(running!.service.serviceUrls());

    const net = createNodeNet();
    try {
      const client = new UpdateClient({ net, allowInsecure: true }); // loopback, plain HTTP
      const identity = { deviceId: 'phone-test', model: 'CX600', hardwareId: 'h', firmwareVersion: '4.0.1' };
      expect(await client.check({ urls, location: 'inside', identity, testDevice: true })).toMatchObject({ kind: 'update', image: { version: '4.0.2' } });
    } finally {
      net.close();
    }
    const rules = await fetch(`${running!.internalUrl}/api/updates`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await rules.json()) as { rules: unknown }).rules).toMatchObject([{ id: 'r1', state: 'pending' }]);

    abort.abort();
    await expect.poll(() => out.at(-1)).toBe('exit 0');
    expect(err).toEqual([]);
  });

  it('--tls-cert/--tls-key: both listeners on HTTPS; a signed-in user checks from outside', async () => {
    const certs = await generateCertificates();
    await writeFile(join(root, 'cert.pem'), certs.cert);
    await writeFile(join(root, 'key.pem'), certs.key);
    const usersFile = join(root, 'users.json');
    await writeFile(usersFile, JSON.stringify(await usersJson()));
    const { io, out } = capture();
    const abort = new AbortController();
    const running = await new Promise<RunningUpdateServer>((resolve) => {
      void run(['--data-dir', join(root, 'data'), '--users', usersFile, '--tls-cert', join(root, 'cert.pem'), '--tls-key', join(root, 'key.pem'), '--quiet'], io, { signal: abort.signal, onListening: resolve }).then((code) =>
        out.push(`exit ${code}`),
      );
    });
    expect([running.internalUrl, running.externalUrl].every((url) => url.startsWith('https://'))).toBe(true);
    expect(out.join('')).not.toContain('warning');
    const net = createNodeNet({ ca: certs.ca });
    try {
      const client = new UpdateClient({ net, allowInsecure: true }); // loopback, plain HTTP
      const identity = { deviceId: 'p', model: 'CX600', hardwareId: 'h', firmwareVersion: '1' };
      expect(await client.check({ urls: running.service.serviceUrls(), location: 'outside', identity, testDevice: false, user: ALICE })).toMatchObject({ kind: 'upToDate', zone: 'external' });
      expect(await client.check({ urls: running.service.serviceUrls(), location: 'inside', identity, testDevice: false })).toMatchObject({ kind: 'upToDate', zone: 'internal' });
    } finally {
      net.close();
    }
    abort.abort();
    await expect.poll(() => out.at(-1)).toBe('exit 0');
  });

  it('--hash-password prints a line the users file accepts', async () => {
    const { io, out } = capture();
    expect(await run(['--hash-password'], io, { readStdin: async () => 'pw with spaces\n' })).toBe(0);
    const line = out.join('').trim();
    expect(line).not.toContain('pw with spaces');
    expect(await Users.parse({ users: { u: line } }).verify({ user: 'u', password: 'pw with spaces' })).toBe(true);
  });

  it.each([
    [[], /--data-dir DIR is required/],
    [['--data-dir', 'x', '--internal-port', '70000'], /--internal-port must be an integer/],
    [['--data-dir', 'x', '--tls-cert', 'a'], /--tls-cert and --tls-key go together/],
    [['--data-dir', 'x', '--bogus'], /unknown option --bogus/],
  ])('usage error %j', async (args, message) => {
    const { io, err } = capture();
    expect(await run(args, io)).toBe(2);
    expect(err.join('')).toMatch(message);
  });

  it('a bad import folder or users file stops the start with a typed message', async () => {
    const { io, err } = capture();
    expect(await run(['--data-dir', join(root, 'd1'), '--import', join(root, 'none')], io)).toBe(2);
    expect(err.join('')).toMatch(/manifest\.json: cannot read/);
    const usersFile = join(root, 'users.json');
    await writeFile(usersFile, JSON.stringify({ users: { alice: ALICE.password } }));
    const second = capture();
    expect(await run(['--data-dir', join(root, 'd2'), '--users', usersFile], second.io)).toBe(2);
    expect(second.err.join('')).toMatch(/users\.alice: expected "scrypt/);
    expect(second.err.join('')).not.toContain(ALICE.password);
  });
});
