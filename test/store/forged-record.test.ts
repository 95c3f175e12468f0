/**
 * Issue 9 item 2: a value may hold bytes that form a whole valid store record (a manager chooses
 * post-install arguments, for one). Cutting power while that value is written must never make
 * recovery apply the hidden record, whatever part of the write landed: a clean prefix at every
 * alignment unit, or any bit pattern NOR flash can leave (between erased and the intended bytes).
 */
import { describe, expect, it } from 'vitest';
import { PowerCutError } from '../../hal/errors.ts';
import { encodePayload, encodeRecord } from '../../agent/store/format.ts';
import { KeyValueStore, type StoreOp } from '../../agent/store/index.ts';
import { utf8Encode } from '../../agent/util/bytes.ts';
import { TearableNor, type Tear, tears } from './nor-flash.ts';
import { apply, hex, makeWorkload, prng, snapshot, type Step } from './workload.ts';

const ALIGN = 8;
const EVIL = hex(utf8Encode('evil'));

/** A record in the store's own current format that would set `victim` to "evil", with a sequence above any real one. */
function forgedRecord(): Uint8Array {
  return encodeRecord(0x7ff00000, encodePayload([{ kind: 'put', key: 'victim', value: utf8Encode('evil') }]), ALIGN);
}

/** The attacker's value: `pad` bytes to line the forged record up with an alignment unit, the record, then filler. */
function attackValue(pad: number): Uint8Array {
  const forged = forgedRecord();
  const value = new Uint8Array(pad + forged.length + 40).fill(0x42);
  value.set(forged, pad);
  return value;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

async function committedImage(): Promise<{ cells: Uint8Array; state: Map<string, string> }> {
  const nor = new TearableNor(1024, 4, ALIGN);
  const store = await KeyValueStore.open(nor);
  await store.put('victim', utf8Encode('good'));
  await store.put('state', Uint8Array.of(1, 2, 3));
  return { cells: nor.cells.slice(), state: snapshot(store) };
}

/** Writes the attacker's value with the write cut as `tear` says; returns the store reopened after the reboot. */
async function cutAttack(cells: Uint8Array, value: Uint8Array, tear: Tear) {
  const nor = new TearableNor(1024, 4, ALIGN, cells.slice());
  const store = await KeyValueStore.open(nor);
  nor.cutAfter(1, tear);
  await expect(store.put('job/post-install-arg', value)).rejects.toBeInstanceOf(PowerCutError);
  nor.reboot();
  return { nor, reopened: await KeyValueStore.open(nor) };
}

async function expectRecovered(nor: TearableNor, reopened: KeyValueStore, committed: Map<string, string>, inFlight: Map<string, string>, what: string) {
  const state = snapshot(reopened);
  expect(state.get('victim'), `${what}: the hidden record was applied`).not.toBe(EVIL);
  expect(reopened.report.corruption, what).toEqual([]);
  expect(equal(state, committed) || equal(state, inFlight), `${what}: neither the committed nor the in-flight state`).toBe(true);
  await reopened.put('after', Uint8Array.of(9));
  expect(snapshot(await KeyValueStore.open(nor))).toEqual(new Map([...state, ['after', '09']]));
}

describe('a torn write never applies a record hidden inside a value', () => {
  it('at every landed prefix of the interrupted write, for every alignment of the hidden record', async () => {
    const { cells, state } = await committedImage();
    let cases = 0;
    for (let pad = 0; pad < ALIGN; pad++) {
      const value = attackValue(pad);
      const inFlight = new Map([...state, ['job/post-install-arg', hex(value)]]);
      // Length of the interrupted write: the append of this one record.
      const probe = new TearableNor(1024, 4, ALIGN, cells.slice());
      const probeStore = await KeyValueStore.open(probe);
      const before = probeStore.stats().usedBytes;
      await probeStore.put('job/post-install-arg', value);
      const units = (probeStore.stats().usedBytes - before) / ALIGN;
      expect(probeStore.stats().compactions).toBe(0); // a plain append, not folded into a compaction
      for (let landed = 0; landed <= units; landed++) {
        const { nor, reopened } = await cutAttack(cells, value, tears.prefix(landed, ALIGN));
        await expectRecovered(nor, reopened, state, inFlight, `pad ${pad}, ${landed} of ${units} units landed`);
        cases++;
      }
    }
    console.log(`forged-record attack, clean prefixes: ${cases} landed fractions`);
  });

  it('under arbitrary torn bit patterns, including ones where the hidden record landed whole', async () => {
    const { cells, state } = await committedImage();
    const random = prng(0xf0e6);
    const forged = forgedRecord();
    let cases = 0;
    for (let pad = 0; pad < ALIGN; pad++) {
      const value = attackValue(pad);
      const inFlight = new Map([...state, ['job/post-install-arg', hex(value)]]);
      for (let trial = 0; trial < 60; trial++) {
        const model = trial % 3;
        const tear: Tear = (intended, offset) => {
          const mask = model === 0 ? tears.bits(random)(intended, offset) : tears.ragged(random)(intended, offset);
          // The worst case for the old format: everything of the hidden record programmed, the rest arbitrary.
          const at = indexOf(intended, forged);
          if (at >= 0 && model !== 1) mask.fill(0x00, at, at + forged.length);
          return mask;
        };
        const { nor, reopened } = await cutAttack(cells, value, tear);
        await expectRecovered(nor, reopened, state, inFlight, `pad ${pad}, trial ${trial}`);
        cases++;
      }
    }
    console.log(`forged-record attack, random bit patterns: ${cases} torn writes`);
  });

  it('a workload carrying hidden records survives a cut at every write and erase with random bit-pattern tears', async () => {
    // The usual store workload, with every 6th step writing an attacker's value.
    const steps: Step[] = makeWorkload(0xbad5eed, 120).map((step, i): Step =>
      i % 6 === 3 ? { kind: 'batch', ops: [{ kind: 'put', key: 'job/1', value: attackValue(Math.floor(i / 6) % ALIGN) }] } : step,
    );
    const seedState: StoreOp[] = [{ kind: 'put', key: 'victim', value: utf8Encode('good') }];
    const run = async (nor: TearableNor) => {
      let committed = new Map<string, string>();
      const store = await KeyValueStore.open(nor);
      for (const step of [{ kind: 'batch', ops: seedState } as Step, ...steps]) {
        try {
          if (step.kind === 'compact') await store.compact();
          else await store.batch(step.ops);
        } catch (error) {
          if (!(error instanceof PowerCutError)) throw error;
          return { committed, inFlight: apply(committed, step), cut: true };
        }
        committed = apply(committed, step);
      }
      return { committed, inFlight: committed, cut: false };
    };
    const clean = new TearableNor(256, 8, ALIGN);
    expect((await run(clean)).cut).toBe(false);
    const total = clean.operations;
    const random = prng(0x7ea2);
    const forged = forgedRecord();
    for (let n = 1; n <= total; n++) {
      const nor = new TearableNor(256, 8, ALIGN);
      const model = n % 3;
      nor.cutAfter(n, (intended, offset) => {
        const mask = model === 0 ? tears.bits(random)(intended, offset) : tears.ragged(random)(intended, offset);
        const at = indexOf(intended, forged);
        if (at >= 0 && model === 2) mask.fill(0x00, at, at + forged.length);
        return mask;
      });
      const result = await run(nor);
      expect(result.cut, `cut point ${n}`).toBe(true);
      nor.reboot();
      await expectRecovered(nor, await KeyValueStore.open(nor), result.committed, result.inFlight, `cut point ${n} of ${total}`);
    }
    console.log(`store workload with hidden records: ${total} cut points, random bit-pattern tears`);
  }, 120_000);
});

function equal(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}
