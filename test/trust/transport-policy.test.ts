import { describe, expect, it } from 'vitest';
import { InsecureManagerError, checkManagerUrl } from '../../agent/trust/transport-policy.ts';

describe('managers are https:// unless allowInsecure', () => {
  it('accepts https silently, refuses http without allowInsecure, logs every allowed http connection', () => {
    const lines: string[] = [];
    const warn = (line: string) => lines.push(line);
    checkManagerUrl('https://m.example:8443/', {}, warn);
    expect(lines).toEqual([]);
    expect(() => checkManagerUrl('http://m.example/', {}, warn)).toThrow(InsecureManagerError);
    expect(() => checkManagerUrl('ftp://m.example/', { allowInsecure: true }, warn)).toThrow(InsecureManagerError);
    checkManagerUrl('http://user:secret@m.example/', { allowInsecure: true }, warn);
    checkManagerUrl('HTTP://m.example/', { allowInsecure: true }, warn);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/INSECURE connection/);
    expect(lines.join('\n')).not.toContain('secret');
  });
});

describe('every family config names https:// managers unless that section allows plain HTTP', () => {
  it('delivery, firmware (both service URLs) and each OMA DM account', async () => {
    const { parseConfig } = await import('../../agent/config.ts');
    const account = { id: 'a', serverId: 's', authPref: 'DIGEST', client: { name: 'c', secret: 'x' }, server: { name: 's', secret: 'y' } };
    const service = (internal: string) => ({ internal, external: 'https://out.test/u' });
    expect(() => parseConfig({ trust: { allowUnsigned: true }, delivery: { manager: 'http://m.test' } })).toThrow(/delivery\.manager http:\/\/m\.test is not https/);
    expect(() => parseConfig({ trust: { allowUnsigned: true }, firmware: { service: service('http://in.test/u') } })).toThrow(/firmware\.service\.internal http:\/\/in\.test\/u is not https/);
    expect(() => parseConfig({ trust: { allowUnsigned: true }, omadm: { accounts: [{ ...account, addr: 'http://dm.test/dm' }] } })).toThrow(/omadm\.accounts\[a\]\.addr http:\/\/dm\.test\/dm is not https/);
    expect(() => parseConfig({ trust: { allowUnsigned: true }, omadm: { accounts: [{ ...account, addr: 'http://u:pw-secret@dm.test/dm' }] } })).toThrow(/REDACTED@dm\.test/);
    const allowed = parseConfig({
      trust: { allowUnsigned: true },
      delivery: { manager: 'http://m.test', allowInsecure: true },
      firmware: { service: service('http://in.test/u'), allowInsecure: true },
      omadm: { accounts: [{ ...account, addr: 'http://dm.test/dm', allowInsecure: true }] },
    });
    expect(allowed.delivery).toMatchObject({ allowInsecure: true, deviceAuth: true });
    expect(parseConfig({ trust: { allowUnsigned: true }, delivery: { manager: 'https://m.test' }, firmware: { service: service('https://in.test/u') } }).delivery).toMatchObject({ allowInsecure: false });
  });
});
