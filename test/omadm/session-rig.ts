/**
 * The OMA DM session tests' world: a device (mock HAL or node HAL) running the OMA DM client with
 * its store on the device's flash, the reference DM server (server/omadm) and a FUMO pipeline on
 * the HAL's A/B update facet: download with Range into the inactive slot (resuming from what the
 * slot made durable), hold at State 40 until Exec Update, then activate and ask for a reboot; after
 * the boot, confirm the trial image and report the result (the Generic Alert goes out through
 * FUMO's queue). Every step is safe to repeat after a power cut: it asks the HAL and the store
 * where things are before acting.
 */
import { OmaDmClient, type OmaDmConfig } from '../../agent/omadm/client.ts';
import type { DmAccountConfig } from '../../agent/omadm/csp/dmacc.ts';
import type { FumoJob, FumoManager, FumoPipeline } from '../../agent/omadm/fumo/manager.ts';
import { getValue, KeyValueStore, putValue } from '../../agent/store/index.ts';
import { PowerCutError } from '../../hal/errors.ts';
import type { Device, SlotName, SlotWriter } from '../../hal/types.ts';
import { createJsEngines } from '../../wasm/src/engines.ts';
import { createHash } from 'node:crypto';
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
    authPref: 'DIGEST',
    client: { name: CLIENT.name, secret: CLIENT.secret },
    server: { name: SERVER.name, secret: SERVER.secret },
  };
}

const TARGET_KEY = 'omadm-rig/target';
interface Target {
  sha256: string;
  size: number;
  from: SlotName;
  /** The slot was made pending: a boot back in `from` without it pending means it was rolled back. */
  activated?: boolean;
}
const CHECKPOINT = 4096;

/** FUMO's pipeline on the HAL update facet (the test's stand-in for the shared pipeline's hooks). */
export class SlotPipeline implements FumoPipeline {
  #fumo: FumoManager | undefined;
  readonly calls: string[] = [];
  constructor(
    private readonly device: Device,
    private readonly store: KeyValueStore,
  ) {}

  attach(fumo: FumoManager): void {
    this.#fumo = fumo;
  }

  get #manager(): FumoManager {
    if (!this.#fumo) throw new Error('pipeline not attached');
    return this.#fumo;
  }

  async start(job: FumoJob): Promise<void> {
    this.calls.push(`start ${job.operation}`);
    let writer: SlotWriter | undefined;
    try {
      let target = getValue<Target>(this.store, TARGET_KEY);
      if (!target) {
        // The package's size and digest come with the first answer (Content-Range total, strong ETag).
        const probe = await this.device.net.http.request({ method: 'GET', url: job.url!, headers: { range: 'bytes=0-0' } });
        const size = Number(/\/(\d+)$/.exec(probe.headers['content-range'] ?? '')?.[1]);
        const sha256 = /^"sha256-([0-9a-f]{64})"$/.exec(probe.headers.etag ?? '')?.[1];
        probe.cancel();
        if (!Number.isInteger(size) || !sha256) throw new Error('package answer without size or digest');
        target = { sha256, size, from: (await this.device.update.status()).active };
        // Persisted before the slot is touched: after a cut we resume into the same slot for the same image.
        await putValue(this.store, TARGET_KEY, target);
      }
      writer = await this.device.update.openInactive({ size: target.size, version: target.sha256.slice(0, 12), resume: true });
      const from = writer.durableLength;
      if (from < target.size) {
        const response = await this.device.net.http.request({ method: 'GET', url: job.url!, headers: { range: `bytes=${from}-` } });
        if (response.status !== 206) throw new Error(`package answer ${response.status}`);
        let at = from;
        for await (const chunk of response.body) {
          await writer.write(at, chunk);
          at += chunk.length;
          if (at % CHECKPOINT === 0) await writer.sync();
        }
        await writer.sync();
      }
    } catch (error) {
      if (error instanceof PowerCutError) throw error;
      await this.store.delete(TARGET_KEY);
      await this.#manager.report(job.instance, 'downloadFailed');
      return;
    } finally {
      await writer?.close();
    }
    // Downloaded: State 40 (the hold) until Exec Update, or straight on for DownloadAndUpdate.
    await this.#manager.report(job.instance, 'downloaded');
    if (job.runThrough) await this.release(job);
  }

  /** Exec Update: verify the slot, mark it pending and ask for the reboot (repeatable). */
  async release(job: FumoJob): Promise<void> {
    this.calls.push(`release ${job.operation}`);
    const target = getValue<Target>(this.store, TARGET_KEY);
    const status = await this.device.update.status();
    if (target && status.pending === undefined && status.active === target.from) {
      const writer = await this.device.update.openInactive({ size: target.size, version: target.sha256.slice(0, 12), resume: true });
      try {
        await writer.complete({ sha256: target.sha256 });
      } catch (error) {
        if (error instanceof PowerCutError) throw error;
        await this.store.delete(TARGET_KEY);
        await this.#manager.report(job.instance, 'updateFailed', 402);
        return;
      } finally {
        await writer.close();
      }
      await putValue(this.store, TARGET_KEY, { ...target, activated: true });
    }
    await this.device.power.requestReboot({ reason: 'omadm fumo update' });
  }

  /** After a boot: a trial image of our update is confirmed and reported; a pending one is rebooted into. */
  async afterBoot(instance = '1'): Promise<'idle' | 'reboot' | 'reported'> {
    const fumo = this.#manager;
    const target = getValue<Target>(this.store, TARGET_KEY);
    if (fumo.state(instance) !== 60 || !target) {
      // A finished job's record (a cut between the report and this delete) must not seed the next job.
      if (target?.activated) await this.store.delete(TARGET_KEY);
      return 'idle';
    }
    const status = await this.device.update.status();
    if (status.active !== target.from) {
      if (!status.confirmed) await this.device.update.confirm();
      await fumo.report(instance, 'updated');
      await this.store.delete(TARGET_KEY);
      return 'reported';
    }
    if (status.pending !== undefined || !target.activated) {
      // Not activated yet (a cut before the slot was marked) or not booted into yet: activate again.
      await fumo.continue();
      return 'reboot';
    }
    await fumo.report(instance, 'updateFailed');
    await this.store.delete(TARGET_KEY);
    return 'reported';
  }
}

export interface DmDevice {
  client: OmaDmClient;
  pipeline: SlotPipeline;
  store: KeyValueStore;
}

/** Opens the store on the device's state partition and the OMA DM client over the device's HTTP. */
export async function openDmDevice(device: Device, url: string, config: Partial<OmaDmConfig> = {}): Promise<DmDevice> {
  const store = await KeyValueStore.open(await device.flash.open({ partition: 'state' }));
  const pipeline = new SlotPipeline(device, store);
  const client = await OmaDmClient.open({
    http: device.net.http,
    clock: device.clock,
    random: (n) => device.random.bytes(n),
    md5,
    tokenize: engines.syncmlTokenize,
    store,
    config: { accounts: [account(url)], retries: 0, retryIntervalMs: 0, ...config },
    facts: { devId: DEVICE_ID, man: 'Acme', mod: 'Widget', fwV: () => '1.0.0' },
    fumoPipeline: pipeline,
  });
  pipeline.attach(client.fumo);
  return { client, pipeline, store };
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
export const ORIGIN = 'http://dm.test';

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
