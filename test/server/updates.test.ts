// The reference update web service in-process: import and manifest validation, pending vs
// approved for normal and test devices, inside vs outside, credentials, images with Range,
// reports counted once, admin token, journal persistence.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MANIFEST_FILE, MANIFEST_FORMAT, ManifestError, RuleError, Users, UsersFileError, createUpdateService, hashPassword, readManifestFolder } from '../../server/updates/index.ts';
import type { UpdateService } from '../../server/updates/index.ts';
import { ADMIN_TOKEN, ALICE, EXTERNAL, INTERNAL, admin, bodyBytes, checkBody, post, sha256Hex, tempDir, testService, usersJson, writeImageFolder } from './updates-fixture.ts';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir: root, cleanup } = await tempDir()));
afterEach(() => cleanup());

async function manifestIssues(folder: string): Promise<{ code: string; issues: { path: string; message: string }[] }> {
  try {
    await readManifestFolder(folder);
  } catch (error) {
    expect(error).toBeInstanceOf(ManifestError);
    return { code: (error as ManifestError).code, issues: (error as ManifestError).issues };
  }
  throw new Error('expected a ManifestError');
}

describe('manifest import', () => {
  it('reads a folder: sizes and digests computed, from-lists kept', async () => {
    const { folder, bytes } = await writeImageFolder(root, 'cab', [{ model: 'CX600', version: '4.0.2', from: ['4.0.1'] }, { model: 'CX700', version: '2' }]);
    const images = await readManifestFolder(folder);
    expect(images.map(({ model, version, size, sha256, from }) => ({ model, version, size, sha256, from }))).toEqual([
      { model: 'CX600', version: '4.0.2', size: bytes[0]!.length, sha256: sha256Hex(bytes[0]!), from: ['4.0.1'] },
      { model: 'CX700', version: '2', size: bytes[1]!.length, sha256: sha256Hex(bytes[1]!), from: undefined },
    ]);
  });

  it('a folder without manifest or with broken JSON is a typed error', async () => {
    expect((await manifestIssues(join(root, 'nowhere'))).code).toBe('noManifest');
    const { folder } = await writeImageFolder(root, 'cab', [{ model: 'M', version: '1' }]);
    await writeFile(join(folder, MANIFEST_FILE), '{"format": ');
    expect((await manifestIssues(folder)).code).toBe('badJson');
    await writeFile(join(folder, MANIFEST_FILE), JSON.stringify({ format: 'cab/9', images: [] }));
    expect((await manifestIssues(folder)).issues[0]!.path).toBe('format');
  });

  it('collects every problem of every entry, each with its path', async () => {
    const { folder } = await writeImageFolder(root, 'cab', [
      { model: 'M', version: '1' },
      { model: 'M', version: '1', file: 'again.img' },
      { model: 'M', version: '2', from: ['2'] },
      { model: 'M', version: '3', sha256: '0'.repeat(64) },
      { model: 'M', version: '4', bytes: new Uint8Array(0) },
    ]);
    const manifest = { format: MANIFEST_FORMAT, images: [
      { model: 'M', version: '1', file: 'M-1.img' },
      { model: 'M', version: '1', file: 'again.img' },
      { model: 'M', version: '2', file: 'M-2.img', from: ['2'] },
      { model: 'M', version: '3', file: 'M-3.img', sha256: '0'.repeat(64) },
      { model: 'M', version: '4', file: 'M-4.img' },
      { model: 'M', version: '5', file: '../outside.img' },
      { model: 'M', version: '6', file: 'missing.img' },
      { model: 'M', version: 'with space', file: 'M-1.img' },
      { model: 'M', version: '7', file: 'M-1.img', colour: 'red' },
    ] };
    await writeFile(join(folder, MANIFEST_FILE), JSON.stringify(manifest));
    const { code, issues } = await manifestIssues(folder);
    expect(code).toBe('badManifest');
    expect(issues.map((issue) => issue.path)).toEqual([
      'images[1]',
      'images[2].from',
      'images[3].sha256',
      'images[4].file',
      'images[5].file',
      'images[6].file',
      'images[7].version',
      'images[8].colour',
    ]);
    expect(issues[1]!.message).toMatch(/own version 2/);
    expect(issues[4]!.message).toMatch(/relative path inside the folder/);
  });

  it('concurrent imports of the same folder add each image once (copying into the store takes time)', async () => {
    const service = await testService({ dataDir: join(root, 'data') });
    const { folder } = await writeImageFolder(root, 'cab', [{ model: 'M', version: '1' }, { model: 'M', version: '2' }]);
    const results = await Promise.all([service.importFolder(folder), service.importFolder(folder), service.importFolder(folder)]);
    expect(results.map((result) => [result.imported.length, result.known.length])).toEqual([[2, 0], [0, 2], [0, 2]]);
    expect(service.rules()).toHaveLength(2);
  });

  it('a failed import changes nothing; importing the same folder twice is harmless; other bytes for a known version conflict', async () => {
    const service = await testService();
    const { folder: bad } = await writeImageFolder(root, 'bad', [{ model: 'M', version: '1' }, { model: 'M', version: '2', sha256: 'f'.repeat(64) }]);
    await expect(service.importFolder(bad)).rejects.toBeInstanceOf(ManifestError);
    expect(service.rules()).toEqual([]);

    const { folder } = await writeImageFolder(root, 'good', [{ model: 'M', version: '1' }]);
    const first = await service.importFolder(folder);
    expect(first.imported.map((rule) => [rule.id, rule.state])).toEqual([['r1', 'pending']]);
    const second = await service.importFolder(folder);
    expect(second).toMatchObject({ imported: [], known: [{ id: 'r1' }] });

    const { folder: other } = await writeImageFolder(root, 'other', [{ model: 'M', version: '1' }, { model: 'M', version: '9' }]);
    await expect(service.importFolder(other)).rejects.toBeInstanceOf(RuleError);
    expect(service.rules().map((rule) => rule.id)).toEqual(['r1']);
  });
});

