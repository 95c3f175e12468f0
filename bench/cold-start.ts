/**
 * `cold-start` benchmark (issue 12): milliseconds from spawn to exit for `dm-agent --help` and
 * for a no-op `dm-agent run --once` (a device with nothing assigned, against the reference
 * manager on loopback), with `node -e 0` (the runtime alone) as the peer of both.
 */
import { join } from 'node:path';
import { median } from './lib.ts';
import { agentRunOnce, CLI, startFixture, timed } from './download-fixture.ts';

export interface ColdStartResult {
  name: string;
  unit: 'ms';
  value: number;
  peers: Record<string, number>;
}

export async function benchColdStart(rounds: number): Promise<ColdStartResult[]> {
  const fixture = await startFixture(1024);
  try {
    const contenders: (() => Promise<number>)[] = [
      async () => (await timed(process.execPath, [CLI, '--help'])).ms,
      async () => (await agentRunOnce(fixture, 'idle', join(fixture.dir, 'work-idle'))).ms,
      async () => (await timed(process.execPath, ['-e', '0'])).ms,
    ];
    for (const run of contenders) await run();
    const times = contenders.map(() => [] as number[]);
    for (let round = 0; round < rounds; round++)
      for (let k = 0; k < contenders.length; k++) {
        const index = (k + round) % contenders.length;
        (times[index] as number[]).push(await (contenders[index] as () => Promise<number>)());
      }
    const [help, once, node] = times.map(median) as [number, number, number];
    return [
      { name: 'cold-start-help', unit: 'ms', value: help, peers: { 'node -e 0': node } },
      { name: 'cold-start-run-once', unit: 'ms', value: once, peers: { 'node -e 0': node } },
    ];
  } finally {
    await fixture.close();
  }
}
