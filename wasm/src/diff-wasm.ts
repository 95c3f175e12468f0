/**
 * The WASM engine's diff: validates in JS, ships only the names into the diff module
 * (wasm/assembly/diff.ts), which sorts and merges them, and builds the plan from the index lists
 * it returns. Version and digest comparison of matched pairs stays in JS (isUpgrade).
 *
 * Marshalling is most of the cost, so names go in with as little JS work per name as possible:
 * the names of a side are concatenated CHUNK at a time (native) and each chunk is written by one
 * TextEncoder.encodeInto call (native); the module gets their UTF-16 lengths. (One join of all
 * 100 000 names measured 20–30 ms per side here, chunks of 256 about a third of that: the big join
 * goes through a slow runtime path and a multi-megabyte temporary.) For pure ASCII (detected for
 * free: bytes written = units read) those are the byte lengths; otherwise the module walks the
 * UTF-8 to find the boundaries, and reports text that may be inexact: lone surrogates (TextEncoder
 * writes U+FFFD, which would change their order; a high surrogate ending a chunk is one) or a pair
 * formed across two names. Those sides, and runtimes without TextEncoder, take a per-character
 * encoder that writes lone surrogates as their 3-byte generalized UTF-8, so byte order stays code
 * point order (agent/util/bytes.ts compareUtf8).
 *
 * On a shuffled 100 000-entry list most of the JS time is cache and TLB misses on the entry
 * objects and their strings, so each is touched as few times as possible, and in input order
 * where possible: the upgrade checks of matched pairs run in desired-list order, and the pass in
 * name order that builds the plan reads only the two input arrays.
 */
import { EngineError } from './errors.ts';
import { checkSide, duplicateError, isUpgrade, type CheckedSide } from './diff-input.ts';
import type { DiffPlan, PackageEntry } from './types.ts';

export interface DiffExports {
  memory: { buffer: ArrayBuffer };
  prepare(installed: number, desired: number, installedBytes: number, desiredBytes: number): number;
  textPtr(side: number): number;
  lengthsPtr(side: number): number;
  locate(side: number, unitLengths: number): number;
  run(): number;
  pairsPtr(): number;
  onlyInstalledPtr(): number;
  onlyDesiredPtr(): number;
  pairCountValue(): number;
  onlyInstalledCount(): number;
  onlyDesiredCount(): number;
  duplicateIndex(): number;
}

const FUNCTIONS = [
  'prepare', 'textPtr', 'lengthsPtr', 'locate', 'run', 'pairsPtr', 'onlyInstalledPtr', 'onlyDesiredPtr',
  'pairCountValue', 'onlyInstalledCount', 'onlyDesiredCount', 'duplicateIndex',
] as const;

const OK = 0;
/** Names per encodeInto call. */
const CHUNK = 256;
const DUPLICATE_INSTALLED = 1;
const DUPLICATE_DESIRED = 2;

export function asDiffExports(exports: Record<string, unknown>): DiffExports {
  const memory = exports['memory'] as { buffer?: unknown } | undefined;
  if (!memory || !(memory.buffer instanceof ArrayBuffer)) throw new TypeError('diff module exports no memory');
  for (const name of FUNCTIONS) if (typeof exports[name] !== 'function') throw new TypeError(`diff module lacks ${name}()`);
  return exports as unknown as DiffExports;
}

interface Utf8Encoder {
  encodeInto(text: string, into: Uint8Array): { read: number; written: number };
}

// TextEncoder is not in the portable type library; take it from the global object when present.
function findEncoder(): Utf8Encoder | undefined {
  const ctor = (globalThis as { TextEncoder?: new () => Utf8Encoder }).TextEncoder;
  return typeof ctor === 'function' ? new ctor() : undefined;
}

/** Writes names back to back as generalized UTF-8; stores byte lengths in `lengths`. */
function encodeNames(names: readonly string[], into: Uint8Array, lengths: Uint32Array): void {
  let o = 0;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const start = o;
    for (let k = 0; k < name.length; k++) {
      let c = name.charCodeAt(k);
      if (c < 0x80) {
        into[o++] = c;
        continue;
      }
      if (c >= 0xd800 && c <= 0xdbff && k + 1 < name.length) {
        const next = name.charCodeAt(k + 1);
        if (next >= 0xdc00 && next <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          k++;
        }
      }
      if (c < 0x800) {
        into[o++] = 0xc0 | (c >> 6);
      } else if (c < 0x10000) {
        into[o++] = 0xe0 | (c >> 12);
        into[o++] = 0x80 | ((c >> 6) & 63);
      } else {
        into[o++] = 0xf0 | (c >> 18);
        into[o++] = 0x80 | ((c >> 12) & 63);
        into[o++] = 0x80 | ((c >> 6) & 63);
      }
      into[o++] = 0x80 | (c & 63);
    }
    lengths[i] = o - start;
  }
}

