/**
 * Runs a manager-supplied command (post-install, uninstall) through the HAL. The command gets
 * the artifact's location and the package identity both as `${…}` placeholders in its arguments
 * and as environment variables, so scripts need no argument parsing.
 */
import type { Exec } from '../../hal/types.ts';
import type { CommandSpec } from './messages.ts';

export interface CommandOutcome {
  ok: boolean;
  exitCode?: number;
  timedOut?: boolean;
  output?: string;
  interrupted?: boolean;
  message?: string;
}

export interface CommandVariables {
  name: string;
  version: string;
  jobId: string;
  artifact?: string;
}

const OUTPUT_TAIL = 4096;

export async function runCommand(exec: Exec, spec: CommandSpec, variables: CommandVariables): Promise<CommandOutcome> {
  const values: Record<string, string> = { name: variables.name, version: variables.version, job: variables.jobId, artifact: variables.artifact ?? '' };
  const args = spec.args.map((arg) => arg.replace(/\$\{(name|version|job|artifact)\}/g, (_, key: string) => values[key] ?? ''));
  const env: Record<string, string> = { DM_PACKAGE: variables.name, DM_VERSION: variables.version, DM_JOB: variables.jobId };
  if (variables.artifact !== undefined) env.DM_ARTIFACT = variables.artifact;
  try {
    const result = await exec.run({ command: spec.command, args, timeoutMs: spec.timeoutMs, env, outputLimit: OUTPUT_TAIL });
    const ok = result.exitCode === 0 && !result.timedOut;
    return {
      ok,
      ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}),
      ...(result.timedOut ? { timedOut: true, message: `timed out after ${spec.timeoutMs} ms` } : {}),
      output: result.output.slice(-OUTPUT_TAIL),
      ...(!ok && !result.timedOut ? { message: result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}` } : {}),
    };
  } catch (error) {
    return { ok: false, message: `could not run ${spec.command}: ${error instanceof Error ? error.message : String(error)}` };
  }
}
