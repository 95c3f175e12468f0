/**
 * The reference manager, framework-agnostic: `createManager(options).handle(request)` answers one
 * HTTP exchange given as plain data, so the same manager runs behind node:http (`server/http.ts`)
 * and on the agent tests' in-process mock network (`hal/mock/net.ts`, same handler shape).
 *
 * Routes:
 *   POST /dm/v1/{identify,connection,instruction,location,status,report}   agent protocol (CBOR)   protocol.ts
 *   GET  /dm/v1/targets/<id>, POST /dm/v1/targets/<id>/release            manager ↔ manager (CBOR) move.ts
 *   GET|HEAD /artifacts/<name>/<version>?expires&sig                      signed artifact URLs      artifacts.ts
 *   GET|HEAD /deltas/<sha256>?expires&sig                                  signed patch URLs         deltas.ts
 *   /api/...                                                               JSON query/admin/faults   api.ts
 *   GET|HEAD /metadata/<role file>                                          signed TUF metadata       metadata.ts
 *   POST /auth/v1/requests, /api/auth/devices[/<id>/<key>]                  device keys and tokens    device-auth.ts
 * Errors: CBOR `errorAnswer` under /dm/, JSON `{error: {code, message}}` elsewhere.
 *
 * Who may do what: `/api/*` needs the admin token (auth.ts), the two target routes need the
 * peer secret, the agent endpoints need a device token (device-auth.ts: `Authorization: Bearer`,
 * issued to an accepted device key) naming the device the request speaks for, unless the manager
 * runs with `deviceAuth: 'off'` (a device may only write its own targets, with a counter not far
 * ahead of this manager's clock: protocol.ts), artifacts need a signed URL.
 */
import { join } from 'node:path';
import { ENDPOINTS, type Endpoint, type ManagerInfo } from '../agent/delivery/messages.ts';
import { SchemaError } from '../agent/transport/schema.ts';
import { CborError } from '../agent/util/cbor.ts';
import { serveApi } from './api.ts';
import type { PushBroker } from './push.ts';
import { AuthError, bearerToken, checkBearer, generateSecret, loadOrCreateSecretFile, secretProblem } from './auth.ts';
import { ArtifactSigner, DELTA_PREFIX, serveArtifact } from './artifacts.ts';
import { DeltaMaker } from './deltas.ts';
import { serveMetadata } from './metadata.ts';
import { DeviceAuth, serveDeviceAuth } from './device-auth.ts';

/** What the trust routes need: the metadata directory (if served) and the device keys. */
interface TrustRoutes {
  metadataDir?: string;
  deviceAuth: DeviceAuth;
  /** The agent endpoints need a device token. */
  requireDeviceToken: boolean;
}
import type { ManagerContext } from './context.ts';
import { DEFAULT_MAX_ENROLMENTS, Devices } from './devices.ts';
import { Faults } from './faults.ts';
import { type Fleet, FleetError, findPackage, isLoadedFleet } from './fleet.ts';
import { Journal, type JournalEntry } from './journal.ts';
import { type FetchPeer, fetchPeerOverHttp, servePeer } from './move.ts';
import { PeerError, Peers } from './peers.ts';
import { serveProtocol, readCbor } from './protocol.ts';
import { TargetRecords } from './records.ts';
import { HttpError, type ManagerRequest, type ManagerResponse, cborError, jsonError, normaliseAddress, parseUrl } from './wire.ts';
import { redactText } from '../agent/util/redact.ts';

export type { ManagerRequest, ManagerResponse } from './wire.ts';
export type { FetchPeer, PeerResponse } from './move.ts';

