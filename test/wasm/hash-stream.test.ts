/**
 * Streaming behaviour, against node:crypto: any chunk split gives the same digest, states
 * exported mid-stream resume on either engine, interleaved hashers stay independent, and bad
 * states or calls fail with typed errors.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../agent/util/bytes.ts';
import { HashError, HASH_STATE_SIZE, type HashAlgorithm } from '../../wasm/index.ts';
import { ENGINES, HASH_ENGINES, engines } from './engines.ts';

const ALGORITHMS: HashAlgorithm[] = ['sha256', 'md5'];
const reference = (algorithm: HashAlgorithm, data: Uint8Array) => createHash(algorithm).update(data).digest('hex');

/** Data plus cut points, so the same bytes arrive in arbitrary chunks (empty ones included). */
const chunkedData = fc
  .tuple(fc.uint8Array({ minLength: 0, maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 12 }))
  .map(([data, cuts]) => {
    const points = [0, ...cuts.map((c) => c % (data.length + 1)).sort((a, b) => a - b), data.length];
    const chunks: Uint8Array[] = [];
    for (let i = 1; i < points.length; i++) chunks.push(data.subarray(points[i - 1], points[i]));
    return { data, chunks };
  });

describe.each(HASH_ENGINES)('streaming hash (%s engine)', (variant) => {
  it.each(ALGORITHMS)('%s: random data in random chunks equals node:crypto', async (algorithm) => {
    const e = await engines(variant);
    fc.assert(
      fc.property(chunkedData, ({ data, chunks }) => {
        const h = e.createHash(algorithm);
        for (const chunk of chunks) h.update(chunk);
        expect(h.bytesHashed).toBe(data.length);
        expect(toHex(h.digest())).toBe(reference(algorithm, data));
        expect(toHex(e.hash(algorithm, data))).toBe(reference(algorithm, data));
      }),
      { numRuns: 150 },
    );
  });

  it('chunks larger than the WASM input window (64 KiB) and odd sizes', async () => {
    const e = await engines(variant);
    const data = new Uint8Array(1_000_003).map((_, i) => (i * 31) ^ (i >> 8));
    for (const algorithm of ALGORITHMS) {
      const h = e.createHash(algorithm);
      h.update(data.subarray(0, 65_535));
      h.update(data.subarray(65_535, 300_001));
      h.update(data.subarray(300_001));
      expect(toHex(h.digest())).toBe(reference(algorithm, data));
    }
  });

  it('interleaved hashers do not disturb each other', async () => {
    const e = await engines(variant);
    fc.assert(
      fc.property(chunkedData, chunkedData, ({ data: a, chunks: ca }, { data: b, chunks: cb }) => {
        const ha = e.createHash('sha256');
        const hb = e.createHash('md5');
        const hc = e.createHash('sha256');
        for (let i = 0; i < Math.max(ca.length, cb.length); i++) {
          if (ca[i]) ha.update(ca[i] as Uint8Array);
          if (cb[i]) hb.update(cb[i] as Uint8Array);
          if (cb[i]) hc.update(cb[i] as Uint8Array);
          if (i === 1) ha.exportState(); // exporting must not disturb either
        }
        expect(toHex(hb.digest())).toBe(reference('md5', b));
        expect(toHex(ha.digest())).toBe(reference('sha256', a));
        expect(toHex(hc.digest())).toBe(reference('sha256', b));
      }),
      { numRuns: 60 },
    );
  });

  it('finished hashers and bad input fail with typed errors', async () => {
    const e = await engines(variant);
    const h = e.createHash('sha256');
    h.update(new Uint8Array([1, 2, 3]));
    h.digest();
    expect(h.bytesHashed).toBe(3);
    for (const call of [() => h.update(new Uint8Array(1)), () => h.digest(), () => h.exportState()]) {
      expect(call).toThrow(HashError);
      expect(call).toThrow(expect.objectContaining({ code: 'finished' }));
    }
    expect(() => e.createHash('sha1' as HashAlgorithm)).toThrow(expect.objectContaining({ code: 'invalidInput' }));
    expect(() => e.createHash('sha256').update('text' as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: 'invalidInput' }));
  });
});

describe('exported hash state', () => {
  const pairs = HASH_ENGINES.flatMap((from) => HASH_ENGINES.map((to) => [from, to] as const));

  it.each(pairs)('%s → %s: resume mid-stream gives the same digest', async (fromVariant, toVariant) => {
    const from = await engines(fromVariant);
    const to = await engines(toVariant);
    fc.assert(
      fc.property(fc.constantFrom(...ALGORITHMS), chunkedData, fc.nat(), (algorithm, { data, chunks }, at) => {
        const split = chunks.length === 0 ? 0 : at % chunks.length;
        const first = from.createHash(algorithm);
        for (const chunk of chunks.slice(0, split)) first.update(chunk);
        const state = first.exportState();
        expect(state).toBeInstanceOf(Uint8Array);
        expect(state.length).toBe(HASH_STATE_SIZE);
        const resumed = to.createHash(algorithm, state);
        expect(resumed.bytesHashed).toBe(first.bytesHashed);
        for (const chunk of chunks.slice(split)) resumed.update(chunk);
        expect(toHex(resumed.digest())).toBe(reference(algorithm, data));
        // The exporting hasher is unaffected and can go on.
        for (const chunk of chunks.slice(split)) first.update(chunk);
        expect(toHex(first.digest())).toBe(reference(algorithm, data));
      }),
      { numRuns: 40 },
    );
  });

  it('both engines export identical bytes for identical input', async () => {
    const [wasm, js] = await Promise.all(ENGINES.map((variant) => engines(variant)));
    fc.assert(
      fc.property(fc.constantFrom(...ALGORITHMS), fc.uint8Array({ maxLength: 500 }), (algorithm, data) => {
        const a = wasm!.createHash(algorithm);
        const b = js!.createHash(algorithm);
        a.update(data);
        b.update(data);
        expect(toHex(a.exportState())).toBe(toHex(b.exportState()));
      }),
      { numRuns: 100 },
    );
  });

  it.each(ENGINES)('%s: corrupt, truncated or foreign states are refused with invalidState', async (variant) => {
    const e = await engines(variant);
    const h = e.createHash('sha256');
    h.update(new Uint8Array(100).fill(7));
    const state = h.exportState();
    const flipped = state.slice();
    flipped[20] = (flipped[20] as number) ^ 1;
    const bad: unknown[] = [flipped, state.subarray(0, 100), new Uint8Array(HASH_STATE_SIZE), [...state], 'state'];
    for (const candidate of bad) {
      expect(() => e.createHash('sha256', candidate as Uint8Array)).toThrow(expect.objectContaining({ name: 'HashError', code: 'invalidState' }));
    }
    expect(() => e.createHash('md5', state)).toThrow(expect.objectContaining({ code: 'invalidState' }));
  });
});