describe('update rules: pending vs approved, normal vs test devices', () => {
  let service: UpdateService;
  let image: Uint8Array;
  beforeEach(async () => {
    service = await testService({ testDevices: ['phone-test'] });
    const { folder, bytes } = await writeImageFolder(root, 'cab', [{ model: 'CX600', version: '4.0.2', from: ['4.0.1'] }]);
    image = bytes[0]!;
    await service.importFolder(folder);
  });

  const ask = async (overrides: Record<string, unknown>) => (await post(service, 'check', checkBody(overrides))).answer;

  it('a pending update reaches test devices only, whatever a device claims', async () => {
    expect(await ask({})).toMatchObject({ type: 'check', downloads: 0 });
    expect((await ask({})).image).toBeUndefined();
    expect(await ask({ testDevice: true })).toMatchObject({ downloads: 0 });
    const test = await ask({ deviceId: 'phone-test' });
    expect(test).toMatchObject({ downloads: 1, image: { version: '4.0.2', size: image.length, sha256: sha256Hex(image) } });
    expect(test.image.internalUrl).toBe(`${INTERNAL}/ucupdates/v1/images/${sha256Hex(image)}`);
    expect(test.image.externalUrl).toBe(`${EXTERNAL}/ucupdates/v1/images/${sha256Hex(image)}`);
    const checks = service.journal().filter((entry) => entry.type === 'check');
    expect(checks.map((entry) => entry.type === 'check' && [entry.claimedTestDevice, entry.testDevice, entry.downloads])).toEqual([
      [false, false, 0],
      [false, false, 0],
      [true, false, 0],
      [false, true, 1],
    ]);
  });

  it('approved: every device of the model on a listed version gets it; others and the current version get downloads 0', async () => {
    service.decide('r1', 'approved');
    expect(await ask({})).toMatchObject({ downloads: 1, image: { version: '4.0.2' } });
    expect(await ask({ firmwareVersion: '4.0.2' })).toMatchObject({ downloads: 0 });
    expect(await ask({ firmwareVersion: '3.9' })).toMatchObject({ downloads: 0 });
    expect(await ask({ model: 'CX700' })).toMatchObject({ downloads: 0 });
  });

  it('rejected: nobody, test devices included, and the image is gone', async () => {
    service.decide('r1', 'rejected');
    expect(await ask({ deviceId: 'phone-test' })).toMatchObject({ downloads: 0 });
    const response = await service.handle({ method: 'GET', url: `/ucupdates/v1/images/${sha256Hex(image)}`, headers: {}, body: new Uint8Array() }, { zone: 'internal', tls: false });
    expect(response.status).toBe(404);
  });

  it('the newest import wins among matching rules; a test device sees a newer pending one before others do', async () => {
    service.decide('r1', 'approved');
    const { folder } = await writeImageFolder(root, 'cab2', [{ model: 'CX600', version: '4.0.3' }]);
    await service.importFolder(folder);
    expect(await ask({})).toMatchObject({ image: { version: '4.0.2' } });
    expect(await ask({ deviceId: 'phone-test' })).toMatchObject({ image: { version: '4.0.3' } });
    service.decide('r2', 'approved');
    expect(await ask({})).toMatchObject({ image: { version: '4.0.3' } });
    expect(await ask({ firmwareVersion: '4.0.2' })).toMatchObject({ image: { version: '4.0.3' } });
  });

  it('test devices are set by the admin', async () => {
    expect((await admin(service, 'PUT', '/test-devices', { ids: ['phone-1'] })).json).toEqual({ ids: ['phone-1'] });
    expect(await ask({})).toMatchObject({ downloads: 1 });
    expect(await ask({ deviceId: 'phone-test' })).toMatchObject({ downloads: 0 });
  });

  it('bad requests are typed CBOR errors', async () => {
    expect(await post(service, 'check', checkBody({ firmwareVersion: 7 }))).toMatchObject({ status: 400, answer: { code: 'badMessage' } });
    const response = await service.handle({ method: 'POST', url: '/ucupdates/v1/check', headers: { 'content-type': 'application/cbor' }, body: new Uint8Array([0xff, 0x00]) }, { zone: 'internal', tls: false });
    expect(response.status).toBe(400);
    const get = await service.handle({ method: 'GET', url: '/ucupdates/v1/check', headers: {}, body: new Uint8Array() }, { zone: 'internal', tls: false });
    expect(get.status).toBe(405);
  });
});

