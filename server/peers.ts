/**
 * The managers this one may call during a move: an allow-list of base URLs (`--peer URL`,
 * repeated, or `ManagerOptions.peers`). A connection's `previousManager` is only ever fetched if
 * it is on this list, so a device cannot make the manager request an arbitrary URL (SSRF: cloud
 * metadata endpoints, internal admin pages, a slow-loris of its own). Entries compare normalised
 * (scheme and host lower case, default port and trailing slash dropped), and carry no path, query,
 * credentials or fragment: the move routes live at `<peer>/dm/v1/targets/…`.
 */
import { normaliseAddress } from './wire.ts';
import { redactUrl } from '../agent/util/redact.ts';

export class PeerError extends Error {
  readonly code = 'badPeer';
  constructor(message: string) {
    super(message);
    this.name = 'PeerError';
  }
}

const BASE_URL = /^https?:\/\/[^\s/?#@]+\/?$/i;

/** The normalised form of a peer base URL; throws PeerError for anything else. */
export function peerAddress(url: unknown): string {
  if (typeof url !== 'string' || !BASE_URL.test(url.trim())) throw new PeerError(`a peer must be an http(s) base URL without path, query or credentials (got ${JSON.stringify(redactUrl(String(url)).slice(0, 200))})`);
  return normaliseAddress(url);
}

export class Peers {
  readonly #allowed = new Set<string>();

  constructor(urls: readonly string[] = []) {
    for (const url of urls) this.add(url);
  }

  /** Allows one more peer (tests and embedders that learn a port after start). */
  add(url: string): void {
    this.#allowed.add(peerAddress(url));
  }

  /** Whether `url` (a previousManager as a device sent it) is an allowed peer; anything unparsable is not. */
  has(url: string): boolean {
    return BASE_URL.test(url.trim()) && this.#allowed.has(normaliseAddress(url));
  }

  list(): string[] {
    return [...this.#allowed];
  }
}