export interface WasmDiffOptions {
  /** Tests only: skip TextEncoder to exercise the portable path. */
  portableEncoding?: boolean;
}

export function createWasmDiff(x: DiffExports, options: WasmDiffOptions = {}): (installed: readonly PackageEntry[], desired: readonly PackageEntry[]) => DiffPlan {
  const encoder = options.portableEncoding ? undefined : findEncoder();

  /** Writes one side's names and lets the module locate them. */
  function writeSide(side: 0 | 1, checked: CheckedSide, capacity: number): void {
    const n = checked.names.length;
    const text = new Uint8Array(x.memory.buffer, x.textPtr(side), capacity);
    const lengths = new Uint32Array(x.memory.buffer, x.lengthsPtr(side), n);
    if (encoder !== undefined && n > 0) {
      const names = checked.names;
      let written = 0;
      let ascii = true;
      let complete = true;
      for (let start = 0; start < n && complete; start += CHUNK) {
        const end = Math.min(n, start + CHUNK);
        let chunk = '';
        for (let k = start; k < end; k++) chunk += names[k] as string;
        const result = encoder.encodeInto(chunk, text.subarray(written));
        // Capacity is 3 bytes per unit, so a short read would be an encoder bug: take the exact path.
        complete = result.read === chunk.length;
        if (result.written !== result.read) ascii = false;
        written += result.written;
      }
      lengths.set(checked.lengths);
      // Pure ASCII (bytes written = units read): the UTF-16 lengths are the byte lengths.
      // Otherwise the module converts them, unless the text may be inexact (lone surrogates).
      if (complete && x.locate(side, ascii ? 0 : 1) === OK) return;
    }
    encodeNames(checked.names, text, lengths);
    x.locate(side, 0);
  }

  return function wasmDiff(installed, desired) {
    const a = checkSide(installed, 'installed');
    const b = checkSide(desired, 'desired');
    // ≤ 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
    const capacityA = a.units * 3;
    const capacityB = b.units * 3;
    if (x.prepare(a.names.length, b.names.length, capacityA, capacityB) !== OK) {
      throw new EngineError('wasmFailed', `diff: out of WASM memory for ${a.names.length} + ${b.names.length} entries`);
    }
    writeSide(0, a, capacityA);
    writeSide(1, b, capacityB);
    const result = x.run();
    if (result === DUPLICATE_INSTALLED || result === DUPLICATE_DESIRED) {
      const side = result === DUPLICATE_INSTALLED ? 'installed' : 'desired';
      const index = x.duplicateIndex();
      throw duplicateError(side, index, (side === 'installed' ? a : b).names[index] as string);
    }
    if (result !== OK) throw new EngineError('wasmFailed', `diff module failed with code ${result}`);

    const memory = new Uint32Array(x.memory.buffer);
    const plan: DiffPlan = { install: [], upgrade: [], remove: [], keep: [] };
    const pairs = x.pairsPtr() >>> 2;
    const pairEnd = pairs + x.pairCountValue() * 2;
    // match[j]: 1 + the installed index paired with desired[j] (0: none), negated once the pair
    // is found to be an upgrade. The checks read versions and digests of both entries, so they
    // walk the desired list in its own order; only the installed side is read out of order.
    const match = new Int32Array(desired.length);
    for (let p = pairs; p < pairEnd; p += 2) match[memory[p + 1] as number] = (memory[p] as number) + 1;
    for (let j = 0; j < match.length; j++) {
      const m = match[j] as number;
      if (m !== 0 && isUpgrade(installed[m - 1] as PackageEntry, desired[j] as PackageEntry)) match[j] = -m;
    }
    for (let p = pairs; p < pairEnd; p += 2) {
      const from = installed[memory[p] as number] as PackageEntry;
      const j = memory[p + 1] as number;
      const to = desired[j] as PackageEntry;
      if ((match[j] as number) < 0) plan.upgrade.push({ from, to });
      else plan.keep.push({ installed: from, desired: to });
    }
    const onlyInstalled = x.onlyInstalledPtr() >>> 2;
    for (let p = onlyInstalled, end = p + x.onlyInstalledCount(); p < end; p++) plan.remove.push(installed[memory[p] as number] as PackageEntry);
    const onlyDesired = x.onlyDesiredPtr() >>> 2;
    for (let p = onlyDesired, end = p + x.onlyDesiredCount(); p < end; p++) plan.install.push(desired[memory[p] as number] as PackageEntry);
    return plan;
  };
}
