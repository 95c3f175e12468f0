/**
 * `download` benchmark (issue 12): seconds to install one package of `size` bytes with
 * `dm-agent run --once` from the reference manager over loopback — start, poll, download, verify,
 * post-install, status reports — against peers that only fetch and hash:
 *   curl-tee-sha256sum  `curl URL | tee file | sha256sum` against the same manager;
 *   curl-static         the same pipeline against `python3 -m http.server` serving the file;
 *   curl-tee-sha256sum+fsync  the first, then `sync FILE` (fsync): what the agent must pay for
 *                       its durability promise, the bytes on the disk and not only in the page cache.
 * Every round runs each contender once in a rotating order after `sync`, each in a fresh
 * directory; values are medians. Also reported: the increment (ours minus a no-op `run --once` of
 * the same provisioned device), CPU seconds of ours and of the curl pipelines, and our peak RSS
 * growth over that no-op run.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, rmSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './lib.ts';
import { agentRunOnce, type Fixture, startFixture, syncDisks, timed } from './download-fixture.ts';

export interface DownloadResult {
  name: string;
  unit: 's' | 'MiB';
  value: number;
  peers: Record<string, number>;
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `python3 -m http.server` on a free port in `dir`; resolves once it answers. */
async function staticServer(dir: string): Promise<{ url: string; stop(): void }> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', dir], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (await fetch(url).then((r) => r.ok, () => false)) return { url, stop: () => void child.kill() };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('python3 -m http.server did not start');
}

function label(size: number): string {
  return size >= 1024 ** 3 ? `${size / 1024 ** 3}GiB` : `${size / 1024 ** 2}MiB`;
}

export async function benchDownload(size: number, rounds: number, log: (line: string) => void = () => undefined): Promise<DownloadResult[]> {
  const fixture: Fixture = await startFixture(size);
  const python = await staticServer(join(fixture.dir, 'artifacts'));
  try {
    const digest = await sha256File(fixture.artifactFile);
    const out = join(fixture.dir, 'curl.out');
    const cpu: Record<string, number[]> = { ours: [], 'curl-tee-sha256sum': [], 'curl-tee-sha256sum+fsync': [] };
    const curl = async (url: string, fsync = false) => {
      rmSync(out, { force: true });
      const run = await timed('/bin/sh', ['-c', `curl -sSf "$0" | tee "$1" | sha256sum${fsync ? ' && sync "$1"' : ''}`, url, out], { rss: true });
      if (!run.stdout.startsWith(digest)) throw new Error(`curl pipeline: wrong digest ${run.stdout}`);
      if (url === fixture.artifactUrl) cpu[fsync ? 'curl-tee-sha256sum+fsync' : 'curl-tee-sha256sum']?.push(run.cpuMs ?? 0);
      return run.ms;
    };
    let device = 0;
    const ours = async () => {
      const run = await agentRunOnce(fixture, `bench-${device++}`, join(fixture.dir, 'work'));
      const summary = JSON.parse(run.stdout.slice(run.stdout.indexOf('{')));
      if (!summary.installed?.includes('big@1.0.0')) throw new Error(`dm-agent did not install the package: ${run.stdout.slice(0, 500)}`);
      rss.push(run.peakRss ?? 0);
      cpu.ours?.push(run.cpuMs ?? 0);
      return run.ms;
    };
    const idle = async () => {
      const run = await agentRunOnce(fixture, 'idle', join(fixture.dir, 'work-idle'));
      idleRss.push(run.peakRss ?? 0);
      return run.ms;
    };
    const rss: number[] = [];
    const idleRss: number[] = [];
    const contenders: [string, () => Promise<number>][] = [
      ['ours', ours],
      ['curl-tee-sha256sum', () => curl(fixture.artifactUrl)],
      ['curl-static', () => curl(`${python.url}/big.bin`)],
      ['idle run --once', idle],
      ['curl-tee-sha256sum+fsync', () => curl(fixture.artifactUrl, true)],
    ];
    // Warm-up: page cache holds the artifact for every contender alike.
    for (const [, run] of contenders) await run();
    rss.length = 0;
    idleRss.length = 0;
    for (const list of Object.values(cpu)) list.length = 0;
    const times = contenders.map(() => [] as number[]);
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < contenders.length; k++) {
        const index = (k + round) % contenders.length;
        syncDisks();
        (times[index] as number[]).push(await (contenders[index] as [string, () => Promise<number>])[1]());
      }
      log(`  download ${label(size)} round ${round + 1}/${rounds}: ${contenders.map(([name], i) => `${name} ${((times[i] as number[])[round]! / 1000).toFixed(2)} s`).join(', ')}`);
    }
    const seconds = times.map((t) => median(t) / 1000);
    return [
      { name: `download-${label(size)}`, unit: 's', value: seconds[0]!, peers: { 'curl-tee-sha256sum': seconds[1]!, 'curl-static': seconds[2]!, 'curl-tee-sha256sum+fsync': seconds[4]! } },
      // The download's own cost: ours minus a no-op `run --once` (process start, agent boot, one poll),
      // which at 16 MiB is most of ours; see the cold-start entries for that fixed part.
      { name: `download-${label(size)}-increment`, unit: 's', value: seconds[0]! - seconds[3]!, peers: { 'curl-tee-sha256sum': seconds[1]!, 'curl-static': seconds[2]!, 'curl-tee-sha256sum+fsync': seconds[4]! } },
      // CPU seconds (user + system, the pipeline's three processes summed): what each costs the
      // machine, which the load of a shared machine distorts far less than wall time.
      {
        name: `download-${label(size)}-cpu`,
        unit: 's',
        value: median(cpu.ours as number[]) / 1000,
        peers: { 'curl-tee-sha256sum': median(cpu['curl-tee-sha256sum'] as number[]) / 1000, 'curl-tee-sha256sum+fsync': median(cpu['curl-tee-sha256sum+fsync'] as number[]) / 1000 },
      },
      { name: `download-${label(size)}-rss`, unit: 'MiB', value: (median(rss) - median(idleRss)) / 1024 ** 2, peers: { 'target (growth ≤)': 16 } },
    ];
  } finally {
    python.stop();
    await fixture.close();
  }
}
