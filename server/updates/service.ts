/**
 * The reference device update web service (seeds 002/003), framework-agnostic like the manager:
 * `service.handle(request, listener)` answers one exchange given as plain data, so it runs behind
 * two node:http(s) listeners (`http.ts`) and on the mock HAL's in-process network alike.
 *
 * Inside or outside the firewall is a property of the listener a request came in on, never of
 * anything the device says: the internal listener answers anyone (it is only reachable inside),
 * the external one requires a valid user's credentials (HTTP Basic) and refuses to even look at
 * credentials that came over plain HTTP.
 *
 * Routes (both listeners unless noted):
 *   POST     /ucupdates/v1/check             CheckRequest → CheckAnswer (CBOR)
 *   POST     /ucupdates/v1/report            ResultReport → ReportAck (CBOR; idempotent by reportId)
 *   GET|HEAD /ucupdates/v1/images/<sha256>   the image, with Range / ETag / If-Range
 *   GET|HEAD /ucupdates/v1/deltas/<sha256>   a patch offered next to an image (../deltas.ts), the same way
 *   GET|HEAD /ucupdates/v1/metadata/<file>   signed TUF metadata (public, both listeners; ../metadata.ts)
 *   /api/updates/...                        admin JSON API, internal listener only, admin token (admin.ts)
 */
import { serveMetadata } from '../metadata.ts';
import { copyFile, mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Zone } from '../../agent/firmware/client.ts';
import {
  type CheckAnswer,
  type Credentials,
  type ImageDelta,
  type ReportAck,
  SERVICE_ERRORS,
  type ServiceUrls,
  UPDATES_EXCHANGES,
  parseBasicAuthorization,
} from '../../agent/firmware/messages.ts';
import { SchemaError } from '../../agent/transport/schema.ts';
import { CborError } from '../../agent/util/cbor.ts';
import { serveArtifact } from '../artifacts.ts';
import { DeltaMaker } from '../deltas.ts';
import { AuthError } from '../auth.ts';
import type { HttpHandler } from '../http.ts';
import { Journal } from '../journal.ts';
import { readCbor } from '../protocol.ts';
import { HttpError, type ManagerRequest, type ManagerResponse, cborAnswer, cborError, jsonError, normaliseAddress, parseUrl } from '../wire.ts';
import { serveAdmin } from './admin.ts';
import { UPDATES_JOURNAL_FILE, type UpdateJournalEntry } from './journal.ts';
import { ManifestError, readManifestFolder } from './manifest.ts';
import { type Rule, RuleError, Rules } from './rules.ts';
import { Users } from './users.ts';

export const SERVICE_PATH = '/ucupdates/v1';
const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
const MAX_JOURNAL_ENTRIES_IN_MEMORY = 100_000;
const BASIC_REALM = { 'www-authenticate': 'Basic realm="ucupdates", charset="UTF-8"' };

export interface UpdateServiceOptions {
  /** Public origin of the internal listener (`https://updates.corp.test:8443`). */
  internalOrigin: string;
  /** Public origin of the external listener. */
  externalOrigin: string;
  /** The admin token (`server/auth.ts`): every `/api/updates` route checks it. */
  adminToken: string;
  /** Accounts accepted from outside; none: the external listener refuses everyone. */
  users?: Users;
  /** Device ids that also get pending updates. */
  testDevices?: readonly string[];
  /** Image store and journal (`updates.jsonl`), replayed at start. */
  dataDir?: string;
  /** Serve the signed update metadata in this directory at `<service>/metadata/<file>` (no sign-in: the signatures protect it). */
  metadataDir?: string;
  maxBodyBytes?: number;
  /**
   * Offer images as deltas against the version a device reports, when the service holds that
   * version's image (made with the real xdelta3/bsdiff, cached). Default: a maker caching under
   * `<dataDir>/deltas` when there is a data dir; `false`: never.
   */
  deltas?: DeltaMaker | false;
  now?: () => number;
  log?: (line: string) => void;
}

export interface ImportResult {
  imported: Rule[];
  /** Images the service already had (same model, version and bytes): left as they were. */
  known: Rule[];
}

export interface ListenerInfo {
  zone: Zone;
  /** Whether the request arrived over TLS (the listener's property, not a header's). */
  tls: boolean;
}

