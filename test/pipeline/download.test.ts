import { describe, expect, it } from 'vitest';
import { download, type DownloadProgress } from '../../agent/pipeline/download.ts';
import type { SinkHandle } from '../../agent/pipeline/sinks.ts';
import { createAbort } from '../../agent/util/abort.ts';
import { InvalidOptionsError } from '../../hal/errors.ts';
import { artifactBytes, progressAt, Rig, sha256Hex, stagingContent } from './rig.ts';

const FAULT_URL = '/artifacts/';

/** A sink wrapper that logs every call, to check ordering rules (checkpoint only after sync). */
function loggingSink(inner: SinkHandle, log: string[]): SinkHandle {
  return {
    location: inner.location,
    write: async (offset, bytes) => {
      log.push(`write ${offset}+${bytes.length}`);
      await inner.write(offset, bytes);
    },
    sync: async () => {
      log.push('sync');
      await inner.sync();
    },
    truncate: async (length) => {
      log.push(`truncate ${length}`);
      await inner.truncate(length);
    },
    read: async (offset, length) => {
      log.push(`read ${offset}+${length}`);
      return inner.read(offset, length);
    },
    close: () => inner.close(),
  };
}

describe('download: happy path', () => {
  it('downloads, verifies and checkpoints only durable offsets', async () => {
    const rig = new Rig({ size: 20_000 });
    const log: string[] = [];
    const sink = loggingSink(await rig.openStaging(false), log);
    const progress: number[] = [];
    const result = await rig.run(sink, {
      checkpoint: async (p) => {
        log.push(`checkpoint ${p.offset}`);
        rig.checkpoints.push(p);
      },
      onProgress: (offset) => progress.push(offset),
    });
    expect(result).toEqual({ ok: true, bytesTransferred: 20_000, attempts: 1 });
    expect(await stagingContent(rig)).toEqual(rig.artifact);
    expect(rig.server.seen).toEqual([{ range: undefined, ifRange: undefined, status: 200 }]);
    // Every checkpoint directly follows a sync (no write in between): the offset it records is durable.
    log.forEach((entry, i) => {
      if (entry.startsWith('checkpoint')) expect(log[i - 1]).toBe('sync');
    });
    const offsets = rig.checkpoints.map((c) => c.offset);
    expect(offsets[offsets.length - 1]).toBe(20_000);
    // "At least every checkpointBytes": gaps never exceed it by more than one network chunk.
    offsets.reduce((previous, offset) => {
      expect(offset - previous).toBeLessThanOrEqual(4096 + 1024);
      return offset;
    }, 0);
    expect(rig.lastCheckpoint?.etag).toBe('"v1"');
    expect(progress[progress.length - 1]).toBe(20_000);
    expect(log.some((entry) => entry.startsWith('read'))).toBe(false);
  });

  it('accepts an empty artifact without a request', async () => {
    const rig = new Rig({ size: 0 });
    const result = await rig.run(await rig.openStaging(false));
    expect(result.ok).toBe(true);
    expect(rig.server.seen).toHaveLength(0);
  });

  it('follows a server that caps ranges, without spending attempts', async () => {
    const rig = new Rig({ size: 20_000 });
    rig.network.fault({ kind: 'reset', afterBytes: 3000, url: FAULT_URL });
    rig.server.rangeCap = 5000;
    const result = await rig.run(await rig.openStaging(false), { maxAttempts: 2 });
    expect(result).toMatchObject({ ok: true, attempts: 2, bytesTransferred: 20_000 });
    expect(rig.server.seen.map((s) => s.range)).toEqual([undefined, 'bytes=3000-', 'bytes=8000-', 'bytes=13000-', 'bytes=18000-']);
    expect(await stagingContent(rig)).toEqual(rig.artifact);
  });
});

