/**
 * The device update web service's parsers, the bytes a service (or DNS) hands a device: CBOR +
 * every update message schema, the DNS TXT discovery record, and the HTTP Basic header the
 * service reads. Only CborError, SchemaError and DiscoveryRecordError may come out; the Basic
 * parser must never throw at all.
 *
 * Input layout: the first byte picks the parser (mod 3), the rest is its input. For the discovery
 * record, `\n` separates TXT records and `\t` the character-strings of one record.
 */
import {
  DiscoveryRecordError,
  UPDATES_EXCHANGES,
  basicAuthorization,
  formatDiscoveryRecord,
  parseBasicAuthorization,
  parseDiscoveryRecords,
} from '../../agent/firmware/messages.ts';
import { type Schema, SchemaError } from '../../agent/transport/schema.ts';
import { utf8Decode, utf8Encode } from '../../agent/util/bytes.ts';
import { CborError, decodeCbor, encodeCbor } from '../../agent/util/cbor.ts';
import type { FuzzTarget } from '../types.ts';

const SCHEMAS = Object.values(UPDATES_EXCHANGES).flatMap((exchange) => [exchange.request, exchange.answer] as Schema<unknown>[]);

const image = { version: '4.0.2', size: 1000, sha256: 'ab'.repeat(32), internalUrl: 'http://in.test/ucupdates/v1/images/x', externalUrl: 'https://out.test/ucupdates/v1/images/x' };
/** One valid instance of each message (the mutator's starting points). */
const SAMPLES: unknown[] = [
  { type: 'check', protocol: 1, deviceId: 'phone-1', model: 'CX600', hardwareId: 'hw', firmwareVersion: '4.0.1', testDevice: false, location: 'inside' },
  { type: 'check', downloads: 0, serviceUtcMs: 1 },
  { type: 'check', downloads: 1, image, serviceUtcMs: 1 },
  { type: 'report', protocol: 1, reportId: 'r1', deviceId: 'phone-1', model: 'CX600', fromVersion: '1', toVersion: '2', runningVersion: '2', outcome: 'rolledBack', detail: 'boot', utcMs: 5 },
  { type: 'ack', reportId: 'r1', duplicate: true },
];

const tagged = (tag: number, bytes: Uint8Array): Uint8Array => {
  const out = new Uint8Array(bytes.length + 1);
  out[0] = tag;
  out.set(bytes, 1);
  return out;
};

const SEEDS: Uint8Array[] = [
  ...SAMPLES.map((sample) => tagged(0, encodeCbor(sample))),
  tagged(1, utf8Encode(`v=spf1 -all\n${formatDiscoveryRecord({ internal: 'https://in.test/u', external: 'https://out.test/u' }).join('\t')}`)),
  tagged(1, utf8Encode('v=ucupd1 internal=https://a.test\tx/y external=http://b.test:8080/p')),
  tagged(2, utf8Encode(basicAuthorization({ user: 'alice', password: 'p:w ö' }))),
  tagged(2, utf8Encode('Basic Og==')),
];

function run(input: Uint8Array): void {
  const body = input.subarray(1);
  switch ((input[0] ?? 0) % 3) {
    case 0: {
      const value = decodeCbor(body);
      for (const schema of SCHEMAS) {
        try {
          schema.parse(value);
        } catch (error) {
          if (!(error instanceof SchemaError)) throw error;
        }
      }
      return;
    }
    case 1:
      parseDiscoveryRecords(utf8Decode(body).split('\n').map((record) => record.split('\t')));
      return;
    default:
      parseBasicAuthorization(utf8Decode(body));
  }
}

/** A seed with a few bytes changed, inserted or removed (values from `random`, in [0, 1)). */
function generate(random: () => number): Uint8Array {
  const pick = (n: number): number => Math.floor(random() * n);
  const bytes = [...SEEDS[pick(SEEDS.length)]!];
  for (let edits = 1 + pick(4); edits > 0; edits--) {
    const at = 1 + pick(Math.max(1, bytes.length - 1));
    const roll = pick(3);
    if (roll === 0 && bytes.length > 1) bytes[at] = pick(256);
    else if (roll === 1) bytes.splice(at, 0, pick(256));
    else if (bytes.length > 2) bytes.splice(at, 1);
  }
  return Uint8Array.from(bytes);
}

export const target: FuzzTarget = {
  name: 'updates',
  seeds: () => SEEDS.map((seed) => seed.slice()),
  generate,
  run,
  isExpected: (error) => error instanceof CborError || error instanceof SchemaError || error instanceof DiscoveryRecordError,
};
