/**
 * Bundled into a QuickJS guest by ./quickjs-store.test.ts: the real store on the mock flash, both
 * inside the guest heap, driven step by step so the host can read the heap between steps.
 */
import { KeyValueStore } from '../../agent/store/index.ts';
import { createMockFlash, MockFlashMemory } from '../../hal/mock/flash.ts';
import { PowerCut } from '../../hal/mock/power-cut.ts';

const memory = new MockFlashMemory({ blockLength: 4096, writeAlign: 8, partitions: [{ name: 'state', size: 4096 * 8 }] });
const flash = createMockFlash(memory, new PowerCut());
let store: KeyValueStore | undefined;

function hex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += ((bytes[i] as number) < 16 ? '0' : '') + (bytes[i] as number).toString(16);
  return out;
}

function current(): KeyValueStore {
  if (!store) throw new Error('open first');
  return store;
}

/** (Re)opens the store on the same flash, as after a reboot. */
export async function open(): Promise<void> {
  store = await KeyValueStore.open(await flash.open({ partition: 'state' }));
}

/** Puts `count` values of `length` bytes (key i, byte j = i * 31 + j) under `prefix`. */
export async function fill(prefix: string, count: number, length: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const value = new Uint8Array(length);
    for (let j = 0; j < length; j++) value[j] = (i * 31 + j) & 0xff;
    await current().put(`${prefix}${i}`, value);
  }
}

/** Puts the given values (hex), as one batch. */
export async function putHex(values: Record<string, string>): Promise<void> {
  const ops = Object.keys(values).map((key) => {
    const text = values[key] as string;
    const value = new Uint8Array(text.length / 2);
    for (let i = 0; i < value.length; i++) value[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
    return { kind: 'put' as const, key, value };
  });
  await current().batch(ops);
}

export async function compact(): Promise<void> {
  await current().compact();
}

/** Every key and its value as hex; a read value is changed afterwards to show reads are copies. */
export function dump(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of current().keys()) {
    const value = current().get(key) as Uint8Array;
    out[key] = hex(value);
    value.fill(0x5a);
  }
  return out;
}
