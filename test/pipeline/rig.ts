/**
 * Test rig for the download stage: a mock device (virtual clock, staging with power-cut
 * semantics, A/B slots) on an in-process mock network, plus a Range/ETag-capable artifact
 * server whose misbehaviours the tests switch on.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { download, type DownloadOptions, type DownloadProgress, type DownloadResult } from '../../agent/pipeline/download.ts';
import { stagingSink, type SinkHandle } from '../../agent/pipeline/sinks.ts';
import { toHex } from '../../agent/util/bytes.ts';
import type { Device } from '../../hal/types.ts';
import { MockHardware, VirtualClock } from '../../hal/mock/index.ts';
import { createMockNetwork, type MockHttpRequest, type MockHttpResponse, type MockNetwork } from '../../hal/mock/net.ts';
import { loadEngines } from '../../wasm/index.ts';
import type { DownloadProgress as Progress, HasherFactory } from '../../agent/pipeline/download.ts';

/** The JS engine (the one QuickJS gets); its state format is shared with the WASM engine. */
const engines = await loadEngines({ engine: 'js' });

/** Counts hasher use, so tests can prove a resume did not re-hash what was on flash. */
export interface CountingHasher extends HasherFactory {
  /** Bytes fed to `update` through every hash this factory created. */
  hashedBytes: number;
}

export function countingHasher(): CountingHasher {
  const factory: CountingHasher = {
    hashedBytes: 0,
    create(state?: Uint8Array) {
      const hash = engines.createHash('sha256', state);
      return {
        get bytesHashed() {
          return hash.bytesHashed;
        },
        update(chunk: Uint8Array) {
          factory.hashedBytes += chunk.length;
          hash.update(chunk);
        },
        digest: () => hash.digest(),
        exportState: () => hash.exportState(),
      };
    },
  };
  return factory;
}

/** Progress as a run would have recorded it after `offset` bytes of `artifact`. */
export function progressAt(artifact: Uint8Array, offset: number, extra: Partial<Progress> = {}): Progress {
  const hash = engines.createHash('sha256');
  hash.update(artifact.subarray(0, offset));
  return { offset, hashState: hash.exportState(), bytesTransferred: offset, attempts: 1, ...extra };
}

export const ORIGIN = 'http://dl.test';
export const ARTIFACT_URL = `${ORIGIN}/artifacts/pkg.bin`;

import { xorshiftBytes as artifactBytes } from '../../cli/demo/fixture.ts';
export { artifactBytes };

export function sha256Hex(bytes: Uint8Array): string {
  return toHex(sha256(bytes));
}

/** One request as the artifact server saw it. */
export interface ServedRequest {
  range: string | undefined;
  ifRange: string | undefined;
  status: number;
}

/**
 * Serves one artifact like a CDN: `Range: bytes=N-` → 206 with Content-Range, `If-Range` with a
 * stale ETag → 200 with the whole artifact, a start past the end → 416. Knobs model the
 * misbehaviours the download stage must survive.
 */
export class ArtifactServer {
  body: Uint8Array;
  etag: string | undefined = '"v1"';
  /** Answer 200 with the whole body even to a Range request. */
  ignoreRange = false;
  /** Serve at most this many bytes per 206 (servers may cap ranges). */
  rangeCap: number | undefined;
  /** Fixed answers for the next requests, served before the artifact logic. */
  readonly scripted: MockHttpResponse[] = [];
  /** Consulted after `scripted`: an answer overrides the artifact logic for this request. */
  intercept: ((range: string | undefined) => MockHttpResponse | undefined) | undefined;
  readonly seen: ServedRequest[] = [];

  constructor(body: Uint8Array) {
    this.body = body;
  }

  /** The artifact changed on the server (new content, new ETag). */
  replace(body: Uint8Array, etag: string | undefined): void {
    this.body = body;
    this.etag = etag;
  }

  readonly handler = async (request: MockHttpRequest): Promise<MockHttpResponse> => {
    const range = request.headers['range'];
    const ifRange = request.headers['if-range'];
    const answer = this.#answer(range, ifRange);
    this.seen.push({ range, ifRange, status: answer.status });
    return answer;
  };

