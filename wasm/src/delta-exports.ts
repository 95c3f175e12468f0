/**
 * The `delta` module's exports, checked when the WASM engines load (a module that lacks one fails
 * the load, and 'auto' falls back to JS), while the code that drives them (./delta-wasm.ts, with
 * the bzip2 plumbing) is a chunk loaded at the first apply, like the format readers.
 */
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
