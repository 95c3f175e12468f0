/**
 * The device side of the update web service protocol (seeds 002/003): discovery of the service,
 * the update check, result reports and the sources of an offered image. Portable (no node
 * imports); it talks only through the HAL net facet it is given, and takes what it cannot know
 * (location, signed-in user, provisioning, whether a user ever signed in) as parameters, so the
 * family decides *when* and from which HAL facts, and this module decides *how*.
 *
 * Rules it enforces, whoever calls it:
 * - The internal URL never gets credentials (inside the firewall the service needs none).
 * - The external URL gets the signed-in user's credentials, over HTTPS only: an http:// external
 *   URL is refused before anything is sent (`insecureUrl`). Without a user it is not tried at all.
 * - Outside the firewall with no user, nothing is sent (`needsSignIn`).
 * - Credentials never reach a log line, a result or an error message (they live in one header
 *   object handed to the HAL, and URLs carrying userinfo are refused).
 * - The URL for the current location goes first; the other one is the fallback when the first
 *   cannot be reached (network trouble, 5xx, 408, 429). `unknown` location is decided by which
 *   URL answers: internal first.
 */
import { NetworkError } from '../../hal/errors.ts';
import type { AbortSignalLike, DnsResolver, HttpClient } from '../../hal/types.ts';
import type { Logger } from '../log.ts';
import { TransportError, exchange, joinUrl } from '../transport/http.ts';
import { InsecureManagerError, checkManagerUrl } from '../trust/transport-policy.ts';
import type { Infer } from '../transport/schema.ts';
import { SchemaError } from '../transport/schema.ts';
import {
  type CheckAnswer,
  type Credentials,
  CredentialsError,
  DISCOVERY_LABEL,
  DiscoveryRecordError,
  type ImageOffer,
  type Location,
  type ReportAck,
  type ResultReport,
  SERVICE_ERRORS,
  type ServiceUrls,
  UPDATES_EXCHANGES,
  UPDATES_PROTOCOL,
  type UpdatesEndpoint,
  basicAuthorization,
  parseDiscoveryRecords,
  serviceUrlsSchema,
} from './messages.ts';

/** `unknown`: the HAL cannot tell; the answering URL decides. */
export type DeviceLocation = Location | 'unknown';
export type Zone = 'internal' | 'external';

export type UpdateClientErrorCode =
  | 'insecureUrl' // credentials would go over plain HTTP: refused, nothing sent
  | 'badUrl' // a URL carries userinfo or is not http(s)
  | 'badCredentials' // the service refused the user's credentials
  | 'refused' // the service answered a 4xx other than the above
  | 'unreachable' // network trouble, 5xx, 408, 429: worth trying again later
  | 'badAnswer'; // undecodable, oversized or schema-violating answer

/** The one error type of this module. Its message names URLs and codes, never credentials. */
export class UpdateClientError extends Error {
  readonly code: UpdateClientErrorCode;
  readonly retryable: boolean;
  readonly zone?: Zone;
  readonly status?: number;
  constructor(code: UpdateClientErrorCode, message: string, options: { retryable?: boolean; zone?: Zone; status?: number } = {}) {
    super(message);
    this.name = 'UpdateClientError';
    this.code = code;
    this.retryable = options.retryable ?? code === 'unreachable';
    if (options.zone !== undefined) this.zone = options.zone;
    if (options.status !== undefined) this.status = options.status;
  }
}

export interface UpdateClientOptions {
  net: { http: HttpClient; dns: DnsResolver };
  /** Default 30 s. */
  timeoutMs?: number;
  /** Default 64 KiB: answers are small. */
  maxAnswerBytes?: number;
  log?: Logger;
  /** `firmware.allowInsecure`: an `http://` service URL (provisioned or discovered) is used, logged at every connection. */
  allowInsecure?: boolean;
}

// ───────────────────────────── discovery ─────────────────────────────

export type DiscoveryResult =
  | { kind: 'found'; source: 'provisioned' | 'dns'; urls: ServiceUrls; /** The name asked (dns only). */ name?: string }
  | {
      kind: 'none';
      reason:
        | 'badProvisioning' // what the config/manager provided is not two http(s) URLs
        | 'signedInWithoutProvisioning' // a user has signed in, so URLs come by provisioning only (seed 002)
        | 'noDomain' // DHCP gave no DNS domain
        | 'noRecord' // no usable TXT record at ucupdates-r2.<domain>
        | 'badRecord' // a record, but malformed or ambiguous
        | 'dnsUnavailable'; // the resolver failed (timeout, …): try again later
      message: string;
      retryable: boolean;
    };

