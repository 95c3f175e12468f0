/**
 * The pull-model protocol (seed 000) and the roaming fields (seed 004): every message as one
 * schema, shared by the agent and the reference server (server/ imports this file).
 *
 * Transport: HTTP(S) POST of one CBOR item (`application/cbor`) to `<manager>/dm/v1/<endpoint>`;
 * the answer is one CBOR item. Every manager answer carries `manager` = {address, utcMs}: the
 * address of the domain manager that manages the agent and that manager's UTC (seed 004).
 *
 *   identify      IdentifyRequest      → PackageList   (package list + requested reports)
 *   connection    ConnectionReport     → ConnectionAck (reference counter + previous managers → move)
 *   instruction   InstructionRequest   → Instruction   (size, digest, post-install command, location token)
 *   location      LocationRequest      → Location      (current download URL)
 *   status        StatusReport         → Ack           (download begin / download end / post-install end / remove end)
 *   report        InventoryReport      → Ack           (software inventory, machine inventory, file collection)
 * Between managers (the move): GET <previous manager>/dm/v1/targets/<id> → TargetRecord,
 *                              POST <previous manager>/dm/v1/targets/<id>/release (ReleaseRequest) → Ack.
 */
import {
  type Infer,
  array,
  boolean,
  bytes,
  hexSha256,
  httpUrl,
  integer,
  literal,
  object,
  oneOf,
  optional,
  string,
  union,
  utcMs,
} from '../transport/schema.ts';
import { onDemand } from '../transport/on-demand.ts';
import { deltaNote, deltaOfferFields } from '../pipeline/delta-schema.ts';

export const PROTOCOL_VERSION = 1;
export const CBOR_MEDIA_TYPE = 'application/cbor';
export const ENDPOINTS = ['identify', 'connection', 'instruction', 'location', 'status', 'report'] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

// Bounds: generous for real fleets, small enough that a hostile answer cannot exhaust a device.
export const LIMITS = {
  packages: 10_000,
  name: 200,
  version: 100,
  text: 4096,
  token: 1024,
  args: 32,
  targets: 64,
  reports: 16,
  paths: 64,
  files: 1024,
} as const;

// Every schema below is a builder, exported wrapped in `onDemand` (../transport/on-demand.ts): built
// when a message is checked and dropped after, so the protocol costs no heap between exchanges.
const name = () => string({ min: 1, max: LIMITS.name });
const version = () => string({ min: 1, max: LIMITS.version });
const text = () => string({ max: LIMITS.text });
const deviceId = () => string({ min: 1, max: 128 });
const targetId = () => string({ min: 1, max: 128, pattern: /^[\x21-\x7e]+$/, label: 'printable ASCII without spaces' });

const managerInfo = () => object({ address: httpUrl(), utcMs: utcMs() });
export const managerInfoSchema = /* @__PURE__ */ onDemand(managerInfo);
export type ManagerInfo = Infer<typeof managerInfoSchema>;

const target = () => object({ id: targetId(), kind: oneOf(['device', 'user'] as const) });
export const targetSchema = /* @__PURE__ */ onDemand(target);
export type Target = Infer<typeof targetSchema>;

const identity = () =>
  object({
    deviceId: deviceId(),
    model: string({ max: 128 }),
    oem: string({ max: 128 }),
    hardwareId: string({ max: 128 }),
    firmwareVersion: string({ max: 128 }),
    locale: string({ max: 35 }),
  });
export const identitySchema = /* @__PURE__ */ onDemand(identity);

const command = () =>
  object({
    command: string({ min: 1, max: 512 }),
    args: array(string({ max: 1024 }), { max: LIMITS.args }),
    timeoutMs: integer({ min: 1, max: 24 * 3600_000 }),
  });
export const commandSchema = /* @__PURE__ */ onDemand(command);
export type CommandSpec = Infer<typeof commandSchema>;

const packageSpec = () =>
  object({
    name: name(),
    version: version(),
    digest: hexSha256(),
    optional: boolean(),
    size: optional(integer({ min: 0 })),
  });
export const packageSpecSchema = /* @__PURE__ */ onDemand(packageSpec);
export type PackageSpec = Infer<typeof packageSpecSchema>;

const reportRequest = () =>
  union('kind', {
    softwareInventory: object({ kind: literal('softwareInventory') }),
    machineInventory: object({ kind: literal('machineInventory') }),
    fileCollection: object({
      kind: literal('fileCollection'),
      paths: array(string({ min: 1, max: 1024 }), { min: 1, max: LIMITS.paths }),
      maxBytes: integer({ min: 0, max: 64 * 1024 * 1024 }),
    }),
  });
export const reportRequestSchema = /* @__PURE__ */ onDemand(reportRequest);
export type ReportRequest = Infer<typeof reportRequestSchema>;

// ───────────────────────────── agent → manager ─────────────────────────────

/** Fields every request after `identify` carries (seed 004: the counter stamps the connection). */
const stamped = () => ({ deviceId: deviceId(), referenceCounter: integer({ min: 0 }) });

