/** The outbox (agent/outbox): persisted, in order, at least once with backoff, across reboots, bounded. */
import { describe, expect, it } from 'vitest';
import { Outbox, type OutboxEntry } from '../../agent/outbox/outbox.ts';
import { RetryLaterError } from '../../agent/util/retry.ts';
import { newMedium } from '../store/workload.ts';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function outboxOn(store: Awaited<ReturnType<ReturnType<typeof newMedium>['open']>>, now: { t: number }, maxEntries?: number) {
  const outbox = new Outbox({ store, clock: { utcMs: () => now.t }, log: silent, random01: () => 0, ...(maxEntries ? { maxEntries } : {}), backoff: { initialMs: 1000, maxMs: 8000, factor: 2 } });
  outbox.declare('fam', 'fam/');
  return outbox;
}

describe('outbox', () => {
  it('delivers in order, keeps what failed with a growing backoff, and survives a reboot', async () => {
    const medium = newMedium();
    const now = { t: 1_000_000 };
    let store = await medium.open();
    let outbox = outboxOn(store, now);
    for (const id of ['r1', 'r2', 'r3']) await outbox.enqueue('fam', { id, kind: 'status', body: { id } });
    const sent: string[] = [];
    let up = false;
    const transport = async (entry: OutboxEntry) => {
      if (!up) throw new RetryLaterError('server down');
      sent.push(entry.id);
    };
    outbox.register('fam', transport);
    expect(await outbox.flush('fam')).toEqual({ delivered: 0, refused: 0, pending: 3 });
    expect(outbox.pending('fam')[0]).toMatchObject({ id: 'r1', attempts: 1, nextUtcMs: now.t + 500 }); // equal jitter: [delay/2, delay)
    now.t += 400;
    expect((await outbox.flush('fam')).delivered).toBe(0); // still backing off: nothing sent
    now.t += 200;
    await outbox.flush('fam');
    expect(outbox.pending('fam')[0]).toMatchObject({ attempts: 2, nextUtcMs: now.t + 1000 });

    // Reboot: the queue is in the store.
    await store.close();
    store = await medium.open();
    outbox = outboxOn(store, now);
    outbox.register('fam', transport);
    up = true;
    expect(await outbox.flush('fam', { force: true })).toEqual({ delivered: 3, refused: 0, pending: 0 });
    expect(sent).toEqual(['r1', 'r2', 'r3']);
    // New entries after the reboot keep the order.
    await outbox.enqueue('fam', { id: 'r4', kind: 'status', body: {} });
    await outbox.flush('fam');
    expect(sent).toEqual(['r1', 'r2', 'r3', 'r4']);
  });

  it('drops an entry the server refuses for good, and the oldest when full', async () => {
    const medium = newMedium();
    const now = { t: 0 };
    const store = await medium.open();
    const outbox = outboxOn(store, now, 3);
    for (const id of ['a', 'b', 'c', 'd']) await outbox.enqueue('fam', { id, kind: 'k', body: {} });
    expect(outbox.pending('fam').map((e) => e.id)).toEqual(['b', 'c', 'd']);
    const sent: string[] = [];
    outbox.register('fam', async (entry) => {
      if (entry.id === 'b') throw Object.assign(new Error('bad report'), { retryable: false });
      sent.push(entry.id);
    });
    expect(await outbox.flush('fam')).toEqual({ delivered: 2, refused: 1, pending: 0 });
    expect(sent).toEqual(['c', 'd']);
  });
});