export interface DiscoverInput {
  /** In-band provisioning (board/agent config, or pushed by a manager): wins when present. */
  provisioned?: ServiceUrls | undefined;
  /** Whether any user has ever signed in on this device (persisted by the family). */
  everSignedIn: boolean;
}

// ───────────────────────────── exchanges ─────────────────────────────

export interface ContactInput {
  urls: ServiceUrls;
  location: DeviceLocation;
  /** The signed-in user, if any. */
  user?: Credentials | undefined;
  signal?: AbortSignalLike;
}

export interface CheckInput extends ContactInput {
  identity: { deviceId: string; model: string; hardwareId: string; firmwareVersion: string };
  testDevice: boolean;
}

/** Which URL answered; `location` is what that tells about the device (internal ⇒ inside). */
interface Answered {
  zone: Zone;
  location: Location;
}

export type ExchangeResult<T> =
  | ({ kind: 'ok'; answer: T } & Answered)
  /** Outside (or only the external URL left) and no signed-in user: nothing was sent there. */
  | { kind: 'needsSignIn'; message: string }
  | { kind: 'failed'; error: UpdateClientError };

export type CheckResult =
  | ({ kind: 'upToDate'; serviceUtcMs: number } & Answered)
  | ({ kind: 'update'; image: ImageOffer; serviceUtcMs: number } & Answered)
  | Exclude<ExchangeResult<never>, { kind: 'ok' }>;

/**
 * One URL to try and the headers to send with it (credentials included when due): a service base
 * URL for the exchanges, an image URL for downloads.
 */
export interface Contact {
  zone: Zone;
  url: string;
  /** Hand to the HAL request as is; never log it. */
  headers: Record<string, string>;
}

/** One way to fetch an offered image. */
export type ImageSource = Contact;

export type ImageSourcesResult = { kind: 'ok'; sources: ImageSource[] } | { kind: 'needsSignIn'; message: string } | { kind: 'failed'; error: UpdateClientError };

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_ANSWER_BYTES = 64 * 1024;

export class UpdateClient {
  readonly #net: UpdateClientOptions['net'];
  readonly #timeoutMs: number;
  readonly #maxAnswerBytes: number;
  readonly #log: Logger | undefined;

  readonly #allowInsecure: boolean;

  constructor(options: UpdateClientOptions) {
    this.#net = options.net;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#maxAnswerBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
    this.#log = options.log;
    this.#allowInsecure = options.allowInsecure ?? false;
  }

  /** Provisioning first; with none and no user ever signed in, the TXT record at `ucupdates-r2.<DHCP domain>`. */
  async discover(input: DiscoverInput): Promise<DiscoveryResult> {
    if (input.provisioned !== undefined) {
      try {
        return { kind: 'found', source: 'provisioned', urls: serviceUrlsSchema.parse(input.provisioned) };
      } catch (error) {
        if (!(error instanceof SchemaError)) throw error;
        return { kind: 'none', reason: 'badProvisioning', message: `provisioned service URLs: ${error.message}`, retryable: false };
      }
    }
    if (input.everSignedIn)
      return { kind: 'none', reason: 'signedInWithoutProvisioning', message: 'a user has signed in on this device: the service URLs come by in-band provisioning, not DNS', retryable: false };
    let domain: string | undefined;
    try {
      domain = await this.#net.dns.domain();
    } catch (error) {
      return dnsTrouble(error, 'DHCP domain');
    }
    if (domain === undefined || domain === '') return { kind: 'none', reason: 'noDomain', message: 'no DNS domain from DHCP', retryable: false };
    const name = `${DISCOVERY_LABEL}.${domain.replace(/\.$/, '')}`;
    let records: string[][];
    try {
      records = await this.#net.dns.resolve(name, 'TXT');
    } catch (error) {
      if (error instanceof NetworkError && error.code === 'notFound') return { kind: 'none', reason: 'noRecord', message: `${name}: no TXT record`, retryable: false };
      return dnsTrouble(error, name);
    }
    try {
      const urls = parseDiscoveryRecords(records);
      this.#log?.info('update service discovered by DNS', { name, internal: urls.internal, external: urls.external });
      return { kind: 'found', source: 'dns', urls, name };
    } catch (error) {
      if (!(error instanceof DiscoveryRecordError)) throw error;
      return { kind: 'none', reason: error.code === 'noRecord' ? 'noRecord' : 'badRecord', message: `${name}: ${error.message}`, retryable: false };
    }
  }

