/**
 * The device update web service family (seeds 002/003) on the seam:
 *  - triggers: at boot and every 24 h (the `firmware.schedule`), and at user sign-in (HAL event);
 *  - each run first continues the update in flight (a held image, a trial boot to verify), then —
 *    when none — checks for an update: discovery (provisioning, else DNS `ucupdates-r2.<DHCP
 *    domain>`), location and user from the HAL (outside without a user: not even tried), the
 *    check with version, model, hardware id and the test-device flag;
 *  - an offered image becomes one job (./job.ts): pipeline into the inactive slot, idle-reboot
 *    hold, image step, result through the outbox;
 *  - `info()` (and `dm-agent info`) shows the current version and the date of the last update.
 */
import type { FamilyDefinition, FamilyInstance, RunReason, RunResult } from '../families/family.ts';
import { readableJobs } from '../families/jobs.ts';
import { type KeyValueStore, getValue, putValue } from '../store/index.ts';
import { RetryLaterError } from '../util/retry.ts';
import { joinUrl } from '../transport/http.ts';
import { UpdateClient } from './client.ts';
import { type FirmwareConfig, parseFirmwareConfig } from './config.ts';
import { DOWNLOAD_KEY, FAMILY, type FirmwareInfo, INFO_KEY, JOB_KEY, STATE_PREFIX, imageStep, readInfo } from './job.ts';
import { type ResultReport, type ServiceUrls, serviceUrlsSchema } from './messages.ts';

const PROVISIONED_KEY = 'firmware/provisioned';
const SIGNED_IN_KEY = 'firmware/everSignedIn';

export type CheckOutcome = 'upToDate' | 'update' | 'notTried' | 'noService' | 'busy';

export interface FirmwareFamily extends FamilyInstance {
  /** Current version and the date of the last update (persisted). */
  info(): Promise<FirmwareInfo & { version: string }>;
  /** In-band provisioning pushed by a manager (kept across reboots; the config's `service` wins). */
  provision(urls: ServiceUrls): Promise<void>;
  /** A command or consent releases the idle hold now (the update installs at once). */
  release(by: 'command' | 'consent'): void;
  /** What the last run did, for tests and the demo. */
  readonly last: { reason?: RunReason; check?: CheckOutcome; detail?: string };
}

