/**
 * Engines with the host's digest engine (what the agent loads where `device.digest` exists) hash
 * the result of a delta apply natively, with the same digest, and still share one apply queue.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createNodeDigestHost } from '../../hal/node/digest.ts';
import type { DigestHost } from '../../hal/types.ts';
import { loadEngines } from '../../wasm/index.ts';
import { createNodeWasmHost } from '../../wasm/node-host.ts';
import { CONFORMANCE_DIR, memoryReader } from './support.ts';

const BSDIFF = join(CONFORMANCE_DIR, 'bsdiff', 'zhuyie-bsdiff-simple');

function countingHost(): { host: DigestHost; hashed: () => number } {
  const real = createNodeDigestHost();
  let bytes = 0;
  return {
    hashed: () => bytes,
    host: {
      ...real,
      createHash(algorithm) {
        const hash = real.createHash(algorithm);
        return {
          update: (chunk) => {
            bytes += chunk.length;
            hash.update(chunk);
          },
          digest: () => hash.digest(),
        };
      },
    },
  };
}

describe.each(['wasm', 'js'] as const)('delta apply on native-hash engines (%s decoder)', (decoder) => {
  it('hashes the output with the host digest engine, same digest', async () => {
    const { host, hashed } = countingHost();
    const engines = await loadEngines({ ...(decoder === 'wasm' ? { wasm: createNodeWasmHost() } : {}), native: host, engine: 'auto' });
    expect(engines.kind).toBe('native');
    const source = new Uint8Array(readFileSync(join(BSDIFF, 'v1')));
    const patch = new Uint8Array(readFileSync(join(BSDIFF, 'v1_v2.patch')));
    const expected = createHash('sha256').update(readFileSync(join(BSDIFF, 'v2'))).digest('hex');
    const [a, b] = await Promise.all([0, 1].map(() => engines.applyDelta(memoryReader(source), memoryReader(patch), () => undefined)));
    for (const result of [a, b]) expect(Buffer.from(result!.sha256).toString('hex')).toBe(expected);
    expect(hashed()).toBe(2 * a!.bytesWritten);
  });
});