describe('download: resume and restart', () => {
  it('resumes with Range from the last checkpoint after a reset mid-body', async () => {
    const rig = new Rig({ size: 20_000 });
    rig.network.fault({ kind: 'reset', afterBytes: 10_000, url: FAULT_URL });
    const result = await rig.run(await rig.openStaging(false));
    expect(result).toEqual({ ok: true, bytesTransferred: 20_000, attempts: 2 });
    const beforeRetry = rig.checkpoints.filter((c) => c.attempts === 1).pop();
    expect(beforeRetry?.offset).toBe(10_000);
    expect(rig.server.seen[1]).toEqual({ range: 'bytes=10000-', ifRange: '"v1"', status: 206 });
    expect(await stagingContent(rig)).toEqual(rig.artifact);
  });

  it('restarts from zero when the server ignores Range (200)', async () => {
    const rig = new Rig({ size: 20_000 });
    rig.network.fault({ kind: 'reset', afterBytes: 8000, url: FAULT_URL });
    rig.server.ignoreRange = true;
    const result = await rig.run(await rig.openStaging(false));
    expect(result).toEqual({ ok: true, bytesTransferred: 28_000, attempts: 2 });
    expect(rig.server.seen.map((s) => [s.range, s.status])).toEqual([[undefined, 200], ['bytes=8000-', 200]]);
    // The reset to 0 was recorded before any new byte: a crash then cannot mix old state and new bytes.
    const restart = rig.checkpoints.findIndex((c) => c.offset === 0);
    expect(restart).toBeGreaterThan(0);
    expect(await stagingContent(rig)).toEqual(rig.artifact);
  });

  it('restarts with the new artifact when If-Range finds the ETag changed', async () => {
    const rig = new Rig({ size: 20_000 });
    rig.network.fault({ kind: 'reset', afterBytes: 8000, url: FAULT_URL });
    const updated = artifactBytes(20_000, 99);
    const sink = await rig.openStaging(false);
    const running = download(rig.options(sink, { digest: sha256Hex(updated) }));
    await rig.clock.settle();
    rig.server.replace(updated, '"v2"'); // changes while we back off
    const result = await rig.drive(running);
    expect(result).toMatchObject({ ok: true, attempts: 2 });
    expect(rig.server.seen[1]).toEqual({ range: 'bytes=8000-', ifRange: '"v1"', status: 200 });
    expect(await stagingContent(rig)).toEqual(updated);
    expect(rig.lastCheckpoint?.etag).toBe('"v2"');
  });

  it('restarts when a 206 carries another ETag (server ignores If-Range)', async () => {
    const rig = new Rig({ size: 20_000 });
    rig.network.fault({ kind: 'reset', afterBytes: 8000, url: FAULT_URL });
    const updated = artifactBytes(20_000, 7);
    rig.server.intercept = (range) => {
      if (range === undefined) return undefined;
      rig.server.replace(updated, '"v2"');
      return { status: 206, headers: { etag: '"v2"', 'content-range': 'bytes 8000-19999/20000' }, body: updated.subarray(8000) };
    };
    const result = await rig.run(await rig.openStaging(false), { digest: sha256Hex(updated) });
    expect(result).toMatchObject({ ok: true, attempts: 3 });
    expect(rig.server.seen.map((s) => [s.range, s.status])).toEqual([[undefined, 200], ['bytes=8000-', 206], [undefined, 200]]);
    expect(await stagingContent(rig)).toEqual(updated);
  });

  it('restarts once after 416', async () => {
    const rig = new Rig({ size: 20_000 });
    rig.network.fault({ kind: 'reset', afterBytes: 8000, url: FAULT_URL });
    let answered = false;
    rig.server.intercept = (range) => {
      if (range === undefined || answered) return undefined;
      answered = true;
      return { status: 416, headers: { 'content-range': 'bytes */20000' } };
    };
    const result = await rig.run(await rig.openStaging(false));
    expect(result).toMatchObject({ ok: true, attempts: 3, bytesTransferred: 28_000 });
    expect(rig.server.seen.map((s) => [s.range, s.status])).toEqual([[undefined, 200], ['bytes=8000-', 416], [undefined, 200]]);
    expect(await stagingContent(rig)).toEqual(rig.artifact);
  });

  it('stops on a second 416', async () => {
    const rig = new Rig({ size: 20_000 });
    const unranged = (t: { headers: Record<string, string> }) => t.headers['range'] === undefined;
    rig.network.fault({ kind: 'reset', afterBytes: 8000, url: FAULT_URL, predicate: unranged });
    rig.network.fault({ kind: 'reset', afterBytes: 4000, url: FAULT_URL, predicate: unranged });
    rig.server.intercept = (range) => (range === undefined ? undefined : { status: 416 });
    const result = await rig.run(await rig.openStaging(false));
    expect(result).toMatchObject({ ok: false, code: 'httpStatus', status: 416, retryable: false, attempts: 4 });
    expect(rig.server.seen.map((s) => [s.range, s.status])).toEqual([[undefined, 200], ['bytes=8000-', 416], [undefined, 200], ['bytes=4000-', 416]]);
  });
});

