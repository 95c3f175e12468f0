/**
 * A power cut at every write, erase and sync (mock HAL) of an OMA DM FUMO session, from the first
 * package #0 through the download into the inactive slot, the hold, Exec Update, the activation,
 * the reboot and the confirmed trial boot to the acknowledged Generic Alerts. After a cut the
 * device boots again, the client reopens its store and the server re-plans from what the device's
 * FUMO State says (a real server would do the same from its Gets). At every boot the store opens
 * without corruption, a bootable slot is active, and FUMO State is one the table allows. At the
 * end: the tree holds what the server wrote, State 100, the new image active and confirmed, and
 * the update's Generic Alert acknowledged exactly once (a resend after a lost acknowledgement is
 * recognised by the server and counted, never as a second alert).
 */
import { describe, expect, it } from 'vitest';
import { FUMO_STATES, type FumoState, stateCode } from '../../agent/omadm/fumo/flow.ts';
import type { Device } from '../../hal/types.ts';
import { fumoDownload, fumoUpdate, replace } from '../../server/omadm/index.ts';
import { type DmDevice, type MockWorld, cutEverywhere, notification, openDmDevice } from './session-rig.ts';

const IMAGE = new Uint8Array(8 * 1024).map((_, i) => (i * 13 + 5) & 0xff);
const VALID_STATES = new Set<number>(FUMO_STATES.split(' ').map((state) => stateCode(state as FumoState)));

interface Run {
  /** Mutating operations before the first cut point (the client's first open). */
  opsAtStart: number;
  dev: DmDevice;
  device: Device;
  cut: boolean;
  boots: number;
}

/** Boots until up (power restored), reopens the client and checks what every boot must find. */
async function boot(w: MockWorld): Promise<{ device: Device; dev: DmDevice }> {
  const device = await w.reboot();
  const dev = await openDmDevice(device, w.server.url);
  expect(dev.store.report.corruption).toEqual([]);
  const status = await device.update.status();
  expect(['a', 'b']).toContain(status.active);
  if (status.active === 'b') expect(status.slots.find((s) => s.slot === 'b')).toMatchObject({ size: IMAGE.length });
  expect(VALID_STATES.has(dev.client.fumo.state('1'))).toBe(true);
  return { device, dev };
}

/** The server drives the device from State 10 to 100; with `cutAfter` the power fails once. */
async function scenario(w: MockWorld, cutAfter?: number): Promise<Run> {
  let device = w.hardware.device!;
  let dev = await openDmDevice(device, w.server.url);
  const opsAtStart = w.hardware.power.operations;
  if (cutAfter !== undefined) w.hardware.power.cutAfter(cutAfter);
  let requestsAtBoot = w.hardware.rebootRequests.length;
  let session = 0x100;
  let cut = false;
  let boots = 0;
  const push = async (steps: Parameters<MockWorld['server']['script']>[0][]) => {
    w.server.resetScripts();
    w.server.script(...steps);
    await dev.client.router.receive(notification(session++));
  };
  for (let round = 0; round < 40; round++) {
    try {
      const state = dev.client.fumo.state('1');
      if (dev.client.fumo.pendingAlerts().length > 0) {
        w.server.resetScripts();
        await dev.client.deliverAlerts();
      } else if (state === 10 || state === 20) await push([[replace({ uri: './FUMO/1/PkgName', data: 'fw' }), ...fumoDownload('1', w.packageUrl, `corr-dl-${session}`)]]);
      else if (state === 30) await dev.client.fumo.continue(); // the download resumes after a cut
      else if (state === 40) await push([[fumoUpdate('1', 'corr-up')]]);
      else if (state === 60 && w.hardware.rebootRequests.length > requestsAtBoot) {
        ({ device, dev } = await boot(w));
        requestsAtBoot = w.hardware.rebootRequests.length;
        boots++;
        await dev.pipeline.afterBoot();
      } else if (state === 60) await dev.pipeline.afterBoot();
      else if (state === 100) return { opsAtStart, dev, device, cut, boots };
      else throw new Error(`FUMO State ${state} not expected`);
    } catch (error) {
      // Whatever surfaced (a PowerCutError, or the session's transport error around one), the power is off.
      if (!w.hardware.power.isCut) throw error;
      cut = true;
      ({ device, dev } = await boot(w));
      requestsAtBoot = w.hardware.rebootRequests.length;
      boots++;
      await dev.pipeline.afterBoot().catch(() => undefined);
    }
  }
  throw new Error(`no convergence (cut after ${cutAfter}): State ${dev.client.fumo.state('1')}`);
}

async function checkEnd(w: MockWorld, run: Run, label: string): Promise<void> {
  const { dev, device } = run;
  expect(dev.client.fumo.state('1'), label).toBe(100);
  expect(dev.client.fumo.pendingAlerts(), label).toEqual([]);
  const status = await device.update.status();
  expect(status, label).toMatchObject({ active: 'b', confirmed: true });
  expect(status.pending, label).toBeUndefined();
  expect(dev.client.tree.committed('FUMO/1/PkgName')?.value, label).toBe('fw');
  expect(dev.client.tree.committed('FUMO/1/Download/PkgURL')?.value, label).toBe(w.packageUrl);
  const updates = w.server.journal.genericAlerts().filter((a) => a.correlator === 'corr-up');
  expect(updates, `${label}: the update's Generic Alert is acknowledged exactly once`).toMatchObject([{ type: 'org.openmobilealliance.dm.firmwareupdate.update', result: 200 }]);
  const downloads = w.server.journal.genericAlerts().filter((a) => a.type.endsWith('.download') && a.result === 200);
  expect(downloads, label).toHaveLength(1);
}

describe('OMA DM FUMO survives a power cut at every write (mock HAL)', () => {
  it('tree, FUMO State and slots consistent; the Generic Alert acknowledged exactly once', async () => {
    const { total, cuts, resends } = await cutEverywhere(IMAGE, scenario, checkEnd);
    console.log(`omadm power-cut test: ${cuts} of ${total} write/erase/sync cut points from package #0 to the acknowledged Generic Alert; ${resends} Generic Alert resends recognised by the server`);
    expect(cuts).toBe(total);
    expect(total).toBeGreaterThan(20);
  }, 600_000);
});
