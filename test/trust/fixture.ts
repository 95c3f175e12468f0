/**
 * A TUF repository in memory for the trust tests: real keys, real signatures (the repository
 * builder in agent/trust/repository.ts), and a MetadataSource over its files. Attacks are made by
 * editing `files` or re-signing with other keys, never by mocking a check.
 */
import { randomBytes } from 'node:crypto';
import { createHash } from 'node:crypto';
import type { KeyKind } from '../../agent/trust/keys.ts';
import { type SigningKey, signingKeyFrom } from '../../agent/trust/signing.ts';
import type { RoleName, TargetCustom } from '../../agent/trust/metadata.ts';
import type { MetadataSource } from '../../agent/trust/updater.ts';
import {
  type Signed, type TargetSpec, envelopeBytes, rootSigned, signEnvelope, snapshotSigned, targetsSigned, timestampSigned,
} from '../../agent/trust/repository.ts';
import { TrustError } from '../../agent/trust/errors.ts';
import { KeyValueStore } from '../../agent/store/index.ts';
import { createMockFlash, MockFlashMemory } from '../../hal/mock/flash.ts';
import { PowerCut } from '../../hal/mock/power-cut.ts';

export const DAY = 86_400_000;
/** Real time (to the second): tuf-js checks expiry against the host clock. */
export const NOW = Math.floor(Date.now() / 1000) * 1000;

export function newKey(kind: KeyKind = 'ed25519'): SigningKey {
  for (;;) {
    try {
      return signingKeyFrom(kind, new Uint8Array(randomBytes(32)));
    } catch {
      // a P-256 scalar ≥ n (probability ~2^-32): draw again
    }
  }
}

export const sha256Hex = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

export interface Artifact {
  path: string;
  bytes: Uint8Array;
  custom?: TargetCustom;
}

export class TestRepo {
  keys: Record<RoleName, SigningKey[]>;
  thresholds: Record<RoleName, number> = { root: 1, timestamp: 1, snapshot: 1, targets: 1 };
  expires: Record<RoleName, number> = { root: NOW + 365 * DAY, timestamp: NOW + DAY, snapshot: NOW + 7 * DAY, targets: NOW + 30 * DAY };
  versions = { root: 1, timestamp: 0, snapshot: 0, targets: 0 };
  readonly files = new Map<string, Uint8Array>();
  readonly artifacts = new Map<string, Artifact>();
  /** Entries signed as given (artifacts served elsewhere, e.g. a fleet's packages). */
  readonly specs: TargetSpec[] = [];
  /** Fetches made through `source()`, in order. */
  readonly fetched: string[] = [];

  constructor(kind: KeyKind = 'ed25519') {
    this.keys = { root: [newKey(kind)], timestamp: [newKey(kind)], snapshot: [newKey(kind)], targets: [newKey(kind)] };
    this.files.set('1.root.json', this.#rootBytes(this.keys.root));
  }

  /** Signs and publishes root version N+1 with the current keys; `signers` defaults to old + new root keys. */
  rotateRoot(newKeys: Partial<Record<RoleName, SigningKey[]>> = {}, signers?: SigningKey[]): void {
    const old = this.keys.root;
    this.keys = { ...this.keys, ...newKeys };
    this.versions.root++;
    const unique = [...new Map([...(signers ?? [...old, ...this.keys.root])].map((k) => [k.keyid, k])).values()];
    this.files.set(`${this.versions.root}.root.json`, this.#rootBytes(unique));
  }

  #rootBytes(signers: SigningKey[]): Uint8Array {
    const roles = {} as Record<RoleName, { keys: { keyid: string; public: SigningKey['public'] }[]; threshold: number }>;
    for (const name of ['root', 'timestamp', 'snapshot', 'targets'] as RoleName[])
      roles[name] = { keys: this.keys[name].map((k) => ({ keyid: k.keyid, public: k.public })), threshold: this.thresholds[name] };
    return this.sign(rootSigned({ version: this.versions.root, expiresMs: this.expires.root, roles }), signers);
  }

  rootBytes(version = 1): Uint8Array {
    return this.files.get(`${version}.root.json`)!;
  }

  sign(signed: Signed, keys: readonly SigningKey[]): Uint8Array {
    return envelopeBytes(signEnvelope(signed, keys));
  }

  add(path: string, content: string | Uint8Array, custom?: TargetCustom): Artifact {
    const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
    const artifact: Artifact = { path, bytes, ...(custom ? { custom } : {}) };
    this.artifacts.set(path, artifact);
    return artifact;
  }

  targetSpecs(): TargetSpec[] {
    return [...this.artifacts.values()].map((a): TargetSpec => ({ path: a.path, length: a.bytes.length, sha256: sha256Hex(a.bytes), ...(a.custom ? { custom: a.custom } : {}) })).concat(this.specs);
  }

  /** The metadata files over HTTP (`GET <prefix><file>`), as a mock-network handler; 404 for anything else. */
  handler(prefix = '/metadata/') {
    return async (request: { method: string; url: string }) => {
      const path = request.url.replace(/^https?:\/\/[^/]+/, '');
      this.fetched.push(path);
      const bytes = path.startsWith(prefix) ? this.files.get(path.slice(prefix.length)) : undefined;
      return bytes ? { status: 200, headers: { 'content-type': 'application/json' }, body: bytes } : { status: 404, body: new Uint8Array() };
    };
  }

  /** Publishes targets, snapshot and timestamp (each one version up), as the server would. */
  publish(signers: Partial<Record<RoleName, SigningKey[]>> = {}): void {
    this.versions.targets++;
    const targets = this.sign(targetsSigned(this.versions.targets, this.expires.targets, this.targetSpecs()), signers.targets ?? this.keys.targets);
    this.files.set('targets.json', targets);
    this.refresh(signers);
  }

  /** New snapshot and timestamp over the current targets (the server's periodic refresh). */
  refresh(signers: Partial<Record<RoleName, SigningKey[]>> = {}): void {
    this.versions.snapshot++;
    const snapshot = this.sign(
      snapshotSigned(this.versions.snapshot, this.expires.snapshot, { targets: { version: this.versions.targets, bytes: this.files.get('targets.json')! } }),
      signers.snapshot ?? this.keys.snapshot,
    );
    this.files.set('snapshot.json', snapshot);
    this.versions.timestamp++;
    this.files.set('timestamp.json', this.sign(timestampSigned(this.versions.timestamp, this.expires.timestamp, { version: this.versions.snapshot, bytes: snapshot }), signers.timestamp ?? this.keys.timestamp));
  }

  /** What an attacker on the path could serve: a copy of the files to edit. */
  copyFiles(): Map<string, Uint8Array> {
    return new Map(this.files);
  }

  source(files: Map<string, Uint8Array> = this.files): MetadataSource {
    return {
      fetch: async (file, maxBytes) => {
        this.fetched.push(file);
        const bytes = files.get(file);
        if (bytes && bytes.length > maxBytes) throw new TrustError('tooLarge', `${file} over ${maxBytes} bytes`);
        return bytes;
      },
    };
  }
}

export const LAYOUT = { blockLength: 4096, writeAlign: 8, partitions: [{ name: 'state', size: 4096 * 32 }] };

export function newMedium(): { power: PowerCut; open: () => Promise<KeyValueStore> } {
  const memory = new MockFlashMemory(LAYOUT);
  const power = new PowerCut();
  const flash = createMockFlash(memory, power);
  return { power, open: async () => KeyValueStore.open(await flash.open({ partition: 'state' })) };
}
