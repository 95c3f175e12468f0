/**
 * The pull-model family's rare parts are lazy chunks: the removal machine (./removal.ts) loads when
 * a poll removes a package (or a removal job is read back), file collection (./file-collection.ts)
 * when the manager asks for files. A cycle that installs and reports inventories loads neither;
 * each works as before once loaded (the e2e suites cover them in depth).
 */
import { describe, expect, it, vi } from 'vitest';
import { sim } from '../e2e/harness.ts';
import { MANAGER, type MockWorld, mockWorld } from '../e2e/mock-rig.ts';
import { agentChunks } from '../support/agent-chunks.ts';

const loaded = vi.hoisted(() => ({ removal: 0, files: 0 }));
vi.mock('../../agent/delivery/removal.ts', async (importOriginal) => {
  loaded.removal++;
  return importOriginal();
});
vi.mock('../../agent/delivery/file-collection.ts', async (importOriginal) => {
  loaded.files++;
  return importOriginal();
});

const CATALOGUE = [
  { name: 'app', version: '1.0.0', size: 4 * 1024 },
  { name: 'tool', version: '1.0.0', size: 2 * 1024 },
];

async function admin(world: MockWorld, method: string, url: string, json?: unknown): Promise<unknown> {
  const body = json === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(json));
  const answer = await world.manager.handle({ method, url, headers: { 'content-type': 'application/json', authorization: `Bearer ${world.manager.adminToken}` }, body });
  expect(answer.status).toBe(200);
  return JSON.parse(new TextDecoder().decode(answer.body as Uint8Array));
}

describe('the pull-model family loads removal and file collection only when a poll needs them', () => {
  it('both are lazy chunks of the build, outside the core and every family', async () => {
    const { staticSources, lazyEntries } = await agentChunks();
    for (const source of ['agent/delivery/removal.ts', 'agent/delivery/file-collection.ts']) {
      expect(lazyEntries.has(source), source).toBe(true);
      expect(staticSources.has(source), source).toBe(false);
    }
    expect(staticSources.has('agent/delivery/reports.ts')).toBe(true);
  });

  it('the pull-model family does not load the A/B update table (image installs only)', async () => {
    const { familySources } = await agentChunks();
    expect(familySources.delivery!.has('agent/pipeline/runner.ts')).toBe(true);
    expect(familySources.delivery!.has('agent/machine/update-flow.ts')).toBe(false);
    expect(familySources.firmware!.has('agent/machine/update-flow.ts')).toBe(true);
  });

  it('installs and reports without them; removing a package loads the removal machine, which runs the uninstall', async () => {
    const w = await mockWorld({ deviceIds: [], assignment: [{ name: 'app', version: '1.0.0' }, { name: 'tool', version: '1.0.0' }], catalogue: CATALOGUE });
    try {
      const agent = await w.agent(w.hardware('dev'));
      const first = await agent.pollOnce();
      expect([...first.installed].sort()).toEqual(['app@1.0.0', 'tool@1.0.0']);
      expect(first.reports.length).toBeGreaterThan(0); // the demo group asks for inventories
      expect(loaded).toEqual({ removal: 0, files: 0 });

      await admin(w, 'PUT', '/api/devices/dev/packages', [{ name: 'tool', remove: true }]);
      const second = await agent.pollOnce();
      expect(second.removed).toEqual(['tool@1.0.0']);
      expect(w.runs.uninstall.map((run) => run.name)).toEqual(['tool']);
      expect(agent.delivery!.db.list().map((p) => p.name)).toEqual(['app']);
      expect(loaded).toEqual({ removal: 1, files: 0 });
      await agent.close();
    } finally {
      await w.cleanup();
    }
  }, 60_000);

  it('a manager asking for files loads file collection, and the report reaches it', async () => {
    const w = await mockWorld({
      deviceIds: [],
      assignment: [{ name: 'app', version: '1.0.0' }],
      catalogue: CATALOGUE,
      mutate: (fleet) => void (fleet.groups.demo.reports = [{ kind: 'fileCollection', paths: ['/var/log/missing'], maxBytes: 1024 }]),
    });
    try {
      const agent = await w.agent(w.hardware('dev2'));
      const summary = await agent.pollOnce();
      expect(summary.reports).toEqual(['fileCollection']);
      expect(loaded.files).toBe(1);
      const reports = (await admin(w, 'GET', '/api/devices/dev2/reports?kind=fileCollection')) as { files: { path: string; error?: unknown }[] }[];
      expect(reports.at(-1)?.files).toEqual([expect.objectContaining({ path: '/var/log/missing', error: expect.anything() })]);
      await agent.close();
    } finally {
      await w.cleanup();
    }
  }, 60_000);

  // Last: it resets the module graph, as a reboot starts a new process with no chunk loaded.
  it('a removal job read back at boot (power lost during the uninstall) loads the machine first, and reports it interrupted', async () => {
    const w = await mockWorld({ deviceIds: [], assignment: [{ name: 'app', version: '1.0.0' }, { name: 'tool', version: '1.0.0' }], catalogue: CATALOGUE });
    try {
      const hardware = w.hardware('dev3');
      const agent = await w.agent(hardware);
      await agent.pollOnce();
      await admin(w, 'PUT', '/api/devices/dev3/packages', [{ name: 'tool', remove: true }]);
      // The first uninstall runs, then the power fails at the next write: the job stays in `removing`.
      let cuts = 0;
      hardware.onExec('/bin/sh', async () => {
        if (cuts++ === 0) hardware.power.cutAfter(1);
        return { exitCode: 0, output: 'removed tool' };
      });
      await expect(agent.pollOnce()).rejects.toThrow(/power cut/);
      await agent.close().catch(() => undefined);
      hardware.reboot();
      await hardware.booted;

      // A fresh module graph: the job machines start without the removal machine (vitest keeps the
      // mocked module itself, so the counter cannot tell; a record opened without it is set aside).
      vi.resetModules();
      const { createAgent } = await import('../../agent/index.ts');
      const rebooted = await createAgent(hardware.device!, sim, { engine: 'js', logLevel: 'error', trust: { allowUnsigned: true }, delivery: { manager: MANAGER, download: { checkpointBytes: 16 * 1024 } } });
      expect(rebooted.boot.store.corruption).toEqual([]);
      expect(rebooted.delivery!.setAside).toBe(0);
      // The interrupted job reports, and the next poll plans the removal again (removal.ts).
      await rebooted.pollOnce();
      const history = (await admin(w, 'GET', '/api/devices/dev3/status')) as { name: string; phase: string; outcome: string; error?: { code: string } }[];
      expect(history.filter((s) => s.phase === 'removeEnd')[0]).toMatchObject({ name: 'tool', outcome: 'failure', error: { code: 'interrupted' } });
      await rebooted.close();
    } finally {
      await w.cleanup();
    }
  }, 60_000);
});
