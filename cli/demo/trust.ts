/**
 * The demo's release signing and what a device checks: fresh keys (in memory, for the demo only),
 * a root and a targets role over the demo fleet, snapshot and timestamp as the server refreshes
 * them; then the device side over HTTP (agent/trust, the device's own code): the metadata
 * verified, every catalogue artifact matched against its signed entry, and a tampered targets
 * file refused.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { KeyValueStore } from '../../agent/store/index.ts';
import { checkArtifact, targetPath } from '../../agent/trust/artifact.ts';
import { TrustError } from '../../agent/trust/errors.ts';
import { signingKeyFrom, type SigningKey } from '../../agent/trust/signing.ts';
import type { RoleName } from '../../agent/trust/metadata.ts';
import { envelopeBytes, rootSigned, signEnvelope, targetsSigned, type TargetSpec } from '../../agent/trust/repository.ts';
import { TrustState } from '../../agent/trust/state.ts';
import { type MetadataSource, refreshMetadata, resolveTarget } from '../../agent/trust/updater.ts';
import { createMockFlash, MockFlashMemory } from '../../hal/mock/flash.ts';
import { PowerCut } from '../../hal/mock/power-cut.ts';
import { nodeTrustCrypto } from '../../hal/node/signatures.ts';
import type { Fleet } from '../../server/fleet.ts';
import { fleetTargets, refreshSnapshotAndTimestamp, writeRoot, writeTargets } from '../../server/metadata.ts';

const DAY = 86_400_000;
const ROLES: readonly RoleName[] = ['root', 'targets', 'snapshot', 'timestamp'];

/** Signs the fleet into `<dir>/metadata`; returns the directory and the root to provision devices with. */
export async function signDemoRelease(dir: string, fleet: Fleet, print: (line: string) => void, images: readonly TargetSpec[] = []): Promise<{ metadataDir: string; root: Uint8Array }> {
  const keys = Object.fromEntries(ROLES.map((role) => [role, signingKeyFrom('ed25519', new Uint8Array(randomBytes(32)))])) as Record<RoleName, SigningKey>;
  const metadataDir = join(dir, 'metadata');
  const now = Date.now();
  const roles = Object.fromEntries(ROLES.map((r) => [r, { keys: [{ keyid: keys[r].keyid, public: keys[r].public }], threshold: 1 }])) as Parameters<typeof rootSigned>[0]['roles'];
  const root = envelopeBytes(signEnvelope(rootSigned({ version: 1, expiresMs: now + 365 * DAY, roles }), [keys.root]));
  await writeRoot(metadataDir, 1, root);
  const targets = [...fleetTargets(fleet), ...images];
  await writeTargets(metadataDir, envelopeBytes(signEnvelope(targetsSigned(1, now + 90 * DAY, targets), [keys.targets])));
  await refreshSnapshotAndTimestamp(metadataDir, { snapshot: keys.snapshot, timestamp: keys.timestamp }, now);
  print(`release   signed: root v1 + targets v1 (${targets.length - images.length} package versions${images.length ? `, ${images.length} firmware image${images.length > 1 ? 's' : ''}` : ''}, Ed25519); snapshot/timestamp by the server's keys\n`);
  return { metadataDir, root };
}

/** The device's checks against the manager's /metadata/; true when all pass and the tampered set is refused. */
export async function showDeviceVerification(managerUrl: string, root: Uint8Array, fleet: Fleet, metadataDir: string, print: (line: string) => void): Promise<boolean> {
  const source: MetadataSource = {
    fetch: async (file, maxBytes) => {
      const answer = await fetch(`${managerUrl}/metadata/${file}`);
      if (answer.status === 404) return undefined;
      const bytes = new Uint8Array(await answer.arrayBuffer());
      if (bytes.length > maxBytes) throw new TrustError('tooLarge', `${file} over ${maxBytes} bytes`);
      return bytes;
    },
  };
  const state = await scratchState(root);
  const set = await refreshMetadata(state, source, { rtcMs: Date.now() }, nodeTrustCrypto());
  let matched = 0;
  let total = 0;
  for (const versions of fleet.catalogue.values())
    for (const entry of versions.values()) {
      total++;
      const target = await resolveTarget(set, source, targetPath('package', entry.name, entry.version));
      if (target) {
        checkArtifact(target, { length: entry.size, sha256: entry.digest });
        matched++;
      }
    }
  print(`verified  timestamp v${set.timestamp!.version}, snapshot v${set.snapshot!.version}, targets v${set.targets()!.version}: ${matched}/${total} artifacts match their signed entries ${matched === total ? '✔' : '✘'}\n`);

  // An attacker on the server edits a package's post-install command in targets.json.
  const file = join(metadataDir, 'targets.json');
  const genuine = await readFile(file);
  await writeFile(file, genuine.toString('utf8').replace('"/bin/sh"', '"/bin/ls"'));
  let refused = '';
  try {
    await refreshMetadata(await scratchState(root), source, { rtcMs: Date.now() }, nodeTrustCrypto());
  } catch (error) {
    if (error instanceof TrustError) refused = error.code;
    else throw error;
  } finally {
    await writeFile(file, genuine);
  }
  print(`tampered  post-install command in targets.json: ${refused ? `refused (${refused}) ✔` : 'ACCEPTED ✘'}\n`);
  return matched === total && refused !== '';
}

async function scratchState(root: Uint8Array): Promise<TrustState> {
  const memory = new MockFlashMemory({ blockLength: 4096, writeAlign: 8, partitions: [{ name: 'state', size: 4096 * 64 }] });
  const state = new TrustState(await KeyValueStore.open(await createMockFlash(memory, new PowerCut()).open({ partition: 'state' })));
  await state.provision(root);
  return state;
}
