/**
 * What a job records about its delta (./delta-step.ts), and what families read of it: the state
 * persisted with the job, the hooks a family offers, the note its status report carries. Split
 * from the stage itself, which is imported only when a job has a delta to run: a cycle without
 * one does not load it (on the QuickJS board, 11 KB of heap).
 */
import type { DeltaFormat, RangeReader } from '../../wasm/index.ts';
import type { DownloadProgress } from './download.ts';

/** A patch that turns the named source into the job's artifact. */
export interface DeltaArtifact {
  format: DeltaFormat;
  /** Version the patch applies to (informational: the digest decides). */
  sourceVersion: string;
  sourceSize: number;
  /** Lower-case hex SHA-256 of the source. */
  sourceSha256: string;
  /** The patch's own size and lower-case hex SHA-256 (checked by the download). */
  size: number;
  sha256: string;
  /**
   * Named by signed targets metadata (../trust/target-deltas.ts): the patch's path relative to
   * the full artifact's URL. Absent: the family's message offered it (`DeltaHooks.locate`).
   */
  path?: string;
}

export type DeltaPhase = 'pending' | 'downloading' | 'applying' | 'applied' | 'fellBack';

/** Persisted with the pipeline job (`PipelineJob.delta`). */
export interface DeltaState {
  artifact: DeltaArtifact;
  phase: DeltaPhase;
  /** The patch download's checkpoint. */
  progress?: DownloadProgress;
  /** Patch bytes transferred and requests made (across attempts and reboots). */
  bytesTransferred: number;
  attempts: number;
  /** Applies started: a power cut during one starts another. */
  applies: number;
  /** Why the delta was given up for the full artifact. */
  failure?: { code: string; message: string };
}

/** The bytes a delta applies to, as the family finds them on the device. */
export interface DeltaSource {
  read: RangeReader;
  /** Bytes available to read (at least the artifact's `sourceSize` for a usable source). */
  size: number;
  /** Releases what `read` holds open (a staging file), once the stage is done with it. */
  close?(): Promise<void>;
}

/** Which version of the artifact the device holds (what a signed delta must start from). */
export interface HeldSource {
  version?: string;
  /** Lower-case hex SHA-256 the device recorded for it, when it did. */
  sha256?: string;
}

export interface DeltaHooks<J> {
  /** The source the device holds for this delta, or undefined when it holds none. */
  source(job: J): Promise<DeltaSource | undefined>;
  /**
   * Where a delta the family's message offered is, and the request headers (credentials: never
   * persisted). Absent: the family's messages offer none (a signed delta is found next to the artifact).
   */
  locate?(job: J): Promise<{ url: string; headers?: Record<string, string> }>;
  /** The version the device holds, for picking a delta from signed metadata. Absent: signed deltas are not tried. */
  held?(job: J): Promise<HeldSource | undefined>;
}

/** What a family's status report says about a delta (absent: the job had none). */
export interface DeltaNote {
  format: DeltaFormat;
  sourceVersion: string;
  outcome: 'applied' | 'fellBack';
  /** Patch bytes transferred; with `fullBytes`, what the delta saved (or cost, when it fell back). */
  patchBytes: number;
  fullBytes: number;
  code?: string;
  message?: string;
}

/** Apply attempts before the delta is given up (each power cut during one costs one). */
export const MAX_APPLIES = 3;

/** The fields of a job the delta stage reads and writes. */
export interface DeltaJob {
  id: string;
  artifact: { version: string; size: number; digest: string };
  sink: { kind: 'staging'; name: string } | { kind: 'slot' };
  delta?: DeltaState;
}

export function newDeltaState(artifact: DeltaArtifact): DeltaState {
  return { artifact, phase: 'pending', bytesTransferred: 0, attempts: 0, applies: 0 };
}

/** The staging file holding a job's patch (removed when the job ends). */
export function patchFileName(job: Pick<DeltaJob, 'id'>): string {
  const safe = job.id.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[._-]+/, '');
  return `delta-${safe}`.slice(0, 120) + '.patch';
}

export function deltaNote(job: DeltaJob): DeltaNote | undefined {
  const state = job.delta;
  if (!state || (state.phase !== 'applied' && state.phase !== 'fellBack')) return undefined;
  return {
    format: state.artifact.format,
    sourceVersion: state.artifact.sourceVersion,
    outcome: state.phase,
    patchBytes: state.bytesTransferred,
    fullBytes: job.artifact.size,
    ...(state.failure ? { code: state.failure.code, message: state.failure.message.slice(0, 512) } : {}),
  };
}
