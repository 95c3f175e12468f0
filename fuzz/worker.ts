/**
 * One fuzz target inside a worker thread. Before each input it copies the bytes into shared
 * memory and marks the start time, so the main thread's watchdog can stop a stuck parser (a
 * synchronous loop cannot be interrupted from inside) and still save the input that hung it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadTarget } from './discover.ts';
import { COUNT_KEYS, type Counts, type Finding, fuzzLoop, inputSource } from './engine.ts';
import { SLOT, type WorkerJob, type WorkerMessage } from './protocol.ts';

const job = workerData as WorkerJob;
const header = new Int32Array(job.shared, 0, SLOT.headerInts);
const startedAt = new Float64Array(job.shared, SLOT.timeOffset, 1);
const data = new Uint8Array(job.shared, SLOT.dataOffset);
const post = (message: WorkerMessage) => parentPort?.postMessage(message);

let current: { index: number; input: Uint8Array } = { index: -1, input: new Uint8Array(0) };
let uncaught = 0;

function beforeInput(index: number, input: Uint8Array): void {
  current = { index, input };
  const length = Math.min(input.length, data.length);
  data.set(input.length > length ? input.subarray(0, length) : input);
  Atomics.store(header, SLOT.length, input.length);
  Atomics.store(header, SLOT.index, index);
  startedAt[0] = Date.now();
  Atomics.store(header, SLOT.state, 1);
}

/** The counts live in shared memory too: a worker killed by the watchdog cannot report them. */
function afterInput(counts: Counts): void {
  for (let i = 0; i < COUNT_KEYS.length; i++) header[SLOT.counts + i] = counts[COUNT_KEYS[i] as keyof Counts];
  header[SLOT.counts + COUNT_KEYS.indexOf('uncaught')] = uncaught;
}

// An error thrown outside the awaited promise (a stray socket event, a rejected promise nobody
// awaited) is filed with the input running when it surfaces (for a synchronous target that may
// be a later input than the one that caused it; the .txt note names the index to replay from).
const onUncaught = (error: unknown) => {
  uncaught++;
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  post({ type: 'finding', finding: { target: job.name, kind: 'uncaught', index: current.index, input: current.input.slice(), message } });
};
process.on('uncaughtException', onUncaught);
process.on('unhandledRejection', onUncaught);

try {
  const target = await loadTarget(job.file);
  const input = job.replay ? (index: number) => job.replay?.[index] as Uint8Array : inputSource(target, job.seed);
  const counts: Counts = await fuzzLoop(target, {
    count: job.count,
    from: job.from,
    input,
    beforeInput,
    afterInput,
    onFinding: (finding: Finding) => post({ type: 'finding', finding }),
    onProgress: (counts) => post({ type: 'progress', counts: { ...counts, uncaught } }),
    progressEvery: job.progressEvery,
  });
  Atomics.store(header, SLOT.state, 0);
  // Give late errors of the last input a moment to surface before reporting.
  await new Promise((resolve) => setTimeout(resolve, 10));
  afterInput(counts); // the final counts, late errors included, where the runner reads them
  post({ type: 'done', counts: { ...counts, uncaught } });
} catch (error) {
  post({ type: 'fatal', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
}
