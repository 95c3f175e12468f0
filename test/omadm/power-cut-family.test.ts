/**
 * A power cut at every write, erase and sync (mock HAL) of a FUMO update run by the OMA DM family
 * against the reference server: from package #0 through the download, the hold at State 40, Exec
 * Update, the activation, the reboot and the trial boot to the acknowledged Generic Alerts (the
 * sweep and its end checks: ./family-cut-rig.ts). The server re-plans from the device's FUMO State.
 */
import { describe, expect, it } from 'vitest';
import { fumoDownload, fumoUpdate, replace } from '../../server/omadm/index.ts';
import { sweepFamilyCuts } from './family-cut-rig.ts';

const IMAGE = new Uint8Array(8 * 1024).map((_, i) => (i * 29 + 3) & 0xff);

describe('the OMA DM family survives a power cut at every write of a FUMO update (mock HAL)', () => {
  it('store, FUMO State and slots consistent at every boot; the update\'s Generic Alert acknowledged exactly once', async () => {
    const { total, cuts, resends } = await sweepFamilyCuts(IMAGE, (state, client, facts, session) => {
      if (state === 10 || state === 20) return [[replace({ uri: './FUMO/1/PkgName', data: 'fw' }), ...fumoDownload('1', facts.url, `corr-dl-${session}`, 'Download', facts)]];
      if (state === 40 && client.fumo.pendingAlerts().length === 0) return [[fumoUpdate('1', 'corr-up')]];
      return undefined;
    });
    console.log(`omadm family power-cut test: ${cuts} of ${total} write/erase/sync cut points from package #0 to the acknowledged Generic Alert; ${resends} Generic Alert resends recognised by the server`);
    expect(cuts).toBe(total);
    expect(total).toBeGreaterThan(20);
  }, 600_000);
});
