/**
 * Delta offers in signed targets metadata (`custom.deltas`): what the release tooling writes is
 * read back exactly; every malformed field is a typed `TrustError` naming the field (never a
 * default, never a crash); a delta is signed over with its target (a changed patch digest breaks
 * the targets signature); the gate's pick; where a patch path leads.
 */
import { describe, expect, it } from 'vitest';
import { TrustError } from '../../agent/trust/errors.ts';
import { type TargetCustom, parseTargets } from '../../agent/trust/metadata.ts';
import { type Signed, targetsSigned } from '../../agent/trust/repository.ts';
import { MAX_TARGET_DELTAS, type TargetDelta, parseTargetDeltas, resolveDeltaPath } from '../../agent/trust/target-deltas.ts';
import { pickSignedDelta, signedDeltaArtifact } from '../../agent/pipeline/trust-gate.ts';
import { TrustState } from '../../agent/trust/state.ts';
import { refreshMetadata, resolveTarget } from '../../agent/trust/updater.ts';
import { NOW, TestRepo, newMedium } from './fixture.ts';
import { nodeTrustCrypto } from '../../hal/node/signatures.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const DELTA: TargetDelta = { from: '1.0.0', sourceLength: 1000, sourceSha256: A, format: 'vcdiff', length: 120, sha256: B, path: 'deltas/' + B };
const wire = { from: '1.0.0', sourceLength: 1000, sourceSha256: A, format: 'vcdiff', length: 120, hashes: { sha256: B }, path: 'deltas/' + B };

/** The signed part of a targets role with one target whose custom is `custom` (as the JSON carries it). */
function targetsWith(custom: unknown): Signed {
  const signed = targetsSigned(1, NOW + 86_400_000, [{ path: 'images/Widget/2.0.0', length: 5000, sha256: A }]);
  ((signed['targets'] as Signed)['images/Widget/2.0.0'] as Signed)['custom'] = custom as Signed;
  return signed;
}

describe('custom.deltas in targets metadata', () => {
  it('what the release tooling signs is read back exactly (the patch digest under hashes, like a target)', () => {
    const signed = targetsSigned(1, NOW + 86_400_000, [{ path: 'images/Widget/2.0.0', length: 5000, sha256: A, custom: { version: '2.0.0', deltas: [DELTA, { ...DELTA, format: 'bsdiff', path: '../deltas/x.bsdiff' }] } }]);
    expect(((signed['targets'] as Signed)['images/Widget/2.0.0'] as Signed)['custom']).toMatchObject({ deltas: [wire, { ...wire, format: 'bsdiff', path: '../deltas/x.bsdiff' }] });
    const target = parseTargets(JSON.parse(JSON.stringify(signed)), 'targets').targets.get('images/Widget/2.0.0')!;
    expect(target.custom.deltas).toEqual([DELTA, { ...DELTA, format: 'bsdiff', path: '../deltas/x.bsdiff' }]);
  });

  it.each<[string, unknown, RegExp]>([
    ['not a list', { x: 1 }, /deltas is not a list/],
    ['an entry that is not an object', ['deltas/x'], /deltas\[0\] is not an object/],
    ['an unknown format', [{ ...wire, format: 'zstd' }], /format is not one of vcdiff, bsdiff/],
    ['no format', [{ ...wire, format: undefined }], /format/],
    ['no from', [{ ...wire, from: undefined }], /from is not a string/],
    ['an empty from', [{ ...wire, from: '' }], /from is not a string/],
    ['a source length that is not an integer', [{ ...wire, sourceLength: 1.5 }], /sourceLength is not an integer/],
    ['a negative source length', [{ ...wire, sourceLength: -1 }], /sourceLength/],
    ['a source digest in upper case', [{ ...wire, sourceSha256: A.toUpperCase() }], /sourceSha256 is not 64 lowercase hex/],
    ['a short source digest', [{ ...wire, sourceSha256: 'ab' }], /sourceSha256/],
    ['a zero patch length', [{ ...wire, length: 0 }], /length is not an integer in 1\.\./],
    ['a patch length as text', [{ ...wire, length: '120' }], /length/],
    ['a patch length over 4 GiB', [{ ...wire, length: 2 ** 33 }], /length/],
    ['no hashes', [{ ...wire, hashes: undefined }], /hashes is not an object/],
    ['hashes without sha256', [{ ...wire, hashes: { sha512: B } }], /hashes\.sha256 is not 64 lowercase hex/],
    ['an absolute path', [{ ...wire, path: '/deltas/x' }], /path is not a relative path/],
    ['a URL as path', [{ ...wire, path: 'https://evil.example/x' }], /path is not a relative path/],
    ['a path with a query', [{ ...wire, path: 'deltas/x?sig=1' }], /path is not a relative path/],
    ['a path with an empty segment', [{ ...wire, path: 'deltas//x' }], /path is not a relative path/],
    ['a path that is only ..', [{ ...wire, path: '..' }], /path is not a relative path/],
    ['a path as a number', [{ ...wire, path: 7 }], /path is not a string/],
  ])('%s: a typed malformed error naming the field', (_name, deltas, message) => {
    const signed = targetsWith({ version: '2.0.0', deltas: JSON.parse(JSON.stringify(deltas)) });
    let caught: unknown;
    try {
      parseTargets(signed, 'targets');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TrustError);
    expect((caught as TrustError).code).toBe('malformed');
    expect((caught as TrustError).message).toMatch(/targets\["images\/Widget\/2\.0\.0"\]\.custom\.deltas/);
    expect((caught as TrustError).message).toMatch(message);
  });

  it(`more than ${MAX_TARGET_DELTAS} deltas for one target: tooLarge`, () => {
    expect(() => parseTargetDeltas(Array.from({ length: MAX_TARGET_DELTAS + 1 }, () => wire), 'd')).toThrow(expect.objectContaining({ code: 'tooLarge' }));
    expect(parseTargetDeltas(Array.from({ length: MAX_TARGET_DELTAS }, () => wire), 'd')).toHaveLength(MAX_TARGET_DELTAS);
  });

  it('a delta is signed with its target: a patch digest changed after signing breaks the targets signature', async () => {
    const repo = new TestRepo();
    repo.specs.push({ path: 'images/Widget/2.0.0', length: 5000, sha256: A, custom: { version: '2.0.0', deltas: [DELTA] } satisfies TargetCustom });
    repo.publish();
    const device = async () => {
      const state = new TrustState(await newMedium().open());
      await state.provision(repo.rootBytes(1));
      return state;
    };
    const set = await refreshMetadata(await device(), repo.source(), { rtcMs: NOW }, nodeTrustCrypto());
    expect((await resolveTarget(set, repo.source(), 'images/Widget/2.0.0'))?.custom.deltas).toEqual([DELTA]);

    // A server holding the online keys re-signs snapshot and timestamp over targets pointing at its own patch.
    const signed = new TextDecoder().decode(repo.files.get('targets.json')!);
    repo.files.set('targets.json', new TextEncoder().encode(signed.replace(B, 'c'.repeat(64))));
    repo.refresh();
    await expect(refreshMetadata(await device(), repo.source(), { rtcMs: NOW }, nodeTrustCrypto())).rejects.toMatchObject({ code: 'badSignature' });
  });
});

