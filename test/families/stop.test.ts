/**
 * The agent's stop signal and random source reach the download (the issue measured Ctrl-C during
 * a 503 backoff waiting 12.5 s, and no jitter). The virtual clock never moves here: a download
 * sleeping through its backoff could only end by the signal.
 */
import { describe, expect, it } from 'vitest';
import { mockWorld } from '../e2e/mock-rig.ts';

describe('stopping the agent during a download backoff', () => {
  it('ends the poll at once; the job resumes at the next one', async () => {
    const world = await mockWorld({ deviceIds: ['dev-stop'], assignment: [{ name: 'app', version: '1.0.0' }], catalogue: [{ name: 'app', version: '1.0.0', size: 8192 }] });
    try {
      world.network.fault({ kind: 'status', status: 503, url: '/artifacts/', times: Infinity });
      const hardware = world.hardware('dev-stop');
      const agent = await world.agent(hardware);
      const poll = agent.pollOnce();
      const settled = poll.then(() => 'resolved', () => 'rejected');
      for (let spin = 0; spin < 500 && !world.network.requests.some((r) => r.url.includes('/artifacts/')); spin++) await new Promise((r) => setTimeout(r, 2));
      await new Promise((r) => setTimeout(r, 20)); // now sleeping in the backoff (virtual time stands still)
      const started = Date.now();
      agent.stop();
      expect(await settled).toBe('rejected'); // the job stopped ("suspended"), the poll says so
      expect(Date.now() - started).toBeLessThan(2000);
      expect(agent.store.keys('job/')).toHaveLength(1); // kept for the next poll
      world.network.clearFaults();
      const next = await agent.pollOnce();
      expect(next.installed).toEqual(['app@1.0.0']);
      // It continued the same job, from where it stopped.
      expect(world.runs.install).toHaveLength(1);
      await agent.close();
    } finally {
      await world.cleanup();
    }
  });
});
