/**
 * The HAL contract: everything the agent may ask of the device it runs on.
 *
 * Shape follows ECMA-419 (Embedded Systems API): one host-provided `device` object is handed to
 * `createAgent(device, board, config)`; the agent never imports a platform module. Classes and
 * factories take one options object and validate it before touching hardware; `close()` is
 * idempotent and every other call after `close()` throws `ClosedError`. Times are milliseconds,
 * names are full lowerCamelCase words, asynchronous calls return Promises.
 *
 * This file is types only: it must stay importable from QuickJS bundles (no runtime code).
 */

// ───────────────────────────── common ─────────────────────────────

export type Bytes = Uint8Array;

/** Cancellation without AbortController (QuickJS has none). See `agent/util/abort.ts`. */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  /** Registers a callback run once on abort; returns an unregister function. */
  onAbort(callback: (reason: unknown) => void): () => void;
}

export interface Closable {
  /** Idempotent. After close every other call throws `ClosedError`. */
  close(): void | Promise<void>;
}

// ───────────────────────────── clock ─────────────────────────────

export type TimerHandle = number;

export interface Clock {
  /** Monotonic milliseconds since an arbitrary origin; never goes backwards. */
  monotonicMs(): number;
  /** Wall clock, UTC milliseconds since the Unix epoch. May jump (NTP, user). */
  utcMs(): number;
  /** Runs `callback` once after `delayMs` of monotonic time. */
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  /** Cancels a timer; unknown or already fired handles are ignored. */
  clearTimer(handle: TimerHandle): void;
}

// ───────────────────────────── flash ─────────────────────────────

export interface FlashStatus {
  /** Partition size in bytes (= blockLength × blocks). */
  size: number;
  /** Erase block size in bytes. */
  blockLength: number;
  blocks: number;
  /** Value every byte holds after an erase (0xFF on NOR flash). */
  eraseValue: number;
  /** Writes must start at a multiple of this and have a length that is a multiple of it. */
  writeAlign: number;
}

export interface FlashPartition extends Closable {
  readonly name: string;
  status(): FlashStatus;
  read(offset: number, length: number): Promise<Bytes>;
  /**
   * Programs bytes. NOR semantics: only bits that are still erased may change (1→0); writing over
   * programmed bits is an error (`FlashError` code `notErased`) on strict media.
   */
  write(offset: number, bytes: Bytes): Promise<void>;
  eraseBlock(index: number): Promise<void>;
}

export interface FlashOpenOptions {
  partition: string;
}

export interface Flash {
  /** Names of the partitions this device has (from the board profile). */
  partitions(): string[];
  open(options: FlashOpenOptions): Promise<FlashPartition>;
}

// ───────────────────────────── staging (bulk artifact bytes) ─────────────────────────────

/**
 * Bulk storage for downloaded packages (the state store only keeps metadata: a package can be
 * larger than the store). Data is durable up to the last `sync()`: after a power cut the file
 * holds at least every synced byte; bytes after the last sync may be lost or partial, which the
 * pipeline handles by re-verifying from its last persisted (synced) offset.
 */
export interface StagingFile extends Closable {
  readonly name: string;
  /** Where the host finds the file (a path on Linux), for post-install commands. */
  readonly location: string;
  size(): Promise<number>;
  read(offset: number, length: number): Promise<Bytes>;
  write(offset: number, bytes: Bytes): Promise<void>;
  truncate(length: number): Promise<void>;
  sync(): Promise<void>;
  /**
   * Sets room aside once for the file to grow to `length` bytes (a download knows its size up
   * front), so that writes and truncates up to `length` need no capacity check of their own and
   * other staging files cannot take that room. Held until `close()`. Throws HalError 'noSpace'
   * when the room is not there. A smaller `length` than already reserved is a no-op.
   */
  reserve(length: number): Promise<void>;
}

export interface StagingOpenOptions {
  name: string;
  /** Create when missing (default true). */
  create?: boolean;
}

