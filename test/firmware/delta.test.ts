/**
 * A firmware update delivered as a delta, end to end on the mock HAL: the reference update
 * service makes the patch with the real xdelta3 / bsdiff from the image of the version the phone
 * reports, the phone checks its running image (the active slot) first, fetches the patch into
 * staging, applies it streaming into the inactive slot, verifies the result as the full image,
 * boots it and reports how the delta went. Fallbacks: a running image that is not the delta's
 * source (no patch byte fetched), a corrupt patch (the full image instead, once). Power cut at
 * every write and erase of a delta update: never a half-applied slot pending or booted, the
 * update converges on the exact image, reported once.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeValue } from '../../agent/store/index.ts';
import { PowerCutError } from '../../hal/errors.ts';
import { DeltaMaker, type DeltaToolFormat } from '../../server/deltas.ts';
import { tempDir } from '../server/updates-fixture.ts';
import { revisedBytes, xorshiftBytes } from '../../cli/demo/fixture.ts';
import { FROM, type Phone, TO, type UpdateWorld, updateWorld } from './rig.ts';

const CONFIG = { firmware: { idleRebootMs: 0, download: { checkpointBytes: 4096, checkpointMs: 0 } } };
const SIZE = 10 * 1024;
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

// The new version: a few regions rewritten, a block moved (cli/demo/fixture.ts), same size.
const SOURCE = xorshiftBytes(SIZE, 7);
const TARGET = revisedBytes(SOURCE, SIZE, 8);

let temp: { dir: string; cleanup(): Promise<void> };
beforeAll(async () => {
  temp = await tempDir('dm-fw-delta-');
});
afterAll(async () => temp.cleanup());

async function world(format: DeltaToolFormat, name: string): Promise<UpdateWorld> {
  return updateWorld({ source: SOURCE, image: TARGET, deltas: new DeltaMaker({ dir: join(temp.dir, name), formats: [format] }) });
}

interface Drive {
  phone: Phone;
  cuts: number;
  /** Cuts that hit while the job's delta was `applying` (persisted before the apply's first write). */
  cutsInApply: number;
}

/** Runs the update to its reported end; after a power cut the phone boots again and carries on. */
async function drive(w: UpdateWorld, start: Phone, cutAfter?: number): Promise<Drive> {
  let phone = start;
  if (cutAfter !== undefined) phone.hardware.power.cutAfter(cutAfter);
  let cuts = 0;
  let cutsInApply = 0;
  for (let round = 0; round < 30; round++) {
    const requests = phone.hardware.rebootRequests.length;
    try {
      await phone.agent.trigger('firmware', 'boot');
    } catch (error) {
      if (!(error instanceof PowerCutError)) throw error;
      cuts++;
      if (deltaPhase(phone) === 'applying') cutsInApply++;
      phone = await bootUntilUp(w, phone, () => cuts++);
      continue;
    }
    const done = !phone.agent.store.has('firmware/job') && phone.agent.outbox.pending('firmware').length === 0;
    if (done) break;
    if (phone.hardware.rebootRequests.length > requests) phone = await bootUntilUp(w, phone, () => cuts++);
  }
  return { phone, cuts, cutsInApply };
}

/** Boots again; a cut during the bootloader or the agent's start is one more boot. */
async function bootUntilUp(w: UpdateWorld, phone: Phone, onCut: () => void): Promise<Phone> {
  await phone.agent.close().catch(() => undefined);
  for (;;) {
    try {
      const next = await w.restart(phone);
      await checkSlots(next);
      return next;
    } catch (error) {
      if (!(error instanceof PowerCutError)) throw error;
      onCut();
    }
  }
}

/** Any slot that is pending or booted other than the factory slot holds exactly the new image. */
async function checkSlots(phone: Phone): Promise<void> {
  const device = phone.hardware.device!;
  const status = await device.update.status();
  for (const slot of new Set([status.pending, status.active === 'a' ? undefined : status.active])) {
    if (slot === undefined) continue;
    const partition = await device.flash.open({ partition: `slot_${slot}` });
    try {
      expect(sha(await partition.read(0, SIZE)), `slot ${slot} is ${slot === status.pending ? 'pending' : 'booted'}`).toBe(sha(TARGET));
    } finally {
      await partition.close();
    }
  }
}

function deltaPhase(phone: Phone): string | undefined {
  try {
    const raw = phone.agent.store.get('firmware/job/download');
    if (!raw) return undefined;
    const record = decodeValue('firmware/job/download', raw) as { context?: { delta?: { phase?: string } } };
    return record.context?.delta?.phase;
  } catch {
    return undefined;
  }
}

async function runningImage(phone: Phone): Promise<Uint8Array> {
  return phone.hardware.device!.update.readActive!(0, SIZE);
}

function requestsTo(w: UpdateWorld, part: string, from = 0): number {
  return w.network.requests.slice(from).filter((r) => r.url.includes(part)).length;
}

