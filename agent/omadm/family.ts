/**
 * The OMA DM family (seed 001) on the seam:
 *  - triggers: its schedule (a client-initiated session, Alert 1201) and package #0 pushed over UDP
 *    (port 2948, bound at boot when the HAL has UDP) into the push router;
 *  - each run first continues FUMO (a download in flight, a held package released by Exec Update,
 *    the trial boot after the reboot), then delivers Generic Alerts through the outbox;
 *  - state under `omadm/` (tree, FUMO records, the image step's job, the outbox queue).
 */
import type { FamilyDefinition, FamilyInstance, RunResult } from '../families/family.ts';
import { readableJobs } from '../families/jobs.ts';
import { utf8Encode } from '../util/bytes.ts';
import { RetryLaterError } from '../util/retry.ts';
import { OmaDmClient } from './client.ts';
import { type OmaDmFamilyConfig, parseOmaDmConfig } from './config.ts';
import { createFumoPipeline, FAMILY, type FumoResultReport, fumoImageStep, type InstallNotify, JOB_KEY, pkgDataOf } from './fumo/pipeline.ts';
import { bindUdp, PUSH_CHANNEL, pushPackageZero, type PushListener } from './package-zero.ts';
import type { FumoJob } from './fumo/manager.ts';
import type { PackageExpectation } from './fumo/source.ts';
import { isTrustError } from '../trust/errors.ts';

export const STATE_PREFIX = 'omadm/';

export interface OmaDmFamily extends FamilyInstance {
  /** The assembled client (after boot): tree, router, sessions, FUMO. */
  client(): OmaDmClient;
  close(): Promise<void>;
}

