/**
 * Device identity: the keystore key signs an authentication request; the reference manager keeps
 * an unknown device pending until an admin accepts its key, then issues a short-lived token.
 * Forged tokens and replayed requests are refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, stat, chmod, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MockHardware, mockOptionsFromBoard } from '../../hal/mock/index.ts';
import { createKeystore } from '../../hal/shared/keystore.ts';
import { fileSecretSlot, DEVICE_KEY_FILE } from '../../hal/node/keystore.ts';
import { AUTH_SIGNATURE_HEADER, signedAuthRequest } from '../../agent/trust/device-auth.ts';
import { DeviceAuth } from '../../server/device-auth.ts';
import { TEST_BOARD } from '../shared/hal/fixture.ts';

const nodeRandom = { bytes: (n: number) => new Uint8Array(randomBytes(n)) };

/** A fresh simulated board (its own random seed, so its own device key). */
let seed = 100;
function mockKeystore() {
  return new MockHardware({ ...mockOptionsFromBoard(TEST_BOARD), seed: ++seed }).boot().keystore!;
}

describe('device authentication', () => {
  let now = Date.UTC(2026, 11, 1);
  const auth = () => new DeviceAuth({ now: () => now, tokenTtlMs: 60_000 });
  const send = async (server: DeviceAuth, keystore = mockKeystore(), deviceId = 'dev-1') => {
    const request = await signedAuthRequest(keystore, deviceId, new Uint8Array(randomBytes(16)), now);
    return { request, answer: server.request({ [AUTH_SIGNATURE_HEADER]: request.signature }, request.body) };
  };

  it('an unknown device stays pending until an admin accepts its key; then a short-lived token', async () => {
    const server = auth();
    const keystore = mockKeystore();
    const first = await send(server, keystore);
    expect(first.answer).toMatchObject({ status: 401, body: { status: 'pending' } });
    expect((await send(server, keystore)).answer.status).toBe(401); // still pending
    const [entry] = server.list();
    expect(entry).toMatchObject({ deviceId: 'dev-1', status: 'pending' });
    expect(server.setStatus('dev-1', entry!.publicKey, 'accepted')).toBe(true);
    const accepted = await send(server, keystore);
    expect(accepted.answer.status).toBe(200);
    const token = accepted.answer.body.token!;
    expect(server.verifyToken(token)).toBe('dev-1');
    now += 61_000;
    expect(server.verifyToken(token)).toBeUndefined(); // expired
  });

  it('a rejected key gets 401; the same device id with another key is a separate, pending key', async () => {
    const server = auth();
    const a = mockKeystore();
    await send(server, a);
    server.setStatus('dev-1', server.list()[0]!.publicKey, 'rejected');
    expect((await send(server, a)).answer).toMatchObject({ status: 401, body: { status: 'rejected' } });
    expect((await send(server, mockKeystore())).answer).toMatchObject({ status: 401, body: { status: 'pending' } });
  });

  it('refuses a forged token', async () => {
    const server = auth();
    const keystore = mockKeystore();
    await send(server, keystore);
    server.setStatus('dev-1', server.list()[0]!.publicKey, 'accepted');
    const token = (await send(server, keystore)).answer.body.token!;
    const [payload, mac] = token.split('.') as [string, string];
    const other = Buffer.from(Buffer.from(payload, 'base64url').toString().replace('dev-1', 'dev-2')).toString('base64url');
    expect(server.verifyToken(`${other}.${mac}`)).toBeUndefined();
    expect(server.verifyToken(`${payload}.${Buffer.alloc(32).toString('base64url')}`)).toBeUndefined();
    expect(server.verifyToken('garbage')).toBeUndefined();
    const elsewhere = auth(); // another server's secret
    expect(elsewhere.verifyToken(token)).toBeUndefined();
  });

  it('refuses a replayed request, a request signed by another key and a stale one', async () => {
    const server = auth();
    const keystore = mockKeystore();
    const { request } = await send(server, keystore);
    expect(server.request({ [AUTH_SIGNATURE_HEADER]: request.signature }, request.body)).toMatchObject({ status: 401, body: { error: { code: 'replayed' } } });
    const forged = await signedAuthRequest(mockKeystore(), 'dev-1', new Uint8Array(16).fill(1), now);
    expect(server.request({ [AUTH_SIGNATURE_HEADER]: forged.signature }, request.body)).toMatchObject({ status: 401, body: { error: { code: 'badSignature' } } });
    const old = await signedAuthRequest(keystore, 'dev-1', new Uint8Array(16).fill(2), now - 10 * 60_000);
    expect(server.request({ [AUTH_SIGNATURE_HEADER]: old.signature }, old.body)).toMatchObject({ status: 401, body: { error: { code: 'stale' } } });
    expect(server.request({}, new TextEncoder().encode('{"deviceId":1}'))).toMatchObject({ status: 400 });
  });
});

describe('Node HAL keystore file', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is created once with mode 0600, reused, and refused when others can read it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'keystore-'));
    const file = join(dir, DEVICE_KEY_FILE);
    const first = await createKeystore(fileSecretSlot(file), nodeRandom).publicKey();
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const secret = await readFile(file);
    expect((await createKeystore(fileSecretSlot(file), nodeRandom).publicKey()).key).toEqual(first.key);
    expect(await readFile(file)).toEqual(secret);
    await chmod(file, 0o644);
    await expect(createKeystore(fileSecretSlot(file), nodeRandom).publicKey()).rejects.toThrow(/readable by other users/);
  });
});

describe('device authentication on the reference manager (HTTP)', () => {
  it('pending → admin accepts → token; the admin routes need the admin token', async () => {
    const { makeFixture, ADMIN } = await import('../server/helpers.ts');
    const { readFleetFile } = await import('../../server/fleet.ts');
    const { startServer } = await import('../../server/http.ts');
    const fixture = await makeFixture();
    const server = await startServer({ fleet: await readFleetFile(fixture.fleetFile), adminToken: 'test-admin-token-0123456789abcdef', log: () => undefined });
    try {
      const keystore = mockKeystore();
      const post = async () => {
        const request = await signedAuthRequest(keystore, 'dev-9', new Uint8Array(randomBytes(16)), Date.now());
        return fetch(`${server.url}/auth/v1/requests`, { method: 'POST', headers: { [AUTH_SIGNATURE_HEADER]: request.signature }, body: request.body });
      };
      const pending = await post();
      expect(pending.status).toBe(401);
      expect(await pending.json()).toMatchObject({ status: 'pending' });
      expect((await fetch(`${server.url}/api/auth/devices`)).status).toBe(401);
      const list = (await (await fetch(`${server.url}/api/auth/devices`, { headers: ADMIN })).json()) as { devices: { deviceId: string; publicKey: string }[] };
      const key = list.devices.find((d) => d.deviceId === 'dev-9')!.publicKey;
      const accept = await fetch(`${server.url}/api/auth/devices/dev-9/${key}`, { method: 'PUT', headers: ADMIN, body: JSON.stringify({ status: 'accepted' }) });
      expect(accept.status).toBe(200);
      const ok = await post();
      expect(ok.status).toBe(200);
      const { token } = (await ok.json()) as { token: string };
      expect(server.manager.deviceAuth.verifyToken(token)).toBe('dev-9');
    } finally {
      await server.close();
      await fixture.cleanup();
    }
  });
});
