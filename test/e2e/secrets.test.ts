// Secrets in output, end to end: a manager URL with credentials and signed artifact URLs
// (`sig=`) must not appear in any log line (debug level, every component), delivery event, cycle
// summary, status report the manager stored, thrown error (message, stack, causes) or anything
// the CLI prints — while the redacted form shows the URLs were there to leak.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type DeliveryEvent, createAgent } from '../../agent/index.ts';
import { TransportError } from '../../agent/transport/http.ts';
import { createNodeDevice } from '../../hal/node/index.ts';
import type { LogRecord } from '../../hal/types.ts';
import { run } from '../../cli/commands/run.ts';
import { freePort } from '../support/mosquitto.ts';
import { type Rig, acceptOnAll, api, issuedTokens, newRig, sim, startFleetManager } from './harness.ts';

const PASSWORD = 'Pa55-w0rd-never-print-me';

let rig: Rig;
beforeEach(async () => {
  rig = await newRig();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rig.cleanup();
});

/** Everything an error carries that a log or a terminal could show: messages, stacks, causes. */
function errorText(error: unknown, depth = 4): string {
  if (!(error instanceof Error) || depth === 0) return String(error);
  return `${error.message}\n${error.stack ?? ''}\n${errorText((error as { cause?: unknown }).cause, depth - 1)}`;
}

async function agentFor(deviceId: string, manager: string, lines: LogRecord[], events: DeliveryEvent[]) {
  const device = await createNodeDevice({
    workDir: join(rig.dir, `work-${deviceId}`),
    board: sim,
    identity: { deviceId, model: 'sim' },
    log: { level: 'debug', sink: (record) => lines.push(record) },
  });
  rig.devices.push(device);
  await acceptOnAll(rig, device);
  const agent = await createAgent(device, sim, { logLevel: 'debug', trust: { allowUnsigned: true }, delivery: { manager, allowInsecure: true, download: { corruptRetries: 1, checkpointBytes: 64 * 1024 } } }, { onDeliveryEvent: (event) => events.push(event) });
  rig.agents.push(agent);
  return agent;
}

describe('no credentials or URL signatures in output', () => {
  it('logs, events, summaries, status reports, errors and CLI output are all redacted', async () => {
    const server = await startFleetManager(rig, { deviceIds: ['sec-1', 'sec-2', 'sec-3'] });
    // The device tokens the manager hands out are secrets too: remember them to look for them.
    const tokens = issuedTokens(server);
    // Both downloads of telemetry fail verification: the failure message quotes the signed URL.
    await api(server, 'POST', '/api/faults', { kind: 'corrupt', artifact: 'telemetry@1.0.0', times: 2 });
    const port = new URL(server.url).port;
    const lines: LogRecord[] = [];
    const events: DeliveryEvent[] = [];

    const agent = await agentFor('sec-1', `http://agent:${PASSWORD}@127.0.0.1:${port}`, lines, events);
    const summary = await agent.pollOnce();
    expect(summary.failed.map((failure) => failure.name)).toEqual(['telemetry']);
    const statuses = await api<unknown[]>(server, 'GET', '/api/devices/sec-1/status');

    // A manager that is not there: the error names it.
    const deadPort = await freePort();
    const dead = `http://agent:${PASSWORD}@127.0.0.1:${deadPort}`;
    const unreachable = await agentFor('sec-2', dead, lines, events);
    const error = await unreachable.pollOnce().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(TransportError);

    // The CLI with the same dead manager: what it prints, and what the HAL logs to stderr.
    const dir = join(rig.dir, 'cli');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'board.json'), JSON.stringify(sim));
    await writeFile(join(dir, 'config.json'), JSON.stringify({ logLevel: 'debug', trust: { allowUnsigned: true }, delivery: { manager: dead, allowInsecure: true } }));
    const printed: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
    const code = await run(['--board', join(dir, 'board.json'), '--config', join(dir, 'config.json'), '--once', '--device-id', 'sec-3', '--work-dir', join(dir, 'work')], {
      stdout: (text) => printed.push(text),
      stderr: (text) => printed.push(text),
    });
    stderr.mockRestore();
    expect(code).not.toBe(0);

    const everything = [JSON.stringify(lines), JSON.stringify(events), JSON.stringify(summary), JSON.stringify(statuses), errorText(error), printed.join('')].join('\n');
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toMatch(/sig=(?!REDACTED)/);
    expect(tokens.length).toBeGreaterThan(0);
    for (const token of tokens) expect(everything).not.toContain(token.split('.')[1]);
    // The secrets were there to leak: their redacted forms are what got through.
    expect(everything).toContain('http://REDACTED@127.0.0.1');
    expect(everything).toMatch(/sig=REDACTED/);
    expect(printed.join('')).toContain(`127.0.0.1:${deadPort}`);
  });
});

describe('the reference server logs and errors redact URLs', () => {
  it('a release naming a new manager with credentials is logged redacted', async () => {
    const { createManager, loadFleet } = await import('../../server/index.ts');
    const { writeDemoFleet } = await import('../../cli/demo/fixture.ts');
    const { encodeCbor } = await import('../../agent/util/cbor.ts');
    const fleetDir = join(rig.dir, 'log-manager');
    const fleet = await loadFleet(await writeDemoFleet(fleetDir, rig.installRoot, ['sec-4']), fleetDir);
    const lines: string[] = [];
    const peerSecret = 'peer-secret-of-32-characters-xxxx';
    // The protocol requests below carry no device token: this test is about the server's log.
    const manager = createManager({ fleet, address: 'http://127.0.0.1:9', log: (line) => lines.push(line), peerSecret, deviceAuth: 'off' });
    const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const answer = await manager.handle({ method: 'POST', url: `http://127.0.0.1:9/dm/v1/${path}`, headers: { 'content-type': 'application/cbor', ...headers }, body: encodeCbor(body) });
      expect(answer.status, path).toBe(200);
    };
    const identity = { deviceId: 'sec-4', model: 'sim', oem: 'o', hardwareId: 'h', firmwareVersion: '1', locale: 'en' };
    const counter = Date.now();
    await post('identify', { type: 'identify', protocol: 1, agentVersion: '0.1.0', platform: 'test', identity, targets: [{ id: 'sec-4', kind: 'device' }] });
    await post('connection', { type: 'connection', deviceId: 'sec-4', referenceCounter: counter, targets: [{ id: 'sec-4', kind: 'device' }], installed: [] });
    await post('targets/sec-4/release', { type: 'release', target: 'sec-4', movedTo: `http://peer:${PASSWORD}@127.0.0.1:7/`, referenceCounter: counter }, { authorization: `Bearer ${peerSecret}` });
    expect(lines.join('\n')).toContain('released sec-4 to http://REDACTED@127.0.0.1:7');
    expect(lines.join('\n')).not.toContain(PASSWORD);
  });

  it('a peer URL with credentials is refused without repeating them', async () => {
    const { createManager, loadFleet } = await import('../../server/index.ts');
    const { writeDemoFleet } = await import('../../cli/demo/fixture.ts');
    const fleetDir = join(rig.dir, 'peer-manager');
    const fleet = await loadFleet(await writeDemoFleet(fleetDir, rig.installRoot, ['sec-5']), fleetDir);
    const error = (() => {
      try {
        createManager({ fleet, address: 'http://127.0.0.1:9', peerSecret: 'peer-secret-of-32-characters-xxxx', peers: [`http://peer:${PASSWORD}@127.0.0.1:7`] });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(Error);
    expect(errorText(error)).toContain('REDACTED@127.0.0.1:7');
    expect(errorText(error)).not.toContain(PASSWORD);
  });
});
