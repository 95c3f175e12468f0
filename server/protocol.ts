/**
 * The six agent-facing endpoints, `POST /dm/v1/<endpoint>`: one CBOR item in, validated with the
 * shared schema from messages.ts, one CBOR item out. Every answer is itself checked against its
 * schema before it leaves, so the reference server cannot teach an agent a malformed message.
 */
import {
  CBOR_MEDIA_TYPE,
  type ConnectionAck,
  type ConnectionReport,
  EXCHANGES,
  type Endpoint,
  type IdentifyRequest,
  type Instruction,
  type InstructionDelta,
  type InstructionRequest,
  type InventoryReport,
  type Location,
  type LocationRequest,
  type PackageList,
  type StatusReport,
  type Target,
  type TargetRecord,
} from '../agent/delivery/messages.ts';
import { decodeCbor } from '../agent/util/cbor.ts';
import { assignedPackage, packageSpec, resolvePackages, resolveReports } from './assignments.ts';
import type { ManagerContext } from './context.ts';
import type { DeviceState } from './devices.ts';
import { type CatalogueEntry, findPackage } from './fleet.ts';
import { type MoveResult, type PeerLookup, finishMove, lookUpPeer } from './move.ts';
import { HttpError, type ManagerRequest, type ManagerResponse, cborAnswer, mediaType, sameAddress } from './wire.ts';

/** Decodes and validates a CBOR request body (415 / 400 as HttpError; CborError and SchemaError pass through as 400s). */
export function readCbor(request: ManagerRequest): unknown {
  if (mediaType(request.headers) !== CBOR_MEDIA_TYPE)
    throw new HttpError(415, 'unsupportedMediaType', `content-type must be ${CBOR_MEDIA_TYPE}, got ${JSON.stringify(request.headers['content-type'] ?? '')}`);
  return decodeCbor(request.body);
}

/**
 * `authenticated`: the device the request's token was issued to (undefined when the manager does
 * not require device tokens); a request speaking for another device is refused (403), so one
 * accepted key cannot report for, or read the assignments of, the rest of the fleet.
 */
export async function serveProtocol(context: ManagerContext, endpoint: Endpoint, request: ManagerRequest, authenticated?: string): Promise<ManagerResponse> {
  if (request.method !== 'POST') throw new HttpError(405, 'methodNotAllowed', `${endpoint}: use POST`, { allow: 'POST' });
  const decoded = readCbor(request);
  if (authenticated !== undefined) {
    const claimed = endpoint === 'identify' ? (decoded as { identity?: { deviceId?: unknown } } | null)?.identity?.deviceId : (decoded as { deviceId?: unknown } | null)?.deviceId;
    if (claimed !== authenticated) throw new HttpError(403, 'wrongDevice', `the device token was issued to ${JSON.stringify(authenticated)}, not to the device this request names`);
  }
  const answer = await dispatch(context, endpoint, decoded);
  try {
    EXCHANGES[endpoint].answer.parse(answer);
  } catch (error) {
    // A bug here, not bad input: say so loudly rather than send it.
    context.log(`BUG: ${endpoint} answer fails its schema: ${(error as Error).message}`);
    throw new HttpError(500, 'internal', `the manager built an invalid ${endpoint} answer`);
  }
  return cborAnswer(200, answer);
}

function dispatch(context: ManagerContext, endpoint: Endpoint, decoded: unknown): Promise<unknown> | unknown {
  switch (endpoint) {
    case 'identify':
      return identify(context, counted(context, EXCHANGES.identify.request.parse(decoded)));
    case 'connection':
      return connection(context, counted(context, EXCHANGES.connection.request.parse(decoded)));
    case 'instruction':
      return instruction(context, counted(context, EXCHANGES.instruction.request.parse(decoded)));
    case 'location':
      return location(context, counted(context, EXCHANGES.location.request.parse(decoded)));
    case 'status':
      return status(context, counted(context, EXCHANGES.status.request.parse(decoded)));
    case 'report':
      return report(context, counted(context, EXCHANGES.report.request.parse(decoded)));
  }
}

