// The update service's wire schemas, credentials header and DNS discovery record (agent/firmware/messages.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CredentialsError,
  DiscoveryRecordError,
  basicAuthorization,
  checkAnswerSchema,
  checkRequestSchema,
  formatDiscoveryRecord,
  parseBasicAuthorization,
  parseDiscoveryRecords,
  resultReportSchema,
} from '../../agent/firmware/messages.ts';
import { SchemaError } from '../../agent/transport/schema.ts';
import { decodeCbor, encodeCbor } from '../../agent/util/cbor.ts';

const image = { version: '4.0.7577.4100', size: 1024, sha256: 'ab'.repeat(32), internalUrl: 'https://in.test/ucupdates/images/x', externalUrl: 'https://out.test/ucupdates/images/x' };
const check = { type: 'check', protocol: 1, deviceId: 'dev-1', model: 'CX600', hardwareId: 'hw-1', firmwareVersion: '4.0.7577.0', testDevice: false, location: 'inside' };

describe('update service messages', () => {
  it('a check request survives CBOR and validation', () => {
    expect(checkRequestSchema.parse(decodeCbor(encodeCbor(check)))).toEqual(check);
  });

  it.each([
    ['an unknown location', { location: 'moon' }, /location: expected one of inside, outside/],
    ['a version with spaces', { firmwareVersion: '1 2' }, /firmwareVersion: not printable ASCII/],
    ['a missing device id', { deviceId: undefined }, /deviceId: missing/],
    ['a string test flag', { testDevice: 'yes' }, /testDevice: expected a boolean/],
  ])('a check request with %s is refused', (_name, patch, message) => {
    expect(() => checkRequestSchema.parse({ ...check, ...patch })).toThrow(message);
  });

  it('downloads and image must agree', () => {
    expect(checkAnswerSchema.parse({ type: 'check', downloads: 0, serviceUtcMs: 1 })).toEqual({ type: 'check', downloads: 0, serviceUtcMs: 1 });
    expect(checkAnswerSchema.parse({ type: 'check', downloads: 1, image, serviceUtcMs: 1 }).image).toEqual(image);
    expect(() => checkAnswerSchema.parse({ type: 'check', downloads: 1, serviceUtcMs: 1 })).toThrow(/image: missing although downloads is 1/);
    expect(() => checkAnswerSchema.parse({ type: 'check', downloads: 0, image, serviceUtcMs: 1 })).toThrow(/image: present although downloads is 0/);
    expect(() => checkAnswerSchema.parse({ type: 'check', downloads: 2, serviceUtcMs: 1 })).toThrow(SchemaError);
    expect(() => checkAnswerSchema.parse({ type: 'check', downloads: 1, image: { ...image, size: 0 }, serviceUtcMs: 1 })).toThrow(/image\.size/);
  });

  it('a result report names its outcome from a closed set', () => {
    const report = { type: 'report', protocol: 1, reportId: 'r-1', deviceId: 'dev-1', model: 'CX600', fromVersion: '1', toVersion: '2', runningVersion: '2', outcome: 'installed', utcMs: 5 };
    expect(resultReportSchema.parse(report)).toEqual(report);
    expect(() => resultReportSchema.parse({ ...report, outcome: 'maybe' })).toThrow(/outcome/);
  });
});

describe('HTTP Basic credentials', () => {
  it('round-trip, UTF-8 included, and a colon may be in the password', () => {
    const header = basicAuthorization({ user: 'jörg', password: 'p:ss wörd' });
    expect(header).toMatch(/^Basic [A-Za-z0-9+/=]+$/);
    expect(header).not.toContain('wörd');
    expect(parseBasicAuthorization(header)).toEqual({ user: 'jörg', password: 'p:ss wörd' });
  });

  it.each([
    ['a colon in the user', { user: 'a:b', password: 'x' }],
    ['an empty user', { user: '', password: 'x' }],
    ['a control character', { user: 'a', password: 'x\ny' }],
  ])('refuse %s without echoing the password', (_name, credentials) => {
    expect(() => basicAuthorization(credentials)).toThrow(CredentialsError);
    try {
      basicAuthorization(credentials);
    } catch (error) {
      expect((error as Error).message).not.toContain(credentials.password);
    }
  });

  it.each(['Bearer abc', 'Basic !!!', 'Basic ' + btoa('nocolon'), 'Basic ' + btoa(':nouser')])('%s is not credentials', (header) => {
    expect(parseBasicAuthorization(header)).toBeUndefined();
  });
});