export interface UpdateService {
  readonly maxBodyBytes: number;
  /** The base URLs a device is provisioned with (or reads from the DNS discovery record). */
  serviceUrls(): ServiceUrls;
  /** Never throws: every failure is an HTTP answer. */
  handle(request: ManagerRequest, listener: ListenerInfo): Promise<ManagerResponse>;
  /** `handle` bound to one listener, for `listenHttp` or a mock network route. */
  handler(listener: ListenerInfo): HttpHandler;
  /** Imports a folder (manifest + images) as pending rules. Throws `ManifestError` or `RuleError`; all or nothing. */
  importFolder(folder: string): Promise<ImportResult>;
  decide(id: string, state: 'approved' | 'rejected'): Rule;
  setTestDevices(ids: readonly string[]): void;
  testDevices(): string[];
  rules(): Rule[];
  /** Everything so far, oldest first (copies). */
  journal(): UpdateJournalEntry[];
  flush(): Promise<void>;
}

export class UpdateServiceOptionsError extends Error {
  readonly code = 'badOptions';
  constructor(message: string) {
    super(`createUpdateService: ${message}`);
    this.name = 'UpdateServiceOptionsError';
  }
}

/** What the routes share. */
interface UpdateContext {
  readonly rules: Rules;
  readonly testDeviceIds: Set<string>;
  readonly reportIds: Set<string>;
  readonly urls: ServiceUrls;
  utcMs(): number;
  record(entry: UpdateJournalEntry): void;
  readonly adminToken: string;
  readonly deltas: DeltaMaker | undefined;
  readonly metadataDir?: string;
}

export function createUpdateService(options: UpdateServiceOptions): UpdateService {
  const internalOrigin = checkOrigin(options.internalOrigin, 'internalOrigin');
  const externalOrigin = checkOrigin(options.externalOrigin, 'externalOrigin');
  if (typeof options.adminToken !== 'string' || options.adminToken.length < 16) throw new UpdateServiceOptionsError('adminToken must be a string of at least 16 characters');
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1024) throw new UpdateServiceOptionsError('maxBodyBytes must be an integer ≥ 1024');
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => {});
  const users = options.users;

  // Never compacted (no snapshot): imports and decisions are few, and checks are what a test reads.
  const file = options.dataDir !== undefined ? Journal.open<UpdateJournalEntry>(options.dataDir, { log, fileName: UPDATES_JOURNAL_FILE }) : undefined;
  const replay: UpdateJournalEntry[] = [];
  file?.replay((entry) => replay.push(entry));
  const entries: UpdateJournalEntry[] = [];

  const context: UpdateContext = {
    rules: new Rules(),
    testDeviceIds: new Set(),
    reportIds: new Set(),
    urls: { internal: internalOrigin + SERVICE_PATH, external: externalOrigin + SERVICE_PATH },
    utcMs: () => Math.trunc(now()),
    record(entry) {
      entries.push(entry);
      // The file keeps everything; memory keeps the newest entries (a long-running server sees many checks).
      if (entries.length > MAX_JOURNAL_ENTRIES_IN_MEMORY) entries.splice(0, entries.length - MAX_JOURNAL_ENTRIES_IN_MEMORY);
      file?.append(entry);
    },
    adminToken: options.adminToken,
    deltas: options.deltas === false ? undefined : (options.deltas ?? (options.dataDir !== undefined ? new DeltaMaker({ dir: join(options.dataDir, 'deltas'), log }) : undefined)),
    ...(options.metadataDir !== undefined ? { metadataDir: options.metadataDir } : {}),
  };
  for (const entry of replay) restore(context, entry, log);
  entries.push(...replay.slice(-MAX_JOURNAL_ENTRIES_IN_MEMORY));
  let importing: Promise<unknown> = Promise.resolve();

  const service: UpdateService = {
    maxBodyBytes,
    serviceUrls: () => ({ ...context.urls }),
    async handle(request, listener) {
      const answer = await route(context, service, users, request, listener);
      if (answer.status >= 500) log(`${request.method} ${pathOf(request.url)} → ${answer.status}`);
      return answer;
    },
    handler(listener) {
      return {
        maxBodyBytes,
        handle: (request) => service.handle(request, listener),
        transportError: (url, status, code, message) => (isServicePath(url) ? cborError : jsonError)(status, code, message),
      };
    },
    importFolder(folder) {
      // One import at a time: two planned against the same rules could both add the same image.
      const run = importing.then(async (): Promise<ImportResult> => {
        const images = await readManifestFolder(folder);
        const { fresh, known } = context.rules.plan(images);
        const stored = await Promise.all(fresh.map(async (image) => ({ ...image, path: await store(options.dataDir, image.path, image.sha256) })));
        const imported = context.rules.add(stored, context.utcMs());
        context.record({ type: 'import', utcMs: context.utcMs(), folder, rules: imported.map((rule) => ({ ...rule })), known: known.map((rule) => rule.id) });
        return { imported, known };
      });
      importing = run.catch(() => undefined);
      return run;
    },
    decide(id, state) {
      const rule = context.rules.decide(id, state, context.utcMs());
      context.record({ type: 'decide', utcMs: context.utcMs(), id, state });
      return rule;
    },
    setTestDevices(ids) {
      context.testDeviceIds.clear();
      for (const id of ids) context.testDeviceIds.add(id);
      context.record({ type: 'testDevices', utcMs: context.utcMs(), ids: [...context.testDeviceIds] });
    },
    testDevices: () => [...context.testDeviceIds],
    rules: () => context.rules.list().map((rule) => ({ ...rule })),
    journal: () => entries.map((entry) => structuredClone(entry)),
    flush: async () => file?.flush(),
  };
  // Given at start, the test devices are the newest word: they override what the journal replayed.
  if (options.testDevices !== undefined) service.setTestDevices(options.testDevices);
  return service;
}

