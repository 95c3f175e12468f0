/**
 * The power-cut sweep of a FUMO update run by the OMA DM family (agent/omadm/family.ts: the shared
 * pipeline, the hold, the image step, the outbox) against the reference server, for any way the
 * server drives it (`plan`: what the server says in its next session, from the device's FUMO
 * State). After each cut the device boots again and a new agent carries on. At every boot the
 * store opens clean and a bootable slot is active; at the end State is 100, the new image is
 * active and committed, the tree holds what the server wrote, and the update's Generic Alert
 * (correlator `corr-up`) was acknowledged exactly once.
 */
import { expect } from 'vitest';
import { type Agent, createAgent } from '../../agent/index.ts';
import type { OmaDmClient } from '../../agent/omadm/client.ts';
import type { OmaDmFamily } from '../../agent/omadm/family.ts';
import type { PackageFacts, Step } from '../../server/omadm/index.ts';
import { phoneBoard } from '../firmware/rig.ts';
import { agentConfig, type MockWorld, cutEverywhere, familySection, notification } from './session-rig.ts';

/** The server's next session for the device's FUMO state; undefined: no session, just run the family. */
export type Plan = (state: number, client: OmaDmClient, facts: PackageFacts & { url: string }, session: number) => Step[] | undefined;

interface Run {
  opsAtStart: number;
  agent: Agent;
  cut: boolean;
}

/** What a sweep may set besides the plan (the FUMO delta sweep: signed metadata, a factory image, slot checks). */
export interface SweepSetup {
  /** A fresh world for each run. */
  world?(): Promise<MockWorld>;
  /** The agent config (default: the family section, unsigned installs allowed). */
  config?(w: MockWorld): never;
  /** Checked at every boot, after the standard checks. */
  onBoot?(w: MockWorld, agent: Agent): Promise<void>;
}

async function start(w: MockWorld, image: Uint8Array, setup: SweepSetup): Promise<Agent> {
  const agent = await createAgent(w.hardware.device!, phoneBoard, setup.config ? setup.config(w) : agentConfig(familySection(w.server.url)));
  expect(agent.boot.store.corruption).toEqual([]);
  const status = await w.hardware.device!.update.status();
  if (status.active === 'b') expect(status.slots.find((s) => s.slot === 'b')).toMatchObject({ size: image.length });
  await setup.onBoot?.(w, agent);
  return agent;
}

/** Power back (or the requested reboot), a new agent; a cut during the start is one more reboot. */
async function restart(w: MockWorld, agent: Agent, image: Uint8Array, setup: SweepSetup): Promise<Agent> {
  await agent.close().catch(() => undefined);
  await w.reboot();
  return start(w, image, setup);
}

function scenario(image: Uint8Array, plan: Plan, setup: SweepSetup) {
  return async (w: MockWorld, cutAfter?: number): Promise<Run> => {
    let agent = await start(w, image, setup);
    const opsAtStart = w.hardware.power.operations;
    if (cutAfter !== undefined) w.hardware.power.cutAfter(cutAfter);
    const client = () => (agent.families.get('omadm') as OmaDmFamily).client();
    const facts = w.server.packageFacts('fw-2.0.bin');
    let requestsAtBoot = w.hardware.rebootRequests.length;
    let session = 0x200;
    let cut = false;
    for (let round = 0; round < 60; round++) {
      try {
        const state = client().fumo.state('1');
        const done = state === 100 && client().fumo.pendingAlerts().length === 0 && agent.outbox.pending('omadm').length === 0;
        if (done) return { opsAtStart, agent, cut };
        const steps = plan(state, client(), facts, session);
        w.server.resetScripts();
        if (w.hardware.rebootRequests.length > requestsAtBoot) {
          agent = await restart(w, agent, image, setup);
          requestsAtBoot = w.hardware.rebootRequests.length;
          await agent.trigger('omadm', 'boot');
        } else if (steps) {
          w.server.script(...steps);
          await client().router.receive(notification(session++));
          await agent.trigger('omadm', 'push');
        } else await agent.trigger('omadm', 'push'); // a download in flight, an alert to deliver, an update to finish
      } catch (error) {
        // Whatever surfaced (a PowerCutError or an error around one), the power is off.
        if (!w.hardware.power.isCut) throw error;
        cut = true;
        agent = await restart(w, agent, image, setup);
        requestsAtBoot = w.hardware.rebootRequests.length;
        await agent.trigger('omadm', 'boot').catch((error: unknown) => {
          if (w.hardware.power.isCut) throw error;
        });
      }
    }
    throw new Error(`no convergence (cut after ${cutAfter}): State ${client().fumo.state('1')}, alerts ${client().fumo.pendingAlerts().length}`);
  };
}

async function checkEnd(w: MockWorld, run: Run, label: string, image: Uint8Array): Promise<void> {
  const client = (run.agent.families.get('omadm') as OmaDmFamily).client();
  expect(client.fumo.state('1'), label).toBe(100);
  const status = await w.hardware.device!.update.status();
  expect(status, label).toMatchObject({ active: 'b', confirmed: true });
  expect(status.slots.find((s) => s.slot === 'b'), label).toMatchObject({ size: image.length, sha256: w.server.packageFacts('fw-2.0.bin').sha256 });
  expect(client.tree.committed('FUMO/1/PkgName')?.value, label).toBe('fw');
  expect(await w.hardware.device!.staging.list(), `${label}: no staged package left`).toEqual([]);
  const updates = w.server.journal.genericAlerts().filter((a) => a.correlator === 'corr-up');
  expect(updates, `${label}: the update's Generic Alert is acknowledged exactly once`).toMatchObject([{ type: 'org.openmobilealliance.dm.firmwareupdate.update', result: 200 }]);
}

/** Runs the sweep: once clean to count the cut points, then once per cut point. */
export function sweepFamilyCuts(image: Uint8Array, plan: Plan, setup: SweepSetup = {}): Promise<{ total: number; cuts: number; resends: number }> {
  return cutEverywhere(image, scenario(image, plan, setup), (w, run, label) => checkEnd(w, run, label, image), (run) => run.agent.close(), setup.world);
}
