import { InvalidOptionsError } from '../errors.ts';

/** What a fault rule is matched against. DNS lookups appear as method `DNS`, url `dns://<host>/<type>`. */
export interface MockFaultTarget {
  /** Name of the attached net (device) making the request. */
  client: string;
  method: string;
  url: string;
  headers: Record<string, string>;
}

export interface MockFaultMatch {
  /** Exact method (`GET`, … or `DNS`). */
  method?: string;
  /** Substring of the URL, e.g. an origin or a path. */
  url?: string;
  /** Only requests from the net attached under this name. */
  client?: string;
  predicate?: (target: MockFaultTarget) => boolean;
}

export type MockFault =
  /** The connection resets after `afterBytes` body bytes (default 0): the body iterator throws `reset`. */
  | { kind: 'reset'; afterBytes?: number }
  /** The server closes cleanly after `bytes` body bytes (default: half), short of Content-Length. */
  | { kind: 'partialBody'; bytes?: number }
  /** No progress: before the headers, or after `afterBytes` body bytes. Ends only by timeout or abort. */
  | { kind: 'stall'; afterBytes?: number }
  /** Answer with this status without calling the handler. */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: Uint8Array }
  | { kind: 'refuse' }
  /** The host name does not resolve (`notFound`), for HTTP requests and `dns.resolve`. */
  | { kind: 'dnsFail' }
  /** The TLS handshake fails (untrusted certificate). */
  | { kind: 'tls' }
  /** Extra delay before the response headers; combines with one other fault. */
  | { kind: 'latency'; latencyMs: number };

export type MockFaultKind = MockFault['kind'];

export type MockFaultRule = MockFaultMatch &
  MockFault & {
    /** How many matching requests this rule hits before it is used up (default 1; `Infinity` for always). */
    times?: number;
  };

interface ActiveRule {
  rule: MockFaultRule;
  remaining: number;
}

/** The faults picked for one request: at most one latency rule plus one other. */
export interface PickedFaults {
  latencyMs: number;
  fault?: Exclude<MockFault, { kind: 'latency' }>;
}

/** An ordered queue of fault rules; the first matching rule of each class wins and is counted down. */
export class FaultQueue {
  readonly #rules: ActiveRule[] = [];

  add(rule: MockFaultRule): () => void {
    validateRule(rule);
    const active: ActiveRule = { rule, remaining: rule.times ?? 1 };
    this.#rules.push(active);
    return () => {
      const index = this.#rules.indexOf(active);
      if (index >= 0) this.#rules.splice(index, 1);
    };
  }

  clear(): void {
    this.#rules.length = 0;
  }

  /** Picks (and consumes) the faults for a request. `dnsOnly` restricts to `dnsFail` (DNS lookups). */
  pick(target: MockFaultTarget, dnsOnly = false): PickedFaults {
    const picked: PickedFaults = { latencyMs: 0 };
    let latencyTaken = false;
    for (const active of [...this.#rules]) {
      const { rule } = active;
      if (dnsOnly && rule.kind !== 'dnsFail') continue;
      const isLatency = rule.kind === 'latency';
      if (isLatency ? latencyTaken : picked.fault) continue;
      if (!matches(rule, target)) continue;
      if (rule.kind === 'latency') {
        picked.latencyMs = rule.latencyMs;
        latencyTaken = true;
      } else picked.fault = stripMatch(rule);
      active.remaining--;
      if (active.remaining <= 0) this.#rules.splice(this.#rules.indexOf(active), 1);
    }
    return picked;
  }
}

function matches(rule: MockFaultMatch, target: MockFaultTarget): boolean {
  if (rule.method !== undefined && rule.method !== target.method) return false;
  if (rule.url !== undefined && !target.url.includes(rule.url)) return false;
  if (rule.client !== undefined && rule.client !== target.client) return false;
  return rule.predicate ? rule.predicate(target) : true;
}

function stripMatch(rule: MockFaultRule): Exclude<MockFault, { kind: 'latency' }> {
  const { method: _m, url: _u, client: _c, predicate: _p, times: _t, ...fault } = rule;
  return fault as Exclude<MockFault, { kind: 'latency' }>;
}

const KINDS: readonly MockFaultKind[] = ['reset', 'partialBody', 'stall', 'status', 'refuse', 'dnsFail', 'tls', 'latency'];

function validateRule(rule: MockFaultRule): void {
  if (!rule || !KINDS.includes(rule.kind)) throw new InvalidOptionsError(`fault: kind must be one of ${KINDS.join(', ')}`);
  const times = rule.times ?? 1;
  if (!(times === Infinity || (Number.isInteger(times) && times > 0))) throw new InvalidOptionsError('fault: times must be a positive integer or Infinity');
  const count = (value: number | undefined, name: string): void => {
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) throw new InvalidOptionsError(`fault: ${name} must be a non-negative integer`);
  };
  if (rule.kind === 'reset' || rule.kind === 'stall') count(rule.afterBytes, 'afterBytes');
  if (rule.kind === 'partialBody') count(rule.bytes, 'bytes');
  if (rule.kind === 'latency' && !(Number.isInteger(rule.latencyMs) && rule.latencyMs >= 0))
    throw new InvalidOptionsError('fault: latencyMs must be a non-negative integer');
  if (rule.kind === 'status' && !(Number.isInteger(rule.status) && rule.status >= 100 && rule.status <= 599))
    throw new InvalidOptionsError('fault: status must be an HTTP status code');
  if (rule.predicate !== undefined && typeof rule.predicate !== 'function') throw new InvalidOptionsError('fault: predicate must be a function');
}
