/**
 * `dm-agent demo` (`npm start`): the reference manager, the reference update service and a
 * simulated `sim` board on this machine, talking real HTTP on loopback. One agent, two families:
 *   1. a fresh device converges to its package list (installs, reports),
 *   2. the operator changes the assignment: one upgrade (delivered as a delta: the bytes it
 *      saved are printed), one removal, one new package,
 *   3. nothing left to do,
 *   4. a firmware update (seeds 002/003): image (as a delta from the running one) into the inactive slot, reboot after an idle
 *      wait (shortened), trial boot confirmed, result reported,
 *   5. OMA DM 1.2 (issue 14) on a second device: package #0 over MQTT (the push channel, issue
 *      16, through the broker embedded here: no system service), a session, a FUMO download held
 *      at State 40, Exec Update, reboot, confirmed, Generic Alerts acknowledged.
 * Everything runs in a temporary directory that is removed afterwards (`--keep` keeps it).
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Agent, type CycleSummary, type DeliveryEvent, type FamilyEvent, createAgent } from '../../agent/index.ts';
import { createNodeDevice, findPackageRoot } from '../../hal/node/index.ts';
import { bearerHeader } from '../../server/auth.ts';
import { TrustState } from '../../agent/trust/state.ts';
import { type RunningManager, loadFleet, startManager } from '../../server/index.ts';
import { type PushBroker, startPushBroker } from '../../server/push.ts';
import { DEMO_SECOND, writeDemoFleet } from '../demo/fixture.ts';
import { showDeviceVerification, signDemoRelease } from '../demo/trust.ts';
import { DEMO_FIRMWARE, DEMO_IDLE_MS, FACTORY_IMAGE, demoImageTarget, firmwareAct, startDemoUpdates } from '../demo/firmware.ts';
import { deltaLine, demoDeltaMaker, programFactoryImage } from '../demo/delta.ts';
import type { DeltaNote } from '../../agent/pipeline/delta-step.ts';
import { omadmAct } from '../demo/omadm.ts';
import { createProgressPrinter, formatBytes } from '../demo/progress.ts';
import { type CommandIo, EXIT_FAILED, EXIT_OK, errorText } from '../io.ts';
import { type CommandSpec, parseArgs, usageError } from '../spec.ts';

const DEVICE_ID = 'sim-demo-0001';

export const spec: CommandSpec = {
  name: 'demo',
  summary: 'start the reference server and a simulated board, converge, print a summary',
  args: '',
  options: [{ name: 'keep', help: 'keep the temporary directory (manager data, device work dir) and print its path' }],
};

export async function run(args: string[], io: CommandIo): Promise<number> {
  const { options, positional, problems } = parseArgs(spec.options, args);
  problems.push(...positional.map((arg) => `unexpected argument ${JSON.stringify(arg)}`));
  if (problems.length > 0) return usageError(io, spec, problems);
  const dir = await mkdtemp(join(tmpdir(), 'dm-agent-demo-'));
  const installRoot = join(dir, 'device-root');
  let server;
  let push: PushBroker | undefined;
  let updates;
  let agent: Agent | undefined;
  let device;
  try {
    // From the package root: this module also runs bundled as dist/cli.js.
    const root = findPackageRoot();
    if (!root) throw new Error('cannot find the dm-agent package root (boards/sim.json)');
    const board = JSON.parse(await readFile(join(root, 'boards', 'sim.json'), 'utf8'));
    io.stdout(`dm-agent demo — pull-model delivery (seed 000) with the reference manager\n\n`);
    const fleet = await loadFleet(await writeDemoFleet(join(dir, 'manager'), installRoot, [DEVICE_ID]), join(dir, 'manager'));
    const release = await signDemoRelease(dir, fleet, io.stdout, [demoImageTarget()]);
    push = await startPushBroker();
    server = await startManager({ fleet, host: '127.0.0.1', port: 0, metadataDir: release.metadataDir, deltas: demoDeltaMaker(dir, 'package-deltas'), push });
    io.stdout(`manager   ${server.url}   (catalogue: ${fleet.catalogue.size} packages, signed metadata at /metadata/)\n`);
    io.stdout(`push      ${push.url}   (embedded MQTT broker: wake-ups, OMA DM package #0)\n`);
    const trusted = await showDeviceVerification(server.url, release.root, fleet, release.metadataDir, io.stdout);
    updates = await startDemoUpdates(dir, release.metadataDir);
    io.stdout(`updates   ${updates.internalUrl}   (one approved image: ${DEMO_FIRMWARE.model} ${DEMO_FIRMWARE.from} → ${DEMO_FIRMWARE.to})\n`);
    let rebootRequested = false;
    const boot = (onReboot: () => void) =>
      createNodeDevice({ workDir: join(dir, 'sim'), board, identity: { deviceId: DEVICE_ID, model: DEMO_FIRMWARE.model, oem: 'dm-agent', firmwareVersion: DEMO_FIRMWARE.from }, log: { level: 'warn' }, location: 'inside', onReboot });
    device = await boot(() => void (rebootRequested = true));
    await programFactoryImage(device, FACTORY_IMAGE());
    const progress = createProgressPrinter(io.stdout, process.stdout.isTTY === true);
    // One line per download (`+` install, `↑` upgrade), keyed by job so progress finds its bar.
    const labels = new Map<string, string>();
    const onDeliveryEvent = (event: DeliveryEvent) => {
      if (event.kind === 'plan') {
        io.stdout(`  plan: ${event.install} to install, ${event.upgrade} to upgrade, ${event.remove} to remove, ${event.keep} up to date\n`);
      } else if (event.kind === 'jobStart') {
        const label = `${event.action === 'upgrade' ? '↑' : event.action === 'remove' ? '−' : '+'} ${event.name}@${event.version}`;
        labels.set(event.jobId, label);
        if (event.action === 'remove') io.stdout(`  ${label.padEnd(26)} `);
        else progress.start(label, event.size ?? 0);
      } else if (event.kind === 'progress') {
        progress.update(labels.get(event.jobId) ?? event.name, event.offset, event.size);
      } else if (event.kind === 'jobEnd') {
        if (event.action === 'remove') io.stdout(event.ok ? '✔\n' : '✘\n');
        else progress.finish(labels.get(event.jobId) ?? event.name, event.ok);
      }
    };
    const firmwareLabel = `⇪ firmware ${DEMO_FIRMWARE.to}`;
    const onFamilyEvent = (event: FamilyEvent) => {
      if (event.family === 'firmware' && event.kind === 'progress') progress.update(firmwareLabel, event.offset as number, event.size as number);
    };
    // The device ships with the release's root: every package and the image are checked against signed metadata.
    // keepInstalled: the installed packages' artifacts stay, the sources of delta upgrades.
    // Loopback servers without certificates: plain HTTP, allowed explicitly. The agent logs an
    // INSECURE warning for each poll of such a manager (what a real config must never need: README).
    const config = {
      trust: { root: new TextDecoder().decode(release.root) },
      delivery: { manager: server.url, allowInsecure: true, keepInstalled: true },
      firmware: { service: updates.service.serviceUrls(), allowInsecure: true, idleRebootMs: DEMO_IDLE_MS },
      logLevel: 'warn',
    };
    agent = await createAgent(device, board, config, { onDeliveryEvent, onFamilyEvent });
    io.stdout(`device    ${DEVICE_ID} on board '${agent.board.name}' (${agent.boot.engine} engine, store generation ${agent.boot.store.generation}); trusts only the release's signed metadata\n`);
    io.stdout(`transport plain HTTP on loopback (allowInsecure: true in the demo config; real managers are https://)\n`);
    await admitDevice(io, server, agent);

    const summaries: CycleSummary[] = [];
    io.stdout(`\n① first poll: a fresh device converges\n`);
    summaries.push(await agent.pollOnce());
    printSummary(io, summaries.at(-1) as CycleSummary);

    io.stdout(`\n② the operator reassigns: telemetry 1.0.0 → 1.1.0, diagnostics dropped, maps-eu added\n`);
    await putJson(`${server.url}/api/devices/${DEVICE_ID}/packages`, server.manager.adminToken, [...DEMO_SECOND, { name: 'diagnostics', remove: true }]);
    summaries.push(await agent.pollOnce());
    printSummary(io, summaries.at(-1) as CycleSummary);
    io.stdout(deltaLine('telemetry 1.1.0', await reportedDelta(server.url, server.manager.adminToken, 'telemetry', '1.1.0')));

    io.stdout(`\n③ third poll: nothing left to do\n`);
    summaries.push(await agent.pollOnce());
    printSummary(io, summaries.at(-1) as CycleSummary);

    io.stdout(`\n④ the firmware family: a device update web service check (seeds 002/003)\n`);
    const act = await firmwareAct(
      {
        say: io.stdout,
        progress,
        server: updates,
        boot,
        start: (next, onEvent) => createAgent(next, board, config, { onDeliveryEvent, onFamilyEvent: (event) => (onFamilyEvent(event), onEvent(event)) }),
      },
      { device, agent, rebootRequested: () => rebootRequested },
    );
    device = act.device;
    agent = act.agent;

    io.stdout(`\n⑤ OMA DM 1.2: a second device, a FUMO update driven by the reference DM server\n`);
    const omadmOk = await omadmAct(io.stdout, dir, board, push);

    const installedFiles = (await readdir(installRoot)).sort();
    const record = (await (await fetch(`${server.url}/api/devices/${DEVICE_ID}`, { headers: bearerHeader(server.manager.adminToken) })).json()) as { status?: unknown[]; statusHistory?: unknown[] };
    const statusCount = (record.status ?? record.statusHistory ?? []).length;
    const total = (key: 'installed' | 'upgraded' | 'removed') => summaries.reduce((n, s) => n + s[key].length, 0);
    const failures = summaries.reduce((n, s) => n + s.failed.length, 0);
    io.stdout(`\nsummary\n`);
    io.stdout(`  installed ${total('installed')}, upgraded ${total('upgraded')}, removed ${total('removed')}, failed ${failures}\n`);
    io.stdout(`  package DB:   ${agent.delivery?.db.list().map((p) => `${p.name}@${p.version}`).join(', ')}\n`);
    io.stdout(`  device root:  ${installedFiles.join(', ')}\n`);
    io.stdout(`  manager got:  ${statusCount} status reports; reference counter ${summaries.at(-1)?.referenceCounter}\n`);
    for (const family of agent.info().families)
      io.stdout(`  family ${family.name.padEnd(9)} ${family.jobs.active} jobs, ${family.outbox} reports queued, ${JSON.stringify(family.details)}\n`);
    const trustState = new TrustState(agent.store);
    const minimums = (agent.delivery?.db.list() ?? []).map((p) => `${p.name} ≥ ${trustState.minimum('package', p.name) ?? '—'}`);
    io.stdout(`  anti-rollback: ${minimums.join(', ')}, image ${DEMO_FIRMWARE.model} ≥ ${trustState.minimum('image', DEMO_FIRMWARE.model) ?? '—'}\n`);
    io.stdout(`  state store:  ${agent.store.stats().keys} keys, ${formatBytes(agent.store.stats().usedBytes)} of ${formatBytes(agent.store.stats().areaLength)} used, ${agent.store.stats().compactions} compactions\n`);
    const converged = trusted && act.ok && omadmOk && failures === 0 && summaries[2]?.installed.length === 0 && summaries[2]?.upgraded.length === 0 && summaries[2]?.removed.length === 0;
    io.stdout(converged ? `\nconverged ✔\n` : `\nnot converged ✘\n`);
    return converged ? EXIT_OK : EXIT_FAILED;
  } catch (error) {
    io.stderr(`dm-agent demo: ${errorText(error)}\n`);
    return EXIT_FAILED;
  } finally {
    await agent?.close().catch(() => undefined);
    await device?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
    await push?.close().catch(() => undefined);
    await updates?.close().catch(() => undefined);
    if (options.keep) io.stdout(`(kept ${dir})\n`);
    else await rm(dir, { recursive: true, force: true });
  }
}

function printSummary(io: CommandIo, summary: CycleSummary): void {
  const parts = [
    summary.installed.length ? `installed ${summary.installed.join(', ')}` : '',
    summary.upgraded.length ? `upgraded ${summary.upgraded.join(', ')}` : '',
    summary.removed.length ? `removed ${summary.removed.join(', ')}` : '',
    summary.failed.length ? `FAILED ${summary.failed.map((f) => `${f.name} (${f.reason})`).join(', ')}` : '',
    `${summary.kept} up to date`,
    summary.reports.length ? `reports sent: ${summary.reports.join(', ')}` : '',
  ].filter(Boolean);
  io.stdout(`  → ${parts.join('; ')} (reference counter ${summary.referenceCounter})\n`);
}

/** The delta note of a package's downloadEnd report, as the manager received it. */
async function reportedDelta(url: string, adminToken: string, name: string, version: string): Promise<DeltaNote | undefined> {
  const response = await fetch(`${url}/api/devices/${DEVICE_ID}/status`, { headers: bearerHeader(adminToken) });
  const history = (await response.json()) as { phase: string; name: string; version: string; delta?: DeltaNote }[];
  return history.find((s) => s.phase === 'downloadEnd' && s.name === name && s.version === version)?.delta;
}

