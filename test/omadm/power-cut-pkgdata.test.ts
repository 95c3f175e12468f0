/**
 * A power cut at every write, erase and sync (mock HAL) of a FUMO update whose package the server
 * delivers inline: Replace `Update/PkgData` as a large object (base64 MoreData chunks over several
 * server messages of an XML session) into the staging file, Exec Update, the shared pipeline's
 * download stage reading it back from staging into the inactive slot, activation, reboot, trial
 * boot, the acknowledged Generic Alert (sweep and end checks: ./family-cut-rig.ts, which also
 * checks that the staged package is gone). A session cut before Exec Update is sent again.
 */
import { describe, expect, it } from 'vitest';
import { fumoPkgData, replace } from '../../server/omadm/index.ts';
import { sweepFamilyCuts } from './family-cut-rig.ts';

const IMAGE = new Uint8Array(8 * 1024).map((_, i) => (i * 29 + 3) & 0xff);

describe('the OMA DM family survives a power cut at every write of a FUMO update with Update/PkgData (mock HAL)', () => {
  it('store, FUMO State and slots consistent at every boot; the update\'s Generic Alert acknowledged exactly once', async () => {
    const { total, cuts, resends } = await sweepFamilyCuts(IMAGE, (state, _client, facts) =>
      state === 10 ? [[replace({ uri: './FUMO/1/PkgName', data: 'fw' })], ...fumoPkgData('1', IMAGE, 'corr-up', 3 * 1024, { version: facts.version, sha256: facts.sha256 }, 'b64')] : undefined,
    );
    console.log(`omadm PkgData power-cut test: ${cuts} of ${total} write/erase/sync cut points from package #0 to the acknowledged Generic Alert; ${resends} Generic Alert resends recognised by the server`);
    expect(cuts).toBe(total);
    expect(total).toBeGreaterThan(20);
  }, 600_000);
});