  /** Sends the current version, model, hardware id and test flag; `downloads: 0` becomes `upToDate`. */
  async check(input: CheckInput): Promise<CheckResult> {
    const result = await this.#send('check', input, (location) => ({
      type: 'check',
      protocol: UPDATES_PROTOCOL,
      ...input.identity,
      testDevice: input.testDevice,
      location,
    }));
    if (result.kind !== 'ok') return result;
    const answer: CheckAnswer = result.answer;
    const where = { zone: result.zone, location: result.location };
    this.#log?.info('update check', { zone: result.zone, downloads: answer.downloads, ...(answer.image ? { version: answer.image.version, size: answer.image.size } : {}) });
    if (answer.image === undefined) return { kind: 'upToDate', serviceUtcMs: answer.serviceUtcMs, ...where };
    return { kind: 'update', image: answer.image, serviceUtcMs: answer.serviceUtcMs, ...where };
  }

  /** Sends one result report (the outbox resends the same `reportId` until acknowledged). */
  report(input: ContactInput, report: Omit<ResultReport, 'type' | 'protocol'>): Promise<ExchangeResult<ReportAck>> {
    return this.#send('report', input, () => ({ type: 'report', protocol: UPDATES_PROTOCOL, ...report }));
  }

  /**
   * Where to download an offered image from, in the order to try: the current location's URL
   * first. Same credential rules as the exchanges (checked here, before the pipeline sends anything).
   */
  imageSources(image: ImageOffer, input: Omit<ContactInput, 'urls' | 'signal'>): ImageSourcesResult {
    const plan = planContacts({ internal: image.internalUrl, external: image.externalUrl }, input);
    if (plan.kind !== 'ok') return plan;
    return { kind: 'ok', sources: plan.contacts };
  }

  async #send<E extends UpdatesEndpoint>(
    endpoint: E,
    input: ContactInput,
    build: (location: Location) => Infer<(typeof UPDATES_EXCHANGES)[E]['request']>,
  ): Promise<ExchangeResult<Infer<(typeof UPDATES_EXCHANGES)[E]['answer']>>> {
    const plan = planContacts(input.urls, input);
    if (plan.kind !== 'ok') {
      this.#log?.info(`update ${endpoint} not sent`, { reason: plan.kind === 'needsSignIn' ? 'needsSignIn' : plan.error.code });
      return plan;
    }
    const { request: requestSchema, answer: answerSchema } = UPDATES_EXCHANGES[endpoint];
    let last: UpdateClientError | undefined;
    let askedToSignIn = false;
    for (const contact of plan.contacts) {
      const location: Location = contact.zone === 'internal' ? 'inside' : 'outside';
      const request = requestSchema.parse(build(location));
      const url = joinUrl(contact.url, endpoint);
      try {
        // Every service URL, provisioned or discovered by DNS, under the one transport policy.
        checkManagerUrl(contact.url, { allowInsecure: this.#allowInsecure }, (line) => this.#log?.warn(line));
      } catch (error) {
        if (!(error instanceof InsecureManagerError)) throw error;
        this.#log?.warn(`update ${endpoint} not sent`, { zone: contact.zone, code: 'insecureUrl' });
        return { kind: 'failed', error: new UpdateClientError('insecureUrl', `${contact.zone} URL: ${error.message}`, { zone: contact.zone, retryable: false }) };
      }
      try {
        const answer = await exchange(this.#net.http, url, request, answerSchema as { parse(value: unknown, path?: string): Infer<(typeof UPDATES_EXCHANGES)[E]['answer']> }, {
          maxAnswerBytes: this.#maxAnswerBytes,
          timeoutMs: this.#timeoutMs,
          headers: contact.headers,
          ...(input.signal ? { signal: input.signal } : {}),
        });
        return { kind: 'ok', answer, zone: contact.zone, location };
      } catch (error) {
        const failure = classify(error, contact.zone);
        if (failure === 'signInRequired') {
          // Asked to sign in where no credentials went (a URL that is really the external listener): the next URL may take them.
          if (contact.headers.authorization === undefined) {
            askedToSignIn = true;
            continue;
          }
          return { kind: 'failed', error: new UpdateClientError('badCredentials', `${contact.zone} URL asked for a sign-in although credentials were sent`, { zone: contact.zone, status: 401 }) };
        }
        this.#log?.warn(`update ${endpoint} failed`, { zone: contact.zone, code: failure.code, ...(failure.status !== undefined ? { status: failure.status } : {}), message: failure.message });
        if (!failure.retryable) return { kind: 'failed', error: failure };
        last = failure;
      }
    }
    // Without a user, "sign in and try again" is the useful answer; with one, the network trouble is.
    if (last === undefined || (input.user === undefined && (askedToSignIn || plan.skippedForSignIn)))
      return { kind: 'needsSignIn', message: 'no URL answered without a sign-in, and no user is signed in for the external one' };
    return { kind: 'failed', error: last };
  }
}

