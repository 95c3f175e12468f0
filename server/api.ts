/**
 * The JSON query and admin API under `/api`, for tests, the demo and people (`curl` friendly):
 *   GET    /api/manager                     address, UTC, clock offset
 *   GET    /api/devices                     every device: last seen, counter, last status
 *   GET    /api/devices/<id>                assignments, resolved package list, installed list, status history, inventories
 *   GET    /api/devices/<id>/status         status history, oldest first
 *   GET    /api/devices/<id>/reports[?kind] inventory reports, oldest first
 *   PUT    /api/devices/<id>/packages       replace the device's own assignments: [{name, version, optional?} | {name, remove: true}]
 *   POST   /api/devices/<id>/redirect       {url}: every identify answer carries `redirect` until DELETE
 *   DELETE /api/devices/<id>/redirect
 *   GET    /api/targets, /api/targets/<id>  target records (counter, movedFrom, movedTo)
 *   GET    /api/faults                      active faults
 *   POST   /api/faults                      add one (see faults.ts)
 *   DELETE /api/faults                      clear all
 *   POST   /api/push                        {t?, family?}: a CBOR wake-up to every device (push.ts)
 *   POST   /api/devices/<id>/push           the same to one device
 * Every route needs the admin token (checked by the router before it gets here); the faults
 * routes exist only on a manager started with fault injection on (`faults: true`, `--faults`).
 */
import { httpUrl, object } from '../agent/transport/schema.ts';
import { packageSpec, resolvePackages, resolveReports } from './assignments.ts';
import type { ManagerContext } from './context.ts';
import type { DeviceState } from './devices.ts';
import { findPackage, parseDeviceAssignments } from './fleet.ts';
import { servePush } from './push.ts';
import { HttpError, type ManagerRequest, type ManagerResponse, jsonAnswer, mediaType, normaliseAddress } from './wire.ts';

const REPORT_KINDS = ['softwareInventory', 'machineInventory', 'fileCollection'];
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function serveApi(context: ManagerContext, request: ManagerRequest, segments: string[], query: URLSearchParams): ManagerResponse | Promise<ManagerResponse> {
  const [collection, id, sub, ...extra] = segments;
  const method = request.method;
  if (extra.length > 0) throw notFound();
  switch (collection) {
    case 'manager':
      if (id !== undefined) throw notFound();
      allow(method, 'GET');
      return jsonAnswer(200, { address: context.address, utcMs: context.utcMs(), clockOffsetMs: context.clockOffsetMs });
    case 'devices':
      return devices(context, request, id, sub, query);
    case 'targets':
      if (sub !== undefined) throw notFound();
      allow(method, 'GET');
      if (id === undefined) return jsonAnswer(200, context.records.list());
      return jsonAnswer(200, context.records.get(id) ?? missing('target', id));
    case 'faults':
      if (id !== undefined) throw notFound();
      return faults(context, request);
    case 'push':
      if (id !== undefined) throw notFound();
      return servePush(context.push, request);
    default:
      throw notFound();
  }
}

function devices(context: ManagerContext, request: ManagerRequest, id: string | undefined, sub: string | undefined, query: URLSearchParams): ManagerResponse | Promise<ManagerResponse> {
  const method = request.method;
  if (id === undefined) {
    allow(method, 'GET');
    return jsonAnswer(200, context.devices.list().map(summary));
  }
  const device = context.devices.get(id) ?? missing('device', id);
  switch (sub) {
    case undefined:
      allow(method, 'GET');
      return jsonAnswer(200, detail(context, device));
    case 'status':
      allow(method, 'GET');
      return jsonAnswer(200, device.statusHistory);
    case 'reports': {
      allow(method, 'GET');
      const kind = query.get('kind');
      if (kind !== null && !REPORT_KINDS.includes(kind)) throw new HttpError(400, 'badQuery', `kind must be one of ${REPORT_KINDS.join(', ')}`);
      return jsonAnswer(200, device.reportHistory.filter((entry) => kind === null || entry.kind === kind));
    }
    case 'packages': {
      allow(method, 'GET', 'PUT');
      if (method === 'PUT') context.devices.assign(device, parseDeviceAssignments(context.fleet, readJson(request)));
      return jsonAnswer(200, { own: device.assignments.packages, assigned: resolvePackages(context.fleet, device.assignments).map(packageSpec) });
    }
    case 'redirect': {
      allow(method, 'POST', 'DELETE');
      const url = method === 'DELETE' ? undefined : normaliseAddress(object({ url: httpUrl() }, { strict: true }).parse(readJson(request)).url);
      context.devices.redirect(device, url);
      return jsonAnswer(200, { redirect: url ?? null });
    }
    case 'push':
      return servePush(context.push, request, device.id);
    default:
      throw notFound();
  }
}