export interface ManagerOptions {
  /** A fleet from `loadFleet`/`readFleetFile` (digests computed from the files; paths resolved against its directory). */
  fleet: Fleet;
  /** This manager's public base URL (`http://127.0.0.1:8080`): every answer's `manager.address`, and the base of artifact URLs. */
  address: string;
  /** This manager's UTC is `now() + clockOffsetMs` (default 0). */
  clockOffsetMs?: number;
  /** Host clock (default `Date.now`). */
  now?: () => number;
  /** How this manager calls a previous manager during a move (default: global fetch). */
  fetchPeer?: FetchPeer;
  /** Key for location tokens and artifact URL signatures (default: random per instance). */
  urlSecret?: string;
  /** Lifetime of a signed artifact URL (default 10 min). */
  locationTtlMs?: number;
  /** Largest request body accepted (default 8 MiB); above it, 413. */
  maxBodyBytes?: number;
  /** Timeout of each call to a peer manager during a move (default 5 s). */
  peerTimeoutMs?: number;
  /** Persist status reports, inventories, target records and admin changes as JSON lines here, and replay them at start. */
  dataDir?: string;
  /** Serve the signed update metadata in this directory at `/metadata/<file>` (public, next to the artifacts). */
  metadataDir?: string;
  /** Compact the journal once it passes this many bytes (default 64 MiB). */
  journalMaxBytes?: number;
  /**
   * The bearer token every `/api/*` request must carry. Default: read from `<dataDir>/admin-token`,
   * created there (mode 0600) on first start; without a dataDir, random for this instance.
   */
  adminToken?: string;
  /** Shared by the managers of one deployment: authenticates the move routes both ways. Without it, no moves. */
  peerSecret?: string;
  /** Base URLs of the managers this one may call during a move (more with `manager.peers.add`). Needs `peerSecret`. */
  peers?: string[];
  /**
   * Offer packages as deltas against the version a device reports installed (made with the real
   * xdelta3/bsdiff, cached). Default: a maker caching under `<dataDir>/deltas` with a dataDir;
   * `false`: never.
   */
  deltas?: DeltaMaker | false;
  /**
   * `required` (default): the agent endpoints need a device token (`/auth/v1/requests`, accepted
   * keys only). `off`: they are open, as before device authentication existed (tests of the
   * protocol itself, legacy agents).
   */
  deviceAuth?: 'required' | 'off';
  /** Enable fault injection (`/api/faults`); off by default, so a production manager cannot be told to corrupt artifacts. */
  faults?: boolean;
  /** How far ahead of this manager's clock a reference counter may be (default 24 h: clock skew between managers). */
  maxCounterAheadMs?: number;
  /** Devices enrolled on first contact into `defaults.group`, at most (default 10 000); then 403 `enrolmentFull`. */
  maxEnrolments?: number;
  log?: (line: string) => void;
  /** The broker "push now" (`POST /api/push`, `/api/devices/<id>/push`) publishes on (./push.ts). */
  push?: PushBroker;
}

export interface Manager {
  readonly address: string;
  readonly fleet: Fleet;
  readonly maxBodyBytes: number;
  /** This manager's UTC. */
  utcMs(): number;
  /** Never throws: every failure is an HTTP answer (500 for bugs, logged). */
  handle(request: ManagerRequest): Promise<ManagerResponse>;
  /** Resolves once journal writes so far are on disk. */
  flush(): Promise<void>;
  /** The token `/api/*` needs (a getter: it does not show when the object is printed). */
  readonly adminToken: string;
  /** Where the token came from: given, read from `file`, or created in `file` (the caller shows it once). */
  readonly adminTokenSource: { kind: 'option' | 'random' } | { kind: 'read' | 'created'; file: string };
  /** The peer allow-list of the move. */
  readonly peers: Peers;
  /** Device keys (pending until an admin accepts them) and their tokens. */
  readonly deviceAuth: DeviceAuth;
  /** The journal, if there is a dataDir (tests look at its size and compactions). */
  readonly journal: Journal | undefined;
}

export class ManagerOptionsError extends Error {
  readonly code = 'badOptions';
  constructor(message: string) {
    super(`createManager: ${message}`);
    this.name = 'ManagerOptionsError';
  }
}

export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
export const DEFAULT_LOCATION_TTL_MS = 10 * 60_000;
export const DEFAULT_PEER_TIMEOUT_MS = 5_000;
export const DEFAULT_MAX_COUNTER_AHEAD_MS = 24 * 3600_000;
export const ADMIN_TOKEN_FILE = 'admin-token';
const ADMIN_REALM = 'dm-manager';

