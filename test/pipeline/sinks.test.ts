import { describe, expect, it } from 'vitest';
import { download } from '../../agent/pipeline/download.ts';
import { SinkError, stagingSink } from '../../agent/pipeline/sinks.ts';
import { slotSink, type SlotSinkHandle } from '../../agent/pipeline/slot-sink.ts';
import { createAbort } from '../../agent/util/abort.ts';
import { artifactBytes, progressAt, Rig, sha256Hex, stagingContent } from './rig.ts';

const FAULT_URL = '/artifacts/';

function openSlot(rig: Rig, resume: boolean): Promise<SlotSinkHandle> {
  return slotSink(rig.device.update, { size: rig.artifact.length, version: '2.0.0' }).open({ resume });
}

/** Erase count of the inactive slot's partition, summed over its blocks. */
function slotErases(rig: Rig): number {
  return [...(rig.hw.flashMemory.eraseCounts.get('slot_b') ?? [])].reduce((a, b) => a + b, 0);
}

/** Starts a download that stalls after `bytes` and aborts it there; returns its checkpoints. */
async function interruptedRun(rig: Rig, sink: SlotSinkHandle, bytes: number): Promise<void> {
  rig.network.fault({ kind: 'stall', afterBytes: bytes, url: FAULT_URL });
  const abort = createAbort();
  const running = download(rig.options(sink, { signal: abort.signal }));
  await rig.clock.settle();
  abort.abort();
  expect(await running).toMatchObject({ ok: false, code: 'aborted' });
}

describe('staging sink', () => {
  it('open without resume empties the file; with resume keeps it', async () => {
    const rig = new Rig();
    const first = await rig.openStaging(false);
    expect(first.location).toBe('mock:/staging/pkg');
    await first.write(0, new Uint8Array([1, 2, 3, 4]));
    await first.sync();
    await first.close();
    const kept = await rig.openStaging(true);
    expect(await kept.read(0, 10)).toEqual(new Uint8Array([1, 2, 3, 4]));
    await kept.close();
    const emptied = await rig.openStaging(false);
    expect(await emptied.read(0, 10)).toEqual(new Uint8Array(0));
    await emptied.close();
  });

  it('truncate drops the tail, and refuses to keep bytes the file does not have', async () => {
    const rig = new Rig();
    const sink = await stagingSink(rig.device.staging, 'x').open({ resume: false });
    await sink.write(0, new Uint8Array(100).fill(7));
    await sink.truncate(40);
    expect((await sink.read(0, 100)).length).toBe(40);
    const error = await sink.truncate(41).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkError);
    expect(error).toMatchObject({ code: 'cannotResume' });
  });
});