/** Copies an image into the store (`<dataDir>/images/<sha256>`, written then renamed), or serves it in place without a store. */
async function store(dataDir: string | undefined, path: string, sha256: string): Promise<string> {
  if (dataDir === undefined) return path;
  const dir = join(dataDir, 'images');
  await mkdir(dir, { recursive: true });
  const target = join(dir, sha256);
  const temporary = `${target}.${process.pid}.tmp`;
  await copyFile(path, temporary);
  await rename(temporary, target);
  return target;
}

async function route(context: UpdateContext, service: UpdateService, users: Users | undefined, request: ManagerRequest, listener: ListenerInfo): Promise<ManagerResponse> {
  let cbor = false;
  let path = request.url;
  try {
    const parsed = parseUrl(request.url);
    path = parsed.path;
    const method = request.method.toUpperCase();
    const normalised = { ...request, method };
    const [root, ...rest] = parsed.segments;
    if (root === 'api' && rest[0] === 'updates') {
      // Admin lives on the internal listener only: from outside it does not exist.
      if (listener.zone !== 'internal') throw new HttpError(404, 'notFound', `no route for ${path}`);
      return await serveAdmin(service, context.adminToken, normalised, rest.slice(1), parsed.query);
    }
    if (!isServicePath(path)) throw new HttpError(404, 'notFound', `no route for ${path}`);
    const [endpoint, ...args] = parsed.segments.slice(2);
    if (endpoint === 'metadata' && args.length === 1 && context.metadataDir !== undefined) return await serveMetadata(context.metadataDir, normalised, args[0]!);
    cbor = true;
    const user = await authenticate(context, users, normalised, listener, path);
    if (endpoint === 'check' && args.length === 0) return await check(context, normalised, listener, user);
    if (endpoint === 'report' && args.length === 0) return report(context, normalised, listener, user);
    if (endpoint === 'images' && args.length === 1) return await image(context, normalised, listener, args[0]!, user);
    if (endpoint === 'deltas' && args.length === 1) return await patch(context, normalised, listener, args[0]!, user);
    throw new HttpError(404, 'notFound', `no route for ${path}`);
  } catch (error) {
    return errorAnswer(error, cbor);
  }
}

const isServicePath = (url: string): boolean => {
  const path = url.replace(/^https?:\/\/[^/]*/i, '');
  return path === SERVICE_PATH || path.startsWith(`${SERVICE_PATH}/`);
};

