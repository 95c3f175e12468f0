/**
 * What the guest gets from the host: the device as the guest sees it, and the services a board's
 * firmware offers natively (the board's `nativeServices`: `engines` = hashing, diffing, SyncML
 * tokenizing; `signatures` = verifying TUF metadata). A real QuickJS board runs those in C behind
 * its HAL (mbedTLS, its accelerator), so the guest neither loads nor keeps the JS engines chunk
 * or the JS verifier chunk in its heap; the host stands in for that firmware with the device's own
 * facets (the Node HAL: WASM engines and node:crypto), the way hal/node offers them to Node.
 */
import type { NativeService } from '../../agent/board.ts';
import type { Device, HttpClient } from '../types.ts';
import { type Engines, loadEngines } from '../../wasm/index.ts';

/**
 * What to hand the guest, overriding the board's declaration. `engines`: the engines the guest
 * uses (false: it runs its own JS engines). `signatures`: whether the guest sees the device's
 * verifier (false: it loads its JS verifier when metadata is signed).
 */
export interface GuestOffer {
  engines?: Engines | false;
  signatures?: boolean;
}

/** The services the board declares (absent or malformed: none; the guest's own board check reports a malformed field). */
export function declaredServices(board: unknown): readonly NativeService[] {
  const declared = (board as { nativeServices?: unknown } | null)?.nativeServices;
  return Array.isArray(declared) ? declared.filter((s): s is NativeService => s === 'engines' || s === 'signatures') : [];
}

/** The engines to hand the guest (undefined: it runs its JS engines) and whether it sees the device's verifier. */
export async function resolveOffer(device: Device, board: unknown, offer: GuestOffer = {}): Promise<{ engines: Engines | undefined; signatures: boolean }> {
  const declared = declaredServices(board);
  let engines: Engines | undefined;
  if (offer.engines !== undefined) engines = offer.engines === false ? undefined : offer.engines;
  else if (declared.includes('engines')) engines = await loadEngines({ ...(device.wasm ? { wasm: device.wasm } : {}), ...(device.digest ? { native: device.digest } : {}) });
  return { engines, signatures: offer.signatures ?? declared.includes('signatures') };
}

/**
 * The device as the guest sees it. `wasm` stays behind: the engines read and write a module's
 * memory through views, and a view cannot cross the bridge (the guest would get a copy); the
 * guest gets the host's engines whole instead (resolveOffer), or runs its JS engines. The
 * verifier crosses when offered: bytes in, a boolean (or a typed error) out, one call per
 * signature.
 */
export function guestView(device: Device, options: { maxBodyChunk?: number; signatures?: boolean } = {}): Device {
  const { platform, clock, flash, staging, update, power, system, users, exec, files, log, random, keystore } = device;
  const { maxBodyChunk } = options;
  const signatures = options.signatures ? device.signatures : undefined;
  const net = maxBodyChunk === undefined ? device.net : Object.assign(Object.create(device.net) as Device['net'], { http: boundedBodies(device.net.http, maxBodyChunk) });
  return {
    platform: `quickjs/${platform}`,
    clock,
    flash,
    staging,
    net,
    update,
    power,
    system,
    ...(users ? { users } : {}),
    ...(keystore ? { keystore } : {}),
    ...(signatures ? { signatures } : {}),
    exec,
    files,
    log,
    random,
    close: () => device.close(),
  };
}

/**
 * HTTP bodies cut into pieces of at most `maxChunk` bytes before they cross into the guest. Node
 * hands out 64 KiB network chunks, and the download pipeline keeps a few chunks in flight to the
 * sink: at 64 KiB that was a quarter of the small board's guest heap.
 */
function boundedBodies(http: HttpClient, maxChunk: number): HttpClient {
  return {
    async request(request) {
      const response = await http.request(request);
      const body: AsyncIterable<Uint8Array> = {
        async *[Symbol.asyncIterator]() {
          for await (const chunk of response.body) for (let at = 0; at < chunk.length; at += maxChunk) yield chunk.subarray(at, at + maxChunk);
        },
      };
      return { status: response.status, headers: response.headers, body, bytes: (maxBytes) => response.bytes(maxBytes), cancel: () => response.cancel() };
    },
  };
}
