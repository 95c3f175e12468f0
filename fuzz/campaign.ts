/**
 * A fuzz campaign: every target in its own worker thread under a watchdog (a parser stuck in a
 * synchronous loop is stopped, its input saved, and the target continues with the next input in
 * a fresh worker). `fuzz/run.ts` is the command line around it.
 */
import { Worker } from 'node:worker_threads';
import { CRASHERS_DIR, REGRESSIONS_DIR, saveFinding, savedInputs } from './corpus.ts';
import { DEFAULT_TARGETS_DIR, discoverTargets, type FoundTarget } from './discover.ts';
import { addCounts, COUNT_KEYS, type Counts, emptyCounts, type Finding, findings, timeoutOf } from './engine.ts';
import { SLOT, SLOT_CAPACITY, type WorkerJob, type WorkerMessage } from './protocol.ts';

/** At most this many distinct inputs per target are written to disk in one run (all are counted). */
const MAX_SAVED = 50;
const WORKER_URL = new URL('./worker.ts', import.meta.url).href;
// Node 20 does not apply the parent's `--import tsx` to worker threads: register tsx's loader in
// the worker first, then load the TypeScript entry.
const WORKER_BOOT = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL)}); });`;

export interface CampaignOptions {
  inputs: number;
  seed: number;
  from?: number;
  jobs?: number;
  only?: string[];
  targetsDir?: string;
  outDir?: string;
  /** Fixed crashers replayed with --replay (default fuzz/regressions). */
  regressionsDir?: string;
  replay?: boolean;
  /** Progress and findings as they happen (default: nothing). */
  log?: (line: string) => void;
  /** Each target's report as soon as it is done (a long campaign shows results as it goes). */
  onReport?: (report: TargetReport) => void;
}

export interface TargetReport {
  name: string;
  counts: Counts;
  ms: number;
  saved: string[];
  /** Set when the target could not run at all (failed to load, threw outside an input). */
  fatal?: string;
}

type WorkerEnd =
  | { ends: 'done' }
  | { ends: 'killed'; kind: 'hang' | 'uncaught'; index: number; input: Uint8Array; message: string }
  | { ends: 'fatal'; message: string };

/** One worker from `from` for `count` inputs; resolves when it finishes or is stopped. */
function runWorker(job: WorkerJob, timeoutMs: number, onMessage: (message: WorkerMessage) => void): Promise<WorkerEnd> {
  const header = new Int32Array(job.shared, 0, SLOT.headerInts);
  const startedAt = new Float64Array(job.shared, SLOT.timeOffset, 1);
  header.fill(0);
  // The in-worker check reports slow inputs (confirmed by a second run); the watchdog only has
  // to stop a thread that never returns, so it leaves room for a starved thread on a busy machine.
  const limit = Math.max(5 * timeoutMs, timeoutMs + 1000);
  return new Promise((resolve) => {
    let settled = false;
    const worker = new Worker(WORKER_BOOT, { eval: true, workerData: job });
    const running = (): { index: number; input: Uint8Array } => {
      const length = Math.min(Atomics.load(header, SLOT.length), SLOT_CAPACITY);
      return { index: Atomics.load(header, SLOT.index), input: new Uint8Array(job.shared, SLOT.dataOffset, length).slice() };
    };
    const finish = (end: WorkerEnd) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      void worker.terminate().then(() => resolve(end));
    };
    const watchdog = setInterval(() => {
      if (Atomics.load(header, SLOT.state) === 1 && Date.now() - (startedAt[0] as number) > limit)
        finish({ ends: 'killed', kind: 'hang', ...running(), message: `stuck for more than ${limit} ms (limit ${timeoutMs} ms); worker stopped` });
    }, Math.min(100, timeoutMs / 4));
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'done') finish({ ends: 'done' });
      else if (message.type === 'fatal') finish({ ends: 'fatal', message: message.message });
      else onMessage(message);
    });
    // A death while an input runs is that input's finding; before any input, the target is broken.
    const died = (message: string) =>
      finish(Atomics.load(header, SLOT.state) === 1 ? { ends: 'killed', kind: 'uncaught', ...running(), message } : { ends: 'fatal', message });
    worker.on('error', (error) => died(`worker died: ${error.stack ?? error.message}`));
    worker.on('exit', (code) => died(`worker exited with code ${code}`));
  });
}

/** Runs one target to the end, restarting its worker after each input that killed it. */
async function runTarget(found: FoundTarget, options: CampaignOptions, replay?: Uint8Array[]): Promise<TargetReport> {
  const started = performance.now();
  const report: TargetReport = { name: found.name, counts: emptyCounts(), ms: 0, saved: [] };
  const outDir = options.outDir ?? CRASHERS_DIR;
  const shared = new SharedArrayBuffer(SLOT.dataOffset + SLOT_CAPACITY);
  const header = new Int32Array(shared, 0, SLOT.headerInts);
  const total = replay ? replay.length : options.inputs;
  let from = options.from ?? 0;
  let remaining = total;
  const save = async (finding: Finding) => {
    options.log?.(`${found.name}: ${finding.kind} at input #${finding.index} (${finding.input.length} bytes): ${finding.message.split('\n')[0]}`);
    // A replayed input is on disk already (and goes on failing from there).
    if (options.replay || report.saved.length >= MAX_SAVED) return;
    const file = await saveFinding(outDir, finding, options.seed);
    if (!report.saved.includes(file)) report.saved.push(file);
  };
  const pending: Promise<void>[] = [];
  const progressEvery = Math.max(1000, Math.min(100_000, Math.floor(total / 10)));
  while (remaining > 0) {
    const job: WorkerJob = { name: found.name, file: found.file, seed: options.seed, from, count: remaining, progressEvery, shared, ...(replay ? { replay } : {}) };
    const end = await runWorker(job, timeoutOf(found.target), (message) => {
      if (message.type === 'finding') pending.push(save(message.finding));
      else if (message.type === 'progress') options.log?.(`${found.name}: ${report.counts.inputs + message.counts.inputs}/${total} inputs`);
    });
    const counts = emptyCounts();
    COUNT_KEYS.forEach((key, i) => (counts[key] = header[SLOT.counts + i] as number));
    addCounts(report.counts, counts);
    if (end.ends === 'done') break;
    if (end.ends === 'fatal') {
      report.fatal = end.message;
      break;
    }
    // The input that killed the worker: count it, save it, go on with the next one.
    report.counts.inputs++;
    report.counts[end.kind === 'hang' ? 'hangs' : 'uncaught']++;
    pending.push(save({ target: found.name, kind: end.kind, index: end.index, input: end.input, message: end.message }));
    remaining = total - report.counts.inputs;
    from = end.index + 1;
  }
  await Promise.all(pending);
  report.ms = performance.now() - started;
  return report;
}