describe('download: server answers', () => {
  it.each([403, 404, 410])('HTTP %i → relocate (the location expired)', async (status) => {
    const rig = new Rig();
    rig.server.scripted.push({ status });
    const result = await rig.run(await rig.openStaging(false));
    expect(result).toMatchObject({ ok: false, code: 'relocate', status, retryable: true, attempts: 1 });
    expect(rig.server.seen).toHaveLength(1);
  });

  it.each([400, 401, 405])('HTTP %i → stop, not retryable', async (status) => {
    const rig = new Rig();
    rig.server.scripted.push({ status });
    const result = await rig.run(await rig.openStaging(false));
    expect(result).toMatchObject({ ok: false, code: 'httpStatus', status, retryable: false, attempts: 1 });
    expect(rig.server.seen).toHaveLength(1);
  });

  it('503 then OK: waits the backoff on the virtual clock', async () => {
    const rig = new Rig();
    rig.server.scripted.push({ status: 503 }, { status: 503 });
    const running = download(rig.options(await rig.openStaging(false)));
    let result: unknown;
    void running.then((r) => (result = r));
    await rig.clock.settle();
    expect(rig.server.seen).toHaveLength(1);
    await rig.clock.advance(999);
    expect(rig.server.seen).toHaveLength(1);
    await rig.clock.advance(1);
    expect(rig.server.seen).toHaveLength(2); // first retry after initialMs
    await rig.clock.advance(1999);
    expect(rig.server.seen).toHaveLength(2);
    await rig.clock.advance(1);
    expect(rig.server.seen).toHaveLength(3); // second after initialMs × factor
    expect(result).toMatchObject({ ok: true, attempts: 3 });
  });

  it('honours Retry-After (capped by maxMs)', async () => {
    const rig = new Rig();
    rig.server.scripted.push({ status: 503, headers: { 'retry-after': '5' } });
    const running = download(rig.options(await rig.openStaging(false)));
    await rig.clock.settle();
    await rig.clock.advance(4999);
    expect(rig.server.seen).toHaveLength(1);
    await rig.clock.advance(1);
    expect(rig.server.seen).toHaveLength(2);
    expect(await running).toMatchObject({ ok: true });
  });

  it('gives up after maxAttempts with the last failure in the message', async () => {
    const rig = new Rig();
    for (let i = 0; i < 3; i++) rig.server.scripted.push({ status: 502 });
    const result = await rig.run(await rig.openStaging(false), { maxAttempts: 3 });
    expect(result).toMatchObject({ ok: false, code: 'attemptsExhausted', attempts: 3, retryable: true });
    expect(result.ok === false && result.message).toContain('HTTP 502');
    expect(rig.server.seen).toHaveLength(3);
  });

  it('a stalled body times out on the virtual clock and resumes', async () => {
    const rig = new Rig({ size: 20_000 });
    rig.network.fault({ kind: 'stall', afterBytes: 6000, url: FAULT_URL });
    const running = download(rig.options(await rig.openStaging(false), { timeoutMs: 30_000 }));
    await rig.clock.settle();
    await rig.clock.advance(29_999);
    expect(rig.server.seen).toHaveLength(1);
    await rig.clock.advance(1); // idle timeout
    await rig.clock.advance(1000); // backoff
    expect(rig.server.seen[1]?.range).toBe('bytes=6000-');
    expect(await running).toMatchObject({ ok: true, attempts: 2, bytesTransferred: 20_000 });
    expect(await stagingContent(rig)).toEqual(rig.artifact);
  });

  it('a short body (server closes early) is retried from where it stopped', async () => {
    const rig = new Rig({ size: 20_000 });
    rig.network.fault({ kind: 'partialBody', bytes: 12_345, url: FAULT_URL });
    const result = await rig.run(await rig.openStaging(false));
    expect(result).toMatchObject({ ok: true, attempts: 2, bytesTransferred: 20_000 });
    expect(rig.server.seen[1]?.range).toBe('bytes=12345-');
  });
});

