/** Finds the fuzz targets: every `<dir>/*.ts` that exports `target` (the FuzzTarget contract). */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FuzzTarget } from './types.ts';

export const DEFAULT_TARGETS_DIR = fileURLToPath(new URL('./targets/', import.meta.url));

export interface FoundTarget {
  name: string;
  file: string;
  target: FuzzTarget;
}

function isTarget(value: unknown): value is FuzzTarget {
  const t = value as Partial<FuzzTarget> | undefined;
  return (
    typeof t === 'object' && t !== null && typeof t.name === 'string' && t.name.length > 0 &&
    typeof t.seeds === 'function' && typeof t.run === 'function' && typeof t.isExpected === 'function'
  );
}

/** The module's `target`: undefined when it exports none (a helper), an error when malformed. */
async function importTarget(file: string): Promise<FuzzTarget | undefined> {
  const module = (await import(pathToFileURL(resolve(file)).href)) as { target?: unknown };
  if (module.target === undefined) return undefined;
  if (!isTarget(module.target)) throw new Error(`${file}: \`target\` does not follow the FuzzTarget contract (fuzz/types.ts)`);
  return module.target;
}

/** Loads one target module; throws when it does not export a well-formed `target`. */
export async function loadTarget(file: string): Promise<FuzzTarget> {
  const target = await importTarget(file);
  if (!target) throw new Error(`${file}: exports no \`target\` (see fuzz/types.ts)`);
  return target;
}

/** Every target in `dir`, sorted by name; `only` keeps the named ones (unknown names are an error). */
export async function discoverTargets(dir: string = DEFAULT_TARGETS_DIR, only?: readonly string[]): Promise<FoundTarget[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts')).sort();
  const found: FoundTarget[] = [];
  for (const file of files) {
    const path = join(dir, file);
    // Helper modules next to the targets export no `target`.
    const target = await importTarget(path);
    if (!target) continue;
    const clash = found.find((t) => t.name === target.name);
    if (clash) throw new Error(`${path}: target name ${target.name} is also used by ${clash.file}`);
    found.push({ name: target.name, file: path, target });
  }
  found.sort((a, b) => a.name.localeCompare(b.name));
  if (only === undefined) return found;
  const unknown = only.filter((name) => !found.some((t) => t.name === name));
  if (unknown.length > 0) throw new Error(`unknown fuzz target${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${found.map((t) => t.name).join(', ')})`);
  return found.filter((t) => only.includes(t.name));
}
