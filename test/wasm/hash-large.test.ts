/**
 * Large input with bounded memory: 1 GiB streamed through the WASM engine in 4 MiB chunks (one
 * reused buffer, so the only memory that could grow is the engine's). The JS engine (noble, ~10×
 * slower) gets 128 MiB to keep the suite's runtime reasonable on two cores.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../agent/util/bytes.ts';
import type { Engines } from '../../wasm/index.ts';
import { engines } from './engines.ts';

const MiB = 1024 * 1024;
const CHUNK = 4 * MiB;

function streamAndCompare(e: Engines, total: number): { rssGrowth: number } {
  const buffer = new Uint8Array(CHUNK).map((_, i) => (i * 2654435761) >>> 24);
  const ours = e.createHash('sha256');
  const theirs = createHash('sha256');
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  for (let offset = 0, n = 0; offset < total; offset += CHUNK, n++) {
    // Vary the content per chunk without allocating.
    buffer[n % CHUNK] = n & 0xff;
    buffer[(n * 7919) % CHUNK] = (n >> 8) & 0xff;
    ours.update(buffer);
    theirs.update(buffer);
    if (n % 16 === 0) rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }
  expect(ours.bytesHashed).toBe(total);
  expect(toHex(ours.digest())).toBe(theirs.digest('hex'));
  return { rssGrowth: rssPeak - rssBefore };
}

describe('large input, bounded memory', () => {
  it('wasm: 1 GiB in 4 MiB chunks, digest equals node:crypto, RSS grows < 32 MiB', async () => {
    const { rssGrowth } = streamAndCompare(await engines('wasm'), 1024 * MiB);
    expect(rssGrowth).toBeLessThan(32 * MiB);
  }, 120_000);

  it('js: 128 MiB (smaller: noble is ~10× slower) in 4 MiB chunks, RSS grows < 32 MiB', async () => {
    const { rssGrowth } = streamAndCompare(await engines('js'), 128 * MiB);
    expect(rssGrowth).toBeLessThan(32 * MiB);
  }, 120_000);
});