export interface Staging {
  open(options: StagingOpenOptions): Promise<StagingFile>;
  remove(name: string): Promise<void>;
  list(): Promise<string[]>;
  /** Bytes still available for staging. */
  available(): Promise<number>;
}

// ───────────────────────────── net ─────────────────────────────

// HTTP, DNS, MQTT, UDP and network information: ./types-net.ts (one facet family, one file).
export type * from './types-net.ts';
import type { Net } from './types-net.ts';

// ───────────────────────────── update (A/B firmware slots) ─────────────────────────────

export type SlotName = 'a' | 'b';

export interface SlotInfo {
  slot: SlotName;
  /** Version of the image in the slot, when one was completed there. */
  version?: string;
  /** Image length in bytes, when complete. */
  size?: number;
  /** Lower-case hex SHA-256 of the completed image. */
  sha256?: string;
}

export interface UpdateStatus {
  /** The slot the device runs from now. */
  active: SlotName;
  /** The slot the next boot tries (trial boot), if an update is pending. */
  pending?: SlotName;
  /** False while running a trial boot that is not confirmed yet. */
  confirmed: boolean;
  /** Boots since the last confirm; a bootloader rolls back when it passes its limit. */
  bootCount: number;
  slots: SlotInfo[];
}

export interface SlotOpenOptions {
  /** Total image length; must fit the slot. */
  size: number;
  version: string;
  /** Keep bytes already written to the inactive slot (resume) instead of erasing it. */
  resume?: boolean;
}

export interface SlotWriter extends Closable {
  readonly slot: SlotName;
  /** Bytes in the slot that were written and made durable (what a resume can trust). */
  readonly durableLength: number;
  write(offset: number, bytes: Bytes): Promise<void>;
  read(offset: number, length: number): Promise<Bytes>;
  /** Flushes written bytes; after it, `durableLength` covers them. */
  sync(): Promise<void>;
  /** Verifies the whole slot against `sha256` (lower-case hex) and marks it pending for the next boot. */
  complete(options: { sha256: string }): Promise<void>;
}

export interface Update {
  status(): Promise<UpdateStatus>;
  /** Opens the inactive slot for writing a new image. */
  openInactive(options: SlotOpenOptions): Promise<SlotWriter>;
  /** Confirms the running trial image: it stays active on every later boot. */
  confirm(): Promise<void>;
  /** Drops the pending image or, in a trial boot, makes the previous slot active again (effective on next boot). */
  rollback(): Promise<void>;
  /**
   * Reads the image the device runs now (the active slot): the source a delta update applies to.
   * Reads past the slot's end are refused (`UpdateError` code `tooLarge`). Absent on hosts that
   * cannot read their running image: delta artifacts then fall back to the full image.
   */
  readActive?(offset: number, length: number): Promise<Bytes>;
}

// ───────────────────────────── power ─────────────────────────────

export interface PowerConditions {
  /** Running on mains / external power. */
  externalPower: boolean;
  /** 0–100, or undefined without a battery. */
  batteryPercent?: number;
  charging: boolean;
  /** Network link is up. */
  networkUp: boolean;
  /** The active link is metered (cellular, tethering). */
  networkMetered: boolean;
}

export interface RebootOptions {
  reason: string;
}

export interface Power {
  conditions(): Promise<PowerConditions>;
  /** Milliseconds since the last user activity (input, call, screen on). */
  idleMs(): number;
  /** Registers a user-activity listener; returns an unregister function. */
  onActivity(listener: () => void): () => void;
  /**
   * Asks the host to reboot. Resolves when the request is recorded; the host reboots after the
   * agent yields (Node: a clean exit with `REBOOT_EXIT_CODE`, see hal/node). Persist first.
   */
  requestReboot(options: RebootOptions): Promise<void>;
  /** Why the device booted last: a requested reboot (with its reason), power-on, or a crash. */
  lastBoot(): Promise<{ cause: 'requested' | 'powerOn' | 'unknown'; reason?: string }>;
}