describe('download: refusals', () => {
  it('corrupt artifact → digestMismatch, no completed progress recorded', async () => {
    const rig = new Rig({ size: 20_000 });
    const corrupt = rig.artifact.slice();
    corrupt[12_345] = (corrupt[12_345] as number) ^ 0x40;
    const digest = sha256Hex(rig.artifact);
    rig.server.replace(corrupt, '"v1"');
    const result = await rig.run(await rig.openStaging(false), { digest });
    expect(result).toMatchObject({ ok: false, code: 'digestMismatch', retryable: true, attempts: 1 });
    expect(rig.checkpoints.every((c) => c.offset < 20_000)).toBe(true);
  });

  it('oversize artifact (Content-Length) → sizeMismatch before writing', async () => {
    const rig = new Rig({ size: 20_000 });
    const size = rig.artifact.length;
    rig.server.replace(artifactBytes(21_000), '"v1"');
    const result = await rig.run(await rig.openStaging(false), { size });
    expect(result).toMatchObject({ ok: false, code: 'sizeMismatch', retryable: false });
    expect(await stagingContent(rig)).toHaveLength(0);
  });

  it('oversize streamed body (no Content-Length) → sizeMismatch at the first extra byte', async () => {
    const rig = new Rig({ size: 20_000 });
    const extra = artifactBytes(21_000);
    async function* body() {
      for (let i = 0; i < extra.length; i += 3000) yield extra.subarray(i, i + 3000);
    }
    rig.server.scripted.push({ status: 200, body: body() });
    const result = await rig.run(await rig.openStaging(false), { digest: sha256Hex(extra.subarray(0, 20_000)) });
    expect(result).toMatchObject({ ok: false, code: 'sizeMismatch' });
    expect((await stagingContent(rig)).length).toBeLessThanOrEqual(20_000);
  });

  it('206 with a complete length other than the size → sizeMismatch', async () => {
    const rig = new Rig({ size: 20_000 });
    rig.network.fault({ kind: 'reset', afterBytes: 5000, url: FAULT_URL });
    rig.server.intercept = (range) =>
      range === undefined ? undefined : { status: 206, headers: { 'content-range': 'bytes 5000-29999/30000' }, body: new Uint8Array(25_000) };
    expect(await rig.run(await rig.openStaging(false))).toMatchObject({ ok: false, code: 'sizeMismatch', retryable: false });
  });

  it('206 starting elsewhere than asked is not spliced in: retried, then given up', async () => {
    const rig = new Rig({ size: 20_000 });
    rig.network.fault({ kind: 'reset', afterBytes: 5000, url: FAULT_URL });
    rig.server.intercept = (range) =>
      range === undefined ? undefined : { status: 206, headers: { 'content-range': 'bytes 0-19999/20000' }, body: rig.artifact };
    const result = await rig.run(await rig.openStaging(false), { maxAttempts: 3 });
    expect(result).toMatchObject({ ok: false, code: 'attemptsExhausted' });
    expect(result.ok === false && result.message).toContain('starts at 0, requested 5000');
    expect((await stagingContent(rig)).subarray(0, 5000)).toEqual(rig.artifact.subarray(0, 5000));
  });

  it('budget: bytes across attempts (and earlier runs) above byteBudget → budgetExceeded', async () => {
    const rig = new Rig({ size: 20_000 });
    rig.network.fault({ kind: 'reset', afterBytes: 15_000, url: FAULT_URL });
    rig.server.ignoreRange = true;
    const result = await rig.run(await rig.openStaging(false), { byteBudget: 25_000 });
    expect(result).toMatchObject({ ok: false, code: 'budgetExceeded', retryable: false });
    expect(result.bytesTransferred).toBeGreaterThan(25_000);
    expect(result.bytesTransferred).toBeLessThanOrEqual(25_000 + 1024);

    const spent = new Rig({ size: 20_000 });
    const progress: DownloadProgress = { offset: 0, hashState: spent.hasher.create().exportState(), bytesTransferred: 30_000, attempts: 1 };
    const stopped = await spent.run(await spent.openStaging(true), { byteBudget: 30_000, resumeFrom: progress });
    expect(stopped).toMatchObject({ ok: false, code: 'budgetExceeded' });
    expect(spent.server.seen).toHaveLength(0);
  });

  it('refuses a bad URL without a request', async () => {
    const rig = new Rig();
    const result = await rig.run(await rig.openStaging(false), { url: 'http://user:pw@dl.test/artifacts/pkg.bin' });
    expect(result).toMatchObject({ ok: false, code: 'badUrl', retryable: false, attempts: 0 });
    const https = await rig.run(await rig.openStaging(false), { allowedSchemes: ['https'] });
    expect(https).toMatchObject({ ok: false, code: 'badUrl' });
    expect(rig.server.seen).toHaveLength(0);
  });

  it('rejects invalid options with InvalidOptionsError', async () => {
    const rig = new Rig();
    const sink = await rig.openStaging(false);
    await expect(download(rig.options(sink, { digest: 'abc' }))).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(download(rig.options(sink, { checkpointBytes: 0 }))).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(download(rig.options(sink, { size: -1 }))).rejects.toBeInstanceOf(InvalidOptionsError);
  });
});

