/**
 * The WASM engine's delta primitives over the `delta` module (wasm/assembly/delta.ts). Inputs are
 * written straight into module memory (the driver reads the source segment and the sections into
 * the views `prepare` returns), so a window costs no extra copy; the target is returned as a view
 * of module memory, valid until the next prepare.
 */
import { bzip2Crc } from './bzip2.ts';
import { VCDIFF_STATUS, type BsdiffAddEngine, type DeltaEngine, type VcdiffWindowEngine } from './delta-types.ts';
import { DeltaError } from './delta-types.ts';

export interface DeltaExports {
  memory: { buffer: ArrayBuffer };
  prepare(s: number, d: number, i: number, a: number, t: number): number;
  srcPtr(): number;
  dataPtr(): number;
  instPtr(): number;
  addrPtr(): number;
  tgtPtr(): number;
  run(): number;
  adler32(): number;
  prepareAdd(n: number): number;
  addDiffPtr(): number;
  addOldPtr(n: number): number;
  add(n: number): void;
  crc32(p: number, n: number, crc: number): number;
}

const FUNCTIONS = ['prepare', 'srcPtr', 'dataPtr', 'instPtr', 'addrPtr', 'tgtPtr', 'run', 'adler32', 'prepareAdd', 'addDiffPtr', 'addOldPtr', 'add', 'crc32'] as const;

export function asDeltaExports(exports: Record<string, unknown>): DeltaExports {
  const memory = exports['memory'] as { buffer?: unknown } | undefined;
  if (!memory || !(memory.buffer instanceof ArrayBuffer)) throw new TypeError('delta module exports no memory');
  for (const name of FUNCTIONS) if (typeof exports[name] !== 'function') throw new TypeError(`delta module lacks ${name}()`);
  return exports as unknown as DeltaExports;
}

/** One instance is shared by every apply of an Engines object: applies must not interleave. */
export function createWasmDelta(x: DeltaExports): DeltaEngine {
  let targetLength = 0;
  const windows: VcdiffWindowEngine = {
    prepare(s, d, i, a, t) {
      if (x.prepare(s, d, i, a, t) !== VCDIFF_STATUS.ok) throw new DeltaError('windowTooLarge', `VCDIFF window of ${s + d + i + a + t} bytes does not fit WASM memory`);
      targetLength = t;
      const buffer = x.memory.buffer;
      return {
        source: new Uint8Array(buffer, x.srcPtr(), s),
        data: new Uint8Array(buffer, x.dataPtr(), d),
        inst: new Uint8Array(buffer, x.instPtr(), i),
        addr: new Uint8Array(buffer, x.addrPtr(), a),
      };
    },
    run() {
      const status = x.run();
      return status === VCDIFF_STATUS.ok ? new Uint8Array(x.memory.buffer, x.tgtPtr(), targetLength) : status;
    },
    adler32: () => x.adler32() >>> 0,
  };
  const adder: BsdiffAddEngine = {
    prepare(n) {
      if (x.prepareAdd(n) !== VCDIFF_STATUS.ok) throw new DeltaError('windowTooLarge', `bsdiff chunk of ${n} bytes does not fit WASM memory`);
      return { diff: new Uint8Array(x.memory.buffer, x.addDiffPtr(), n), old: new Uint8Array(x.memory.buffer, x.addOldPtr(n), n) };
    },
    add(n) {
      x.add(n);
      return new Uint8Array(x.memory.buffer, x.addDiffPtr(), n);
    },
    // In place when the bytes are module memory (diff and extra blocks); control triples are not.
    crc: (bytes, crc) => (bytes.buffer === x.memory.buffer ? x.crc32(bytes.byteOffset, bytes.length, crc) >>> 0 : bzip2Crc(bytes, crc)),
  };
  return { vcdiff: () => windows, bsdiff: () => adder };
}
