/** The Node HAL's default locale comes from the POSIX environment (no ICU load at start, issue 12). */
import { describe, expect, it } from 'vitest';
import { defaultLocale } from '../hal/node/system.ts';

describe('Node HAL default locale', () => {
  it.each([
    [{ LANG: 'de_CH.UTF-8' }, 'de-CH'],
    [{ LANG: 'fr_FR.UTF-8@euro' }, 'fr-FR'],
    [{ LC_ALL: 'pt_BR', LANG: 'de_DE.UTF-8' }, 'pt-BR'],
    [{ LC_MESSAGES: 'ja_JP.eucJP', LANG: 'C' }, 'ja-JP'],
    [{ LANG: 'C.UTF-8' }, 'en-US'],
    [{ LANG: 'POSIX' }, 'en-US'],
    [{}, 'en-US'],
    [{ LANG: '../../etc' }, 'en-US'],
  ])('%j → %s', (env, expected) => {
    expect(defaultLocale(env)).toBe(expected);
  });
});
