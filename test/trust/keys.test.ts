/**
 * Keys and signatures, cross-checked with OpenSSL through node:crypto both ways: what we sign,
 * Node verifies; what Node signs (DER, high-S allowed), we verify, with both signature engines
 * (the Node HAL's native verifier and the JS chunk).
 */
import { describe, expect, it } from 'vitest';
import { createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { parseKey, verifySignature } from '../../agent/trust/keys.ts';
import { sign } from '../../agent/trust/signing.ts';
import { TrustError } from '../../agent/trust/errors.ts';
import { TRUST_ENGINES } from './engines.ts';
import { newKey } from './fixture.ts';

const message = new TextEncoder().encode('{"_type":"targets"}');

describe.each(TRUST_ENGINES)('trust keys, $name verifier', ({ crypto: { verify } }) => {
  it('Ed25519 and P-256 signatures verify, and fail on another message or key', () => {
    for (const kind of ['ed25519', 'ecdsa-p256'] as const) {
      const key = newKey(kind);
      const pub = parseKey(key.public, 'k');
      const sig = sign(key, message);
      expect(verifySignature(verify, pub, message, sig)).toBe(true);
      expect(verifySignature(verify, pub, new TextEncoder().encode('other'), sig)).toBe(false);
      expect(verifySignature(verify, parseKey(newKey(kind).public, 'k'), message, sig)).toBe(false);
      expect(verifySignature(verify, pub, message, 'zz')).toBe(false);
      expect(verifySignature(verify, pub, message, '')).toBe(false);
    }
  });

  it('our P-256 PEM and signatures are what OpenSSL reads, and OpenSSL signatures verify here', () => {
    const ours = newKey('ecdsa-p256');
    const nodeKey = createPublicKey(ours.public.keyval.public);
    expect(nodeVerify('sha256', message, nodeKey, Buffer.from(sign(ours, message), 'hex'))).toBe(true);

    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pem = pair.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const pub = parseKey({ keytype: 'ecdsa-sha2-nistp256', scheme: 'ecdsa-sha2-nistp256', keyval: { public: pem } }, 'k');
    for (let i = 0; i < 20; i++) {
      const sig = nodeSign('sha256', message, pair.privateKey).toString('hex'); // about half are high-S
      expect(verifySignature(verify, pub, message, sig)).toBe(true);
    }
  });

  it('Ed25519 from OpenSSL verifies here', () => {
    const pair = generateKeyPairSync('ed25519');
    const raw = pair.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
    const pub = parseKey({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: raw } }, 'k');
    expect(verifySignature(verify, pub, message, nodeSign(null, message, pair.privateKey).toString('hex'))).toBe(true);
  });
});

describe('trust keys', () => {
  it('refuses unsupported or malformed keys with a typed error', () => {
    const bad = [
      null,
      { keytype: 'rsa', scheme: 'rsassa-pss-sha256', keyval: { public: 'x' } },
      { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: 'AB'.repeat(32) } },
      { keytype: 'ed25519', scheme: 'ecdsa-sha2-nistp256', keyval: { public: 'ab'.repeat(32) } },
      { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: '-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----' } },
      { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: `3059301306072a8648ce3d020106082a8648ce3d030107034200${'04'}${'00'.repeat(64)}` } },
    ];
    for (const key of bad) expect(() => parseKey(key, 'k')).toThrow(TrustError);
  });

  it('the P-256 curve check takes every real key and refuses points off the curve or out of the field', () => {
    const spki = (point: string) => ({ keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: `3059301306072a8648ce3d020106082a8648ce3d030107034200${point}` } });
    for (let i = 0; i < 20; i++) {
      const der = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' });
      const point = der.subarray(-65).toString('hex');
      expect(parseKey(spki(point), 'k').raw).toEqual(new Uint8Array(der.subarray(-65)));
      const offCurve = point.slice(0, -2) + ((parseInt(point.slice(-2), 16) ^ 1).toString(16).padStart(2, '0'));
      expect(() => parseKey(spki(offCurve), 'k')).toThrow(/not a point on P-256/);
    }
    // x = p (outside the field), and a compressed point where an uncompressed one is due
    expect(() => parseKey(spki(`04ffffffff00000001000000000000000000000000ffffffffffffffffffffffff${'00'.repeat(32)}`), 'k')).toThrow(/not a point on P-256/);
    expect(() => parseKey(spki(`02${'11'.repeat(64)}`), 'k')).toThrow(/not a point on P-256/);
  });
});
