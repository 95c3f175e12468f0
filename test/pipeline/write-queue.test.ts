/**
 * The download's write queue (agent/pipeline/write-queue.ts): batches of small network chunks are
 * copied into at most depth + 1 reused buffers of one chunk each (issue 12: a fresh buffer per
 * batch was garbage only a collection returns), except below the default chunk (the small QuickJS
 * board), where no buffer is kept between batches (issue 16); what reaches the sink is still
 * exactly the stream, in order, whatever the chunk sizes.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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
    const chunkBytes = 64 * 1024;
    const depth = 3;
    const queue = new WriteQueue(sink, chunkBytes, depth);
    const stream = new Uint8Array(600_000).map((_, i) => (i * 31 + (i >> 8)) & 0xff);
    const sent = new Set<ArrayBufferLike>();
    for (let at = 0; at < stream.length; ) {
      const length = Math.min(stream.length - at, 1 + Math.floor(random() * 20_000));
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
    expect(writes.length).toBeLessThan(600_000 / 10_000); // batched, not one write per chunk
  });

  it('below the default chunk, keeps no batch buffer once the sink has written it', async () => {
    const { sink, writes, content } = recordingSink(async () => undefined);
    const queue = new WriteQueue(sink, 8192, 1);
    const stream = new Uint8Array(40_000).map((_, i) => (i * 7) & 0xff);
    for (let at = 0; at < stream.length; at += 1000) {
      queue.add(at, stream.slice(at, at + 1000)); // socket reads much smaller than a chunk
      await queue.room();
    }
    await queue.drain();
    expect(content()).toEqual(stream);
    expect(writes.length).toBe(5); // batched all the same: 8 reads a batch
    const batches = writes.map((w) => new WeakRef(w.buffer));
    writes.length = 0;
    await new Promise((resolve) => setTimeout(resolve, 0)); // WeakRef targets are kept through the current job
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    expect(batches.filter((b) => b.deref() !== undefined)).toHaveLength(0);
    expect(queue).toBeDefined(); // the queue itself is alive: it kept none of them
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

  it('writes a batch as soon as another chunk of its size would not fit, not after the next read', async () => {
    const { sink, writes } = recordingSink(async () => undefined);
    const queue = new WriteQueue(sink, 8192, 1);
    queue.add(0, new Uint8Array(3000));
    await queue.room();
    expect(writes).toEqual([]); // 3000 more would still fit: batched
    queue.add(3000, new Uint8Array(3000));
    await queue.room();
    // 6000 + 3000 > 8192: written now, while the network reads the next chunk.
    expect(writes.map((w) => [w.offset, w.length])).toEqual([[0, 6000]]);
    queue.add(6000, new Uint8Array(7897)); // a short socket read of an 8 KiB chunk
    await queue.room();
    expect(writes.map((w) => [w.offset, w.length])).toEqual([[0, 6000], [6000, 7897]]);
    await queue.drain();
  });

  it('keeps no reference to a chunk once the sink has it, while its write is in flight', async () => {
    // A sink that copies at once (as the QuickJS bridge does) and settles later.
    let settle = () => {};
    const sink = {
      location: 'memory',
      write: (_offset: number, bytes: Uint8Array) => {
        bytes.slice();
        return new Promise<void>((resolve) => (settle = resolve));
      },
    } as unknown as SinkHandle;
    const queue = new WriteQueue(sink, 8192, 1);
    const sent = (() => {
      const chunk = new Uint8Array(8192);
      queue.add(0, chunk);
      return new WeakRef(chunk);
    })();
    await new Promise((resolve) => setTimeout(resolve, 0)); // the write is called; WeakRef targets are kept through the current job
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    expect(sent.deref()).toBeUndefined();
    settle();
    await queue.drain();
  });

  it('starts a write at once when none is in flight, so the sink has the chunk before the producer awaits', async () => {
    const calls: number[] = [];
    let settle = () => {};
    const sink = {
      location: 'memory',
      write: (offset: number) => {
        calls.push(offset);
        return new Promise<void>((resolve) => (settle = resolve));
      },
    } as unknown as SinkHandle;
    const queue = new WriteQueue(sink, 8192, 1);
    queue.add(0, new Uint8Array(8192));
    expect(calls).toEqual([0]); // no microtask in between: the producer's job ends without the chunk
    const room = queue.room();
    settle();
    await room;
    queue.add(8192, new Uint8Array(8192));
    expect(calls).toEqual([0, 8192]);
    settle();
    await queue.drain();
  });
});
