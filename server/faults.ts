/**
 * Fault injection for the agent's tests, driven over the admin API (`POST /api/faults`). Every
 * fault is bounded (`times`, default 1) so a test can't leave a manager broken forever by mistake.
 *   corrupt  serve an artifact with one byte flipped; the package list keeps the real digest
 *   reset    cut an artifact transfer after `afterBytes` body bytes
 *   status   answer requests to `path` (exact, query ignored) with an HTTP error `code`
 */
import { type Infer, SchemaError, integer, literal, object, oneOf, optional, string, union } from '../agent/transport/schema.ts';
import { NetworkError } from '../hal/errors.ts';

const times = () => optional(integer({ min: 1, max: 1000 }));
const artifactRef = () => string({ min: 3, max: 400, pattern: /^.+@.+$/, label: 'name@version' });

export const faultSchema = union('kind', {
  corrupt: object({ kind: literal('corrupt'), artifact: artifactRef(), times: times() }, { strict: true }),
  reset: object({ kind: literal('reset'), artifact: artifactRef(), afterBytes: integer({ min: 0 }), times: times() }, { strict: true }),
  status: object(
    {
      kind: literal('status'),
      path: string({ min: 1, max: 2048, pattern: /^\//, label: 'a path starting with /' }),
      code: integer({ min: 400, max: 599 }),
      method: optional(oneOf(['GET', 'HEAD', 'POST', 'PUT', 'DELETE'] as const)),
      times: times(),
    },
    { strict: true },
  ),
});
export type FaultSpec = Infer<typeof faultSchema>;

export interface ActiveFault {
  id: number;
  spec: FaultSpec;
  /** Requests it still applies to. */
  remaining: number;
}

export type ArtifactFault = { kind: 'corrupt' } | { kind: 'reset'; afterBytes: number };

/** Where faults must never apply: the way to clear them. */
const FAULTS_PATH = '/api/faults';
const MAX_ACTIVE = 100;

/** `name@version`, split at the last `@` (scoped names like `@acme/tool@1.0` keep theirs). */
export function splitArtifactRef(ref: string): { name: string; version: string } {
  const at = ref.lastIndexOf('@');
  return { name: ref.slice(0, at), version: ref.slice(at + 1) };
}

export class Faults {
  #next = 1;
  #active: ActiveFault[] = [];

  /** Validates and queues a fault; `knownArtifact` refuses references to nothing (a typo would never fire). */
  add(json: unknown, knownArtifact: (name: string, version: string) => boolean): ActiveFault {
    const spec = faultSchema.parse(json);
    if (spec.kind !== 'status') {
      const { name, version } = splitArtifactRef(spec.artifact);
      if (!name || !knownArtifact(name, version)) throw new SchemaError('artifact', `no package ${JSON.stringify(spec.artifact)} in the catalogue`);
    }
    if (this.#active.length >= MAX_ACTIVE) throw new SchemaError('', `more than ${MAX_ACTIVE} active faults`);
    const fault: ActiveFault = { id: this.#next++, spec, remaining: spec.times ?? 1 };
    this.#active.push(fault);
    return fault;
  }

  clear(): number {
    const count = this.#active.length;
    this.#active = [];
    return count;
  }

  list(): ActiveFault[] {
    return this.#active.map((fault) => ({ ...fault }));
  }

  /** The first matching status fault, consumed. */
  takeStatus(method: string, path: string): number | undefined {
    if (path === FAULTS_PATH || path.startsWith(`${FAULTS_PATH}/`)) return undefined;
    const fault = this.#take((spec) => spec.kind === 'status' && spec.path === path && (spec.method === undefined || spec.method === method));
    return fault?.kind === 'status' ? fault.code : undefined;
  }

  /** The first corrupt/reset fault for this artifact, consumed (only body-carrying requests ask). */
  takeArtifact(name: string, version: string): ArtifactFault | undefined {
    const fault = this.#take((spec) => spec.kind !== 'status' && spec.artifact === `${name}@${version}`);
    if (fault?.kind === 'corrupt') return { kind: 'corrupt' };
    if (fault?.kind === 'reset') return { kind: 'reset', afterBytes: fault.afterBytes };
    return undefined;
  }

  #take(match: (spec: FaultSpec) => boolean): FaultSpec | undefined {
    const index = this.#active.findIndex((fault) => match(fault.spec));
    const fault = this.#active[index];
    if (!fault) return undefined;
    if (--fault.remaining <= 0) this.#active.splice(index, 1);
    return fault.spec;
  }
}

/** Flips the first byte of the body (the digest the device was told stays the real one). */
export async function* corruptStream(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let flipped = false;
  for await (const chunk of source) {
    if (!flipped && chunk.length > 0) {
      const copy = new Uint8Array(chunk);
      copy[0] = (copy[0] as number) ^ 0xff;
      flipped = true;
      yield copy;
    } else yield chunk;
  }
}

/**
 * Passes `afterBytes` bytes, then throws. The node adapter turns the throw into a destroyed socket;
 * the in-process mock network sees a `NetworkError('reset')`, as its own clients would.
 */
export async function* cutStream(source: AsyncIterable<Uint8Array>, afterBytes: number): AsyncGenerator<Uint8Array> {
  let sent = 0;
  for await (const chunk of source) {
    const room = afterBytes - sent;
    if (chunk.length <= room) {
      sent += chunk.length;
      if (chunk.length > 0) yield chunk;
      continue;
    }
    if (room > 0) yield chunk.subarray(0, room);
    sent += room;
    // Leaving the loop by throwing closes the source (the file stream) too.
    throw new NetworkError('reset', `fault: connection reset after ${sent} body bytes`);
  }
  // A body shorter than `afterBytes` is sent whole: there was nothing left to cut.
}
