/**
 * The native verifier (node:crypto) and the JS chunk (@noble/curves) give the same answer, on
 * genuine signatures and on the edge cases where Ed25519 and ECDSA implementations are known to
 * differ: non-canonical S and R, small-order and non-canonical keys (refused when the key is
 * parsed, so neither engine ever sees one), malformed DER, r or s out of range, random corruption.
 */
import { describe, expect, it } from 'vitest';
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadVerifier } from '../../agent/trust/verify.ts';
import { ClosedError, InvalidOptionsError } from '../../hal/errors.ts';
import { MockHardware, mockOptionsFromBoard } from '../../hal/mock/index.ts';
import { createNodeDevice } from '../../hal/node/index.ts';
import { createNodeSignatureHost } from '../../hal/node/signatures.ts';
import type { SignatureHost } from '../../hal/types.ts';
import { sim } from '../e2e/harness.ts';
import { ed25519 } from '@noble/curves/ed25519.js';
import { parseKey, schemeOf, type PublicKey } from '../../agent/trust/keys.ts';
import { sign } from '../../agent/trust/signing.ts';
import { TrustError } from '../../agent/trust/errors.ts';
import { TRUST_ENGINES } from './engines.ts';
import { newKey } from './fixture.ts';

const message = new TextEncoder().encode('{"_type":"timestamp"}');
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));

/** Every engine's answer for one (key, signature); the test expects them all equal. */
function answers(key: PublicKey, signature: Uint8Array, msg = message): boolean[] {
  return TRUST_ENGINES.map(({ crypto }) => crypto.verify(schemeOf(key), key.raw, msg, signature));
}

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const leBytes = (n: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 255n));
const leValue = (b: Uint8Array) => b.reduceRight((n, x) => (n << 8n) | BigInt(x), 0n);
const derInt = (n: bigint) => {
  let h = n.toString(16);
  if (h.length % 2) h = `0${h}`;
  if (parseInt(h.slice(0, 2), 16) >= 0x80) h = `00${h}`;
  return `02${(h.length / 2).toString(16).padStart(2, '0')}${h}`;
};
const derSig = (r: bigint, s: bigint) => {
  const body = derInt(r) + derInt(s);
  return bytes(`30${(body.length / 2).toString(16).padStart(2, '0')}${body}`);
};

describe('native and JS signature verifiers agree', () => {
  it('Ed25519: genuine, another message, S + L, non-canonical R, wrong lengths', () => {
    const key = parseKey(newKey('ed25519').public, 'k');
    const secret = ed25519.utils.randomSecretKey();
    const pub = parseKey({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: hex(ed25519.getPublicKey(secret)) } }, 'k');
    const sig = ed25519.sign(message, secret);
    expect(answers(pub, sig)).toEqual([true, true]);
    expect(answers(pub, sig, new TextEncoder().encode('other'))).toEqual([false, false]);
    const highS = sig.slice();
    highS.set(leBytes(leValue(sig.subarray(32)) + L), 32);
    expect(answers(pub, highS)).toEqual([false, false]);
    const ncIdentity = bytes(`ee${'ff'.repeat(30)}7f`); // y = p + 1: the identity, not canonically encoded
    expect(answers(pub, new Uint8Array([...ncIdentity, ...new Uint8Array(32)]))).toEqual([false, false]);
    expect(answers(pub, sig.subarray(0, 63))).toEqual([false, false]);
    expect(answers(pub, new Uint8Array([...sig, 0]))).toEqual([false, false]);
    expect(answers(key, sig)).toEqual([false, false]);
  });

  it('Ed25519: small-order and non-canonical keys are refused when parsed (OpenSSL would verify S = 0 for them)', () => {
    const small = [
      '0'.repeat(64), `${'0'.repeat(62)}80`, `01${'0'.repeat(62)}`, `01${'0'.repeat(60)}80`,
      '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
      `ec${'f'.repeat(60)}7f`, `ec${'f'.repeat(62)}`, `ed${'f'.repeat(60)}7f`, `ee${'f'.repeat(60)}7f`, `ff${'f'.repeat(60)}7f`,
    ];
    for (const key of small) expect(() => parseKey({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: key } }, 'k')).toThrow(TrustError);
    // what the check keeps out: OpenSSL takes (R = identity, S = 0) for the identity key, noble does not
    const identity = bytes(`01${'0'.repeat(62)}`);
    const zeroSig = new Uint8Array([...identity, ...new Uint8Array(32)]);
    const [native, js] = TRUST_ENGINES.map(({ crypto }) => crypto.verify('ed25519', identity, message, zeroSig));
    expect({ native, js }).toEqual({ native: true, js: false });
  });

  it('ECDSA P-256: OpenSSL signatures (high-S half the time), r or s out of range, malformed DER', () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const key = parseKey({ keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: pair.publicKey.export({ format: 'pem', type: 'spki' }).toString() } }, 'k');
    for (let i = 0; i < 10; i++) expect(answers(key, new Uint8Array(nodeSign('sha256', message, pair.privateKey)))).toEqual([true, true]);
    const sig = new Uint8Array(nodeSign('sha256', message, pair.privateKey));
    const rLength = sig[3]!;
    const r = BigInt(`0x${hex(sig.subarray(4, 4 + rLength))}`);
    const s = BigInt(`0x${hex(sig.subarray(6 + rLength))}`);
    expect(answers(key, derSig(r, s))).toEqual([true, true]);
    expect(answers(key, derSig(r, N - s))).toEqual([true, true]); // the other S: OpenSSL and noble (lowS: false) both accept
    for (const [badR, badS] of [[0n, s], [r, 0n], [r + N, s], [r, s + N], [N, s], [r, N]] as const) expect(answers(key, derSig(badR, badS))).toEqual([false, false]);
    const longForm = bytes(`3081${hex(sig.subarray(1))}`); // BER long-form length: not DER
    expect(answers(key, longForm)).toEqual([false, false]);
    expect(answers(key, new Uint8Array([...sig, 0]))).toEqual([false, false]);
    expect(answers(key, sig.subarray(0, sig.length - 1))).toEqual([false, false]);
    expect(answers(key, new Uint8Array(64))).toEqual([false, false]);
  });

  it('random corruption of genuine signatures: the same answer, every time', () => {
    let state = 12345;
    const next = () => (state = (state * 1103515245 + 12345) >>> 0);
    for (const kind of ['ed25519', 'ecdsa-p256'] as const) {
      const signing = newKey(kind);
      const key = parseKey(signing.public, 'k');
      const sig = bytes(sign(signing, message));
      for (let i = 0; i < 150; i++) {
        const bad = sig.slice();
        const at = next() % bad.length;
        bad[at] = bad[at]! ^ (1 << (next() % 8));
        const [native, js] = answers(key, bad);
        expect(js).toBe(native);
      }
    }
  });
});

