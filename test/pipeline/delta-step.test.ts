/**
 * The pipeline's delta stage (agent/pipeline/delta-step.ts) on the mock device, one decision at a
 * time: the source is checked before any patch byte is fetched; every failure (no source, wrong
 * source, unreachable or corrupt patch, a result that is not the artifact) becomes `fellBack`
 * with its code, saved, the staged patch removed; an apply the device keeps dying in is given up
 * after MAX_APPLIES starts; a power cut during the patch download resumes it with Range.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type DeltaJob, type DeltaStageOptions, runDeltaStage } from '../../agent/pipeline/delta-step.ts';
import { MAX_APPLIES, newDeltaState, patchFileName } from '../../agent/pipeline/delta-state.ts';
import { type SinkHandle, stagingSink } from '../../agent/pipeline/sinks.ts';
import { revisedBytes, xorshiftBytes } from '../../cli/demo/fixture.ts';
import { PowerCutError } from '../../hal/errors.ts';
import { loadEngines } from '../../wasm/index.ts';
import { ARTIFACT_URL, Rig, sha256Hex } from './rig.ts';

const engines = await loadEngines({ engine: 'js' });
const SOURCE = xorshiftBytes(30_000, 3);
const TARGET = revisedBytes(SOURCE, 32_000, 4);
const dir = mkdtempSync(join(tmpdir(), 'dm-delta-step-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'old'), SOURCE);
writeFileSync(join(dir, 'new'), TARGET);
execFileSync('xdelta3', ['-e', '-f', '-s', join(dir, 'old'), join(dir, 'new'), join(dir, 'patch')]);
const PATCH = new Uint8Array(readFileSync(join(dir, 'patch')));
// A target with 20 KB of new bytes: its patch is large enough for download checkpoints.
const BIG = Uint8Array.from([...SOURCE, ...xorshiftBytes(20_000, 77)]);
writeFileSync(join(dir, 'big'), BIG);
execFileSync('xdelta3', ['-e', '-f', '-s', join(dir, 'old'), join(dir, 'big'), join(dir, 'big.patch')]);
const BIG_PATCH = new Uint8Array(readFileSync(join(dir, 'big.patch')));

const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;

function job(patch: Uint8Array = PATCH, overrides: Partial<DeltaJob['artifact']> = {}, target: Uint8Array = TARGET): DeltaJob {
  return {
    id: 'job-1',
    artifact: { version: '2', size: target.length, digest: sha256Hex(target), ...overrides },
    sink: { kind: 'staging', name: 'job-1' },
    delta: newDeltaState({ format: 'vcdiff', sourceVersion: '1', sourceSize: SOURCE.length, sourceSha256: sha256Hex(SOURCE), size: patch.length, sha256: sha256Hex(patch) }),
  };
}

function setup(options: { source?: Uint8Array<ArrayBufferLike> | null; patch?: Uint8Array; stagingCapacity?: number; openSink?: (rig: Rig, job: DeltaJob) => Promise<SinkHandle> } = {}) {
  const rig = new Rig({ size: 10, ...(options.stagingCapacity !== undefined ? { stagingCapacity: options.stagingCapacity } : {}) });
  rig.server.replace(options.patch ?? PATCH, '"p1"');
  const saved: DeltaJob[] = [];
  const sourceReads: number[] = [];
  const source = options.source === undefined ? SOURCE : options.source;
  const stage = (): DeltaStageOptions<DeltaJob> => ({
    device: rig.device,
    engines,
    hooks: {
      source: async () => (source ? { size: source.length, read: (offset, length) => (sourceReads.push(length), source.subarray(offset, offset + length)) } : undefined),
      locate: async () => ({ url: ARTIFACT_URL }),
    },
    openSink: (held) => (options.openSink ? options.openSink(rig, held) : stagingSink(rig.device.staging, 'job-1').open({ resume: false })),
    save: async (held) => void saved.push(structuredClone(held)),
    download: { maxAttempts: 2, checkpointBytes: 4096, checkpointMs: 0, chunkBytes: 1024, timeoutMs: 5000, byteBudgetFactor: 3, backoff: { initialMs: 1, maxMs: 1, factor: 1 } },
    log: silent,
  });
  return { rig, saved, stage, sourceReads };
}

async function staged(rig: Rig, name: string): Promise<Uint8Array | undefined> {
  if (!(await rig.device.staging.list()).includes(name)) return undefined;
  const file = await rig.device.staging.open({ name });
  try {
    return await file.read(0, await file.size());
  } finally {
    await file.close();
  }
}

describe('delta stage', () => {
  it('applies: the source checked, the patch fetched, the target written and verified as the artifact', async () => {
    const { rig, saved, stage } = setup();
    const result = await runDeltaStage(stage(), job());
    expect(result.kind).toBe('applied');
    expect(result.job.delta).toMatchObject({ phase: 'applied', bytesTransferred: PATCH.length, applies: 1 });
    expect(sha256Hex((await staged(rig, 'job-1'))!)).toBe(sha256Hex(TARGET));
    // Persisted before the apply: the phase a power cut would find.
    expect(saved.map((s) => s.delta?.phase)).toContain('applying');
    expect([...saved].reverse().find((s) => s.delta?.phase === 'applying')?.delta?.applies).toBe(1);
  });

  it('no source, or the wrong one: falls back before a single patch byte is requested', async () => {
    const cases: [Uint8Array | null, string][] = [
      [null, 'noSource'],
      [xorshiftBytes(30_000, 9), 'sourceMismatch'],
      [SOURCE.subarray(0, 100), 'sourceMismatch'],
    ];
    for (const [source, code] of cases) {
      const { rig, saved, stage, sourceReads } = setup({ source });
      const result = await runDeltaStage(stage(), job());
      expect(result.kind).toBe('fellBack');
      expect(result.job.delta).toMatchObject({ phase: 'fellBack', failure: { code }, bytesTransferred: 0 });
      expect(saved.at(-1)?.delta?.phase).toBe('fellBack');
      // The check reads the source in pieces of the chunk at most (1024 here).
      if (source && source.length >= SOURCE.length) expect(Math.max(...sourceReads)).toBeLessThanOrEqual(1024);
      if (source && source.length >= SOURCE.length) expect(sourceReads.length).toBeGreaterThan(1);
      expect(rig.server.seen).toEqual([]);
    }
  });

  it('no room in staging for the patch and the result: falls back before fetching (the full package may still fit)', async () => {
    const { rig, stage } = setup({ stagingCapacity: TARGET.length + 100 });
    const result = await runDeltaStage(stage(), job());
    expect(result.job.delta).toMatchObject({ phase: 'fellBack', failure: { code: 'noSpace' } });
    expect(rig.server.seen).toEqual([]);
  });

  it('a patch that cannot be fetched or does not match its digest: fallback, staged patch removed', async () => {
    const gone = setup();
    gone.rig.server.scripted.push({ status: 404, headers: {} }, { status: 404, headers: {} });
    const notFound = await runDeltaStage(gone.stage(), job());
    expect(notFound.job.delta).toMatchObject({ phase: 'fellBack', failure: { code: 'relocate' } });
    expect(await gone.rig.device.staging.list()).toEqual([]);

    const tampered = PATCH.slice();
    tampered[tampered.length - 1]! ^= 1;
    const bad = setup({ patch: tampered });
    const mismatch = await runDeltaStage(bad.stage(), job(PATCH));
    expect(mismatch.job.delta?.failure?.code).toBe('digestMismatch');
    expect(await bad.rig.device.staging.list()).not.toContain(patchFileName(job()));
  });

  it('a patch that decodes to something else, or is not a patch: typed failure, fallback', async () => {
    // The server's digest is right, the artifact's is another: the verify step refuses the result.
    const other = setup();
    const wrongResult = await runDeltaStage(other.stage(), job(PATCH, { digest: sha256Hex(SOURCE) }));
    expect(wrongResult.job.delta).toMatchObject({ phase: 'fellBack', failure: { code: 'digestMismatch' } });
    const garbage = xorshiftBytes(500, 5);
    const notPatch = setup({ patch: garbage });
    const corrupt = await runDeltaStage(notPatch.stage(), job(garbage));
    expect(['corrupt', 'truncated']).toContain(corrupt.job.delta?.failure?.code);
    expect(await notPatch.rig.device.staging.list()).not.toContain(patchFileName(job()));
  });

  it(`an apply the device dies in restarts from the staged patch; after ${MAX_APPLIES} starts it is given up`, async () => {
    let deaths = 0;
    const dying = setup({
      openSink: async (rig) => {
        const sink = await stagingSink(rig.device.staging, 'job-1').open({ resume: false });
        // The device dies at the apply's first write of the target.
        const dies = async (): Promise<void> => {
          deaths++;
          throw new PowerCutError('staging.write');
        };
        return { location: sink.location, write: dies, sync: () => sink.sync(), truncate: (n) => sink.truncate(n), read: (o, l) => sink.read(o, l), close: () => sink.close() };
      },
    });
    let current = job();
    for (let start = 1; start <= MAX_APPLIES; start++) {
      await expect(runDeltaStage(dying.stage(), current)).rejects.toBeInstanceOf(PowerCutError);
      current = dying.saved.at(-1)!; // what the store holds after the cut
      expect(current.delta).toMatchObject({ phase: 'applying', applies: start });
    }
    const requests = dying.rig.server.seen.length;
    const given = await runDeltaStage(dying.stage(), current);
    expect(given.job.delta).toMatchObject({ phase: 'fellBack', failure: { code: 'interrupted' } });
    expect(deaths).toBe(MAX_APPLIES);
    expect(dying.rig.server.seen.length).toBe(requests); // the patch was fetched once
  });

  it('a power cut during the patch download resumes it with Range from its checkpoint', async () => {
    expect(BIG_PATCH.length).toBeGreaterThan(16 * 1024);
    const { rig, saved, stage } = setup({ patch: BIG_PATCH });
    rig.hw.power.cutAfter(14); // 1 KiB writes, a sync every 4 KiB: past the first checkpoints
    await expect(runDeltaStage(stage(), job(BIG_PATCH, {}, BIG))).rejects.toBeInstanceOf(PowerCutError);
    const last = saved.at(-1)!;
    expect(last.delta?.phase).toBe('downloading');
    expect(last.delta?.progress?.offset).toBeGreaterThan(0);
    rig.reboot();
    const result = await runDeltaStage(stage(), last);
    expect(result.kind).toBe('applied');
    expect(sha256Hex((await staged(rig, 'job-1'))!)).toBe(sha256Hex(BIG));
    expect(rig.server.seen.at(-1)?.range).toBe(`bytes=${last.delta!.progress!.offset}-`);
  });
});