export function createManager(options: ManagerOptions): Manager {
  const settings = checkOptions(options);
  const { fleet, address, clockOffsetMs, log } = settings;
  const now = options.now ?? Date.now;
  const utcMs = (): number => Math.trunc(now() + clockOffsetMs);
  const maxCounter = (): number => utcMs() + settings.maxCounterAheadMs;

  let adminTokenSource: Manager['adminTokenSource'] = { kind: 'option' };
  let adminToken = options.adminToken;
  if (adminToken === undefined && options.dataDir !== undefined) {
    const file = join(options.dataDir, ADMIN_TOKEN_FILE);
    const loaded = loadOrCreateSecretFile(file);
    adminToken = loaded.secret;
    adminTokenSource = { kind: loaded.created ? 'created' : 'read', file };
  } else if (adminToken === undefined) {
    adminToken = generateSecret();
    adminTokenSource = { kind: 'random' };
  }
  const token = adminToken;

  const journal = options.dataDir === undefined ? undefined : Journal.open(options.dataDir, { log, ...(options.journalMaxBytes !== undefined ? { maxBytes: options.journalMaxBytes } : {}) });
  const write = (entry: JournalEntry): void => journal?.append(entry);

  const records = new TargetRecords((record) => write({ type: 'record', record }));
  const devices = new Devices(fleet, write, settings.maxEnrolments);
  const peers = new Peers(settings.peers);
  const trust: TrustRoutes = { deviceAuth: new DeviceAuth({ now: () => utcMs() }), requireDeviceToken: options.deviceAuth !== 'off', ...(options.metadataDir !== undefined ? { metadataDir: options.metadataDir } : {}) };
  const context: ManagerContext = {
    fleet,
    address,
    clockOffsetMs,
    utcMs,
    managerInfo: (): ManagerInfo => ({ address, utcMs: utcMs() }),
    devices,
    records,
    faults: options.faults === true ? new Faults() : undefined,
    maxCounter,
    maxCounterAheadMs: settings.maxCounterAheadMs,
    signer: new ArtifactSigner(fleet, options.urlSecret),
    move: { address, records, fetchPeer: options.fetchPeer ?? fetchPeerOverHttp, peerTimeoutMs: settings.peerTimeoutMs, peers, peerSecret: options.peerSecret, maxCounter, utcMs, log },
    locationTtlMs: settings.locationTtlMs,
    deltas: options.deltas === false ? undefined : (options.deltas ?? (options.dataDir !== undefined ? new DeltaMaker({ dir: join(options.dataDir, 'deltas'), log }) : undefined)),
    push: options.push,
    log,
  };
  if (journal) {
    journal.replay((entry) => restore(context, entry));
    journal.setSnapshot(() => [...devices.journalEntries(), ...records.list().map((record): JournalEntry => ({ type: 'record', record }))]);
    journal.compactIfDue();
  }

  return {
    address,
    fleet,
    maxBodyBytes: settings.maxBodyBytes,
    utcMs,
    flush: async () => journal?.flush(),
    get adminToken() {
      return token;
    },
    adminTokenSource,
    peers,
    deviceAuth: trust.deviceAuth,
    journal,
    async handle(request) {
      const started = Date.now();
      const answer = await route(context, token, request, settings.maxBodyBytes, trust);
      // The path only: a query may hold an artifact signature.
      if (answer.status >= 500) log(`${request.method} ${request.url.split(/[?#]/)[0]!.slice(0, 200)} → ${answer.status} (${Date.now() - started} ms)`);
      return answer;
    },
  };
}

async function route(context: ManagerContext, adminToken: string, request: ManagerRequest, maxBodyBytes: number, trust: TrustRoutes): Promise<ManagerResponse> {
  let cbor = false;
  try {
    const url = parseUrl(request.url);
    const { path, segments } = url;
    const method = request.method.toUpperCase();
    const [root, version, name, ...rest] = segments;
    cbor = root === 'dm';
    if (request.body.length > maxBodyBytes) throw new HttpError(413, 'tooLarge', `request body of ${request.body.length} bytes exceeds ${maxBodyBytes}`);
    // Before faults: an unauthenticated request must not even consume one.
    if (root === 'api') checkBearer(request.headers, adminToken, ADMIN_REALM);
    const faultCode = context.faults?.takeStatus(method, path);
    if (faultCode !== undefined) throw new HttpError(faultCode, 'fault', `injected fault: ${faultCode} for ${path}`);
    const normalised = { ...request, method };

    if (root === 'dm' && version === 'v1') {
      if (name === 'targets') return servePeer(context.move, normalised, rest, () => readCbor(normalised));
      if (rest.length === 0 && ENDPOINTS.includes(name as Endpoint)) return await serveProtocol(context, name as Endpoint, normalised, deviceOf(trust, request));
    }
    if (root === 'auth' || (root === 'api' && version === 'auth')) return serveDeviceAuth(trust.deviceAuth, normalised, segments);
    if (root === 'api') return await serveApi(context, normalised, segments.slice(1), url.query);
    if (root === 'artifacts' && segments.length === 3) return await artifact(context, normalised, segments[1]!, segments[2]!, url.query);
    if (root === 'deltas' && segments.length === 2) return await delta(context, normalised, segments[1]!, url.query);
    if (root === 'metadata' && segments.length === 2 && trust.metadataDir !== undefined) return await serveMetadata(trust.metadataDir, normalised, segments[1]!);
    throw new HttpError(404, 'notFound', `no route for ${path}`);
  } catch (error) {
    return errorAnswer(context, error, cbor);
  }
}

