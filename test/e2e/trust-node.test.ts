/**
 * Signed metadata on the Node HAL over loopback: the reference manager serves the release's
 * metadata at `/metadata/` next to its artifacts (signed with `dm-agent release sign`'s code,
 * snapshot/timestamp refreshed with the server's keys), and the device reads it from its default
 * location `<manager>/metadata/`. Then the two attacks only a real socket shows: a metadata server
 * that trickles bytes (slow retrieval: the request deadline ends it, the job waits, nothing is
 * installed) and one that streams without end (endless data: the length cap refuses it).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signDemoRelease } from '../../cli/demo/trust.ts';
import { TrustState } from '../../agent/trust/state.ts';
import { utf8Decode } from '../../agent/util/bytes.ts';
import { type Rig, api, newRig, nodeAgent, startFleetManager } from './harness.ts';

let rig: Rig;
const servers: Server[] = [];
beforeEach(async () => {
  rig = await newRig();
});
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await rig.cleanup();
});

async function signedManager(deviceIds: string[]) {
  let root: Uint8Array | undefined;
  const server = await startFleetManager(rig, {
    deviceIds,
    metadata: async (fleet) => {
      const release = await signDemoRelease(join(rig.dir, 'release'), fleet, () => {});
      root = release.root;
      return release.metadataDir;
    },
  });
  return { server, root: utf8Decode(root!) };
}

/** A metadata server that answers every request with `respond`. */
async function metadataServer(respond: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(respond);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metadata/`;
}

describe('signed metadata over loopback (Node HAL)', () => {
  it('verifies the manager\'s /metadata/ and installs exactly the signed packages, raising their minimums', async () => {
    const { server, root } = await signedManager(['trust-1']);
    const { agent } = await nodeAgent(rig, { deviceId: 'trust-1', manager: server.url, config: { trust: { root } } });
    const summary = await agent.pollOnce();
    expect(summary.failed).toEqual([]);
    expect(summary.installed.sort()).toEqual(['base-config@1.0.0', 'diagnostics@0.9.0', 'telemetry@1.0.0', 'ui-fonts@2.3.0']);
    const state = new TrustState(agent.store);
    expect(state.minimum('package', 'telemetry')).toBe('1.0.0');
    expect(agent.store.get('trust/repo/delivery/role/timestamp')).toBeDefined();
    const history = await api<any[]>(server, 'GET', '/api/devices/trust-1/status');
    expect(history.filter((s) => s.outcome === 'failure')).toEqual([]);
  });

  it('slow retrieval: a metadata server trickling bytes is cut off by the request deadline; nothing is installed', async () => {
    const { server, root } = await signedManager(['trust-2']);
    const timers: NodeJS.Timeout[] = [];
    const url = await metadataServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '4000' });
      timers.push(setInterval(() => response.write(' '), 100)); // always progress, never done
    });
    try {
      const { agent } = await nodeAgent(rig, { deviceId: 'trust-2', manager: server.url, config: { trust: { root, metadataUrl: url, requestTimeoutMs: 1000, requestDeadlineMs: 1500 } } });
      await expect(agent.pollOnce()).rejects.toThrow(/stopped in locating: network/); // waits for the next poll
      expect(agent.delivery!.db.list()).toEqual([]);
      expect(new TrustState(agent.store).minimum('package', 'telemetry')).toBeUndefined();
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
  });

  it('endless data: metadata streamed without end is refused at its length cap', async () => {
    const { server, root } = await signedManager(['trust-3']);
    const url = await metadataServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!response.destroyed && response.write(chunk));
        if (!response.destroyed) response.once('drain', pump);
      };
      pump();
    });
    const { agent } = await nodeAgent(rig, { deviceId: 'trust-3', manager: server.url, config: { trust: { root, metadataUrl: url } } });
    const summary = await agent.pollOnce();
    expect(summary.installed).toEqual([]);
    expect(new Set(summary.failed.map((f) => f.reason.split(':').slice(0, 2).join(':')))).toEqual(new Set(['trust:tooLarge']));
    expect(agent.delivery!.db.list()).toEqual([]);
  });
});
