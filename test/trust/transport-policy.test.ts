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