describe('discovery record (TXT at ucupdates-r2.<domain>)', () => {
  const urls = { internal: 'https://updates.corp.test/ucupdates', external: 'https://updates.example.test:4443/ucupdates' };

  it('formats and parses back, also when split into 255-character strings', () => {
    expect(parseDiscoveryRecords([formatDiscoveryRecord(urls)])).toEqual(urls);
    const long = { internal: `https://in.test/${'a'.repeat(300)}`, external: urls.external };
    const chunks = formatDiscoveryRecord(long);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.every((chunk) => chunk.length <= 255)).toBe(true);
    expect(parseDiscoveryRecords([['v=spf1 -all'], chunks])).toEqual(long);
  });

  it('accepts fields in any order and ignores unknown ones', () => {
    expect(parseDiscoveryRecords([[`v=ucupd1 ttl=5 external=${urls.external}  internal=${urls.internal}`]])).toEqual(urls);
  });

  it.each([
    ['no record of ours', [['v=spf1 -all']], 'noRecord'],
    ['two records of ours', [formatDiscoveryRecord(urls), formatDiscoveryRecord(urls)], 'ambiguous'],
    ['a missing external URL', [[`v=ucupd1 internal=${urls.internal}`]], 'badRecord'],
    ['a relative URL', [[`v=ucupd1 internal=/x external=${urls.external}`]], 'badRecord'],
    ['a field without =', [[`v=ucupd1 internal=${urls.internal} external=${urls.external} junk`]], 'badRecord'],
    ['a field given twice', [[`v=ucupd1 internal=${urls.internal} internal=${urls.internal} external=${urls.external}`]], 'badRecord'],
  ])('refuses %s with a typed error', (_name, records, code) => {
    expect(() => parseDiscoveryRecords(records)).toThrow(DiscoveryRecordError);
    try {
      parseDiscoveryRecords(records);
    } catch (error) {
      expect((error as DiscoveryRecordError).code).toBe(code);
    }
  });
});

describe('properties', () => {
  const host = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,40}$/);
  const path = fc.stringMatching(/^(\/[A-Za-z0-9._~%=&?-]{0,80}){0,5}$/);
  const url = fc.tuple(fc.constantFrom('http', 'https'), host, fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }), path).map(([scheme, name, port, rest]) => `${scheme}://${name}${port ? `:${port}` : ''}${rest}`);

  it('a formatted record parses back to the same URLs, however it is split', () => {
    fc.assert(
      fc.property(url, url, fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 6 }), (internal, external, cuts) => {
        const text = formatDiscoveryRecord({ internal, external }).join('');
        const chunks: string[] = [];
        let at = 0;
        for (const cut of cuts) {
          chunks.push(text.slice(at, at + cut));
          at += cut;
        }
        chunks.push(text.slice(at));
        expect(parseDiscoveryRecords([chunks])).toEqual({ internal, external });
      }),
    );
  });

  it('arbitrary TXT data is parsed or refused with a DiscoveryRecordError, nothing else', () => {
    const piece = fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom('v=ucupd1 ', 'internal=', 'external=', 'https://a.test/x', ' ', '='));
    fc.assert(
      fc.property(fc.array(fc.array(piece, { maxLength: 8 }), { maxLength: 4 }), (records) => {
        try {
          const urls = parseDiscoveryRecords(records);
          expect(typeof urls.internal).toBe('string');
        } catch (error) {
          expect(error).toBeInstanceOf(DiscoveryRecordError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('any valid credentials round-trip through the header; arbitrary headers never throw', () => {
    const user = fc.string({ minLength: 1, maxLength: 40 }).filter((text) => !text.includes(':') && !/[\x00-\x1f\x7f]/.test(text) && !/[\ud800-\udfff]/.test(text));
    const password = fc.string({ maxLength: 60 }).filter((text) => !/[\x00-\x1f\x7f]/.test(text) && !/[\ud800-\udfff]/.test(text));
    fc.assert(
      fc.property(user, password, (u, p) => {
        expect(parseBasicAuthorization(basicAuthorization({ user: u, password: p }))).toEqual({ user: u, password: p });
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (header) => {
        parseBasicAuthorization(header);
      }),
      { numRuns: 2000 },
    );
  });
});
