// The redirect tracker on its own (a real store on mock flash): scheme guard, expiry after N
// failed polls, configuration change wins, legacy and damaged records.
import { describe, expect, it } from 'vitest';
import { REDIRECT_KEY, downgradesScheme } from '../../agent/delivery/redirect.ts';
import { RedirectTracker } from '../../agent/delivery/redirect-tracker.ts';
import type { Logger } from '../../agent/log.ts';
import { type KeyValueStore, getValue, putValue } from '../../agent/store/index.ts';
import { newMedium } from '../store/workload.ts';

function recordingLog(): Logger & { lines: { level: string; message: string; fields?: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push({ level, message, ...(fields ? { fields } : {}) });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function setup(configured: string, maxFailedPolls = 3, allowInsecure = true) {
  const medium = newMedium();
  const store = await medium.open();
  const log = recordingLog();
  // allowInsecure: most cases here use http:// managers to exercise the other guards.
  const tracker = (config = configured, store_: KeyValueStore = store) => new RedirectTracker({ store: store_, configured: config, allowInsecure, maxFailedPolls, log });
  return { medium, store, log, tracker };
}

describe('RedirectTracker', () => {
  it('polls the configured manager until a redirect, then the redirect (persisted across reopen)', async () => {
    const { medium, store, tracker } = await setup('http://m1.test');
    expect(tracker().current()).toBe('http://m1.test');
    expect(await tracker().learn('http://m1.test', 'http://m2.test')).toBe(true);
    expect(tracker().current()).toBe('http://m2.test');
    await store.close();
    const reopened = await medium.open();
    expect(tracker('http://m1.test', reopened).current()).toBe('http://m2.test');
  });

  it('refuses https → http, from the sending manager and from the configured one, and logs it', async () => {
    const { store, log, tracker } = await setup('https://m1.test');
    expect(await tracker().learn('https://m1.test', 'http://m2.test')).toBe(false);
    expect(await tracker().learn('https://m1.test', 'HTTP://m2.test')).toBe(false);
    expect(tracker().current()).toBe('https://m1.test');
    expect(store.has(REDIRECT_KEY)).toBe(false);
    expect(log.lines.filter((line) => line.level === 'warn' && /drops TLS/.test(line.message))).toHaveLength(2);
    // Same scheme and upgrades are fine; a chain cannot sneak down to http either.
    expect(await tracker().learn('https://m1.test', 'https://m2.test')).toBe(true);
    expect(await tracker().learn('https://m2.test', 'http://m3.test')).toBe(false);
    expect(tracker().current()).toBe('https://m2.test');
    const plain = await setup('http://p1.test');
    expect(await plain.tracker().learn('http://p1.test', 'https://p2.test')).toBe(true);
    expect(downgradesScheme('https://a', 'http://b')).toBe(true);
    expect(downgradesScheme('http://a', 'https://b')).toBe(false);
  });

  it('without allowInsecure, refuses a redirect to http:// even from an http:// manager, and ignores a persisted one', async () => {
    const { store, log, tracker } = await setup('https://m1.test', 3, false);
    expect(await tracker().learn('http://m0.test', 'http://m2.test')).toBe(false);
    expect(tracker().current()).toBe('https://m1.test');
    expect(log.lines.some((line) => line.level === 'warn' && /refused a manager redirect/.test(line.message))).toBe(true);
    await putValue(store, REDIRECT_KEY, { url: 'http://m2.test', learntUnder: 'https://m1.test', failures: 0 });
    expect(tracker().current()).toBe('https://m1.test');
    expect(await tracker().learn('https://m1.test', 'https://m3.test')).toBe(true);
    expect(tracker().current()).toBe('https://m3.test');
  });

  it('expires after N consecutive failed polls of the redirected manager; a success resets the count', async () => {
    const { store, log, tracker } = await setup('http://m1.test', 3);
    await tracker().learn('http://m1.test', 'http://dead.test');
    await tracker().pollFailed('http://dead.test');
    await tracker().pollFailed('http://dead.test');
    await tracker().pollSucceeded('http://dead.test'); // it came back: start over
    expect(tracker().state()?.failures).toBe(0);
    await tracker().pollFailed('http://dead.test');
    await tracker().pollFailed('http://dead.test');
    expect(tracker().current()).toBe('http://dead.test');
    await tracker().pollFailed('http://dead.test');
    expect(tracker().current()).toBe('http://m1.test');
    expect(store.has(REDIRECT_KEY)).toBe(false);
    expect(log.lines.some((line) => /redirect expired/.test(line.message))).toBe(true);
    // Failures of the configured manager never touch anything.
    await tracker().pollFailed('http://m1.test');
    expect(store.has(REDIRECT_KEY)).toBe(false);
  });

  it('a changed configured manager wins over a redirect learnt under the old one', async () => {
    const { store, tracker } = await setup('http://m1.test');
    await tracker().learn('http://m1.test', 'http://m2.test');
    const changed = tracker('http://new.test');
    expect(changed.current()).toBe('http://new.test');
    await changed.prune();
    expect(store.has(REDIRECT_KEY)).toBe(false);
    // And a redirect back to the configured manager simply clears it.
    await tracker().learn('http://m1.test', 'http://m2.test');
    await tracker().learn('http://m2.test', 'http://m1.test');
    expect(store.has(REDIRECT_KEY)).toBe(false);
  });

  it('reads the bare-URL record older agents wrote, but not when it downgrades; ignores a damaged one', async () => {
    const { store, tracker } = await setup('https://m1.test');
    await putValue(store, REDIRECT_KEY, 'https://legacy.test');
    expect(tracker().current()).toBe('https://legacy.test');
    await putValue(store, REDIRECT_KEY, 'http://legacy.test');
    expect(tracker().current()).toBe('https://m1.test');
    await store.put(REDIRECT_KEY, Uint8Array.of(0xff, 0xff));
    expect(tracker().current()).toBe('https://m1.test');
    await putValue(store, REDIRECT_KEY, { url: 5 });
    expect(tracker().current()).toBe('https://m1.test');
    await tracker().prune();
    expect(getValue(store, REDIRECT_KEY)).toBeUndefined();
  });

  it('logs redirect URLs without their credentials', async () => {
    const { log, tracker } = await setup('http://m1.test');
    await tracker().learn('http://m1.test', 'http://user:hunter2@m2.test/?token=abc');
    expect(JSON.stringify(log.lines)).not.toMatch(/hunter2|abc/);
  });
});
