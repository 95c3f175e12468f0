/**
 * The download as a pipeline (issue 12): checkpoints gated by bytes *and* time, writes queued
 * behind the hash with back-pressure (bounded memory), room reserved once, and a native hash
 * that cannot export its state (resume re-hashes the durable bytes).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import type { HasherFactory } from '../../agent/pipeline/download.ts';
import { DEFAULT_CHUNK_BYTES, DEFAULT_QUEUE_DEPTH, defaultQueueDepth } from '../../agent/pipeline/download-options.ts';
import type { SinkHandle } from '../../agent/pipeline/sinks.ts';
import { sleep } from '../../agent/util/sleep.ts';
import type { DigestHost } from '../../hal/types.ts';
import { loadEngines } from '../../wasm/index.ts';
import { Rig, stagingContent } from './rig.ts';

/** A host digest engine as a board's accelerator would offer it (here: noble, no state export). */
const accelerator: DigestHost = {
  name: 'test accelerator',
  algorithms: ['sha256'],
  createHash() {
    const hash = sha256.create();
    return { update: (bytes) => void hash.update(bytes), digest: () => hash.digest() };
  },
};
const nativeEngines = await loadEngines({ engine: 'native', native: accelerator });
const nativeHasher: HasherFactory = { create: (state) => nativeEngines.createHash('sha256', state) };

/** `inner` with some of its calls replaced: a slow, failing or differently syncing disk. */
function withCalls(inner: SinkHandle, calls: Partial<SinkHandle>): SinkHandle {
  return {
    location: inner.location,
    write: (offset, bytes) => inner.write(offset, bytes),
    sync: () => inner.sync(),
    truncate: (length) => inner.truncate(length),
    read: (offset, length) => inner.read(offset, length),
    close: () => inner.close(),
    ...calls,
  };
}

describe('download: checkpoint policy', () => {
  /** A clock that moves `msPerChunk` on every body chunk (onProgress), so the time gate is exercised. */
  async function timedRun(checkpointBytes: number, checkpointMs: number, msPerChunk: number) {
    const rig = new Rig({ size: 40_000, chunkSize: 1000 });
    let now = 0;
    const times: number[] = [];
    const clock = { ...rig.device.clock, monotonicMs: () => now };
    const sink = await rig.openStaging(false);
    const result = await rig.run(sink, {
      clock,
      checkpointBytes,
      checkpointMs,
      chunkBytes: 1000,
      onProgress: () => (now += msPerChunk),
      checkpoint: async (progress) => {
        times.push(now);
        rig.checkpoints.push(progress);
      },
    });
    expect(result).toMatchObject({ ok: true });
    expect(await stagingContent(rig)).toEqual(rig.artifact);
    const offsets = rig.checkpoints.map((c) => c.offset);
    return { offsets, times, size: rig.artifact.length };
  }

  it('time decides when it comes later: one checkpoint per checkpointMs, each after at least checkpointBytes', async () => {
    const { offsets, times, size } = await timedRun(2000, 1000, 100);
    expect(offsets[offsets.length - 1]).toBe(size);
    const mid = offsets.slice(0, -1);
    expect(mid.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < mid.length; i++) {
      expect(mid[i]! - mid[i - 1]!).toBeGreaterThanOrEqual(2000);
      expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1000);
      // Not later than needed: the first chunk after both gates opened.
      expect(times[i]! - times[i - 1]!).toBeLessThan(1000 + 100 + 1);
    }
  });

  it('bytes decide when they come later: a fast clock does not add checkpoints', async () => {
    const { offsets } = await timedRun(8000, 10, 100);
    const mid = offsets.slice(0, -1);
    expect(mid.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < mid.length; i++) expect(mid[i]! - mid[i - 1]!).toBe(8000);
  });

  it('a still clock with checkpointMs > 0 records only the final checkpoint (bounded loss is then the whole transfer time)', async () => {
    const { offsets, size } = await timedRun(2000, 1000, 0);
    expect(offsets).toEqual([size]);
  });
});

