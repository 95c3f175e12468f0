// The reference server and the CLI with keys that name Object.prototype members: a typed 4xx (or
// usage error), never a 500 with a stack or a raw TypeError.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFleetFile, loadFleet, FleetError } from '../../server/fleet.ts';
import { type RunningManager, startServer } from '../../server/http.ts';
import { main } from '../../cli/main.ts';
import { ADMIN_TOKEN, type Fixture, defaultFleet, getJson, makeFixture, postCbor, softwareInventory } from './helpers.ts';

let fixture: Fixture;
let server: RunningManager;

beforeAll(async () => {
  fixture = await makeFixture();
  server = await startServer({ deviceAuth: 'off', fleet: await readFleetFile(fixture.fleetFile), maxBodyBytes: 64 * 1024, adminToken: ADMIN_TOKEN, faults: true });
});
afterAll(async () => {
  await server?.close();
  await fixture?.cleanup();
});

const KEYS = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];

describe('prototype-member keys at the reference server', () => {
  it.each(KEYS)('a report of kind %s is a 400 badMessage', async (kind) => {
    const { status, answer } = await postCbor(server.url, '/dm/v1/report', { ...softwareInventory('dev-1'), kind });
    expect(status).toBe(400);
    expect(answer).toMatchObject({ type: 'error', code: 'badMessage' });
    expect(JSON.stringify(answer)).not.toMatch(/TypeError|is not a function|\n\s+at /);
  });

  it.each(KEYS)('an unknown key %s in a request is dropped or refused, never a 500', async (key) => {
    const body = JSON.parse(JSON.stringify(softwareInventory('dev-1')).replace(/^\{/, `{${JSON.stringify(key)}:{"x":1},`));
    const { status } = await postCbor(server.url, '/dm/v1/report', body);
    expect(status).toBeLessThan(500);
  });

  it.each(KEYS)('a fault of kind %s is a 400, not a 500', async (kind) => {
    const { status, json } = await getJson(`${server.url}/api/faults`, { method: 'POST', body: { kind } });
    expect(status).toBe(400); // authorised and enabled: the kind itself is what is refused
    expect(json).toMatchObject({ error: { code: 'badMessage' } });
    expect(JSON.stringify(json)).not.toMatch(/TypeError|is not a function/);
  });

  it.each(KEYS)('the protocol endpoint /dm/v1/%s is a 404', async (name) => {
    const { status } = await postCbor(server.url, `/dm/v1/${name}`, {});
    expect(status).toBe(404);
  });

  it.each(KEYS)('a fleet whose report kind is %s is a FleetError', async (kind) => {
    const fleet = defaultFleet() as { groups: Record<string, { reports?: unknown[] }> };
    fleet.groups.base!.reports = [{ kind }];
    await expect(loadFleet(fleet, fixture.dir)).rejects.toBeInstanceOf(FleetError);
  });
});

describe('prototype-member keys at the CLI', () => {
  it.each(KEYS)('`dm-agent %s` is an unknown command (exit 2)', async (name) => {
    let stderr = '';
    const code = await main([name], { stdout: () => undefined, stderr: (text) => void (stderr += text) });
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command');
  });
});