/**
 * Device authentication, as an operator sees it: the device's first request leaves its key
 * *pending* on the manager; the admin lists the pending keys and accepts this one.
 */
async function admitDevice(io: CommandIo, server: RunningManager, agent: Agent): Promise<void> {
  io.stdout(`device key ${agent.delivery?.publicKey ?? '(none)'} (Ed25519, made at first boot inside the keystore)\n`);
  const refused = await agent.pollOnce().then(
    () => undefined,
    (error: unknown) => error as { status?: number; managerCode?: string },
  );
  if (refused?.managerCode !== 'pending') throw new Error(`expected the manager to keep a new device pending, got ${refused ? JSON.stringify(refused) : 'an answer'}`);
  io.stdout(`  the manager keeps the unknown key pending (401); the admin accepts it:\n`);
  const listed = await fetch(`${server.url}/api/auth/devices`, { headers: bearerHeader(server.manager.adminToken) });
  const { devices } = (await listed.json()) as { devices: { deviceId: string; publicKey: string; status: string }[] };
  const pending = devices.find((d) => d.deviceId === DEVICE_ID && d.status === 'pending');
  if (!pending) throw new Error('the device key is not listed as pending');
  await putJson(`${server.url}/api/auth/devices/${encodeURIComponent(DEVICE_ID)}/${pending.publicKey}`, server.manager.adminToken, { status: 'accepted' });
  io.stdout(`  PUT /api/auth/devices/${DEVICE_ID}/${pending.publicKey.slice(0, 16)}… {"status":"accepted"} ✔ (the device now gets 15-minute tokens)\n`);
}

/** An admin API call: the demo's manager made its own token (in memory only), the demo hands it back. */
async function putJson(url: string, adminToken: string, body: unknown): Promise<void> {
  const response = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json', ...bearerHeader(adminToken) }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`PUT ${url} → ${response.status} ${await response.text()}`);
}
