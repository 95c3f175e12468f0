/**
 * Exec helpers shared by the mock and the Node HAL: options validation (one rule set for both),
 * and the bounded tail of combined output (a post-install script may print megabytes; the agent
 * keeps only the end, which is where the error usually is).
 */
import { utf8Decode } from '../../agent/util/bytes.ts';
import type { ExecOptions } from '../types.ts';
import {
  optionalInteger,
  optionalStringArray,
  optionalStringRecord,
  rejectUnknownKeys,
  requireObject,
  requireString,
} from './validate.ts';
import { InvalidOptionsError } from '../errors.ts';

export const DEFAULT_OUTPUT_LIMIT = 4096;

export interface ValidExecOptions {
  command: string;
  args: string[];
  timeoutMs: number;
  env: Record<string, string> | undefined;
  outputLimit: number;
}

export function validateExecOptions(options: ExecOptions): ValidExecOptions {
  const o = requireObject(options, 'exec.run');
  rejectUnknownKeys(o, ['command', 'args', 'timeoutMs', 'env', 'outputLimit'], 'exec.run');
  const command = requireString(o.command, 'exec.run: command');
  if (command.includes('\0')) throw new InvalidOptionsError('exec.run: command must not contain NUL');
  const timeoutMs = o.timeoutMs;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new InvalidOptionsError('exec.run: timeoutMs must be a positive number of milliseconds');
  const args = optionalStringArray(o.args, 'exec.run: args') ?? [];
  const env = optionalStringRecord(o.env, 'exec.run: env');
  // An OS passes arguments and the environment as C strings: a NUL would cut them (Node refuses
  // with a raw TypeError at spawn time). Refuse here, before anything runs, with the contract's error.
  args.forEach((arg, index) => {
    if (arg.includes('\0')) throw new InvalidOptionsError(`exec.run: args[${index}] must not contain NUL`);
  });
  for (const [name, value] of Object.entries(env ?? {})) {
    if (name.length === 0 || name.includes('\0') || name.includes('=')) throw new InvalidOptionsError(`exec.run: env name ${JSON.stringify(name)} must be non-empty, without NUL or '='`);
    if (value.includes('\0')) throw new InvalidOptionsError(`exec.run: env.${name} must not contain NUL`);
  }
  return {
    command,
    args,
    timeoutMs,
    env,
    outputLimit: optionalInteger(o.outputLimit, 'exec.run: outputLimit', 0, 64 * 1024 * 1024) ?? DEFAULT_OUTPUT_LIMIT,
  };
}

/** Keeps the last `limit` bytes of a byte stream without holding all of it. */
export class OutputTail {
  readonly #limit: number;
  #chunks: Uint8Array[] = [];
  #length = 0;
  /** Bytes were dropped from the front: the first byte kept may be mid-character. */
  #truncated = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(chunk: Uint8Array): void {
    if (this.#limit === 0 || chunk.length === 0) return;
    if (chunk.length > this.#limit) this.#truncated = true;
    // A real copy (Buffer#slice would be a view): the producer may reuse its buffer.
    this.#chunks.push(Uint8Array.prototype.slice.call(chunk, Math.max(0, chunk.length - this.#limit)));
    this.#length += Math.min(chunk.length, this.#limit);
    // Drop whole chunks that lie entirely before the tail.
    while (this.#chunks.length > 1 && this.#length - (this.#chunks[0] as Uint8Array).length >= this.#limit) {
      this.#length -= (this.#chunks.shift() as Uint8Array).length;
      this.#truncated = true;
    }
  }

  /** The tail as UTF-8 text; a character cut by the limit at the start is dropped, not mangled. */
  text(): string {
    const all = new Uint8Array(this.#length);
    let offset = 0;
    for (const chunk of this.#chunks) {
      all.set(chunk, offset);
      offset += chunk.length;
    }
    let start = Math.max(0, all.length - this.#limit);
    // Skip UTF-8 continuation bytes (10xxxxxx) orphaned by the cut.
    if (start > 0 || this.#truncated) while (start < all.length && ((all[start] as number) & 0xc0) === 0x80) start++;
    return utf8Decode(all.subarray(start));
  }
}