describe('the gate picks a signed delta for what the device holds', () => {
  const byVersion = { ...DELTA, from: '1.0.0', sourceSha256: 'c'.repeat(64), path: 'v' };
  const byDigest = { ...DELTA, from: '0.9.0', sourceSha256: A, path: 'd' };

  it('the recorded digest first, then the version; nothing for another version', () => {
    expect(pickSignedDelta([byVersion, byDigest], { version: '1.0.0', sha256: A })?.path).toBe('d');
    expect(pickSignedDelta([byVersion, byDigest], { version: '1.0.0' })?.path).toBe('v');
    expect(pickSignedDelta([byVersion, byDigest], { version: '1.0.0', sha256: 'e'.repeat(64) })?.path).toBe('v');
    expect(pickSignedDelta([byVersion, byDigest], { version: '0.8.0' })).toBeUndefined();
    expect(pickSignedDelta([byVersion], {})).toBeUndefined();
    expect(pickSignedDelta([], { version: '1.0.0' })).toBeUndefined();
  });

  it('hands the pipeline the signed source and patch facts', () => {
    expect(signedDeltaArtifact(DELTA)).toEqual({ format: 'vcdiff', sourceVersion: '1.0.0', sourceSize: 1000, sourceSha256: A, size: 120, sha256: B, path: DELTA.path });
  });
});

describe('a delta path resolved against the artifact URL', () => {
  it.each([
    ['https://dm.test/fumo/fw-2.0.bin', 'deltas/abc', 'https://dm.test/fumo/deltas/abc'],
    ['http://svc.test/ucupdates/v1/images/123', '../deltas/abc', 'http://svc.test/ucupdates/v1/deltas/abc'],
    ['https://m.test/artifacts/x?expires=1&sig=2#f', 'p.patch', 'https://m.test/artifacts/p.patch'],
    ['https://m.test', 'deltas/abc', 'https://m.test/deltas/abc'],
    ['https://m.test/a/b', '../../../../deltas/abc', 'https://m.test/deltas/abc'],
  ])('%s + %s', (base, path, url) => {
    expect(resolveDeltaPath(base, path)).toBe(url);
  });

  it('no http(s) artifact URL, or a path that is not relative: typed errors', () => {
    expect(() => resolveDeltaPath('file:///x/y', 'deltas/a')).toThrow(TrustError);
    expect(() => resolveDeltaPath('https://m.test/a', '//evil.test/x')).toThrow(TrustError);
  });
});