export const identifyRequestSchema = /* @__PURE__ */ onDemand(() =>
  object({
    type: literal('identify'),
    protocol: integer({ min: 1, max: 1000 }),
    agentVersion: string({ max: 64 }),
    platform: string({ max: 64 }),
    identity: identity(),
    targets: array(target(), { min: 1, max: LIMITS.targets }),
    /** The last counter the agent used (informational; the new one follows in `connection`). */
    referenceCounter: optional(integer({ min: 0 })),
  }),
);
export type IdentifyRequest = Infer<typeof identifyRequestSchema>;

export const connectionReportSchema = /* @__PURE__ */ onDemand(() =>
  object({
    type: literal('connection'),
    ...stamped(),
    targets: array(object({ id: targetId(), kind: oneOf(['device', 'user'] as const), previousManager: optional(httpUrl()) }), { min: 1, max: LIMITS.targets }),
    installed: array(object({ name: name(), version: version(), digest: optional(hexSha256()) }), { max: LIMITS.packages }),
  }),
);
export type ConnectionReport = Infer<typeof connectionReportSchema>;

export const instructionRequestSchema = /* @__PURE__ */ onDemand(() => object({ type: literal('instructionRequest'), ...stamped(), name: name(), version: version() }));
export type InstructionRequest = Infer<typeof instructionRequestSchema>;

export const locationRequestSchema = /* @__PURE__ */ onDemand(() => object({ type: literal('locationRequest'), ...stamped(), locationToken: string({ min: 1, max: LIMITS.token }) }));
export type LocationRequest = Infer<typeof locationRequestSchema>;

export const STATUS_PHASES = ['downloadBegin', 'downloadEnd', 'postInstallEnd', 'removeEnd'] as const;
export type StatusPhase = (typeof STATUS_PHASES)[number];

export const statusReportSchema = /* @__PURE__ */ onDemand(() =>
  object({
    type: literal('status'),
    ...stamped(),
    jobId: string({ min: 1, max: 128 }),
    name: name(),
    version: version(),
    phase: oneOf(STATUS_PHASES),
    outcome: oneOf(['success', 'failure'] as const),
    error: optional(object({ code: string({ min: 1, max: 64 }), message: text() })),
    /** Bytes transferred for this package so far (downloadEnd). */
    bytes: optional(integer({ min: 0 })),
    attempts: optional(integer({ min: 0 })),
    exitCode: optional(integer()),
    /** Tail of the command output (postInstallEnd, removeEnd). */
    output: optional(text()),
    /** downloadEnd of a package offered as a delta: applied, or fell back to the full package (and why). */
    delta: optional(deltaNote()),
    deviceUtcMs: utcMs(),
  }),
);
export type StatusReport = Infer<typeof statusReportSchema>;

const installedPackage = () =>
  object({
    name: name(),
    version: version(),
    digest: hexSha256(),
    installedUtcMs: utcMs(),
    optional: boolean(),
  });
export const installedPackageSchema = /* @__PURE__ */ onDemand(installedPackage);
export type InstalledPackageRecord = Infer<typeof installedPackageSchema>;

const storage = () => object({ name: string({ max: 256 }), sizeBytes: integer({ min: 0 }), freeBytes: optional(integer({ min: 0 })) });
const network = () => object({ name: string({ max: 64 }), mac: optional(string({ max: 64 })), addresses: array(string({ max: 64 }), { max: 32 }) });
const machineInventory = () =>
  object({
    architecture: string({ max: 64 }),
    operatingSystem: string({ max: 256 }),
    kernelVersion: optional(string({ max: 256 })),
    cpuModel: optional(string({ max: 256 })),
    cpuCount: integer({ min: 0 }),
    memoryBytes: integer({ min: 0 }),
    storage: array(storage(), { max: 64 }),
    network: array(network(), { max: 64 }),
  });
export const machineInventorySchema = /* @__PURE__ */ onDemand(machineInventory);

const collectedFile = () =>
  object({
    path: string({ min: 1, max: 1024 }),
    size: integer({ min: 0 }),
    modifiedUtcMs: optional(utcMs()),
    content: optional(bytes({ max: 64 * 1024 * 1024 })),
    /** Content cut at the request's size cap. */
    truncated: boolean(),
    /** Why the file is missing (refused outside the roots, not found, unreadable). */
    error: optional(object({ code: string({ min: 1, max: 64 }), message: text() })),
  });
export const collectedFileSchema = /* @__PURE__ */ onDemand(collectedFile);
export type CollectedFile = Infer<typeof collectedFileSchema>;

export const inventoryReportSchema = /* @__PURE__ */ onDemand(() =>
  union('kind', {
    softwareInventory: object({ type: literal('report'), kind: literal('softwareInventory'), ...stamped(), packages: array(installedPackage(), { max: LIMITS.packages }) }),
    machineInventory: object({ type: literal('report'), kind: literal('machineInventory'), ...stamped(), identity: identity(), inventory: machineInventory() }),
    fileCollection: object({ type: literal('report'), kind: literal('fileCollection'), ...stamped(), files: array(collectedFile(), { max: LIMITS.files }) }),
  }),
);
export type InventoryReport = Infer<typeof inventoryReportSchema>;

