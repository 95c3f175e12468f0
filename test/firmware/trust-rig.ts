/** Signed metadata for the firmware rig's image: a TUF repository served at http://tuf.test/metadata/. */
import { targetPath } from '../../agent/trust/artifact.ts';
import type { TargetCustom } from '../../agent/trust/metadata.ts';
import { TrustState } from '../../agent/trust/state.ts';
import { utf8Decode } from '../../agent/util/bytes.ts';
import { TestRepo, sha256Hex } from '../trust/fixture.ts';
import { MODEL, type Phone, TO, type UpdateWorld } from './rig.ts';

/** A repository signing the world's image (with `custom` overrides), routed on the world's network. */
export function signImage(w: UpdateWorld, custom: Partial<TargetCustom> = {}): TestRepo {
  const repo = new TestRepo();
  repo.specs.push({ path: targetPath('image', MODEL, TO), length: w.image.length, sha256: sha256Hex(w.image), custom: { version: TO, hardware: [MODEL], ...custom } });
  repo.publish();
  w.network.route('http://tuf.test', repo.handler());
  return repo;
}

export const trustConfig = (repo: TestRepo) => ({ trust: { root: utf8Decode(repo.rootBytes()), metadataUrl: 'http://tuf.test/metadata/' } });

/** The image's persisted anti-rollback minimum. */
export const imageMinimum = (phone: Phone) => new TrustState(phone.agent.store).minimum('image', MODEL);
