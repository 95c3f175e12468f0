/**
 * Package deltas of the pull-model family: the instruction may offer the package as a patch
 * against the version the device reported installed (messages.ts `Instruction.delta`); the
 * pipeline's delta stage (../pipeline/delta-step.ts) does the rest. The source is the installed
 * package's own artifact, which the device keeps in staging when `delivery.keepInstalled` is on:
 * the package DB entry names that staging file (`InstalledPackage.artifact`), so the digest the
 * stage checks first is the digest of the bytes that were installed.
 *
 * Kept artifacts are released when they stop being the installed version: after an upgrade is
 * recorded (the old version's file), after a removal is recorded, and at boot for any kept file
 * that no DB entry and no job names (a power cut between the DB write and the release).
 */
import type { Staging } from '../../hal/types.ts';
import type { Logger } from '../log.ts';
import { type KeyValueStore, getValue } from '../store/index.ts';
import type { DeltaHooks, DeltaSource } from '../pipeline/delta-step.ts';
import type { PipelineJob } from '../pipeline/runner.ts';
import type { InstalledPackage, PackageDb } from './package-db.ts';

/** Staging files of package jobs: `job-<sequence>` (service.ts); their patches end in `.patch`. */
const JOB_FILE = /^job-\d+$/;

export function packageDeltaHooks<F extends { instruction: { delta?: { url: string } } }>(staging: Staging, db: PackageDb): DeltaHooks<PipelineJob<F>> {
  return {
    source: async (job) => installedArtifact(staging, db.get(job.artifact.name)),
    // A delta named by signed metadata starts from the installed version (its kept artifact).
    held: async (job) => {
      const entry = db.get(job.artifact.name);
      return entry?.artifact ? { version: entry.version, sha256: entry.digest.toLowerCase() } : undefined;
    },
    locate: async (job) => {
      const delta = job.family.instruction.delta;
      if (!delta) throw new Error('no delta offered');
      return { url: delta.url };
    },
  };
}

/** The kept artifact of an installed package, opened for reading; undefined when there is none. */
export async function installedArtifact(staging: Staging, entry: InstalledPackage | undefined): Promise<DeltaSource | undefined> {
  if (!entry?.artifact) return undefined;
  if (!(await staging.list()).includes(entry.artifact)) return undefined;
  const file = await staging.open({ name: entry.artifact });
  try {
    return {
      size: await file.size(),
      read: (offset, length) => file.read(offset, length),
      close: async () => {
        await file.close();
      },
    };
  } catch (error) {
    await file.close();
    throw error;
  }
}

/** After the DB names `current` (or nothing, after a removal): the previous entry's kept file goes. */
export async function releaseArtifact(staging: Staging, previous: InstalledPackage | undefined, current: InstalledPackage | undefined): Promise<void> {
  if (previous?.artifact && previous.artifact !== current?.artifact) await staging.remove(previous.artifact);
}

/** Boot: removes kept package files that neither the DB nor a job record under `jobPrefix` names. */
export async function sweepArtifacts(staging: Staging, db: PackageDb, jobs: { store: KeyValueStore; prefix: string }, log: Logger): Promise<number> {
  const named = new Set(db.list().flatMap((entry) => (entry.artifact ? [entry.artifact] : [])));
  const jobFiles = new Set<string>();
  for (const key of jobs.store.keys(jobs.prefix)) {
    const name = getValue<{ context?: { sink?: { name?: unknown } } }>(jobs.store, key)?.context?.sink?.name;
    if (typeof name === 'string') jobFiles.add(name);
  }
  let removed = 0;
  for (const name of await staging.list()) {
    if (!JOB_FILE.test(name) || named.has(name) || jobFiles.has(name)) continue;
    await staging.remove(name);
    removed++;
  }
  if (removed > 0) log.info('released kept package files no entry names', { removed });
  return removed;
}
