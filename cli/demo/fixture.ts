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
}

export const DEMO_CATALOGUE: DemoPackage[] = [
  { name: 'base-config', version: '1.0.0', size: 48 * 1024 },
  { name: 'telemetry', version: '1.0.0', size: 1536 * 1024 },
  { name: 'telemetry', version: '1.1.0', size: 1600 * 1024 },
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
  let seed = 2166136261;
  for (const char of `${name}@${version}`) seed = Math.imul(seed ^ char.charCodeAt(0), 16777619) >>> 0;
  return xorshiftBytes(size, seed);
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
    await writeFile(join(dir, file), artifactBytes(pkg.name, pkg.version, pkg.size));
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
