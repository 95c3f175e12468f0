/**
 * A small but real fleet for the demo and the end-to-end tests: artifact files on disk (sizes
 * that take a few checkpoints to download), post-install and uninstall commands that really run
 * (/bin/sh copying the artifact into an install root and removing it again), and a catalogue
 * with two versions of one package so a second pass has something to upgrade.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface DemoPackage {
  name: string;
  version: string;
  size: number;
  optional?: boolean;
  /** A revision of this earlier version of the package (`revisedBytes`): what a delta upgrade is for. */
  basedOn?: string;
}

export const DEMO_CATALOGUE: DemoPackage[] = [
  { name: 'base-config', version: '1.0.0', size: 48 * 1024 },
  { name: 'telemetry', version: '1.0.0', size: 1536 * 1024 },
  { name: 'telemetry', version: '1.1.0', size: 1600 * 1024, basedOn: '1.0.0' },
  { name: 'ui-fonts', version: '2.3.0', size: 768 * 1024, optional: true },
  { name: 'diagnostics', version: '0.9.0', size: 320 * 1024 },
  { name: 'maps-eu', version: '2026.11', size: 2560 * 1024 },
];

/** First assignment: three packages, one of them optional. */
export const DEMO_FIRST: { name: string; version: string; optional?: boolean }[] = [
  { name: 'base-config', version: '1.0.0' },
  { name: 'telemetry', version: '1.0.0' },
  { name: 'ui-fonts', version: '2.3.0', optional: true },
  { name: 'diagnostics', version: '0.9.0' },
];

/** Second assignment: upgrade telemetry, drop diagnostics, add maps-eu. */
export const DEMO_SECOND: { name: string; version: string; optional?: boolean }[] = [
  { name: 'base-config', version: '1.0.0' },
  { name: 'telemetry', version: '1.1.0' },
  { name: 'ui-fonts', version: '2.3.0', optional: true },
  { name: 'maps-eu', version: '2026.11' },
];

/** Deterministic pseudo-random bytes (xorshift32): binaries that reproduce, and whose every offset differs from its neighbours. */
export function xorshiftBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** The demo artifact `name@version`: xorshift bytes seeded by an FNV-1a hash of its name, so digests are stable. */
export function artifactBytes(name: string, version: string, size: number): Uint8Array {
  return xorshiftBytes(size, fnv1a(`${name}@${version}`));
}

function fnv1a(text: string): number {
  let seed = 2166136261;
  for (const char of text) seed = Math.imul(seed ^ char.charCodeAt(0), 16777619) >>> 0;
  return seed;
}

/**
 * A later version of `base` as releases look: `size` bytes, most of them the old ones, with a
 * few regions rewritten (~4 % of the size), one block moved, and the tail grown or cut. A delta
 * tool finds the shared bytes; a full download does not care.
 */
export function revisedBytes(base: Uint8Array, size: number, seed: number): Uint8Array {
  const out = xorshiftBytes(size, seed);
  out.set(base.subarray(0, Math.min(base.length, size)));
  for (let k = 0; k < 4 && size > 0; k++) {
    const at = Math.floor(((k * 2 + 1) / 9) * size);
    const noise = xorshiftBytes(Math.max(1, Math.ceil(size / 100)), (seed ^ 0x5bd1e995) + k);
    out.set(noise.subarray(0, Math.min(noise.length, size - at)), at);
  }
  const block = Math.floor(size / 50);
  if (block > 0) out.copyWithin(Math.floor(size / 7), Math.floor(size * 0.8), Math.floor(size * 0.8) + block);
  return out;
}

/** A catalogue entry's bytes: its own, or a revision of the version it is based on. */
export function catalogueBytes(pkg: DemoPackage, catalogue: readonly DemoPackage[]): Uint8Array {
  const base = pkg.basedOn === undefined ? undefined : catalogue.find((p) => p.name === pkg.name && p.version === pkg.basedOn);
  if (!base) return artifactBytes(pkg.name, pkg.version, pkg.size);
  return revisedBytes(catalogueBytes(base, catalogue), pkg.size, fnv1a(`${pkg.name}@${pkg.version}`));
}

/**
 * Writes the artifacts below `dir` and returns the fleet JSON (relative file paths). Installed
 * packages land in `installRoot/<name>`; the post-install command fails (exit 3) if the artifact
 * it was handed is missing, so a test notices when the agent passes a wrong location.
 */
export async function writeDemoFleet(dir: string, installRoot: string, deviceIds: string[], assignment = DEMO_FIRST, catalogue = DEMO_CATALOGUE): Promise<Record<string, unknown>> {
  await mkdir(join(dir, 'artifacts'), { recursive: true });
  const packages: Record<string, Record<string, unknown>> = {};
  for (const pkg of catalogue) {
    const file = `artifacts/${pkg.name}-${pkg.version}.bin`;
    await writeFile(join(dir, file), catalogueBytes(pkg, catalogue));
    (packages[pkg.name] ??= {})[pkg.version] = {
      file,
      postInstall: {
        command: '/bin/sh',
        args: ['-c', 'test -f "$DM_ARTIFACT" || exit 3; mkdir -p "$0" && cp "$DM_ARTIFACT" "$0/$DM_PACKAGE" && echo "installed $DM_PACKAGE $DM_VERSION"', installRoot],
        timeoutMs: 30_000,
      },
      uninstall: {
        command: '/bin/sh',
        args: ['-c', 'rm -f "$0/$DM_PACKAGE" && echo "removed $DM_PACKAGE"', installRoot],
        timeoutMs: 30_000,
      },
    };
  }
  return {
    packages,
    groups: {
      demo: {
        packages: assignment.map((p) => ({ name: p.name, version: p.version, optional: p.optional ?? false })),
        reports: [{ kind: 'softwareInventory' }, { kind: 'machineInventory' }],
      },
    },
    devices: Object.fromEntries(deviceIds.map((id) => [id, { groups: ['demo'] }])),
    // Devices not listed enrol into the demo group on first contact (tests use many device ids).
    defaults: { group: 'demo' },
  };
}