describe('inside vs outside the firewall', () => {
  let service: UpdateService;
  const lines: string[] = [];
  beforeEach(async () => {
    lines.length = 0;
    service = await testService({ log: (line) => lines.push(line) });
    const { folder } = await writeImageFolder(root, 'cab', [{ model: 'CX600', version: '4.0.2' }]);
    await service.importFolder(folder);
    service.decide('r1', 'approved');
  });

  it('inside needs no user; outside without one is refused (401, Basic challenge)', async () => {
    expect((await post(service, 'check', checkBody())).answer).toMatchObject({ downloads: 1 });
    const outside = await post(service, 'check', checkBody({ location: 'outside' }), { zone: 'external' });
    expect(outside).toMatchObject({ status: 401, answer: { code: 'signInRequired' } });
    expect(outside.headers['www-authenticate']).toMatch(/^Basic realm="ucupdates"/);
  });

  it('the device cannot talk its way inside: the listener decides', async () => {
    const outside = await post(service, 'check', checkBody({ location: 'inside' }), { zone: 'external' });
    expect(outside.status).toBe(401);
  });

  it('outside with a valid user over HTTPS: answered, and the journal names the user only', async () => {
    const answer = await post(service, 'check', checkBody({ location: 'outside' }), { zone: 'external', credentials: ALICE });
    expect(answer).toMatchObject({ status: 200, answer: { downloads: 1 } });
    expect(service.journal().at(-1)).toMatchObject({ type: 'check', zone: 'external', user: 'alice' });
  });

  it('a wrong password or an unknown user is refused the same way', async () => {
    for (const credentials of [{ ...ALICE, password: 'wrong' }, { user: 'mallory', password: ALICE.password }]) {
      const answer = await post(service, 'check', checkBody(), { zone: 'external', credentials });
      expect(answer).toMatchObject({ status: 401, answer: { code: 'badCredentials', message: 'user name or password not accepted' } });
    }
  });

  it('credentials over plain HTTP are refused unread, even correct ones; nothing of them is journaled or logged', async () => {
    const answer = await post(service, 'check', checkBody(), { zone: 'external', tls: false, credentials: ALICE });
    expect(answer).toMatchObject({ status: 403, answer: { code: 'insecureCredentials' } });
    await post(service, 'check', checkBody(), { zone: 'external', credentials: { ...ALICE, password: 'wrong' } });
    const everything = JSON.stringify(service.journal()) + lines.join('\n');
    expect(service.journal().filter((entry) => entry.type === 'refused').map((entry) => entry.type === 'refused' && entry.code)).toEqual(['insecureCredentials', 'badCredentials']);
    for (const secret of [ALICE.password, 'wrong', Buffer.from(`alice:${ALICE.password}`).toString('base64'), 'Basic']) expect(everything).not.toContain(secret);
  });

  it('the admin API does not exist outside', async () => {
    expect((await admin(service, 'GET', '', undefined, ADMIN_TOKEN, 'external')).status).toBe(404);
  });
});

