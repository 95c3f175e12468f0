import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  VerificationError,
  checkArtifactSize,
  checkBudget,
  checkContentRange,
  checkDownloadUrl,
  verifyDigest,
} from '../../agent/pipeline/verify.ts';
import { checkInstruction } from '../../agent/delivery/instruction.ts';
import { fromHex } from '../../agent/util/bytes.ts';
import { artifactBytes, sha256Hex } from './rig.ts';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(VerificationError);
    expect((error as Error).message.length).toBeGreaterThan(0);
    return (error as VerificationError).code;
  }
}

describe('verifyDigest', () => {
  const data = artifactBytes(1000);
  const hex = sha256Hex(data);
  const digest = fromHex(hex);

  it('accepts the right digest in either case', () => {
    expect(codeOf(() => verifyDigest(hex, digest))).toBeUndefined();
    expect(codeOf(() => verifyDigest(hex.toUpperCase(), digest))).toBeUndefined();
  });

  it('refuses any single flipped bit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), (bit) => {
        const wrong = digest.slice();
        wrong[bit >> 3] = (wrong[bit >> 3] as number) ^ (1 << (bit & 7));
        expect(codeOf(() => verifyDigest(hex, wrong))).toBe('digestMismatch');
      }),
    );
  });

  it.each(['', 'zz'.repeat(32), hex.slice(0, 62), `${hex}00`, ` ${hex.slice(1)}`])('refuses a malformed expected digest %j', (expected) => {
    expect(codeOf(() => verifyDigest(expected, digest))).toBe('digestMismatch');
  });
});

describe('checkContentRange', () => {
  it('parses the range we asked for', () => {
    expect(checkContentRange('bytes 100-999/1000', 100, 1000)).toEqual({ start: 100, end: 999, total: 1000 });
    expect(checkContentRange('  BYTES 100-499/1000 ', 100, 1000)).toEqual({ start: 100, end: 499, total: 1000 });
    expect(checkContentRange('bytes 0-9/*', 0, 1000)).toEqual({ start: 0, end: 9, total: undefined });
  });

  it.each([
    [undefined, 'badRange'],
    ['', 'badRange'],
    ['bytes */1000', 'badRange'],
    ['bytes 100-999', 'badRange'],
    ['bytes=100-999/1000', 'badRange'],
    ['items 100-999/1000', 'badRange'],
    ['bytes 100-999/1000, 0-5/1000', 'badRange'],
    ['bytes -100-999/1000', 'badRange'],
    ['bytes +100-999/1000', 'badRange'],
    ['bytes 0x64-999/1000', 'badRange'],
    ['bytes 100.0-999/1000', 'badRange'],
    ['bytes 100-999/1000\r\nX-Evil: 1', 'badRange'],
    ['bytes 100-99/1000', 'badRange'],
    ['bytes 100-1000/1000', 'badRange'],
    ['bytes 99-999/1000', 'badRange'],
    ['bytes 101-999/1000', 'badRange'],
    ['bytes 0-999/1000', 'badRange'],
    ['bytes 100-999/2000', 'sizeMismatch'],
    ['bytes 100-1500/*', 'sizeMismatch'],
    ['bytes 100-9999999999999999/9999999999999999', 'badRange'],
    [`bytes ${'1'.repeat(200)}-999/1000`, 'badRange'],
    ['bytes １００-999/1000', 'badRange'],
  ])('refuses %j (%s)', (header, code) => {
    expect(codeOf(() => checkContentRange(header, 100, 1000))).toBe(code);
  });

  it('never accepts a range that does not start at the expected offset (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.nat(2000), (header, start) => {
        let parsed;
        try {
          parsed = checkContentRange(header, start, 1000);
        } catch (error) {
          expect(error).toBeInstanceOf(VerificationError);
          return;
        }
        expect(parsed.start).toBe(start);
        expect(parsed.end).toBeLessThan(1000);
      }),
    );
  });
});