/**
 * Outside: the user's name once the credentials check out; otherwise a refusal. Inside: no check
 * (and an Authorization header is ignored, not inspected). The refusal is journaled by code only.
 */
async function authenticate(context: UpdateContext, users: Users | undefined, request: ManagerRequest, listener: ListenerInfo, path: string): Promise<string | undefined> {
  if (listener.zone === 'internal') return undefined;
  const refuse = (status: number, code: string, message: string, headers: Record<string, string> = {}): never => {
    context.record({ type: 'refused', utcMs: context.utcMs(), zone: listener.zone, path, code });
    throw new HttpError(status, code, message, headers);
  };
  const header = request.headers.authorization;
  if (header !== undefined && !listener.tls)
    refuse(403, SERVICE_ERRORS.insecureCredentials, 'credentials sent over plain HTTP are refused unread: use the HTTPS URL, and change the password');
  if (header === undefined) refuse(401, SERVICE_ERRORS.signInRequired, 'outside the firewall a signed-in user is required', BASIC_REALM);
  const credentials: Credentials | undefined = parseBasicAuthorization(header);
  if (credentials === undefined || users === undefined || !(await users.verify(credentials)))
    refuse(401, SERVICE_ERRORS.badCredentials, 'user name or password not accepted', BASIC_REALM);
  return credentials!.user;
}

async function check(context: UpdateContext, request: ManagerRequest, listener: ListenerInfo, user: string | undefined): Promise<ManagerResponse> {
  post(request, 'check');
  const body = UPDATES_EXCHANGES.check.request.parse(readCbor(request));
  const testDevice = context.testDeviceIds.has(body.deviceId);
  const rule = context.rules.select(body.model, body.firmwareVersion, testDevice);
  const delta = rule ? await imageDelta(context, rule, body.model, body.firmwareVersion) : undefined;
  const utcMs = context.utcMs();
  const answer: CheckAnswer = rule
    ? {
        type: 'check',
        downloads: 1,
        image: {
          version: rule.version,
          size: rule.size,
          sha256: rule.sha256,
          internalUrl: `${context.urls.internal}/images/${rule.sha256}`,
          externalUrl: `${context.urls.external}/images/${rule.sha256}`,
          ...(delta ? { delta } : {}),
        },
        serviceUtcMs: utcMs,
      }
    : { type: 'check', downloads: 0, serviceUtcMs: utcMs };
  context.record({
    type: 'check',
    utcMs,
    zone: listener.zone,
    deviceId: body.deviceId,
    model: body.model,
    firmwareVersion: body.firmwareVersion,
    claimedTestDevice: body.testDevice,
    testDevice,
    downloads: rule ? 1 : 0,
    ...(rule ? { ruleId: rule.id, version: rule.version } : {}),
    ...(user !== undefined ? { user } : {}),
  });
  return cborAnswer(200, UPDATES_EXCHANGES.check.answer.parse(answer));
}

function report(context: UpdateContext, request: ManagerRequest, listener: ListenerInfo, user: string | undefined): ManagerResponse {
  post(request, 'report');
  const body = UPDATES_EXCHANGES.report.request.parse(readCbor(request));
  const duplicate = context.reportIds.has(body.reportId);
  if (duplicate) context.record({ type: 'duplicateReport', utcMs: context.utcMs(), zone: listener.zone, reportId: body.reportId });
  else {
    context.reportIds.add(body.reportId);
    context.record({ type: 'report', utcMs: context.utcMs(), zone: listener.zone, report: body, ...(user !== undefined ? { user } : {}) });
  }
  const ack: ReportAck = { type: 'ack', reportId: body.reportId, duplicate };
  return cborAnswer(200, ack);
}

async function image(context: UpdateContext, request: ManagerRequest, listener: ListenerInfo, sha256: string, user: string | undefined): Promise<ManagerResponse> {
  if (request.method !== 'GET' && request.method !== 'HEAD') throw new HttpError(405, 'methodNotAllowed', 'use GET or HEAD', { allow: 'GET, HEAD' });
  const rule = /^[0-9a-f]{64}$/.test(sha256) ? context.rules.image(sha256) : undefined;
  if (!rule) throw new HttpError(404, 'unknownImage', 'no such image');
  const answer = await serveArtifact({ name: rule.model, version: rule.version, path: rule.path, size: rule.size, digest: rule.sha256 }, request, () => undefined);
  const range = request.headers.range;
  context.record({ type: 'download', utcMs: context.utcMs(), zone: listener.zone, sha256, method: request.method, status: answer.status, ...(range !== undefined ? { range: range.slice(0, 100) } : {}), ...(user !== undefined ? { user } : {}) });
  return answer;
}

