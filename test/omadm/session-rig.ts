/**
 * The OMA DM session tests' world: a device (mock HAL or node HAL) running the OMA DM client with
 * the demo's FUMO slot pipeline (cli/demo/omadm-device.ts), the reference DM server (server/omadm)
 * mounted on the mock network or behind a real listener, and the fixtures both sides share.
 */
import type { OmaDmConfig } from '../../agent/omadm/client.ts';
import type { DmAccountConfig } from '../../agent/omadm/csp/dmacc.ts';
import type { Device } from '../../hal/types.ts';
import { type DmDevice, openOmaDmDevice } from './slot-pipeline.ts';
import { createJsEngines } from '../../wasm/src/engines.ts';
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { MockHardware, VirtualClock, mockOptionsFromBoard } from '../../hal/mock/index.ts';
import { createMockNetwork } from '../../hal/mock/net.ts';
import { phoneBoard } from '../firmware/rig.ts';
import { join } from 'node:path';
import type { MockNetwork } from '../../hal/mock/net.ts';
import type { ServedFile } from '../../server/artifacts.ts';
import { DmServer, type DmServerOptions, packageZero } from '../../server/omadm/index.ts';
import { HttpError } from '../../server/wire.ts';

export type { DmDevice };
export const engines = createJsEngines();
export const md5 = (data: Uint8Array): Uint8Array => engines.hash('md5', data);
export const SERVER = { serverId: 'srv1', name: 'srv1', secret: 'server-secret-0123' };
export const CLIENT = { name: 'device-1', secret: 'client-secret-0123' };
export const DEVICE_ID = 'IMEI:000000011234564';

export function account(url: string): DmAccountConfig {
  return {
    id: 'srv1',
    serverId: SERVER.serverId,
    addr: url,
    // The Node-HAL tests run the reference DM server on loopback without TLS.
    ...(url.startsWith('http:') ? { allowInsecure: true } : {}),
    authPref: 'DIGEST',
    client: { name: CLIENT.name, secret: CLIENT.secret },
    server: { name: SERVER.name, secret: SERVER.secret },
  };
}

/**
 * The agent config of the family tests (createAgent's third argument) around an `omadm` section:
 * the one place for what every such test needs besides it (engine, log level, …).
 */
export function agentConfig(omadm: Record<string, unknown>): never {
  return { engine: 'js', logLevel: 'error', trust: { allowUnsigned: true }, omadm } as never;
}

/** The `omadm` section of the family tests: the test account at the server's URL, no UDP, no retries. */
export function familySection(url: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    // The reference server on loopback (or the mock network) speaks plain HTTP: allowed explicitly.
    accounts: [{ id: 'srv1', serverId: SERVER.serverId, addr: url, allowInsecure: url.startsWith('http:'), authPref: 'DIGEST', client: CLIENT, server: { name: SERVER.name, secret: SERVER.secret } }],
    udpPort: 0,
    retries: 0,
    schedule: { jitterMs: 0 },
    ...extra,
  };
}

/** Opens the client on the device with the test account and facts. */
export function openDmDevice(device: Device, url: string, config: Partial<OmaDmConfig> = {}): Promise<DmDevice> {
  return openOmaDmDevice(device, { engines, account: account(url), facts: { devId: DEVICE_ID, man: 'Acme', mod: 'Widget', fwV: () => '1.0.0' }, config });
}

/** A FUMO package on disk as the server serves it (name, size, sha256). */
export async function writePackage(dir: string, name: string, bytes: Uint8Array): Promise<ServedFile> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { name, version: '1', path, size: bytes.length, digest: createHash('sha256').update(bytes).digest('hex') };
}

/** The reference server on the mock network at `origin` (its HttpError refusals become plain statuses). */
export function mountDmServer(network: MockNetwork, origin: string, server: DmServer): void {
  server.setOrigin(origin);
  network.route(origin, async (request) => {
    try {
      return await server.handle(request);
    } catch (error) {
      if (error instanceof HttpError) return { status: error.status };
      throw error;
    }
  });
}

