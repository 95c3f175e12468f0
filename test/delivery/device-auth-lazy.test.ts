/**
 * Device auth (agent/transport/device-token.ts, with the signing of agent/trust/device-auth.ts) is
 * a lazy chunk: the delivery service imports it at the first exchange that needs a token. A board
 * configured without device auth (`delivery.deviceAuth: false`) never loads it; with device auth
 * (the default) the chunk loads and every exchange carries the manager's token, as before
 * (test/trust/device-auth-agent.test.ts and test/e2e/device-auth-node.test.ts cover it in depth).
 */
import { describe, expect, it, vi } from 'vitest';
import { mockWorld } from '../e2e/mock-rig.ts';
import { agentChunks } from '../support/agent-chunks.ts';

const loaded = vi.hoisted(() => ({ tokens: 0 }));
vi.mock('../../agent/transport/device-token.ts', async (importOriginal) => {
  loaded.tokens++;
  return importOriginal();
});

const CATALOGUE = [{ name: 'app', version: '1.0.0', size: 4 * 1024 }];

describe('device auth loads only for a config that uses it', () => {
  it('is a lazy chunk of the build, outside the core and every family', async () => {
    const { staticSources, lazyEntries } = await agentChunks();
    expect(lazyEntries.has('agent/transport/device-token.ts')).toBe(true);
    for (const source of ['agent/transport/device-token.ts', 'agent/trust/device-auth.ts']) expect(staticSources.has(source), source).toBe(false);
  });

  it('a poll without device auth does not import it; a poll with it does, and the manager that requires tokens serves it', async () => {
    const plain = await mockWorld({ deviceIds: [], assignment: [{ name: 'app', version: '1.0.0' }], catalogue: CATALOGUE, deviceAuth: 'off' });
    try {
      const agent = await plain.agent(plain.hardware('plain'), { delivery: { deviceAuth: false } });
      expect((await agent.pollOnce()).installed).toEqual(['app@1.0.0']);
      expect(loaded.tokens).toBe(0);
      await agent.close();
    } finally {
      await plain.cleanup();
    }

    const secured = await mockWorld({ deviceIds: [], assignment: [{ name: 'app', version: '1.0.0' }], catalogue: CATALOGUE });
    try {
      const agent = await secured.agent(secured.hardware('secured'));
      expect((await agent.pollOnce()).installed).toEqual(['app@1.0.0']);
      expect(loaded.tokens).toBe(1);
      // The same device without device auth is refused by this manager: the token is what let it in.
      const bare = await secured.agent(secured.hardware('bare'), { delivery: { deviceAuth: false } });
      await expect(bare.pollOnce()).rejects.toThrow(/401/);
      await bare.close();
      await agent.close();
    } finally {
      await secured.cleanup();
    }
  }, 60_000);
});