describe('verifier order: native → JS', () => {
  const host = createNodeSignatureHost();
  const signed = (kind: 'ed25519' | 'ecdsa-p256') => {
    const signing = newKey(kind);
    return { key: parseKey(signing.public, 'k'), sig: bytes(sign(signing, message)) };
  };

  it('the host\'s verifier when it offers every scheme, JS without one or with engine js, both when it offers some', async () => {
    expect((await loadVerifier(host)).kind).toBe('native');
    expect((await loadVerifier(undefined)).kind).toBe('js');
    expect((await loadVerifier(host, 'js')).kind).toBe('js');
    const calls: string[] = [];
    const edOnly: SignatureHost = { name: 'ed25519 only', schemes: ['ed25519'], verify: (...args) => (calls.push(args[0]), host.verify(...args)) };
    const mixed = await loadVerifier(edOnly);
    expect(mixed.kind).toBe('mixed');
    for (const kind of ['ed25519', 'ecdsa-p256'] as const) {
      const { key, sig } = signed(kind);
      expect(mixed.verify(schemeOf(key), key.raw, message, sig)).toBe(true);
      expect(mixed.verify(schemeOf(key), key.raw, new TextEncoder().encode('x'), sig)).toBe(false);
    }
    expect(calls).toEqual(['ed25519', 'ed25519']); // P-256 went to the JS verifier
  });

  it('the Node HAL offers it as device.signatures: typed error for an unknown scheme, ClosedError after close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'signatures-'));
    try {
      const device = await createNodeDevice({ workDir: dir, board: sim, identity: { deviceId: 'sig-1', model: 'sim' }, log: { level: 'error' } });
      const signatures = device.signatures!;
      expect([...signatures.schemes].sort()).toEqual(['ecdsa-p256-sha256', 'ed25519']);
      const { key, sig } = signed('ecdsa-p256');
      expect(signatures.verify('ecdsa-p256-sha256', key.raw, message, sig)).toBe(true);
      expect(() => signatures.verify('rsa' as never, key.raw, message, sig)).toThrow(InvalidOptionsError);
      expect(signatures.verify('ed25519', new Uint8Array(31), message, new Uint8Array(64))).toBe(false); // a malformed key: false, no throw
      await device.close();
      expect(() => signatures.verify('ecdsa-p256-sha256', key.raw, message, sig)).toThrow(ClosedError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the mock offers one only when given, and refuses something else', () => {
    expect(new MockHardware(mockOptionsFromBoard(sim)).boot().signatures).toBeUndefined();
    expect(new MockHardware({ ...mockOptionsFromBoard(sim), signatures: host }).boot().signatures?.schemes).toEqual(host.schemes);
    expect(() => new MockHardware({ ...mockOptionsFromBoard(sim), signatures: { verify: 1 } as never })).toThrow(InvalidOptionsError);
  });
});
