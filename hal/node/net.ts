/**
 * Networking for the Node HAL (Linux boards, QEMU, the simulator): HTTP(S) over node:http/https,
 * DNS over node:dns, MQTT over mqtt.js. Every failure surfaces as a `NetworkError` with a contract
 * code, so the agent's retry logic behaves the same here as against the mock network.
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { ClosedError, InvalidOptionsError } from '../errors.ts';
import type { Net } from '../types.ts';
import { NodeDns } from './net-dns.ts';
import { NodeHttpClient } from './net-http.ts';
import { NodeMqtt } from './net-mqtt.ts';

export interface NodeNetOptions {
  /**
   * Extra trust anchor(s) (PEM) for HTTPS, e.g. a private manager CA: trusted in addition to the
   * system roots, not instead of them (a public CDN serving artifacts must still verify).
   */
  ca?: string | Uint8Array;
  /** Verify server certificates (default true). Only ever false in tests. */
  rejectUnauthorized?: boolean;
  /** Trust anchor (PEM) for mqtts:// brokers. */
  mqttCa?: string | Uint8Array;
  /** Sent as User-Agent unless a request sets its own. */
  userAgent?: string;
  /** Where `dns.domain()` reads the search domain (default /etc/resolv.conf). */
  resolvConfPath?: string;
}

export interface NodeNet extends Net {
  /** Idempotent. Aborts in-flight requests, closes broker connections; later calls throw `ClosedError`. */
  close(): void;
}

export function createNodeNet(options: NodeNetOptions = {}): NodeNet {
  validateOptions(options);
  let closed = false;
  const ensureOpen = (): void => {
    if (closed) throw new ClosedError('net');
  };
  const rejectUnauthorized = options.rejectUnauthorized ?? true;
  // Keep-alive pools: a resumed download or a polling loop reuses its connection.
  const httpAgent = new http.Agent({ keepAlive: true });
  const httpsAgent = new https.Agent({
    keepAlive: true,
    rejectUnauthorized,
    ...(options.ca !== undefined ? { ca: withSystemRoots(options.ca) } : {}),
  });
  const httpClient = new NodeHttpClient({ httpAgent, httpsAgent, ensureOpen, ...(options.userAgent !== undefined ? { userAgent: options.userAgent } : {}) });
  const dns = new NodeDns({ resolvConfPath: options.resolvConfPath ?? '/etc/resolv.conf', ensureOpen });
  const mqtt = new NodeMqtt({ rejectUnauthorized, ensureOpen, ...(options.mqttCa !== undefined ? { ca: options.mqttCa } : {}) });

  return {
    http: httpClient,
    dns,
    mqtt,
    close() {
      if (closed) return;
      closed = true;
      httpClient.abortAll();
      httpAgent.destroy();
      httpsAgent.destroy();
      dns.cancel();
      mqtt.closeAll();
    },
  };
}

/**
 * Node's `ca` option replaces the default trust store; `tls.rootCertificates` (Node's bundled
 * Mozilla roots) plus the extra anchor(s) is the additive store the option promises.
 */
export function withSystemRoots(ca: string | Uint8Array): (string | Buffer)[] {
  return [...tls.rootCertificates, typeof ca === 'string' ? ca : Buffer.from(ca)];
}

function validateOptions(options: NodeNetOptions): void {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('createNodeNet: options must be an object');
  const pem = (value: unknown, name: string): void => {
    if (value !== undefined && typeof value !== 'string' && !(value instanceof Uint8Array)) throw new InvalidOptionsError(`createNodeNet: ${name} must be PEM text or bytes`);
    if ((typeof value === 'string' || value instanceof Uint8Array) && value.length === 0) throw new InvalidOptionsError(`createNodeNet: ${name} is empty`);
  };
  pem(options.ca, 'ca');
  pem(options.mqttCa, 'mqttCa');
  if (options.rejectUnauthorized !== undefined && typeof options.rejectUnauthorized !== 'boolean')
    throw new InvalidOptionsError('createNodeNet: rejectUnauthorized must be a boolean');
  if (options.userAgent !== undefined && (typeof options.userAgent !== 'string' || options.userAgent.length === 0 || /[\r\n]/.test(options.userAgent)))
    throw new InvalidOptionsError('createNodeNet: userAgent must be a non-empty single-line string');
  if (options.resolvConfPath !== undefined && (typeof options.resolvConfPath !== 'string' || options.resolvConfPath.length === 0))
    throw new InvalidOptionsError('createNodeNet: resolvConfPath must be a path');
}
