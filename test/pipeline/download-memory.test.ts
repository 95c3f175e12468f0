/**
 * What a download keeps at its final checkpoint (agent/pipeline/download.ts): the store write of
 * that checkpoint is the small QuickJS board's peak of a download, so by then the run has let go
 * of the response it streamed (its headers, body and the bridge's proxies of its methods) and of
 * the hash whose digest it took (issue 16).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { download } from '../../agent/pipeline/download.ts';
import type { HttpClient } from '../../hal/types.ts';
import { Rig } from './rig.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('download memory', () => {
  it('holds neither the response nor the hash at its final checkpoint', async () => {
    const rig = new Rig({ size: 20_000 });
    const responses: WeakRef<object>[] = [];
    const hashes: WeakRef<object>[] = [];
    const inner = rig.device.net.http;
    const http: HttpClient = {
      request: async (request) => {
        const response = await inner.request(request);
        responses.push(new WeakRef(response));
        return response;
      },
    };
    const hasher = {
      create: (state?: Uint8Array) => {
        const hash = rig.hasher.create(state);
        hashes.push(new WeakRef(hash));
        return hash;
      },
    };
    const alive: { response: boolean; hash: boolean }[] = [];
    const result = await download(
      rig.options(await rig.openStaging(false), {
        http,
        hasher,
        // Only the final checkpoint: the whole artifact is below one interval.
        checkpointBytes: 1 << 20,
        checkpoint: async (progress) => {
          rig.checkpoints.push(progress);
          await new Promise((resolve) => setTimeout(resolve, 0)); // WeakRef targets are kept through the current job
          gc();
          alive.push({ response: responses.some((r) => r.deref() !== undefined), hash: hashes.some((h) => h.deref() !== undefined) });
        },
      }),
    );
    expect(result).toMatchObject({ ok: true, attempts: 1 });
    expect(rig.checkpoints.map((c) => c.offset)).toEqual([20_000]);
    expect(responses).toHaveLength(1);
    expect(hashes).toHaveLength(1);
    expect(alive).toEqual([{ response: false, hash: false }]);
  });
});