describe('images', () => {
  let service: UpdateService;
  let image: Uint8Array;
  let url: string;
  beforeEach(async () => {
    service = await testService();
    const { folder, bytes } = await writeImageFolder(root, 'cab', [{ model: 'CX600', version: '4.0.2' }]);
    image = bytes[0]!;
    url = `/ucupdates/v1/images/${sha256Hex(image)}`;
    await service.importFolder(folder);
  });

  const get = (headers: Record<string, string>, zone: 'internal' | 'external' = 'internal', method = 'GET') =>
    service.handle({ method, url, headers, body: new Uint8Array() }, { zone, tls: zone === 'external' });

  it('whole, ranged, suffix, unsatisfiable and HEAD', async () => {
    const whole = await get({});
    expect(whole.status).toBe(200);
    expect(await bodyBytes(whole)).toEqual(image);
    const part = await get({ range: 'bytes=100-199' });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100-199/${image.length}`);
    expect(await bodyBytes(part)).toEqual(image.subarray(100, 200));
    const resume = await get({ range: 'bytes=1000-', 'if-range': `"sha256-${sha256Hex(image)}"` });
    expect(await bodyBytes(resume)).toEqual(image.subarray(1000));
    expect((await get({ range: 'bytes=1000-', 'if-range': '"other"' })).status).toBe(200);
    expect((await get({ range: `bytes=${image.length}-` })).status).toBe(416);
    const head = await get({}, 'internal', 'HEAD');
    expect([head.status, head.headers['content-length'], head.headers['accept-ranges']]).toEqual([200, String(image.length), 'bytes']);
    expect(service.journal().filter((entry) => entry.type === 'download').map((entry) => entry.type === 'download' && entry.status)).toEqual([200, 206, 206, 200, 416, 200]);
  });

  it('outside, only with a user; unknown digests are 404', async () => {
    expect((await get({}, 'external')).status).toBe(401);
    const withUser = await get({ authorization: `Basic ${Buffer.from(`alice:${ALICE.password}`).toString('base64')}`, range: 'bytes=0-9' }, 'external');
    expect(withUser.status).toBe(206);
    expect(await bodyBytes(withUser)).toEqual(image.subarray(0, 10));
    const unknown = await service.handle({ method: 'GET', url: `/ucupdates/v1/images/${'0'.repeat(64)}`, headers: {}, body: new Uint8Array() }, { zone: 'internal', tls: false });
    expect(unknown.status).toBe(404);
  });
});

describe('result reports', () => {
  it('are counted once per report id, resends are acknowledged as duplicates', async () => {
    const service = await testService();
    const report = { type: 'report', protocol: 1, reportId: 'phone-1/1', deviceId: 'phone-1', model: 'CX600', fromVersion: '4.0.1', toVersion: '4.0.2', runningVersion: '4.0.2', outcome: 'installed', utcMs: 1 };
    expect((await post(service, 'report', report)).answer).toEqual({ type: 'ack', reportId: 'phone-1/1', duplicate: false });
    expect((await post(service, 'report', report)).answer).toEqual({ type: 'ack', reportId: 'phone-1/1', duplicate: true });
    expect(service.journal().filter((entry) => entry.type === 'report')).toHaveLength(1);
    expect(service.journal().filter((entry) => entry.type === 'duplicateReport')).toHaveLength(1);
  });
});

describe('admin API', () => {
  it('needs the admin token on every route', async () => {
    const service = await testService();
    for (const [method, path] of [['GET', ''], ['POST', '/import'], ['POST', '/rules/r1/approve'], ['GET', '/journal'], ['PUT', '/test-devices']] as const) {
      expect((await admin(service, method, path, {}, null)).status).toBe(401);
      expect((await admin(service, method, path, {}, 'x'.repeat(28))).status).toBe(401);
    }
    expect(service.journal()).toEqual([]);
  });

  it('imports, lists, approves, rejects and shows the journal', async () => {
    const service = await testService();
    const { folder } = await writeImageFolder(root, 'cab', [{ model: 'CX600', version: '4.0.2' }]);
    const imported = await admin(service, 'POST', '/import', { folder });
    expect(imported).toMatchObject({ status: 201, json: { imported: [{ id: 'r1', state: 'pending' }] } });
    expect((await admin(service, 'POST', '/rules/r1/approve')).json).toMatchObject({ id: 'r1', state: 'approved' });
    expect((await admin(service, 'POST', '/rules/r9/approve')).status).toBe(404);
    expect((await admin(service, 'POST', '/import', { folder: join(root, 'none') })).json.error.code).toBe('noManifest');
    expect((await admin(service, 'GET', '')).json.rules).toHaveLength(1);
    expect((await admin(service, 'GET', '/journal?type=decide')).json).toMatchObject([{ type: 'decide', id: 'r1', state: 'approved' }]);
  });
});

describe('persistence', () => {
  it('imports, decisions, test devices and report ids survive a restart; images are kept in the store', async () => {
    const dataDir = join(root, 'data');
    const first = await testService({ dataDir });
    const { folder, bytes } = await writeImageFolder(root, 'cab', [{ model: 'CX600', version: '4.0.2' }, { model: 'CX600', version: '4.0.3', from: ['9'] }]);
    await first.importFolder(folder);
    first.decide('r1', 'approved');
    first.setTestDevices(['phone-test']);
    const report = { type: 'report', protocol: 1, reportId: 'x1', deviceId: 'phone-1', model: 'CX600', fromVersion: '4.0.1', toVersion: '4.0.2', runningVersion: '4.0.2', outcome: 'installed', utcMs: 1 };
    await post(first, 'report', report);
    await first.flush();
    await cleanupFolder(folder);

    const second = await testService({ dataDir });
    expect(second.rules().map((rule) => [rule.id, rule.state])).toEqual([['r1', 'approved'], ['r2', 'pending']]);
    expect(second.testDevices()).toEqual(['phone-test']);
    // Test devices given at start win over the replayed ones.
    expect((await testService({ dataDir, testDevices: ['phone-9'] })).testDevices()).toEqual(['phone-9']);
    expect((await post(second, 'report', report)).answer.duplicate).toBe(true);
    const response = await second.handle({ method: 'GET', url: `/ucupdates/v1/images/${sha256Hex(bytes[0]!)}`, headers: {}, body: new Uint8Array() }, { zone: 'internal', tls: false });
    expect(await bodyBytes(response)).toEqual(bytes[0]);
  });
});

async function cleanupFolder(folder: string): Promise<void> {
  const { rm } = await import('node:fs/promises');
  await rm(folder, { recursive: true });
}

describe('users file', () => {
  it('verifies scrypt hashes; unknown users and wrong passwords fail', async () => {
    const users = Users.parse(await usersJson());
    expect(await users.verify(ALICE)).toBe(true);
    expect(await users.verify({ ...ALICE, password: `${ALICE.password} ` })).toBe(false);
    expect(await users.verify({ user: 'bob', password: ALICE.password })).toBe(false);
  });

  it.each([
    ['not an object', []],
    ['extra keys', { users: {}, admins: {} }],
    ['a plain password', { users: { alice: 'hunter2-plain' } }],
    ['a bad cost', { users: { alice: 'scrypt$1000$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA' } }],
    ['a colon in a name', { users: { 'a:b': 'x' } }],
  ])('refuses %s without quoting secrets', (_name, json) => {
    expect(() => Users.parse(json)).toThrow(UsersFileError);
    try {
      Users.parse(json);
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
    }
  });

  it('a file that is not JSON does not echo its content', async () => {
    const file = join(root, 'users.json');
    await writeFile(file, '{"users": {"alice": "secret-value" ');
    await expect(Users.read(file)).rejects.toThrow(UsersFileError);
    await expect(Users.read(file)).rejects.not.toThrow(/secret-value/);
  });

  it('accepted credentials are remembered for a while (no second scrypt run); failures never are', async () => {
    const users = Users.parse(await usersJson());
    let now = 1_000_000;
    users.now = () => now;
    expect(await users.verify(ALICE)).toBe(true);
    expect(await users.verify(ALICE)).toBe(true);
    expect(users.derivations).toBe(1);
    expect(await users.verify({ ...ALICE, password: 'wrong' })).toBe(false);
    expect(await users.verify({ ...ALICE, password: 'wrong' })).toBe(false);
    expect(users.derivations).toBe(3);
    expect(await users.verify({ user: 'alice\0correct', password: 'horse battery staple' })).toBe(false);
    now += 5 * 60_000 + 1;
    expect(await users.verify(ALICE)).toBe(true);
    expect(users.derivations).toBe(5);
  });

  it('hashPassword lines verify', async () => {
    const line = await hashPassword('pw', { N: 1024 });
    expect(line).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(await Users.parse({ users: { u: line } }).verify({ user: 'u', password: 'pw' })).toBe(true);
  });
});

describe('options', () => {
  it.each([
    [{ internalOrigin: 'updates.corp' }, /internalOrigin/],
    [{ externalOrigin: 'https://x.test/path' }, /externalOrigin/],
    [{ adminToken: 'short' }, /adminToken/],
  ])('refuses %o', (patch, message) => {
    expect(() => createUpdateService({ internalOrigin: INTERNAL, externalOrigin: EXTERNAL, adminToken: ADMIN_TOKEN, ...patch })).toThrow(message);
  });
});