describe('checkDownloadUrl', () => {
  const web = ['http', 'https'];

  it('accepts plain http(s) URLs and takes them apart', () => {
    expect(checkDownloadUrl('https://cdn.example.com/a/b.bin?x=1#f', web)).toEqual({ scheme: 'https', host: 'cdn.example.com', port: undefined, rest: '/a/b.bin?x=1#f' });
    expect(checkDownloadUrl('HTTP://10.0.0.1:8080', web)).toEqual({ scheme: 'http', host: '10.0.0.1', port: 8080, rest: '' });
    expect(checkDownloadUrl('http://[::1]:80/x', web)).toMatchObject({ host: '[::1]', port: 80 });
    expect(checkDownloadUrl('http://[fe80::1]/x', web)).toMatchObject({ host: '[fe80::1]', port: undefined });
    expect(checkDownloadUrl('https://h/p@q', web)).toMatchObject({ host: 'h', rest: '/p@q' });
  });

  it.each([
    ['', web],
    ['ftp://h/x', web],
    ['file:///etc/passwd', web],
    ['javascript:alert(1)', web],
    ['mqtt://broker/x', ['mqtt', 'http']],
    ['http://h/x', ['https']],
    ['https://user:pw@h/x', web],
    ['https://user@h/x', web],
    ['https://trusted.example@evil.example/x', web],
    ['https://@h/x', web],
    ['https:///x', web],
    ['https://:443/x', web],
    ['https:h/x', web],
    ['//h/x', web],
    ['https://h:0/x', web],
    ['https://h:65536/x', web],
    ['https://h:/x', web],
    ['https://h:8o/x', web],
    ['https://h x/x', web],
    ['https://h/x y', web],
    ['https://h/x\r\nHost: evil', web],
    ['https://h/x\u0000', web],
    ['https://evil.example\\@good.example/x', web],
    ['https://exämple.com/x', web],
    ['https://h%2e/x', web],
    ['https://[::1/x', web],
    ['https://[not:ipv6]/x', web],
    [`https://h/${'a'.repeat(9000)}`, web],
  ])('refuses %j', (url, schemes) => {
    expect(codeOf(() => checkDownloadUrl(url, schemes))).toBe('badUrl');
  });
});

describe('checkArtifactSize', () => {
  it('accepts what fits', () => {
    expect(codeOf(() => checkArtifactSize(100, { maxBytes: 100, available: 100 }))).toBeUndefined();
    expect(codeOf(() => checkArtifactSize(0, {}))).toBeUndefined();
    // A resume needs room only for what is not staged yet.
    expect(codeOf(() => checkArtifactSize(100, { available: 30, staged: 70 }))).toBeUndefined();
  });

  it('refuses what does not fit or is no byte count', () => {
    expect(codeOf(() => checkArtifactSize(101, { maxBytes: 100 }))).toBe('noSpace');
    expect(codeOf(() => checkArtifactSize(100, { available: 99 }))).toBe('noSpace');
    expect(codeOf(() => checkArtifactSize(100, { available: 29, staged: 70 }))).toBe('noSpace');
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53, '5' as unknown as number])
      expect(codeOf(() => checkArtifactSize(bad, {})), String(bad)).toBe('sizeMismatch');
  });
});

describe('checkBudget', () => {
  it('allows up to the budget, not past it', () => {
    expect(codeOf(() => checkBudget(1000, 1000))).toBeUndefined();
    expect(codeOf(() => checkBudget(1001, 1000))).toBe('budgetExceeded');
  });
});

describe('checkInstruction', () => {
  const digest = sha256Hex(artifactBytes(10));
  const instruction = { name: 'tool', version: '1.2.0', size: 500, digest };
  const listed = { name: 'tool', version: '1.2.0', digest: digest.toUpperCase(), size: 500 };

  it('accepts an instruction that agrees with the list (size optional there)', () => {
    expect(codeOf(() => checkInstruction(instruction, listed))).toBeUndefined();
    const { size: _size, ...withoutSize } = listed;
    expect(codeOf(() => checkInstruction(instruction, withoutSize))).toBeUndefined();
  });

  it.each([
    ['name', { name: 'other' }],
    ['version', { version: '1.2.1' }],
    ['digest', { digest: sha256Hex(artifactBytes(11)) }],
    ['malformed digest', { digest: 'abc' }],
    ['size', { size: 501 }],
    ['negative size', { size: -1 }],
  ])('refuses a different %s', (_label, change) => {
    expect(codeOf(() => checkInstruction({ ...instruction, ...change }, listed))).toBe('mismatch');
  });

  it('refuses a malformed digest in the list', () => {
    expect(codeOf(() => checkInstruction(instruction, { ...listed, digest: 'g'.repeat(64) }))).toBe('mismatch');
  });
});
