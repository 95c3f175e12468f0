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
 * garbage per window behind. `readInto` reads straight into the caller's memory (the engine's:
 * no copy, and the reused buffer stays small); calls may overlap (positioned reads).
 */
export async function openRangeFile(path: string): Promise<OpenDeltaFile> {
  const handle = await open(path, 'r');
  const { size } = await handle.stat();
  let buffer = new Uint8Array(0);
  const readAt = async (into: Uint8Array, offset: number): Promise<number> => {
    const want = Math.max(0, Math.min(into.length, size - offset));
    let at = 0;
    while (at < want) {
      const { bytesRead } = await handle.read(into, at, want - at, offset + at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return at;
  };
  const read = async (offset: number, length: number): Promise<Uint8Array> => {
    const want = Math.max(0, Math.min(length, size - offset));
    if (want === 0) return new Uint8Array(0);
    if (buffer.length < want) buffer = new Uint8Array(want);
    return buffer.subarray(0, await readAt(buffer.subarray(0, want), offset));
  };
  return {
    size,
    read: Object.assign(read, { readInto: (offset: number, into: Uint8Array) => readAt(into, offset) }),
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