/** The image as a patch from the version the device runs, when the service holds that image. */
async function imageDelta(context: UpdateContext, rule: Rule, model: string, running: string): Promise<ImageDelta | undefined> {
  if (!context.deltas) return undefined;
  const source = context.rules.list().find((r) => r.model === model && r.version === running && r.state !== 'rejected');
  if (!source) return undefined;
  const made = await context.deltas.delta(source, rule);
  if (!made) return undefined;
  return {
    format: made.format,
    sourceVersion: source.version,
    sourceSize: source.size,
    sourceSha256: source.sha256,
    size: made.size,
    sha256: made.sha256,
    internalUrl: `${context.urls.internal}/deltas/${made.sha256}`,
    externalUrl: `${context.urls.external}/deltas/${made.sha256}`,
  };
}

async function patch(context: UpdateContext, request: ManagerRequest, listener: ListenerInfo, sha256: string, user: string | undefined): Promise<ManagerResponse> {
  if (request.method !== 'GET' && request.method !== 'HEAD') throw new HttpError(405, 'methodNotAllowed', 'use GET or HEAD', { allow: 'GET, HEAD' });
  const made = /^[0-9a-f]{64}$/.test(sha256) ? context.deltas?.byDigest(sha256) : undefined;
  if (!made) throw new HttpError(404, 'unknownDelta', 'no such delta');
  const answer = await serveArtifact({ name: 'delta', version: made.format, path: made.path, size: made.size, digest: made.sha256 }, request, () => undefined);
  const range = request.headers.range;
  context.record({ type: 'download', utcMs: context.utcMs(), zone: listener.zone, sha256, method: request.method, status: answer.status, ...(range !== undefined ? { range: range.slice(0, 100) } : {}), ...(user !== undefined ? { user } : {}) });
  return answer;
}

function post(request: ManagerRequest, endpoint: string): void {
  if (request.method !== 'POST') throw new HttpError(405, 'methodNotAllowed', `${endpoint}: use POST`, { allow: 'POST' });
}

function errorAnswer(error: unknown, cbor: boolean): ManagerResponse {
  const answer = cbor ? cborError : jsonError;
  if (error instanceof HttpError) return answer(error.status, error.code, error.message, error.headers);
  if (error instanceof AuthError) return answer(error.status, error.code, error.message, error.headers);
  if (error instanceof RuleError) return answer(error.status, error.code, error.message);
  if (error instanceof ManifestError) return answer(400, error.code, error.message);
  if (error instanceof CborError || error instanceof SchemaError) return answer(400, error.code, error.message);
  return answer(500, 'internal', 'internal error');
}

function restore(context: UpdateContext, entry: UpdateJournalEntry, log: (line: string) => void): void {
  try {
    if (entry.type === 'import') context.rules.add(entry.rules, entry.utcMs);
    if (entry.type === 'decide') context.rules.decide(entry.id, entry.state, entry.utcMs);
    if (entry.type === 'testDevices') {
      context.testDeviceIds.clear();
      for (const id of entry.ids) context.testDeviceIds.add(id);
    }
    if (entry.type === 'report') context.reportIds.add(entry.report.reportId);
  } catch (error) {
    log(`updates journal: entry skipped: ${(error as Error).message}`);
  }
}

function checkOrigin(origin: unknown, name: string): string {
  if (typeof origin !== 'string' || !/^https?:\/\/[^\s/?#@]+\/?$/i.test(origin))
    throw new UpdateServiceOptionsError(`${name} must be an http(s) origin without a path, e.g. https://updates.corp.test:8443 (got ${JSON.stringify(origin)})`);
  return normaliseAddress(origin);
}

function pathOf(url: string): string {
  return url.split('?')[0]!.slice(0, 200);
}
