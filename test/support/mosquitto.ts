/**
 * A private mosquitto for tests: its own loopback port and temp config, never the system service
 * that Debian's package may run on 1883. Installed by test/setup/system-deps.sh.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const MOSQUITTO = '/usr/sbin/mosquitto';

export interface RunningMosquitto {
  /** mqtt://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Kills the broker and removes its config. Idempotent. */
  stop(): Promise<void>;
}

export interface RestartableMosquitto extends RunningMosquitto {
  /** Stops the broker (SIGTERM: it saves its persistence file), keeping port and data. */
  kill(): Promise<void>;
  /** Starts it again on the same port from the saved sessions. */
  restart(): Promise<void>;
}

export async function startMosquitto(): Promise<RunningMosquitto> {
  if (!existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} missing: run bash test/setup/system-deps.sh`);
  // The free port can be taken between probing and mosquitto binding it; try a few ports.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(await freePort());
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/**
 * A mosquitto with a persistence file (sessions and queued QoS 1 messages survive a restart), which
 * a test can kill and restart on the same port.
 */
export async function startPersistentMosquitto(): Promise<RestartableMosquitto> {
  if (!existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} missing: run bash test/setup/system-deps.sh`);
  const data = await mkdtemp(join(tmpdir(), 'dm-mosquitto-data-'));
  // Started as root, mosquitto drops to its own user before it writes the persistence file.
  await chmod(data, 0o777);
  const port = await freePort();
  let current: RunningMosquitto | undefined = await startOnce(port, data);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    async kill() {
      await current?.stop();
      current = undefined;
    },
    async restart() {
      await current?.stop();
      current = await startOnce(port, data);
    },
    async stop() {
      await current?.stop();
      current = undefined;
      await rm(data, { recursive: true, force: true });
    },
  };
}

async function startOnce(port: number, persistDir?: string): Promise<RunningMosquitto> {
  const dir = await mkdtemp(join(tmpdir(), 'dm-mosquitto-'));
  const config = join(dir, 'mosquitto.conf');
  const persistence = persistDir === undefined ? ['persistence false'] : ['persistence true', `persistence_location ${persistDir}/`, 'autosave_interval 1'];
  await writeFile(config, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', ...persistence, 'log_dest stderr', 'log_type error', 'log_type warning', ''].join('\n'));
  const child = spawn(MOSQUITTO, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await kill(child, exited);
      await rm(dir, { recursive: true, force: true });
    })());
  try {
    await Promise.race([
      waitForPort(port, 5000),
      exited.then((code) => {
        throw new Error(`mosquitto exited with ${code}: ${stderr.trim()}`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `mqtt://127.0.0.1:${port}`, port, stop };
}

/** An ephemeral loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls until something accepts on the port; bounded by `timeoutMs`. */
async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (accepted) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`mosquitto did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

async function kill(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(timer);
}