// ───────────────────────────── users (sign-in) ─────────────────────────────

/** The user signed in on the device, with the credentials the host keeps for them. */
export interface SignedInUser {
  /** Sign-in name (e.g. a SIP URI or user principal name). */
  name: string;
  /** Secret: only ever sent over HTTPS, never logged (seeds 002/003). */
  password: string;
}

/** Who uses the device (a desk phone, a kiosk). Absent on headless boards. */
export interface Users {
  /** The user signed in now, if any. */
  current(): Promise<SignedInUser | undefined>;
  /** True once any user has signed in on this device (persisted by the host). */
  everSignedIn(): Promise<boolean>;
  /** Registers a sign-in listener (called with the user's name only); returns an unregister function. */
  onSignIn(listener: (name: string) => void): () => void;
}

// ───────────────────────────── system ─────────────────────────────

export interface DeviceIdentity {
  deviceId: string;
  model: string;
  oem: string;
  hardwareId: string;
  firmwareVersion: string;
  /** BCP 47, e.g. en-US */
  locale: string;
}

export interface MachineInventory {
  architecture: string;
  operatingSystem: string;
  kernelVersion?: string;
  cpuModel?: string;
  cpuCount: number;
  memoryBytes: number;
  storage: { name: string; sizeBytes: number; freeBytes?: number }[];
  network: { name: string; mac?: string; addresses: string[] }[];
}

export interface System {
  identity(): Promise<DeviceIdentity>;
  inventory(): Promise<MachineInventory>;
}

// ───────────────────────────── exec ─────────────────────────────

export interface ExecOptions {
  command: string;
  args?: string[];
  /** Killed after this long; the result then has `timedOut: true`. */
  timeoutMs: number;
  env?: Record<string, string>;
  /** Combined stdout+stderr tail kept in the result (default 4096 bytes). */
  outputLimit?: number;
}

export interface ExecResult {
  /** Process exit code; undefined when killed by a signal or timeout. */
  exitCode?: number;
  timedOut: boolean;
  signal?: string;
  /** The last `outputLimit` bytes of combined output, as UTF-8 text. */
  output: string;
  durationMs: number;
}

export interface Exec {
  run(options: ExecOptions): Promise<ExecResult>;
}

// ───────────────────────────── files (read-only, below roots) ─────────────────────────────

export interface FileEntry {
  /** Path as the agent names it: `<root>/<relative>` with '/' separators. */
  path: string;
  kind: 'file' | 'directory' | 'other';
  size: number;
  modifiedUtcMs: number;
}

export interface Files {
  /** Configured roots, e.g. ['/var/log', '/etc/dm']. Only paths below them are readable. */
  roots(): string[];
  /** Stats a path; outside the roots → `AccessDeniedError`; missing → `NotFoundError`. */
  stat(path: string): Promise<FileEntry>;
  /** Lists a directory's direct children. */
  list(path: string): Promise<FileEntry[]>;
  read(path: string, offset: number, length: number): Promise<Bytes>;
}

// ───────────────────────────── log ─────────────────────────────

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogRecord {
  level: LogLevel;
  message: string;
  /** Structured fields (JSON-serialisable). */
  fields?: Record<string, unknown>;
  utcMs: number;
}

export interface Log {
  write(record: LogRecord): void;
}

// ───────────────────────────── random, wasm ─────────────────────────────

export interface Random {
  /** Cryptographically strong random bytes. */
  bytes(length: number): Bytes;
}

/** WebAssembly as the host offers it. Absent on runtimes without WebAssembly (QuickJS). */
export interface WasmHost {
  /** Compiled module bytes shipped with the build, by module name (e.g. 'hash', 'diff'). */
  moduleBytes(name: string): Promise<Bytes>;
  /** Instantiates a module; resolves to its exports. */
  instantiate(bytes: Bytes, imports: Record<string, Record<string, unknown>>): Promise<Record<string, unknown>>;
}

