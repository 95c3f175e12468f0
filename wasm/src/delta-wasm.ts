/**
 * The WASM engine's delta primitives over the `delta` module (wasm/assembly/delta.ts). Inputs are
 * written straight into module memory (the driver reads the sections into the views `prepare`
 * returns, and the source ranges `scan` lists into the held region), so a window costs no extra
 * copy; the target is returned as a view of module memory, valid until the next run.
 */
import { BZ_STATUS, bzip2BlockBound, bzip2Error, type Bzip2Block } from './bzip2.ts';
import { VCDIFF_STATUS, type BsdiffAddEngine, type DeltaEngine, type SparseWindowEngine } from './delta-types.ts';
import { DeltaError } from './delta-types.ts';
import type { DeltaExports } from './delta-exports.ts';

export { asDeltaExports, type DeltaExports } from './delta-exports.ts';

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
