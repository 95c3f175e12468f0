/**
 * The demo's second act: the device update web service family (seeds 002/003) on the same
 * device. The reference update service imports an image folder (pending), an admin approves it,
 * the device checks, downloads the image into its inactive slot and waits for the device to be
 * idle — shortened from 5 minutes to a few seconds, with one simulated touch that restarts the
 * wait — then "reboots" (the Node HAL is created again on the same work directory, which runs
 * the A/B bootloader), confirms its trial boot and reports through the outbox.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Agent, FamilyEvent } from '../../agent/index.ts';
import type { NodeDevice } from '../../hal/node/index.ts';
import { MANIFEST_FILE, MANIFEST_FORMAT, type RunningUpdateServer, startUpdateServer } from '../../server/updates/index.ts';
import { revisedBytes, xorshiftBytes } from './fixture.ts';
import { deltaLine, demoDeltaMaker } from './delta.ts';
import { createHash } from 'node:crypto';
import type { TargetSpec } from '../../agent/trust/repository.ts';
import { imageTargets } from '../../server/metadata.ts';
import type { ManifestImage } from '../../server/updates/manifest.ts';
import type { ProgressPrinter } from './progress.ts';

export const DEMO_FIRMWARE = { model: 'sim', from: '1.0.0', to: '1.1.0', bytes: 768 * 1024 };
/** "Five idle minutes", shortened for the demo. */
export const DEMO_IDLE_MS = 3000;

/** The image the demo device runs (the factory's, in its active slot) and the update: a revision of it. */
export const FACTORY_IMAGE = (): Uint8Array => xorshiftBytes(DEMO_FIRMWARE.bytes, 7);
const UPDATE_IMAGE = (): Uint8Array => revisedBytes(FACTORY_IMAGE(), DEMO_FIRMWARE.bytes, 8);

/** The demo's update image as a release signs it: `images/sim/1.1.0`, for the sim model only. */
export function demoImageTarget(): TargetSpec {
  const bytes = UPDATE_IMAGE();
  return imageTargets([{ model: DEMO_FIRMWARE.model, version: DEMO_FIRMWARE.to, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') } as ManifestImage])[0]!;
}

/**
 * The update service with one approved image for the demo device's model, and the running
 * version's image next to it (pending: never offered), from which it makes the delta; the signed
 * metadata at `<service>/metadata/`.
 */
export async function startDemoUpdates(dir: string, metadataDir?: string): Promise<RunningUpdateServer> {
  const folder = join(dir, 'updates-cab');
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'sim-1.1.0.img'), UPDATE_IMAGE());
  await writeFile(join(folder, 'sim-1.0.0.img'), FACTORY_IMAGE());
  const images = [
    { model: DEMO_FIRMWARE.model, version: DEMO_FIRMWARE.to, from: [DEMO_FIRMWARE.from], file: 'sim-1.1.0.img' },
    { model: DEMO_FIRMWARE.model, version: DEMO_FIRMWARE.from, from: ['0.0.0'], file: 'sim-1.0.0.img' },
  ];
  await writeFile(join(folder, MANIFEST_FILE), JSON.stringify({ format: MANIFEST_FORMAT, images }, null, 2));
  const server = await startUpdateServer({
    adminToken: `demo-${Math.random().toString(36).slice(2)}-token`,
    internal: {},
    external: {},
    importFolders: [folder],
    deltas: demoDeltaMaker(dir, 'update-deltas'),
    ...(metadataDir !== undefined ? { metadataDir } : {}),
  });
  const rule = server.service.rules()[0];
  if (rule) server.service.decide(rule.id, 'approved');
  return server;
}

export interface FirmwareActOptions {
  say(text: string): void;
  progress: ProgressPrinter;
  server: RunningUpdateServer;
  /** Starts the device (again: a reboot); `onReboot` hears the agent's reboot request. */
  boot(onReboot: () => void): Promise<NodeDevice>;
  start(device: NodeDevice, onFamilyEvent: (event: FamilyEvent) => void): Promise<Agent>;
}

/** Runs the update through the idle wait and the reboot; returns the agent after the reboot. */
export async function firmwareAct(options: FirmwareActOptions, first: { device: NodeDevice; agent: Agent; rebootRequested: () => boolean }): Promise<{ device: NodeDevice; agent: Agent; ok: boolean }> {
  const { say, progress } = options;
  const { device, agent } = first;
  const label = `⇪ firmware ${DEMO_FIRMWARE.to}`;
  device.activity(); // someone is using the phone right now
  say(`  check: version ${(await agent.firmware?.info())?.version}, model ${DEMO_FIRMWARE.model}, inside the firewall\n`);
  progress.start(label, DEMO_FIRMWARE.bytes);
  await agent.trigger('firmware', 'manual');
  progress.finish(label, agent.firmware?.last.check === 'update' || agent.firmware?.last.check === 'busy', 'in the inactive slot');
  say(`  ready: reboot after ${DEMO_IDLE_MS / 1000} s without user activity (5 min on a real phone)\n`);
  const started = Date.now();
  let touched = false;
  while (!first.rebootRequested() && Date.now() - started < 30_000) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    if (!touched && Date.now() - started > DEMO_IDLE_MS / 2) {
      touched = true;
      device.activity();
      say(`  … the user touches the phone after ${((Date.now() - started) / 1000).toFixed(1)} s: the wait starts again\n`);
    }
    await agent.trigger('firmware', 'recheck');
  }
  say(`  idle long enough after ${((Date.now() - started) / 1000).toFixed(1)} s: reboot requested\n`);
  await agent.close();
  await device.close();

  const rebooted = await options.boot(() => {});
  say(`  reboot → bootloader: ${rebooted.bootOutcome.kind} boot of slot ${rebooted.bootOutcome.active}\n`);
  const events: FamilyEvent[] = [];
  const next = await options.start(rebooted, (event) => events.push(event));
  await next.trigger('firmware', 'boot');
  const status = await rebooted.update.status();
  const info = await next.firmware?.info();
  const reports = options.server.service.journal().filter((e) => e.type === 'report');
  say(`  trial boot healthy → committed (slot ${status.active}, confirmed ${status.confirmed}); result reported: ${reports.map((r) => (r.type === 'report' ? r.report.outcome : '')).join(', ')}\n`);
  const report = reports.find((r) => r.type === 'report');
  say(deltaLine(`firmware ${DEMO_FIRMWARE.to}`, report?.type === 'report' ? report.report.delta : undefined));
  say(`  system information: version ${info?.version}, last update ${info?.lastUpdateUtcMs ? new Date(info.lastUpdateUtcMs).toISOString() : 'never'}\n`);
  return { device: rebooted, agent: next, ok: status.confirmed && info?.version === DEMO_FIRMWARE.to && reports.length === 1 };
}