// ───────────────────────────── digest (native hashing) ─────────────────────────────

/** One running hash of the host's own digest engine. */
export interface NativeHash {
  update(bytes: Bytes): void;
  /** Finishes the hash; the object is unusable afterwards. */
  digest(): Bytes;
}

/**
 * The host's own digest engine (Node: `node:crypto`, which uses SHA-NI / ARMv8 crypto
 * extensions; a board: its crypto accelerator). Optional: without it the agent hashes in WASM or
 * JS. A native hash cannot export its internal state, so the agent cannot persist it mid-stream;
 * the download pipeline re-hashes the durable bytes once on resume instead (agent/pipeline/download.ts).
 */
export interface DigestHost {
  /** Human-readable name of the engine, for `dm-agent hash --engine` and logs. */
  readonly name: string;
  /** Algorithms this host hashes natively (lowercase, e.g. 'sha256'). */
  readonly algorithms: readonly string[];
  /** Throws InvalidOptionsError for an algorithm not in `algorithms`. */
  createHash(algorithm: string): NativeHash;
}

// ───────────────────────────── signatures (native verification) ─────────────────────────────

/** Signature schemes a host may verify natively (the ones TUF metadata uses). */
export type SignatureScheme = 'ed25519' | 'ecdsa-p256-sha256';

/**
 * The host's own signature verifier (Node: `node:crypto`; a board: its crypto accelerator or
 * secure element). Optional: without it (QuickJS, boards without an accelerator) the agent loads
 * its JS verifier, a chunk of its own, so a board that verifies natively never stores or loads
 * the curve arithmetic. Both give the same answers (test/trust/verifiers.test.ts).
 */
export interface SignatureHost {
  /** Human-readable name of the engine, for logs. */
  readonly name: string;
  /** Schemes this host verifies. */
  readonly schemes: readonly SignatureScheme[];
  /**
   * Whether `signature` is valid for `message` under `publicKey`: Ed25519 (RFC 8032) with the raw
   * 32-byte key and 64-byte signature; ECDSA P-256 over SHA-256 of `message` with the 65-byte
   * uncompressed point and a DER signature (high-S accepted). False for any malformed key or
   * signature, never a throw; InvalidOptionsError for a scheme not in `schemes`.
   */
  verify(scheme: SignatureScheme, publicKey: Bytes, message: Bytes, signature: Bytes): boolean;
}

// ───────────────────────────── keystore ─────────────────────────────

/**
 * The device's own key pair (Ed25519), created at first use and never leaving the keystore: a
 * board's secure element, the Node HAL's 0600 file in the work dir, the mock's memory. The agent
 * authenticates to managers with it.
 */
export interface Keystore {
  /** The public key (32 bytes), creating the key pair the first time. */
  publicKey(): Promise<{ kind: 'ed25519'; key: Bytes }>;
  /** An Ed25519 signature (64 bytes) of `message` with the device key. */
  sign(message: Bytes): Promise<Bytes>;
}

// ───────────────────────────── the device ─────────────────────────────

export interface Device extends Closable {
  /** Which implementation this is ('mock', 'node', 'quickjs'), for logs and reports. */
  readonly platform: string;
  clock: Clock;
  flash: Flash;
  staging: Staging;
  net: Net;
  update: Update;
  power: Power;
  system: System;
  /** Signed-in users; absent on boards without users. */
  users?: Users;
  exec: Exec;
  files: Files;
  log: Log;
  random: Random;
  wasm?: WasmHost;
  /** The host's native digest engine; absent when it has none. */
  digest?: DigestHost;
  /** The host's native signature verifier; absent when it has none. */
  signatures?: SignatureHost;
  /** Absent on a board without a place for a device key. */
  keystore?: Keystore;
}
