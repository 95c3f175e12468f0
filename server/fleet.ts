/**
 * The fleet file: what the manager serves and to whom. JSON, checked strictly (an unknown key is
 * an error: a typo must not silently un-assign a package) and worded per path like the board
 * checker. Artifact digests and sizes are computed from the files at load, never written by hand,
 * so the package list can't promise a digest the artifact doesn't have.
 *
 *   {
 *     "packages": { "<name>": { "<version>": { "file": "relative/to/fleet.json",
 *                   "postInstall": { "command", "args", "timeoutMs" }, "uninstall"?: { … } } } },
 *     "groups":   { "<group>": { "packages": [{ "name", "version", "optional"? }], "reports"?: [ReportRequest] } },
 *     "devices":  { "<deviceId>": { "groups": ["<group>"], "packages"?: [{ "name", "version", "optional"? } | { "name", "remove": true }],
 *                   "reports"?: [ReportRequest], "nextPollMs"? } },
 *     "defaults"?: { "group"?: "<group unknown devices are enrolled into>", "nextPollMs"? }
 *   }
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type CommandSpec, type ReportRequest, LIMITS, commandSchema, reportRequestSchema } from '../agent/delivery/messages.ts';
import { type Schema, SchemaError, array, boolean, integer, literal, object, optional, string } from '../agent/transport/schema.ts';
import { ownValue } from '../agent/util/own.ts';

export interface FleetIssue {
  /** Path of the offending value, e.g. `devices.dev-1.packages[0].version`. */
  path: string;
  message: string;
}

export class FleetError extends Error {
  readonly code = 'badFleet';
  readonly issues: FleetIssue[];
  constructor(issues: FleetIssue[]) {
    super(`invalid fleet:\n${issues.map((issue) => `  ${issue.path || '(root)'}: ${issue.message}`).join('\n')}`);
    this.name = 'FleetError';
    this.issues = issues;
  }
}

export interface CatalogueEntry {
  name: string;
  version: string;
  /** As written in the fleet file. */
  file: string;
  /** Absolute path of the artifact. */
  path: string;
  /** Lower-case hex SHA-256 of the file, computed at load. */
  digest: string;
  size: number;
  postInstall: CommandSpec;
  uninstall?: CommandSpec;
}

export interface Assignment {
  name: string;
  version: string;
  optional: boolean;
}
/** A device-level entry that takes a group's package away from that one device. */
export interface Removal {
  name: string;
  remove: true;
}
export type DeviceAssignment = Assignment | Removal;

export interface GroupEntry {
  packages: Assignment[];
  reports: ReportRequest[];
}

export interface DeviceEntry {
  groups: string[];
  packages: DeviceAssignment[];
  reports: ReportRequest[];
  nextPollMs?: number;
}

export interface Fleet {
  /** Absolute directory artifact paths were resolved against. */
  readonly dir: string;
  readonly catalogue: ReadonlyMap<string, ReadonlyMap<string, CatalogueEntry>>;
  readonly groups: ReadonlyMap<string, GroupEntry>;
  readonly devices: ReadonlyMap<string, DeviceEntry>;
  readonly defaults: { group?: string; nextPollMs?: number };
}

/** Fleets made by `loadFleet`: the manager only accepts those (their digests are real). */
const loaded = new WeakSet<Fleet>();
export const isLoadedFleet = (value: unknown): value is Fleet => typeof value === 'object' && value !== null && loaded.has(value as Fleet);

// ───────────────────────────── structure ─────────────────────────────

const nameSchema = string({ min: 1, max: LIMITS.name });
const versionSchema = string({ min: 1, max: LIMITS.version });
const keySchema = string({ min: 1, max: 128, pattern: /^[\x21-\x7e]+$/, label: 'printable ASCII without spaces' });
const pollSchema = integer({ min: 0, max: 30 * 24 * 3600_000 });

/** Refuses keys outside `allowed`, then hands over to a shared (lenient) schema from messages.ts. */
function exactKeys<T>(allowed: readonly string[], schema: Schema<T>): Schema<T> {
  return {
    parse(value, path = '') {
      if (typeof value === 'object' && value !== null && !Array.isArray(value))
        for (const key of Object.keys(value)) if (!allowed.includes(key)) throw new SchemaError(path ? `${path}.${key}` : key, `unknown key (allowed: ${allowed.join(', ')})`);
      return schema.parse(value, path);
    },
  };
}