describe('download: abort', () => {
  it('aborts promptly during a backoff wait and leaves no timer behind', async () => {
    const rig = new Rig();
    rig.server.scripted.push({ status: 503 });
    const abort = createAbort();
    const running = download(rig.options(await rig.openStaging(false), { signal: abort.signal, backoff: { initialMs: 60_000, maxMs: 60_000, factor: 2 } }));
    let result: unknown;
    void running.then((r) => (result = r));
    await rig.clock.settle();
    expect(rig.clock.pendingTimers).toBe(1); // the backoff
    abort.abort('shutdown');
    await rig.clock.settle(); // no time passes
    expect(result).toMatchObject({ ok: false, code: 'aborted', retryable: true });
    expect(rig.clock.pendingTimers).toBe(0);
    await rig.clock.advance(120_000);
    expect(rig.server.seen).toHaveLength(1);
  });

  it('aborts a stalled body without waiting for the timeout', async () => {
    const rig = new Rig();
    rig.network.fault({ kind: 'stall', afterBytes: 3000, url: FAULT_URL });
    const abort = createAbort();
    const running = download(rig.options(await rig.openStaging(false), { signal: abort.signal }));
    await rig.clock.settle();
    abort.abort();
    await rig.clock.settle();
    expect(await running).toMatchObject({ ok: false, code: 'aborted' });
    expect(rig.clock.now).toBe(0);
  });
});