// ───────────────────────────── URL choice and credentials ─────────────────────────────

export type ContactPlan = { kind: 'ok'; contacts: Contact[]; skippedForSignIn: boolean } | { kind: 'needsSignIn'; message: string } | { kind: 'failed'; error: UpdateClientError };

const USERINFO = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i;

/**
 * The URLs to try, in order, each with its headers. Pure: the rules (who gets credentials, what
 * is refused) are decided here, before any byte is sent.
 */
export function planContacts(urls: ServiceUrls, input: { location: DeviceLocation; user?: Credentials | undefined }): ContactPlan {
  for (const zone of ['internal', 'external'] as const) {
    const url = urls[zone];
    if (typeof url !== 'string' || !/^https?:\/\//i.test(url)) return { kind: 'failed', error: new UpdateClientError('badUrl', `${zone} URL is not http(s)`, { zone }) };
    // A URL with userinfo would carry a secret outside the header this module controls.
    if (USERINFO.test(url)) return { kind: 'failed', error: new UpdateClientError('badUrl', `${zone} URL carries user information; refused`, { zone }) };
  }
  if (input.location === 'outside' && input.user === undefined)
    return { kind: 'needsSignIn', message: 'outside the firewall with no signed-in user: the service would refuse, so nothing is sent' };
  const order: Zone[] = input.location === 'outside' ? ['external', 'internal'] : ['internal', 'external'];
  const contacts: Contact[] = [];
  let skippedForSignIn = false;
  let insecure: UpdateClientError | undefined;
  for (const zone of order) {
    const url = urls[zone];
    if (zone === 'internal') {
      contacts.push({ zone, url, headers: {} });
      continue;
    }
    if (input.user === undefined) {
      skippedForSignIn = true;
      continue;
    }
    if (!/^https:\/\//i.test(url)) {
      insecure = new UpdateClientError('insecureUrl', 'the external URL is plain http: credentials are only ever sent over HTTPS; refused', { zone, retryable: false });
      continue;
    }
    let authorization: string;
    try {
      authorization = basicAuthorization(input.user);
    } catch (error) {
      if (!(error instanceof CredentialsError)) throw error;
      return { kind: 'failed', error: new UpdateClientError('badCredentials', `signed-in user: ${error.message}`, { zone }) };
    }
    contacts.push({ zone, url, headers: { authorization } });
  }
  // Outside, the external URL is the one that matters: an insecure one is the answer, not a silent fallback.
  if (insecure && (input.location === 'outside' || contacts.length === 0)) return { kind: 'failed', error: insecure };
  if (contacts.length === 0) return { kind: 'needsSignIn', message: 'only the external URL is left and no user is signed in' };
  return { kind: 'ok', contacts, skippedForSignIn };
}

function classify(error: unknown, zone: Zone): UpdateClientError | 'signInRequired' {
  if (error instanceof TransportError) {
    const status = error.status !== undefined ? { status: error.status } : {};
    if (error.code === 'status' && error.status === 401)
      return error.managerCode === SERVICE_ERRORS.badCredentials ? new UpdateClientError('badCredentials', `${zone} URL refused the user's credentials`, { zone, ...status }) : 'signInRequired';
    if (error.code === 'network' || (error.code === 'status' && error.retryable)) return new UpdateClientError('unreachable', error.message, { zone, ...status });
    if (error.code === 'status') return new UpdateClientError('refused', error.message, { zone, ...status });
    return new UpdateClientError('badAnswer', error.message, { zone, ...status });
  }
  // Aborts and HAL misuse are the caller's business, not a result.
  throw error;
}

function dnsTrouble(error: unknown, what: string): DiscoveryResult {
  if (error instanceof NetworkError) return { kind: 'none', reason: 'dnsUnavailable', message: `${what}: ${error.message}`, retryable: true };
  throw error;
}
