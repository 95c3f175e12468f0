/**
 * The device update web service protocol (seeds 002/003): every message as one schema, shared by
 * the agent (`agent/firmware/client.ts`) and the reference service (`server/updates/`).
 *
 * Transport: like the pull-model protocol, HTTP(S) POST of one CBOR item (`application/cbor`) to
 * `<service URL>/<endpoint>` through `agent/transport/http.ts`; the answer is one CBOR item, and a
 * refusal is an HTTP error status with a CBOR `{type:'error', code, message}` body. CBOR rather
 * than JSON because the agent already carries the CBOR codec, the size-capped exchange and its
 * typed errors: a second encoding would add code, not capability.
 *
 *   check    CheckRequest   → CheckAnswer   (`downloads: 0`, or one image: version, size, SHA-256, internal + external URL)
 *   report   ResultReport   → ReportAck     (the outcome of an update; idempotent by `reportId`)
 * Images: GET|HEAD of the answer's image URL, with Range.
 *
 * A service has two base URLs: the internal one (inside the firewall, no credentials) and the
 * external one (outside: every request carries the signed-in user's credentials as HTTP Basic,
 * and only over HTTPS). The device learns both by in-band provisioning or, with none and no user
 * ever signed in, from the DNS TXT record at `ucupdates-r2.<DHCP domain>` (format below).
 */
import { type Infer, type Schema, SchemaError, boolean, hexSha256, httpUrl, integer, literal, object, oneOf, optional, string, utcMs } from '../transport/schema.ts';
import { fromBase64, toBase64, utf8Decode, utf8Encode } from '../util/bytes.ts';
import { deltaNote, deltaOfferFields } from '../pipeline/delta-schema.ts';
import { onDemand } from '../transport/on-demand.ts';
import { type ServiceUrls, serviceUrlsSchema } from './service-urls.ts';

export const UPDATES_PROTOCOL = 1;
export const UPDATES_ENDPOINTS = ['check', 'report'] as const;
export type UpdatesEndpoint = (typeof UPDATES_ENDPOINTS)[number];

/** The DNS name a device with no provisioning asks: `ucupdates-r2.<domain from DHCP>` (seed 002). */
export const DISCOVERY_LABEL = 'ucupdates-r2';

export const UPDATES_LIMITS = {
  id: 128,
  version: 64,
  text: 1024,
  /** Largest image the protocol describes (4 GiB): bounds what a hostile answer can make a device stage. */
  imageBytes: 4 * 1024 * 1024 * 1024,
  user: 256,
  password: 1024,
} as const;

const id = () => string({ min: 1, max: UPDATES_LIMITS.id, pattern: /^[\x21-\x7e]+$/, label: 'printable ASCII without spaces' });
/** Versions compare as opaque strings (the rules name exact versions), so only their shape is checked. */
export const firmwareVersionSchema = () => string({ min: 1, max: UPDATES_LIMITS.version, pattern: /^[\x21-\x7e]+$/, label: 'printable ASCII without spaces' });
const model = () => string({ min: 1, max: UPDATES_LIMITS.id });

export const LOCATIONS = ['inside', 'outside'] as const;
/** Where the device is relative to the corporate firewall. */
export type Location = (typeof LOCATIONS)[number];

// The message schemas are built per check and dropped after (../transport/on-demand.ts).

export { type ServiceUrls, serviceUrlsSchema } from './service-urls.ts';

// ───────────────────────────── check ─────────────────────────────

export const checkRequestSchema = onDemand(() => object({
  type: literal('check'),
  protocol: integer({ min: 1, max: 1000 }),
  deviceId: id(),
  model: model(),
  hardwareId: string({ max: UPDATES_LIMITS.id }),
  firmwareVersion: firmwareVersionSchema(),
  /**
   * What the device believes. The service decides from its own list of test devices (by id): a
   * device cannot opt itself into pending updates. A mismatch is journaled.
   */
  testDevice: boolean(),
  /** What the device believes; the service decides from the listener the request came in on. */
  location: oneOf(LOCATIONS),
}));
export type CheckRequest = Infer<typeof checkRequestSchema>;

/**
 * The image as a patch against the version the device reported (`firmwareVersion` of the check):
 * fetched from its own internal/external URLs with the same rules as the image; the image's
 * size and SHA-256 still decide. The device falls back to the full image when it fails.
 */
