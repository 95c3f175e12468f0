/**
 * Node file plumbing for delta apply (CLI, tests, benchmarks): a RangeReader over an open file
 * and a sink that appends to one. Node-only, like wasm/node-host.ts.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { DeltaSink, RangeReader } from './index.ts';

export interface OpenDeltaFile {
  readonly read: RangeReader;
  readonly size: number;
  close(): Promise<void>;
}

/**
 * Random-access reads of `path` into one reused buffer: the bytes returned are valid until the
 * next read (the delta drivers copy them at once), so a 64 MiB apply does not leave megabytes of
 * garbage per window behind.
 */
export async function openRangeFile(path: string): Promise<OpenDeltaFile> {
  const handle = await open(path, 'r');
  const { size } = await handle.stat();
  let buffer = new Uint8Array(0);
  return {
    size,
    async read(offset, length) {
      const want = Math.max(0, Math.min(length, size - offset));
      if (want === 0) return new Uint8Array(0);
      if (buffer.length < want) buffer = new Uint8Array(want);
      let at = 0;
      while (at < want) {
        const { bytesRead } = await handle.read(buffer, at, want - at, offset + at);
        if (bytesRead === 0) break;
        at += bytesRead;
      }
      return buffer.subarray(0, at);
    },
    close: () => handle.close(),
  };
}

/** Appends every chunk to an open file (written before the promise settles, so views are safe). */
export function fileSink(handle: FileHandle): DeltaSink {
  return async (chunk) => {
    let at = 0;
    while (at < chunk.length) {
      const { bytesWritten } = await handle.write(chunk, at, chunk.length - at);
      at += bytesWritten;
    }
  };
}