const REPORT_KEYS: Record<string, readonly string[]> = { softwareInventory: ['kind'], machineInventory: ['kind'], fileCollection: ['kind', 'paths', 'maxBytes'] };
const reportSchema: Schema<ReportRequest> = {
  parse(value, path = '') {
    const kind = typeof value === 'object' && value !== null ? (value as { kind?: unknown }).kind : undefined;
    // Own keys only: a kind `constructor` must not find Object.prototype.constructor here.
    return exactKeys((typeof kind === 'string' ? ownValue(REPORT_KEYS, kind) : undefined) ?? ['kind', 'paths', 'maxBytes'], reportRequestSchema).parse(value, path);
  },
};
const strictCommand = exactKeys(['command', 'args', 'timeoutMs'], commandSchema);

/** A JSON map as a Map (never a plain object: a device called `__proto__` must stay a device). */
function mapOf<T>(valueSchema: Schema<T>, options: { key: Schema<string>; maxKeys: number }): Schema<Map<string, T>> {
  return {
    parse(value, path = '') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SchemaError(path, 'expected an object');
      const entries = Object.entries(value);
      if (entries.length > options.maxKeys) throw new SchemaError(path, `more than ${options.maxKeys} keys`);
      const out = new Map<string, T>();
      for (const [key, inner] of entries) {
        const at = path ? `${path}.${key}` : key;
        options.key.parse(key, at);
        out.set(key, valueSchema.parse(inner, at));
      }
      return out;
    },
  };
}

const assignmentSchema = object({ name: nameSchema, version: versionSchema, optional: optional(boolean()) }, { strict: true });
const deviceAssignmentSchema: Schema<DeviceAssignment> = {
  parse(value, path = '') {
    if (typeof value === 'object' && value !== null && (value as { remove?: unknown }).remove !== undefined) {
      const removal = object({ name: nameSchema, remove: literal(true) }, { strict: true }).parse(value, path);
      return { name: removal.name, remove: true };
    }
    const entry = assignmentSchema.parse(value, path);
    return { name: entry.name, version: entry.version, optional: entry.optional ?? false };
  },
};

const fleetSchema = object(
  {
    description: optional(string({ max: 4096 })),
    packages: mapOf(
      mapOf(object({ file: string({ min: 1, max: 4096 }), postInstall: strictCommand, uninstall: optional(strictCommand) }, { strict: true }), { key: versionSchema, maxKeys: 1000 }),
      { key: nameSchema, maxKeys: LIMITS.packages },
    ),
    groups: mapOf(object({ packages: array(assignmentSchema, { max: LIMITS.packages }), reports: optional(array(reportSchema, { max: LIMITS.reports })) }, { strict: true }), {
      key: keySchema,
      maxKeys: 10_000,
    }),
    devices: mapOf(
      object(
        {
          groups: array(keySchema, { max: 64 }),
          packages: optional(array(deviceAssignmentSchema, { max: LIMITS.packages })),
          reports: optional(array(reportSchema, { max: LIMITS.reports })),
          nextPollMs: optional(pollSchema),
        },
        { strict: true },
      ),
      { key: string({ min: 1, max: 128 }), maxKeys: 1_000_000 },
    ),
    defaults: optional(object({ group: optional(keySchema), nextPollMs: optional(pollSchema) }, { strict: true })),
  },
  { strict: true },
);

type FleetSpec = ReturnType<typeof fleetSchema.parse>;

// ───────────────────────────── meaning ─────────────────────────────

/** Checks structure and cross-references (no file access); every problem found, not just the first. */
export function checkFleet(json: unknown): { spec: FleetSpec; issues: FleetIssue[] } | { spec?: undefined; issues: FleetIssue[] } {
  let spec: FleetSpec;
  try {
    spec = fleetSchema.parse(json);
  } catch (error) {
    if (error instanceof SchemaError) return { issues: [{ path: error.path, message: error.message.slice(error.message.indexOf(': ') + 2) }] };
    throw error;
  }
  const issues: FleetIssue[] = [];
  for (const [group, entry] of spec.groups) {
    issues.push(...checkAssignments(spec.packages, entry.packages.map((p) => ({ name: p.name, version: p.version, optional: p.optional ?? false })), `groups.${group}.packages`));
  }
  for (const [device, entry] of spec.devices) {
    entry.groups.forEach((group, index) => {
      if (!spec.groups.has(group)) issues.push({ path: `devices.${device}.groups[${index}]`, message: `unknown group ${JSON.stringify(group)}` });
    });
    issues.push(...checkAssignments(spec.packages, entry.packages ?? [], `devices.${device}.packages`));
  }
  const group = spec.defaults?.group;
  if (group !== undefined && !spec.groups.has(group)) issues.push({ path: 'defaults.group', message: `unknown group ${JSON.stringify(group)}` });
  return issues.length > 0 ? { issues } : { spec, issues };
}