/**
 * Refuses a reference counter far ahead of this manager's clock. An agent derives its counter from
 * the managers' UTC (seed 004), so a genuine one is at most the clock skew between managers ahead;
 * a counter like 2^53−1 would otherwise win every comparison forever and lock the device's real
 * connections out of its own records.
 */
function counted<T extends { referenceCounter?: number }>(context: ManagerContext, request: T): T {
  const counter = request.referenceCounter;
  if (counter !== undefined && counter > context.maxCounter())
    throw new HttpError(400, 'badCounter', `referenceCounter ${counter} is more than ${context.maxCounterAheadMs} ms ahead of this manager's clock (${context.utcMs()})`);
  return request;
}

function deviceFor(context: ManagerContext, deviceId: string): DeviceState {
  const known = context.devices.get(deviceId);
  if (known) return known;
  if (context.fleet.defaults.group === undefined) throw new HttpError(404, 'unknownDevice', `device ${JSON.stringify(deviceId)} is not in this manager's fleet`);
  if (context.devices.enrolmentFull())
    throw new HttpError(403, 'enrolmentFull', `device ${JSON.stringify(deviceId)} is not in the fleet and this manager has enrolled its maximum of ${context.devices.maxEnrolments} devices`);
  return context.devices.findOrEnrol(deviceId, context.utcMs())!;
}

/**
 * Who may write a target's record: the device that owns it. A device target is the device itself;
 * any target named like a known device (fleet or enrolled) belongs to that device; otherwise the
 * device whose connection first created the record here (or whose record was moved in) owns it.
 */
function checkOwner(context: ManagerContext, deviceId: string, target: Target, remote?: TargetRecord): void {
  const owners = [
    target.kind === 'device' ? target.id : undefined,
    context.devices.get(target.id) !== undefined ? target.id : undefined,
    context.records.get(target.id)?.deviceId,
    remote?.deviceId,
  ];
  if (owners.some((owner) => owner !== undefined && owner !== deviceId)) throw notYours(deviceId, target.id);
}

const notYours = (deviceId: string, targetId: string): HttpError =>
  new HttpError(403, 'notYourTarget', `target ${JSON.stringify(targetId)} belongs to another device than ${JSON.stringify(deviceId)}`);

function identify(context: ManagerContext, request: IdentifyRequest): PackageList {
  const device = deviceFor(context, request.identity.deviceId);
  context.devices.identified(device, request, context.utcMs());
  const answer: PackageList = {
    type: 'packageList',
    manager: context.managerInfo(),
    packages: resolvePackages(context.fleet, device.assignments).map(packageSpec),
    reports: resolveReports(context.fleet, device.assignments),
  };
  const nextPollMs = device.assignments.nextPollMs ?? context.fleet.defaults.nextPollMs;
  if (nextPollMs !== undefined) answer.nextPollMs = nextPollMs;
  if (device.redirect !== undefined) answer.redirect = device.redirect;
  return answer;
}

/**
 * Stores the stamp and installed list, and runs the move for every target that names another
 * manager as its previous one (concurrently: a dead peer costs one timeout, not one per target).
 * Ownership is checked before anything changes: first against what this manager knows, then
 * against the records fetched from previous managers (a device naming another device's target
 * gets a 403 and neither manager changes). A target whose move is `unreachable` keeps its record
 * as it was, so the agent's retry starts the comparison from the same point (see move.ts).
 */
async function connection(context: ManagerContext, request: ConnectionReport): Promise<ConnectionAck> {
  const device = deviceFor(context, request.deviceId);
  for (const target of request.targets) checkOwner(context, request.deviceId, target);
  const lookups = await Promise.all(
    request.targets.map(async (target): Promise<PeerLookup | undefined> => {
      const from = target.previousManager;
      if (from === undefined) return undefined;
      return sameAddress(from, context.address) ? { result: 'none' } : lookUpPeer(context.move, target.id, from);
    }),
  );
  request.targets.forEach((target, index) => {
    const lookup = lookups[index];
    if (lookup?.result === 'record') checkOwner(context, request.deviceId, target, lookup.remote);
  });
  context.devices.connected(device, request, context.utcMs());
  const moves = await Promise.all(
    request.targets.map(async (target, index): Promise<ConnectionAck['moves'][number] | undefined> => {
      const from = target.previousManager;
      const lookup = lookups[index];
      let result: MoveResult | undefined;
      if (from !== undefined && lookup !== undefined) result = lookup.result === 'record' ? await finishMove(context.move, target.id, from, lookup.remote) : lookup.result;
      if (result !== 'unreachable') context.records.applyConnection(target, request, context.utcMs());
      return from === undefined || result === undefined ? undefined : { target: target.id, from, result };
    }),
  );
  return { type: 'connectionAck', manager: context.managerInfo(), moves: moves.filter((move) => move !== undefined) };
}

