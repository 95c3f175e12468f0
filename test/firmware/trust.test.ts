/**
 * Signed metadata on the update service family (mock HAL, the reference update service): the image
 * must be `images/<model>/<version>` in signed targets; a refusal goes out as the family's result
 * report (outcome failed, detail `trust:<code>`) and the inactive slot is never activated; the
 * image's anti-rollback minimum is raised only when the new image is committed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { targetPath } from '../../agent/trust/artifact.ts';
import { putValue } from '../../agent/store/index.ts';
import { TestRepo } from '../trust/fixture.ts';
import { imageMinimum, signImage, trustConfig } from './trust-rig.ts';
import { FROM, MODEL, type Phone, TO, type UpdateWorld, updateWorld } from './rig.ts';

let world: UpdateWorld | undefined;
afterEach(async () => {
  await world?.cleanup();
  world = undefined;
});

const minimum = imageMinimum;

function detail(w: UpdateWorld, deviceId: string): string | undefined {
  const entry = w.service.journal().find((e) => e.type === 'report' && e.report.deviceId === deviceId) as { report: { outcome: string; detail?: string } } | undefined;
  return entry ? `${entry.report.outcome} ${entry.report.detail ?? ''}` : undefined;
}

/** One run that must refuse the offered image: reported as failed with `code`, the slot untouched. */
async function refused(w: UpdateWorld, phone: Phone, code: string): Promise<void> {
  const before = await phone.hardware.device!.update.status();
  await phone.agent.trigger('firmware', 'manual');
  expect(phone.hardware.rebootRequests).toEqual([]);
  const status = await phone.hardware.device!.update.status();
  expect(status.pending).toBeUndefined();
  expect(status.active).toBe(before.active);
  expect((await phone.agent.firmware!.info()).version).toBe(FROM);
  expect(detail(w, (await phone.hardware.device!.system.identity()).deviceId)).toMatch(new RegExp(`^failed ${code}`));
  expect(minimum(phone)).toBeUndefined();
}

describe('firmware family: signed images', () => {
  it('installs a signed image; the minimum goes up with the commit, not before', async () => {
    world = await updateWorld();
    const repo = signImage(world);
    let phone = await world.phone('fw-signed', { config: { firmware: { idleRebootMs: 0 }, ...trustConfig(repo) } });
    await phone.agent.trigger('firmware', 'manual');
    expect(phone.hardware.rebootRequests.length).toBe(1);
    expect(minimum(phone)).toBeUndefined(); // activated, not committed
    phone = await world.restart(phone);
    await phone.agent.trigger('firmware', 'boot');
    expect((await phone.agent.firmware!.info()).version).toBe(TO);
    expect(minimum(phone)).toBe(TO);
    expect(world.results('fw-signed')).toEqual([expect.objectContaining({ outcome: 'installed', runningVersion: TO })]);
    await phone.agent.close();
  });

  it('an image not signed for this hardware is refused and reported', async () => {
    world = await updateWorld();
    const phone = await world.phone('fw-hw', { config: { firmware: { idleRebootMs: 0 }, ...trustConfig(signImage(world, { hardware: ['CX700'] })) } });
    await refused(world, phone, 'trust:hardware');
    await phone.agent.close();
  });

  it('an image the targets do not name (the service offers it anyway) is refused', async () => {
    world = await updateWorld();
    const repo = new TestRepo();
    repo.publish();
    world.network.route('http://tuf.test', repo.handler());
    const phone = await world.phone('fw-arbitrary', { config: { firmware: { idleRebootMs: 0 }, ...trustConfig(repo) } });
    await refused(world, phone, 'trust:unknownTarget');
    await phone.agent.close();
  });

  it('a downgrade below the persisted minimum is refused', async () => {
    world = await updateWorld();
    const phone = await world.phone('fw-down', { config: { firmware: { idleRebootMs: 0 }, ...trustConfig(signImage(world)) } });
    await putValue(phone.agent.store, `trust/min/image/${MODEL}`, '5.0.0'); // an earlier update committed 5.0.0
    await phone.agent.trigger('firmware', 'manual');
    expect(phone.hardware.rebootRequests).toEqual([]);
    expect(detail(world, 'fw-down')).toMatch(/^failed trust:downgrade/);
    expect(minimum(phone)).toBe('5.0.0');
    await phone.agent.close();
  });

  it('the image is verified against the signed digest, not the service\'s', async () => {
    world = await updateWorld();
    const repo = new TestRepo();
    repo.specs.push({ path: targetPath('image', MODEL, TO), length: world.image.length, sha256: 'cd'.repeat(32), custom: { version: TO, hardware: [MODEL] } });
    repo.publish();
    world.network.route('http://tuf.test', repo.handler());
    const phone = await world.phone('fw-digest', { config: { firmware: { idleRebootMs: 0 }, ...trustConfig(repo) } });
    await refused(world, phone, '');
    expect(detail(world, 'fw-digest')).toMatch(/digest/);
    await phone.agent.close();
  });
});