describe('download: across reboots and power cuts', () => {
  it('resumes after a reboot from the last checkpoint, without re-reading flash, despite garbage after it', async () => {
    const rig = new Rig({ size: 40_000 });
    rig.network.fault({ kind: 'stall', afterBytes: 23_000, url: FAULT_URL });
    const abort = createAbort();
    const first = download(rig.options(await rig.openStaging(false), { signal: abort.signal }));
    await rig.clock.settle();
    abort.abort();
    expect(await first).toMatchObject({ ok: false, code: 'aborted' });
    const saved = rig.lastCheckpoint!;
    expect(saved.offset).toBe(20_480);
    // Bytes past the checkpoint are torn on a real device: make them garbage, durable even.
    const sink = await rig.openStaging(true);
    await sink.write(saved.offset, new Uint8Array(40_000 - saved.offset + 1000).fill(0xee)); // even past the end
    await sink.sync();
    await sink.close();

    rig.reboot();
    const log: string[] = [];
    const resumed = loggingSink(await rig.openStaging(true), log);
    const hashedBefore = rig.hasher.hashedBytes;
    const result = await rig.run(resumed, { resumeFrom: saved });
    expect(result).toMatchObject({ ok: true, attempts: 2, bytesTransferred: 40_000 });
    expect(rig.hasher.hashedBytes - hashedBefore).toBe(40_000 - saved.offset);
    expect(log[0]).toBe(`truncate ${saved.offset}`);
    expect(log.some((entry) => entry.startsWith('read'))).toBe(false);
    expect(rig.server.seen[1]).toMatchObject({ range: `bytes=${saved.offset}-`, ifRange: '"v1"' });
    expect(await stagingContent(rig)).toEqual(rig.artifact);
  });

  it('a checkpoint past the sink content (file lost) restarts from zero', async () => {
    const rig = new Rig({ size: 10_000 });
    const progress = progressAt(rig.artifact, 8192, { etag: '"v1"' });
    const result = await rig.run(await rig.openStaging(true), { resumeFrom: progress });
    expect(result).toMatchObject({ ok: true, attempts: 2, bytesTransferred: 18_192 });
    expect(rig.server.seen[0]?.range).toBeUndefined();
    expect(await stagingContent(rig)).toEqual(rig.artifact);
  });

  it.each([
    ['unreadable', (artifact: Uint8Array) => ({ ...progressAt(artifact, 4096), hashState: new Uint8Array(3) })],
    ['of another offset', (artifact: Uint8Array) => ({ ...progressAt(artifact, 2048), offset: 4096 })],
  ])('a hash state that is %s restarts from zero', async (_label, make) => {
    const rig = new Rig({ size: 10_000 });
    const sink = await rig.openStaging(false);
    await sink.write(0, rig.artifact.subarray(0, 4096));
    await sink.sync();
    const result = await rig.run(sink, { resumeFrom: make(rig.artifact) });
    expect(result).toMatchObject({ ok: true });
    expect(rig.server.seen[0]?.range).toBeUndefined();
    expect(await stagingContent(rig)).toEqual(rig.artifact);
  });

  it('power cut at every staging operation: resuming from the last checkpoint always ends with the exact artifact', async () => {
    const size = 12_000;
    // Count the mutating operations of a clean run (with one reset, so retries are covered too).
    const probe = new Rig({ size, chunkSize: 700 });
    probe.network.fault({ kind: 'reset', afterBytes: 5000, url: FAULT_URL });
    const probeSink = await probe.openStaging(false);
    const before = probe.hw.power.operations;
    // Writes of one network chunk (700 bytes), so some are still queued when the power goes.
    expect(await probe.run(probeSink, { checkpointBytes: 2000, chunkBytes: 700 })).toMatchObject({ ok: true });
    const operations = probe.hw.power.operations - before;
    expect(operations).toBeGreaterThan(20);

    let cuts = 0;
    let resumedMidway = 0;
    for (let cutAt = 1; cutAt <= operations; cutAt++) {
      const rig = new Rig({ size, chunkSize: 700 });
      rig.network.fault({ kind: 'reset', afterBytes: 5000, url: FAULT_URL });
      const sink = await rig.openStaging(false);
      rig.hw.power.cutAfter(cutAt);
      await expect(rig.run(sink, { checkpointBytes: 2000, chunkBytes: 700 }), `cut at ${cutAt}`).rejects.toMatchObject({ code: 'powerCut' });
      cuts++;
      rig.reboot();
      const saved = rig.lastCheckpoint;
      if (saved && saved.offset > 0) resumedMidway++;
      const resumed = await rig.openStaging(saved !== undefined);
      const result = await rig.run(resumed, { checkpointBytes: 2000, chunkBytes: 700, ...(saved ? { resumeFrom: saved } : {}) });
      expect(result, `cut at ${cutAt}`).toMatchObject({ ok: true });
      expect(await stagingContent(rig), `cut at ${cutAt}`).toEqual(rig.artifact);
    }
    expect(cuts).toBe(operations);
    expect(resumedMidway).toBeGreaterThan(operations / 2);
  });
});

describe('download: requests', () => {
  it('sends no If-Range with a weak ETag, but still notices a changed one', async () => {
    const rig = new Rig({ size: 10_000 });
    rig.server.etag = 'W/"weak"';
    rig.network.fault({ kind: 'reset', afterBytes: 4000, url: FAULT_URL });
    const result = await rig.run(await rig.openStaging(false));
    expect(result).toMatchObject({ ok: true });
    expect(rig.server.seen[1]).toMatchObject({ range: 'bytes=4000-', ifRange: undefined, status: 206 });
    expect(rig.artifactRequests[1]?.headers['range']).toBe('bytes=4000-');
  });
});