describe('download: bounded pipeline', () => {
  /** A run onto a disk slower than the network: how far the received bytes ran ahead of the written ones. */
  async function slowDiskRun(options: { chunkBytes: number; queueDepth?: number }) {
    const rig = new Rig({ size: 50_000, chunkSize: 500 });
    const inner = await rig.openStaging(false);
    let written = 0;
    let received = 0;
    let maxAhead = 0;
    let writes = 0;
    const slow = withCalls(inner, {
      write: async (offset, bytes) => {
        writes++;
        await sleep(rig.device.clock, 5); // the disk is slower than the network
        await inner.write(offset, bytes);
        written = Math.max(written, offset + bytes.length);
      },
    });
    const result = await rig.run(slow, {
      ...options,
      checkpointBytes: 1_000_000,
      onProgress: (offset) => {
        received = offset;
        maxAhead = Math.max(maxAhead, received - written);
      },
    });
    expect(result).toMatchObject({ ok: true });
    expect(await stagingContent(rig)).toEqual(rig.artifact);
    return { maxAhead, writes };
  }

  it('hashes ahead of a slow disk, but never more than chunkBytes × (queueDepth + 1) plus one network chunk', async () => {
    const { maxAhead, writes } = await slowDiskRun({ chunkBytes: 2000, queueDepth: 3 });
    expect(writes).toBe(25); // batched into 2000-byte writes
    expect(maxAhead).toBeGreaterThan(2000); // the network ran ahead of the disk (overlap)
    expect(maxAhead).toBeLessThanOrEqual(2000 * (3 + 1) + 500);
  });

  it('a chunk below the default keeps fewer writes in flight by default (a small board saves memory)', async () => {
    expect(defaultQueueDepth(DEFAULT_CHUNK_BYTES)).toBe(DEFAULT_QUEUE_DEPTH);
    expect(defaultQueueDepth(DEFAULT_CHUNK_BYTES / 2)).toBe(2);
    expect(defaultQueueDepth(8192)).toBe(1);
    expect(defaultQueueDepth(1)).toBe(1);
    expect(defaultQueueDepth(1024 * 1024)).toBe(DEFAULT_QUEUE_DEPTH);
    // One write in flight: the received bytes run at most one batch plus one network chunk ahead.
    const { maxAhead, writes } = await slowDiskRun({ chunkBytes: 2000 });
    expect(writes).toBe(25);
    expect(maxAhead).toBeGreaterThanOrEqual(2000);
    expect(maxAhead).toBeLessThanOrEqual(2000 + 500);
  });

  for (const syncWhileWriting of [true, false]) {
    it(`a checkpoint's sync ${syncWhileWriting ? 'runs behind the stream on a file' : 'stops the writes on a sink that cannot sync while writing'}`, async () => {
      const rig = new Rig({ size: 40_000, chunkSize: 1000 });
      const inner = await rig.openStaging(false);
      const events: string[] = [];
      let syncing = false;
      const slowSync: SinkHandle = {
        location: inner.location,
        syncWhileWriting,
        write: async (offset, bytes) => {
          events.push(syncing ? 'write during sync' : 'write');
          await inner.write(offset, bytes);
        },
        sync: async () => {
          syncing = true;
          await sleep(rig.device.clock, 50); // an fsync that takes a while
          await inner.sync();
          syncing = false;
        },
        truncate: (length) => inner.truncate(length),
        read: (offset, length) => inner.read(offset, length),
        close: () => inner.close(),
      };
      const result = await rig.run(slowSync, { chunkBytes: 1000, checkpointBytes: 8000 });
      expect(result).toMatchObject({ ok: true });
      expect(await stagingContent(rig)).toEqual(rig.artifact);
      const offsets = rig.checkpoints.map((c) => c.offset);
      if (syncWhileWriting) {
        expect(events).toContain('write during sync');
        // One checkpoint at a time, the next one waiting for a slow sync: never more than two
        // intervals apart (the body streamed on during each 50 ms sync, up to the next interval).
        expect(offsets[offsets.length - 1]).toBe(40000);
        for (let i = 0; i < offsets.length; i++) expect(offsets[i]! - (offsets[i - 1] ?? 0), `checkpoint ${i}`).toBeGreaterThanOrEqual(8000);
        for (let i = 1; i < offsets.length - 1; i++) expect(offsets[i]! - offsets[i - 1]!, `checkpoint ${i}`).toBeLessThanOrEqual(2 * 8000 + 1000);
      } else {
        expect(events).not.toContain('write during sync');
        expect(offsets).toEqual([8000, 16000, 24000, 32000, 40000]);
      }
    });
  }

  it('a sync that never catches up holds the stream: a power cut loses at most two checkpoint intervals', async () => {
    // The disk makes bytes durable far slower than they arrive: each sync waits on a (virtual)
    // timer, which the rig fires only once nothing else can run, while the network and the
    // writes never wait on one.
    const rig = new Rig({ size: 200_000, chunkSize: 1000 });
    const inner = await rig.openStaging(false);
    let received = 0;
    let worst = 0;
    const slowDisk = withCalls(inner, {
      syncWhileWriting: true,
      sync: async () => {
        await sleep(rig.device.clock, 1);
        await inner.sync();
      },
    });
    const result = await rig.run(slowDisk, {
      chunkBytes: 1000,
      queueDepth: 2,
      checkpointBytes: 8000,
      onProgress: (offset) => {
        received = offset;
        worst = Math.max(worst, received - (rig.lastCheckpoint?.offset ?? 0));
      },
    });
    expect(result).toMatchObject({ ok: true });
    expect(await stagingContent(rig)).toEqual(rig.artifact);
    expect(rig.checkpoints.length).toBeGreaterThan(10);
    // Unrecorded progress: two intervals, the queue (1000 × 3) and the chunk in hand.
    expect(worst).toBeLessThanOrEqual(2 * 8000 + 1000 * 3 + 1000);
  });

  it('a failing write stops the stream and reaches the caller (not lost in the queue)', async () => {
    const rig = new Rig({ size: 30_000 });
    const inner = await rig.openStaging(false);
    let writes = 0;
    const failing = withCalls(inner, {
      write: async (offset, bytes) => {
        if (++writes === 3) throw new Error('disk on fire');
        await inner.write(offset, bytes);
      },
    });
    await expect(rig.run(failing, { chunkBytes: 2048, queueDepth: 2 })).rejects.toThrow('disk on fire');
    expect(writes).toBe(3); // nothing written after the failure
  });

  it('reserves room for the whole artifact before the first byte (a full staging fails at once)', async () => {
    const rig = new Rig({ size: 20_000, stagingCapacity: 10_000 });
    const sink = await rig.openStaging(false);
    await expect(rig.run(sink)).rejects.toMatchObject({ code: 'noSpace' });
    expect(rig.artifactRequests).toHaveLength(0);
  });
});

