/**
 * Shared set-up for the update service tests: image folders with manifests, a users file, a
 * service mounted on the mock HAL's network (internal http origin, external https origin), and
 * small request helpers for the in-process handler.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basicAuthorization, type Credentials } from '../../agent/firmware/messages.ts';
import { decodeCbor, encodeCbor } from '../../agent/util/cbor.ts';
import type { MockNetwork } from '../../hal/mock/net.ts';
import { MANIFEST_FILE, MANIFEST_FORMAT, type UpdateService, Users, createUpdateService, hashPassword } from '../../server/updates/index.ts';
import type { ManagerResponse } from '../../server/wire.ts';
import type { DeltaMaker } from '../../server/deltas.ts';

export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
export const INTERNAL = 'http://updates.corp.test';
export const EXTERNAL = 'https://updates.example.test';
export const ALICE: Credentials = { user: 'alice', password: 'correct horse battery staple' };

export interface TestImage {
  model: string;
  version: string;
  from?: string[];
  bytes?: Uint8Array;
  /** Written into the manifest as is (to test the check). */
  sha256?: string;
  file?: string;
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export async function tempDir(prefix = 'dm-updates-'): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes `images` and a manifest into a new folder under `root`; returns the folder and each image's bytes. */
export async function writeImageFolder(root: string, name: string, images: TestImage[]): Promise<{ folder: string; bytes: Uint8Array[] }> {
  const folder = join(root, name);
  await mkdir(folder, { recursive: true });
  const bytes: Uint8Array[] = [];
  const entries = [];
  for (const [index, image] of images.entries()) {
    const data = image.bytes ?? new Uint8Array(randomBytes(3000 + index * 17));
    const file = image.file ?? `${image.model}-${image.version}.img`;
    await writeFile(join(folder, file), data);
    bytes.push(data);
    entries.push({ model: image.model, version: image.version, file, ...(image.from ? { from: image.from } : {}), ...(image.sha256 ? { sha256: image.sha256 } : {}) });
  }
  await writeFile(join(folder, MANIFEST_FILE), JSON.stringify({ format: MANIFEST_FORMAT, images: entries }, null, 2));
  return { folder, bytes };
}

/** A users file content with `ALICE` (cheap scrypt parameters: tests, not production). */
export async function usersJson(accounts: Credentials[] = [ALICE]): Promise<{ users: Record<string, string> }> {
  const users: Record<string, string> = {};
  for (const account of accounts) users[account.user] = await hashPassword(account.password, { N: 1024 });
  return { users };
}

export async function testService(options: { dataDir?: string; testDevices?: string[]; log?: (line: string) => void; deltas?: DeltaMaker | false } = {}): Promise<UpdateService> {
  return createUpdateService({
    internalOrigin: INTERNAL,
    externalOrigin: EXTERNAL,
    adminToken: ADMIN_TOKEN,
    users: Users.parse(await usersJson()),
    ...options,
  });
}

/** Mounts the service on a mock network: the internal origin is plain http, the external one https. */
export function mount(network: MockNetwork, service: UpdateService): void {
  network.route(INTERNAL, service.handler({ zone: 'internal', tls: false }).handle);
  network.route(EXTERNAL, service.handler({ zone: 'external', tls: true }).handle);
}

export const checkBody = (overrides: Record<string, unknown> = {}) => ({
  type: 'check',
  protocol: 1,
  deviceId: 'phone-1',
  model: 'CX600',
  hardwareId: 'hw-cx600',
  firmwareVersion: '4.0.1',
  testDevice: false,
  location: 'inside',
  ...overrides,
});

/** One POST to the in-process service; the decoded CBOR answer. */
export async function post(
  service: UpdateService,
  endpoint: string,
  body: unknown,
  options: { zone?: 'internal' | 'external'; tls?: boolean; credentials?: Credentials; headers?: Record<string, string> } = {},
): Promise<{ status: number; answer: any; headers: Record<string, string> }> {
  const zone = options.zone ?? 'internal';
  const headers: Record<string, string> = { 'content-type': 'application/cbor', ...options.headers };
  if (options.credentials) headers.authorization = basicAuthorization(options.credentials);
  const response = await service.handle({ method: 'POST', url: `/ucupdates/v1/${endpoint}`, headers, body: encodeCbor(body) }, { zone, tls: options.tls ?? zone === 'external' });
  return { status: response.status, headers: response.headers, answer: decodeCbor(await bodyBytes(response)) };
}

export async function admin(service: UpdateService, method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN, zone: 'internal' | 'external' = 'internal'): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const response = await service.handle(
    { method, url: `/api/updates${path}`, headers, body: body === undefined ? new Uint8Array(0) : new TextEncoder().encode(JSON.stringify(body)) },
    { zone, tls: false },
  );
  return { status: response.status, json: JSON.parse(new TextDecoder().decode(await bodyBytes(response))) };
}

export async function bodyBytes(response: ManagerResponse): Promise<Uint8Array> {
  if (response.body instanceof Uint8Array) return response.body;
  const parts: Uint8Array[] = [];
  for await (const chunk of response.body) parts.push(chunk);
  return new Uint8Array(Buffer.concat(parts));
}