async function instruction(context: ManagerContext, request: InstructionRequest): Promise<Instruction> {
  const device = deviceFor(context, request.deviceId);
  context.devices.touched(device, request.referenceCounter, context.utcMs());
  const assigned = assignedPackage(context.fleet, device.assignments, request.name, request.version);
  if (!assigned) throw new HttpError(404, 'notAssigned', `${request.name}@${request.version} is not assigned to ${request.deviceId}`);
  const { entry } = assigned;
  const answer: Instruction = {
    type: 'instruction',
    manager: context.managerInfo(),
    name: entry.name,
    version: entry.version,
    size: entry.size,
    digest: entry.digest,
    postInstall: entry.postInstall,
    locationToken: context.signer.locationToken(request.deviceId, entry),
  };
  if (entry.uninstall) answer.uninstall = entry.uninstall;
  const delta = await packageDelta(context, device, entry);
  if (delta) answer.delta = delta;
  return answer;
}

/** The package as a patch from the version the device last reported installed, when the catalogue has that one. */
async function packageDelta(context: ManagerContext, device: DeviceState, entry: CatalogueEntry): Promise<InstructionDelta | undefined> {
  if (!context.deltas) return undefined;
  const held = device.installed?.packages.find((p) => p.name === entry.name);
  const source = held && held.version !== entry.version ? findPackage(context.fleet, entry.name, held.version) : undefined;
  // The device's copy must be the catalogue's bytes (its digest, when it reported one).
  if (!source || (held?.digest !== undefined && held.digest !== source.digest)) return undefined;
  const made = await context.deltas.delta({ path: source.path, sha256: source.digest, size: source.size }, { path: entry.path, sha256: entry.digest, size: entry.size });
  if (!made) return undefined;
  const expiresUtcMs = context.utcMs() + context.locationTtlMs;
  return {
    format: made.format,
    sourceVersion: source.version,
    sourceSize: source.size,
    sourceSha256: source.digest,
    size: made.size,
    sha256: made.sha256,
    url: context.signer.signedDeltaUrl(context.address, made.sha256, expiresUtcMs),
    expiresUtcMs,
  };
}

function location(context: ManagerContext, request: LocationRequest): Location {
  const device = deviceFor(context, request.deviceId);
  const utcMs = context.utcMs();
  context.devices.touched(device, request.referenceCounter, utcMs);
  const entry = context.signer.openToken(request.deviceId, request.locationToken);
  if (!entry) throw new HttpError(403, 'badToken', 'location token is not valid for this device: ask for the instruction again');
  // The assignment may have changed since the instruction: don't hand out what is no longer wanted.
  if (!assignedPackage(context.fleet, device.assignments, entry.name, entry.version))
    throw new HttpError(404, 'notAssigned', `${entry.name}@${entry.version} is no longer assigned to ${request.deviceId}`);
  const expiresUtcMs = utcMs + context.locationTtlMs;
  return { type: 'location', manager: context.managerInfo(), url: context.signer.signedUrl(context.address, entry, expiresUtcMs), expiresUtcMs };
}

function status(context: ManagerContext, request: StatusReport): unknown {
  const device = deviceFor(context, request.deviceId);
  context.devices.addStatus(device, request, context.utcMs());
  return { type: 'ack', manager: context.managerInfo() };
}

function report(context: ManagerContext, request: InventoryReport): unknown {
  const device = deviceFor(context, request.deviceId);
  context.devices.addReport(device, request, context.utcMs());
  return { type: 'ack', manager: context.managerInfo() };
}