const DEVICE_REALM = 'dm-device';

/** The device a request's token stands for (401 without a valid one), or undefined when device auth is off. */
function deviceOf(trust: TrustRoutes, request: ManagerRequest): string | undefined {
  if (!trust.requireDeviceToken) return undefined;
  const token = bearerToken(request.headers);
  const device = trust.deviceAuth.verifyToken(token);
  if (device !== undefined) return device;
  const headers = { 'www-authenticate': `Bearer realm="${DEVICE_REALM}"` };
  if (token === undefined) throw new HttpError(401, 'unauthorized', 'this route needs a device token: POST /auth/v1/requests, then send "Authorization: Bearer <token>"', headers);
  throw new HttpError(401, 'unauthorized', 'the device token is not valid (expired, revoked or not issued here): authenticate again', headers);
}

async function artifact(context: ManagerContext, request: ManagerRequest, name: string, version: string, query: URLSearchParams): Promise<ManagerResponse> {
  if (request.method !== 'GET' && request.method !== 'HEAD') throw new HttpError(405, 'methodNotAllowed', 'use GET or HEAD', { allow: 'GET, HEAD' });
  // Signature first: an unsigned request learns nothing, not even whether the package exists.
  context.signer.verify(name, version, query, context.utcMs());
  const entry = findPackage(context.fleet, name, version);
  if (!entry) throw new HttpError(404, 'unknownPackage', `no package ${name}@${version}`);
  return serveArtifact(entry, request, () => (request.method === 'GET' ? context.faults?.takeArtifact(name, version) : undefined));
}

async function delta(context: ManagerContext, request: ManagerRequest, sha256: string, query: URLSearchParams): Promise<ManagerResponse> {
  if (request.method !== 'GET' && request.method !== 'HEAD') throw new HttpError(405, 'methodNotAllowed', 'use GET or HEAD', { allow: 'GET, HEAD' });
  context.signer.verifyPath(`${DELTA_PREFIX}${sha256}`, query, context.utcMs());
  const made = /^[0-9a-f]{64}$/.test(sha256) ? context.deltas?.byDigest(sha256) : undefined;
  if (!made) throw new HttpError(404, 'unknownDelta', 'no such delta');
  return serveArtifact({ name: 'delta', version: made.format, path: made.path, size: made.size, digest: made.sha256 }, request, () => undefined);
}

/** What the node adapter answers without reading a body (413 oversized, 408 too slow), in the route family's format. */
export function transportErrorAnswer(url: string, status: number, code: string, message: string): ManagerResponse {
  const cbor = /^(https?:\/\/[^/]*)?\/dm\//i.test(url);
  return (cbor ? cborError : jsonError)(status, code, message);
}

