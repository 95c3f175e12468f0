/**
 * Ready-made `NetFixture`s for the shared Net suite, so every runner (the temporary hal-net-*
 * runners and the main hal-mock / hal-node runners) wires the world the same way:
 *   describeNetSuite(mockNetFixture());  describeNetSuite(nodeNetFixture());
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { createMockNetwork, type MockNetwork } from '../../hal/mock/net.ts';
import { createNodeNet, type NodeNet, type NodeNetOptions } from '../../hal/node/net.ts';
import type { ClosableNet, NetFixture, NetWorld } from '../shared/hal/net.ts';
import { selfSignedCertificate, startHttpServer, type TestHttpServer } from './http-server.ts';
import { freePort, startMosquitto } from './mosquitto.ts';

export interface MockNetFixtureOptions {
  /** Run against this network (e.g. a MockHardware's); a fresh one otherwise. */
  network?: MockNetwork;
  /** The net under test (e.g. a mock device's `net`); default `network.net`. */
  net?: ClosableNet;
  /** The name `net` is attached under, so faults can target it; default `network.net.name`. */
  netName?: string;
}

export function mockNetFixture(options: MockNetFixtureOptions = {}): NetFixture {
  return {
    name: 'mock',
    async setup(): Promise<NetWorld> {
      const network = options.network ?? createMockNetwork({ chunkSize: 16 * 1024 });
      const net = options.net ?? network.net;
      const netName = options.netName ?? network.net.name;
      let servers = 0;
      let nets = 0;
      network.setDns('device.test', 'A', ['10.0.0.7']);
      network.setDomain('example.test');
      return {
        net,
        createNet: () => network.attach({ name: `extra-${++nets}` }),
        async serve(handler) {
          const origin = `http://server-${++servers}.test:8080`;
          network.route(origin, handler);
          return origin;
        },
        // The trailing slash keeps server-1 from matching server-10.
        injectFault: (origin, fault) => void network.fault({ ...fault, url: `${origin}/`, times: 1 }),
        refusedUrl: 'http://nowhere.test:8080/',
        async serveTls(handler) {
          const origin = `https://secure-${++servers}.test`;
          network.route(origin, handler);
          // The certificate is "untrusted" for the net under test only.
          network.fault({ kind: 'tls', url: `${origin}/`, client: netName, times: Infinity });
          return { origin, trustingNet: network.attach({ name: `trusting-${servers}` }) };
        },
        dns: { name: 'device.test', address: '10.0.0.7', missing: 'missing.invalid', domain: 'example.test' },
        mqtt: {
          url: network.brokerUrl,
          refusedUrl: 'mqtt://nowhere.test:1883',
          kick: async (clientId) => void network.disconnectClient(clientId),
        },
        async teardown() {
          await net.close();
        },
      };
    },
  };
}

/** Real sockets on loopback: node:http(s) test servers, a private mosquitto, a temp resolv.conf. */
export function nodeNetFixture(options: NodeNetOptions = {}): NetFixture {
  return {
    name: 'node',
    async setup(): Promise<NetWorld> {
      const dir = await mkdtemp(join(tmpdir(), 'dm-net-'));
      const resolvConfPath = join(dir, 'resolv.conf');
      await writeFile(resolvConfPath, 'nameserver 127.0.0.1\nsearch example.test corp.test\n');
      const [broker, refusedPort, refusedMqttPort] = await Promise.all([startMosquitto(), freePort(), freePort()]);
      const servers = new Map<string, TestHttpServer>();
      const nets: NodeNet[] = [];
      const createNet = (extra: NodeNetOptions = {}): NodeNet => {
        const net = createNodeNet({ resolvConfPath, userAgent: 'dm-agent-test', ...options, ...extra });
        nets.push(net);
        return net;
      };
      return {
        net: createNet(),
        createNet: () => createNet(),
        async serve(handler) {
          const server = await startHttpServer(handler);
          servers.set(server.origin, server);
          return server.origin;
        },
        injectFault(origin, fault) {
          const server = servers.get(origin);
          if (!server) throw new Error(`no test server at ${origin}`);
          server.injectFault(fault);
        },
        refusedUrl: `http://127.0.0.1:${refusedPort}/`,
        async serveTls(handler) {
          const tls = await selfSignedCertificate();
          const server = await startHttpServer(handler, { tls });
          servers.set(server.origin, server);
          return { origin: server.origin, trustingNet: createNet({ ca: tls.cert }) };
        },
        // localhost comes from /etc/hosts through getaddrinfo; .invalid never resolves (RFC 6761).
        dns: { name: 'localhost', address: '127.0.0.1', missing: `missing-${Date.now()}.invalid`, domain: 'example.test' },
        mqtt: {
          url: broker.url,
          refusedUrl: `mqtt://127.0.0.1:${refusedMqttPort}`,
          // A second connection with the same client id takes the session over; mosquitto drops the first.
          async kick(clientId) {
            const usurper = await connectAsync(broker.url, { clientId, clean: true, reconnectPeriod: 0 });
            await usurper.endAsync();
          },
        },
        async teardown() {
          for (const net of nets) net.close();
          await Promise.all([...servers.values()].map((server) => server.close()));
          await broker.stop();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  };
}
