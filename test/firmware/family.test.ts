/**
 * The device update web service family (seeds 002/003) on the mock HAL against the reference
 * service: discovery, where the device is and who is signed in, pending vs approved, the idle
 * reboot, the trial boot, rollback, and what `info` shows.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { putValue } from '../../agent/store/index.ts';
import { FROM, HOUR, MINUTE, type Phone, TO, type UpdateWorld, settle, updateWorld } from './rig.ts';

let world: UpdateWorld | undefined;
afterEach(async () => {
  await world?.cleanup();
  world = undefined;
});

const imageRequests = (w: UpdateWorld, from = 0) => w.network.requests.slice(from).filter((r) => r.url.includes('/images/'));

/** Runs the family until its update is held, reboots when asked, and finishes the job after the reboot. */
async function updateThroughReboot(w: UpdateWorld, phone: Phone): Promise<Phone> {
  await phone.agent.trigger('firmware', 'manual');
  expect(phone.hardware.rebootRequests.length).toBe(1);
  const next = await w.restart(phone);
  await next.agent.trigger('firmware', 'boot');
  return next;
}

describe('firmware family: discovery', () => {
  it('uses the provisioned URLs (internal first, inside the firewall)', async () => {
    world = await updateWorld({ approve: false });
    const { agent } = await world.phone('phone-1');
    await agent.trigger('firmware', 'manual');
    expect(agent.firmware!.last.check).toBe('upToDate'); // pending rules are not for normal devices
    expect(world.checks('phone-1')).toBe(1);
    expect(world.network.requests.at(-1)?.url).toMatch(/^http:\/\/updates\.corp\.test\/ucupdates\/v1\/check$/);
  });

  it('without provisioning and with no user ever signed in, reads the URLs from ucupdates-r2.<DHCP domain>', async () => {
    world = await updateWorld({ approve: false });
    const phone = await world.phone('phone-dns', { config: { firmware: { service: undefined } } });
    await phone.agent.trigger('firmware', 'manual');
    expect(phone.agent.firmware!.last.check).toBe('upToDate');
    expect(world.checks('phone-dns')).toBe(1);

    // Once a user has signed in, the URLs come by provisioning only: DNS is not asked any more.
    phone.hardware.signIn('alice', 'correct horse battery staple');
    await phone.agent.trigger('firmware', 'signIn');
    expect(phone.agent.firmware!.last.check).toBe('noService');
    expect(world.checks('phone-dns')).toBe(1);
    // Provisioning pushed by a manager makes it work again, across a reboot.
    await phone.agent.firmware!.provision(world.service.serviceUrls());
    const again = await world.restart(phone);
    await again.agent.trigger('firmware', 'manual');
    expect(again.agent.firmware!.last.check).toBe('upToDate');
    expect(world.checks('phone-dns')).toBe(2);
  });
});

describe('firmware family: who gets what', () => {
  it('pending updates reach test devices only; approved ones reach every device', async () => {
    world = await updateWorld({ approve: false, testDevices: ['phone-test'] });
    const normal = await world.phone('phone-normal');
    const test = await world.phone('phone-test', { config: { firmware: { testDevice: true } } });
    await normal.agent.trigger('firmware', 'manual');
    await test.agent.trigger('firmware', 'manual');
    expect(normal.agent.firmware!.last.check).toBe('upToDate');
    expect(test.agent.firmware!.last.check).toBe('update');
    world.service.decide(world.ruleId, 'approved');
    await normal.agent.trigger('firmware', 'manual');
    expect(normal.agent.firmware!.last.check).toBe('update');
  });

  it('outside the firewall with no user: not even tried; with a user: over HTTPS with credentials', async () => {
    world = await updateWorld();
    const phone = await world.phone('phone-out');
    phone.hardware.location = 'outside';
    const before = world.network.requests.length;
    await phone.agent.trigger('firmware', 'manual');
    expect(phone.agent.firmware!.last.check).toBe('notTried');
    expect(world.network.requests.length).toBe(before); // nothing sent at all

    phone.hardware.signIn('alice', 'correct horse battery staple');
    await phone.agent.trigger('firmware', 'signIn');
    expect(phone.agent.firmware!.last.check).toBe('update');
    const sent = world.network.requests.slice(before);
    expect(sent[0]?.url).toBe('https://updates.example.test/ucupdates/v1/check');
    expect(sent[0]?.headers.authorization).toMatch(/^Basic /);
    // The image came from the external URL too, with the credentials, over HTTPS only.
    expect(imageRequests(world, before).every((r) => r.url.startsWith('https://') && r.headers.authorization?.startsWith('Basic '))).toBe(true);
    // The password is in no log line and in no store value.
    expect(JSON.stringify(phone.hardware.logs)).not.toContain('correct horse');
    for (const key of phone.agent.store.keys()) expect(new TextDecoder().decode(phone.agent.store.get(key))).not.toContain('correct horse');
  });
});

