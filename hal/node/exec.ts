/**
 * Runs post-install/uninstall commands for the Node HAL: `spawn` without a shell (arguments are
 * never re-parsed), each child in its own process group so a timeout kills what it started too
 * (SIGTERM to the group, SIGKILL after a grace period), only the tail of the combined output
 * kept. A command that cannot be started reports 127 (not found) or 126 (not executable), as a
 * shell would, so callers handle one result shape. `env` entries are added to the agent's own
 * environment (a post-install script still needs PATH), not substituted for it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Exec, ExecOptions, ExecResult } from '../types.ts';
import { OutputTail, validateExecOptions } from '../shared/exec-output.ts';

/** After SIGKILL, how long to wait for the pipes to close before answering anyway. */
const PIPE_DRAIN_MS = 1000;

export class NodeExec {
  readonly #killGraceMs: number;
  readonly #running = new Set<ChildProcess>();

  constructor(options: { killGraceMs: number }) {
    this.#killGraceMs = options.killGraceMs;
  }

  facet(): Exec {
    return { run: (options: ExecOptions) => this.#run(options) };
  }

  /** Kills every running command (the device is closing). */
  close(): void {
    for (const child of this.#running) killGroup(child, 'SIGKILL');
    this.#running.clear();
  }

  #run(options: ExecOptions): Promise<ExecResult> {
    const valid = validateExecOptions(options);
    const started = performance.now();
    const tail = new OutputTail(valid.outputLimit);
    return new Promise<ExecResult>((resolve) => {
      const child = spawn(valid.command, valid.args, {
        env: valid.env ? { ...process.env, ...valid.env } : process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // own process group: the timeout kill reaches grandchildren
        shell: false,
      });
      this.#running.add(child);
      let timedOut = false;
      let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      let done = false;
      const timers: ReturnType<typeof setTimeout>[] = [];
      const finish = (result: Omit<ExecResult, 'durationMs'>): void => {
        if (done) return;
        done = true;
        for (const timer of timers) clearTimeout(timer);
        this.#running.delete(child);
        resolve({ ...result, durationMs: performance.now() - started });
      };
      const fromExit = (code: number | null, signal: NodeJS.Signals | null): Omit<ExecResult, 'durationMs'> => {
        const result: Omit<ExecResult, 'durationMs'> = { timedOut, output: tail.text() };
        if (signal) result.signal = signal;
        if (!timedOut && code !== null) result.exitCode = code;
        return result;
      };

      child.stdout?.on('data', (chunk: Buffer) => tail.push(chunk));
      child.stderr?.on('data', (chunk: Buffer) => tail.push(chunk));
      child.on('error', (error: NodeJS.ErrnoException) => {
        if (child.pid !== undefined) return; // errors after start (kill failures) end in 'close'
        const exitCode = error.code === 'ENOENT' ? 127 : 126;
        tail.push(Buffer.from(`${valid.command}: ${error.message}\n`));
        finish({ exitCode, timedOut: false, output: tail.text() });
      });
      child.on('exit', (code, signal) => {
        exited = { code, signal };
      });
      // 'close' comes after the pipes drained: the output is complete.
      child.on('close', (code, signal) => finish(fromExit(code, signal)));

      timers.push(
        setTimeout(() => {
          if (exited) {
            // The command itself ended; only helpers it left behind hold the pipes. Clean them up.
            killGroup(child, 'SIGKILL');
            return;
          }
          timedOut = true;
          killGroup(child, 'SIGTERM');
          timers.push(
            setTimeout(() => {
              killGroup(child, 'SIGKILL');
              // A process that escaped the group may keep the pipes open: answer anyway.
              timers.push(
                setTimeout(() => {
                  child.stdout?.destroy();
                  child.stderr?.destroy();
                  finish(fromExit(exited?.code ?? null, exited?.signal ?? 'SIGKILL'));
                }, PIPE_DRAIN_MS),
              );
            }, this.#killGraceMs),
          );
        }, valid.timeoutMs),
      );
    });
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}
