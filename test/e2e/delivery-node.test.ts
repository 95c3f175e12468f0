import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_SECOND, artifactBytes } from '../../cli/demo/fixture.ts';
import { generateCertificates } from '../support/tls.ts';
import { type Rig, api, newRig, nodeAgent, startFleetManager } from './harness.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let rig: Rig;
beforeEach(async () => {
  rig = await newRig();
});
afterEach(async () => {
  await rig.cleanup();
});

describe('pull-model delivery against the reference manager (Node HAL, loopback HTTP)', () => {
  it('a fresh device converges to its package list and raises the three status reports per package', async () => {
    const server = await startFleetManager(rig, { deviceIds: ['dev-1'] });
    const { agent } = await nodeAgent(rig, { deviceId: 'dev-1', manager: server.url });
    const summary = await agent.pollOnce();
    expect(summary.installed.sort()).toEqual(['base-config@1.0.0', 'diagnostics@0.9.0', 'telemetry@1.0.0', 'ui-fonts@2.3.0']);
    expect(summary.failed).toEqual([]);
    // The post-install commands really ran with the verified artifact.
    for (const [name, version] of [['telemetry', '1.0.0'], ['base-config', '1.0.0']] as const) {
      const installed = await readFile(join(rig.installRoot, name));
      expect(sha256(installed)).toBe(sha256(artifactBytes(name, version, installed.length)));
    }
    const db = agent.delivery!.db.list();
    expect(db.map((p) => `${p.name}@${p.version}`).sort()).toEqual(summary.installed.sort());
    expect(db.find((p) => p.name === 'ui-fonts')?.optional).toBe(true);
    // Status reports at the manager, in order per package: begin, end, post-install end.
    const history = await api<any[]>(server, 'GET', '/api/devices/dev-1/status');
    for (const pkg of db) {
      const phases = history.filter((s) => s.name === pkg.name).map((s) => `${s.phase}:${s.outcome}`);
      expect(phases).toEqual(['downloadBegin:success', 'downloadEnd:success', 'postInstallEnd:success']);
    }
    const post = history.find((s) => s.phase === 'postInstallEnd' && s.name === 'telemetry');
    expect(post.exitCode).toBe(0);
    expect(post.output).toContain('installed telemetry 1.0.0');
    const reports = await api<any[]>(server, 'GET', '/api/devices/dev-1/reports');
    expect(reports.map((r) => r.kind).sort()).toEqual(['machineInventory', 'softwareInventory']);
    // Staging is cleaned up after install.
    expect(await readdir(join(rig.dir, 'work-dev-1', 'staging'))).toEqual([]);
    // A second poll changes nothing.
    const again = await agent.pollOnce();
    expect([again.installed, again.upgraded, again.removed]).toEqual([[], [], []]);
    expect(again.kept).toBe(4);
    expect(again.referenceCounter).toBeGreaterThan(summary.referenceCounter);
  });

  it('a changed list installs, upgrades and removes exactly the difference', async () => {
    const server = await startFleetManager(rig, { deviceIds: ['dev-2'] });
    const { agent } = await nodeAgent(rig, { deviceId: 'dev-2', manager: server.url });
    await agent.pollOnce();
    await api(server, 'PUT', '/api/devices/dev-2/packages', [...DEMO_SECOND, { name: 'diagnostics', remove: true }]);
    const summary = await agent.pollOnce();
    expect(summary.installed).toEqual(['maps-eu@2026.11']);
    expect(summary.upgraded).toEqual(['telemetry@1.1.0']);
    expect(summary.removed).toEqual(['diagnostics@0.9.0']);
    expect(summary.kept).toBe(2);
    expect((await readdir(rig.installRoot)).sort()).toEqual(['base-config', 'maps-eu', 'telemetry', 'ui-fonts']);
    expect((await readFile(join(rig.installRoot, 'telemetry'))).length).toBe(1600 * 1024);
    const removal = (await api<any[]>(server, 'GET', '/api/devices/dev-2/status')).find((s) => s.phase === 'removeEnd');
    expect(removal).toMatchObject({ name: 'diagnostics', outcome: 'success' });
    expect(removal.output).toContain('removed diagnostics');
  });

  it('skips optional packages under the skip policy but keeps installed ones', async () => {
    const server = await startFleetManager(rig, { deviceIds: ['dev-3'] });
    const { agent } = await nodeAgent(rig, { deviceId: 'dev-3', manager: server.url, delivery: { optionalPackages: 'skip' } });
    const summary = await agent.pollOnce();
    expect(summary.skipped).toEqual(['ui-fonts']);
    expect(summary.installed).not.toContain('ui-fonts@2.3.0');
  });

  it('refuses a corrupted artifact, reports it, retries per policy and never installs the bad bytes', async () => {
    const server = await startFleetManager(rig, { deviceIds: ['dev-4'] });
    // Corrupt twice: the first download and the one retry (corruptRetries 1) both fail verification.
    await api(server, 'POST', '/api/faults', { kind: 'corrupt', artifact: 'telemetry@1.0.0', times: 2 });
    const { agent } = await nodeAgent(rig, { deviceId: 'dev-4', manager: server.url, delivery: { download: { corruptRetries: 1, checkpointBytes: 64 * 1024 } } });
    const summary = await agent.pollOnce();
    expect(summary.failed.map((f) => f.name)).toEqual(['telemetry']);
    expect(summary.failed[0]?.reason).toMatch(/digestMismatch/);
    expect(await readdir(rig.installRoot)).not.toContain('telemetry');
    expect(agent.delivery!.db.get('telemetry')).toBeUndefined();
    const reports = (await api<any[]>(server, 'GET', '/api/devices/dev-4/status')).filter((s) => s.name === 'telemetry');
    expect(reports.map((s) => `${s.phase}:${s.outcome}`)).toEqual(['downloadBegin:success', 'downloadEnd:failure', 'downloadBegin:success', 'downloadEnd:failure']);
    expect(reports[1].error.code).toBe('digestMismatch');
    expect(reports.some((s) => s.phase === 'postInstallEnd')).toBe(false);
    // The fault is used up: the next poll installs the good artifact.
    const next = await agent.pollOnce();
    expect(next.installed).toEqual(['telemetry@1.0.0']);
  });

  it('a corrupted download followed by a good one within the policy installs in the same poll', async () => {
    const server = await startFleetManager(rig, { deviceIds: ['dev-5'] });
    await api(server, 'POST', '/api/faults', { kind: 'corrupt', artifact: 'maps-eu@2026.11', times: 1 });
    await api(server, 'PUT', '/api/devices/dev-5/packages', [{ name: 'maps-eu', version: '2026.11' }]);
    const { agent } = await nodeAgent(rig, { deviceId: 'dev-5', manager: server.url });
    const summary = await agent.pollOnce();
    expect(summary.installed).toContain('maps-eu@2026.11');
    const reports = (await api<any[]>(server, 'GET', '/api/devices/dev-5/status')).filter((s) => s.name === 'maps-eu');
    expect(reports.map((s) => `${s.phase}:${s.outcome}`)).toEqual(['downloadBegin:success', 'downloadEnd:failure', 'downloadBegin:success', 'downloadEnd:success', 'postInstallEnd:success']);
  });

  it('a connection reset mid-download resumes with Range instead of starting over', async () => {
    const server = await startFleetManager(rig, { deviceIds: ['dev-6'] });
    await api(server, 'PUT', '/api/devices/dev-6/packages', [{ name: 'maps-eu', version: '2026.11' }]);
    await api(server, 'POST', '/api/faults', { kind: 'reset', artifact: 'maps-eu@2026.11', afterBytes: 1_000_000, times: 2 });
    const { agent } = await nodeAgent(rig, { deviceId: 'dev-6', manager: server.url });
    const summary = await agent.pollOnce();
    expect(summary.installed).toContain('maps-eu@2026.11');
    const end = (await api<any[]>(server, 'GET', '/api/devices/dev-6/status')).find((s) => s.phase === 'downloadEnd' && s.name === 'maps-eu');
    const size = 2560 * 1024;
    expect(end.attempts).toBe(3);
    // Resumed from what had arrived: far less than three full transfers.
    expect(end.bytes).toBeGreaterThanOrEqual(size);
    expect(end.bytes).toBeLessThan(size + 64 * 1024 * 2);
    expect(sha256(await readFile(join(rig.installRoot, 'maps-eu')))).toBe(sha256(artifactBytes('maps-eu', '2026.11', size)));
  });

  it('works over HTTPS with the manager\'s CA', async () => {
    const tls = await generateCertificates();
    const server = await startFleetManager(rig, { deviceIds: ['dev-7'], tls: { cert: tls.cert, key: tls.key } });
    expect(server.url).toMatch(/^https:/);
    const { agent } = await nodeAgent(rig, { deviceId: 'dev-7', manager: server.url, ca: tls.ca });
    const summary = await agent.pollOnce();
    expect(summary.installed).toHaveLength(4);
    // Without the CA the same poll fails as a network error and persists nothing.
    const { agent: untrusting } = await nodeAgent(rig, { deviceId: 'dev-7b', manager: server.url });
    await expect(untrusting.pollOnce()).rejects.toMatchObject({ code: 'network' });
    expect(untrusting.store.keys()).toEqual([]);
  });

  it('sends file-collection reports from below the roots only, size-capped, refusing traversal', async () => {
    const logs = join(rig.dir, 'logs');
    await mkdir(logs, { recursive: true });
    await writeFile(join(logs, 'agent.log'), 'x'.repeat(3000));
    await writeFile(join(logs, 'boot.log'), 'booted\n');
    await writeFile(join(rig.dir, 'secret'), 'do not send');
    const server = await startFleetManager(rig, {
      deviceIds: ['dev-8'],
      mutate: (fleet) => {
        fleet.groups.demo.reports = [{ kind: 'fileCollection', paths: [logs, join(logs, '..', 'secret'), join(rig.dir, 'secret'), join(logs, 'missing')], maxBytes: 2048 }];
      },
    });
    const { agent } = await nodeAgent(rig, { deviceId: 'dev-8', manager: server.url, fileRoots: [logs] });
    const summary = await agent.pollOnce();
    expect(summary.reports).toEqual(['fileCollection']);
    const [report] = await api<any[]>(server, 'GET', '/api/devices/dev-8/reports?kind=fileCollection');
    const byPath = new Map<string, any>(report.files.map((f: any) => [f.path, f]));
    const agentLog = byPath.get(join(logs, 'agent.log'));
    expect(agentLog.size).toBe(3000);
    expect(agentLog.truncated).toBe(true);
    expect(byPath.get(join(logs, 'boot.log')).truncated).toBe(true); // the 2048-byte cap is spent on agent.log
    expect(byPath.get(join(logs, '..', 'secret')).error.code).toBe('accessDenied');
    expect(byPath.get(join(rig.dir, 'secret')).error.code).toBe('accessDenied');
    expect(byPath.get(join(logs, 'missing')).error.code).toBe('notFound');
    expect(JSON.stringify(report)).not.toContain('do not send');
  });
});