  #answer(range: string | undefined, ifRange: string | undefined): MockHttpResponse {
    const scripted = this.scripted.shift();
    if (scripted) return scripted;
    const intercepted = this.intercept?.(range);
    if (intercepted) return intercepted;
    const headers: Record<string, string> = this.etag ? { etag: this.etag } : {};
    const whole = (): MockHttpResponse => ({ status: 200, headers, body: this.body });
    const match = range === undefined ? null : /^bytes=(\d+)-$/.exec(range);
    if (!match || this.ignoreRange) return whole();
    if (ifRange !== undefined && ifRange !== this.etag) return whole();
    const start = Number(match[1]);
    const length = this.body.length;
    if (start >= length) return { status: 416, headers: { ...headers, 'content-range': `bytes */${length}` } };
    const end = Math.min(length, this.rangeCap === undefined ? length : start + this.rangeCap);
    return { status: 206, headers: { ...headers, 'content-range': `bytes ${start}-${end - 1}/${length}` }, body: this.body.subarray(start, end) };
  }
}

export const FLASH = {
  blockLength: 4096,
  writeAlign: 8,
  partitions: [
    { name: 'bootctl', size: 8192 },
    { name: 'state', size: 16384 },
    { name: 'slot_a', size: 65536 },
    { name: 'slot_b', size: 65536 },
  ],
};

export interface RigOptions {
  size?: number;
  seed?: number;
  /** Network body chunk size (default 1 KiB: many chunks per artifact). */
  chunkSize?: number;
  stagingCapacity?: number;
}

export class Rig {
  readonly clock = new VirtualClock();
  readonly network: MockNetwork;
  readonly hw: MockHardware;
  readonly server: ArtifactServer;
  readonly hasher: CountingHasher = countingHasher();
  /** Every checkpoint the download recorded, in order (the "crash-safe store"). */
  readonly checkpoints: DownloadProgress[] = [];
  device: Device;

  constructor(options: RigOptions = {}) {
    this.network = createMockNetwork({ clock: this.clock.scope().clock, chunkSize: options.chunkSize ?? 1024 });
    this.hw = new MockHardware({
      flash: FLASH,
      clock: this.clock,
      network: this.network,
      ...(options.stagingCapacity !== undefined ? { stagingCapacity: options.stagingCapacity } : {}),
    });
    this.server = new ArtifactServer(artifactBytes(options.size ?? 20_000, options.seed ?? 1));
    this.network.route(ORIGIN, this.server.handler);
    this.device = this.hw.boot();
  }

  get artifact(): Uint8Array {
    return this.server.body;
  }

  get lastCheckpoint(): DownloadProgress | undefined {
    return this.checkpoints[this.checkpoints.length - 1];
  }

  /** Power returns (or the device restarts) with a new `Device` over the same hardware. */
  reboot(): Device {
    this.device = this.hw.reboot();
    return this.device;
  }

  openStaging(resume: boolean, name = 'pkg'): Promise<SinkHandle> {
    return stagingSink(this.device.staging, name).open({ resume });
  }

  /** Download options with sensible defaults over the current boot; `overrides` win. */
  options(sink: SinkHandle, overrides: Partial<DownloadOptions> = {}): DownloadOptions {
    return {
      http: this.device.net.http,
      clock: this.device.clock,
      hasher: this.hasher,
      url: ARTIFACT_URL,
      size: this.artifact.length,
      digest: sha256Hex(this.artifact),
      sink,
      checkpointBytes: 4096,
      checkpoint: async (progress) => {
        this.checkpoints.push({ ...progress, hashState: progress.hashState.slice() });
      },
      maxAttempts: 5,
      byteBudget: this.artifact.length * 4,
      timeoutMs: 30_000,
      backoff: { initialMs: 1000, maxMs: 60_000, factor: 2 },
      ...overrides,
    };
  }

  /** Runs a download to completion, moving virtual time whenever it waits on a timer. */
  async run(sink: SinkHandle, overrides: Partial<DownloadOptions> = {}): Promise<DownloadResult> {
    return this.drive(download(this.options(sink, overrides)));
  }

  /** Settles `promise`, firing the next timer whenever nothing else can happen (bounded). */
  async drive<T>(promise: Promise<T>, maxTimers = 1000): Promise<T> {
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let fired = 0; fired <= maxTimers; fired++) {
      await this.clock.settle();
      if (settled) return promise;
      if (!(await this.clock.advanceToNextTimer())) {
        await this.clock.settle();
        if (settled) return promise;
        throw new Error('drive: the promise waits on nothing (no timer pending)');
      }
    }
    throw new Error(`drive: still pending after ${maxTimers} timers`);
  }

  /** Requests the network saw for the artifact, in order. */
  get artifactRequests() {
    return this.network.requests.filter((r) => r.url === ARTIFACT_URL);
  }
}

/** What the staging file holds (through a fresh handle on the current boot). */
export async function stagingContent(rig: Rig, name = 'pkg'): Promise<Uint8Array> {
  const file = await rig.device.staging.open({ name, create: false });
  try {
    return await file.read(0, await file.size());
  } finally {
    file.close();
  }
}
