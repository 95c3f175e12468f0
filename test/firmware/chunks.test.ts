/**
 * A family's protocol and config load with that family only: the update web service protocol
 * (agent/firmware/messages.ts) and its config, the pull-model family's config and redirect tracker.
 * The agent's config loads a family's config section from the family's own chunk
 * (agent/config-base.ts), so a board without the family loads none of it. Each module a board
 * loads costs QuickJS heap for good.
 */
import { describe, expect, it } from 'vitest';
import { agentChunks } from '../support/agent-chunks.ts';

describe('what a board without a family does not load', () => {
  it('a board without the firmware family loads neither its protocol nor its config', async () => {
    const { familySources } = await agentChunks();
    for (const family of ['delivery', 'omadm']) {
      for (const module of ['agent/firmware/config.ts', 'agent/firmware/service-urls.ts', 'agent/firmware/messages.ts']) expect(familySources[family]!.has(module), `${family}: ${module}`).toBe(false);
    }
    for (const module of ['agent/firmware/config.ts', 'agent/firmware/service-urls.ts', 'agent/firmware/messages.ts']) expect(familySources.firmware!.has(module), module).toBe(true);
  });

  it('a board without the pull-model family loads neither its redirect tracker nor its config', async () => {
    const { familySources } = await agentChunks();
    for (const family of ['firmware', 'omadm']) {
      for (const module of ['agent/delivery/config.ts', 'agent/delivery/redirect-tracker.ts']) expect(familySources[family]!.has(module), `${family}: ${module}`).toBe(false);
    }
    for (const module of ['agent/delivery/config.ts', 'agent/delivery/redirect-tracker.ts']) expect(familySources.delivery!.has(module), module).toBe(true);
  });
});