const imageDelta = () => object({ ...deltaOfferFields(), internalUrl: httpUrl(), externalUrl: httpUrl() });
export const imageDeltaSchema = onDemand(imageDelta);
export type ImageDelta = Infer<typeof imageDeltaSchema>;

const image = () => object({
  version: firmwareVersionSchema(),
  size: integer({ min: 1, max: UPDATES_LIMITS.imageBytes }),
  sha256: hexSha256(),
  internalUrl: httpUrl(),
  externalUrl: httpUrl(),
  delta: optional(imageDelta()),
});
export const imageSchema = onDemand(image);
export type ImageOffer = Infer<typeof imageSchema>;

const checkAnswerShape = () => object({
  type: literal('check'),
  /** 0: nothing to do (no approved update for this version; pending ones count for test devices only). */
  downloads: integer({ min: 0, max: 1 }),
  image: optional(image()),
  /** The service's UTC, informational (log lines, "last checked"). */
  serviceUtcMs: utcMs(),
});

/** `downloads` and `image` must agree: an answer that offers half an update is refused. */
export const checkAnswerSchema: Schema<Infer<ReturnType<typeof checkAnswerShape>>> = {
  parse(value, path = '') {
    const answer = checkAnswerShape().parse(value, path);
    if (answer.downloads === 0 && answer.image !== undefined) throw new SchemaError(path ? `${path}.image` : 'image', 'present although downloads is 0');
    if (answer.downloads === 1 && answer.image === undefined) throw new SchemaError(path ? `${path}.image` : 'image', 'missing although downloads is 1');
    return answer;
  },
};
export type CheckAnswer = Infer<typeof checkAnswerSchema>;

// ───────────────────────────── report ─────────────────────────────

export const OUTCOMES = ['installed', 'rolledBack', 'failed'] as const;
export type UpdateOutcome = (typeof OUTCOMES)[number];

/**
 * The result of one update, sent (through the agent's outbox) after the reboot. `reportId` is
 * chosen by the device and stays the same across resends, so the service counts it once.
 */
export const resultReportSchema = onDemand(() => object({
  type: literal('report'),
  protocol: integer({ min: 1, max: 1000 }),
  reportId: id(),
  deviceId: id(),
  model: model(),
  fromVersion: firmwareVersionSchema(),
  toVersion: firmwareVersionSchema(),
  /** The version running when the report was made (the new one, or the old one after a rollback). */
  runningVersion: firmwareVersionSchema(),
  outcome: oneOf(OUTCOMES),
  detail: optional(string({ max: UPDATES_LIMITS.text })),
  /** The image came as a delta: applied, or fell back to the full image (and why). */
  delta: optional(deltaNote()),
  /** Device UTC of the outcome (the "date of the last update" on the device). */
  utcMs: utcMs(),
}));
export type ResultReport = Infer<typeof resultReportSchema>;

export const reportAckSchema = onDemand(() => object({
  type: literal('ack'),
  reportId: id(),
  /** True when this report id had been received before (a resend after a lost acknowledgement). */
  duplicate: boolean(),
}));
export type ReportAck = Infer<typeof reportAckSchema>;

/** Request and answer schema per endpoint, for the client and the service's router. */
export const UPDATES_EXCHANGES = {
  check: { request: checkRequestSchema, answer: checkAnswerSchema },
  report: { request: resultReportSchema, answer: reportAckSchema },
} as const;

/** Error codes the service answers with (CBOR error body), so the client can type its results. */
export const SERVICE_ERRORS = {
  /** Outside the firewall without credentials (401). */
  signInRequired: 'signInRequired',
  /** Credentials given but wrong (401). */
  badCredentials: 'badCredentials',
  /** Credentials sent over plain HTTP (403): the service refuses to even look at them. */
  insecureCredentials: 'insecureCredentials',
} as const;

// ───────────────────────────── credentials (HTTP Basic) ─────────────────────────────

export interface Credentials {
  user: string;
  password: string;
}

export class CredentialsError extends Error {
  readonly code = 'badCredentialsFormat';
  constructor(message: string) {
    super(message);
    this.name = 'CredentialsError';
  }
}

