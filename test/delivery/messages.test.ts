import { describe, expect, it } from 'vitest';
import { parseConfig, ConfigError } from '../../agent/config.ts';
import { EXCHANGES, packageListSchema, statusReportSchema } from '../../agent/delivery/messages.ts';
import { SchemaError, array, integer, object, optional, string } from '../../agent/transport/schema.ts';
import { decodeCbor, encodeCbor, CborError } from '../../agent/util/cbor.ts';

const manager = { address: 'http://127.0.0.1:8080', utcMs: 1_790_000_000_000 };
const digest = 'a'.repeat(64);

describe('message schemas', () => {
  it('accept a valid package list and drop unknown keys (forward compatibility)', () => {
    const list = packageListSchema.parse({ type: 'packageList', manager, packages: [{ name: 'ünï', version: '1', digest, optional: false, future: 1 }], reports: [{ kind: 'machineInventory' }], extra: true });
    expect(list).toEqual({ type: 'packageList', manager, packages: [{ name: 'ünï', version: '1', digest, optional: false }], reports: [{ kind: 'machineInventory' }] });
  });

  it.each([
    ['a wrong type tag', { type: 'packagelist' }, /type: expected "packageList"/],
    ['an upper-case digest', { packages: [{ name: 'a', version: '1', digest: 'A'.repeat(64), optional: false }] }, /packages\[0\]\.digest: not a lower-case hex SHA-256/],
    ['a missing manager', { manager: undefined }, /manager: missing/],
    ['a relative address', { manager: { ...manager, address: '/m' } }, /manager\.address: not an http\(s\) URL/],
    ['an unknown report kind', { reports: [{ kind: 'everything' }] }, /reports\[0\]\.kind: expected one of/],
    ['too many packages', { packages: Array.from({ length: 10_001 }, () => ({ name: 'a', version: '1', digest, optional: false })) }, /more than 10000 items/],
    ['a name too long', { packages: [{ name: 'x'.repeat(201), version: '1', digest, optional: false }] }, /longer than 200/],
    ['a negative poll time', { nextPollMs: -1 }, /nextPollMs: -1 outside/],
    ['bytes instead of a string', { redirect: new Uint8Array(3) }, /redirect: expected a string, got bytes/],
  ])('refuse %s with the path of the problem', (_name, patch, message) => {
    const value = { type: 'packageList', manager, packages: [], reports: [], ...patch };
    expect(() => packageListSchema.parse(value)).toThrow(SchemaError);
    expect(() => packageListSchema.parse(value)).toThrow(message);
  });

  it('survive a CBOR round trip, bytes included', () => {
    const report = { type: 'report', kind: 'fileCollection', deviceId: 'd', referenceCounter: 5, files: [{ path: '/var/log/a', size: 3, content: Uint8Array.of(1, 2, 3), truncated: false }] };
    const decoded = EXCHANGES.report.request.parse(decodeCbor(encodeCbor(report)));
    expect(decoded).toEqual(report);
    expect((decoded as { files: { content: Uint8Array }[] }).files[0]?.content).toBeInstanceOf(Uint8Array);
  });

  it('CBOR refuses trailing bytes and garbage with a typed error', () => {
    expect(() => decodeCbor(Uint8Array.of(0x01, 0x02))).toThrow(CborError);
    expect(() => decodeCbor(Uint8Array.of(0xa1, 0x61))).toThrow(CborError);
    expect(() => decodeCbor(Uint8Array.of(0x9b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff))).toThrow(CborError);
  });

  it('status reports bound the command output', () => {
    const base = { type: 'status', deviceId: 'd', referenceCounter: 1, jobId: 'j', name: 'n', version: 'v', phase: 'postInstallEnd', outcome: 'success', deviceUtcMs: 0 };
    expect(() => statusReportSchema.parse({ ...base, output: 'x'.repeat(5000) })).toThrow(/longer than 4096/);
    expect(() => statusReportSchema.parse({ ...base, phase: 'done' })).toThrow(/phase/);
  });

  it('object types follow optional fields', () => {
    const schema = object({ a: integer(), b: optional(string({ max: 3 })), c: array(integer(), { max: 2 }) });
    const value: { a: number; b?: string; c: number[] } = schema.parse({ a: 1, c: [] });
    expect(value).toEqual({ a: 1, c: [] });
  });
});

describe('agent config', () => {
  it('fills defaults', () => {
    const config = parseConfig({ trust: { allowUnsigned: true }, delivery: { manager: 'https://m.test' } });
    expect(config.engine).toBe('auto');
    expect(config.delivery?.schedule.intervalMs).toBe(24 * 3600_000);
    expect(config.delivery?.optionalPackages).toBe('install');
  });
  it.each([
    [{ delivery: { manager: 'https://m.test', schedul: {} } }, /delivery\.schedul: unknown key/],
    [{ delivery: { manager: 'ftp://m.test' } }, /delivery\.manager: not an http\(s\) URL/],
    [{ delivery: { manager: 'https://m.test', schedule: { window: '25:00-01:00' } } }, /window/],
    [{ delivery: { manager: 'http://m.test' } }, /delivery\.manager http:\/\/m\.test is not https:\/\/ \(set allowInsecure: true/],
    [{ delivery: { manager: 'http://m.test', allowInsecure: 'yes' } }, /delivery\.allowInsecure: expected a boolean/],
    [{ engine: 'fast' }, /engine: expected one of auto, wasm, js/],
    [{ users: ['has space'] }, /users\[0\]/],
  ])('refuses %j', (input, message) => {
    expect(() => parseConfig(input)).toThrow(ConfigError);
    expect(() => parseConfig(input)).toThrow(message);
  });
});