function errorAnswer(context: ManagerContext, error: unknown, cbor: boolean): ManagerResponse {
  const answer = cbor ? cborError : jsonError;
  if (error instanceof HttpError || error instanceof AuthError) return answer(error.status, error.code, error.message, error.headers);
  if (error instanceof CborError) return answer(400, error.code, error.message);
  if (error instanceof SchemaError) return answer(400, error.code, error.message);
  if (error instanceof FleetError) return answer(400, error.code, error.issues.map((issue) => `${issue.path || '(root)'}: ${issue.message}`).join('; '));
  context.log(`BUG: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return answer(500, 'internal', 'internal error');
}

/** Replays one journal entry of an earlier run, without writing it again. */
function restore(context: ManagerContext, entry: JournalEntry): void {
  try {
    if (entry.type === 'record') {
      context.records.restore(entry.record);
      return;
    }
    const device =
      entry.type === 'enrol'
        ? context.devices.restoreEnrolment(entry.deviceId, entry.group, entry.utcMs)
        : context.devices.get(entry.type === 'status' || entry.type === 'report' ? entry.report.deviceId : entry.deviceId);
    if (!device) return; // removed from the fleet since, or past a lowered enrolment cap
    if (entry.type === 'status') context.devices.addStatus(device, entry.report, entry.utcMs, true);
    if (entry.type === 'report') context.devices.addReport(device, entry.report, entry.utcMs, true);
    if (entry.type === 'redirect') context.devices.redirect(device, entry.url ?? undefined, true);
    // Assignments replay only while the catalogue still has what they name.
    if (entry.type === 'assign' && entry.packages.every((p) => 'remove' in p || findPackage(context.fleet, p.name, p.version)))
      context.devices.assign(device, entry.packages, true);
  } catch (error) {
    context.log(`journal: entry skipped: ${(error as Error).message}`);
  }
}

function checkOptions(options: ManagerOptions): {
  fleet: Fleet;
  address: string;
  clockOffsetMs: number;
  locationTtlMs: number;
  maxBodyBytes: number;
  peerTimeoutMs: number;
  maxCounterAheadMs: number;
  maxEnrolments: number;
  peers: string[];
  log: (line: string) => void;
} {
  if (typeof options !== 'object' || options === null) throw new ManagerOptionsError('options object required');
  if (!isLoadedFleet(options.fleet)) throw new ManagerOptionsError('fleet must come from loadFleet() or readFleetFile() (digests are computed there)');
  if (typeof options.address !== 'string' || !/^https?:\/\/[^\s/?#]+\/?$/i.test(options.address))
    throw new ManagerOptionsError(`address must be an http(s) base URL without a path, e.g. http://127.0.0.1:8080 (got ${JSON.stringify(options.address)})`);
  const integerOption = (name: keyof ManagerOptions, fallback: number, min: number): number => {
    const value = options[name] ?? fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw new ManagerOptionsError(`${name} must be an integer ≥ ${min}`);
    return value;
  };
  integerOption('journalMaxBytes', 1, 1);
  for (const name of ['now', 'fetchPeer', 'log'] as const)
    if (options[name] !== undefined && typeof options[name] !== 'function') throw new ManagerOptionsError(`${name} must be a function`);
  if (options.urlSecret !== undefined && (typeof options.urlSecret !== 'string' || options.urlSecret.length < 16)) throw new ManagerOptionsError('urlSecret must be a string of at least 16 characters');
  if (options.dataDir !== undefined && (typeof options.dataDir !== 'string' || options.dataDir === '')) throw new ManagerOptionsError('dataDir must be a directory path');
  for (const name of ['adminToken', 'peerSecret'] as const) {
    const problem = options[name] === undefined ? undefined : secretProblem(options[name]);
    if (problem !== undefined) throw new ManagerOptionsError(`${name} ${problem}`);
  }
  if (options.faults !== undefined && typeof options.faults !== 'boolean') throw new ManagerOptionsError('faults must be a boolean');
  if (options.deviceAuth !== undefined && options.deviceAuth !== 'required' && options.deviceAuth !== 'off') throw new ManagerOptionsError("deviceAuth must be 'required' or 'off'");
  const peers = options.peers ?? [];
  if (!Array.isArray(peers)) throw new ManagerOptionsError('peers must be an array of base URLs');
  if (peers.length > 0 && options.peerSecret === undefined) throw new ManagerOptionsError('peers need a peerSecret (the managers authenticate each other with it)');
  try {
    new Peers(peers);
  } catch (error) {
    if (error instanceof PeerError) throw new ManagerOptionsError(`peers: ${error.message}`);
    throw error;
  }
  return {
    fleet: options.fleet,
    address: normaliseAddress(options.address),
    clockOffsetMs: integerOption('clockOffsetMs', 0, Number.MIN_SAFE_INTEGER),
    locationTtlMs: integerOption('locationTtlMs', DEFAULT_LOCATION_TTL_MS, 1),
    maxBodyBytes: integerOption('maxBodyBytes', DEFAULT_MAX_BODY_BYTES, 1),
    peerTimeoutMs: integerOption('peerTimeoutMs', DEFAULT_PEER_TIMEOUT_MS, 1),
    maxCounterAheadMs: integerOption('maxCounterAheadMs', DEFAULT_MAX_COUNTER_AHEAD_MS, 0),
    maxEnrolments: integerOption('maxEnrolments', DEFAULT_MAX_ENROLMENTS, 0),
    peers,
    // Every server log line is redacted here: peer URLs from devices may carry credentials, request URLs signatures.
    log: options.log ? redactingLog(options.log) : () => {},
  };
}

function redactingLog(log: (line: string) => void): (line: string) => void {
  return (line) => log(redactText(line));
}
