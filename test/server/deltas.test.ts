/**
 * The reference servers' delta production (server/deltas.ts) with the real xdelta3 and bsdiff
 * (installed by test/setup/system-deps.sh): patches our decoders apply to the exact target, made
 * once and reused from the cache (even without the tool), no offer without the tool or when a
 * patch saves too little; the update service's check answer offers the image as a delta from the
 * version the device reports and serves the patch with Range; the manager's instruction offers a
 * signed patch URL only for the bytes the device reported installed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor } from '../../agent/util/cbor.ts';
import { concatBytes } from '../../agent/util/bytes.ts';
import { revisedBytes, xorshiftBytes } from '../../cli/demo/fixture.ts';
import { DeltaMaker, type DeltaSide } from '../../server/deltas.ts';
import { createManager, loadFleet } from '../../server/index.ts';
import { applyWith } from '../delta/support.ts';
import { ENGINES } from '../wasm/engines.ts';
import { connectionReport, instructionRequest } from './helpers.ts';
import { checkBody, post, sha256Hex, tempDir, testService, writeImageFolder } from './updates-fixture.ts';

let temp: { dir: string; cleanup(): Promise<void> };
beforeAll(async () => {
  temp = await tempDir('dm-deltas-');
});
afterAll(async () => temp.cleanup());

async function side(name: string, bytes: Uint8Array): Promise<DeltaSide> {
  const path = join(temp.dir, name);
  await writeFile(path, bytes);
  return { path, sha256: sha256Hex(bytes), size: bytes.length };
}

const read = async (path: string) => new Uint8Array(await (await import('node:fs/promises')).readFile(path));

describe('DeltaMaker with the real tools', () => {
  const sizes = [1, 4096, 200_000, 1_500_000];
  for (const format of ['vcdiff', 'bsdiff'] as const) {
    it(`${format}: patches of revised images apply with both our engines to the exact target`, async () => {
      const maker = new DeltaMaker({ dir: join(temp.dir, `made-${format}`), formats: [format], maxRatio: 2 });
      for (const [index, size] of sizes.entries()) {
        const old = xorshiftBytes(size, 11 + index);
        const next = revisedBytes(old, size + (index % 2 === 0 ? 333 : -Math.floor(size / 3)), 40 + index);
        const made = await maker.delta(await side(`${format}-old-${index}`, old), await side(`${format}-new-${index}`, next));
        expect(made, `${format} ${size}`).toBeDefined();
        const patch = await read(made!.path);
        expect(sha256Hex(patch)).toBe(made!.sha256);
        expect(patch.length).toBe(made!.size);
        for (const engine of ENGINES) {
          const applied = await applyWith(engine, old, patch, { format });
          expect(sha256Hex(applied.output), `${format} ${size} ${engine}`).toBe(sha256Hex(next));
        }
        if (size >= 200_000) expect(made!.size).toBeLessThan(next.length / 5);
      }
    }, 120_000);
  }

  it('makes a patch once: the cached file serves later makers, even without the tool', async () => {
    const dir = join(temp.dir, 'cached');
    const old = await side('c-old', xorshiftBytes(50_000, 1));
    const next = await side('c-new', revisedBytes(xorshiftBytes(50_000, 1), 50_000, 2));
    const first = new DeltaMaker({ dir, formats: ['vcdiff'] });
    const [a, b] = await Promise.all([first.delta(old, next), first.delta(old, next)]);
    expect(a).toBeDefined();
    expect(b).toEqual(a);
    const lines: string[] = [];
    const toolless = new DeltaMaker({ dir, formats: ['vcdiff'], tools: { vcdiff: '/nonexistent/xdelta3' }, log: (line) => lines.push(line) });
    expect(await toolless.delta(old, next)).toEqual(a);
    expect(toolless.byDigest(a!.sha256)).toEqual(a);
    expect(lines).toEqual([]);
  });

  it('a patch that takes long is not waited for: that answer gets the full artifact, later ones the patch', async () => {
    // A command, not a script file: executing a file just written can race with forks (ETXTBSY).
    const slow = ['/bin/sh', '-c', 'sleep 1; exec xdelta3 "$@"', 'xdelta3'];
    const lines: string[] = [];
    const maker = new DeltaMaker({ dir: join(temp.dir, 'slow'), formats: ['vcdiff'], tools: { vcdiff: slow }, answerWithinMs: 100, log: (line) => lines.push(line) });
    const old = await side('s-old', xorshiftBytes(20_000, 7));
    const next = await side('s-new', revisedBytes(xorshiftBytes(20_000, 7), 20_000, 8));
    expect(await maker.delta(old, next)).toBeUndefined();
    expect(lines.join()).toMatch(/still being made/);
    const made = await maker.make(old, next, 'vcdiff'); // the same run, finishing
    expect(made).toBeDefined();
    expect(await maker.delta(old, next)).toEqual(made);
  });

  it('no tool, or a patch that saves too little: no delta (the full artifact is offered)', async () => {
    const lines: string[] = [];
    const missing = new DeltaMaker({ dir: join(temp.dir, 'missing'), tools: { vcdiff: '/nonexistent/xdelta3', bsdiff: '/nonexistent/bsdiff' }, log: (line) => lines.push(line) });
    const old = await side('m-old', xorshiftBytes(10_000, 3));
    const next = await side('m-new', revisedBytes(xorshiftBytes(10_000, 3), 10_000, 4));
    expect(await missing.delta(old, next)).toBeUndefined();
    expect(lines.join('\n')).toMatch(/xdelta3 is not installed[\s\S]*bsdiff is not installed/);
    const unrelated = new DeltaMaker({ dir: join(temp.dir, 'unrelated'), formats: ['vcdiff'] });
    expect(await unrelated.delta(await side('u-old', xorshiftBytes(20_000, 5)), await side('u-new', xorshiftBytes(20_000, 6)))).toBeUndefined();
    expect(await unrelated.delta(old, old)).toBeUndefined(); // same bytes: nothing to patch
  });
});

describe('update service: images offered as deltas', () => {
  it('offers the image as a patch from the version the device runs, serves it with Range; none for an unknown version', async () => {
    const source = xorshiftBytes(30_000, 21);
    const target = revisedBytes(source, 31_000, 22);
    const { folder } = await writeImageFolder(temp.dir, 'cab-delta', [
      { model: 'CX600', version: '4.1.0', from: ['4.0.1', '3.9.0'], bytes: target },
      { model: 'CX600', version: '4.0.1', from: ['0.0.0'], bytes: source },
    ]);
    const service = await testService({ deltas: new DeltaMaker({ dir: join(temp.dir, 'svc-deltas') }) });
    const { imported } = await service.importFolder(folder);
    service.decide(imported[0]!.id, 'approved');
    const { status, answer } = await post(service, 'check', checkBody());
    expect(status).toBe(200);
    const delta = answer.image.delta;
    expect(delta).toMatchObject({ format: 'vcdiff', sourceVersion: '4.0.1', sourceSize: source.length, sourceSha256: sha256Hex(source) });
    expect(delta.internalUrl).toBe(`${service.serviceUrls().internal}/deltas/${delta.sha256}`);
    const get = (url: string, headers: Record<string, string> = {}) => service.handle({ method: 'GET', url: url.replace(/^https?:\/\/[^/]+/, ''), headers, body: new Uint8Array() }, { zone: 'internal', tls: false });
    const whole = await get(delta.internalUrl);
    const bytes = await collect(whole.body);
    expect(sha256Hex(bytes)).toBe(delta.sha256);
    const applied = await applyWith('js', source, bytes);
    expect(sha256Hex(applied.output)).toBe(answer.image.sha256);
    const tail = await get(delta.internalUrl, { range: 'bytes=10-' });
    expect(tail.status).toBe(206);
    expect(await collect(tail.body)).toEqual(bytes.subarray(10));
    expect((await get(`${service.serviceUrls().internal}/deltas/${'0'.repeat(64)}`)).status).toBe(404);
    // A device on a version the service has no image of: the full image only.
    const other = await post(service, 'check', checkBody({ firmwareVersion: '3.9.0' }));
    expect(other.answer.image.version).toBe('4.1.0');
    expect(other.answer.image.delta).toBeUndefined();
  });
});

describe('manager: packages offered as deltas', () => {
  it('a signed patch URL for the version the device reported installed (with its digest); none otherwise', async () => {
    const dir = join(temp.dir, 'fleet');
    await mkdir(join(dir, 'artifacts'), { recursive: true });
    const v1 = xorshiftBytes(40_000, 31);
    const v2 = revisedBytes(v1, 42_000, 32);
    await writeFile(join(dir, 'artifacts', 'app-1.bin'), v1);
    await writeFile(join(dir, 'artifacts', 'app-2.bin'), v2);
    const post = { command: '/bin/true', args: [], timeoutMs: 1000 };
    const fleet = await loadFleet(
      {
        packages: { app: { '1.0.0': { file: 'artifacts/app-1.bin', postInstall: post }, '2.0.0': { file: 'artifacts/app-2.bin', postInstall: post } } },
        groups: { g: { packages: [{ name: 'app', version: '2.0.0' }] } },
        devices: { d1: { groups: ['g'] }, d2: { groups: ['g'] } },
      },
      dir,
    );
    const manager = createManager({ fleet, address: 'http://manager.test', deviceAuth: 'off', deltas: new DeltaMaker({ dir: join(temp.dir, 'mgr-deltas') }) });
    const call = async (endpoint: string, body: unknown) => {
      const answer = await manager.handle({ method: 'POST', url: `/dm/v1/${endpoint}`, headers: { 'content-type': 'application/cbor' }, body: encodeCbor(body) });
      return { status: answer.status, body: decodeCbor(answer.body as Uint8Array) as any };
    };
    const counter = Math.floor(manager.utcMs() / 1000);
    await call('connection', connectionReport('d1', counter, { installed: [{ name: 'app', version: '1.0.0', digest: sha256Hex(v1) }] }));
    const instruction = await call('instruction', instructionRequest('d1', 'app', '2.0.0', counter));
    expect(instruction.status).toBe(200);
    const delta = instruction.body.delta;
    expect(delta).toMatchObject({ format: 'vcdiff', sourceVersion: '1.0.0', sourceSha256: sha256Hex(v1), sourceSize: v1.length });
    const path = delta.url.replace('http://manager.test', '');
    const fetched = await manager.handle({ method: 'GET', url: path, headers: {}, body: new Uint8Array() });
    expect(fetched.status).toBe(200);
    const patch = await collect(fetched.body);
    expect(sha256Hex((await applyWith('js', v1, patch)).output)).toBe(sha256Hex(v2));
    const forged = await manager.handle({ method: 'GET', url: path.replace(/sig=./, 'sig=A'), headers: {}, body: new Uint8Array() });
    expect(forged.status).toBe(403);
    // Another device reported other bytes under the same version: no patch is made for them.
    await call('connection', connectionReport('d2', counter, { installed: [{ name: 'app', version: '1.0.0', digest: '0'.repeat(64) }] }));
    expect((await call('instruction', instructionRequest('d2', 'app', '2.0.0', counter))).body.delta).toBeUndefined();
  });
});

async function collect(body: unknown): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return body;
  const parts: Uint8Array[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) parts.push(chunk);
  return concatBytes(parts);
}
