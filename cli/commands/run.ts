/**
 * `dm-agent run --board <board.json> --config <config.json>`: the agent on a Linux board (or a
 * QEMU guest) with the Node HAL. Host-side settings that are not the agent's business (where the
 * flash image lives, the device id, readable roots, a CA) come as options. A reboot request ends
 * the process with REBOOT_EXIT_CODE (75) after the agent stopped; the board's service manager
 * (or `--restart`) starts it again, which is the "boot" the agent resumes from.
 * Board and config are validated in full before anything is created on disk.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { BoardError, parseBoard } from '../../agent/board.ts';
import { ConfigError, parseConfig, protocolSections } from '../../agent/config.ts';
import { type Agent, createAgent } from '../../agent/index.ts';
import { createNodeDevice, REBOOT_EXIT_CODE } from '../../hal/node/index.ts';
import { type CommandIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE, errorText, fileProblem, InputError, readJsonFile } from '../io.ts';
import { createRunLog } from '../run-log.ts';
import { type CommandSpec, parseArgs, usageError } from '../spec.ts';

export const spec: CommandSpec = {
  name: 'run',
  summary: 'run the agent: dm-agent run --board <board.json> --config <config.json>',
  args: '--board <board.json> --config <config.json>',
  options: [
    { name: 'board', value: 'FILE', help: 'board profile (boards/*.json; required)' },
    { name: 'config', value: 'FILE', help: 'agent config with at least one protocol section, e.g. {"delivery": {"manager": URL}} (required)' },
    { name: 'work-dir', value: 'DIR', help: 'flash image, staging and boot record (default .work/<board name>)' },
    { name: 'device-id', value: 'ID', help: 'device identity (default: /etc/machine-id or the host name)' },
    { name: 'file-root', value: 'DIR', help: 'a root readable by file-collection reports (repeatable, comma-separated)', repeatable: true },
    { name: 'ca', value: 'FILE', help: 'extra CA certificate (PEM) trusted for https:// managers, besides the system roots' },
    { name: 'once', help: 'poll once, print the summary as JSON, exit' },
    { name: 'info', help: 'print the system information (agent, families, firmware version and last update) as JSON, exit' },
  ],
  notes:
    'Without --once the agent keeps running until SIGINT/SIGTERM and logs to stderr what it waits for\n(poll window, battery, external power, network) and each install, upgrade, removal and failure.\nExit 75 means the agent asked for a reboot.',
};

/** Board and config, validated before the HAL creates the work directory. */
async function readInputs(boardFile: string, configFile: string): Promise<{ board: ReturnType<typeof parseBoard>; config: unknown }> {
  const boardJson = await readJsonFile(boardFile);
  let board;
  try {
    board = parseBoard(boardJson);
  } catch (error) {
    if (error instanceof BoardError) throw new InputError(`${boardFile}: ${error.message}`);
    throw error;
  }
  const config = await withRootFile(await readJsonFile(configFile), configFile);
  try {
    if (protocolSections(parseConfig(config)).length === 0)
      throw new InputError(`${configFile}: no protocol section, so the agent would have nothing to do (add e.g. "delivery": {"manager": "https://…"})`);
  } catch (error) {
    if (error instanceof ConfigError) throw new InputError(`${configFile}: ${error.message}`);
    throw error;
  }
  return { board, config };
}

/**
 * `"trust": {"rootFile": "1.root.json"}` (relative to the config file) becomes `"root": <its text>`:
 * the agent reads no files itself, and the bytes stay exactly as shipped.
 */
async function withRootFile(config: unknown, configFile: string): Promise<unknown> {
  const trust = (config as { trust?: unknown } | null)?.trust;
  if (typeof trust !== 'object' || trust === null || !('rootFile' in trust)) return config;
  const { rootFile, ...rest } = trust as { rootFile: unknown };
  if (typeof rootFile !== 'string' || rootFile.length === 0) throw new InputError(`${configFile}: trust.rootFile: expected a file name`);
  const file = resolve(dirname(configFile), rootFile);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InputError(fileProblem(file, error).message);
  }
  return { ...(config as object), trust: { ...rest, root: text } };
}

export async function run(args: string[], io: CommandIo, signal?: AbortSignal): Promise<number> {
  const { options, positional, problems } = parseArgs(spec.options, args);
  problems.push(...positional.map((arg) => `unexpected argument ${JSON.stringify(arg)}`));
  if (typeof options.board !== 'string') problems.push('--board <board.json> is required');
  if (typeof options.config !== 'string') problems.push('--config <config.json> is required');
  if (problems.length > 0) return usageError(io, spec, problems);
  let agent: Agent | undefined;
  let device: Awaited<ReturnType<typeof createNodeDevice>> | undefined;
  let rebootRequested = false;
  const stopped = new AbortController();
  try {
    const { board, config } = await readInputs(options.board as string, options.config as string);
    const workDir = resolve(typeof options['work-dir'] === 'string' ? options['work-dir'] : `.work/${board.name}`);
    let ca: string | undefined;
    if (typeof options.ca === 'string') {
      try {
        ca = await readFile(options.ca, 'utf8');
      } catch (error) {
        const problem = fileProblem(options.ca, error);
        throw new InputError(problem.message, problem.code);
      }
    }
    device = await createNodeDevice({
      workDir,
      board,
      ...(typeof options['device-id'] === 'string' ? { identity: { deviceId: options['device-id'] } } : {}),
      ...(typeof options['file-root'] === 'string' ? { fileRoots: options['file-root'].split(',') } : {}),
      ...(ca ? { net: { ca } } : {}),
      onReboot: (reason) => {
        rebootRequested = true;
        io.stderr(`dm-agent run: reboot requested (${reason})\n`);
        stopped.abort();
      },
    });
    agent = await createAgent(device, board, config, options.once || options.info ? {} : { onDeliveryEvent: createRunLog(io.stderr) });
    if (options.info) {
      io.stdout(`${JSON.stringify({ ...agent.info(), ...(agent.firmware ? { firmware: await agent.firmware.info() } : {}) }, null, 2)}\n`);
    } else if (options.once) {
      const summary = await agent.pollOnce();
      io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
    } else {
      const stop = () => agent?.stop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      signal?.addEventListener('abort', stop);
      stopped.signal.addEventListener('abort', stop);
      io.stderr(`dm-agent ${agent.version} running on board ${agent.board.name} (${agent.boot.engine} engine); Ctrl-C stops\n`);
      if (signal?.aborted) stop();
      await agent.run();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    await agent.close();
    await device.close();
    return rebootRequested ? REBOOT_EXIT_CODE : EXIT_OK;
  } catch (error) {
    await agent?.close().catch(() => undefined);
    await device?.close().catch(() => undefined);
    io.stderr(`dm-agent run: ${errorText(error)}\n`);
    if (error instanceof InputError) return error.exitCode;
    const code = (error as { code?: unknown }).code;
    return code === 'badBoard' || code === 'badConfig' || code === 'invalidOptions' ? EXIT_USAGE : EXIT_FAILED;
  }
}
