/**
 * The Node HAL: the `device` for Linux boards and QEMU guests (and the `sim` board on a
 * developer machine). Everything lives under one work directory:
 *
 *   <workDir>/flash.img          the board's flash (partitions are offset ranges)
 *   <workDir>/staging/           staged package files
 *   <workDir>/boot-record.json   why the next start happens (present only across a reboot)
 *
 * Creating the device *is* the boot: the boot record is consumed and the A/B bootloader step
 * (pending → trial, rollback past the boot-count limit) runs before the promise resolves.
 */
import { randomBytes } from 'node:crypto';
import { createKeystore } from '../shared/keystore.ts';
import { DEVICE_KEY_FILE, fileSecretSlot } from './keystore.ts';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidOptionsError } from '../errors.ts';
import type { Device, FlashPartition, NetworkInfo, Random } from '../types.ts';
import { type BootOutcome, startAbUpdate } from '../shared/ab-update.ts';
import { Lifecycle, guardFacet } from '../shared/lifecycle.ts';
import { UserState } from '../shared/users.ts';
import { NodeClock } from './clock.ts';
import { NodeExec } from './exec.ts';
import { createNodeFiles } from './files.ts';
import { FlashImage } from './flash.ts';
import { createNodeLog } from './log.ts';
import { createNodeNet } from './net.ts';
import { type NodeDeviceOptions, validateNodeOptions } from './options.ts';
import { NodePower, takeBootRecord } from './power.ts';
import { createNodeStaging } from './staging.ts';
import { createNodeSystem } from './system.ts';
import { createNodeWasmHost } from './wasm.ts';
import { createNodeDigestHost } from './digest.ts';
import { guardDigest } from '../shared/digest.ts';
import { createNodeSignatureHost } from './signatures.ts';
import { guardSignatures } from '../shared/signatures.ts';

export { REBOOT_EXIT_CODE, BOOT_RECORD_FILE } from './power.ts';
export type { NodeBoard, NodeBoardPartition, NodeDeviceOptions } from './options.ts';
export { findPackageRoot } from './wasm.ts';

export const FLASH_IMAGE_FILE = 'flash.img';
export const STAGING_DIRECTORY = 'staging';
/** Present once a user signed in on this device (seed 002: DNS discovery only before that). */
export const SIGNED_IN_MARKER = 'signed-in';
const MAX_RANDOM_BYTES = 1024 * 1024;

export interface NodeDevice extends Device {
  readonly workDir: string;
  /** What the bootloader step did at this start. */
  readonly bootOutcome: BootOutcome;
  /** Reports user activity (CLI, demo UI): resets idle time and notifies `onActivity` listeners. */
  activity(): void;
  /** A user signed in (the phone's UI): `users.current()` returns them, `onSignIn` listeners hear it. */
  signIn(name: string, password: string): void;
  signOut(): void;
  /** Inside or outside the corporate firewall, as `net.info()` reports it (default from the options, else unknown). */
  location: NetworkInfo['location'];
  /** Idempotent: clears timers, kills running commands, closes handles and the network. */
  close(): Promise<void>;
}

