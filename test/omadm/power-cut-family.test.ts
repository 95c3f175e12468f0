/**
 * A power cut at every write, erase and sync (mock HAL) of a FUMO update run by the OMA DM family
 * (agent/omadm/family.ts: the shared pipeline, the hold, the image step, the outbox) against the
 * reference server: from package #0 through the download, the hold at State 40, Exec Update, the
 * activation, the reboot and the trial boot to the acknowledged Generic Alerts. After each cut the
 * device boots again and a new agent carries on; the server re-plans from the device's FUMO State.
 * At every boot the store opens clean and a bootable slot is active; at the end State is 100, the
 * new image is active and committed, the tree holds what the server wrote, and the update's
 * Generic Alert was acknowledged exactly once (resends are recognised by the server and counted).
 */
import { describe, expect, it } from 'vitest';
import { type Agent, createAgent } from '../../agent/index.ts';
import type { OmaDmFamily } from '../../agent/omadm/family.ts';
import { fumoDownload, fumoUpdate, replace, type Step } from '../../server/omadm/index.ts';
import { phoneBoard } from '../firmware/rig.ts';
import { CLIENT, type MockWorld, cutEverywhere, notification, SERVER } from './session-rig.ts';

const IMAGE = new Uint8Array(8 * 1024).map((_, i) => (i * 29 + 3) & 0xff);

async function start(w: MockWorld): Promise<Agent> {
  const omadm = {
    accounts: [{ id: 'srv1', serverId: SERVER.serverId, addr: w.server.url, allowInsecure: w.server.url.startsWith('http:'), authPref: 'DIGEST', client: CLIENT, server: { name: SERVER.name, secret: SERVER.secret } }],
    udpPort: 0,
    retries: 0,
    schedule: { jitterMs: 0 },
  };
  const agent = await createAgent(w.hardware.device!, phoneBoard, { engine: 'js', logLevel: 'error', omadm } as never);
  expect(agent.boot.store.corruption).toEqual([]);
  const status = await w.hardware.device!.update.status();
  if (status.active === 'b') expect(status.slots.find((s) => s.slot === 'b')).toMatchObject({ size: IMAGE.length });
  return agent;
}

/** Power back (or the requested reboot), a new agent; a cut during the start is one more reboot. */
async function restart(w: MockWorld, agent: Agent): Promise<Agent> {
  await agent.close().catch(() => undefined);
  await w.reboot();
  return start(w);
}

interface Run {
  opsAtStart: number;
  agent: Agent;
  cut: boolean;
}

async function scenario(w: MockWorld, cutAfter?: number): Promise<Run> {
  let agent = await start(w);
  const opsAtStart = w.hardware.power.operations;
  if (cutAfter !== undefined) w.hardware.power.cutAfter(cutAfter);
  const client = () => (agent.families.get('omadm') as OmaDmFamily).client();
  const facts = w.server.packageFacts('fw-2.0.bin');
  let requestsAtBoot = w.hardware.rebootRequests.length;
  let session = 0x200;
  let cut = false;
  const push = async (steps: Step[]) => {
    w.server.resetScripts();
    w.server.script(...steps);
    await client().router.receive(notification(session++));
    await agent.trigger('omadm', 'push');
  };
  for (let round = 0; round < 60; round++) {
    try {
      const state = client().fumo.state('1');
      const done = state === 100 && client().fumo.pendingAlerts().length === 0 && agent.outbox.pending('omadm').length === 0;
      if (done) return { opsAtStart, agent, cut };
      if (w.hardware.rebootRequests.length > requestsAtBoot) {
        agent = await restart(w, agent);
        requestsAtBoot = w.hardware.rebootRequests.length;
        await agent.trigger('omadm', 'boot');
      } else if (state === 10 || state === 20) await push([[replace({ uri: './FUMO/1/PkgName', data: 'fw' }), ...fumoDownload('1', facts.url, `corr-dl-${session}`, 'Download', facts)]]);
      else if (state === 40 && client().fumo.pendingAlerts().length === 0) await push([[fumoUpdate('1', 'corr-up')]]);
      else {
        w.server.resetScripts();
        await agent.trigger('omadm', 'push'); // a download in flight, an alert to deliver, an update to finish
      }
    } catch (error) {
      // Whatever surfaced (a PowerCutError or an error around one), the power is off.
      if (!w.hardware.power.isCut) throw error;
      cut = true;
      agent = await restart(w, agent);
      requestsAtBoot = w.hardware.rebootRequests.length;
      await agent.trigger('omadm', 'boot').catch((error: unknown) => {
        if (w.hardware.power.isCut) throw error;
      });
    }
  }
  throw new Error(`no convergence (cut after ${cutAfter}): State ${client().fumo.state('1')}, alerts ${client().fumo.pendingAlerts().length}`);
}

async function checkEnd(w: MockWorld, run: Run, label: string): Promise<void> {
  const client = (run.agent.families.get('omadm') as OmaDmFamily).client();
  expect(client.fumo.state('1'), label).toBe(100);
  const status = await w.hardware.device!.update.status();
  expect(status, label).toMatchObject({ active: 'b', confirmed: true });
  expect(status.slots.find((s) => s.slot === 'b'), label).toMatchObject({ size: IMAGE.length, sha256: w.server.packageFacts('fw-2.0.bin').sha256 });
  expect(client.tree.committed('FUMO/1/PkgName')?.value, label).toBe('fw');
  const updates = w.server.journal.genericAlerts().filter((a) => a.correlator === 'corr-up');
  expect(updates, `${label}: the update's Generic Alert is acknowledged exactly once`).toMatchObject([{ type: 'org.openmobilealliance.dm.firmwareupdate.update', result: 200 }]);
}

describe('the OMA DM family survives a power cut at every write of a FUMO update (mock HAL)', () => {
  it('store, FUMO State and slots consistent at every boot; the update\'s Generic Alert acknowledged exactly once', async () => {
    const { total, cuts, resends } = await cutEverywhere(IMAGE, scenario, checkEnd, (run) => run.agent.close());
    console.log(`omadm family power-cut test: ${cuts} of ${total} write/erase/sync cut points from package #0 to the acknowledged Generic Alert; ${resends} Generic Alert resends recognised by the server`);
    expect(cuts).toBe(total);
    expect(total).toBeGreaterThan(20);
  }, 600_000);
});