export const firmwareFamily: FamilyDefinition<FirmwareConfig> = {
  name: FAMILY,
  parseConfig: parseFirmwareConfig,
  create(context): FirmwareFamily {
    const { device, store, log, config, outbox } = context;
    const client = new UpdateClient({ net: device.net, timeoutMs: config.requestTimeoutMs, log, allowInsecure: config.allowInsecure });
    let released: 'command' | 'consent' | undefined;
    let setAside = 0;
    const last: FirmwareFamily['last'] = {};

    const contact = async () => {
      const info = device.net.info ? await device.net.info() : { location: 'unknown' as const };
      const user = device.users ? await device.users.current() : undefined;
      return { location: info.location, ...(user ? { user: { user: user.name, password: user.password } } : {}) };
    };
    const parts = {
      device,
      store,
      engines: context.engines,
      outbox,
      log,
      config,
      ...(context.downloadChunkBytes !== undefined ? { downloadChunkBytes: context.downloadChunkBytes } : {}),
      client,
      contact,
      released: () => released,
      onHold: (decision: { release: boolean; recheckMs?: number }) => {
        if (decision.release || decision.recheckMs === undefined) return;
        context.emit({ kind: 'held', recheckMs: decision.recheckMs });
        context.wake('recheck', decision.recheckMs);
      },
      signal: context.signal,
      emit: context.emit,
      // The service's repository: `<service URL>/metadata/`, the URL for where the device is (public files, no credentials).
      trust: context.trust({
        metadataUrl: async () => {
          const urls = await serviceUrls();
          return joinUrl((await contact()).location === 'outside' ? urls.external : urls.internal, 'metadata/');
        },
      }),
    };

    outbox.declare(FAMILY, STATE_PREFIX);
    outbox.register(FAMILY, async (entry) => {
      const result = await client.report({ urls: await serviceUrls(), ...(await contact()) }, entry.body as Omit<ResultReport, 'type' | 'protocol'>);
      if (result.kind === 'needsSignIn') throw new RetryLaterError(result.message);
      if (result.kind === 'failed') throw result.error;
    });

    const serviceUrls = async (): Promise<ServiceUrls> => {
      const discovered = await discover();
      if (discovered.kind !== 'found') throw new RetryLaterError(`no update service: ${discovered.message}`);
      return discovered.urls;
    };
    const discover = async () => {
      const provisioned = config.service ?? getValue<ServiceUrls>(store, PROVISIONED_KEY);
      const everSignedIn = (getValue<boolean>(store, SIGNED_IN_KEY) ?? false) || (device.users ? await device.users.everSignedIn() : false);
      return client.discover({ provisioned, everSignedIn });
    };

    /** Continues the job in flight; true when one is still in progress afterwards. */
    const continueJob = async (): Promise<boolean> => {
      const machine = imageStep(parts);
      if (!machine.record()) return false;
      const outcome = await machine.run({ signal: context.signal() });
      if (outcome.kind !== 'final') {
        log.info('firmware update paused', { state: outcome.state, reason: outcome.kind === 'suspended' ? outcome.reason : 'stopped' });
        return true;
      }
      released = undefined;
      context.emit({ kind: 'updateEnd', ok: outcome.state === 'succeeded', version: outcome.context.image.version, outcome: outcome.context.outcome?.code });
      await machine.clear();
      await outbox.flush(FAMILY);
      return false;
    };

    const check = async (reason: RunReason): Promise<CheckOutcome> => {
      parts.trust.invalidate(); // a new offer is decided on fresh signed metadata
      const where = await contact();
      if (where.user) await rememberSignIn(store);
      // Seed 002: outside the firewall, with no user signed in, the service refuses: do not even try.
      if (where.location === 'outside' && !where.user) {
        last.detail = 'outside the firewall with no signed-in user';
        log.info('update check not tried: outside the firewall with no signed-in user', { reason });
        return 'notTried';
      }
      const discovered = await discover();
      if (discovered.kind !== 'found') {
        last.detail = discovered.message;
        if (discovered.retryable) throw new RetryLaterError(discovered.message);
        log.warn('no update service', { reason: discovered.reason, message: discovered.message });
        return 'noService';
      }
      const identity = await device.system.identity();
      const result = await client.check({
        urls: discovered.urls,
        ...where,
        identity: { deviceId: identity.deviceId, model: identity.model, hardwareId: identity.hardwareId, firmwareVersion: identity.firmwareVersion },
        testDevice: config.testDevice,
        signal: context.signal(),
      });
      await putValue(store, INFO_KEY, { ...readInfo(store), lastCheckUtcMs: Math.max(0, device.clock.utcMs()) });
      if (result.kind === 'needsSignIn') {
        last.detail = result.message;
        return 'notTried';
      }
      if (result.kind === 'failed') throw result.error;
      if (result.kind === 'upToDate' || result.image.version === identity.firmwareVersion) return 'upToDate';
      const status = await device.update.status();
      const id = `${Math.max(0, device.clock.utcMs()).toString(36)}-${result.image.version}`.slice(0, 100);
      await imageStep(parts).start({
        id,
        image: { version: result.image.version, size: result.image.size, sha256: result.image.sha256 },
        fromVersion: identity.firmwareVersion,
        original: status.active,
        family: { offer: result.image, deviceId: identity.deviceId, model: identity.model },
      });
      log.info('firmware update offered', { from: identity.firmwareVersion, to: result.image.version, size: result.image.size, zone: result.zone });
      context.emit({ kind: 'updateStart', from: identity.firmwareVersion, to: result.image.version, size: result.image.size });
      return 'update';
    };

    const family: FirmwareFamily = {
      name: FAMILY,
      prefixes: [STATE_PREFIX],
      triggers: [
        { kind: 'schedule', schedule: config.schedule },
        { kind: 'event', event: 'signIn' },
      ],
      last,
      async boot() {
        const jobs = await readableJobs({
          store,
          family: FAMILY,
          jobPrefix: JOB_KEY,
          log,
          utcMs: Math.max(0, device.clock.utcMs()),
          open: (key) => (key === JOB_KEY ? imageStep(parts).record() : key === DOWNLOAD_KEY ? undefined : fail(key)),
        });
        setAside += jobs.setAside;
        // The download's own record only makes sense under its update job.
        if (jobs.keys.includes(DOWNLOAD_KEY) && !jobs.keys.includes(JOB_KEY)) await store.delete(DOWNLOAD_KEY);
        const machine = imageStep(parts);
        const record = await machine.resume();
        return { pending: record && !['succeeded', 'failed'].includes(record.state) ? 1 : 0, setAside: jobs.setAside };
      },
      async run(reason): Promise<RunResult> {
        last.reason = reason;
        await outbox.flush(FAMILY);
        if (await continueJob()) {
          last.check = 'busy';
          return {};
        }
        if (reason === 'recheck' || reason === 'activity') return {};
        last.check = await check(reason);
        if (last.check === 'update') await continueJob();
        return {};
      },
      status: () => {
        const info = readInfo(store);
        return {
          name: FAMILY,
          jobs: { active: store.has(JOB_KEY) ? 1 : 0, setAside },
          outbox: outbox.pending(FAMILY).length,
          details: { ...info, ...(getValue<{ state: string }>(store, JOB_KEY) ? { update: getValue<{ state: string }>(store, JOB_KEY)?.state } : {}) },
        };
      },
      async info() {
        const identity = await device.system.identity();
        return { ...readInfo(store), version: identity.firmwareVersion };
      },
      async provision(urls) {
        await putValue(store, PROVISIONED_KEY, serviceUrlsSchema.parse(urls));
      },
      release(by) {
        released = by;
        context.wake('manual');
      },
    };
    return family;
  },
};

async function rememberSignIn(store: KeyValueStore): Promise<void> {
  if (getValue<boolean>(store, SIGNED_IN_KEY) !== true) await putValue(store, SIGNED_IN_KEY, true);
}

function fail(key: string): never {
  throw new Error(`unknown job kind in ${key}`);
}
