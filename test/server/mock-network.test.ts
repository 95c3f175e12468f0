/**
 * The manager mounted on the agent's in-process mock network (no sockets): the handler shapes
 * match, artifacts stream through the mock client, and the reset fault reaches the client as the
 * mock network's own `NetworkError('reset')`, resumable with Range.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXCHANGES, type Instruction, type Location } from '../../agent/delivery/messages.ts';
import { decodeCbor, encodeCbor } from '../../agent/util/cbor.ts';
import { NetworkError } from '../../hal/errors.ts';
import { type MockHttpHandler, type MockNetwork, createMockNetwork } from '../../hal/mock/net.ts';
import { readFleetFile } from '../../server/fleet.ts';
import { type Manager, createManager } from '../../server/manager.ts';
import { bearerHeader } from '../../server/auth.ts';
import { DEFAULT_ARTIFACTS, type Fixture, identifyRequest, instructionRequest, locationRequest, makeFixture } from './helpers.ts';

const ORIGIN = 'http://manager.test:8080';
const HELLO = DEFAULT_ARTIFACTS['artifacts/hello-1.0.0.bin']!;
let fixture: Fixture;
let manager: Manager;
let network: MockNetwork;

beforeAll(async () => {
  fixture = await makeFixture();
  manager = createManager({ deviceAuth: 'off', fleet: await readFleetFile(fixture.fleetFile), address: ORIGIN, faults: true });
  network = createMockNetwork({ chunkSize: 1024 });
  const handler: MockHttpHandler = manager.handle;
  network.route(ORIGIN, handler);
});
afterAll(async () => {
  await fixture?.cleanup();
});

async function post(path: string, value: unknown): Promise<unknown> {
  const response = await network.net.http.request({ method: 'POST', url: `${ORIGIN}${path}`, headers: { 'content-type': 'application/cbor' }, body: encodeCbor(value) });
  expect(response.status).toBe(200);
  return decodeCbor(await response.bytes());
}

async function locate(): Promise<string> {
  const instruction = (await post('/dm/v1/instruction', instructionRequest('dev-1', 'hello', '1.0.0'))) as Instruction;
  return ((await post('/dm/v1/location', locationRequest('dev-1', instruction.locationToken))) as Location).url;
}

describe('manager on the mock network', () => {
  it('answers the protocol and serves artifacts', async () => {
    const list = EXCHANGES.identify.answer.parse(await post('/dm/v1/identify', identifyRequest('dev-1')));
    expect(list.manager.address).toBe(ORIGIN);
    const response = await network.net.http.request({ method: 'GET', url: await locate() });
    expect(response.headers['accept-ranges']).toBe('bytes');
    expect(Buffer.from(await response.bytes()).equals(Buffer.from(HELLO))).toBe(true);
  });

  it('a reset fault cuts the stream with NetworkError reset; Range resumes it', async () => {
    const fault = await network.net.http.request({
      method: 'POST',
      url: `${ORIGIN}/api/faults`,
      headers: { 'content-type': 'application/json', ...bearerHeader(manager.adminToken) },
      body: new TextEncoder().encode(JSON.stringify({ kind: 'reset', artifact: 'hello@1.0.0', afterBytes: 3000 })),
    });
    expect(fault.status).toBe(201);
    const url = await locate();
    const first = await network.net.http.request({ method: 'GET', url });
    const parts: Uint8Array[] = [];
    let failure: unknown;
    try {
      for await (const chunk of first.body) parts.push(chunk);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(NetworkError);
    expect((failure as NetworkError).code).toBe('reset');
    const head = Buffer.concat(parts);
    expect(head.length).toBe(3000);
    const rest = await network.net.http.request({ method: 'GET', url, headers: { range: `bytes=${head.length}-` } });
    expect(rest.status).toBe(206);
    expect(Buffer.concat([head, await rest.bytes()]).equals(Buffer.from(HELLO))).toBe(true);
  });
});
