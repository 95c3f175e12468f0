/**
 * Delta production for the reference servers (the manager's packages, the update service's
 * images): the real `xdelta3` (VCDIFF, default options) or `bsdiff` (BSDIFF40) turns the version
 * a device reports into the one it should get. Patches are made once per (source, target,
 * format), cached as `<dir>/<source sha256>-<target sha256>.<format>` (written under a temporary
 * name, then renamed), and reused by every device; concurrent requests for the same patch share
 * one run of the tool.
 *
 * A tool that is not installed, a tool that fails, or a patch that saves too little (not below
 * `maxRatio` of the full artifact) means "no delta": the server then offers the full artifact
 * alone, which every device can take. The answer never waits on a failed tool again: the
 * outcome "no delta" is cached too.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileDigest } from './fleet.ts';

export type DeltaToolFormat = 'vcdiff' | 'bsdiff';

export interface DeltaFile {
  format: DeltaToolFormat;
  path: string;
  size: number;
  /** Lower-case hex SHA-256 of the patch. */
  sha256: string;
}

export interface DeltaSide {
  path: string;
  sha256: string;
  size: number;
}

export interface DeltaMakerOptions {
  /** Where patches are cached. */
  dir: string;
  /** Formats in order of preference (default: vcdiff, then bsdiff). */
  formats?: readonly DeltaToolFormat[];
  /** Offer a patch only when it is smaller than this fraction of the full artifact (default 0.9). */
  maxRatio?: number;
  /** Tool run limit (default 10 min: bsdiff on a large image is slow). */
  timeoutMs?: number;
  /**
   * How long an answer waits for a patch being made (default 20 s): a slower one (bsdiff on a
   * large image) is offered from the cache to later checks, this one gets the full artifact.
   */
  answerWithinMs?: number;
  /** The tools' commands, a name or a command with leading arguments (default `xdelta3`, `bsdiff` from PATH). */
  tools?: Partial<Record<DeltaToolFormat, string | readonly string[]>>;
  log?: (line: string) => void;
}

const DEFAULT_TOOLS: Record<DeltaToolFormat, string | readonly string[]> = { vcdiff: 'xdelta3', bsdiff: 'bsdiff' };
const ARGS: Record<DeltaToolFormat, (source: string, target: string, out: string) => string[]> = {
  // -f: the temporary output may be left by a killed run; -e -s: encode against the source.
  vcdiff: (source, target, out) => ['-e', '-f', '-s', source, target, out],
  bsdiff: (source, target, out) => [source, target, out],
};

export class DeltaMaker {
  readonly #o: Required<Omit<DeltaMakerOptions, 'log' | 'tools'>> & { log: (line: string) => void; tools: Record<DeltaToolFormat, string | readonly string[]> };
  readonly #made = new Map<string, Promise<DeltaFile | undefined>>();
  /** Patch digest → file, for the routes that serve them. */
  readonly #byDigest = new Map<string, DeltaFile>();

  constructor(options: DeltaMakerOptions) {
    this.#o = { formats: ['vcdiff', 'bsdiff'], maxRatio: 0.9, timeoutMs: 600_000, answerWithinMs: 20_000, log: () => {}, ...options, tools: { ...DEFAULT_TOOLS, ...options.tools } };
  }

  /** The patch from `source` to `target` in the first format that works, or undefined (also while it is still being made). */
  async delta(source: DeltaSide, target: DeltaSide): Promise<DeltaFile | undefined> {
    if (source.sha256 === target.sha256) return undefined;
    for (const format of this.#o.formats) {
      const made = await within(this.make(source, target, format), this.#o.answerWithinMs);
      if (made === 'late') {
        this.#o.log(`delta ${format} ${source.sha256.slice(0, 12)}→${target.sha256.slice(0, 12)}: still being made, offered to later requests`);
        return undefined;
      }
      if (made) return made;
    }
    return undefined;
  }

  /** One format (cached; undefined when the tool is missing, fails or saves too little). */
  make(source: DeltaSide, target: DeltaSide, format: DeltaToolFormat): Promise<DeltaFile | undefined> {
    const key = `${source.sha256}-${target.sha256}.${format}`;
    let made = this.#made.get(key);
    if (!made) {
      made = this.#run(source, target, format, join(this.#o.dir, key)).catch((error: unknown) => {
        this.#o.log(`delta ${key}: ${(error as Error).message}`);
        return undefined;
      });
      this.#made.set(key, made);
    }
    return made;
  }

  /** A patch this maker produced, by its digest. */
  byDigest(sha256: string): DeltaFile | undefined {
    return this.#byDigest.get(sha256);
  }

  /**
   * Registers the patches already in the cache folder (made by an earlier run, or by
   * `dm-agent release sign --deltas` for signed metadata), so the routes serve them by digest.
   * Returns how many it found.
   */
  async index(): Promise<number> {
    let names: string[] = [];
    try {
      names = await readdir(this.#o.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    let found = 0;
    for (const name of names) {
      const m = /^[0-9a-f]{64}-[0-9a-f]{64}\.(vcdiff|bsdiff)$/.exec(name);
      if (!m) continue;
      const path = join(this.#o.dir, name);
      const { digest, size } = await fileDigest(path);
      this.#byDigest.set(digest, { format: m[1] as DeltaToolFormat, path, size, sha256: digest });
      found++;
    }
    return found;
  }

  async #run(source: DeltaSide, target: DeltaSide, format: DeltaToolFormat, out: string): Promise<DeltaFile | undefined> {
    await mkdir(this.#o.dir, { recursive: true });
    const cached = await stat(out).catch(() => undefined);
    if (!cached) {
      const temporary = `${out}.${process.pid}.tmp`;
      try {
        const [tool, ...lead] = typeof this.#o.tools[format] === 'string' ? [this.#o.tools[format] as string] : (this.#o.tools[format] as readonly string[]);
        await run(tool as string, [...lead, ...ARGS[format](source.path, target.path, temporary)], this.#o.timeoutMs);
        await rename(temporary, out);
      } finally {
        await rm(temporary, { force: true });
      }
    }
    const { digest, size } = await fileDigest(out);
    if (size >= target.size * this.#o.maxRatio) {
      this.#o.log(`delta ${format} ${source.sha256.slice(0, 12)}→${target.sha256.slice(0, 12)}: ${size} bytes for ${target.size}, not offered`);
      return undefined;
    }
    const file: DeltaFile = { format, path: out, size, sha256: digest };
    this.#byDigest.set(digest, file);
    return file;
  }
}

/** The promise's value, or 'late' after `ms` (the promise goes on). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'late'> {
  if (!Number.isFinite(ms)) return promise; // setTimeout would take Infinity as 1 ms
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
    timer.unref?.();
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

function run(tool: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      reject(new Error(missing ? `${tool} is not installed` : `${tool} failed: ${String(stderr).trim().slice(0, 200) || error.message}`));
    });
  });
}