// ───────────────────────────── manager → agent ─────────────────────────────

export const packageListSchema = /* @__PURE__ */ onDemand(() =>
  object({
    type: literal('packageList'),
    manager: managerInfo(),
    packages: array(packageSpec(), { max: LIMITS.packages }),
    reports: array(reportRequest(), { max: LIMITS.reports }),
    /** The manager asks for the next poll in this many milliseconds. */
    nextPollMs: optional(integer({ min: 0, max: 30 * 24 * 3600_000 })),
    /** The device was reassigned: poll this manager URL from now on. */
    redirect: optional(httpUrl()),
  }),
);
export type PackageList = Infer<typeof packageListSchema>;

export const MOVE_RESULTS = ['moved', 'kept', 'unreachable', 'none'] as const;
export const connectionAckSchema = /* @__PURE__ */ onDemand(() =>
  object({
    type: literal('connectionAck'),
    manager: managerInfo(),
    /** Per target that named a previous manager: what the move did. */
    moves: array(object({ target: targetId(), from: httpUrl(), result: oneOf(MOVE_RESULTS) }), { max: LIMITS.targets }),
  }),
);
export type ConnectionAck = Infer<typeof connectionAckSchema>;

export const instructionSchema = /* @__PURE__ */ onDemand(() =>
  object({
    type: literal('instruction'),
    manager: managerInfo(),
    name: name(),
    version: version(),
    size: integer({ min: 0 }),
    digest: hexSha256(),
    postInstall: command(),
    uninstall: optional(command()),
    locationToken: string({ min: 1, max: LIMITS.token }),
    /**
     * The package as a patch against the version the device reported installed (connection
     * report): a signed URL like a location answer's. The full package (`size`, `digest`) is what
     * the result must be, and what the device downloads when the delta fails.
     */
    delta: optional(object({ ...deltaOfferFields(), url: httpUrl(), expiresUtcMs: optional(utcMs()) })),
  }),
);
export type Instruction = Infer<typeof instructionSchema>;
export type InstructionDelta = NonNullable<Instruction['delta']>;

export const locationSchema = /* @__PURE__ */ onDemand(() =>
  object({
    type: literal('location'),
    manager: managerInfo(),
    url: httpUrl(),
    expiresUtcMs: optional(utcMs()),
  }),
);
export type Location = Infer<typeof locationSchema>;

export const ackSchema = /* @__PURE__ */ onDemand(() => object({ type: literal('ack'), manager: managerInfo() }));
export type Ack = Infer<typeof ackSchema>;

/** A manager's answer to a request it refuses (HTTP 4xx/5xx with a CBOR body). */
export const errorAnswerSchema = /* @__PURE__ */ onDemand(() => object({ type: literal('error'), code: string({ min: 1, max: 64 }), message: text() }));
export type ErrorAnswer = Infer<typeof errorAnswerSchema>;

// ───────────────────────────── manager ↔ manager (the move) ─────────────────────────────

export const targetRecordSchema = /* @__PURE__ */ onDemand(() =>
  object({
    type: literal('targetRecord'),
    target: targetId(),
    kind: oneOf(['device', 'user'] as const),
    deviceId: deviceId(),
    /** The agent's reference counter of the connection that last updated this record. */
    referenceCounter: integer({ min: 0 }),
    packages: array(object({ name: name(), version: version(), digest: optional(hexSha256()) }), { max: LIMITS.packages }),
    updatedUtcMs: utcMs(),
    manager: httpUrl(),
    /** Set once the target was released to another manager (the record stays readable for late peers). */
    movedTo: optional(httpUrl()),
  }),
);
export type TargetRecord = Infer<typeof targetRecordSchema>;

/**
 * The new manager tells the previous one it took a target over, naming the counter of the record
 * it fetched: a previous manager whose record moved on since (a later connection) refuses (409),
 * so the move is retried with the newer record instead of losing it.
 */
export const releaseRequestSchema = /* @__PURE__ */ onDemand(() =>
  object({
    type: literal('release'),
    target: targetId(),
    movedTo: httpUrl(),
    referenceCounter: integer({ min: 0 }),
  }),
);
export type ReleaseRequest = Infer<typeof releaseRequestSchema>;

/** Request and answer schema per endpoint, for the client and the server's router. */
export const EXCHANGES = {
  identify: { request: identifyRequestSchema, answer: packageListSchema },
  connection: { request: connectionReportSchema, answer: connectionAckSchema },
  instruction: { request: instructionRequestSchema, answer: instructionSchema },
  location: { request: locationRequestSchema, answer: locationSchema },
  status: { request: statusReportSchema, answer: ackSchema },
  report: { request: inventoryReportSchema, answer: ackSchema },
} as const;