/** Runs the campaign (or the replay) and returns one report per target. */
export async function runCampaign(options: CampaignOptions): Promise<TargetReport[]> {
  const targets = await discoverTargets(options.targetsDir ?? DEFAULT_TARGETS_DIR, options.only);
  const saved = options.replay ? await savedInputs([options.regressionsDir ?? REGRESSIONS_DIR, options.outDir ?? CRASHERS_DIR]) : [];
  const orphans = saved.filter((s) => !targets.some((t) => t.name === s.target) && options.only === undefined);
  if (orphans.length > 0) throw new Error(`saved inputs for unknown targets: ${orphans.map((o) => o.file).join(', ')}`);
  const queue = [...targets];
  const reports: TargetReport[] = [];
  const jobs = Math.max(1, options.jobs ?? 1);
  await Promise.all(
    Array.from({ length: Math.min(jobs, queue.length) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const replay = options.replay ? saved.filter((s) => s.target === next.name).map((s) => s.bytes) : undefined;
        if (replay && replay.length === 0) continue;
        const report = await runTarget(next, options, replay);
        options.onReport?.(report);
        reports.push(report);
      }
    }),
  );
  return reports.sort((a, b) => a.name.localeCompare(b.name));
}

export function formatReport(report: TargetReport): string {
  const c = report.counts;
  const rate = report.ms > 0 ? Math.round((c.inputs / report.ms) * 1000) : 0;
  const status = report.fatal ? `FAILED TO RUN: ${report.fatal.split('\n')[0]}` : findings(c) === 0 ? 'clean' : 'FINDINGS';
  return `${report.name.padEnd(16)} ${String(c.inputs).padStart(9)} inputs  ${String(c.accepted).padStart(9)} accepted  ${String(c.rejected).padStart(9)} rejected  ${c.unexpected} unexpected  ${c.hangs} hangs  ${c.uncaught} uncaught  ${(report.ms / 1000).toFixed(1)} s (${rate}/s)  ${status}`;
}

