import { InvalidOptionsError, NetworkError } from '../errors.ts';
import type { DnsRecordType, DnsResolver, DnsSrvRecord } from '../types.ts';
import type { FaultQueue } from './net-faults.ts';
import type { MockNetSession } from './net-http.ts';

export type MockDnsRecords = string[] | DnsSrvRecord[] | string[][];

const TYPES: readonly DnsRecordType[] = ['A', 'AAAA', 'SRV', 'TXT'];

/** The zone data a test scripts: records by name and type, plus the DHCP search domain. */
export class MockDnsZone {
  readonly #records = new Map<string, MockDnsRecords>();
  domain: string | undefined;

  set(hostname: string, type: DnsRecordType, records: MockDnsRecords | undefined): void {
    validateQuery(hostname, type);
    if (records !== undefined && !Array.isArray(records)) throw new InvalidOptionsError('setDns: records must be an array');
    const key = keyOf(hostname, type);
    if (records === undefined) this.#records.delete(key);
    else this.#records.set(key, structuredCopy(records));
  }

  get(hostname: string, type: DnsRecordType): MockDnsRecords | undefined {
    const records = this.#records.get(keyOf(hostname, type));
    return records && structuredCopy(records);
  }
}

export function createMockDns(zone: MockDnsZone, faults: FaultQueue, session: MockNetSession): DnsResolver {
  async function resolve(hostname: string, type: DnsRecordType): Promise<MockDnsRecords> {
    session.ensureOpen();
    validateQuery(hostname, type);
    const { fault } = faults.pick({ client: session.name, method: 'DNS', url: `dns://${normalize(hostname)}/${type}`, headers: {} }, true);
    const records = fault ? undefined : zone.get(hostname, type);
    if (!records || records.length === 0) throw new NetworkError('notFound', `${hostname} ${type}: no such record`);
    return records;
  }
  return {
    resolve: resolve as DnsResolver['resolve'],
    async domain() {
      session.ensureOpen();
      return zone.domain;
    },
  };
}

function validateQuery(hostname: string, type: DnsRecordType): void {
  if (typeof hostname !== 'string' || hostname.length === 0 || hostname.length > 253) throw new InvalidOptionsError('dns: hostname must be a non-empty name');
  if (!TYPES.includes(type)) throw new InvalidOptionsError(`dns: type must be one of ${TYPES.join(', ')}`);
}

/** DNS names compare case-insensitively; a trailing dot (fully qualified) names the same node. */
function normalize(hostname: string): string {
  return hostname.toLowerCase().replace(/\.$/, '');
}

function keyOf(hostname: string, type: DnsRecordType): string {
  return `${type} ${normalize(hostname)}`;
}

/** Records are plain data; copying keeps the zone safe from callers that mutate answers. */
function structuredCopy(records: MockDnsRecords): MockDnsRecords {
  return records.map((record: string | string[] | DnsSrvRecord) =>
    typeof record === 'string' ? record : Array.isArray(record) ? [...record] : { ...record },
  ) as MockDnsRecords;
}
