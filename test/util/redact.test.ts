import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED, isSecretParameter, redactDeep, redactText, redactUrl } from '../../agent/util/redact.ts';

describe('redactUrl', () => {
  it.each([
    ['http://user:pass@host.test:8080/dm/v1', 'http://REDACTED@host.test:8080/dm/v1'],
    ['https://token@host.test', 'https://REDACTED@host.test'],
    ['https://u:p@ss@host.test/x', 'https://REDACTED@host.test/x'],
    ['http://host.test/a/b?expires=1&sig=abc123', 'http://host.test/a/b?expires=1&sig=REDACTED'],
    ['https://s3.test/o?X-Amz-Credential=AK%2F1&X-Amz-Signature=ff&X-Amz-Date=2026', 'https://s3.test/o?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Date=2026'],
    ['https://h.test/f?access_token=t&page=2#sig=frag', 'https://h.test/f?access_token=REDACTED&page=2#sig=frag'],
    ['https://h.test/f?api.key=k;keyboard=us', 'https://h.test/f?api.key=REDACTED;keyboard=us'],
    ['http://host.test/plain', 'http://host.test/plain'],
    ['http://host.test/p@th', 'http://host.test/p@th'],
    ['not a url', 'not a url'],
  ])('%s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });
});

describe('redactText and redactDeep', () => {
  it('redacts every URL in free text, keeping the punctuation around it', () => {
    expect(redactText('GET http://a:b@x.test/?sig=1 failed (see https://y.test/?token=2).')).toBe(
      'GET http://REDACTED@x.test/?sig=REDACTED failed (see https://y.test/?token=REDACTED).',
    );
    // A URL without a scheme (or cut off) still loses its signature.
    expect(redactText('bad URL /artifacts/x?expires=5&sig=abc')).toBe('bad URL /artifacts/x?expires=5&sig=REDACTED');
  });

  it('walks log fields without changing their shape; an own __proto__ key stays data', () => {
    const fields = JSON.parse('{"url":"http://u:p@h.test/","n":3,"list":["https://h.test/?sig=s"],"__proto__":{"x":"http://k@h"}}');
    const out = redactDeep(fields);
    expect(out).toEqual(JSON.parse('{"url":"http://REDACTED@h.test/","n":3,"list":["https://h.test/?sig=REDACTED"],"__proto__":{"x":"http://REDACTED@h"}}'));
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(fields.url).toBe('http://u:p@h.test/'); // the input is not modified
  });

  it('redacts bearer tokens (device and admin tokens) in text and authorization fields', () => {
    const token = 'eyJkIjoiZGV2LTEiLCJrIjoiYWIiLCJlIjoxfQ.q7Hc1-x_Zz';
    expect(redactText(`GET /dm/v1/identify failed: Authorization: Bearer ${token}, retrying`)).toBe('GET /dm/v1/identify failed: Authorization: Bearer REDACTED, retrying');
    expect(redactText(`bearer  ${token}`)).toBe('bearer  REDACTED');
    const fields = redactDeep({ headers: { Authorization: `Bearer ${token}`, accept: 'application/cbor' }, note: `sent Bearer ${token}` });
    expect(JSON.stringify(fields)).not.toContain('q7Hc1');
    expect(fields.headers).toEqual({ Authorization: 'REDACTED', accept: 'application/cbor' });
    expect(redactText('the bearer of this message')).toBe('the bearer of this message');
  });

  it('names secret parameters by whole name or name part only', () => {
    for (const name of ['sig', 'Signature', 'X-Amz-Signature', 'access_token', 'client_secret', 'password', 'api_key', 'se%73sion'.replace('%73', 's')]) expect(isSecretParameter(name)).toBe(true);
    for (const name of ['expires', 'keyboard', 'page', 'signal_strength', 'tokens']) expect(isSecretParameter(name)).toBe(false);
  });

  it('never throws and never lets a secret value through (property)', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9]{12,20}$/);
    const junk = fc.string({ maxLength: 30 }).map((s) => s.replace(/[\s"'<>`&;#?=@/]/g, ''));
    fc.assert(
      fc.property(secret, secret, junk, junk, fc.constantFrom('sig', 'token', 'X-Amz-Signature'), (user, sig, host, path, name) => {
        const url = `https://${user}:${user}@h${host}.test/${path}?a=1&${name}=${sig}`;
        const text = `failed: ${url}, retrying`;
        const out = redactText(text);
        return !out.includes(user) && !out.includes(sig) && out.includes(REDACTED);
      }),
      { numRuns: 2000 },
    );
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => typeof redactText(text) === 'string' && typeof redactUrl(text) === 'string'), { numRuns: 2000 });
  });
});

describe('status reports leave the device redacted, within their length caps', () => {
  it('redacts error messages and output tails without growing them', async () => {
    const { ManagerClient } = await import('../../agent/delivery/client.ts');
    const { decodeCbor, encodeCbor } = await import('../../agent/util/cbor.ts');
    const sent: unknown[] = [];
    const http = {
      async request(request: { body?: unknown }) {
        sent.push(decodeCbor(request.body as Uint8Array));
        const body = encodeCbor({ type: 'ack', manager: { address: 'http://m.test', utcMs: 1 } });
        return { status: 200, headers: { 'content-type': 'application/cbor' }, body: (async function* () {})(), bytes: async () => body, cancel() {} };
      },
    };
    const client = new ManagerClient({ http: http as never, managerUrl: () => 'https://m.test', timeoutMs: 1000, maxAnswerBytes: 4096, allowInsecure: false });
    const message = `x${'?sig=a'.repeat(600)}`.slice(0, 4096);
    const output = `GET http://u:hunter2@h.test/f?token=t1 failed\n`.repeat(100).slice(-4096);
    await client.send('status', {
      type: 'status', deviceId: 'd', referenceCounter: 1, jobId: 'j', name: 'n', version: '1', phase: 'downloadEnd', outcome: 'failure',
      error: { code: 'x', message }, output, deviceUtcMs: 1,
    });
    const status = sent[0] as { error: { message: string }; output: string };
    expect(status.error.message.length).toBeLessThanOrEqual(message.length);
    expect(status.error.message).not.toMatch(/sig=a/);
    expect(status.output.length).toBeLessThanOrEqual(output.length);
    expect(status.output).not.toMatch(/hunter2|token=t1/);
    expect(status.output.endsWith('failed\n')).toBe(true);
  });
});