/** `Basic base64(user:password)` (RFC 7617, UTF-8). The message never echoes the values. */
export function basicAuthorization(credentials: Credentials): string {
  const { user, password } = credentials;
  if (typeof user !== 'string' || user.length === 0 || user.length > UPDATES_LIMITS.user || user.includes(':') || /[\x00-\x1f\x7f]/.test(user))
    throw new CredentialsError('user name must be 1..256 characters without ":" or control characters');
  if (typeof password !== 'string' || password.length > UPDATES_LIMITS.password || /[\x00-\x1f\x7f]/.test(password))
    throw new CredentialsError('password must be at most 1024 characters without control characters');
  return `Basic ${toBase64(utf8Encode(`${user}:${password}`))}`;
}

/** The credentials in an `Authorization` header, or undefined when it is absent or not well-formed Basic. */
export function parseBasicAuthorization(header: string | undefined): Credentials | undefined {
  if (header === undefined || header.length > 4096) return undefined;
  const match = /^\s*basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header);
  if (!match) return undefined;
  let text: string;
  try {
    text = utf8Decode(fromBase64(match[1]!));
  } catch {
    return undefined;
  }
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

// ───────────────────────────── discovery record (DNS TXT) ─────────────────────────────

/**
 * The TXT record at `ucupdates-r2.<domain>`:
 *
 *     "v=ucupd1 internal=https://updates.corp.example/ucupdates external=https://updates.example.com/ucupdates"
 *
 * One record; its character-strings (each ≤ 255 bytes on the wire) are concatenated before
 * parsing, so long URLs may be split anywhere. Fields are separated by spaces, `key=value`, in any
 * order; `v=ucupd1` first. Unknown keys are ignored (later versions may add some); `internal` and
 * `external` are required, http(s) URLs without spaces. Other TXT records at the same name (not
 * starting with `v=ucupd1`) are ignored; two `ucupd1` records are an error (which one is meant?).
 */
export const DISCOVERY_VERSION_TAG = 'v=ucupd1';

export type DiscoveryRecordErrorCode = 'noRecord' | 'ambiguous' | 'badRecord';

export class DiscoveryRecordError extends Error {
  readonly code: DiscoveryRecordErrorCode;
  constructor(code: DiscoveryRecordErrorCode, message: string) {
    super(message);
    this.name = 'DiscoveryRecordError';
    this.code = code;
  }
}

const MAX_RECORD_CHARS = 4096;

export function parseDiscoveryRecords(records: readonly (readonly string[])[]): ServiceUrls {
  const ours = records.map((chunks) => chunks.join('')).filter((text) => text.split(' ')[0] === DISCOVERY_VERSION_TAG);
  if (ours.length === 0) throw new DiscoveryRecordError('noRecord', `no TXT record starting with ${DISCOVERY_VERSION_TAG}`);
  if (ours.length > 1) throw new DiscoveryRecordError('ambiguous', `${ours.length} TXT records start with ${DISCOVERY_VERSION_TAG}; expected one`);
  const text = ours[0]!;
  if (text.length > MAX_RECORD_CHARS) throw new DiscoveryRecordError('badRecord', `record longer than ${MAX_RECORD_CHARS} characters`);
  const fields: Record<string, string> = {};
  for (const token of text.split(' ').slice(1)) {
    if (token === '') continue;
    const equals = token.indexOf('=');
    if (equals <= 0) throw new DiscoveryRecordError('badRecord', `field ${JSON.stringify(token.slice(0, 40))} is not key=value`);
    const key = token.slice(0, equals);
    if (key in fields) throw new DiscoveryRecordError('badRecord', `field ${key} given twice`);
    fields[key] = token.slice(equals + 1);
  }
  try {
    return serviceUrlsSchema.parse({ internal: fields.internal, external: fields.external });
  } catch (error) {
    if (error instanceof SchemaError) throw new DiscoveryRecordError('badRecord', `discovery record: ${error.message}`);
    throw error;
  }
}

/** The record for `urls`, split into character-strings of at most 255 characters (ASCII URLs: bytes = characters). */
export function formatDiscoveryRecord(urls: ServiceUrls): string[] {
  const checked = serviceUrlsSchema.parse(urls);
  const text = `${DISCOVERY_VERSION_TAG} internal=${checked.internal} external=${checked.external}`;
  const chunks: string[] = [];
  for (let at = 0; at < text.length; at += 255) chunks.push(text.slice(at, at + 255));
  return chunks;
}