export const omadmFamily: FamilyDefinition<OmaDmFamilyConfig> = {
  name: FAMILY,
  parseConfig: parseOmaDmConfig,
  create(context): OmaDmFamily {
    // No closure here refers to `context` itself: the agent's per-family context object (with its
    // roaming getter, wake and trust closures) is dropped once the family is built.
    const { device, store, log, config, outbox, engines, emit } = context;
    let client: OmaDmClient | undefined;
    let udp: PushListener | undefined;
    let setAside = 0;
    const parts = {
      device,
      store,
      engines,
      outbox,
      log,
      fumo: () => opened().fumo,
      signal: context.signal,
      onHold: (recheckMs: number) => emit({ kind: 'held', recheckMs }),
      download: { ...config.download, ...(context.downloadChunkBytes !== undefined ? { chunkBytes: context.downloadChunkBytes } : {}) },
      // The DM server's repository: `<origin of the first account's address>/metadata/`.
      trust: context.trust({ metadataUrl: () => `${/^https?:\/\/[^/?#]+/i.exec(config.client.accounts[0]?.addr ?? '')?.[0] ?? ''}/metadata/` }),
      // The package's size and digest come from signed metadata before anything is fetched (so
      // Ext/Size and Ext/SHA256 are not needed); the pipeline's gate checks the same entry again.
      expected: async (job: FumoJob): Promise<PackageExpectation | undefined> => {
        try {
          const signed = await parts.trust.approve({ kind: 'image', name: (await device.system.identity()).model, version: job.version ?? '' });
          return signed && { size: signed.length, sha256: signed.sha256 };
        } catch (error) {
          if (isTrustError(error)) return { refused: error.code };
          throw error;
        }
      },
    };
    const pipeline = createFumoPipeline(parts);
    const opened = (): OmaDmClient => {
      if (!client) throw new RetryLaterError('omadm is not booted yet');
      return client;
    };

    outbox.declare(FAMILY, STATE_PREFIX);
    // A finished image step becomes the FUMO transition and its Generic Alert, which is then sent
    // until the server acknowledges it (an unacknowledged alert keeps the outbox entry too).
    // A download descriptor's status report: POSTed as text until the DD's server answers 2xx.
    const installNotify = async (notify: InstallNotify): Promise<void> => {
      const response = await device.net.http.request({ method: 'POST', url: notify.url, headers: { 'content-type': 'text/plain' }, body: utf8Encode(notify.status), timeoutMs: config.download.timeoutMs });
      response.cancel();
      if (response.status < 200 || response.status >= 300) throw new RetryLaterError(`installNotifyURI answered ${response.status}`);
    };
    outbox.register(FAMILY, async (entry) => {
      if (entry.kind === 'ddNotify') return installNotify(entry.body as InstallNotify);
      const c = opened();
      const report = entry.body as FumoResultReport;
      if (report.notify) await installNotify(report.notify);
      // OMA DM has no place for it in the Generic Alert: the delta's outcome goes to the log.
      if (report.delta) log.info('FUMO package delta', { instance: report.instance, ...report.delta });
      await c.fumo.report(report.instance, report.ok ? 'updated' : 'updateFailed', report.result);
      // Reported inside a session (a download that failed in the session's FUMO work): the alert
      // is durable in the FUMO record; `run()` delivers it once the session is over.
      if (c.busy) return;
      await c.deliverAlerts();
      if (c.fumo.pendingAlerts().length > 0) throw new RetryLaterError('Generic Alert not acknowledged yet');
    });

    const family: OmaDmFamily = {
      name: FAMILY,
      prefixes: [STATE_PREFIX],
      // Package #0 on the push channel's `pkg0` topic (agent/push/) goes to the same router as UDP.
      triggers: [{ kind: 'schedule', schedule: config.schedule }, { kind: 'push', channel: PUSH_CHANNEL }],
      client: opened,
      async boot() {
        // The fields, not the identity object: `fwV` would keep the whole object for the agent's life.
        const { deviceId, model, firmwareVersion } = await device.system.identity();
        client = await OmaDmClient.open({
          http: device.net.http,
          clock: device.clock,
          random: (n) => device.random.bytes(n),
          md5: (bytes) => engines.hash('md5', bytes),
          tokenize: engines.syncmlTokenize,
          store,
          config: config.client,
          facts: { devId: deviceId, man: config.manufacturer, mod: model, fwV: () => firmwareVersion },
          fumoPipeline: pipeline,
          pkgData: pkgDataOf(parts),
          log,
        });
        const jobs = await readableJobs({
          store,
          family: FAMILY,
          jobPrefix: JOB_KEY,
          log,
          utcMs: Math.max(0, device.clock.utcMs()),
          // The download's record is read by its own machine under the image step.
          open: (key) => (key === JOB_KEY ? fumoImageStep(parts).record() : undefined),
        });
        setAside += jobs.setAside;
        const record = await fumoImageStep(parts).resume();
        if (config.udpPort > 0 && device.net.udp) {
          udp = await bindUdp(device.net.udp, client.router, { port: config.udpPort, onError: (error) => log.warn('package #0 session failed', { error: String(error) }) }).catch((error) => {
            log.warn('package #0 UDP listener not started', { error: String(error) });
            return undefined;
          });
        }
        return { pending: record && !['succeeded', 'failed'].includes(record.state) ? 1 : 0, setAside: jobs.setAside };
      },
      async run(reason): Promise<RunResult> {
        const c = opened();
        parts.trust.invalidate(); // FUMO decides on fresh signed metadata each run
        await c.fumo.continue();
        await pipeline.runJob();
        await outbox.flush(FAMILY);
        if (c.fumo.pendingAlerts().length > 0) await c.deliverAlerts();
        if (reason === 'schedule' || reason === 'manual' || reason === 'wake') {
          for (const account of config.client.accounts) await c.clientSession(account.serverId);
          await c.fumo.continue();
          await outbox.flush(FAMILY);
        }
        return {};
      },
      receivePush: (_channel, payload) => pushPackageZero(opened().router, payload),
      status: () => ({
        name: FAMILY,
        jobs: { active: store.has(JOB_KEY) ? 1 : 0, setAside },
        outbox: outbox.pending(FAMILY).length,
        details: client ? { fumo: (config.client.fumoInstances ?? ['1']).map((x) => ({ instance: x, state: client?.fumo.state(x) })), alertsPending: client.fumo.pendingAlerts().length } : {},
      }),
      async close() {
        await udp?.close();
        udp = undefined;
      },
    };
    return family;
  },
};
