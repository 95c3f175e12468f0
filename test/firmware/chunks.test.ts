/**
 * The update web service protocol (agent/firmware/messages.ts) loads with the firmware family
 * only: the agent's config, which every board loads, needs just the service-URL schema
 * (agent/firmware/service-urls.ts). Each module a board loads costs QuickJS heap for good.
 */
import { describe, expect, it } from 'vitest';
import { agentChunks } from '../support/agent-chunks.ts';

describe('what a board without a family does not load', () => {
  it('a board without the firmware family does not load the protocol, only the service-URL schema', async () => {
    const { familySources } = await agentChunks();
    for (const family of ['delivery', 'omadm']) {
      expect(familySources[family]!.has('agent/firmware/config.ts'), family).toBe(true);
      expect(familySources[family]!.has('agent/firmware/service-urls.ts'), family).toBe(true);
      expect(familySources[family]!.has('agent/firmware/messages.ts'), family).toBe(false);
    }
    expect(familySources.firmware!.has('agent/firmware/messages.ts')).toBe(true);
  });

  it('a board without the pull-model family does not load its redirect tracker (the delivery config, which every board parses, reads only its default)', async () => {
    const { familySources } = await agentChunks();
    for (const family of ['firmware', 'omadm']) {
      expect(familySources[family]!.has('agent/delivery/config.ts'), family).toBe(true);
      expect(familySources[family]!.has('agent/delivery/redirect-tracker.ts'), family).toBe(false);
    }
    expect(familySources.delivery!.has('agent/delivery/redirect-tracker.ts')).toBe(true);
  });
});
