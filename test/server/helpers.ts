/**
 * Fixtures for the reference server's tests: a fleet with small artifacts written into a temp dir
 * at test time, a plain node:http(s) client (no keep-alive pooling between tests), and builders of
 * valid protocol requests that a test then bends one field at a time.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ConnectionReport, IdentifyRequest, InstructionRequest, InventoryReport, LocationRequest, StatusReport } from '../../agent/delivery/messages.ts';
import { decodeCbor, encodeCbor } from '../../agent/util/cbor.ts';
import { bearerHeader } from '../../server/auth.ts';

export interface Fixture {
  dir: string;
  fleetFile: string;
  fleet: Record<string, unknown>;
  /** Artifact contents by `name@version`. */
  contents: Map<string, Uint8Array>;
  cleanup(): Promise<void>;
}

const utf8 = new TextEncoder();

/** The admin token the test servers are started with (`adminToken: ADMIN_TOKEN`); getJson sends it unless told otherwise. */
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
/** The peer secret of the test managers that move targets between them. */
export const PEER_SECRET = 'test-peer-secret-0123456789abcdef';
/** `{ authorization: 'Bearer <ADMIN_TOKEN>' }`. */
export const ADMIN = bearerHeader(ADMIN_TOKEN);
export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

import { xorshiftBytes as patternBytes } from '../../cli/demo/fixture.ts';
export { patternBytes };

const command = (name: string) => ({ command: '/bin/sh', args: ['-c', `echo ${name}`], timeoutMs: 60_000 });

/** The default fleet: groups `base`, `beta`, `default`; devices `dev-1` (base) and `dev-2` (base+beta with own entries). */
export function defaultFleet(): Record<string, unknown> {
  return {
    packages: {
      hello: {
        '1.0.0': { file: 'artifacts/hello-1.0.0.bin', postInstall: command('hello 1') },
        '2.0.0': { file: 'artifacts/hello-2.0.0.bin', postInstall: command('hello 2') },
      },
      tools: { '1.0.0': { file: 'artifacts/tools.bin', postInstall: command('tools'), uninstall: command('untools') } },
      extra: { '1.0.0': { file: 'artifacts/extra.bin', postInstall: command('extra') } },
    },
    groups: {
      base: { packages: [{ name: 'hello', version: '1.0.0' }, { name: 'tools', version: '1.0.0' }], reports: [{ kind: 'softwareInventory' }] },
      beta: { packages: [{ name: 'hello', version: '2.0.0' }], reports: [{ kind: 'softwareInventory' }, { kind: 'machineInventory' }] },
      default: { packages: [{ name: 'hello', version: '1.0.0' }] },
    },
    devices: {
      'dev-1': { groups: ['base'] },
      'dev-2': {
        groups: ['base', 'beta'],
        packages: [{ name: 'tools', remove: true }, { name: 'extra', version: '1.0.0', optional: true }],
        reports: [{ kind: 'fileCollection', paths: ['/etc/hostname'], maxBytes: 1024 }],
        nextPollMs: 60_000,
      },
    },
    defaults: { nextPollMs: 3_600_000 },
  };
}

export const DEFAULT_ARTIFACTS: Record<string, Uint8Array> = {
  'artifacts/hello-1.0.0.bin': patternBytes(10_000, 7),
  'artifacts/hello-2.0.0.bin': patternBytes(20_000, 8),
  'artifacts/tools.bin': utf8.encode('tools, version 1\n'),
  'artifacts/extra.bin': new Uint8Array(0),
};

