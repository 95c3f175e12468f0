/**
 * `dm-agent release sign --fleet FILE [--images FOLDER] --keys DIR --out METADIR`: signs a
 * release into targets metadata — every package version of a fleet file and every image of an
 * updates-server import folder, with length, SHA-256 and the custom fields devices check
 * (`version`, `hardware` for images = the model, `postInstall` for packages). The targets version
 * goes one up. When DIR also holds the snapshot and timestamp keys, those are refreshed too (a
 * server given those keys refreshes them on its own). With `--deltas DIR` each image also lists
 * signed patches from the older versions of its model in the folder (`custom.deltas`, made with
 * the real xdelta3/bsdiff into DIR), which a device running one of them fetches instead.
 */
import { join } from 'node:path';
import { envelopeBytes, signEnvelope, targetsSigned, type TargetSpec } from '../../agent/trust/repository.ts';
import { readFleetFile } from '../../server/fleet.ts';
import { readManifestFolder } from '../../server/updates/manifest.ts';
import { KEY_FILE_SUFFIX, fleetTargets, imageTargets, readKey, refreshSnapshotAndTimestamp, targetsVersion, withImageDeltas, writeTargets } from '../../server/metadata.ts';
import { DeltaMaker } from '../../server/deltas.ts';
import { type CommandIo, EXIT_FAILED, EXIT_OK, errorText } from '../io.ts';
import { type CommandSpec, parseArgs, usageError } from '../spec.ts';

const DAY = 86_400_000;

export const spec: CommandSpec = {
  name: 'release',
  summary: 'sign a release into targets metadata: dm-agent release sign --fleet FILE [--images FOLDER] --keys DIR --out METADIR',
  args: 'sign',
  options: [
    { name: 'fleet', value: 'FILE', help: 'fleet file: each package version becomes a target packages/<name>/<version>' },
    { name: 'images', value: 'FOLDER', help: 'updates-server import folder: each image becomes images/<model>/<version>' },
    { name: 'keys', value: 'DIR', help: 'directory with targets.key.json (and optionally snapshot/timestamp keys)' },
    { name: 'out', value: 'DIR', help: 'the metadata directory (root files already there: dm-agent keys root)' },
    { name: 'expires-days', value: 'N', help: 'targets lifetime in days (default 90)' },
    { name: 'deltas', value: 'DIR', help: 'with --images: sign a delta (xdelta3, else bsdiff) from every older version of a model, made into DIR (serve DIR: omadm-server/updates-server --deltas DIR)' },
    { name: 'delta-path', value: 'PREFIX', help: 'where the server serves DIR, relative to an image URL (default deltas/: the DM server; ../deltas/: the update service)' },
  ],
};

export async function run(args: string[], io: CommandIo): Promise<number> {
  const { positional, options, problems } = parseArgs(spec.options, args);
  if (positional.length !== 1 || positional[0] !== 'sign') problems.push('expected: release sign');
  if (options['fleet'] === undefined && options['images'] === undefined) problems.push('give --fleet and/or --images');
  for (const name of ['keys', 'out']) if (typeof options[name] !== 'string') problems.push(`missing --${name}`);
  const days = options['expires-days'] === undefined ? 90 : Number(options['expires-days']);
  if (!Number.isInteger(days) || days < 1 || days > 3650) problems.push('--expires-days must be 1..3650');
  if (options['deltas'] !== undefined && typeof options['images'] !== 'string') problems.push('--deltas needs --images');
  const deltaPath = typeof options['delta-path'] === 'string' ? options['delta-path'] : 'deltas/';
  if (!/^(?:(?:\.\.|[A-Za-z0-9_~-][A-Za-z0-9._~-]*)\/)+$/.test(deltaPath)) problems.push('--delta-path must be relative folders ending in /, e.g. deltas/ or ../deltas/');
  if (problems.length > 0) return usageError(io, spec, problems);
  const keysDir = options['keys'] as string;
  const out = options['out'] as string;
  try {
    const targets: TargetSpec[] = [];
    if (typeof options['fleet'] === 'string') {
      targets.push(...fleetTargets(await readFleetFile(options['fleet'])));
    }
    if (typeof options['images'] === 'string') {
      const images = await readManifestFolder(options['images']);
      const signed = imageTargets(images);
      if (typeof options['deltas'] !== 'string') targets.push(...signed);
      else {
        const made = await withImageDeltas(signed, images, new DeltaMaker({ dir: options['deltas'], answerWithinMs: Number.POSITIVE_INFINITY }), deltaPath);
        targets.push(...made);
        io.stdout(`${made.reduce((n, t) => n + (t.custom?.deltas?.length ?? 0), 0)} delta(s) signed, patches in ${options['deltas']}\n`);
      }
    }
    const targetsKey = await readKey(join(keysDir, `targets${KEY_FILE_SUFFIX}`));
    const version = (await targetsVersion(out)) + 1;
    const now = Date.now();
    await writeTargets(out, envelopeBytes(signEnvelope(targetsSigned(version, now + days * DAY, targets), [targetsKey])));
    io.stdout(`${join(out, 'targets.json')}: version ${version}, ${targets.length} target(s)\n`);
    const refresh = await optionalRefreshKeys(keysDir);
    if (refresh) io.stdout(`timestamp version ${await refreshSnapshotAndTimestamp(out, refresh, now)}\n`);
    return EXIT_OK;
  } catch (error) {
    io.stderr(`dm-agent release: ${errorText(error)}\n`);
    return EXIT_FAILED;
  }
}

async function optionalRefreshKeys(dir: string) {
  try {
    return { snapshot: await readKey(join(dir, `snapshot${KEY_FILE_SUFFIX}`)), timestamp: await readKey(join(dir, `timestamp${KEY_FILE_SUFFIX}`)) };
  } catch {
    return undefined;
  }
}