/** Every assigned name@version must be in the catalogue, once per list. */
function checkAssignments(catalogue: ReadonlyMap<string, ReadonlyMap<string, unknown>>, list: readonly DeviceAssignment[], path: string): FleetIssue[] {
  const issues: FleetIssue[] = [];
  const seen = new Set<string>();
  list.forEach((entry, index) => {
    if (seen.has(entry.name)) issues.push({ path: `${path}[${index}].name`, message: `${JSON.stringify(entry.name)} is listed twice` });
    seen.add(entry.name);
    const versions = catalogue.get(entry.name);
    if (!versions) issues.push({ path: `${path}[${index}].name`, message: `no package ${JSON.stringify(entry.name)} in the catalogue` });
    else if ('version' in entry && !versions.has(entry.version))
      issues.push({ path: `${path}[${index}].version`, message: `no version ${JSON.stringify(entry.version)} of ${JSON.stringify(entry.name)} in the catalogue (have ${[...versions.keys()].join(', ')})` });
  });
  return issues;
}

/** A device's own assignments as the admin API receives them (same rules as the fleet file). */
export function parseDeviceAssignments(fleet: Fleet, json: unknown): DeviceAssignment[] {
  let list: DeviceAssignment[];
  try {
    list = array(deviceAssignmentSchema, { max: LIMITS.packages }).parse(json);
  } catch (error) {
    if (error instanceof SchemaError) throw new FleetError([{ path: error.path, message: error.message.slice(error.message.indexOf(': ') + 2) }]);
    throw error;
  }
  const issues = checkAssignments(fleet.catalogue, list, '');
  if (issues.length > 0) throw new FleetError(issues);
  return list;
}

// ───────────────────────────── load ─────────────────────────────

/** Validates `json`, resolves artifact files against `dir`, hashes them (streaming). Throws `FleetError`. */
export async function loadFleet(json: unknown, dir: string): Promise<Fleet> {
  const checked = checkFleet(json);
  if (!checked.spec) throw new FleetError(checked.issues);
  const { spec } = checked;
  const base = resolve(dir);
  const issues: FleetIssue[] = [];
  const catalogue = new Map<string, Map<string, CatalogueEntry>>();
  for (const [name, versions] of spec.packages) {
    const entries = new Map<string, CatalogueEntry>();
    catalogue.set(name, entries);
    for (const [version, definition] of versions) {
      const path = resolve(base, definition.file);
      try {
        const { digest, size } = await fileDigest(path);
        const entry: CatalogueEntry = { name, version, file: definition.file, path, digest, size, postInstall: definition.postInstall };
        if (definition.uninstall) entry.uninstall = definition.uninstall;
        entries.set(version, entry);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const reason = code === 'ENOENT' ? 'no such file' : code === 'NOTFILE' ? 'not a regular file' : (error as Error).message;
        issues.push({ path: `packages.${name}.${version}.file`, message: `${path}: ${reason}` });
      }
    }
  }
  if (issues.length > 0) throw new FleetError(issues);
  const fleet: Fleet = {
    dir: base,
    catalogue,
    groups: new Map([...spec.groups].map(([group, entry]) => [group, { packages: entry.packages.map((p) => ({ name: p.name, version: p.version, optional: p.optional ?? false })), reports: entry.reports ?? [] }])),
    devices: new Map(
      [...spec.devices].map(([device, entry]) => {
        const out: DeviceEntry = { groups: entry.groups, packages: entry.packages ?? [], reports: entry.reports ?? [] };
        if (entry.nextPollMs !== undefined) out.nextPollMs = entry.nextPollMs;
        return [device, out];
      }),
    ),
    defaults: { ...spec.defaults },
  };
  loaded.add(fleet);
  return fleet;
}

/** Reads and loads a fleet file; artifact paths are relative to the file's directory. */
export async function readFleetFile(file: string): Promise<Fleet> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new FleetError([{ path: '', message: `${file}: cannot read: ${reason}` }]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new FleetError([{ path: '', message: `${file}: not JSON: ${(error as Error).message}` }]);
  }
  return loadFleet(json, dirname(resolve(file)));
}

export function findPackage(fleet: Fleet, name: string, version: string): CatalogueEntry | undefined {
  return fleet.catalogue.get(name)?.get(version);
}

/**
 * Hashes are cached by path, size and mtime: tests and the demo start several managers over the
 * same (possibly large) artifacts, and a changed file gets a new entry.
 */
const digestCache = new Map<string, { size: number; mtimeMs: number; digest: string }>();

export async function fileDigest(path: string): Promise<{ digest: string; size: number }> {
  const info = await stat(path);
  if (!info.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'NOTFILE' });
  const cached = digestCache.get(path);
  if (cached && cached.size === info.size && cached.mtimeMs === info.mtimeMs) return { digest: cached.digest, size: info.size };
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  const digest = hash.digest('hex');
  digestCache.set(path, { size, mtimeMs: info.mtimeMs, digest });
  return { digest, size };
}