describe('slot sink', () => {
  it('round trip: download into the inactive slot, complete, pending for the next boot', async () => {
    const rig = new Rig({ size: 50_000 });
    const sink = await openSlot(rig, false);
    expect(sink.location).toBe('slot:b');
    const erases = slotErases(rig);
    const result = await rig.run(sink);
    expect(result).toMatchObject({ ok: true, attempts: 1 });
    expect(slotErases(rig)).toBe(erases); // the download's truncate(0) did not erase a fresh slot again
    expect(await sink.read(0, 50_000)).toEqual(rig.artifact);
    await sink.complete(sha256Hex(rig.artifact));
    const status = await rig.device.update.status();
    expect(status.pending).toBe('b');
    expect(status.slots.find((s) => s.slot === 'b')).toMatchObject({ version: '2.0.0', size: 50_000, sha256: sha256Hex(rig.artifact) });
  });

  it('resumes after a reboot: the slot keeps its durable bytes and only the rest is fetched', async () => {
    const rig = new Rig({ size: 50_000 });
    await interruptedRun(rig, await openSlot(rig, false), 30_000);
    const saved = rig.lastCheckpoint!;
    expect(saved.offset).toBeGreaterThan(0);
    rig.reboot();
    const erases = slotErases(rig);
    const sink = await openSlot(rig, true);
    const result = await rig.run(sink, { resumeFrom: saved });
    expect(result).toMatchObject({ ok: true, bytesTransferred: 50_000 });
    expect(slotErases(rig)).toBe(erases);
    expect(rig.server.seen[1]?.range).toBe(`bytes=${saved.offset}-`);
    await sink.complete(sha256Hex(rig.artifact));
  });

  it('a changed artifact over programmed flash is a rewriteConflict: erase and restart from zero', async () => {
    const rig = new Rig({ size: 50_000 });
    rig.server.etag = undefined; // nothing tells the client the artifact changed
    await interruptedRun(rig, await openSlot(rig, false), 30_000);
    // Resume from an older checkpoint than the slot's durable length (crash after sync, before the record).
    const older = rig.checkpoints[1]!;
    expect(older.offset).toBeLessThan(rig.lastCheckpoint!.offset);
    const updated = artifactBytes(50_000, 1234);
    rig.server.replace(updated, undefined);
    rig.reboot();
    const erases = slotErases(rig);
    const sink = await openSlot(rig, true);
    const result = await rig.run(sink, { resumeFrom: older, digest: sha256Hex(updated) });
    expect(result).toMatchObject({ ok: true });
    expect(rig.server.seen.slice(1).map((s) => [s.range, s.status])).toEqual([[`bytes=${older.offset}-`, 206], [undefined, 200]]);
    expect(slotErases(rig)).toBeGreaterThan(erases);
    await sink.complete(sha256Hex(updated));
  });

  it('a checkpoint beyond what the slot holds (slot erased meanwhile) restarts from zero', async () => {
    const rig = new Rig({ size: 20_000 });
    const progress = progressAt(rig.artifact, 8192);
    const sink = await openSlot(rig, true); // no record of this image: opened erased
    await expect(sink.truncate(8192)).rejects.toMatchObject({ code: 'cannotResume' });
    const result = await rig.run(sink, { resumeFrom: progress });
    expect(result).toMatchObject({ ok: true });
    expect(rig.server.seen[0]?.range).toBeUndefined();
    await sink.complete(sha256Hex(rig.artifact));
  });

  it('power cut at every flash operation of a slot download: resume always completes a verified image', async () => {
    const size = 30_000;
    const options = { chunkSize: 2000, size };
    const probe = new Rig(options);
    const probeSink = await openSlot(probe, false);
    const before = probe.hw.power.operations;
    expect(await probe.run(probeSink, { checkpointBytes: 6000 })).toMatchObject({ ok: true });
    const operations = probe.hw.power.operations - before;
    expect(operations).toBeGreaterThan(10);

    let resumedMidway = 0;
    for (let cutAt = 1; cutAt <= operations; cutAt++) {
      const rig = new Rig(options);
      const sink = await openSlot(rig, false);
      rig.hw.power.cutAfter(cutAt);
      await expect(rig.run(sink, { checkpointBytes: 6000 }), `cut at ${cutAt}`).rejects.toMatchObject({ code: 'powerCut' });
      rig.reboot();
      const saved = rig.lastCheckpoint;
      if (saved && saved.offset > 0) resumedMidway++;
      const resumed = await openSlot(rig, saved !== undefined);
      const result = await rig.run(resumed, { checkpointBytes: 6000, ...(saved ? { resumeFrom: saved } : {}) });
      expect(result, `cut at ${cutAt}`).toMatchObject({ ok: true });
      await resumed.complete(sha256Hex(rig.artifact)); // reads the whole slot back and verifies it
    }
    expect(resumedMidway).toBeGreaterThan(operations / 2);
  });
});

describe('staging sink under the download', () => {
  it('keeps the staged bytes in the file the host finds at `location`', async () => {
    const rig = new Rig({ size: 5000 });
    const sink = await rig.openStaging(false);
    expect(await rig.run(sink)).toMatchObject({ ok: true });
    expect(sink.location).toBe('mock:/staging/pkg');
    expect(await stagingContent(rig)).toEqual(rig.artifact);
  });
});
