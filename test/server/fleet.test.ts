import { afterEach, describe, expect, it } from 'vitest';
import { packageSpec, resolvePackages, resolveReports } from '../../server/assignments.ts';
import { FleetError, loadFleet, parseDeviceAssignments, readFleetFile } from '../../server/fleet.ts';
import { DEFAULT_ARTIFACTS, type Fixture, defaultFleet, makeFixture, sha256 } from './helpers.ts';

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.cleanup();
  fixture = undefined;
});

async function issuesOf(fleet: unknown, files = DEFAULT_ARTIFACTS): Promise<{ path: string; message: string }[]> {
  fixture = await makeFixture({ fleet: fleet as Record<string, unknown>, files });
  const error = await readFleetFile(fixture.fleetFile).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(FleetError);
  return (error as FleetError).issues;
}

describe('fleet file', () => {
  it('loads, with digest and size computed from the artifact files', async () => {
    fixture = await makeFixture();
    const fleet = await readFleetFile(fixture.fleetFile);
    const hello = fleet.catalogue.get('hello')?.get('2.0.0');
    const bytes = DEFAULT_ARTIFACTS['artifacts/hello-2.0.0.bin']!;
    expect(hello?.digest).toBe(sha256(bytes));
    expect(hello?.size).toBe(bytes.length);
    expect(hello?.path).toBe(`${fixture.dir}/artifacts/hello-2.0.0.bin`);
    expect(fleet.catalogue.get('tools')?.get('1.0.0')?.uninstall?.command).toBe('/bin/sh');
    expect(fleet.catalogue.get('extra')?.get('1.0.0')?.size).toBe(0);
  });

  it('names a missing artifact file, for every one missing', async () => {
    const files = { ...DEFAULT_ARTIFACTS };
    delete files['artifacts/tools.bin'];
    delete files['artifacts/extra.bin'];
    const issues = await issuesOf(defaultFleet(), files);
    expect(issues.map((issue) => issue.path).sort()).toEqual(['packages.extra.1.0.0.file', 'packages.tools.1.0.0.file']);
    expect(issues[0]!.message).toMatch(/artifacts\/(tools|extra)\.bin: no such file/);
  });

  it('refuses unknown keys with their path', async () => {
    const fleet = defaultFleet();
    (fleet.devices as Record<string, Record<string, unknown>>)['dev-1']!.group = ['base'];
    expect(await issuesOf(fleet)).toEqual([{ path: 'devices.dev-1.group', message: expect.stringMatching(/unknown key/) }]);

    const nested = defaultFleet();
    const hello = (nested.packages as Record<string, Record<string, Record<string, Record<string, unknown>>>>).hello!;
    hello['1.0.0']!.postInstall!.timeout = 5;
    expect((await issuesOf(nested))[0]!.path).toBe('packages.hello.1.0.0.postInstall.timeout');
  });

  it('reports every broken cross-reference at once', async () => {
    const fleet = defaultFleet();
    const devices = fleet.devices as Record<string, Record<string, unknown>>;
    devices['dev-1'] = { groups: ['base', 'nope'], packages: [{ name: 'hello', version: '9.9' }, { name: 'ghost', version: '1' }] };
    (fleet.groups as Record<string, { packages: unknown[] }>).beta!.packages.push({ name: 'hello', version: '1.0.0' });
    fleet.defaults = { group: 'missing' };
    const issues = await issuesOf(fleet);
    expect(issues.map((issue) => issue.path)).toEqual([
      'groups.beta.packages[1].name',
      'devices.dev-1.groups[1]',
      'devices.dev-1.packages[0].version',
      'devices.dev-1.packages[1].name',
      'defaults.group',
    ]);
    expect(issues[2]!.message).toMatch(/no version "9.9" of "hello".*have 1\.0\.0, 2\.0\.0/);
  });

  it('checks shapes: a removal has no version, commands need a timeout, report kinds are known', async () => {
    const removal = defaultFleet();
    (removal.devices as Record<string, Record<string, unknown>>)['dev-1']!.packages = [{ name: 'hello', version: '1.0.0', remove: true }];
    expect((await issuesOf(removal))[0]!.path).toBe('devices.dev-1.packages[0].version');
    await fixture?.cleanup();

    const timeout = defaultFleet();
    delete (timeout.packages as Record<string, Record<string, Record<string, Record<string, unknown>>>>).tools!['1.0.0']!.postInstall!.timeoutMs;
    expect((await issuesOf(timeout))[0]).toEqual({ path: 'packages.tools.1.0.0.postInstall.timeoutMs', message: 'missing' });
    await fixture?.cleanup();

    const report = defaultFleet();
    (report.groups as Record<string, Record<string, unknown>>).base!.reports = [{ kind: 'everything' }];
    expect((await issuesOf(report))[0]!.path).toBe('groups.base.reports[0].kind');
  });

  it('says when the file is not JSON or not there', async () => {
    await expect(readFleetFile('/nonexistent/fleet.json')).rejects.toThrow(/cannot read: no such file/);
    fixture = await makeFixture();
    await expect(loadFleet('not a fleet', fixture.dir)).rejects.toThrow(FleetError);
  });
});

describe('package resolution', () => {
  it('applies groups in order, then the device: override, removal, own optional package', async () => {
    fixture = await makeFixture();
    const fleet = await readFleetFile(fixture.fleetFile);
    const dev2 = fleet.devices.get('dev-2')!;
    const specs = resolvePackages(fleet, dev2).map(packageSpec);
    // beta's hello 2.0.0 replaces base's 1.0.0; tools removed for this device; extra its own, optional.
    expect(specs.map((spec) => [spec.name, spec.version, spec.optional])).toEqual([
      ['hello', '2.0.0', false],
      ['extra', '1.0.0', true],
    ]);
    expect(resolvePackages(fleet, fleet.devices.get('dev-1')!).map((r) => `${r.entry.name}@${r.entry.version}`)).toEqual(['hello@1.0.0', 'tools@1.0.0']);
    // Reports: base's and beta's software inventory once, then beta's machine inventory, then the device's own.
    expect(resolveReports(fleet, dev2).map((report) => report.kind)).toEqual(['softwareInventory', 'machineInventory', 'fileCollection']);
  });

  it('checks admin assignments against the catalogue', async () => {
    fixture = await makeFixture();
    const fleet = await readFleetFile(fixture.fleetFile);
    expect(parseDeviceAssignments(fleet, [{ name: 'hello', version: '2.0.0' }])).toEqual([{ name: 'hello', version: '2.0.0', optional: false }]);
    expect(() => parseDeviceAssignments(fleet, [{ name: 'hello', version: '3.0.0' }])).toThrow(/\[0\]\.version: no version "3.0.0"/);
    expect(() => parseDeviceAssignments(fleet, [{ name: 'hello' }])).toThrow(/\[0\]\.version: missing/);
    expect(() => parseDeviceAssignments(fleet, { name: 'hello' })).toThrow(FleetError);
  });
});
