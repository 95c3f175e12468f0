/**
 * Options of `createNodeDevice`, validated in full before the Node HAL touches the disk. The
 * board part is the board profile (boards/*.json) as is: extra profile keys are ignored, the
 * flash geometry and partitions are checked (alignment, overlaps) by agent/board.ts's
 * `checkLayout`, because the image file layout depends on them.
 */
import { isAbsolute, resolve } from 'node:path';
import { checkLayout } from '../../agent/board.ts';
import { InvalidOptionsError } from '../errors.ts';
import type { DeviceIdentity, LogLevel, LogRecord, PowerConditions } from '../types.ts';
import { validateBootCountLimit } from '../shared/ab-update.ts';
import { isLogLevel } from '../shared/log-record.ts';
import { normalizeRoots } from '../shared/paths.ts';
import {
  optionalFunction,
  optionalInteger,
  optionalStringFields,
  rejectUnknownKeys,
  requireObject,
  requireString,
} from '../shared/validate.ts';
import { validateConditions } from '../shared/conditions.ts';
import type { NodeNetOptions } from './net.ts';

export interface NodeBoardPartition {
  name: string;
  /** Byte offset in the flash image (raw partitions). */
  offset?: number;
  size: number;
  /** raw (default): a region of the flash image; staging: the capacity of the staging directory. */
  kind?: 'raw' | 'staging';
}

export interface NodeBoard {
  flash: { blockLength: number; writeAlign: number; eraseValue: number };
  partitions: NodeBoardPartition[];
}

export interface NodeDeviceOptions {
  /** Directory holding flash.img, staging/ and the boot record (created when missing). */
  workDir: string;
  /** The board profile (or at least its `flash` and `partitions`). */
  board: NodeBoard;
  identity?: Partial<DeviceIdentity>;
  /** Readable roots of the `files` facet (default none). */
  fileRoots?: string[];
  /** Passed to `createNodeNet`. */
  net?: NodeNetOptions;
  bootCountLimit?: number;
  /** Where `<name>.wasm` modules are (default `<package root>/dist/wasm`). */
  wasmDirectory?: string;
  /** Called after a reboot request was persisted; default: exit with `REBOOT_EXIT_CODE` on the next turn. */
  onReboot?: (reason: string) => void;
  log?: { level?: LogLevel; sink?: (record: LogRecord) => void };
  power?: {
    /** Used where /sys/class/power_supply says nothing (default: external power, network up). */
    conditions?: Partial<PowerConditions>;
    /** Default /sys/class/power_supply. */
    supplyDirectory?: string;
    /** Idle time source (e.g. from an input-device watcher); default time since the last `activity()`. */
    idleMs?: () => number;
  };
  exec?: { killGraceMs?: number };
  /** Inside or outside the corporate firewall (`net.info()`), when the host knows; default unknown. */
  location?: 'inside' | 'outside' | 'unknown';
}

export interface RawPartition {
  name: string;
  offset: number;
  size: number;
}

export interface NodeConfig {
  workDir: string;
  flash: { blockLength: number; writeAlign: number; eraseValue: number };
  rawPartitions: RawPartition[];
  /** Staging capacity from a `kind: staging` partition, if the board has one. */
  stagingCapacity: number | undefined;
  identity: Partial<DeviceIdentity>;
  fileRoots: string[];
  net: NodeNetOptions | undefined;
  bootCountLimit: number | undefined;
  wasmDirectory: string | undefined;
  onReboot: ((reason: string) => void) | undefined;
  logLevel: LogLevel;
  logSink: ((record: LogRecord) => void) | undefined;
  conditions: Partial<PowerConditions>;
  supplyDirectory: string;
  idleMs: (() => number) | undefined;
  killGraceMs: number;
  location: 'inside' | 'outside' | 'unknown';
}

const KEYS = ['workDir', 'board', 'identity', 'fileRoots', 'net', 'bootCountLimit', 'wasmDirectory', 'onReboot', 'log', 'power', 'exec', 'location'];
const IDENTITY_KEYS = ['deviceId', 'model', 'oem', 'hardwareId', 'firmwareVersion', 'locale'] as const;

