/**
 * The standalone client on a device for the session tests: the client (agent/omadm) with
 * its store on the device's state partition, and a FUMO pipeline on the HAL's A/B update facet:
 * download with Range into the inactive slot (resuming from what the slot made durable), hold at
 * State 40 until Exec Update, then verify, mark the slot pending and ask for a reboot; after the
 * boot, confirm the trial image and report (FUMO queues the Generic Alert). Every step is safe to
 * repeat after a power cut: it asks the HAL and the store where things are before acting.
 *
 * A deliberately small pipeline, so these tests exercise the client (router, sessions, tree, FUMO
 * records) on its own; the family's real one (shared pipeline, hold, image step, outbox) is what
 * session-family.test.ts and power-cut-family.test.ts drive.
 */
import { OmaDmClient, type OmaDmConfig } from '../../agent/omadm/client.ts';
import type { DmAccountConfig } from '../../agent/omadm/csp/dmacc.ts';
import type { DeviceFacts } from '../../agent/omadm/csp/devinfo.ts';
import type { FumoJob, FumoManager, FumoPipeline } from '../../agent/omadm/fumo/manager.ts';
import { getValue, KeyValueStore, putValue } from '../../agent/store/index.ts';
import { PowerCutError } from '../../hal/errors.ts';
import type { Device, SlotName, SlotWriter } from '../../hal/types.ts';
import type { Engines } from '../../wasm/index.ts';

const TARGET_KEY = 'omadm-test/fumo-target';
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
export async function openOmaDmDevice(device: Device, options: { engines: Engines; account: DmAccountConfig; facts: DeviceFacts; config?: Partial<OmaDmConfig> }): Promise<DmDevice> {
  const { engines, account, facts, config } = options;
  const store = await KeyValueStore.open(await device.flash.open({ partition: 'state' }));
  const pipeline = new SlotPipeline(device, store);
  const client = await OmaDmClient.open({
    http: device.net.http,
    clock: device.clock,
    random: (n) => device.random.bytes(n),
    md5: (data) => engines.hash('md5', data),
    tokenize: engines.syncmlTokenize,
    store,
    config: { accounts: [account], retries: 0, retryIntervalMs: 0, ...config },
    facts,
    fumoPipeline: pipeline,
    // The session tests' application area: a custom CSP without a node description (open subtree).
    csps: [{ root: 'App' }],
  });
  pipeline.attach(client.fumo);
  return { client, pipeline, store };
}