describe('firmware family: idle reboot, trial boot, rollback', () => {
  it('reboots only after 5 idle minutes (activity restarts the wait), confirms the trial boot and reports once', async () => {
    world = await updateWorld();
    let phone = await world.phone('phone-idle');
    const run = phone.agent.run();
    await settle(world.clock);
    expect(phone.agent.firmware!.last.check).toBe('update'); // at boot
    expect(phone.hardware.rebootRequests.length).toBe(0); // held: the device was not idle long enough
    await world.clock.advance(4 * MINUTE);
    await settle(world.clock);
    phone.hardware.activity(); // the user touches the phone: the 5 minutes start again
    await world.clock.advance(4 * MINUTE);
    await settle(world.clock);
    expect(phone.hardware.rebootRequests.length).toBe(0);
    await world.clock.advance(1 * MINUTE + 1000);
    await settle(world.clock);
    expect(phone.hardware.rebootRequests.length).toBe(1);
    expect(phone.hardware.rebootRequests[0]!.utcMs - phone.hardware.clock.startUtcMs).toBeGreaterThanOrEqual(9 * MINUTE);
    phone.agent.stop();
    await run;

    phone = await world.restart(phone);
    expect((await phone.hardware.device!.update.status()).confirmed).toBe(false); // trial boot
    await phone.agent.trigger('firmware', 'boot');
    const status = await phone.hardware.device!.update.status();
    expect(status.confirmed).toBe(true);
    const info = await phone.agent.firmware!.info();
    expect(info.version).toBe(TO);
    expect(info.lastUpdateUtcMs).toBeGreaterThan(0);
    expect(world.results('phone-idle')).toEqual([expect.objectContaining({ outcome: 'installed', toVersion: TO, runningVersion: TO })]);
    expect(phone.agent.info().families.find((f) => f.name === 'firmware')?.details).toMatchObject({ version: TO });
    // Persisted: still there after another reboot.
    phone = await world.restart(phone);
    expect(await phone.agent.firmware!.info()).toMatchObject({ version: TO, lastUpdateUtcMs: info.lastUpdateUtcMs });
    await phone.agent.close();
  });

  it('a maximum deferral forces the reboot on a device that is never idle', async () => {
    world = await updateWorld();
    const phone = await world.phone('phone-busy', { config: { firmware: { maxDeferralMs: HOUR } } });
    const run = phone.agent.run();
    await settle(world.clock);
    for (let minute = 0; minute < 59; minute++) {
      phone.hardware.activity();
      await world.clock.advance(MINUTE);
      await settle(world.clock, 3);
    }
    expect(phone.hardware.rebootRequests.length).toBe(0);
    phone.hardware.activity();
    await world.clock.advance(2 * MINUTE);
    await settle(world.clock);
    expect(phone.hardware.rebootRequests.length).toBe(1);
    phone.agent.stop();
    await run;
    await phone.agent.close();
  });

  it('an unhealthy image is rolled back and the rollback is reported', async () => {
    world = await updateWorld();
    const config = { firmware: { service: world.service.serviceUrls(), idleRebootMs: 0, healthCheck: { command: '/bin/health' } } };
    let phone = await world.phone('phone-sick', { config });
    phone.hardware.onExec('/bin/health', async () => ({ exitCode: 1, output: 'service down' }));
    phone = await updateThroughReboot(world, phone); // health check fails: rollback requested
    expect(phone.hardware.rebootRequests.length).toBe(2);
    phone = await world.restart(phone);
    await phone.agent.trigger('firmware', 'boot');
    const status = await phone.hardware.device!.update.status();
    expect(status.confirmed).toBe(true);
    expect((await phone.agent.firmware!.info()).version).toBe(FROM);
    expect(world.results('phone-sick')).toEqual([expect.objectContaining({ outcome: 'rolledBack', runningVersion: FROM })]);
    await phone.agent.close();
  });

  it('an image that never comes up is rolled back by the bootloader after N boots, and reported', async () => {
    world = await updateWorld();
    let phone = await world.phone('phone-dead', { config: { firmware: { idleRebootMs: 0 } }, bootCountLimit: 3 });
    await phone.agent.trigger('firmware', 'manual');
    expect(phone.hardware.rebootRequests.length).toBe(1);
    await phone.agent.close();
    // The new image crashes before the agent starts: the bootloader counts the boots.
    for (let boot = 0; boot < 3; boot++) {
      phone.hardware.reboot();
      await phone.hardware.booted;
    }
    phone = await world.restart(phone);
    await phone.agent.trigger('firmware', 'boot');
    expect((await phone.hardware.device!.update.status()).confirmed).toBe(true);
    expect((await phone.agent.firmware!.info()).version).toBe(FROM);
    expect(world.results('phone-dead')).toEqual([expect.objectContaining({ outcome: 'rolledBack', runningVersion: FROM })]);
    await phone.agent.close();
  });

  it('a download record this agent cannot read is set aside and the image downloaded again', async () => {
    world = await updateWorld();
    let phone = await world.phone('phone-odd');
    await phone.agent.trigger('firmware', 'manual'); // downloaded and held (the device is not idle)
    expect(phone.agent.store.has('firmware/job/download')).toBe(true);
    await putValue(phone.agent.store, 'firmware/job/download', { table: 'pipeline', version: 99, state: 'warping', context: {}, storeCount: 1 });
    phone = await world.restart(phone);
    const before = imageRequests(world).length;
    await phone.agent.trigger('firmware', 'recheck');
    expect(phone.agent.store.keys('setAside/')).toHaveLength(1);
    expect(imageRequests(world, 0).length).toBeGreaterThan(before); // downloaded again
    expect(phone.agent.info().families.find((f) => f.name === 'firmware')?.details).toMatchObject({ update: 'downloading' });
    await phone.agent.close();
  });

  it('an image URL that keeps failing falls back to the other one', async () => {
    world = await updateWorld();
    // The loop below advances virtual time in 30 s steps to get through the backoff; a live request
    // must not time out under those jumps (that would spend attempts on the URL that works), and the
    // held image must not reach its idle reboot while the trigger's last steps run (under load they
    // can take more than ten loop steps: the job was found 'rebooting').
    const phone = await world.phone('phone-fallback', { config: { firmware: { idleRebootMs: 3_600_000, download: { maxAttempts: 2, checkpointBytes: 4096, timeoutMs: 3_600_000 } } } });
    phone.hardware.signIn('alice', 'correct horse battery staple'); // the external URL needs a user
    world.network.fault({ kind: 'status', status: 503, url: 'http://updates.corp.test/ucupdates/v1/images/', times: Infinity });
    const before = world.network.requests.length;
    let done = false;
    const run = phone.agent.trigger('firmware', 'manual').finally(() => (done = true));
    for (let step = 0; step < 50 && !done; step++) {
      await world.clock.advance(30_000); // the download's backoff between attempts
      await settle(world.clock, 3);
    }
    await run;
    const images = imageRequests(world, before);
    expect(images.filter((r) => r.url.startsWith('http://updates.corp.test'))).toHaveLength(2); // both attempts on the internal URL
    expect(images.at(-1)?.url.startsWith('https://updates.example.test')).toBe(true);
    expect(phone.agent.info().families.find((f) => f.name === 'firmware')?.details).toMatchObject({ update: 'downloading' }); // held, image complete
    expect(phone.agent.store.get('firmware/job/download')).toBeDefined();
    await phone.agent.close();
  });
});
