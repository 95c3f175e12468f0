import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, SecretFileError, bearerHeader, bearerToken, checkBearer, generateSecret, loadOrCreateSecretFile, readSecretFile, secretsEqual } from '../../server/auth.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dm-auth-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('secrets', () => {
  it('generates distinct 43-character base64url secrets', () => {
    const a = generateSecret();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(generateSecret()).not.toBe(a);
  });

  it('compares exactly, whatever the lengths', () => {
    const secret = generateSecret();
    expect(secretsEqual(secret, secret)).toBe(true);
    expect(secretsEqual(`${secret}x`, secret)).toBe(false);
    expect(secretsEqual(secret.slice(1), secret)).toBe(false);
    expect(secretsEqual('', secret)).toBe(false);
  });

  it('reads bearer tokens and refuses missing or wrong ones with a typed 401 that never echoes the token', () => {
    const secret = generateSecret();
    expect(bearerToken(bearerHeader(secret))).toBe(secret);
    expect(bearerToken({ authorization: `bearer  ${secret} ` })).toBe(secret);
    expect(bearerToken({ authorization: `Basic ${secret}` })).toBeUndefined();
    expect(() => checkBearer(bearerHeader(secret), secret, 'test')).not.toThrow();
    for (const headers of [{}, { authorization: 'Bearer wrong-token-wrong-token' }]) {
      let error: unknown;
      try {
        checkBearer(headers, secret, 'test');
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(AuthError);
      expect(error).toMatchObject({ status: 401, code: 'unauthorized', headers: { 'www-authenticate': 'Bearer realm="test"' } });
      expect((error as Error).message).not.toContain('wrong-token');
    }
  });
});

describe('secret files', () => {
  it('creates the file once with mode 0600, then reads it back', async () => {
    const file = join(dir, 'sub', 'admin-token');
    const first = loadOrCreateSecretFile(file);
    expect(first.created).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, 'utf8')).trim()).toBe(first.secret);
    expect(loadOrCreateSecretFile(file)).toEqual({ secret: first.secret, created: false });
  });

  it('refuses files that are open to others, missing, short or not text — naming the file, not the content', async () => {
    const file = join(dir, 'token');
    await writeFile(file, 'a-perfectly-fine-secret\n', { mode: 0o644 });
    await chmod(file, 0o644);
    expect(() => readSecretFile(file)).toThrow(/chmod 600/);
    await chmod(file, 0o600);
    expect(readSecretFile(file)).toBe('a-perfectly-fine-secret');
    await writeFile(file, 'short\n');
    expect(() => readSecretFile(file)).toThrow(SecretFileError);
    await writeFile(file, 'has a space in it somewhere\n');
    expect(() => readSecretFile(file)).toThrow(/printable ASCII/);
    expect(() => readSecretFile(join(dir, 'nope'))).toThrow(/cannot open: ENOENT/);
    try {
      readSecretFile(file);
    } catch (error) {
      expect((error as Error).message).not.toContain('space in it');
    }
  });
});
