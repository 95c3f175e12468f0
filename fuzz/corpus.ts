/**
 * Findings on disk. A crashing or hanging input goes to `fuzz/crashers/<target>/<hash>.bin` (with
 * a `.txt` saying what happened); once fixed it moves to `fuzz/regressions/<target>/`. Both
 * folders are replayed by `npm run fuzz -- --replay` and by the regression test in `npm test`.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Finding } from './engine.ts';

export const CRASHERS_DIR = fileURLToPath(new URL('./crashers/', import.meta.url));
export const REGRESSIONS_DIR = fileURLToPath(new URL('./regressions/', import.meta.url));

export function inputHash(input: Uint8Array): string {
  return createHash('sha256').update(input).digest('hex').slice(0, 16);
}

/** Writes the input and a note; returns the .bin path. The same input twice is one file. */
export async function saveFinding(dir: string, finding: Finding, seed: number): Promise<string> {
  const folder = join(dir, finding.target);
  await mkdir(folder, { recursive: true });
  const base = join(folder, inputHash(finding.input));
  await writeFile(`${base}.bin`, finding.input);
  await writeFile(`${base}.txt`, `${finding.kind} in target ${finding.target} (seed ${seed}, input #${finding.index}, ${finding.input.length} bytes)\n${finding.message}\n`);
  return `${base}.bin`;
}

export interface SavedInput {
  target: string;
  file: string;
  bytes: Uint8Array;
}

/** Every `<dir>/<target>/*.bin` under the given folders (missing folders are empty). */
export async function savedInputs(dirs: readonly string[]): Promise<SavedInput[]> {
  const saved: SavedInput[] = [];
  for (const dir of dirs) {
    let targets: string[];
    try {
      targets = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') continue;
      throw error;
    }
    for (const target of targets) {
      for (const name of (await readdir(join(dir, target))).filter((n) => n.endsWith('.bin')).sort()) {
        const file = join(dir, target, name);
        saved.push({ target, file, bytes: new Uint8Array(await readFile(file)) });
      }
    }
  }
  return saved;
}
