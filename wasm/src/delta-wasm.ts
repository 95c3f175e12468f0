/**
 * The WASM engine's delta primitives over the `delta` module (wasm/assembly/delta.ts). Inputs are
 * written straight into module memory (the driver reads the sections into the views `prepare`
 * returns, and the source ranges `scan` lists into the held region), so a window costs no extra
 * copy; the target is returned as a view of module memory, valid until the next run.
 */
import { BZ_STATUS, bzip2BlockBound, bzip2Error, type Bzip2Block } from './bzip2.ts';
import { VCDIFF_STATUS, type BsdiffAddEngine, type DeltaEngine, type SparseWindowEngine } from './delta-types.ts';
import { DeltaError } from './delta-types.ts';

export interface DeltaExports {
  memory: { buffer: ArrayBuffer };
  beginVcdiff(): void;
  prepare(s: number, d: number, i: number, a: number, t: number, keep?: number): number;
  scan(): number;
  rangesPtr(): number;
  rangeCount(): number;
  heldPtr(): number;
  heldBytes(): number;
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
  beginBsdiff(): number;
  bzSlot(slot: number, blockMax: number, scratch: number): number;
  bzScratch(n: number): number;
  bzDecode(slot: number, inLen: number, bits: number, live: number, blockMax: number, origPtr: number): number;
  bzProduce(slot: number, out: number, n: number): number;
  bzDone(slot: number): number;
  bzCrc(slot: number): number;
  bzBits(): number;
  bzLive(): number;
  bzUsed(): number;
}

const FUNCTIONS = ['beginVcdiff', 'prepare', 'scan', 'rangesPtr', 'rangeCount', 'heldPtr', 'heldBytes', 'dataPtr', 'instPtr', 'addrPtr', 'tgtPtr', 'run', 'adler32', 'prepareAdd', 'addDiffPtr', 'addOldPtr', 'add', 'crc32', 'beginBsdiff', 'bzSlot', 'bzScratch', 'bzDecode', 'bzProduce', 'bzDone', 'bzCrc', 'bzBits', 'bzLive', 'bzUsed'] as const;

export function asDeltaExports(exports: Record<string, unknown>): DeltaExports {
  const memory = exports['memory'] as { buffer?: unknown } | undefined;
  if (!memory || !(memory.buffer instanceof ArrayBuffer)) throw new TypeError('delta module exports no memory');
  for (const name of FUNCTIONS) if (typeof exports[name] !== 'function') throw new TypeError(`delta module lacks ${name}()`);
  return exports as unknown as DeltaExports;
}

/** One instance is shared by every apply of an Engines object: applies must not interleave. */
export function createWasmDelta(x: DeltaExports): DeltaEngine {
  let targetLength = 0;
  let lastLength = 0;
  const windows: SparseWindowEngine = {
    sparse: true,
    prepare(s, d, i, a, t, keep) {
      if (x.prepare(s, d, i, a, t, keep ? 1 : 0) !== VCDIFF_STATUS.ok) throw new DeltaError('windowTooLarge', `VCDIFF window of ${s + d + i + a + t} bytes does not fit WASM memory`);
      if (!keep) lastLength = 0;
      targetLength = t;
      const buffer = x.memory.buffer;
      return {
        data: new Uint8Array(buffer, x.dataPtr(), d),
        inst: new Uint8Array(buffer, x.instPtr(), i),
        addr: new Uint8Array(buffer, x.addrPtr(), a),
      };
    },
    scan() {
      const status = x.scan();
      if (status === VCDIFF_STATUS.outOfMemory) throw new DeltaError('windowTooLarge', 'VCDIFF window source ranges do not fit WASM memory');
      if (status !== VCDIFF_STATUS.ok) return status;
      const buffer = x.memory.buffer;
      // Module memory is little-endian whatever the host is: read the table through a DataView.
      const table = new DataView(buffer, x.rangesPtr(), x.rangeCount() * 12);
      const ranges = new Uint32Array(table.byteLength / 4);
      for (let k = 0; k < ranges.length; k++) ranges[k] = table.getUint32(k * 4, true);
      return { ranges, held: new Uint8Array(buffer, x.heldPtr(), x.heldBytes()) };
    },
    run() {
      const status = x.run();
      if (status !== VCDIFF_STATUS.ok) return status;
      lastLength = targetLength;
      return new Uint8Array(x.memory.buffer, x.tgtPtr(), targetLength);
    },
    // A new view: prepare and scan may grow the memory, which detaches the views taken before.
    previous: () => new Uint8Array(x.memory.buffer, x.tgtPtr(), lastLength),
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
    blocks: (stream) => new WasmBzip2Block(x, stream),
  };
  return {
    vcdiff: () => {
      x.beginVcdiff();
      lastLength = 0;
      return windows;
    },
    bsdiff: () => {
      if (x.beginBsdiff() !== VCDIFF_STATUS.ok) throw new DeltaError('windowTooLarge', 'bsdiff buffers do not fit WASM memory');
      return adder;
    },
  };
}

/**
 * One bsdiff stream's blocks decoded in module memory (wasm/assembly/delta-bzip2.ts): the block's
 * compressed bytes are copied in once; output goes straight into `into` when it is module memory
 * (the diff and extra chunks), through the scratch region otherwise (control triples).
 */
class WasmBzip2Block implements Bzip2Block {
  used = 0;
  bits = 0;
  live = 0;
  private blockMax = 0;

  constructor(
    private readonly x: DeltaExports,
    private readonly slot: number,
  ) {}

  start(blockMax: number): void {
    this.blockMax = blockMax;
    const status = this.x.bzSlot(this.slot, blockMax, Math.max(bzip2BlockBound(blockMax), 4096));
    if (status !== BZ_STATUS.ok) throw bzip2Error(status);
  }

  decode(input: Uint8Array, bits: number, live: number, origPtr: number): void {
    const x = this.x;
    const at = x.bzScratch(input.length);
    if (at === 0) throw bzip2Error(BZ_STATUS.outOfMemory);
    new Uint8Array(x.memory.buffer, at, input.length).set(input);
    const status = x.bzDecode(this.slot, input.length, bits, live, this.blockMax, origPtr);
    if (status !== BZ_STATUS.ok) throw bzip2Error(status);
    this.used = x.bzUsed();
    this.bits = x.bzBits() >>> 0;
    this.live = x.bzLive();
  }

  produce(into: Uint8Array, at: number): number {
    const x = this.x;
    if (into.buffer === x.memory.buffer) return at + x.bzProduce(this.slot, into.byteOffset + at, into.length - at);
    const n = Math.min(into.length - at, 4096); // the scratch reserved is at least that
    const scratch = x.bzScratch(n);
    if (scratch === 0) throw bzip2Error(BZ_STATUS.outOfMemory);
    const k = x.bzProduce(this.slot, scratch, n);
    into.set(new Uint8Array(x.memory.buffer, scratch, k), at);
    return at + k;
  }

  done(): boolean {
    return this.x.bzDone(this.slot) !== 0;
  }

  blockCrc(): number {
    return this.x.bzCrc(this.slot) >>> 0;
  }
}
