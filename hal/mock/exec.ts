/**
 * Scripted command execution for the mock. Tests register a handler per command name; a run
 * with no handler behaves like a shell's "command not found" (exit code 127). Timeouts use the
 * virtual clock: a handler that has not answered when `timeoutMs` of virtual time passed gives a
 * `timedOut` result, so tests drive time-outs with `clock.advance()` instead of waiting.
 */
import { utf8Encode } from '../../agent/util/bytes.ts';
import type { Clock, Exec, ExecOptions, ExecResult } from '../types.ts';
import { OutputTail, type ValidExecOptions, validateExecOptions } from '../shared/exec-output.ts';
import type { VirtualClock } from './clock.ts';

/** What a script returns; missing fields default (exit code 0, no output). */
export type ExecHandlerResult = Partial<Omit<ExecResult, 'durationMs'>> & { durationMs?: number };
export type ExecHandler = (options: ValidExecOptions) => ExecHandlerResult | Promise<ExecHandlerResult>;

export interface ExecLogEntry {
  options: ValidExecOptions;
  /** Virtual monotonic time the run started. */
  startedMs: number;
  /** Set when the run finished. */
  result?: ExecResult;
}

export class MockExecScript {
  readonly handlers = new Map<string, ExecHandler>();
  readonly log: ExecLogEntry[] = [];
  readonly #clock: VirtualClock;

  constructor(clock: VirtualClock) {
    this.#clock = clock;
  }

  /** `timers` are the boot's: a run's timeout dies with the boot that started it. */
  facet(timers: Pick<Clock, 'setTimer' | 'clearTimer'>): Exec {
    return {
      run: (options: ExecOptions) => this.#run(options, timers),
    };
  }

  async #run(options: ExecOptions, timers: Pick<Clock, 'setTimer' | 'clearTimer'>): Promise<ExecResult> {
    const valid = validateExecOptions(options);
    const entry: ExecLogEntry = { options: valid, startedMs: this.#clock.now };
    this.log.push(entry);
    const handler = this.handlers.get(valid.command);
    const started = this.#clock.now;
    let raw: ExecHandlerResult;
    if (!handler) raw = { exitCode: 127, output: `${valid.command}: command not found\n` };
    else {
      let timer = 0;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = timers.setTimer(() => resolve('timeout'), valid.timeoutMs);
      });
      const answer = await Promise.race([Promise.resolve(handler(valid)), timeout]);
      timers.clearTimer(timer);
      raw = answer === 'timeout' ? { timedOut: true, signal: 'SIGKILL' } : answer;
    }
    const tail = new OutputTail(valid.outputLimit);
    tail.push(utf8Encode(raw.output ?? ''));
    const result: ExecResult = {
      timedOut: raw.timedOut ?? false,
      output: tail.text(),
      durationMs: raw.durationMs ?? this.#clock.now - started,
    };
    if (raw.signal !== undefined) result.signal = raw.signal;
    if (!result.timedOut && raw.signal === undefined) result.exitCode = raw.exitCode ?? 0;
    entry.result = result;
    return result;
  }
}