describe('firmware update as a delta (mock HAL, reference service with the real tools)', () => {
  for (const format of ['vcdiff', 'bsdiff'] as const) {
    it(`${format}: the patch is applied into the inactive slot, boots, and the report says what it saved`, async () => {
      const w = await world(format, `applied-${format}`);
      try {
        const before = w.network.requests.length;
        const run = await drive(w, await w.phone(`d-${format}`, { config: CONFIG, factory: SOURCE }));
        expect(run.cuts).toBe(0);
        expect(sha(await runningImage(run.phone))).toBe(sha(TARGET));
        expect((await run.phone.agent.firmware!.info()).version).toBe(TO);
        const [result] = w.service.journal().filter((e) => e.type === 'report') as { report: { outcome: string; delta?: Record<string, unknown> } }[];
        expect(result?.report.outcome).toBe('installed');
        expect(result?.report.delta).toMatchObject({ format, sourceVersion: FROM, outcome: 'applied', fullBytes: SIZE });
        const patchBytes = result!.report.delta!.patchBytes as number;
        expect(patchBytes).toBeGreaterThan(0);
        expect(patchBytes).toBeLessThan(SIZE / 2);
        // Only the patch went over the link: the full image was never asked for.
        expect(requestsTo(w, '/deltas/', before)).toBeGreaterThan(0);
        expect(requestsTo(w, '/images/', before)).toBe(0);
        expect(await run.phone.hardware.device!.staging.list()).toEqual([]);
        console.log(`firmware delta (${format}): ${patchBytes} patch bytes for a ${SIZE}-byte image (${((1 - patchBytes / SIZE) * 100).toFixed(0)} % saved)`);
        await run.phone.agent.close();
      } finally {
        await w.cleanup();
      }
    }, 60_000);
  }

  it('a running image that is not the source: no patch byte fetched, the full image instead, reported', async () => {
    const w = await world('vcdiff', 'wrong-source');
    try {
      const before = w.network.requests.length;
      const run = await drive(w, await w.phone('wrong', { config: CONFIG, factory: xorshiftBytes(SIZE, 8) }));
      expect(sha(await runningImage(run.phone))).toBe(sha(TARGET));
      expect(requestsTo(w, '/deltas/', before)).toBe(0);
      expect(requestsTo(w, '/images/', before)).toBeGreaterThan(0);
      const [result] = w.service.journal().filter((e) => e.type === 'report') as { report: { outcome: string; delta?: Record<string, unknown> } }[];
      expect(result?.report).toMatchObject({ outcome: 'installed', delta: { outcome: 'fellBack', code: 'sourceMismatch', patchBytes: 0 } });
      await run.phone.agent.close();
    } finally {
      await w.cleanup();
    }
  }, 60_000);

  it('a corrupt patch (digest right, content wrong): the apply fails typed, the full image instead, once', async () => {
    const dir = join(temp.dir, 'corrupt');
    const maker = new DeltaMaker({ dir, formats: ['vcdiff'] });
    // The maker's cache: a "patch" with a valid VCDIFF header and garbage after it.
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir, { recursive: true });
    const garbage = Uint8Array.from([0xd6, 0xc3, 0xc4, 0x00, 0x00, ...xorshiftBytes(400, 3)]);
    await writeFile(join(dir, `${sha(SOURCE)}-${sha(TARGET)}.vcdiff`), garbage);
    const w = await updateWorld({ source: SOURCE, image: TARGET, deltas: maker });
    try {
      const before = w.network.requests.length;
      const run = await drive(w, await w.phone('corrupt', { config: CONFIG, factory: SOURCE }));
      expect(sha(await runningImage(run.phone))).toBe(sha(TARGET));
      expect(requestsTo(w, '/deltas/', before)).toBe(1);
      expect(requestsTo(w, '/images/', before)).toBeGreaterThan(0);
      const [result] = w.service.journal().filter((e) => e.type === 'report') as { report: { outcome: string; delta?: { code?: string } } }[];
      expect(result?.report).toMatchObject({ outcome: 'installed', delta: { outcome: 'fellBack', patchBytes: garbage.length } });
      expect(['corrupt', 'truncated', 'unsupported', 'checksumMismatch']).toContain(result?.report.delta?.code);
      expect(await run.phone.hardware.device!.staging.list()).toEqual([]);
      await run.phone.agent.close();
    } finally {
      await w.cleanup();
    }
  }, 60_000);

  it('a power cut at every write and erase of a delta update: never a half-applied slot marked good, converges, reported once', async () => {
    const w = await world('vcdiff', 'cuts');
    try {
      const probe = await w.phone('probe', { config: CONFIG, factory: SOURCE });
      const start = probe.hardware.power.operations;
      const clean = await drive(w, probe);
      const total = clean.phone.hardware.power.operations - start;
      await clean.phone.agent.close();
      let cuts = 0;
      let inApply = 0;
      let fellBack = 0;
      for (let n = 1; n <= total; n++) {
        const id = `cut-${n}`;
        const phone = await w.phone(id, { config: CONFIG, factory: SOURCE });
        const run = await drive(w, phone, n);
        expect(run.cuts, `cut point ${n}`).toBe(1);
        cuts += run.cuts;
        inApply += run.cutsInApply;
        const status = await run.phone.hardware.device!.update.status();
        expect(status.confirmed, `cut ${n}`).toBe(true);
        expect(sha(await runningImage(run.phone)), `cut ${n}`).toBe(sha(TARGET));
        const results = w.results(id);
        expect(results, `cut ${n}: reported exactly once`).toEqual([expect.objectContaining({ outcome: 'installed', toVersion: TO })]);
        const report = w.service.journal().find((e) => e.type === 'report' && e.report.deviceId === id) as { report: { delta?: { outcome: string } } };
        if (report.report.delta?.outcome !== 'applied') fellBack++;
        await run.phone.agent.close();
      }
      console.log(`firmware delta power-cut test: ${cuts} of ${total} write/erase cut points, ${inApply} of them during the apply (restarted); ${fellBack} fell back to the full image`);
      expect(cuts).toBe(total);
      expect(inApply).toBeGreaterThan(0);
      expect(fellBack).toBe(0);
    } finally {
      await w.cleanup();
    }
  }, 600_000);
});
