/**
 * sha256 and md5 throughput: 64 MiB fed in 1 MiB chunks (a download's shape) to our WASM engine
 * and to each peer in the same process. MB/s with MB = 10^6 bytes.
 */
import { createHash } from 'node:crypto';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { createMD5, createSHA256 } from 'hash-wasm';
import type { Engines, HashAlgorithm } from '../wasm/index.ts';
import { measure, prng, type Contender } from './lib.ts';

export const HASH_BYTES = 64 * 1024 * 1024;
const CHUNK = 1024 * 1024;

export interface HashResult {
  name: HashAlgorithm;
  value: number;
  peers: Record<string, number>;
}

function makeData(): Uint8Array {
  const random = prng(0x5eed);
  const data = new Uint8Array(HASH_BYTES);
  const words = new Uint32Array(data.buffer);
  for (let i = 0; i < words.length; i++) words[i] = (random() * 0x1_0000_0000) >>> 0;
  return data;
}

function chunked(data: Uint8Array, update: (chunk: Uint8Array) => void): void {
  for (let offset = 0; offset < data.length; offset += CHUNK) update(data.subarray(offset, offset + CHUNK));
}

function ours(engines: Engines, algorithm: HashAlgorithm, data: Uint8Array): () => Uint8Array {
  return () => {
    const hash = engines.createHash(algorithm);
    chunked(data, (chunk) => hash.update(chunk));
    return hash.digest();
  };
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export async function benchHashes(engines: { wasm: Engines; scalar: Engines; js: Engines }, rounds: number): Promise<HashResult[]> {
  const data = makeData();
  const wasmSha = await createSHA256();
  const wasmMd5 = await createMD5();
  const suites: Record<HashAlgorithm, Contender[]> = {
    sha256: [
      { name: 'ours', run: ours(engines.wasm, 'sha256', data) },
      { name: 'node:crypto', run: () => { const h = createHash('sha256'); chunked(data, (c) => h.update(c)); return h.digest(); } },
      { name: 'hash-wasm', run: () => { wasmSha.init(); chunked(data, (c) => wasmSha.update(c)); return wasmSha.digest('binary'); } },
      { name: '@noble/hashes', run: () => { const h = nobleSha256.create(); chunked(data, (c) => h.update(c)); return h.digest(); } },
      { name: 'sha256-js', run: ours(engines.js, 'sha256', data) },
      { name: 'sha256-wasm-scalar', run: ours(engines.scalar, 'sha256', data) },
    ],
    md5: [
      { name: 'ours', run: ours(engines.wasm, 'md5', data) },
      { name: 'node:crypto', run: () => { const h = createHash('md5'); chunked(data, (c) => h.update(c)); return h.digest(); } },
      { name: 'hash-wasm', run: () => { wasmMd5.init(); chunked(data, (c) => wasmMd5.update(c)); return wasmMd5.digest('binary'); } },
      { name: 'md5-js', run: ours(engines.js, 'md5', data) },
    ],
  };
  const results: HashResult[] = [];
  for (const algorithm of ['sha256', 'md5'] as const) {
    const contenders = suites[algorithm];
    // Same digest from everyone, checked once outside the timing.
    const expected = createHash(algorithm).update(data).digest('hex');
    for (const contender of contenders) {
      const got = toHex(contender.run() as Uint8Array);
      if (got !== expected) throw new Error(`${algorithm}: ${contender.name} computed ${got}, expected ${expected}`);
    }
    const measured = measure(contenders, { rounds, warmups: 1 });
    const mbps = (ms: number) => HASH_BYTES / 1e6 / (ms / 1000);
    const [first, ...rest] = measured;
    results.push({
      name: algorithm,
      value: mbps((first as (typeof measured)[number]).median),
      peers: Object.fromEntries(rest.map((m) => [m.name, mbps(m.median)])),
    });
  }
  return results;
}