export async function createNodeDevice(options: NodeDeviceOptions): Promise<NodeDevice> {
  const config = validateNodeOptions(options);
  const stagingDirectory = join(config.workDir, STAGING_DIRECTORY);
  await mkdir(stagingDirectory, { recursive: true });
  const image = await FlashImage.open(join(config.workDir, FLASH_IMAGE_FILE), config.flash, config.rawPartitions);
  const lifecycle = new Lifecycle();
  // The image closes last, after everything that may still be writing through it.
  /** The "someone signed in" marker being written; a close waits for it (the next boot reads it). */
  let markerWrite: Promise<unknown> = Promise.resolve();
  const closeAll = (): Promise<void> => markerWrite.then(() => lifecycle.close()).then(() => image.close());
  try {
    const lastBoot = await takeBootRecord(config.workDir);
    const trackPartition = (partition: FlashPartition): FlashPartition => {
      (partition as { onClose?: () => void }).onClose = () => lifecycle.untrack(partition);
      return lifecycle.track(partition);
    };
    // The update module gets its own (untracked) partitions: it closes them itself.
    const ab = lifecycle.track(startAbUpdate({ flash: image.facet((p) => p), bootCountLimit: config.bootCountLimit }));
    const bootOutcome = await ab.booted;

    const clock = lifecycle.track(new NodeClock());
    const exec = lifecycle.track(new NodeExec({ killGraceMs: config.killGraceMs }));
    const power = lifecycle.track(
      new NodePower({
        workDir: config.workDir,
        lastBoot,
        onReboot: config.onReboot,
        conditions: config.conditions,
        supplyDirectory: config.supplyDirectory,
        idleMs: config.idleMs,
      }),
    );
    const net = lifecycle.track(createNodeNet(config.net));
    const marker = join(config.workDir, SIGNED_IN_MARKER);
    const users = new UserState({
      everSignedIn: await access(marker).then(() => true, () => false),
      onFirstSignIn: () => void (markerWrite = writeFile(marker, '').catch(() => undefined)),
    });
    const random: Random = {
      bytes(length: number) {
        if (!Number.isInteger(length) || length < 0 || length > MAX_RANDOM_BYTES)
          throw new InvalidOptionsError(`random.bytes: length must be an integer in 0..${MAX_RANDOM_BYTES}`);
        const bytes = randomBytes(length);
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      },
    };
    const staging = createNodeStaging({
      directory: stagingDirectory,
      capacity: config.stagingCapacity,
      track: (handle) => lifecycle.track(handle),
      untrack: (handle) => lifecycle.untrack(handle),
    });
    const system = createNodeSystem({
      identity: config.identity,
      workDir: config.workDir,
      flashImageBytes: image.size,
      activeVersion: () => ab.activeVersion(),
    });

    const device: NodeDevice = {
      platform: 'node',
      workDir: config.workDir,
      bootOutcome,
      clock: guardFacet(clock.facet(), lifecycle, 'clock', ['monotonicMs', 'utcMs', 'setTimer', 'clearTimer']),
      flash: guardFacet(image.facet(trackPartition), lifecycle, 'flash', ['partitions']),
      staging: guardFacet(staging, lifecycle, 'staging'),
      net: {
        http: guardFacet(net.http, lifecycle, 'net.http'),
        dns: guardFacet(net.dns, lifecycle, 'net.dns'),
        mqtt: guardFacet(net.mqtt, lifecycle, 'net.mqtt'),
        ...(net.udp ? { udp: guardFacet(net.udp, lifecycle, 'net.udp') } : {}),
        info: async () => {
          lifecycle.check('net.info');
          const dhcpDomain = await net.dns.domain();
          return { location: device.location, ...(dhcpDomain !== undefined ? { dhcpDomain } : {}) };
        },
      },
      update: guardFacet(ab.update, lifecycle, 'update'),
      power: guardFacet(power.facet(), lifecycle, 'power', ['idleMs', 'onActivity']),
      system: guardFacet(system, lifecycle, 'system'),
      users: guardFacet(users.facet(), lifecycle, 'users', ['onSignIn']),
      exec: guardFacet(exec.facet(), lifecycle, 'exec'),
      files: guardFacet(createNodeFiles(config.fileRoots), lifecycle, 'files', ['roots']),
      log: guardFacet(createNodeLog({ level: config.logLevel, sink: config.logSink }), lifecycle, 'log', ['write']),
      random: guardFacet(random, lifecycle, 'random', ['bytes']),
      wasm: guardFacet(createNodeWasmHost(config.wasmDirectory), lifecycle, 'wasm'),
      digest: guardDigest(createNodeDigestHost(), lifecycle),
      signatures: guardSignatures(createNodeSignatureHost(), lifecycle),
      keystore: guardFacet(createKeystore(fileSecretSlot(join(config.workDir, DEVICE_KEY_FILE)), random), lifecycle, 'keystore'),
      activity: () => {
        lifecycle.check('activity');
        power.activity();
      },
      signIn: (name, password) => {
        lifecycle.check('signIn');
        users.signIn(name, password);
      },
      signOut: () => users.signOut(),
      location: config.location,
      close: closeAll,
    };
    return device;
  } catch (error) {
    await closeAll();
    throw error;
  }
}
