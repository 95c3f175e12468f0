/**
 * `npm run fuzz [-- options]`: runs every fuzz target (fuzz/targets/*.ts exporting `target`) for
 * N inputs each and prints per-target counts. Exit 0 when no input crashed or hung a parser, 1
 * when one did (inputs saved under fuzz/crashers/<target>/), 2 on bad usage.
 *
 *   --inputs N       inputs per target (default 1 000 000)
 *   --only a,b       only these targets
 *   --seed S         campaign seed (default random, printed); with --from I reproduces input #I
 *   --from I         first input index (default 0)
 *   --jobs J         targets run in parallel (default 1)
 *   --replay         replay fuzz/regressions/ and fuzz/crashers/ instead of generating inputs
 *   --targets DIR    where the targets are (default fuzz/targets)
 *   --out DIR        where findings go (default fuzz/crashers)
 *   --regressions DIR  fixed crashers replayed by --replay (default fuzz/regressions)
 */
import { randomInt } from 'node:crypto';
import { parseOptions } from '../cli/io.ts';
import { type CampaignOptions, formatReport, runCampaign, type TargetReport } from './campaign.ts';
import { findings } from './engine.ts';

async function main(args: string[]): Promise<number> {
  const { options, positional, unknown } = parseOptions(args, ['replay', 'help'], ['inputs', 'only', 'seed', 'from', 'jobs', 'targets', 'out', 'regressions']);
  const usage = 'usage: npm run fuzz -- [--inputs N] [--only a,b] [--seed S] [--from I] [--jobs J] [--replay] [--targets DIR] [--out DIR] [--regressions DIR]\n';
  if (options['help']) {
    process.stdout.write(usage);
    return 0;
  }
  const integer = (name: string, fallback: number): number => {
    const value = options[name];
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || !/^\d+$/.test(value)) {
      unknown.push(`--${name} must be a non-negative integer`);
      return fallback;
    }
    return Number(value);
  };
  const seed = integer('seed', randomInt(0, 2 ** 32 - 1)) >>> 0;
  const campaign: CampaignOptions = {
    inputs: integer('inputs', 1_000_000),
    seed,
    from: integer('from', 0),
    jobs: integer('jobs', 1),
    replay: options['replay'] === true,
    log: (line) => process.stderr.write(`${line}\n`),
    onReport: (report) => process.stdout.write(`${formatReport(report)}\n`),
  };
  if (typeof options['only'] === 'string') campaign.only = options['only'].split(',').filter(Boolean);
  if (typeof options['targets'] === 'string') campaign.targetsDir = options['targets'];
  if (typeof options['out'] === 'string') campaign.outDir = options['out'];
  if (typeof options['regressions'] === 'string') campaign.regressionsDir = options['regressions'];
  if (unknown.length > 0 || positional.length > 0) {
    process.stderr.write(`${[...unknown, ...positional.map((p) => `unexpected argument ${p}`)].join('\n')}\n${usage}`);
    return 2;
  }
  process.stdout.write(campaign.replay ? `fuzz: replaying saved inputs\n` : `fuzz: ${campaign.inputs} inputs per target, seed ${seed}\n`);
  let reports: TargetReport[];
  try {
    reports = await runCampaign(campaign);
  } catch (error) {
    process.stderr.write(`fuzz: ${(error as Error).message}\n`);
    return 2;
  }
  const bad = reports.filter((r) => r.fatal !== undefined || findings(r.counts) > 0);
  for (const report of bad) for (const file of report.saved) process.stdout.write(`  saved ${file}\n`);
  process.stdout.write(bad.length === 0 ? 'fuzz: clean\n' : `fuzz: findings in ${bad.map((r) => r.name).join(', ')}\n`);
  return bad.length === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