export const IMAGE = new Uint8Array(20 * 1024).map((_, i) => (i * 31 + 7) & 0xff);
export const ORIGIN = 'https://dm.test';

export interface MockWorld {
  clock: VirtualClock;
  network: MockNetwork;
  server: DmServer;
  hardware: MockHardware;
  packageUrl: string;
  /** Boots again (after a requested reboot or a cut); returns the new device. */
  reboot(): Promise<Device>;
  cleanup(): Promise<void>;
}

/** The reference server and one phone (64 KiB A/B slots) on the in-process network. */
export async function mockWorld(options: Partial<DmServerOptions> = {}, image: Uint8Array = IMAGE): Promise<MockWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'dm-omadm-'));
  const clock = new VirtualClock(Date.UTC(2026, 0, 5, 8, 0, 0));
  const network = createMockNetwork({ clock: clock.scope().clock, chunkSize: 2048 });
  const pkg = await writePackage(dir, 'fw-2.0.bin', image);
  const server = new DmServer({ serverId: SERVER.serverId, clients: [CLIENT], packages: [pkg], md5, tokenize: engines.syncmlTokenize, ...options });
  mountDmServer(network, ORIGIN, server);
  const hardware = new MockHardware({ ...mockOptionsFromBoard(phoneBoard), clock, network, identity: { deviceId: DEVICE_ID, model: 'Widget', hardwareId: 'hw-1', firmwareVersion: '1.0.0' } });
  hardware.boot();
  await hardware.booted;
  return {
    clock,
    network,
    server,
    hardware,
    packageUrl: server.packageUrl(pkg.name),
    async reboot() {
      hardware.reboot();
      await hardware.booted;
      return hardware.device!;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Package #0 with the server's credentials (what the device's DMAcc holds). */
export function notification(sessionId: number, secret = SERVER.secret): Uint8Array {
  return packageZero(md5, { serverId: SERVER.serverId, sessionId }, { name: SERVER.name, secret });
}

/**
 * Resolves once every package #0 handed to the router so far has been handled, its session and
 * FUMO work included: the router serialises deliveries, so an empty (malformed, refused at once)
 * one queued behind them settles after them.
 */
export async function drained(dev: DmDevice): Promise<void> {
  await dev.client.router.receive(new Uint8Array(0));
}

/** Polls (real time) until `condition` holds: for deliveries over real sockets and brokers. */
export async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** What one power-cut scenario run returns: where counting began, whether a cut happened. */
export interface CutRun {
  opsAtStart: number;
  cut: boolean;
}

/**
 * Runs `scenario` once without a cut to count the mutating operations (the cut points), then once
 * per cut point in a fresh world, checking each end state. Returns the counts for the report.
 */
export async function cutEverywhere<R extends CutRun>(
  image: Uint8Array,
  scenario: (w: MockWorld, cutAfter?: number) => Promise<R>,
  checkEnd: (w: MockWorld, run: R, label: string) => Promise<void>,
  finish: (run: R) => Promise<void> = async () => undefined,
  /** A fresh world for each run (default: the reference server and one phone with `image`). */
  makeWorld: () => Promise<MockWorld> = () => mockWorld({}, image),
): Promise<{ total: number; cuts: number; resends: number }> {
  const clean = await makeWorld();
  let total: number;
  try {
    const run = await scenario(clean);
    expect(run.cut).toBe(false);
    await checkEnd(clean, run, 'clean run');
    total = clean.hardware.power.operations - run.opsAtStart;
    await finish(run);
  } finally {
    await clean.cleanup();
  }
  let cuts = 0;
  let resends = 0;
  for (let n = 1; n <= total; n++) {
    const w = await makeWorld();
    try {
      const run = await scenario(w, n);
      expect(run.cut, `cut point ${n} must interrupt the run`).toBe(true);
      cuts++;
      await checkEnd(w, run, `cut ${n}`);
      resends += w.server.journal.of('genericAlert').filter((a) => a.duplicate).length;
      await finish(run);
    } finally {
      await w.cleanup();
    }
  }
  return { total, cuts, resends };
}
