/**
 * The delta stage (agent/pipeline/delta-step.ts) is a lazy chunk: the runner imports it when a job
 * first has a delta to run. A cycle without a delta never loads it; a delta upgrade loads it and
 * applies the patch as before (test/e2e/delivery-delta.test.ts covers the stage end to end).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { DeltaMaker } from '../../server/deltas.ts';
import { mockWorld } from '../e2e/mock-rig.ts';
import { agentChunks } from '../support/agent-chunks.ts';

const loaded = vi.hoisted(() => ({ deltaStep: 0 }));
vi.mock('../../agent/pipeline/delta-step.ts', async (importOriginal) => {
  loaded.deltaStep++;
  return importOriginal();
});

describe('the delta stage loads only for a job with a delta', () => {
  it('is a lazy chunk of the build, outside the core and every family', async () => {
    const { staticSources, lazyEntries } = await agentChunks();
    expect(lazyEntries.has('agent/pipeline/delta-step.ts')).toBe(true);
    expect(staticSources.has('agent/pipeline/delta-step.ts')).toBe(false);
    expect(staticSources.has('agent/pipeline/runner.ts')).toBe(true);
  });

  it('a pull-model cycle without a delta does not import it; the upgrade offered as a delta does, and applies it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dm-delta-lazy-'));
    const w = await mockWorld({
      deviceIds: [],
      assignment: [{ name: 'app', version: '1.0.0' }],
      catalogue: [
        { name: 'app', version: '1.0.0', size: 20 * 1024 },
        { name: 'app', version: '2.0.0', size: 22 * 1024, basedOn: '1.0.0' },
      ],
      deltas: new DeltaMaker({ dir, formats: ['vcdiff'] }),
    });
    try {
      const hardware = w.hardware('dev');
      const agent = await w.agent(hardware, { delivery: { keepInstalled: true } });
      expect((await agent.pollOnce()).installed).toEqual(['app@1.0.0']);
      expect(loaded.deltaStep).toBe(0);

      const body = new TextEncoder().encode(JSON.stringify([{ name: 'app', version: '2.0.0' }]));
      const answer = await w.manager.handle({ method: 'PUT', url: '/api/devices/dev/packages', headers: { 'content-type': 'application/json', authorization: `Bearer ${w.manager.adminToken}` }, body });
      expect(answer.status).toBe(200);
      const before = w.network.requests.length;
      // As in the delta e2e test: the upgrade may take more than one poll.
      for (let poll = 0; poll < 4 && agent.delivery!.db.get('app')?.version !== '2.0.0'; poll++) await agent.pollOnce();
      expect(agent.delivery!.db.get('app')?.version).toBe('2.0.0');
      expect(loaded.deltaStep).toBe(1);
      expect(w.network.requests.slice(before).some((r) => r.url.includes('/deltas/'))).toBe(true);
      expect(w.runs.install.at(-1)).toMatchObject({ name: 'app', version: '2.0.0', artifactOk: true });
      await agent.close();
    } finally {
      await w.cleanup();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
