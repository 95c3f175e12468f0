/**
 * Property: whatever the network does (resets, early closes, stalls at random points, any chunk
 * size) and wherever the power goes out, the download ends with exactly the artifact in the
 * sink and a verified digest, within its attempt and byte bounds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MockFault } from '../../hal/mock/net.ts';
import { Rig, stagingContent } from './rig.ts';

const faultArbitrary = (size: number) =>
  fc.oneof(
    fc.record({ kind: fc.constant('reset' as const), afterBytes: fc.nat(size) }),
    fc.record({ kind: fc.constant('partialBody' as const), bytes: fc.nat(size) }),
    fc.record({ kind: fc.constant('stall' as const), afterBytes: fc.nat(size) }),
    fc.record({ kind: fc.constant('status' as const), status: fc.constantFrom(500, 502, 503) }),
  );

const scenario = fc.integer({ min: 0, max: 12_000 }).chain((size) =>
  fc.record({
    size: fc.constant(size),
    seed: fc.integer({ min: 1, max: 2 ** 31 }),
    chunkSize: fc.integer({ min: 64, max: 4096 }),
    checkpointBytes: fc.integer({ min: 1, max: 8000 }),
    faults: fc.array(faultArbitrary(size), { maxLength: 4 }),
    ignoreRange: fc.boolean(),
    /** Cut power at this staging operation (if the run gets that far), then reboot and resume. */
    cutAt: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
  }),
);

describe('download property', () => {
  it('random artifacts, chunkings, faults and power cuts always end with the exact artifact', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const rig = new Rig({ size: s.size, seed: s.seed, chunkSize: s.chunkSize });
        rig.server.ignoreRange = s.ignoreRange;
        for (const fault of s.faults) rig.network.fault({ ...(fault as MockFault), url: '/artifacts/' });
        // Every fault costs at most one attempt; a restart (200 to a range) costs none.
        const limits = { checkpointBytes: s.checkpointBytes, maxAttempts: s.faults.length + 2, byteBudget: (s.size + 1) * (s.faults.length + 2) * 2 };

        const sink = await rig.openStaging(false);
        if (s.cutAt !== undefined) rig.hw.power.cutAfter(s.cutAt);
        let result = await rig.run(sink, limits).catch((error: unknown) => {
          expect(error).toMatchObject({ code: 'powerCut' });
          return undefined;
        });
        rig.hw.power.cancel();
        if (result === undefined) {
          rig.reboot();
          const saved = rig.lastCheckpoint;
          const resumed = await rig.openStaging(saved !== undefined);
          result = await rig.run(resumed, { ...limits, ...(saved ? { resumeFrom: saved } : {}) });
        }
        expect(result).toMatchObject({ ok: true });
        expect(result.attempts).toBeLessThanOrEqual(limits.maxAttempts);
        expect(result.bytesTransferred).toBeLessThanOrEqual(limits.byteBudget);
        expect(await stagingContent(rig)).toEqual(rig.artifact);
      }),
      { numRuns: 60 },
    );
  });
});
