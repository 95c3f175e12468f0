/**
 * CBOR decoder + every wire message schema: the bytes a manager (or a peer manager) sends. Only
 * CborError (malformed bytes) and SchemaError (well-formed CBOR, wrong shape) may come out.
 */
import { CborError, decodeCbor, encodeCbor } from '../../agent/util/cbor.ts';
import { EXCHANGES, errorAnswerSchema, releaseRequestSchema, targetRecordSchema } from '../../agent/delivery/messages.ts';
import { SchemaError, type Schema } from '../../agent/transport/schema.ts';
import type { FuzzTarget } from '../types.ts';
import { below } from '../random.ts';
import { perturb, randomValue, vocabularyOf } from '../support/values.ts';

const SCHEMAS: Schema<unknown>[] = [
  ...Object.values(EXCHANGES).flatMap((exchange) => [exchange.request, exchange.answer] as Schema<unknown>[]),
  targetRecordSchema,
  releaseRequestSchema,
  errorAnswerSchema,
];

const manager = { address: 'http://127.0.0.1:8080', utcMs: 1_700_000_000_000 };
const digest = 'a'.repeat(64);
const command = { command: '/bin/true', args: ['--x', 'y'], timeoutMs: 1000 };
/** One valid instance of each message family (the mutator's starting points). */
export const SAMPLE_MESSAGES: unknown[] = [
  {
    type: 'identify', protocol: 1, agentVersion: '0.1.0', platform: 'linux',
    identity: { deviceId: 'dev-1', model: 'sim', oem: 'dm', hardwareId: 'hw', firmwareVersion: '1', locale: 'en' },
    targets: [{ id: 'dev-1', kind: 'device' }], referenceCounter: 3,
  },
  {
    type: 'packageList', manager,
    packages: [{ name: 'maps', version: '1.0.0', digest, optional: false, size: 10 }],
    reports: [{ kind: 'softwareInventory' }, { kind: 'fileCollection', paths: ['/etc/hostname'], maxBytes: 100 }],
    nextPollMs: 1000, redirect: 'https://other.example/',
  },
  {
    type: 'connection', deviceId: 'dev-1', referenceCounter: 4,
    targets: [{ id: 'dev-1', kind: 'device', previousManager: 'http://old.example/' }],
    installed: [{ name: 'maps', version: '1.0.0', digest }],
  },
  { type: 'connectionAck', manager, moves: [{ target: 'dev-1', from: 'http://old.example/', result: 'moved' }] },
  { type: 'instructionRequest', deviceId: 'dev-1', referenceCounter: 4, name: 'maps', version: '1.0.0' },
  { type: 'instruction', manager, name: 'maps', version: '1.0.0', size: 10, digest, postInstall: command, uninstall: command, locationToken: 't' },
  { type: 'locationRequest', deviceId: 'dev-1', referenceCounter: 4, locationToken: 't' },
  { type: 'location', manager, url: 'http://127.0.0.1/p/maps?sig=abc', expiresUtcMs: 1 },
  {
    type: 'status', deviceId: 'dev-1', referenceCounter: 4, jobId: 'j1', name: 'maps', version: '1.0.0', phase: 'postInstallEnd',
    outcome: 'failure', error: { code: 'exit', message: 'boom' }, bytes: 10, attempts: 1, exitCode: 1, output: 'o', deviceUtcMs: 5,
  },
  { type: 'ack', manager },
  { type: 'error', code: 'bad', message: 'no' },
  {
    type: 'targetRecord', target: 'dev-1', kind: 'device', deviceId: 'dev-1', referenceCounter: 2,
    packages: [{ name: 'maps', version: '1', digest }], updatedUtcMs: 1, manager: 'http://a/', movedTo: 'http://b/',
  },
  { type: 'release', target: 'dev-1', movedTo: 'http://b/', referenceCounter: 2 },
  { type: 'report', kind: 'fileCollection', deviceId: 'dev-1', referenceCounter: 1, files: [{ path: '/x', size: 1, content: new Uint8Array([1, 2]), truncated: false }] },
  { type: 'report', kind: 'softwareInventory', deviceId: 'dev-1', referenceCounter: 1, packages: [{ name: 'maps', version: '1', digest, installedUtcMs: 1, optional: true }] },
];

const vocabulary = vocabularyOf(SAMPLE_MESSAGES, { keys: ['inventory', 'storage', 'network', 'cpuCount'], strings: ['machineInventory'] });

export const target: FuzzTarget = {
  name: 'cbor-messages',
  seeds: () => SAMPLE_MESSAGES.map((message) => encodeCbor(message)),
  generate(random) {
    const base = SAMPLE_MESSAGES[below(random, SAMPLE_MESSAGES.length)];
    return encodeCbor(random() < 0.7 ? perturb(base, random, vocabulary) : randomValue(random, vocabulary));
  },
  run(input) {
    const value = decodeCbor(input);
    for (const schema of SCHEMAS) {
      try {
        schema.parse(value);
      } catch (error) {
        if (!(error instanceof SchemaError)) throw error;
      }
    }
  },
  isExpected: (error) => error instanceof CborError || error instanceof SchemaError,
};
