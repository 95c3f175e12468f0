// `--ca` / `createNodeNet({ ca })` is an extra trust anchor: the system roots stay trusted (a
// public CDN serving artifacts must still verify) and the private CA is trusted too; nothing else.
import https from 'node:https';
import tls from 'node:tls';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createNodeNet, type NodeNet } from '../hal/node/net.ts';
import { startHttpServer, type TestHttpServer } from './support/http-server.ts';
import { generateCertificates } from './support/tls.ts';

const ok = async () => ({ status: 200, body: new TextEncoder().encode('ok') });

describe('node HAL: an extra CA adds to the system roots', () => {
  const nets: NodeNet[] = [];
  const servers: TestHttpServer[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const net of nets.splice(0)) net.close();
    for (const server of servers.splice(0)) await server.close();
  });

  it('the HTTPS trust store is every system root plus the given CA', () => {
    const agents = vi.spyOn(https, 'Agent');
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    nets.push(createNodeNet({ ca: pem }));
    const options = agents.mock.calls.at(-1)?.[0] as https.AgentOptions;
    const ca = (Array.isArray(options.ca) ? options.ca : [options.ca]).map(String);
    expect(tls.rootCertificates.length).toBeGreaterThan(50);
    for (const root of tls.rootCertificates) expect(ca).toContain(root);
    expect(ca).toContain(pem);
    expect(ca).toHaveLength(tls.rootCertificates.length + 1);
    // Without --ca Node's default store applies untouched.
    nets.push(createNodeNet());
    expect((agents.mock.calls.at(-1)?.[0] as https.AgentOptions).ca).toBeUndefined();
  });

  it('trusts a server of the given CA, and still refuses one signed by another private CA', async () => {
    const [mine, other] = await Promise.all([generateCertificates(), generateCertificates()]);
    const trusted = await startHttpServer(ok, { tls: { cert: mine.cert, key: mine.key } });
    const stranger = await startHttpServer(ok, { tls: { cert: other.cert, key: other.key } });
    servers.push(trusted, stranger);
    const net = createNodeNet({ ca: mine.ca });
    nets.push(net);
    const response = await net.http.request({ method: 'GET', url: `${trusted.origin}/`, timeoutMs: 5000 });
    expect(response.status).toBe(200);
    await response.bytes();
    await expect(net.http.request({ method: 'GET', url: `${stranger.origin}/`, timeoutMs: 5000 })).rejects.toMatchObject({ name: 'NetworkError', code: 'tls' });
    // Bytes work like text.
    const bytesNet = createNodeNet({ ca: new TextEncoder().encode(mine.ca) });
    nets.push(bytesNet);
    expect((await bytesNet.http.request({ method: 'GET', url: `${trusted.origin}/`, timeoutMs: 5000 })).status).toBe(200);
  });
});
