import { Resolver, lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { InvalidOptionsError, NetworkError } from '../errors.ts';
import type { DnsRecordType, DnsResolver, DnsSrvRecord } from '../types.ts';
import { toNetworkError } from './net-errors.ts';

const TYPES: readonly DnsRecordType[] = ['A', 'AAAA', 'SRV', 'TXT'];

export interface NodeDnsOptions {
  resolvConfPath: string;
  ensureOpen(): void;
}

/**
 * A and AAAA go through the system resolver (getaddrinfo: /etc/hosts, nsswitch, then DNS), so the
 * agent sees the same addresses its own connections will use — `localhost` included. SRV and TXT
 * have no system API and query the resolv.conf servers directly with c-ares.
 */
export class NodeDns implements DnsResolver {
  readonly #options: NodeDnsOptions;
  readonly #resolver = new Resolver();

  constructor(options: NodeDnsOptions) {
    this.#options = options;
  }

  resolve(hostname: string, type: 'A' | 'AAAA'): Promise<string[]>;
  resolve(hostname: string, type: 'SRV'): Promise<DnsSrvRecord[]>;
  resolve(hostname: string, type: 'TXT'): Promise<string[][]>;
  async resolve(hostname: string, type: DnsRecordType): Promise<string[] | DnsSrvRecord[] | string[][]> {
    this.#options.ensureOpen();
    if (typeof hostname !== 'string' || hostname.length === 0 || hostname.length > 253) throw new InvalidOptionsError('dns: hostname must be a non-empty name');
    if (!TYPES.includes(type)) throw new InvalidOptionsError(`dns: type must be one of ${TYPES.join(', ')}`);
    try {
      switch (type) {
        case 'A':
        case 'AAAA': {
          const found = await lookup(hostname, { family: type === 'A' ? 4 : 6, all: true, hints: 0 });
          if (found.length === 0) throw new NetworkError('notFound', `${hostname} ${type}: no such record`);
          return [...new Set(found.map((entry) => entry.address))];
        }
        case 'SRV':
          return (await this.#resolver.resolveSrv(hostname)).map(({ name, port, priority, weight }) => ({ name, port, priority, weight }));
        case 'TXT':
          return await this.#resolver.resolveTxt(hostname);
      }
    } catch (error) {
      throw toNetworkError(error, `resolve ${hostname} ${type}`);
    }
  }

  /** The search domain from resolv.conf (`domain` or the first `search` entry; the last such line wins, as in glibc). */
  async domain(): Promise<string | undefined> {
    this.#options.ensureOpen();
    let text: string;
    try {
      text = await readFile(this.#options.resolvConfPath, 'utf8');
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return undefined;
      throw toNetworkError(error, `read ${this.#options.resolvConfPath}`);
    }
    let domain: string | undefined;
    for (const line of text.split('\n')) {
      const [keyword, first] = line.replace(/[#;].*$/, '').trim().split(/\s+/);
      if ((keyword === 'domain' || keyword === 'search') && first && first !== '.') domain = first.replace(/\.$/, '');
    }
    return domain;
  }

  /** Cancels outstanding SRV/TXT queries (they reject with ECANCELLED). */
  cancel(): void {
    this.#resolver.cancel();
  }
}