export function validateNodeOptions(options: NodeDeviceOptions): NodeConfig {
  const o = requireObject(options, 'createNodeDevice');
  rejectUnknownKeys(o, KEYS, 'createNodeDevice');
  const workDir = resolve(requireString(o.workDir, 'createNodeDevice: workDir'));
  const board = requireObject(o.board, 'createNodeDevice: board');
  const { flash, raw, stagingCapacity } = validateLayout(board);
  if (o.fileRoots !== undefined && !Array.isArray(o.fileRoots)) throw new InvalidOptionsError('createNodeDevice: fileRoots must be an array');
  const log = o.log === undefined ? {} : requireObject(o.log, 'createNodeDevice: log');
  rejectUnknownKeys(log, ['level', 'sink'], 'createNodeDevice: log');
  if (log.level !== undefined && !isLogLevel(log.level)) throw new InvalidOptionsError('createNodeDevice: log.level must be debug, info, warn or error');
  const power = o.power === undefined ? {} : requireObject(o.power, 'createNodeDevice: power');
  rejectUnknownKeys(power, ['conditions', 'supplyDirectory', 'idleMs'], 'createNodeDevice: power');
  const exec = o.exec === undefined ? {} : requireObject(o.exec, 'createNodeDevice: exec');
  rejectUnknownKeys(exec, ['killGraceMs'], 'createNodeDevice: exec');
  if (o.net !== undefined) requireObject(o.net, 'createNodeDevice: net');
  if (o.location !== undefined && !['inside', 'outside', 'unknown'].includes(o.location as string))
    throw new InvalidOptionsError('createNodeDevice: location must be inside, outside or unknown');
  const wasmDirectory = o.wasmDirectory === undefined ? undefined : resolve(requireString(o.wasmDirectory, 'createNodeDevice: wasmDirectory'));
  const supplyDirectory = power.supplyDirectory === undefined ? '/sys/class/power_supply' : requireString(power.supplyDirectory, 'createNodeDevice: power.supplyDirectory');
  if (!isAbsolute(supplyDirectory)) throw new InvalidOptionsError('createNodeDevice: power.supplyDirectory must be absolute');
  return {
    workDir,
    flash,
    rawPartitions: raw,
    stagingCapacity,
    identity: optionalStringFields(o.identity, IDENTITY_KEYS, 'createNodeDevice: identity'),
    fileRoots: normalizeRoots((o.fileRoots as string[] | undefined) ?? [], 'createNodeDevice: fileRoots'),
    net: o.net as NodeConfig['net'],
    bootCountLimit: validateBootCountLimit(o.bootCountLimit, 'createNodeDevice: bootCountLimit'),
    wasmDirectory,
    onReboot: optionalFunction(o.onReboot, 'createNodeDevice: onReboot'),
    logLevel: (log.level as LogLevel | undefined) ?? 'info',
    logSink: optionalFunction(log.sink, 'createNodeDevice: log.sink'),
    conditions: validateConditions(power.conditions, 'createNodeDevice: power.conditions'),
    supplyDirectory,
    idleMs: optionalFunction(power.idleMs, 'createNodeDevice: power.idleMs'),
    killGraceMs: optionalInteger(exec.killGraceMs, 'createNodeDevice: exec.killGraceMs', 0, 60_000) ?? 2000,
    location: (o.location as NodeConfig['location'] | undefined) ?? 'unknown',
  };
}

/**
 * The flash geometry and partitions, checked by the board module's own layout rules (one profile,
 * one verdict: what `dm-agent board check` accepts, the HAL accepts), then split into the raw
 * regions of the image and the staging capacity.
 */
function validateLayout(board: Record<string, unknown>): { flash: NodeConfig['flash']; raw: RawPartition[]; stagingCapacity: number | undefined } {
  const issues = checkLayout(board);
  if (issues.length > 0) throw new InvalidOptionsError(`createNodeDevice: board: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
  const { flash, partitions } = board as unknown as NodeBoard;
  const raw: RawPartition[] = [];
  let stagingCapacity: number | undefined;
  for (const { name, offset, size, kind } of partitions) {
    if (kind === 'staging') stagingCapacity = size;
    else raw.push({ name, offset: offset as number, size });
  }
  return { flash: { blockLength: flash.blockLength, writeAlign: flash.writeAlign, eraseValue: flash.eraseValue }, raw, stagingCapacity };
}
