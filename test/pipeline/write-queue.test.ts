/**
 * The download's write queue (agent/pipeline/write-queue.ts): batches of small network chunks are
 * copied into at most depth + 1 reused buffers of one chunk each (issue 12: a fresh buffer per
 * batch was garbage only a collection returns), and what reaches the sink is still exactly the
 * stream, in order, whatever the chunk sizes.
 */
import { describe, expect, it } from 'vitest';
import { WriteQueue } from '../../agent/pipeline/write-queue.ts';
import type { SinkHandle } from '../../agent/pipeline/sinks.ts';
import { prng } from '../store/workload.ts';

function recordingSink(delay: () => Promise<void>) {
  const writes: { offset: number; length: number; buffer: ArrayBufferLike }[] = [];
  let content = new Uint8Array(0);
  const sink = {
    location: 'memory',
    async write(offset: number, bytes: Uint8Array) {
      await delay(); // the caller must not touch `bytes` while this write is pending
      if (offset + bytes.length > content.length) {
        const grown = new Uint8Array(offset + bytes.length);
        grown.set(content);
        content = grown;
      }
      content.set(bytes, offset);
      writes.push({ offset, length: bytes.length, buffer: bytes.buffer });
    },
  } as unknown as SinkHandle;
  return { sink, writes, content: () => content };
}

describe('WriteQueue', () => {
  it('writes the stream exactly, in batches of at most a chunk, reusing at most depth + 1 buffers', async () => {
    const random = prng(7);
    const { sink, writes, content } = recordingSink(() => new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 3))));
    const chunkBytes = 4096;
    const depth = 3;
    const queue = new WriteQueue(sink, chunkBytes, depth);
    const stream = new Uint8Array(300_000).map((_, i) => (i * 31 + (i >> 8)) & 0xff);
    const sent = new Set<ArrayBufferLike>();
    for (let at = 0; at < stream.length; ) {
      const length = Math.min(stream.length - at, 1 + Math.floor(random() * 3000));
      const chunk = stream.slice(at, at + length); // a fresh buffer, as a socket read is
      sent.add(chunk.buffer);
      queue.add(at, chunk);
      at += length;
      await queue.room();
    }
    await queue.drain();
    expect(content()).toEqual(stream);
    expect(writes.every((w) => w.length <= chunkBytes)).toBe(true);
    // Multi-chunk batches came from the queue's own buffers, and only depth + 1 of them existed.
    const own = new Set(writes.map((w) => w.buffer).filter((buffer) => !sent.has(buffer)));
    expect(own.size).toBeGreaterThan(0);
    expect(own.size).toBeLessThanOrEqual(depth + 1);
    expect(writes.length).toBeLessThan(300_000 / 1500); // batched, not one write per chunk
  });

  it('writes a network chunk longer than a chunk as it is, without copying it', async () => {
    const { sink, writes, content } = recordingSink(async () => undefined);
    const queue = new WriteQueue(sink, 1024, 2);
    const small = new Uint8Array(100).fill(1);
    const big = new Uint8Array(5000).fill(2);
    queue.add(0, small);
    await queue.room();
    queue.add(100, big);
    await queue.drain();
    expect(writes.map((w) => [w.offset, w.length])).toEqual([[0, 100], [100, 5000]]);
    expect(writes[1]!.buffer).toBe(big.buffer);
    expect(content().subarray(100)).toEqual(big);
  });
});