/** Writes `files` (relative paths) and `fleet.json` into a fresh temp dir. */
export async function makeFixture(options: { fleet?: Record<string, unknown>; files?: Record<string, Uint8Array> } = {}): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'dm-server-'));
  const fleet = options.fleet ?? defaultFleet();
  const files = options.files ?? DEFAULT_ARTIFACTS;
  for (const [path, bytes] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), bytes);
  }
  const fleetFile = join(dir, 'fleet.json');
  await writeFile(fleetFile, JSON.stringify(fleet, null, 2));
  const contents = new Map<string, Uint8Array>();
  const packages = (fleet.packages ?? {}) as Record<string, Record<string, { file: string }>>;
  for (const [name, versions] of Object.entries(packages))
    for (const [version, definition] of Object.entries(versions)) {
      const bytes = files[definition.file];
      if (bytes) contents.set(`${name}@${version}`, bytes);
    }
  return { dir, fleetFile, fleet, contents, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request over a fresh connection. With `onChunk`, the body is handed over as it arrives and not kept. */
export function httpRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Uint8Array; ca?: string; onChunk?: (chunk: Buffer) => void } = {},
): Promise<HttpAnswer> {
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  return new Promise<HttpAnswer>((resolve, reject) => {
    const request = client.request(
      target,
      { method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false, ...(options.ca ? { ca: options.ca } : {}) },
      (response) => {
        const parts: Buffer[] = [];
        (async () => {
          for await (const chunk of response) {
            if (options.onChunk) options.onChunk(chunk as Buffer);
            else parts.push(chunk as Buffer);
          }
          // A connection cut short of Content-Length.
          if (!response.complete) throw new Error('response incomplete');
          return { status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(parts) };
        })().then(resolve, reject);
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

export interface CborAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  answer: unknown;
}

export async function postCbor(base: string, path: string, value: unknown, options: { contentType?: string; raw?: Uint8Array } = {}): Promise<CborAnswer> {
  const result = await httpRequest(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': options.contentType ?? 'application/cbor' },
    body: options.raw ?? encodeCbor(value),
  });
  return { status: result.status, headers: result.headers, answer: result.body.length > 0 ? decodeCbor(result.body) : undefined };
}

/** A JSON API call with the admin token (`token: null` sends none, a string sends that one). */
export async function getJson(url: string, init: { method?: string; body?: unknown; token?: string | null; ca?: string } = {}): Promise<{ status: number; json: any; headers: http.IncomingHttpHeaders }> {
  const token = init.token === undefined ? ADMIN_TOKEN : init.token;
  const headers: Record<string, string> = token === null ? {} : bearerHeader(token);
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const result = await httpRequest(url, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined ? { body: utf8.encode(JSON.stringify(init.body)) } : {}),
    ...(init.ca !== undefined ? { ca: init.ca } : {}),
  });
  return { status: result.status, headers: result.headers, json: JSON.parse(result.body.toString('utf8')) };
}

// ───────────────────────────── valid requests ─────────────────────────────

export function identifyRequest(deviceId: string, extra: Partial<IdentifyRequest> = {}): IdentifyRequest {
  return {
    type: 'identify',
    protocol: 1,
    agentVersion: '0.1.0',
    platform: 'test',
    identity: { deviceId, model: 'sim', oem: 'acme', hardwareId: 'hw-1', firmwareVersion: '1.0', locale: 'en-GB' },
    targets: [{ id: deviceId, kind: 'device' }],
    ...extra,
  };
}

export function connectionReport(deviceId: string, referenceCounter: number, extra: Partial<ConnectionReport> = {}): ConnectionReport {
  return { type: 'connection', deviceId, referenceCounter, targets: [{ id: deviceId, kind: 'device' }], installed: [], ...extra };
}

export function instructionRequest(deviceId: string, name: string, version: string, referenceCounter = 1): InstructionRequest {
  return { type: 'instructionRequest', deviceId, referenceCounter, name, version };
}

export function locationRequest(deviceId: string, locationToken: string, referenceCounter = 1): LocationRequest {
  return { type: 'locationRequest', deviceId, referenceCounter, locationToken };
}

export function statusReport(deviceId: string, extra: Partial<StatusReport> = {}): StatusReport {
  return {
    type: 'status',
    deviceId,
    referenceCounter: 1,
    jobId: 'job-1',
    name: 'hello',
    version: '1.0.0',
    phase: 'downloadBegin',
    outcome: 'success',
    deviceUtcMs: 1_700_000_000_000,
    ...extra,
  } as StatusReport;
}

export function softwareInventory(deviceId: string): InventoryReport {
  return {
    type: 'report',
    kind: 'softwareInventory',
    deviceId,
    referenceCounter: 1,
    packages: [{ name: 'hello', version: '1.0.0', digest: 'a'.repeat(64), installedUtcMs: 1_700_000_000_000, optional: false }],
  };
}

export function fileCollection(deviceId: string, content: Uint8Array): InventoryReport {
  return { type: 'report', kind: 'fileCollection', deviceId, referenceCounter: 1, files: [{ path: '/etc/hostname', size: content.length, content, truncated: false }] };
}
