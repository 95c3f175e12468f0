/**
 * `cold-start` benchmark (issue 12): milliseconds from spawn to exit for `dm-agent --help` and
 * for a no-op `dm-agent run --once` (a device with nothing assigned, against the reference
 * manager on loopback), with `node -e 0` (the runtime alone) as the peer of both; also the CPU
 * milliseconds (user + system) of each, which a loaded machine distorts far less than wall time.
 */
import { join } from 'node:path';
import { median } from './lib.ts';
import { agentRunOnce, type ChildRun, CLI, startFixture, timed } from './download-fixture.ts';

export interface ColdStartResult {
  name: string;
  unit: 'ms';
  value: number;
  peers: Record<string, number>;
}

export async function benchColdStart(rounds: number): Promise<ColdStartResult[]> {
  const fixture = await startFixture(1024);
  try {
    const contenders: (() => Promise<ChildRun>)[] = [
      () => timed(process.execPath, [CLI, '--help'], { rss: true }),
      () => agentRunOnce(fixture, 'idle', join(fixture.dir, 'work-idle')),
      () => timed(process.execPath, ['-e', '0'], { rss: true }),
    ];
    for (const run of contenders) await run();
    const times = contenders.map(() => [] as number[]);
    const cpu = contenders.map(() => [] as number[]);
    for (let round = 0; round < rounds; round++)
      for (let k = 0; k < contenders.length; k++) {
        const index = (k + round) % contenders.length;
        const run = await (contenders[index] as () => Promise<ChildRun>)();
        (times[index] as number[]).push(run.ms);
        (cpu[index] as number[]).push(run.cpuMs ?? 0);
      }
    const [help, once, node] = times.map(median) as [number, number, number];
    const [helpCpu, onceCpu, nodeCpu] = cpu.map(median) as [number, number, number];
    return [
      { name: 'cold-start-help', unit: 'ms', value: help, peers: { 'node -e 0': node } },
      { name: 'cold-start-run-once', unit: 'ms', value: once, peers: { 'node -e 0': node } },
      { name: 'cold-start-help-cpu', unit: 'ms', value: helpCpu, peers: { 'node -e 0': nodeCpu } },
      { name: 'cold-start-run-once-cpu', unit: 'ms', value: onceCpu, peers: { 'node -e 0': nodeCpu } },
    ];
  } finally {
    await fixture.close();
  }
}