describe('download: native hash (cannot export its state)', () => {
  it('checkpoints an empty state, and a power cut at every staging operation resumes by re-hashing the sink', async () => {
    const size = 9_000;
    const options = { hasher: nativeHasher, checkpointBytes: 2000, chunkBytes: 700 };
    const probe = new Rig({ size, chunkSize: 700 });
    const probeSink = await probe.openStaging(false);
    const before = probe.hw.power.operations;
    expect(await probe.run(probeSink, options)).toMatchObject({ ok: true });
    expect(probe.checkpoints.every((c) => c.hashState.length === 0)).toBe(true);
    const operations = probe.hw.power.operations - before;
    expect(operations).toBeGreaterThan(15);

    let resumedMidway = 0;
    for (let cutAt = 1; cutAt <= operations; cutAt++) {
      const rig = new Rig({ size, chunkSize: 700 });
      const sink = await rig.openStaging(false);
      rig.hw.power.cutAfter(cutAt);
      await expect(rig.run(sink, options), `cut at ${cutAt}`).rejects.toMatchObject({ code: 'powerCut' });
      rig.reboot();
      const saved = rig.lastCheckpoint;
      if (saved && saved.offset > 0) resumedMidway++;
      const resumed = await rig.openStaging(saved !== undefined);
      const result = await rig.run(resumed, { ...options, ...(saved ? { resumeFrom: saved } : {}) });
      expect(result, `cut at ${cutAt}`).toMatchObject({ ok: true });
      expect(await stagingContent(rig), `cut at ${cutAt}`).toEqual(rig.artifact);
      if (saved && saved.offset > 0) expect(rig.server.seen.at(-1)?.range, `cut at ${cutAt}`).toBe(`bytes=${saved.offset}-`);
    }
    expect(resumedMidway).toBeGreaterThan(operations / 3);
  });

  it('re-hashes in pieces no larger than the chunk (a small board reads its sink back in its own chunk size)', async () => {
    const rig = new Rig({ size: 10_000 });
    const inner = await rig.openStaging(false);
    await inner.write(0, rig.artifact.subarray(0, 6000));
    await inner.sync();
    const reads: number[] = [];
    const sink = withCalls(inner, { read: (offset, length) => (reads.push(length), inner.read(offset, length)) });
    const result = await rig.run(sink, { hasher: nativeHasher, chunkBytes: 1000, resumeFrom: { offset: 6000, hashState: new Uint8Array(0), bytesTransferred: 6000, attempts: 1 } });
    expect(result).toMatchObject({ ok: true });
    expect(rig.server.seen[0]?.range).toBe('bytes=6000-');
    expect(reads).toEqual([1000, 1000, 1000, 1000, 1000, 1000]);
    expect(await stagingContent(rig)).toEqual(rig.artifact);
  });

  it('a resume whose staging file lost bytes below the checkpoint starts over rather than trusting a re-hash', async () => {
    const rig = new Rig({ size: 10_000 });
    const sink = await rig.openStaging(false);
    await sink.write(0, rig.artifact.subarray(0, 3000));
    await sink.sync();
    const result = await rig.run(sink, { hasher: nativeHasher, resumeFrom: { offset: 4000, hashState: new Uint8Array(0), bytesTransferred: 4000, attempts: 1 } });
    expect(result).toMatchObject({ ok: true });
    expect(rig.server.seen[0]?.range).toBeUndefined();
    expect(await stagingContent(rig)).toEqual(rig.artifact);
  });
});