function faults(context: ManagerContext, request: ManagerRequest): ManagerResponse {
  const active = context.faults;
  if (active === undefined) throw new HttpError(404, 'faultsDisabled', 'fault injection is off: start the manager with --faults (faults: true) to use /api/faults');
  allow(request.method, 'GET', 'POST', 'DELETE');
  if (request.method === 'GET') return jsonAnswer(200, active.list());
  if (request.method === 'DELETE') return jsonAnswer(200, { cleared: active.clear() });
  const fault = active.add(readJson(request), (name, version) => findPackage(context.fleet, name, version) !== undefined);
  context.log(`fault added: ${JSON.stringify(fault.spec)}`);
  return jsonAnswer(201, fault);
}

function summary(device: DeviceState): unknown {
  const last = device.statusHistory.at(-1);
  return {
    id: device.id,
    enrolled: device.enrolled,
    groups: device.assignments.groups,
    lastSeenUtcMs: device.lastSeenUtcMs ?? null,
    referenceCounter: device.referenceCounter ?? null,
    lastStatus: last ? { name: last.name, version: last.version, phase: last.phase, outcome: last.outcome, receivedUtcMs: last.receivedUtcMs } : null,
  };
}

function detail(context: ManagerContext, device: DeviceState): unknown {
  const { assignments } = device;
  return {
    id: device.id,
    enrolled: device.enrolled,
    groups: assignments.groups,
    own: assignments.packages,
    assigned: resolvePackages(context.fleet, assignments).map(packageSpec),
    reportsRequested: resolveReports(context.fleet, assignments),
    nextPollMs: assignments.nextPollMs ?? context.fleet.defaults.nextPollMs ?? null,
    redirect: device.redirect ?? null,
    identity: device.identity ?? null,
    agentVersion: device.agentVersion ?? null,
    platform: device.platform ?? null,
    targets: device.targets ?? [],
    firstSeenUtcMs: device.firstSeenUtcMs ?? null,
    lastSeenUtcMs: device.lastSeenUtcMs ?? null,
    referenceCounter: device.referenceCounter ?? null,
    installed: device.installed ?? null,
    status: device.statusHistory,
    inventories: device.inventories,
  };
}

export function readJson(request: ManagerRequest): unknown {
  const type = mediaType(request.headers);
  if (type !== '' && type !== 'application/json') throw new HttpError(415, 'unsupportedMediaType', `content-type must be application/json, got ${JSON.stringify(type)}`);
  try {
    return JSON.parse(utf8.decode(request.body));
  } catch (error) {
    throw new HttpError(400, 'badJson', `body is not JSON: ${(error as Error).message}`);
  }
}

export function allow(method: string, ...methods: string[]): void {
  if (!methods.includes(method)) throw new HttpError(405, 'methodNotAllowed', `use ${methods.join(' or ')}`, { allow: methods.join(', ') });
}

function missing(what: string, id: string): never {
  throw new HttpError(404, `unknown${what[0]!.toUpperCase()}${what.slice(1)}`, `no ${what} ${JSON.stringify(id)}`);
}

const notFound = (): HttpError => new HttpError(404, 'notFound', 'no such API route');
