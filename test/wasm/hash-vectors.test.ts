/**
 * Known-answer tests, run against every engine: NIST CAVP SHA-256 (ShortMsg, LongMsg, Monte),
 * RFC 1321 MD5, RFC 4231 HMAC-SHA-256, RFC 2202 HMAC-MD5, and the OMA DM auth-md5 example.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromHex, toBase64, toHex, utf8Encode } from '../../agent/util/bytes.ts';
import { CONFORMANCE_DIR, HASH_ENGINES, engines } from './engines.ts';
import { readRsp } from './nist.ts';

const NIST_DIR = join(CONFORMANCE_DIR, 'sha256', 'nist-cavp-shabytetestvectors');
const haveNist = existsSync(join(NIST_DIR, 'SHA256ShortMsg.rsp'));
if (!haveNist) console.warn(`test/wasm: NIST SHA-256 vectors not found at ${NIST_DIR} (set DM_CONFORMANCE_DIR); skipping them`);

const ascii = (text: string) => utf8Encode(text);
const repeat = (byte: number, count: number) => new Uint8Array(count).fill(byte);

describe.each(HASH_ENGINES)('hash vectors (%s engine)', (variant) => {
  describe.skipIf(!haveNist)('NIST CAVP SHA-256', () => {
    for (const file of ['SHA256ShortMsg.rsp', 'SHA256LongMsg.rsp']) {
      it(`${file}: every message`, async () => {
        const e = await engines(variant);
        const records = readRsp(join(NIST_DIR, file)).filter((r) => r['Len'] !== undefined);
        expect(records.length).toBeGreaterThan(60);
        for (const record of records) {
          const bits = Number(record['Len']);
          const message = fromHex(record['Msg'] as string).subarray(0, bits / 8);
          expect(toHex(e.hash('sha256', message)), `${file} Len=${bits}`).toBe(record['MD']);
          // Same message through the streaming interface, split in two.
          const h = e.createHash('sha256');
          h.update(message.subarray(0, message.length >> 1));
          h.update(message.subarray(message.length >> 1));
          expect(toHex(h.digest())).toBe(record['MD']);
        }
      });
    }

    it('SHA256Monte.rsp: 100 checkpoints of 1000 chained hashes', async () => {
      const e = await engines(variant);
      const records = readRsp(join(NIST_DIR, 'SHA256Monte.rsp'));
      let seed = fromHex(records.find((r) => r['Seed'] !== undefined)?.['Seed'] as string);
      const checkpoints = records.filter((r) => r['COUNT'] !== undefined);
      expect(checkpoints).toHaveLength(100);
      for (const checkpoint of checkpoints) {
        let md = [seed, seed, seed];
        for (let i = 3; i < 1003; i++) {
          const message = new Uint8Array(96);
          message.set(md[0] as Uint8Array, 0);
          message.set(md[1] as Uint8Array, 32);
          message.set(md[2] as Uint8Array, 64);
          md = [md[1] as Uint8Array, md[2] as Uint8Array, e.hash('sha256', message)];
        }
        seed = md[2] as Uint8Array;
        expect(toHex(seed), `COUNT=${checkpoint['COUNT']}`).toBe(checkpoint['MD']);
      }
    });
  });

  it('RFC 1321 §A.5 MD5 test suite', async () => {
    const e = await engines(variant);
    const suite: [string, string][] = [
      ['', 'd41d8cd98f00b204e9800998ecf8427e'],
      ['a', '0cc175b9c0f1b6a831c399e269772661'],
      ['abc', '900150983cd24fb0d6963f7d28e17f72'],
      ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
      ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
      ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
      ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', '57edf4a22be3c955ac49da2e2107b67a'],
    ];
    for (const [message, digest] of suite) expect(toHex(e.hash('md5', ascii(message))), JSON.stringify(message)).toBe(digest);
  });

  it('SHA-256 of one million "a" (FIPS 180-2 appendix B.3), streamed', async () => {
    const e = await engines(variant);
    const h = e.createHash('sha256');
    for (let i = 0; i < 1000; i++) h.update(repeat(0x61, 1000));
    expect(toHex(h.digest())).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });

  it('RFC 4231 HMAC-SHA-256 test cases 1–7 (case 5 truncated to 128 bits)', async () => {
    const e = await engines(variant);
    const cases: [Uint8Array, Uint8Array, string][] = [
      [repeat(0x0b, 20), ascii('Hi There'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
      [ascii('Jefe'), ascii('what do ya want for nothing?'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
      [repeat(0xaa, 20), repeat(0xdd, 50), '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe'],
      [fromHex('0102030405060708090a0b0c0d0e0f10111213141516171819'), repeat(0xcd, 50), '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b'],
      [repeat(0x0c, 20), ascii('Test With Truncation'), 'a3b6167473100ee06e0c796c2955552b'],
      [repeat(0xaa, 131), ascii('Test Using Larger Than Block-Size Key - Hash Key First'), '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'],
      [
        repeat(0xaa, 131),
        ascii('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.'),
        '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
      ],
    ];
    for (const [key, data, mac] of cases) expect(toHex(e.hmac('sha256', key, data)).slice(0, mac.length)).toBe(mac);
  });

  it('RFC 2202 HMAC-MD5 test cases 1–7', async () => {
    const e = await engines(variant);
    const cases: [Uint8Array, Uint8Array, string][] = [
      [repeat(0x0b, 16), ascii('Hi There'), '9294727a3638bb1c13f48ef8158bfc9d'],
      [ascii('Jefe'), ascii('what do ya want for nothing?'), '750c783e6ab0b503eaa86e310a5db738'],
      [repeat(0xaa, 16), repeat(0xdd, 50), '56be34521d144c88dbb8c733f0e8b3f6'],
      [fromHex('0102030405060708090a0b0c0d0e0f10111213141516171819'), repeat(0xcd, 50), '697eaf0aca3a3aea3a75164746ffaa79'],
      [repeat(0x0c, 16), ascii('Test With Truncation'), '56461ef2342edc00f9bab995690efd4c'],
      [repeat(0xaa, 80), ascii('Test Using Larger Than Block-Size Key - Hash Key First'), '6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd'],
      [repeat(0xaa, 80), ascii('Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data'), '6f630fad67cda0ee1fb1f562db3aa53e'],
    ];
    for (const [key, data, mac] of cases) expect(toHex(e.hmac('md5', key, data))).toBe(mac);
  });

  it('OMA DM auth-md5: B64(MD5(B64(MD5("Bruce2:OhBehave")) + ":" + "Nonce"))', async () => {
    const e = await engines(variant);
    const inner = toBase64(e.hash('md5', ascii('Bruce2:OhBehave')));
    expect(toBase64(e.hash('md5', ascii(`${inner}:Nonce`)))).toBe('Zz6EivR3yeaaENcRN6lpAQ==');
  });
});
